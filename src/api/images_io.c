/*
 * images_io.c - the image endpoints that move tar streams: POST /images/load,
 * GET /images/get and /images/{name}/get (docker save), and POST
 * /images/create with fromSrc=- (docker import; a pull on that route is handed
 * to the registry code).
 *
 * Uploads: the image store reads an archive from an fd, while the server hands
 * the body over in chunks. A worker thread runs the store call on one end of a
 * socketpair and the connection thread writes each chunk into the other end;
 * the write blocks while the worker is busy, which throttles the client, so no
 * body is ever held in memory. A socketpair rather than a pipe because a
 * client that goes away mid-body must make the worker's read fail, never look
 * like a clean end of the archive (see upload_start).
 *
 * Downloads: the store writes the save tar into a pipe from a worker thread,
 * and the reply stream's producer forwards the pipe to the client.
 *
 * Not here: pulling (src/api/images_dist.c), URL imports (fromSrc=http://...
 * is refused: hamnd fetches nothing on behalf of a client).
 */
#include "api/events.h"
#include "api/images.h"
#include "engine/engine.h"
#include "image/image.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/*
 * How long an upload's reply waits for the store before it answers with a
 * stream. HAMN_TEST_UPLOAD_SYNC_MS overrides it; 0 always streams, so tests
 * reach the in-band error path.
 */
#define UPLOAD_SYNC_MS 10000
/* Bytes forwarded per chunk of a save stream. */
#define SAVE_CHUNK (256u << 10)

/* Close *fd if open and mark it closed (cleanup_closep leaves the number behind). */
static void close_fd(int *fd)
{
	cleanup_closep(fd);
	*fd = -1;
}

/* ---- uploads: a store call reading the request body ---- */

struct upload;
typedef int (*upload_fn)(struct upload *up, int fd, struct hamn_error **err);

struct upload {
	struct hamn_engine *engine; /* for the events of what was loaded or imported */
	struct hamn_image_store *st;
	upload_fn run;
	struct hamn_image_import_opts import; /* import only; strings owned */
	char *platform_os, *platform_arch;
	int refs;    /* the body consumer and a reply stream */
	int fd;	     /* our end of the socketpair */
	int peer;    /* the worker's end; the worker closes it */
	int done_fd; /* eventfd, readable once the worker finished */
	pthread_t thread;
	bool started, eof_sent;
	pthread_mutex_t lock; /* guards what the worker writes below */
	bool finished;
	int rc;
	struct hamn_error *err;
	json_t *messages; /* the JSON-lines reply, in order */
};

static struct upload *upload_new(struct hamn_engine *e, upload_fn run)
{
	struct upload *up = xzalloc(sizeof(*up));

	up->engine = e;
	up->st = hamn_engine_images(e);
	up->run = run;
	up->refs = 1;
	up->fd = up->peer = up->done_fd = -1;
	pthread_mutex_init(&up->lock, NULL);
	up->messages = json_array();
	return up;
}

static void upload_free(struct upload *up)
{
	if (up->started) {
		/*
		 * Closing our end before the end of the body was sent resets the worker's
		 * read (the client went away): whatever it staged is thrown away.
		 */
		if (!up->eof_sent)
			close_fd(&up->fd);
		pthread_join(up->thread, NULL);
	} else {
		close_fd(&up->peer);
	}
	close_fd(&up->fd);
	close_fd(&up->done_fd);
	pthread_mutex_destroy(&up->lock);
	hamn_error_free(&up->err);
	json_decref(up->messages);
	free((char *)up->import.ref);
	free((char *)up->import.message);
	hamn_strv_free(up->import.changes);
	free(up->platform_os);
	free(up->platform_arch);
	free(up);
}

static void upload_unref(void *p)
{
	struct upload *up = p;

	if (__atomic_sub_fetch(&up->refs, 1, __ATOMIC_ACQ_REL) == 0)
		upload_free(up);
}

/* Append one reply message (steals msg); called from the worker. */
static void upload_add(struct upload *up, json_t *msg)
{
	pthread_mutex_lock(&up->lock);
	json_array_append_new(up->messages, msg);
	pthread_mutex_unlock(&up->lock);
}

static void *upload_main(void *arg)
{
	struct upload *up = arg;
	struct hamn_error *err = NULL;
	uint64_t one = 1;
	int rc = up->run(up, up->peer, &err);

	/* a worker that stopped early makes the next chunk's write fail with EPIPE */
	close_fd(&up->peer);
	pthread_mutex_lock(&up->lock);
	up->rc = rc;
	up->err = err;
	up->finished = true;
	pthread_mutex_unlock(&up->lock);
	if (write(up->done_fd, &one, sizeof(one)) < 0)
		log_kv(HAMN_LOG_WARN, "cannot signal the end of an upload", "errno=%s",
		       hamn_errno_name(errno));
	return NULL;
}

static int upload_start(struct upload *up, struct hamn_error **err)
{
	int sv[2], rc;
	char byte = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return hamn_error_set(err, errno, "socketpair");
	up->fd = sv[0];
	up->peer = sv[1];
	/*
	 * One byte is parked in our end's receive queue and never read. A unix
	 * stream socket closed with unread data resets its peer, so closing our
	 * end early (the client went away mid-body) makes the worker's read fail
	 * with ECONNRESET instead of returning an end of file: a body cut off at
	 * a tar member boundary is never taken for a whole archive. The normal
	 * end of the body is shutdown(SHUT_WR), a clean end of file.
	 */
	if (write(up->peer, &byte, 1) != 1)
		return hamn_error_set(err, errno, "prime upload socket");
	up->done_fd = eventfd(0, EFD_CLOEXEC);
	if (up->done_fd < 0)
		return hamn_error_set(err, errno, "eventfd");
	rc = pthread_create(&up->thread, NULL, upload_main, up);
	if (rc != 0)
		return hamn_error_set(err, rc, "start upload thread");
	up->started = true;
	return 0;
}

static bool upload_finished(struct upload *up)
{
	bool finished;

	pthread_mutex_lock(&up->lock);
	finished = up->finished;
	pthread_mutex_unlock(&up->lock);
	return finished;
}

/* Wait up to timeout_ms (-1: forever) for the worker, or cancel_fd; true once it finished. */
static bool upload_wait(struct upload *up, int timeout_ms, int cancel_fd)
{
	struct pollfd p[2] = {{up->done_fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
	int n;

	do
		n = poll(p, cancel_fd >= 0 ? 2 : 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return upload_finished(up);
}

/*
 * The worker's failure as a new error of our own (its error stays with up).
 * The body is the request's only input, so a path error met inside it
 * ("mkdir 'link': No such file or directory") is a bad archive (400), not a
 * missing resource (404) or a conflict (409).
 */
static int upload_failure(struct upload *up, struct hamn_error **err)
{
	int e = up->err ? up->err->errnum : EIO;

	if (e == ENOENT || e == ENOTDIR || e == EISDIR || e == EEXIST || e == ENOTEMPTY ||
	    e == ELOOP)
		e = EINVAL;
	return hamn_error_setq(err, e, "%s", up->err ? up->err->msg : "upload failed");
}

static int upload_sync_ms(void)
{
	const char *v = getenv("HAMN_TEST_UPLOAD_SYNC_MS");

	return v && *v ? atoi(v) : UPLOAD_SYNC_MS;
}

static int upload_data(void *ctx, const void *data, size_t len, struct hamn_error **err)
{
	struct upload *up = ctx;
	struct hamn_error *werr = NULL;

	if (!upload_finished(up) && hamn_write_all(up->fd, data, len, &werr) == 0)
		return 0;
	if (werr && werr->errnum != EPIPE && werr->errnum != ECONNRESET)
		return hamn_error_propagate(err, &werr);
	hamn_error_free(&werr);
	/* the worker stopped reading: its result says why */
	upload_wait(up, -1, -1);
	if (up->rc < 0)
		return upload_failure(up, err);
	return 0; /* it is done and needs no more: the rest of the body is dropped */
}

/* The messages as one JSON-lines body ("\r\n" after each, as dockerd sends them). */
static int upload_reply_now(struct hamn_api_req *req, struct upload *up)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	size_t i;
	json_t *m;

	json_array_foreach (up->messages, i, m) {
		_cleanup_free_ char *s = hamn_json_dump(m);

		hamn_buf_printf(&b, "%s\r\n", s);
	}
	return hamn_api_reply_data(req, 200, "application/json", b.data ? b.data : "", b.len);
}

/* Producer of a reply that started before the store finished: errors go in-band. */
static int upload_stream(struct hamn_api_stream *s, void *ctx, struct hamn_error **err)
{
	struct upload *up = ctx;
	size_t i;
	json_t *m;

	while (!upload_wait(up, -1, hamn_api_stream_cancel_fd(s)))
		if (hamn_api_stream_cancelled(s))
			return hamn_error_setq(err, EPIPE, "the client went away");
	if (up->rc < 0)
		return upload_failure(up, err);
	json_array_foreach (up->messages, i, m)
		if (hamn_api_stream_json(s, m, err) < 0)
			return -1;
	return 0;
}

static int upload_done(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct upload *up = ctx;
	int sync_ms = upload_sync_ms();

	if (shutdown(up->fd, SHUT_WR) < 0)
		return hamn_error_set(err, errno, "end upload");
	up->eof_sent = true;
	if (sync_ms > 0 && upload_wait(up, sync_ms, -1)) {
		if (up->rc < 0)
			return upload_failure(up, err);
		return upload_reply_now(req, up);
	}
	/*
	 * A big archive is still being unpacked. Answer now so the connection is
	 * not idle for minutes; a failure then arrives in-band.
	 */
	__atomic_add_fetch(&up->refs, 1, __ATOMIC_ACQ_REL);
	return hamn_api_reply_stream(req, 200, "application/json", HAMN_API_STREAM_PROGRESS,
				     upload_stream, up, upload_unref);
}

/* Start the worker and hand the body to it; the request owns up from here on. */
static int upload_begin(struct hamn_api_req *req, struct upload *up, struct hamn_error **err)
{
	if (upload_start(up, err) < 0) {
		upload_unref(up);
		return -1;
	}
	hamn_api_req_consume_body(req, upload_data, upload_done, up, upload_unref);
	return 0;
}

/* ---- POST /images/load ---- */

static void load_report(const char *line, void *ud)
{
	_cleanup_free_ char *text = xasprintf("%s\n", line);
	struct upload *up = ud;

	upload_add(ud, json_pack("{s:s}", "stream", text));
	hamn_api_events_image_load(up->engine, line);
}

static int run_load(struct upload *up, int fd, struct hamn_error **err)
{
	return hamn_image_load(up->st, fd, load_report, up, err);
}

/*
 * docker load: the body is a (compressed or not) docker-save or OCI layout
 * tar; the reply lists what was loaded. ?quiet only silences progress bars,
 * and hamnd sends none.
 */
static int image_load(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return upload_begin(req, upload_new(ctx, run_load), err);
}

/* ---- POST /images/create?fromSrc=- (import) ---- */

static int run_import(struct upload *up, int fd, struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;

	if (hamn_image_import(up->st, fd, &up->import, &id, err) < 0)
		return -1;
	hamn_api_events_image(up->engine, "import", id, id);
	upload_add(up, json_pack("{s:s}", "status", id));
	return 0;
}

/* ?platform=os[/arch[/variant]] (docker import --platform); "" is the host's. */
static int parse_platform(struct upload *up, const char *platform, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = NULL;

	if (!platform || !*platform)
		return 0;
	parts = str_split(platform, '/');
	if (strv_len(parts) > 3 || !*parts[0] || (parts[1] && !*parts[1]))
		return hamn_error_setq(err, EINVAL, "invalid platform '%s': expected os[/arch]",
				       platform);
	up->platform_os = xstrdup(parts[0]);
	up->platform_arch = parts[1] ? xstrdup(parts[1]) : NULL;
	up->import.os = up->platform_os;
	up->import.architecture = up->platform_arch;
	return 0;
}

static int import_options(struct hamn_api_req *req, struct upload *up, struct hamn_error **err)
{
	const char *repo = hamn_api_req_query(req, "repo");
	const char *message = hamn_api_req_query(req, "message");
	char **changes = hamn_api_req_query_list(req, "changes");

	if (repo && *repo) {
		up->import.ref = hamn_api_images_ref(repo, hamn_api_req_query(req, "tag"), err);
		if (!up->import.ref) {
			hamn_strv_free(changes);
			return -1;
		}
	}
	/* docker sends message= when there is none; the store then says "Imported from -" */
	up->import.message = message && *message ? xstrdup(message) : NULL;
	up->import.changes = changes;
	return parse_platform(up, hamn_api_req_query(req, "platform"), err);
}

static int image_import(struct hamn_api_req *req, struct hamn_engine *e, struct hamn_error **err)
{
	struct upload *up = upload_new(e, run_import);

	if (import_options(req, up, err) < 0) {
		upload_unref(up);
		return -1;
	}
	return upload_begin(req, up, err);
}

/*
 * POST /images/create: a pull (fromImage) or an import (fromSrc). The route
 * streams its body for the import; a pull has none and replies at once.
 */
static int image_create(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *from_image = hamn_api_req_query(req, "fromImage");
	const char *from_src = hamn_api_req_query(req, "fromSrc");

	if (from_image && *from_image)
		return hamn_api_images_pull(req, ctx, err); /* images_dist.c */
	if (!from_src || !*from_src)
		return hamn_error_setq(err, EINVAL,
				       "either fromImage (pull) or fromSrc (import) "
				       "is required");
	if (!streq(from_src, "-"))
		return hamn_error_setq(err, EINVAL,
				       "import from '%s' is not supported: hamnd "
				       "imports only the request body (fromSrc=-), it does not "
				       "download URLs",
				       from_src);
	return image_import(req, ctx, err);
}

/* ---- GET /images/get, GET /images/{name}/get (save) ---- */

struct save_job {
	struct hamn_image_store *st;
	char **refs;
	int wfd; /* the pipe the store writes; closed by the worker */
	pthread_t thread;
	int rc;
	struct hamn_error *err;
};

static void save_job_free(void *p)
{
	struct save_job *job = p;

	hamn_strv_free(job->refs);
	hamn_error_free(&job->err);
	free(job);
}

static void *save_main(void *arg)
{
	struct save_job *job = arg;

	job->rc = hamn_image_save(job->st, (const char *const *)job->refs, strv_len(job->refs),
				  job->wfd, &job->err);
	close_fd(&job->wfd);
	return NULL;
}

/* Copy the pipe to the client until its end; EPIPE when the client goes away. */
static int save_forward(struct hamn_api_stream *s, int rfd, struct hamn_error **err)
{
	_cleanup_free_ char *buf = xmalloc(SAVE_CHUNK);
	struct pollfd p[2] = {{rfd, POLLIN, 0}, {hamn_api_stream_cancel_fd(s), POLLIN, 0}};

	for (;;) {
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "save: poll");
		}
		if (p[1].revents)
			return hamn_error_setq(err, EPIPE, "save: the client went away");
		n = read(rfd, buf, SAVE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "save: read");
		if (n == 0)
			return 0;
		if (hamn_api_stream_write(s, buf, (size_t)n, err) < 0)
			return -1;
	}
}

static int save_stream(struct hamn_api_stream *s, void *ctx, struct hamn_error **err)
{
	struct save_job *job = ctx;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "save: pipe");
	job->wfd = p[1];
	rc = pthread_create(&job->thread, NULL, save_main, job);
	if (rc != 0) {
		close(p[0]);
		close(p[1]);
		return hamn_error_set(err, rc, "save: start thread");
	}
	rc = save_forward(s, p[0], err);
	close(p[0]); /* a save still writing now fails with EPIPE and stops */
	pthread_join(job->thread, NULL);
	if (rc == 0 && job->rc < 0) /* cuts the tar short: the client sees a failed save */
		return hamn_error_propagate(err, &job->err);
	if (job->rc < 0)
		log_kv(HAMN_LOG_DEBUG, "save ended early", "error=\"%s\"", job->err->msg);
	return rc;
}

/* Check every name first, so an unknown one is a 404 rather than a broken tar. */
static int image_save_names(struct hamn_api_req *req, struct hamn_engine *e, char **names,
			    struct hamn_error **err)
{
	struct save_job *job;

	if (!names[0]) {
		hamn_strv_free(names);
		return hamn_error_setq(err, EINVAL, "no image to save: give ?names=IMAGE");
	}
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *id = NULL;

		if (hamn_image_resolve(hamn_engine_images(e), names[i], &id, err) < 0) {
			hamn_strv_free(names);
			return -1;
		}
	}
	job = xzalloc(sizeof(*job));
	job->st = hamn_engine_images(e);
	job->refs = names;
	job->wfd = -1;
	return hamn_api_reply_stream(req, 200, "application/x-tar", 0, save_stream, job,
				     save_job_free);
}

static int image_save_many(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return image_save_names(req, ctx, hamn_api_req_query_list(req, "names"), err);
}

static int image_save_one(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	char **names = xcalloc(2, sizeof(char *));

	names[0] = xstrdup(hamn_api_req_param(req, "name"));
	return image_save_names(req, ctx, names, err);
}

void hamn_api_images_register_io(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route_flags(s, "POST", "/images/load", HAMN_API_ROUTE_STREAM_BODY, image_load, e);
	hamn_api_route_flags(s, "POST", "/images/create", HAMN_API_ROUTE_STREAM_BODY, image_create,
			     e);
	hamn_api_route(s, "GET", "/images/get", image_save_many, e);
	hamn_api_route(s, "GET", "/images/{name*}/get", image_save_one, e);
}

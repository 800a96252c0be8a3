/*
 * images_io.c - the image endpoints that move tar streams: POST /images/load,
 * GET /images/get and /images/{name}/get (docker save), and POST
 * /images/create with fromSrc=- (docker import; a pull on that route is handed
 * to the registry code).
 *
 * Uploads and downloads go through a worker thread (src/api/pump.c): the
 * store reads an archive from an fd while the server hands the body over in
 * chunks, and writes the save tar into an fd the reply forwards.
 *
 * Not here: pulling (src/api/images_dist.c), URL imports (fromSrc=http://...
 * is refused: hamnd fetches nothing on behalf of a client).
 */
#include "api/events.h"
#include "api/images.h"
#include "api/internal.h"
#include "engine/engine.h"
#include "image/image.h"

/*
 * How long an upload's reply waits for the store before it answers with a
 * stream. HAMN_TEST_UPLOAD_SYNC_MS overrides it; 0 always streams, so tests
 * reach the in-band error path.
 */
#define UPLOAD_SYNC_MS 10000

/* ---- uploads: a store call reading the request body ---- */

struct upload {
	struct hamn_engine *engine; /* for the events of what was loaded or imported */
	struct hamn_image_store *st;
	struct hamn_image_import_opts import; /* import only; strings owned */
	char *platform_os, *platform_arch;
	int refs; /* the body consumer and a reply stream */
	struct api_upload pump;
	pthread_mutex_t lock; /* guards messages, which the worker appends to */
	json_t *messages;     /* the JSON-lines reply, in order */
};

/*
 * The body is the request's only input, so a path error met inside it
 * ("mkdir 'link': No such file or directory") is a bad archive (400), not a
 * missing resource (404) or a conflict (409).
 */
static const int bad_archive[] = {ENOENT, ENOTDIR, EISDIR, EEXIST, ENOTEMPTY, ELOOP, 0};

/* An upload whose worker runs run(up, fd). */
static struct upload *upload_new(struct hamn_engine *e, api_fd_fn run)
{
	struct upload *up = xzalloc(sizeof(*up));

	up->engine = e;
	up->st = hamn_engine_images(e);
	up->refs = 1;
	api_upload_init(&up->pump, run, up, bad_archive);
	pthread_mutex_init(&up->lock, NULL);
	up->messages = json_array();
	return up;
}

static void upload_free(struct upload *up)
{
	api_upload_release(&up->pump);
	pthread_mutex_destroy(&up->lock);
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

static int upload_sync_ms(void)
{
	const char *v = getenv("HAMN_TEST_UPLOAD_SYNC_MS");

	return v && *v ? atoi(v) : UPLOAD_SYNC_MS;
}

static int upload_data(void *ctx, const void *data, size_t len, struct hamn_error **err)
{
	struct upload *up = ctx;

	return api_upload_write(&up->pump, data, len, err);
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

	while (!api_upload_wait(&up->pump, -1, hamn_api_stream_cancel_fd(s)))
		if (hamn_api_stream_cancelled(s))
			return hamn_error_setq(err, EPIPE, "the client went away");
	if (up->pump.rc < 0)
		return api_upload_failure(&up->pump, err);
	json_array_foreach (up->messages, i, m)
		if (hamn_api_stream_json(s, m, err) < 0)
			return -1;
	return 0;
}

static int upload_done(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct upload *up = ctx;
	int sync_ms = upload_sync_ms();

	if (api_upload_end(&up->pump, err) < 0)
		return -1;
	if (sync_ms > 0 && api_upload_wait(&up->pump, sync_ms, -1)) {
		if (up->pump.rc < 0)
			return api_upload_failure(&up->pump, err);
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
	if (api_upload_start(&up->pump, err) < 0) {
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

static int run_load(void *ctx, int fd, struct hamn_error **err)
{
	struct upload *up = ctx;

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

static int run_import(void *ctx, int fd, struct hamn_error **err)
{
	struct upload *up = ctx;
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
};

static void save_job_free(void *p)
{
	struct save_job *job = p;

	hamn_strv_free(job->refs);
	free(job);
}

static int save_run(void *ctx, int fd, struct hamn_error **err)
{
	struct save_job *job = ctx;

	return hamn_image_save(job->st, (const char *const *)job->refs, strv_len(job->refs), fd,
			       err);
}

static int save_stream(struct hamn_api_stream *s, void *ctx, struct hamn_error **err)
{
	return api_stream_from_worker(s, "save", save_run, ctx, err);
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
			/* dockerd names the image as given: "No such image: busybox" */
			if ((*err)->errnum == ENOENT) {
				hamn_error_free(err);
				hamn_error_setq(err, ENOENT, "No such image: %s", names[i]);
			}
			hamn_strv_free(names);
			return -1;
		}
	}
	job = xzalloc(sizeof(*job));
	job->st = hamn_engine_images(e);
	job->refs = names;
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

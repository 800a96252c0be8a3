/*
 * pump.c - bodies moved through a worker thread, for the handlers whose
 * engine or store call works on an fd while the server works in chunks.
 *
 * Uploads (docker load and import, PUT of an archive, a build context):
 * the worker runs the call on one end of a socketpair and the connection
 * thread writes each chunk of the request body into the other end; the
 * write blocks while the worker is busy, which throttles the client, so no
 * body is ever held in memory. A socketpair rather than a pipe because a
 * client that goes away mid-body must make the worker's read fail, never
 * look like a clean end of the archive (see api_upload_start).
 *
 * Downloads (docker save, GET of an archive): the worker writes into a
 * pipe and the reply stream's producer forwards the pipe to the client.
 *
 * Not here: what the bytes are, or the reply's shape; the callers decide.
 */
#include "api/internal.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes forwarded per chunk of a download. */
#define DOWNLOAD_CHUNK (256u << 10)

/* Close *fd if open and mark it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- uploads ---- */

void api_upload_init(struct api_upload *u, api_fd_fn run, void *ctx, const int *bad_input)
{
	memset(u, 0, sizeof(*u));
	u->run = run;
	u->ctx = ctx;
	u->bad_input = bad_input;
	u->fd = u->peer = u->done_fd = -1;
	pthread_mutex_init(&u->lock, NULL);
}

void api_upload_release(struct api_upload *u)
{
	if (u->started) {
		/*
		 * Closing our end before the end of the body was sent resets the worker's
		 * read (the client went away): whatever it staged is thrown away.
		 */
		if (!u->eof_sent)
			close_fd(&u->fd);
		pthread_join(u->thread, NULL);
	} else {
		close_fd(&u->peer);
	}
	close_fd(&u->fd);
	close_fd(&u->done_fd);
	pthread_mutex_destroy(&u->lock);
	hamn_error_free(&u->err);
}

static void *upload_main(void *arg)
{
	struct api_upload *u = arg;
	struct hamn_error *err = NULL;
	uint64_t one = 1;
	int rc = u->run(u->ctx, u->peer, &err);

	/* a worker that stopped early makes the next chunk's write fail with EPIPE */
	close_fd(&u->peer);
	pthread_mutex_lock(&u->lock);
	u->rc = rc;
	u->err = err;
	u->finished = true;
	pthread_mutex_unlock(&u->lock);
	if (write(u->done_fd, &one, sizeof(one)) < 0)
		log_kv(HAMN_LOG_WARN, "cannot signal the end of an upload", "errno=%s",
		       hamn_errno_name(errno));
	return NULL;
}

int api_upload_start(struct api_upload *u, struct hamn_error **err)
{
	int sv[2], rc;
	char byte = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return hamn_error_set(err, errno, "socketpair");
	u->fd = sv[0];
	u->peer = sv[1];
	if (u->sockbuf > 0) {
		/* more bytes in flight, fewer wake-ups of the worker (best effort) */
		(void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &u->sockbuf, sizeof(u->sockbuf));
		(void)setsockopt(u->peer, SOL_SOCKET, SO_RCVBUF, &u->sockbuf, sizeof(u->sockbuf));
	}
	/*
	 * One byte is parked in our end's receive queue and never read. A unix
	 * stream socket closed with unread data resets its peer, so closing our
	 * end early (the client went away mid-body) makes the worker's read fail
	 * with ECONNRESET instead of returning an end of file: a body cut off at
	 * a tar member boundary is never taken for a whole archive. The normal
	 * end of the body is shutdown(SHUT_WR), a clean end of file.
	 */
	if (write(u->peer, &byte, 1) != 1)
		return hamn_error_set(err, errno, "prime upload socket");
	u->done_fd = eventfd(0, EFD_CLOEXEC);
	if (u->done_fd < 0)
		return hamn_error_set(err, errno, "eventfd");
	rc = pthread_create(&u->thread, NULL, upload_main, u);
	if (rc != 0)
		return hamn_error_set(err, rc, "start upload thread");
	u->started = true;
	return 0;
}

static bool upload_finished(struct api_upload *u)
{
	bool finished;

	pthread_mutex_lock(&u->lock);
	finished = u->finished;
	pthread_mutex_unlock(&u->lock);
	return finished;
}

bool api_upload_wait(struct api_upload *u, int timeout_ms, int cancel_fd)
{
	struct pollfd p[2] = {{u->done_fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
	int n;

	do
		n = poll(p, cancel_fd >= 0 ? 2 : 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return upload_finished(u);
}

int api_upload_failure(const struct api_upload *u, struct hamn_error **err)
{
	int e = u->err ? u->err->errnum : EIO;

	for (const int *bad = u->bad_input; bad && *bad; bad++)
		if (e == *bad)
			e = EINVAL;
	return hamn_error_setq(err, e, "%s", u->err ? u->err->msg : "upload failed");
}

int api_upload_write(struct api_upload *u, const void *data, size_t len,
		     struct hamn_error **err)
{
	struct hamn_error *werr = NULL;

	if (!upload_finished(u) && hamn_write_all(u->fd, data, len, &werr) == 0)
		return 0;
	if (werr && werr->errnum != EPIPE && werr->errnum != ECONNRESET)
		return hamn_error_propagate(err, &werr);
	hamn_error_free(&werr);
	/* the worker stopped reading: its result says why */
	api_upload_wait(u, -1, -1);
	if (u->rc < 0)
		return api_upload_failure(u, err);
	return 0; /* it is done and needs no more: the rest of the body is dropped */
}

int api_upload_end(struct api_upload *u, struct hamn_error **err)
{
	if (shutdown(u->fd, SHUT_WR) < 0)
		return hamn_error_set(err, errno, "end upload");
	u->eof_sent = true;
	return 0;
}

/* ---- downloads ---- */

struct download {
	api_fd_fn run;
	void *ctx;
	int wfd; /* the pipe the worker writes; closed once run returns */
	int rc;
	struct hamn_error *err;
};

static void *download_main(void *arg)
{
	struct download *d = arg;

	d->rc = d->run(d->ctx, d->wfd, &d->err);
	close_fd(&d->wfd);
	return NULL;
}

/* Copy the pipe to the client until its end; EPIPE when the client goes away. */
static int forward(struct hamn_api_stream *s, int rfd, const char *what, struct hamn_error **err)
{
	_cleanup_free_ char *buf = xmalloc(DOWNLOAD_CHUNK);
	struct pollfd p[2] = {{rfd, POLLIN, 0}, {hamn_api_stream_cancel_fd(s), POLLIN, 0}};

	for (;;) {
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "%s: poll", what);
		}
		if (p[1].revents)
			return hamn_error_setq(err, EPIPE, "%s: the client went away", what);
		n = read(rfd, buf, DOWNLOAD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "%s: read", what);
		if (n == 0)
			return 0;
		if (hamn_api_stream_write(s, buf, (size_t)n, err) < 0)
			return -1;
	}
}

int api_stream_from_worker(struct hamn_api_stream *s, const char *what, api_fd_fn run, void *ctx,
			   struct hamn_error **err)
{
	struct download d = {.run = run, .ctx = ctx, .wfd = -1};
	pthread_t thread;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "%s: pipe", what);
	d.wfd = p[1];
	rc = pthread_create(&thread, NULL, download_main, &d);
	if (rc != 0) {
		close(p[0]);
		close(p[1]);
		return hamn_error_set(err, rc, "%s: start thread", what);
	}
	rc = forward(s, p[0], what, err);
	close(p[0]); /* a worker still writing now fails with EPIPE and stops */
	pthread_join(thread, NULL);
	if (rc == 0 && d.rc < 0) /* cuts the tar short: the client sees the failure */
		return hamn_error_propagate(err, &d.err);
	if (d.rc < 0)
		log_kv(HAMN_LOG_DEBUG, "download ended early", "what=%s error=\"%s\"", what,
		       d.err ? d.err->msg : "");
	hamn_error_free(&d.err);
	return rc;
}

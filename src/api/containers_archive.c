/*
 * containers_archive.c - docker cp through the API: HEAD, GET and PUT
 * /containers/{id}/archive?path=..., served by src/engine/archive*.c.
 *
 * HEAD and GET carry X-Docker-Container-Path-Stat: base64 of
 * {"name","size","mode","mtime","linkTarget"} (mode is a Go os.FileMode).
 * The path is resolved before any reply, so a missing file is a 404 with
 * dockerd's message. GET streams the tar: the engine writes it into a pipe
 * from a worker thread and the reply forwards the pipe, so nothing is held
 * in memory and a client that goes away stops the writer (EPIPE). PUT
 * takes the body as it arrives (a stream-body route) and feeds it through
 * a socket to a worker that extracts it.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/containers_internal.h"
#include "engine/cp.h"

#define ARCHIVE_CHUNK (256u << 10)

static char *stat_header(json_t *stat)
{
	_cleanup_free_ char *text = hamn_json_dump(stat);
	size_t len = strlen(text);
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)len);
	return out;
}

static struct hamn_engine_archive *open_with_stat(struct hamn_api_req *req, void *ctx,
						  struct hamn_error **err)
{
	_cleanup_json_ json_t *stat = NULL;
	_cleanup_free_ char *hdr = NULL;
	const char *path = hamn_api_req_query(req, "path");
	struct hamn_engine_archive *a;

	if (!path || !path[0]) {
		hamn_error_setq(err, EINVAL, "path is required");
		return NULL;
	}
	a = hamn_engine_archive_open(ctx, hamn_api_req_param(req, "id"), path, &stat, err);
	if (!a)
		return NULL;
	hdr = stat_header(stat);
	hamn_api_reply_header(req, "X-Docker-Container-Path-Stat", hdr);
	return a;
}

static int h_head(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct hamn_engine_archive *a = open_with_stat(req, ctx, err);

	if (!a)
		return -1;
	hamn_engine_archive_free(a);
	return hamn_api_reply_empty(req, 200);
}

/* ---- GET ---- */

struct get_job {
	struct hamn_engine_archive *a;
	int wfd;
	pthread_t thread;
	int rc;
	struct hamn_error *err;
};

static void get_job_free(void *p)
{
	struct get_job *job = p;

	hamn_engine_archive_free(job->a);
	hamn_error_free(&job->err);
	free(job);
}

static void *get_main(void *arg)
{
	struct get_job *job = arg;

	job->rc = hamn_engine_archive_get(job->a, job->wfd, &job->err);
	close(job->wfd);
	job->wfd = -1;
	return NULL;
}

static int forward(struct hamn_api_stream *s, int rfd, struct hamn_error **err)
{
	_cleanup_free_ char *buf = xmalloc(ARCHIVE_CHUNK);
	struct pollfd p[2] = {{rfd, POLLIN, 0}, {hamn_api_stream_cancel_fd(s), POLLIN, 0}};

	for (;;) {
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "archive: poll");
		}
		if (p[1].revents)
			return hamn_error_setq(err, EPIPE, "archive: the client went away");
		n = read(rfd, buf, ARCHIVE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "archive: read");
		if (n == 0)
			return 0;
		if (hamn_api_stream_write(s, buf, (size_t)n, err) < 0)
			return -1;
	}
}

static int get_stream(struct hamn_api_stream *s, void *ctx, struct hamn_error **err)
{
	struct get_job *job = ctx;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "archive: pipe");
	job->wfd = p[1];
	rc = pthread_create(&job->thread, NULL, get_main, job);
	if (rc != 0) {
		close(p[0]);
		close(p[1]);
		return hamn_error_set(err, rc, "archive: start thread");
	}
	rc = forward(s, p[0], err);
	close(p[0]); /* a writer still busy now fails with EPIPE and stops */
	pthread_join(job->thread, NULL);
	if (rc == 0 && job->rc < 0) /* cuts the tar short: the client sees the failure */
		return hamn_error_propagate(err, &job->err);
	return rc;
}

static int h_get(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct get_job *job;
	struct hamn_engine_archive *a = open_with_stat(req, ctx, err);

	if (!a)
		return -1;
	job = xzalloc(sizeof(*job));
	job->a = a;
	job->wfd = -1;
	return hamn_api_reply_stream(req, 200, "application/x-tar", 0, get_stream, job,
				     get_job_free);
}

/* ---- PUT ---- */

struct put_job {
	struct hamn_engine_archive *a;
	struct hamn_engine_archive_put_opts o;
	int fd, peer; /* our end of the socket, the worker's */
	pthread_t thread;
	bool started, joined;
	int rc;
	struct hamn_error *err;
};

static void *put_main(void *arg)
{
	struct put_job *job = arg;

	job->rc = hamn_engine_archive_put(job->a, job->peer, &job->o, &job->err);
	/* the rest of the body has nowhere to go: our writes fail with EPIPE */
	shutdown(job->peer, SHUT_RD);
	return NULL;
}

static void put_join(struct put_job *job)
{
	if (!job->started || job->joined)
		return;
	if (job->fd >= 0)
		shutdown(job->fd, SHUT_WR);
	pthread_join(job->thread, NULL);
	job->joined = true;
}

static void put_job_free(void *p)
{
	struct put_job *job = p;

	/* the client went away mid-body: closing our end resets the worker's reads */
	if (job->started && !job->joined) {
		close(job->fd);
		job->fd = -1;
		pthread_join(job->thread, NULL);
	}
	if (job->fd >= 0)
		close(job->fd);
	if (job->peer >= 0)
		close(job->peer);
	hamn_engine_archive_free(job->a);
	hamn_error_free(&job->err);
	free(job);
}

/* The worker's failure as our reply: a bad archive is the client's fault (400). */
static int put_failure(struct put_job *job, struct hamn_error **err)
{
	int e = job->err ? job->err->errnum : EIO;

	if (e == ENOENT || e == ELOOP || e == EEXIST)
		e = EINVAL;
	return hamn_error_setq(err, e, "%s", job->err ? job->err->msg : "extraction failed");
}

static int put_data(void *ctx, const void *data, size_t len, struct hamn_error **err)
{
	struct put_job *job = ctx;
	struct hamn_error *werr = NULL;

	if (hamn_write_all(job->fd, data, len, &werr) == 0)
		return 0;
	hamn_error_free(&werr);
	put_join(job);
	if (job->rc < 0)
		return put_failure(job, err);
	return 0; /* it needs no more: the rest (tar padding) is dropped */
}

static int put_done(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct put_job *job = ctx;

	put_join(job);
	if (job->rc < 0)
		return put_failure(job, err);
	return hamn_api_reply_empty(req, 200);
}

static int put_start(struct put_job *job, struct hamn_error **err)
{
	int sv[2], rc;
	char byte = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return hamn_error_set(err, errno, "socketpair");
	job->fd = sv[0];
	job->peer = sv[1];
	/*
	 * One byte parked unread in our end: closing it early (the client went
	 * away mid-body) then resets the worker's reads instead of giving a
	 * clean end of file, so a cut body is never taken for a whole archive.
	 */
	if (write(job->peer, &byte, 1) != 1)
		return hamn_error_set(err, errno, "prime the archive socket");
	rc = pthread_create(&job->thread, NULL, put_main, job);
	if (rc != 0)
		return hamn_error_set(err, rc, "start the extraction thread");
	job->started = true;
	return 0;
}

/*
 * A refused PUT still reads the body it was sent before it answers: a
 * client still writing the tar would otherwise get EPIPE instead of the
 * reply (docker cp prints "Could not find the file ..." from it).
 */
static int refuse_data(void *ctx, const void *data, size_t len, struct hamn_error **err)
{
	(void)ctx;
	(void)data;
	(void)len;
	(void)err;
	return 0;
}

static int refuse_done(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct put_job *job = ctx;

	(void)req;
	return hamn_error_propagate(err, &job->err);
}

static int h_put(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *path = hamn_api_req_query(req, "path");
	struct put_job *job = xzalloc(sizeof(*job));

	job->fd = job->peer = -1;
	job->o.no_overwrite_dir_non_dir =
		hamn_api_req_query_bool(req, "noOverwriteDirNonDir", false);
	job->o.copy_uid_gid = hamn_api_req_query_bool(req, "copyUIDGID", false);
	if (!path || !path[0])
		hamn_error_setq(&job->err, EINVAL, "path is required");
	else
		job->a = hamn_engine_archive_open_dir(ctx, hamn_api_req_param(req, "id"), path,
						      &job->err);
	if (job->a && put_start(job, &job->err) < 0) {
		hamn_engine_archive_free(job->a);
		job->a = NULL;
	}
	if (!job->a) {
		hamn_api_req_consume_body(req, refuse_data, refuse_done, job, put_job_free);
		return 0;
	}
	(void)err;
	hamn_api_req_consume_body(req, put_data, put_done, job, put_job_free);
	return 0;
}

void api_containers_register_archive(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "HEAD", "/containers/{id}/archive", h_head, e);
	hamn_api_route(s, "GET", "/containers/{id}/archive", h_get, e);
	hamn_api_route_flags(s, "PUT", "/containers/{id}/archive", HAMN_API_ROUTE_STREAM_BODY,
			     h_put, e);
}

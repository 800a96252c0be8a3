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
 * a socket to a worker that extracts it. Both go through src/api/pump.c.
 */
#include <openssl/evp.h>

#include "api/containers_internal.h"
#include "api/internal.h"
#include "engine/cp.h"

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

static void archive_free(void *a)
{
	hamn_engine_archive_free(a);
}

static int get_run(void *a, int fd, struct hamn_error **err)
{
	return hamn_engine_archive_get(a, fd, err);
}

static int get_stream(struct hamn_api_stream *s, void *a, struct hamn_error **err)
{
	return api_stream_from_worker(s, "archive", get_run, a, err);
}

static int h_get(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct hamn_engine_archive *a = open_with_stat(req, ctx, err);

	if (!a)
		return -1;
	return hamn_api_reply_stream(req, 200, "application/x-tar", 0, get_stream, a,
				     archive_free);
}

/* ---- PUT ---- */

struct put_job {
	struct hamn_engine_archive *a;
	struct hamn_engine_archive_put_opts o;
	struct api_upload pump;
	struct hamn_error *refused; /* why the archive cannot go there: the reply */
};

/* Extraction errors that mean a bad archive, the client's fault (400). */
static const int bad_archive[] = {ENOENT, ELOOP, EEXIST, 0};

static int put_run(void *ctx, int fd, struct hamn_error **err)
{
	struct put_job *job = ctx;

	return hamn_engine_archive_put(job->a, fd, &job->o, err);
}

static void put_job_free(void *p)
{
	struct put_job *job = p;

	/* the client went away mid-body: the worker's reads are reset */
	api_upload_release(&job->pump);
	hamn_engine_archive_free(job->a);
	hamn_error_free(&job->refused);
	free(job);
}

static int put_data(void *ctx, const void *data, size_t len, struct hamn_error **err)
{
	struct put_job *job = ctx;

	return api_upload_write(&job->pump, data, len, err);
}

static int put_done(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct put_job *job = ctx;

	if (api_upload_end(&job->pump, err) < 0)
		return -1;
	api_upload_wait(&job->pump, -1, -1);
	if (job->pump.rc < 0)
		return api_upload_failure(&job->pump, err);
	return hamn_api_reply_empty(req, 200);
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
	return hamn_error_propagate(err, &job->refused);
}

static int h_put(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *path = hamn_api_req_query(req, "path");
	struct put_job *job = xzalloc(sizeof(*job));

	api_upload_init(&job->pump, put_run, job, bad_archive);
	job->o.no_overwrite_dir_non_dir =
		hamn_api_req_query_bool(req, "noOverwriteDirNonDir", false);
	job->o.copy_uid_gid = hamn_api_req_query_bool(req, "copyUIDGID", false);
	if (!path || !path[0])
		hamn_error_setq(&job->refused, EINVAL, "path is required");
	else
		job->a = hamn_engine_archive_open_dir(ctx, hamn_api_req_param(req, "id"), path,
						      &job->refused);
	if (job->a && api_upload_start(&job->pump, &job->refused) < 0) {
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

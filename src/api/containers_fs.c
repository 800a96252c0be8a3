/*
 * containers_fs.c - a container's filesystem through the API: POST /commit
 * (docker commit), GET /containers/{id}/changes (docker diff) and GET
 * /containers/{id}/export (docker export), served by src/engine/commit.c.
 *
 * Export streams: the engine writes the tar into a pipe from a worker
 * thread and the reply's producer forwards the pipe, so the tar is never
 * held in memory and a client that goes away stops the writer (EPIPE).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "api/build.h"
#include "api/images.h"
#include "engine/commit.h"
#include "engine/engine.h"
#include "oci/reference.h"

#define EXPORT_CHUNK (256u << 10)

/* ---- POST /commit ---- */

/* ?repo=&tag= as a validated reference, or NULL when there is no repo. */
static int commit_ref(struct hamn_api_req *req, char **out, struct hamn_error **err)
{
	const char *repo = hamn_api_req_query(req, "repo");
	_cleanup_free_ char *ref = NULL, *full = NULL;

	*out = NULL;
	if (!repo || !*repo)
		return 0;
	ref = hamn_api_images_ref(repo, hamn_api_req_query(req, "tag"), err);
	if (!ref || !(full = hamn_ref_normalize(ref, err)))
		return -1;
	*out = steal_pointer(&ref);
	return 0;
}

static int commit(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *ctr = hamn_api_req_query(req, "container");
	_cleanup_free_ char *ref = NULL, *id = NULL;
	_cleanup_strv_ char **changes = hamn_api_req_query_list(req, "changes");
	_cleanup_json_ json_t *config = NULL;
	struct hamn_engine_commit_opts o = { 0 };

	if (!ctr || !*ctr)
		return hamn_error_setq(err, EINVAL, "no container given: use ?container=NAME");
	if (commit_ref(req, &ref, err) < 0 ||
	    hamn_api_req_json(req, HAMN_API_JSON_OPTIONAL, &config, err) < 0)
		return -1;
	o.ref = ref;
	o.comment = hamn_api_req_query(req, "comment");
	o.author = hamn_api_req_query(req, "author");
	o.pause = hamn_api_req_query_bool(req, "pause", true);
	o.changes = changes;
	o.config = config;
	if (hamn_engine_container_commit(ctx, ctr, &o, &id, err) < 0)
		return -1;
	return hamn_api_reply_json(req, 201, json_pack("{s:s}", "Id", id));
}

/* ---- GET /containers/{id}/changes ---- */

static int changes(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *v = hamn_engine_container_changes(ctx, hamn_api_req_param(req, "id"), err);

	if (!v)
		return -1;
	return hamn_api_reply_json(req, 200, v);
}

/* ---- GET /containers/{id}/export ---- */

struct export_job {
	struct hamn_engine *e;
	char *id;
	int wfd;		/* the pipe's write end; closed by the worker */
	pthread_t thread;
	int rc;
	struct hamn_error *err;
};

static void export_job_free(void *p)
{
	struct export_job *job = p;

	free(job->id);
	hamn_error_free(&job->err);
	free(job);
}

static void *export_main(void *arg)
{
	struct export_job *job = arg;

	job->rc = hamn_engine_container_export(job->e, job->id, job->wfd, &job->err);
	close(job->wfd);
	job->wfd = -1;
	return NULL;
}

/* Copy the pipe to the client until its end; EPIPE when the client goes away. */
static int export_forward(struct hamn_api_stream *s, int rfd, struct hamn_error **err)
{
	_cleanup_free_ char *buf = xmalloc(EXPORT_CHUNK);
	struct pollfd p[2] = { { rfd, POLLIN, 0 }, { hamn_api_stream_cancel_fd(s), POLLIN, 0 } };

	for (;;) {
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "export: poll");
		}
		if (p[1].revents)
			return hamn_error_setq(err, EPIPE, "export: the client went away");
		n = read(rfd, buf, EXPORT_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "export: read");
		if (n == 0)
			return 0;
		if (hamn_api_stream_write(s, buf, (size_t)n, err) < 0)
			return -1;
	}
}

static int export_stream(struct hamn_api_stream *s, void *ctx, struct hamn_error **err)
{
	struct export_job *job = ctx;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "export: pipe");
	job->wfd = p[1];
	rc = pthread_create(&job->thread, NULL, export_main, job);
	if (rc != 0) {
		close(p[0]);
		close(p[1]);
		return hamn_error_set(err, rc, "export: start thread");
	}
	rc = export_forward(s, p[0], err);
	close(p[0]); /* an export still writing now fails with EPIPE and stops */
	pthread_join(job->thread, NULL);
	if (rc == 0 && job->rc < 0) /* cuts the tar short: the client sees a failed export */
		return hamn_error_propagate(err, &job->err);
	return rc;
}

static int export(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	/* resolve first, so an unknown container is a 404 rather than a broken stream */
	char *id = hamn_engine_container_id(ctx, hamn_api_req_param(req, "id"), err);
	struct export_job *job;

	if (!id)
		return -1;
	job = xzalloc(sizeof(*job));
	job->e = ctx;
	job->id = id;
	job->wfd = -1;
	return hamn_api_reply_stream(req, 200, "application/x-tar", 0, export_stream, job,
				     export_job_free);
}

void hamn_api_register_containers_fs(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "POST", "/commit", commit, e);
	hamn_api_route(s, "GET", "/containers/{id}/changes", changes, e);
	hamn_api_route(s, "GET", "/containers/{id}/export", export, e);
}

/*
 * containers.c - the container endpoints that answer at once: create, list,
 * inspect, top, start, stop, restart, kill, resize, rename, delete. The
 * streaming ones (wait, logs, attach) are in containers_stream.c; pause,
 * unpause, update and prune in containers_ops.c. Each handler parses the
 * request, calls src/engine and shapes the reply; the engine's errno picks
 * the status (api.h: hamn_api_status_for_errno).
 */
#include "api/containers.h"
#include "api/containers_internal.h"
#include "api/internal.h"

static struct hamn_engine *engine(void *ctx)
{
	return ctx;
}

static const char *id_param(struct hamn_api_req *req)
{
	return hamn_api_req_param(req, "id");
}

static int h_create(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;
	_cleanup_free_ char *id = NULL;
	json_t *warnings = NULL;

	if (hamn_api_req_json(req, 0, &body, err) < 0)
		return -1;
	if (hamn_engine_container_create(engine(ctx), hamn_api_req_query(req, "name"), body, &id,
					 &warnings, err) < 0)
		return -1;
	return hamn_api_reply_json(req, 201, json_pack("{s:s, s:o}", "Id", id, "Warnings",
						       warnings ? warnings : json_array()));
}

static int h_list(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_(api_filters_release) struct api_filters f = API_FILTERS_INIT;
	struct hamn_engine_list_opts o = { 0 };
	_cleanup_free_ char *text = NULL;
	size_t len;

	o.all = hamn_api_req_query_bool(req, "all", false);
	o.size = hamn_api_req_query_bool(req, "size", false);
	if (hamn_api_req_query_int(req, "limit", -1, &o.limit, err) < 0 ||
	    api_req_filters(req, &f, err) < 0)
		return -1;
	o.filters = f.engine;
	o.n_filters = f.n;
	text = hamn_engine_container_list_text(engine(ctx), &o, &len, err);
	if (!text)
		return -1;
	/* the engine's cached text goes out as it is: no JSON objects per request */
	return hamn_api_reply_data(req, 200, "application/json", text, len);
}

static int h_inspect(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *obj = hamn_engine_container_inspect(engine(ctx), id_param(req),
						    hamn_api_req_query_bool(req, "size", false),
						    err);

	if (!obj)
		return -1;
	return hamn_api_reply_json(req, 200, obj);
}

static int h_top(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *obj = hamn_engine_container_top(engine(ctx), id_param(req),
						hamn_api_req_query(req, "ps_args"), err);

	if (!obj)
		return -1;
	return hamn_api_reply_json(req, 200, obj);
}

/* 204 on success, 304 for "nothing to do" (EALREADY), the error otherwise. */
static int reply_done(struct hamn_api_req *req, int r, struct hamn_error **err)
{
	if (r == 0)
		return hamn_api_reply_empty(req, 204);
	if ((*err)->errnum == HAMN_API_ENOTMODIFIED) {
		hamn_error_free(err);
		return hamn_api_reply_empty(req, 304);
	}
	return -1;
}

static int h_start(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return reply_done(req, hamn_engine_container_start(engine(ctx), id_param(req), err), err);
}

static int stop_timeout(struct hamn_api_req *req, int *t, struct hamn_error **err)
{
	int64_t v = -1;

	if (hamn_api_req_query_int(req, "t", -1, &v, err) < 0)
		return -1;
	*t = v < 0 ? -1 : (v > 86400 ? 86400 : (int)v);
	return 0;
}

static int h_stop(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	int t;

	if (stop_timeout(req, &t, err) < 0)
		return -1;
	return reply_done(req, hamn_engine_container_stop(engine(ctx), id_param(req), t, err),
			  err);
}

static int h_restart(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	int t;

	if (stop_timeout(req, &t, err) < 0)
		return -1;
	return reply_done(req, hamn_engine_container_restart(engine(ctx), id_param(req), t, err),
			  err);
}

static int h_kill(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *sig = hamn_api_req_query(req, "signal");
	int r;

	/* as dockerd: a bad signal is reported as is, the rest with the container's ref */
	if (sig && sig[0] && hamn_engine_signal_parse(sig) <= 0)
		return hamn_error_setq(err, EINVAL, "Invalid signal: %s", sig);
	r = hamn_engine_container_kill(engine(ctx), id_param(req), sig, err);
	if (r < 0)
		hamn_error_wrap(err, "Cannot kill container: %s", id_param(req));
	return reply_done(req, r, err);
}

static int h_resize(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	unsigned int h, w;

	if (api_req_tty_size(req, &h, &w, err) < 0 ||
	    hamn_engine_container_resize(engine(ctx), id_param(req), h, w, err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 200);
}

static int h_rename(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	if (hamn_engine_container_rename(engine(ctx), id_param(req),
					 hamn_api_req_query(req, "name"), err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 204);
}

static int h_delete(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	if (hamn_engine_container_remove(engine(ctx), id_param(req),
					 hamn_api_req_query_bool(req, "force", false),
					 hamn_api_req_query_bool(req, "v", false), err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 204);
}

int hamn_api_register_containers(struct hamn_api_server *s, struct hamn_engine *e,
				 struct hamn_error **err)
{
	(void)err;
	hamn_api_route(s, "POST", "/containers/create", h_create, e);
	hamn_api_route(s, "GET", "/containers/json", h_list, e);
	hamn_api_route(s, "GET", "/containers/{id}/json", h_inspect, e);
	hamn_api_route(s, "GET", "/containers/{id}/top", h_top, e);
	hamn_api_route(s, "POST", "/containers/{id}/start", h_start, e);
	hamn_api_route(s, "POST", "/containers/{id}/stop", h_stop, e);
	hamn_api_route(s, "POST", "/containers/{id}/restart", h_restart, e);
	hamn_api_route(s, "POST", "/containers/{id}/kill", h_kill, e);
	hamn_api_route(s, "POST", "/containers/{id}/resize", h_resize, e);
	hamn_api_route(s, "POST", "/containers/{id}/rename", h_rename, e);
	hamn_api_route(s, "DELETE", "/containers/{id}", h_delete, e);
	api_containers_register_streams(s, e);
	api_containers_register_ops(s, e);
	api_containers_register_exec(s, e);
	api_containers_register_archive(s, e);
	return 0;
}

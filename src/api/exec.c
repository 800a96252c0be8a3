/*
 * exec.c - the exec endpoints: POST /containers/{id}/exec (create),
 * POST /exec/{id}/start (hijacked, or detached), POST /exec/{id}/resize,
 * GET /exec/{id}/json. Served by src/engine/exec.c.
 *
 * A start is checked (404, 409) before the 101 goes out; once upgraded the
 * engine hands the connection to the container's monitor and this thread
 * waits for the exec to end, then closes the connection - only after the
 * exit code is recorded, because the CLI asks for it as soon as it sees EOF.
 * A process that cannot start gets dockerd's treatment: the message and
 * "\r\n" on the stream (a stdout frame without a tty), then EOF.
 */
#include "api/containers_internal.h"
#include "api/internal.h"
#include "engine/exec.h"

static int h_create(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;
	_cleanup_free_ char *id = NULL;

	if (hamn_api_req_json(req, 0, &body, err) < 0 ||
	    hamn_engine_exec_create(ctx, hamn_api_req_param(req, "id"), body, &id, err) < 0)
		return -1;
	return hamn_api_reply_json(req, 201, json_pack("{s:s}", "Id", id));
}

static int h_inspect(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *obj = hamn_engine_exec_inspect(ctx, hamn_api_req_param(req, "id"), err);

	if (!obj)
		return -1;
	return hamn_api_reply_json(req, 200, obj);
}

static int h_resize(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	unsigned int h, w;

	if (api_req_tty_size(req, &h, &w, err) < 0 ||
	    hamn_engine_exec_resize(ctx, hamn_api_req_param(req, "id"), h, w, err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 200);
}

struct start_ctx {
	struct hamn_engine_exec_start *s;
	bool tty;
};

static void start_free(void *p)
{
	struct start_ctx *c = p;

	/* still here: the session never ran (the upgrade failed) */
	hamn_engine_exec_start_cancel(c->s);
	free(c);
}

static void start_session(struct hamn_api_hijack *h, void *p)
{
	struct start_ctx *c = p;
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_engine_exec_start *s = c->s;
	size_t n_ahead;
	/* stdin the client sent right behind its request */
	const char *ahead = hamn_api_hijack_take_extra(h, &n_ahead);

	c->s = NULL;
	if (hamn_engine_exec_start_run(s, hamn_api_hijack_fd(h), ahead, n_ahead,
				       hamn_api_hijack_cancel_fd(h), &err) < 0) {
		_cleanup_free_ char *line = xasprintf("%s\r\n", err->msg);
		_cleanup_error_ struct hamn_error *werr = NULL;

		/* a client that is gone already cannot be told */
		if (c->tty)
			hamn_api_hijack_write(h, line, strlen(line), &werr);
		else
			hamn_api_hijack_frame(h, HAMN_API_STDOUT, line, strlen(line), &werr);
	}
	hamn_api_hijack_close(h);
}

static int h_start(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;
	bool detach = false, tty = false;
	struct hamn_engine_exec_start *s;
	struct start_ctx *c;

	if (hamn_api_req_json(req, HAMN_API_JSON_OPTIONAL, &body, err) < 0)
		return -1;
	detach = json_is_true(json_object_get(body, "Detach"));
	s = hamn_engine_exec_start_prepare(ctx, hamn_api_req_param(req, "id"), &tty, err);
	if (!s)
		return -1;
	if (detach) {
		if (hamn_engine_exec_start_run(s, -1, NULL, 0, -1, err) < 0)
			return -1;
		return hamn_api_reply_empty(req, 200);
	}
	c = xzalloc(sizeof(*c));
	c->s = s;
	c->tty = tty;
	return hamn_api_reply_hijack(req, start_session, c, start_free);
}

void api_containers_register_exec(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "POST", "/containers/{id}/exec", h_create, e);
	hamn_api_route(s, "POST", "/exec/{id}/start", h_start, e);
	hamn_api_route(s, "POST", "/exec/{id}/resize", h_resize, e);
	hamn_api_route(s, "GET", "/exec/{id}/json", h_inspect, e);
}

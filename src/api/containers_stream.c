/*
 * containers_stream.c - the container endpoints that stream: wait (headers
 * at once, the body at the exit), logs (multiplexed frames without a tty,
 * raw bytes with one; follow until the container stops) and attach (a
 * hijacked connection handed to the container's monitor by the engine).
 *
 * Everything that can fail with a status (404, 400, 409) is checked before
 * the reply starts; after that, failures only end the stream.
 */
#include <poll.h>

#include "api/containers_internal.h"

/* ---- wait ---- */

struct wait_ctx {
	struct hamn_engine_waiter *w;
};

static void wait_free(void *p)
{
	struct wait_ctx *c = p;

	hamn_engine_waiter_free(c->w);
	free(c);
}

static int wait_produce(struct hamn_api_stream *st, void *p, struct hamn_error **err)
{
	struct wait_ctx *c = p;
	_cleanup_json_ json_t *body = NULL;
	const char *error = NULL;
	int status = 0;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = hamn_engine_waiter_fd(c->w), .events = POLLIN },
			{ .fd = hamn_api_stream_cancel_fd(st), .events = POLLIN },
		};

		if (hamn_engine_waiter_result(c->w, &status, &error))
			break;
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return hamn_error_set(err, errno, "poll");
		/* the client went away (docker run -d drops its wait): nobody to tell */
		if (fds[1].revents)
			return 0;
	}
	body = json_pack("{s:o, s:i}", "Error",
			 error ? json_pack("{s:s}", "Message", error) : json_null(), "StatusCode",
			 status);
	return hamn_api_stream_json(st, body, err);
}

static int h_wait(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	enum hamn_wait_condition cond;
	struct wait_ctx *c;

	if (hamn_wait_condition_parse(hamn_api_req_query(req, "condition"), &cond, err) < 0)
		return -1;
	c = xzalloc(sizeof(*c));
	/* registered before the reply: an exit right after this is not missed */
	c->w = hamn_engine_wait_new(ctx, hamn_api_req_param(req, "id"), cond, err);
	if (!c->w) {
		free(c);
		return -1;
	}
	return hamn_api_reply_stream(req, 200, "application/json", 0, wait_produce, c, wait_free);
}

/* ---- logs ---- */

struct logs_ctx {
	struct hamn_engine_logs *l;
	struct hamn_api_stream *st;
	bool tty;
};

static void logs_free(void *p)
{
	struct logs_ctx *c = p;

	hamn_engine_logs_free(c->l);
	free(c);
}

static int logs_write(void *p, int stream, const char *data, size_t len,
		      struct hamn_error **err)
{
	struct logs_ctx *c = p;

	if (c->tty)
		return hamn_api_stream_write(c->st, data, len, err);
	return hamn_api_stream_frame(c->st, stream, data, len, err);
}

static int logs_produce(struct hamn_api_stream *st, void *p, struct hamn_error **err)
{
	struct logs_ctx *c = p;

	c->st = st;
	if (hamn_engine_logs_run(c->l, hamn_api_stream_cancel_fd(st), logs_write, c, err) < 0) {
		/* the client going away is the normal end of a followed log */
		if ((*err)->errnum == EPIPE) {
			hamn_error_free(err);
			return 0;
		}
		return -1;
	}
	return 0;
}

static int time_query(struct hamn_api_req *req, const char *key, int64_t *ns,
		      struct hamn_error **err)
{
	const char *s = hamn_api_req_query(req, key);

	*ns = 0;
	if (!s || !s[0] || streq(s, "0"))
		return 0;
	if (hamn_time_parse_since(s, hamn_now_ns(), ns, err) < 0)
		return hamn_error_wrap(err, "invalid value for \"%s\"", key);
	return 0;
}

static int logs_opts(struct hamn_api_req *req, struct hamn_engine_logs_opts *o,
		     struct hamn_error **err)
{
	const char *tail = hamn_api_req_query(req, "tail");
	_cleanup_error_ struct hamn_error *terr = NULL;

	o->stdout_ = hamn_api_req_query_bool(req, "stdout", false);
	o->stderr_ = hamn_api_req_query_bool(req, "stderr", false);
	o->follow = hamn_api_req_query_bool(req, "follow", false);
	o->timestamps = hamn_api_req_query_bool(req, "timestamps", false);
	o->details = hamn_api_req_query_bool(req, "details", false);
	if (!o->stdout_ && !o->stderr_)
		return hamn_error_setq(err, EINVAL,
				       "Bad parameters: you must choose at least one stream");
	o->tail = -1;
	if (tail && tail[0] && !streq(tail, "all") &&
	    (hamn_parse_int64(tail, &o->tail, &terr) < 0 || o->tail < 0))
		o->tail = -1;	/* dockerd: anything else means all */
	if (time_query(req, "since", &o->since_ns, err) < 0 ||
	    time_query(req, "until", &o->until_ns, err) < 0)
		return -1;
	return 0;
}

static int h_logs(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct hamn_engine_logs_opts o = { 0 };
	struct logs_ctx *c;

	if (logs_opts(req, &o, err) < 0)
		return -1;
	c = xzalloc(sizeof(*c));
	c->l = hamn_engine_logs_open(ctx, hamn_api_req_param(req, "id"), &o, &c->tty, err);
	if (!c->l) {
		free(c);
		return -1;
	}
	/* dockerd sends no Content-Type on logs */
	return hamn_api_reply_stream(req, 200, NULL, 0, logs_produce, c, logs_free);
}

/* ---- attach ---- */

struct attach_ctx {
	struct hamn_engine_attach *a;
};

static void attach_free(void *p)
{
	struct attach_ctx *c = p;

	/* still here: the session never ran (the upgrade failed) */
	hamn_engine_attach_cancel(c->a);
	free(c);
}

static void attach_done(void *p)
{
	hamn_api_hijack_close(p);
}

static void attach_session(struct hamn_api_hijack *h, void *p)
{
	struct attach_ctx *c = p;
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_engine_attach *a = c->a;
	size_t n_ahead;
	/* stdin the client sent right behind its request (echo hi | docker run -i) */
	const char *ahead = hamn_api_hijack_take_extra(h, &n_ahead);

	c->a = NULL;
	/* from here on the engine (the monitor) owns the conversation; done() closes */
	if (hamn_engine_attach_run(a, hamn_api_hijack_fd(h), ahead, n_ahead, attach_done, h,
				   &err) < 0)
		log_kv(HAMN_LOG_WARN, "attach failed", "error=\"%s\"", err->msg);
}

static int h_attach(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct hamn_engine_attach_opts o = {
		.stdin_ = hamn_api_req_query_bool(req, "stdin", false),
		.stdout_ = hamn_api_req_query_bool(req, "stdout", false),
		.stderr_ = hamn_api_req_query_bool(req, "stderr", false),
		.stream = hamn_api_req_query_bool(req, "stream", false),
		.logs = hamn_api_req_query_bool(req, "logs", false),
		.detach_keys = hamn_api_req_query(req, "detachKeys"),
	};
	struct attach_ctx *c;
	bool tty;

	if (!o.stream && !o.logs)
		return hamn_error_setq(err, EINVAL, "Bad parameters: you must choose at least one "
				       "of stream or logs");
	c = xzalloc(sizeof(*c));
	c->a = hamn_engine_attach_prepare(ctx, hamn_api_req_param(req, "id"), &o, &tty, err);
	if (!c->a) {
		free(c);
		return -1;
	}
	return hamn_api_reply_hijack(req, attach_session, c, attach_free);
}

void api_containers_register_streams(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "POST", "/containers/{id}/wait", h_wait, e);
	hamn_api_route(s, "GET", "/containers/{id}/logs", h_logs, e);
	hamn_api_route(s, "POST", "/containers/{id}/attach", h_attach, e);
}

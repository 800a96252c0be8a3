/*
 * stats.c - GET /containers/{id}/stats: a container's resource use as
 * dockerd's stats object (the samples come from src/engine/stats.c).
 *
 *   stream=1 (default)  one object a second, each carrying the previous
 *                       sample's CPU figures as precpu_stats (the first one
 *                       zeros), until the client goes away or the container
 *                       is removed; a stopped container gives empty objects.
 *   stream=0            a sample with precpu_stats from the last one the
 *                       engine kept of this run (any stats request, or the
 *                       sample taken at start) when that is at least
 *                       HAMN_STATS_MIN_PREV_MS old: at once. Otherwise, as
 *                       dockerd, two samples a second apart, the second
 *                       sent with the first as precpu_stats: what `docker
 *                       stats --no-stream` computes its CPU % from.
 *   stream=0&one-shot=1 one sample at once, precpu_stats zero (API 1.41).
 * A container that is not running answers at once with the empty object
 * when not streaming, as dockerd does.
 */
#include <poll.h>

#include "api/events.h"
#include "engine/engine.h"
#include "engine/stats.h"

#define STATS_INTERVAL_MS 1000

struct stats_ctx {
	struct hamn_engine *e;
	char *id;
	json_t *first;
};

static void stats_free(void *p)
{
	struct stats_ctx *c = p;

	free(c->id);
	json_decref(c->first);
	free(c);
}

/* Wait one interval; true when the client went away meanwhile. */
static bool wait_interval(int cancel_fd)
{
	struct pollfd p = { .fd = cancel_fd, .events = POLLIN };

	return poll(&p, 1, STATS_INTERVAL_MS) > 0;
}

static int stats_produce(struct hamn_api_stream *st, void *p, struct hamn_error **err)
{
	struct stats_ctx *c = p;
	_cleanup_json_ json_t *prev = NULL;
	json_t *cur = steal_pointer(&c->first);

	for (;;) {
		_cleanup_error_ struct hamn_error *serr = NULL;
		bool running = false;

		hamn_stats_set_previous(cur, prev);
		if (hamn_api_stream_json(st, cur, err) < 0) {
			json_decref(cur);
			if ((*err)->errnum != EPIPE)
				return -1;
			hamn_error_free(err);
			return 0;
		}
		if (prev)
			json_decref(prev);
		prev = cur;
		if (wait_interval(hamn_api_stream_cancel_fd(st)))
			return 0;
		cur = hamn_engine_container_stats(c->e, c->id, &running, &serr);
		if (!cur)
			return 0; /* removed: the stream ends */
	}
}

/* stream=0: a second sample an interval after the first, carrying it as precpu_stats. */
static int stats_two_samples(struct hamn_api_req *req, struct hamn_engine *e, const char *id,
			     json_t *first, struct hamn_error **err)
{
	_cleanup_json_ json_t *second = NULL;
	struct timespec ts = { .tv_sec = STATS_INTERVAL_MS / 1000,
			       .tv_nsec = (STATS_INTERVAL_MS % 1000) * 1000000L };
	bool running = false;

	/* a connection thread of its own: it may wait; nothing else waits for it */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	second = hamn_engine_container_stats(e, id, &running, err);
	if (!second)
		return -1;
	if (running)
		hamn_stats_set_previous(second, first);
	return hamn_api_reply_json(req, 200, steal_pointer(&second));
}

static int h_stats(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	bool stream = hamn_api_req_query_bool(req, "stream", true);
	bool one_shot = hamn_api_req_query_bool(req, "one-shot", false);
	_cleanup_json_ json_t *first = NULL;
	struct stats_ctx *c;
	bool running = false, has_prev = false;

	if (stream && one_shot)
		return hamn_error_setq(err, EINVAL, "cannot have stream=true and one-shot=true");
	if (!stream && !one_shot)
		first = hamn_engine_container_stats_last(ctx, hamn_api_req_param(req, "id"),
							 HAMN_STATS_MIN_PREV_MS, &running, &has_prev,
							 err);
	else
		first = hamn_engine_container_stats(ctx, hamn_api_req_param(req, "id"), &running,
						    err);
	if (!first)
		return -1;
	if (!stream && (one_shot || !running || has_prev))
		return hamn_api_reply_json(req, 200, steal_pointer(&first));
	if (!stream)
		return stats_two_samples(req, ctx, json_string_value(json_object_get(first, "id")),
					 first, err);
	c = xzalloc(sizeof(*c));
	c->e = ctx;
	c->id = xstrdup(json_string_value(json_object_get(first, "id")));
	c->first = steal_pointer(&first);
	return hamn_api_reply_stream(req, 200, "application/json", 0, stats_produce, c,
				     stats_free);
}

void hamn_api_register_stats(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "GET", "/containers/{id}/stats", h_stats, e);
}

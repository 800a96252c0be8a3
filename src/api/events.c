/*
 * events.c - GET /events: the engine's events as a long-lived JSON stream,
 * one message per line, flushed as it happens.
 *
 * since/until: with either one, the recorded events in [since, until] are
 * replayed first (oldest first), as dockerd does; then live events follow
 * until the client goes away or until passes. An until in the past means
 * "replay, then close". Filters are dockerd's (hamn_api_events_match).
 *
 * The producer thread blocks in poll() on the subscription's eventfd, the
 * stream's cancel fd and, with until, a timeout: nothing wakes it for
 * nothing.
 */
#include <poll.h>
#include <unistd.h>

#include "api/events.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "image/image.h"
#include "oci/reference.h"

#define BATCH_BYTES (64u << 10)

const char *const hamn_api_events_filter_keys[] = {
	"config", "container", "daemon", "event",  "image",  "label",  "network",
	"node",	  "plugin",    "scope",	 "secret", "service", "type", "volume", NULL,
};

/* ---- matching ---- */

/* dockerd's Args.ExactMatch: no values for key passes everything. */
static bool exact(const struct hamn_api_filters *f, const char *key, const char *source)
{
	char *const *v = hamn_api_filters_get(f, key);

	if (!v || !v[0])
		return true;
	return source && strv_contains(v, source);
}

/* dockerd's Args.FuzzyMatch: exactly, or a value is a prefix of source. */
static bool fuzzy(const struct hamn_api_filters *f, const char *key, const char *source)
{
	char *const *v = hamn_api_filters_get(f, key);

	if (exact(f, key, source))
		return true;
	for (size_t i = 0; source && v[i]; i++)
		if (str_has_prefix(source, v[i]))
			return true;
	return false;
}

static const char *attr(const struct hamn_event *ev, const char *key)
{
	return json_string_value(json_object_get(ev->attrs, key));
}

static bool match_name(const struct hamn_api_filters *f, const char *key,
		       const struct hamn_event *ev)
{
	return fuzzy(f, key, ev->id) || fuzzy(f, key, attr(ev, "name"));
}

/* "busybox:local" -> "busybox", "r:5000/a/b@sha256:.." -> "r:5000/a/b"; ids stay. */
static char *strip_tag(const char *image)
{
	const char *at = strchr(image, '@'), *slash = strrchr(image, '/'), *colon;

	if (str_has_prefix(image, "sha256:"))
		return xstrdup(image);
	if (at)
		return xstrndup(image, (size_t)(at - image));
	colon = strrchr(slash ? slash : image, ':');
	return colon ? xstrndup(image, (size_t)(colon - image)) : xstrdup(image);
}

static bool match_image(const struct hamn_api_filters *f, const struct hamn_event *ev)
{
	const char *name = attr(ev, streq(ev->type, "image") ? "name" : "image");
	_cleanup_free_ char *id_short = strip_tag(ev->id);
	_cleanup_free_ char *name_short = name ? strip_tag(name) : NULL;

	if (!hamn_api_filters_get(f, "image"))
		return true;
	return exact(f, "image", ev->id) || (name && exact(f, "image", name)) ||
	       exact(f, "image", id_short) || (name_short && exact(f, "image", name_short));
}

/* health_status: healthy, exec_start: sh -c ...: these filters match the start. */
static bool match_event(const struct hamn_api_filters *f, const struct hamn_event *ev)
{
	char *const *v = hamn_api_filters_get(f, "event");

	if (v && (strv_contains(v, "health_status") || strv_contains(v, "exec_create") ||
		  strv_contains(v, "exec_start")))
		return fuzzy(f, "event", ev->action);
	return exact(f, "event", ev->action);
}

bool hamn_api_events_match(const struct hamn_api_filters *f, const struct hamn_event *ev)
{
	static const char *const by_name[] = { "container", "network", "volume", "daemon",
					       "node",	    "service", "plugin", "secret",
					       "config",    NULL };

	if (!f || f->n == 0)
		return true;
	if (!match_event(f, ev) || !exact(f, "type", ev->type) || !exact(f, "scope", "local"))
		return false;
	for (size_t i = 0; by_name[i]; i++)
		if (!match_name(f, by_name[i], ev))
			return false;
	if (!match_image(f, ev))
		return false;
	return hamn_api_filters_get(f, "label")
		       ? json_object_size(ev->attrs) > 0 &&
				 hamn_api_filters_match_labels(f, "label", ev->attrs)
		       : true;
}

/* ---- the stream ---- */

struct events_ctx {
	struct hamn_events_sub *sub;
	struct hamn_api_filters *filters;
	int64_t until;	 /* 0: none */
	bool only_past;	 /* until had passed at the request: replay, then end */
};

static void events_free(void *p)
{
	struct events_ctx *c = p;

	hamn_events_sub_free(c->sub);
	hamn_api_filters_free(c->filters);
	free(c);
}

/*
 * Send what is queued now, up to BATCH_BYTES in one write. Returns 2 when
 * more may be queued, 1 when the stream is over (until passed, client
 * gone), 0 when nothing is left, -1 on failure (a reader too slow to keep
 * up, a replay that cannot be read).
 */
static int send_batch(struct hamn_api_stream *st, struct events_ctx *c,
		      struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	struct hamn_event *ev = NULL;
	int r = 0, done = 0;

	while (!done && out.len < BATCH_BYTES && (r = hamn_events_sub_next(c->sub, &ev, err)) > 0) {
		if (c->until && ev->time_ns > c->until) {
			/* replays stop at until by themselves; a live one past it ends the stream */
			done = !hamn_events_sub_replaying(c->sub);
		} else if (hamn_api_events_match(c->filters, ev)) {
			hamn_buf_puts(&out, ev->text);
			hamn_buf_putc(&out, '\n');
		}
		hamn_event_unref(ev);
	}
	if (!done && r < 0)
		return -1;
	if (out.len && hamn_api_stream_write(st, out.data, out.len, err) < 0) {
		if ((*err)->errnum != EPIPE)
			return -1;
		hamn_error_free(err);
		return 1;
	}
	if (done)
		return 1;
	return out.len >= BATCH_BYTES ? 2 : 0;
}

/* Wait for events, the client's hangup or until: 1 when the stream should end. */
static int wait_more(struct hamn_api_stream *st, struct events_ctx *c, struct hamn_error **err)
{
	struct pollfd p[2] = {
		{ .fd = hamn_events_sub_fd(c->sub), .events = POLLIN },
		{ .fd = hamn_api_stream_cancel_fd(st), .events = POLLIN },
	};
	int timeout = -1;

	if (c->until) {
		int64_t left = c->until - hamn_now_ns();

		if (left <= 0)
			return 1;
		timeout = (int)(left / 1000000 + 1);
	}
	if (poll(p, 2, timeout) < 0 && errno != EINTR)
		return hamn_error_set(err, errno, "poll");
	return p[1].revents ? 1 : 0;
}

static int events_produce(struct hamn_api_stream *st, void *p, struct hamn_error **err)
{
	struct events_ctx *c = p;
	int r;

	for (;;) {
		while ((r = send_batch(st, c, err)) == 2)
			;
		if (r != 0)
			return r < 0 ? -1 : 0;
		if (c->only_past)
			return 0;
		r = wait_more(st, c, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
}

/* since/until: unix seconds ("1700000000.123456789"), RFC 3339, or a duration ago. */
static int time_param(struct hamn_api_req *req, const char *key, bool *given, int64_t *ns,
		      struct hamn_error **err)
{
	const char *s = hamn_api_req_query(req, key);

	*ns = 0;
	*given = s && s[0];
	if (!*given)
		return 0;
	if (hamn_time_parse_since(s, hamn_now_ns(), ns, err) < 0)
		return hamn_error_wrap(err, "invalid value for \"%s\"", key);
	return 0;
}

static int h_events(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_filters_ struct hamn_api_filters *f = NULL;
	int64_t since, until;
	bool has_since, has_until;
	struct events_ctx *c;

	if (time_param(req, "since", &has_since, &since, err) < 0 ||
	    time_param(req, "until", &has_until, &until, err) < 0 ||
	    hamn_api_req_filters(req, &f, err) < 0 ||
	    hamn_api_filters_validate(f, hamn_api_events_filter_keys, err) < 0)
		return -1;
	if (has_until && until < since)
		return hamn_error_setq(err, EINVAL,
				       "`since` time (%s) cannot be after `until` time (%s)",
				       hamn_api_req_query(req, "since"),
				       hamn_api_req_query(req, "until"));
	c = xzalloc(sizeof(*c));
	c->until = has_until ? (until > 0 ? until : 1) : 0;
	c->only_past = has_until && until <= hamn_now_ns();
	c->sub = hamn_events_subscribe(hamn_engine_events(ctx), has_since || has_until, since,
				       c->until, err);
	if (!c->sub) {
		free(c);
		return -1;
	}
	c->filters = steal_pointer(&f);
	return hamn_api_reply_stream(req, 200, "application/json", 0, events_produce, c,
				     events_free);
}

void hamn_api_register_events(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "GET", "/events", h_events, e);
}

/* ---- daemon events ---- */

void hamn_api_events_daemon(struct hamn_engine *e, const char *root, const char *action)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = xasprintf("%s/engine-id", root), *id = NULL;
	_cleanup_json_ json_t *attrs = NULL;
	char host[256] = "";

	if (hamn_read_file(AT_FDCWD, path, 4096, &id, NULL, &err) < 0)
		id = xstrdup("");
	id[strcspn(id, "\n")] = '\0';
	gethostname(host, sizeof(host) - 1);
	attrs = json_pack("{s:s}", "name", host);
	hamn_events_emit(hamn_engine_events(e), "daemon", action, id, attrs);
}

/* ---- image events (called by the image handlers when something happened) ---- */

void hamn_api_events_image(struct hamn_engine *e, const char *action, const char *id,
			   const char *name)
{
	_cleanup_json_ json_t *attrs = json_pack("{s:s}", "name", name ? name : id);

	hamn_events_emit(hamn_engine_events(e), "image", action, id, attrs);
}

/* The image ID of ref, or NULL (the event is then not worth sending). */
static char *image_id(struct hamn_engine *e, const char *ref)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	char *id = NULL;

	if (hamn_image_resolve(hamn_engine_images(e), ref, &id, &err) < 0)
		return NULL;
	return id;
}

void hamn_api_events_image_tag(struct hamn_engine *e, const char *src, const char *new_ref)
{
	_cleanup_free_ char *id = image_id(e, src);
	_cleanup_free_ char *familiar = hamn_ref_familiarize(new_ref);

	if (id)
		hamn_api_events_image(e, "tag", id, familiar);
}

void hamn_api_events_image_load(struct hamn_engine *e, const char *line)
{
	static const char by_ref[] = "Loaded image: ", by_id[] = "Loaded image ID: ";
	_cleanup_free_ char *id = NULL;

	if (str_has_prefix(line, by_id))
		id = xstrdup(line + strlen(by_id));
	else if (str_has_prefix(line, by_ref))
		id = image_id(e, line + strlen(by_ref));
	if (id)
		hamn_api_events_image(e, "load", id, id);
}

void hamn_api_events_image_removed(struct hamn_engine *e, const char *id, json_t *report)
{
	size_t i;
	json_t *item;

	if (!id)
		return;
	json_array_foreach(report, i, item) {
		if (json_object_get(item, "Untagged"))
			hamn_api_events_image(e, "untag", id, id);
		else if (streq(json_string_value(json_object_get(item, "Deleted")) ?: "", id))
			hamn_api_events_image(e, "delete", id, id);
	}
}

void hamn_api_events_image_ref(struct hamn_engine *e, const char *action, const char *ref)
{
	_cleanup_free_ char *familiar = hamn_ref_familiarize(ref);

	hamn_api_events_image(e, action, familiar, familiar);
}

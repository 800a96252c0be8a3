/*
 * events.h - the engine's event bus (src/engine/events.c): what happened
 * to containers, images, networks, volumes and the daemon, in order, for
 * GET /events.
 *
 * Every event gets a sequence number and a time, is kept in a small
 * in-memory ring, written to <root>/events.db (SQLite, WAL) so that `since`
 * reaches back across a restart of hamnd, and handed to every subscriber.
 * A subscriber has a queue and an eventfd: the streaming reply blocks in
 * poll() until something happens, nothing is polled with a timer.
 *
 * Events look like dockerd's (API 1.41):
 *   {"status":"start","id":"<id>","from":"<image>","Type":"container",
 *    "Action":"start","Actor":{"ID":"<id>","Attributes":{...}},
 *    "scope":"local","time":<s>,"timeNano":<ns>}
 * status/id/from are the pre-1.22 names dockerd still fills: status and id
 * for containers and images, from (the "image" attribute) for containers.
 *
 * Threads: everything here is thread-safe. hamn_events_emit may be called
 * from any thread, with any lock of the caller held except the bus's own.
 */
#ifndef HAMN_ENGINE_EVENTS_H
#define HAMN_ENGINE_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

struct hamn_engine;
struct hamn_events;

/* Events kept in memory for quick replays (older ones are read from the database). */
#define HAMN_EVENTS_RING 256
/* Events kept in the database; the oldest are deleted beyond this. */
#define HAMN_EVENTS_KEEP 20000
/* A subscriber that falls this far behind is cut off (its next read is EOVERFLOW). */
#define HAMN_EVENTS_QUEUE_MAX 10000

/* One event. Immutable once emitted; shared by reference between subscribers. */
struct hamn_event {
	uint64_t seq;	 /* 1, 2, ... in emission order, also across restarts */
	int64_t time_ns; /* wall clock at emission */
	char *type;	 /* "container", "image", "network", "volume", "daemon" */
	char *action;	 /* "create", "start", "die", "tag", "connect", ... */
	char *id;	 /* Actor.ID */
	json_t *attrs;	 /* Actor.Attributes: an object of strings (never NULL) */
	char *text;	 /* the JSON message, without a newline */
	unsigned refs;	 /* atomic */
};

/* Take / drop a reference. Safe on NULL. */
struct hamn_event *hamn_event_ref(struct hamn_event *ev);
void hamn_event_unref(struct hamn_event *ev);

/*
 * Build an event (pure; the bus uses it, tests call it): attrs is borrowed
 * and copied (NULL: none; non-string members are dropped), text is
 * rendered. The caller owns the one reference.
 */
struct hamn_event *hamn_event_new(uint64_t seq, int64_t time_ns, const char *type,
				  const char *action, const char *id, json_t *attrs);
/* Rebuild an event from its JSON text (as stored); EINVAL for text that is not one. */
struct hamn_event *hamn_event_parse(uint64_t seq, const char *text, struct hamn_error **err);

/*
 * Open the bus with its database file at path (created 0600 when missing).
 * A database that cannot be read is moved aside (path.corrupt) and started
 * afresh, with a warning: losing history must not keep hamnd from
 * starting. Errors (EIO) only when even a fresh file cannot be made.
 * Returns a new bus owned by the caller.
 */
struct hamn_events *hamn_events_open(const char *path, struct hamn_error **err);
/* Close the database and free the bus; subscribers must be freed first. Safe on NULL. */
void hamn_events_free(struct hamn_events *b);

/* Drop the bus's cached database pages (for an idle daemon; they come back when needed). */
void hamn_events_release_memory(struct hamn_events *b);

/*
 * Record an event and hand it to every subscriber. type, action and id are
 * copied; attrs is borrowed (may be NULL). Never fails: a database error is
 * logged and the event is still delivered live. Safe on a NULL bus.
 */
void hamn_events_emit(struct hamn_events *b, const char *type, const char *action,
		      const char *id, json_t *attrs);
/* The same, with a chosen time (tests; replaying imported history). */
void hamn_events_emit_at(struct hamn_events *b, int64_t time_ns, const char *type,
			 const char *action, const char *id, json_t *attrs);

struct hamn_events_sub;

/*
 * Subscribe. With replay, the events already recorded whose time is in
 * [since_ns, until_ns] (until_ns 0: no end) come first, oldest first, read
 * from the ring or the database page by page; then every event emitted
 * after this call. Nothing is missed or repeated between the two. Without
 * replay only new events come. Returns a new subscription, or NULL with
 * *err when no eventfd can be made (EMFILE).
 */
struct hamn_events_sub *hamn_events_subscribe(struct hamn_events *b, bool replay,
					      int64_t since_ns, int64_t until_ns,
					      struct hamn_error **err);
/* Readable (POLLIN) when live events are queued. Owned by the subscription. */
int hamn_events_sub_fd(const struct hamn_events_sub *s);
/*
 * The next event: 1 with *out (a new reference), 0 when nothing is queued
 * now (poll the fd), -1 with *err: EOVERFLOW when the subscriber fell more
 * than HAMN_EVENTS_QUEUE_MAX events behind, EIO when the replay could not
 * be read. Call from one thread at a time.
 */
int hamn_events_sub_next(struct hamn_events_sub *s, struct hamn_event **out,
			 struct hamn_error **err);
/* Are replayed events still to come? (false once the live part has started) */
bool hamn_events_sub_replaying(const struct hamn_events_sub *s);
/* Unsubscribe and free. Safe on NULL. */
void hamn_events_sub_free(struct hamn_events_sub *s);
HAMN_DEFINE_CLEANUP(hamn_events_sub, hamn_events_sub_free)

/*
 * The engine's bus (opened by hamn_engine_new on <root>/events.db; owned by
 * the engine). Image, network, volume and daemon events are emitted on it by
 * whoever performs the operation; container events by the engine itself.
 */
struct hamn_events *hamn_engine_events(struct hamn_engine *e);

#endif

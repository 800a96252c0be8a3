/*
 * events.h - the monitoring endpoints of the Docker Engine API:
 * GET /events (events.c, on the engine's event bus) and
 * GET /containers/{id}/stats (stats.c, on the engine's samples).
 */
#ifndef HAMN_API_EVENTS_H
#define HAMN_API_EVENTS_H

#include <stdbool.h>

#include "api/api.h"

struct hamn_engine;
struct hamn_event;

/*
 * Register GET /events on s, served from e's event bus (borrowed: e must
 * outlive the server). Call before hamn_api_server_start.
 */
void hamn_api_register_events(struct hamn_api_server *s, struct hamn_engine *e);

/* Register GET /containers/{id}/stats on s, served by e (borrowed). */
void hamn_api_register_stats(struct hamn_api_server *s, struct hamn_engine *e);

/* The filter keys GET /events accepts (NULL-terminated). */
extern const char *const hamn_api_events_filter_keys[];

/*
 * Does ev pass the filters, by dockerd's rules? type and scope match
 * exactly; event exactly (by prefix when a health_status, exec_create or
 * exec_start filter is given, as those actions carry a suffix); container,
 * network, volume, daemon (and node, service, plugin, secret, config) by
 * Actor.ID or the "name" attribute, exactly or as a prefix, whatever the
 * event's type; image exactly by Actor.ID or the image name (the "name"
 * attribute of image events, "image" of the others), with or without its
 * tag; label by the attributes (k, k=v). Pure and thread-safe.
 */
bool hamn_api_events_match(const struct hamn_api_filters *f, const struct hamn_event *ev);

/*
 * Emit a daemon event (action "reload") on e's bus, as dockerd does: the
 * actor is the daemon ID kept in <root>/engine-id, with the host name as
 * its "name" attribute.
 */
void hamn_api_events_daemon(struct hamn_engine *e, const char *root, const char *action);

/*
 * Image events, called by the image handlers once an operation succeeded
 * (dockerd's actors: the image ID, or the reference for pull and push).
 * None of them fails; an image that cannot be resolved gets no event.
 */
/* An event of action for image id with attribute name (NULL: the id). */
void hamn_api_events_image(struct hamn_engine *e, const char *action, const char *id,
			   const char *name);
/* "tag": src (what was tagged) got new_ref. */
void hamn_api_events_image_tag(struct hamn_engine *e, const char *src, const char *new_ref);
/* "load", from a line of the load report ("Loaded image: r", "Loaded image ID: id"). */
void hamn_api_events_image_load(struct hamn_engine *e, const char *line);
/* "untag" and "delete" from the report of removing image id (NULL: nothing). */
void hamn_api_events_image_removed(struct hamn_engine *e, const char *id, json_t *report);
/* "pull", "push": the actor is the reference itself, familiar ("busybox:latest"). */
void hamn_api_events_image_ref(struct hamn_engine *e, const char *action, const char *ref);

#endif

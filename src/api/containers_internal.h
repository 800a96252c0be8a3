/*
 * containers_internal.h - shared by containers.c, containers_stream.c and containers_ops.c only.
 */
#ifndef HAMN_API_CONTAINERS_INTERNAL_H
#define HAMN_API_CONTAINERS_INTERNAL_H

#include "api/api.h"
#include "engine/engine.h"

/* Register wait, logs and attach (containers_stream.c). */
void api_containers_register_streams(struct hamn_api_server *s, struct hamn_engine *e);
/* Register pause, unpause, update and prune (containers_ops.c). */
void api_containers_register_ops(struct hamn_api_server *s, struct hamn_engine *e);
/* Register exec create, start, resize and inspect (exec.c). */
void api_containers_register_exec(struct hamn_api_server *s, struct hamn_engine *e);
/* Register HEAD, GET and PUT /containers/{id}/archive (containers_archive.c). */
void api_containers_register_archive(struct hamn_api_server *s, struct hamn_engine *e);

#endif

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

#endif

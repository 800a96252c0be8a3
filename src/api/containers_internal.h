/*
 * containers_internal.h - shared by containers.c and containers_stream.c only.
 */
#ifndef HAMN_API_CONTAINERS_INTERNAL_H
#define HAMN_API_CONTAINERS_INTERNAL_H

#include "api/api.h"
#include "engine/engine.h"

/* Register wait, logs and attach (containers_stream.c). */
void api_containers_register_streams(struct hamn_api_server *s, struct hamn_engine *e);

#endif

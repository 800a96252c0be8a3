/*
 * build.h - hamnd's endpoints that turn containers and contexts into images
 * and a container's filesystem into streams: POST /build (src/api/build.c),
 * POST /commit, GET /containers/{id}/changes and /containers/{id}/export
 * (src/api/containers_fs.c).
 */
#ifndef HAMN_API_BUILD_H
#define HAMN_API_BUILD_H

#include "api/api.h"

struct hamn_engine;

/*
 * Register POST /build (a stream-body route: the context tar is unpacked
 * as it arrives) and POST /build/prune served by e (borrowed: it must
 * outlive the server). Call before hamn_api_server_start.
 */
void hamn_api_register_build(struct hamn_api_server *s, struct hamn_engine *e);

/* Register POST /commit, GET /containers/{id}/changes and GET /containers/{id}/export. */
void hamn_api_register_containers_fs(struct hamn_api_server *s, struct hamn_engine *e);

#endif

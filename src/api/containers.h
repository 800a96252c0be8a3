/*
 * containers.h - the container endpoints of the Docker Engine API
 * (containers.c, containers_stream.c), served by src/engine.
 */
#ifndef HAMN_API_CONTAINERS_H
#define HAMN_API_CONTAINERS_H

#include "api/api.h"
#include "engine/engine.h"

/*
 * Register every /containers/... route on s, served by e (borrowed: it must
 * outlive the server). Call before hamn_api_server_start. Never fails today;
 * the err parameter is for future routes that need set-up.
 */
int hamn_api_register_containers(struct hamn_api_server *s, struct hamn_engine *e,
				 struct hamn_error **err);

#endif

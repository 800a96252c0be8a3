/*
 * networks.h - the network endpoints of the Docker Engine API (networks.c),
 * served by the engine (src/engine, on src/network).
 */
#ifndef HAMN_API_NETWORKS_H
#define HAMN_API_NETWORKS_H

#include "api/api.h"
#include "engine/engine.h"

/*
 * Register POST /networks/create, GET /networks, GET /networks/{id},
 * DELETE /networks/{id}, POST /networks/prune, POST /networks/{id}/connect
 * and POST /networks/{id}/disconnect on s, served by e (borrowed: it must
 * outlive the server). Call before hamn_api_server_start. Never fails today.
 */
int hamn_api_register_networks(struct hamn_api_server *s, struct hamn_engine *e,
			       struct hamn_error **err);

#endif

/*
 * volumes.h - the volume endpoints of the Docker Engine API (volumes.c),
 * served by src/volume.
 */
#ifndef HAMN_API_VOLUMES_H
#define HAMN_API_VOLUMES_H

#include "api/api.h"
#include "volume/volume.h"

/*
 * Register POST /volumes/create, GET /volumes, GET /volumes/{name},
 * DELETE /volumes/{name} and POST /volumes/prune on s, served by st
 * (borrowed: it must outlive the server; the engine owns it). Call before
 * hamn_api_server_start. Never fails today.
 */
int hamn_api_register_volumes(struct hamn_api_server *s, struct hamn_volume_store *st,
			      struct hamn_error **err);

#endif

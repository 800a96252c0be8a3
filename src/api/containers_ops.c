/*
 * containers_ops.c - pause, unpause, update and prune of containers: thin
 * handlers over src/engine (pause.c, update.c, prune.c), registered by
 * hamn_api_register_containers.
 */
#include "api/containers.h"
#include "api/containers_internal.h"
#include "api/internal.h"

static struct hamn_engine *engine(void *ctx)
{
	return ctx;
}

static const char *id_param(struct hamn_api_req *req)
{
	return hamn_api_req_param(req, "id");
}

static int h_pause(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	if (hamn_engine_container_pause(engine(ctx), id_param(req), err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 204);
}

static int h_unpause(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	if (hamn_engine_container_unpause(engine(ctx), id_param(req), err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 204);
}

/* POST /containers/{id}/update: docker's UpdateConfig -> {"Warnings": [...]} */
static int h_update(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;
	json_t *warnings = NULL;

	if (hamn_api_req_json(req, 0, &body, err) < 0 ||
	    hamn_engine_container_update(engine(ctx), id_param(req), body, &warnings, err) < 0)
		return -1;
	return hamn_api_reply_json(req, 200, json_pack("{s:o}", "Warnings", warnings));
}

static json_t *prune(void *ctx, const struct api_filters *f, struct hamn_error **err)
{
	json_t *deleted = NULL;
	int64_t space = 0;

	if (hamn_engine_container_prune(engine(ctx), f->engine, f->n, &deleted, &space, err) < 0)
		return NULL;
	return json_pack("{s:o, s:I}", "ContainersDeleted", deleted, "SpaceReclaimed",
			 (json_int_t)space);
}

/* POST /containers/prune?filters={"until":[..],"label":[..],"label!":[..]} */
static int h_prune(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return api_reply_filtered(req, prune, ctx, err);
}

void api_containers_register_ops(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "POST", "/containers/prune", h_prune, e);
	hamn_api_route(s, "POST", "/containers/{id}/pause", h_pause, e);
	hamn_api_route(s, "POST", "/containers/{id}/unpause", h_unpause, e);
	hamn_api_route(s, "POST", "/containers/{id}/update", h_update, e);
}

/*
 * networks.c - /networks: create, list, inspect, remove, prune, connect and
 * disconnect. Each handler parses the request, calls the engine and shapes
 * docker's reply; the errno picks the status (404 no such network or
 * container, 409 name taken or endpoints still attached, 403 a predefined
 * network, 400 bad input).
 */
#include "api/internal.h"
#include "api/networks.h"

static struct hamn_engine *engine(void *ctx)
{
	return ctx;
}

/* POST /networks/create -> 201 {"Id","Warning"} */
static int h_create(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;
	json_t *res;

	if (hamn_api_req_json(req, 0, &body, err) < 0)
		return -1;
	res = hamn_engine_network_create(engine(ctx), body, err);
	if (!res)
		return -1;
	return hamn_api_reply_json(req, 201, res);
}

static json_t *list(void *ctx, const struct api_filters *f, struct hamn_error **err)
{
	return hamn_engine_network_list(engine(ctx), f->engine, f->n, err);
}

/* GET /networks[?filters=] -> [NetworkResource...] */
static int h_list(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return api_reply_filtered(req, list, ctx, err);
}

static int h_inspect(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *n = hamn_engine_network_inspect(engine(ctx), hamn_api_req_param(req, "id"), err);

	if (!n)
		return -1;
	return hamn_api_reply_json(req, 200, n);
}

static int h_delete(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	if (hamn_engine_network_remove(engine(ctx), hamn_api_req_param(req, "id"), err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 204);
}

static json_t *prune(void *ctx, const struct api_filters *f, struct hamn_error **err)
{
	return hamn_engine_network_prune(engine(ctx), f->engine, f->n, err);
}

/* POST /networks/prune[?filters=] -> {"NetworksDeleted":[...]} */
static int h_prune(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return api_reply_filtered(req, prune, ctx, err);
}

/* POST /networks/{id}/connect {"Container","EndpointConfig"} -> 200, empty */
static int h_connect(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;

	if (hamn_api_req_json(req, 0, &body, err) < 0 ||
	    hamn_engine_network_connect(engine(ctx), hamn_api_req_param(req, "id"), body, err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 200);
}

/* POST /networks/{id}/disconnect {"Container","Force"} -> 200, empty */
static int h_disconnect(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;

	if (hamn_api_req_json(req, 0, &body, err) < 0 ||
	    hamn_engine_network_disconnect(engine(ctx), hamn_api_req_param(req, "id"), body, err) <
		    0)
		return -1;
	return hamn_api_reply_empty(req, 200);
}

int hamn_api_register_networks(struct hamn_api_server *s, struct hamn_engine *e,
			       struct hamn_error **err)
{
	(void)err;
	hamn_api_route(s, "POST", "/networks/create", h_create, e);
	hamn_api_route(s, "GET", "/networks", h_list, e);
	hamn_api_route(s, "POST", "/networks/prune", h_prune, e);
	hamn_api_route(s, "GET", "/networks/{id}", h_inspect, e);
	hamn_api_route(s, "DELETE", "/networks/{id}", h_delete, e);
	hamn_api_route(s, "POST", "/networks/{id}/connect", h_connect, e);
	hamn_api_route(s, "POST", "/networks/{id}/disconnect", h_disconnect, e);
	return 0;
}

/*
 * volumes.c - /volumes: create, list, inspect, remove, prune. Each handler
 * parses the request, calls src/volume and shapes docker's reply; the
 * errno picks the status (404 no such volume, 409 in use, 400 bad input).
 */
#include "api/internal.h"
#include "api/volumes.h"

static struct hamn_volume_store *store(void *ctx)
{
	return ctx;
}

/* A member that must be an object of strings (or absent/null). */
static int string_map(json_t *body, const char *key, json_t **out, struct hamn_error **err)
{
	const char *k;
	json_t *v;

	if (hamn_json_get_object_opt(body, key, key, out, err) < 0)
		return -1;
	json_object_foreach (*out, k, v)
		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL,
					       "json: cannot unmarshal %s into Go "
					       "value of type string (%s.%s)",
					       json_is_number(v) ? "number" : "value", key, k);
	return 0;
}

/* POST /volumes/create {"Name","Driver","DriverOpts","Labels"} -> 201 and the volume */
static int h_create(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_json_ json_t *body = NULL;
	struct hamn_volume_create_opts o = {0};
	json_t *v;

	if (hamn_api_req_json(req, HAMN_API_JSON_OPTIONAL, &body, err) < 0)
		return -1;
	if (hamn_json_get_string_opt(body, "Name", "Name", &o.name, err) < 0 ||
	    hamn_json_get_string_opt(body, "Driver", "Driver", &o.driver, err) < 0 ||
	    string_map(body, "DriverOpts", &o.driver_opts, err) < 0 ||
	    string_map(body, "Labels", &o.labels, err) < 0)
		return -1;
	v = hamn_volume_create(store(ctx), &o, NULL, err);
	if (!v)
		return -1;
	return hamn_api_reply_json(req, 201, v);
}

static json_t *list(void *ctx, const struct api_filters *f, struct hamn_error **err)
{
	json_t *arr = hamn_volume_list(store(ctx), f->volume, f->n, false, err);

	return arr ? json_pack("{s:o, s:n}", "Volumes", arr, "Warnings") : NULL;
}

/* GET /volumes[?filters=] -> {"Volumes":[...],"Warnings":null} */
static int h_list(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return api_reply_filtered(req, list, ctx, err);
}

static int h_inspect(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *v = hamn_volume_inspect(store(ctx), hamn_api_req_param(req, "name"),
					hamn_api_req_query_bool(req, "size", false), err);

	if (!v)
		return -1;
	return hamn_api_reply_json(req, 200, v);
}

static int h_delete(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	if (hamn_volume_remove(store(ctx), hamn_api_req_param(req, "name"),
			       hamn_api_req_query_bool(req, "force", false), err) < 0)
		return -1;
	return hamn_api_reply_empty(req, 204);
}

static json_t *prune(void *ctx, const struct api_filters *f, struct hamn_error **err)
{
	return hamn_volume_prune(store(ctx), f->volume, f->n, err);
}

/* POST /volumes/prune[?filters=] -> {"VolumesDeleted":[...],"SpaceReclaimed":N} */
static int h_prune(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return api_reply_filtered(req, prune, ctx, err);
}

int hamn_api_register_volumes(struct hamn_api_server *s, struct hamn_volume_store *st,
			      struct hamn_error **err)
{
	(void)err;
	hamn_api_route(s, "POST", "/volumes/create", h_create, st);
	hamn_api_route(s, "GET", "/volumes", h_list, st);
	hamn_api_route(s, "POST", "/volumes/prune", h_prune, st);
	hamn_api_route(s, "GET", "/volumes/{name}", h_inspect, st);
	hamn_api_route(s, "DELETE", "/volumes/{name}", h_delete, st);
	return 0;
}

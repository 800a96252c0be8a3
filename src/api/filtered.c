/*
 * filtered.c - the list and prune handlers' ?filters=, parsed once (filters.c)
 * and handed to src/engine or src/volume in the shape each takes.
 */
#include "api/internal.h"
#include "engine/engine.h"
#include "volume/volume.h"

int api_req_filters(const struct hamn_api_req *req, struct api_filters *f,
		    struct hamn_error **err)
{
	if (hamn_api_req_filters(req, &f->parsed, err) < 0)
		return -1;
	f->n = f->parsed->n;
	/* one more, zeroed: an end marker for whoever walks them without n */
	f->engine = xcalloc(f->n + 1, sizeof(*f->engine));
	f->volume = xcalloc(f->n + 1, sizeof(*f->volume));
	for (size_t i = 0; i < f->n; i++) {
		f->engine[i].key = f->volume[i].key = f->parsed->items[i].key;
		f->engine[i].values = f->volume[i].values = f->parsed->items[i].values;
	}
	return 0;
}

void api_filters_release(struct api_filters *f)
{
	hamn_api_filters_free(f->parsed);
	free(f->engine);
	free(f->volume);
	*f = (struct api_filters)API_FILTERS_INIT;
}

int api_reply_filtered(struct hamn_api_req *req, api_filtered_fn fn, void *ctx,
		       struct hamn_error **err)
{
	_cleanup_(api_filters_release) struct api_filters f = API_FILTERS_INIT;
	json_t *res;

	if (api_req_filters(req, &f, err) < 0)
		return -1;
	res = fn(ctx, &f, err);
	if (!res)
		return -1;
	return hamn_api_reply_json(req, 200, res);
}

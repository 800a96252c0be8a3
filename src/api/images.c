/*
 * images.c - hamnd's image endpoints that answer with JSON: GET /images/json,
 * GET /images/{name}/json and /history, POST /images/{name}/tag, DELETE
 * /images/{name}, POST /images/prune and GET /system/df. The tar endpoints
 * (load, save, import) are in images_io.c; /info's Images count comes from
 * hamn_engine_info.
 *
 * The image store does the work and builds most of the JSON; this file maps
 * docker's query parameters and filters onto it, asks the engine which images
 * containers use, and words errors as dockerd does where clients show them.
 */
#include "api/events.h"
#include "api/images.h"
#include "volume/volume.h"
#include "engine/engine.h"
#include "image/image.h"

static struct hamn_image_store *store_of(void *ctx)
{
	return hamn_engine_images(ctx);
}

static char *short_hex(const char *id)
{
	return xstrndup(str_has_prefix(id, "sha256:") ? id + 7 : id, 12);
}

char *hamn_api_images_ref(const char *repo, const char *tag, struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;

	if (!repo || !*repo)
		return hamn_error_setq(err, EINVAL,
				       "repository name must have at least one "
				       "component"),
		       NULL;
	if (!tag || !*tag)
		return xstrdup(repo);
	if (!hamn_ref_tag_valid(tag))
		return hamn_error_setq(err, EINVAL, "invalid tag format: '%s'", tag), NULL;
	if (hamn_ref_parse(repo, &r, err) < 0)
		return NULL;
	if (r.digest)
		return hamn_error_setq(err, EINVAL,
				       "refusing to create a tag with a digest "
				       "reference: '%s'",
				       repo),
		       NULL;
	free(r.tag);
	r.tag = xstrdup(tag);
	return hamn_ref_string(&r);
}

/* ---- GET /images/json ---- */

static const char *const list_filter_keys[] = {"dangling", "reference", "label",
					       "before",   "since",	NULL};

/* dockerd's GetBoolOrDefault: "true"/"1" or "false"/"0"; -1 when the key is absent. */
static int filter_bool(const struct hamn_api_filters *f, const char *key, int *out,
		       struct hamn_error **err)
{
	char *const *v = hamn_api_filters_get(f, key);

	*out = -1;
	for (; v && *v; v++) {
		int b = strcasecmp(*v, "true") == 0 || streq(*v, "1")	 ? 1
			: strcasecmp(*v, "false") == 0 || streq(*v, "0") ? 0
									 : -2;

		if (b == -2 || (*out >= 0 && *out != b))
			return hamn_error_setq(err, EINVAL, "Invalid filter '%s=[%s]'", key, *v);
		*out = b;
	}
	return 0;
}

/* Creation time (unix seconds) of the image ref, for ?filters={"before"/"since":[ref]}. */
static int created_of(struct hamn_image_store *st, const char *ref, int64_t *out,
		      struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = hamn_image_inspect_json(st, ref, err);
	int64_t ns = 0;

	if (!doc ||
	    hamn_time_parse(json_string_value(json_object_get(doc, "Created")) ?: "", &ns, err) < 0)
		return -1;
	*out = ns / 1000000000;
	return 0;
}

/* Drop the images not created before (before=true) or after every image named by key. */
static int filter_time(struct hamn_image_store *st, const struct hamn_api_filters *f,
		       const char *key, bool before, json_t *list, struct hamn_error **err)
{
	char *const *refs = hamn_api_filters_get(f, key);

	for (; refs && *refs; refs++) {
		int64_t bound = 0;

		if (created_of(st, *refs, &bound, err) < 0)
			return -1;
		for (size_t i = json_array_size(list); i-- > 0;) {
			int64_t c = json_integer_value(
				json_object_get(json_array_get(list, i), "Created"));

			if (before ? c >= bound : c <= bound)
				json_array_remove(list, i);
		}
	}
	return 0;
}

/* dockerd (API 1.41) lists an image without any reference with placeholders. */
static void untagged_placeholders(json_t *list)
{
	size_t i;
	json_t *img;

	json_array_foreach (list, i, img) {
		json_t *tags = json_object_get(img, "RepoTags");
		json_t *digests = json_object_get(img, "RepoDigests");

		if (json_array_size(tags) || json_array_size(digests))
			continue;
		json_object_set_new(img, "RepoTags", json_pack("[s]", "<none>:<none>"));
		json_object_set_new(img, "RepoDigests", json_pack("[s]", "<none>@<none>"));
	}
}

/*
 * docker images [-a] [--filter ...]; docker-py's images.list() (only_ids is
 * ignored). Without all, intermediate images (untagged parents) are left out.
 */
static int image_list(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_filters_ struct hamn_api_filters *f = NULL;
	struct hamn_image_filter flt = HAMN_IMAGE_FILTER_INIT;
	struct hamn_image_store *st = store_of(ctx);
	json_t *list;

	if (hamn_api_req_filters(req, &f, err) < 0 ||
	    hamn_api_filters_validate(f, list_filter_keys, err) < 0 ||
	    filter_bool(f, "dangling", &flt.dangling, err) < 0)
		return -1;
	flt.all = hamn_api_req_query_bool(req, "all", false);
	flt.reference = (char **)hamn_api_filters_get(f, "reference");
	flt.label = (char **)hamn_api_filters_get(f, "label");
	list = hamn_image_list_json(st, &flt, err);
	if (!list)
		return -1;
	if (filter_time(st, f, "before", true, list, err) < 0 ||
	    filter_time(st, f, "since", false, list, err) < 0) {
		json_decref(list);
		return -1;
	}
	untagged_placeholders(list);
	return hamn_api_reply_json(req, 200, list);
}

/* ---- GET /images/{name}/json, /history ---- */

static int image_inspect(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *name = hamn_api_req_param(req, "name");
	json_t *doc = hamn_image_inspect_json(store_of(ctx), name, err);

	if (!doc) {
		/* dockerd: "no such image: busybox: No such image: busybox:latest" */
		if ((*err)->errnum == ENOENT)
			hamn_error_wrap(err, "no such image: %s", name);
		return -1;
	}
	return hamn_api_reply_json(req, 200, doc);
}

static int image_history(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *doc = hamn_image_history_json(store_of(ctx), hamn_api_req_param(req, "name"), err);

	return doc ? hamn_api_reply_json(req, 200, doc) : -1;
}

/* ---- POST /images/{name}/tag?repo=R&tag=T ---- */

static int image_tag(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_free_ char *ref = hamn_api_images_ref(hamn_api_req_query(req, "repo"),
						       hamn_api_req_query(req, "tag"), err);

	if (!ref || hamn_image_tag(store_of(ctx), hamn_api_req_param(req, "name"), ref, err) < 0)
		return -1;
	hamn_api_events_image_tag(ctx, ref, ref);
	return hamn_api_reply_empty(req, 201);
}

/* ---- DELETE /images/{name}?force=&noprune= ---- */

/* The in-use check of rmi, remembering which image a container holds. */
struct use_probe {
	struct hamn_engine *engine;
	char *used; /* the image ID found in use */
};

static bool probe_in_use(const char *image_id, void *ud)
{
	struct use_probe *p = ud;

	if (!hamn_engine_image_in_use(image_id, p->engine))
		return false;
	free(p->used);
	p->used = xstrdup(image_id);
	return true;
}

/* A container using image_id: its ID (new string) and whether it runs; NULL if none. */
static char *container_using(struct hamn_engine *e, const char *image_id, bool *running)
{
	struct hamn_engine_list_opts o = {.all = true};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *list = hamn_engine_container_list(e, &o, &err);
	size_t i;
	json_t *c;

	json_array_foreach (list, i, c) {
		if (streq(json_string_value(json_object_get(c, "ImageID")) ?: "", image_id)) {
			*running = streq(json_string_value(json_object_get(c, "State")) ?: "",
					 "running");
			return xstrdup(json_string_value(json_object_get(c, "Id")) ?: "");
		}
	}
	return NULL;
}

/*
 * The store's conflict says "a container"; dockerd names it, and users go
 * looking for it: "... - container 4f2a... is using its referenced image
 * 63a4...". The lookup happens here, outside the store's lock.
 */
static void name_the_container(struct hamn_engine *e, const char *ref, const char *image_id,
			       struct hamn_error **err)
{
	bool running = false;
	_cleanup_free_ char *cid = container_using(e, image_id, &running);
	_cleanup_free_ char *cshort = NULL, *ishort = short_hex(image_id);
	bool by_name;

	if (!cid || !*cid || !strstr((*err)->msg, "container"))
		return; /* gone meanwhile, or another conflict (child images): keep the wording */
	cshort = short_hex(cid);
	by_name = str_has_prefix((*err)->msg, "conflict: unable to remove repository reference");
	hamn_error_free(err);
	if (by_name)
		hamn_error_setq(err, EBUSY,
				"conflict: unable to remove repository reference \"%s\" "
				"(must force) - container %s is using its referenced image %s",
				ref, cshort, ishort);
	else
		hamn_error_setq(err, EBUSY,
				"conflict: unable to delete %s (must be forced) - "
				"image is being used by %s container %s",
				ishort, running ? "running" : "stopped", cshort);
}

static int image_delete(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	const char *ref = hamn_api_req_param(req, "name");
	struct use_probe probe = {ctx, NULL};
	unsigned flags = 0;
	json_t *report = NULL;
	_cleanup_free_ char *id = NULL;
	_cleanup_error_ struct hamn_error *ierr = NULL;
	int rc;

	if (hamn_api_req_query_bool(req, "force", false))
		flags |= HAMN_IMAGE_REMOVE_FORCE;
	if (hamn_api_req_query_bool(req, "noprune", false))
		flags |= HAMN_IMAGE_REMOVE_NOPRUNE;
	hamn_image_resolve(store_of(ctx), ref, &id, &ierr); /* for the events; errors come below */
	rc = hamn_image_remove(store_of(ctx), ref, flags, probe_in_use, &probe, &report, err);
	if (rc == 0)
		hamn_api_events_image_removed(ctx, id, report);
	if (rc < 0 && (*err)->errnum == EBUSY && probe.used)
		name_the_container(ctx, ref, probe.used, err);
	free(probe.used);
	return rc < 0 ? -1 : hamn_api_reply_json(req, 200, report);
}

/* ---- POST /images/prune?filters= ---- */

static const char *const prune_filter_keys[] = {"dangling", "label", "label!", "until", NULL};

/* Images the filters let prune; NULL (no label/until filter) lets every one. */
struct prune_probe {
	struct hamn_engine *engine;
	char **pass;
};

static bool prune_in_use(const char *image_id, void *ud)
{
	struct prune_probe *p = ud;

	/* an image that is not on the list (e.g. loaded meanwhile) is kept */
	if (p->pass && !strv_contains(p->pass, image_id))
		return true;
	return hamn_engine_image_in_use(image_id, p->engine);
}

/* label!=...: the image must match none of the values. */
static bool labels_avoid(const struct hamn_api_filters *f, const json_t *labels)
{
	char *const *v = hamn_api_filters_get(f, "label!");

	for (; v && *v; v++) {
		struct hamn_api_filter one = {(char *)"label", (char *[]){*v, NULL}};
		struct hamn_api_filters set = {1, &one};

		if (hamn_api_filters_match_labels(&set, "label", labels))
			return false;
	}
	return true;
}

/* The image id in list (GET /images/json items), or NULL. */
static json_t *image_in(json_t *list, const char *id)
{
	size_t i;
	json_t *img;

	json_array_foreach (list, i, img)
		if (streq(json_string_value(json_object_get(img, "Id")) ?: "", id))
			return img;
	return NULL;
}

/*
 * Let the untagged ancestors of the images that pass go too: dockerd deletes
 * a pruned image's untagged parents whatever the filters say (a build's
 * intermediate images have neither the labels nor always the age).
 */
static void pass_untagged_parents(json_t *list, char ***pass)
{
	for (size_t k = 0; (*pass)[k]; k++) {
		json_t *img = image_in(list, (*pass)[k]);
		const char *parent = json_string_value(json_object_get(img, "ParentId"));
		json_t *p = parent && *parent ? image_in(list, parent) : NULL;

		if (p && json_array_size(json_object_get(p, "RepoTags")) == 0 &&
		    !strv_contains(*pass, parent))
			strv_push(pass, parent);
	}
}

static int prune_pass_list(struct hamn_image_store *st, const struct hamn_api_filters *f,
			   char ***pass_out, struct hamn_error **err)
{
	char *const *until = hamn_api_filters_get(f, "until");
	_cleanup_json_ json_t *list = NULL;
	int64_t until_ns = INT64_MAX;
	size_t i;
	json_t *img;

	if (!until && !hamn_api_filters_get(f, "label") && !hamn_api_filters_get(f, "label!"))
		return 0;
	for (; until && *until; until++)
		if (hamn_time_parse_since(*until, hamn_now_ns(), &until_ns, NULL) < 0)
			return hamn_error_setq(err, EINVAL, "failed to parse value as time or "
					       "duration: \"%s\"", *until);
	if (!(list = hamn_image_list_json(st, NULL, err)))
		return -1;
	*pass_out = xcalloc(1, sizeof(char *));
	json_array_foreach (list, i, img) {
		json_t *labels = json_object_get(img, "Labels");
		int64_t created = json_integer_value(json_object_get(img, "Created"));

		if (created <= until_ns / 1000000000 &&
		    hamn_api_filters_match_labels(f, "label", labels) && labels_avoid(f, labels))
			strv_push(pass_out, json_string_value(json_object_get(img, "Id")));
	}
	pass_untagged_parents(list, pass_out);
	return 0;
}

/* docker image prune [-a] [--filter label=...|until=...] */
static int image_prune(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	_cleanup_filters_ struct hamn_api_filters *f = NULL;
	struct prune_probe probe = {ctx, NULL};
	json_t *deleted = NULL;
	uint64_t reclaimed = 0;
	int dangling = -1, rc;

	if (hamn_api_req_filters(req, &f, err) < 0 ||
	    hamn_api_filters_validate(f, prune_filter_keys, err) < 0 ||
	    filter_bool(f, "dangling", &dangling, err) < 0 ||
	    prune_pass_list(store_of(ctx), f, &probe.pass, err) < 0)
		return -1;
	/* dangling=false is "prune -a": every image no container uses */
	rc = hamn_image_prune(store_of(ctx), dangling == 0, prune_in_use, &probe, &deleted,
			      &reclaimed, err);
	hamn_strv_free(probe.pass);
	if (rc < 0)
		return -1;
	if (json_array_size(deleted) == 0) { /* dockerd sends null for none */
		json_decref(deleted);
		deleted = json_null();
	}
	return hamn_api_reply_json(req, 200,
				   json_pack("{s:o,s:I}", "ImagesDeleted", deleted,
					     "SpaceReclaimed", (json_int_t)reclaimed));
}

/* ---- GET /system/df ---- */

static unsigned count_users(json_t *containers, const char *image_id)
{
	unsigned n = 0;
	size_t i;
	json_t *c;

	json_array_foreach (containers, i, c)
		n += streq(json_string_value(json_object_get(c, "ImageID")) ?: "", image_id);
	return n;
}

static int64_t shared_size_of(const struct hamn_image_usage *u, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (streq(u[i].id, id))
			return u[i].shared_size;
	return 0; /* stored after the list was made */
}

/* Fill Containers and SharedSize of each image; the total size of all layers. */
static int df_images(struct hamn_image_store *st, json_t *images, json_t *containers,
		     int64_t *layers_size, struct hamn_error **err)
{
	struct hamn_image_usage *u = NULL;
	size_t n = 0, i;
	json_t *img;

	if (hamn_image_usage(st, &u, &n, layers_size, err) < 0)
		return -1;
	json_array_foreach (images, i, img) {
		const char *id = json_string_value(json_object_get(img, "Id"));

		json_object_set_new(img, "SharedSize", json_integer(shared_size_of(u, n, id)));
		json_object_set_new(img, "Containers", json_integer(count_users(containers, id)));
	}
	hamn_image_usage_free(u, n);
	return 0;
}

/* docker system df: images, containers (the engine's list with sizes), volumes (with usage). */
static int system_df(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct hamn_engine_list_opts o = {.all = true, .size = true};
	struct hamn_image_filter top = HAMN_IMAGE_FILTER_INIT; /* as dockerd: no intermediates */
	struct hamn_image_store *st = store_of(ctx);
	_cleanup_json_ json_t *images = NULL, *containers = NULL, *volumes = NULL;
	int64_t layers_size = 0;

	if (!(containers = hamn_engine_container_list(ctx, &o, err)) ||
	    !(images = hamn_image_list_json(st, &top, err)) ||
	    !(volumes = hamn_volume_list(hamn_engine_volumes(ctx), NULL, 0, true, err)) ||
	    df_images(st, images, containers, &layers_size, err) < 0)
		return -1;
	untagged_placeholders(images);
	return hamn_api_reply_json(req, 200,
				   json_pack("{s:I,s:O,s:O,s:O,s:[],s:i}", "LayersSize",
					     (json_int_t)layers_size, "Images", images,
					     "Containers", containers, "Volumes", volumes,
					     "BuildCache", "BuilderSize", 0));
}

/* ---- registration ---- */

void hamn_api_register_images(struct hamn_api_server *s, struct hamn_engine *e)
{
	hamn_api_route(s, "GET", "/images/json", image_list, e);
	hamn_api_route(s, "GET", "/images/{name*}/json", image_inspect, e);
	hamn_api_route(s, "GET", "/images/{name*}/history", image_history, e);
	hamn_api_route(s, "POST", "/images/{name*}/tag", image_tag, e);
	hamn_api_route(s, "DELETE", "/images/{name*}", image_delete, e);
	hamn_api_route(s, "POST", "/images/prune", image_prune, e);
	hamn_api_route(s, "GET", "/system/df", system_df, e);
	hamn_api_images_register_io(s, e);
}

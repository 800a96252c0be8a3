/*
 * push.c - pushing images: for each layer (up to max_uploads at once) skip
 * it when the registry has it (HEAD), mount it when it is known to be in
 * another repository of the same registry, else upload it; then the config,
 * then a manifest (Docker schema 2, or OCI when a layer needs it) under the
 * tag. Progress is docker's: Preparing, Waiting, Pushing, Pushed, Layer
 * already exists, Mounted from X, "<tag>: digest: ... size: N" and the aux
 * message with Tag, Digest and Size.
 */
#include "distribution/internal.h"

struct push {
	struct hamn_dist *d;
	const struct dist_source *src;
	struct dist_repo *repo;
	struct dist_progress progress;
	struct hamn_ref ref;
	bool abort;
	const struct dist_source_image *img; /* the image being pushed */
	const struct dist_blob **todo;	     /* its distinct layers */
	size_t n_todo;
};

/* ---- one blob ---- */

/* Other repositories on this registry that have (or may have) the blob. */
static char **mount_sources(struct push *p, const struct dist_blob *b)
{
	char **from = dist_hint_paths(p->d, b->digest.str, p->ref.domain);

	for (char **r = p->img->repos; r && *r; r++) {
		_cleanup_ref_ struct hamn_ref other = HAMN_REF_INIT;

		if (hamn_ref_parse(*r, &other, NULL) < 0)
			continue;
		if (streq(other.domain, p->ref.domain) && !streq(other.path, p->ref.path) &&
		    !strv_contains(from, other.path))
			strv_push(&from, other.path);
	}
	for (size_t i = 0; from && from[i];) {
		if (streq(from[i], p->ref.path)) {
			free(from[i]);
			memmove(from + i, from + i + 1,
				strv_len(from + i + 1) * sizeof(*from) + sizeof(*from));
		} else {
			i++;
		}
	}
	return from;
}

/* Try the mounts; *done when one worked, *location an upload the registry opened instead. */
static int try_mounts(struct push *p, CURL *h, const struct dist_blob *b,
		      struct dist_progress *progress, bool *done, char **location,
		      struct hamn_error **err)
{
	_cleanup_strv_ char **from = mount_sources(p, b);

	*done = false;
	for (char **f = from; f && *f && !*done; f++) {
		char *loc = NULL;
		struct hamn_error *e = NULL;

		if (dist_blob_mount(p->repo, h, b, *f, done, &loc, &e) < 0) {
			/* a mount is an optimisation: on any refusal, upload instead */
			log_kv(HAMN_LOG_DEBUG, "blob mount failed", "digest=%s from=%s err=\"%s\"",
			       b->digest.str, *f, e->msg);
			if (e->errnum == ECANCELED)
				return hamn_error_propagate(err, &e);
			hamn_error_free(&e);
			continue;
		}
		if (*done) {
			dist_progress_status(progress, b->short_id, true, "Mounted from %s", *f);
		} else if (loc) {
			free(*location);
			*location = loc;
		}
	}
	return 0;
}

/* Make sure the registry has blob b. progress NULL: silent (the config). */
static int push_blob(struct push *p, CURL *h, const struct dist_blob *b,
		     struct dist_progress *progress, struct hamn_error **err)
{
	_cleanup_free_ char *location = NULL;
	_cleanup_close_ int fd = -1;
	bool exists = false, mounted = false;

	if (dist_blob_exists(p->repo, h, b, &exists, err) < 0)
		return -1;
	if (exists) {
		dist_progress_status(progress, b->short_id, true, "Layer already exists");
		goto done;
	}
	if (try_mounts(p, h, b, progress, &mounted, &location, err) < 0)
		return -1;
	if (mounted)
		goto done;
	fd = p->src->ops->open_blob(p->src->ctx, b->digest.str, err);
	if (fd < 0)
		return -1;
	if (dist_blob_upload(p->repo, h, b, fd, location, progress, err) < 0)
		return -1;
	dist_progress_status(progress, b->short_id, true, "Pushed");
done:
	dist_hint_add(p->d, b->digest.str, p->ref.domain, p->ref.path);
	return 0;
}

static int layer_job(void *ctx, size_t i, CURL *h, struct hamn_error **err)
{
	struct push *p = ctx;
	const struct dist_blob *b = p->todo[i];

	if (push_blob(p, h, b, &p->progress, err) < 0)
		return hamn_error_wrap(err, "push layer %s", b->short_id);
	return 0;
}

/* ---- manifest ---- */

static const char *docker_type(const char *mt, bool *oci)
{
	if (streq(mt, HAMN_MT_OCI_LAYER_GZIP) || streq(mt, HAMN_MT_DOCKER_LAYER_GZIP))
		return HAMN_MT_DOCKER_LAYER_GZIP;
	if (!mt || streq(mt, HAMN_MT_OCI_LAYER) || streq(mt, HAMN_MT_DOCKER_LAYER))
		return HAMN_MT_DOCKER_LAYER;
	*oci = true; /* zstd and friends have no Docker name */
	return mt;
}

static json_t *descriptor(const char *mt, const struct dist_blob *b)
{
	json_t *o = json_object();

	json_object_set_new(o, "mediaType", json_string(mt));
	json_object_set_new(o, "size", json_integer(b->size));
	json_object_set_new(o, "digest", json_string(b->digest.str));
	return o;
}

/* Docker schema 2 when every layer has a Docker media type, else OCI. New string. */
static char *build_manifest(const struct dist_source_image *img, const char **mt_out)
{
	_cleanup_json_ json_t *m = json_object();
	json_t *layers = json_array();
	bool oci = false;

	for (size_t i = 0; i < img->n_layers; i++)
		docker_type(img->layers[i].media_type, &oci);
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *mt = img->layers[i].media_type;
		bool ignored = false;

		if (!oci)
			mt = docker_type(mt, &ignored);
		else if (!mt || streq(mt, HAMN_MT_DOCKER_LAYER))
			mt = HAMN_MT_OCI_LAYER;
		else if (streq(mt, HAMN_MT_DOCKER_LAYER_GZIP))
			mt = HAMN_MT_OCI_LAYER_GZIP;
		json_array_append_new(layers, descriptor(mt, &img->layers[i]));
	}
	*mt_out = oci ? HAMN_MT_OCI_MANIFEST : HAMN_MT_DOCKER_MANIFEST;
	json_object_set_new(m, "schemaVersion", json_integer(2));
	json_object_set_new(m, "mediaType", json_string(*mt_out));
	json_object_set_new(
		m, "config",
		descriptor(oci ? HAMN_MT_OCI_CONFIG : HAMN_MT_DOCKER_CONFIG, &img->config));
	json_object_set_new(m, "layers", layers);
	return json_dumps(m, JSON_INDENT(3));
}

static int push_manifest(struct push *p, const struct dist_source_image *img,
			 struct hamn_error **err)
{
	const char *mt = NULL;
	_cleanup_free_ char *body = build_manifest(img, &mt);
	struct hamn_digest d;
	CURL *h = dist_handle_get(p->d);
	int rc = dist_manifest_put(p->repo, h, img->tag, mt, body, strlen(body), &d, err);
	_cleanup_json_ json_t *aux = NULL;
	_cleanup_json_ json_t *msg = NULL;

	dist_handle_put(p->d, h);
	if (rc < 0)
		return -1;
	dist_progress_status(&p->progress, NULL, false, "%s: digest: %s size: %zu", img->tag, d.str,
			     strlen(body));
	aux = json_object();
	json_object_set_new(aux, "Tag", json_string(img->tag));
	json_object_set_new(aux, "Digest", json_string(d.str));
	json_object_set_new(aux, "Size", json_integer((json_int_t)strlen(body)));
	msg = json_object();
	json_object_set_new(msg, "progressDetail", json_object());
	json_object_set(msg, "aux", aux);
	dist_progress_json(&p->progress, msg);
	if (p->src->ops->pushed) {
		_cleanup_free_ char *name = hamn_ref_name(&p->ref);
		_cleanup_free_ char *full = xasprintf("%s:%s", name, img->tag);

		p->src->ops->pushed(p->src->ctx, full, d.str);
	}
	return 0;
}

/* ---- one image ---- */

static void plan(struct push *p, const struct dist_source_image *img)
{
	p->img = img;
	free(p->todo);
	p->todo = xcalloc(img->n_layers ? img->n_layers : 1, sizeof(*p->todo));
	p->n_todo = 0;
	for (size_t i = 0; i < img->n_layers; i++) {
		bool dup = false;

		for (size_t k = 0; k < p->n_todo; k++)
			dup = dup || streq(p->todo[k]->digest.str, img->layers[i].digest.str);
		if (dup)
			continue;
		p->todo[p->n_todo] = &img->layers[i];
		dist_progress_status(&p->progress, img->layers[i].short_id, true, "Preparing");
		if (p->n_todo++ >= p->d->max_uploads)
			dist_progress_status(&p->progress, img->layers[i].short_id, true,
					     "Waiting");
	}
}

static int push_image(struct push *p, const struct dist_source_image *img, struct hamn_error **err)
{
	CURL *h;
	int rc;

	plan(p, img);
	if (dist_pool_run(p->d, p->d->max_uploads, p->n_todo, layer_job, p, &p->abort, err) < 0)
		return -1;
	h = dist_handle_get(p->d);
	rc = push_blob(p, h, &img->config, NULL, err);
	dist_handle_put(p->d, h);
	if (rc < 0)
		return hamn_error_wrap(err, "push image config %s", img->config.digest.str);
	return push_manifest(p, img, err);
}

static int connect_repo(struct push *p, const struct hamn_dist_push_opts *o,
			struct hamn_error **err)
{
	const char *base =
		streq(p->ref.domain, HAMN_REF_DEFAULT_DOMAIN) ? HAMN_DIST_HUB_ENDPOINT : NULL;
	CURL *h;
	int rc;

	p->repo = dist_repo_new(p->d, p->ref.domain, base, p->ref.path, o->auth, "pull,push",
				o->cancel_fd, err);
	if (!p->repo)
		return -1;
	p->repo->abort = &p->abort;
	h = dist_handle_get(p->d);
	rc = dist_repo_ping(p->repo, h, err);
	dist_handle_put(p->d, h);
	return rc;
}

static int push_all(struct push *p, const struct hamn_dist_push_opts *o, struct hamn_error **err)
{
	struct dist_source_image *imgs = NULL;
	size_t n = 0;
	_cleanup_free_ char *name = NULL;
	int rc = -1;

	if (hamn_ref_parse(o->ref, &p->ref, err) < 0)
		return -1;
	if (p->ref.digest)
		return hamn_error_setq(err, EINVAL, "cannot push a digest reference '%s'", o->ref);
	if (p->src->ops->images(p->src->ctx, &p->ref, &imgs, &n, err) < 0)
		return -1;
	name = hamn_ref_name(&p->ref);
	dist_progress_status(&p->progress, NULL, false, "The push refers to repository [%s]", name);
	if (connect_repo(p, o, err) < 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = push_image(p, &imgs[i], err);
out:
	for (size_t i = 0; i < n; i++)
		dist_source_image_release(&imgs[i]);
	free(imgs);
	return rc;
}

int dist_push(struct hamn_dist *d, const struct dist_source *src,
	      const struct hamn_dist_push_opts *o, struct hamn_error **err)
{
	struct push p = {.d = d, .src = src};
	int rc;

	if (dist_curl_load(err) < 0)
		return -1;
	dist_progress_init(&p.progress, o->progress, o->progress_ud);
	rc = push_all(&p, o, err);
	dist_repo_free(p.repo);
	dist_progress_release(&p.progress);
	hamn_ref_release(&p.ref);
	free(p.todo);
	return rc;
}

void dist_source_image_release(struct dist_source_image *s)
{
	free(s->tag);
	dist_blob_release(&s->config);
	for (size_t i = 0; i < s->n_layers; i++)
		dist_blob_release(&s->layers[i]);
	free(s->layers);
	hamn_strv_free(s->repos);
	memset(s, 0, sizeof(*s));
}

int hamn_dist_push(struct hamn_dist *d, struct hamn_image_store *st,
		   const struct hamn_dist_push_opts *o, struct hamn_error **err)
{
	struct dist_source src;

	dist_source_store(st, &src);
	return dist_push(d, &src, o, err);
}

/*
 * load_oci.c - planning the images of an OCI image layout tar:
 * index.json -> (nested indexes) -> manifests -> config and layer blobs.
 *
 * Every blob is checked against the digest and size its descriptor gives;
 * JSON blobs are read with the HAMN_OCI_JSON_MAX limit. From an index with
 * several platforms only the host's images are loaded. The tag comes from
 * the "io.containerd.image.name" annotation, or from
 * "org.opencontainers.image.ref.name" when that is a whole reference (a
 * bare "latest" names no repository, so the image stays untagged).
 */
#include "image/load.h"

#define OCI_MAX_DEPTH 4
#define ANN_NAME "io.containerd.image.name"
#define ANN_REF "org.opencontainers.image.ref.name"

struct oci_walk {
	const struct staging *sg;
	struct load_item *items;
	size_t n, cap;
};

static const struct member *blob_member(const struct staging *sg,
					const struct hamn_oci_descriptor *d,
					struct hamn_error **err)
{
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", hamn_digest_hex(&d->digest));
	const struct member *m = staging_find(sg, name);

	if (!m)
		return hamn_error_setq(err, EINVAL, "load: blob %s is not in the archive",
				       d->digest.str),
		       NULL;
	if (!streq(m->digest.str, d->digest.str))
		return hamn_error_setq(err, EINVAL, "load: blob '%s' does not match its digest "
				       "(it hashes to %s)", name, m->digest.str),
		       NULL;
	if (m->size != (uint64_t)d->size)
		return hamn_error_setq(err, EINVAL, "load: blob %s has %llu bytes, its descriptor "
				       "says %lld", d->digest.str, (unsigned long long)m->size,
				       (long long)d->size),
		       NULL;
	return m;
}

/* The full reference a descriptor names, or NULL (then the parent's applies). */
static const char *descriptor_name(const struct hamn_oci_descriptor *d)
{
	const char *n = hamn_oci_descriptor_annotation(d, ANN_NAME);
	const char *r = hamn_oci_descriptor_annotation(d, ANN_REF);

	if (n)
		return n;
	if (r && strpbrk(r, "/:"))
		return r;
	return NULL;
}

static bool platform_ok(const struct hamn_oci_descriptor *d)
{
	const struct hamn_oci_platform *p = d->platform;

	return !p || (streq(p->os, hamn_oci_host_os()) &&
		      streq(p->architecture, hamn_oci_host_arch()));
}

static bool is_layer_type(const char *mt)
{
	return !mt || str_has_prefix(mt, "application/vnd.oci.image.layer.") ||
	       str_has_prefix(mt, "application/vnd.docker.image.rootfs.");
}

static struct load_item *new_item(struct oci_walk *w)
{
	if (w->n >= 1000)
		return NULL;
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->items = xreallocarray(w->items, w->cap, sizeof(*w->items));
	}
	memset(&w->items[w->n], 0, sizeof(w->items[0]));
	return &w->items[w->n++];
}

static int plan_manifest(struct oci_walk *w, json_t *doc, const char *name,
			 struct hamn_error **err)
{
	_cleanup_oci_manifest_ struct hamn_oci_manifest *m = hamn_oci_manifest_parse(doc, err);
	const struct member *config;
	struct load_item *it;
	char **tags = xcalloc(1, sizeof(char *));
	char *full = NULL;

	if (!m || !(config = blob_member(w->sg, &m->config, err)) ||
	    (name && !(full = hamn_ref_normalize(name, err)))) {
		hamn_strv_free(tags);
		return hamn_error_wrap(err, "load");
	}
	if (full)
		strv_push_take(&tags, full);
	it = new_item(w);
	if (!it) {
		hamn_strv_free(tags);
		return hamn_error_setq(err, EINVAL, "load: too many images");
	}
	if (load_item_init(w->sg, it, config, tags, err) < 0)
		return -1;
	if (m->n_layers != it->plan.config->n_diff_ids)
		return hamn_error_setq(err, EINVAL, "load: manifest has %zu layers for %zu diff IDs",
				       m->n_layers, it->plan.config->n_diff_ids);
	it->media_types = xcalloc(m->n_layers + 1, sizeof(char *));
	for (size_t i = 0; i < m->n_layers; i++) {
		if (!is_layer_type(m->layers[i].media_type))
			return hamn_error_setq(err, EINVAL, "load: layer %s: unsupported media type "
					       "'%s'", m->layers[i].digest.str,
					       m->layers[i].media_type);
		it->layers[i] = blob_member(w->sg, &m->layers[i], err);
		if (!it->layers[i])
			return -1;
		it->media_types[i] = xstrdup(m->layers[i].media_type ? m->layers[i].media_type
								       : HAMN_MT_OCI_LAYER);
	}
	return 0;
}

static int walk(struct oci_walk *w, const struct hamn_oci_descriptor *d, int depth,
		const char *name, struct hamn_error **err);

static int plan_index(struct oci_walk *w, json_t *doc, int depth, const char *name,
		      struct hamn_error **err)
{
	_cleanup_oci_index_ struct hamn_oci_index *idx = hamn_oci_index_parse(doc, err);
	size_t picked = 0;

	if (!idx)
		return hamn_error_wrap(err, "load");
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct hamn_oci_descriptor *c = &idx->manifests[i];
		const char *cn = descriptor_name(c);

		if (!platform_ok(c) && idx->n_manifests > 1)
			continue;
		picked++;
		if (walk(w, c, depth + 1, cn ? cn : name, err) < 0)
			return -1;
	}
	if (picked == 0)
		return hamn_error_setq(err, EINVAL, "load: no image for %s/%s in the archive",
				       hamn_oci_host_os(), hamn_oci_host_arch());
	return 0;
}

static int walk(struct oci_walk *w, const struct hamn_oci_descriptor *d, int depth,
		const char *name, struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = NULL;
	const struct member *m;
	const char *mt = d->media_type;

	if (depth > OCI_MAX_DEPTH)
		return hamn_error_setq(err, EINVAL, "load: image indexes nested too deeply");
	if (mt && !hamn_oci_media_is_index(mt) && !hamn_oci_media_is_manifest(mt)) {
		log_kv(HAMN_LOG_DEBUG, "load: skipping descriptor", "digest=%s media_type=%s",
		       d->digest.str, mt);
		return 0;	/* an artifact, a signature... not an image */
	}
	m = blob_member(w->sg, d, err);
	if (!m || !(doc = staging_json(w->sg, m, "manifest", err)))
		return -1;
	if (mt ? hamn_oci_media_is_index(mt) : json_object_get(doc, "manifests") != NULL)
		return plan_index(w, doc, depth, name, err);
	return plan_manifest(w, doc, name, err);
}

int load_oci_plan(const struct staging *sg, struct load_item **items, size_t *n,
		  struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = NULL;
	struct oci_walk w = { .sg = sg };
	int rc;

	doc = staging_json(sg, staging_find(sg, "index.json"), "index", err);
	rc = doc ? plan_index(&w, doc, 0, NULL, err) : -1;
	*items = w.items;
	*n = w.n;
	return rc;
}

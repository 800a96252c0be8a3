/*
 * sink.c - the image store seen by a pull (where blobs, layers and the
 * image go) and by a push (where images and blobs come from). The only
 * file of distribution/ that calls image/.
 */
#include "distribution/internal.h"

#include <sys/stat.h>

#include "image/image.h"

/* ---- pull ---- */

static bool store_has_blob(void *ctx, const char *digest)
{
	struct hamn_error *err = NULL;
	int fd = hamn_image_blob_open(ctx, digest, &err);

	hamn_error_free(&err); /* absent or unreadable: fetch it again */
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int store_put_blob(void *ctx, int fd, const struct dist_blob *b, struct hamn_error **err)
{
	return hamn_image_blob_put(ctx, fd, b->digest.str, NULL, err);
}

static bool store_has_layer(void *ctx, const struct dist_layer_ref *l)
{
	return hamn_image_layer_exists(ctx, l->chain_id->str);
}

static int store_put_layer(void *ctx, int fd, const struct dist_layer_ref *l,
			   struct hamn_error **err)
{
	return hamn_image_layer_put(ctx, fd, l->parent_chain ? l->parent_chain->str : NULL,
				    l->diff_id->str, l->blob->digest.str, l->blob->media_type, NULL,
				    err);
}

static int store_open_blob(void *ctx, const char *digest, struct hamn_error **err)
{
	return hamn_image_blob_open(ctx, digest, err);
}

static char *store_lookup(void *ctx, const char *ref)
{
	struct hamn_error *err = NULL;
	char *id = NULL;

	if (hamn_image_resolve(ctx, ref, &id, &err) < 0) {
		hamn_error_free(&err); /* not there yet: a new image */
		return NULL;
	}
	return id;
}

static int store_commit(void *ctx, const struct dist_image_rec *img, char **id_out,
			struct hamn_error **err)
{
	const char **digests = xcalloc(img->n_layers + 1, sizeof(*digests));
	const char **types = xcalloc(img->n_layers + 1, sizeof(*types));
	int rc;

	for (size_t i = 0; i < img->n_layers; i++) {
		digests[i] = img->layers[i].digest.str;
		types[i] = img->layers[i].media_type;
	}
	rc = hamn_image_create(ctx, img->config->digest.str, digests, types, img->n_layers,
			       img->manifest_digest, img->ref, id_out, err);
	free(digests);
	free(types);
	return rc;
}

static const struct dist_sink_ops store_sink_ops = {
	.has_blob = store_has_blob,
	.put_blob = store_put_blob,
	.has_layer = store_has_layer,
	.put_layer = store_put_layer,
	.open_blob = store_open_blob,
	.lookup = store_lookup,
	.commit = store_commit,
};

void dist_sink_store(struct hamn_image_store *st, struct dist_sink *out)
{
	out->ops = &store_sink_ops;
	out->ctx = st;
}

/* ---- push ---- */

static void set_blob(struct dist_blob *b, const struct hamn_digest *d, int64_t size,
		     const char *media_type)
{
	struct hamn_oci_descriptor desc = {
		.digest = *d, .size = size, .media_type = (char *)media_type};

	dist_blob_set(b, &desc);
}

static int blob_size_of(struct hamn_image_store *st, const char *digest, int64_t *out,
			struct hamn_error **err)
{
	_cleanup_close_ int fd = hamn_image_blob_open(st, digest, err);
	struct stat sb;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0)
		return hamn_error_set(err, errno, "stat blob %s", digest);
	*out = (int64_t)sb.st_size;
	return 0;
}

/* One local image, pushed as tag. */
static int source_one(struct hamn_image_store *st, const char *full, const char *tag,
		      struct dist_source_image *img, struct hamn_error **err)
{
	_cleanup_free_ char *config = NULL, *manifest = NULL;
	struct hamn_image_layer_info *layers = NULL;
	struct hamn_digest cd;
	int64_t size = 0;
	size_t n = 0;

	if (hamn_image_push_info(st, full, &config, &manifest, &layers, &n, err) < 0)
		return -1;
	img->tag = xstrdup(tag);
	img->layers = xcalloc(n ? n : 1, sizeof(*img->layers));
	img->n_layers = n;
	for (size_t i = 0; i < n; i++)
		set_blob(&img->layers[i], &layers[i].blob, layers[i].blob_size,
			 layers[i].media_type);
	hamn_image_layer_info_free(layers, n);
	if (hamn_digest_parse(config, &cd, err) < 0 || blob_size_of(st, config, &size, err) < 0)
		return -1;
	set_blob(&img->config, &cd, size, HAMN_MT_DOCKER_CONFIG);
	img->repos = hamn_image_tags(st, config, err);
	if (!img->repos && *err)
		hamn_error_free(err); /* only mount hints: push without them */
	return 0;
}

/* Every local tag of the repository of ref (docker push NAME without a tag). */
static char **repo_tags(struct hamn_image_store *st, const struct hamn_ref *ref,
			struct hamn_error **err)
{
	_cleanup_json_ json_t *list = hamn_image_list_json(st, NULL, err);
	char **tags = NULL;
	json_t *img, *t;
	size_t i, k;

	if (!list)
		return NULL;
	json_array_foreach (list, i, img) {
		json_array_foreach (json_object_get(img, "RepoTags"), k, t) {
			_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;

			if (hamn_ref_parse(json_string_value(t), &r, NULL) == 0 && r.tag &&
			    streq(r.domain, ref->domain) && streq(r.path, ref->path) &&
			    !strv_contains(tags, r.tag))
				strv_push(&tags, r.tag);
		}
	}
	return tags;
}

static int store_images(void *ctx, const struct hamn_ref *ref, struct dist_source_image **out,
			size_t *n_out, struct hamn_error **err)
{
	_cleanup_free_ char *name = hamn_ref_name(ref);
	_cleanup_strv_ char **tags = NULL;
	struct dist_source_image *imgs;
	size_t n;

	if (ref->tag)
		strv_push(&tags, ref->tag);
	else if (!(tags = repo_tags(ctx, ref, err)) && *err)
		return -1;
	n = strv_len(tags);
	if (n == 0) {
		_cleanup_free_ char *familiar = hamn_ref_familiar_name(ref);

		return hamn_error_setq(err, ENOENT,
				       "An image does not exist locally with the "
				       "tag: %s",
				       familiar);
	}
	imgs = xcalloc(n, sizeof(*imgs));
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *full = xasprintf("%s:%s", name, tags[i]);

		if (source_one(ctx, full, tags[i], &imgs[i], err) < 0) {
			for (size_t k = 0; k <= i; k++)
				dist_source_image_release(&imgs[k]);
			free(imgs);
			return -1;
		}
	}
	*out = imgs;
	*n_out = n;
	return 0;
}

static void store_pushed(void *ctx, const char *ref, const char *manifest_digest)
{
	struct hamn_error *err = NULL;

	if (hamn_image_set_manifest(ctx, ref, manifest_digest, &err) < 0) {
		/* the push worked; only the RepoDigest is missing */
		log_kv(HAMN_LOG_WARN, "cannot record the pushed digest", "ref=%s err=\"%s\"", ref,
		       err->msg);
		hamn_error_free(&err);
	}
}

static const struct dist_source_ops store_source_ops = {
	.images = store_images,
	.open_blob = store_open_blob,
	.pushed = store_pushed,
};

void dist_source_store(struct hamn_image_store *st, struct dist_source *out)
{
	out->ops = &store_source_ops;
	out->ctx = st;
}

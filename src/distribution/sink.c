/*
 * sink.c - the image store seen by a pull (where blobs and the image go)
 * and by a push (where images and blobs come from). The only file of
 * distribution/ that calls image/.
 */
#include "distribution/internal.h"

#include "image/image.h"

/* ---- pull ---- */

static bool store_has_blob(void *ctx, const char *digest)
{
	struct hamn_error *err = NULL;
	int fd = hamn_image_blob_open(ctx, digest, &err);

	hamn_error_free(&err);	/* absent or unreadable: fetch it again */
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int store_put_blob(void *ctx, int fd, const struct dist_blob *b, struct hamn_error **err)
{
	return hamn_image_blob_put(ctx, fd, b->digest.str, NULL, err);
}

static char *store_lookup(void *ctx, const char *ref)
{
	struct hamn_error *err = NULL;
	char *id = NULL;

	if (hamn_image_resolve(ctx, ref, &id, &err) < 0) {
		hamn_error_free(&err);	/* not there yet: a new image */
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
	.lookup = store_lookup,
	.commit = store_commit,
};

void dist_sink_store(struct hamn_image_store *st, struct dist_sink *out)
{
	out->ops = &store_sink_ops;
	out->ctx = st;
}

/* ---- push ---- */

static int store_open_blob(void *ctx, const char *digest, struct hamn_error **err)
{
	return hamn_image_blob_open(ctx, digest, err);
}

static int store_images(void *ctx, const struct hamn_ref *ref, struct dist_source_image **out,
			size_t *n_out, struct hamn_error **err)
{
	_cleanup_free_ char *name = hamn_ref_familiar(ref);

	(void)ctx;
	*out = NULL;
	*n_out = 0;
	/* TODO(issue 7): needs the image store's layer listing (notes/image-requests.md) */
	return hamn_error_setq(err, ENOTSUP, "push '%s': the image store cannot list layers yet",
			       name);
}

static const struct dist_source_ops store_source_ops = {
	.images = store_images,
	.open_blob = store_open_blob,
	.pushed = NULL,
};

void dist_source_store(struct hamn_image_store *st, struct dist_source *out)
{
	out->ops = &store_source_ops;
	out->ctx = st;
}

/*
 * registry.c - what distribution/ reads and records around a push: an
 * image's config and layer blobs, and the manifest digest it was pushed as;
 * and an image's layers with their sizes (system df).
 * (Pulls use hamn_image_layer_put, hamn_image_blob_put and
 * hamn_image_create.)
 */
#include "image/internal.h"

void hamn_image_layer_info_free(struct hamn_image_layer_info *l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		free(l[i].media_type);
	free(l);
}

static int layer_info(struct hamn_image_store *st, const struct hamn_digest *chain,
		      struct hamn_image_layer_info *out, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "SELECT diff_id, blob, blob_size, media_type, size, (SELECT COUNT(DISTINCT "
		    "image_id) FROM image_stack WHERE chain_id = ?1) FROM image_layers "
		    "WHERE chain_id = ?1", err);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, chain->str, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW)
		return hamn_error_setq(err, EIO, "layer %s is not recorded", chain->str);
	out->chain_id = *chain;
	if (hamn_digest_parse((const char *)sqlite3_column_text(s, 0), &out->diff_id, err) < 0 ||
	    hamn_digest_parse((const char *)sqlite3_column_text(s, 1), &out->blob, err) < 0)
		return -1;
	out->blob_size = sqlite3_column_int64(s, 2);
	out->media_type = db_col_str(s, 3);
	out->size = sqlite3_column_int64(s, 4);
	out->n_images = sqlite3_column_int64(s, 5);
	return 0;
}

/* Lock held: the layers of image id, bottom first. */
static int layers_of(struct hamn_image_store *st, const char *id,
		     struct hamn_image_layer_info **layers_out, size_t *n_out,
		     struct hamn_error **err)
{
	_cleanup_free_ struct hamn_digest *chains = NULL;
	struct hamn_image_layer_info *layers;
	size_t n = 0;

	if (image_chain(st, id, &chains, &n, err) < 0)
		return -1;
	layers = xcalloc(n + 1, sizeof(*layers));
	for (size_t i = 0; i < n; i++) {
		if (layer_info(st, &chains[i], &layers[i], err) < 0) {
			hamn_image_layer_info_free(layers, i + 1);
			return -1;
		}
	}
	*layers_out = layers;
	*n_out = n;
	return 0;
}

int hamn_image_layers(struct hamn_image_store *st, const char *ref,
		      struct hamn_image_layer_info **layers_out, size_t *n_out,
		      struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;
	int rc;

	store_lock(st);
	rc = image_resolve_locked(st, ref, &id, NULL, err);
	if (rc == 0)
		rc = layers_of(st, id, layers_out, n_out, err);
	store_unlock(st);
	return rc;
}

static char *manifest_of(struct hamn_image_store *st, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT manifest FROM images WHERE id = ?", NULL);

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_type(s, 0) == SQLITE_NULL)
		return NULL;
	return db_col_str(s, 0);
}

static int push_info_locked(struct hamn_image_store *st, const char *ref, char **config_out,
			    char **manifest_out, struct hamn_image_layer_info **layers_out,
			    size_t *n_out, struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;

	if (image_resolve_locked(st, ref, &id, NULL, err) < 0 ||
	    layers_of(st, id, layers_out, n_out, err) < 0)
		return -1;
	if (manifest_out)
		*manifest_out = manifest_of(st, id);
	*config_out = steal_pointer(&id);
	return 0;
}

int hamn_image_push_info(struct hamn_image_store *st, const char *ref, char **config_out,
			 char **manifest_out, struct hamn_image_layer_info **layers_out,
			 size_t *n_out, struct hamn_error **err)
{
	int rc;

	store_lock(st);
	rc = push_info_locked(st, ref, config_out, manifest_out, layers_out, n_out, err);
	store_unlock(st);
	return rc;
}

static int set_manifest_locked(struct hamn_image_store *st, const char *ref,
			       const char *digest, struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;
	_cleanup_free_ char *id = NULL, *name = NULL, *full = NULL;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	if (image_resolve_locked(st, ref, &id, NULL, err) < 0 || hamn_ref_parse(ref, &r, err) < 0)
		return -1;
	name = hamn_ref_name(&r);
	full = xasprintf("%s@%s", name, digest);
	s = db_prepare(st, "UPDATE images SET manifest = ? WHERE id = ? AND manifest IS NULL",
		       err);
	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, digest, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	if (db_step_done(st, s, err) < 0)
		return -1;
	return tag_set(st, full, id, err);
}

int hamn_image_set_manifest(struct hamn_image_store *st, const char *ref,
			    const char *manifest_digest, struct hamn_error **err)
{
	int rc;

	if (!hamn_digest_valid(manifest_digest))
		return hamn_error_setq(err, EINVAL, "invalid manifest digest '%s'", manifest_digest);
	store_lock(st);
	rc = db_begin(st, err);
	if (rc == 0)
		rc = db_end(st, set_manifest_locked(st, ref, manifest_digest, err), err);
	store_unlock(st);
	return rc;
}

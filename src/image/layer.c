/*
 * layer.c - unpacked layers: chain IDs, creating a layer directory
 * crash-safely, finding an image's layers, deleting unused ones.
 *
 * A layer is identified by its chain ID (image-spec): chain(L0) = diff(L0),
 * chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). It is stored once in
 * layers/<chain-hex>/diff however many images use it; an image's rows in
 * image_stack are its references, so a layer is unused exactly when no
 * image_stack row names it (the reference count is that COUNT).
 */
#include "image/internal.h"

#include <fcntl.h>
#include <sys/stat.h>

void chain_id_next(const struct hamn_digest *parent, const struct hamn_digest *diff_id,
		   struct hamn_digest *out)
{
	_cleanup_free_ char *s = NULL;

	if (!parent) {
		*out = *diff_id;
		return;
	}
	s = xasprintf("%s %s", parent->str, diff_id->str);
	hamn_sha256_buf(s, strlen(s), out);
}

bool layer_exists(struct hamn_image_store *st, const struct hamn_digest *chain)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT 1 FROM image_layers WHERE chain_id = ?", NULL);

	if (!s)
		return false;
	sqlite3_bind_text(s, 1, chain->str, -1, SQLITE_TRANSIENT);
	return sqlite3_step(s) == SQLITE_ROW;
}

struct new_layer {
	char *tmp;			/* layers/<tmp> while being made */
	int diff_fd;
	struct hamn_layer_stats stats;
	struct hamn_digest blob;
	uint64_t blob_size;
};

static const char *media_type_of(const struct layer_source *src, const struct new_layer *nl)
{
	const char *c = nl->stats.compression;

	if (src->media_type)
		return src->media_type;
	if (!c)
		return HAMN_MT_OCI_LAYER;
	if (streq(c, "gzip"))
		return HAMN_MT_OCI_LAYER_GZIP;
	if (streq(c, "zstd"))
		return HAMN_MT_OCI_LAYER_ZSTD;
	return "application/vnd.oci.image.layer.v1.tar+xz";
}

static int record_layer(struct hamn_image_store *st, const struct hamn_digest *chain,
			const struct hamn_digest *parent, const struct layer_source *src,
			const struct new_layer *nl, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "INSERT OR REPLACE INTO image_layers (chain_id, diff_id, parent, blob, "
		    "blob_size, media_type, tar_size, size, created) VALUES (?,?,?,?,?,?,?,?,?)",
		err);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, chain->str, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, nl->stats.diff_id.str, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, parent ? parent->str : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, nl->blob.str, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)nl->blob_size);
	sqlite3_bind_text(s, 6, media_type_of(src, nl), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)nl->stats.tar_size);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)nl->stats.unpacked_size);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)hamn_now_ns());
	return db_step_done(st, s, err);
}

/* layers/<tmp>/diff, empty, with diff_fd open on it. */
static int make_tmp_layer(struct hamn_image_store *st, struct new_layer *nl,
			  struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;

	nl->tmp = store_tmp_name("tmp");
	if (mkdirat(st->layers_fd, nl->tmp, 0700) < 0)
		return hamn_error_set(err, errno, "create layer directory 'layers/%s'", nl->tmp);
	fd = openat(st->layers_fd, nl->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || mkdirat(fd, "diff", 0755) < 0)
		return hamn_error_set(err, errno, "create layer directory 'layers/%s/diff'", nl->tmp);
	nl->diff_fd = openat(fd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nl->diff_fd < 0)
		return hamn_error_set(err, errno, "open 'layers/%s/diff'", nl->tmp);
	return 0;
}

/* Keep the layer's blob: the staged file, the tee'd copy, or the one already stored. */
static int keep_blob(struct hamn_image_store *st, const struct layer_source *src,
		     struct blob_writer *tee, struct new_layer *nl, struct hamn_error **err)
{
	if (tee)
		return blob_writer_commit(tee, NULL, &nl->blob, &nl->blob_size, err);
	if (!streq(src->blob, nl->stats.input_digest.str))
		return hamn_error_setq(err, EINVAL, "layer blob %s: content hashes to %s", src->blob,
				       nl->stats.input_digest.str);
	nl->blob = nl->stats.input_digest;
	nl->blob_size = nl->stats.input_size;
	if (src->blob_in_store)
		return 0;
	return blob_adopt(st, src->staged_dirfd, src->staged_name, &nl->blob, err);
}

/* Rename layers/<tmp> to layers/<chain-hex> once its contents are on disk. */
static int publish(struct hamn_image_store *st, struct new_layer *nl,
		   const struct hamn_digest *chain, struct hamn_error **err)
{
	const char *hex = hamn_digest_hex(chain);

	if (syncfs(nl->diff_fd) < 0)
		return hamn_error_set(err, errno, "sync layer %s", chain->str);
	/* a directory of that name not in the database is a leftover: replace it */
	if (hamn_rm_rf(st->layers_fd, hex, err) < 0)
		return -1;
	if (renameat(st->layers_fd, nl->tmp, st->layers_fd, hex) < 0)
		return hamn_error_set(err, errno, "rename layer into 'layers/%s'", hex);
	free(nl->tmp);
	nl->tmp = NULL;
	if (fsync(st->layers_fd) < 0)
		return hamn_error_set(err, errno, "fsync 'layers'");
	return 0;
}

static int extract(struct hamn_image_store *st, const struct hamn_digest *expected,
		   const struct layer_source *src, struct blob_writer *tee, struct new_layer *nl,
		   struct hamn_error **err)
{
	_cleanup_free_ char *label = xasprintf("layer %s", expected ? expected->str : "");

	if (make_tmp_layer(st, nl, err) < 0)
		return -1;
	if (layer_apply_tee(nl->diff_fd, src->fd, 0, expected ? label : "layer", tee, &nl->stats,
			    err) < 0)
		return -1;
	if (expected && !streq(expected->str, nl->stats.diff_id.str))
		return hamn_error_setq(err, EINVAL, "layer %s: diff ID mismatch: the layer hashes "
				       "to %s", expected->str, nl->stats.diff_id.str);
	return 0;
}

static int ensure(struct hamn_image_store *st, const struct hamn_digest *parent,
		  const struct hamn_digest *expected, const struct layer_source *src,
		  struct new_layer *nl, struct hamn_digest *chain, struct hamn_error **err)
{
	_cleanup_blob_writer_ struct blob_writer *tee = NULL;

	if (expected) {
		chain_id_next(parent, expected, chain);
		if (layer_exists(st, chain))
			return 0;
	}
	if (!src->blob) {
		tee = blob_writer_new(st, err);
		if (!tee)
			return -1;
	}
	if (extract(st, expected, src, tee, nl, err) < 0)
		return -1;
	chain_id_next(parent, &nl->stats.diff_id, chain);
	if (!expected && layer_exists(st, chain))
		return 0;	/* an import of a rootfs we already have */
	if (keep_blob(st, src, tee, nl, err) < 0 || publish(st, nl, chain, err) < 0)
		return -1;
	return record_layer(st, chain, parent, src, nl, err);
}

int layer_ensure(struct hamn_image_store *st, const struct hamn_digest *parent,
		 const struct hamn_digest *expected, const struct layer_source *src,
		 struct hamn_digest *chain_out, struct hamn_error **err)
{
	struct new_layer nl = { .diff_fd = -1 };
	struct hamn_error *rm_err = NULL;
	int rc = ensure(st, parent, expected, src, &nl, chain_out, err);

	cleanup_closep(&nl.diff_fd);
	if (nl.tmp && hamn_rm_rf(st->layers_fd, nl.tmp, &rm_err) < 0) {
		/* the next open collects it; the caller's error matters more */
		log_kv(HAMN_LOG_WARN, "cannot remove temporary layer", "dir=%s err=\"%s\"", nl.tmp,
		       rm_err->msg);
		hamn_error_free(&rm_err);
	}
	free(nl.tmp);
	return rc;
}

int image_chain(struct hamn_image_store *st, const char *id, struct hamn_digest **chains_out,
		size_t *n_out, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "SELECT chain_id FROM image_stack WHERE image_id = ? ORDER BY idx", err);
	struct hamn_digest *chains = NULL;
	size_t n = 0;
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		chains = xreallocarray(chains, n + 1, sizeof(*chains));
		if (hamn_digest_parse((const char *)sqlite3_column_text(s, 0), &chains[n], err) < 0) {
			free(chains);
			return -1;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		free(chains);
		return db_fail(st, "read image layers", err);
	}
	*chains_out = chains;
	*n_out = n;
	return 0;
}

/* The unused layers: chain, blob, size; deleted from the database in one savepoint. */
static int take_unused(struct hamn_image_store *st, char ***chains, char ***blobs,
		       uint64_t *bytes, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "SELECT chain_id, blob, size FROM image_layers WHERE chain_id NOT IN "
		    "(SELECT chain_id FROM image_stack)", err);
	int rc;

	if (!s)
		return -1;
	*chains = xcalloc(1, sizeof(char *));
	*blobs = xcalloc(1, sizeof(char *));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		strv_push_take(chains, db_col_str(s, 0));
		strv_push_take(blobs, db_col_str(s, 1));
		*bytes += (uint64_t)sqlite3_column_int64(s, 2);
	}
	if (rc != SQLITE_DONE)
		return db_fail(st, "find unused layers", err);
	return db_exec(st, "DELETE FROM image_layers WHERE chain_id NOT IN "
			   "(SELECT chain_id FROM image_stack)", err);
}

static bool blob_still_used(struct hamn_image_store *st, const char *blob)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "SELECT 1 FROM image_layers WHERE blob = ?1 UNION ALL "
		    "SELECT 1 FROM images WHERE id = ?1 OR manifest = ?1 LIMIT 1", NULL);

	if (!s)
		return true;	/* when in doubt, keep it: the next open collects it */
	sqlite3_bind_text(s, 1, blob, -1, SQLITE_TRANSIENT);
	return sqlite3_step(s) == SQLITE_ROW;
}

int layers_collect(struct hamn_image_store *st, json_t *report, uint64_t *reclaimed,
		   struct hamn_error **err)
{
	_cleanup_strv_ char **chains = NULL, **blobs = NULL;
	uint64_t bytes = 0;

	/* rows first, files after: a crash in between leaves only files the next open removes */
	if (db_begin(st, err) < 0)
		return -1;
	if (take_unused(st, &chains, &blobs, &bytes, err) < 0) {
		db_rollback(st);
		return -1;
	}
	if (db_commit(st, err) < 0)
		return -1;
	for (size_t i = 0; chains[i]; i++) {
		struct hamn_digest d;
		struct hamn_error *e = NULL;

		if (report)
			json_array_append_new(report, json_pack("{ss}", "Deleted", chains[i]));
		if (hamn_digest_parse(chains[i], &d, NULL) == 0 &&
		    hamn_rm_rf(st->layers_fd, hamn_digest_hex(&d), &e) < 0) {
			/* the row is gone, so the next open removes the directory */
			log_kv(HAMN_LOG_WARN, "cannot remove layer", "layer=%s err=\"%s\"", chains[i],
			       e->msg);
			hamn_error_free(&e);
		}
		if (!blob_still_used(st, blobs[i])) {
			int64_t sz = blob_size(st, blobs[i]);

			bytes += sz > 0 ? (uint64_t)sz : 0;
			blob_remove(st, blobs[i]);
		}
	}
	if (reclaimed)
		*reclaimed += bytes;
	return 0;
}

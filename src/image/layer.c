/*
 * layer.c - unpacked layers: chain IDs, creating a layer directory
 * crash-safely, finding an image's layers, deleting unused ones.
 *
 * A layer is identified by its chain ID (image-spec): chain(L0) = diff(L0),
 * chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). It is stored once in
 * layers/<chain-hex>/diff however many images use it; an image's rows in
 * image_stack are its references, so a layer is unused exactly when no
 * image_stack row names it (the reference count is that COUNT) and no
 * operation in progress has pinned it (see gc.c).
 *
 * Making a layer reads the caller's stream: that runs without the store
 * lock (staging names are unique), which is only taken to check whether the
 * layer exists and to publish it.
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

bool layer_use_existing(struct hamn_image_store *st, const struct hamn_digest *chain)
{
	bool found;

	store_lock(st);
	found = layer_exists(st, chain);
	if (found)
		layer_pin(st, chain);
	store_unlock(st);
	return found;
}

/*
 * A layer being made. Everything slow (reading the caller's stream,
 * extracting, hashing, fsync) happens in prepare() without the store lock;
 * publish_locked() then only renames and records.
 */
struct new_layer {
	char *tmp;			/* layers/<tmp> while being made */
	int diff_fd;
	struct blob_writer *tee;	/* the input copied into a new blob, or NULL */
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

static int extract(struct hamn_image_store *st, const struct hamn_digest *expected,
		   const struct layer_source *src, struct new_layer *nl, struct hamn_error **err)
{
	_cleanup_free_ char *label = xasprintf("layer %s", expected ? expected->str : "");

	if (make_tmp_layer(st, nl, err) < 0)
		return -1;
	if (layer_apply_tee(nl->diff_fd, src->fd, 0, expected ? label : "layer", nl->tee,
			    &nl->stats, err) < 0)
		return -1;
	if (expected && !streq(expected->str, nl->stats.diff_id.str))
		return hamn_error_setq(err, EINVAL, "layer %s: diff ID mismatch: the layer hashes "
				       "to %s", expected->str, nl->stats.diff_id.str);
	if (src->blob && !streq(src->blob, nl->stats.input_digest.str))
		return hamn_error_setq(err, EINVAL, "layer %s: blob digest mismatch: expected %s, "
				       "got %s", nl->stats.diff_id.str, src->blob,
				       nl->stats.input_digest.str);
	return 0;
}

/* Without the lock: extract and check the layer, get its blob and directory onto disk. */
static int prepare(struct hamn_image_store *st, const struct hamn_digest *expected,
		   const struct layer_source *src, struct new_layer *nl, struct hamn_error **err)
{
	bool tee = src->staged_dirfd < 0 && !src->blob_in_store;

	if (tee && !(nl->tee = blob_writer_new(st, err)))
		return -1;
	if (extract(st, expected, src, nl, err) < 0)
		return -1;
	nl->blob = nl->stats.input_digest;
	nl->blob_size = nl->stats.input_size;
	if (tee && blob_writer_finish(nl->tee, NULL, NULL, NULL, err) < 0)
		return -1;
	if (!tee && !src->blob_in_store &&
	    blob_sync_file(src->staged_dirfd, src->staged_name, err) < 0)
		return -1;
	if (syncfs(nl->diff_fd) < 0)
		return hamn_error_set(err, errno, "sync layer %s", nl->stats.diff_id.str);
	return 0;
}

/* Lock held: keep the layer's blob (the tee'd copy or the staged file). */
static int keep_blob(struct hamn_image_store *st, const struct layer_source *src,
		     struct new_layer *nl, struct hamn_error **err)
{
	if (nl->tee)
		return blob_writer_publish(nl->tee, err);
	if (src->blob_in_store)
		return 0;
	return blob_adopt(st, src->staged_dirfd, src->staged_name, &nl->blob, err);
}

/* Lock held: rename layers/<tmp> to layers/<chain-hex>. */
static int rename_into_place(struct hamn_image_store *st, struct new_layer *nl,
			     const struct hamn_digest *chain, struct hamn_error **err)
{
	const char *hex = hamn_digest_hex(chain);

	/* a directory of that name not in the database is a leftover: replace it */
	if (store_trash(st, st->layers_fd, hex, err) < 0)
		return -1;
	if (renameat(st->layers_fd, nl->tmp, st->layers_fd, hex) < 0)
		return hamn_error_set(err, errno, "rename layer into 'layers/%s'", hex);
	free(nl->tmp);
	nl->tmp = NULL;
	if (fsync(st->layers_fd) < 0)
		return hamn_error_set(err, errno, "fsync 'layers'");
	return 0;
}

/*
 * Lock held: make the prepared layer visible (blob, directory, row), unless
 * another caller made the same layer meanwhile: then ours is dropped.
 */
static int publish_locked(struct hamn_image_store *st, const struct hamn_digest *parent,
			  const struct layer_source *src, struct new_layer *nl,
			  const struct hamn_digest *chain, struct hamn_error **err)
{
	if (layer_exists(st, chain))
		return 0;
	if (keep_blob(st, src, nl, err) < 0 || rename_into_place(st, nl, chain, err) < 0)
		return -1;
	return record_layer(st, chain, parent, src, nl, err);
}

static void new_layer_release(struct hamn_image_store *st, struct new_layer *nl)
{
	struct hamn_error *rm_err = NULL;

	cleanup_closep(&nl->diff_fd);
	blob_writer_free(nl->tee);
	nl->tee = NULL;
	if (nl->tmp && hamn_rm_rf(st->layers_fd, nl->tmp, &rm_err) < 0) {
		/* the next open collects it; the caller's error matters more */
		log_kv(HAMN_LOG_WARN, "cannot remove temporary layer", "dir=%s err=\"%s\"", nl->tmp,
		       rm_err->msg);
		hamn_error_free(&rm_err);
	}
	free(nl->tmp);
	nl->tmp = NULL;
}

/* How the maker of a layer holds on to it until its image is recorded. */
enum layer_hold { HOLD_PIN, HOLD_LEASE };

/* Extract without the lock, publish with it and hold the result (in the same locked step). */
static int make_layer(struct hamn_image_store *st, const struct hamn_digest *parent,
		      const struct hamn_digest *expected, const struct layer_source *src,
		      enum layer_hold hold, struct hamn_digest *chain_out, struct hamn_error **err)
{
	struct new_layer nl = { .diff_fd = -1 };
	int rc = prepare(st, expected, src, &nl, err);

	if (rc == 0) {
		chain_id_next(parent, &nl.stats.diff_id, chain_out);
		store_lock(st);
		rc = publish_locked(st, parent, src, &nl, chain_out, err);
		if (rc == 0 && hold == HOLD_PIN)
			layer_pin(st, chain_out);
		else if (rc == 0)
			layer_lease(st, chain_out);
		store_unlock(st);
	}
	/* a layer that lost the race to an identical one is deleted here, unlocked */
	new_layer_release(st, &nl);
	return rc;
}

int layer_ensure(struct hamn_image_store *st, const struct hamn_digest *parent,
		 const struct hamn_digest *expected, const struct layer_source *src,
		 struct hamn_digest *chain_out, struct hamn_error **err)
{
	if (expected) {
		chain_id_next(parent, expected, chain_out);
		if (layer_use_existing(st, chain_out))
			return 0;
	}
	return make_layer(st, parent, expected, src, HOLD_PIN, chain_out, err);
}

/* ---- one layer from a registry stream ---- */

int hamn_image_layer_put(struct hamn_image_store *st, int fd, const char *parent_chain,
			 const char *diff_id, const char *blob_digest, const char *media_type,
			 struct hamn_digest *chain_out, struct hamn_error **err)
{
	struct hamn_digest parent, diff, blob, chain;
	struct layer_source src = { .fd = fd, .staged_dirfd = -1, .media_type = media_type };
	bool exists;

	if ((parent_chain && hamn_digest_parse(parent_chain, &parent, err) < 0) ||
	    hamn_digest_parse(diff_id, &diff, err) < 0 ||
	    hamn_digest_parse(blob_digest, &blob, err) < 0)
		return hamn_error_wrap(err, "put layer");
	chain_id_next(parent_chain ? &parent : NULL, &diff, &chain);
	if (chain_out)
		*chain_out = chain;
	/* reused: leased in the step that found it, so no rmi can take it before the create */
	store_lock(st);
	exists = layer_exists(st, &chain);
	if (exists)
		layer_lease(st, &chain);
	store_unlock(st);
	if (exists)
		return 0;
	src.blob = blob.str;
	/* leased, not pinned: hamn_image_create() ends the lease (or it lapses, see gc.c) */
	return make_layer(st, parent_chain ? &parent : NULL, &diff, &src, HOLD_LEASE, &chain, err);
}

bool hamn_image_layer_exists(struct hamn_image_store *st, const char *chain_id)
{
	struct hamn_digest d;
	bool found;

	if (hamn_digest_parse(chain_id, &d, NULL) < 0)
		return false;
	/* a pull that finds a layer here skips it: from now on it relies on it */
	store_lock(st);
	found = layer_exists(st, &d);
	if (found)
		layer_lease(st, &d);
	store_unlock(st);
	return found;
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


/*
 * commit.c - image records: storing an image over its layers, tags,
 * resolving references to IDs, deleting an image's records.
 *
 * An image becomes visible in one SAVEPOINT that writes its row, its layer
 * stack and its tags, after its config blob and all its layers are on disk.
 */
#include "image/internal.h"

void image_plan_release(struct image_plan *p)
{
	free(p->config_text);
	hamn_oci_image_config_free(p->config);
	hamn_strv_free(p->tags);
	free(p->manifest_digest);
	free(p->parent);
	memset(p, 0, sizeof(*p));
}

bool image_exists(struct hamn_image_store *st, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(st, "SELECT 1 FROM images WHERE id = ?", NULL);

	if (!s)
		return false;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	return sqlite3_step(s) == SQLITE_ROW;
}

int tag_set(struct hamn_image_store *st, const char *full_ref, const char *id,
	    struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "INSERT OR REPLACE INTO image_tags (ref, image_id) VALUES (?, ?)", err);
	_cleanup_stmt_ sqlite3_stmt *t = NULL;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, full_ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	if (db_step_done(st, s, err) < 0)
		return -1;
	t = db_prepare(st, "UPDATE images SET last_tag_time = ? WHERE id = ?", err);
	if (!t)
		return -1;
	sqlite3_bind_int64(t, 1, (sqlite3_int64)hamn_now_ns());
	sqlite3_bind_text(t, 2, id, -1, SQLITE_TRANSIENT);
	return db_step_done(st, t, err);
}

static int sum_sizes(struct hamn_image_store *st, const struct hamn_digest *chains, size_t n,
		     int64_t *out, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT size FROM image_layers WHERE chain_id = ?", err);

	*out = 0;
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, chains[i].str, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(s) != SQLITE_ROW)
			return hamn_error_setq(err, EIO, "layer %s is not recorded", chains[i].str);
		*out += sqlite3_column_int64(s, 0);
	}
	return 0;
}

static int write_rows(struct hamn_image_store *st, const struct image_plan *p,
		      const struct hamn_digest *chains, int64_t size, struct hamn_error **err)
{
	const char *id = p->config_digest.str;
	_cleanup_stmt_ sqlite3_stmt *img = db_prepare(
		st, "INSERT OR IGNORE INTO images (id, created, loaded, size, manifest) "
		    "VALUES (?, ?, ?, ?, ?)", err);
	_cleanup_stmt_ sqlite3_stmt *stack = NULL;

	if (!img)
		return -1;
	sqlite3_bind_text(img, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(img, 2, p->config->created);
	sqlite3_bind_int64(img, 3, hamn_now_ns());
	sqlite3_bind_int64(img, 4, size);
	if (p->manifest_digest)
		sqlite3_bind_text(img, 5, p->manifest_digest, -1, SQLITE_TRANSIENT);
	if (db_step_done(st, img, err) < 0)
		return -1;
	stack = db_prepare(st, "INSERT OR REPLACE INTO image_stack (image_id, idx, chain_id) "
			       "VALUES (?, ?, ?)", err);
	if (!stack)
		return -1;
	for (size_t i = 0; i < p->config->n_diff_ids; i++) {
		sqlite3_reset(stack);
		sqlite3_bind_text(stack, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(stack, 2, (sqlite3_int64)i);
		sqlite3_bind_text(stack, 3, chains[i].str, -1, SQLITE_TRANSIENT);
		if (db_step_done(st, stack, err) < 0)
			return -1;
	}
	for (size_t i = 0; p->tags && p->tags[i]; i++)
		if (tag_set(st, p->tags[i], id, err) < 0)
			return -1;
	/* also when the row was there: the newest making of an image names its parent */
	if (p->parent && image_set_parent_locked(st, id, p->parent, err) < 0)
		return -1;
	return 0;
}

int image_commit(struct hamn_image_store *st, const struct image_plan *p,
		 const struct hamn_digest *chains, struct hamn_error **err)
{
	struct hamn_digest d;
	int64_t size;

	if (!blob_exists(st, p->config_digest.str)) {
		if (blob_put_buf(st, p->config_text, p->config_len, &d, err) < 0)
			return -1;
		if (!streq(d.str, p->config_digest.str))
			return hamn_error_setq(err, EIO, "config blob changed while storing it");
	}
	if (sum_sizes(st, chains, p->config->n_diff_ids, &size, err) < 0 || db_begin(st, err) < 0)
		return -1;
	return db_end(st, write_rows(st, p, chains, size, err), err);
}

struct hamn_oci_image_config *image_load_config(struct hamn_image_store *st, const char *id,
						struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	struct hamn_oci_image_config *c;

	if (blob_read(st, id, HAMN_OCI_JSON_MAX, &text, &len, err) < 0)
		return NULL;
	c = hamn_oci_image_config_parse_text(text, len, err);
	if (!c)
		hamn_error_wrap(err, "image %s", id);
	return c;
}

char **image_tags_locked(struct hamn_image_store *st, const char *id, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT ref FROM image_tags WHERE image_id = ? ORDER BY ref", err);
	char **v;
	int rc;

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	v = xcalloc(1, sizeof(char *));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		strv_push_take(&v, db_col_str(s, 0));
	if (rc != SQLITE_DONE) {
		hamn_strv_free(v);
		db_fail(st, "read tags", err);
		return NULL;
	}
	return v;
}

/* ---- resolving ---- */

static bool is_hex(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n > 0 && n <= max;
}

/* An image whose ID starts with sha256:<hex>; ENOENT / EINVAL (ambiguous). */
/* The image whose ID starts with hex; "No such image: <shown>" when none. */
static int find_prefix(struct hamn_image_store *st, const char *hex, const char *shown,
		       char **id_out, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT id FROM images WHERE id LIKE ? LIMIT 2", err);
	_cleanup_free_ char *pattern = xasprintf("sha256:%s%%", hex);
	_cleanup_free_ char *first = NULL;
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, pattern, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return hamn_error_setq(err, ENOENT, "No such image: %s", shown);
	if (rc != SQLITE_ROW)
		return db_fail(st, "find image", err);
	first = db_col_str(s, 0);
	if (sqlite3_step(s) == SQLITE_ROW)
		return hamn_error_setq(err, EINVAL, "image ID prefix '%s' is ambiguous", hex);
	*id_out = steal_pointer(&first);
	return 0;
}

static int find_tag(struct hamn_image_store *st, const char *full, char **id_out,
		    struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT image_id FROM image_tags WHERE ref = ?", err);
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, full, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id_out = db_col_str(s, 0);
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(st, "find tag", err);
}

int image_resolve_locked(struct hamn_image_store *st, const char *ref, char **id_out,
			 char **tag_out, struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;
	_cleanup_free_ char *full = NULL, *shown = NULL;
	struct hamn_error *perr = NULL;
	bool bare;
	int found;

	if (str_has_prefix(ref, "sha256:")) {
		if (!is_hex(ref + 7, HAMN_DIGEST_HEX_LEN))
			return hamn_error_setq(err, EINVAL, "invalid image ID '%s'", ref);
		return find_prefix(st, ref + 7, ref, id_out, err);
	}
	if (hamn_ref_parse(ref, &r, &perr) < 0) {
		if (is_hex(ref, HAMN_DIGEST_HEX_LEN)) {	/* a full 64-hex ID */
			hamn_error_free(&perr);
			return find_prefix(st, ref, ref, id_out, err);
		}
		return hamn_error_propagate(err, &perr);
	}
	bare = !r.tag && !r.digest;
	if (r.digest) {	/* "name:tag@digest": the digest decides, as in docker */
		free(r.tag);
		r.tag = NULL;
	}
	hamn_ref_default_tag(&r);
	full = hamn_ref_string(&r);
	found = find_tag(st, full, id_out, err);
	if (found > 0 && tag_out)
		*tag_out = steal_pointer(&full);
	if (found != 0)
		return found < 0 ? -1 : 0;
	/* a name that could be an ID prefix: either; not found, it is named as a tag, as docker does */
	shown = hamn_ref_familiar(&r);
	if (bare && is_hex(ref, HAMN_DIGEST_HEX_LEN))
		return find_prefix(st, ref, shown, id_out, err);
	return hamn_error_setq(err, ENOENT, "No such image: %s", shown);
}

int hamn_image_resolve(struct hamn_image_store *st, const char *ref, char **id_out,
		       struct hamn_error **err)
{
	int rc;

	store_lock(st);
	rc = image_resolve_locked(st, ref, id_out, NULL, err);
	store_unlock(st);
	return rc;
}

/* ---- deleting ---- */

static int delete_rows(struct hamn_image_store *st, const char *id, char **manifest,
		       struct hamn_error **err)
{
	static const char *const sql[] = {
		"DELETE FROM image_tags WHERE image_id = ?",
		"DELETE FROM image_stack WHERE image_id = ?",
		"DELETE FROM images WHERE id = ?",
	};
	_cleanup_stmt_ sqlite3_stmt *m = db_prepare(st, "SELECT manifest FROM images WHERE id = ?",
						    err);

	if (!m)
		return -1;
	sqlite3_bind_text(m, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(m) == SQLITE_ROW && sqlite3_column_type(m, 0) != SQLITE_NULL)
		*manifest = db_col_str(m, 0);
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		_cleanup_stmt_ sqlite3_stmt *s = db_prepare(st, sql[i], err);

		if (!s)
			return -1;
		sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
		if (db_step_done(st, s, err) < 0)
			return -1;
	}
	return 0;
}

int image_delete_locked(struct hamn_image_store *st, const char *id, json_t *report,
			uint64_t *reclaimed, struct hamn_error **err)
{
	_cleanup_free_ char *manifest = NULL;
	_cleanup_free_ struct hamn_digest *chains = NULL;
	int64_t sz = blob_size(st, id);
	size_t n = 0;

	if (image_chain(st, id, &chains, &n, err) < 0 || db_begin(st, err) < 0)
		return -1;
	if (db_end(st, delete_rows(st, id, &manifest, err), err) < 0)
		return -1;
	if (report)
		json_array_append_new(report, json_pack("{ss}", "Deleted", id));
	blob_remove(st, id);
	if (manifest)
		blob_remove(st, manifest);
	if (reclaimed && sz > 0)
		*reclaimed += (uint64_t)sz;
	return layers_collect(st, chains, n, false, report, reclaimed, err);
}

/* ---- an image from blobs in the store ---- */

static int plan_from_blobs(struct hamn_image_store *st, const char *config_digest,
			   const char *manifest_digest, const char *ref, struct image_plan *p,
			   struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;

	if (p->parent && !hamn_digest_valid(p->parent))
		return hamn_error_setq(err, EINVAL, "invalid parent image ID '%s'", p->parent);

	if (hamn_digest_parse(config_digest, &p->config_digest, err) < 0 ||
	    blob_read(st, config_digest, HAMN_OCI_JSON_MAX, &p->config_text, &p->config_len,
		      err) < 0)
		return -1;
	p->config = hamn_oci_image_config_parse_text(p->config_text, p->config_len, err);
	if (!p->config)
		return -1;
	p->tags = xcalloc(1, sizeof(char *));
	if (manifest_digest) {
		if (!hamn_digest_valid(manifest_digest))
			return hamn_error_setq(err, EINVAL, "invalid manifest digest '%s'",
					       manifest_digest);
		p->manifest_digest = xstrdup(manifest_digest);
	}
	if (!ref)
		return 0;
	if (hamn_ref_parse(ref, &r, err) < 0)
		return -1;
	if (manifest_digest && !r.digest) {
		_cleanup_free_ char *name = hamn_ref_name(&r);

		strv_push_take(&p->tags, xasprintf("%s@%s", name, manifest_digest));
	}
	hamn_ref_default_tag(&r);
	strv_push_take(&p->tags, hamn_ref_string(&r));
	return 0;
}

int image_commit_unpin(struct hamn_image_store *st, const struct image_plan *p,
		       const struct hamn_digest *chains, size_t n_pinned, bool collect_on_failure,
		       struct hamn_error **err)
{
	struct hamn_error *gc_err = NULL;
	int rc = 0;

	store_lock(st);
	if (p)
		rc = image_commit(st, p, chains, err);
	for (size_t i = 0; i < n_pinned; i++)
		layer_unpin(st, &chains[i], true);
	if ((rc < 0 || !p) && collect_on_failure &&
	    layers_collect(st, chains, n_pinned, false, NULL, NULL, &gc_err) < 0)
		hamn_error_free(&gc_err);	/* the next open collects them */
	store_unlock(st);
	return rc;
}

/* Pin layer i of the image (parent chains[i - 1]), unpacking it from its blob if needed. */
static int create_layer(struct hamn_image_store *st, const struct image_plan *p, size_t i,
			const char *blob, const char *media_type, struct hamn_digest *chains,
			struct hamn_error **err)
{
	const struct hamn_digest *parent = i ? &chains[i - 1] : NULL;
	_cleanup_close_ int fd = -1;
	struct layer_source src = { .staged_dirfd = -1, .blob_in_store = true, .blob = blob,
				    .media_type = media_type };

	/* unpacked before, maybe from another blob of the same content: no blob needed */
	chain_id_next(parent, &p->config->diff_ids[i], &chains[i]);
	if (layer_use_existing(st, &chains[i]))
		return 0;
	fd = hamn_image_blob_open(st, blob, err);
	if (fd < 0)
		return -1;
	src.fd = fd;
	return layer_ensure(st, parent, &p->config->diff_ids[i], &src, &chains[i], err);
}

static int create_image(struct hamn_image_store *st, const char *config_digest,
			const char *const *layer_digests, const char *const *layer_media_types,
			size_t n_layers, const char *manifest_digest, const char *ref,
			const char *parent, char **id_out, struct hamn_error **err)
{
	struct image_plan p = { .parent = parent ? xstrdup(parent) : NULL };
	_cleanup_free_ struct hamn_digest *chains = xcalloc(n_layers + 1, sizeof(*chains));
	size_t pinned = 0;
	int rc;

	/* without the lock: blobs are immutable, and layers are made unlocked */
	rc = plan_from_blobs(st, config_digest, manifest_digest, ref, &p, err);
	if (rc == 0 && n_layers != p.config->n_diff_ids)
		rc = hamn_error_setq(err, EINVAL, "image %s: %zu layers given for %zu diff IDs",
				     config_digest, n_layers, p.config->n_diff_ids);
	for (size_t i = 0; rc == 0 && i < n_layers; i++) {
		rc = create_layer(st, &p, i, layer_digests[i],
				  layer_media_types ? layer_media_types[i] : NULL, chains, err);
		pinned += rc == 0;
	}
	/* layers made here stay on failure, as those of hamn_image_layer_put() do */
	if (image_commit_unpin(st, rc == 0 ? &p : NULL, chains, pinned, false, err) < 0)
		rc = -1;
	/* the image holds its layers now: the leases of the pull that made it end */
	if (rc == 0) {
		store_lock(st);
		for (size_t i = 0; i < n_layers; i++)
			layer_unlease(st, &chains[i]);
		store_unlock(st);
	}
	if (rc == 0 && id_out)
		*id_out = xstrdup(p.config_digest.str);
	image_plan_release(&p);
	return rc;
}

int hamn_image_create(struct hamn_image_store *st, const char *config_digest,
		      const char *const *layer_digests, const char *const *layer_media_types,
		      size_t n_layers, const char *manifest_digest, const char *ref, char **id_out,
		      struct hamn_error **err)
{
	return create_image(st, config_digest, layer_digests, layer_media_types, n_layers,
			    manifest_digest, ref, NULL, id_out, err);
}

int hamn_image_create_child(struct hamn_image_store *st, const char *config_digest,
			    const char *const *layer_digests, const char *const *layer_media_types,
			    size_t n_layers, const char *parent, char **id_out,
			    struct hamn_error **err)
{
	return create_image(st, config_digest, layer_digests, layer_media_types, n_layers, NULL,
			    NULL, parent, id_out, err);
}

/*
 * save.c - writing images as a `docker save` tar:
 *
 *   <chain-hex>/VERSION, <chain-hex>/json, <chain-hex>/layer.tar   per layer, once
 *   <config-hex>.json                                            per image
 *   manifest.json   [{"Config","RepoTags","Layers"}]
 *   repositories    {"busybox":{"latest":"<top layer dir>"}}
 *
 * layer.tar is the layer's uncompressed stream, decompressed from the blob
 * kept at load time, so its sha256 is exactly the diff ID and a reload
 * gives the same image ID. It is checked while it is copied.
 *
 * The client may read slowly or not at all, so the tar is written without
 * the store lock: everything needed from the database (and the configs'
 * bytes) is read in one locked step, which also pins the layers, so an
 * image deleted meanwhile keeps its layers and blobs until the save ends.
 */
#include "image/apply.h"

#include <fcntl.h>

#define SAVE_BUF (64 * 1024)

/* What is written of a layer, read from its row while planning. */
struct save_layer {
	struct hamn_digest chain;
	char *blob;
	char *diff_id;
	int64_t tar_size;
};

struct save_image {
	char *id;
	char **tags;		/* full refs to put in RepoTags */
	char *config;		/* the config blob's bytes */
	size_t config_len;
	struct save_layer *layers;	/* bottom first; pinned while the tar is written */
	size_t n_layers;
};

struct saver {
	struct hamn_image_store *st;
	struct archive *a;
	struct strset layers_done;
	json_t *manifest;
	json_t *repositories;
	time_t mtime;
	char *buf;
};

/* ---- which images, with which tags ---- */

static void plan_add(struct save_image **plan, size_t *n, const char *id, const char *tag)
{
	size_t i;

	for (i = 0; i < *n && !streq((*plan)[i].id, id); i++)
		;
	if (i == *n) {
		*plan = xreallocarray(*plan, *n + 1, sizeof(**plan));
		(*plan)[i] = (struct save_image){ .id = xstrdup(id),
						  .tags = xcalloc(1, sizeof(char *)) };
		(*n)++;
	}
	if (tag && !strv_contains((*plan)[i].tags, tag))
		strv_push(&(*plan)[i].tags, tag);
}

/* A bare repository name: every tag of it. Returns how many were added. */
static int plan_repo(struct hamn_image_store *st, const char *name, struct save_image **plan,
		     size_t *n, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "SELECT ref, image_id FROM image_tags WHERE substr(ref, 1, ?1) = ?2 "
		    "AND instr(substr(ref, ?1 + 1), '@') = 0 AND instr(substr(ref, ?1 + 1), '/') = 0 "
		    "ORDER BY ref", err);
	_cleanup_free_ char *prefix = xasprintf("%s:", name);
	int rc, count = 0;

	if (!s)
		return -1;
	sqlite3_bind_int(s, 1, (int)strlen(prefix));
	sqlite3_bind_text(s, 2, prefix, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		_cleanup_free_ char *ref = db_col_str(s, 0), *id = db_col_str(s, 1);

		plan_add(plan, n, id, ref);
		count++;
	}
	if (rc != SQLITE_DONE)
		return db_fail(st, "find tags", err);
	return count;
}

static int plan_ref(struct hamn_image_store *st, const char *ref, struct save_image **plan,
		    size_t *n, struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;
	_cleanup_free_ char *id = NULL, *matched = NULL;

	if (hamn_ref_parse(ref, &r, NULL) == 0 && !r.tag && !r.digest) {
		_cleanup_free_ char *name = hamn_ref_name(&r);
		int added = plan_repo(st, name, plan, n, err);

		if (added != 0)
			return added < 0 ? -1 : 0;
	}
	if (image_resolve_locked(st, ref, &id, &matched, err) < 0)
		return -1;
	plan_add(plan, n, id, matched && !strchr(matched, '@') ? matched : NULL);
	return 0;
}

static void plan_free(struct save_image *plan, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(plan[i].id);
		hamn_strv_free(plan[i].tags);
		free(plan[i].config);
		for (size_t k = 0; k < plan[i].n_layers; k++) {
			free(plan[i].layers[k].blob);
			free(plan[i].layers[k].diff_id);
		}
		free(plan[i].layers);
	}
	free(plan);
}

static int layer_row(struct hamn_image_store *st, struct save_layer *l, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(
		st, "SELECT blob, diff_id, tar_size FROM image_layers WHERE chain_id = ?", err);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, l->chain.str, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW)
		return hamn_error_setq(err, EIO, "save: layer %s is not recorded", l->chain.str);
	l->blob = db_col_str(s, 0);
	l->diff_id = db_col_str(s, 1);
	l->tar_size = sqlite3_column_int64(s, 2);
	return 0;
}

/* Lock held: the config bytes and layer rows of an image in the plan. */
static int plan_image(struct hamn_image_store *st, struct save_image *img,
		      struct hamn_error **err)
{
	_cleanup_free_ struct hamn_digest *chains = NULL;
	size_t n = 0;

	if (image_chain(st, img->id, &chains, &n, err) < 0 ||
	    blob_read(st, img->id, HAMN_OCI_JSON_MAX, &img->config, &img->config_len, err) < 0)
		return -1;
	img->layers = xcalloc(n + 1, sizeof(*img->layers));
	for (size_t i = 0; i < n; i++) {
		img->layers[i].chain = chains[i];
		img->n_layers = i + 1;
		if (layer_row(st, &img->layers[i], err) < 0)
			return -1;
	}
	return 0;
}

/* Lock held: resolve refs into a plan, read what it needs, pin its layers. */
static int plan_locked(struct hamn_image_store *st, const char *const *refs, size_t n_refs,
		       struct save_image **plan, size_t *n, struct hamn_error **err)
{
	for (size_t i = 0; i < n_refs; i++)
		if (plan_ref(st, refs[i], plan, n, err) < 0)
			return -1;
	if (*n == 0)
		return hamn_error_setq(err, EINVAL, "save: no images given");
	for (size_t i = 0; i < *n; i++)
		if (plan_image(st, &(*plan)[i], err) < 0)
			return -1;
	for (size_t i = 0; i < *n; i++)
		for (size_t k = 0; k < (*plan)[i].n_layers; k++)
			layer_pin(st, &(*plan)[i].layers[k].chain);
	return 0;
}

/* Unpin the plan's layers: what was deleted during the save goes now. */
static void plan_unpin(struct hamn_image_store *st, struct save_image *plan, size_t n)
{
	store_lock(st);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < plan[i].n_layers; k++)
			layer_unpin(st, &plan[i].layers[k].chain, true);
	store_unlock(st);
}

/* ---- writing ---- */

static int write_fail(struct saver *sv, const char *what, struct hamn_error **err)
{
	return hamn_error_setq(err, archive_errno(sv->a) ? archive_errno(sv->a) : EIO,
			       "save: write %s: %s", what,
			       archive_error_string(sv->a) ? archive_error_string(sv->a) : "failed");
}

static int write_header(struct saver *sv, const char *name, mode_t type, int64_t size,
			struct hamn_error **err)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_mtime(e, sv->mtime, 0);
	if (type == AE_IFREG)
		archive_entry_set_size(e, size);
	r = archive_write_header(sv->a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : write_fail(sv, name, err);
}

static int write_data(struct saver *sv, const char *name, const void *buf, size_t len,
		      struct hamn_error **err)
{
	if (len && archive_write_data(sv->a, buf, len) != (la_ssize_t)len)
		return write_fail(sv, name, err);
	return 0;
}

static int write_file(struct saver *sv, const char *name, const void *buf, size_t len,
		      struct hamn_error **err)
{
	if (write_header(sv, name, AE_IFREG, (int64_t)len, err) < 0)
		return -1;
	return write_data(sv, name, buf, len, err);
}

static int write_json(struct saver *sv, const char *name, json_t *v, struct hamn_error **err)
{
	_cleanup_free_ char *s = hamn_json_dump(v);

	return write_file(sv, name, s, strlen(s), err);
}

static int open_raw(int fd, struct archive **out, struct hamn_error **err)
{
	struct archive *r = archive_read_new();
	struct archive_entry *e;

	archive_read_support_filter_gzip(r);
	archive_read_support_filter_xz(r);
	archive_read_support_filter_zstd(r);
	archive_read_support_format_raw(r);
	if (archive_read_open_fd(r, fd, SAVE_BUF) != ARCHIVE_OK ||
	    archive_read_next_header(r, &e) != ARCHIVE_OK) {
		hamn_error_setq(err, EIO, "read layer blob: %s", archive_error_string(r));
		archive_read_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

/* Copy the uncompressed layer; it must be tar_size bytes hashing to diff_id. */
static int copy_layer(struct saver *sv, const char *name, int blob_fd, int64_t tar_size,
		      const char *diff_id, struct hamn_error **err)
{
	struct archive *r = NULL;
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();
	struct hamn_digest got;
	int64_t total = 0;
	la_ssize_t n;

	if (open_raw(blob_fd, &r, err) < 0 || write_header(sv, name, AE_IFREG, tar_size, err) < 0)
		goto fail;
	while ((n = archive_read_data(r, sv->buf, SAVE_BUF)) > 0) {
		if (total + n > tar_size) {
			hamn_error_setq(err, EIO, "save: layer %s is longer than recorded", diff_id);
			goto fail;
		}
		hamn_sha256_update(h, sv->buf, (size_t)n);
		total += n;
		if (write_data(sv, name, sv->buf, (size_t)n, err) < 0)
			goto fail;
	}
	hamn_sha256_final(h, &got);
	if (n < 0 || total != tar_size || !streq(got.str, diff_id)) {
		hamn_error_setq(err, EIO, "save: layer %s: stored blob is damaged", diff_id);
		goto fail;
	}
	archive_read_free(r);
	return 0;
fail:
	if (r)
		archive_read_free(r);
	return -1;
}

static int write_layer(struct saver *sv, const struct save_layer *l,
		       const struct hamn_digest *parent, struct hamn_error **err)
{
	const char *hex = hamn_digest_hex(&l->chain);
	_cleanup_free_ char *dir = xasprintf("%s/", hex);
	_cleanup_free_ char *ver = xasprintf("%s/VERSION", hex), *js = xasprintf("%s/json", hex);
	_cleanup_free_ char *tar = xasprintf("%s/layer.tar", hex);
	_cleanup_json_ json_t *meta = json_pack("{s:s}", "id", hex);
	_cleanup_close_ int fd = -1;

	if (strset_get(&sv->layers_done, hex, NULL))
		return 0;
	strset_put(&sv->layers_done, hex, 0);
	if (parent)
		json_object_set_new(meta, "parent", json_string(hamn_digest_hex(parent)));
	/* pinned: the blob stays even if its image is deleted meanwhile */
	fd = hamn_image_blob_open(sv->st, l->blob, err);
	if (fd < 0 || write_header(sv, dir, AE_IFDIR, 0, err) < 0 ||
	    write_file(sv, ver, "1.0", 3, err) < 0 || write_json(sv, js, meta, err) < 0)
		return -1;
	return copy_layer(sv, tar, fd, l->tar_size, l->diff_id, err);
}

static void add_repositories(struct saver *sv, char **tags, const char *top)
{
	for (size_t i = 0; tags[i]; i++) {
		_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;
		_cleanup_free_ char *name = NULL;
		json_t *repo;

		if (hamn_ref_parse(tags[i], &r, NULL) < 0 || !r.tag)
			continue;
		name = hamn_ref_familiar_name(&r);
		repo = json_object_get(sv->repositories, name);
		if (!repo) {
			repo = json_object();
			json_object_set_new(sv->repositories, name, repo);
		}
		json_object_set_new(repo, r.tag, json_string(top));
	}
}

static int write_image(struct saver *sv, const struct save_image *img, struct hamn_error **err)
{
	_cleanup_free_ char *cfg_name = xasprintf("%s.json", img->id + 7);
	_cleanup_json_ json_t *layers = json_array(), *tags = json_array();
	size_t n = img->n_layers;

	for (size_t i = 0; i < n; i++) {
		const struct save_layer *l = &img->layers[i];

		if (write_layer(sv, l, i ? &img->layers[i - 1].chain : NULL, err) < 0)
			return -1;
		json_array_append_new(layers, json_sprintf("%s/layer.tar",
							   hamn_digest_hex(&l->chain)));
	}
	if (write_file(sv, cfg_name, img->config, img->config_len, err) < 0)
		return -1;
	for (size_t i = 0; img->tags[i]; i++) {
		_cleanup_free_ char *f = hamn_ref_familiarize(img->tags[i]);

		json_array_append_new(tags, json_string(f));
	}
	if (n > 0)
		add_repositories(sv, img->tags, hamn_digest_hex(&img->layers[n - 1].chain));
	json_array_append_new(sv->manifest, json_pack("{s:s,s:O,s:O}", "Config", cfg_name,
						      "RepoTags", tags, "Layers", layers));
	return 0;
}

static int write_all(struct saver *sv, const struct save_image *plan, size_t n,
		     struct hamn_error **err)
{
	for (size_t i = 0; i < n; i++)
		if (write_image(sv, &plan[i], err) < 0)
			return -1;
	if (write_json(sv, "manifest.json", sv->manifest, err) < 0 ||
	    write_json(sv, "repositories", sv->repositories, err) < 0)
		return -1;
	if (archive_write_close(sv->a) != ARCHIVE_OK)
		return write_fail(sv, "end of archive", err);
	return 0;
}

/* Without the lock: the client may be slow to read. */
static int write_tar(struct hamn_image_store *st, const struct save_image *plan, size_t n,
		     int fd, struct hamn_error **err)
{
	struct saver sv = { .st = st };
	int rc = 0;

	sv.a = archive_write_new();
	sv.manifest = json_array();
	sv.repositories = json_object();
	sv.buf = xmalloc(SAVE_BUF);
	archive_write_set_format_pax_restricted(sv.a);
	if (archive_write_open_fd(sv.a, fd) != ARCHIVE_OK)
		rc = write_fail(&sv, "archive", err);
	if (rc == 0)
		rc = write_all(&sv, plan, n, err);
	archive_write_free(sv.a);
	json_decref(sv.manifest);
	json_decref(sv.repositories);
	strset_release(&sv.layers_done);
	free(sv.buf);
	return rc;
}

int hamn_image_save(struct hamn_image_store *st, const char *const *refs, size_t n_refs, int fd,
		    struct hamn_error **err)
{
	struct save_image *plan = NULL;
	size_t n = 0;
	int rc;

	store_lock(st);
	rc = plan_locked(st, refs, n_refs, &plan, &n, err);
	store_unlock(st);
	if (rc == 0) {
		rc = write_tar(st, plan, n, fd, err);
		plan_unpin(st, plan, n);
	}
	plan_free(plan, n);
	return rc;
}

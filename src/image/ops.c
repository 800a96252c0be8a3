/*
 * ops.c - tag, untag/delete (docker rmi), prune, and small lookups.
 *
 * Deletion follows dockerd's rules, with one difference that keeps
 * containers safe: an image a container uses is never deleted, even with
 * force (it only loses its tags), because its layers are that container's
 * lowerdirs. Parent images (parent.c): an image with children is never
 * deleted; deleting an image takes its untagged parents along unless
 * noprune.
 */
#include "image/internal.h"

#include <fnmatch.h>

int hamn_image_tag(struct hamn_image_store *st, const char *src, const char *new_ref,
		   struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;
	_cleanup_free_ char *id = NULL, *full = NULL;
	int rc;

	if (hamn_ref_parse(new_ref, &r, err) < 0)
		return -1;
	if (r.digest)
		return hamn_error_setq(err, EINVAL, "refusing to create a tag with a digest "
				       "reference: '%s'", new_ref);
	hamn_ref_default_tag(&r);
	full = hamn_ref_string(&r);
	store_lock(st);
	rc = image_resolve_locked(st, src, &id, NULL, err);
	if (rc == 0)
		rc = db_begin(st, err);
	if (rc == 0)
		rc = db_end(st, tag_set(st, full, id, err), err);
	store_unlock(st);
	return rc;
}

static int untag(struct hamn_image_store *st, const char *full, json_t *report,
		 struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(st, "DELETE FROM image_tags WHERE ref = ?", err);
	_cleanup_free_ char *familiar = hamn_ref_familiarize(full);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, full, -1, SQLITE_TRANSIENT);
	if (db_step_done(st, s, err) < 0)
		return -1;
	json_array_append_new(report, json_pack("{ss}", "Untagged", familiar));
	return 0;
}

/* The repository of a full ref ("docker.io/library/x"), new string. */
static char *repo_of(const char *full)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;

	if (hamn_ref_parse(full, &r, NULL) < 0)
		return xstrdup(full);
	return hamn_ref_name(&r);
}

static bool is_digest_ref(const char *full)
{
	return strchr(full, '@') != NULL;
}

static bool single_repo(char **tags)
{
	_cleanup_free_ char *first = tags[0] ? repo_of(tags[0]) : NULL;

	for (size_t i = 1; first && tags[i]; i++) {
		_cleanup_free_ char *r = repo_of(tags[i]);

		if (!streq(r, first))
			return false;
	}
	return true;
}

static int untag_all(struct hamn_image_store *st, char **tags, json_t *report,
		     struct hamn_error **err)
{
	for (size_t i = 0; tags[i]; i++)
		if (untag(st, tags[i], report, err) < 0)
			return -1;
	return 0;
}

/*
 * Untag `matched`; when it was a tag and its repository keeps no other tag
 * of this image, the repository's digest refs go too (as in docker).
 * Returns the number of refs the image still has.
 */
static int untag_named(struct hamn_image_store *st, const char *matched, char **tags,
		       json_t *report, struct hamn_error **err)
{
	_cleanup_free_ char *repo = repo_of(matched);
	bool other_tag = false;
	int left = 0;

	if (untag(st, matched, report, err) < 0)
		return -1;
	for (size_t i = 0; tags[i]; i++) {
		_cleanup_free_ char *r = repo_of(tags[i]);

		if (!streq(tags[i], matched) && !is_digest_ref(tags[i]) && streq(r, repo))
			other_tag = true;
	}
	for (size_t i = 0; tags[i]; i++) {
		_cleanup_free_ char *r = repo_of(tags[i]);

		if (streq(tags[i], matched))
			continue;
		if (!is_digest_ref(matched) && !other_tag && is_digest_ref(tags[i]) &&
		    streq(r, repo)) {
			if (untag(st, tags[i], report, err) < 0)
				return -1;
			continue;
		}
		left++;
	}
	return left;
}

static char *short_id(const char *id)
{
	return xstrndup(str_has_prefix(id, "sha256:") ? id + 7 : id, 12);
}

/* What a remove needs to know besides the image. */
struct remove_ctx {
	unsigned int flags;
	hamn_image_in_use_fn in_use;
	void *ud;
	json_t *report;
};

/* Delete id, then (unless noprune) its untagged parents as docker does. */
static int delete_with_parents(struct hamn_image_store *st, const char *id,
			       const struct remove_ctx *rc, struct hamn_error **err)
{
	_cleanup_free_ char *parent = image_parent_locked(st, id);

	if (image_delete_locked(st, id, rc->report, NULL, err) < 0)
		return -1;
	if (rc->flags & HAMN_IMAGE_REMOVE_NOPRUNE)
		return 0;
	return image_prune_parents(st, parent, rc->in_use, rc->ud, rc->report, NULL, err);
}

static int remove_named(struct hamn_image_store *st, const char *ref, const char *id,
			const char *matched, char **tags, bool used, const struct remove_ctx *rc,
			struct hamn_error **err)
{
	bool force = rc->flags & HAMN_IMAGE_REMOVE_FORCE;
	json_t *report = rc->report;
	int left;

	if (used && !force && single_repo(tags)) {
		_cleanup_free_ char *sid = short_id(id);

		return hamn_error_setq(err, EBUSY, "conflict: unable to remove repository "
				       "reference \"%s\" (must force) - a container is using its "
				       "referenced image %s", ref, sid);
	}
	left = untag_named(st, matched, tags, report, err);
	if (left != 0 || used)
		return left < 0 ? -1 : 0;	/* still tagged, or kept for its container */
	if (image_has_children(st, id))
		return 0;	/* now an intermediate image, as in docker */
	return delete_with_parents(st, id, rc, err);
}

static int remove_by_id(struct hamn_image_store *st, const char *id, char **tags, bool used,
			const struct remove_ctx *rc, struct hamn_error **err)
{
	_cleanup_free_ char *sid = short_id(id);
	bool force = rc->flags & HAMN_IMAGE_REMOVE_FORCE;
	json_t *report = rc->report;

	if (image_has_children(st, id))
		return hamn_error_setq(err, EBUSY, "conflict: unable to delete %s (cannot be "
				       "forced) - image has dependent child images", sid);
	if (used && !force)
		return hamn_error_setq(err, EBUSY, "conflict: unable to delete %s (must be forced) "
				       "- image is being used by a container", sid);
	if (!used && !force && !single_repo(tags))
		return hamn_error_setq(err, EBUSY, "conflict: unable to delete %s (must be forced) "
				       "- image is referenced in multiple repositories", sid);
	if (untag_all(st, tags, report, err) < 0)
		return -1;
	if (used)
		return 0;	/* forced: untagged, but its container still needs it */
	return delete_with_parents(st, id, rc, err);
}

static int remove_locked(struct hamn_image_store *st, const char *ref,
			 const struct remove_ctx *rc, struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL, *matched = NULL;
	_cleanup_strv_ char **tags = NULL;
	bool used;

	if (image_resolve_locked(st, ref, &id, &matched, err) < 0)
		return -1;
	tags = image_tags_locked(st, id, err);
	if (!tags)
		return -1;
	used = rc->in_use && rc->in_use(id, rc->ud);
	if (matched)
		return remove_named(st, ref, id, matched, tags, used, rc, err);
	return remove_by_id(st, id, tags, used, rc, err);
}

int hamn_image_remove(struct hamn_image_store *st, const char *ref, unsigned int flags,
		      hamn_image_in_use_fn in_use, void *ud, json_t **report_out,
		      struct hamn_error **err)
{
	json_t *report = json_array();
	struct remove_ctx ctx = { flags, in_use, ud, report };
	int rc;

	store_lock(st);
	rc = remove_locked(st, ref, &ctx, err);
	store_unlock(st);
	if (rc == 0 && report_out)
		*report_out = json_incref(report);
	json_decref(report);
	return rc;
}

/* ---- prune ---- */

static char **all_ids(struct hamn_image_store *st, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT id FROM images ORDER BY loaded DESC, id", err);
	char **v;
	int rc;

	if (!s)
		return NULL;
	v = xcalloc(1, sizeof(char *));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		strv_push_take(&v, db_col_str(s, 0));
	if (rc != SQLITE_DONE) {
		hamn_strv_free(v);
		db_fail(st, "list images", err);
		return NULL;
	}
	return v;
}

/*
 * Prune image id when it is a candidate: dangling (or, with all, any) and
 * unused. *pruned tells whether it went. An image with children is never
 * a candidate: it goes (if at all) after them, with them.
 */
static int prune_one(struct hamn_image_store *st, const char *id, bool all,
		     hamn_image_in_use_fn in_use, void *ud, json_t *report, uint64_t *reclaimed,
		     bool *pruned, struct hamn_error **err)
{
	_cleanup_strv_ char **tags = NULL;
	_cleanup_free_ char *parent = NULL;

	*pruned = false;
	if (!image_exists(st, id) || image_has_children(st, id))
		return 0;	/* gone with a child pruned before it, or needed by its children */
	tags = image_tags_locked(st, id, err);
	if (!tags)
		return -1;
	if ((!all && tags[0]) || (in_use && in_use(id, ud)))
		return 0;
	parent = image_parent_locked(st, id);
	if (untag_all(st, tags, report, err) < 0 ||
	    image_delete_locked(st, id, report, reclaimed, err) < 0)
		return -1;
	*pruned = true;
	return image_prune_parents(st, parent, in_use, ud, report, reclaimed, err);
}

static int prune_locked(struct hamn_image_store *st, bool all, hamn_image_in_use_fn in_use,
			void *ud, json_t *report, uint64_t *reclaimed, struct hamn_error **err)
{
	bool again = true;

	/* newest first, so children go before their parents; with all, repeat until stable */
	while (again) {
		_cleanup_strv_ char **ids = all_ids(st, err);

		if (!ids)
			return -1;
		again = false;
		for (size_t i = 0; ids[i]; i++) {
			bool pruned;

			if (prune_one(st, ids[i], all, in_use, ud, report, reclaimed, &pruned,
				      err) < 0)
				return -1;
			again |= all && pruned;
		}
	}
	/* and what interrupted pulls and loads left, once past its grace period */
	return layers_collect(st, NULL, 0, true, report, reclaimed, err);
}

int hamn_image_prune(struct hamn_image_store *st, bool all, hamn_image_in_use_fn in_use,
		     void *ud, json_t **deleted_out, uint64_t *reclaimed_out,
		     struct hamn_error **err)
{
	json_t *report = json_array();
	uint64_t reclaimed = 0;
	int rc;

	store_lock(st);
	rc = prune_locked(st, all, in_use, ud, report, &reclaimed, err);
	store_unlock(st);
	if (rc == 0 && deleted_out)
		*deleted_out = json_incref(report);
	if (rc == 0 && reclaimed_out)
		*reclaimed_out = reclaimed;
	json_decref(report);
	return rc;
}

/* ---- lookups ---- */

char **hamn_image_tags(struct hamn_image_store *st, const char *id, struct hamn_error **err)
{
	char **v;

	store_lock(st);
	v = image_tags_locked(st, id, err);
	store_unlock(st);
	return v;
}

struct hamn_oci_image_config *hamn_image_config(struct hamn_image_store *st, const char *ref,
						struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;
	struct hamn_oci_image_config *c = NULL;

	store_lock(st);
	if (image_resolve_locked(st, ref, &id, NULL, err) == 0)
		c = image_load_config(st, id, err);
	store_unlock(st);
	return c;
}

int hamn_image_size(struct hamn_image_store *st, const char *id, uint64_t *size_out,
		    struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc = -1;

	store_lock(st);
	s = db_prepare(st, "SELECT size FROM images WHERE id = ?", err);
	if (s) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(s) == SQLITE_ROW) {
			*size_out = (uint64_t)sqlite3_column_int64(s, 0);
			rc = 0;
		} else {
			rc = hamn_error_setq(err, ENOENT, "No such image: %s", id);
		}
	}
	store_unlock(st);
	return rc;
}

static char *lowerdir_of(struct hamn_image_store *st, const char *id, struct hamn_error **err)
{
	_cleanup_free_ struct hamn_digest *chains = NULL;
	struct hamn_buf b = HAMN_BUF_INIT;
	size_t n = 0;

	if (strpbrk(st->root_path, ":,\\"))
		return hamn_error_setq(err, EINVAL, "image store root '%s' has a character overlay "
				       "options cannot carry (':', ',' or '\\')", st->root_path),
		       NULL;
	if (image_chain(st, id, &chains, &n, err) < 0)
		return NULL;
	for (size_t i = n; i-- > 0;)
		hamn_buf_printf(&b, "%s%s/layers/%s/diff", i + 1 == n ? "" : ":", st->root_path,
				hamn_digest_hex(&chains[i]));
	if (b.len > HAMN_IMAGE_LOWERDIR_MAX) {
		hamn_error_setq(err, E2BIG, "image %s: %zu layers make a lowerdir of %zu bytes, "
				"more than an overlay mount takes (%d)", id, n, b.len,
				HAMN_IMAGE_LOWERDIR_MAX);
		hamn_buf_release(&b);
		return NULL;
	}
	return hamn_buf_steal(&b);
}

char *hamn_image_lowerdir(struct hamn_image_store *st, const char *ref, struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;
	char *s = NULL;

	store_lock(st);
	if (image_resolve_locked(st, ref, &id, NULL, err) == 0)
		s = lowerdir_of(st, id, err);
	store_unlock(st);
	return s;
}

bool image_ref_matches(const char *pattern, const char *full)
{
	_cleanup_ref_ struct hamn_ref r = HAMN_REF_INIT;
	_cleanup_free_ char *fam = NULL, *name = NULL;

	if (hamn_ref_parse(full, &r, NULL) < 0)
		return false;
	fam = hamn_ref_familiar(&r);
	name = hamn_ref_familiar_name(&r);
	return fnmatch(pattern, fam, FNM_PATHNAME) == 0 || fnmatch(pattern, name, FNM_PATHNAME) == 0;
}

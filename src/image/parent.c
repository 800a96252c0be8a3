/*
 * parent.c - the parent link between images: the image a `commit` or a
 * build step was made on top of.
 *
 * docker's rules, which these helpers serve: an untagged image that is the
 * parent of another is an intermediate image, not a dangling one. `images`
 * lists it only with all; `image prune` keeps it; `rmi` of it by ID is a
 * conflict that force does not lift ("image has dependent child images");
 * and deleting a child (rmi without noprune, prune) deletes its untagged
 * parents up the chain while no other image or container needs them.
 *
 * The link lives in the database only (images.parent), never in the image
 * config, so it does not change image IDs and is not saved or pushed.
 */
#include "image/internal.h"

/* A parent chain is never longer than this; a longer one means a cycle. */
#define PARENT_CHAIN_MAX 100000

char *image_parent_locked(struct hamn_image_store *st, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT parent FROM images WHERE id = ?", NULL);
	char *p;

	if (!s)
		return NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW)
		return NULL;
	p = db_col_str(s, 0);
	if (!*p) {
		free(p);
		return NULL;
	}
	return p;
}

bool image_has_children(struct hamn_image_store *st, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "SELECT 1 FROM images WHERE parent = ? LIMIT 1", NULL);

	if (!s)
		return true;	/* when in doubt, keep the image */
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	return sqlite3_step(s) == SQLITE_ROW;
}

/* Is id among parent and its ancestors? (Linking id under parent would close a cycle.) */
static bool is_ancestor_or_self(struct hamn_image_store *st, const char *id, const char *parent)
{
	_cleanup_free_ char *cur = xstrdup(parent);

	for (int i = 0; cur && i < PARENT_CHAIN_MAX; i++) {
		char *next;

		if (streq(cur, id))
			return true;
		next = image_parent_locked(st, cur);
		free(cur);
		cur = next;
	}
	return cur != NULL;
}

int image_set_parent_locked(struct hamn_image_store *st, const char *id, const char *parent,
			    struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	if (!image_exists(st, parent))
		return hamn_error_setq(err, ENOENT, "No such image: %s (the parent of %s)", parent,
				       id);
	/* identical configs give identical IDs: never let that make a loop */
	if (is_ancestor_or_self(st, id, parent))
		return 0;
	s = db_prepare(st, "UPDATE images SET parent = ? WHERE id = ?", err);
	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, parent, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	return db_step_done(st, s, err);
}

/* May parent go along with its (deleted) child? Untagged, childless and unused. */
static bool prunable(struct hamn_image_store *st, const char *id, hamn_image_in_use_fn in_use,
		     void *ud)
{
	_cleanup_error_ struct hamn_error *terr = NULL;
	_cleanup_strv_ char **tags = NULL;

	if (!image_exists(st, id) || image_has_children(st, id))
		return false;
	tags = image_tags_locked(st, id, &terr);
	if (!tags || tags[0])
		return false;
	return !(in_use && in_use(id, ud));
}

int image_prune_parents(struct hamn_image_store *st, const char *parent,
			hamn_image_in_use_fn in_use, void *ud, json_t *report, uint64_t *reclaimed,
			struct hamn_error **err)
{
	_cleanup_free_ char *cur = parent ? xstrdup(parent) : NULL;

	for (int i = 0; cur && i < PARENT_CHAIN_MAX && prunable(st, cur, in_use, ud); i++) {
		char *next = image_parent_locked(st, cur);

		if (image_delete_locked(st, cur, report, reclaimed, err) < 0) {
			free(next);
			return -1;
		}
		free(cur);
		cur = next;
	}
	return 0;
}

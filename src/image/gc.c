/*
 * gc.c - what is garbage in the store, and removing it.
 *
 * At open (store_collect_garbage), what a crash can leave behind:
 * - staging files and half-extracted layers (tmp/, layers/tmp-*): deleted,
 *   nothing refers to them;
 * - layer rows no image uses, recorded more than IMAGE_LAYER_GRACE_NS ago:
 *   deleted. Younger ones are complete and verified (a pull interrupted
 *   between layers); keeping them a while lets the next pull reuse them.
 *   They are never visible as images;
 * - layer directories and blobs no row refers to: deleted.
 * At run time (layers_collect), after images are deleted: the layers they
 * used that no image uses any more, and for prune every unused layer past
 * the grace period. Layers another operation is still putting together
 * are never touched, since they are not recorded yet; recorded layers an
 * operation relies on without holding the lock (a load or import between
 * its layers and its image row, a save streaming them) are pinned in
 * memory and skipped, then collected when their last pin goes; the layers
 * a pull found or put are leased until its image takes them (layer_lease).
 *
 * Database rows always go first (committed), files after: a crash in
 * between leaves only files, which the next open removes.
 */
#include "image/internal.h"

#include <dirent.h>
#include <fcntl.h>

static bool is_hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == HAMN_DIGEST_HEX_LEN;
}

/* Is "sha256:<name>" in a row that the query (one ?1 parameter) selects? */
static int referenced(struct hamn_image_store *st, const char *sql, const char *name, bool *out,
		      struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(st, sql, err);
	_cleanup_free_ char *d = xasprintf("sha256:%s", name);
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, d, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, "lookup", err);
	*out = rc == SQLITE_ROW;
	return 0;
}

/* Remove every entry of dirfd for which keep() says false. */
static int sweep(struct hamn_image_store *st, int dirfd, const char *what,
		 int (*keep)(struct hamn_image_store *, const char *, bool *, struct hamn_error **),
		 struct hamn_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		hamn_error_set(err, errno, "open '%s'", what);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		bool k = false;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (keep && keep(st, de->d_name, &k, err) < 0)
			return -1;
		if (k)
			continue;
		log_kv(HAMN_LOG_INFO, "image store: removing leftover", "dir=%s name=%s", what,
		       de->d_name);
		if (hamn_rm_rf(dirfd, de->d_name, err) < 0)
			return hamn_error_wrap(err, "clean up '%s'", what);
	}
	return 0;
}

static int keep_layer_dir(struct hamn_image_store *st, const char *name, bool *out,
			  struct hamn_error **err)
{
	*out = false;
	if (!is_hex64(name))
		return 0;
	return referenced(st, "SELECT 1 FROM image_layers WHERE chain_id = ?1", name, out, err);
}

static int keep_blob_file(struct hamn_image_store *st, const char *name, bool *out,
			  struct hamn_error **err)
{
	*out = false;
	if (!is_hex64(name))
		return 0;
	return referenced(st,
			  "SELECT 1 FROM images WHERE id = ?1 OR manifest = ?1 "
			  "UNION ALL SELECT 1 FROM image_layers WHERE blob = ?1 LIMIT 1",
			  name, out, err);
}

static int delete_stale_rows(struct hamn_image_store *st, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc;

	if (db_begin(st, err) < 0)
		return -1;
	s = db_prepare(st, "DELETE FROM image_layers WHERE created < ? AND chain_id NOT IN "
			   "(SELECT chain_id FROM image_stack)", err);
	rc = s ? 0 : -1;
	if (rc == 0) {
		sqlite3_bind_int64(s, 1, hamn_now_ns() - IMAGE_LAYER_GRACE_NS);
		rc = db_step_done(st, s, err);
	}
	if (rc == 0)
		rc = db_exec(st, "DELETE FROM image_tags WHERE image_id NOT IN (SELECT id FROM images)",
			     err);
	return db_end(st, rc, err);
}

int store_collect_garbage(struct hamn_image_store *st, struct hamn_error **err)
{
	if (sweep(st, st->tmp_fd, "tmp", NULL, err) < 0 || delete_stale_rows(st, err) < 0 ||
	    sweep(st, st->layers_fd, "layers", keep_layer_dir, err) < 0)
		return -1;
	return sweep(st, st->blobs_fd, "blobs/sha256", keep_blob_file, err);
}

/* ---- at run time ---- */

struct victims {
	char **chains;
	char **blobs;
	uint64_t bytes;
};

/* Add the rows the query (no or one chain parameter) selects: chain, blob, size. */
static int pick(struct hamn_image_store *st, sqlite3_stmt *s, struct victims *v,
		struct hamn_error **err)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		_cleanup_free_ char *chain = db_col_str(s, 0);

		if (strv_contains(v->chains, chain) || layer_pinned(st, chain, true))
			continue;
		strv_push(&v->chains, chain);
		strv_push_take(&v->blobs, db_col_str(s, 1));
		v->bytes += (uint64_t)sqlite3_column_int64(s, 2);
	}
	return rc == SQLITE_DONE ? 0 : db_fail(st, "find unused layers", err);
}

static int pick_unused(struct hamn_image_store *st, const struct hamn_digest *candidates,
		       size_t n, bool all_old, struct victims *v, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *one = db_prepare(
		st, "SELECT chain_id, blob, size FROM image_layers WHERE chain_id = ?1 AND "
		    "NOT EXISTS (SELECT 1 FROM image_stack WHERE chain_id = ?1)", err);
	_cleanup_stmt_ sqlite3_stmt *old = NULL;

	if (!one)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(one);
		sqlite3_bind_text(one, 1, candidates[i].str, -1, SQLITE_TRANSIENT);
		if (pick(st, one, v, err) < 0)
			return -1;
	}
	if (!all_old)
		return 0;
	old = db_prepare(st, "SELECT chain_id, blob, size FROM image_layers WHERE created < ? "
			     "AND chain_id NOT IN (SELECT chain_id FROM image_stack)", err);
	if (!old)
		return -1;
	sqlite3_bind_int64(old, 1, hamn_now_ns() - IMAGE_LAYER_GRACE_NS);
	return pick(st, old, v, err);
}

static int delete_rows(struct hamn_image_store *st, char **chains, struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s =
		db_prepare(st, "DELETE FROM image_layers WHERE chain_id = ?", err);

	if (!s)
		return -1;
	for (size_t i = 0; chains[i]; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, chains[i], -1, SQLITE_TRANSIENT);
		if (db_step_done(st, s, err) < 0)
			return -1;
	}
	return 0;
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

static void remove_files(struct hamn_image_store *st, struct victims *v, json_t *report)
{
	for (size_t i = 0; v->chains[i]; i++) {
		struct hamn_digest d;
		struct hamn_error *e = NULL;

		if (report)
			json_array_append_new(report, json_pack("{ss}", "Deleted", v->chains[i]));
		/* moved aside now, deleted once the lock is released */
		if (hamn_digest_parse(v->chains[i], &d, NULL) == 0 &&
		    store_trash(st, st->layers_fd, hamn_digest_hex(&d), &e) < 0) {
			/* the row is gone, so the next open removes the directory */
			log_kv(HAMN_LOG_WARN, "cannot remove layer", "layer=%s err=\"%s\"",
			       v->chains[i], e->msg);
			hamn_error_free(&e);
		}
		if (!blob_still_used(st, v->blobs[i])) {
			int64_t sz = blob_size(st, v->blobs[i]);

			v->bytes += sz > 0 ? (uint64_t)sz : 0;
			blob_remove(st, v->blobs[i]);
		}
	}
}

int layers_collect(struct hamn_image_store *st, const struct hamn_digest *candidates, size_t n,
		   bool all_old, json_t *report, uint64_t *reclaimed, struct hamn_error **err)
{
	struct victims v = { xcalloc(1, sizeof(char *)), xcalloc(1, sizeof(char *)), 0 };
	int rc = db_begin(st, err);

	if (rc == 0) {
		rc = pick_unused(st, candidates, n, all_old, &v, err);
		if (rc == 0)
			rc = delete_rows(st, v.chains, err);
		rc = db_end(st, rc, err);
	}
	if (rc == 0) {
		remove_files(st, &v, report);
		if (reclaimed)
			*reclaimed += v.bytes;
	}
	hamn_strv_free(v.chains);
	hamn_strv_free(v.blobs);
	return rc;
}

/* ---- pins and leases ---- */

/* The holds on chain, or NULL; a lapsed lease is let go here. */
static struct layer_pin *pin_find(struct hamn_image_store *st, const char *chain)
{
	for (size_t i = 0; i < st->n_pins; i++) {
		struct layer_pin *p = &st->pins[i];

		if (!streq(p->chain.str, chain))
			continue;
		if (p->leased && hamn_monotonic_ns() >= p->lease_until)
			p->leased = false;
		if (p->count || p->leased)
			return p;
		/* a doomed layer whose pull never came back waits for prune or the next open */
		*p = st->pins[--st->n_pins];
		return NULL;
	}
	return NULL;
}

static struct layer_pin *pin_get(struct hamn_image_store *st, const struct hamn_digest *chain)
{
	struct layer_pin *p = pin_find(st, chain->str);

	if (!p) {
		st->pins = xreallocarray(st->pins, st->n_pins + 1, sizeof(*st->pins));
		p = &st->pins[st->n_pins++];
		*p = (struct layer_pin){ .chain = *chain };
	}
	return p;
}

/* The last hold on p went: forget it and, when collect, finish a deletion it held up. */
static void pin_release(struct hamn_image_store *st, struct layer_pin *p, bool collect)
{
	struct hamn_digest chain = p->chain;
	struct hamn_error *e = NULL;
	bool doomed = p->doomed;

	*p = st->pins[--st->n_pins];
	if (!doomed || !collect)
		return;
	if (layers_collect(st, &chain, 1, false, NULL, NULL, &e) < 0) {
		/* the next open or prune collects it */
		log_kv(HAMN_LOG_WARN, "cannot remove unused layer", "layer=%s err=\"%s\"",
		       chain.str, e->msg);
		hamn_error_free(&e);
	}
}

void layer_pin(struct hamn_image_store *st, const struct hamn_digest *chain)
{
	pin_get(st, chain)->count++;
}

void layer_unpin(struct hamn_image_store *st, const struct hamn_digest *chain, bool collect)
{
	struct layer_pin *p = pin_find(st, chain->str);

	if (!p || !p->count)
		hamn_bug("layer %s is not pinned", chain->str);
	if (--p->count > 0 || p->leased)
		return;
	pin_release(st, p, collect);
}

void layer_lease(struct hamn_image_store *st, const struct hamn_digest *chain)
{
	struct layer_pin *p = pin_get(st, chain);

	p->leased = true;
	p->lease_until = hamn_monotonic_ns() + IMAGE_LAYER_LEASE_NS;
}

void layer_unlease(struct hamn_image_store *st, const struct hamn_digest *chain)
{
	struct layer_pin *p = pin_find(st, chain->str);

	if (!p || !p->leased)
		return;
	p->leased = false;
	if (!p->count)
		pin_release(st, p, true);
}

bool layer_pinned(struct hamn_image_store *st, const char *chain, bool doom)
{
	struct layer_pin *p = pin_find(st, chain);

	if (p && doom)
		p->doomed = true;
	return p != NULL;
}

/*
 * internal.h - shared by the .c files of src/image only; never included from outside.
 */
#ifndef HAMN_IMAGE_INTERNAL_H
#define HAMN_IMAGE_INTERNAL_H

#include <pthread.h>

#include "image/image.h"

#define IMAGE_SCHEMA_VERSION 2
/* How long a complete layer no image uses is kept (a pull may come back for it). */
#define IMAGE_LAYER_GRACE_NS (24 * 3600 * 1000000000LL)

/* How long a layer a pull found or put is kept for the image it makes (see layer_lease). */
#define IMAGE_LAYER_LEASE_NS IMAGE_LAYER_GRACE_NS

/* A layer an unfinished operation relies on (see layer_pin and layer_lease). */
struct layer_pin {
	struct hamn_digest chain;
	unsigned int count;	/* pins */
	bool leased;		/* a pull between this layer and its image */
	int64_t lease_until;	/* monotonic: the lease lapses then */
	bool doomed;		/* a deletion skipped it: collect it when the last hold goes */
};

/*
 * The lock protects the database connection, the pins and the trash, and
 * is held only for database work and renames: nothing that waits for a
 * caller's fd (import, load, save) or extracts a layer runs under it.
 */
struct hamn_image_store {
	int rootfd;		/* --root */
	char *root_path;	/* its absolute path, for lowerdir strings */
	int blobs_fd;		/* blobs/sha256 */
	int layers_fd;		/* layers */
	int tmp_fd;		/* tmp */
	sqlite3 *db;		/* borrowed */
	pthread_mutex_t lock;
	struct layer_pin *pins;
	size_t n_pins;
	char **trash;		/* names in tmp/ to delete once the lock is released */
};

/* store.c: locking and a random name for staging entries */
void store_lock(struct hamn_image_store *st);
/* Unlock, then delete what store_trash() moved aside meanwhile. */
void store_unlock(struct hamn_image_store *st);
char *store_tmp_name(const char *prefix);
/*
 * Lock held: move dirfd/name (a directory or file) into tmp/, where
 * store_unlock() deletes it without the lock (and the next open after a
 * crash). Deletes it in place when it cannot be moved. Absent is fine.
 */
int store_trash(struct hamn_image_store *st, int dirfd, const char *name,
		struct hamn_error **err);

/* db.c: thin SQLite helpers; errors are EIO with sqlite's message */
int db_exec(struct hamn_image_store *st, const char *sql, struct hamn_error **err);
sqlite3_stmt *db_prepare(struct hamn_image_store *st, const char *sql, struct hamn_error **err);
int db_fail(struct hamn_image_store *st, const char *what, struct hamn_error **err);
/* Step a statement that returns no rows (SQLITE_DONE expected). */
int db_step_done(struct hamn_image_store *st, sqlite3_stmt *s, struct hamn_error **err);
int db_begin(struct hamn_image_store *st, struct hamn_error **err);
int db_commit(struct hamn_image_store *st, struct hamn_error **err);
void db_rollback(struct hamn_image_store *st);
/* End what db_begin opened: commit when rc is 0, else roll back. Returns rc, or -1 if the commit fails. */
int db_end(struct hamn_image_store *st, int rc, struct hamn_error **err);
int db_migrate(struct hamn_image_store *st, struct hamn_error **err);
/* A copy of column i as a heap string ("" for NULL). */
char *db_col_str(sqlite3_stmt *s, int i);

static inline void cleanup_stmtp(sqlite3_stmt **s)
{
	if (*s)
		sqlite3_finalize(*s);
}
#define _cleanup_stmt_ __attribute__((cleanup(cleanup_stmtp)))

/* blob.c */
struct blob_writer;
struct blob_writer *blob_writer_new(struct hamn_image_store *st, struct hamn_error **err);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct hamn_error **err);
/* The slow half of a commit, without the lock: verify against expected (may be NULL), fsync. */
int blob_writer_finish(struct blob_writer *w, const char *expected, struct hamn_digest *out,
		       uint64_t *size_out, struct hamn_error **err);
/* After blob_writer_finish: rename into blobs/ (the lock held when a row will name it). */
int blob_writer_publish(struct blob_writer *w, struct hamn_error **err);
/* Both of the above. */
int blob_writer_commit(struct blob_writer *w, const char *expected, struct hamn_digest *out,
		       uint64_t *size_out, struct hamn_error **err);
void blob_writer_free(struct blob_writer *w);
HAMN_DEFINE_CLEANUP(blob_writer, blob_writer_free)
#define _cleanup_blob_writer_ _cleanup_(cleanup_blob_writerp)

/* fsync dirfd/name, a staged file about to become a blob (no lock needed). */
int blob_sync_file(int dirfd, const char *name, struct hamn_error **err);
/*
 * Move dirfd/name (already hashed to d and fsync'ed) into blobs/, or drop it
 * when the blob exists.
 */
int blob_adopt(struct hamn_image_store *st, int dirfd, const char *name,
	       const struct hamn_digest *d, struct hamn_error **err);
int blob_put_buf(struct hamn_image_store *st, const void *buf, size_t len,
		 struct hamn_digest *out, struct hamn_error **err);
bool blob_exists(struct hamn_image_store *st, const char *digest);
int blob_read(struct hamn_image_store *st, const char *digest, size_t max, char **out,
	      size_t *len_out, struct hamn_error **err);
void blob_remove(struct hamn_image_store *st, const char *digest);
/* Size of a blob in bytes, or -1 when absent. */
int64_t blob_size(struct hamn_image_store *st, const char *digest);

/* apply.c: hamn_layer_apply with a tee of the raw input into a blob writer */
int layer_apply_tee(int rootfd, int src_fd, unsigned int flags, const char *label,
		    struct blob_writer *tee, struct hamn_layer_stats *stats,
		    struct hamn_error **err);

/* layer.c */
void chain_id_next(const struct hamn_digest *parent, const struct hamn_digest *diff_id,
		   struct hamn_digest *out);
/* Lock held. */
bool layer_exists(struct hamn_image_store *st, const struct hamn_digest *chain);
/* Takes the lock: when the layer is recorded, pin it and return true. */
bool layer_use_existing(struct hamn_image_store *st, const struct hamn_digest *chain);

/*
 * Where a layer's bytes come from. Without staged_dirfd and blob_in_store
 * the bytes are copied into a new blob as they are read (a tee).
 */
struct layer_source {
	int fd;				/* the (compressed) layer stream, read once */
	int staged_dirfd;		/* >= 0: fd's file is staged_dirfd/staged_name: */
	const char *staged_name;	/* adopt it as the blob */
	bool blob_in_store;		/* fd is the blob itself, already under blobs/ */
	const char *blob;		/* the digest the bytes must hash to, or NULL */
	const char *media_type;		/* NULL: guessed */
};

/*
 * Make sure the layer (parent, expected diff_id) exists, and pin it (the
 * caller unpins it under the lock, normally right after recording the
 * image): reuse it, or extract src into layers/tmp-*, verify the diff ID,
 * sync, then under the lock store the blob, rename into place and record
 * it. Called WITHOUT the lock: the lock is taken only to check and to
 * publish. expected may be NULL (import): then the chain comes from what
 * was extracted. *chain_out gets the chain ID.
 */
int layer_ensure(struct hamn_image_store *st, const struct hamn_digest *parent,
		 const struct hamn_digest *expected, const struct layer_source *src,
		 struct hamn_digest *chain_out, struct hamn_error **err);
/* Chain IDs of an image (bottom first); *n_out gets the count. */
int image_chain(struct hamn_image_store *st, const char *id, struct hamn_digest **chains_out,
		size_t *n_out, struct hamn_error **err);
/* gc.c: at open, remove what a crash left behind (see gc.c). */
int store_collect_garbage(struct hamn_image_store *st, struct hamn_error **err);
/*
 * Delete the layers among candidates[0..n) that no image uses any more and,
 * with all_old, every unused layer older than IMAGE_LAYER_GRACE_NS: their
 * rows (committed first), then their directories and unused blobs. report
 * (may be NULL) gets {"Deleted":chain} per layer; the bytes freed are added
 * to *reclaimed (may be NULL).
 */
int layers_collect(struct hamn_image_store *st, const struct hamn_digest *candidates, size_t n,
		   bool all_old, json_t *report, uint64_t *reclaimed, struct hamn_error **err);
/*
 * Pins (lock held for all three): a pinned layer is never collected, so an
 * operation that works without the lock (a load between its layers and its
 * image row, a save streaming blobs) keeps what it relies on. A deletion
 * that skips a pinned layer marks it; layer_unpin(collect) then collects
 * it when its last pin goes.
 */
void layer_pin(struct hamn_image_store *st, const struct hamn_digest *chain);
void layer_unpin(struct hamn_image_store *st, const struct hamn_digest *chain, bool collect);
/* Is chain pinned or leased? With doom, mark it for collection when the last hold goes. */
bool layer_pinned(struct hamn_image_store *st, const char *chain, bool doom);
/*
 * Leases (lock held for both). A pull finds a layer (hamn_image_layer_exists)
 * or puts one (hamn_image_layer_put) and makes its image from it later
 * (hamn_image_create), with nothing in between to hold on to. A lease keeps
 * the layer from being collected in that gap: it is taken in the locked step
 * that finds or records the layer, and it ends when an image takes the layer
 * (which keeps it from then on) or after IMAGE_LAYER_LEASE_NS (a pull that
 * never came back: the layer is then unused, as the grace period expects).
 * A layer has one lease however many pulls took it: the first image that
 * takes it ends it, and that image keeps the layer for the others.
 */
void layer_lease(struct hamn_image_store *st, const struct hamn_digest *chain);
void layer_unlease(struct hamn_image_store *st, const struct hamn_digest *chain);

/* commit.c */
struct image_plan {
	char *config_text;		/* the config blob's bytes */
	size_t config_len;
	struct hamn_digest config_digest;
	struct hamn_oci_image_config *config;
	char **tags;			/* full normalised refs */
	char *manifest_digest;		/* NULL when none */
	char *parent;			/* the image it was made on top of, or NULL */
};
void image_plan_release(struct image_plan *p);
/* Lock held: record the image (config blob written here) on top of chains[]; tags it. */
int image_commit(struct hamn_image_store *st, const struct image_plan *p,
		 const struct hamn_digest *chains, struct hamn_error **err);
/*
 * Takes the lock: when p is not NULL, image_commit(); then unpin
 * chains[0..n_pinned) (pinned by layer_ensure), collecting them (see
 * layers_collect's candidates) when the commit failed or p is NULL and
 * collect_on_failure is set.
 */
int image_commit_unpin(struct hamn_image_store *st, const struct image_plan *p,
		       const struct hamn_digest *chains, size_t n_pinned, bool collect_on_failure,
		       struct hamn_error **err);
/* Point full ref at id (replacing where it pointed before). */
int tag_set(struct hamn_image_store *st, const char *full_ref, const char *id,
	    struct hamn_error **err);
/* Read and parse an image's config blob. */
struct hamn_oci_image_config *image_load_config(struct hamn_image_store *st, const char *id,
						struct hamn_error **err);
bool image_exists(struct hamn_image_store *st, const char *id);
/*
 * hamn_image_resolve() without taking the lock. *tag_out (may be NULL) gets
 * the full tag or digest ref that matched, or NULL when ref named an ID.
 */
int image_resolve_locked(struct hamn_image_store *st, const char *ref, char **id_out,
			 char **tag_out, struct hamn_error **err);
/* Tags and digest refs of id (full strings), sorted. New vector. */
char **image_tags_locked(struct hamn_image_store *st, const char *id, struct hamn_error **err);
/* Delete image id's rows and what it alone used; report gets {"Deleted":...}. */
int image_delete_locked(struct hamn_image_store *st, const char *id, json_t *report,
			uint64_t *reclaimed, struct hamn_error **err);

/* parent.c (lock held for all): the parent link (see parent.c) */
/* The parent of id (new string), or NULL when it has none. */
char *image_parent_locked(struct hamn_image_store *st, const char *id);
/* Is id the parent of another image? (true on database errors: keep it) */
bool image_has_children(struct hamn_image_store *st, const char *id);
/* Record parent as id's parent (ENOENT when parent is gone; a link closing a loop is skipped). */
int image_set_parent_locked(struct hamn_image_store *st, const char *id, const char *parent,
			    struct hamn_error **err);
/*
 * After a child of parent (may be NULL) was deleted: delete parent and its
 * ancestors in turn while each is untagged, has no other child and in_use
 * (may be NULL) does not claim it. report and reclaimed as for
 * image_delete_locked.
 */
int image_prune_parents(struct hamn_image_store *st, const char *parent,
			hamn_image_in_use_fn in_use, void *ud, json_t *report, uint64_t *reclaimed,
			struct hamn_error **err);

/* ops.c: does a reference filter glob match this full ref (familiar "name:tag" or "name")? */
bool image_ref_matches(const char *pattern, const char *full);

#endif

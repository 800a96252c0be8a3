/*
 * image.h - the local image store: content-addressed blobs, unpacked
 * layers for overlayfs, images and tags, and the archive formats (docker
 * save / load, OCI image layout, rootfs import).
 *
 * On disk, under the daemon's --root (see docs/image-store.md):
 *   hamn.db                   the SQLite database (shared with the engine; this
 *                             module owns the image_* tables and `images`)
 *   blobs/sha256/<hex>        verified blobs: configs, layer blobs as received
 *   layers/<chainid-hex>/diff unpacked layers (overlay lowerdirs)
 *   tmp/                      staging; emptied when the store is opened
 *
 * Crash safety: a blob appears under blobs/ only after its digest was
 * checked; a layer directory gets its final name only when completely
 * extracted and synced, and is recorded in the database after that; an
 * image row and its tags are written in one transaction after all its
 * layers. hamn_image_store_open() deletes whatever a crash left behind, so
 * a half-loaded image is never listed (see docs/image-store.md).
 *
 * Threads: one store may be used from several threads at once. Its mutex
 * is held only for short steps (database reads and writes, renames), never
 * while a call reads from or writes to the caller's fd (load, import,
 * save, layer put) or extracts a layer: a stalled client blocks only its
 * own call. Layers an unfinished call relies on are pinned in memory, so
 * concurrent deletes wait for it to finish before removing them. It uses
 * the caller's sqlite3 connection only under that mutex and wraps its
 * writes in SAVEPOINTs, so they nest inside a transaction the caller has
 * open. Open one store per root per process (opening collects garbage).
 *
 * Image IDs are "sha256:<hex>" (the digest of the config blob). Where a
 * function takes `ref`, it accepts what docker accepts: "name[:tag]",
 * "name@sha256:...", a full ID with or without "sha256:", or a unique ID
 * prefix. Unknown images are ENOENT "No such image: X".
 */
#ifndef HAMN_IMAGE_IMAGE_H
#define HAMN_IMAGE_IMAGE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "oci/image.h"
#include "oci/reference.h"

struct hamn_image_store;

/*
 * Open the store rooted at root_dirfd (dup'ed; the caller keeps its fd)
 * using the caller's database connection db (borrowed; it must outlive the
 * store). Creates blobs/, layers/ and tmp/ (mode 0700) if needed, creates
 * or migrates this module's tables, then collects garbage: everything in
 * tmp/, layer rows no image has used for a day (complete layers of an
 * interrupted pull are kept that long), layer directories and blobs the
 * database does not reference. Errors: the mkdir/open errors, ENOTSUP when
 * the database was written by a newer hamn, EIO for SQLite errors.
 */
struct hamn_image_store *hamn_image_store_open(int root_dirfd, sqlite3 *db,
					       struct hamn_error **err);
/* Free the store (safe on NULL). The database stays open. */
void hamn_image_store_free(struct hamn_image_store *st);
HAMN_DEFINE_CLEANUP(hamn_image_store, hamn_image_store_free)
#define _cleanup_image_store_ _cleanup_(cleanup_hamn_image_storep)

/* ---- layer extraction (also usable on its own, e.g. to unpack a rootfs) ---- */

enum hamn_layer_apply_flags {
	HAMN_LAYER_PRIVILEGED = 1 << 0,	/* create char/block devices (else dropped) */
	HAMN_LAYER_FLATTEN = 1 << 1,	/* apply whiteouts as deletions (a rootfs), */
					/* not as overlay whiteouts (a layer) */
};

struct hamn_layer_stats {
	struct hamn_digest diff_id;	/* sha256 of the uncompressed tar stream */
	uint64_t tar_size;		/* bytes in the uncompressed stream */
	uint64_t unpacked_size;		/* bytes of file contents and symlink targets */
	struct hamn_digest input_digest;	/* sha256 of the bytes read from src_fd */
	uint64_t input_size;
	const char *compression;	/* "gzip", "zstd", "xz", or NULL (plain tar); static */
};

/*
 * Extract the tar stream on src_fd (gzip, zstd, xz or uncompressed, found
 * out from the data) into the directory rootfd, reading it once. Every
 * entry is created relative to rootfd with hamn_open_in_root and friends:
 * - names with ".." or absolute names refuse the whole layer (EINVAL
 *   "<label>: entry '../x' escapes the root");
 * - symlinks are created as they are; a later entry whose parent path runs
 *   through a symlink is resolved inside rootfd (contained, never outside;
 *   when the in-root target does not exist the layer is refused);
 * - a hardlink target must resolve inside rootfd ("/x" means rootfd/x)
 *   and exist there, else EINVAL;
 * - an entry replaces what was at its path (a directory merges into a
 *   directory); nothing is ever chmod'ed or chown'ed through a symlink;
 * - char/block devices are skipped unless HAMN_LAYER_PRIVILEGED; fifos kept;
 * - ownership (numeric) is applied when running as root; setuid/setgid
 *   kept; xattrs: user.*, trusted.overlay.* and security.capability only;
 * - directory modes and times are applied last, deepest first;
 * - whiteouts ".wh.X" and ".wh..wh..opq" become overlay whiteouts (a 0:0
 *   char device X; trusted.overlay.opaque=y) or, with HAMN_LAYER_FLATTEN,
 *   deletions.
 * label names the layer in messages ("layer sha256:..."). On error the
 * contents of rootfd are undefined (the caller removes the directory).
 * stats may be NULL. Thread-safe (no shared state).
 */
int hamn_layer_apply(int rootfd, int src_fd, unsigned int flags, const char *label,
		     struct hamn_layer_stats *stats, struct hamn_error **err);

/* ---- blobs and images from blobs (what a registry pull needs) ---- */

/*
 * Copy the stream on fd into a blob, verifying it against expected
 * ("sha256:..."; NULL: accept whatever it hashes to). The digest goes to
 * *out (may be NULL). EINVAL on a digest mismatch (nothing is kept).
 */
int hamn_image_blob_put(struct hamn_image_store *st, int fd, const char *expected,
			struct hamn_digest *out, struct hamn_error **err);
/* Open a blob for reading (O_RDONLY|O_CLOEXEC); ENOENT when absent. */
int hamn_image_blob_open(struct hamn_image_store *st, const char *digest,
			 struct hamn_error **err);

/*
 * Make an image from blobs already in the store: the config blob
 * config_digest and one layer blob per rootfs.diff_ids entry (bottom
 * first, compressed or not; layer_media_types may be NULL). Layers already
 * unpacked are reused. Each layer's uncompressed digest must equal the
 * config's diff_id (EINVAL otherwise). ref (may be NULL) is tagged onto
 * the image; manifest_digest (may be NULL) is kept as the image's manifest
 * and, with ref, gives a RepoDigest "name@digest". *id_out (may be NULL)
 * gets a new "sha256:..." string. Once the image is recorded, the leases
 * of its layers (hamn_image_layer_put) end.
 */
int hamn_image_create(struct hamn_image_store *st, const char *config_digest,
		      const char *const *layer_digests, const char *const *layer_media_types,
		      size_t n_layers, const char *manifest_digest, const char *ref, char **id_out,
		      struct hamn_error **err);

/*
 * hamn_image_create() (untagged, no manifest) for an image made on top of
 * the image parent (a full "sha256:..." ID, or NULL), as commit and each
 * build step make one: the parent link is recorded in the same step as the
 * image (also when the image was there already). While an untagged image
 * is the parent of another it is an intermediate image, not a dangling one
 * (see hamn_image_list_json, hamn_image_remove, hamn_image_prune). ENOENT
 * when parent is not in the store.
 */
int hamn_image_create_child(struct hamn_image_store *st, const char *config_digest,
			    const char *const *layer_digests, const char *const *layer_media_types,
			    size_t n_layers, const char *parent, char **id_out,
			    struct hamn_error **err);

/*
 * Extract one layer from the stream on fd while keeping its bytes as its
 * blob, in one pass (what a pull does per layer as it downloads).
 * parent_chain: the chain ID of the layer below, NULL for the bottom one;
 * diff_id: the config's rootfs.diff_ids entry; blob_digest: the manifest
 * descriptor's digest (the bytes read must hash to it); media_type may be
 * NULL. EINVAL naming the mismatch when the blob or the diff ID does not
 * match (nothing is kept). Reads fd to its end. When the layer is already
 * there, returns 0 without reading fd. *chain_out (may be NULL) gets the
 * chain ID. Thread-safe, and meant to run concurrently for the layers of
 * one image: the store lock is only taken to check and to publish. The
 * layer, new or found, is leased in the step that records or finds it: no
 * image removal can delete it until hamn_image_create() takes it into an
 * image (which ends the lease) or a day has passed. An unused layer
 * survives store opens for a day too, so an interrupted pull can reuse it;
 * hamn_image_create() then finds it.
 */
int hamn_image_layer_put(struct hamn_image_store *st, int fd, const char *parent_chain,
			 const char *diff_id, const char *blob_digest, const char *media_type,
			 struct hamn_digest *chain_out, struct hamn_error **err);
/*
 * Is the layer with this chain ID unpacked and recorded? A layer found is
 * leased as hamn_image_layer_put() leases it: a pull that skips it can
 * rely on it until its hamn_image_create(). Thread-safe.
 */
bool hamn_image_layer_exists(struct hamn_image_store *st, const char *chain_id);

struct hamn_image_layer_info {
	struct hamn_digest chain_id;
	struct hamn_digest diff_id;
	struct hamn_digest blob;	/* the layer blob as stored (what a push sends) */
	int64_t blob_size;
	char *media_type;		/* as recorded for the blob */
	int64_t size;			/* unpacked bytes (regular files): what Size adds up */
	int64_t n_images;		/* images using the layer; > 1: it is shared */
};

/*
 * What a push needs of image ref: the config digest (*config_out, new
 * string), the stored manifest digest (*manifest_out, may be NULL; new
 * string or NULL) and the layers bottom first (*layers_out, *n_out; free
 * with hamn_image_layer_info_free).
 */
int hamn_image_push_info(struct hamn_image_store *st, const char *ref, char **config_out,
			 char **manifest_out, struct hamn_image_layer_info **layers_out,
			 size_t *n_out, struct hamn_error **err);
void hamn_image_layer_info_free(struct hamn_image_layer_info *l, size_t n);

/*
 * The layers of image ref, bottom first, with their sizes and how many
 * images use each (*layers_out, *n_out; free with
 * hamn_image_layer_info_free). ENOENT "No such image: X".
 */
int hamn_image_layers(struct hamn_image_store *st, const char *ref,
		      struct hamn_image_layer_info **layers_out, size_t *n_out,
		      struct hamn_error **err);

/*
 * Record that image ref was pushed (or pulled) as manifest_digest: adds the
 * RepoDigest "name@digest" for ref's repository and keeps the digest as the
 * image's manifest when it has none. EINVAL for a bad digest.
 */
int hamn_image_set_manifest(struct hamn_image_store *st, const char *ref,
			    const char *manifest_digest, struct hamn_error **err);

/* ---- archives ---- */

/* Called with each line to report: "Loaded image: busybox:latest", "Loaded image ID: sha256:..". */
typedef void (*hamn_image_report_fn)(const char *line, void *ud);

/*
 * Load a `docker save` tar or an OCI image layout tar (optionally gzip'd,
 * zstd'd or xz'd as a whole) streaming from fd; fd is read to its end of
 * file or to the first error, never seeked. Every image in it is checked
 * (manifest, configs, digests) before any is stored. manifest.json,
 * index.json and configs larger than HAMN_OCI_JSON_MAX are refused (EFBIG)
 * without being read. Tags in the archive replace existing ones. report
 * (may be NULL) gets a line per loaded tag, or per untagged image. EINVAL
 * for malformed archives (the message says what); nothing is listed then.
 */
int hamn_image_load(struct hamn_image_store *st, int fd, hamn_image_report_fn report, void *ud,
		    struct hamn_error **err);

/*
 * Write a `docker save` tar of the images named by refs (n_refs >= 1) to
 * fd: manifest.json, repositories, <config-hex>.json and
 * <layer>/{VERSION,json,layer.tar}, each layer stored once. A tagged ref
 * saves that tag; a bare name saves every tag of that repository; an ID
 * saves the image without tags. The images are taken as they are when the
 * call starts: one deleted while the tar is written is still written whole
 * (its layers go when the call ends). ENOENT when a ref is unknown (nothing
 * written then); write errors after that leave a truncated tar.
 */
int hamn_image_save(struct hamn_image_store *st, const char *const *refs, size_t n_refs, int fd,
		    struct hamn_error **err);

struct hamn_image_import_opts {
	const char *ref;	/* tag for the new image; NULL: untagged */
	char **changes;		/* "CMD [\"sh\"]", "ENV A=1", ...; NULL-terminated, may be NULL */
	const char *message;	/* history comment; NULL: "Imported from -" */
	const char *os;		/* NULL: the host's */
	const char *architecture;
};

/*
 * Import the rootfs tar on fd (compressed or not) as a new one-layer
 * image. changes may use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER,
 * VOLUME, WORKDIR, STOPSIGNAL (simple forms; JSON or shell form for CMD
 * and ENTRYPOINT); anything else is EINVAL before fd is read. As with
 * docker, no PATH is put in Env (the engine adds a default one when it
 * runs the image). *id_out (may be NULL) gets a new "sha256:..." string.
 */
int hamn_image_import(struct hamn_image_store *st, int fd,
		      const struct hamn_image_import_opts *opts, char **id_out,
		      struct hamn_error **err);

/* Parse import/commit changes into e (fields replaced as the instructions say). EINVAL on error. */
int hamn_image_apply_changes(char *const *changes, struct hamn_oci_image_exec *e,
			     struct hamn_error **err);

/* ---- names and lookups ---- */

/*
 * Resolve ref (see the top of this file) to an image ID; *id_out gets a
 * new "sha256:<hex>". ENOENT "No such image: X"; EINVAL for a malformed
 * ref or an ambiguous ID prefix.
 */
int hamn_image_resolve(struct hamn_image_store *st, const char *ref, char **id_out,
		       struct hamn_error **err);

/* Tag the image src (any ref) as new_ref ("repo[:tag]"; tag defaults to latest). */
int hamn_image_tag(struct hamn_image_store *st, const char *src, const char *new_ref,
		   struct hamn_error **err);

/*
 * Is image id in use (by a container)? Return true to block deletion.
 * Called with the store's lock held: it must not call back into the store.
 */
typedef bool (*hamn_image_in_use_fn)(const char *image_id, void *ud);

enum hamn_image_remove_flags {
	HAMN_IMAGE_REMOVE_FORCE = 1 << 0,
	HAMN_IMAGE_REMOVE_NOPRUNE = 1 << 1,	/* keep the untagged parents of a deleted image */
};

/*
 * docker rmi. A tag or digest ref is untagged; when it was the image's
 * last one (or ref is an ID) the image is deleted with the layers and
 * blobs no other image uses. EBUSY (409) when in_use says so and FORCE is
 * not given ("conflict: unable to remove repository reference ..."); with
 * FORCE an image in use loses all its tags but stays. EBUSY too for an ID
 * of an image tagged in several repositories without FORCE. in_use may be
 * NULL (nothing in use). *report_out (may be NULL) gets a new JSON array
 * as docker answers: [{"Untagged":"busybox:latest"},{"Deleted":"sha256:.."}].
 * Parents (see hamn_image_create_child), as in docker: an image with
 * children is EBUSY "conflict: unable to delete X (cannot be forced) - image
 * has dependent child images" by ID, even with FORCE; untagging its last
 * tag by name leaves it as an intermediate image. Deleting an image also
 * deletes its parent, and so on up, while each is untagged, childless and
 * not in use, unless NOPRUNE.
 */
int hamn_image_remove(struct hamn_image_store *st, const char *ref, unsigned int flags,
		      hamn_image_in_use_fn in_use, void *ud, json_t **report_out,
		      struct hamn_error **err);

/*
 * docker image prune: delete dangling images (no tags and no child image),
 * or with all every image in_use does not claim, and the layers and blobs
 * they leave unreferenced. Each deleted image takes its untagged parents
 * along as hamn_image_remove does; the parent of a kept image is kept.
 * *deleted_out (may be NULL) gets a new array as docker's ImagesDeleted;
 * *reclaimed_out (may be NULL) the bytes freed.
 */
int hamn_image_prune(struct hamn_image_store *st, bool all, hamn_image_in_use_fn in_use,
		     void *ud, json_t **deleted_out, uint64_t *reclaimed_out,
		     struct hamn_error **err);

/* ---- listing and inspecting ---- */

struct hamn_image_filter {
	int dangling;		/* -1: either; 0: tagged only; 1: untagged and childless only */
	char **reference;	/* globs on familiar names ("busybox", "busy*:1.*"); only
				   the tags some glob matches are listed */
	char **label;		/* "key" or "key=value"; all must match */
	bool all;		/* also untagged images that are parents (intermediate images) */
};

#define HAMN_IMAGE_FILTER_INIT { -1, NULL, NULL, false }

/*
 * GET /images/json: a new array of {"Containers":-1,"Created":unix,"Id",
 * "Labels","ParentId","RepoDigests":[],"RepoTags":[],"SharedSize":-1,
 * "Size","VirtualSize"}, newest first. filter may be NULL: every image,
 * intermediate ones included.
 */
json_t *hamn_image_list_json(struct hamn_image_store *st, const struct hamn_image_filter *filter,
			     struct hamn_error **err);

/* GET /images/{ref}/json: docker's image inspect object (new reference). */
json_t *hamn_image_inspect_json(struct hamn_image_store *st, const char *ref,
				struct hamn_error **err);

/*
 * GET /images/{ref}/history: [{"Id","Created","CreatedBy","Tags","Size",
 * "Comment"}], newest first (new reference).
 */
json_t *hamn_image_history_json(struct hamn_image_store *st, const char *ref,
				struct hamn_error **err);

/* The parsed config of an image (for container create). New object; free it. */
struct hamn_oci_image_config *hamn_image_config(struct hamn_image_store *st, const char *ref,
						struct hamn_error **err);

/*
 * Tags and digest refs of image id (a full "sha256:..." ID), as full
 * normalised strings ("docker.io/library/x:latest", "x@sha256:.."),
 * sorted; a new vector (empty when none), or NULL with EIO.
 */
char **hamn_image_tags(struct hamn_image_store *st, const char *id, struct hamn_error **err);

/* The longest overlay lowerdir= value hamn_image_lowerdir() returns. */
#define HAMN_IMAGE_LOWERDIR_MAX 3072

/*
 * The overlay lowerdir value for an image: "ROOT/layers/<top>/diff:...:
 * ROOT/layers/<bottom>/diff" (topmost first), a new string; "" for an
 * image without layers (the engine must then provide a lower itself).
 * E2BIG when it would exceed HAMN_IMAGE_LOWERDIR_MAX (mount options are
 * limited to a page; no fallback is attempted).
 */
char *hamn_image_lowerdir(struct hamn_image_store *st, const char *ref, struct hamn_error **err);

/* Total bytes of an image's layers (docker's Size). */
int hamn_image_size(struct hamn_image_store *st, const char *id, uint64_t *size_out,
		    struct hamn_error **err);

/* One image's disk usage (GET /system/df). */
struct hamn_image_usage {
	char *id;		/* "sha256:..." */
	int64_t size;		/* bytes of all its layers (docker's Size) */
	int64_t shared_size;	/* bytes of its layers other listed images use too (SharedSize;
				   intermediate build images do not count, as in dockerd) */
	int64_t unique_size;	/* size - shared_size: what deleting it alone frees */
};

/*
 * The disk usage of every image, sorted by ID, taken in one consistent
 * step (*usage_out, *n_out; free with hamn_image_usage_free).
 * *layers_size_out (may be NULL) gets the bytes of all unpacked layers, once
 * each (docker's LayersSize), including unused ones kept for an
 * interrupted pull. EIO for database errors.
 */
int hamn_image_usage(struct hamn_image_store *st, struct hamn_image_usage **usage_out,
		     size_t *n_out, int64_t *layers_size_out, struct hamn_error **err);
void hamn_image_usage_free(struct hamn_image_usage *u, size_t n);

#endif

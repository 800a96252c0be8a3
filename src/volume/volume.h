/*
 * volume.h - local named volumes, and the mounts of a container (volumes,
 * bind mounts, tmpfs). The public API of src/volume.
 *
 * A volume is a directory <root>/volumes/<name>/ (0700) holding _data/
 * (0755, what containers see) and volume.json (its metadata, written
 * atomically). Volumes are made complete under a temporary name and renamed
 * into place, and removed by renaming them away first, so a crash never
 * leaves a half volume visible. Driver options type/o/device (tmpfs, bind,
 * ...) are not mounted on the host: hamn_volume_oci_mount() turns them into
 * the mount a container's OCI config gets.
 *
 * The second half parses what docker clients send (HostConfig.Binds "-v",
 * HostConfig.Mounts "--mount", HostConfig.Tmpfs "--tmpfs",
 * HostConfig.VolumesFrom, Config.Volumes) into one list of mounts for a
 * container, as plain data the engine stores and later turns into OCI
 * mounts. Which containers use which volume only the engine knows: it
 * answers through a callback (hamn_volume_users_fn).
 *
 * Errors use the API's errno mapping: EINVAL 400, ENOENT 404, EBUSY 409.
 * Threads: the store functions are thread-safe; the parsers are pure.
 */
#ifndef HAMN_VOLUME_VOLUME_H
#define HAMN_VOLUME_VOLUME_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

/* The label docker puts on volumes a container made for itself (VOLUME, "-v /path"). */
#define HAMN_VOLUME_ANON_LABEL "com.docker.volume.anonymous"

struct hamn_volume_store;

/*
 * The ids of the containers that use volume name: a new NULL-terminated
 * vector, or NULL when none does. Called without store locks held.
 */
typedef char **(*hamn_volume_users_fn)(const char *name, void *ud);

/* Called after a volume was created or removed: action "create" or "destroy". */
typedef void (*hamn_volume_event_fn)(void *ud, const char *action, const char *name,
				     const char *driver);

/*
 * Open the volumes of root (--root): <root>/volumes is created 0700 when
 * missing. Cheap (one fd): a container's monitor opens its own for
 * copy-up. The caller owns the store.
 */
struct hamn_volume_store *hamn_volume_store_open(const char *root, struct hamn_error **err);
/*
 * Delete the leftovers of a crash (half-made or half-removed volumes). Only
 * the daemon, once at start: it would delete a volume being made right now.
 */
void hamn_volume_store_sweep(struct hamn_volume_store *st);
/* Safe on NULL. */
void hamn_volume_store_free(struct hamn_volume_store *st);
HAMN_DEFINE_CLEANUP(hamn_volume_store, hamn_volume_store_free)
#define _cleanup_volume_store_ _cleanup_(cleanup_hamn_volume_storep)

/* Set the users callback (NULL: every volume is unused). Not thread-safe: set it once, first. */
void hamn_volume_store_set_users_fn(struct hamn_volume_store *st, hamn_volume_users_fn fn,
				    void *ud);
/* Set the event sink (NULL: none). Not thread-safe: set it once, first. */
void hamn_volume_store_set_event_fn(struct hamn_volume_store *st, hamn_volume_event_fn fn,
				    void *ud);

/*
 * docker's local volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (so at least
 * two characters), at most 255 bytes.
 */
bool hamn_volume_name_valid(const char *name);
/* The same as an error with docker's message (EINVAL), or 0. */
int hamn_volume_name_check(const char *name, struct hamn_error **err);

struct hamn_volume_create_opts {
	const char *name;    /* NULL or "": a new random 64-hex name */
	const char *driver;  /* NULL, "" or "local"; anything else is ENOENT (no such plugin) */
	json_t *labels;	     /* object of strings, or NULL (borrowed) */
	json_t *driver_opts; /* object of strings: type, o, device; or NULL (borrowed) */
	bool anonymous;	     /* add the label HAMN_VOLUME_ANON_LABEL */
};

/*
 * Create a volume, or find the existing one of that name (docker answers a
 * create of an existing volume with it; labels and options are then left as
 * they are). EINVAL for a bad name, unknown driver option keys ("invalid
 * option key") or an "o"/"device" without "type". *created_out (may be NULL)
 * tells which happened. Returns the inspect object (new reference).
 */
json_t *hamn_volume_create(struct hamn_volume_store *st, const struct hamn_volume_create_opts *o,
			   bool *created_out, struct hamn_error **err);

/*
 * docker's volume object: Name, Driver "local", Mountpoint, CreatedAt,
 * Labels, Options, Scope "local"; with usage also UsageData {Size,
 * RefCount} (Size walks _data: slow for big volumes). ENOENT "get X: no
 * such volume". New reference.
 */
json_t *hamn_volume_inspect(struct hamn_volume_store *st, const char *name, bool usage,
			    struct hamn_error **err);

/* Does the volume exist? */
bool hamn_volume_exists(struct hamn_volume_store *st, const char *name);

/* A filter of GET /volumes or POST /volumes/prune: key and NULL-terminated values. */
struct hamn_volume_filter {
	const char *key; /* "dangling", "driver", "label", "label!", "name" */
	char *const *values;
};

/*
 * Check filters for list (dangling driver label name) or prune (label
 * label!): EINVAL "Invalid filter 'k'" or a bad dangling value.
 */
int hamn_volume_filters_check(const struct hamn_volume_filter *f, size_t n, bool prune,
			      struct hamn_error **err);

/*
 * GET /volumes: an array of volume objects (sorted by name) passing every
 * filter; with usage, each has UsageData. EINVAL for bad filters.
 */
json_t *hamn_volume_list(struct hamn_volume_store *st, const struct hamn_volume_filter *f, size_t n,
			 bool usage, struct hamn_error **err);

/*
 * Remove a volume and its data. A volume in use is EBUSY "remove X: volume
 * is in use - [ids]" unless force; force also makes a missing volume a
 * success (docker volume rm -f). ENOENT "get X: no such volume". A mount
 * point left inside _data is EBUSY (nothing beneath it is touched).
 */
int hamn_volume_remove(struct hamn_volume_store *st, const char *name, bool force,
		       struct hamn_error **err);

/*
 * POST /volumes/prune: remove every volume no container uses that passes
 * the filters (label, label!). Returns {"VolumesDeleted":[names],
 * "SpaceReclaimed":bytes} (new reference). A volume that cannot be removed
 * is logged and skipped.
 */
json_t *hamn_volume_prune(struct hamn_volume_store *st, const struct hamn_volume_filter *f,
			  size_t n, struct hamn_error **err);

/* <root>/volumes/<name>/_data (new string); name is not checked. */
char *hamn_volume_mountpoint(struct hamn_volume_store *st, const char *name);

/*
 * Copy-up: the first time a volume is used on a path the image has content
 * at, docker fills the volume with that content. src_dirfd is the image's
 * directory at the mount destination, opened inside the container's root
 * (hamn_open_in_root). Unless the volume is marked populated already, or
 * its _data is not empty, the tree under src_dirfd is copied into _data
 * (regular files, directories, symlinks as links, fifos and device nodes;
 * owners, modes and times kept; never following a symlink, never leaving
 * src_dirfd's mount), the top directory's owner and mode are copied too,
 * and the volume is marked populated. An empty source changes nothing.
 * Serialised per volume with flock(2), so two starting containers never
 * copy at once. Safe to call in a forked monitor (no threads needed).
 */
int hamn_volume_populate(struct hamn_volume_store *st, const char *name, int src_dirfd,
			 struct hamn_error **err);

/* Has the volume been populated (or filled by a container) already? false when missing. */
bool hamn_volume_populated(struct hamn_volume_store *st, const char *name);

/* ---------------------------------------------------------------------------------------- */
/* The mounts of a container */

enum hamn_mount_type { HAMN_MOUNT_BIND, HAMN_MOUNT_VOLUME, HAMN_MOUNT_TMPFS };

struct hamn_mount {
	enum hamn_mount_type type;
	/*
	 * bind: absolute host path; volume: its name (NULL for an anonymous
	 * volume until hamn_mounts_plan names it); tmpfs: NULL.
	 */
	char *source;
	char *destination; /* absolute and clean: no "..", "." or empty parts, no trailing '/' */
	bool readonly;
	char *propagation;	/* bind: "rprivate" unless given; NULL otherwise */
	bool nonrecursive;	/* bind: bind-nonrecursive (sub-mounts not carried over) */
	bool create_source;	/* bind from -v: a missing source directory is made (as docker) */
	bool nocopy;		/* volume: never copy the image's content into it */
	bool anonymous;		/* volume: made for this container only */
	char *tmpfs_options;	/* tmpfs: mount data such as "size=65536k,mode=1777"; or NULL */
	char *mode;		/* the text after the second ':' of -v ("ro,z"), else "" */
	bool tmpfs_map;		/* tmpfs from HostConfig.Tmpfs: not in inspect's Mounts (docker) */
	json_t *volume_labels;	/* volume from --mount: labels for an implicitly made volume */
	json_t *volume_options; /* volume from --mount: driver options for it */
};

struct hamn_mount_list {
	struct hamn_mount *items;
	size_t n;
};

#define HAMN_MOUNT_LIST_INIT { NULL, 0 }

void hamn_mount_release(struct hamn_mount *m);
void hamn_mount_list_release(struct hamn_mount_list *l);
/* Append a zeroed mount and return it. */
struct hamn_mount *hamn_mount_list_add(struct hamn_mount_list *l);
/* The mount of l at destination dest, or NULL. */
struct hamn_mount *hamn_mount_list_find(const struct hamn_mount_list *l, const char *dest);
/* Does l mount volume name? */
bool hamn_mount_list_uses(const struct hamn_mount_list *l, const char *name);

/*
 * Clean an absolute container path ("/a//b/./c/" -> "/a/b/c") into a new
 * string. EINVAL for a relative path, a ".." part or "/" itself.
 */
int hamn_mount_clean_dest(const char *path, char **out, struct hamn_error **err);

/*
 * One -v / HostConfig.Binds entry into m (zeroed first; release it also on
 * failure): "/host:/ctr[:opts]" a bind mount (options ro, rw, z, Z,
 * nocopy, a propagation mode, consistent/cached/delegated); "name:/ctr[:opts]"
 * a named volume; "/ctr" an anonymous volume. EINVAL with docker's message.
 */
int hamn_mount_parse_bind(const char *spec, struct hamn_mount *m, struct hamn_error **err);

/*
 * One HostConfig.Mounts entry (docker's mount.Mount: Type bind|volume|tmpfs,
 * Source, Target, ReadOnly, BindOptions {Propagation, NonRecursive},
 * VolumeOptions {NoCopy, Labels, DriverConfig {Name, Options}},
 * TmpfsOptions {SizeBytes, Mode}) into m (zeroed first). A bind source must
 * be absolute; whether it exists is checked by hamn_mounts_check_sources().
 */
int hamn_mount_parse_api(json_t *obj, struct hamn_mount *m, struct hamn_error **err);

/*
 * One HostConfig.Tmpfs entry: dest and its options ("size=64m,mode=1777",
 * may be "" or NULL). Mounted nosuid,nodev,noexec unless the options say
 * otherwise (exec, suid, dev), as docker does.
 */
int hamn_mount_parse_tmpfs(const char *dest, const char *options, struct hamn_mount *m,
			   struct hamn_error **err);

/*
 * One HostConfig.VolumesFrom entry: "ctr", "ctr:ro" or "ctr:rw" into a new
 * container reference; *mode_out is -1 (keep each mount's mode), 0 (rw) or 1 (ro).
 */
int hamn_mount_parse_volumes_from(const char *spec, char **ref_out, int *mode_out,
				  struct hamn_error **err);

/*
 * The mounts of another container for --volumes-from: fill *out (a copy,
 * which the planner then owns) or fail (ENOENT "No such container: X").
 */
typedef int (*hamn_mounts_lookup_fn)(const char *ref, void *ud, struct hamn_mount_list *out,
				     struct hamn_error **err);

struct hamn_mount_plan_input {
	json_t *host_config; /* Binds, Mounts, Tmpfs, VolumesFrom (borrowed; may be NULL) */
	json_t *volumes;     /* Config.Volumes merged with the image's {"/p":{}} (may be NULL) */
	const char *container_id;     /* names anonymous volumes (required when there are any) */
	hamn_mounts_lookup_fn lookup; /* for VolumesFrom (NULL: VolumesFrom is EINVAL) */
	void *lookup_ud;
};

/*
 * The mounts of a container as docker orders its precedence: volumes of
 * --volumes-from containers (tmpfs mounts are not shared; ro/rw applied),
 * then Binds, Mounts and Tmpfs (which replace a volumes-from mount at the
 * same destination, and may not repeat a destination among themselves:
 * EINVAL "Duplicate mount point: /x"), then an anonymous volume for every
 * Config.Volumes path nothing else mounts. Anonymous volumes get a name
 * derived from container_id and the destination (64 hex digits), so
 * planning the same container again gives the same names. Nothing is
 * created on disk. out is zeroed first; release it also on failure.
 */
int hamn_mounts_plan(const struct hamn_mount_plan_input *in, struct hamn_mount_list *out,
		     struct hamn_error **err);

/*
 * Check what can be checked at create time: every --mount bind source
 * exists (EINVAL "invalid mount config for type \"bind\": bind source path
 * does not exist: /x", as docker); -v sources may be missing (made at
 * start). Volume driver options of implicitly made volumes are valid.
 */
int hamn_mounts_check_sources(const struct hamn_mount_list *l, struct hamn_error **err);

/*
 * Create every volume l mounts that does not exist yet (anonymous ones with
 * the anonymous label; those from --mount with their labels and options).
 * *created_out (may be NULL) gets the names made by this call, so a failed
 * container create can undo them with hamn_volume_remove_list().
 */
int hamn_volume_mounts_prepare(struct hamn_volume_store *st, const struct hamn_mount_list *l,
			       char ***created_out, struct hamn_error **err);

/* Remove the volumes named in names (errors logged, not returned): undo of a failed create. */
void hamn_volume_remove_list(struct hamn_volume_store *st, char *const *names);

/*
 * `rm -v`: remove the anonymous volumes of l (those carrying the anonymous
 * label) that no container other than container_id uses. Failures are
 * logged and skipped, as docker does; returns how many were removed.
 */
int hamn_volume_remove_anonymous(struct hamn_volume_store *st, const struct hamn_mount_list *l,
				 const char *container_id);

/*
 * The OCI runtime-spec mount for m (new object: destination, type, source,
 * options), at container start:
 * - bind: "rbind" (or "bind" for bind-nonrecursive), ro/rw, propagation;
 *   a missing -v source directory is created, a missing --mount source is
 *   EINVAL (it was removed since create);
 * - volume: a bind of its _data (a missing named volume is created again,
 *   as docker's -v does), or, for a volume with driver options, the mount
 *   they describe: type=tmpfs -> a tmpfs with the "o" options, o=bind with
 *   a device -> a bind of that device (which must exist), another type ->
 *   that filesystem of device with the "o" options;
 * - tmpfs: a tmpfs with its options.
 * Read-only mounts carry "ro".
 */
json_t *hamn_volume_oci_mount(struct hamn_volume_store *st, const struct hamn_mount *m,
			      struct hamn_error **err);

/* Should the engine call hamn_volume_populate for m at start (a volume, not nocopy, not populated)?
 */
bool hamn_volume_needs_populate(struct hamn_volume_store *st, const struct hamn_mount *m);

/*
 * The container inspect "Mounts" entry of m: {Type, Name (volumes), Source,
 * Destination, Driver (volumes), Mode, RW, Propagation}. st may be NULL
 * (Source of a volume then stays empty). NULL for a HostConfig.Tmpfs mount,
 * which docker does not list. New reference.
 */
json_t *hamn_mount_inspect_json(struct hamn_volume_store *st, const struct hamn_mount *m);

/*
 * Serialise l for the engine's container record (an array; new reference),
 * and read it back (out zeroed first; EINVAL for a malformed record).
 */
json_t *hamn_mounts_to_json(const struct hamn_mount_list *l);
int hamn_mounts_from_json(json_t *arr, struct hamn_mount_list *out, struct hamn_error **err);

#endif

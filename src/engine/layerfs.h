/*
 * layerfs.h - the merged view of overlay layer directories without a mount,
 * and tar streams of it (layerfs.c, layertar.c); internal to src/engine.
 *
 * A "stack" is one directory of the merged view: the fds of that directory
 * in every layer that contributes to it, topmost first, with overlayfs's
 * rules applied while it is built (a whiteout - a 0:0 char device - hides
 * the name below it, an opaque directory - trusted.overlay.opaque=y - hides
 * everything below it, a non-directory hides directories below it).
 *
 * Nothing here follows a symlink by accident: entries are looked up with
 * fstatat(AT_SYMLINK_NOFOLLOW) and opened with O_NOFOLLOW, one name at a
 * time relative to a directory fd, and path resolution (lstack_resolve)
 * follows symlinks only inside the merged root, as hamn_open_in_root does
 * for a real directory. So container-made content can never make hamnd
 * read or write outside the layers.
 */
#ifndef HAMN_ENGINE_LAYERFS_H
#define HAMN_ENGINE_LAYERFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/base.h"

struct lstack {
	int *fds;	/* directory fds (O_RDONLY|O_DIRECTORY), top first; owned */
	int *ids;	/* the layer number of each fd in the root stack (0 = top) */
	size_t n;
};

#define LSTACK_INIT { NULL, NULL, 0 }

void lstack_release(struct lstack *s);
/* Open the directories dirs[0..n) (absolute paths, top first) as a root stack. */
int lstack_open(char *const *dirs, size_t n, struct lstack *out, struct hamn_error **err);
/* Put fd (dup'ed) on top of s as layer 0; the ids of the others move up by one. */
int lstack_push_top(struct lstack *s, int fd, struct hamn_error **err);
/* A copy of s with dup'ed fds. */
int lstack_dup(const struct lstack *s, struct lstack *out, struct hamn_error **err);

/* Is st an overlay whiteout (a 0:0 character device)? */
bool lstack_is_whiteout(const struct stat *st);
/* Does the directory fd carry trusted.overlay.opaque=y? */
bool lstack_fd_opaque(int fd);

struct lent {
	int idx;	/* index in the stack where name was found; -1: absent (or whited out) */
	int layer;	/* its layer id (s->ids[idx]); -1 when absent */
	struct stat st;
};

/* Look name up in the directory s: the topmost entry, whiteouts hiding what is below. */
int lstack_lookup(const struct lstack *s, const char *name, struct lent *out,
		  struct hamn_error **err);
/*
 * The stack of directory name of s (looked up again here; it must be a
 * directory): its fd in the layer where it was found, then in the layers
 * below while overlay would merge them.
 */
int lstack_child(const struct lstack *s, const char *name, struct lstack *out,
		 struct hamn_error **err);
/* The names in one real directory (whiteouts included), sorted. New vector, or NULL + err. */
char **layer_dir_names(int dirfd, struct hamn_error **err);
/* The names the merged directory s lists (whiteouts applied), sorted. New vector. */
char **lstack_names(const struct lstack *s, struct hamn_error **err);

/* A path resolved in a merged root. */
struct lresolved {
	struct lstack dir;	/* the stack of the parent directory */
	char *name;		/* the last component ("" for the root itself) */
	char *path;		/* the resolved absolute path, symlinks replaced ("/" for the root) */
	struct lent ent;	/* name in dir (ent.idx -1: does not exist) */
};

void lresolved_release(struct lresolved *r);
/*
 * Resolve path (absolute or relative to the root) in the merged root,
 * following symlinks inside it ("/x" and ".." never leave it; 40 links at
 * most, else ELOOP). follow_last: also follow a symlink in the last
 * component. A missing last component is fine (ent.idx -1); a missing
 * or non-directory parent is ENOENT / ENOTDIR.
 */
int lstack_resolve(const struct lstack *root, const char *path, bool follow_last,
		   struct lresolved *out, struct hamn_error **err);
/*
 * Open the regular file resolved in r for reading (O_NOFOLLOW; its type
 * is checked again on the fd). EISDIR/EINVAL for other types.
 */
int lstack_open_file(const struct lresolved *r, struct hamn_error **err);

/*
 * Make sure the directory abs (resolved in root, symlinks followed inside
 * it) exists in layer 0 of root (the writable upper): directories that
 * exist only below are copied up (mode, owner, times), missing ones are
 * made 0755 owned by uid:gid. *dirfd_out gets an O_RDONLY|O_DIRECTORY fd
 * of it in the upper, *stack_out (may be NULL) its merged stack.
 * ENOTDIR when a component is not a directory.
 */
int lstack_upper_mkdirs(const struct lstack *root, const char *abs, uid_t uid, gid_t gid,
			int *dirfd_out, struct lstack *stack_out, struct hamn_error **err);

/* ---- tar streams (layertar.c) ---- */

struct ltar;

/*
 * A tar writer (PAX) writing to fd. The uncompressed bytes are hashed on
 * the way, so the finished stream's sha256 is its diff ID.
 */
struct ltar *ltar_new(int fd, struct hamn_error **err);
/*
 * Finish the archive (end blocks), give its digest and size, and free it.
 * On failure the stream is incomplete. t is freed either way.
 */
int ltar_finish(struct ltar *t, struct hamn_digest *diff_out, uint64_t *size_out,
		struct hamn_error **err);
/* Free without finishing (an error path). Safe on NULL. */
void ltar_free(struct ltar *t);
/*
 * Add the entry name of directory dirfd as path (relative, no leading
 * '/'), with its metadata from st: directories, regular files (content
 * read through an O_NOFOLLOW open, checked to be the same file), symlinks,
 * devices and fifos; sockets are skipped. A file whose inode was added
 * before becomes a hard link to it. xattrs: security.capability and user.*.
 */
int ltar_add(struct ltar *t, int dirfd, const char *name, const struct stat *st,
	     const char *path, struct hamn_error **err);
/* An empty regular file entry (whiteouts: ".wh.x", ".wh..wh..opq"). */
int ltar_add_marker(struct ltar *t, const char *path, struct hamn_error **err);

#endif

/*
 * fs.h - safe filesystem operations.
 *
 * Everything that touches a path chosen by a container or an image goes
 * through hamn_open_in_root(): the path is resolved as if rootfd were "/",
 * so "..", absolute symlinks and symlink chains can never leave the root,
 * and magic links (/proc/self/fd/N, /proc/N/root) are refused. openat2()
 * with RESOLVE_IN_ROOT is used where the kernel has it; otherwise a
 * component-by-component walk gives the same answer (forced with
 * HAMN_TEST_NO_OPENAT2=1 so tests cover both).
 *
 * All fds returned are O_CLOEXEC. EINTR is retried inside.
 */
#ifndef HAMN_BASE_FS_H
#define HAMN_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Read exactly len bytes unless EOF comes first; returns bytes read or -1. */
ssize_t hamn_read_all(int fd, void *buf, size_t len, struct hamn_error **err);
/* Write all len bytes, looping over short writes. */
int hamn_write_all(int fd, const void *buf, size_t len, struct hamn_error **err);

/*
 * Read a whole file (relative to dirfd, or absolute; AT_FDCWD allowed) into
 * a new NUL-terminated buffer that the caller frees. More than max_size
 * bytes is EFBIG (nothing is returned). len_out may be NULL.
 */
int hamn_read_file(int dirfd, const char *path, size_t max_size, char **out, size_t *len_out,
		   struct hamn_error **err);
/* Read a file from an open fd (from offset 0 via pread; a pipe is read as it comes). */
int hamn_read_fd(int fd, size_t max_size, char **out, size_t *len_out, struct hamn_error **err);

/*
 * Replace name in dirfd so readers see the old or the new file, never half
 * of one: write ".name.tmp.<pid>.<random>" next to it (O_EXCL, so each call
 * has its own), fsync, rename over name, fsync the directory. name may
 * hold a directory part. The file gets exactly mode (the umask is not
 * applied). On failure the temp file is removed and name is untouched.
 */
int hamn_write_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
		      struct hamn_error **err);

/*
 * mkdir -p relative to dirfd (no root confinement: for the engine's own
 * dirs). An existing directory is fine; an existing non-directory is ENOTDIR.
 */
int hamn_mkdir_p(int dirfd, const char *path, mode_t mode, struct hamn_error **err);

/*
 * rm -rf of path relative to dirfd. Never follows symlinks and never
 * descends into a different mount, a bind mount of the same filesystem
 * included (compared by st_dev and statx mount id). A mount point inside
 * is left alone with nothing beneath it touched, its siblings are still
 * removed, and the call returns EBUSY naming it; other failures are
 * reported the same way (first one wins). path itself being a mount point
 * is EBUSY. A missing path is success. Uses two fds per directory level.
 */
int hamn_rm_rf(int dirfd, const char *path, struct hamn_error **err);

enum hamn_resolve_flags {
	HAMN_RESOLVE_NO_SYMLINK_LAST = 1 << 0,	/* do not follow a symlink at the end */
	HAMN_RESOLVE_NO_XDEV = 1 << 1,		/* refuse to cross a mount point */
};

/*
 * Open path inside the tree of rootfd, which acts as "/". flags are open(2)
 * flags (O_CLOEXEC is added; O_PATH works; O_CREAT creates the last
 * component only). Errors: ENOENT, ELOOP (too many links, or a magic
 * link), EXDEV (HAMN_RESOLVE_NO_XDEV and a mount crossed), EAGAIN (the
 * tree kept being renamed during resolution), the open(2) errors. The
 * message names path. Thread-safe; the caller owns the returned fd.
 */
int hamn_open_in_root(int rootfd, const char *path, int flags, mode_t mode,
		      enum hamn_resolve_flags rflags, struct hamn_error **err);

/*
 * mkdir -p of path inside rootfd, resolving every component inside the
 * root (a symlink in the image is followed, but only within the root).
 * Returns an O_PATH|O_DIRECTORY fd of the final directory. A dangling
 * symlink on the way is ENOENT (it is not turned into a directory); a
 * non-directory is ENOTDIR. Directories are made with mode & ~umask.
 */
int hamn_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct hamn_error **err);

/*
 * Turn an fd into a path the kernel will resolve to exactly that object:
 * "/proc/self/fd/N". buf must have room for HAMN_FD_PATH_MAX bytes.
 */
#define HAMN_FD_PATH_MAX 32
const char *hamn_fd_path(int fd, char buf[HAMN_FD_PATH_MAX]);

/* true when the kernel supports openat2 (probed once; false when forced off). */
bool hamn_have_openat2(void);

/* Is the file behind fd on a filesystem with the given statfs magic? */
int hamn_fd_is_fs(int fd, unsigned long magic, bool *out, struct hamn_error **err);

/*
 * Tests only: forget the openat2 probe so the next call re-reads
 * HAMN_TEST_NO_OPENAT2. Not thread-safe against concurrent resolution.
 */
void hamn_fs_reset_probe_for_tests(void);

#endif

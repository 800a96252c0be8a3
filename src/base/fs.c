/*
 * fs.c - safe filesystem operations.
 *
 * Whole-fd reads and writes, atomic file replacement, mkdir -p, an rm -rf
 * that never follows a symlink nor leaves its mount, and path resolution
 * confined to a root directory (openat2 RESOLVE_IN_ROOT, or a walk that
 * gives the same answers on kernels without it).
 *
 * Deliberately not here: mounting, and anything that knows about images or
 * containers. Callers decide which root a path belongs to.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/base.h"
#include "base/syscalls.h"

#define MAX_SYMLINKS 40		/* the kernel's MAXSYMLINKS */
#define PROC_ROOT_INO 1		/* inode number of the root of every procfs */
#define RESOLVE_RETRIES 16	/* attempts when a concurrent rename gets in the way */

/* ------------------------------------------------------------------ */
/* Whole-buffer I/O                                                     */
/* ------------------------------------------------------------------ */

ssize_t hamn_read_all(int fd, void *buf, size_t len, struct hamn_error **err)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "read fd %d", fd);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int hamn_write_all(int fd, const void *buf, size_t len, struct hamn_error **err)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "write fd %d", fd);
		}
		if (n == 0)
			return hamn_error_set(err, EIO, "write fd %d: no progress", fd);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One read (positional or not), EINTR retried; a pipe given to pread falls back to read. */
static ssize_t read_some(int fd, bool *positional, void *buf, size_t len, size_t offset)
{
	for (;;) {
		ssize_t n = *positional ? pread(fd, buf, len, (off_t)offset) : read(fd, buf, len);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == ESPIPE && *positional) {
			*positional = false;
			continue;
		}
		return -1;
	}
}

/*
 * Read until EOF into a NUL-terminated heap buffer. One byte more than
 * max_size is asked for so that an oversized file is noticed, not cut.
 */
static int read_limited(int fd, bool positional, size_t max_size, const char *what, char **out,
			size_t *len_out, struct hamn_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t cap = 0, len = 0, hint = 4096;
	struct stat st;

	if (max_size > SSIZE_MAX - 2)
		max_size = SSIZE_MAX - 2;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		hint = (size_t)st.st_size + 2;	/* the data, the EOF probe, the NUL */
	while (len <= max_size) {
		ssize_t n;

		if (cap - len < 2) {
			size_t want = cap ? cap * 2 : hint;

			if (want > max_size + 2)
				want = max_size + 2;
			data = xrealloc(data, want);
			cap = want;
		}
		n = read_some(fd, &positional, data + len, cap - len - 1, len);
		if (n < 0)
			return hamn_error_set(err, errno, "read %s", what);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max_size)
		return hamn_error_set(err, EFBIG, "read %s: more than %zu bytes", what, max_size);
	if (!data)
		data = xmalloc(1);
	data[len] = '\0';
	*out = steal_pointer(&data);
	if (len_out)
		*len_out = len;
	return 0;
}

int hamn_read_file(int dirfd, const char *path, size_t max_size, char **out, size_t *len_out,
		   struct hamn_error **err)
{
	_cleanup_free_ char *what = xasprintf("'%s'", path);
	_cleanup_close_ int fd = -1;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	return read_limited(fd, false, max_size, what, out, len_out, err);
}

int hamn_read_fd(int fd, size_t max_size, char **out, size_t *len_out, struct hamn_error **err)
{
	char what[32];

	snprintf(what, sizeof(what), "fd %d", fd);
	return read_limited(fd, true, max_size, what, out, len_out, err);
}

/* ------------------------------------------------------------------ */
/* Atomic replace                                                       */
/* ------------------------------------------------------------------ */

/*
 * ".name.tmp.<pid>.<random>" next to name: unique per call, so two writers
 * (threads or processes) never share a temp file. The base name is cut so
 * the temp name stays under NAME_MAX.
 */
static char *temp_name_for(const char *name)
{
	const char *slash = strrchr(name, '/');
	unsigned char rnd[6];
	char hex[2 * sizeof(rnd) + 1];

	hamn_random_bytes(rnd, sizeof(rnd));
	hamn_hex(rnd, sizeof(rnd), hex);
	if (!slash)
		return xasprintf(".%.200s.tmp.%d.%s", name, (int)getpid(), hex);
	return xasprintf("%.*s/.%.200s.tmp.%d.%s", (int)(slash - name), name, slash + 1,
			 (int)getpid(), hex);
}

/* fsync the directory holding name, so the rename itself is durable. */
static int fsync_parent(int dirfd, const char *name, struct hamn_error **err)
{
	const char *slash = strrchr(name, '/');
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;

	if (!slash)
		dir = xstrdup(".");
	else if (slash == name)
		dir = xstrdup("/");
	else
		dir = xstrndup(name, (size_t)(slash - name));
	fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open directory of '%s'", name);
	if (fsync(fd) < 0)
		return hamn_error_set(err, errno, "fsync directory of '%s'", name);
	return 0;
}

/* Create the temp file; on the (unlikely) name clash pick another name. */
static int create_temp(int dirfd, const char *name, mode_t mode, char **tmp_out,
		       struct hamn_error **err)
{
	for (int i = 0; i < 8; i++) {
		_cleanup_free_ char *tmp = temp_name_for(name);
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				mode & 07777);

		if (fd >= 0) {
			*tmp_out = steal_pointer(&tmp);
			return fd;
		}
		if (errno != EEXIST)
			return hamn_error_set(err, errno, "create temp file for '%s'", name);
	}
	return hamn_error_set(err, EEXIST, "create temp file for '%s'", name);
}

int hamn_write_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
		      struct hamn_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;

	fd = create_temp(dirfd, name, mode, &tmp, err);
	if (fd < 0)
		return -1;
	/* the umask must not change the mode the caller asked for */
	if (fchmod(fd, mode & 07777) < 0) {
		hamn_error_set(err, errno, "chmod '%s'", tmp);
		goto fail;
	}
	if (hamn_write_all(fd, buf, len, err) < 0) {
		hamn_error_wrap(err, "write '%s'", tmp);
		goto fail;
	}
	if (fsync(fd) < 0) {
		hamn_error_set(err, errno, "fsync '%s'", tmp);
		goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		hamn_error_set(err, errno, "rename '%s' to '%s'", tmp, name);
		goto fail;
	}
	return fsync_parent(dirfd, name, err);
fail:
	unlinkat(dirfd, tmp, 0);	/* the temp file must not outlive a failure */
	return -1;
}

/* ------------------------------------------------------------------ */
/* mkdir -p                                                             */
/* ------------------------------------------------------------------ */

static int mkdir_one(int dirfd, const char *path, mode_t mode, struct hamn_error **err)
{
	struct stat st;

	if (mkdirat(dirfd, path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return hamn_error_set(err, errno, "mkdir '%s'", path);
	if (fstatat(dirfd, path, &st, 0) < 0)
		return hamn_error_set(err, errno, "mkdir '%s': stat", path);
	if (!S_ISDIR(st.st_mode))
		return hamn_error_set(err, ENOTDIR, "mkdir '%s'", path);
	return 0;
}

int hamn_mkdir_p(int dirfd, const char *path, mode_t mode, struct hamn_error **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	char *s = p;

	if (!*p)
		return hamn_error_set(err, ENOENT, "mkdir ''");
	for (;;) {
		char *end;
		char saved;

		while (*s == '/')
			s++;
		if (!*s)
			return 0;
		end = s + strcspn(s, "/");
		saved = *end;
		*end = '\0';	/* p is now the prefix up to this component */
		if (mkdir_one(dirfd, p, mode, err) < 0)
			return -1;
		*end = saved;
		s = end;
	}
}

/* ------------------------------------------------------------------ */
/* Identity of a file and of its mount                                  */
/* ------------------------------------------------------------------ */

struct node {
	dev_t dev;
	ino_t ino;
	mode_t mode;
	uint64_t mnt_id;
	bool has_mnt_id;	/* false before Linux 5.8: st_dev alone is compared */
};

static int node_at(int dirfd, const char *name, int flags, struct node *n)
{
	struct statx stx;
	struct stat st;

	if (statx(dirfd, name, flags | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_INO | STATX_MNT_ID,
		  &stx) == 0) {
		n->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
		n->ino = (ino_t)stx.stx_ino;
		n->mode = stx.stx_mode;
		n->has_mnt_id = (stx.stx_mask & STATX_MNT_ID) != 0;
		n->mnt_id = n->has_mnt_id ? stx.stx_mnt_id : 0;
		return 0;
	}
	if (errno != ENOSYS)
		return -1;
	if (fstatat(dirfd, name, &st, flags) < 0)
		return -1;
	n->dev = st.st_dev;
	n->ino = st.st_ino;
	n->mode = st.st_mode;
	n->has_mnt_id = false;
	n->mnt_id = 0;
	return 0;
}

static int node_fd(int fd, struct node *n)
{
	return node_at(fd, "", AT_EMPTY_PATH, n);
}

/*
 * Same mount? st_dev catches a different filesystem; the mount id also
 * catches a bind mount of the same filesystem.
 */
static bool same_mount(const struct node *a, const struct node *b)
{
	if (a->dev != b->dev)
		return false;
	return !a->has_mnt_id || !b->has_mnt_id || a->mnt_id == b->mnt_id;
}

static bool same_file(const struct node *a, const struct node *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* ------------------------------------------------------------------ */
/* rm -rf                                                               */
/* ------------------------------------------------------------------ */

/*
 * rm -rf is best effort: it goes on with the siblings of an entry it cannot
 * remove and reports the first failure at the end (*first).
 */
static int rm_fail(struct hamn_error **first, int errnum, const char *what, const char *dir,
		   const char *name)
{
	if (!*first)
		hamn_error_set(first, errnum, "%s '%s%s%s'", what, dir, *dir && *name ? "/" : "",
			       name);
	return -1;
}

static int rm_contents(int fd, const struct node *self, const char *display,
		       struct hamn_error **first);

/* Remove the directory name in parent_fd, seen as n (already known to be on parent's mount). */
static int rm_subdir(int parent_fd, const char *name, const struct node *n,
		     const struct node *parent, const char *display, struct hamn_error **first)
{
	_cleanup_free_ char *child_display = NULL;
	_cleanup_close_ int fd = -1;
	struct node c;

	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return rm_fail(first, errno, "open", display, name);
	}
	/* what we opened must be what we checked: no swap for a mount or another dir */
	if (node_fd(fd, &c) < 0)
		return rm_fail(first, errno, "stat", display, name);
	if (!same_file(&c, n) || !same_mount(&c, parent))
		return rm_fail(first, EBUSY, "changed while removing", display, name);
	child_display = *display ? xasprintf("%s/%s", display, name) : xstrdup(name);
	if (rm_contents(fd, &c, child_display, first) < 0)
		return -1;	/* rmdir would fail anyway; the first error says why */
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return rm_fail(first, errno, "rmdir", display, name);
	return 0;
}

static int rm_entry(int parent_fd, const char *name, const struct node *parent,
		    const char *display, struct hamn_error **first)
{
	struct node n;

	/* on a mount point this stats the mounted root: its mount id differs */
	if (node_at(parent_fd, name, AT_SYMLINK_NOFOLLOW, &n) < 0) {
		if (errno == ENOENT)
			return 0;
		return rm_fail(first, errno, "stat", display, name);
	}
	if (!same_mount(&n, parent))
		return rm_fail(first, EBUSY, "mount point", display, name);
	if (S_ISDIR(n.mode))
		return rm_subdir(parent_fd, name, &n, parent, display, first);
	if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
		return rm_fail(first, errno, "unlink", display, name);
	return 0;
}

static int rm_contents(int fd, const struct node *self, const char *display,
		       struct hamn_error **first)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int dfd, ret = 0;

	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return rm_fail(first, errno, "dup", display, "");
	d = fdopendir(dfd);
	if (!d) {
		int saved = errno;

		close(dfd);
		return rm_fail(first, saved, "opendir", display, "");
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (rm_entry(fd, de->d_name, self, display, first) < 0)
			ret = -1;
	}
	if (errno != 0)
		return rm_fail(first, errno, "readdir", display, "");
	return ret;
}

/* The node of the directory holding path (relative to dirfd). */
static int parent_node(int dirfd, const char *path, struct node *n)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = NULL;

	if (!slash)
		return node_fd(dirfd, n);
	dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	return node_at(dirfd, dir, 0, n);
}

/*
 * path without its trailing slashes: with "dir/" the kernel would follow a
 * symlink named dir, and rm -rf must never follow one. Like rm, refuse ""
 * and "/", and "." or ".." as the last component. NULL when refused.
 */
static char *rm_target(const char *path)
{
	size_t len = path ? strlen(path) : 0;
	const char *base;
	char *p;

	while (len > 0 && path[len - 1] == '/')
		len--;
	if (len == 0)
		return NULL;
	p = xstrndup(path, len);
	base = strrchr(p, '/');
	base = base ? base + 1 : p;
	if (streq(base, ".") || streq(base, "..")) {
		free(p);
		return NULL;
	}
	return p;
}

int hamn_rm_rf(int dirfd, const char *path, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *first = NULL;
	_cleanup_free_ char *p = rm_target(path);
	struct node top, parent;

	if (!p)
		return hamn_error_setq(err, EINVAL, "remove '%s': refused", path ? path : "");
	if (node_at(dirfd, p, AT_SYMLINK_NOFOLLOW, &top) < 0) {
		if (errno == ENOENT)
			return 0;
		return hamn_error_set(err, errno, "remove '%s': stat", p);
	}
	if (parent_node(dirfd, p, &parent) < 0)
		return hamn_error_set(err, errno, "remove '%s': stat parent", p);
	if (!same_mount(&top, &parent))
		return hamn_error_set(err, EBUSY, "remove '%s': mount point", p);
	if (S_ISDIR(top.mode))
		rm_subdir(dirfd, p, &top, &parent, "", &first);
	else if (unlinkat(dirfd, p, 0) < 0 && errno != ENOENT)
		rm_fail(&first, errno, "unlink", "", p);
	if (first) {
		hamn_error_propagate(err, &first);
		return hamn_error_wrap(err, "remove '%s'", p);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Resolution inside a root: openat2, or a walk with the same answers   */
/* ------------------------------------------------------------------ */

static atomic_int openat2_state;	/* 0: not probed yet, 1: usable, -1: not usable */

static int probe_openat2(void)
{
	struct hamn_open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	const char *force = getenv("HAMN_TEST_NO_OPENAT2");
	int fd;

	if (force && streq(force, "1"))
		return -1;
	fd = sys_openat2(AT_FDCWD, "/", &how);
	if (fd < 0)
		return -1;	/* ENOSYS, or EPERM from a seccomp filter */
	close(fd);
	return 1;
}

bool hamn_have_openat2(void)
{
	int s = atomic_load(&openat2_state);

	if (s == 0) {
		s = probe_openat2();
		atomic_store(&openat2_state, s);
	}
	return s > 0;
}

void hamn_fs_reset_probe_for_tests(void)
{
	atomic_store(&openat2_state, 0);
}

static bool wants_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

static int open_openat2(int rootfd, const char *path, int flags, mode_t mode,
			enum hamn_resolve_flags rflags)
{
	struct hamn_open_how how = { 0 };
	int fd = -1;

	how.flags = (__u64)(unsigned int)flags;
	how.mode = wants_mode(flags) ? (mode & 07777) : 0;	/* openat2 refuses a stray mode */
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	if (rflags & HAMN_RESOLVE_NO_XDEV)
		how.resolve |= RESOLVE_NO_XDEV;
	/* EAGAIN: a rename somewhere raced with ".." resolution; the kernel asks us to retry */
	for (int i = 0; i < RESOLVE_RETRIES; i++) {
		fd = sys_openat2(rootfd, path, &how);
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
	}
	return fd;
}

/*
 * The fallback walk. cur is always a directory inside the root, reached
 * one component at a time with O_PATH|O_NOFOLLOW, so no component is ever
 * resolved by the kernel outside our control. up[] remembers the
 * directories above cur so that ".." never climbs past the root.
 */
struct walk {
	int rootfd;		/* borrowed */
	struct node root;
	bool no_xdev;
	int cur;		/* owned O_PATH fd of the directory reached so far */
	struct node cur_node;
	struct node *up;	/* the directories above cur; up[0] is the root */
	size_t depth, cap;
	int links;		/* symlinks followed so far */
	char *rest;		/* owned: the path still to resolve */
	size_t pos;		/* where the next component starts in rest */
};

static void close_keep_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

static int walk_to_root(struct walk *w)
{
	int fd = openat(w->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (w->cur >= 0)
		close(w->cur);
	w->cur = fd;
	w->cur_node = w->root;
	w->depth = 0;
	return 0;
}

static int walk_init(struct walk *w, int rootfd, const char *path, bool no_xdev)
{
	*w = (struct walk){ .rootfd = rootfd, .no_xdev = no_xdev, .cur = -1 };
	w->rest = xstrdup(path);
	if (walk_to_root(w) < 0)
		return -1;
	if (node_fd(w->cur, &w->root) < 0)
		return -1;
	w->cur_node = w->root;
	return 0;
}

static void walk_release(struct walk *w)
{
	int saved = errno;

	if (w->cur >= 0)
		close(w->cur);
	free(w->up);
	free(w->rest);
	errno = saved;
}

/* Make fd (a directory inside cur) the new cur. Takes ownership of fd. */
static void walk_enter(struct walk *w, int fd, const struct node *n)
{
	if (w->depth == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->up = xreallocarray(w->up, w->cap, sizeof(*w->up));
	}
	w->up[w->depth++] = w->cur_node;
	close(w->cur);
	w->cur = fd;
	w->cur_node = *n;
}

/*
 * Take the next component of rest into name. *last is true when nothing
 * follows it; a trailing slash ("dir/") makes it not last, so it is
 * resolved like "dir/.": it must be a directory and a symlink is followed,
 * as the kernel does. Returns 1, or 0 when no component is left, or -1.
 */
static int next_component(struct walk *w, char name[NAME_MAX + 1], bool *last)
{
	const char *s = w->rest + w->pos;
	size_t len;

	while (*s == '/')
		s++;
	w->pos = (size_t)(s - w->rest);
	if (!*s)
		return 0;
	len = strcspn(s, "/");
	if (len > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, s, len);
	name[len] = '\0';
	*last = s[len] == '\0';
	w->pos += len;
	return 1;
}

/*
 * Magic links (/proc/<pid>/fd/N, exe, cwd, root, ns/..., map_files/...)
 * jump straight to an object instead of naming a path, so following one
 * would leave the root. They exist only on procfs, inside per-process
 * directories; the plain symlinks of procfs (self, thread-self, mounts,
 * net) sit in its root directory and hold relative paths. Any other
 * symlink on procfs is treated as magic and refused with ELOOP, as
 * RESOLVE_NO_MAGICLINKS does.
 */
static int check_not_magic(const struct walk *w, int linkfd, const struct node *link,
			   const char *target)
{
	struct statfs sfs;

	if (fstatfs(linkfd, &sfs) < 0)
		return -1;
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return 0;
	if (w->cur_node.ino == PROC_ROOT_INO && w->cur_node.dev == link->dev && target[0] != '/' &&
	    !strchr(target, ':'))
		return 0;
	errno = ELOOP;
	return -1;
}

/* Replace the component just taken (a symlink) by its target. */
static int follow_link(struct walk *w, int linkfd, const struct node *link)
{
	char target[PATH_MAX];
	char *rest;
	ssize_t n;

	if (++w->links > MAX_SYMLINKS) {
		errno = ELOOP;
		return -1;
	}
	/* read the link we opened, not whatever the name points to by now */
	n = readlinkat(linkfd, "", target, sizeof(target));
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(target)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	target[n] = '\0';
	if (n == 0) {
		errno = ENOENT;
		return -1;
	}
	if (check_not_magic(w, linkfd, link, target) < 0)
		return -1;
	/* what follows the link ("" or "/more") goes after its target */
	rest = xasprintf("%s%s", target, w->rest + w->pos);
	free(w->rest);
	w->rest = rest;
	w->pos = 0;
	if (target[0] == '/')
		return walk_to_root(w);
	return 0;
}

static int step_down(struct walk *w, const char *name)
{
	struct node n;
	int fd, r;

	fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (node_fd(fd, &n) < 0)
		goto fail;
	if (S_ISLNK(n.mode)) {
		r = follow_link(w, fd, &n);
		close_keep_errno(fd);
		return r;
	}
	errno = S_ISDIR(n.mode) ? EXDEV : ENOTDIR;
	if (!S_ISDIR(n.mode) || (w->no_xdev && !same_mount(&n, &w->root)))
		goto fail;
	walk_enter(w, fd, &n);
	return 0;
fail:
	close_keep_errno(fd);
	return -1;
}

static int step_up(struct walk *w)
{
	struct node n;
	int fd;

	if (w->depth == 0)
		return 0;	/* ".." of the root is the root */
	fd = openat(w->cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (node_fd(fd, &n) < 0)
		goto fail;
	/*
	 * The kernel's ".." goes wherever the directory is now. If it was moved
	 * meanwhile that may be outside the root: stop, and let the caller retry.
	 */
	errno = EAGAIN;
	if (!same_file(&n, &w->up[w->depth - 1]))
		goto fail;
	errno = EXDEV;
	if (w->no_xdev && !same_mount(&n, &w->root))
		goto fail;
	close(w->cur);
	w->cur = fd;
	w->cur_node = n;
	w->depth--;
	return 0;
fail:
	close_keep_errno(fd);
	return -1;
}

/* Open a name that does not exist yet, with O_CREAT. */
static int create_last(struct walk *w, const char *name, int flags, mode_t mode)
{
	/* O_NOFOLLOW: a symlink planted meanwhile is refused, never followed */
	return openat(w->cur, name, flags | O_NOFOLLOW, mode);
}

/*
 * Open name (known to exist as n, not a symlink to follow) in cur with the
 * caller's flags, and check that it is still the object we looked at.
 * Returns the fd, -1 with errno, or -2 when it changed meanwhile.
 */
static int reopen_last(struct walk *w, const char *name, const struct node *n, int flags,
		       mode_t mode)
{
	struct node got;
	int fd;

	if (w->no_xdev && !same_mount(n, &w->root)) {
		errno = EXDEV;
		return -1;
	}
	fd = openat(w->cur, name, flags | O_NOFOLLOW, mode);
	if (fd < 0)
		return errno == ENOENT ? -2 : -1;
	if (node_fd(fd, &got) < 0) {
		close_keep_errno(fd);
		return -1;
	}
	if (same_file(&got, n) && same_mount(&got, n))
		return fd;
	close(fd);
	return -2;
}

/*
 * The last component. Returns 0 with *fd_out set, 1 when it was a symlink
 * that is now being followed (the walk goes on), or -1.
 */
static int open_last(struct walk *w, const char *name, int flags, mode_t mode, int *fd_out)
{
	bool follow = !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);

	for (int i = 0; i < RESOLVE_RETRIES; i++) {
		struct node n;
		int lfd, fd, r;

		lfd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (lfd < 0) {
			if (errno != ENOENT || !(flags & O_CREAT))
				return -1;
			fd = create_last(w, name, flags, mode);
			if (fd < 0 && errno == EEXIST && !(flags & O_EXCL))
				continue;	/* appeared meanwhile: look at it again */
			*fd_out = fd;
			return fd < 0 ? -1 : 0;
		}
		if (node_fd(lfd, &n) < 0) {
			close_keep_errno(lfd);
			return -1;
		}
		if (S_ISLNK(n.mode) && follow) {
			r = follow_link(w, lfd, &n);
			close_keep_errno(lfd);
			return r < 0 ? -1 : 1;
		}
		close(lfd);
		fd = reopen_last(w, name, &n, flags, mode);
		if (fd == -2)
			continue;
		*fd_out = fd;
		return fd < 0 ? -1 : 0;
	}
	errno = EAGAIN;
	return -1;
}

static int walk_resolve(struct walk *w, int flags, mode_t mode)
{
	char name[NAME_MAX + 1];
	bool last = false;
	int r, fd = -1;

	for (;;) {
		r = next_component(w, name, &last);
		if (r < 0)
			return -1;
		if (r == 0)	/* "/", "dir/", "x/." or "x/..": open what we reached */
			return openat(w->cur, ".", flags, mode);
		if (streq(name, "."))
			continue;
		if (streq(name, ".."))
			r = step_up(w);
		else if (!last)
			r = step_down(w, name);
		else if ((r = open_last(w, name, flags, mode, &fd)) == 0)
			return fd;
		if (r < 0)
			return -1;
	}
}

static int open_walk(int rootfd, const char *path, int flags, mode_t mode,
		     enum hamn_resolve_flags rflags)
{
	if (!*path) {
		errno = ENOENT;
		return -1;
	}
	for (int i = 0; i < RESOLVE_RETRIES; i++) {
		struct walk w;
		int fd = -1;

		if (walk_init(&w, rootfd, path, rflags & HAMN_RESOLVE_NO_XDEV) == 0)
			fd = walk_resolve(&w, flags, mode);
		walk_release(&w);
		if (fd >= 0 || errno != EAGAIN)
			return fd;
	}
	return -1;
}

/* Returns an fd or -1 with errno; the flags are made the same for both ways. */
static int resolve_in_root(int rootfd, const char *path, int flags, mode_t mode,
			   enum hamn_resolve_flags rflags)
{
	flags |= O_CLOEXEC;
	if (rflags & HAMN_RESOLVE_NO_SYMLINK_LAST)
		flags |= O_NOFOLLOW;
	/* open(2) ignores what makes no sense with O_PATH; openat2 refuses it */
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	if (!wants_mode(flags))
		mode = 0;
	if (hamn_have_openat2()) {
		int fd = open_openat2(rootfd, path, flags, mode, rflags);

		if (fd >= 0 || errno != ENOSYS)
			return fd;
		atomic_store(&openat2_state, -1);	/* a seccomp filter came in later */
	}
	return open_walk(rootfd, path, flags, mode, rflags);
}

int hamn_open_in_root(int rootfd, const char *path, int flags, mode_t mode,
		      enum hamn_resolve_flags rflags, struct hamn_error **err)
{
	int fd = resolve_in_root(rootfd, path, flags, mode, rflags);

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	return fd;
}

/*
 * Resolve prefix, whose last component is name in parent_fd; create it if
 * it is missing. EEXIST from mkdirat means someone else made it first (or
 * it is a dangling symlink, which stays ENOENT): resolve again.
 */
static int mkdir_step(int rootfd, int parent_fd, const char *prefix, const char *name,
		      mode_t mode)
{
	int fd = resolve_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0, 0);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(parent_fd, name, mode) < 0 && errno != EEXIST)
		return -1;
	return resolve_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0, 0);
}

int hamn_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct hamn_error **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	_cleanup_close_ int cur = -1;
	char *s = p;

	cur = resolve_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0, 0);
	if (cur < 0)
		return hamn_error_set(err, errno, "mkdir '%s': open root", path);
	for (;;) {
		char *end, saved;
		int fd;

		while (*s == '/')
			s++;
		if (!*s)
			return steal_fd(&cur);
		end = s + strcspn(s, "/");
		saved = *end;
		*end = '\0';	/* p is now the prefix ending with this component */
		fd = mkdir_step(rootfd, cur, p, s, mode);
		if (fd < 0)
			return hamn_error_set(err, errno, "mkdir '%s' in root", p);
		close(cur);
		cur = fd;
		*end = saved;
		s = end;
	}
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

const char *hamn_fd_path(int fd, char buf[HAMN_FD_PATH_MAX])
{
	snprintf(buf, HAMN_FD_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

int hamn_fd_is_fs(int fd, unsigned long magic, bool *out, struct hamn_error **err)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return hamn_error_set(err, errno, "statfs fd %d", fd);
	/* f_type is a signed long; magics are 32-bit values */
	*out = ((unsigned long)sfs.f_type & 0xffffffffUL) == (magic & 0xffffffffUL);
	return 0;
}

/*
 * populate.c - copy-up of an image's content into a new volume, and the
 * size of a volume's tree.
 *
 * The source is a container's root filesystem, which an image (or a
 * container sharing the volume) controls, so the walk never follows a
 * symlink (links are copied as links: they are resolved later, inside the
 * container), never opens a path by name twice without checking it is the
 * same file (fstat after open), never leaves the source's filesystem, and
 * makes every hard link through a directory resolved inside the volume.
 * Extended attributes are not copied.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "volume/internal.h"

struct seen_link {
	dev_t dev;
	ino_t ino;
	char *path; /* in the destination, relative to its top ("a/b/file") */
};

struct copy_ctx {
	int top;		 /* the destination's top directory */
	dev_t dev;		 /* the source's filesystem */
	struct seen_link *links; /* files with more than one link, as copied */
	size_t n_links;
	struct hamn_buf path; /* the entry being copied, relative to the top */
};

static int copy_dir(struct copy_ctx *c, int src, int dst, int depth, struct hamn_error **err);

static const char *cur_path(struct copy_ctx *c)
{
	return c->path.len ? c->path.data : ".";
}

/* Owner (tolerating EPERM when not root), mode and times of an open fd. */
static int set_attrs_fd(struct copy_ctx *c, int fd, const struct stat *sb, struct hamn_error **err)
{
	struct timespec ts[2] = {sb->st_atim, sb->st_mtim};

	if (fchown(fd, sb->st_uid, sb->st_gid) < 0 && errno != EPERM)
		return hamn_error_set(err, errno, "chown '%s'", cur_path(c));
	if (fchmod(fd, sb->st_mode & 07777) < 0)
		return hamn_error_set(err, errno, "chmod '%s'", cur_path(c));
	if (futimens(fd, ts) < 0)
		return hamn_error_set(err, errno, "set the times of '%s'", cur_path(c));
	return 0;
}

/* The same for a symlink or special file made by name in dst (never followed). */
static int set_attrs_at(struct copy_ctx *c, int dst, const char *name, const struct stat *sb,
			struct hamn_error **err)
{
	struct timespec ts[2] = {sb->st_atim, sb->st_mtim};

	if (fchownat(dst, name, sb->st_uid, sb->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
		return hamn_error_set(err, errno, "chown '%s'", cur_path(c));
	if (!S_ISLNK(sb->st_mode) &&
	    fchmodat(dst, name, sb->st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "chmod '%s'", cur_path(c));
	if (utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "set the times of '%s'", cur_path(c));
	return 0;
}

static int copy_data(struct copy_ctx *c, int in, int out, struct hamn_error **err)
{
	char buf[65536];

	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)
			break;
		return hamn_error_set(err, errno, "copy '%s'", cur_path(c));
	}
	/* the kernel cannot copy between these filesystems: go on from the current offsets */
	for (;;) {
		ssize_t n = hamn_read_all(in, buf, sizeof(buf), err);

		if (n < 0)
			return hamn_error_wrap(err, "copy '%s'", cur_path(c));
		if (n == 0)
			return 0;
		if (hamn_write_all(out, buf, (size_t)n, err) < 0)
			return hamn_error_wrap(err, "copy '%s'", cur_path(c));
	}
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

/* Make name a hard link of a file copied before; 1 when done, 0 when not a known link. */
static int link_known(struct copy_ctx *c, int dst, const char *name, const struct stat *sb)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (sb->st_nlink < 2)
		return 0;
	for (size_t i = 0; i < c->n_links; i++) {
		const struct seen_link *l = &c->links[i];
		const char *slash, *base;
		_cleanup_free_ char *dir = NULL;
		_cleanup_close_ int dfd = -1;

		if (l->dev != sb->st_dev || l->ino != sb->st_ino)
			continue;
		slash = strrchr(l->path, '/');
		base = slash ? slash + 1 : l->path;
		dir = slash ? xstrndup(l->path, (size_t)(slash - l->path)) : xstrdup(".");
		/* resolved inside the volume: a directory swapped for a symlink cannot lead out */
		dfd = hamn_open_in_root(c->top, dir, O_PATH | O_DIRECTORY, 0, HAMN_RESOLVE_NO_XDEV,
					&err);
		if (dfd >= 0 && linkat(dfd, base, dst, name, 0) == 0)
			return 1;
		return 0; /* copy it instead */
	}
	return 0;
}

static void remember_link(struct copy_ctx *c, const struct stat *sb)
{
	if (sb->st_nlink < 2)
		return;
	c->links = xreallocarray(c->links, c->n_links + 1, sizeof(*c->links));
	c->links[c->n_links++] = (struct seen_link){sb->st_dev, sb->st_ino, xstrdup(c->path.data)};
}

static int copy_file(struct copy_ctx *c, int src, int dst, const char *name, const struct stat *sb,
		     struct hamn_error **err)
{
	_cleanup_close_ int in = -1, out = -1;
	struct stat now;

	if (link_known(c, dst, name, sb))
		return 0;
	/* O_NONBLOCK: should it have become a fifo since the stat, open must not hang */
	in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return hamn_error_set(err, errno, "open '%s'", cur_path(c));
	if (fstat(in, &now) < 0)
		return hamn_error_set(err, errno, "stat '%s'", cur_path(c));
	if (!same_file(&now, sb))
		return hamn_error_setq(err, EAGAIN, "'%s' changed while it was copied",
				       cur_path(c));
	out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return hamn_error_set(err, errno, "create '%s'", cur_path(c));
	if (copy_data(c, in, out, err) < 0 || set_attrs_fd(c, out, sb, err) < 0)
		return -1;
	remember_link(c, sb);
	return 0;
}

static int copy_symlink(struct copy_ctx *c, int src, int dst, const char *name,
			const struct stat *sb, struct hamn_error **err)
{
	size_t size = (size_t)sb->st_size + 1;
	_cleanup_free_ char *target = NULL;
	ssize_t n;

	if (size < 2 || size > 65536)
		size = 4096;
	target = xmalloc(size);
	n = readlinkat(src, name, target, size);
	if (n < 0)
		return hamn_error_set(err, errno, "read the link '%s'", cur_path(c));
	if ((size_t)n >= size)
		return hamn_error_setq(err, EAGAIN, "'%s' changed while it was copied",
				       cur_path(c));
	target[n] = '\0';
	if (symlinkat(target, dst, name) < 0)
		return hamn_error_set(err, errno, "create the link '%s'", cur_path(c));
	return set_attrs_at(c, dst, name, sb, err);
}

static int copy_subdir(struct copy_ctx *c, int src, int dst, const char *name,
		       const struct stat *sb, int depth, struct hamn_error **err)
{
	_cleanup_close_ int in = -1, out = -1;
	struct stat now;

	if (sb->st_dev != c->dev)
		return 0; /* another mount: not part of the image's content */
	if (depth >= WALK_MAX_DEPTH)
		return hamn_error_setq(err, ELOOP, "'%s' is nested too deeply", cur_path(c));
	in = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return hamn_error_set(err, errno, "open '%s'", cur_path(c));
	if (fstat(in, &now) < 0)
		return hamn_error_set(err, errno, "stat '%s'", cur_path(c));
	if (!same_file(&now, sb))
		return hamn_error_setq(err, EAGAIN, "'%s' changed while it was copied",
				       cur_path(c));
	if (mkdirat(dst, name, 0700) < 0)
		return hamn_error_set(err, errno, "create '%s'", cur_path(c));
	out = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (out < 0)
		return hamn_error_set(err, errno, "open '%s'", cur_path(c));
	if (copy_dir(c, in, out, depth + 1, err) < 0)
		return -1;
	/* last, so a read-only directory could still be filled and its times stay */
	return set_attrs_fd(c, out, sb, err);
}

static int copy_entry(struct copy_ctx *c, int src, int dst, const char *name, int depth,
		      struct hamn_error **err)
{
	struct stat sb;

	if (fstatat(src, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "stat '%s'", cur_path(c));
	switch (sb.st_mode & S_IFMT) {
	case S_IFDIR:
		return copy_subdir(c, src, dst, name, &sb, depth, err);
	case S_IFREG:
		return copy_file(c, src, dst, name, &sb, err);
	case S_IFLNK:
		return copy_symlink(c, src, dst, name, &sb, err);
	case S_IFIFO:
	case S_IFCHR:
	case S_IFBLK:
		if (mknodat(dst, name, sb.st_mode & (S_IFMT | 0777), sb.st_rdev) < 0)
			return hamn_error_set(err, errno, "create '%s'", cur_path(c));
		return set_attrs_at(c, dst, name, &sb, err);
	default:
		return 0; /* sockets belong to a process, not to the content */
	}
}

static int copy_dir(struct copy_ctx *c, int src, int dst, int depth, struct hamn_error **err)
{
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
	size_t len = c->path.len;
	struct dirent *de;

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return hamn_error_set(err, e, "read '%s'", cur_path(c));
	}
	while ((errno = 0, de = readdir(d))) {
		int r;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (len)
			hamn_buf_putc(&c->path, '/');
		hamn_buf_puts(&c->path, de->d_name);
		r = copy_entry(c, src, dst, de->d_name, depth, err);
		c->path.len = len;
		if (c->path.data)
			c->path.data[len] = '\0';
		if (r < 0)
			return -1;
	}
	if (errno)
		return hamn_error_set(err, errno, "read '%s'", cur_path(c));
	return 0;
}

int vol_copy_tree(int src, int dst, struct hamn_error **err)
{
	struct copy_ctx c = {.top = dst, .path = HAMN_BUF_INIT};
	struct stat sb;
	int r = -1;

	if (fstat(src, &sb) < 0)
		return hamn_error_set(err, errno, "stat the source");
	if (!S_ISDIR(sb.st_mode))
		return hamn_error_setq(err, ENOTDIR, "the source is not a directory");
	c.dev = sb.st_dev;
	if (copy_dir(&c, src, dst, 0, err) == 0)
		r = set_attrs_fd(&c, dst, &sb, err);
	for (size_t i = 0; i < c.n_links; i++)
		free(c.links[i].path);
	free(c.links);
	hamn_buf_release(&c.path);
	return r;
}

/* ---- size ---- */

struct size_ctx {
	dev_t dev;
	int64_t total;
	struct {
		dev_t dev;
		ino_t ino;
	} * seen;
	size_t n_seen;
};

static bool seen_before(struct size_ctx *s, const struct stat *sb)
{
	if (sb->st_nlink < 2)
		return false;
	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i].dev == sb->st_dev && s->seen[i].ino == sb->st_ino)
			return true;
	s->seen = xreallocarray(s->seen, s->n_seen + 1, sizeof(*s->seen));
	s->seen[s->n_seen].dev = sb->st_dev;
	s->seen[s->n_seen++].ino = sb->st_ino;
	return false;
}

static void size_dir(struct size_ctx *s, int dirfd, int depth)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat sb;

		if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			_cleanup_close_ int sub = -1;

			if (sb.st_dev != s->dev || depth >= WALK_MAX_DEPTH)
				continue;
			sub = openat(dirfd, de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				size_dir(s, sub, depth + 1);
		} else if (!seen_before(s, &sb)) {
			s->total += sb.st_size;
		}
	}
}

int64_t vol_tree_size(int dirfd)
{
	struct size_ctx s = {0};
	struct stat sb;

	if (fstat(dirfd, &sb) < 0)
		return -1;
	s.dev = sb.st_dev;
	size_dir(&s, dirfd, 0);
	free(s.seen);
	return s.total;
}

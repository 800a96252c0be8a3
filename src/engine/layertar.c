/*
 * layertar.c - tar streams of layer contents (commit layers, export, COPY
 * layers) written with libarchive's PAX writer, hashed as they are written.
 *
 * Each entry is read relative to its directory fd without following a
 * symlink: the type seen by fstatat() is checked again on the opened fd,
 * so a container swapping a file for a symlink between the two calls makes
 * the entry fail instead of reading a host file.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/layerfs.h"

#define COPY_CHUNK (256u << 10)

struct hlink {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct ltar {
	struct archive *a;
	int fd;
	struct hamn_sha256 *sha;
	uint64_t size;
	int werrno;		/* a failed write(2) of the callback */
	struct hlink *links;	/* inodes with several links seen so far */
	size_t n_links;
	char *buf;
};

static la_ssize_t tar_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct ltar *t = ud;
	struct hamn_error *err = NULL;

	(void)a;
	if (hamn_write_all(t->fd, buf, len, &err) < 0) {
		t->werrno = err->errnum;
		hamn_error_free(&err);
		return -1;
	}
	hamn_sha256_update(t->sha, buf, len);
	t->size += len;
	return (la_ssize_t)len;
}

struct ltar *ltar_new(int fd, struct hamn_error **err)
{
	struct ltar *t = xzalloc(sizeof(*t));

	t->fd = fd;
	t->sha = hamn_sha256_new();
	t->a = archive_write_new();
	t->buf = xmalloc(COPY_CHUNK);
	if (!t->a || archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t->a, t, NULL, tar_write, NULL, NULL) != ARCHIVE_OK) {
		hamn_error_setq(err, EIO, "start a tar stream: %s",
				t->a ? archive_error_string(t->a) : "out of memory");
		ltar_free(t);
		return NULL;
	}
	return t;
}

void ltar_free(struct ltar *t)
{
	if (!t)
		return;
	if (t->a)
		archive_write_free(t->a);
	hamn_sha256_free(t->sha);
	for (size_t i = 0; i < t->n_links; i++)
		free(t->links[i].path);
	free(t->links);
	free(t->buf);
	free(t);
}

static int tar_error(struct ltar *t, const char *what, struct hamn_error **err)
{
	if (t->werrno)
		return hamn_error_set(err, t->werrno, "write the tar stream (%s)", what);
	return hamn_error_setq(err, EIO, "tar '%s': %s", what, archive_error_string(t->a));
}

int ltar_finish(struct ltar *t, struct hamn_digest *diff_out, uint64_t *size_out,
		struct hamn_error **err)
{
	int rc = 0;

	if (archive_write_close(t->a) != ARCHIVE_OK)
		rc = tar_error(t, "end of archive", err);
	if (rc == 0) {
		hamn_sha256_final(t->sha, diff_out);
		hamn_sha256_free(t->sha);
		t->sha = NULL;
		if (size_out)
			*size_out = t->size;
	}
	ltar_free(t);
	return rc;
}

/* The xattrs a layer keeps: file capabilities and user.* (never trusted.overlay.*). */
static bool xattr_kept(const char *name)
{
	return streq(name, "security.capability") || str_has_prefix(name, "user.");
}

static void add_xattrs(struct archive_entry *e, int dirfd, const char *name)
{
	char proc[HAMN_FD_PATH_MAX + 256], list[4096], val[4096];
	_cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	/*
	 * An O_PATH fd has no f*xattr calls of its own; its /proc link resolves to
	 * exactly that inode (magic links are not looked up again by name).
	 */
	hamn_fd_path(fd, proc);
	n = listxattr(proc, list, sizeof(list));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		ssize_t v;

		if (!xattr_kept(list + off))
			continue;
		v = getxattr(proc, list + off, val, sizeof(val));
		if (v >= 0)
			archive_entry_xattr_add_entry(e, list + off, val, (size_t)v);
	}
}

/* The first path an inode with several links was added under, or NULL (then remember it). */
static const char *hardlink_of(struct ltar *t, const struct stat *st, const char *path)
{
	if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return NULL;
	for (size_t i = 0; i < t->n_links; i++)
		if (t->links[i].dev == st->st_dev && t->links[i].ino == st->st_ino)
			return t->links[i].path;
	t->links = xreallocarray(t->links, t->n_links + 1, sizeof(*t->links));
	t->links[t->n_links++] = (struct hlink){ st->st_dev, st->st_ino, xstrdup(path) };
	return NULL;
}

static int add_content(struct ltar *t, int dirfd, const char *name, const struct stat *st,
		       const char *path, struct hamn_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
					O_CLOEXEC);
	struct stat now;
	int64_t left = st->st_size;

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode) || now.st_ino != st->st_ino)
		return hamn_error_setq(err, EAGAIN, "'%s' changed while being read", path);
	while (left > 0) {
		size_t want = left < (int64_t)COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		ssize_t n = hamn_read_all(fd, t->buf, want, err);

		if (n < 0)
			return hamn_error_wrap(err, "read '%s'", path);
		/* a file that shrank is padded, as the header already promised its size */
		if (n == 0) {
			memset(t->buf, 0, want);
			n = (ssize_t)want;
		}
		if (archive_write_data(t->a, t->buf, (size_t)n) != n)
			return tar_error(t, path, err);
		left -= n;
	}
	return 0;
}

static int fill_entry(struct archive_entry *e, int dirfd, const char *name,
		      const struct stat *st, const char *path, struct hamn_error **err)
{
	char target[4096];
	ssize_t n;

	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	if (S_ISREG(st->st_mode))
		archive_entry_set_size(e, st->st_size);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdevmajor(e, major(st->st_rdev));
		archive_entry_set_rdevminor(e, minor(st->st_rdev));
	}
	if (S_ISLNK(st->st_mode)) {
		n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return hamn_error_set(err, errno, "readlink '%s'", path);
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	}
	if (!S_ISLNK(st->st_mode))
		add_xattrs(e, dirfd, name);
	return 0;
}

int ltar_add(struct ltar *t, int dirfd, const char *name, const struct stat *st,
	     const char *path, struct hamn_error **err)
{
	struct archive_entry *e;
	const char *link;
	int rc = 0;

	if (S_ISSOCK(st->st_mode))
		return 0;
	e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	link = S_ISREG(st->st_mode) ? hardlink_of(t, st, path) : NULL;
	if (link) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, st->st_mode & 07777);
		archive_entry_set_uid(e, st->st_uid);
		archive_entry_set_gid(e, st->st_gid);
		archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
		archive_entry_set_hardlink(e, link);
		archive_entry_set_size(e, 0);
	} else {
		rc = fill_entry(e, dirfd, name, st, path, err);
	}
	if (rc == 0 && archive_write_header(t->a, e) != ARCHIVE_OK)
		rc = tar_error(t, path, err);
	if (rc == 0 && !link && S_ISREG(st->st_mode))
		rc = add_content(t, dirfd, name, st, path, err);
	archive_entry_free(e);
	return rc;
}

int ltar_add_marker(struct ltar *t, const char *path, struct hamn_error **err)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	if (archive_write_header(t->a, e) != ARCHIVE_OK)
		rc = tar_error(t, path, err);
	archive_entry_free(e);
	return rc;
}

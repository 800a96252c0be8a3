/*
 * apply_entry.c - creating one tar entry inside a layer root, safely.
 *
 * The rules (CVE-2014-6407, CVE-2014-9356, CVE-2021-32760):
 * - names are cleaned; ".." or a leading "/" refuses the whole layer;
 * - the parent directory is reached with hamn_mkdir_in_root(), which
 *   resolves every component (symlinks included) inside the root, and the
 *   entry itself is created with *at() calls on that directory fd and a
 *   single-component name, never following a symlink in the last component;
 * - modes, owners, xattrs and times are set through an fd opened with
 *   O_NOFOLLOW (after checking its type) or with AT_SYMLINK_NOFOLLOW, so a
 *   symlink planted by an earlier entry is never followed;
 * - a hardlink target is resolved inside the root too.
 */
#include "image/apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."

/* What an entry asks for besides its contents. */
struct meta {
	uid_t uid;
	gid_t gid;
	mode_t perm;		/* 07777 bits */
	struct timespec times[2];	/* atime, mtime */
};

/*
 * Clean a tar path: "./a//b/" -> "a/b", "." or "./" -> "". *escapes is set
 * for any ".." component, *absolute for a leading "/".
 */
static char *clean_path(const char *raw, bool *escapes, bool *absolute)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	const char *p = raw;

	*escapes = false;
	*absolute = raw[0] == '/';
	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			*escapes = true;
		else if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (b.len)
				hamn_buf_putc(&b, '/');
			hamn_buf_append(&b, p, len);
		}
		p += len;
	}
	return hamn_buf_steal(&b);
}

static int entry_fail(struct apply *ap, const char *name, const char *what,
		      struct hamn_error **err)
{
	return hamn_error_set(err, errno, "%s: entry '%s': %s", ap->label, name, what);
}

static int read_meta(struct apply *ap, struct archive_entry *e, const char *name, struct meta *m,
		     struct hamn_error **err)
{
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	long nsec = archive_entry_mtime_nsec(e);

	if (uid < 0 || uid >= (la_int64_t)UINT32_MAX || gid < 0 || gid >= (la_int64_t)UINT32_MAX)
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': invalid uid/gid", ap->label,
				       name);
	m->uid = (uid_t)uid;
	m->gid = (gid_t)gid;
	m->perm = archive_entry_perm(e) & 07777;
	m->times[1].tv_sec = archive_entry_mtime(e);
	m->times[1].tv_nsec = (nsec >= 0 && nsec < 1000000000L) ? nsec : 0;
	m->times[0] = m->times[1];
	return 0;
}

static bool xattr_allowed(const char *name)
{
	return str_has_prefix(name, "user.") || str_has_prefix(name, "trusted.overlay.") ||
	       streq(name, "security.capability");
}

/*
 * Set the entry's allowed xattrs on fd (a real fd, or an O_PATH fd used
 * through /proc/self/fd when path_fd). Filesystems that refuse a namespace
 * only cost a log line.
 */
static void set_xattrs(struct apply *ap, struct archive_entry *e, int fd, bool path_fd,
		       const char *entry)
{
	char buf[HAMN_FD_PATH_MAX];
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(e) == 0)
		return;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		int rc;

		if (!name || !xattr_allowed(name)) {
			log_kv(HAMN_LOG_DEBUG, "layer: xattr dropped", "layer=\"%s\" entry=\"%s\" "
			       "xattr=%s", ap->label, entry, name ? name : "?");
			continue;
		}
		rc = path_fd ? setxattr(hamn_fd_path(fd, buf), name, value, size, 0)
			     : fsetxattr(fd, name, value, size, 0);
		if (rc < 0)
			log_kv(HAMN_LOG_WARN, "layer: cannot set xattr",
			       "layer=\"%s\" entry=\"%s\" xattr=%s errno=%s", ap->label, entry, name,
			       hamn_errno_name(errno));
	}
}

/* Owner (first: chown clears setuid bits and file capabilities), xattrs, mode, times. */
static int finish_file(struct apply *ap, struct archive_entry *e, int fd, const struct meta *m,
		       const char *name, struct hamn_error **err)
{
	if (ap->chown && fchown(fd, m->uid, m->gid) < 0)
		return entry_fail(ap, name, "chown", err);
	set_xattrs(ap, e, fd, false, name);
	if (fchmod(fd, m->perm) < 0)
		return entry_fail(ap, name, "chmod", err);
	if (futimens(fd, m->times) < 0)
		return entry_fail(ap, name, "set times", err);
	return 0;
}

/*
 * Make room for a new entry base in parentfd: a directory stays when the
 * new entry is a directory too (returns 1); anything else is removed.
 */
static int clear_path(struct apply *ap, int parentfd, const char *base, bool want_dir,
		      const char *name, struct hamn_error **err)
{
	struct stat sb;

	if (fstatat(parentfd, base, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return entry_fail(ap, name, "stat", err);
	}
	if (S_ISDIR(sb.st_mode)) {
		if (want_dir)
			return 1;
		if (hamn_rm_rf(parentfd, base, err) < 0)
			return hamn_error_wrap(err, "%s: entry '%s'", ap->label, name);
		return 0;
	}
	if (unlinkat(parentfd, base, 0) < 0)
		return entry_fail(ap, name, "replace", err);
	return 0;
}

static int write_at(int fd, const char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int copy_data(struct apply *ap, struct archive_entry *e, int fd, const char *name,
		     struct hamn_error **err)
{
	la_int64_t size = archive_entry_size(e);
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(ap->inner, &buf, &len, &off)) == ARCHIVE_OK)
		if (write_at(fd, buf, len, (off_t)off) < 0)
			return entry_fail(ap, name, "write", err);
	if (r != ARCHIVE_EOF) {
		if (ap->cb_err)
			return hamn_error_propagate(err, &ap->cb_err);
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': %s", ap->label, name,
				       archive_error_string(ap->inner));
	}
	/* a sparse file may end in a hole */
	if (size > 0 && ftruncate(fd, (off_t)size) < 0)
		return entry_fail(ap, name, "truncate", err);
	ap->unpacked += size > 0 ? (uint64_t)size : 0;
	return 0;
}

static int do_file(struct apply *ap, struct archive_entry *e, int parentfd, const char *base,
		   const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	struct meta m;

	if (read_meta(ap, e, name, &m, err) < 0 || clear_path(ap, parentfd, base, false, name, err) < 0)
		return -1;
	fd = openat(parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return entry_fail(ap, name, "create", err);
	if (copy_data(ap, e, fd, name, err) < 0)
		return -1;
	return finish_file(ap, e, fd, &m, name, err);
}

static int do_dir(struct apply *ap, struct archive_entry *e, int parentfd, const char *base,
		  const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	struct meta m;
	int kept = 1;

	if (read_meta(ap, e, name, &m, err) < 0)
		return -1;
	if (*name) {
		kept = clear_path(ap, parentfd, base, true, name, err);
		if (kept < 0)
			return -1;
		if (!kept && mkdirat(parentfd, base, 0700) < 0)
			return entry_fail(ap, name, "mkdir", err);
	}
	fd = openat(parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return entry_fail(ap, name, "open", err);
	if (ap->chown && fchown(fd, m.uid, m.gid) < 0)
		return entry_fail(ap, name, "chown", err);
	set_xattrs(ap, e, fd, false, name);
	apply_defer_dir(ap, name, m.perm, m.times);
	return 0;
}

static int do_symlink(struct apply *ap, struct archive_entry *e, int parentfd, const char *base,
		      const char *name, struct hamn_error **err)
{
	const char *target = archive_entry_symlink(e);
	struct meta m;

	if (!target || !*target)
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': symlink without a target",
				       ap->label, name);
	if (read_meta(ap, e, name, &m, err) < 0 || clear_path(ap, parentfd, base, false, name, err) < 0)
		return -1;
	/* the target is data: it is only ever resolved later, inside the container */
	if (symlinkat(target, parentfd, base) < 0)
		return entry_fail(ap, name, "symlink", err);
	if (ap->chown && fchownat(parentfd, base, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_fail(ap, name, "chown", err);
	if (utimensat(parentfd, base, m.times, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_fail(ap, name, "set times", err);
	/* docker's layer size counts a symlink's lstat size, the target's length */
	ap->unpacked += strlen(target);
	return 0;
}

/* Link base to an object already inside the root, given as an O_PATH fd. */
static int link_fd(int tfd, int parentfd, const char *base)
{
	char buf[HAMN_FD_PATH_MAX];

	if (linkat(tfd, "", parentfd, base, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -1;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the magic link does not */
	return linkat(AT_FDCWD, hamn_fd_path(tfd, buf), parentfd, base, AT_SYMLINK_FOLLOW);
}

static int do_hardlink(struct apply *ap, const char *raw_target, int parentfd, const char *base,
		       const char *name, struct hamn_error **err)
{
	_cleanup_free_ char *target = NULL;
	_cleanup_close_ int tfd = -1;
	bool escapes, absolute;
	struct stat sb;

	/* "/x" is the root's x, as in docker; ".." can only mean outside */
	target = clean_path(raw_target, &escapes, &absolute);
	if (escapes || !*target)
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': hardlink target '%s' escapes "
				       "the root", ap->label, name, raw_target);
	if (streq(target, name))
		return 0;
	tfd = hamn_open_in_root(ap->rootfd, target, O_PATH, 0, HAMN_RESOLVE_NO_SYMLINK_LAST,
				NULL);
	if (tfd < 0 || fstat(tfd, &sb) < 0 || S_ISDIR(sb.st_mode))
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': invalid hardlink target '%s': "
				       "not a file in the layer", ap->label, name, raw_target);
	if (clear_path(ap, parentfd, base, false, name, err) < 0)
		return -1;
	if (link_fd(tfd, parentfd, base) < 0)
		return entry_fail(ap, name, "hardlink", err);
	return 0;
}

static int do_node(struct apply *ap, struct archive_entry *e, int parentfd, const char *base,
		   const char *name, struct hamn_error **err)
{
	mode_t type = archive_entry_filetype(e);
	char buf[HAMN_FD_PATH_MAX];
	_cleanup_close_ int fd = -1;
	struct meta m;
	struct stat sb;

	if (read_meta(ap, e, name, &m, err) < 0 || clear_path(ap, parentfd, base, false, name, err) < 0)
		return -1;
	if (mknodat(parentfd, base, type | 0600,
		    type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e),
						  archive_entry_rdevminor(e))) < 0)
		return entry_fail(ap, name, "mknod", err);
	fd = openat(parentfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return entry_fail(ap, name, "open", err);
	if ((sb.st_mode & S_IFMT) != type)
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': changed under us", ap->label,
				       name);
	if (ap->chown && fchownat(fd, "", m.uid, m.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return entry_fail(ap, name, "chown", err);
	set_xattrs(ap, e, fd, true, name);
	if (chmod(hamn_fd_path(fd, buf), m.perm) < 0)
		return entry_fail(ap, name, "chmod", err);
	if (utimensat(parentfd, base, m.times, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_fail(ap, name, "set times", err);
	return 0;
}

/* ---- whiteouts ---- */

static char *join(const char *dir, const char *name)
{
	return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

/* FLATTEN: an opaque directory keeps only what this layer put in it. */
static int remove_unseen(struct apply *ap, int dirfd, const char *dir, struct hamn_error **err)
{
	_cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return entry_fail(ap, dir, "open opaque directory", err);
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			strv_push(&names, de->d_name);
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *p = join(dir, names[i]);

		if (!strset_get(&ap->seen, p, NULL) && hamn_rm_rf(dirfd, names[i], err) < 0)
			return hamn_error_wrap(err, "%s: opaque directory '%s'", ap->label, dir);
	}
	return 0;
}

static int whiteout_flatten(struct apply *ap, const char *dir, const char *victim,
			    const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;

	fd = hamn_open_in_root(ap->rootfd, *dir ? dir : ".", O_PATH | O_DIRECTORY, 0, 0, NULL);
	if (fd < 0)
		return 0;	/* nothing there to delete */
	if (!victim)
		return remove_unseen(ap, fd, dir, err);
	if (hamn_rm_rf(fd, victim, err) < 0)
		return hamn_error_wrap(err, "%s: whiteout '%s'", ap->label, name);
	return 0;
}

static int whiteout_overlay(struct apply *ap, const char *dir, const char *victim,
			    const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = hamn_mkdir_in_root(ap->rootfd, dir, 0755, err);
	char buf[HAMN_FD_PATH_MAX];

	if (fd < 0)
		return hamn_error_wrap(err, "%s: entry '%s'", ap->label, name);
	if (!victim) {
		if (setxattr(hamn_fd_path(fd, buf), "trusted.overlay.opaque", "y", 1, 0) < 0)
			return entry_fail(ap, name, "set trusted.overlay.opaque", err);
		return 0;
	}
	if (clear_path(ap, fd, victim, false, name, err) < 0)
		return -1;
	/* overlayfs' whiteout: a char device 0:0 */
	if (mknodat(fd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
		return entry_fail(ap, name, "create whiteout", err);
	return 0;
}

static int do_whiteout(struct apply *ap, const char *dir, const char *base, const char *name,
		       struct hamn_error **err)
{
	const char *victim = base + strlen(WH_PREFIX);

	if (streq(base, WH_OPAQUE))
		victim = NULL;
	else if (str_has_prefix(base, WH_META))
		return 0;	/* aufs bookkeeping (.wh..wh.plnk...): no meaning here */
	else if (!*victim || streq(victim, ".") || streq(victim, ".."))
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': invalid whiteout", ap->label,
				       name);
	if (ap->flags & HAMN_LAYER_FLATTEN)
		return whiteout_flatten(ap, dir, victim, name, err);
	return whiteout_overlay(ap, dir, victim, name, err);
}

/* ---- dispatch ---- */

static void mark_seen(struct apply *ap, const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);

	if (!(ap->flags & HAMN_LAYER_FLATTEN))
		return;
	for (char *s = p; s; s = strchr(s + 1, '/')) {
		char saved = *s;

		if (s == p)
			continue;
		*s = '\0';
		strset_put(&ap->seen, p, 0);
		*s = saved;
	}
	strset_put(&ap->seen, p, 0);
}

static int create_entry(struct apply *ap, struct archive_entry *e, const char *dir,
			const char *base, const char *name, struct hamn_error **err)
{
	_cleanup_close_ int parentfd = -1;
	const char *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);

	if ((type == AE_IFCHR || type == AE_IFBLK) && !hardlink &&
	    !(ap->flags & HAMN_LAYER_PRIVILEGED)) {
		log_kv(HAMN_LOG_DEBUG, "layer: device node dropped", "layer=\"%s\" entry=\"%s\"",
		       ap->label, name);
		return 0;
	}
	if (type == AE_IFSOCK)
		return 0;	/* sockets are made by programs, not unpacked */
	parentfd = hamn_mkdir_in_root(ap->rootfd, dir, 0755, err);
	if (parentfd < 0)
		return hamn_error_wrap(err, "%s: entry '%s'", ap->label, name);
	if (hardlink)
		return do_hardlink(ap, hardlink, parentfd, base, name, err);
	switch (type) {
	case AE_IFREG:
		return do_file(ap, e, parentfd, base, name, err);
	case AE_IFDIR:
		return do_dir(ap, e, parentfd, base, name, err);
	case AE_IFLNK:
		return do_symlink(ap, e, parentfd, base, name, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return do_node(ap, e, parentfd, base, name, err);
	default:
		return hamn_error_setq(err, EINVAL, "%s: entry '%s': unknown file type 0%o",
				       ap->label, name, (unsigned int)type);
	}
}

int apply_entry(struct apply *ap, struct archive_entry *e, struct hamn_error **err)
{
	const char *raw = archive_entry_pathname(e);
	_cleanup_free_ char *name = NULL, *dir = NULL;
	bool escapes, absolute;
	const char *base;

	if (!raw)
		return hamn_error_setq(err, EINVAL, "%s: entry with an unreadable name", ap->label);
	name = clean_path(raw, &escapes, &absolute);
	if (escapes || absolute)
		return hamn_error_setq(err, EINVAL, "%s: entry '%s' escapes the root", ap->label,
				       raw);
	base = strrchr(name, '/');
	dir = base ? xstrndup(name, (size_t)(base - name)) : xstrdup("");
	base = base ? base + 1 : name;
	if (!*name) {
		if (archive_entry_filetype(e) != AE_IFDIR || archive_entry_hardlink(e))
			return hamn_error_setq(err, EINVAL, "%s: entry '%s': the root must be a "
					       "directory", ap->label, raw);
		return do_dir(ap, e, ap->rootfd, ".", "", err);
	}
	if (str_has_prefix(base, WH_PREFIX))
		return do_whiteout(ap, dir, base, name, err);
	if (create_entry(ap, e, dir, base, name, err) < 0)
		return -1;
	mark_seen(ap, name);
	return 0;
}

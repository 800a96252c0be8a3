/*
 * archive_put.c - docker cp into a container (PUT /archive): a tar read
 * with libarchive and extracted under the destination directory.
 *
 * Not hamn_layer_apply: a cp tar is not a layer (".wh." names are plain
 * files, noOverwriteDirNonDir must refuse what a layer replaces, cp -a
 * chowns to the container's user) and an absolute symlink met on the way
 * means the container's root, not the destination directory. Each entry's
 * parent is resolved again from the container's root with RESOLVE_IN_ROOT
 * (following symlinks, the tar's own included, but never out of the root),
 * and the entry is made relative to that directory fd: O_CREAT|O_EXCL|
 * O_NOFOLLOW for files, mkdirat, symlinkat, mknodat (fifos only: device
 * nodes are skipped), linkat of a target resolved in the root; ownership,
 * modes and times are set on the new object itself, never through a name
 * that could have become a symlink. Directory modes and times come last,
 * deepest first, so a read-only directory can still be filled.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/archive_int.h"
#include "engine/user.h"

#define PUT_CHUNK (256u << 10)

struct dirmeta {
	char *path; /* in-root path, absolute */
	mode_t mode;
	struct timespec mtime;
};

struct put {
	struct hamn_engine_archive *a;
	const struct hamn_engine_archive_put_opts *o;
	struct archive *ar;
	bool chown_to; /* cp -a: everything belongs to uid:gid */
	uid_t uid;
	gid_t gid;
	struct dirmeta *dirs;
	size_t n_dirs;
	char *buf;
};

/* "./a//b/" -> "a/b"; NULL for a name that climbs out with "..". "" is the top. */
static char *entry_name(const char *raw)
{
	_cleanup_strv_ char **parts = str_split(raw ? raw : "", '/');
	struct hamn_buf b = HAMN_BUF_INIT;

	for (size_t i = 0; parts[i]; i++) {
		if (!parts[i][0] || streq(parts[i], "."))
			continue;
		if (streq(parts[i], "..")) {
			hamn_buf_release(&b);
			return NULL;
		}
		hamn_buf_printf(&b, "%s%s", b.len ? "/" : "", parts[i]);
	}
	return b.data ? hamn_buf_steal(&b) : xstrdup("");
}

/* The in-root path of name under the destination. */
static char *in_root(const struct put *p, const char *name)
{
	const char *dest = p->a->abs;
	size_t l = strlen(dest);

	if (l > 2 && streq(dest + l - 2, "/."))
		l -= 2;
	while (l > 1 && dest[l - 1] == '/')
		l--;
	if (l == 1)
		return xasprintf("/%s", name);
	return xasprintf("%.*s/%s", (int)l, dest, name);
}

/* cp -a: the container's user, from its own /etc/passwd and /etc/group (no NSS). */
static int container_user(struct put *p, struct hamn_error **err)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	struct hamn_user u;
	const char *files[2] = {"/etc/passwd", "/etc/group"};
	char **texts[2] = {&passwd, &group};

	for (int i = 0; i < 2; i++) {
		_cleanup_error_ struct hamn_error *rerr = NULL;
		_cleanup_close_ int fd =
			hamn_open_in_root(p->a->rootfd, files[i], O_RDONLY, 0, 0, &rerr);
		size_t len;

		if (fd >= 0 && hamn_read_fd(fd, 4 << 20, texts[i], &len, &rerr) < 0)
			*texts[i] = NULL;
	}
	if (hamn_user_resolve(p->a->user, passwd, group, NULL, &u, err) < 0)
		return -1;
	p->chown_to = true;
	p->uid = u.uid;
	p->gid = u.gid;
	hamn_user_release(&u);
	return 0;
}

static void owner(const struct put *p, struct archive_entry *e, uid_t *uid, gid_t *gid)
{
	*uid = p->chown_to ? p->uid : (uid_t)archive_entry_uid(e);
	*gid = p->chown_to ? p->gid : (gid_t)archive_entry_gid(e);
}

/* Make room for a new entry of type (dir or not) at base in parent. */
static int clear_place(struct put *p, int parent, const char *base, const char *name, bool dir,
		       bool *merge, struct hamn_error **err)
{
	struct stat st;

	*merge = false;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : hamn_error_set(err, errno, "stat '%s'", name);
	if (S_ISDIR(st.st_mode) && dir) {
		*merge = true;
		return 0;
	}
	if (p->o->no_overwrite_dir_non_dir && S_ISDIR(st.st_mode) != dir)
		return hamn_error_setq(
			err, S_ISDIR(st.st_mode) ? EISDIR : ENOTDIR,
			"cannot overwrite %sdirectory \"%s\" with %sdirectory \"%s\"",
			dir ? "non-" : "", name, dir ? "" : "non-", name);
	if (S_ISDIR(st.st_mode))
		return hamn_rm_rf(parent, base, err);
	if (unlinkat(parent, base, 0) < 0)
		return hamn_error_set(err, errno, "remove '%s'", name);
	return 0;
}

static int write_file(struct put *p, int parent, const char *base, const char *name,
		      struct archive_entry *e, struct hamn_error **err)
{
	_cleanup_close_ int fd =
		openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct timespec ts[2];
	uid_t uid;
	gid_t gid;

	if (fd < 0)
		return hamn_error_set(err, errno, "create '%s'", name);
	for (;;) {
		la_ssize_t n = archive_read_data(p->ar, p->buf, PUT_CHUNK);

		if (n < 0)
			return hamn_error_setq(err, EINVAL, "read '%s' from the archive: %s", name,
					       archive_error_string(p->ar));
		if (n == 0)
			break;
		if (hamn_write_all(fd, p->buf, (size_t)n, err) < 0)
			return hamn_error_wrap(err, "write '%s'", name);
	}
	owner(p, e, &uid, &gid);
	/* chown first: it clears setuid bits that the chmod then puts back */
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return hamn_error_set(err, errno, "set the owner and mode of '%s'", name);
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	futimens(fd, ts);
	return 0;
}

static int make_dir(struct put *p, int parent, const char *base, const char *name, const char *path,
		    struct archive_entry *e, bool merge, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	uid_t uid;
	gid_t gid;

	if (!merge && mkdirat(parent, base, 0700) < 0)
		return hamn_error_set(err, errno, "mkdir '%s'", name);
	fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", name);
	owner(p, e, &uid, &gid);
	if (fchown(fd, uid, gid) < 0)
		return hamn_error_set(err, errno, "chown '%s'", name);
	p->dirs = xreallocarray(p->dirs, p->n_dirs + 1, sizeof(*p->dirs));
	p->dirs[p->n_dirs++] =
		(struct dirmeta){xstrdup(path),
				 archive_entry_perm(e) & 07777,
				 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
	return 0;
}

static int make_other(struct put *p, int parent, const char *base, const char *name,
		      struct archive_entry *e, struct hamn_error **err)
{
	mode_t type = archive_entry_filetype(e);
	struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
				 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
	uid_t uid;
	gid_t gid;

	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(e);

		/* the target is text for the container to resolve later: stored as is */
		if (symlinkat(target ? target : "", parent, base) < 0)
			return hamn_error_set(err, errno, "symlink '%s'", name);
	} else if (type == AE_IFIFO) {
		if (mknodat(parent, base, S_IFIFO | (archive_entry_perm(e) & 0777), 0) < 0)
			return hamn_error_set(err, errno, "mkfifo '%s'", name);
	} else {
		return 0; /* devices and sockets are not copied in */
	}
	owner(p, e, &uid, &gid);
	if (fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "chown '%s'", name);
	utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* A hard link: its target is a name in the same archive, so under the destination. */
static int make_link(struct put *p, int parent, const char *base, const char *name,
		     const char *target, struct hamn_error **err)
{
	_cleanup_free_ char *clean = entry_name(target);
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!clean || !clean[0])
		return hamn_error_setq(err, EINVAL, "invalid hardlink '%s' -> '%s'", name, target);
	path = in_root(p, clean);
	fd = hamn_open_in_root(p->a->rootfd, path, O_PATH, 0, HAMN_RESOLVE_NO_SYMLINK_LAST, err);
	if (fd < 0)
		return hamn_error_wrap(err, "hardlink '%s'", name);
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode))
		return hamn_error_setq(err, EINVAL, "invalid hardlink '%s' -> '%s'", name, target);
	if (linkat(fd, "", parent, base, AT_EMPTY_PATH) < 0)
		return hamn_error_set(err, errno, "hardlink '%s'", name);
	return 0;
}

static int put_entry(struct put *p, struct archive_entry *e, struct hamn_error **err)
{
	_cleanup_free_ char *name = entry_name(archive_entry_pathname(e));
	_cleanup_free_ char *path = NULL, *dir = NULL;
	_cleanup_close_ int parent = -1;
	const char *base, *hl = archive_entry_hardlink(e);
	bool is_dir = archive_entry_filetype(e) == AE_IFDIR && !hl, merge;
	char *slash;

	if (!name)
		return hamn_error_setq(err, EINVAL,
				       "invalid archive entry '%s': it leaves the "
				       "destination",
				       archive_entry_pathname(e));
	if (!name[0])
		return 0; /* the top "." entry: the destination itself is left as it is */
	path = in_root(p, name);
	slash = strrchr(path, '/');
	dir = xstrndup(path, (size_t)(slash - path) + 1);
	base = slash + 1;
	/* resolved in the container's root each time: a swapped-in symlink stays inside it */
	parent = hamn_open_in_root(p->a->rootfd, dir, O_PATH | O_DIRECTORY, 0, 0, err);
	if (parent < 0 && (*err)->errnum == ENOENT) {
		hamn_error_free(err);
		parent = hamn_mkdir_in_root(p->a->rootfd, dir, 0755, err);
	}
	if (parent < 0)
		return -1;
	if (clear_place(p, parent, base, path, is_dir, &merge, err) < 0)
		return -1;
	if (hl)
		return make_link(p, parent, base, path, hl, err);
	if (is_dir)
		return make_dir(p, parent, base, path, path, e, merge, err);
	if (archive_entry_filetype(e) == AE_IFREG)
		return write_file(p, parent, base, path, e, err);
	return make_other(p, parent, base, path, e, err);
}

/* Directory modes and times, deepest first (the last made is the deepest or a sibling). */
static void finish_dirs(struct put *p)
{
	for (size_t i = p->n_dirs; i-- > 0;) {
		_cleanup_error_ struct hamn_error *err = NULL;
		struct dirmeta *d = &p->dirs[i];
		_cleanup_close_ int fd =
			hamn_open_in_root(p->a->rootfd, d->path, O_RDONLY | O_DIRECTORY, 0,
					  HAMN_RESOLVE_NO_SYMLINK_LAST, &err);
		struct timespec ts[2] = {d->mtime, d->mtime};

		if (fd >= 0) {
			fchmod(fd, d->mode);
			futimens(fd, ts);
		}
	}
}

static void put_release(struct put *p)
{
	for (size_t i = 0; i < p->n_dirs; i++)
		free(p->dirs[i].path);
	free(p->dirs);
	free(p->buf);
	if (p->ar)
		archive_read_free(p->ar);
}

static int put_run(struct put *p, int fd, struct hamn_error **err)
{
	struct archive_entry *e;
	int r;

	p->ar = archive_read_new();
	archive_read_support_filter_all(p->ar);
	archive_read_support_format_tar(p->ar);
	if (archive_read_open_fd(p->ar, fd, 64 << 10) != ARCHIVE_OK)
		return hamn_error_setq(err, EINVAL, "read the archive: %s",
				       archive_error_string(p->ar));
	while ((r = archive_read_next_header(p->ar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (put_entry(p, e, err) < 0)
			return -1;
	}
	if (r != ARCHIVE_EOF)
		return hamn_error_setq(err, EINVAL, "read the archive: %s",
				       archive_error_string(p->ar));
	finish_dirs(p);
	return 0;
}

int hamn_engine_archive_put(struct hamn_engine_archive *a, int fd,
			    const struct hamn_engine_archive_put_opts *o, struct hamn_error **err)
{
	struct put p = {.a = a, .o = o, .buf = xmalloc(PUT_CHUNK)};
	int rc = 0;

	if (o->copy_uid_gid)
		rc = container_user(&p, err);
	if (rc == 0)
		rc = put_run(&p, fd, err);
	put_release(&p);
	return rc;
}

struct hamn_engine_archive *hamn_engine_archive_open_dir(struct hamn_engine *e, const char *ref,
							 const char *path, struct hamn_error **err)
{
	struct hamn_engine_archive *a = hamn_engine_archive_open(e, ref, path, NULL, err);
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!a)
		return NULL;
	/* the destination must be a directory; a symlink to one is followed inside the root */
	fd = hamn_open_in_root(a->rootfd, a->abs, O_PATH, 0, 0, err);
	if (fd < 0) {
		if ((*err)->errnum == ENOENT) {
			hamn_error_free(err);
			archive_not_found(a, err);
		}
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		hamn_error_setq(err, EINVAL, "extraction point is not a directory");
		goto fail;
	}
	return a;
fail:
	hamn_engine_archive_free(a);
	return NULL;
}

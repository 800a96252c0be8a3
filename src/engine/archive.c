/*
 * archive.c - docker cp out of a container (HEAD and GET /archive) and the
 * root every cp works in; the way in is archive_put.c. See archive.h for
 * the safety rules; in short, nothing here ever builds a host path out of
 * container content: every lookup is relative to the container's root fd
 * with RESOLVE_IN_ROOT, and a tree is walked one name at a time with
 * O_NOFOLLOW relative to directory fds.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "base/syscalls.h"
#include "engine/archive_int.h"
#include "engine/layerfs.h"

#define MAX_LINKS 40

int archive_not_found(const struct hamn_engine_archive *a, struct hamn_error **err)
{
	return hamn_error_setq(err, ENOENT, "Could not find the file %s in container %s", a->abs,
			       a->ref);
}

void hamn_engine_archive_free(struct hamn_engine_archive *a)
{
	if (!a)
		return;
	if (a->rootfd >= 0)
		close(a->rootfd);
	if (a->dirfd >= 0)
		close(a->dirfd);
	free(a->ref);
	free(a->user);
	free(a->abs);
	free(a->base);
	free(a->name);
	free(a);
}

/* ---- the container's root ---- */

/* A running container: its init's root, checked to belong to the same process after. */
static int root_of_pid(pid_t pid, struct hamn_error **err)
{
	_cleanup_close_ int pidfd = sys_pidfd_open(pid, 0);
	char path[64];
	struct pollfd p;
	int fd;

	if (pidfd < 0)
		return hamn_error_set(err, errno, "the container's process");
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	/* the pid could have been reused between the two: the pidfd says it was not */
	p = (struct pollfd){.fd = pidfd, .events = POLLIN};
	if (poll(&p, 1, 0) != 0) {
		close(fd);
		return hamn_error_setq(err, ESRCH, "the container's process exited");
	}
	return fd;
}

static int fs_set(int fs, const char *key, const char *value, struct hamn_error **err)
{
	if (sys_fsconfig(fs, FSCONFIG_SET_STRING, key, value, 0) < 0)
		return hamn_error_set(err, errno, "overlay option %s='%s'", key, value);
	return 0;
}

/*
 * A stopped container: mount its overlay detached (fsopen/fsmount). The
 * mount is in no namespace - no host mount table ever shows it - and goes
 * away with its last fd. Layers are named through /proc/self/fd/N/... so
 * that each option stays short ("lowerdir+" takes one layer at a time).
 */
static int root_of_overlay(struct hamn_engine *e, const char *id, const char *image_id,
			   struct hamn_error **err)
{
	_cleanup_free_ char *lower = hamn_image_lowerdir(e->images, image_id, err);
	_cleanup_strv_ char **layers = NULL;
	_cleanup_close_ int fs = -1, mnt = -1;
	char buf[512];
	size_t rl = strlen(e->root);

	if (!lower)
		return -1;
	fs = sys_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return hamn_error_set(err, errno, "fsopen overlay");
	layers = str_split(lower, ':');
	for (size_t i = 0; layers[i]; i++) {
		const char *l = layers[i];

		if (str_has_prefix(l, e->root) && l[rl] == '/')
			snprintf(buf, sizeof(buf), "/proc/self/fd/%d%s", e->root_fd, l + rl);
		else
			snprintf(buf, sizeof(buf), "%s", l);
		if (fs_set(fs, "lowerdir+", buf, err) < 0)
			return -1;
	}
	if (!layers[0]) {
		/* an image without layers: as the monitor does, an empty lower */
		_cleanup_free_ char *empty = xasprintf("%s/empty", id);

		mkdirat(e->ctrs_fd, empty, 0755);
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s", e->ctrs_fd, empty);
		if (fs_set(fs, "lowerdir+", buf, err) < 0)
			return -1;
	}
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s/upper", e->ctrs_fd, id);
	if (fs_set(fs, "upperdir", buf, err) < 0)
		return -1;
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s/work", e->ctrs_fd, id);
	if (fs_set(fs, "workdir", buf, err) < 0)
		return -1;
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hamn_error_set(err, errno, "create the overlay of %s", id);
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
	if (mnt < 0)
		return hamn_error_set(err, errno, "fsmount the overlay of %s", id);
	return steal_fd(&mnt);
}

static int open_root(struct hamn_engine_archive *a, struct hamn_error **err)
{
	struct hamn_engine *e = a->e;
	_cleanup_free_ char *image_id = NULL;
	char id[ID_LEN + 1];
	struct container *c;
	pid_t pid = 0;
	int r;

	pthread_mutex_lock(&e->lock);
	c = table_find(e, a->ref, err);
	if (c && c->st.status == ST_RUNNING && c->st.pid > 0)
		pid = c->st.pid;
	if (c) {
		memcpy(id, c->id, sizeof(id));
		image_id = xstrdup(c->image_id);
		a->user = xstrdup(c->cfg.user ? c->cfg.user : "");
	}
	pthread_mutex_unlock(&e->lock);
	if (!c)
		return -1;
	r = pid > 0 ? root_of_pid(pid, err) : root_of_overlay(e, id, image_id, err);
	if (r < 0)
		return hamn_error_wrap(err, "container %s", a->ref);
	a->rootfd = r;
	return 0;
}

/* ---- docker's path rules ---- */

/* Clean path into an absolute path; a trailing "/" or "/." of the original is kept. */
static char *clean_abs(const char *path)
{
	_cleanup_strv_ char **parts = str_split(path, '/');
	struct hamn_buf b = HAMN_BUF_INIT;
	size_t n = 0, plen = strlen(path);
	char **keep = xcalloc(strv_len(parts) + 1, sizeof(char *));

	for (size_t i = 0; parts[i]; i++) {
		if (!parts[i][0] || streq(parts[i], "."))
			continue;
		if (streq(parts[i], "..")) {
			if (n)
				n--;
			continue;
		}
		keep[n++] = parts[i];
	}
	for (size_t i = 0; i < n; i++)
		hamn_buf_printf(&b, "/%s", keep[i]);
	if (!n)
		hamn_buf_puts(&b, "/");
	else if (plen >= 2 && streq(path + plen - 2, "/."))
		hamn_buf_puts(&b, "/.");
	else if (plen && path[plen - 1] == '/')
		hamn_buf_puts(&b, "/");
	free(keep);
	return hamn_buf_steal(&b);
}

/* Split the cleaned path into its directory (resolved) and last component. */
static int resolve(struct hamn_engine_archive *a, const char *path, struct hamn_error **err)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash;
	size_t len;

	a->abs = clean_abs(path[0] ? path : "/");
	len = strlen(a->abs);
	slash = strrchr(a->abs, '/');
	dir = xstrndup(a->abs, (size_t)(slash - a->abs) + 1);
	a->base = xstrdup(slash[1] ? slash + 1 : ".");
	/* docker's filepath.Base: "/data/" is "data", "/data/." is ".", "/" is "/" */
	if (streq(a->abs, "/")) {
		a->name = xstrdup("/");
	} else if (a->abs[len - 1] == '/') {
		const char *b = a->abs + len - 2;

		while (b > a->abs && *b != '/')
			b--;
		a->name = xstrndup(b + 1, (size_t)(a->abs + len - 1 - (b + 1)));
	} else {
		a->name = xstrdup(slash + 1);
	}
	/* the directory part follows symlinks, but only inside the root */
	a->dirfd = hamn_open_in_root(a->rootfd, dir, O_PATH | O_DIRECTORY, 0, 0, err);
	if (a->dirfd < 0 && ((*err)->errnum == ENOENT || (*err)->errnum == ENOTDIR)) {
		hamn_error_free(err);
		return archive_not_found(a, err);
	}
	return a->dirfd < 0 ? -1 : 0;
}

/* The absolute in-root path a symlink leads to (docker's linkTarget). Lookups only. */
static char *link_target(int rootfd, const char *abs)
{
	char **queue = str_split(abs, '/');
	char cur[4096] = "";
	int links = 0;

	for (size_t i = 0; queue[i]; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_close_ int d = -1;
		char target[4096];
		char **next;
		ssize_t n;

		if (!queue[i][0] || streq(queue[i], "."))
			continue;
		if (streq(queue[i], "..")) {
			char *s = strrchr(cur, '/');

			if (s)
				*s = '\0';
			continue;
		}
		d = hamn_open_in_root(rootfd, cur[0] ? cur : "/", O_PATH | O_DIRECTORY, 0, 0, &err);
		n = d >= 0 ? readlinkat(d, queue[i], target, sizeof(target) - 1) : -1;
		if (n < 0 || ++links > MAX_LINKS) {
			size_t l = strlen(cur);

			snprintf(cur + l, sizeof(cur) - l, "/%s", queue[i]);
			continue;
		}
		target[n] = '\0';
		if (target[0] == '/')
			cur[0] = '\0';
		/* go on with the link's components, then the rest of the path */
		next = str_split(target, '/');
		for (size_t k = i + 1; queue[k]; k++)
			strv_push(&next, queue[k]);
		hamn_strv_free(queue);
		queue = next;
		i = (size_t)-1;
	}
	hamn_strv_free(queue);
	return xstrdup(cur[0] ? cur : "/");
}

/* RFC 3339 with the fraction's trailing zeros cut, as Go marshals a time. */
static char *go_time(const struct timespec *ts)
{
	char buf[HAMN_TIME_STR_MAX];
	char *dot;
	size_t len;

	hamn_time_format((int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec, buf);
	dot = strchr(buf, '.');
	len = strlen(buf);
	if (dot) {
		char *end = buf + len - 1; /* the 'Z' */

		while (end - 1 > dot && end[-1] == '0')
			end--;
		if (end - 1 == dot)
			end--;
		memmove(end, "Z", 2);
	}
	return xstrdup(buf);
}

/* Go's os.FileMode bits for st_mode. */
static json_int_t go_mode(mode_t m)
{
	uint32_t g = m & 0777;

	if (S_ISDIR(m))
		g |= 1u << 31;
	if (S_ISLNK(m))
		g |= 1u << 27;
	if (S_ISBLK(m) || S_ISCHR(m))
		g |= 1u << 26;
	if (S_ISCHR(m))
		g |= 1u << 21;
	if (S_ISFIFO(m))
		g |= 1u << 25;
	if (S_ISSOCK(m))
		g |= 1u << 24;
	if (m & S_ISUID)
		g |= 1u << 23;
	if (m & S_ISGID)
		g |= 1u << 22;
	if (m & S_ISVTX)
		g |= 1u << 20;
	return (json_int_t)g;
}

static json_t *stat_json(struct hamn_engine_archive *a, const struct stat *st)
{
	_cleanup_free_ char *mtime = go_time(&st->st_mtim);
	_cleanup_free_ char *target = S_ISLNK(st->st_mode) ? link_target(a->rootfd, a->abs) : NULL;

	return json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", a->name, "size",
			 (json_int_t)st->st_size, "mode", go_mode(st->st_mode), "mtime", mtime,
			 "linkTarget", target ? target : "");
}

struct hamn_engine_archive *hamn_engine_archive_open(struct hamn_engine *e, const char *ref,
						     const char *path, json_t **stat_out,
						     struct hamn_error **err)
{
	struct hamn_engine_archive *a = xzalloc(sizeof(*a));
	struct stat st;

	a->e = e;
	a->ref = xstrdup(ref);
	a->rootfd = a->dirfd = -1;
	if (open_root(a, err) < 0 || resolve(a, path ? path : "/", err) < 0)
		goto fail;
	if (fstatat(a->dirfd, a->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			archive_not_found(a, err);
			goto fail;
		}
		hamn_error_set(err, errno, "stat '%s'", a->abs);
		goto fail;
	}
	if (stat_out)
		*stat_out = stat_json(a, &st);
	return a;
fail:
	hamn_engine_archive_free(a);
	return NULL;
}

/* ---- the tar out ---- */

/* Directories of these filesystems are listed empty (a running container's /proc, /sys...). */
static bool pseudo_fs(int fd)
{
	struct statfs s;

	if (fstatfs(fd, &s) < 0)
		return true;
	return s.f_type == PROC_SUPER_MAGIC || s.f_type == SYSFS_MAGIC ||
	       s.f_type == DEVPTS_SUPER_MAGIC || s.f_type == CGROUP_SUPER_MAGIC ||
	       s.f_type == CGROUP2_SUPER_MAGIC || s.f_type == DEBUGFS_MAGIC ||
	       s.f_type == SECURITYFS_MAGIC;
}

static int add_tree(struct ltar *t, int dirfd, const char *name, const char *path,
		    struct hamn_error **err);

static int add_children(struct ltar *t, int fd, const char *path, struct hamn_error **err)
{
	_cleanup_strv_ char **names = NULL;

	if (pseudo_fs(fd))
		return 0;
	names = layer_dir_names(fd, err);
	if (!names)
		return -1;
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *child = xasprintf("%s/%s", path, names[i]);

		if (add_tree(t, fd, names[i], child, err) < 0)
			return -1;
	}
	return 0;
}

static int add_tree(struct ltar *t, int dirfd, const char *name, const char *path,
		    struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	struct stat st, now;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0; /* removed while we walk: it is just not in the copy */
		return hamn_error_set(err, errno, "stat '%s'", path);
	}
	if (ltar_add(t, dirfd, name, &st, path, err) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	/* never follow a symlink swapped in since the stat: O_NOFOLLOW, then the same inode */
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &now) < 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
		return hamn_error_setq(err, EAGAIN, "'%s' changed while being read", path);
	return add_children(t, fd, path, err);
}

int hamn_engine_archive_get(struct hamn_engine_archive *a, int fd, struct hamn_error **err)
{
	struct ltar *t = ltar_new(fd, err);
	struct hamn_digest d;
	/* entries are named after the path asked for ("/" gives "."), not what it resolved to */
	const char *top = streq(a->name, "/") ? "." : a->name;
	_cleanup_close_ int dir = -1;

	if (!t)
		return -1;
	if (!streq(a->base, ".")) {
		if (add_tree(t, a->dirfd, a->base, top, err) < 0)
			goto fail;
		return ltar_finish(t, &d, NULL, err);
	}
	/* the directory itself ("/data/", "/data/.") */
	dir = openat(a->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		hamn_error_set(err, errno, "open '%s'", a->abs);
		goto fail;
	}
	{
		struct stat st;

		if (fstat(dir, &st) < 0 || ltar_add(t, dir, ".", &st, top, err) < 0 ||
		    add_children(t, dir, top, err) < 0) {
			if (!*err)
				hamn_error_set(err, errno, "stat '%s'", a->abs);
			goto fail;
		}
	}
	return ltar_finish(t, &d, NULL, err);
fail:
	ltar_free(t);
	return -1;
}

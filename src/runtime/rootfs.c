/*
 * rootfs.c - the container's root filesystem, set up by the child in its
 * new mount namespace (async-signal-safe: syscalls only).
 *
 * Every destination is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT)
 * to an O_PATH fd and mounted onto "/proc/self/fd/N", so a symlink in the
 * image can never redirect a mount onto the host; after each mount the
 * destination is resolved again and checked to be the new mount. Masking
 * binds a /dev/null that was verified to be char 1:3 through an fd, never
 * by re-resolving a path the container could swap (CVE-2025-31133).
 *
 * It deliberately does not know the config format: everything comes
 * precomputed in struct rt_plan (plan.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "base/base.h"
#include "base/syscalls.h"
#include "runtime/internal.h"

struct rootfs_ctx {
	struct rt_plan *p;
	bool *cgroup_ready;
	int sync;
	bool userns;
	int rootfd; /* O_PATH of the rootfs bind mount */
	int devfd;  /* the container's /dev when we mounted a tmpfs there */
	int devptsfd;
	int procfd;  /* the container's /proc mount, verified procfs */
	int console; /* pty peer */
};

#define FAIL(ctx, step, detail) rt_fail((ctx)->sync, (step), errno, (detail))

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Flags a remount in a user namespace must keep (the kernel locks them). */
static unsigned long locked_flags(int fd)
{
	struct statfs s;
	unsigned long f = 0;

	if (fstatfs(fd, &s) < 0)
		return 0;
	if (s.f_flags & ST_NOSUID)
		f |= MS_NOSUID;
	if (s.f_flags & ST_NODEV)
		f |= MS_NODEV;
	if (s.f_flags & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (s.f_flags & ST_NOATIME)
		f |= MS_NOATIME;
	if (s.f_flags & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (s.f_flags & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int fs_magic_is(int fd, unsigned long magic)
{
	struct statfs s;

	if (fstatfs(fd, &s) < 0)
		return -1;
	if ((unsigned long)s.f_type != magic) {
		errno = EXDEV;
		return -1;
	}
	return 0;
}

static int prepare_root(struct rootfs_ctx *c)
{
	struct rt_plan *p = c->p;
	unsigned long prop = p->root_propagation ? p->root_propagation : (MS_SLAVE | MS_REC);

	/* Nothing we mount from here on may propagate back to the host. */
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return FAIL(c, STEP_PROPAGATION, "/");
	/*
	 * pivot_root needs a mount point. In a user namespace, the path must be
	 * traversable by the container's root (as with runc): an fd opened by the
	 * parent names a mount of the parent's namespace, which cannot be bound here.
	 */
	if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return FAIL(c, STEP_ROOT_BIND, p->rootfs);
	c->rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0)
		return FAIL(c, STEP_ROOT_BIND, p->rootfs);
	return 0;
}

/* An O_PATH fd of m's destination inside the root, created when missing. */
static int resolve_target(struct rootfs_ctx *c, const struct rt_mount *m, bool as_file)
{
	struct stat st;
	int fd = rt_open_in_root(c->rootfd, m->target, O_PATH, true);

	if (fd >= 0) {
		if (fstat(fd, &st) < 0)
			goto fail;
		if (S_ISLNK(st.st_mode)) {
			close(fd);
			if (m->no_symlink) {
				errno = ELOOP;
				return FAIL(c, STEP_MOUNT_TARGET, m->target);
			}
			fd = rt_mkpath_in_root(c->rootfd, m->target, as_file, false);
		}
	} else if (errno == ENOENT) {
		fd = rt_mkpath_in_root(c->rootfd, m->target, as_file, m->no_symlink);
	}
	if (fd < 0)
		return FAIL(c, STEP_MOUNT_TARGET, m->target);
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!as_file && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	if (as_file && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	return fd;
fail:
	FAIL(c, STEP_MOUNT_TARGET, m->target);
	close(fd);
	return -1;
}

/* Resolve the destination again after mounting: it must be what we mounted. */
static int reopen_target(struct rootfs_ctx *c, const struct rt_mount *m, int src_fd)
{
	struct stat a, b;
	int fd = rt_open_in_root(c->rootfd, m->target, O_PATH, false);

	if (fd < 0)
		return FAIL(c, STEP_MOUNT_VERIFY, m->target);
	if (m->kind == RT_MOUNT_FS && m->magic && fs_magic_is(fd, m->magic) < 0)
		goto fail;
	if (m->kind == RT_MOUNT_BIND && src_fd >= 0) {
		if (fstat(fd, &a) < 0 || fstat(src_fd, &b) < 0)
			goto fail;
		if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
			errno = EXDEV;
			goto fail;
		}
	}
	return fd;
fail:
	FAIL(c, STEP_MOUNT_VERIFY, m->target);
	close(fd);
	return -1;
}

static int remount(struct rootfs_ctx *c, int fd, unsigned long flags, const char *what)
{
	char fp[HAMN_FD_PATH_MAX];

	if (c->userns)
		flags |= locked_flags(fd);
	if (mount(NULL, rt_fdpath(fd, fp), NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
		return FAIL(c, STEP_MOUNT, what);
	return 0;
}

/* sysfs cannot be mounted without owning the network namespace: bind the host's instead. */
static int mount_sysfs_fallback(struct rootfs_ctx *c, const struct rt_mount *m, const char *tp)
{
	if (mount("/sys", tp, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	int fd = rt_open_in_root(c->rootfd, m->target, O_PATH, false);
	if (fd < 0)
		return -1;
	int r = remount(c, fd, m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC),
			m->target);
	close(fd);
	return r;
}

static int mount_cgroup(struct rootfs_ctx *c, const struct rt_mount *m, int tfd);

/* Keep the fds of our /dev tmpfs, devpts and proc mounts: later steps use them, not paths. */
static void remember(struct rootfs_ctx *c, const struct rt_mount *m, int *nfd)
{
	int *slot = NULL;

	if (m->is_dev && m->kind == RT_MOUNT_FS && streq(m->fstype, "tmpfs"))
		slot = &c->devfd;
	else if (m->is_devpts)
		slot = &c->devptsfd;
	else if (m->is_proc)
		slot = &c->procfd;
	if (!slot)
		return;
	close_fd(slot);
	*slot = *nfd;
	*nfd = -1;
}

static int mount_one(struct rootfs_ctx *c, struct rt_mount *m)
{
	char tp[HAMN_FD_PATH_MAX];
	int tfd, sfd = -1, nfd = -1, r = -1;

	if (m->kind == RT_MOUNT_BIND) {
		/* the parent made the source a detached tree: it can be attached in any namespace
		 */
		sfd = m->source_fd;
		m->source_fd = -1;
		if (sfd < 0) {
			errno = EBADF;
			return FAIL(c, STEP_MOUNT, m->source);
		}
	}
	tfd = resolve_target(c, m, m->kind == RT_MOUNT_BIND && !m->src_is_dir);
	if (tfd < 0)
		goto out;
	rt_fdpath(tfd, tp);
	if (m->kind == RT_MOUNT_CGROUP) {
		r = rt_wait_cgroup(c->p, c->cgroup_ready) < 0 ? -1 : mount_cgroup(c, m, tfd);
		goto out;
	}
	if (m->kind == RT_MOUNT_BIND) {
		if (sys_move_mount(sfd, "", tfd, "",
				   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			FAIL(c, STEP_MOUNT, m->target);
			goto out;
		}
	} else if (mount(m->source, tp, m->fstype, m->flags, m->data) < 0) {
		if (!(errno == EPERM && streq(m->fstype, "sysfs")) ||
		    mount_sysfs_fallback(c, m, tp) < 0) {
			FAIL(c, STEP_MOUNT, m->target);
			goto out;
		}
	}
	nfd = reopen_target(c, m, sfd);
	if (nfd < 0)
		goto out;
	if (m->kind == RT_MOUNT_BIND && m->remount && remount(c, nfd, m->remount, m->target) < 0)
		goto out;
	if (m->propagation && mount(NULL, rt_fdpath(nfd, tp), NULL, m->propagation, NULL) < 0) {
		FAIL(c, STEP_PROPAGATION, m->target);
		goto out;
	}
	remember(c, m, &nfd);
	r = 0;
out:
	close_fd(&sfd);
	close_fd(&tfd);
	close_fd(&nfd);
	return r;
}

/* ---- /sys/fs/cgroup ---- */

/* The path of our cgroup in the hierarchy with these controllers, from /proc/self/cgroup. */
static int own_cgroup_path(const char *buf, const struct rt_cgroup_hier *h, char *out, size_t size)
{
	const char *line = buf;

	while (*line) {
		const char *end = strchr(line, '\n');
		const char *c1 = strchr(line, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!end)
			end = line + strlen(line);
		if (c1 && c2 && c2 < end) {
			size_t clen = (size_t)(c2 - c1 - 1);
			bool match = h->v2 ? (clen == 0 && line[0] == '0')
					   : (strlen(h->controllers) == clen &&
					      strncmp(c1 + 1, h->controllers, clen) == 0);
			if (match) {
				size_t plen = (size_t)(end - c2 - 1);
				if (plen + 1 > size)
					break;
				memcpy(out, c2 + 1, plen);
				out[plen] = '\0';
				return 0;
			}
		}
		line = *end ? end + 1 : end;
	}
	errno = ENOENT;
	return -1;
}

static int read_self_cgroup(char *buf, size_t size)
{
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off + 1 < size) {
		ssize_t n = read(fd, buf + off, size - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	return 0;
}

/*
 * Mount hierarchy h onto `name` in parentfd (or onto the mount target itself when name is
 * NULL): a fresh mount in a cgroup namespace, else a bind of our own cgroup.
 */
static int mount_hier(struct rootfs_ctx *c, const struct rt_cgroup_hier *h, const char *self,
		      int parentfd, const char *name, const struct rt_mount *m)
{
	char tp[HAMN_FD_PATH_MAX], sp[HAMN_FD_PATH_MAX], path[4096], rel[2048];
	unsigned long base = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
	int dfd = name ? openat(parentfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		       : rt_open_in_root(c->rootfd, m->target, O_PATH | O_DIRECTORY, false);
	int r;

	if (dfd < 0)
		return FAIL(c, STEP_CGROUP_MOUNT, name ? name : m->target);
	rt_fdpath(dfd, tp);
	if (c->p->new_cgroupns) {
		r = mount("cgroup", tp, h->v2 ? "cgroup2" : "cgroup", base,
			  h->v2 ? NULL : h->options);
		close(dfd);
		return r < 0 ? FAIL(c, STEP_CGROUP_MOUNT, h->host_mount) : 0;
	}
	if (own_cgroup_path(self, h, rel, sizeof(rel)) < 0) {
		close(dfd);
		return FAIL(c, STEP_CGROUP_MOUNT, h->host_mount);
	}
	rt_strlcpy(path, h->host_mount, sizeof(path));
	rt_strlcat(path, rel, sizeof(path));
	int sfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = sfd < 0 ? -1 : mount(rt_fdpath(sfd, sp), tp, NULL, MS_BIND | MS_REC, NULL);
	int saved = errno;
	if (sfd >= 0)
		close(sfd);
	close(dfd);
	if (r < 0) {
		errno = saved;
		return FAIL(c, STEP_CGROUP_MOUNT, path);
	}
	/* Walk to it again: the old fd still names the directory under the new mount. */
	int nfd = name ? openat(parentfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		       : rt_open_in_root(c->rootfd, m->target, O_PATH | O_DIRECTORY, false);
	if (nfd < 0)
		return FAIL(c, STEP_CGROUP_MOUNT, path);
	r = remount(c, nfd, base, path);
	close(nfd);
	return r;
}

static int mount_cgroup(struct rootfs_ctx *c, const struct rt_mount *m, int tfd)
{
	const struct rt_plan *p = c->p;
	char self[4096], tp[HAMN_FD_PATH_MAX];
	int r = -1, top = -1;

	if (!p->new_cgroupns && read_self_cgroup(self, sizeof(self)) < 0)
		return FAIL(c, STEP_CGROUP_MOUNT, "/proc/self/cgroup");
	if (p->n_hiers == 1 && p->hiers[0].v2)
		return mount_hier(c, &p->hiers[0], self, -1, NULL, m);
	/* v1: a tmpfs with one directory per hierarchy, read-only at the end like runc's. */
	if (mount("tmpfs", rt_fdpath(tfd, tp), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=755") < 0)
		return FAIL(c, STEP_CGROUP_MOUNT, m->target);
	top = rt_open_in_root(c->rootfd, m->target, O_PATH | O_DIRECTORY, false);
	if (top < 0 || fs_magic_is(top, TMPFS_MAGIC) < 0) {
		FAIL(c, STEP_MOUNT_VERIFY, m->target);
		goto out;
	}
	for (size_t i = 0; i < p->n_hiers; i++) {
		const struct rt_cgroup_hier *h = &p->hiers[i];
		if (mkdirat(top, h->name, 0755) < 0 && errno != EEXIST) {
			FAIL(c, STEP_CGROUP_MOUNT, h->name);
			goto out;
		}
		if (mount_hier(c, h, self, top, h->name, m) < 0)
			goto out;
		/* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct". */
		if (strchr(h->name, ',')) {
			char part[64];
			const char *s = h->name;
			while (*s) {
				size_t n = strcspn(s, ",");
				if (n < sizeof(part)) {
					memcpy(part, s, n);
					part[n] = '\0';
					symlinkat(h->name, top, part);
				}
				s += n + (s[n] == ',');
			}
		}
	}
	r = (m->flags & MS_RDONLY)
		    ? remount(c, top, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, m->target)
		    : 0;
out:
	close_fd(&top);
	return r;
}

/* ---- devices ---- */

/* Split "/dev/net/tun" into its parent directory fd (created inside the root) and "tun". */
static int device_parent(struct rootfs_ctx *c, const char *path, const char **name)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1]) {
		errno = EINVAL;
		return -1;
	}
	size_t n = (size_t)(slash - path);
	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	*name = slash + 1;
	return rt_mkpath_in_root(c->rootfd, n ? dir : "/", false, false);
}

static int bind_host_device(const struct rt_device *d, int parent, const char *name)
{
	char sp[HAMN_FD_PATH_MAX], tp[HAMN_FD_PATH_MAX];
	int t = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (t < 0)
		return -1;
	close(t);
	t = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int s = open(d->host_path, O_PATH | O_CLOEXEC);
	int r = -1;
	if (t >= 0 && s >= 0)
		r = mount(rt_fdpath(s, sp), rt_fdpath(t, tp), NULL, MS_BIND, NULL);
	int saved = errno;
	if (t >= 0)
		close(t);
	if (s >= 0)
		close(s);
	errno = saved;
	return r;
}

static int make_device(struct rootfs_ctx *c, const struct rt_device *d)
{
	char fp[HAMN_FD_PATH_MAX];
	const char *name;
	struct stat st;
	int parent = device_parent(c, d->path, &name), fd = -1;

	if (parent < 0)
		return FAIL(c, STEP_DEVICE, d->path);
	if (c->userns && d->host_path) {
		if (bind_host_device(d, parent, name) < 0)
			goto fail;
		close(parent);
		return 0;
	}
	if (mknodat(parent, name, d->mode, d->rdev) < 0 && errno != EEXIST)
		goto fail;
	/* Change it through an fd, after checking it is the node we meant: never via a symlink. */
	fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	if ((st.st_mode & S_IFMT) != (d->mode & S_IFMT) || st.st_rdev != d->rdev) {
		errno = EEXIST;
		goto fail;
	}
	if (chmod(rt_fdpath(fd, fp), d->mode & 07777) < 0 ||
	    fchownat(fd, "", d->uid, d->gid, AT_EMPTY_PATH) < 0)
		goto fail;
	close(fd);
	close(parent);
	return 0;
fail:
	FAIL(c, STEP_DEVICE, d->path);
	if (fd >= 0)
		close(fd);
	close(parent);
	return -1;
}

static int default_links(struct rootfs_ctx *c)
{
	static const char *const links[][2] = {
		{"fd", "/proc/self/fd"},
		{"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"},
	};

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], c->devfd, links[i][0]) < 0 && errno != EEXIST)
			return FAIL(c, STEP_SYMLINK, links[i][0]);
	if (c->devptsfd >= 0 && symlinkat("pts/ptmx", c->devfd, "ptmx") < 0 && errno != EEXIST)
		return FAIL(c, STEP_SYMLINK, "/dev/ptmx");
	if (access("/proc/kcore", F_OK) == 0)
		symlinkat("/proc/kcore", c->devfd, "core");
	if (mkdirat(c->devfd, "shm", 01777) < 0 && errno != EEXIST)
		return FAIL(c, STEP_DEVICE, "/dev/shm");
	return 0;
}

static int setup_devices(struct rootfs_ctx *c)
{
	for (size_t i = 0; i < c->p->n_devices; i++)
		if (make_device(c, &c->p->devices[i]) < 0)
			return -1;
	if (c->devfd >= 0 && c->p->default_links && default_links(c) < 0)
		return -1;
	return 0;
}

/* ---- console ---- */

static int setup_console(struct rootfs_ctx *c)
{
	char sp[HAMN_FD_PATH_MAX], tp[HAMN_FD_PATH_MAX];
	int pts = c->devptsfd, fd;

	if (pts < 0)
		pts = c->devptsfd =
			rt_open_in_root(c->rootfd, "/dev/pts", O_PATH | O_DIRECTORY, false);
	if (pts < 0)
		return FAIL(c, STEP_CONSOLE, "/dev/pts");
	if (rt_console_create(pts, &c->p->proc, c->sync, &c->console) < 0)
		return FAIL(c, STEP_CONSOLE, "/dev/pts/ptmx");
	if (c->devfd < 0)
		return 0;
	/* /dev/console is the pty peer, bound through its fd (CVE-2025-52565). */
	fd = openat(c->devfd, "console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return FAIL(c, STEP_CONSOLE, "/dev/console");
	close(fd);
	fd = openat(c->devfd, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return FAIL(c, STEP_CONSOLE, "/dev/console");
	int r = mount(rt_fdpath(c->console, sp), rt_fdpath(fd, tp), NULL, MS_BIND, NULL);
	close(fd);
	if (r < 0)
		return FAIL(c, STEP_CONSOLE, "/dev/console");
	return 0;
}

/* ---- sysctls, masks, read-only paths ---- */

/* A private procfs instance of our own, so no mount the container controls is in the way. */
static int fresh_procfs(struct rootfs_ctx *c)
{
	int fs = sys_fsopen("proc", FSOPEN_CLOEXEC);
	int mnt = -1;

	if (fs >= 0) {
		if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
			mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC,
					  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		close(fs);
	}
	if (mnt < 0 && c->procfd >= 0)
		mnt = fcntl(c->procfd, F_DUPFD_CLOEXEC, 3);
	if (mnt >= 0 && fs_magic_is(mnt, PROC_SUPER_MAGIC) < 0) {
		close(mnt);
		return -1;
	}
	return mnt;
}

static int write_sysctls(struct rootfs_ctx *c)
{
	const struct rt_plan *p = c->p;
	int proc;

	if (!p->n_sysctls)
		return 0;
	proc = fresh_procfs(c);
	if (proc < 0)
		return FAIL(c, STEP_SYSCTL, "/proc");
	for (size_t i = 0; i < p->n_sysctls; i++) {
		struct hamn_open_how how = {
			.flags = O_WRONLY | O_CLOEXEC | O_TRUNC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
				   RESOLVE_NO_XDEV,
		};
		int fd = sys_openat2(proc, p->sysctls[i].path, &how);
		size_t len = strlen(p->sysctls[i].value);
		if (fd < 0 || fs_magic_is(fd, PROC_SUPER_MAGIC) < 0 ||
		    write(fd, p->sysctls[i].value, len) != (ssize_t)len) {
			FAIL(c, STEP_SYSCTL, p->sysctls[i].path);
			if (fd >= 0)
				close(fd);
			close(proc);
			return -1;
		}
		close(fd);
	}
	close(proc);
	return 0;
}

/* The /dev/null to mask files with: ours on the container's /dev tmpfs, checked through its fd. */
static int verified_null(struct rootfs_ctx *c)
{
	struct stat st;
	int fd = -1;

	if (c->devfd >= 0) {
		fd = openat(c->devfd, "null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fs_magic_is(fd, TMPFS_MAGIC) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) /* no /dev tmpfs of ours: the host's, which the container cannot touch */
		fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		errno = ENODEV;
		return -1;
	}
	return fd;
}

static int mask_paths(struct rootfs_ctx *c)
{
	char sp[HAMN_FD_PATH_MAX], tp[HAMN_FD_PATH_MAX];
	int null = -1;

	for (char *const *m = c->p->masked; m && *m; m++) {
		struct stat st;
		int fd = rt_open_in_root(c->rootfd, *m, O_PATH, false), r;
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			goto fail;
		}
		if (fstat(fd, &st) < 0)
			r = -1;
		else if (S_ISDIR(st.st_mode))
			r = mount("tmpfs", rt_fdpath(fd, tp), "tmpfs",
				  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=755");
		else {
			if (null < 0 && (null = verified_null(c)) < 0) {
				close(fd);
				goto fail;
			}
			r = mount(rt_fdpath(null, sp), rt_fdpath(fd, tp), NULL, MS_BIND, NULL);
		}
		int saved = errno;
		close(fd);
		errno = saved;
		if (r < 0)
			goto fail;
		continue;
	fail:
		FAIL(c, STEP_MASK, *m);
		close_fd(&null);
		return -1;
	}
	close_fd(&null);
	return 0;
}

/* A recursive read-only bind of fd onto itself, through the new mount API. */
static int readonly_fd(struct rootfs_ctx *c, int fd)
{
	struct hamn_mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    MOUNT_ATTR_NOEXEC,
	};
	char tp[HAMN_FD_PATH_MAX];
	int tree = sys_open_tree(
		fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);

	if (tree < 0) {
		if (errno != ENOSYS)
			return -1;
		/* Old kernel: bind onto itself, then remount what the magic link now reaches. */
		rt_fdpath(fd, tp);
		if (mount(tp, tp, NULL, MS_BIND | MS_REC, NULL) < 0)
			return -1;
		int nfd = open(tp, O_PATH | O_CLOEXEC);
		if (nfd < 0)
			return -1;
		unsigned long f = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
		int r = mount(NULL, rt_fdpath(nfd, tp), NULL,
			      MS_REMOUNT | MS_BIND | f | (c->userns ? locked_flags(nfd) : 0), NULL);
		close(nfd);
		return r;
	}
	int r = sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr);
	if (r == 0)
		r = sys_move_mount(tree, "", fd, "",
				   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	int saved = errno;
	close(tree);
	errno = saved;
	return r;
}

static int readonly_paths(struct rootfs_ctx *c)
{
	for (char *const *m = c->p->readonly; m && *m; m++) {
		int fd = rt_open_in_root(c->rootfd, *m, O_PATH, false);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return FAIL(c, STEP_READONLY, *m);
		}
		int r = readonly_fd(c, fd);
		int saved = errno;
		close(fd);
		errno = saved;
		if (r < 0)
			return FAIL(c, STEP_READONLY, *m);
	}
	return 0;
}

/* ---- pivot ---- */

static int enter_root(struct rootfs_ctx *c)
{
	const struct rt_plan *p = c->p;
	int oldroot;

	if (fchdir(c->rootfd) < 0)
		return FAIL(c, STEP_PIVOT, p->rootfs);
	if (!p->no_pivot) {
		oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (oldroot < 0)
			return FAIL(c, STEP_PIVOT, "/");
		if (sys_pivot_root(".", ".") == 0) {
			/* The old root is now stacked under "/": detach it without propagating. */
			int r = fchdir(oldroot);
			close(oldroot);
			if (r < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
			    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
				return FAIL(c, STEP_PIVOT, "old root");
			return 0;
		}
		close(oldroot);
		/* EINVAL: the root is on a ramfs/initramfs; fall through to MS_MOVE. */
		if (errno != EINVAL)
			return FAIL(c, STEP_PIVOT, p->rootfs);
	}
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return FAIL(c, STEP_PIVOT, p->rootfs);
	return 0;
}

static int finish_root(struct rootfs_ctx *c)
{
	const struct rt_plan *p = c->p;

	if (p->root_readonly) {
		int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		unsigned long f =
			MS_REMOUNT | MS_BIND | MS_RDONLY | (fd >= 0 ? locked_flags(fd) : 0);
		if (fd >= 0)
			close(fd);
		if (mount(NULL, "/", NULL, f, NULL) < 0)
			return FAIL(c, STEP_ROOT_READONLY, "/");
	}
	if (p->root_propagation && mount(NULL, "/", NULL, p->root_propagation, NULL) < 0)
		return FAIL(c, STEP_PROPAGATION, "/");
	return 0;
}

static int run_child_hooks(struct rootfs_ctx *c, const struct rt_hook *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int status = 0;
		if (rt_run_hook(&h[i], c->p->hook_state, &status) < 0)
			return FAIL(c, STEP_HOOK, h[i].path);
	}
	return 0;
}

static int parent_hooks(struct rootfs_ctx *c)
{
	struct rt_msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_HOOKS;
	if (rt_send(c->sync, &m, -1) < 0 || rt_expect(c->sync, MSG_HOOKS_DONE) < 0)
		_exit(127); /* the parent failed the hook and reports it itself */
	return 0;
}

static int setup_steps(struct rootfs_ctx *c)
{
	struct rt_plan *p = c->p;

	if (prepare_root(c) < 0)
		return -1;
	for (size_t i = 0; i < p->n_mounts; i++)
		if (mount_one(c, &p->mounts[i]) < 0)
			return -1;
	if (setup_devices(c) < 0)
		return -1;
	if (p->proc.terminal && setup_console(c) < 0)
		return -1;
	if (p->parent_hooks && (rt_wait_cgroup(p, c->cgroup_ready) < 0 || parent_hooks(c) < 0))
		return -1;
	if (run_child_hooks(c, p->hooks_create_container, p->n_create_container) < 0)
		return -1;
	if (write_sysctls(c) < 0 || mask_paths(c) < 0 || readonly_paths(c) < 0)
		return -1;
	if (enter_root(c) < 0 || finish_root(c) < 0)
		return -1;
	return 0;
}

int rt_rootfs_setup(struct rt_plan *p, bool *cgroup_ready, int *console_fd)
{
	struct rootfs_ctx c = {
		.p = p,
		.cgroup_ready = cgroup_ready,
		.sync = p->sync_fd,
		.userns = p->new_userns || p->join_fd[HAMN_OCI_NS_USER] >= 0,
		.rootfd = -1,
		.devfd = -1,
		.devptsfd = -1,
		.procfd = -1,
		.console = -1,
	};
	int r = setup_steps(&c);

	close_fd(&c.rootfd);
	close_fd(&c.devfd);
	close_fd(&c.devptsfd);
	close_fd(&c.procfd);
	*console_fd = c.console;
	return r;
}

/*
 * childutil.c - async-signal-safe helpers for the code that runs between
 * clone and execve: the sync socket protocol, bounded strings, path
 * resolution inside the container's root, hooks and the console.
 *
 * Nothing here allocates, uses stdio or takes a lock. Errors are -1 with
 * errno; the caller reports them with rt_fail().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/magic.h>

#include "base/base.h"
#include "base/syscalls.h"
#include "runtime/internal.h"

static const char *const step_names[STEP_N] = {
	[STEP_NONE] = "init",
	[STEP_SYNC] = "sync with parent",
	[STEP_CGROUP_ENTER] = "enter cgroup",
	[STEP_SETNS] = "join namespace",
	[STEP_UNSHARE] = "create namespaces",
	[STEP_FORK] = "fork into namespaces",
	[STEP_USERNS_ROOT] = "become root in the user namespace",
	[STEP_CGROUPNS] = "create cgroup namespace",
	[STEP_HOSTNAME] = "set hostname",
	[STEP_DOMAINNAME] = "set domainname",
	[STEP_KEYRING] = "create session keyring",
	[STEP_PROPAGATION] = "set mount propagation",
	[STEP_ROOT_BIND] = "bind mount rootfs",
	[STEP_MOUNT_TARGET] = "resolve mount destination",
	[STEP_MOUNT] = "mount",
	[STEP_MOUNT_VERIFY] = "verify mount",
	[STEP_CGROUP_MOUNT] = "mount cgroup",
	[STEP_DEVICE] = "create device",
	[STEP_SYMLINK] = "create symlink",
	[STEP_CONSOLE] = "set up console",
	[STEP_SYSCTL] = "write sysctl",
	[STEP_MASK] = "mask path",
	[STEP_READONLY] = "make path read-only",
	[STEP_PIVOT] = "pivot_root",
	[STEP_ROOT_READONLY] = "make root read-only",
	[STEP_HOOK] = "run hook",
	[STEP_START_WAIT] = "wait for start",
	[STEP_STDIO] = "set up stdio",
	[STEP_GROUPS] = "set groups",
	[STEP_USER] = "set user",
	[STEP_CAPS] = "set capabilities",
	[STEP_NNP] = "set no_new_privs",
	[STEP_SECCOMP] = "load seccomp filter",
	[STEP_CWD] = "change to working directory",
	[STEP_CLOSE_FDS] = "close file descriptors",
	[STEP_EXEC] = "exec",
};

const char *rt_step_name(enum rt_step s)
{
	if ((int)s < 0 || s >= STEP_N || !step_names[s])
		return "set up";
	return step_names[s];
}

size_t rt_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = 0;

	if (!src)
		src = "";
	while (src[n] && n + 1 < size) {
		dst[n] = src[n];
		n++;
	}
	if (size)
		dst[n] = '\0';
	return n;
}

size_t rt_strlcat(char *dst, const char *src, size_t size)
{
	size_t len = 0;

	while (len < size && dst[len])
		len++;
	if (len == size)
		return len;
	return len + rt_strlcpy(dst + len, src, size - len);
}

char *rt_utoa(unsigned long v, char *buf, size_t size)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(tmp));
	size_t i = 0;
	while (n && i + 1 < size)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return buf;
}

const char *rt_fdpath(int fd, char buf[HAMN_FD_PATH_MAX])
{
	char num[16];

	rt_strlcpy(buf, "/proc/self/fd/", HAMN_FD_PATH_MAX);
	rt_strlcat(buf, rt_utoa((unsigned long)fd, num, sizeof(num)), HAMN_FD_PATH_MAX);
	return buf;
}

/* ---- the sync socket ---- */

int rt_send(int fd, const struct rt_msg *m, int pass_fd)
{
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (pass_fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

int rt_recv(int fd, struct rt_msg *m, int *fd_out)
{
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;

	if (fd_out)
		*fd_out = -1;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0) {
		errno = EPIPE;
		return -1;
	}
	if ((size_t)n != sizeof(*m)) {
		errno = EPROTO;
		return -1;
	}
	m->detail[RT_DETAIL_MAX - 1] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int got;
		memcpy(&got, CMSG_DATA(c), sizeof(int));
		if (fd_out && *fd_out < 0)
			*fd_out = got;
		else
			close(got);
	}
	return 0;
}

int rt_expect(int fd, int want)
{
	struct rt_msg m;

	if (rt_recv(fd, &m, NULL) < 0)
		return -1;
	if (m.type != want) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int rt_fail(int sync_fd, enum rt_step step, int errnum, const char *detail)
{
	struct rt_msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_ERROR;
	m.step = step;
	m.errnum = errnum;
	rt_strlcpy(m.detail, detail, sizeof(m.detail));
	if (sync_fd < 0 || rt_send(sync_fd, &m, -1) < 0) {
		/* nobody listens (the `create` that made us is gone): tell our stderr */
		char line[RT_DETAIL_MAX + 96], num[16];
		rt_strlcpy(line, "hamn-runtime: ", sizeof(line));
		rt_strlcat(line, rt_step_name(step), sizeof(line));
		rt_strlcat(line, " '", sizeof(line));
		rt_strlcat(line, m.detail, sizeof(line));
		rt_strlcat(line, "': errno ", sizeof(line));
		rt_strlcat(line, rt_utoa((unsigned long)errnum, num, sizeof(num)), sizeof(line));
		rt_strlcat(line, "\n", sizeof(line));
		if (write(2, line, strlen(line)) < 0) {
			/* nothing more we can do */
		}
	}
	errno = errnum;
	return -1;
}

void rt_die(int sync_fd, enum rt_step step, int errnum, const char *detail)
{
	rt_fail(sync_fd, step, errnum, detail);
	_exit(127);
}

int rt_enter_cgroup(const struct rt_plan *p)
{
	for (char **t = p->cgroup_tasks; t && *t; t++) {
		int fd = open(*t, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1) {
			int saved = errno;
			if (fd >= 0)
				close(fd);
			return rt_fail(p->sync_fd, STEP_CGROUP_ENTER, saved, *t);
		}
		close(fd);
	}
	return 0;
}

/* ---- paths inside the root ---- */

int rt_open_in_root(int rootfd, const char *path, int flags, bool nofollow)
{
	struct hamn_open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0)),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	do
		fd = sys_openat2(rootfd, path, &how);
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	return fd;
}

/* Copy the first n bytes of path into buf (PATH_MAX) as a NUL-terminated prefix. */
static int prefix_of(const char *path, size_t n, char *buf, size_t size)
{
	if (n + 1 > size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

/* Create the last component `name` in dirfd (a directory, or an empty file). */
static int create_leaf(int dirfd, const char *name, bool as_file)
{
	if (!as_file)
		return mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
	int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 0;
}

/*
 * A component that is a symlink to something missing: continue with the link's target
 * (absolute, or relative to the component's directory) followed by the rest of the path.
 * Both are resolved inside the root again, so the result never leaves it.
 */
static int component_name(const char *path, size_t start, size_t end, char name[256])
{
	if (end - start >= 256 || end == start) {
		errno = end == start ? EINVAL : ENAMETOOLONG;
		return -1;
	}
	memcpy(name, path + start, end - start);
	name[end - start] = '\0';
	return 0;
}

/* Create path[start..end) in parent: a directory, or an empty file. */
static int create_component(int parent, const char *path, size_t start, size_t end, bool as_file)
{
	char name[256];

	if (component_name(path, start, end, name) < 0)
		return -1;
	return create_leaf(parent, name, as_file);
}

static int retarget(int parent, const char *path, size_t start, size_t i, char *out, size_t size)
{
	char link[4096], name[256];
	struct stat st;
	ssize_t n;

	if (component_name(path, start, i, name) < 0 ||
	    fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
		return -1;
	n = readlinkat(parent, name, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	out[0] = '\0';
	if (link[0] != '/') {
		if (prefix_of(path, start, out, size) < 0)
			return -1;
		rt_strlcat(out, "/", size);
	}
	if (rt_strlcat(out, link, size) >= size || rt_strlcat(out, path + i, size) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int mkpath(int rootfd, const char *path, bool as_file, bool nofollow, int depth)
{
	char buf[4096], next[4096];
	int parent = -1, fd;
	size_t i = 0, len;

	if (depth > 40) {
		errno = ELOOP;
		return -1;
	}
	while (*path == '/')
		path++;
	len = strlen(path);
	while (len && path[len - 1] == '/')
		len--;
	fd = rt_open_in_root(rootfd, path, O_PATH, nofollow);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* Walk prefix by prefix: each is resolved inside the root, then created in its parent. */
	parent = rt_open_in_root(rootfd, ".", O_PATH | O_DIRECTORY, false);
	if (parent < 0)
		return -1;
	while (i < len) {
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		bool last = i >= len;
		if (prefix_of(path, i, buf, sizeof(buf)) < 0)
			goto fail;
		fd = rt_open_in_root(rootfd, buf, O_PATH | (last ? 0 : O_DIRECTORY),
				     last && nofollow);
		if (fd < 0 && errno == ENOENT) {
			bool follow = !(last && nofollow);
			if (create_component(parent, path, start, i, last && as_file) < 0)
				goto fail;
			fd = rt_open_in_root(rootfd, buf, O_PATH | (last ? 0 : O_DIRECTORY),
					     !follow);
			if (fd < 0 && errno == ENOENT && follow) {
				if (retarget(parent, path, start, i, next, sizeof(next)) == 0) {
					close(parent);
					return mkpath(rootfd, next, as_file, nofollow, depth + 1);
				}
				errno = ENOENT;
			}
		}
		if (fd < 0)
			goto fail;
		close(parent);
		parent = fd;
		while (i < len && path[i] == '/')
			i++;
	}
	return parent;
fail:
	if (parent >= 0) {
		int saved = errno;
		close(parent);
		errno = saved;
	}
	return -1;
}

int rt_mkpath_in_root(int rootfd, const char *path, bool as_file, bool nofollow)
{
	return mkpath(rootfd, path, as_file, nofollow, 0);
}

/* ---- hooks ---- */

static int wait_child(pid_t pid, int pidfd, int timeout_s, int *status_out)
{
	int st;

	if (timeout_s > 0) {
		struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
		int r;
		do
			r = poll(&pfd, 1, timeout_s * 1000);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			errno = ETIMEDOUT;
			return -1;
		}
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	*status_out = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

int rt_run_hook(const struct rt_hook *h, const char *state, int *status_out)
{
	int sv[2], pidfd = -1, status = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = rt_clone(0, -1, &pidfd);
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		static char *const empty[] = {NULL};
		char *const fallback[] = {(char *)h->path, NULL};
		sigset_t none;
		sigemptyset(&none);
		/* the CLI blocks signals to forward them: a hook starts with none blocked */
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 0) < 0)
			_exit(126);
		execve(h->path, h->argv ? h->argv : fallback, h->envp ? h->envp : empty);
		_exit(127);
	}
	close(sv[1]);
	/* The hook may exit without reading: MSG_NOSIGNAL keeps SIGPIPE away. */
	size_t len = strlen(state), off = 0;
	while (off < len) {
		ssize_t n = send(sv[0], state + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(sv[0]);
	int r = wait_child(pid, pidfd, h->timeout, &status);
	int saved = errno;
	close(pidfd);
	errno = saved;
	if (r < 0)
		return -1;
	*status_out = status;
	if (status != 0) {
		errno = ECANCELED;
		return -1;
	}
	return 0;
}

/* ---- console ---- */

int rt_send_fd(int sock, int fd, const char *name)
{
	char payload[64];
	struct iovec iov = {.iov_base = payload, .iov_len = 0};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};

	iov.iov_len = rt_strlcpy(payload, name, sizeof(payload));
	memset(&u, 0, sizeof(u));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int rt_console_create(int devpts_fd, const struct rt_proc *proc, int sync_fd, int *peer_out)
{
	struct stat st;
	struct statfs sfs;
	int zero = 0, master, peer;

	/* Only the ptmx of a devpts instance we verified, never a path the image controls. */
	if (fstatfs(devpts_fd, &sfs) < 0)
		return -1;
	if (sfs.f_type != DEVPTS_SUPER_MAGIC) {
		errno = EXDEV;
		return -1;
	}
	master = openat(devpts_fd, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
	if (master < 0)
		return -1;
	if (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2)) {
		close(master);
		errno = ENOTTY;
		return -1;
	}
	if (ioctl(master, TIOCSPTLCK, &zero) < 0)
		goto fail;
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		goto fail;
	if (proc->console_rows || proc->console_cols) {
		struct winsize ws = {.ws_row = proc->console_rows, .ws_col = proc->console_cols};
		ioctl(peer, TIOCSWINSZ, &ws);
	}
	int r;
	if (proc->console_socket >= 0) {
		r = rt_send_fd(proc->console_socket, master, "/dev/ptmx");
	} else {
		struct rt_msg m;
		memset(&m, 0, sizeof(m));
		m.type = MSG_CONSOLE;
		r = rt_send(sync_fd, &m, master);
	}
	if (r < 0) {
		int saved = errno;
		close(peer);
		close(master);
		errno = saved;
		return -1;
	}
	close(master);
	*peer_out = peer;
	return 0;
fail:;
	int saved = errno;
	close(master);
	errno = saved;
	return -1;
}

/*
 * child.c - what runs in the container's processes between clone and
 * execve (async-signal-safe: syscalls only, no allocation).
 *
 * rt_child_init: the container's init. Waits for the parent (cgroup,
 * id maps, limits), sets up the namespaces' contents and the root
 * filesystem, reports ready, waits for start, then rt_proc_exec.
 * rt_child_join: a middle process for configs that join namespaces by
 * path: setns, unshare, then fork the init with CLONE_PARENT.
 * rt_child_exec: the same for `exec`: setns(pidfd) into the init's
 * namespaces, fork the new process (a new pid namespace only applies to
 * children).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/keyctl.h>

#include "base/base.h"
#include "base/syscalls.h"
#include "runtime/internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Handlers and the blocked mask come from the parent (the CLI blocks signals to forward them). */
static void reset_signals(void)
{
	sigset_t none;

	sys_reset_all_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void fill_hook_pid(struct rt_plan *p, pid_t pid)
{
	char num[16];

	if (!p->hook_state_buf || !p->hook_pid_off)
		return;
	rt_utoa((unsigned long)pid, num, sizeof(num));
	memcpy(p->hook_state_buf + p->hook_pid_off, num, strlen(num));
}

static void setup_stdio(const struct rt_proc *proc, int console, int sync)
{
	int fds[3];

	if (proc->setsid && setsid() < 0)
		rt_die(sync, STEP_STDIO, errno, "setsid");
	if (console >= 0) {
		if (ioctl(console, TIOCSCTTY, 0) < 0)
			rt_die(sync, STEP_STDIO, errno, "TIOCSCTTY");
		for (int i = 0; i < 3; i++)
			if (dup2(console, i) < 0)
				rt_die(sync, STEP_STDIO, errno, "console");
		return;
	}
	/* Move sources out of 0-2 first so one dup2 cannot clobber another's source. */
	for (int i = 0; i < 3; i++) {
		fds[i] = proc->stdio[i];
		if (fds[i] >= 0 && fds[i] < 3 && fds[i] != i)
			fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && fds[i] != i && dup2(fds[i], i) < 0)
			rt_die(sync, STEP_STDIO, errno, "dup2");
}

static void set_caps(const struct rt_proc *proc, int sync)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(proc->cap_effective >> (32 * i));
		data[i].permitted = (uint32_t)(proc->cap_permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(proc->cap_inheritable >> (32 * i));
	}
	if (sys_capset(&hdr, data) < 0)
		rt_die(sync, STEP_CAPS, errno, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		rt_die(sync, STEP_CAPS, errno, "clear ambient");
	for (int cap = 0; cap <= proc->cap_last && cap < 64; cap++)
		if ((proc->cap_ambient >> cap) & 1)
			if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				rt_die(sync, STEP_CAPS, errno, "raise ambient");
}

static void set_user(const struct rt_proc *proc, int sync)
{
	if (proc->has_caps) {
		for (int cap = 0; cap <= proc->cap_last && cap < 64; cap++)
			if (!((proc->cap_bounding >> cap) & 1) &&
			    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				rt_die(sync, STEP_CAPS, errno, "drop bounding set");
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			rt_die(sync, STEP_CAPS, errno, "keepcaps");
	}
	/* In a user namespace with setgroups denied, an empty list is already the state. */
	if (sys_setgroups(proc->n_groups, proc->groups) < 0 && !(errno == EPERM && !proc->n_groups))
		rt_die(sync, STEP_GROUPS, errno, "setgroups");
	if (sys_setresgid(proc->gid, proc->gid, proc->gid) < 0)
		rt_die(sync, STEP_USER, errno, "setresgid");
	if (sys_setresuid(proc->uid, proc->uid, proc->uid) < 0)
		rt_die(sync, STEP_USER, errno, "setresuid");
	if (proc->has_caps) {
		set_caps(proc, sync);
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
}

static void enter_cwd(const struct rt_proc *proc, int sync)
{
	char buf[4096];

	if (chdir(proc->cwd && *proc->cwd ? proc->cwd : "/") < 0)
		rt_die(sync, STEP_CWD, errno, proc->cwd);
	/*
	 * CVE-2024-21626: a cwd reached through a leaked fd (/proc/self/fd/N)
	 * lies outside our root, and getcwd() then is not an absolute path.
	 */
	if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
		rt_die(sync, STEP_CWD, EPERM,
		       "current working directory is outside of container root");
}

/* execvpe without allocation; returns the errno to report. */
static int exec_lookup(const struct rt_proc *proc)
{
	const char *file = proc->argv[0], *path = proc->path_env ? proc->path_env : DEFAULT_PATH;
	char buf[4096];
	int saved = ENOENT;

	if (strchr(file, '/')) {
		execve(file, proc->argv, proc->envp);
		return errno;
	}
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n && n + strlen(file) + 2 <= sizeof(buf)) {
			memcpy(buf, path, n);
			buf[n] = '/';
			rt_strlcpy(buf + n + 1, file, sizeof(buf) - n - 1);
			execve(buf, proc->argv, proc->envp);
			if (errno == EACCES)
				saved = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		path += n + (path[n] == ':');
	}
	return saved;
}

/*
 * Fail naming the limit and its values ("setrlimit RLIMIT_NOFILE soft=N hard=N"):
 * a NOFILE above fs.nr_open, or any limit raised above the hard one without
 * CAP_SYS_RESOURCE, gets EPERM. Async-signal-safe (we are a child of a fork).
 */
static void die_rlimit(int sync, int resource, const struct rlimit *rl) __attribute__((noreturn));

static void die_rlimit(int sync, int resource, const struct rlimit *rl)
{
	const char *name = hamn_oci_rlimit_name(resource);
	char detail[128] = "setrlimit ", num[24];
	int saved = errno;

	rt_strlcat(detail, name ? name : "?", sizeof(detail));
	rt_strlcat(detail, " soft=", sizeof(detail));
	rt_strlcat(detail, rl->rlim_cur == RLIM_INFINITY ? "unlimited"
				: rt_utoa(rl->rlim_cur, num, sizeof(num)), sizeof(detail));
	rt_strlcat(detail, " hard=", sizeof(detail));
	rt_strlcat(detail, rl->rlim_max == RLIM_INFINITY ? "unlimited"
				: rt_utoa(rl->rlim_max, num, sizeof(num)), sizeof(detail));
	rt_die(sync, STEP_USER, saved, detail);
}

void rt_proc_exec(const struct rt_proc *proc, int sync)
{
	int r;

	/* Without no_new_privs, seccomp needs CAP_SYS_ADMIN: load it before the caps go. */
	if (proc->seccomp && !proc->no_new_privs && (r = hamn_seccomp_load(proc->seccomp)) < 0)
		rt_die(sync, STEP_SECCOMP, -r, "seccomp");
	for (size_t i = 0; i < proc->n_rlimits; i++) {
		struct rlimit rl = {proc->rlimits[i].soft, proc->rlimits[i].hard};
		if (prlimit(0, proc->rlimits[i].resource, &rl, NULL) < 0)
			die_rlimit(sync, proc->rlimits[i].resource, &rl);
	}
	set_user(proc, sync);
	if (proc->has_umask)
		umask(proc->umask);
	enter_cwd(proc, sync);
	if (proc->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rt_die(sync, STEP_NNP, errno, "prctl");
	/* No fd of the runtime survives exec (CVE-2024-21626): mark every one >= 3. */
	if (sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		rt_die(sync, STEP_CLOSE_FDS, errno, "close_range");
	/* The very last step: nothing after this but execve. */
	if (proc->seccomp && proc->no_new_privs && (r = hamn_seccomp_load(proc->seccomp)) < 0)
		rt_die(sync, STEP_SECCOMP, -r, "seccomp");
	r = exec_lookup(proc);
	rt_die(sync, STEP_EXEC, r, proc->argv[0]);
}

/*
 * Can execve run dir/file (dir_len bytes of dir; relative paths from the
 * process's cwd)? 0 when it may (execve has the last word), ENOENT or EACCES
 * when it clearly cannot, -1 when the path does not fit.
 */
static int executable_at(const struct rt_proc *proc, const char *dir, size_t dir_len,
			 const char *file)
{
	char buf[4096], part[4096];
	struct stat st;

	buf[0] = '\0';
	if ((dir_len ? dir[0] : file[0]) != '/') {
		rt_strlcpy(buf, proc->cwd && *proc->cwd ? proc->cwd : "/", sizeof(buf));
		rt_strlcat(buf, "/", sizeof(buf));
	}
	if (dir_len >= sizeof(part))
		return -1;
	memcpy(part, dir, dir_len);
	part[dir_len] = '\0';
	rt_strlcat(buf, part, sizeof(buf));
	if (dir_len)
		rt_strlcat(buf, "/", sizeof(buf));
	if (rt_strlcat(buf, file, sizeof(buf)) >= sizeof(buf))
		return -1;
	if (stat(buf, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? ENOENT : -1;
	return S_ISDIR(st.st_mode) || !(st.st_mode & 0111) ? EACCES : 0;
}

/*
 * The init of `create` checks process.args[0] before it reports ready, as
 * runc does: a missing program then fails `create` with a message naming
 * it (which dockerd turns into exit code 127 or 126) instead of a container
 * that dies after `start` with nobody left to tell. Returns 0 or the errno.
 */
static int exec_precheck(const struct rt_proc *proc)
{
	const char *file = proc->argv[0], *path = proc->path_env ? proc->path_env : DEFAULT_PATH;
	int saved = ENOENT;

	if (strchr(file, '/')) {
		int r = executable_at(proc, "", 0, file);
		return r > 0 ? r : 0;
	}
	while (*path) {
		size_t n = strcspn(path, ":");
		int r = n ? executable_at(proc, path, n, file) : ENOENT;
		if (r == 0 || r < 0)
			return 0;
		if (r == EACCES)
			saved = EACCES;
		path += n + (path[n] == ':');
	}
	return saved;
}

/* capset() refuses permitted bits we lack ourselves: tell `create` instead of failing later. */
static int caps_precheck(const struct rt_proc *proc)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	uint64_t have;

	if (!proc->has_caps)
		return 0;
	memset(data, 0, sizeof(data));
	if (sys_capget(&hdr, data) < 0)
		return 0; /* capset will say what is wrong */
	have = data[0].permitted | (uint64_t)data[1].permitted << 32;
	return (proc->cap_permitted | proc->cap_effective) & ~have ? EPERM : 0;
}

/* In the init: wait until someone opens the exec fifo for reading (hamn-runtime start). */
static void wait_fifo(const struct rt_plan *p)
{
	char path[64], num[16];
	int proc, fd;

	/* Reopen through a procfs of our own: the container's /proc may be absent or hostile. */
	proc = sys_fsopen("proc", FSOPEN_CLOEXEC);
	if (proc >= 0) {
		int mnt = -1;
		if (sys_fsconfig(proc, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
			mnt = sys_fsmount(proc, FSMOUNT_CLOEXEC, 0);
		close(proc);
		proc = mnt;
	}
	if (proc < 0)
		rt_die(-1, STEP_START_WAIT, errno, "procfs");
	rt_strlcpy(path, "self/fd/", sizeof(path));
	rt_strlcat(path, rt_utoa((unsigned long)p->exec_fifo, num, sizeof(num)), sizeof(path));
	do
		fd = openat(proc, path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		_exit(127);
	close(proc);
	if (write(fd, "0", 1) != 1)
		_exit(127);
	close(fd);
}

static void become_root_in_userns(int sync)
{
	if (sys_setresgid(0, 0, 0) < 0 || sys_setresuid(0, 0, 0) < 0)
		rt_die(sync, STEP_USERNS_ROOT, errno, "setresuid");
}

int rt_wait_cgroup(const struct rt_plan *p, bool *ready)
{
	if (*ready)
		return 0;
	if (rt_expect(p->sync_fd, MSG_CGROUP) < 0)
		_exit(127); /* the parent failed and reports it */
	*ready = true;
	if (p->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		return rt_fail(p->sync_fd, STEP_CGROUPNS, errno, "unshare");
	return 0;
}

static void init_namespaces(const struct rt_plan *p, int sync)
{
	if (p->new_userns)
		become_root_in_userns(sync);
	if (p->new_keyring && sys_keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) < 0 &&
	    errno != ENOSYS && errno != EPERM && errno != EDQUOT)
		rt_die(sync, STEP_KEYRING, errno, "keyctl");
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		rt_die(sync, STEP_HOSTNAME, errno, p->hostname);
	if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
		rt_die(sync, STEP_DOMAINNAME, errno, p->domainname);
}

void rt_child_init(struct rt_plan *p)
{
	int sync = p->sync_fd, console = -1;
	bool cgroup_ready = false;
	struct rt_msg m;

	reset_signals();
	rt_close_other_fds(p);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Until execve, nothing in the container may look at us through /proc. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (rt_recv(sync, &m, NULL) < 0 || m.type != MSG_GO)
		_exit(127);
	if (rt_enter_cgroup(p) < 0)
		_exit(127);
	fill_hook_pid(p, m.pid);
	init_namespaces(p, sync);
	if (rt_rootfs_setup(p, &cgroup_ready, &console) < 0 || rt_wait_cgroup(p, &cgroup_ready) < 0)
		_exit(127);
	/*
	 * The container's stdio before READY, as runc does: `create` exits after
	 * READY, and a caller reading its stdout to EOF (containerd's shim with a
	 * terminal) must not wait for the init to let go of it at `start`.
	 */
	setup_stdio(&p->proc, console, sync);
	if (p->exec_fifo >= 0) {
		int r = caps_precheck(&p->proc);
		if (r)
			rt_die(sync, STEP_CAPS, r, "capset");
		r = exec_precheck(&p->proc);
		if (r)
			rt_die(sync, STEP_EXEC, r, p->proc.argv[0]);
		/* `create` exits after READY; the init must outlive it. */
		prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	if (rt_send(sync, &m, -1) < 0)
		_exit(127);
	if (p->exec_fifo >= 0)
		wait_fifo(p);
	else if (rt_expect(sync, MSG_START) < 0)
		_exit(127);
	/* Started: the container no longer depends on the process that created it. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	for (size_t i = 0; i < p->n_start_container; i++) {
		int status;
		if (rt_run_hook(&p->hooks_start_container[i], p->hook_state, &status) < 0)
			rt_die(sync, STEP_HOOK, errno, p->hooks_start_container[i].path);
	}
	rt_proc_exec(&p->proc, sync);
}

static void send_pid(int sync, int type, pid_t pid)
{
	struct rt_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.pid = pid;
	if (rt_send(sync, &m, -1) < 0)
		_exit(127);
}

void rt_child_join(struct rt_plan *p)
{
	static const int order[] = {HAMN_OCI_NS_USER,	 HAMN_OCI_NS_IPC,  HAMN_OCI_NS_UTS,
				    HAMN_OCI_NS_NETWORK, HAMN_OCI_NS_PID,  HAMN_OCI_NS_CGROUP,
				    HAMN_OCI_NS_TIME,	 HAMN_OCI_NS_MOUNT};
	int sync = p->sync_fd;
	pid_t pid;

	reset_signals();
	rt_close_other_fds(p);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int fd = p->join_fd[order[i]];
		if (fd >= 0 && setns(fd, 0) < 0)
			rt_die(sync, STEP_SETNS, errno, hamn_oci_ns_name(order[i]));
	}
	if (p->clone_flags && unshare((int)p->clone_flags) < 0)
		rt_die(sync, STEP_UNSHARE, errno, "unshare");
	if (p->new_userns) {
		send_pid(sync, MSG_MAPS, getpid());
		if (rt_expect(sync, MSG_MAPS_DONE) < 0)
			_exit(127);
		become_root_in_userns(sync);
	}
	pid = rt_clone(CLONE_PARENT, -1, NULL);
	if (pid < 0)
		rt_die(sync, STEP_FORK, errno, "clone");
	if (pid == 0)
		rt_child_init(p);
	send_pid(sync, MSG_PID, pid);
	_exit(0);
}

void rt_child_exec(struct rt_plan *p)
{
	int sync = p->sync_fd, console = -1;
	pid_t pid;

	reset_signals();
	rt_close_other_fds(p);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (rt_expect(sync, MSG_GO) < 0 || rt_enter_cgroup(p) < 0)
		_exit(127);
	/* One call joins them all, the user namespace first, as the kernel orders it. */
	if (p->setns_flags && setns(p->target_pidfd, (int)p->setns_flags) < 0)
		rt_die(sync, STEP_SETNS, errno, "setns");
	pid = rt_clone(CLONE_PARENT, -1, NULL);
	if (pid < 0)
		rt_die(sync, STEP_FORK, errno, "clone");
	if (pid > 0) {
		send_pid(sync, MSG_PID, pid);
		_exit(0);
	}
	if (p->proc.terminal) {
		int pts = rt_open_in_root(AT_FDCWD, "/dev/pts", O_PATH | O_DIRECTORY, false);
		if (pts < 0 || rt_console_create(pts, &p->proc, sync, &console) < 0)
			rt_die(sync, STEP_CONSOLE, errno, "/dev/pts/ptmx");
		close(pts);
	}
	setup_stdio(&p->proc, console, sync);
	rt_proc_exec(&p->proc, sync);
}

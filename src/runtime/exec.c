/*
 * exec.c - start an extra process in a running container.
 *
 * A middle process (cloned into the container's cgroup) joins every
 * namespace of the init that differs from ours with one
 * setns(pidfd, flags) call, the kernel ordering the user namespace first,
 * then forks the new process with CLONE_PARENT so it is our child and
 * lives in the container's pid namespace. That process takes the
 * process's user, capabilities, no_new_privs, rlimits and the container's
 * seccomp filter exactly as an init would (rt_proc_exec).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/syscalls.h"
#include "runtime/internal.h"

/* The CLONE_NEW* flags of the namespaces where pid's differ from ours. */
static unsigned long ns_diff(pid_t pid)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} ns[] = {
		{"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},    {"pid", CLONE_NEWPID},
		{"net", CLONE_NEWNET},	     {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
		{"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
	};
	unsigned long flags = 0;
	char path[64];

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		struct stat a, b;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns[i].name);
		if (stat(path, &a) < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i].name);
		if (stat(path, &b) < 0)
			continue;
		if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			flags |= ns[i].flag;
	}
	return flags;
}

static struct rt_plan *exec_plan(const struct hamn_runtime_exec_target *t,
				 const struct hamn_oci_process *process,
				 const struct hamn_runtime_stdio *stdio, struct hamn_error **err)
{
	struct rt_plan *p = xzalloc(sizeof(*p));

	for (int i = 0; i < HAMN_OCI_NS_N_TYPES; i++)
		p->join_fd[i] = -1;
	p->exec_fifo = p->target_pidfd = p->sync_fd = p->parent_sync_fd = -1;
	if (rt_proc_from_oci(process, &p->proc, &p->env_store, err) < 0)
		goto fail;
	if (t->seccomp_prog) {
		p->proc.seccomp = t->seccomp_prog;
	} else if (t->spec->linux.seccomp) {
		if (hamn_seccomp_compile(t->spec->linux.seccomp, &p->prog, err) < 0)
			goto fail;
		p->proc.seccomp = p->prog;
	}
	if (stdio) {
		for (int i = 0; i < 3; i++)
			p->proc.stdio[i] = stdio->fds[i];
		p->proc.console_socket = stdio->console_socket;
	}
	p->proc.setsid = process->terminal;
	p->setns_flags = ns_diff(t->init_pid);
	return p;
fail:
	rt_plan_free(p);
	return NULL;
}

/* After the new process's pid arrived: EOF means it exec'd; it may first send its pty. */
static int exec_result(int sock, pid_t pid, int *console_out, struct hamn_error **err)
{
	struct rt_msg m;
	int fd = -1;

	for (;;) {
		if (rt_recv(sock, &m, &fd) < 0) {
			if (errno == EPIPE)
				return 0;
			return hamn_error_set(err, errno, "read from process");
		}
		if (m.type == MSG_CONSOLE && console_out && *console_out < 0) {
			*console_out = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (m.type == MSG_ERROR) {
			int st;
			rt_error_from_msg(&m, err);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
	}
}

static int exec_steps(const struct hamn_runtime_exec_target *t, struct rt_plan *p, int sock,
		      int csock, pid_t *pid_out, int *console_out, struct hamn_error **err)
{
	int cgfd = t->cgroup ? hamn_cgroup_dirfd(t->cgroup) : -1, st;
	struct rt_msg m;
	pid_t mid;

	p->sync_fd = csock;
	p->parent_sync_fd = sock;
	if (cgfd < 0)
		rt_plan_cgroup_tasks(p, t->cgroup);
	rt_plan_seal(p);
	mid = rt_clone(0, cgfd, NULL);
	if (mid < 0 && cgfd >= 0) {
		cgfd = -1;
		mid = rt_clone(0, -1, NULL);
	}
	if (mid < 0) {
		close(csock);
		return hamn_error_set(err, errno, "clone");
	}
	if (mid == 0)
		rt_child_exec(p);
	close(csock);
	memset(&m, 0, sizeof(m));
	m.type = MSG_GO;
	int r = 0;
	if (t->cgroup && cgfd < 0 && !p->cgroup_tasks)
		r = hamn_cgroup_enter(t->cgroup, mid, err);
	if (r == 0 && rt_send(sock, &m, -1) < 0)
		r = hamn_error_set(err, errno, "sync with process");
	if (r == 0)
		r = rt_wait_msg(sock, MSG_PID, &m, console_out, err);
	if (r < 0)
		kill(mid, SIGKILL);
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -1;
	*pid_out = m.pid;
	return exec_result(sock, m.pid, console_out, err);
}

int hamn_runtime_exec(const struct hamn_runtime_exec_target *t,
		      const struct hamn_oci_process *process,
		      const struct hamn_runtime_stdio *stdio, pid_t *pid_out, int *console_out,
		      struct hamn_error **err)
{
	struct rt_plan *p;
	int sv[2], console = -1, r;

	p = exec_plan(t, process, stdio, err);
	if (!p)
		return -1;
	p->target_pidfd = t->init_pidfd >= 0 ? t->init_pidfd : sys_pidfd_open(t->init_pid, 0);
	if (p->target_pidfd < 0) {
		r = hamn_error_set(err, errno, "pidfd of %d", (int)t->init_pid);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = hamn_error_set(err, errno, "socketpair");
		goto out;
	}
	r = exec_steps(t, p, sv[0], sv[1], pid_out, &console, err);
	close(sv[0]);
	if (console_out)
		*console_out = console;
	else if (console >= 0)
		close(console);
out:
	if (p->target_pidfd >= 0 && p->target_pidfd != t->init_pidfd)
		close(p->target_pidfd);
	p->target_pidfd = -1;
	rt_plan_free(p);
	return r;
}

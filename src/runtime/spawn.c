/*
 * spawn.c - the parent half of starting a container, and the handle the
 * engine (and the CLI's run) drive it with.
 *
 * The parent creates the cgroup, clones the init straight into its new
 * namespaces (clone3, with CLONE_INTO_CGROUP on v2), writes id maps and
 * limits, then answers the child's messages on the sync socket until it
 * reports ready. No helper program is executed and nothing sleeps: every
 * wait is a blocking read on the socket or on a pidfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/syscalls.h"
#include "runtime/internal.h"

struct hamn_container_handle {
	const struct hamn_oci_spec *spec;
	struct hamn_oci_spec *owned_spec;
	char *id;
	char *bundle;
	pid_t pid;
	int pidfd;
	int sync;    /* parent end of the sync socket until started */
	int console; /* pty master when no console socket was given */
	struct hamn_cgroup *cg;
	bool ours; /* the init is our child: we reap it */
	bool reaped;
	int status;
};

pid_t rt_clone(uint64_t flags, int cgroup_fd, int *pidfd_out)
{
	struct hamn_clone_args a;
	int pidfd = -1;

	memset(&a, 0, sizeof(a));
	a.flags = flags;
	/* clone3 refuses an exit signal with CLONE_PARENT; the child then inherits ours. */
	a.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
	if (pidfd_out) {
		a.flags |= CLONE_PIDFD;
		a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	}
	if (cgroup_fd >= 0) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)cgroup_fd;
	}
	pid_t pid = sys_clone3(&a);
	if (pid > 0 && pidfd_out)
		*pidfd_out = pidfd;
	return pid;
}

int rt_error_from_msg(const struct rt_msg *m, struct hamn_error **err)
{
	/*
	 * runc's wording for a program that cannot be run: engines match these
	 * phrases (dockerd and the docker CLI turn them into exit code 127 or 126).
	 */
	if (m->step == STEP_EXEC && m->errnum == ENOENT && strchr(m->detail, '/'))
		return hamn_error_setq(err, ENOENT,
				       "exec: \"%s\": stat %s: no such file or directory",
				       m->detail, m->detail);
	if (m->step == STEP_EXEC && m->errnum == ENOENT)
		return hamn_error_setq(
			err, ENOENT, "exec: \"%s\": executable file not found in $PATH", m->detail);
	if (m->step == STEP_EXEC && m->errnum == EACCES)
		return hamn_error_setq(err, EACCES, "exec: \"%s\": permission denied", m->detail);
	if (m->detail[0])
		return hamn_error_set(err, m->errnum, "%s '%s'", rt_step_name(m->step), m->detail);
	return hamn_error_set(err, m->errnum, "%s", rt_step_name(m->step));
}

int rt_wait_msg(int fd, int want, struct rt_msg *m, int *fd_out, struct hamn_error **err)
{
	int got = -1;

	for (;;) {
		if (rt_recv(fd, m, &got) < 0) {
			if (errno == EPIPE)
				return hamn_error_set(err, EPIPE,
						      "container process exited during set up");
			return hamn_error_set(err, errno, "read from container process");
		}
		if (m->type == MSG_ERROR)
			return rt_error_from_msg(m, err);
		if (m->type == MSG_CONSOLE && want != MSG_CONSOLE) {
			if (fd_out && *fd_out < 0)
				*fd_out = got;
			else if (got >= 0)
				close(got);
			continue;
		}
		if (got >= 0)
			close(got);
		if (m->type != want)
			return hamn_error_set(err, EPROTO,
					      "unexpected message %d from container process",
					      m->type);
		return 0;
	}
}

static int write_proc_file(pid_t pid, const char *name, const char *text, struct hamn_error **err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return hamn_error_set(err, errno, "write '%s'", path);
	return 0;
}

int rt_write_id_maps(pid_t pid, const char *uid_map, const char *gid_map, struct hamn_error **err)
{
	if (write_proc_file(pid, "uid_map", uid_map, err) < 0 ||
	    write_proc_file(pid, "gid_map", gid_map, err) < 0)
		return hamn_error_wrap(err, "user namespace mappings");
	return 0;
}

int rt_apply_limits(pid_t pid, const struct hamn_oci_process *proc, struct hamn_error **err)
{
	char num[24];

	if (!proc || !proc->has_oom_score_adj)
		return 0;
	snprintf(num, sizeof(num), "%d", proc->oom_score_adj);
	return write_proc_file(pid, "oom_score_adj", num, err);
}

/* ---- the handle ---- */

pid_t hamn_container_handle_pid(const struct hamn_container_handle *h)
{
	return h->pid;
}

int hamn_container_handle_pidfd(const struct hamn_container_handle *h)
{
	return h->pidfd;
}

int hamn_container_handle_console_fd(const struct hamn_container_handle *h)
{
	return h->console;
}

struct hamn_cgroup *hamn_container_handle_cgroup(const struct hamn_container_handle *h)
{
	return h->cg;
}

void hamn_container_handle_detach(struct hamn_container_handle *h)
{
	h->ours = false;
}

void hamn_container_handle_free(struct hamn_container_handle *h)
{
	if (!h)
		return;
	if (h->pidfd >= 0)
		close(h->pidfd);
	if (h->sync >= 0)
		close(h->sync);
	if (h->console >= 0)
		close(h->console);
	if (h->cg)
		hamn_cgroup_free(h->cg);
	free(h->id);
	free(h->bundle);
	hamn_oci_spec_free(h->owned_spec);
	free(h);
}

void rt_handle_own_spec(struct hamn_container_handle *h, struct hamn_oci_spec *spec)
{
	h->owned_spec = spec;
}

static void kill_and_reap(struct hamn_container_handle *h)
{
	int st;

	if (h->pid <= 0 || h->reaped)
		return;
	if (h->pidfd >= 0)
		sys_pidfd_send_signal(h->pidfd, SIGKILL, NULL, 0);
	else
		kill(h->pid, SIGKILL);
	if (h->ours) {
		while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
			;
		h->reaped = true;
	}
}

/* Poll the cgroup removal: processes may take a moment to leave after SIGKILL. */
static int destroy_cgroup(struct hamn_cgroup *cg, struct hamn_error **err)
{
	for (int i = 0;; i++) {
		struct hamn_error *e = NULL;
		if (hamn_cgroup_destroy(cg, &e) == 0)
			return 0;
		if (e->errnum != EBUSY || i >= 200) {
			hamn_error_propagate(err, &e);
			return -1;
		}
		hamn_error_free(&e);
		if (i == 0)
			hamn_cgroup_kill_all(cg, SIGKILL, NULL);
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Undo a half-made container: no process, cgroup or mount may stay behind. */
static void spawn_cleanup(struct hamn_container_handle *h)
{
	kill_and_reap(h);
	if (h->cg) {
		struct hamn_error *e = NULL;
		if (destroy_cgroup(h->cg, &e) < 0)
			log_warn("cannot remove cgroup of '%s': %s", h->id, e->msg);
		hamn_error_free(&e); /* best effort: the original error matters more */
	}
}

static int run_parent_hooks(struct hamn_container_handle *h, struct hamn_error **err)
{
	_cleanup_free_ char *state =
		rt_state_text(h->id, HAMN_OCI_CREATED, h->pid, h->bundle, h->spec);

	if (rt_run_hooks(h->spec, HAMN_OCI_HOOK_PRESTART, state, err) < 0 ||
	    rt_run_hooks(h->spec, HAMN_OCI_HOOK_CREATE_RUNTIME, state, err) < 0)
		return -1;
	struct rt_msg m = {.type = MSG_HOOKS_DONE};
	if (rt_send(h->sync, &m, -1) < 0)
		return hamn_error_set(err, errno, "sync with container process");
	return 0;
}

/* Clone through a middle process that joins namespaces by path; returns the init's pid. */
static int clone_joined(struct hamn_container_handle *h, struct rt_plan *p, int cgfd,
			struct hamn_error **err)
{
	struct rt_msg m;
	pid_t mid = rt_clone(0, cgfd, NULL);
	int st, r = -1;

	if (mid < 0)
		return hamn_error_set(err, errno, "clone");
	if (mid == 0)
		rt_child_join(p);
	for (;;) {
		if (rt_recv(h->sync, &m, NULL) < 0) {
			hamn_error_set(err, errno == EPIPE ? EPIPE : errno, "join namespaces");
			break;
		}
		if (m.type == MSG_ERROR) {
			rt_error_from_msg(&m, err);
			break;
		}
		if (m.type == MSG_MAPS) {
			if (rt_write_id_maps(m.pid, p->uid_map, p->gid_map, err) < 0)
				break;
			struct rt_msg d = {.type = MSG_MAPS_DONE};
			rt_send(h->sync, &d, -1);
			continue;
		}
		if (m.type == MSG_PID) {
			h->pid = m.pid;
			h->pidfd = sys_pidfd_open(h->pid, 0);
			r = h->pidfd < 0 ? hamn_error_set(err, errno, "pidfd_open") : 0;
			break;
		}
	}
	if (r < 0)
		kill(mid, SIGKILL);
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	return r;
}

static int clone_init(struct hamn_container_handle *h, struct rt_plan *p, int csock,
		      struct hamn_error **err)
{
	int cgfd = hamn_cgroup_dirfd(h->cg);

	p->sync_fd = csock;
	p->parent_sync_fd = h->sync;
	rt_plan_seal(p);
	if (p->intermediate)
		return clone_joined(h, p, cgfd, err);
	h->pid = rt_clone(p->clone_flags, cgfd, &h->pidfd);
	if (h->pid < 0 && cgfd >= 0 && (errno == EBUSY || errno == EOPNOTSUPP)) {
		cgfd = -1; /* not a leaf we can clone into: enter it after the fact */
		h->pid = rt_clone(p->clone_flags, -1, &h->pidfd);
	}
	if (h->pid < 0)
		return hamn_error_set(err, errno, "clone");
	if (h->pid == 0)
		rt_child_init(p);
	if (p->new_userns && rt_write_id_maps(h->pid, p->uid_map, p->gid_map, err) < 0)
		return -1;
	return 0;
}

static int spawn_steps(struct hamn_container_handle *h, struct rt_plan *p,
		       const struct hamn_oci_resources *res, struct hamn_error **err)
{
	int sv[2];
	struct rt_msg m;

	if (hamn_cgroup_create(h->cg, res, err) < 0)
		return -1;
	rt_plan_cgroup_tasks(p, h->cg);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hamn_error_set(err, errno, "socketpair");
	h->sync = sv[0];
	int r = clone_init(h, p, sv[1], err);
	close(sv[1]);
	if (r < 0)
		return -1;
	/*
	 * GO first: the child sets up its mounts while we move it into its cgroup, which on
	 * cgroup v1 waits for an RCU grace period (milliseconds). It waits for MSG_CGROUP only
	 * where it needs the cgroup (the /sys/fs/cgroup mount, a cgroup namespace, ready).
	 */
	memset(&m, 0, sizeof(m));
	m.type = MSG_GO;
	m.pid = h->pid;
	if (rt_send(h->sync, &m, -1) < 0)
		return hamn_error_set(err, errno, "sync with container process");
	if (!p->cgroup_tasks && hamn_cgroup_dirfd(h->cg) < 0 &&
	    hamn_cgroup_enter(h->cg, h->pid, err) < 0)
		return -1;
	if (rt_apply_limits(h->pid, h->spec->process, err) < 0)
		return -1;
	m.type = MSG_CGROUP;
	if (rt_send(h->sync, &m, -1) < 0)
		return hamn_error_set(err, errno, "sync with container process");
	for (;;) {
		if (rt_wait_msg(h->sync, p->parent_hooks ? MSG_HOOKS : MSG_READY, &m, &h->console,
				err) < 0)
			return -1;
		if (m.type == MSG_READY)
			return 0;
		if (run_parent_hooks(h, err) < 0)
			return -1;
		p->parent_hooks = false;
	}
}

/* bundle/root.path, or opts->rootfs, as a canonical absolute path. */
static char *resolve_rootfs(const struct hamn_oci_spec *spec,
			    const struct hamn_runtime_spawn_opts *o, struct hamn_error **err)
{
	_cleanup_free_ char *joined = NULL;
	const char *r = o->rootfs;
	char buf[PATH_MAX];

	if (!r) {
		if (!spec->root_path)
			return hamn_error_set(err, EINVAL, "root.path is missing"), NULL;
		r = spec->root_path;
		if (r[0] != '/')
			r = joined = xasprintf("%s/%s", o->bundle ? o->bundle : ".", r);
	}
	if (!realpath(r, buf))
		return hamn_error_set(err, errno, "rootfs '%s'", r), NULL;
	return xstrdup(buf);
}

int hamn_runtime_spawn(const struct hamn_oci_spec *spec, const struct hamn_runtime_spawn_opts *o,
		       struct hamn_container_handle **out, struct hamn_error **err)
{
	_cleanup_free_ struct hamn_oci_device_rule *rules = NULL;
	_cleanup_free_ struct hamn_oci_resources *res = NULL;
	_cleanup_free_ char *rootfs = NULL;
	struct rt_plan *p = NULL;
	struct hamn_container_handle *h;

	if (!spec->process)
		return hamn_error_set(err, EINVAL, "create '%s': config has no process", o->id);
	rootfs = resolve_rootfs(spec, o, err);
	if (!rootfs)
		return hamn_error_wrap(err, "create '%s'", o->id);
	p = rt_plan_new(spec, rootfs, o, err);
	if (!p)
		return hamn_error_wrap(err, "create '%s'", o->id);
	h = xzalloc(sizeof(*h));
	h->spec = spec;
	h->id = xstrdup(o->id);
	h->bundle = o->bundle ? xstrdup(o->bundle) : NULL;
	h->pidfd = h->sync = h->console = -1;
	h->ours = true;
	h->cg = hamn_cgroup_new(o->id, spec->linux.cgroups_path, err);
	res = rt_resources_with_devices(spec, &rules);
	if (!h->cg || spawn_steps(h, p, res, err) < 0) {
		spawn_cleanup(h);
		hamn_container_handle_free(h);
		rt_plan_free(p);
		return hamn_error_wrap(err, "create '%s'", o->id);
	}
	rt_plan_free(p);
	*out = h;
	return 0;
}

int hamn_container_handle_start(struct hamn_container_handle *h, struct hamn_error **err)
{
	struct rt_msg m = {.type = MSG_START};

	if (h->sync < 0)
		return hamn_error_set(err, EINVAL, "start '%s': already started", h->id);
	if (rt_send(h->sync, &m, -1) < 0)
		return hamn_error_set(err, errno, "start '%s'", h->id);
	/* The socket is close-on-exec: end of file means execve succeeded. */
	int r = rt_recv(h->sync, &m, NULL);
	close(h->sync);
	h->sync = -1;
	if (r == 0 && m.type == MSG_ERROR) {
		rt_error_from_msg(&m, err);
		return hamn_error_wrap(err, "start '%s'", h->id);
	}
	if (r < 0 && errno != EPIPE)
		return hamn_error_set(err, errno, "start '%s'", h->id);
	_cleanup_free_ char *state =
		rt_state_text(h->id, HAMN_OCI_RUNNING, h->pid, h->bundle, h->spec);
	struct hamn_error *e = NULL;
	if (rt_run_hooks(h->spec, HAMN_OCI_HOOK_POSTSTART, state, &e) < 0) {
		/* The spec: a failing poststart hook is a warning, the container keeps running. */
		log_warn("poststart hook of '%s': %s", h->id, e->msg);
		hamn_error_free(&e);
	}
	return 0;
}

int hamn_runtime_wait_pid(pid_t pid, int *status, struct hamn_error **err)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return hamn_error_set(err, errno, "wait for %d", (int)pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

int hamn_container_handle_wait(struct hamn_container_handle *h, int *status,
			       struct hamn_error **err)
{
	if (h->reaped) {
		*status = h->status;
		return 0;
	}
	if (!h->ours)
		return hamn_error_set(err, ECHILD, "wait '%s': not our child", h->id);
	if (hamn_runtime_wait_pid(h->pid, &h->status, err) < 0)
		return -1;
	h->reaped = true;
	*status = h->status;
	return 0;
}

int hamn_container_handle_kill(struct hamn_container_handle *h, int sig, bool all,
			       struct hamn_error **err)
{
	if (all) {
		if (hamn_cgroup_kill_all(h->cg, sig, err) < 0)
			return hamn_error_wrap(err, "kill '%s'", h->id);
		return 0;
	}
	if (h->reaped)
		return hamn_error_set(err, ESRCH, "kill '%s': container is not running", h->id);
	if (sys_pidfd_send_signal(h->pidfd, sig, NULL, 0) < 0)
		return hamn_error_set(err, errno, "kill '%s'", h->id);
	return 0;
}

int hamn_container_handle_destroy(struct hamn_container_handle *h, struct hamn_error **err)
{
	kill_and_reap(h);
	if (h->cg && destroy_cgroup(h->cg, err) < 0)
		return hamn_error_wrap(err, "delete '%s'", h->id);
	_cleanup_free_ char *state =
		rt_state_text(h->id, HAMN_OCI_STOPPED, h->pid, h->bundle, h->spec);
	struct hamn_error *e = NULL;
	if (rt_run_hooks(h->spec, HAMN_OCI_HOOK_POSTSTOP, state, &e) < 0) {
		log_warn("poststop hook of '%s': %s", h->id, e->msg);
		hamn_error_free(&e); /* the spec makes this a warning */
	}
	return 0;
}

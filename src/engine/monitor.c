/*
 * monitor.c - the per-container monitor: set-up, spawn, exit.
 *
 * A monitor is forked from the zygote (zygote.c) with a launch request from
 * hamnd. It makes itself a session leader outside every container cgroup
 * (it stays in hamnd's cgroup: a container that runs out of memory can
 * never take its monitor down, cri-o CVE-2019-14891), sets its
 * oom_score_adj to -999, enters a private mount namespace (slave of the
 * host's) and mounts the overlay rootfs there, so the host's mount table
 * never shows it and nothing leaks when hamnd or the monitor is killed.
 * It resolves the user in the rootfs, creates the working directory,
 * spawns the container through src/runtime with pipes (or a pty) as its
 * stdio, releases it, and reports STARTED (or START_FAILED) to hamnd.
 *
 * Then it serves (monitor_io.c) until the container exits, records the
 * exit in exit.json (atomically: written before anyone is told), tells
 * every connected hamnd, flushes and closes its clients, and exits. It
 * never execs anything and keeps no copy of hamnd's heap (the zygote is
 * small), so its footprint stays near conmon's.
 */
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/syscalls.h"
#include "engine/monitor.h"
#include "engine/user.h"
#include "runtime/cgroup.h"

#define OVERLAY_DATA_MAX 4000

static void mon_die(struct mon *m, int errnum, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

/* Report a failure before the container ran, and exit. */
static void mon_die(struct mon *m, int errnum, int code, const char *fmt, ...)
{
	struct mon_msg msg = { .type = MON_START_FAILED, .code = errnum, .pid = code };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg.text, sizeof(msg.text), fmt, ap);
	va_end(ap);
	mon_broadcast(m, &msg);
	if (m->h) {
		_cleanup_error_ struct hamn_error *err = NULL;

		hamn_container_handle_destroy(m->h, &err);
	}
	if (m->listen_fd >= 0)
		unlinkat(m->exec_dirfd, "monitor.sock", 0);
	_exit(1);
}

static void mon_process_setup(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	sigset_t none;

	setsid();
	prctl(PR_SET_NAME, "hamn-monitor", 0, 0, 0);
	/* stdio to /dev/null: a test harness must not wait on our copy of hamnd's stderr */
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	sigaction(SIGCHLD, &dfl, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGTERM, &ign, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	{
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, "-999", 4) < 0) {
				/* not privileged enough: the kernel's default is fine too */
			}
			close(fd);
		}
	}
}

static const char *req_str(json_t *req, const char *key)
{
	const char *s = json_string_value(json_object_get(req, key));

	return s ? s : "";
}

static void mon_open_dirs(struct mon *m)
{
	m->ctr_dirfd = open(req_str(m->req, "ctr_dir"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	m->exec_dirfd = open(req_str(m->req, "exec_dir"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->ctr_dirfd < 0 || m->exec_dirfd < 0)
		mon_die(m, errno, 128, "monitor: open the container directories: %s",
			strerror(errno));
}

/* Make lower paths relative to root when the mount data would not fit a page. */
static char *overlay_data(const char *lower, const char *ctr_dir, const char *root, bool *rel)
{
	char *data = xasprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, ctr_dir,
			       ctr_dir);
	size_t rl = strlen(root);
	struct hamn_buf b = HAMN_BUF_INIT;
	_cleanup_strv_ char **parts = NULL;

	*rel = false;
	if (strlen(data) < OVERLAY_DATA_MAX || !str_has_prefix(ctr_dir, root))
		return data;
	free(data);
	parts = str_split(lower, ':');
	for (size_t i = 0; parts[i]; i++) {
		const char *p = parts[i];

		if (str_has_prefix(p, root) && p[rl] == '/')
			p += rl + 1;
		hamn_buf_puts(&b, i ? ":" : "lowerdir=");
		hamn_buf_puts(&b, p);
	}
	hamn_buf_printf(&b, ",upperdir=%s/upper,workdir=%s/work", ctr_dir + rl + 1, ctr_dir + rl + 1);
	*rel = true;
	return hamn_buf_steal(&b);
}

static void mon_mount_rootfs(struct mon *m)
{
	const char *ctr_dir = req_str(m->req, "ctr_dir"), *root = req_str(m->req, "root");
	const char *lower = req_str(m->req, "lower");
	_cleanup_free_ char *empty = NULL, *data = NULL;
	bool rel;

	if (unshare(CLONE_NEWNS) < 0)
		mon_die(m, errno, 128, "monitor: unshare the mount namespace: %s", strerror(errno));
	/* receive the host's mounts, never send ours back */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		mon_die(m, errno, 128, "monitor: make / a slave: %s", strerror(errno));
	if (!lower[0]) {
		/* an image without layers: overlay still wants a lower dir */
		empty = xasprintf("%s/empty", ctr_dir);
		mkdir(empty, 0755);
		lower = empty;
	}
	data = overlay_data(lower, ctr_dir, root, &rel);
	if (rel && chdir(root) < 0)
		mon_die(m, errno, 128, "monitor: chdir '%s': %s", root, strerror(errno));
	if (mount("overlay", m->rootfs, "overlay", 0, data) < 0)
		mon_die(m, errno, 128, "monitor: mount the rootfs overlay: %s", strerror(errno));
	if (rel && chdir("/") < 0)
		mon_die(m, errno, 128, "monitor: chdir '/': %s", strerror(errno));
}

/* Read a small file of the container (inside its root); NULL when absent. */
static char *read_in_root(int rootfd, const char *path)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int fd = hamn_open_in_root(rootfd, path, O_RDONLY, 0, 0, &err);
	char *text = NULL;
	size_t len;

	if (fd < 0)
		return NULL;
	if (hamn_read_fd(fd, 4 << 20, &text, &len, &err) < 0)
		return NULL;
	return text;
}

static void set_env(struct hamn_oci_process *p, const char *home)
{
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (str_has_prefix(p->env[i], "HOME="))
			return;
	strv_push_take(&p->env, xasprintf("HOME=%s", home));
}

static void mon_resolve_user(struct mon *m, int rootfd)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *passwd = read_in_root(rootfd, "/etc/passwd");
	_cleanup_free_ char *group = read_in_root(rootfd, "/etc/group");
	_cleanup_strv_ char **add = NULL;
	struct hamn_oci_process *p = m->spec->process;
	struct hamn_user u;

	if (hamn_json_get_strv_opt(m->req, "group_add", "group_add", &add, &err) < 0 ||
	    hamn_user_resolve(req_str(m->req, "user"), passwd, group, add, &u, &err) < 0)
		mon_die(m, EINVAL, 128, "%s", err->msg);
	p->user.uid = u.uid;
	p->user.gid = u.gid;
	free(p->user.additional_gids);
	p->user.additional_gids = xcalloc(u.n_gids + 1, sizeof(gid_t));
	for (size_t i = 0; i < u.n_gids; i++)
		p->user.additional_gids[i] = u.gids[i];
	p->user.n_additional_gids = u.n_gids;
	set_env(p, u.home);
	hamn_user_release(&u);
}

static void mon_prepare_rootfs(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int rootfd = open(m->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *cwd = m->spec->process->cwd;

	if (rootfd < 0)
		mon_die(m, errno, 128, "monitor: open the rootfs: %s", strerror(errno));
	mon_resolve_user(m, rootfd);
	if (cwd && !streq(cwd, "/")) {
		int fd = hamn_mkdir_in_root(rootfd, cwd, 0755, &err);

		if (fd < 0)
			mon_die(m, err->errnum, 128, "create the working directory '%s': %s", cwd,
				err->msg);
		close(fd);
	}
	/* new volumes get the image's content, as docker's copy-up (volumes.c) */
	if (ctr_volumes_populate(m->req, rootfd, &err) < 0)
		mon_die(m, err->errnum, 128, "%s", err->msg);
}

static void mon_load_spec(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	json_t *doc = json_object_get(m->req, "spec");

	m->spec = hamn_oci_spec_parse(doc, &err);
	if (!m->spec)
		mon_die(m, EINVAL, 128, "monitor: %s", err->msg);
	/* the parsed spec is all we need from now on */
	json_object_del(m->req, "spec");
}

/* pipes for stdin/stdout/stderr; fds_out gets the container's ends. */
static void mon_make_pipes(struct mon *m, int fds_out[3])
{
	int p[2];

	fds_out[0] = fds_out[1] = fds_out[2] = -1;
	if (m->tty)
		return;
	for (int s = 1; s <= 2; s++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			mon_die(m, errno, 128, "monitor: pipe: %s", strerror(errno));
		m->out[s] = p[0];
		fds_out[s] = p[1];
	}
	if (m->open_stdin) {
		if (pipe2(p, O_CLOEXEC) < 0)
			mon_die(m, errno, 128, "monitor: pipe: %s", strerror(errno));
		m->in_fd = p[1];
		fds_out[0] = p[0];
		fcntl(m->in_fd, F_SETFL, O_NONBLOCK);
	}
	fcntl(m->out[1], F_SETFL, O_NONBLOCK);
	fcntl(m->out[2], F_SETFL, O_NONBLOCK);
}

/* docker's wording, which the CLI maps to exit codes 127/126 */
static int start_exit_code(int errnum)
{
	if (errnum == ENOENT || errnum == ENOTDIR)
		return 127;
	if (errnum == EACCES || errnum == EISDIR)
		return 126;
	return 128;
}

/* docker's wording, which the CLI turns into exit code 127 or 126 */
static void exec_failed(struct mon *m, struct hamn_error *err) __attribute__((noreturn));

static void exec_failed(struct mon *m, struct hamn_error *err)
{
	const char *arg0 = m->spec->process->args[0];
	int code = start_exit_code(err->errnum);

	if (err->errnum == ENOENT && strchr(arg0, '/'))
		mon_die(m, ENOENT, code, "unable to start container process: exec: \"%s\": stat %s: "
			"no such file or directory", arg0, arg0);
	if (err->errnum == ENOENT)
		mon_die(m, ENOENT, code, "unable to start container process: exec: \"%s\": "
			"executable file not found in $PATH", arg0);
	if (err->errnum == EACCES)
		mon_die(m, EACCES, code, "unable to start container process: exec: \"%s\": "
			"permission denied", arg0);
	mon_die(m, err->errnum, code, "%s", err->msg);
}

static void mon_spawn(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_runtime_spawn_opts o = { .id = m->id, .rootfs = m->rootfs,
					     .stdio = HAMN_RUNTIME_STDIO_INIT,
					     .seccomp_prog = m->seccomp };
	int fds[3];

	mon_make_pipes(m, fds);
	memcpy(o.stdio.fds, fds, sizeof(fds));
	if (hamn_runtime_spawn(m->spec, &o, &m->h, &err) < 0)
		mon_die(m, err->errnum, start_exit_code(err->errnum), "%s", err->msg);
	for (int s = 0; s < 3; s++)
		if (fds[s] >= 0)
			close(fds[s]);
	m->pid = hamn_container_handle_pid(m->h);
	m->pidfd = hamn_container_handle_pidfd(m->h);
	if (m->tty) {
		int master = hamn_container_handle_console_fd(m->h);

		m->out[1] = fcntl(master, F_DUPFD_CLOEXEC, 3);
		fcntl(m->out[1], F_SETFL, O_NONBLOCK);
		if (m->open_stdin)
			m->in_fd = m->out[1];
	}
	/* hamnd attaches the container's networks while the init waits (network_mon.c) */
	if (json_is_true(json_object_get(m->req, "net_wait")) && m->n_conns > 0) {
		char why[1024];
		int code = monitor_net_wait(m->conns[0], m->pid, why, sizeof(why));

		if (code)
			mon_die(m, code, 128, "%s", why);
	}
	if (hamn_container_handle_start(m->h, &err) < 0)
		exec_failed(m, err);
	m->started_ns = hamn_now_ns();
}

static void mon_take_clients(struct mon *m, int *fds, size_t n_fds)
{
	json_t *arr = json_object_get(m->req, "attach"), *a;
	size_t i;

	json_array_foreach(arr, i, a) {
		const char *dk = json_string_value(json_object_get(a, "detach"));
		uint32_t flags = (uint32_t)json_integer_value(json_object_get(a, "flags"));
		uint64_t token = (uint64_t)json_integer_value(json_object_get(a, "token"));
		_cleanup_buf_ struct hamn_buf ahead = HAMN_BUF_INIT;

		if (1 + i >= n_fds)
			break;
		/* hamnd made it: a bad one is a bug there, the client just loses it */
		if (!attach_ahead_parse(json_object_get(a, "ahead"), &ahead))
			hamn_buf_reset(&ahead);
		mon_client_add(m, fds[1 + i], token, flags, dk ? dk : "", dk ? strlen(dk) : 0,
			       ahead.data, ahead.len);
		fds[1 + i] = -1;
	}
	for (i = 1; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void mon_init(struct mon *m, char *request, int *fds, size_t n_fds)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	memset(m, 0, sizeof(*m));
	m->out[0] = m->out[1] = m->out[2] = m->in_fd = m->listen_fd = -1;
	m->ctr_dirfd = m->exec_dirfd = m->pidfd = -1;
	if (n_fds > 0)
		m->conns[m->n_conns++] = fds[0];
	m->req = hamn_json_parse(request, strlen(request), &err);
	free(request);
	if (!m->req)
		mon_die(m, EINVAL, 128, "monitor: bad launch request: %s", err->msg);
	m->id = xstrdup(req_str(m->req, "id"));
	m->rootfs = xasprintf("%s/merged", req_str(m->req, "ctr_dir"));
	m->tty = json_is_true(json_object_get(m->req, "tty"));
	m->open_stdin = json_is_true(json_object_get(m->req, "open_stdin"));
	m->stdin_once = json_is_true(json_object_get(m->req, "stdin_once"));
	mon_take_clients(m, fds, n_fds);
}

static void mon_open_log(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	json_t *log = json_object_get(m->req, "log");
	const char *name = json_string_value(json_object_get(log, "name"));

	if (logw_open(&m->log, m->ctr_dirfd, name,
		      json_integer_value(json_object_get(log, "max_size")),
		      json_integer_value(json_object_get(log, "max_file")), &err) < 0)
		mon_die(m, err->errnum, 128, "monitor: %s", err->msg);
}

static void mon_listen(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	m->listen_fd = unix_listen_at(m->exec_dirfd, "monitor.sock", &err);
	if (m->listen_fd < 0)
		mon_die(m, err->errnum, 128, "monitor: %s", err->msg);
}

static void mon_oom_check(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_cgroup *cg = hamn_container_handle_cgroup(m->h);
	struct hamn_cgroup_stats st;

	memset(&st, 0, sizeof(st));
	if (cg && hamn_cgroup_stats(cg, &st, &err) == 0 && st.oom_kills > 0)
		m->oom = true;
}

static void mon_record_exit(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *doc = NULL;
	_cleanup_free_ char *text = NULL;
	struct mon_msg msg = { .type = MON_EXITED, .code = m->status, .pid = m->pid,
			       .t1 = m->started_ns, .t2 = m->finished_ns };

	if (m->oom)
		msg.flags |= MON_F_OOM;
	doc = json_pack("{s:i, s:b, s:I, s:I, s:i}", "ExitCode", m->status, "OOMKilled", m->oom,
			"StartedAt", (json_int_t)m->started_ns, "FinishedAt",
			(json_int_t)m->finished_ns, "Pid", (int)m->pid);
	text = hamn_json_dump(doc);
	/*
	 * The file first: a hamnd that is not connected reads it when it comes
	 * back. Synced with its directory: a container's end is state that must
	 * survive a crash of the host as well as a restart of hamnd.
	 */
	if (hamn_write_atomic(m->ctr_dirfd, "exit.json", text, strlen(text), 0600, &err) < 0)
		hamn_error_free(&err); /* nobody to tell: hamnd hears of the exit below */
	mon_broadcast(m, &msg);
}

void monitor_main(char *request, int *fds, size_t n_fds, const struct hamn_seccomp_prog *prog)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct mon_msg started = { .type = MON_STARTED };
	struct mon m;

	mon_process_setup();
	mon_init(&m, request, fds, n_fds);
	m.seccomp = prog;
	mon_open_dirs(&m);
	mon_listen(&m);
	mon_load_spec(&m);
	mon_mount_rootfs(&m);
	mon_prepare_rootfs(&m);
	mon_open_log(&m);
	mon_spawn(&m);
	started.pid = m.pid;
	started.t1 = m.started_ns;
	mon_broadcast(&m, &started);
	/* the set-up garbage (JSON, spec text, seccomp compile) goes back to the kernel */
	json_decref(m.req);
	m.req = NULL;
	malloc_trim(0);

	mon_loop(&m);

	logw_flush(&m.log, hamn_now_ns(), &err);
	hamn_error_free(&err);
	mon_oom_check(&m);
	if (hamn_container_handle_destroy(m.h, &err) < 0)
		hamn_error_free(&err);
	mon_record_exit(&m);
	mon_clients_finish(&m);
	unlinkat(m.exec_dirfd, "monitor.sock", 0);
	_exit(0);
}

/*
 * run.c - run and exec: start a process and stay with it, forwarding our
 * signals to it and relaying its terminal, then return its exit status
 * (N for exit N, 128+S for signal S).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "base/syscalls.h"
#include "cli.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

int cli_create_opts(struct cli *c, const struct cli_args *a, struct hamn_runtime_create_opts *o,
		    char *bundle_buf, struct hamn_error **err);
const struct cli_flag *cli_run_flags(size_t *n);

void cli_block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	sigprocmask(SIG_BLOCK, &all, NULL);
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/* Copy what is readable from `from` to `to`; false at end of file or error. */
static bool relay(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return hamn_write_all(to, buf, (size_t)n, NULL) == 0;
}

static void on_signal(int sfd, pid_t pid, int console)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGCHLD)
		return;
	if (si.ssi_signo == SIGWINCH && console >= 0)
		copy_winsize(0, console);
	else
		kill(pid, (int)si.ssi_signo);
}

int cli_wait_forward(pid_t pid, int console, int *status, struct hamn_error **err)
{
	sigset_t all;
	struct termios saved;
	bool raw = false, in_open = console >= 0;
	_cleanup_close_ int sfd = -1, pidfd = sys_pidfd_open(pid, 0);

	sigfillset(&all);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0 || pidfd < 0)
		return hamn_error_set(err, errno, "wait for %d", (int)pid);
	if (console >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
		copy_winsize(0, console);
	}
	for (;;) {
		struct pollfd p[4] = {{sfd, POLLIN, 0},
				      {pidfd, POLLIN, 0},
				      {console, POLLIN, 0},
				      {in_open ? 0 : -1, POLLIN, 0}};
		if (poll(p, console >= 0 ? 4 : 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			on_signal(sfd, pid, console);
		if (p[2].revents && !relay(console, 1))
			console = -1;
		if (p[3].revents && !relay(0, console))
			in_open = false;
		if (p[1].revents)
			break;
	}
	if (console >= 0) { /* what the process wrote just before it exited */
		fcntl(console, F_SETFL, fcntl(console, F_GETFL) | O_NONBLOCK);
		while (relay(console, 1)) {
			struct pollfd p = {console, POLLIN, 0};
			if (poll(&p, 1, 0) <= 0)
				break;
		}
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	(void)status;
	return 0;
}

int cmd_run(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	struct cli_args a;
	struct hamn_runtime_create_opts o = {.console_socket = -1};
	struct hamn_container_handle *h = NULL;
	char bundle[PATH_MAX];
	size_t nf;
	const struct cli_flag *f = cli_run_flags(&nf);
	int r = -1, status = 0;

	if (cli_parse(argc, argv, f, nf, 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("run [options] CONTAINER-ID",
			  "Create and start a container, wait for it "
			  "and delete it.",
			  f, nf);
		cli_args_release(&a);
		return 0;
	}
	bool detach = a.value[6] != NULL;
	if (cli_need_args(&a, 1, 1, "run", err) < 0 || cli_create_opts(c, &a, &o, bundle, err) < 0)
		goto out;
	if (!detach)
		cli_block_signals();
	if (hamn_runtime_run(c->root, a.pos[0], &o, detach, &h, err) < 0)
		goto out;
	if (detach) {
		hamn_container_handle_free(h);
		r = 0;
		goto out;
	}
	cli_wait_forward(hamn_container_handle_pid(h), hamn_container_handle_console_fd(h), &status,
			 NULL);
	if (hamn_container_handle_wait(h, &status, err) < 0)
		goto out;
	cli_exit_status = status;
	if (a.value[7]) /* --keep */
		hamn_container_handle_free(h);
	else if (hamn_runtime_run_finish(c->root, a.pos[0], h, err) < 0)
		goto out;
	r = 0;
out:
	if (o.console_socket >= 0)
		close(o.console_socket);
	cli_args_release(&a);
	return r;
}

/* ---- exec ---- */

enum {
	X_CONSOLE,
	X_CWD,
	X_ENV,
	X_TTY,
	X_USER,
	X_GIDS,
	X_PROCESS,
	X_DETACH,
	X_PIDFILE,
	X_LABEL,
	X_APPARMOR,
	X_NNP,
	X_CAP,
	X_PRESERVE,
	X_IGNORE_PAUSED,
	X_CGROUP,
};

static const struct cli_flag exec_flags[] = {
	[X_CONSOLE] = {"console-socket", NULL, true, false, "unix socket for the pty master"},
	[X_CWD] = {"cwd", NULL, true, false, "working directory in the container"},
	[X_ENV] = {"env", "e", true, true, "set an environment variable (repeatable)"},
	[X_TTY] = {"tty", "t", false, false, "allocate a pseudo-terminal"},
	[X_USER] = {"user", "u", true, false, "UID[:GID] to run as"},
	[X_GIDS] = {"additional-gids", "g", true, true, "additional group ids (repeatable)"},
	[X_PROCESS] = {"process", "p", true, false, "a process.json to run"},
	[X_DETACH] = {"detach", "d", false, false, "do not wait for the process"},
	[X_PIDFILE] = {"pid-file", NULL, true, false, "write the new process's pid here"},
	[X_LABEL] = {"process-label", NULL, true, false, "accepted, ignored (no SELinux)"},
	[X_APPARMOR] = {"apparmor", NULL, true, false, "accepted, ignored (no AppArmor)"},
	[X_NNP] = {"no-new-privs", NULL, false, false, "set no_new_privs"},
	[X_CAP] = {"cap", "c", true, true, "add a capability (repeatable)"},
	[X_PRESERVE] = {"preserve-fds", NULL, true, false, "accepted; must be 0"},
	[X_IGNORE_PAUSED] = {"ignore-paused", NULL, false, false, "accepted"},
	[X_CGROUP] = {"cgroup", NULL, true, false, "accepted; the container's cgroup is used"},
};

static void add_cap(json_t *proc, const char *cap)
{
	static const char *const sets[] = {"bounding", "effective", "permitted"};
	json_t *caps = json_object_get(proc, "capabilities");
	_cleanup_free_ char *name =
		str_has_prefix(cap, "CAP_") ? xstrdup(cap) : xasprintf("CAP_%s", cap);

	if (!caps) {
		caps = json_object();
		json_object_set_new(proc, "capabilities", caps);
	}
	for (size_t i = 0; i < N(sets); i++) {
		json_t *arr = json_object_get(caps, sets[i]);
		if (!arr) {
			arr = json_array();
			json_object_set_new(caps, sets[i], arr);
		}
		json_array_append_new(arr, json_string(name));
	}
}

static int apply_user(json_t *proc, const char *spec, char **gids, struct hamn_error **err)
{
	json_t *user = json_object_get(proc, "user");

	if (!user) {
		user = json_object();
		json_object_set_new(proc, "user", user);
	}
	if (spec) {
		_cleanup_strv_ char **parts = str_split(spec, ':');
		int64_t uid, gid = 0;
		if (hamn_parse_int64(parts[0], &uid, NULL) < 0 ||
		    (parts[1] && hamn_parse_int64(parts[1], &gid, NULL) < 0))
			return hamn_error_setq(err, EINVAL, "--user '%s': want UID[:GID]", spec);
		json_object_set_new(user, "uid", json_integer(uid));
		json_object_set_new(user, "gid", json_integer(gid));
	}
	if (gids) {
		json_t *arr = json_array();
		for (char **g = gids; *g; g++) {
			int64_t v;
			if (hamn_parse_int64(*g, &v, NULL) < 0)
				return json_decref(arr),
				       hamn_error_setq(err, EINVAL, "bad gid '%s'", *g);
			json_array_append_new(arr, json_integer(v));
		}
		json_object_set_new(user, "additionalGids", arr);
	}
	return 0;
}

/* The process to exec: --process FILE, or the container's own process with our changes. */
static struct hamn_oci_process *exec_process(struct cli *c, const struct cli_args *a,
					     struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = NULL;
	json_t *proc;

	if (a->value[X_PROCESS]) {
		doc = hamn_json_load_file_big(AT_FDCWD, a->value[X_PROCESS], 4 << 20, err);
		if (!doc)
			return NULL;
		return hamn_oci_process_parse(doc, err);
	}
	_cleanup_free_ char *cfg = xasprintf("%s/%s/config.json", c->root, a->pos[0]);
	doc = hamn_json_load_file_big(AT_FDCWD, cfg, 4 << 20, err);
	if (!doc)
		return NULL;
	proc = json_object_get(doc, "process");
	if (!proc)
		return hamn_error_setq(err, EINVAL, "the container's config has no process"), NULL;
	if (strv_len(a->pos) < 2)
		return hamn_error_setq(err, EINVAL, "exec: a command is required"), NULL;
	json_object_set_new(proc, "args", hamn_json_from_strv(a->pos + 1));
	json_object_set_new(proc, "terminal", json_boolean(a->value[X_TTY] != NULL));
	json_object_del(proc, "consoleSize");
	if (a->value[X_CWD])
		json_object_set_new(proc, "cwd", json_string(a->value[X_CWD]));
	json_t *env = json_object_get(proc, "env");
	if (!env)
		json_object_set_new(proc, "env", env = json_array());
	for (char **e = a->values[X_ENV]; e && *e; e++)
		json_array_append_new(env, json_string(*e));
	for (char **cap = a->values[X_CAP]; cap && *cap; cap++)
		add_cap(proc, *cap);
	if (a->value[X_NNP])
		json_object_set_new(proc, "noNewPrivileges", json_true());
	if (apply_user(proc, a->value[X_USER], a->values[X_GIDS], err) < 0)
		return NULL;
	return hamn_oci_process_parse(proc, err);
}

int cmd_exec(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	struct cli_args a;
	struct hamn_oci_process *proc = NULL;
	struct hamn_runtime_stdio stdio = HAMN_RUNTIME_STDIO_INIT;
	int r = -1, console = -1, status;
	pid_t pid;

	if (cli_parse(argc, argv, exec_flags, N(exec_flags), 1, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("exec [options] CONTAINER-ID COMMAND [ARGS...]",
			  "Run a new process in a "
			  "running container.",
			  exec_flags, N(exec_flags));
		cli_args_release(&a);
		return 0;
	}
	bool detach = a.value[X_DETACH] != NULL;
	if (cli_need_args(&a, 1, 100000, "exec", err) < 0 || !(proc = exec_process(c, &a, err)))
		goto out;
	if (a.value[X_CONSOLE] &&
	    (stdio.console_socket = cli_console_socket(a.value[X_CONSOLE], err)) < 0)
		goto out;
	if (proc->terminal && detach && stdio.console_socket < 0) {
		hamn_error_setq(err, EINVAL,
				"cannot allocate a tty without --console-socket when "
				"detached");
		goto out;
	}
	struct hamn_runtime_exec_opts o = {&stdio, detach, a.value[X_PIDFILE]};
	if (!detach)
		cli_block_signals();
	if (hamn_runtime_exec_id(c->root, a.pos[0], proc, &o, &pid, &console, err) < 0)
		goto out;
	r = 0;
	if (!detach) {
		cli_wait_forward(pid, console, &status, NULL);
		if (hamn_runtime_wait_pid(pid, &status, err) < 0)
			r = -1;
		cli_exit_status = status;
	}
out:
	if (console >= 0)
		close(console);
	if (stdio.console_socket >= 0)
		close(stdio.console_socket);
	hamn_oci_process_free(proc);
	cli_args_release(&a);
	return r;
}

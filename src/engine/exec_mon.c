/*
 * exec_mon.c - the monitor's side of docker exec: one short-lived process,
 * a "session", per exec, forked from the container's monitor.
 *
 * Why the monitor runs execs (not hamnd): it is the container's parent and
 * already holds what an exec needs - the parsed spec (namespaces, caps,
 * rlimits, user), the seccomp program the zygote compiled, the init's pidfd
 * (so setns can never hit a recycled pid) and the cgroup - its mount
 * namespace holds the rootfs (for the /etc/passwd of `exec -u`), and it
 * survives a restart of hamnd. As with attach, the client's socket is
 * passed to it, so output never goes through hamnd's threads.
 *
 * Why a process of its own: setting an exec up blocks for a moment and its
 * streams need pumping; the monitor's loop stays as it is and a session
 * that misbehaves cannot take the container's monitor down. The session is
 * forked twice so the monitor has no child to reap: its parent becomes the
 * zygote, a subreaper that ignores SIGCHLD.
 *
 * Security: the session closes every fd of the monitor first (only ctl,
 * the client and the init's pidfd are kept), and the runtime marks every
 * fd >= 3 close-on-exec before the final execve, so `ls -l /proc/self/fd`
 * in the exec'd process shows 0, 1 and 2 (CVE-2016-9962). Until its execve
 * the new process runs hamn-monitor, which runs from a read-only clone of
 * itself (hamn_runtime_protect_exe in its main) and is non-dumpable, so no
 * process of the container can open /proc/PID/exe for writing
 * (CVE-2019-5736).
 */
#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/syscalls.h"
#include "engine/exec_int.h"
#include "engine/monitor.h"
#include "engine/user.h"
#include "runtime/cgroup.h"

#define SESS_CHUNK (64 * 1024)
/* After the process exited, read what is left of its output at most this long. */
#define SESS_DRAIN_MS 1000
/* ... and give the client at most this long to take it. */
#define SESS_FLUSH_MS 5000
#define SESS_CLIENT_HIGH_WATER (1 << 20)

struct sess {
	struct mon *m;
	int ctl, client;
	json_t *req;
	bool tty, in, out, err, capture;
	int64_t deadline_ns; /* capture: the health check's timeout; 0 = none */
	pid_t pid;
	int pidfd;
	int rd[3];  /* [1] stdout or the pty master, [2] stderr */
	int in_w;   /* where the client's stdin goes; -1 */
	int rec_fd; /* the session file (exec_int.h), locked; -1 for health checks */
	bool client_gone, client_eof, exited, timed_out;
	int status;
	struct hamn_buf to_client, to_proc, captured;
};

static void sess_send(struct sess *s, json_t *msg)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (s->ctl >= 0 && exec_ctl_send(s->ctl, msg, &err) < 0) {
		close(s->ctl);
		s->ctl = -1; /* hamnd went away: the exec goes on without it */
	}
	json_decref(msg);
}

/*
 * Leave the exit code in the session file before hamnd hears of it, so a
 * hamnd that is away learns it when it comes back. No fsync: this is for a
 * restart of hamnd; a crash of the host takes the container's execs along.
 */
static void sess_record(struct sess *s, int code)
{
	char text[64];
	int len = snprintf(text, sizeof(text), "{\"exited\":%d}\n", code);

	if (s->rec_fd >= 0 && pwrite(s->rec_fd, text, (size_t)len, 0) < 0)
		s->rec_fd = -1; /* hamnd will show the exit code as unknown */
}

static void sess_fail(struct sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Report a set-up failure: docker records exit code 126 for every one. */
static void sess_fail(struct sess *s, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sess_record(s, 126);
	sess_send(s, json_pack("{s:i, s:s}", "failed", 126, "message", msg));
	_exit(0);
}

/* Close every fd but keep[0..n) (and 0-2). */
static void close_others(int *keep, size_t n)
{
	unsigned int from = 3;

	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			sys_close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	sys_close_range(from, ~0U, 0);
}

static char *read_in_root(int rootfd, const char *path)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int fd = hamn_open_in_root(rootfd, path, O_RDONLY, 0, 0, &err);
	char *text = NULL;
	size_t len;

	if (fd < 0 || hamn_read_fd(fd, 4 << 20, &text, &len, &err) < 0)
		return NULL;
	return text;
}

static void env_set(char ***env, const char *kv, bool replace)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; *env && (*env)[i]; i++) {
		if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
			if (replace) {
				free((*env)[i]);
				(*env)[i] = xstrdup(kv);
			}
			return;
		}
	}
	strv_push(env, kv);
}

/* `exec -u`: resolve the user in the container's /etc/passwd and /etc/group. */
static void sess_user(struct sess *s, struct hamn_oci_process *p, const char *spec, char ***env)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int rootfd = open(s->m->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *passwd = NULL, *group = NULL, *home = NULL;
	struct hamn_user u;

	if (rootfd >= 0) {
		passwd = read_in_root(rootfd, "/etc/passwd");
		group = read_in_root(rootfd, "/etc/group");
	}
	/* dockerd resolves the user itself: its message comes without the runtime's words */
	if (hamn_user_resolve(spec, passwd, group, NULL, &u, &err) < 0)
		sess_fail(s, "%s", err->msg);
	p->user.uid = u.uid;
	p->user.gid = u.gid;
	p->user.additional_gids = xcalloc(u.n_gids + 1, sizeof(gid_t));
	for (size_t i = 0; i < u.n_gids; i++)
		p->user.additional_gids[i] = u.gids[i];
	p->user.n_additional_gids = u.n_gids;
	home = xasprintf("HOME=%s", u.home);
	env_set(env, home, true);
	hamn_user_release(&u);
}

/* The process to run: the container's, with the exec's command, env, user, dir. */
static struct hamn_oci_process *sess_process(struct sess *s)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_oci_process *p = xzalloc(sizeof(*p));
	const char *user = json_string_value(json_object_get(s->req, "user"));
	const char *wd = json_string_value(json_object_get(s->req, "workdir"));
	_cleanup_strv_ char **extra = NULL;
	char **env = NULL;

	*p = *s->m->spec->process; /* shallow: the session exits, nothing is freed */
	if (hamn_json_get_strv_opt(s->req, "cmd", "cmd", &p->args, &err) < 0 || !p->args ||
	    !p->args[0])
		sess_fail(s, "No exec command specified");
	if (hamn_json_get_strv_opt(s->req, "env", "env", &extra, &err) < 0)
		sess_fail(s, "%s", err->msg);
	env = strv_copy(p->env);
	/* docker's daemon environment: TERM for a tty */
	if (s->tty)
		env_set(&env, "TERM=xterm", false);
	if (user && user[0])
		sess_user(s, p, user, &env);
	for (size_t i = 0; extra && extra[i]; i++)
		env_set(&env, extra[i], true);
	p->env = env;
	if (wd && wd[0])
		p->cwd = xstrdup(wd);
	p->terminal = s->tty;
	p->console_height = (unsigned int)json_integer_value(json_object_get(s->req, "h"));
	p->console_width = (unsigned int)json_integer_value(json_object_get(s->req, "w"));
	if (json_is_true(json_object_get(s->req, "privileged"))) {
		uint64_t all = spec_all_caps();

		p->has_caps = true;
		p->caps.bounding = p->caps.effective = p->caps.permitted = all;
	}
	return p;
}

/* docker's wording of a failed exec, which the CLI prints before exiting 126 */
static void exec_failed(struct sess *s, const char *arg0, struct hamn_error *err)
{
	const char *pre = "OCI runtime exec failed: exec failed: unable to start container process";

	if (str_has_prefix(err->msg, "exec '") && err->errnum == ENOENT && !strchr(arg0, '/'))
		sess_fail(s, "%s: exec: \"%s\": executable file not found in $PATH: unknown", pre,
			  arg0);
	if (str_has_prefix(err->msg, "exec '") && err->errnum == ENOENT)
		sess_fail(s, "%s: exec: \"%s\": stat %s: no such file or directory: unknown", pre,
			  arg0, arg0);
	if (str_has_prefix(err->msg, "exec '") && err->errnum == EACCES)
		sess_fail(s, "%s: exec: \"%s\": permission denied: unknown", pre, arg0);
	if (str_has_prefix(err->msg, "change to working directory '") && err->errnum) {
		const char *wd = json_string_value(json_object_get(s->req, "workdir"));
		char why[128];

		/* Go's lower-case errno text */
		snprintf(why, sizeof(why), "%s", strerror(err->errnum));
		why[0] = (char)tolower((unsigned char)why[0]);
		sess_fail(s, "%s: chdir to cwd (\"%s\") set in config.json failed: %s: unknown",
			  pre, wd ? wd : "", why);
	}
	sess_fail(s, "%s: %s: unknown", pre, err->msg);
}

static void make_pipe(struct sess *s, int *rd, int *wr)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		sess_fail(s, "exec: pipe: %s", strerror(errno));
	*rd = p[0];
	*wr = p[1];
}

static void sess_spawn(struct sess *s, const struct hamn_oci_process *p, struct hamn_cgroup *cg)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_runtime_stdio io = HAMN_RUNTIME_STDIO_INIT;
	struct hamn_oci_spec spec = *s->m->spec;
	bool privileged = json_is_true(json_object_get(s->req, "privileged"));
	struct hamn_runtime_exec_target t = {
		.init_pid = s->m->pid,
		.init_pidfd = s->m->pidfd,
		.spec = &spec,
		.cgroup = cg,
		.seccomp_prog = privileged ? NULL : s->m->seccomp,
	};
	int console = -1, stdin_w = -1;

	if (privileged)
		spec.linux.seccomp = NULL; /* --privileged: no seccomp, every capability */
	if (!s->tty) {
		make_pipe(s, &io.fds[0], &stdin_w);
		make_pipe(s, &s->rd[1], &io.fds[1]);
		make_pipe(s, &s->rd[2], &io.fds[2]);
	}
	if (hamn_runtime_exec(&t, p, &io, &s->pid, &console, &err) < 0)
		exec_failed(s, p->args[0], err);
	for (int i = 0; i < 3; i++)
		if (io.fds[i] >= 0)
			close(io.fds[i]);
	if (s->tty) {
		s->rd[1] = console;
		if (s->in)
			s->in_w = console;
	} else if (s->in) {
		s->in_w = stdin_w;
	} else {
		close(stdin_w); /* nothing attached: the process reads EOF */
	}
	for (int i = 1; i <= 2; i++)
		if (s->rd[i] >= 0)
			fcntl(s->rd[i], F_SETFL, O_NONBLOCK);
	if (s->in_w >= 0)
		fcntl(s->in_w, F_SETFL, O_NONBLOCK);
	s->pidfd = sys_pidfd_open(s->pid, 0);
	if (s->pidfd < 0)
		sess_fail(s, "exec: pidfd: %s", strerror(errno));
}

/* ---- the pump ---- */

static void client_flush(struct sess *s)
{
	while (s->to_client.len && !s->client_gone) {
		ssize_t n = send(s->client, s->to_client.data, s->to_client.len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			hamn_buf_consume(&s->to_client, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		s->client_gone = true;
		hamn_buf_reset(&s->to_client);
	}
}

static void output(struct sess *s, int stream, const char *data, size_t len)
{
	if (s->capture) {
		size_t room = EXEC_CAPTURE_MAX - s->captured.len;

		hamn_buf_append(&s->captured, data, len < room ? len : room);
		return;
	}
	if (s->client < 0 || s->client_gone || (stream == 1 && !s->out) || (stream == 2 && !s->err))
		return;
	if (!s->tty) {
		unsigned char hdr[8] = {(unsigned char)stream,
					0,
					0,
					0,
					(unsigned char)(len >> 24),
					(unsigned char)(len >> 16),
					(unsigned char)(len >> 8),
					(unsigned char)len};

		hamn_buf_append(&s->to_client, hdr, sizeof(hdr));
	}
	hamn_buf_append(&s->to_client, data, len);
	client_flush(s);
}

static void read_output(struct sess *s, int stream)
{
	static char buf[SESS_CHUNK];
	ssize_t n = read(s->rd[stream], buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EIO: the pty's last slave closed, its way of saying EOF */
	if (n <= 0) {
		if (s->in_w == s->rd[stream])
			s->in_w = -1;
		close(s->rd[stream]);
		s->rd[stream] = -1;
		return;
	}
	output(s, stream, buf, (size_t)n);
}

static void stdin_flush(struct sess *s)
{
	while (s->in_w >= 0 && s->to_proc.len) {
		ssize_t n = write(s->in_w, s->to_proc.data, s->to_proc.len);

		if (n > 0) {
			hamn_buf_consume(&s->to_proc, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		hamn_buf_reset(&s->to_proc); /* the process closed its stdin */
	}
	/* the client half-closed: so does the process's stdin (not a pty's) */
	if (s->client_eof && !s->to_proc.len && s->in_w >= 0 && !s->tty) {
		close(s->in_w);
		s->in_w = -1;
	}
}

static void read_client(struct sess *s)
{
	char buf[16384];
	ssize_t n = recv(s->client, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* a half-close is not a detach: keep sending output */
		s->client_eof = true;
		if (n < 0)
			s->client_gone = true;
	} else if (s->in_w >= 0) {
		hamn_buf_append(&s->to_proc, buf, (size_t)n);
	}
	stdin_flush(s);
}

static void read_ctl(struct sess *s)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *msg = NULL;
	json_t *rs;

	if (exec_ctl_recv(s->ctl, 0, &msg, &err) <= 0) {
		close(s->ctl);
		s->ctl = -1;
		return;
	}
	rs = json_object_get(msg, "resize");
	if (json_is_array(rs) && s->tty && s->rd[1] >= 0) {
		struct winsize ws = {
			.ws_row = (unsigned short)json_integer_value(json_array_get(rs, 0)),
			.ws_col = (unsigned short)json_integer_value(json_array_get(rs, 1)),
		};

		ioctl(s->rd[1], TIOCSWINSZ, &ws);
	}
	if (json_is_integer(json_object_get(msg, "signal")) && !s->exited)
		sys_pidfd_send_signal(
			s->pidfd, (int)json_integer_value(json_object_get(msg, "signal")), NULL, 0);
}

static void reap(struct sess *s)
{
	int st = 0;

	while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
		;
	s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	s->exited = true;
}

enum { SP_PID, SP_OUT1, SP_OUT2, SP_IN, SP_CLIENT, SP_CTL, SP_N };

static int poll_timeout(struct sess *s, int64_t drain_until)
{
	int64_t now = hamn_monotonic_ns(), until = s->exited ? drain_until : s->deadline_ns;

	if (!until)
		return -1;
	return until <= now ? 0 : (int)((until - now) / 1000000 + 1);
}

static void sess_poll(struct sess *s, int64_t drain_until)
{
	bool blocked = s->to_client.len > SESS_CLIENT_HIGH_WATER;
	struct pollfd p[SP_N] = {
		[SP_PID] = {.fd = s->exited ? -1 : s->pidfd, .events = POLLIN},
		[SP_OUT1] = {.fd = blocked && !(s->tty && s->to_proc.len) ? -1 : s->rd[1],
			     .events = (short)((blocked ? 0 : POLLIN) |
					       (s->tty && s->to_proc.len ? POLLOUT : 0))},
		[SP_OUT2] = {.fd = blocked ? -1 : s->rd[2], .events = POLLIN},
		[SP_IN] = {.fd = s->to_proc.len && s->in_w != s->rd[1] ? s->in_w : -1,
			   .events = POLLOUT},
		[SP_CLIENT] = {.fd = s->client_gone ? -1 : s->client, .events = 0},
		[SP_CTL] = {.fd = s->ctl, .events = POLLIN},
	};

	if (s->in_w >= 0 && !s->client_eof && s->to_proc.len < SESS_CLIENT_HIGH_WATER)
		p[SP_CLIENT].events |= POLLIN;
	if (s->to_client.len)
		p[SP_CLIENT].events |= POLLOUT;
	if (poll(p, SP_N, poll_timeout(s, drain_until)) < 0)
		return;
	if (p[SP_OUT1].revents & POLLOUT)
		stdin_flush(s);
	for (int i = 1; i <= 2; i++)
		if (s->rd[i] >= 0 && (p[SP_OUT1 + i - 1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_output(s, i);
	if (p[SP_IN].revents)
		stdin_flush(s);
	if (p[SP_CLIENT].revents & POLLOUT)
		client_flush(s);
	if (p[SP_CLIENT].revents & POLLIN)
		read_client(s);
	else if (p[SP_CLIENT].revents & (POLLHUP | POLLERR))
		s->client_gone = true;
	if (p[SP_CTL].revents)
		read_ctl(s);
	if (p[SP_PID].revents & POLLIN)
		reap(s);
}

static void sess_loop(struct sess *s)
{
	int64_t drain_until = 0;

	for (;;) {
		if (s->exited && !drain_until)
			drain_until = hamn_monotonic_ns() + SESS_DRAIN_MS * 1000000LL;
		if (s->exited &&
		    ((s->rd[1] < 0 && s->rd[2] < 0) || hamn_monotonic_ns() >= drain_until))
			return;
		if (!s->exited && s->deadline_ns && hamn_monotonic_ns() >= s->deadline_ns &&
		    !s->timed_out) {
			/* a health check over its timeout: docker kills it */
			s->timed_out = true;
			sys_pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
			s->deadline_ns = 0;
		}
		sess_poll(s, drain_until);
	}
}

/* Give the client what is left (bounded), so the last bytes come before hamnd's EOF. */
static void sess_finish_client(struct sess *s)
{
	int64_t deadline = hamn_monotonic_ns() + SESS_FLUSH_MS * 1000000LL;

	while (s->to_client.len && !s->client_gone) {
		struct pollfd p = {.fd = s->client, .events = POLLOUT};
		int64_t left = (deadline - hamn_monotonic_ns()) / 1000000;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		client_flush(s);
	}
}

/* JSON strings must be UTF-8: output that is not has its non-ASCII bytes replaced. */
static void ascii_if_invalid(struct hamn_buf *b)
{
	if (!b->len || hamn_utf8_valid(b->data, b->len))
		return;
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] >= 0x80)
			b->data[i] = '?';
}

/* ---- set-up ---- */

static void sess_read_request(struct sess *s)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int64_t timeout_ms;

	if (exec_ctl_recv(s->ctl, 10000, &s->req, &err) <= 0)
		_exit(1);
	s->tty = json_is_true(json_object_get(s->req, "tty"));
	s->in = json_is_true(json_object_get(s->req, "stdin")) && s->client >= 0;
	/* stdin hamnd's HTTP server read past the request goes first */
	if (s->in && !attach_ahead_parse(json_object_get(s->req, "ahead"), &s->to_proc))
		hamn_buf_reset(&s->to_proc);
	s->out = json_is_true(json_object_get(s->req, "stdout"));
	s->err = json_is_true(json_object_get(s->req, "stderr"));
	s->capture = json_is_true(json_object_get(s->req, "capture"));
	timeout_ms = json_integer_value(json_object_get(s->req, "timeout_ms"));
	if (timeout_ms > 0)
		s->deadline_ns = hamn_monotonic_ns() + timeout_ms * 1000000LL;
}

/* Create and lock the session file of the exec named in the request (dirfd is consumed). */
static void sess_open_record(struct sess *s, int dirfd)
{
	const char *id = json_string_value(json_object_get(s->req, "id"));
	char name[128];
	size_t n = 0;

	for (; id && ((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')); n++)
		;
	/* 64 hex digits: nothing else can name a file here */
	if (dirfd >= 0 && id && n == 64 && !id[n]) {
		snprintf(name, sizeof(name), EXEC_SESSION_FILE, id);
		s->rec_fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
				   0600);
		/* held until the session exits, however it exits (exec_int.h) */
		if (s->rec_fd >= 0 && flock(s->rec_fd, LOCK_EX) < 0) {
			close(s->rec_fd);
			s->rec_fd = -1;
		}
	}
	if (dirfd >= 0)
		close(dirfd);
}

static void exec_session(struct mon *m, int ctl, int client) __attribute__((noreturn));

static void exec_session(struct mon *m, int ctl, int client)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *cgj = hamn_cgroup_to_json(hamn_container_handle_cgroup(m->h));
	struct sess s = {.m = m,
			 .ctl = ctl,
			 .client = client,
			 .pidfd = -1,
			 .rd = {-1, -1, -1},
			 .in_w = -1,
			 .rec_fd = -1};
	int keep[4] = {ctl, client, m->pidfd, m->exec_dirfd};
	struct hamn_cgroup *cg;

	prctl(PR_SET_NAME, "hamn-exec", 0, 0, 0);
	/* nothing of the monitor's survives: attach clients, pipes, its sockets */
	close_others(keep, 4);
	sess_read_request(&s);
	if (!s.capture)
		sess_open_record(&s, m->exec_dirfd);
	else if (m->exec_dirfd >= 0)
		close(m->exec_dirfd);
	cg = hamn_cgroup_from_json(cgj, &err);
	if (!cg)
		sess_fail(&s, "exec: the container's cgroup: %s", err->msg);
	sess_spawn(&s, sess_process(&s), cg);
	sess_send(&s, json_pack("{s:i}", "started", (int)s.pid));
	sess_loop(&s);
	if (!s.exited)
		reap(&s);
	sess_finish_client(&s);
	ascii_if_invalid(&s.captured);
	sess_record(&s, s.timed_out ? -1 : s.status);
	sess_send(&s, json_pack("{s:i, s:s%, s:b}", "exited", s.timed_out ? -1 : s.status, "output",
				s.captured.data ? s.captured.data : "", s.captured.len, "timed_out",
				s.timed_out));
	_exit(0);
}

void mon_exec_fork(struct mon *m, int ctl, int client)
{
	pid_t pid;

	if (m->exited || m->pid <= 0) {
		/* hamnd reads EOF on ctl and reports the container as not running */
		close(ctl);
		if (client >= 0)
			close(client);
		return;
	}
	pid = fork();
	if (pid == 0) {
		pid_t session = fork();

		if (session == 0)
			exec_session(m, ctl, client);
		_exit(session < 0);
	}
	close(ctl);
	if (client >= 0)
		close(client);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

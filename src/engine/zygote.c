/*
 * zygote.c - the process that forks monitors.
 *
 * hamnd starts the zygote first thing, while it has a single thread: it
 * execs build/hamn-monitor (the program next to hamnd's own binary), a
 * small executable that links only what a monitor needs, so every monitor
 * forked from it maps a few libraries instead of all of hamnd's (TLS,
 * SQLite, archives, HTTP...) and starts with a heap of a few pages: its
 * RSS stays at conmon's 1-2 MB. When that program is missing, hamnd forks
 * the zygote from itself instead (same protocol, bigger monitors). Either
 * way the exec happens once per daemon, never on a container's path, and
 * monitors are forked in a single-threaded process, so they may use malloc
 * and everything else without locks another thread held at fork time.
 *
 * Protocol (SOCK_SEQPACKET): hamnd sends a blob: 'S' + key + '\n' + a
 * linux.seccomp JSON to compile and keep, or 'L' + key + '\n' + a launch
 * JSON with the monitor's fds. The zygote answers each with one message
 * (pid = the new monitor, or code = errno). The zygote ignores SIGCHLD so
 * its children never linger as zombies. When hamnd's end closes it waits
 * for its monitors to finish (never killing them: containers outlive
 * hamnd) and then exits; a new hamnd starts a new zygote.
 */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/syscalls.h"
#include "engine/internal.h"
#include "runtime/seccomp_bpf.h"

#define ZYGOTE_SNDBUF (8 << 20)
#define NO_KEY "----------------------------------------------------------------"

static void zygote_close_others(int keep)
{
	/* everything but stdio and our socket: the DB, the API sockets, ... */
	if (keep > 3)
		sys_close_range(3, (unsigned int)keep - 1, 0);
	sys_close_range((unsigned int)keep + 1, ~0U, 0);
}

/*
 * Compiled seccomp programs, by the sha256 of their linux.seccomp JSON.
 * libseccomp takes ~10 ms to compile Docker's profile: the zygote does it
 * once per profile and every monitor forked afterwards inherits the result.
 */
struct zcache {
	char key[SECCOMP_KEY_LEN + 1];
	struct hamn_seccomp_prog *prog;
};

#define ZCACHE_SLOTS 16
static struct zcache zcache[ZCACHE_SLOTS];
static size_t zcache_next;

static const struct hamn_seccomp_prog *zcache_find(const char *key)
{
	for (size_t i = 0; i < ZCACHE_SLOTS; i++)
		if (zcache[i].prog && strncmp(zcache[i].key, key, SECCOMP_KEY_LEN) == 0)
			return zcache[i].prog;
	return NULL;
}

/* 'S' <key> '\n' <linux.seccomp JSON> */
static int zcache_compile(const char *blob, size_t len, struct mon_msg *reply)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *doc = NULL;
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *sc = NULL;
	struct hamn_seccomp_prog *prog = NULL;
	struct zcache *slot;

	if (len < SECCOMP_KEY_LEN + 2)
		return reply->code = EPROTO;
	doc = hamn_json_parse(blob + SECCOMP_KEY_LEN + 2, len - SECCOMP_KEY_LEN - 2, &err);
	if (doc)
		sc = hamn_oci_seccomp_parse(doc, &err);
	if (!sc || hamn_seccomp_compile(sc, &prog, &err) < 0) {
		snprintf(reply->text, sizeof(reply->text), "%s", err ? err->msg : "seccomp");
		return reply->code = err && err->errnum ? err->errnum : EINVAL;
	}
	slot = &zcache[zcache_next++ % ZCACHE_SLOTS];
	hamn_seccomp_prog_free(slot->prog);
	memcpy(slot->key, blob + 1, SECCOMP_KEY_LEN);
	slot->key[SECCOMP_KEY_LEN] = '\0';
	slot->prog = prog;
	return 0;
}

/* 'L' <key or dashes> '\n' <launch JSON>, with the monitor's fds */
static void zygote_fork(int sock, char *blob, size_t len, int *fds, size_t n_fds,
			struct mon_msg *reply)
{
	const struct hamn_seccomp_prog *prog = NULL;
	pid_t pid;

	if (len < SECCOMP_KEY_LEN + 2) {
		reply->code = EPROTO;
		return;
	}
	if (blob[1] != '-') {
		prog = zcache_find(blob + 1);
		if (!prog) {
			reply->code = ENOKEY;
			return;
		}
	}
	pid = fork();
	if (pid == 0) {
		close(sock);
		memmove(blob, blob + SECCOMP_KEY_LEN + 2, len - SECCOMP_KEY_LEN - 1);
		monitor_main(blob, fds, n_fds, prog);
	}
	reply->pid = pid;
	if (pid < 0)
		reply->code = errno;
}

/*
 * hamnd is gone: stay until the last monitor we forked has exited, so that
 * every one of them is reaped here (SIGCHLD is ignored: the kernel reaps
 * them) rather than left as a zombie of an init that may not reap.
 */
static void zygote_exit(void) __attribute__((noreturn));

static void zygote_exit(void)
{
	while (wait(NULL) > 0 || errno == EINTR)
		;
	_exit(0);
}

static void zygote_serve(int sock) __attribute__((noreturn));

static void zygote_serve(int sock)
{
	for (;;) {
		_cleanup_error_ struct hamn_error *err = NULL;
		struct mon_msg reply = { .type = MON_STARTED };
		char *req = NULL;
		int fds[16];
		size_t len = 0, n_fds = 0;
		int r;

		r = mon_recv_blob(sock, &req, &len, fds, 16, &n_fds, &err);
		if (r <= 0)
			zygote_exit();
		if (req[0] == 'S')
			zcache_compile(req, len, &reply);
		else if (req[0] == 'L')
			zygote_fork(sock, req, len, fds, n_fds, &reply);
		else
			reply.code = EPROTO;
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		free(req);
		if (mon_send(sock, &reply, NULL, 0, &err) < 0)
			zygote_exit();
		/*
		 * Give back what parsing and compiling freed (~1 MB after a few
		 * hundred starts): the zygote stays small, and so does each monitor
		 * forked from it. Done after the reply, off the start's path.
		 */
		malloc_trim(0);
	}
}

int hamn_engine_zygote_main(int sock)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t none;

	/* Ctrl-C on hamnd's terminal must not reach us: hamnd decides */
	setsid();
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "hamnd-zygote", 0, 0, 0);
	/* the orphans of a monitor that was killed come to us, and are reaped here */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	zygote_close_others(sock);
	zygote_serve(sock);
}

/* Where hamn-monitor is: beside the running hamnd (the build tree, or the install's bin). */
static char *monitor_program(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash, *path;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	path = xasprintf("%s/hamn-monitor", self);
	if (access(path, X_OK) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* The child of zygote_start: exec the small program, or serve right here. */
static void zygote_child(int sock, const char *prog, const char *root, const char *exec_root)
	__attribute__((noreturn));

static void zygote_child(int sock, const char *prog, const char *root, const char *exec_root)
{
	if (prog) {
		/* the socket becomes fd 3; root and exec-root only name us in ps */
		char *argv[] = { "hamn-monitor", "--zygote", "3", "--root", (char *)root,
				 "--exec-root", (char *)exec_root, NULL };

		if (dup2(sock, 3) == 3) {
			fcntl(3, F_SETFD, 0);
			sys_close_range(4, ~0U, 0);
			execv(prog, argv);
		}
		/* exec failed: keep going as a fork of hamnd */
		sock = 3;
	}
	hamn_engine_zygote_main(sock);
	_exit(1);
}

int zygote_start(struct zygote *z, const char *root, const char *exec_root,
		 struct hamn_error **err)
{
	_cleanup_free_ char *prog = monitor_program();
	int sv[2], sz = ZYGOTE_SNDBUF;

	z->pid = -1;
	z->fd = -1;
	pthread_mutex_init(&z->lock, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hamn_error_set(err, errno, "zygote socketpair");
	/* launch requests carry a whole OCI config: allow big messages */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (!prog)
		log_warn("hamn-monitor not found beside hamnd: monitors are forked from hamnd "
			 "itself and use more memory");
	z->pid = fork();
	if (z->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return hamn_error_set(err, errno, "fork the monitor zygote");
	}
	if (z->pid == 0) {
		close(sv[0]);
		zygote_child(sv[1], prog, root, exec_root);
	}
	close(sv[1]);
	z->fd = sv[0];
	return 0;
}

static int zygote_call(struct zygote *z, const char *head, const char *body, const int *fds,
		       size_t n_fds, struct mon_msg *reply, struct hamn_error **err)
{
	_cleanup_free_ char *blob = xasprintf("%s\n%s", head, body);
	int r;

	r = mon_send_blob(z->fd, blob, strlen(blob), fds, n_fds, err);
	if (r == 0)
		r = mon_recv(z->fd, reply, NULL, 0, NULL, 30000, err);
	if (r == 0)
		return hamn_error_setq(err, EPIPE, "the monitor zygote is gone");
	return r < 0 ? -1 : 0;
}

int zygote_launch(struct zygote *z, const char *request, const char *seccomp_key,
		  json_t *seccomp, const int *fds, size_t n_fds, pid_t *pid_out,
		  struct hamn_error **err)
{
	_cleanup_free_ char *seccomp_json = NULL;
	/* no profile: the key's place holds dashes */
	_cleanup_free_ char *lhead = xasprintf("L%.*s", SECCOMP_KEY_LEN,
					       seccomp_key ? seccomp_key : NO_KEY);
	_cleanup_free_ char *shead = seccomp_key ? xasprintf("S%s", seccomp_key) : NULL;
	struct mon_msg reply;
	int r;

	pthread_mutex_lock(&z->lock);
	r = zygote_call(z, lhead, request, fds, n_fds, &reply, err);
	/* first use of this profile: have it compiled, then ask again */
	if (r == 0 && reply.code == ENOKEY && seccomp_key) {
		seccomp_json = hamn_json_dump(seccomp);
		r = zygote_call(z, shead, seccomp_json, NULL, 0, &reply, err);
		if (r == 0 && reply.code)
			r = hamn_error_setq(err, reply.code, "seccomp: %s", reply.text);
		else if (r == 0)
			r = zygote_call(z, lhead, request, fds, n_fds, &reply, err);
	}
	pthread_mutex_unlock(&z->lock);
	if (r < 0)
		return hamn_error_wrap(err, "launch monitor");
	if (reply.pid <= 0)
		return hamn_error_set(err, reply.code, "launch monitor: fork");
	*pid_out = reply.pid;
	return 0;
}

void zygote_stop(struct zygote *z)
{
	if (z->fd >= 0) {
		close(z->fd);
		z->fd = -1;
	}
	if (z->pid > 0) {
		int st;

		/*
		 * It exits once its monitors are gone, which may be long after us
		 * (containers outlive hamnd): reap it only if it is done already.
		 */
		while (waitpid(z->pid, &st, WNOHANG) < 0 && errno == EINTR)
			;
		z->pid = -1;
	}
	pthread_mutex_destroy(&z->lock);
}

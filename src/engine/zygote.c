/*
 * zygote.c - the process that forks monitors.
 *
 * hamnd forks the zygote first thing, while it is small and has a single
 * thread. Monitors are then forked from the zygote, not from hamnd: they
 * start with the zygote's tiny heap instead of a copy of the daemon's
 * (each monitor stays near conmon's 1-2 MB), and fork happens in a
 * single-threaded process, so the child may use malloc and everything else
 * without the locks another thread held at fork time.
 *
 * Protocol (SOCK_SEQPACKET): hamnd sends one blob (the launch JSON) with the
 * monitor's fds; the zygote answers with one message whose pid is the new
 * monitor's (or code = errno). The zygote ignores SIGCHLD so its children
 * never linger as zombies, and exits when hamnd's end closes. It does not
 * kill its children: monitors outlive hamnd.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/syscalls.h"
#include "engine/internal.h"

#define ZYGOTE_SNDBUF (8 << 20)

static void zygote_close_others(int keep)
{
	/* everything but stdio and our socket: the DB, the API sockets, ... */
	if (keep > 3)
		sys_close_range(3, (unsigned int)keep - 1, 0);
	sys_close_range((unsigned int)keep + 1, ~0U, 0);
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
		pid_t pid;
		int r;

		r = mon_recv_blob(sock, &req, &len, fds, 16, &n_fds, &err);
		if (r <= 0)
			_exit(0);
		pid = fork();
		if (pid == 0) {
			close(sock);
			monitor_main(req, fds, n_fds);
		}
		reply.pid = pid;
		if (pid < 0)
			reply.code = errno;
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		free(req);
		if (mon_send(sock, &reply, NULL, 0, &err) < 0)
			_exit(0);
	}
}

static void zygote_child(int sock) __attribute__((noreturn));

static void zygote_child(int sock)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	/* Ctrl-C on hamnd's terminal must not reach us: hamnd decides */
	setsid();
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_NAME, "hamnd-zygote", 0, 0, 0);
	zygote_close_others(sock);
	zygote_serve(sock);
}

int zygote_start(struct zygote *z, struct hamn_error **err)
{
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
	z->pid = fork();
	if (z->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return hamn_error_set(err, errno, "fork the monitor zygote");
	}
	if (z->pid == 0) {
		close(sv[0]);
		zygote_child(sv[1]);
	}
	close(sv[1]);
	z->fd = sv[0];
	return 0;
}

int zygote_launch(struct zygote *z, const char *request, const int *fds, size_t n_fds,
		  pid_t *pid_out, struct hamn_error **err)
{
	struct mon_msg reply;
	int r;

	pthread_mutex_lock(&z->lock);
	r = mon_send_blob(z->fd, request, strlen(request), fds, n_fds, err);
	if (r == 0)
		r = mon_recv(z->fd, &reply, NULL, 0, NULL, 30000, err);
	pthread_mutex_unlock(&z->lock);
	if (r < 0)
		return hamn_error_wrap(err, "launch monitor");
	if (r == 0)
		return hamn_error_setq(err, EPIPE, "launch monitor: the zygote is gone");
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

		/* it exits on EOF; reap it so it does not stay a zombie of hamnd */
		while (waitpid(z->pid, &st, 0) < 0 && errno == EINTR)
			;
		z->pid = -1;
	}
	pthread_mutex_destroy(&z->lock);
}

/*
 * pump.c - copy bytes between the terminal and a hijacked attach/exec stream,
 * demultiplexing docker's 8-byte frame headers when there is no tty.
 */
#include "cli.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

struct demux {
	struct hamn_buf pending;	/* bytes of an incomplete frame */
};

/* Write whole frames out of d->pending; keep a partial frame for later. */
static int demux_flush(struct demux *d, struct hamn_error **err)
{
	while (d->pending.len >= 8) {
		const unsigned char *h = (const unsigned char *)d->pending.data;
		size_t len = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
		int fd = h[0] == 2 ? STDERR_FILENO : STDOUT_FILENO;

		if (d->pending.len < 8 + len)
			break;
		if (hamn_write_all(fd, d->pending.data + 8, len, err) < 0)
			return -1;
		hamn_buf_consume(&d->pending, 8 + len);
	}
	return 0;
}

static int output(struct demux *d, bool tty, const char *buf, size_t n, struct hamn_error **err)
{
	if (tty)
		return hamn_write_all(STDOUT_FILENO, buf, n, err);
	hamn_buf_append(&d->pending, buf, n);
	return demux_flush(d, err);
}

/* Copy one read of stdin to the socket; at EOF half-close so the daemon sees it. */
static int forward_stdin(int sock, bool *in_open, struct hamn_error **err)
{
	char buf[16384];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		*in_open = false;
		shutdown(sock, SHUT_WR);
		return 0;
	}
	return hamn_write_all(sock, buf, (size_t)n, err);
}

/* A signalfd for SIGWINCH (blocked meanwhile, old mask in *old), or -1 when not wanted. */
static int winch_fd(bool tty, const struct cli_resizer *rs, sigset_t *old)
{
	sigset_t winch;

	if (!tty || !rs)
		return -1;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	sigprocmask(SIG_BLOCK, &winch, old);
	return signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void on_winch(int fd, const struct cli_resizer *rs)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	rs->fn(rs->ctx);
}

int cli_pump(int sock, struct hamn_buf *early, bool in, bool tty, const struct cli_resizer *rs,
	     struct hamn_error **err)
{
	struct demux d = { HAMN_BUF_INIT };
	bool in_open = in;
	char buf[65536];
	sigset_t old_mask;
	_cleanup_close_ int wfd = winch_fd(tty, rs, &old_mask);
	int rc = -1;

	if (!in)
		shutdown(sock, SHUT_WR);
	if (early->len && output(&d, tty, early->data, early->len, err) < 0)
		goto out;
	for (;;) {
		struct pollfd p[3] = { { sock, POLLIN, 0 },
				       { in_open ? STDIN_FILENO : -1, POLLIN, 0 },
				       { wfd, POLLIN, 0 } };
		ssize_t n;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			hamn_error_set(err, errno, "poll");
			goto out;
		}
		if (wfd >= 0 && (p[2].revents & POLLIN))
			on_winch(wfd, rs);
		if (in_open && (p[1].revents & (POLLIN | POLLHUP)) &&
		    forward_stdin(sock, &in_open, err) < 0)
			goto out;
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (output(&d, tty, buf, (size_t)n, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (wfd >= 0)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	hamn_buf_release(&d.pending);
	return rc;
}

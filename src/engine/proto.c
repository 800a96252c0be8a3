/*
 * proto.c - the wire between hamnd, the zygote and the monitors: fixed-size
 * messages (struct mon_msg) and variable-size blobs on SOCK_SEQPACKET unix
 * sockets, with fds passed as SCM_RIGHTS; unix sockets addressed through a
 * directory fd (so long --exec-root paths never hit sun_path's 108 bytes);
 * atomic small-file writes.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/internal.h"

#define MAX_FDS 16

static int send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t n_fds,
			 struct hamn_error **err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (n_fds > MAX_FDS)
		return hamn_error_setq(err, E2BIG, "too many fds to pass (%zu)", n_fds);
	if (n_fds) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hamn_error_set(err, errno, "send to monitor socket");
	return 0;
}

int mon_send(int sock, const struct mon_msg *msg, const int *fds, size_t n_fds,
	     struct hamn_error **err)
{
	return send_with_fds(sock, msg, sizeof(*msg), fds, n_fds, err);
}

int mon_send_blob(int sock, const void *data, size_t len, const int *fds, size_t n_fds,
		  struct hamn_error **err)
{
	return send_with_fds(sock, data, len, fds, n_fds, err);
}

static int wait_readable(int sock, int timeout_ms, struct hamn_error **err)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int r;

	if (timeout_ms < 0)
		return 0;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return hamn_error_set(err, errno, "poll monitor socket");
	if (r == 0)
		return hamn_error_setq(err, ETIMEDOUT, "no answer from the monitor");
	return 0;
}

static void take_fds(struct msghdr *mh, int *fds, size_t max_fds, size_t *n_fds)
{
	size_t n = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		int *in;
		size_t cnt;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		in = (int *)CMSG_DATA(cm);
		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			if (fds && n < max_fds)
				fds[n++] = in[i];
			else
				close(in[i]);
		}
	}
	if (n_fds)
		*n_fds = n;
}

static ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds, size_t max_fds,
			     size_t *n_fds, struct hamn_error **err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	if (n_fds)
		*n_fds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hamn_error_set(err, errno, "receive from monitor socket");
	take_fds(&mh, fds, max_fds, n_fds);
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return hamn_error_setq(err, EMSGSIZE, "monitor message truncated");
	return n;
}

int mon_recv(int sock, struct mon_msg *msg, int *fds, size_t max_fds, size_t *n_fds,
	     int timeout_ms, struct hamn_error **err)
{
	ssize_t n;

	if (wait_readable(sock, timeout_ms, err) < 0)
		return -1;
	n = recv_with_fds(sock, msg, sizeof(*msg), fds, max_fds, n_fds, err);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if ((size_t)n != sizeof(*msg))
		return hamn_error_setq(err, EPROTO, "bad monitor message (%zd bytes)", n);
	msg->text[sizeof(msg->text) - 1] = '\0';
	return 1;
}

int mon_recv_blob(int sock, char **data, size_t *len, int *fds, size_t max_fds, size_t *n_fds,
		  struct hamn_error **err)
{
	_cleanup_free_ char *buf = NULL;
	ssize_t want, n;

	do
		want = recv(sock, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (want < 0 && errno == EINTR);
	if (want < 0)
		return hamn_error_set(err, errno, "receive from socket");
	if (want == 0) {
		/* EOF, or an empty message: consume it either way */
		char c;

		if (recv(sock, &c, 0, 0) < 0 && errno != EAGAIN)
			return hamn_error_set(err, errno, "receive from socket");
		return 0;
	}
	buf = xmalloc((size_t)want + 1);
	n = recv_with_fds(sock, buf, (size_t)want, fds, max_fds, n_fds, err);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	*len = (size_t)n;
	*data = steal_pointer(&buf);
	return 1;
}

static int fd_sockaddr(int dirfd, const char *name, struct sockaddr_un *sa, socklen_t *len,
		       struct hamn_error **err)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return hamn_error_setq(err, ENAMETOOLONG, "socket name '%s' too long", name);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

int unix_connect_at(int dirfd, const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t len = 0;

	if (fd_sockaddr(dirfd, name, &sa, &len, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hamn_error_set(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, len) < 0)
		return hamn_error_set(err, errno, "connect to '%s'", name);
	return steal_fd(&fd);
}

int unix_listen_at(int dirfd, const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t len = 0;

	if (fd_sockaddr(dirfd, name, &sa, &len, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hamn_error_set(err, errno, "socket");
	unlinkat(dirfd, name, 0);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0)
		return hamn_error_set(err, errno, "bind '%s'", name);
	if (listen(fd, 16) < 0)
		return hamn_error_set(err, errno, "listen on '%s'", name);
	return steal_fd(&fd);
}

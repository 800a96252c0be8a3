/*
 * monitor_io.c - the monitor's event loop: the container's output goes to
 * the json-file log and to every attached client (multiplexed frames
 * without a tty, raw bytes with one); clients' stdin goes to the container
 * (detach keys end a client without touching the container); hamnd's
 * messages (attach, signal, resize, hello) are served; the container's exit
 * is seen on its pidfd.
 *
 * Client sockets are shared with hamnd's copy, so they are never switched
 * to non-blocking mode: every send/recv uses MSG_DONTWAIT instead. A slow
 * client holds back the container's output (as with docker) but never the
 * monitor's other work; a client that goes away is dropped.
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "engine/exec_int.h"
#include "engine/monitor.h"

#define READ_CHUNK (64 * 1024)
/* After the container exited, wait at most this long for its output to end. */
#define DRAIN_TIMEOUT_MS 2000
/* ... and at most this long for clients to take what is left. */
#define FLUSH_TIMEOUT_MS 5000
/* How long the stdin read ahead that follows a MON_ATTACH may take to come. */
#define AHEAD_TIMEOUT_MS 2000

static void client_stdin(struct mon *m, struct mon_client *c, const char *buf, size_t n);

void mon_client_add(struct mon *m, int fd, uint64_t token, uint32_t flags, const char *detach,
		    size_t n_detach, const char *ahead, size_t n_ahead)
{
	struct mon_client *c;

	if (m->n_clients >= MON_MAX_CLIENTS) {
		struct mon_msg done = { .type = MON_CLIENT_DONE, .token = token };

		close(fd);
		mon_broadcast(m, &done);
		return;
	}
	c = &m->clients[m->n_clients++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->token = token;
	c->in = (flags & MON_F_STDIN) && m->open_stdin;
	c->out = flags & MON_F_STDOUT;
	c->err = flags & MON_F_STDERR;
	if (n_detach > sizeof(c->detach))
		n_detach = sizeof(c->detach);
	memcpy(c->detach, detach, n_detach);
	c->n_detach = n_detach;
	/* a client that attached after the end: nothing more will come */
	if (m->exited)
		c->gone = true;
	/* a client of the launch comes before the stdin pipe (m->pid is still 0) */
	if (c->in && !c->gone && n_ahead && (m->in_fd >= 0 || !m->pid))
		client_stdin(m, c, ahead, n_ahead);
}

void mon_broadcast(struct mon *m, const struct mon_msg *msg)
{
	for (size_t i = 0; i < m->n_conns;) {
		_cleanup_error_ struct hamn_error *err = NULL;

		if (mon_send(m->conns[i], msg, NULL, 0, &err) < 0) {
			close(m->conns[i]);
			m->conns[i] = m->conns[--m->n_conns];
			continue;
		}
		i++;
	}
}

void mon_client_flush(struct mon *m, struct mon_client *c)
{
	(void)m;
	while (c->pending.len && !c->gone) {
		ssize_t n = send(c->fd, c->pending.data, c->pending.len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			hamn_buf_consume(&c->pending, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->gone = true;
	}
}

static void client_queue(struct mon *m, struct mon_client *c, int s, const char *data,
			 size_t len)
{
	if (c->gone || (s == 1 && !c->out) || (s == 2 && !c->err))
		return;
	if (!m->tty) {
		unsigned char hdr[8] = { (unsigned char)s, 0, 0, 0, (unsigned char)(len >> 24),
					 (unsigned char)(len >> 16), (unsigned char)(len >> 8),
					 (unsigned char)len };

		hamn_buf_append(&c->pending, hdr, sizeof(hdr));
	}
	hamn_buf_append(&c->pending, data, len);
	mon_client_flush(m, c);
}

bool mon_read_output(struct mon *m, int s)
{
	static char buf[READ_CHUNK];
	_cleanup_error_ struct hamn_error *err = NULL;
	ssize_t n;

	n = read(m->out[s], buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	/* EIO: the pty's last slave closed, its way of saying EOF */
	if (n <= 0)
		return false;
	if (logw_write(&m->log, s, buf, (size_t)n, hamn_now_ns(), &err) < 0)
		hamn_error_free(&err);
	for (size_t i = 0; i < m->n_clients; i++)
		client_queue(m, &m->clients[i], s, buf, (size_t)n);
	return true;
}

void mon_stdin_flush(struct mon *m)
{
	while (m->in_fd >= 0 && m->in_buf.len) {
		ssize_t n = write(m->in_fd, m->in_buf.data, m->in_buf.len);

		if (n > 0) {
			hamn_buf_consume(&m->in_buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* the container closed its stdin: drop what it will never read */
		hamn_buf_reset(&m->in_buf);
		m->close_in = true;
	}
	if (m->in_fd >= 0 && m->close_in && !m->in_buf.len) {
		if (m->in_fd != m->out[1])
			close(m->in_fd);
		m->in_fd = -1;
	}
}

/* Feed client bytes through the detach-key matcher into the stdin buffer. */
static void client_stdin(struct mon *m, struct mon_client *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char b = buf[i];

		if (c->n_detach && b == c->detach[c->matched]) {
			if (++c->matched == c->n_detach) {
				c->gone = true;
				return;
			}
			continue;
		}
		if (c->matched) {
			hamn_buf_append(&m->in_buf, c->detach, c->matched);
			c->matched = 0;
			if (c->n_detach && b == c->detach[0]) {
				c->matched = 1;
				continue;
			}
		}
		hamn_buf_putc(&m->in_buf, b);
	}
}

void mon_client_read(struct mon *m, struct mon_client *c)
{
	char buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		c->gone = true;
		return;
	}
	if (n == 0) {
		/* half-close is not a detach: keep sending output */
		c->read_eof = true;
		if (c->in && m->stdin_once && !m->tty)
			m->close_in = true;
		return;
	}
	if (c->in && m->in_fd >= 0)
		client_stdin(m, c, buf, (size_t)n);
	mon_stdin_flush(m);
}

void mon_clients_reap(struct mon *m)
{
	for (size_t i = 0; i < m->n_clients;) {
		struct mon_client *c = &m->clients[i];

		if (!c->gone) {
			i++;
			continue;
		}
		struct mon_msg done = { .type = MON_CLIENT_DONE, .token = c->token };

		close(c->fd);
		hamn_buf_release(&c->pending);
		mon_broadcast(m, &done);
		m->clients[i] = m->clients[--m->n_clients];
	}
}

static void mon_resize(struct mon *m, unsigned int h, unsigned int w)
{
	struct winsize ws = { .ws_row = (unsigned short)h, .ws_col = (unsigned short)w };

	if (m->tty && m->out[1] >= 0)
		ioctl(m->out[1], TIOCSWINSZ, &ws);
}

/*
 * The w bytes of stdin read ahead that follow a MON_ATTACH on connection
 * i (hamnd sends them right behind it). false when they do not come.
 */
static bool recv_ahead(struct mon *m, size_t i, uint32_t w, char **data)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct pollfd p = { .fd = m->conns[i], .events = POLLIN };
	size_t len = 0;
	int r;

	do
		r = poll(&p, 1, AHEAD_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || mon_recv_blob(m->conns[i], data, &len, NULL, 0, NULL, &err) <= 0)
		return false;
	if (len == w)
		return true;
	free(*data);
	*data = NULL;
	return false;
}

static void conn_attach(struct mon *m, size_t i, const struct mon_msg *msg, int fd)
{
	_cleanup_free_ char *ahead = NULL;

	if (msg->w && !recv_ahead(m, i, msg->w, &ahead)) {
		/* a client whose first bytes are lost must not go on as if nothing was */
		struct mon_msg done = { .type = MON_CLIENT_DONE, .token = msg->token };

		close(fd);
		mon_broadcast(m, &done);
		return;
	}
	mon_client_add(m, fd, msg->token, msg->flags, msg->text,
		       msg->h < sizeof(msg->text) ? msg->h : 0, ahead, msg->w);
}

bool mon_conn_message(struct mon *m, size_t i)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct mon_msg msg, reply = { .type = MON_STATUS };
	int fds[2] = { -1, -1 }, fd;
	size_t n_fds = 0;
	int r = mon_recv(m->conns[i], &msg, fds, 2, &n_fds, 0, &err);

	if (r <= 0)
		return false;
	fd = fds[0];
	if (n_fds == 2 && msg.type != MON_EXEC)
		close(fds[1]);
	switch (msg.type) {
	case MON_EXEC:	/* exec_mon.c */
		if (n_fds >= 1)
			mon_exec_fork(m, fds[0], n_fds == 2 ? fds[1] : -1);
		return true;
	case MON_HELLO:
		reply.pid = m->pid;
		reply.t1 = m->started_ns;
		return mon_send(m->conns[i], &reply, NULL, 0, &err) == 0;
	case MON_ATTACH:
		if (n_fds >= 1)
			conn_attach(m, i, &msg, fd);
		return true;
	case MON_SIGNAL:
		if (!m->exited && msg.code > 0)
			hamn_container_handle_kill(m->h, msg.code, false, &err);
		return true;
	case MON_RESIZE:
		mon_resize(m, msg.h, msg.w);
		return true;
	default:
		if (n_fds >= 1)
			close(fd);
		return true;
	}
}

static void mon_accept(struct mon *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (m->n_conns >= MON_MAX_CONNS) {
		close(fd);
		return;
	}
	m->conns[m->n_conns++] = fd;
}

/* poll set layout: fixed slots first, then clients, then hamnd connections */
enum { P_PID, P_OUT1, P_OUT2, P_IN, P_LISTEN, P_FIXED };

static bool output_blocked(struct mon *m)
{
	for (size_t i = 0; i < m->n_clients; i++)
		if (!m->clients[i].gone && m->clients[i].pending.len > MON_CLIENT_HIGH_WATER)
			return true;
	return false;
}

static size_t build_pollset(struct mon *m, struct pollfd *p)
{
	bool blocked = output_blocked(m);
	size_t n = P_FIXED;

	p[P_PID] = (struct pollfd){ .fd = m->exited ? -1 : m->pidfd, .events = POLLIN };
	p[P_OUT1] = (struct pollfd){ .fd = blocked ? -1 : m->out[1], .events = POLLIN };
	p[P_OUT2] = (struct pollfd){ .fd = blocked ? -1 : m->out[2], .events = POLLIN };
	p[P_IN] = (struct pollfd){ .fd = m->in_buf.len && m->in_fd != m->out[1] ? m->in_fd : -1,
				   .events = POLLOUT };
	p[P_LISTEN] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < m->n_clients; i++) {
		struct mon_client *c = &m->clients[i];
		short ev = 0;

		if (c->in && !c->read_eof && m->in_buf.len < MON_STDIN_HIGH_WATER)
			ev |= POLLIN;
		if (c->pending.len)
			ev |= POLLOUT;
		/* always watched: POLLHUP (reported without asking) says the client is gone */
		p[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	for (size_t i = 0; i < m->n_conns; i++)
		p[n++] = (struct pollfd){ .fd = m->conns[i], .events = POLLIN };
	return n;
}

static void handle_output(struct mon *m, struct pollfd *p)
{
	for (int s = 1; s <= 2; s++) {
		if (m->out[s] < 0 || !(p[P_OUT1 + s - 1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (!mon_read_output(m, s)) {
			if (m->in_fd == m->out[s])
				m->in_fd = -1;
			close(m->out[s]);
			m->out[s] = -1;
		}
	}
}

static void handle_exit(struct mon *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int status = 255;

	if (hamn_container_handle_wait(m->h, &status, &err) < 0)
		status = 255;
	m->status = status;
	m->exited = true;
	m->finished_ns = hamn_now_ns();
}

static void handle_events(struct mon *m, struct pollfd *p, size_t n)
{
	size_t base = P_FIXED, nc = m->n_clients, nconn = m->n_conns;

	handle_output(m, p);
	if (p[P_IN].revents)
		mon_stdin_flush(m);
	if (p[P_PID].revents & POLLIN)
		handle_exit(m);
	for (size_t i = 0; i < nc && base + i < n; i++) {
		struct mon_client *c = &m->clients[i];

		if (p[base + i].revents & POLLOUT)
			mon_client_flush(m, c);
		/* both directions shut (hamnd's API stopped, or a reset): the client is gone */
		if (p[base + i].revents & (POLLHUP | POLLERR))
			c->gone = true;
		else if (p[base + i].revents & POLLIN)
			mon_client_read(m, c);
	}
	/* connections: walk backwards, a closed one is swapped with the last */
	for (size_t i = nconn; i-- > 0;) {
		if (!(p[base + nc + i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (!mon_conn_message(m, i)) {
			close(m->conns[i]);
			m->conns[i] = m->conns[--m->n_conns];
		}
	}
	if (p[P_LISTEN].revents & POLLIN)
		mon_accept(m);
	mon_stdin_flush(m);
	mon_clients_reap(m);
}

void mon_loop(struct mon *m)
{
	struct pollfd p[P_FIXED + MON_MAX_CLIENTS + MON_MAX_CONNS];
	int64_t drain_deadline = 0;

	/* the stdin that came with the launch's clients (a pty's is flushed on events only) */
	mon_stdin_flush(m);

	for (;;) {
		size_t n;
		int timeout = -1, r;

		if (m->exited) {
			if (m->out[1] < 0 && m->out[2] < 0)
				return;
			if (!drain_deadline)
				drain_deadline = hamn_monotonic_ns() + DRAIN_TIMEOUT_MS * 1000000LL;
			timeout = (int)((drain_deadline - hamn_monotonic_ns()) / 1000000);
			/* processes outside the pid namespace may keep the pipes open */
			if (timeout <= 0)
				return;
		}
		n = build_pollset(m, p);
		r = poll(p, n, timeout);
		if (r < 0 && errno != EINTR)
			return;
		if (r > 0)
			handle_events(m, p, n);
	}
}

void mon_clients_finish(struct mon *m)
{
	int64_t deadline = hamn_monotonic_ns() + FLUSH_TIMEOUT_MS * 1000000LL;

	for (;;) {
		struct pollfd p[MON_MAX_CLIENTS];
		size_t n = 0;
		int timeout;

		for (size_t i = 0; i < m->n_clients; i++) {
			mon_client_flush(m, &m->clients[i]);
			if (m->clients[i].pending.len && !m->clients[i].gone)
				p[n++] = (struct pollfd){ .fd = m->clients[i].fd, .events = POLLOUT };
		}
		timeout = (int)((deadline - hamn_monotonic_ns()) / 1000000);
		if (!n || timeout <= 0)
			break;
		if (poll(p, n, timeout) < 0 && errno != EINTR)
			break;
	}
	for (size_t i = 0; i < m->n_clients; i++)
		m->clients[i].gone = true;
	mon_clients_reap(m);
}

/*
 * hijack.c - "101 UPGRADED" connections (attach, exec start).
 *
 * MHD sends the 101 reply and then calls upgrade_cb() with the raw socket
 * (in thread-per-connection mode the connection thread then just waits for
 * us to close). The session runs in a thread of its own; the connection is
 * closed by hamn_api_hijack_close(), and the object is freed once both the
 * session thread and the close are done.
 */
#include "api/internal.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

struct hamn_api_hijack {
	struct hamn_api_server *server;
	struct api_link link;
	struct MHD_UpgradeResponseHandle *urh;
	int fd;
	int cancel_fd;
	char *extra; /* bytes MHD read past the request */
	size_t extra_len, extra_off;
	pthread_mutex_t lock;
	int refs;      /* the request, the session thread and the open connection */
	bool upgraded; /* upgrade_cb ran */
	bool closed;
	bool detached; /* MHD stopped: it closed the socket and freed urh */
	hamn_api_hijack_fn fn;
	void *ctx;
	void (*ctx_free)(void *);
};

static void hijack_unref(struct hamn_api_hijack *h)
{
	bool last;

	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&h->lock);
	if (h->cancel_fd >= 0)
		close(h->cancel_fd);
	free(h->extra);
	free(h);
}

void api_hijacks_cancel_all(struct hamn_api_server *s)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	for (struct api_link *l = s->hijacks.next; l != &s->hijacks; l = l->next) {
		struct hamn_api_hijack *h = container_of(l, struct hamn_api_hijack, link);

		(void)!write(h->cancel_fd, &one, sizeof(one));
		/* wakes a session blocked in read() or write() on the socket */
		shutdown(h->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&s->lock);
}

void api_hijacks_detach_all(struct hamn_api_server *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct api_link *l = s->hijacks.next; l != &s->hijacks; l = l->next) {
		struct hamn_api_hijack *h = container_of(l, struct hamn_api_hijack, link);

		/* waits for a close in progress: it still uses urh */
		pthread_mutex_lock(&h->lock);
		h->detached = true;
		pthread_mutex_unlock(&h->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

static void *session_main(void *arg)
{
	struct hamn_api_hijack *h = arg;
	struct hamn_api_server *s = h->server;

	h->fn(h, h->ctx);
	if (h->ctx_free)
		h->ctx_free(h->ctx);
	hijack_unref(h);
	api_server_thread_done(s);
	return NULL;
}

static void upgrade_cb(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
		       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct hamn_api_hijack *h = cls;
	pthread_attr_t attr;
	pthread_t tid;
	int flags;

	(void)conn;
	(void)con_cls;
	pthread_mutex_lock(&h->lock);
	h->upgraded = true;
	pthread_mutex_unlock(&h->lock);
	h->urh = urh;
	h->fd = sock;
	if (extra_in_size > 0) {
		h->extra = xmalloc(extra_in_size);
		memcpy(h->extra, extra_in, extra_in_size);
		h->extra_len = extra_in_size;
	}
	/* sessions use plain blocking reads and writes */
	flags = fcntl(sock, F_GETFL);
	if (flags >= 0)
		fcntl(sock, F_SETFL, flags & ~O_NONBLOCK);
	api_list_add(h->server, &h->server->hijacks, &h->link);
	api_server_thread_started(h->server);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, session_main, h) != 0) {
		log_error("cannot start a thread for a hijacked connection");
		api_server_thread_done(h->server);
		if (h->ctx_free)
			h->ctx_free(h->ctx);
		hijack_unref(h); /* the thread's reference */
		hamn_api_hijack_close(h);
	}
	pthread_attr_destroy(&attr);
}

/*
 * MHD calls upgrade_cb only once the 101 reached the socket, and before the
 * request ends; a request that ends without it will never be upgraded.
 */
void api_hijack_request_done(struct hamn_api_hijack *h)
{
	bool upgraded;

	pthread_mutex_lock(&h->lock);
	upgraded = h->upgraded;
	if (!upgraded)
		h->refs -= 2;	/* no session thread and no connection will ever drop theirs */
	pthread_mutex_unlock(&h->lock);
	/*
	 * MHD may call this after the session already closed the connection, so
	 * the request holds a reference of its own until here.
	 */
	if (!upgraded) {
		log_debug("hijack abandoned: the client left before the upgrade");
		if (h->ctx_free)
			h->ctx_free(h->ctx);
	}
	hijack_unref(h);
}

int hamn_api_reply_hijack(struct hamn_api_req *req, hamn_api_hijack_fn fn, void *ctx,
			  void (*ctx_free)(void *))
{
	const char *upgrade = hamn_api_req_header(req, "Upgrade");
	struct hamn_api_hijack *h;
	struct MHD_Response *r;

	if (!upgrade || strcasecmp(upgrade, "tcp") != 0) {
		if (ctx_free)
			ctx_free(ctx);
		api_reply_error_msg(req, 400,
				    "this endpoint needs a hijacked connection: send 'Connection: "
				    "Upgrade' and 'Upgrade: tcp'");
		return 0;
	}
	h = xzalloc(sizeof(*h));
	h->server = req->server;
	h->fd = -1;
	h->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->cancel_fd < 0) /* out of descriptors: the session just gets no cancel signal */
		log_kv(HAMN_LOG_ERROR, "cannot create a cancel fd", "errno=%s",
		       hamn_errno_name(errno));
	pthread_mutex_init(&h->lock, NULL);
	h->refs = 3;
	h->fn = fn;
	h->ctx = ctx;
	h->ctx_free = ctx_free;
	r = MHD_create_response_for_upgrade(upgrade_cb, h);
	if (!r)
		hamn_bug("cannot create an upgrade response");
	MHD_add_response_header(r, "Content-Type", "application/vnd.docker.raw-stream");
	/* libmicrohttpd adds "Connection: Upgrade" to upgrade responses itself */
	MHD_add_response_header(r, "Upgrade", "tcp");
	api_req_set_response(req, 101, r);
	req->hijack = h;
	return 0;
}

ssize_t hamn_api_hijack_read(struct hamn_api_hijack *h, void *buf, size_t len,
			     struct hamn_error **err)
{
	ssize_t n;

	if (h->extra_off < h->extra_len) {
		size_t avail = h->extra_len - h->extra_off;

		n = (ssize_t)(avail < len ? avail : len);
		memcpy(buf, h->extra + h->extra_off, (size_t)n);
		h->extra_off += (size_t)n;
		return n;
	}
	do
		n = read(h->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hamn_error_set(err, errno, "read from the client");
	return n;
}

const char *hamn_api_hijack_take_extra(struct hamn_api_hijack *h, size_t *len_out)
{
	const char *p;

	*len_out = h->extra_len - h->extra_off;
	if (!*len_out)
		return NULL;
	p = h->extra + h->extra_off;
	h->extra_off = h->extra_len;
	return p;
}

int hamn_api_hijack_write(struct hamn_api_hijack *h, const void *data, size_t len,
			  struct hamn_error **err)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(h->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "write to the client");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hamn_api_hijack_frame(struct hamn_api_hijack *h, int stream_type, const void *data, size_t len,
			  struct hamn_error **err)
{
	const char *p = data;

	do {
		uint32_t n = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		uint8_t hdr[HAMN_API_MUX_HEADER_LEN];

		hamn_api_mux_header(hdr, stream_type, n);
		if (hamn_api_hijack_write(h, hdr, sizeof(hdr), err) < 0 ||
		    hamn_api_hijack_write(h, p, n, err) < 0)
			return -1;
		p += n;
		len -= n;
	} while (len > 0);
	return 0;
}

int hamn_api_hijack_fd(const struct hamn_api_hijack *h)
{
	return h->fd;
}

int hamn_api_hijack_cancel_fd(const struct hamn_api_hijack *h)
{
	return h->cancel_fd;
}

/*
 * Send FIN after the queued output, then swallow what the client still has
 * in flight: closing a socket with unread input sends RST, which can make
 * the client lose the last output bytes.
 */
static void finish_socket(int fd)
{
	char buf[4096];

	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

void hamn_api_hijack_close(struct hamn_api_hijack *h)
{
	pthread_mutex_lock(&h->lock);
	if (h->closed)
		hamn_bug("hijacked connection closed twice");
	h->closed = true;
	/* under the lock: api_hijacks_detach_all (before MHD stops) waits for this */
	if (!h->detached) {
		finish_socket(h->fd);
		MHD_upgrade_action(h->urh, MHD_UPGRADE_ACTION_CLOSE);
	}
	pthread_mutex_unlock(&h->lock);
	api_list_del(h->server, &h->link);
	hijack_unref(h);
}

void hamn_api_mux_header(uint8_t hdr[HAMN_API_MUX_HEADER_LEN], int stream_type, uint32_t len)
{
	hdr[0] = (uint8_t)stream_type;
	hdr[1] = hdr[2] = hdr[3] = 0;
	hdr[4] = (uint8_t)(len >> 24);
	hdr[5] = (uint8_t)(len >> 16);
	hdr[6] = (uint8_t)(len >> 8);
	hdr[7] = (uint8_t)len;
}

/*
 * dns.c - the embedded DNS server thread (see dns.h for the design).
 *
 * Every socket the thread polls is an "obj" in a slot table; epoll carries
 * slot and generation, so an event for a socket closed meanwhile by another
 * thread (a container leaving) is recognised and ignored. Forwarded
 * queries get a socket of their own (a random source port per query on
 * top of the random ID), a 2 s timeout per forwarder, and SERVFAIL when
 * every forwarder failed. TCP clients are served too (length-prefixed
 * messages, 10 s idle timeout); their queries are forwarded over UDP.
 *
 * What it deliberately does not do: caching, DNSSEC, forwarding over TCP,
 * IPv6 forwarders.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "base/base.h"
#include "network/dns.h"
#include "network/ipam.h"

#define MAX_UPSTREAMS 8
#define MAX_PENDING 1024
#define MAX_TCP_CONNS 256
#define UPSTREAM_TIMEOUT_NS (2 * 1000000000LL)
#define TCP_IDLE_NS (10 * 1000000000LL)
#define TCP_MSG_MAX (2 + 65535)
#define ANSWER_MAX 4096

enum kind { K_WAKE, K_UDP, K_TCP_LISTEN, K_TCP_CONN, K_UPSTREAM };

struct upstreams {
	struct sockaddr_in addr[MAX_UPSTREAMS];
	size_t n;
};

struct listener {
	char *container_id;
	struct upstreams fwd;
	bool custom_fwd;
	bool may_forward;
	size_t udp_slot;
	size_t tcp_slot;
};

struct obj {
	enum kind kind;
	int fd;
	uint32_t gen;
	struct listener *l; /* K_UDP, K_TCP_LISTEN, K_TCP_CONN */
	int64_t deadline;   /* K_TCP_CONN: idle; K_UPSTREAM: this forwarder's time is up */
	uint8_t *buf;	    /* K_TCP_CONN: bytes read; K_UPSTREAM: the query as sent */
	size_t len;
	/* K_UPSTREAM only */
	uint16_t orig_id;
	uint16_t new_id;
	size_t client_slot;
	uint32_t client_gen;
	struct sockaddr_in client_addr; /* UDP clients */
	struct upstreams fwd;
	size_t next_fwd;
	uint8_t qwire[HAMN_DNS_WIRE_NAME_MAX + 4];
	size_t qwire_len;
};

struct hamn_dns_server {
	pthread_mutex_t lock;
	pthread_t thread;
	bool running;
	bool stop;
	int epfd;
	int wakefd;
	struct obj **objs;
	size_t n_objs;
	uint32_t next_gen;
	struct listener **ls;
	size_t n_ls;
	struct hamn_dns_record *recs;
	size_t n_recs;
	struct upstreams defaults;
	size_t n_pending;
	size_t n_tcp;
};

/* A query's way back: which socket (slot+gen) and, for UDP, which peer. */
struct client {
	size_t slot;
	uint32_t gen;
	struct sockaddr_in addr;
};

/* ------------------------------------------------------------------ */
/* Slots                                                                */
/* ------------------------------------------------------------------ */

static uint64_t ev_data(size_t slot, uint32_t gen)
{
	return (uint64_t)gen << 32 | slot;
}

static size_t free_slot(struct hamn_dns_server *srv)
{
	size_t slot;

	for (slot = 0; slot < srv->n_objs && srv->objs[slot]; slot++)
		;
	if (slot == srv->n_objs) {
		srv->objs = xreallocarray(srv->objs, srv->n_objs + 16, sizeof(*srv->objs));
		memset(srv->objs + srv->n_objs, 0, 16 * sizeof(*srv->objs));
		srv->n_objs += 16;
	}
	return slot;
}

/* Register fd (owned from now on) in a new slot; returns the slot or -1 (fd closed). */
static ssize_t add_obj(struct hamn_dns_server *srv, enum kind kind, int fd, struct listener *l)
{
	struct epoll_event ev = {.events = EPOLLIN};
	size_t slot = free_slot(srv);
	struct obj *o;

	o = xzalloc(sizeof(*o));
	o->kind = kind;
	o->fd = fd;
	o->l = l;
	o->gen = ++srv->next_gen;
	ev.data.u64 = ev_data(slot, o->gen);
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(o);
		return -1;
	}
	srv->objs[slot] = o;
	return (ssize_t)slot;
}

static void drop_obj(struct hamn_dns_server *srv, size_t slot)
{
	struct obj *o = srv->objs[slot];

	if (!o)
		return;
	if (o->kind == K_UPSTREAM)
		srv->n_pending--;
	if (o->kind == K_TCP_CONN)
		srv->n_tcp--;
	if (o->fd >= 0)
		close(o->fd); /* also leaves the epoll set: the fd is never dup'ed */
	free(o->buf);
	free(o);
	srv->objs[slot] = NULL;
}

static struct obj *get_obj(struct hamn_dns_server *srv, size_t slot, uint32_t gen)
{
	if (slot >= srv->n_objs || !srv->objs[slot] || srv->objs[slot]->gen != gen)
		return NULL;
	return srv->objs[slot];
}

/* ------------------------------------------------------------------ */
/* Replies                                                              */
/* ------------------------------------------------------------------ */

static void tcp_send(struct hamn_dns_server *srv, size_t slot, const uint8_t *msg, size_t len)
{
	struct obj *o = srv->objs[slot];
	uint8_t hdr[2];
	struct iovec iov[2] = {{hdr, 2}, {(void *)msg, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	hamn_dns_put16(hdr, (uint16_t)len);
	/*
	 * Answers are small and the socket buffer is empty between queries: a
	 * short write means a client that does not read, so it is dropped
	 * rather than buffered for.
	 */
	if (sendmsg(o->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(len + 2))
		drop_obj(srv, slot);
}

static void reply(struct hamn_dns_server *srv, const struct client *c, const uint8_t *msg,
		  size_t len)
{
	struct obj *o = get_obj(srv, c->slot, c->gen);

	if (!o || len == 0)
		return; /* the client's socket went away meanwhile */
	if (o->kind == K_TCP_CONN)
		tcp_send(srv, c->slot, msg, len);
	else
		sendto(o->fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&c->addr,
		       sizeof(c->addr));
}

static void reply_error(struct hamn_dns_server *srv, const struct client *c, uint16_t id,
			uint16_t flags, int rcode)
{
	uint8_t out[HAMN_DNS_HEADER_LEN];

	reply(srv, c, out, hamn_dns_write_error(id, flags, rcode, out));
}

/* ------------------------------------------------------------------ */
/* Forwarding                                                           */
/* ------------------------------------------------------------------ */

/* Send o's query to its next forwarder on a new socket; -1 when none is left. */
static int send_next(struct hamn_dns_server *srv, size_t slot)
{
	struct obj *o = srv->objs[slot];
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(slot, o->gen)};

	while (o->next_fwd < o->fwd.n) {
		const struct sockaddr_in *to = &o->fwd.addr[o->next_fwd++];
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (o->fd >= 0)
			close(o->fd);
		o->fd = fd;
		if (fd < 0)
			continue;
		if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 ||
		    send(fd, o->buf, o->len, MSG_DONTWAIT) != (ssize_t)o->len ||
		    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			continue;
		o->deadline = hamn_monotonic_ns() + UPSTREAM_TIMEOUT_NS;
		return 0;
	}
	return -1;
}

static void forward(struct hamn_dns_server *srv, const struct listener *l, const uint8_t *pkt,
		    size_t len, const struct hamn_dns_query *q, const struct client *c)
{
	const struct upstreams *ups = l->custom_fwd ? &l->fwd : &srv->defaults;
	struct obj *o;
	size_t slot;

	if (ups->n == 0 || srv->n_pending >= MAX_PENDING) {
		reply_error(srv, c, q->id, q->flags, HAMN_DNS_SERVFAIL);
		return;
	}
	o = xzalloc(sizeof(*o));
	o->kind = K_UPSTREAM;
	o->fd = -1;
	o->gen = ++srv->next_gen;
	o->buf = xmalloc(len);
	memcpy(o->buf, pkt, len);
	o->len = len;
	o->orig_id = q->id;
	hamn_random_bytes(&o->new_id, sizeof(o->new_id));
	hamn_dns_put16(o->buf, o->new_id);
	o->client_slot = c->slot;
	o->client_gen = c->gen;
	o->client_addr = c->addr;
	o->fwd = *ups;
	memcpy(o->qwire, q->qwire, q->qwire_len);
	o->qwire_len = q->qwire_len;
	slot = free_slot(srv);
	srv->objs[slot] = o;
	srv->n_pending++;
	if (send_next(srv, slot) < 0) {
		reply_error(srv, c, q->id, q->flags, HAMN_DNS_SERVFAIL);
		drop_obj(srv, slot);
	}
}

static void upstream_readable(struct hamn_dns_server *srv, size_t slot)
{
	struct obj *o = srv->objs[slot];
	uint8_t buf[ANSWER_MAX];
	struct client c = {o->client_slot, o->client_gen, o->client_addr};
	ssize_t n = recv(o->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* ICMP unreachable (ECONNREFUSED...): this forwarder is out, try the next */
		if (send_next(srv, slot) < 0) {
			reply_error(srv, &c, o->orig_id, hamn_dns_get16(o->buf + 2),
				    HAMN_DNS_SERVFAIL);
			drop_obj(srv, slot);
		}
		return;
	}
	/* anything but the answer to our question with our ID is ignored (spoofing, junk) */
	if (n < HAMN_DNS_HEADER_LEN || hamn_dns_get16(buf) != o->new_id ||
	    !hamn_dns_response_matches(buf, (size_t)n, o->qwire, o->qwire_len))
		return;
	hamn_dns_put16(buf, o->orig_id);
	reply(srv, &c, buf, (size_t)n);
	drop_obj(srv, slot);
}

/* ------------------------------------------------------------------ */
/* Queries                                                              */
/* ------------------------------------------------------------------ */

static void handle_query(struct hamn_dns_server *srv, const struct listener *l, const uint8_t *pkt,
			 size_t len, const struct client *c, size_t cap)
{
	struct hamn_dns_query q;
	uint8_t out[ANSWER_MAX];
	size_t out_len = 0;

	switch (hamn_dns_parse_query(pkt, len, &q)) {
	case HAMN_DNS_PARSE_DROP:
		return;
	case HAMN_DNS_PARSE_FORMERR:
		reply_error(srv, c, q.id, q.flags, HAMN_DNS_FORMERR);
		return;
	case HAMN_DNS_PARSE_NOTIMP:
		reply_error(srv, c, q.id, q.flags, HAMN_DNS_NOTIMP);
		return;
	case HAMN_DNS_PARSE_OK:
		break;
	}
	if (hamn_dns_resolve(srv->recs, srv->n_recs, l->container_id, l->may_forward, &q, out, cap,
			     &out_len) == HAMN_DNS_ANSWERED)
		reply(srv, c, out, out_len);
	else
		forward(srv, l, pkt, len, &q, c);
}

static void udp_readable(struct hamn_dns_server *srv, size_t slot)
{
	/* a bounded batch per event, so one busy container cannot starve the others */
	for (int i = 0; i < 32 && srv->objs[slot]; i++) {
		struct obj *o = srv->objs[slot];
		uint8_t pkt[ANSWER_MAX];
		struct client c = {.slot = slot, .gen = o->gen};
		socklen_t alen = sizeof(c.addr);
		ssize_t n = recvfrom(o->fd, pkt, sizeof(pkt), MSG_DONTWAIT,
				     (struct sockaddr *)&c.addr, &alen);

		if (n < 0)
			return;
		handle_query(srv, o->l, pkt, (size_t)n, &c, HAMN_DNS_UDP_MAX);
	}
}

static void tcp_accept(struct hamn_dns_server *srv, size_t slot)
{
	struct obj *lo = srv->objs[slot];
	int fd = accept4(lo->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ssize_t cs;

	if (fd < 0)
		return;
	if (srv->n_tcp >= MAX_TCP_CONNS) {
		close(fd);
		return;
	}
	cs = add_obj(srv, K_TCP_CONN, fd, lo->l);
	if (cs < 0)
		return;
	srv->n_tcp++;
	srv->objs[cs]->buf = xmalloc(TCP_MSG_MAX);
	srv->objs[cs]->deadline = hamn_monotonic_ns() + TCP_IDLE_NS;
}

static void tcp_readable(struct hamn_dns_server *srv, size_t slot)
{
	struct obj *o = srv->objs[slot];
	ssize_t n = recv(o->fd, o->buf + o->len, TCP_MSG_MAX - o->len, MSG_DONTWAIT);
	struct client c = {.slot = slot, .gen = o->gen};

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			drop_obj(srv, slot);
		return;
	}
	o->len += (size_t)n;
	o->deadline = hamn_monotonic_ns() + TCP_IDLE_NS;
	while (o->len >= 2 && o->len >= 2 + (size_t)hamn_dns_get16(o->buf)) {
		size_t mlen = hamn_dns_get16(o->buf);
		uint8_t msg[TCP_MSG_MAX];

		memcpy(msg, o->buf + 2, mlen);
		memmove(o->buf, o->buf + 2 + mlen, o->len - 2 - mlen);
		o->len -= 2 + mlen;
		handle_query(srv, o->l, msg, mlen, &c, ANSWER_MAX);
		if (get_obj(srv, c.slot, c.gen) == NULL)
			return; /* dropped while answering */
	}
}

static void sweep(struct hamn_dns_server *srv, int64_t now)
{
	for (size_t s = 0; s < srv->n_objs; s++) {
		struct obj *o = srv->objs[s];

		if (!o || !o->deadline || o->deadline > now)
			continue;
		if (o->kind == K_TCP_CONN) {
			drop_obj(srv, s);
		} else if (o->kind == K_UPSTREAM && send_next(srv, s) < 0) {
			struct client c = {o->client_slot, o->client_gen, o->client_addr};

			reply_error(srv, &c, o->orig_id, hamn_dns_get16(o->buf + 2),
				    HAMN_DNS_SERVFAIL);
			drop_obj(srv, s);
		}
	}
}

static void dispatch(struct hamn_dns_server *srv, uint64_t data)
{
	size_t slot = (size_t)(data & 0xffffffffu);
	struct obj *o = get_obj(srv, slot, (uint32_t)(data >> 32));

	if (!o)
		return;
	switch (o->kind) {
	case K_WAKE:
		break;
	case K_UDP:
		udp_readable(srv, slot);
		break;
	case K_TCP_LISTEN:
		tcp_accept(srv, slot);
		break;
	case K_TCP_CONN:
		tcp_readable(srv, slot);
		break;
	case K_UPSTREAM:
		upstream_readable(srv, slot);
		break;
	}
}

static void *dns_thread(void *arg)
{
	struct hamn_dns_server *srv = arg;
	struct epoll_event evs[64];
	int timeout = -1;

	for (;;) {
		int n = epoll_wait(srv->epfd, evs, 64, timeout);

		pthread_mutex_lock(&srv->lock);
		if (srv->stop) {
			pthread_mutex_unlock(&srv->lock);
			return NULL;
		}
		for (int i = 0; i < n; i++)
			dispatch(srv, evs[i].data.u64);
		sweep(srv, hamn_monotonic_ns());
		/* timers are coarse: a sweep every 250 ms while anything can expire */
		timeout = srv->n_pending || srv->n_tcp ? 250 : -1;
		pthread_mutex_unlock(&srv->lock);
	}
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */
/* ------------------------------------------------------------------ */

struct hamn_dns_server *hamn_dns_server_new(void)
{
	struct hamn_dns_server *srv = xzalloc(sizeof(*srv));

	pthread_mutex_init(&srv->lock, NULL);
	srv->epfd = -1;
	srv->wakefd = -1;
	return srv;
}

/* Start the thread on first use. Called with the lock held. */
static int start_locked(struct hamn_dns_server *srv, struct hamn_error **err)
{
	int rc;

	if (srv->running)
		return 0;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0)
		return hamn_error_set(err, errno, "dns: epoll_create1");
	srv->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wakefd < 0 || add_obj(srv, K_WAKE, srv->wakefd, NULL) < 0) {
		hamn_error_set(err, errno, "dns: eventfd");
		goto fail;
	}
	rc = pthread_create(&srv->thread, NULL, dns_thread, srv);
	if (rc != 0) {
		hamn_error_set(err, rc, "dns: start thread");
		goto fail;
	}
	srv->running = true;
	return 0;
fail:
	for (size_t s = 0; s < srv->n_objs; s++)
		drop_obj(srv, s);
	srv->wakefd = -1;
	close(srv->epfd);
	srv->epfd = -1;
	return -1;
}

static void free_listener(struct listener *l)
{
	free(l->container_id);
	free(l);
}

static void free_record(struct hamn_dns_record *r)
{
	free(r->endpoint_id);
	free(r->container_id);
	free(r->network_id);
	hamn_strv_free(r->names);
}

void hamn_dns_server_free(struct hamn_dns_server *srv)
{
	uint64_t one = 1;

	if (!srv)
		return;
	if (srv->running) {
		pthread_mutex_lock(&srv->lock);
		srv->stop = true;
		pthread_mutex_unlock(&srv->lock);
		if (write(srv->wakefd, &one, sizeof(one)) < 0)
			log_warn("dns: cannot wake the server thread: %s", strerror(errno));
		pthread_join(srv->thread, NULL);
	}
	for (size_t s = 0; s < srv->n_objs; s++)
		drop_obj(srv, s);
	free(srv->objs);
	for (size_t i = 0; i < srv->n_ls; i++)
		free_listener(srv->ls[i]);
	free(srv->ls);
	for (size_t i = 0; i < srv->n_recs; i++)
		free_record(&srv->recs[i]);
	free(srv->recs);
	if (srv->epfd >= 0)
		close(srv->epfd);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

/* "1.2.3.4" or "1.2.3.4:5353"; IPv6 and junk are skipped. */
static void parse_upstreams(char *const *v, struct upstreams *out)
{
	out->n = 0;
	for (; v && *v && out->n < MAX_UPSTREAMS; v++) {
		_cleanup_free_ char *host = xstrdup(*v);
		char *colon = strchr(host, ':');
		int64_t port = 53;
		uint32_t a;

		if (colon && strchr(colon + 1, ':'))
			continue; /* IPv6 */
		if (colon) {
			*colon = '\0';
			if (hamn_parse_int64(colon + 1, &port, NULL) < 0 || port < 1 ||
			    port > 65535)
				continue;
		}
		if (hamn_ipv4_parse(host, &a, NULL) < 0)
			continue;
		out->addr[out->n] = (struct sockaddr_in){
			.sin_family = AF_INET,
			.sin_port = htons((uint16_t)port),
			.sin_addr.s_addr = htonl(a),
		};
		out->n++;
	}
}

void hamn_dns_server_set_upstreams(struct hamn_dns_server *srv, char *const *upstreams)
{
	pthread_mutex_lock(&srv->lock);
	parse_upstreams(upstreams, &srv->defaults);
	pthread_mutex_unlock(&srv->lock);
}

static struct listener *find_listener(struct hamn_dns_server *srv, const char *container_id,
				      size_t *idx)
{
	for (size_t i = 0; i < srv->n_ls; i++) {
		if (streq(srv->ls[i]->container_id, container_id)) {
			if (idx)
				*idx = i;
			return srv->ls[i];
		}
	}
	return NULL;
}

static int listen_locked(struct hamn_dns_server *srv, const char *container_id, int udp_fd,
			 int tcp_fd, char *const *forwarders, struct hamn_error **err)
{
	struct listener *l;
	ssize_t us, ts;

	if (find_listener(srv, container_id, NULL)) {
		hamn_error_setq(err, EEXIST, "dns: container '%s' is already served", container_id);
		goto fail;
	}
	if (start_locked(srv, err) < 0)
		goto fail;
	l = xzalloc(sizeof(*l));
	l->container_id = xstrdup(container_id);
	l->may_forward = true;
	l->custom_fwd = forwarders != NULL;
	parse_upstreams(forwarders, &l->fwd);
	us = add_obj(srv, K_UDP, udp_fd, l);
	ts = add_obj(srv, K_TCP_LISTEN, tcp_fd, l);
	udp_fd = tcp_fd = -1;
	if (us < 0 || ts < 0) {
		hamn_error_set(err, errno, "dns: watch the sockets of '%s'", container_id);
		if (us >= 0)
			drop_obj(srv, (size_t)us);
		if (ts >= 0)
			drop_obj(srv, (size_t)ts);
		free_listener(l);
		return -1;
	}
	l->udp_slot = (size_t)us;
	l->tcp_slot = (size_t)ts;
	srv->ls = xreallocarray(srv->ls, srv->n_ls + 1, sizeof(*srv->ls));
	srv->ls[srv->n_ls++] = l;
	return 0;
fail:
	close(udp_fd);
	close(tcp_fd);
	return -1;
}

int hamn_dns_server_listen(struct hamn_dns_server *srv, const char *container_id, int udp_fd,
			   int tcp_fd, char *const *forwarders, struct hamn_error **err)
{
	int rc;

	pthread_mutex_lock(&srv->lock);
	rc = listen_locked(srv, container_id, udp_fd, tcp_fd, forwarders, err);
	pthread_mutex_unlock(&srv->lock);
	return rc;
}

void hamn_dns_server_unlisten(struct hamn_dns_server *srv, const char *container_id)
{
	struct listener *l;
	size_t idx;

	pthread_mutex_lock(&srv->lock);
	l = find_listener(srv, container_id, &idx);
	if (l) {
		/* the listening sockets and every TCP connection accepted from them */
		for (size_t s = 0; s < srv->n_objs; s++)
			if (srv->objs[s] && srv->objs[s]->l == l)
				drop_obj(srv, s);
		free_listener(l);
		srv->ls[idx] = srv->ls[--srv->n_ls];
	}
	pthread_mutex_unlock(&srv->lock);
}

bool hamn_dns_server_listening(struct hamn_dns_server *srv, const char *container_id)
{
	bool found;

	pthread_mutex_lock(&srv->lock);
	found = find_listener(srv, container_id, NULL) != NULL;
	pthread_mutex_unlock(&srv->lock);
	return found;
}

void hamn_dns_server_set_may_forward(struct hamn_dns_server *srv, const char *container_id,
				     bool may_forward)
{
	struct listener *l;

	pthread_mutex_lock(&srv->lock);
	l = find_listener(srv, container_id, NULL);
	if (l)
		l->may_forward = may_forward;
	pthread_mutex_unlock(&srv->lock);
}

static void drop_record_locked(struct hamn_dns_server *srv, const char *endpoint_id)
{
	for (size_t i = 0; i < srv->n_recs; i++) {
		if (streq(srv->recs[i].endpoint_id, endpoint_id)) {
			free_record(&srv->recs[i]);
			srv->recs[i] = srv->recs[--srv->n_recs];
			return;
		}
	}
}

void hamn_dns_server_put_record(struct hamn_dns_server *srv, const char *endpoint_id,
				const char *container_id, const char *network_id,
				char *const *names, uint32_t ip)
{
	struct hamn_dns_record r = {
		.endpoint_id = xstrdup(endpoint_id),
		.container_id = xstrdup(container_id),
		.network_id = xstrdup(network_id),
		.names = strv_copy(names),
		.ip = ip,
	};

	pthread_mutex_lock(&srv->lock);
	drop_record_locked(srv, endpoint_id);
	srv->recs = xreallocarray(srv->recs, srv->n_recs + 1, sizeof(*srv->recs));
	srv->recs[srv->n_recs++] = r;
	pthread_mutex_unlock(&srv->lock);
}

void hamn_dns_server_drop_record(struct hamn_dns_server *srv, const char *endpoint_id)
{
	pthread_mutex_lock(&srv->lock);
	drop_record_locked(srv, endpoint_id);
	pthread_mutex_unlock(&srv->lock);
}

static int open_one(int type, struct hamn_error **err)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(53),
		.sin_addr.s_addr = htonl(HAMN_DNS_LISTEN_ADDR),
	};
	_cleanup_close_ int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return hamn_error_set(err, errno, "dns: socket");
	/* lo may still be down while the endpoint is being set up */
	if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0)
		return hamn_error_set(err, errno, "dns: IP_FREEBIND");
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return hamn_error_set(err, errno, "dns: SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return hamn_error_set(err, errno, "dns: bind 127.0.0.11:53");
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		return hamn_error_set(err, errno, "dns: listen");
	return steal_fd(&fd);
}

int hamn_dns_open_sockets(int *udp_fd, int *tcp_fd, struct hamn_error **err)
{
	int u = open_one(SOCK_DGRAM, err), t;

	if (u < 0)
		return -1;
	t = open_one(SOCK_STREAM, err);
	if (t < 0) {
		close(u);
		return -1;
	}
	*udp_fd = u;
	*tcp_fd = t;
	return 0;
}

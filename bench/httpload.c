/* httpload.c - an HTTP/1.1 load generator over a unix socket, for bench/engine.bench.
 *
 *   httpload -s SOCKET -p PATH [-c CONNS] [-d SECONDS] [-w SECONDS]
 *
 * Opens CONNS keep-alive connections to SOCKET (default 16), and on each sends
 * `GET PATH`, waits for the whole reply (Content-Length or chunked), sends the
 * next, for -w seconds of warm-up (not counted, default 0.5) and then -d seconds
 * (default 5): the replies that complete in those -d seconds are counted. One
 * epoll thread drives every connection, so the client costs little CPU next to
 * the server it measures. Prints one line:
 *
 *   requests N errors E seconds S rps R p50_ms A p90_ms B p99_ms C max_ms D
 *
 * A reply whose status is not 2xx, or a connection the server closes in the
 * middle of a reply, counts as an error (the connection is then reopened).
 * Exits 1 on a usage or set-up error, 2 when no request succeeded.
 *
 * Built by engine.bench with `cc -O2`; it is not part of the meson build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define READ_CHUNK 65536

struct conn {
	int fd;
	char *buf; /* bytes received and not consumed yet */
	size_t len, cap;
	double sent_at; /* when the request in flight was sent */
};

struct load {
	const char *sock, *path;
	int nconns;
	double duration, warmup;
	char *request;
	size_t request_len;
	double start, stop; /* counting window, monotonic seconds */
	uint32_t *lat_us;   /* latency of every counted reply */
	size_t nlat, caplat;
	size_t errors;
	int ep;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
	fprintf(stderr, "httpload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		fail("realloc");
	return p;
}

static void usage(void)
{
	fprintf(stderr, "usage: httpload -s SOCKET -p PATH [-c CONNS] [-d SECONDS] [-w SECONDS]\n");
	exit(1);
}

/* Connect C to the load's socket and add it to the epoll set. */
static void conn_open(struct load *l, struct conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

	if (strlen(l->sock) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		fail(l->sock);
	}
	strcpy(sa.sun_path, l->sock);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fail("socket");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail(l->sock);
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		fail("epoll_ctl");
	c->len = 0;
}

static void conn_reopen(struct load *l, struct conn *c)
{
	close(c->fd);
	conn_open(l, c);
}

/* Send the request on C (it is small: one blocking write loop). */
static void conn_send(struct load *l, struct conn *c)
{
	size_t off = 0;
	ssize_t n;

	c->sent_at = now();
	while (off < l->request_len) {
		n = write(c->fd, l->request + off, l->request_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("write");
		off += (size_t)n;
	}
}

/* Length of the chunked body at P (N bytes), trailer included; 0 if incomplete. */
static size_t chunked_len(const char *p, size_t n)
{
	size_t off = 0;

	for (;;) {
		const char *eol = memmem(p + off, n - off, "\r\n", 2);
		char *end;
		unsigned long size;

		if (!eol)
			return 0;
		size = strtoul(p + off, &end, 16);
		off = (size_t)(eol - p) + 2;
		if (size == 0) {
			/* trailers end with an empty line */
			const char *fin = memmem(p + off, n - off, "\r\n", 2);

			while (fin && fin != p + off) {
				off = (size_t)(fin - p) + 2;
				fin = memmem(p + off, n - off, "\r\n", 2);
			}
			return fin ? off + 2 : 0;
		}
		if (n - off < size + 2)
			return 0;
		off += size + 2;
	}
}

/* The value of header NAME in the header block HDR (NUL-terminated), or NULL. */
static const char *header(const char *hdr, const char *name)
{
	size_t nl = strlen(name);
	const char *line = strstr(hdr, "\r\n");

	while (line && line[2] != '\r') {
		line += 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':')
			return line + nl + 1 + strspn(line + nl + 1, " \t");
		line = strstr(line, "\r\n");
	}
	return NULL;
}

/*
 * If C's buffer holds a whole reply, return its length and set *status and
 * *close_after; return 0 when more bytes are needed.
 */
static size_t reply_len(struct conn *c, int *status, bool *close_after)
{
	char *hend, *hdr;
	const char *v;
	size_t hlen, body;

	hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!hend)
		return 0;
	hlen = (size_t)(hend - c->buf) + 4;
	hdr = strndup(c->buf, hlen);
	if (!hdr)
		fail("strndup");
	*status = (int)strtol(hdr + strcspn(hdr, " "), NULL, 10);
	v = header(hdr, "Connection");
	*close_after = v && strncasecmp(v, "close", 5) == 0;
	v = header(hdr, "Transfer-Encoding");
	if (v && strncasecmp(v, "chunked", 7) == 0) {
		free(hdr);
		body = chunked_len(c->buf + hlen, c->len - hlen);
		return body ? hlen + body : 0;
	}
	v = header(hdr, "Content-Length");
	body = v ? strtoul(v, NULL, 10) : 0;
	free(hdr);
	return c->len - hlen >= body ? hlen + body : 0;
}

static void record(struct load *l, double sent_at, double done_at)
{
	if (done_at < l->start || done_at > l->stop)
		return;
	if (l->nlat == l->caplat) {
		l->caplat = l->caplat ? l->caplat * 2 : 65536;
		l->lat_us = xrealloc(l->lat_us, l->caplat * sizeof(*l->lat_us));
	}
	l->lat_us[l->nlat++] = (uint32_t)((done_at - sent_at) * 1e6);
}

/* Read what C has, count every whole reply in it and send the next request. */
static void conn_readable(struct load *l, struct conn *c)
{
	ssize_t n;
	size_t whole;
	int status;
	bool close_after;

	if (c->cap - c->len < READ_CHUNK) {
		c->cap = c->len + 2 * READ_CHUNK;
		c->buf = xrealloc(c->buf, c->cap);
	}
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* closed (or reset) in the middle of a reply */
		if (now() >= l->start)
			l->errors++;
		conn_reopen(l, c);
		conn_send(l, c);
		return;
	}
	c->len += (size_t)n;
	whole = reply_len(c, &status, &close_after);
	if (!whole)
		return;
	if (status >= 200 && status < 300)
		record(l, c->sent_at, now());
	else if (now() >= l->start)
		l->errors++;
	memmove(c->buf, c->buf + whole, c->len - whole);
	c->len -= whole;
	if (close_after)
		conn_reopen(l, c);
	conn_send(l, c);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double pct_ms(const struct load *l, double p)
{
	size_t i = (size_t)(p * (double)(l->nlat - 1) + 0.5);

	return l->lat_us[i] / 1000.0;
}

static void parse_args(struct load *l, int argc, char **argv)
{
	int opt;

	l->nconns = 16;
	l->duration = 5;
	l->warmup = 0.5;
	while ((opt = getopt(argc, argv, "s:p:c:d:w:")) != -1) {
		switch (opt) {
		case 's':
			l->sock = optarg;
			break;
		case 'p':
			l->path = optarg;
			break;
		case 'c':
			l->nconns = atoi(optarg);
			break;
		case 'd':
			l->duration = atof(optarg);
			break;
		case 'w':
			l->warmup = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (!l->sock || !l->path || optind != argc || l->nconns < 1 || l->nconns > MAX_CONNS ||
	    l->duration <= 0 || l->warmup < 0)
		usage();
	if (asprintf(&l->request, "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: httpload\r\n\r\n",
		     l->path) < 0)
		fail("asprintf");
	l->request_len = strlen(l->request);
}

static void run(struct load *l, struct conn *conns)
{
	struct epoll_event evs[64];
	int i, n;

	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		fail("epoll_create1");
	l->start = now() + l->warmup;
	l->stop = l->start + l->duration;
	for (i = 0; i < l->nconns; i++) {
		conn_open(l, &conns[i]);
		conn_send(l, &conns[i]);
	}
	while (now() < l->stop) {
		n = epoll_wait(l->ep, evs, 64, 100);
		if (n < 0 && errno != EINTR)
			fail("epoll_wait");
		for (i = 0; i < n; i++)
			conn_readable(l, evs[i].data.ptr);
	}
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	struct load l = {0};

	parse_args(&l, argc, argv);
	run(&l, conns);
	if (l.nlat == 0) {
		fprintf(stderr, "httpload: no successful reply (%zu errors)\n", l.errors);
		return 2;
	}
	qsort(l.lat_us, l.nlat, sizeof(*l.lat_us), cmp_u32);
	printf("requests %zu errors %zu seconds %.2f rps %.1f p50_ms %.2f p90_ms %.2f "
	       "p99_ms %.2f max_ms %.2f\n",
	       l.nlat, l.errors, l.duration, (double)l.nlat / l.duration, pct_ms(&l, 0.50),
	       pct_ms(&l, 0.90), pct_ms(&l, 0.99), l.lat_us[l.nlat - 1] / 1000.0);
	return 0;
}

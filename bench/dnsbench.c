/* dnsbench.c - DNS lookup latency from inside a container, for bench/network.bench.
 *
 *   dnsbench NAME [COUNT] [WARMUP] [SERVER]
 *
 * Sends COUNT (default 10000) A queries for NAME to SERVER:53 (default
 * 127.0.0.11, the embedded DNS of hamnd and dockerd) over UDP, one after
 * another: each is sent when the previous reply has arrived, with a fresh id,
 * from one connected socket. WARMUP (default 50) queries go first and are not
 * counted. Prints one line:
 *
 *   queries N errors E p50_ms A p90_ms B p99_ms C max_ms D mean_ms M
 *
 * A reply counts when it has the query's id, QR set, RCODE 0 and at least one
 * answer; anything else for that query (another rcode, no answer, 2 s without
 * a reply) is an error and the query is not timed. Exits 1 on a usage or
 * set-up error, 2 when no query succeeded.
 *
 * Built by network.bench with `cc -static` (the fixture image has no libc) and
 * bind-mounted into the container; it is not part of the meson build.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 2000
#define MAX_PACKET 1500

static void fail(const char *what)
{
	fprintf(stderr, "dnsbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Write the query for NAME (type A, class IN, RD) into BUF; returns its length,
 * or 0 when NAME is not a valid host name. The id (bytes 0-1) is set later. */
static size_t build_query(const char *name, unsigned char *buf, size_t cap)
{
	static const unsigned char header[12] = {0, 0, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t len = sizeof(header);

	memcpy(buf, header, sizeof(header));
	while (*name) {
		size_t label = strcspn(name, ".");

		if (label == 0 || label > 63 || len + label + 1 + 5 > cap)
			return 0;
		buf[len++] = (unsigned char)label;
		memcpy(buf + len, name, label);
		len += label;
		name += label;
		if (*name == '.')
			name++;
	}
	if (len + 5 > cap || len - sizeof(header) > 254)
		return 0;
	buf[len++] = 0;
	buf[len++] = 0;
	buf[len++] = 1; /* A */
	buf[len++] = 0;
	buf[len++] = 1; /* IN */
	return len;
}

/* 1 when REPLY (LEN bytes) answers the query with id ID: QR, NOERROR, an answer;
 * 0 for another reply to it (an error); -1 when it is not for this query. */
static int check_reply(const unsigned char *reply, ssize_t len, uint16_t id)
{
	if (len < 12 || ((reply[0] << 8) | reply[1]) != id || !(reply[2] & 0x80))
		return -1;
	if ((reply[3] & 0x0f) != 0)
		return 0;
	return ((reply[6] << 8) | reply[7]) > 0;
}

/* Send one query with id ID on FD and wait for its reply. Returns the time it
 * took in ns, or 0 when it failed (error reply, timeout). */
static uint64_t one_query(int fd, unsigned char *query, size_t qlen, uint16_t id)
{
	unsigned char reply[MAX_PACKET];
	uint64_t start, deadline;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	query[0] = (unsigned char)(id >> 8);
	query[1] = (unsigned char)id;
	start = now_ns();
	deadline = start + (uint64_t)TIMEOUT_MS * 1000000u;
	if (send(fd, query, qlen, 0) != (ssize_t)qlen)
		return 0;
	for (;;) {
		uint64_t t = now_ns();
		ssize_t n;
		int r;

		if (t >= deadline)
			return 0;
		r = poll(&pfd, 1, (int)((deadline - t) / 1000000u) + 1);
		if (r < 0 && errno != EINTR)
			fail("poll");
		if (r <= 0)
			continue;
		n = recv(fd, reply, sizeof(reply), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return 0; /* ECONNREFUSED: nothing listens */
		}
		r = check_reply(reply, n, id);
		if (r < 0)
			continue; /* a late reply to an earlier query */
		return r ? now_ns() - start : 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The value at fraction Q of the N sorted samples V (nearest rank), in ms. */
static double pct_ms(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1] / 1e6;
}

static int open_socket(const char *server)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	int fd;

	if (inet_pton(AF_INET, server, &sa.sin_addr) != 1) {
		fprintf(stderr, "dnsbench: bad server address %s\n", server);
		exit(1);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect");
	return fd;
}

int main(int argc, char **argv)
{
	unsigned char query[MAX_PACKET];
	long count = argc > 2 ? atol(argv[2]) : 10000;
	long warmup = argc > 3 ? atol(argv[3]) : 50;
	size_t qlen, ok = 0, errors = 0;
	uint64_t *lat, sum = 0;
	uint16_t id;
	int fd;

	if (argc < 2 || argc > 5 || count < 1 || warmup < 0) {
		fprintf(stderr, "usage: dnsbench NAME [COUNT] [WARMUP] [SERVER]\n");
		return 1;
	}
	qlen = build_query(argv[1], query, sizeof(query));
	if (qlen == 0) {
		fprintf(stderr, "dnsbench: bad name %s\n", argv[1]);
		return 1;
	}
	fd = open_socket(argc > 4 ? argv[4] : "127.0.0.11");
	lat = calloc((size_t)count, sizeof(*lat));
	if (!lat)
		fail("calloc");
	id = (uint16_t)(now_ns() ^ (uint64_t)getpid());
	for (long i = 0; i < warmup; i++)
		one_query(fd, query, qlen, id++);
	for (long i = 0; i < count; i++) {
		uint64_t t = one_query(fd, query, qlen, id++);

		if (t == 0) {
			errors++;
			continue;
		}
		lat[ok++] = t;
		sum += t;
	}
	if (ok == 0) {
		printf("queries %ld errors %zu\n", count, errors);
		return 2;
	}
	qsort(lat, ok, sizeof(*lat), cmp_u64);
	printf("queries %ld errors %zu p50_ms %.3f p90_ms %.3f p99_ms %.3f max_ms %.3f "
	       "mean_ms %.3f\n", count, errors, pct_ms(lat, ok, 0.50), pct_ms(lat, ok, 0.90),
	       pct_ms(lat, ok, 0.99), (double)lat[ok - 1] / 1e6, (double)sum / (double)ok / 1e6);
	free(lat);
	close(fd);
	return 0;
}

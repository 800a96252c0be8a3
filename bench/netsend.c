/* netsend.c - TCP throughput to a listener, for bench/network.bench.
 *
 *   netsend HOST PORT MIB
 *
 * Connects to HOST:PORT (IPv4), writes MIB MiB of zeros, shuts its side down
 * and reads until the peer closes: the time is taken from the connect to that
 * close, so it includes every byte reaching the receiver (which must close
 * only when it has read to the end, e.g. `sleep 1d | nc -l -p 80 >/dev/null`,
 * whose stdin never ends). Prints one line:
 *
 *   bytes B seconds S mib_per_s R
 *
 * Exits 1 on a usage or connect error, 2 when the connection breaks (reset,
 * or the peer closes before everything was written).
 *
 * Built by network.bench with `cc -O2`; it is not part of the meson build.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(int code, const char *what)
{
	fprintf(stderr, "netsend: %s: %s\n", what, strerror(errno));
	exit(code);
}

/* Write all of SIZE bytes, CHUNK at a time, from a zeroed buffer. */
static void send_all(int fd, uint64_t size)
{
	static char buf[CHUNK];

	while (size > 0) {
		size_t n = size < CHUNK ? (size_t)size : CHUNK;
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die(2, "write");
		}
		size -= (uint64_t)w;
	}
}

/* Read (and drop) until the peer closes. */
static void drain(int fd)
{
	static char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0)
			return;
		if (n < 0 && errno != EINTR)
			die(2, "read");
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	long port, mib;
	uint64_t size;
	double start, secs;
	int fd;

	if (argc != 4 || (port = atol(argv[2])) < 1 || port > 65535 || (mib = atol(argv[3])) < 1 ||
	    inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: netsend IPV4 PORT MIB\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sa.sin_port = htons((uint16_t)port);
	size = (uint64_t)mib * 1024 * 1024;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(1, "socket");
	start = now();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(1, "connect");
	send_all(fd, size);
	if (shutdown(fd, SHUT_WR) < 0)
		die(2, "shutdown");
	drain(fd);
	secs = now() - start;
	close(fd);
	printf("bytes %llu seconds %.6f mib_per_s %.1f\n", (unsigned long long)size, secs,
	       (double)mib / secs);
	return 0;
}

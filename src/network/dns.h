/*
 * dns.h - the embedded DNS server: records, per-container listeners, and
 * the pure answer logic. Used by src/network/ (its .c files) and the unit tests only.
 *
 * The server is one thread with an epoll loop. For every container on a
 * user-defined network it serves a UDP and a TCP socket bound to
 * 127.0.0.11:53 inside that container's netns (opened there by the caller,
 * see netns.c); the socket tells the server which container asks, so names
 * resolve only within that container's networks. Other names are
 * forwarded, from the daemon's own netns, to the container's forwarders
 * with a fresh random ID on a fresh socket, and the reply is checked
 * (question echoed) and given back with the original ID.
 *
 * All functions are thread-safe (one mutex; the thread takes it per batch
 * of events).
 */
#ifndef HAMN_NETWORK_DNS_H
#define HAMN_NETWORK_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "network/dnswire.h"

#define HAMN_DNS_TTL 600
#define HAMN_DNS_LISTEN_ADDR 0x7f00000bu /* 127.0.0.11 */

/* One endpoint's names on one network. */
struct hamn_dns_record {
	char *endpoint_id;
	char *container_id;
	char *network_id;
	char **names; /* container name, aliases; matched case-insensitively */
	uint32_t ip;
};

enum hamn_dns_verdict {
	HAMN_DNS_ANSWERED, /* *out_len bytes of answer are in out */
	HAMN_DNS_FORWARD,  /* not ours: ask the forwarders */
};

/*
 * Answer q as asked by container_id, from the records of the networks that
 * container is on: A records for a known name (all matching addresses),
 * an empty NOERROR answer for other types of a known name (AAAA: IPv4
 * only), PTR for a known address. Anything else is HAMN_DNS_FORWARD,
 * unless may_forward is false (all of the container's networks are
 * internal): then NXDOMAIN is answered.
 */
enum hamn_dns_verdict hamn_dns_resolve(const struct hamn_dns_record *recs, size_t n_recs,
				       const char *container_id, bool may_forward,
				       const struct hamn_dns_query *q, uint8_t *out, size_t cap,
				       size_t *out_len);

struct hamn_dns_server;

struct hamn_dns_server *hamn_dns_server_new(void);
/* Stop the thread and close every socket; safe on NULL. */
void hamn_dns_server_free(struct hamn_dns_server *srv);

/*
 * The default forwarders ("1.1.1.1", "127.0.0.53", "127.0.0.1:5353"; IPv6
 * entries are skipped). Replaces the previous list.
 */
void hamn_dns_server_set_upstreams(struct hamn_dns_server *srv, char *const *upstreams);

/*
 * Serve a container: udp_fd and tcp_fd (bound to 127.0.0.11:53 in its
 * netns, tcp_fd listening) are owned by the server from now on, also on
 * failure. forwarders NULL = the defaults. Starts the thread if needed.
 * EEXIST when the container is already served (the fds are closed).
 */
int hamn_dns_server_listen(struct hamn_dns_server *srv, const char *container_id, int udp_fd,
			   int tcp_fd, char *const *forwarders, struct hamn_error **err);
/* Stop serving a container and close its sockets; unknown ids are ignored. */
void hamn_dns_server_unlisten(struct hamn_dns_server *srv, const char *container_id);
bool hamn_dns_server_listening(struct hamn_dns_server *srv, const char *container_id);
/* Whether names unknown to a container are forwarded (false: NXDOMAIN). */
void hamn_dns_server_set_may_forward(struct hamn_dns_server *srv, const char *container_id,
				     bool may_forward);

/* Add or replace (by endpoint_id) a record; names are copied. */
void hamn_dns_server_put_record(struct hamn_dns_server *srv, const char *endpoint_id,
				const char *container_id, const char *network_id,
				char *const *names, uint32_t ip);
void hamn_dns_server_drop_record(struct hamn_dns_server *srv, const char *endpoint_id);

/*
 * Open the two listening sockets on 127.0.0.11:53 in the calling thread's
 * netns (IP_FREEBIND: lo need not be up yet). Both fds are CLOEXEC and
 * non-blocking.
 */
int hamn_dns_open_sockets(int *udp_fd, int *tcp_fd, struct hamn_error **err);

#endif

/*
 * ipam.h - IPv4 address management, pure logic (no kernel, no files).
 *
 * Used by src/network/ (its .c files) and tests/unit/test_network.c only; other modules
 * use network/network.h. Addresses are uint32_t in host byte order.
 */
#ifndef HAMN_NETWORK_IPAM_H
#define HAMN_NETWORK_IPAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct hamn_ipv4_net {
	uint32_t addr; /* the network address (host bits zero) */
	int len;       /* prefix length, 0..32 */
};

#define HAMN_IPV4_STR_MAX 16	 /* "255.255.255.255" */
#define HAMN_IPV4_NET_STR_MAX 19 /* "255.255.255.255/32" */

/* Strict dotted quad ("10.0.0.1"). EINVAL otherwise. */
int hamn_ipv4_parse(const char *s, uint32_t *out, struct hamn_error **err);
/* "10.0.0.0/24"; host bits set are cleared ("10.0.0.7/24" = 10.0.0.0/24). EINVAL. */
int hamn_ipv4_net_parse(const char *s, struct hamn_ipv4_net *out, struct hamn_error **err);
const char *hamn_ipv4_str(uint32_t a, char buf[HAMN_IPV4_STR_MAX]);
const char *hamn_ipv4_net_str(const struct hamn_ipv4_net *n, char buf[HAMN_IPV4_NET_STR_MAX]);
uint32_t hamn_ipv4_mask(int len);
bool hamn_ipv4_net_contains(const struct hamn_ipv4_net *n, uint32_t a);
bool hamn_ipv4_net_overlaps(const struct hamn_ipv4_net *a, const struct hamn_ipv4_net *b);
static inline uint32_t hamn_ipv4_broadcast(const struct hamn_ipv4_net *n)
{
	return n->addr | ~hamn_ipv4_mask(n->len);
}

struct hamn_ipam_pool {
	struct hamn_ipv4_net base;
	int size; /* prefix length of the subnets carved out of base */
};

/*
 * The first subnet (in pool order, then address order) that overlaps none
 * of taken[] (host routes, other networks). ENOSPC when every one does.
 */
int hamn_ipam_pick_subnet(const struct hamn_ipam_pool *pools, size_t n_pools,
			  const struct hamn_ipv4_net *taken, size_t n_taken,
			  struct hamn_ipv4_net *out, struct hamn_error **err);

/*
 * The addresses of one subnet. Dynamic addresses come from range (the whole
 * subnet by default), round-robin from a cursor so a released address is
 * reused as late as possible; the network and broadcast addresses and the
 * gateway are never handed out. `used` is kept sorted.
 */
struct hamn_ipam {
	struct hamn_ipv4_net subnet;
	struct hamn_ipv4_net range;
	uint32_t gateway; /* 0 = none */
	uint32_t next;	  /* where the next search starts */
	uint32_t *used;
	size_t n_used;
	size_t cap;
};

/*
 * Set up ipam for subnet (prefix length 1 to 30), range (NULL = subnet;
 * must lie inside it) and gateway (0 = none; must be a host address of the
 * subnet). EINVAL with a message naming the culprit.
 */
int hamn_ipam_init(struct hamn_ipam *ipam, const struct hamn_ipv4_net *subnet,
		   const struct hamn_ipv4_net *range, uint32_t gateway, struct hamn_error **err);
void hamn_ipam_release_all(struct hamn_ipam *ipam);

/* Hand out the next free address of the range. ENOSPC when none is left. */
int hamn_ipam_alloc(struct hamn_ipam *ipam, uint32_t *out, struct hamn_error **err);
/*
 * Take a specific address (static IP, anywhere in the subnet). EINVAL for
 * an address outside the subnet, the network/broadcast address or the
 * gateway; EEXIST when it is in use.
 */
int hamn_ipam_reserve(struct hamn_ipam *ipam, uint32_t a, struct hamn_error **err);
/* Give an address back; unknown addresses are ignored. */
void hamn_ipam_free(struct hamn_ipam *ipam, uint32_t a);
bool hamn_ipam_is_used(const struct hamn_ipam *ipam, uint32_t a);

/* {"subnet", "range", "gateway", "next", "allocated": [...]}: a new reference. */
json_t *hamn_ipam_to_json(const struct hamn_ipam *ipam);
/* The inverse; ipam must be unset (zeroed). EINVAL for anything inconsistent. */
int hamn_ipam_from_json(json_t *j, struct hamn_ipam *ipam, struct hamn_error **err);

#endif

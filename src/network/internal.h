/*
 * internal.h - shared by src/network/ (its .c files) only: the in-memory model of a
 * daemon instance's networks and the kernel helpers working on it.
 *
 * Locking: every public function takes ctx->lock first; the helpers here
 * assume it is held. The DNS server has its own lock (taken after ctx's).
 */
#ifndef HAMN_NETWORK_INTERNAL_H
#define HAMN_NETWORK_INTERNAL_H

#include <net/if.h>
#include <pthread.h>

#include "base/base.h"
#include "network/dns.h"
#include "network/ipam.h"
#include "network/network.h"
#include "network/nftgen.h"

struct nl_sock;
struct nft_ctx;
struct janitor;

#define DRIVER_BRIDGE "bridge"
#define DRIVER_HOST "host"
#define DRIVER_NULL "null"

/* A published port after publishing: the host port is known. */
struct port_map {
	int proto;
	uint32_t host_ip; /* 0 = every address */
	uint16_t host_port;
	uint16_t container_port;
	int reserve_fd; /* a socket bound to the host port, -1 if none */
};

struct network;

struct endpoint {
	char *id;
	char *container_id;
	char *container_name; /* NULL when none */
	char **aliases;
	char **dns_servers;
	struct network *net;
	uint32_t ip; /* 0 on host/none */
	uint8_t mac[6];
	char ifname[IFNAMSIZ];
	char veth[IFNAMSIZ]; /* host end; "" on host/none */
	bool static_ip;	     /* the address was asked for (IPAMConfig) */
	struct port_map *ports;
	size_t n_ports;
};

struct network {
	char *id;
	char *name;
	char *driver;
	char bridge[IFNAMSIZ]; /* "" unless driver is bridge */
	int64_t created_ns;
	bool predefined; /* bridge/host/none: cannot be removed */
	bool is_default; /* the "bridge" network: no DNS, no static IPs */
	bool internal;
	bool masquerade;
	bool icc;
	bool user_subnet; /* the subnet came from the user */
	int mtu;
	uint32_t host_binding; /* default host IP for published ports, 0 = all */
	struct hamn_ipam ipam; /* bridge networks only */
	int ifindex;	       /* of the bridge, once known (not persisted) */
	json_t *options;
	json_t *labels;
	struct endpoint **eps;
	size_t n_eps;
};

struct hamn_net_ctx {
	pthread_mutex_t lock;
	char *state_dir;
	int state_dirfd;
	char *instance;
	char *default_bridge; /* NULL: no default network */
	char *default_subnet;
	char *default_gateway;
	struct hamn_ipam_pool *pools;
	size_t n_pools;
	int mtu;
	bool ip_forward;
	char **upstreams;
	struct network **nets;
	size_t n_nets;
	struct nl_sock *nl;
	struct nft_ctx *nft;
	bool nft_loaded; /* this process wrote the table and has not deleted it */
	struct hamn_dns_server *dns;
	struct janitor *janitor;
};

static inline bool is_bridge(const struct network *n)
{
	return streq(n->driver, DRIVER_BRIDGE);
}

/* User-defined bridge networks get the embedded DNS; the default bridge does not (docker). */
static inline bool has_dns(const struct network *n)
{
	return is_bridge(n) && !n->is_default;
}

/* net.c */
struct network *net_find(struct hamn_net_ctx *ctx, const char *ref, struct hamn_error **err);
struct network *net_by_id(struct hamn_net_ctx *ctx, const char *id);
struct endpoint *ep_by_id(struct hamn_net_ctx *ctx, const char *id);
void net_free(struct network *n);
void ep_free(struct endpoint *ep);
void net_detach_ep(struct network *n, struct endpoint *ep);
int net_collect_taken(struct hamn_net_ctx *ctx, const struct network *skip,
		      struct hamn_ipv4_net **out, size_t *n_out, struct hamn_error **err);

/* state.c: one file per network, <state_dir>/<id>.json */
int state_save(struct hamn_net_ctx *ctx, const struct network *n, struct hamn_error **err);
int state_delete(struct hamn_net_ctx *ctx, const struct network *n, struct hamn_error **err);
int state_load_all(struct hamn_net_ctx *ctx, struct hamn_error **err);
json_t *net_to_json(const struct network *n);
int parse_mac(const char *s, uint8_t mac[6]);
struct network *net_from_json(json_t *j, struct hamn_error **err);

/* link.c: netlink in the daemon's netns */
int link_open(struct nl_sock **out, struct hamn_error **err);
void link_close(struct nl_sock *sk);
int link_ifindex(struct nl_sock *sk, const char *name, int *out, struct hamn_error **err);
/* Create (or, unless create_only, adopt our own existing) bridge of n, tag, address, sysctls. */
int link_bridge_ensure(struct hamn_net_ctx *ctx, const struct network *n, bool create_only,
		       int *ifindex, struct hamn_error **err);
int link_delete(struct nl_sock *sk, const char *name, struct hamn_error **err);
int link_veth_create(struct nl_sock *sk, const struct endpoint *ep, int master, int mtu,
		     int netns_fd, struct hamn_error **err);
int link_set_up(struct nl_sock *sk, const char *name, struct hamn_error **err);
/* Let the bridge send frames back out of the port they came in by (hairpin NAT). */
int link_set_hairpin(struct nl_sock *sk, const char *name, struct hamn_error **err);
int link_addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix, const char *name,
		  struct hamn_error **err);
int link_default_route(struct nl_sock *sk, int ifindex, uint32_t gateway, const char *name,
		       struct hamn_error **err);
/* libnl's negative NLE_* codes as errno values, and an error naming what failed. */
int nl_to_errno(int nlerr);
int nl_fail(struct hamn_error **err, int nlerr, const char *what, const char *name);
int link_host_routes(struct nl_sock *sk, struct hamn_ipv4_net **out, size_t *n_out,
		     struct hamn_error **err);
/* Owned links for reconcile: name, ifindex, master ifindex, tag (NULL if not ours). */
struct owned_link {
	char name[IFNAMSIZ];
	int ifindex;
	int master;
	bool is_bridge;
	char *tag_net; /* network id from our ifalias tag, or NULL */
};
int link_list(struct hamn_net_ctx *ctx, struct owned_link **out, size_t *n_out,
	      struct hamn_error **err);
void link_list_free(struct owned_link *v, size_t n);
int sysctl_write(const char *path, const char *value, struct hamn_error **err);
char *link_tag(const struct hamn_net_ctx *ctx, const char *net_id);

/* netns.c: configure the container's side */
struct netns_setup {
	const char *ifname;
	uint32_t ip;
	int prefix;
	uint32_t gateway; /* 0: no default route */
	bool want_dns;	  /* open the DNS sockets */
	int dns_udp;	  /* out */
	int dns_tcp;	  /* out */
};
/* Run fn(arg) on a short-lived thread that joined netns_fd; the caller's netns is untouched. */
int netns_run(int netns_fd, int (*fn)(void *arg, struct hamn_error **err), void *arg,
	      struct hamn_error **err);
int netns_configure(int netns_fd, struct netns_setup *s, struct hamn_error **err);
int netns_lo_up(int netns_fd, struct hamn_error **err);
int netns_open_dns(int netns_fd, int *udp, int *tcp, struct hamn_error **err);

/* nft.c */
int nft_apply(struct hamn_net_ctx *ctx, struct hamn_error **err);
int nft_remove_table(struct hamn_net_ctx *ctx, struct hamn_error **err);
void nft_close(struct hamn_net_ctx *ctx);
char *nft_script(struct hamn_net_ctx *ctx);

/* publish.c */
int ports_reserve(struct network *n, const struct hamn_net_port *ports, size_t n_ports,
		  struct port_map **out, size_t *n_out, struct hamn_error **err);
void ports_release(struct port_map *v, size_t n);
int ports_rebind(struct port_map *v, size_t n, struct hamn_error **err);

/* janitor.c: links deleted by a background thread (see there why) */
struct janitor *janitor_new(void);
int janitor_delete_link(struct janitor *j, const char *name, struct hamn_error **err);
/* Wait until every queued link is deleted. */
void janitor_drain(struct janitor *j);
void janitor_free(struct janitor *j);

/* endpoint.c */
int ep_dns_attach(struct hamn_net_ctx *ctx, struct endpoint *ep, int netns_fd,
		  struct hamn_error **err);
void ep_dns_detach(struct hamn_net_ctx *ctx, struct endpoint *ep);
enum ep_rm_flags {
	EP_RM_SAVE = 1 << 0,  /* write the network's state file */
	EP_RM_ASYNC = 1 << 1, /* the veth goes through the janitor */
	EP_RM_FORCE = 1 << 2, /* go on when the veth cannot be deleted (undo, reconcile) */
};
/* Undo everything of ep and free it (unless a veth error stops it without EP_RM_FORCE). */
int ep_remove_locked(struct hamn_net_ctx *ctx, struct endpoint *ep, unsigned flags,
		     struct hamn_error **err);
char **ep_dns_names(const struct endpoint *ep);

#endif

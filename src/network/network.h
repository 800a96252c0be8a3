/*
 * network.h - container networking: the public API of src/network.
 *
 * One struct hamn_net_ctx per daemon instance owns:
 *   - networks: the predefined "bridge" (a docker0-like bridge with a configurable
 *     name), "host" and "none", plus user-defined bridge networks;
 *   - IPAM: subnets picked from address pools so they overlap no host route and
 *     no other network; addresses allocated round-robin so a released address
 *     is not handed out again soon, and never to two endpoints at once;
 *   - endpoints: a veth pair per container and network, the container end
 *     named eth0, eth1, ... inside the container's netns;
 *   - one nftables table of its own (named after the instance) holding
 *     masquerade, published ports, isolation and --internal rules;
 *   - the embedded DNS server (a thread) answering on 127.0.0.11:53 inside the
 *     netns of every container attached to a user-defined network.
 *
 * State: one JSON file per network in config.state_dir, replaced atomically
 * (hamn_write_atomic) after every change: the network's settings, its IPAM
 * cursor and allocations, its endpoints and their published ports. A
 * restarted daemon gets the same networks and never hands out an address
 * that is still in use. Kernel objects (bridges, veths, nft rules, port
 * reservations, DNS sockets) are brought back in line by hamn_net_reconcile().
 *
 * Nothing here execs a program: links, addresses and routes go through
 * netlink (libnl-route-3), rules through libnftables in one transaction.
 * Only IPv4 is supported (AAAA queries get empty answers).
 *
 * Thread-safety: every hamn_net_* function taking a ctx may be called from
 * any thread; the ctx serialises them with one mutex. The pure helpers
 * (port specs, modes, file generators) are thread-safe. Nothing prints.
 */
#ifndef HAMN_NETWORK_NETWORK_H
#define HAMN_NETWORK_NETWORK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

struct hamn_net_ctx;

/* A default address pool: carve subnets of prefix length `size` out of `base`. */
struct hamn_net_pool {
	const char *base; /* "172.17.0.0/16" */
	int size;	  /* 16 .. 30 */
};

struct hamn_net_config {
	const char *state_dir; /* required; created if missing */
	/*
	 * Names the nft table ("ip <instance>") and tags the bridges this
	 * instance owns, so several daemons (and tests) never touch each
	 * other's objects. [A-Za-z0-9_], at most 32 bytes. NULL = "hamn".
	 */
	const char *instance;
	/* The kernel name of the default network's bridge. NULL = "hamn0"; "none": no "bridge"
	 * network. */
	const char *default_bridge;
	const char *default_subnet;  /* NULL = the first free subnet of the pools */
	const char *default_gateway; /* NULL = the first address of the subnet */
	const struct hamn_net_pool
		*pools; /* NULL = docker's: 172.17-31.0.0/16, 192.168.0.0/16 by /20 */
	size_t n_pools;
	int mtu;		 /* 0 = 1500 */
	bool ip_forward;	 /* set net.ipv4.ip_forward=1 as dockerd does (host-wide!) */
	const char *resolv_conf; /* the host's resolver config; NULL = "/etc/resolv.conf" */
	/* The embedded DNS server's forwarders ("1.1.1.1", "127.0.0.1:5353"); NULL = resolv_conf's.
	 */
	char *const *dns_upstreams;
};

/*
 * Open the networking state of one daemon instance: load every network from
 * state_dir and create the predefined networks ("bridge", "host", "none") if
 * they are missing (picking the default bridge's subnet reads the host's
 * routes). No link or nft rule is touched here: call hamn_net_reconcile()
 * next. The DNS thread starts on the first user-network endpoint.
 * Errors: EINVAL for a bad config, the errors of reading state_dir.
 */
struct hamn_net_ctx *hamn_net_ctx_new(const struct hamn_net_config *cfg, struct hamn_error **err);

/*
 * Stop the DNS thread, close port reservations and DNS sockets, free ctx.
 * Kernel objects stay (a daemon restart keeps containers' networking);
 * safe on NULL.
 */
void hamn_net_ctx_free(struct hamn_net_ctx *ctx);
HAMN_DEFINE_CLEANUP(hamn_net_ctx, hamn_net_ctx_free)
#define _cleanup_net_ctx_ _cleanup_(cleanup_hamn_net_ctxp)

/* ------------------------------------------------------------------ */
/* Networks                                                             */
/* ------------------------------------------------------------------ */

struct hamn_net_create_opts {
	const char *name;     /* [A-Za-z0-9][A-Za-z0-9_.-]* */
	const char *driver;   /* NULL or "bridge"; "host" and "null" exist once (predefined) */
	const char *subnet;   /* "10.1.0.0/24"; NULL = from the pools */
	const char *gateway;  /* NULL = first address of the subnet */
	const char *ip_range; /* dynamic addresses only from this sub-range; NULL = whole subnet */
	bool internal;	      /* no masquerade, no default route, no forwarding out */
	/*
	 * Driver options, an object of strings (borrowed, copied). Known:
	 * com.docker.network.bridge.name, com.docker.network.driver.mtu,
	 * com.docker.network.bridge.enable_ip_masquerade,
	 * com.docker.network.bridge.enable_icc, com.docker.network.bridge.host_binding_ipv4.
	 * Others are kept and shown by inspect.
	 */
	json_t *options;
	json_t *labels; /* object of strings (borrowed, copied) */
};

/*
 * Create a user-defined bridge network: its bridge (up, gateway address,
 * MTU), its nft rules (one transaction) and its state file. *id_out gets
 * the new 64-hex id (caller frees). Undone completely on failure.
 * Errors, in dockerd's words where it has some: EEXIST (name taken, the
 * subnet overlaps another network, or the bridge name exists), EINVAL (bad
 * name, subnet, gateway, range or option),
 * ENOENT 'plugin "x" not found' (a driver other than bridge, as dockerd),
 * EPERM (driver "host" or "null": they exist once),
 * ENOSPC (no free subnet left in the pools), netlink and nft errors.
 */
int hamn_net_create(struct hamn_net_ctx *ctx, const struct hamn_net_create_opts *o, char **id_out,
		    struct hamn_error **err);

/*
 * Remove a network by name, full id or unique id prefix: its bridge, its
 * nft rules, its state file. Errors: ENOENT, EPERM (a predefined network),
 * EBUSY (endpoints still attached).
 */
int hamn_net_remove(struct hamn_net_ctx *ctx, const char *ref, struct hamn_error **err);

/*
 * Resolve a name, full id or unique id prefix (docker's order) to the
 * network's full id (caller frees). Errors: ENOENT, EINVAL (ambiguous prefix).
 */
int hamn_net_lookup(struct hamn_net_ctx *ctx, const char *ref, char **id_out,
		    struct hamn_error **err);

/* docker's NetworkResource of one network (GET /networks/{id}): a new reference. ENOENT. */
json_t *hamn_net_inspect_json(struct hamn_net_ctx *ctx, const char *ref, struct hamn_error **err);

/* An array of NetworkResource objects of every network, by name (GET /networks). */
json_t *hamn_net_list_json(struct hamn_net_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Published ports                                                      */
/* ------------------------------------------------------------------ */

/* One port mapping. A parsed "-p" may give several (ranges are expanded). */
struct hamn_net_port {
	int proto;		/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	char host_ip[16];	/* dotted quad; "" = every address of the host */
	uint16_t host_port;	/* 0 = any free port (chosen when published) */
	uint16_t host_port_end; /* > host_port: the first free port of the range */
	uint16_t container_port;
};

/*
 * Parse docker's -p syntax: "80", "8080:80", "127.0.0.1:8080:80/udp",
 * "127.0.0.1::80", "8000-8002:80-82", "8000-8010:80", "80-82". Writes a new
 * array (caller frees) of *n_out mappings. IPv6 host addresses are EINVAL
 * (only IPv4 is supported); so are bad numbers, protocols and mismatched
 * range sizes. Pure and thread-safe.
 */
int hamn_net_port_parse(const char *spec, struct hamn_net_port **out, size_t *n_out,
			struct hamn_error **err);

/* "tcp", "udp", "sctp" (static storage), or "?" for other values. */
const char *hamn_net_proto_name(int proto);

/* ------------------------------------------------------------------ */
/* Endpoints                                                            */
/* ------------------------------------------------------------------ */

struct hamn_net_endpoint_opts {
	const char *network;	    /* name, id or id prefix */
	const char *container_id;   /* required */
	const char *container_name; /* DNS name on user networks (no leading '/'); may be NULL */
	char *const *aliases;	    /* more DNS names on this network; may be NULL */
	/*
	 * The container's network namespace (an fd of /proc/PID/ns/net or of a
	 * bind mount of it; borrowed). Required for bridge networks, used to
	 * bring lo up for "none", ignored for "host".
	 */
	int netns_fd;
	const char *ifname;	  /* NULL = the lowest free ethN of the container */
	const char *ipv4;	  /* a static address (user networks), or NULL */
	const char *mac;	  /* "02:42:..", or NULL = derived from the address */
	char *const *dns_servers; /* forwarders for this container's DNS; NULL = the host's */
	const struct hamn_net_port *ports; /* published with the endpoint; may be NULL */
	size_t n_ports;
};

#define HAMN_NET_ENDPOINT_OPTS_INIT                                                                \
	{                                                                                          \
		.netns_fd = -1                                                                     \
	}

/*
 * Attach a container to a network. For a bridge network: allocate an
 * address, create a veth pair whose container end appears as ifname in
 * netns_fd (address, MAC, MTU, up), bring lo up there, add the default
 * route unless the netns already has one or the network is internal; on
 * user-defined networks register the DNS names and make sure the DNS server
 * listens on 127.0.0.11:53 in that netns; publish ports (one nft
 * transaction, host ports reserved with bound sockets). *id_out gets the
 * new endpoint id (caller frees). Undone completely on failure.
 * Errors: ENOENT (network), EEXIST (container already on the network, or
 * the static address is in use), EINVAL (bad address, MAC, ifname, or
 * ports on a network that cannot publish), ENOSPC (subnet full),
 * EADDRINUSE (host port taken), EADDRNOTAVAIL (host_ip not on this host),
 * netlink/nft errors.
 */
int hamn_net_endpoint_add(struct hamn_net_ctx *ctx, const struct hamn_net_endpoint_opts *o,
			  char **id_out, struct hamn_error **err);

/*
 * Publish more ports on an endpoint (bridge networks that are not
 * internal). Either all are published or none. Errors as for _add.
 */
int hamn_net_publish(struct hamn_net_ctx *ctx, const char *endpoint_id,
		     const struct hamn_net_port *ports, size_t n_ports, struct hamn_error **err);

/*
 * Detach an endpoint: its port rules and reservations, its DNS names (and
 * the DNS sockets when it was the container's last user-network endpoint),
 * its address, and the host end of its veth (the kernel removes the
 * container end with it). The veth is deleted by a background thread: the
 * kernel takes 15-20 ms per veth and nobody should wait for that; a
 * reconnect that finds the old ethN still there waits for it, and
 * hamn_net_ctx_free, _reconcile and _purge finish every pending deletion.
 * A veth already gone (the container's netns died) is fine. Errors: ENOENT.
 */
int hamn_net_endpoint_remove(struct hamn_net_ctx *ctx, const char *endpoint_id,
			     struct hamn_error **err);

/*
 * Find the endpoint of container_id on network ref (*id_out, caller frees).
 * Errors: ENOENT.
 */
int hamn_net_endpoint_find(struct hamn_net_ctx *ctx, const char *ref, const char *container_id,
			   char **id_out, struct hamn_error **err);

/* What the engine needs to write a container's /etc/hosts and inspect output. */
struct hamn_net_endpoint_info {
	char network_id[65];
	char network_name[128];
	char ip[16]; /* "" when the network has no addresses (host, none) */
	int prefix_len;
	char gateway[16]; /* "" on internal networks */
	char mac[18];
	char ifname[16];      /* inside the container */
	char host_ifname[16]; /* host end of the veth */
};

/* Fill *out for endpoint_id. Errors: ENOENT. */
int hamn_net_endpoint_get(struct hamn_net_ctx *ctx, const char *endpoint_id,
			  struct hamn_net_endpoint_info *out, struct hamn_error **err);

/* docker's EndpointSettings (container inspect NetworkSettings.Networks.<name>). ENOENT. */
json_t *hamn_net_endpoint_json(struct hamn_net_ctx *ctx, const char *endpoint_id,
			       struct hamn_error **err);

/* docker's NetworkSettings.Ports of an endpoint: {"80/tcp": [{"HostIp", "HostPort"}]}. ENOENT. */
json_t *hamn_net_endpoint_ports_json(struct hamn_net_ctx *ctx, const char *endpoint_id,
				     struct hamn_error **err);

/*
 * Replace the DNS names of an endpoint (container rename): name and aliases
 * as for _add. Errors: ENOENT.
 */
int hamn_net_endpoint_set_names(struct hamn_net_ctx *ctx, const char *endpoint_id,
				const char *container_name, char *const *aliases,
				struct hamn_error **err);

/* ------------------------------------------------------------------ */
/* Start-up and clean-up                                                */
/* ------------------------------------------------------------------ */

/* An endpoint of a running container, with that container's netns. */
struct hamn_net_live_endpoint {
	const char *endpoint_id;
	/* borrowed; needed on user-defined networks to reopen the DNS listener, else may be -1 */
	int netns_fd;
};

/*
 * Bring the kernel in line with what the daemon believes, at start-up:
 *   - user networks whose ids are not in keep_networks are removed
 *     (keep_networks NULL = keep every network in the state; predefined
 *     networks are always kept);
 *   - endpoints not in live are removed (their addresses released, veths
 *     deleted if still there): pass every endpoint of every running
 *     container, and nothing else;
 *   - bridges of kept networks are created if missing (address, MTU,
 *     sysctls); links tagged as this instance's that belong to nothing kept
 *     are deleted, and so are veths on our bridges that no endpoint owns;
 *   - the nft table is rewritten from the state in one transaction;
 *   - port reservations and DNS sockets of live endpoints are reopened.
 * Per-object failures are collected: everything that can be done is done,
 * then the first error is returned.
 */
int hamn_net_reconcile(struct hamn_net_ctx *ctx, char *const *keep_networks,
		       const struct hamn_net_live_endpoint *live, size_t n_live,
		       struct hamn_error **err);

/*
 * Remove everything this instance owns from the kernel and the disk: every
 * tagged bridge and the veths on it, the nft table, every state file, the
 * DNS listeners. Afterwards ctx holds no network and may only be freed.
 * For tests and `hamnd --network-cleanup`. Errors are collected as in
 * hamn_net_reconcile().
 */
int hamn_net_purge(struct hamn_net_ctx *ctx, struct hamn_error **err);

/* ------------------------------------------------------------------ */
/* Network modes and per-container files (pure)                         */
/* ------------------------------------------------------------------ */

enum hamn_net_mode_kind {
	HAMN_NET_MODE_BRIDGE,	 /* "", "default", "bridge": the default network */
	HAMN_NET_MODE_HOST,	 /* "host": the host's netns */
	HAMN_NET_MODE_NONE,	 /* "none": a netns with lo only */
	HAMN_NET_MODE_CONTAINER, /* "container:<id|name>": another container's netns */
	HAMN_NET_MODE_NETWORK,	 /* any other name: a user-defined network */
};

struct hamn_net_mode {
	enum hamn_net_mode_kind kind;
	char *ref; /* the container (CONTAINER) or network (NETWORK) reference, else NULL */
};

/* Parse docker's HostConfig.NetworkMode. EINVAL for "container:" without a reference. */
int hamn_net_mode_parse(const char *mode, struct hamn_net_mode *out, struct hamn_error **err);
void hamn_net_mode_release(struct hamn_net_mode *m);

struct hamn_net_hosts_opts {
	const char *hostname;	  /* required */
	const char *domainname;	  /* may be NULL */
	char *const *ips;	  /* the container's addresses, one line each; may be NULL */
	char *const *extra_hosts; /* docker's --add-host "name:ip" (or "name=ip"); may be NULL */
};

/*
 * The text of a container's /etc/hosts, as docker writes it: localhost and
 * the IPv6 names, the extra hosts, then "IP\tFQDN HOSTNAME" per address.
 * EINVAL for a malformed extra host. The caller frees *out.
 */
int hamn_net_hosts_content(const struct hamn_net_hosts_opts *o, char **out,
			   struct hamn_error **err);

struct hamn_net_resolv_opts {
	const char *host_resolv;  /* the host's resolv.conf text; NULL = empty */
	bool embedded_dns;	  /* user-defined network: the container asks 127.0.0.11 */
	char *const *dns;	  /* --dns servers; NULL = the host's */
	char *const *dns_search;  /* --dns-search; NULL = the host's */
	char *const *dns_options; /* --dns-option; NULL = the host's */
};

/*
 * The text of a container's /etc/resolv.conf, by docker's rules:
 *   - embedded_dns: "nameserver 127.0.0.11", the search domains and
 *     options kept, "ndots:0" added unless an ndots option is there (the
 *     --dns servers or host servers become the DNS server's forwarders);
 *   - otherwise the nameservers (--dns or the host's) without loopback
 *     ones (127.0.0.0/8, ::1); when none is left, 8.8.8.8 and 8.8.4.4.
 * Always succeeds; the caller frees the result.
 */
char *hamn_net_resolv_content(const struct hamn_net_resolv_opts *o);

/*
 * The "nameserver" entries of a resolv.conf text, in order, as a new
 * NULL-terminated vector (never NULL; caller frees with hamn_strv_free).
 */
char **hamn_net_resolv_nameservers(const char *text);

#endif

/*
 * network.h - how the engine wires containers into src/network; internal to
 * src/engine (network*.c and the hooks in create.c, start.c, watcher.c,
 * render.c, lifecycle.c, engine.c and monitor.c).
 *
 * A container carries the networks it is configured on (docker's
 * NetworkSettings.Networks: name, id, aliases, static address), kept in
 * <root>/containers/<id>/networks.json. While it runs, each of them has an
 * endpoint in src/network, attached by hamnd between the runtime's spawn
 * and the release of the init (the monitor waits for MON_NET_GO), so the
 * program sees eth0 from its first instruction. When it stops, its
 * endpoints are removed before anyone is told of the exit.
 *
 * Locking: links change only with both c->op_lock and e->lock held, so
 * either lock is enough to read them. The live fields (endpoint ids and
 * their JSON, the netns fd, the published ports) change under e->lock.
 * The network library has its own lock and never calls back, so it may be
 * called with e->lock held.
 */
#ifndef HAMN_ENGINE_NETWORK_H
#define HAMN_ENGINE_NETWORK_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/base.h"
#include "network/network.h"

struct hamn_engine;
struct hamn_engine_config;
struct container;

/* One network a container is configured on. */
struct ctr_net_link {
	char *name;	/* the network's name when it was connected */
	char *id;	/* its id */
	char **aliases; /* DNS aliases asked for (NULL: none) */
	char *ipv4;	/* IPAMConfig.IPv4Address, or NULL */
	char *mac;	/* MacAddress asked for, or NULL */
	/* while the container runs */
	char *endpoint_id; /* NULL when not attached */
	json_t *live;	   /* the endpoint's EndpointSettings */
	json_t *ports;	   /* ports published on it ({"80/tcp":[...]}), or NULL */
	char ip[16];	   /* its address ("" on host/none) */
};

struct ctr_net {
	struct ctr_net_link *links;
	size_t n_links;
	int netns_fd; /* the running container's netns, -1 */
};

/* The engine's networking (e->net). */
struct engine_net {
	struct hamn_net_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready; /* reconciled with the running containers: endpoints may be added */
};

/* ---- the engine's side (network.c) ---- */

/*
 * Open src/network with cfg->network (state under <root>/network, the nft
 * table named after the exec root unless given). cfg->network NULL leaves
 * networking off: containers get a netns of their own and nothing in it.
 * Call after the zygote was forked (the library starts threads).
 */
int engine_net_open(struct hamn_engine *e, const struct hamn_engine_config *cfg,
		    struct hamn_error **err);
/*
 * After the containers were reconciled: restore the live state of the running
 * ones, bring the kernel in line (hamn_net_reconcile) and let starts attach.
 * Failures are logged.
 */
void engine_net_start(struct hamn_engine *e);
void engine_net_close(struct hamn_engine *e);

/*
 * At create (c reserved, lock not held): check the network mode and
 * NetworkingConfig of body against what exists and the published ports,
 * and set c's networks. ENOENT "network X not found", EINVAL for options a
 * network cannot take. Then, once c's directory exists, ctr_net_commit
 * writes networks.json (unless the mode alone says it all).
 */
int ctr_net_create(struct hamn_engine *e, struct container *c, json_t *body,
		   struct hamn_error **err);
int ctr_net_commit(struct hamn_engine *e, struct container *c, struct hamn_error **err);
/* At load: c's networks from networks.json (or from its network mode). Logs failures. */
void ctr_net_load(struct hamn_engine *e, struct container *c);
/*
 * At start, first: a network that did not exist at create (network_api.c
 * keeps its name only) must exist now; else ENOENT "network X not found",
 * dockerd's start error.
 */
int ctr_net_check_unresolved(struct hamn_engine *e, const struct container *c,
			     struct hamn_error **err);
/*
 * At start, before the launch (op_lock held): join another container's netns
 * (container:<id>), attach host-mode bookkeeping, and ask the monitor to
 * wait for the attach ("net_wait" in req) when c has a netns of its own.
 */
int ctr_net_prepare(struct hamn_engine *e, struct container *c, json_t *spec, json_t *req,
		    struct hamn_error **err);
/*
 * The monitor said MON_NET_WAIT with the netns of c's init (netns_fd,
 * consumed): attach every network, write /etc/hosts and /etc/resolv.conf,
 * and answer MON_NET_GO (code 0, or an errno and why) on sock.
 */
void ctr_net_handshake(struct hamn_engine *e, struct container *c, int sock, int netns_fd);
/*
 * The directory of the hosts, hostname and resolv.conf c uses (lock held): its
 * own, or with --network container:X that of X (as long as X exists). New.
 */
char *ctr_net_files_dir(struct hamn_engine *e, const struct container *c);
/* Remove c's endpoints (it stopped or never started); lock held / not held. */
void ctr_net_release_locked(struct hamn_engine *e, struct container *c);
void ctr_net_release(struct hamn_engine *e, struct container *c);
/* c was renamed (lock not held): its DNS names follow. */
void ctr_net_renamed(struct hamn_engine *e, struct container *c);
void ctr_net_free(struct ctr_net *n);

/* ---- shared by network*.c ---- */

/* What the engine needs to know of a network. */
struct net_facts {
	char id[65];
	char name[128];
	bool bridge;   /* driver bridge: has addresses, needs a netns */
	bool user;     /* a user-defined bridge: DNS, aliases and static addresses */
	bool internal; /* no way out: ports are not published there */
	bool host;     /* the "host" network */
};

/* Look network ref (name, id, prefix) up. ENOENT "network X not found". */
int net_facts_get(struct hamn_net_ctx *ctx, const char *ref, struct net_facts *f,
		  struct hamn_error **err);

/* An endpoint made for a link, before it is recorded in the link. */
struct net_attached {
	char *endpoint_id;
	json_t *live;
	json_t *ports;
	char ip[16];
};

void net_attached_release(struct net_attached *a);
/*
 * Attach c (op_lock held) to the network of l (facts f) in netns_fd,
 * publishing ports. Fills *out. Errors of hamn_net_endpoint_add, wrapped.
 */
int ctr_net_attach_link(struct hamn_engine *e, struct container *c, const struct ctr_net_link *l,
			const struct net_facts *f, int netns_fd, const struct hamn_net_port *ports,
			size_t n_ports, struct net_attached *out, struct hamn_error **err);
/* Record a in l (lock held): l owns its fields afterwards. */
void ctr_net_link_take(struct ctr_net_link *l, struct net_attached *a);
/*
 * Rewrite c's /etc/hosts in place with the addresses of its attached links
 * (extra is one more address, or NULL), and its resolv.conf for the embedded
 * DNS when embedded_dns. op_lock held.
 */
int ctr_net_write_files(struct hamn_engine *e, const struct container *c, bool embedded_dns,
			struct hamn_error **err);
/* Is c's network mode one with a netns of its own (default, bridge, none, a network)? */
bool ctr_net_private(const struct container *c);
/* The kind of c's network mode; *ref (may be NULL) gets its network or container (new). */
enum hamn_net_mode_kind ctr_net_mode_kind(const struct container *c, char **ref);
/* The network c's mode puts it on: "bridge", "host", "none" or a name; NULL for container:. */
char *ctr_net_mode_network(const struct container *c);
/*
 * The facts of first, the network c's mode names; for mode "default" without
 * a default bridge (hamnd -b none), those of "none", as dockerd does.
 */
int ctr_net_first_facts(struct hamn_engine *e, const struct container *c, const char *first,
			struct net_facts *f, struct hamn_error **err);
/* Wait until start-up reconciled the networks (endpoints may be added). */
void engine_net_wait_ready(struct hamn_engine *e);

/* ---- JSON and files (network_json.c) ---- */

/* NetworkSettings of c for inspect (lock held; new reference). */
json_t *ctr_net_settings_json(const struct container *c);
/* Set "Ports" and "NetworkSettings" of a /containers/json entry (lock held). */
void ctr_net_list_fill(const struct container *c, json_t *entry);
/* Is c on network v (name, id or id prefix of 12+)? For the ps filter (lock held). */
bool ctr_net_filter_match(const struct container *c, const char *v);
/* The EndpointSettings of a link that is not attached. */
json_t *ctr_net_link_json(const struct ctr_net_link *l);
/* networks.json: write (atomic) and read. */
int ctr_net_save(struct hamn_engine *e, const struct container *c, struct hamn_error **err);
struct ctr_net *ctr_net_read(struct hamn_engine *e, const char *id, struct hamn_error **err);
void ctr_net_link_release(struct ctr_net_link *l);
/* Append a link (copies). */
struct ctr_net_link *ctr_net_add_link(struct ctr_net *n, const char *name, const char *id,
				      char *const *aliases, const char *ipv4, const char *mac);

/*
 * docker's HostConfig.PortBindings / PublishAllPorts with Config.ExposedPorts
 * as mappings to publish (*out new, *n_out entries). EINVAL for a bad port,
 * protocol or address. IPv6 host addresses are skipped (only IPv4 is done).
 * Pure.
 */
int ctr_net_ports_parse(json_t *host_config, json_t *config, struct hamn_net_port **out,
			size_t *n_out, struct hamn_error **err);

/*
 * dockerd's --bip ("10.213.5.1/24") as the default bridge's subnet
 * ("10.213.5.0/24") and gateway ("10.213.5.1"), new strings. EINVAL. Pure.
 */
int engine_net_parse_bip(const char *bip, char **subnet, char **gateway, struct hamn_error **err);
/*
 * The instance name (nft table, link tags) of a daemon: "hamn" for the
 * default exec root, else "hamn_" and 8 hex of the sha256 of exec_root. Pure.
 */
char *engine_net_instance(const char *exec_root);

/* ---- the monitor's side (network_mon.c) ---- */

/*
 * In the monitor, after the spawn: send MON_NET_WAIT with the netns of pid
 * on conn and wait for MON_NET_GO. 0 when networking is ready, else an
 * errno with why (a NUL-terminated message of at most len bytes).
 */
int monitor_net_wait(int conn, pid_t pid, char *why, size_t len);

#endif

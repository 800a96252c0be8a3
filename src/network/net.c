/*
 * net.c - the networking context of a daemon instance and its networks.
 *
 * The main file of src/network: it owns the model (networks holding
 * endpoints), loads it from the state directory, and creates and removes
 * networks. Endpoints are in endpoint.c, ports in publish.c, start-up
 * reconciliation in reconcile.c, the kernel in link.c/netns.c/nft.c and the
 * embedded DNS in dns.c. It deliberately knows nothing of containers beyond
 * their ids and netns fds: the engine decides what to attach where.
 */
#include <ctype.h>

#include "network/internal.h"

static const struct {
	const char *base;
	int size;
} docker_pools[] = {
	{"172.17.0.0/16", 16}, {"172.18.0.0/16", 16}, {"172.19.0.0/16", 16},  {"172.20.0.0/14", 16},
	{"172.24.0.0/14", 16}, {"172.28.0.0/14", 16}, {"192.168.0.0/16", 20},
};

#define OPT_PREFIX "com.docker.network."

/* ------------------------------------------------------------------ */
/* The model                                                            */
/* ------------------------------------------------------------------ */

void ep_free(struct endpoint *ep)
{
	if (!ep)
		return;
	ports_release(ep->ports, ep->n_ports);
	free(ep->ports);
	free(ep->id);
	free(ep->container_id);
	free(ep->container_name);
	hamn_strv_free(ep->aliases);
	hamn_strv_free(ep->dns_servers);
	free(ep);
}

void net_free(struct network *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_eps; i++)
		ep_free(n->eps[i]);
	free(n->eps);
	hamn_ipam_release_all(&n->ipam);
	json_decref(n->options);
	json_decref(n->labels);
	free(n->id);
	free(n->name);
	free(n->driver);
	free(n);
}

void net_detach_ep(struct network *n, struct endpoint *ep)
{
	for (size_t i = 0; i < n->n_eps; i++) {
		if (n->eps[i] == ep) {
			memmove(&n->eps[i], &n->eps[i + 1], (n->n_eps - i - 1) * sizeof(*n->eps));
			n->n_eps--;
			return;
		}
	}
}

static void ctx_drop_net(struct hamn_net_ctx *ctx, struct network *n)
{
	for (size_t i = 0; i < ctx->n_nets; i++) {
		if (ctx->nets[i] == n) {
			memmove(&ctx->nets[i], &ctx->nets[i + 1],
				(ctx->n_nets - i - 1) * sizeof(*ctx->nets));
			ctx->n_nets--;
			return;
		}
	}
}

static void ctx_add_net(struct hamn_net_ctx *ctx, struct network *n)
{
	ctx->nets = xreallocarray(ctx->nets, ctx->n_nets + 1, sizeof(*ctx->nets));
	ctx->nets[ctx->n_nets++] = n;
}

struct network *net_by_id(struct hamn_net_ctx *ctx, const char *id)
{
	for (size_t i = 0; i < ctx->n_nets; i++)
		if (streq(ctx->nets[i]->id, id))
			return ctx->nets[i];
	return NULL;
}

static struct network *net_by_name(struct hamn_net_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->n_nets; i++)
		if (streq(ctx->nets[i]->name, name))
			return ctx->nets[i];
	return NULL;
}

struct network *net_find(struct hamn_net_ctx *ctx, const char *ref, struct hamn_error **err)
{
	struct network *n = ref ? net_by_id(ctx, ref) : NULL, *match = NULL;
	size_t len = ref ? strlen(ref) : 0;

	if (!n && ref)
		n = net_by_name(ctx, ref);
	if (n)
		return n;
	for (size_t i = 0; len > 0 && i < ctx->n_nets; i++) {
		if (strncmp(ctx->nets[i]->id, ref, len) != 0)
			continue;
		if (match) {
			hamn_error_setq(err, EINVAL, "network '%s' is ambiguous", ref);
			return NULL;
		}
		match = ctx->nets[i];
	}
	if (!match)
		hamn_error_setq(err, ENOENT, "network %s not found", ref ? ref : "");
	return match;
}

struct endpoint *ep_by_id(struct hamn_net_ctx *ctx, const char *id)
{
	for (size_t i = 0; i < ctx->n_nets; i++)
		for (size_t e = 0; e < ctx->nets[i]->n_eps; e++)
			if (streq(ctx->nets[i]->eps[e]->id, id))
				return ctx->nets[i]->eps[e];
	return NULL;
}

int net_collect_taken(struct hamn_net_ctx *ctx, const struct network *skip,
		      struct hamn_ipv4_net **out, size_t *n_out, struct hamn_error **err)
{
	struct hamn_ipv4_net *v = NULL;
	size_t n = 0;

	if (link_host_routes(ctx->nl, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < ctx->n_nets; i++) {
		if (ctx->nets[i] == skip || !is_bridge(ctx->nets[i]))
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = ctx->nets[i]->ipam.subnet;
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Creating networks                                                    */
/* ------------------------------------------------------------------ */

static bool valid_net_name(const char *s)
{
	if (!s || !isalnum((unsigned char)s[0]) || strlen(s) > 127)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static bool valid_ifname(const char *s)
{
	if (!s || !*s || strlen(s) >= IFNAMSIZ || streq(s, ".") || streq(s, ".."))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static int opt_bool(json_t *opts, const char *key, bool def, bool *out, struct hamn_error **err)
{
	const char *v = json_string_value(json_object_get(opts, key));

	*out = def;
	if (!v)
		return 0;
	if (streq(v, "true") || streq(v, "1"))
		*out = true;
	else if (streq(v, "false") || streq(v, "0"))
		*out = false;
	else
		return hamn_error_setq(err, EINVAL, "invalid option %s: '%s'", key, v);
	return 0;
}

/* Driver options into n (bridge name, MTU, masquerade, icc, host binding). */
static int apply_options(struct hamn_net_ctx *ctx, struct network *n, struct hamn_error **err)
{
	const char *br = json_string_value(json_object_get(n->options, OPT_PREFIX "bridge.name"));
	const char *mtu = json_string_value(json_object_get(n->options, OPT_PREFIX "driver.mtu"));
	const char *hb = json_string_value(
		json_object_get(n->options, OPT_PREFIX "bridge.host_binding_ipv4"));
	int64_t m = ctx->mtu;

	if (br && !valid_ifname(br))
		return hamn_error_setq(err, EINVAL, "invalid bridge name '%s'", br);
	if (br)
		snprintf(n->bridge, sizeof(n->bridge), "%s", br);
	if (mtu && (hamn_parse_int64(mtu, &m, NULL) < 0 || m < 68 || m > 65535))
		return hamn_error_setq(err, EINVAL, "invalid MTU '%s'", mtu);
	n->mtu = (int)m;
	if (hb && hamn_ipv4_parse(hb, &n->host_binding, err) < 0)
		return -1;
	if (opt_bool(n->options, OPT_PREFIX "bridge.enable_ip_masquerade", true, &n->masquerade,
		     err) < 0 ||
	    opt_bool(n->options, OPT_PREFIX "bridge.enable_icc", true, &n->icc, err) < 0)
		return -1;
	return 0;
}

static int check_no_overlap(struct hamn_net_ctx *ctx, const struct hamn_ipv4_net *s,
			    struct hamn_error **err)
{
	char a[HAMN_IPV4_NET_STR_MAX];

	for (size_t i = 0; i < ctx->n_nets; i++) {
		if (!is_bridge(ctx->nets[i]) ||
		    !hamn_ipv4_net_overlaps(s, &ctx->nets[i]->ipam.subnet))
			continue;
		/* dockerd's (libnetwork's) words for the client; which network, for the log */
		log_kv(HAMN_LOG_INFO, "subnet overlaps a network", "subnet=%s network=%s",
		       hamn_ipv4_net_str(s, a), ctx->nets[i]->name);
		return hamn_error_setq(err, EEXIST,
				       "Pool overlaps with other one on this address space");
	}
	return 0;
}

/* Subnet, gateway and range: the user's (checked against other networks) or picked. */
static int setup_ipam(struct hamn_net_ctx *ctx, struct network *n, const char *subnet,
		      const char *gateway, const char *ip_range, struct hamn_error **err)
{
	struct hamn_ipv4_net s, r;
	uint32_t gw = 0;

	if (subnet) {
		if (hamn_ipv4_net_parse(subnet, &s, NULL) < 0)
			return hamn_error_setq(err, EINVAL,
					       "Invalid subnet %s : invalid CIDR address: %s",
					       subnet, subnet);
		if (check_no_overlap(ctx, &s, err) < 0)
			return -1;
		n->user_subnet = true;
	} else {
		_cleanup_free_ struct hamn_ipv4_net *taken = NULL;
		size_t n_taken = 0;

		if (gateway || ip_range)
			return hamn_error_setq(err, EINVAL, "a gateway or ip range needs a subnet");
		if (net_collect_taken(ctx, n, &taken, &n_taken, err) < 0 ||
		    hamn_ipam_pick_subnet(ctx->pools, ctx->n_pools, taken, n_taken, &s, err) < 0)
			return -1;
	}
	if (ip_range && hamn_ipv4_net_parse(ip_range, &r, err) < 0)
		return -1;
	if (gateway && hamn_ipv4_parse(gateway, &gw, err) < 0)
		return -1;
	if (!gateway)
		gw = s.addr + 1;
	return hamn_ipam_init(&n->ipam, &s, ip_range ? &r : NULL, gw, err);
}

static struct network *net_alloc(const char *name, const char *driver)
{
	struct network *n = xzalloc(sizeof(*n));

	n->id = hamn_random_id();
	n->name = xstrdup(name);
	n->driver = xstrdup(driver);
	n->created_ns = hamn_now_ns();
	n->masquerade = n->icc = true;
	n->options = json_object();
	n->labels = json_object();
	return n;
}

static int check_create_opts(struct hamn_net_ctx *ctx, const struct hamn_net_create_opts *o,
			     struct hamn_error **err)
{
	if (!valid_net_name(o->name))
		return hamn_error_setq(err, EINVAL, "invalid network name '%s'",
				       o->name ? o->name : "");
	if (net_by_name(ctx, o->name))
		return hamn_error_setq(err, EEXIST, "network with name %s already exists", o->name);
	if (o->driver && (streq(o->driver, DRIVER_HOST) || streq(o->driver, DRIVER_NULL)))
		return hamn_error_setq(err, EPERM, "only one instance of \"%s\" network is allowed",
				       o->driver);
	/* dockerd looks other drivers up as plugins */
	if (o->driver && *o->driver && !streq(o->driver, DRIVER_BRIDGE))
		return hamn_error_setq(err, ENOENT, "plugin \"%s\" not found", o->driver);
	if ((o->options && !json_is_object(o->options)) ||
	    (o->labels && !json_is_object(o->labels)))
		return hamn_error_setq(err, EINVAL, "options and labels must be objects");
	return 0;
}

/* Take n (already in ctx->nets) out of the kernel again; failures are only logged. */
static void undo_kernel(struct hamn_net_ctx *ctx, struct network *n)
{
	struct hamn_error *e = NULL;

	ctx_drop_net(ctx, n);
	if (link_delete(ctx->nl, n->bridge, &e) < 0 || nft_apply(ctx, &e) < 0)
		log_warn("undo network '%s': %s", n->name, e->msg);
	hamn_error_free(&e);
}

static int create_locked(struct hamn_net_ctx *ctx, const struct hamn_net_create_opts *o,
			 char **id_out, struct hamn_error **err)
{
	struct network *n;
	int ifindex;

	n = net_alloc(o->name, DRIVER_BRIDGE);
	snprintf(n->bridge, sizeof(n->bridge), "br-%.12s", n->id);
	n->internal = o->internal;
	if (o->options)
		json_object_update(n->options, o->options);
	if (o->labels)
		json_object_update(n->labels, o->labels);
	if (apply_options(ctx, n, err) < 0 ||
	    setup_ipam(ctx, n, o->subnet, o->gateway, o->ip_range, err) < 0 ||
	    link_bridge_ensure(ctx, n, true, &ifindex, err) < 0) {
		net_free(n);
		return -1;
	}
	ctx_add_net(ctx, n);
	if (nft_apply(ctx, err) < 0 || state_save(ctx, n, err) < 0) {
		undo_kernel(ctx, n);
		net_free(n);
		return -1;
	}
	if (id_out)
		*id_out = xstrdup(n->id);
	return 0;
}

int hamn_net_create(struct hamn_net_ctx *ctx, const struct hamn_net_create_opts *o, char **id_out,
		    struct hamn_error **err)
{
	int rc;

	/* no "create network" prefix: the client knows, and dockerd's messages have none */
	pthread_mutex_lock(&ctx->lock);
	rc = check_create_opts(ctx, o, err);
	if (rc == 0)
		rc = create_locked(ctx, o, id_out, err);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}
/* ------------------------------------------------------------------ */
/* Removing and looking up networks                                     */
/* ------------------------------------------------------------------ */

static int remove_locked(struct hamn_net_ctx *ctx, const char *ref, struct hamn_error **err)
{
	struct network *n = net_find(ctx, ref, err);
	struct hamn_error *e = NULL;

	if (!n)
		return -1;
	if (n->predefined)
		return hamn_error_setq(
			err, EPERM, "%s is a pre-defined network and cannot be removed", n->name);
	if (n->n_eps > 0)
		return hamn_error_setq(
			err, EBUSY,
			"error while removing network: network %s id %s has active endpoints",
			n->name, n->id);
	ctx_drop_net(ctx, n);
	if (nft_apply(ctx, err) < 0) {
		ctx_add_net(ctx, n);
		return -1;
	}
	if (state_delete(ctx, n, err) < 0) {
		ctx_add_net(ctx, n);
		if (nft_apply(ctx, &e) < 0)
			log_warn("restore rules of network '%s': %s", n->name, e->msg);
		hamn_error_free(&e);
		return -1;
	}
	/* from here on the network is gone for good; a leftover bridge is reconcile's job */
	if (link_delete(ctx->nl, n->bridge, &e) < 0)
		log_warn("remove network '%s': %s", n->name, e->msg);
	hamn_error_free(&e);
	net_free(n);
	return 0;
}

int hamn_net_remove(struct hamn_net_ctx *ctx, const char *ref, struct hamn_error **err)
{
	int rc;

	pthread_mutex_lock(&ctx->lock);
	rc = remove_locked(ctx, ref, err);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

int hamn_net_lookup(struct hamn_net_ctx *ctx, const char *ref, char **id_out,
		    struct hamn_error **err)
{
	struct network *n;

	pthread_mutex_lock(&ctx->lock);
	n = net_find(ctx, ref, err);
	if (n)
		*id_out = xstrdup(n->id);
	pthread_mutex_unlock(&ctx->lock);
	return n ? 0 : -1;
}

static json_t *ipam_config_json(const struct network *n)
{
	char s[HAMN_IPV4_NET_STR_MAX], g[HAMN_IPV4_STR_MAX];
	json_t *cfg = json_array(), *c;

	if (!is_bridge(n))
		return cfg;
	c = json_pack("{s:s, s:s}", "Subnet", hamn_ipv4_net_str(&n->ipam.subnet, s), "Gateway",
		      hamn_ipv4_str(n->ipam.gateway, g));
	if (n->ipam.range.len != n->ipam.subnet.len)
		json_object_set_new(c, "IPRange",
				    json_string(hamn_ipv4_net_str(&n->ipam.range, s)));
	json_array_append_new(cfg, c);
	return cfg;
}

static json_t *containers_json(const struct network *n)
{
	json_t *obj = json_object();
	char ip[HAMN_IPV4_STR_MAX], mac[18];

	for (size_t i = 0; i < n->n_eps; i++) {
		const struct endpoint *ep = n->eps[i];
		_cleanup_free_ char *cidr =
			ep->ip ? xasprintf("%s/%d", hamn_ipv4_str(ep->ip, ip), n->ipam.subnet.len)
			       : xstrdup("");

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ep->mac[0], ep->mac[1],
			 ep->mac[2], ep->mac[3], ep->mac[4], ep->mac[5]);
		json_object_set_new(obj, ep->container_id,
				    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name",
					      ep->container_name ? ep->container_name : "",
					      "EndpointID", ep->id, "MacAddress", ep->ip ? mac : "",
					      "IPv4Address", cidr, "IPv6Address", ""));
	}
	return obj;
}

static json_t *net_resource_json(const struct network *n)
{
	char created[HAMN_TIME_STR_MAX];

	/* dockerd: IPAM options {} on a user-defined network, null on the predefined ones */
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:o, s:o}, s:b, s:b, s:b,"
			 " s:{s:s}, s:b, s:o, s:O, s:O}",
			 "Name", n->name, "Id", n->id, "Created",
			 hamn_time_format(n->created_ns, created), "Scope", "local", "Driver",
			 n->driver, "EnableIPv6", 0, "IPAM", "Driver", "default", "Options",
			 is_bridge(n) && !streq(n->name, "bridge") ? json_object() : json_null(),
			 "Config", ipam_config_json(n), "Internal", n->internal, "Attachable", 0,
			 "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly", 0, "Containers",
			 containers_json(n), "Options", n->options, "Labels", n->labels);
}

json_t *hamn_net_inspect_json(struct hamn_net_ctx *ctx, const char *ref, struct hamn_error **err)
{
	struct network *n;
	json_t *j = NULL;

	pthread_mutex_lock(&ctx->lock);
	n = net_find(ctx, ref, err);
	if (n)
		j = net_resource_json(n);
	pthread_mutex_unlock(&ctx->lock);
	return j;
}

static int by_name(const void *a, const void *b)
{
	const struct network *x = *(struct network *const *)a, *y = *(struct network *const *)b;

	return strcmp(x->name, y->name);
}

json_t *hamn_net_list_json(struct hamn_net_ctx *ctx)
{
	json_t *arr = json_array();
	struct network **v;

	pthread_mutex_lock(&ctx->lock);
	v = xcalloc(ctx->n_nets + 1, sizeof(*v));
	memcpy(v, ctx->nets, ctx->n_nets * sizeof(*v));
	qsort(v, ctx->n_nets, sizeof(*v), by_name);
	for (size_t i = 0; i < ctx->n_nets; i++)
		json_array_append_new(arr, net_resource_json(v[i]));
	free(v);
	pthread_mutex_unlock(&ctx->lock);
	return arr;
}

/* ------------------------------------------------------------------ */
/* The context                                                          */
/* ------------------------------------------------------------------ */

static bool valid_instance(const char *s)
{
	if (!s || !*s || strlen(s) > 32 || isdigit((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static int copy_pools(struct hamn_net_ctx *ctx, const struct hamn_net_config *cfg,
		      struct hamn_error **err)
{
	size_t n = cfg->pools ? cfg->n_pools : sizeof(docker_pools) / sizeof(docker_pools[0]);

	ctx->pools = xcalloc(n + 1, sizeof(*ctx->pools));
	for (size_t i = 0; i < n; i++) {
		const char *base = cfg->pools ? cfg->pools[i].base : docker_pools[i].base;
		int size = cfg->pools ? cfg->pools[i].size : docker_pools[i].size;

		if (hamn_ipv4_net_parse(base, &ctx->pools[i].base, err) < 0)
			return hamn_error_wrap(err, "address pool");
		if (size < ctx->pools[i].base.len || size > 30)
			return hamn_error_setq(err, EINVAL, "address pool '%s': bad size %d", base,
					       size);
		ctx->pools[i].size = size;
	}
	ctx->n_pools = n;
	return 0;
}

static int copy_config(struct hamn_net_ctx *ctx, const struct hamn_net_config *cfg,
		       struct hamn_error **err)
{
	const char *inst = cfg->instance ? cfg->instance : "hamn";
	const char *br = cfg->default_bridge ? cfg->default_bridge : "hamn0";

	if (!cfg->state_dir || !*cfg->state_dir)
		return hamn_error_setq(err, EINVAL, "network config: no state directory");
	if (!valid_instance(inst))
		return hamn_error_setq(err, EINVAL, "network config: invalid instance name '%s'",
				       inst);
	if (!streq(br, "none") && !valid_ifname(br))
		return hamn_error_setq(err, EINVAL, "network config: invalid bridge name '%s'", br);
	if (cfg->mtu && (cfg->mtu < 68 || cfg->mtu > 65535))
		return hamn_error_setq(err, EINVAL, "network config: invalid MTU %d", cfg->mtu);
	ctx->state_dir = xstrdup(cfg->state_dir);
	ctx->instance = xstrdup(inst);
	ctx->default_bridge = streq(br, "none") ? NULL : xstrdup(br);
	ctx->default_subnet = cfg->default_subnet ? xstrdup(cfg->default_subnet) : NULL;
	ctx->default_gateway = cfg->default_gateway ? xstrdup(cfg->default_gateway) : NULL;
	ctx->mtu = cfg->mtu ? cfg->mtu : 1500;
	ctx->ip_forward = cfg->ip_forward;
	return copy_pools(ctx, cfg, err);
}

static void load_upstreams(struct hamn_net_ctx *ctx, const struct hamn_net_config *cfg)
{
	const char *path = cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf";
	_cleanup_free_ char *text = NULL;
	struct hamn_error *e = NULL;

	if (cfg->dns_upstreams) {
		ctx->upstreams = strv_copy(cfg->dns_upstreams);
	} else if (hamn_read_file(AT_FDCWD, path, 1 << 20, &text, NULL, &e) == 0) {
		ctx->upstreams = hamn_net_resolv_nameservers(text);
	} else {
		log_warn("no DNS forwarders: %s", e->msg);
		hamn_error_free(&e);
	}
	if (!ctx->upstreams)
		ctx->upstreams = xcalloc(1, sizeof(char *));
	hamn_dns_server_set_upstreams(ctx->dns, ctx->upstreams);
}

static struct network *ensure_predefined(struct hamn_net_ctx *ctx, const char *name,
					 const char *driver, bool *created)
{
	struct network *n = net_by_name(ctx, name);

	*created = false;
	if (n && streq(n->driver, driver))
		return n;
	if (n) {
		/* a user network took the name while it was free: rename it out of the way */
		log_warn("network '%s' (%s) renamed to '%s-%.12s'", n->name, n->id, n->name, n->id);
		free(n->name);
		n->name = xasprintf("%s-%.12s", name, n->id);
	}
	n = net_alloc(name, driver);
	n->predefined = true;
	*created = true;
	return n;
}

static void default_bridge_options(struct hamn_net_ctx *ctx, struct network *n)
{
	char mtu[16];

	snprintf(mtu, sizeof(mtu), "%d", n->mtu);
	json_object_set_new(n->options, OPT_PREFIX "bridge.default_bridge", json_string("true"));
	json_object_set_new(n->options, OPT_PREFIX "bridge.enable_icc", json_string("true"));
	json_object_set_new(n->options, OPT_PREFIX "bridge.enable_ip_masquerade",
			    json_string("true"));
	json_object_set_new(n->options, OPT_PREFIX "bridge.host_binding_ipv4",
			    json_string("0.0.0.0"));
	json_object_set_new(n->options, OPT_PREFIX "bridge.name", json_string(ctx->default_bridge));
	json_object_set_new(n->options, OPT_PREFIX "driver.mtu", json_string(mtu));
}

static int setup_default_bridge(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	bool created;
	struct network *n = ensure_predefined(ctx, "bridge", DRIVER_BRIDGE, &created);

	if (!created) {
		/* the configured name wins over the remembered one */
		snprintf(n->bridge, sizeof(n->bridge), "%s", ctx->default_bridge);
		return 0;
	}
	n->is_default = true;
	n->mtu = ctx->mtu;
	snprintf(n->bridge, sizeof(n->bridge), "%s", ctx->default_bridge);
	default_bridge_options(ctx, n);
	if (setup_ipam(ctx, n, ctx->default_subnet, ctx->default_gateway, NULL, err) < 0) {
		net_free(n);
		return hamn_error_wrap(err, "default network");
	}
	ctx_add_net(ctx, n);
	return state_save(ctx, n, err);
}

static int setup_predefined(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	static const char *const simple[][2] = {{"host", DRIVER_HOST}, {"none", DRIVER_NULL}};
	struct network *def = net_by_name(ctx, "bridge");

	for (size_t i = 0; i < 2; i++) {
		bool created;
		struct network *n = ensure_predefined(ctx, simple[i][0], simple[i][1], &created);

		if (created) {
			ctx_add_net(ctx, n);
			if (state_save(ctx, n, err) < 0)
				return -1;
		}
	}
	if (ctx->default_bridge)
		return setup_default_bridge(ctx, err);
	if (def && def->is_default && def->n_eps == 0) {
		/* configured without a default bridge now: forget the old one */
		ctx_drop_net(ctx, def);
		if (state_delete(ctx, def, err) < 0)
			return -1;
		net_free(def);
	}
	return 0;
}

struct hamn_net_ctx *hamn_net_ctx_new(const struct hamn_net_config *cfg, struct hamn_error **err)
{
	struct hamn_net_ctx *ctx = xzalloc(sizeof(*ctx));

	pthread_mutex_init(&ctx->lock, NULL);
	ctx->state_dirfd = -1;
	ctx->dns = hamn_dns_server_new();
	ctx->janitor = janitor_new();
	if (copy_config(ctx, cfg, err) < 0 || hamn_mkdir_p(AT_FDCWD, ctx->state_dir, 0700, err) < 0)
		goto fail;
	ctx->state_dirfd = open(ctx->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->state_dirfd < 0) {
		hamn_error_set(err, errno, "open '%s'", ctx->state_dir);
		goto fail;
	}
	load_upstreams(ctx, cfg);
	if (link_open(&ctx->nl, err) < 0 || state_load_all(ctx, err) < 0 ||
	    setup_predefined(ctx, err) < 0)
		goto fail;
	return ctx;
fail:
	hamn_net_ctx_free(ctx);
	return NULL;
}

void hamn_net_ctx_free(struct hamn_net_ctx *ctx)
{
	if (!ctx)
		return;
	janitor_free(ctx->janitor); /* finishes its queue */
	hamn_dns_server_free(ctx->dns);
	for (size_t i = 0; i < ctx->n_nets; i++)
		net_free(ctx->nets[i]);
	free(ctx->nets);
	link_close(ctx->nl);
	nft_close(ctx);
	if (ctx->state_dirfd >= 0)
		close(ctx->state_dirfd);
	hamn_strv_free(ctx->upstreams);
	free(ctx->pools);
	free(ctx->state_dir);
	free(ctx->instance);
	free(ctx->default_bridge);
	free(ctx->default_subnet);
	free(ctx->default_gateway);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

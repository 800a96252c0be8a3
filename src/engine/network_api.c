/*
 * network_api.c - networks as the API sees them: create, list (filters),
 * inspect, remove, prune, and connect/disconnect of containers (live on a
 * running one, configuration only on a stopped one); plus the check of a
 * create request's network mode and NetworkingConfig.
 *
 * The networks themselves live in src/network; a container's side of them
 * (its links) is the engine's (network.c). Connect and disconnect hold the
 * container's op_lock, so they never race a start, stop or remove; only a
 * natural exit can come between, and is checked for.
 */
#include <unistd.h>

#include "engine/internal.h"

static int need_net(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	if (e->net)
		return 0;
	if (ref)
		return hamn_error_setq(err, ENOENT, "network %s not found", ref);
	return hamn_error_setq(err, ENOTSUP, "networking is off in this daemon");
}

/* ---- endpoint settings of a request ---- */

struct ep_cfg {
	char **aliases;
	const char *ipv4;
	const char *mac;
};

static void ep_cfg_release(struct ep_cfg *c)
{
	hamn_strv_free(c->aliases);
	memset(c, 0, sizeof(*c));
}

/* docker's EndpointSettings as given by a client (only what can be asked for). */
static int ep_cfg_parse(json_t *o, struct ep_cfg *out, struct hamn_error **err)
{
	json_t *ipam = NULL;

	memset(out, 0, sizeof(*out));
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return hamn_error_setq(err, EINVAL, "EndpointSettings must be an object");
	if (hamn_json_get_strv_opt(o, "Aliases", "Aliases", &out->aliases, err) < 0 ||
	    hamn_json_get_object_opt(o, "IPAMConfig", "IPAMConfig", &ipam, err) < 0 ||
	    hamn_json_get_string_opt(o, "MacAddress", "MacAddress", &out->mac, err) < 0)
		return -1;
	if (ipam &&
	    hamn_json_get_string_opt(ipam, "IPv4Address", "IPv4Address", &out->ipv4, err) < 0)
		return -1;
	if (out->ipv4 && !out->ipv4[0])
		out->ipv4 = NULL;
	if (out->mac && !out->mac[0])
		out->mac = NULL;
	return 0;
}

static int check_ep_cfg(const struct net_facts *f, const struct ep_cfg *c, struct hamn_error **err)
{
	if (f->user)
		return 0;
	if (c->aliases && c->aliases[0])
		return hamn_error_setq(err, EINVAL,
				       "network-scoped alias is supported only for "
				       "containers in user defined networks");
	if (c->ipv4)
		return hamn_error_setq(err, EINVAL,
				       "user specified IP address is supported on user "
				       "defined networks only");
	return 0;
}

static void link_apply(struct ctr_net_link *l, const struct ep_cfg *c)
{
	hamn_strv_free(l->aliases);
	l->aliases = c->aliases && c->aliases[0] ? strv_copy(c->aliases) : NULL;
	free(l->ipv4);
	l->ipv4 = c->ipv4 ? xstrdup(c->ipv4) : NULL;
	free(l->mac);
	l->mac = c->mac ? xstrdup(c->mac) : NULL;
}

/* ---- create (of a container) ---- */

/* One EndpointsConfig entry: settings of the mode's network, or one more network. */
static int create_entry(struct hamn_engine *e, struct ctr_net *n, const char *key, json_t *v,
			bool single, struct hamn_error **err)
{
	struct ep_cfg c;
	struct net_facts f;
	int r = -1;

	if (ep_cfg_parse(v, &c, err) < 0)
		return -1;
	/* the CLI's "default" entry is the settings of the mode's own network */
	if (net_facts_get(e->net->ctx, streq(key, "default") ? n->links[0].id : key, &f, err) < 0)
		goto out;
	if (check_ep_cfg(&f, &c, err) < 0)
		goto out;
	if (n->n_links > 0 && streq(n->links[0].id, f.id)) {
		link_apply(&n->links[0], &c);
	} else if (single) {
		hamn_error_setq(err, EINVAL,
				"container cannot be connected to network %s: its "
				"network mode allows no other network",
				f.name);
		goto out;
	} else {
		link_apply(ctr_net_add_link(n, f.name, f.id, NULL, NULL, NULL), &c);
	}
	r = 0;
out:
	ep_cfg_release(&c);
	return r;
}

static int check_join_target(struct hamn_engine *e, struct container *c, json_t *body,
			     struct hamn_error **err)
{
	_cleanup_free_ char *ref = NULL;
	json_t *hc = json_object_get(body, "HostConfig");
	json_t *pb = json_object_get(hc, "PortBindings");
	const char *hostname = json_string_value(json_object_get(body, "Hostname"));
	struct container *t;

	ctr_net_mode_kind(c, &ref);
	if (json_object_size(pb) > 0)
		return hamn_error_setq(err, EINVAL,
				       "conflicting options: port publishing and the "
				       "container type network mode");
	/* the other container's hosts, hostname and resolv.conf are shared (network.c) */
	if (hostname && hostname[0])
		return hamn_error_setq(err, EINVAL,
				       "conflicting options: hostname and the network mode");
	if (json_array_size(json_object_get(hc, "Dns")) > 0)
		return hamn_error_setq(err, EINVAL, "conflicting options: dns and the network mode");
	if (json_array_size(json_object_get(hc, "ExtraHosts")) > 0)
		return hamn_error_setq(err, EINVAL, "conflicting options: custom host-to-IP mapping "
				       "and the network mode");
	pthread_mutex_lock(&e->lock);
	t = table_find(e, ref, err);
	pthread_mutex_unlock(&e->lock);
	return t ? 0 : -1;
}

static int create_links(struct hamn_engine *e, struct container *c, struct ctr_net *n, json_t *body,
			struct hamn_error **err)
{
	json_t *epc = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
	_cleanup_free_ char *first = ctr_net_mode_network(c);
	enum hamn_net_mode_kind k = ctr_net_mode_kind(c, NULL);
	struct net_facts f;
	const char *key;
	json_t *v;

	if (!first)
		return check_join_target(e, c, body, err);
	if (!e->net) {
		if (k == HAMN_NET_MODE_NETWORK)
			return hamn_error_setq(err, ENOENT, "network %s not found", first);
		ctr_net_add_link(n, first, "", NULL, NULL, NULL);
		return 0;
	}
	if (ctr_net_first_facts(e, c, first, &f, err) < 0) {
		if ((*err)->errnum != ENOENT || k != HAMN_NET_MODE_NETWORK)
			return -1;
		/* as dockerd: an unknown network fails the start, not the create */
		hamn_error_free(err);
		ctr_net_add_link(n, first, "", NULL, NULL, NULL);
		return 0;
	}
	ctr_net_add_link(n, f.name, f.id, NULL, NULL, NULL);
	if (epc && !json_is_null(epc) && !json_is_object(epc))
		return hamn_error_setq(err, EINVAL,
				       "NetworkingConfig.EndpointsConfig must be an "
				       "object");
	json_object_foreach (epc, key, v) {
		if (create_entry(e, n, key, v, k == HAMN_NET_MODE_HOST || k == HAMN_NET_MODE_NONE,
				 err) < 0)
			return -1;
	}
	return 0;
}

/* The links are what ctr_net_load derives from the mode alone: no need to write them. */
static bool derivable(const struct ctr_net *n)
{
	if (n->n_links == 0)
		return true;
	return n->n_links == 1 && !n->links[0].aliases && !n->links[0].ipv4 && !n->links[0].mac;
}

int ctr_net_create(struct hamn_engine *e, struct container *c, json_t *body,
		   struct hamn_error **err)
{
	_cleanup_free_ struct hamn_net_port *ports = NULL;
	struct ctr_net *n = xzalloc(sizeof(*n));
	size_t n_ports = 0;

	n->netns_fd = -1;
	if (ctr_net_ports_parse(c->host_json, c->config_json, &ports, &n_ports, err) < 0 ||
	    create_links(e, c, n, body, err) < 0) {
		ctr_net_free(n);
		return -1;
	}
	pthread_mutex_lock(&e->lock);
	ctr_net_free(c->net);
	c->net = n;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int ctr_net_commit(struct hamn_engine *e, struct container *c, struct hamn_error **err)
{
	if (!c->net || derivable(c->net))
		return 0;
	return ctr_net_save(e, c, err);
}

/* ---- networks ---- */

static int ipam_opts(json_t *body, struct hamn_net_create_opts *o, struct hamn_error **err)
{
	json_t *ipam = NULL, *cfgs = NULL, *c;
	const char *driver = NULL;
	size_t i;

	if (hamn_json_get_object_opt(body, "IPAM", "IPAM", &ipam, err) < 0)
		return -1;
	if (!ipam)
		return 0;
	if (hamn_json_get_string_opt(ipam, "Driver", "IPAM.Driver", &driver, err) < 0 ||
	    hamn_json_get_array_opt(ipam, "Config", "IPAM.Config", &cfgs, err) < 0)
		return -1;
	if (driver && driver[0] && !streq(driver, "default"))
		return hamn_error_setq(err, EINVAL, "IPAM driver '%s' is not supported", driver);
	json_array_foreach (cfgs, i, c) {
		const char *subnet = NULL;

		if (!json_is_object(c))
			return hamn_error_setq(err, EINVAL,
					       "IPAM.Config: must be a list of objects");
		if (hamn_json_get_string_opt(c, "Subnet", "IPAM.Config.Subnet", &subnet, err) < 0)
			return -1;
		if (subnet && strchr(subnet, ':'))
			continue; /* IPv6: not done */
		if (o->subnet || o->gateway || o->ip_range)
			return hamn_error_setq(err, EINVAL,
					       "only one IPv4 subnet per network is "
					       "supported");
		o->subnet = subnet && subnet[0] ? subnet : NULL;
		if (hamn_json_get_string_opt(c, "Gateway", "IPAM.Config.Gateway", &o->gateway,
					     err) < 0 ||
		    hamn_json_get_string_opt(c, "IPRange", "IPAM.Config.IPRange", &o->ip_range,
					     err) < 0)
			return -1;
		if (o->gateway && !o->gateway[0])
			o->gateway = NULL;
		if (o->ip_range && !o->ip_range[0])
			o->ip_range = NULL;
	}
	return 0;
}

static int create_opts(json_t *body, struct hamn_net_create_opts *o, struct hamn_error **err)
{
	bool v6 = false, ingress = false, config_only = false;

	memset(o, 0, sizeof(*o));
	if (!json_is_object(body))
		return hamn_error_setq(err, EINVAL, "the request body must be a JSON object");
	if (hamn_json_get_string(body, "Name", "Name", &o->name, err) < 0 ||
	    hamn_json_get_string_opt(body, "Driver", "Driver", &o->driver, err) < 0 ||
	    hamn_json_get_bool_opt(body, "Internal", "Internal", &o->internal, err) < 0 ||
	    hamn_json_get_bool_opt(body, "EnableIPv6", "EnableIPv6", &v6, err) < 0 ||
	    hamn_json_get_bool_opt(body, "Ingress", "Ingress", &ingress, err) < 0 ||
	    hamn_json_get_bool_opt(body, "ConfigOnly", "ConfigOnly", &config_only, err) < 0 ||
	    hamn_json_get_object_opt(body, "Options", "Options", &o->options, err) < 0 ||
	    hamn_json_get_object_opt(body, "Labels", "Labels", &o->labels, err) < 0 ||
	    ipam_opts(body, o, err) < 0)
		return -1;
	if (v6)
		return hamn_error_setq(err, EINVAL, "IPv6 networks are not supported");
	if (ingress || config_only)
		return hamn_error_setq(err, EINVAL,
				       "ingress and config-only networks are not "
				       "supported");
	if (o->driver && !o->driver[0])
		o->driver = NULL;
	return 0;
}

json_t *hamn_engine_network_create(struct hamn_engine *e, json_t *body, struct hamn_error **err)
{
	struct hamn_net_create_opts o;
	_cleanup_free_ char *id = NULL;
	struct net_facts f;

	if (need_net(e, NULL, err) < 0 || create_opts(body, &o, err) < 0)
		return NULL;
	if (!o.name[0])
		return hamn_error_setq(err, EINVAL, "network name must not be empty"), NULL;
	if (hamn_net_create(e->net->ctx, &o, &id, err) < 0)
		return NULL;
	if (engine_net_lookup(e, id, &f))
		engine_net_emit(e, "create", &f, NULL);
	log_info("network %s created: %s", o.name, id);
	return json_pack("{s:s, s:s}", "Id", id, "Warning", "");
}

json_t *hamn_engine_network_inspect(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	if (need_net(e, ref, err) < 0)
		return NULL;
	return hamn_net_inspect_json(e->net->ctx, ref, err);
}

int hamn_engine_network_remove(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	struct net_facts f;
	bool known;

	if (need_net(e, ref, err) < 0)
		return -1;
	known = engine_net_lookup(e, ref, &f); /* for the event: it is gone afterwards */
	if (hamn_net_remove(e->net->ctx, ref, err) < 0)
		return -1;
	if (known)
		engine_net_emit(e, "destroy", &f, NULL);
	return 0;
}

/* ---- list and prune filters ---- */

static bool builtin(const char *name)
{
	return streq(name, "bridge") || streq(name, "host") || streq(name, "none");
}

static bool label_match(json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
	const char *have = json_string_value(json_object_get(labels, key));

	return have && (!eq || streq(have, eq + 1));
}

static bool value_match(json_t *n, const char *key, const char *v)
{
	const char *name = json_string_value(json_object_get(n, "Name"));
	const char *id = json_string_value(json_object_get(n, "Id"));
	bool empty = json_object_size(json_object_get(n, "Containers")) == 0;

	if (streq(key, "driver"))
		return streq(json_string_value(json_object_get(n, "Driver")), v);
	if (streq(key, "id"))
		return str_has_prefix(id, v);
	if (streq(key, "name"))
		return strstr(name, v) != NULL;
	if (streq(key, "label"))
		return label_match(json_object_get(n, "Labels"), v);
	if (streq(key, "label!"))
		return !label_match(json_object_get(n, "Labels"), v);
	if (streq(key, "scope"))
		return streq(v, "local");
	if (streq(key, "type"))
		return streq(v, builtin(name) ? "builtin" : "custom");
	if (streq(key, "dangling"))
		return (streq(v, "true") || streq(v, "1")) == (empty && !builtin(name));
	return false;
}

static int check_filters(const struct hamn_engine_filter *f, size_t n, const char *const *keys,
			 struct hamn_error **err)
{
	for (size_t i = 0; i < n; i++) {
		if (!strv_contains((char *const *)keys, f[i].key))
			return hamn_error_setq(err, EINVAL, "Invalid filter '%s'", f[i].key);
		for (size_t v = 0; streq(f[i].key, "type") && f[i].values[v]; v++)
			if (!streq(f[i].values[v], "custom") && !streq(f[i].values[v], "builtin"))
				return hamn_error_setq(err, EINVAL, "invalid filter: 'type'='%s'",
						       f[i].values[v]);
	}
	return 0;
}

static bool net_match(json_t *n, const struct hamn_engine_filter *f, size_t nf)
{
	for (size_t i = 0; i < nf; i++) {
		bool any = false, all = true,
		     every = streq(f[i].key, "label") || streq(f[i].key, "label!");

		if (!f[i].values[0] || streq(f[i].key, "until"))
			continue;
		for (size_t v = 0; f[i].values[v]; v++) {
			bool m = value_match(n, f[i].key, f[i].values[v]);

			any |= m;
			all &= m;
		}
		if (every ? !all : !any)
			return false;
	}
	return true;
}

json_t *hamn_engine_network_list(struct hamn_engine *e, const struct hamn_engine_filter *f,
				 size_t nf, struct hamn_error **err)
{
	static const char *const keys[] = {"driver", "id",   "name",	 "label", "label!",
					   "scope",  "type", "dangling", NULL};
	_cleanup_json_ json_t *all = NULL;
	json_t *out, *n;
	size_t i;

	if (check_filters(f, nf, keys, err) < 0)
		return NULL;
	if (!e->net)
		return json_array();
	all = hamn_net_list_json(e->net->ctx);
	out = json_array();
	json_array_foreach (all, i, n)
		if (net_match(n, f, nf))
			json_array_append(out, n);
	return out;
}

/* "until": an RFC 3339 time, unix seconds or a duration before now; -1 when bad. */
static int64_t until_ns(const char *v)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int64_t at;

	if (hamn_time_parse_since(v, hamn_now_ns(), &at, &err) < 0)
		return -1;
	return at;
}

static bool old_enough(json_t *n, const struct hamn_engine_filter *f, size_t nf)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	const char *created = json_string_value(json_object_get(n, "Created"));
	int64_t at = 0;

	for (size_t i = 0; i < nf; i++) {
		if (!streq(f[i].key, "until") || !f[i].values[0])
			continue;
		if (!created || hamn_time_parse(created, &at, &err) < 0)
			return false;
		if (at >= until_ns(f[i].values[0]))
			return false;
	}
	return true;
}

json_t *hamn_engine_network_prune(struct hamn_engine *e, const struct hamn_engine_filter *f,
				  size_t nf, struct hamn_error **err)
{
	static const char *const keys[] = {"until", "label", "label!", NULL};
	_cleanup_json_ json_t *all = NULL;
	json_t *deleted, *n;
	size_t i;

	if (check_filters(f, nf, keys, err) < 0)
		return NULL;
	for (size_t k = 0; k < nf; k++)
		if (streq(f[k].key, "until") && f[k].values[0] && until_ns(f[k].values[0]) < 0)
			return hamn_error_setq(err, EINVAL, "failed to parse value as time or "
					       "duration: \"%s\"", f[k].values[0]),
			       NULL;
	deleted = json_array();
	if (!e->net)
		return json_pack("{s:o}", "NetworksDeleted", deleted);
	all = hamn_net_list_json(e->net->ctx);
	json_array_foreach (all, i, n) {
		_cleanup_error_ struct hamn_error *rerr = NULL;
		const char *name = json_string_value(json_object_get(n, "Name"));

		if (builtin(name) || json_object_size(json_object_get(n, "Containers")) > 0 ||
		    !net_match(n, f, nf) || !old_enough(n, f, nf))
			continue;
		/* a container may have been attached since the list: then it stays */
		if (hamn_engine_network_remove(e, json_string_value(json_object_get(n, "Id")),
					       &rerr) == 0)
			json_array_append_new(deleted, json_string(name));
	}
	return json_pack("{s:o}", "NetworksDeleted", deleted);
}

/* ---- connect and disconnect ---- */

static struct ctr_net_link *find_link(struct ctr_net *n, const char *id, size_t *idx)
{
	for (size_t i = 0; n && i < n->n_links; i++) {
		if (streq(n->links[i].id, id)) {
			if (idx)
				*idx = i;
			return &n->links[i];
		}
	}
	return NULL;
}

/* docker's rules: host and none are exclusive, and so is another container's netns. */
static int refuse_mode(const struct container *c, const struct net_facts *f,
		       struct hamn_error **err)
{
	enum hamn_net_mode_kind k = ctr_net_mode_kind(c, NULL);

	if (f->host || streq(f->name, "none"))
		return hamn_error_setq(err, EINVAL,
				       "container cannot be disconnected from %s "
				       "network or connected to %s network",
				       f->name, f->name);
	if (k == HAMN_NET_MODE_NONE)
		return hamn_error_setq(err, EINVAL,
				       "container cannot be connected to multiple networks with "
				       "one of the networks in private (none) mode");
	if (k == HAMN_NET_MODE_HOST || k == HAMN_NET_MODE_CONTAINER)
		return hamn_error_setq(err, EINVAL,
				       "container sharing network namespace with "
				       "another container or host cannot be connected to any other "
				       "network");
	if (!c->net)
		return hamn_error_setq(err, EINVAL, "container %s has no networking", c->id);
	return 0;
}

/* Save c's links; the change is made already, so a failure is only logged. */
static void save_links(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (ctr_net_save(e, c, &err) < 0)
		log_warn("container %s: save its networks: %s", c->id, err->msg);
}

static void refresh_hosts(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (ctr_net_write_files(e, c, false, &err) < 0)
		log_warn("container %s: update /etc/hosts: %s", c->id, err->msg);
}

/* Has any endpoint of c its published ports? (op_lock held) */
static bool ports_published(struct hamn_engine *e, const struct container *c)
{
	bool any = false;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < c->net->n_links; i++)
		any |= c->net->links[i].ports != NULL;
	pthread_mutex_unlock(&e->lock);
	return any;
}

/*
 * Attach a running c now (netns_fd >= 0); *a gets the endpoint. As docker
 * (buildPortsRelatedCreateEndpointOptions), c's ports go with the new
 * endpoint when no endpoint has them yet and the network can publish.
 */
static int connect_live(struct hamn_engine *e, struct container *c, const struct net_facts *f,
			const struct ep_cfg *cfg, int netns_fd, struct net_attached *a,
			struct hamn_error **err)
{
	struct ctr_net_link tmp = {.name = (char *)f->name,
				   .id = (char *)f->id,
				   .aliases = cfg->aliases,
				   .ipv4 = (char *)cfg->ipv4,
				   .mac = (char *)cfg->mac};
	_cleanup_free_ struct hamn_net_port *ports = NULL;
	size_t n_ports = 0;

	if (f->bridge && !f->internal && !ports_published(e, c) &&
	    ctr_net_ports_parse(c->host_json, c->config_json, &ports, &n_ports, err) < 0)
		return -1;
	return ctr_net_attach_link(e, c, &tmp, f, netns_fd, ports, n_ports, a, err);
}

static int connect_locked(struct hamn_engine *e, struct container *c, const struct net_facts *f,
			  const struct ep_cfg *cfg, struct hamn_error **err)
{
	struct net_attached a = {0};
	struct ctr_net_link *l;
	int netns = -1;
	bool live;

	if (refuse_mode(c, f, err) < 0)
		return -1;
	pthread_mutex_lock(&e->lock);
	live = c->st.status == ST_RUNNING;
	pthread_mutex_unlock(&e->lock);
	/* dockerd: connecting a stopped container again changes nothing and succeeds */
	if (find_link(c->net, f->id, NULL) && !live)
		return 0;
	if (find_link(c->net, f->id, NULL))
		return hamn_error_setq(err, EEXIST,
				       "endpoint with name %s already exists in "
				       "network %s",
				       c->name, f->name);
	pthread_mutex_lock(&e->lock);
	live = c->st.status == ST_RUNNING && c->net->netns_fd >= 0;
	if (live)
		netns = fcntl(c->net->netns_fd, F_DUPFD_CLOEXEC, 3);
	pthread_mutex_unlock(&e->lock);
	if (live && connect_live(e, c, f, cfg, netns, &a, err) < 0) {
		close(netns);
		return -1;
	}
	if (netns >= 0)
		close(netns);
	pthread_mutex_lock(&e->lock);
	l = ctr_net_add_link(c->net, f->name, f->id, cfg->aliases, cfg->ipv4, cfg->mac);
	/* it may have exited meanwhile: then its endpoints are gone, this one must go too */
	live = live && c->st.status == ST_RUNNING;
	if (live)
		ctr_net_link_take(l, &a);
	ctr_changed(e, c);
	pthread_mutex_unlock(&e->lock);
	if (a.endpoint_id) {
		_cleanup_error_ struct hamn_error *uerr = NULL;

		if (hamn_net_endpoint_remove(e->net->ctx, a.endpoint_id, &uerr) < 0)
			log_warn("container %s: undo endpoint: %s", c->id, uerr->msg);
		net_attached_release(&a);
	}
	if (live)
		refresh_hosts(e, c);
	save_links(e, c);
	return 0;
}

/* The container a connect/disconnect body names (a new reference). */
static struct container *body_container(struct hamn_engine *e, json_t *body,
					struct hamn_error **err)
{
	const char *ref = NULL;

	if (!json_is_object(body))
		return hamn_error_setq(err, EINVAL, "the request body must be a JSON object"), NULL;
	if (hamn_json_get_string(body, "Container", "Container", &ref, err) < 0)
		return NULL;
	return ctr_get(e, ref, err);
}

int hamn_engine_network_connect(struct hamn_engine *e, const char *ref, json_t *body,
				struct hamn_error **err)
{
	struct ep_cfg cfg = {0};
	struct container *c = NULL;
	struct net_facts f;
	int r = -1;

	if (need_net(e, ref, err) < 0 || net_facts_get(e->net->ctx, ref, &f, err) < 0)
		return -1;
	c = body_container(e, body, err);
	if (!c || ep_cfg_parse(json_object_get(body, "EndpointConfig"), &cfg, err) < 0 ||
	    check_ep_cfg(&f, &cfg, err) < 0)
		goto out;
	engine_net_wait_ready(e);
	pthread_mutex_lock(&c->op_lock);
	r = connect_locked(e, c, &f, &cfg, err);
	pthread_mutex_unlock(&c->op_lock);
out:
	ep_cfg_release(&cfg);
	ctr_put(e, c);
	return r;
}

static int disconnect_locked(struct hamn_engine *e, struct container *c, const struct net_facts *f,
			     struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *rerr = NULL;
	_cleanup_free_ char *ep = NULL;
	struct ctr_net_link *l;
	size_t i = 0;
	bool live;

	l = find_link(c->net, f->id, &i);
	if (!l) {
		pthread_mutex_lock(&e->lock);
		live = c->st.status == ST_RUNNING;
		pthread_mutex_unlock(&e->lock);
		/* dockerd's two wordings: a running container's and a stopped one's */
		return hamn_error_setq(err, EINVAL, "container %s is not connected to %snetwork %s",
				       c->id, live ? "" : "the ", f->name);
	}
	if (refuse_mode(c, f, err) < 0)
		return -1;
	pthread_mutex_lock(&e->lock);
	ep = steal_pointer(&l->endpoint_id);
	ctr_net_link_release(l);
	memmove(l, l + 1, (c->net->n_links - i - 1) * sizeof(*l));
	c->net->n_links--;
	live = c->st.status == ST_RUNNING;
	ctr_changed(e, c);
	pthread_mutex_unlock(&e->lock);
	if (ep && hamn_net_endpoint_remove(e->net->ctx, ep, &rerr) < 0 && rerr->errnum != ENOENT)
		log_warn("container %s: remove endpoint on %s: %s", c->id, f->name, rerr->msg);
	engine_net_emit(e, "disconnect", f, c->id);
	if (live)
		refresh_hosts(e, c);
	save_links(e, c);
	return 0;
}

int hamn_engine_network_disconnect(struct hamn_engine *e, const char *ref, json_t *body,
				   struct hamn_error **err)
{
	struct container *c;
	struct net_facts f;
	bool force = false;
	int r;

	if (need_net(e, ref, err) < 0 || net_facts_get(e->net->ctx, ref, &f, err) < 0)
		return -1;
	c = body_container(e, body, err);
	if (!c)
		return -1;
	if (hamn_json_get_bool_opt(body, "Force", "Force", &force, err) < 0) {
		ctr_put(e, c);
		return -1;
	}
	pthread_mutex_lock(&c->op_lock);
	r = disconnect_locked(e, c, &f, err);
	pthread_mutex_unlock(&c->op_lock);
	ctr_put(e, c);
	return r;
}

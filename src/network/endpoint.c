/*
 * endpoint.c - attaching containers to networks and detaching them.
 *
 * On a bridge network an endpoint is an address, a veth pair (host end a
 * port of the bridge, container end ethN in the container's netns), maybe
 * published ports, and on user-defined networks DNS names plus the
 * container's DNS listener. Adding is undone step by step on failure by the
 * same code that removes an endpoint, so the two cannot drift apart.
 */
#include <netinet/in.h>

#include "network/internal.h"

/* ------------------------------------------------------------------ */
/* DNS bookkeeping                                                      */
/* ------------------------------------------------------------------ */

char **ep_dns_names(const struct endpoint *ep)
{
	char **v = NULL;

	if (ep->container_name && *ep->container_name)
		strv_push(&v, ep->container_name);
	for (char **a = ep->aliases; a && *a; a++)
		if (**a && !strv_contains(v, *a))
			strv_push(&v, *a);
	return v;
}

/* The container's endpoints with DNS, other than skip: any at all, any not internal. */
static void dns_peers(struct hamn_net_ctx *ctx, const char *cid, const struct endpoint *skip,
		      bool *any, bool *external)
{
	*any = *external = false;
	for (size_t i = 0; i < ctx->n_nets; i++) {
		struct network *n = ctx->nets[i];

		if (!has_dns(n))
			continue;
		for (size_t e = 0; e < n->n_eps; e++) {
			if (n->eps[e] == skip || !streq(n->eps[e]->container_id, cid))
				continue;
			*any = true;
			*external |= !n->internal;
		}
	}
}

/* Register ep's names; open the container's listener in netns_fd unless it has one. */
int ep_dns_attach(struct hamn_net_ctx *ctx, struct endpoint *ep, int netns_fd,
		  struct hamn_error **err)
{
	_cleanup_strv_ char **names = ep_dns_names(ep);
	bool any, external;

	if (!has_dns(ep->net))
		return 0;
	if (!hamn_dns_server_listening(ctx->dns, ep->container_id)) {
		int udp, tcp;

		if (netns_fd < 0)
			return hamn_error_setq(err, EINVAL,
					       "no network namespace for the DNS server");
		if (netns_open_dns(netns_fd, &udp, &tcp, err) < 0 ||
		    hamn_dns_server_listen(ctx->dns, ep->container_id, udp, tcp, ep->dns_servers,
					   err) < 0)
			return hamn_error_wrap(err, "embedded DNS");
	}
	hamn_dns_server_put_record(ctx->dns, ep->id, ep->container_id, ep->net->id, names, ep->ip);
	dns_peers(ctx, ep->container_id, NULL, &any, &external);
	hamn_dns_server_set_may_forward(ctx->dns, ep->container_id, external);
	return 0;
}

void ep_dns_detach(struct hamn_net_ctx *ctx, struct endpoint *ep)
{
	bool any, external;

	if (!has_dns(ep->net))
		return;
	hamn_dns_server_drop_record(ctx->dns, ep->id);
	dns_peers(ctx, ep->container_id, ep, &any, &external);
	if (!any)
		hamn_dns_server_unlisten(ctx->dns, ep->container_id);
	else
		hamn_dns_server_set_may_forward(ctx->dns, ep->container_id, external);
}

/* ------------------------------------------------------------------ */
/* Removal (also the undo of a failed add)                              */
/* ------------------------------------------------------------------ */

static int delete_veth(struct hamn_net_ctx *ctx, struct endpoint *ep, bool async,
		       struct hamn_error **err)
{
	struct hamn_error *e = NULL;

	if (!ep->veth[0])
		return 0;
	if (async && janitor_delete_link(ctx->janitor, ep->veth, &e) == 0)
		return 0;
	if (e) {
		log_warn("%s", e->msg);
		hamn_error_free(&e);
	}
	return link_delete(ctx->nl, ep->veth, err);
}

int ep_remove_locked(struct hamn_net_ctx *ctx, struct endpoint *ep, unsigned flags,
		     struct hamn_error **err)
{
	struct network *n = ep->net;
	bool had_ports = ep->n_ports > 0;
	struct hamn_error *e = NULL;
	int rc = 0;

	/* the kernel removes the container's end with it */
	if (delete_veth(ctx, ep, flags & EP_RM_ASYNC, &e) < 0) {
		if (!(flags & EP_RM_FORCE))
			return hamn_error_propagate(err, &e);
		rc = hamn_error_propagate(err, &e); /* reconcile's sweep gets it later */
	}
	ep_dns_detach(ctx, ep);
	net_detach_ep(n, ep);
	if (had_ports && nft_apply(ctx, &e) < 0 && rc == 0)
		rc = hamn_error_propagate(err, &e);
	hamn_error_free(&e);
	if (ep->ip)
		hamn_ipam_free(&n->ipam, ep->ip);
	if ((flags & EP_RM_SAVE) && state_save(ctx, n, &e) < 0) {
		if (rc == 0)
			rc = hamn_error_propagate(err, &e);
		hamn_error_free(&e);
	}
	ep_free(ep); /* closes the port reservations, after the rules are gone */
	return rc;
}

int hamn_net_endpoint_remove(struct hamn_net_ctx *ctx, const char *endpoint_id,
			     struct hamn_error **err)
{
	struct endpoint *ep;
	int rc;

	pthread_mutex_lock(&ctx->lock);
	ep = ep_by_id(ctx, endpoint_id);
	rc = ep ? ep_remove_locked(ctx, ep, EP_RM_SAVE | EP_RM_ASYNC, err)
		: hamn_error_setq(err, ENOENT, "endpoint %s not found", endpoint_id);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Adding                                                               */
/* ------------------------------------------------------------------ */

static bool ifname_taken(struct hamn_net_ctx *ctx, const char *cid, const char *name)
{
	for (size_t i = 0; i < ctx->n_nets; i++)
		for (size_t e = 0; e < ctx->nets[i]->n_eps; e++)
			if (streq(ctx->nets[i]->eps[e]->container_id, cid) &&
			    ctx->nets[i]->eps[e]->veth[0] &&
			    streq(ctx->nets[i]->eps[e]->ifname, name))
				return true;
	return false;
}

static int choose_ifname(struct hamn_net_ctx *ctx, const struct hamn_net_endpoint_opts *o,
			 struct endpoint *ep, struct hamn_error **err)
{
	if (o->ifname) {
		if (!*o->ifname || strlen(o->ifname) >= IFNAMSIZ || strchr(o->ifname, '/') ||
		    streq(o->ifname, "lo"))
			return hamn_error_setq(err, EINVAL, "invalid interface name '%s'",
					       o->ifname);
		if (ifname_taken(ctx, o->container_id, o->ifname))
			return hamn_error_setq(err, EEXIST, "interface '%s' is already in use",
					       o->ifname);
		snprintf(ep->ifname, sizeof(ep->ifname), "%s", o->ifname);
		return 0;
	}
	for (int i = 0;; i++) {
		snprintf(ep->ifname, sizeof(ep->ifname), "eth%d", i);
		if (!ifname_taken(ctx, o->container_id, ep->ifname))
			return 0;
	}
}

static int assign_address(struct network *n, const struct hamn_net_endpoint_opts *o,
			  struct endpoint *ep, struct hamn_error **err)
{
	uint32_t ip;

	if (o->ipv4) {
		if (n->is_default)
			return hamn_error_setq(err, EINVAL,
					       "user specified IP address is supported on user "
					       "defined networks only");
		if (hamn_ipv4_parse(o->ipv4, &ip, err) < 0 ||
		    hamn_ipam_reserve(&n->ipam, ip, err) < 0)
			return -1;
		ep->static_ip = true;
	} else if (hamn_ipam_alloc(&n->ipam, &ip, err) < 0) {
		return -1;
	}
	ep->ip = ip;
	if (o->mac) {
		if (parse_mac(o->mac, ep->mac) < 0 || (ep->mac[0] & 1))
			return hamn_error_setq(err, EINVAL, "invalid MAC address '%s'", o->mac);
	} else {
		/* docker's scheme: 02:42 and the four bytes of the address */
		uint8_t mac[6] = {0x02, 0x42, ip >> 24, ip >> 16, ip >> 8, ip};

		memcpy(ep->mac, mac, sizeof(mac));
	}
	return 0;
}

static int bridge_ifindex(struct hamn_net_ctx *ctx, struct network *n, bool refresh,
			  struct hamn_error **err)
{
	if (n->ifindex > 0 && !refresh)
		return n->ifindex;
	if (link_bridge_ensure(ctx, n, false, &n->ifindex, err) < 0)
		return -1;
	return n->ifindex;
}

static int make_veth(struct hamn_net_ctx *ctx, struct network *n, struct endpoint *ep, int netns_fd,
		     struct hamn_error **err)
{
	int master = bridge_ifindex(ctx, n, false, err);
	char hex[8];

	if (master < 0)
		return -1;
	hamn_random_bytes(hex, 4);
	snprintf(ep->veth, sizeof(ep->veth), "veth%02x%02x%02x%x", (uint8_t)hex[0], (uint8_t)hex[1],
		 (uint8_t)hex[2], (uint8_t)hex[3] & 0xf);
	if (link_veth_create(ctx->nl, ep, master, n->mtu, netns_fd, err) == 0)
		return 0;
	if ((*err)->errnum == EEXIST) {
		/* the container's old ethN may still wait for the janitor (a quick reconnect) */
		hamn_error_free(err);
		janitor_drain(ctx->janitor);
	} else if ((*err)->errnum == ENODEV) {
		/* the bridge was deleted behind our back: make it again, once */
		hamn_error_free(err);
		master = bridge_ifindex(ctx, n, true, err);
		if (master < 0)
			return -1;
	} else {
		return -1;
	}
	return link_veth_create(ctx->nl, ep, master, n->mtu, netns_fd, err);
}

static int attach_bridge(struct hamn_net_ctx *ctx, struct network *n, struct endpoint *ep,
			 const struct hamn_net_endpoint_opts *o, struct hamn_error **err)
{
	struct netns_setup s = {
		.ifname = ep->ifname,
		.ip = ep->ip,
		.prefix = n->ipam.subnet.len,
		.gateway = n->internal ? 0 : n->ipam.gateway,
		.want_dns = has_dns(n) && !hamn_dns_server_listening(ctx->dns, ep->container_id),
	};

	if (o->netns_fd < 0)
		return hamn_error_setq(err, EINVAL, "a bridge endpoint needs a network namespace");
	if (make_veth(ctx, n, ep, o->netns_fd, err) < 0)
		return -1;
	if (netns_configure(o->netns_fd, &s, err) < 0)
		return hamn_error_wrap(err, "configure '%s' in the container", ep->ifname);
	if (s.want_dns && hamn_dns_server_listen(ctx->dns, ep->container_id, s.dns_udp, s.dns_tcp,
						 ep->dns_servers, err) < 0)
		return hamn_error_wrap(err, "embedded DNS");
	return ep_dns_attach(ctx, ep, o->netns_fd, err);
}

static struct endpoint *new_endpoint(struct network *n, const struct hamn_net_endpoint_opts *o)
{
	struct endpoint *ep = xzalloc(sizeof(*ep));

	ep->id = hamn_random_id();
	ep->container_id = xstrdup(o->container_id);
	ep->container_name = o->container_name && *o->container_name
				     ? xstrdup(o->container_name + (o->container_name[0] == '/'))
				     : NULL;
	ep->aliases = strv_copy(o->aliases);
	ep->dns_servers = o->dns_servers ? strv_copy(o->dns_servers) : NULL;
	ep->net = n;
	return ep;
}

static struct endpoint *find_ep(struct network *n, const char *cid)
{
	for (size_t i = 0; i < n->n_eps; i++)
		if (streq(n->eps[i]->container_id, cid))
			return n->eps[i];
	return NULL;
}

/* Everything after the endpoint joined n->eps; on failure the caller removes it. */
static int setup_endpoint(struct hamn_net_ctx *ctx, struct network *n, struct endpoint *ep,
			  const struct hamn_net_endpoint_opts *o, struct hamn_error **err)
{
	if (is_bridge(n)) {
		/* masquerade and isolation, should the caller not have reconciled yet */
		if (!ctx->nft_loaded && nft_apply(ctx, err) < 0)
			return -1;
		if (attach_bridge(ctx, n, ep, o, err) < 0)
			return -1;
	} else if (streq(n->driver, DRIVER_NULL) && o->netns_fd >= 0) {
		if (netns_lo_up(o->netns_fd, err) < 0)
			return -1;
	}
	if (o->n_ports > 0) {
		if (ports_reserve(n, o->ports, o->n_ports, &ep->ports, &ep->n_ports, err) < 0 ||
		    link_set_hairpin(ctx->nl, ep->veth, err) < 0 || nft_apply(ctx, err) < 0)
			return -1;
	}
	return state_save(ctx, n, err);
}

static int add_locked(struct hamn_net_ctx *ctx, const struct hamn_net_endpoint_opts *o,
		      char **id_out, struct hamn_error **err)
{
	struct network *n = net_find(ctx, o->network, err);
	struct endpoint *ep;
	struct hamn_error *e = NULL;

	if (!n)
		return -1;
	if (!o->container_id || !*o->container_id)
		return hamn_error_setq(err, EINVAL, "no container id");
	if (find_ep(n, o->container_id))
		return hamn_error_setq(err, EEXIST,
				       "container %s is already attached to network %s",
				       o->container_id, n->name);
	ep = new_endpoint(n, o);
	if ((is_bridge(n) &&
	     (choose_ifname(ctx, o, ep, err) < 0 || assign_address(n, o, ep, err) < 0))) {
		if (ep->ip)
			hamn_ipam_free(&n->ipam, ep->ip);
		ep_free(ep);
		return -1;
	}
	n->eps = xreallocarray(n->eps, n->n_eps + 1, sizeof(*n->eps));
	n->eps[n->n_eps++] = ep;
	if (setup_endpoint(ctx, n, ep, o, err) < 0) {
		if (ep_remove_locked(ctx, ep, EP_RM_FORCE, &e) < 0)
			log_warn("undo endpoint on '%s': %s", n->name, e->msg);
		hamn_error_free(&e);
		return -1;
	}
	if (id_out)
		*id_out = xstrdup(ep->id);
	return 0;
}

int hamn_net_endpoint_add(struct hamn_net_ctx *ctx, const struct hamn_net_endpoint_opts *o,
			  char **id_out, struct hamn_error **err)
{
	int rc;

	pthread_mutex_lock(&ctx->lock);
	rc = add_locked(ctx, o, id_out, err);
	pthread_mutex_unlock(&ctx->lock);
	if (rc < 0)
		return hamn_error_wrap(err, "connect container %.12s to network '%s'",
				       o->container_id ? o->container_id : "",
				       o->network ? o->network : "");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Queries                                                              */
/* ------------------------------------------------------------------ */

int hamn_net_endpoint_find(struct hamn_net_ctx *ctx, const char *ref, const char *container_id,
			   char **id_out, struct hamn_error **err)
{
	struct network *n;
	struct endpoint *ep = NULL;

	pthread_mutex_lock(&ctx->lock);
	n = net_find(ctx, ref, err);
	if (n) {
		ep = find_ep(n, container_id);
		if (ep)
			*id_out = xstrdup(ep->id);
		else
			hamn_error_setq(err, ENOENT, "container %s is not connected to network %s",
					container_id, n->name);
	}
	pthread_mutex_unlock(&ctx->lock);
	return ep ? 0 : -1;
}

static void fill_info(const struct endpoint *ep, struct hamn_net_endpoint_info *out)
{
	const struct network *n = ep->net;

	memset(out, 0, sizeof(*out));
	snprintf(out->network_id, sizeof(out->network_id), "%s", n->id);
	snprintf(out->network_name, sizeof(out->network_name), "%s", n->name);
	if (ep->ip) {
		hamn_ipv4_str(ep->ip, out->ip);
		out->prefix_len = n->ipam.subnet.len;
		snprintf(out->mac, sizeof(out->mac), "%02x:%02x:%02x:%02x:%02x:%02x", ep->mac[0],
			 ep->mac[1], ep->mac[2], ep->mac[3], ep->mac[4], ep->mac[5]);
	}
	if (ep->ip && !n->internal)
		hamn_ipv4_str(n->ipam.gateway, out->gateway);
	snprintf(out->ifname, sizeof(out->ifname), "%s", ep->ifname);
	snprintf(out->host_ifname, sizeof(out->host_ifname), "%s", ep->veth);
}

int hamn_net_endpoint_get(struct hamn_net_ctx *ctx, const char *endpoint_id,
			  struct hamn_net_endpoint_info *out, struct hamn_error **err)
{
	struct endpoint *ep;

	pthread_mutex_lock(&ctx->lock);
	ep = ep_by_id(ctx, endpoint_id);
	if (ep)
		fill_info(ep, out);
	else
		hamn_error_setq(err, ENOENT, "endpoint %s not found", endpoint_id);
	pthread_mutex_unlock(&ctx->lock);
	return ep ? 0 : -1;
}

static json_t *settings_json(const struct endpoint *ep)
{
	struct hamn_net_endpoint_info i;
	_cleanup_strv_ char **names = ep_dns_names(ep);
	json_t *ipam = json_null();

	fill_info(ep, &i);
	if (ep->static_ip)
		ipam = json_pack("{s:s}", "IPv4Address", i.ip);
	return json_pack(
		"{s:o, s:n, s:o, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:o}",
		"IPAMConfig", ipam, "Links", "Aliases",
		ep->aliases && ep->aliases[0] ? hamn_json_from_strv(ep->aliases) : json_null(),
		"MacAddress", i.mac, "DriverOpts", "NetworkID", i.network_id, "EndpointID", ep->id,
		"Gateway", i.gateway, "IPAddress", i.ip, "IPPrefixLen", i.prefix_len, "IPv6Gateway",
		"", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames",
		has_dns(ep->net) && names ? hamn_json_from_strv(names) : json_null());
}

/* What fn makes of the endpoint endpoint_id, under the lock; ENOENT when there is none. */
static json_t *endpoint_view(struct hamn_net_ctx *ctx, const char *endpoint_id,
			     json_t *(*fn)(const struct endpoint *ep), struct hamn_error **err)
{
	struct endpoint *ep;
	json_t *j = NULL;

	pthread_mutex_lock(&ctx->lock);
	ep = ep_by_id(ctx, endpoint_id);
	if (ep)
		j = fn(ep);
	else
		hamn_error_setq(err, ENOENT, "endpoint %s not found", endpoint_id);
	pthread_mutex_unlock(&ctx->lock);
	return j;
}

json_t *hamn_net_endpoint_json(struct hamn_net_ctx *ctx, const char *endpoint_id,
			       struct hamn_error **err)
{
	return endpoint_view(ctx, endpoint_id, settings_json, err);
}

static json_t *ports_json(const struct endpoint *ep)
{
	json_t *obj = json_object();
	char key[32], ip[HAMN_IPV4_STR_MAX], port[8];

	for (size_t i = 0; i < ep->n_ports; i++) {
		const struct port_map *p = &ep->ports[i];
		json_t *arr;

		snprintf(key, sizeof(key), "%u/%s", p->container_port,
			 hamn_net_proto_name(p->proto));
		snprintf(port, sizeof(port), "%u", p->host_port);
		arr = json_object_get(obj, key);
		if (!arr) {
			arr = json_array();
			json_object_set_new(obj, key, arr);
		}
		json_array_append_new(arr,
				      json_pack("{s:s, s:s}", "HostIp",
						hamn_ipv4_str(p->host_ip, ip), "HostPort", port));
	}
	return obj;
}

json_t *hamn_net_endpoint_ports_json(struct hamn_net_ctx *ctx, const char *endpoint_id,
				     struct hamn_error **err)
{
	return endpoint_view(ctx, endpoint_id, ports_json, err);
}

static int set_names_locked(struct hamn_net_ctx *ctx, struct endpoint *ep, const char *name,
			    char *const *aliases, struct hamn_error **err)
{
	_cleanup_strv_ char **names = NULL;

	free(ep->container_name);
	ep->container_name = name && *name ? xstrdup(name + (name[0] == '/')) : NULL;
	hamn_strv_free(ep->aliases);
	ep->aliases = strv_copy(aliases);
	names = ep_dns_names(ep);
	if (has_dns(ep->net))
		hamn_dns_server_put_record(ctx->dns, ep->id, ep->container_id, ep->net->id, names,
					   ep->ip);
	return state_save(ctx, ep->net, err);
}

int hamn_net_endpoint_set_names(struct hamn_net_ctx *ctx, const char *endpoint_id,
				const char *container_name, char *const *aliases,
				struct hamn_error **err)
{
	struct endpoint *ep;
	int rc;

	pthread_mutex_lock(&ctx->lock);
	ep = ep_by_id(ctx, endpoint_id);
	rc = ep ? set_names_locked(ctx, ep, container_name, aliases, err)
		: hamn_error_setq(err, ENOENT, "endpoint %s not found", endpoint_id);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

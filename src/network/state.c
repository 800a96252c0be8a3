/*
 * state.c - the state file of a network: <state_dir>/<network id>.json.
 *
 * Written with hamn_write_atomic after every change, so a crash leaves the
 * old or the new version, never half of one. The file holds the network's
 * settings, its IPAM state (cursor and allocated addresses) and its
 * endpoints with their published ports. Reading it back re-derives the
 * allocations from the endpoints, so the two can never disagree.
 */
#include <dirent.h>
#include <netinet/in.h>

#include "network/internal.h"

static json_t *strv_json(char *const *v)
{
	return hamn_json_from_strv(v);
}

static void mac_str(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static json_t *ports_to_json(const struct endpoint *ep)
{
	json_t *arr = json_array();
	char ip[HAMN_IPV4_STR_MAX];

	for (size_t i = 0; i < ep->n_ports; i++) {
		const struct port_map *p = &ep->ports[i];

		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:i, s:i}", "proto",
						hamn_net_proto_name(p->proto), "host_ip",
						p->host_ip ? hamn_ipv4_str(p->host_ip, ip) : "",
						"host_port", (int)p->host_port, "container_port",
						(int)p->container_port));
	}
	return arr;
}

static json_t *ep_to_json(const struct endpoint *ep)
{
	char ip[HAMN_IPV4_STR_MAX], mac[18];
	json_t *j = json_object();

	mac_str(ep->mac, mac);
	json_object_set_new(j, "id", json_string(ep->id));
	json_object_set_new(j, "container_id", json_string(ep->container_id));
	json_object_set_new(j, "name", json_string(ep->container_name ? ep->container_name : ""));
	json_object_set_new(j, "aliases", strv_json(ep->aliases));
	if (ep->dns_servers)
		json_object_set_new(j, "dns_servers", strv_json(ep->dns_servers));
	json_object_set_new(j, "ip", json_string(ep->ip ? hamn_ipv4_str(ep->ip, ip) : ""));
	json_object_set_new(j, "mac", json_string(mac));
	json_object_set_new(j, "ifname", json_string(ep->ifname));
	json_object_set_new(j, "veth", json_string(ep->veth));
	json_object_set_new(j, "static_ip", json_boolean(ep->static_ip));
	json_object_set_new(j, "ports", ports_to_json(ep));
	return j;
}

json_t *net_to_json(const struct network *n)
{
	char hb[HAMN_IPV4_STR_MAX];
	json_t *j = json_object(), *eps = json_array();

	json_object_set_new(j, "id", json_string(n->id));
	json_object_set_new(j, "name", json_string(n->name));
	json_object_set_new(j, "driver", json_string(n->driver));
	json_object_set_new(j, "created", json_integer(n->created_ns));
	json_object_set_new(j, "bridge", json_string(n->bridge));
	json_object_set_new(j, "predefined", json_boolean(n->predefined));
	json_object_set_new(j, "default", json_boolean(n->is_default));
	json_object_set_new(j, "internal", json_boolean(n->internal));
	json_object_set_new(j, "masquerade", json_boolean(n->masquerade));
	json_object_set_new(j, "icc", json_boolean(n->icc));
	json_object_set_new(j, "user_subnet", json_boolean(n->user_subnet));
	json_object_set_new(j, "mtu", json_integer(n->mtu));
	json_object_set_new(j, "host_binding",
			    json_string(n->host_binding ? hamn_ipv4_str(n->host_binding, hb) : ""));
	json_object_set(j, "options", n->options);
	json_object_set(j, "labels", n->labels);
	if (is_bridge(n))
		json_object_set_new(j, "ipam", hamn_ipam_to_json(&n->ipam));
	for (size_t i = 0; i < n->n_eps; i++)
		json_array_append_new(eps, ep_to_json(n->eps[i]));
	json_object_set_new(j, "endpoints", eps);
	return j;
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (!s ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6 ||
	    strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int proto_from_name(const char *s)
{
	if (streq(s, "tcp"))
		return IPPROTO_TCP;
	if (streq(s, "udp"))
		return IPPROTO_UDP;
	if (streq(s, "sctp"))
		return IPPROTO_SCTP;
	return -1;
}

static int port_from_json(json_t *j, struct port_map *p, struct hamn_error **err)
{
	const char *proto = NULL, *ip = NULL;
	int64_t hp = 0, cp = 0;

	if (hamn_json_get_string(j, "proto", "proto", &proto, err) < 0 ||
	    hamn_json_get_string_opt(j, "host_ip", "host_ip", &ip, err) < 0 ||
	    hamn_json_get_int_opt(j, "host_port", "host_port", &hp, err) < 0 ||
	    hamn_json_get_int_opt(j, "container_port", "container_port", &cp, err) < 0)
		return -1;
	p->proto = proto_from_name(proto);
	p->reserve_fd = -1;
	p->host_ip = 0;
	if (p->proto < 0 || hp < 1 || hp > 65535 || cp < 1 || cp > 65535 ||
	    (ip && *ip && hamn_ipv4_parse(ip, &p->host_ip, NULL) < 0))
		return hamn_error_setq(err, EINVAL, "bad port mapping");
	p->host_port = (uint16_t)hp;
	p->container_port = (uint16_t)cp;
	return 0;
}

static int ep_ports_from_json(json_t *arr, struct endpoint *ep, struct hamn_error **err)
{
	size_t i;
	json_t *v;

	if (!arr)
		return 0;
	ep->ports = xcalloc(json_array_size(arr) + 1, sizeof(*ep->ports));
	json_array_foreach (arr, i, v) {
		if (port_from_json(v, &ep->ports[ep->n_ports], err) < 0)
			return hamn_error_wrap(err, "ports[%zu]", i);
		ep->n_ports++;
	}
	return 0;
}

static int copy_name(char dst[IFNAMSIZ], const char *src, const char *what, struct hamn_error **err)
{
	if (!src || strlen(src) >= IFNAMSIZ)
		return hamn_error_setq(err, EINVAL, "bad %s", what);
	snprintf(dst, IFNAMSIZ, "%s", src);
	return 0;
}

static struct endpoint *ep_from_json(json_t *j, struct hamn_error **err)
{
	struct endpoint *ep = xzalloc(sizeof(*ep));
	const char *id = NULL, *cid = NULL, *name = NULL, *ip = NULL, *mac = NULL;
	const char *ifname = NULL, *veth = NULL;
	json_t *ports = NULL;

	if (hamn_json_get_string(j, "id", "id", &id, err) < 0 ||
	    hamn_json_get_string(j, "container_id", "container_id", &cid, err) < 0 ||
	    hamn_json_get_string_opt(j, "name", "name", &name, err) < 0 ||
	    hamn_json_get_strv_opt(j, "aliases", "aliases", &ep->aliases, err) < 0 ||
	    hamn_json_get_strv_opt(j, "dns_servers", "dns_servers", &ep->dns_servers, err) < 0 ||
	    hamn_json_get_string_opt(j, "ip", "ip", &ip, err) < 0 ||
	    hamn_json_get_string_opt(j, "mac", "mac", &mac, err) < 0 ||
	    hamn_json_get_string_opt(j, "ifname", "ifname", &ifname, err) < 0 ||
	    hamn_json_get_string_opt(j, "veth", "veth", &veth, err) < 0 ||
	    hamn_json_get_array_opt(j, "ports", "ports", &ports, err) < 0 ||
	    hamn_json_get_bool_opt(j, "static_ip", "static_ip", &ep->static_ip, err) < 0)
		goto fail;
	ep->id = xstrdup(id);
	ep->container_id = xstrdup(cid);
	ep->container_name = name && *name ? xstrdup(name) : NULL;
	if ((ip && *ip && hamn_ipv4_parse(ip, &ep->ip, err) < 0) ||
	    (mac && *mac && parse_mac(mac, ep->mac) < 0 &&
	     hamn_error_setq(err, EINVAL, "bad mac '%s'", mac) < 0) ||
	    copy_name(ep->ifname, ifname ? ifname : "", "ifname", err) < 0 ||
	    copy_name(ep->veth, veth ? veth : "", "veth", err) < 0 ||
	    ep_ports_from_json(ports, ep, err) < 0)
		goto fail;
	return ep;
fail:
	ep_free(ep);
	return NULL;
}

static int net_fields_from_json(json_t *j, struct network *n, struct hamn_error **err)
{
	const char *id = NULL, *name = NULL, *driver = NULL, *bridge = NULL, *hb = NULL;
	int64_t mtu = 0;

	if (hamn_json_get_string(j, "id", "id", &id, err) < 0 ||
	    hamn_json_get_string(j, "name", "name", &name, err) < 0 ||
	    hamn_json_get_string(j, "driver", "driver", &driver, err) < 0 ||
	    hamn_json_get_string_opt(j, "bridge", "bridge", &bridge, err) < 0 ||
	    hamn_json_get_string_opt(j, "host_binding", "host_binding", &hb, err) < 0 ||
	    hamn_json_get_int_opt(j, "created", "created", &n->created_ns, err) < 0 ||
	    hamn_json_get_int_opt(j, "mtu", "mtu", &mtu, err) < 0 ||
	    hamn_json_get_bool_opt(j, "predefined", "predefined", &n->predefined, err) < 0 ||
	    hamn_json_get_bool_opt(j, "default", "default", &n->is_default, err) < 0 ||
	    hamn_json_get_bool_opt(j, "internal", "internal", &n->internal, err) < 0 ||
	    hamn_json_get_bool_opt(j, "masquerade", "masquerade", &n->masquerade, err) < 0 ||
	    hamn_json_get_bool_opt(j, "icc", "icc", &n->icc, err) < 0 ||
	    hamn_json_get_bool_opt(j, "user_subnet", "user_subnet", &n->user_subnet, err) < 0)
		return -1;
	n->id = xstrdup(id);
	n->name = xstrdup(name);
	n->driver = xstrdup(driver);
	n->mtu = (int)mtu;
	if (copy_name(n->bridge, bridge ? bridge : "", "bridge", err) < 0 ||
	    (hb && *hb && hamn_ipv4_parse(hb, &n->host_binding, err) < 0))
		return -1;
	n->options = json_incref(json_object_get(j, "options"));
	n->labels = json_incref(json_object_get(j, "labels"));
	if (!json_is_object(n->options)) {
		json_decref(n->options);
		n->options = json_object();
	}
	if (!json_is_object(n->labels)) {
		json_decref(n->labels);
		n->labels = json_object();
	}
	return 0;
}

/* Make the allocations exactly the endpoints' addresses (plus nothing). */
static void sync_allocations(struct network *n)
{
	struct hamn_ipam *ipam = &n->ipam;
	char a[HAMN_IPV4_STR_MAX];

	hamn_ipam_release_all(ipam);
	for (size_t i = 0; i < n->n_eps; i++) {
		struct hamn_error *e = NULL;

		if (n->eps[i]->ip && hamn_ipam_reserve(ipam, n->eps[i]->ip, &e) < 0) {
			log_warn("network '%s': endpoint %s has address %s: %s", n->name,
				 n->eps[i]->id, hamn_ipv4_str(n->eps[i]->ip, a), e->msg);
			hamn_error_free(&e);
		}
	}
}

struct network *net_from_json(json_t *j, struct hamn_error **err)
{
	struct network *n = xzalloc(sizeof(*n));
	json_t *eps = NULL, *ipam = NULL, *v;
	size_t i;

	if (net_fields_from_json(j, n, err) < 0 ||
	    hamn_json_get_array_opt(j, "endpoints", "endpoints", &eps, err) < 0 ||
	    hamn_json_get_object_opt(j, "ipam", "ipam", &ipam, err) < 0)
		goto fail;
	if (is_bridge(n) && (!ipam || hamn_ipam_from_json(ipam, &n->ipam, err) < 0)) {
		if (!ipam)
			hamn_error_setq(err, EINVAL, "bridge network without ipam");
		goto fail;
	}
	json_array_foreach (eps, i, v) {
		struct endpoint *ep = ep_from_json(v, err);

		if (!ep) {
			hamn_error_wrap(err, "endpoints[%zu]", i);
			goto fail;
		}
		ep->net = n;
		n->eps = xreallocarray(n->eps, n->n_eps + 1, sizeof(*n->eps));
		n->eps[n->n_eps++] = ep;
	}
	if (is_bridge(n))
		sync_allocations(n);
	return n;
fail:
	net_free(n);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Files                                                                */
/* ------------------------------------------------------------------ */

int state_save(struct hamn_net_ctx *ctx, const struct network *n, struct hamn_error **err)
{
	_cleanup_json_ json_t *j = net_to_json(n);
	_cleanup_free_ char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	_cleanup_free_ char *file = xasprintf("%s.json", n->id);

	if (!text)
		return hamn_error_setq(err, ENOMEM, "serialise network '%s'", n->name);
	if (hamn_write_atomic(ctx->state_dirfd, file, text, strlen(text), 0600, err) < 0)
		return hamn_error_wrap(err, "save network '%s'", n->name);
	return 0;
}

int state_delete(struct hamn_net_ctx *ctx, const struct network *n, struct hamn_error **err)
{
	_cleanup_free_ char *file = xasprintf("%s.json", n->id);

	if (unlinkat(ctx->state_dirfd, file, 0) < 0 && errno != ENOENT)
		return hamn_error_set(err, errno, "remove state of network '%s'", n->name);
	return 0;
}

static void load_one(struct hamn_net_ctx *ctx, const char *file)
{
	struct hamn_error *e = NULL;
	_cleanup_json_ json_t *j = hamn_json_load_file(ctx->state_dirfd, file, 64 << 20, &e);
	struct network *n = j ? net_from_json(j, &e) : NULL;

	if (!n) {
		/* one damaged file must not keep the daemon from starting */
		log_warn("network state '%s/%s' ignored: %s", ctx->state_dir, file, e->msg);
		hamn_error_free(&e);
		return;
	}
	if (net_by_id(ctx, n->id)) {
		log_warn("network state '%s/%s' ignored: duplicate id", ctx->state_dir, file);
		net_free(n);
		return;
	}
	ctx->nets = xreallocarray(ctx->nets, ctx->n_nets + 1, sizeof(*ctx->nets));
	ctx->nets[ctx->n_nets++] = n;
}

int state_load_all(struct hamn_net_ctx *ctx, struct hamn_error **err)
{
	int fd = openat(ctx->state_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", ctx->state_dir);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return hamn_error_set(err, errno, "read '%s'", ctx->state_dir);
	}
	while ((de = readdir(d))) {
		/* temp files of hamn_write_atomic start with a dot */
		if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".json"))
			continue;
		load_one(ctx, de->d_name);
	}
	return 0;
}

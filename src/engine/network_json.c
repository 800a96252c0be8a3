/*
 * network_json.c - the network parts of a container as docker shows them
 * (inspect's NetworkSettings, the list's Ports and NetworkSettings), the
 * container's networks.json, and the pure parsers of published ports,
 * --bip and the instance name.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include "engine/internal.h"

/* ---- links ---- */

void ctr_net_link_release(struct ctr_net_link *l)
{
	free(l->name);
	free(l->id);
	hamn_strv_free(l->aliases);
	free(l->ipv4);
	free(l->mac);
	free(l->endpoint_id);
	if (l->live)
		json_decref(l->live);
	if (l->ports)
		json_decref(l->ports);
	memset(l, 0, sizeof(*l));
}

void ctr_net_free(struct ctr_net *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_links; i++)
		ctr_net_link_release(&n->links[i]);
	free(n->links);
	if (n->netns_fd >= 0)
		close(n->netns_fd);
	free(n);
}

struct ctr_net_link *ctr_net_add_link(struct ctr_net *n, const char *name, const char *id,
				      char *const *aliases, const char *ipv4, const char *mac)
{
	struct ctr_net_link *l;

	n->links = xreallocarray(n->links, n->n_links + 1, sizeof(*n->links));
	l = &n->links[n->n_links++];
	memset(l, 0, sizeof(*l));
	l->name = xstrdup(name);
	l->id = xstrdup(id ? id : "");
	l->aliases = aliases && aliases[0] ? strv_copy(aliases) : NULL;
	l->ipv4 = ipv4 && ipv4[0] ? xstrdup(ipv4) : NULL;
	l->mac = mac && mac[0] ? xstrdup(mac) : NULL;
	return l;
}

json_t *ctr_net_link_json(const struct ctr_net_link *l)
{
	return json_pack(
		"{s:o, s:n, s:o, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:n}",
		"IPAMConfig", l->ipv4 ? json_pack("{s:s}", "IPv4Address", l->ipv4) : json_null(),
		"Links", "Aliases", l->aliases ? hamn_json_from_strv(l->aliases) : json_null(),
		"MacAddress", l->mac ? l->mac : "", "DriverOpts", "NetworkID", l->id, "EndpointID",
		"", "Gateway", "", "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
		"GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames");
}

/* ---- inspect and list ---- */

static bool running(const struct container *c)
{
	return c->st.status == ST_RUNNING || c->st.status == ST_PAUSED;
}

static json_t *networks_json(const struct container *c)
{
	json_t *obj = json_object();

	for (size_t i = 0; c->net && i < c->net->n_links; i++) {
		const struct ctr_net_link *l = &c->net->links[i];

		json_object_set_new(obj, l->name,
				    l->live && running(c) ? json_deep_copy(l->live)
							  : ctr_net_link_json(l));
	}
	return obj;
}

/* What the running container publishes: {"80/tcp":[{"HostIp","HostPort"}]}. */
static json_t *published(const struct container *c)
{
	json_t *all = json_object();

	for (size_t i = 0; c->net && running(c) && i < c->net->n_links; i++)
		if (c->net->links[i].ports)
			json_object_update(all, c->net->links[i].ports);
	return all;
}

/* NetworkSettings.Ports: exposed ports (null) and, while running, what is published. */
static json_t *ports_object(const struct container *c)
{
	json_t *exposed = json_object_get(c->config_json, "ExposedPorts"), *ports = json_object();
	_cleanup_json_ json_t *pub = published(c);
	const char *k;
	json_t *v;

	if (!running(c))
		return ports;
	json_object_foreach (exposed, k, v)
		json_object_set_new(ports, k, json_null());
	json_object_update(ports, pub);
	return ports;
}

/* The legacy top-level fields come from the default bridge's endpoint, as docker's do. */
static void legacy_fields(json_t *ns, const struct container *c)
{
	static const char *const keys[] = {"EndpointID",  "Gateway",	"IPAddress",
					   "IPPrefixLen", "MacAddress", NULL};

	for (size_t i = 0; c->net && i < c->net->n_links; i++) {
		const struct ctr_net_link *l = &c->net->links[i];

		if (!streq(l->name, "bridge") || !l->live || !running(c))
			continue;
		for (size_t k = 0; keys[k]; k++)
			json_object_set(ns, keys[k], json_object_get(l->live, keys[k]));
	}
}

json_t *ctr_net_settings_json(const struct container *c)
{
	bool netns = running(c) && c->net && c->net->netns_fd >= 0 && c->st.pid > 0;
	json_t *ns = json_pack(
		"{s:s, s:s, s:b, s:s, s:i, s:o, s:o, s:n, s:n, s:s, s:s, s:s, s:i,"
		" s:s, s:i, s:s, s:s, s:o}",
		"Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
		"LinkLocalIPv6PrefixLen", 0, "Ports", ports_object(c), "SandboxKey",
		netns ? json_sprintf("/proc/%d/ns/net", (int)c->st.pid) : json_string(""),
		"SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "", "Gateway", "",
		"GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", "", "IPPrefixLen",
		0, "IPv6Gateway", "", "MacAddress", "", "Networks", networks_json(c));

	if (!ns)
		hamn_bug("cannot build NetworkSettings");
	legacy_fields(ns, c);
	return ns;
}

/* "80/tcp" -> 80 and "tcp" */
static int split_key(const char *key, const char **proto)
{
	const char *slash = strchr(key, '/');

	*proto = slash ? slash + 1 : "tcp";
	return atoi(key);
}

static json_t *list_ports(const struct container *c)
{
	json_t *arr = json_array(), *exposed = json_object_get(c->config_json, "ExposedPorts"), *v;
	_cleanup_json_ json_t *pub = published(c);
	const char *k, *proto;

	if (!running(c))
		return arr;
	json_object_foreach (pub, k, v) {
		size_t i;
		json_t *b;
		int port = split_key(k, &proto);

		json_array_foreach (v, i, b)
			json_array_append_new(
				arr,
				json_pack("{s:O, s:i, s:i, s:s}", "IP",
					  json_object_get(b, "HostIp"), "PrivatePort", port,
					  "PublicPort",
					  atoi(json_string_value(json_object_get(b, "HostPort"))),
					  "Type", proto));
	}
	json_object_foreach (exposed, k, v) {
		int port = split_key(k, &proto);

		if (!json_object_get(pub, k))
			json_array_append_new(
				arr, json_pack("{s:i, s:s}", "PrivatePort", port, "Type", proto));
	}
	return arr;
}

void ctr_net_list_fill(const struct container *c, json_t *entry)
{
	json_object_set_new(entry, "Ports", list_ports(c));
	json_object_set_new(entry, "NetworkSettings",
			    json_pack("{s:o}", "Networks", networks_json(c)));
}

bool ctr_net_filter_match(const struct container *c, const char *v)
{
	if (streq(c->cfg.network_mode, v))
		return true;
	for (size_t i = 0; c->net && i < c->net->n_links; i++) {
		const struct ctr_net_link *l = &c->net->links[i];

		if (streq(l->name, v) || streq(l->id, v))
			return true;
		if (strlen(v) >= 12 && str_has_prefix(l->id, v))
			return true;
	}
	return false;
}

/* ---- networks.json ---- */

int ctr_net_save(struct hamn_engine *e, const struct container *c, struct hamn_error **err)
{
	_cleanup_json_ json_t *arr = json_array(), *doc = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = openat(e->ctrs_fd, c->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return hamn_error_set(err, errno, "open the directory of container %s", c->id);
	for (size_t i = 0; c->net && i < c->net->n_links; i++) {
		const struct ctr_net_link *l = &c->net->links[i];

		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s, s:s}", "Name", l->name,
						     "NetworkID", l->id, "Aliases",
						     hamn_json_from_strv(l->aliases), "IPv4Address",
						     l->ipv4 ? l->ipv4 : "", "MacAddress",
						     l->mac ? l->mac : ""));
	}
	doc = json_pack("{s:O}", "Networks", arr);
	text = hamn_json_dump(doc);
	return hamn_write_atomic(dfd, "networks.json", text, strlen(text), 0600, err);
}

static int read_link(struct ctr_net *n, json_t *o, struct hamn_error **err)
{
	_cleanup_strv_ char **aliases = NULL;
	const char *name = NULL, *id = NULL, *ip = NULL, *mac = NULL;

	if (hamn_json_get_string(o, "Name", "Name", &name, err) < 0 ||
	    hamn_json_get_string_opt(o, "NetworkID", "NetworkID", &id, err) < 0 ||
	    hamn_json_get_string_opt(o, "IPv4Address", "IPv4Address", &ip, err) < 0 ||
	    hamn_json_get_string_opt(o, "MacAddress", "MacAddress", &mac, err) < 0 ||
	    hamn_json_get_strv_opt(o, "Aliases", "Aliases", &aliases, err) < 0)
		return -1;
	ctr_net_add_link(n, name, id, aliases, ip, mac);
	return 0;
}

struct ctr_net *ctr_net_read(struct hamn_engine *e, const char *id, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/networks.json", id);
	_cleanup_json_ json_t *doc = hamn_json_load_file(e->ctrs_fd, path, 1 << 20, err);
	struct ctr_net *n;
	json_t *arr, *o;
	size_t i;

	if (!doc)
		return NULL;
	arr = json_object_get(doc, "Networks");
	if (!json_is_array(arr))
		return hamn_error_setq(err, EINVAL, "'%s': no Networks", path), NULL;
	n = xzalloc(sizeof(*n));
	n->netns_fd = -1;
	json_array_foreach (arr, i, o) {
		if (read_link(n, o, err) < 0) {
			ctr_net_free(n);
			return hamn_error_wrap(err, "'%s'", path), NULL;
		}
	}
	return n;
}

/* ---- published ports ---- */

static void append_ports(struct hamn_net_port **out, size_t *n_out, const struct hamn_net_port *p,
			 size_t n)
{
	*out = xreallocarray(*out, *n_out + n, sizeof(**out));
	memcpy(*out + *n_out, p, n * sizeof(*p));
	*n_out += n;
}

static int add_spec(const char *spec, struct hamn_net_port **out, size_t *n_out,
		    struct hamn_error **err)
{
	_cleanup_free_ struct hamn_net_port *p = NULL;
	size_t n = 0;

	if (hamn_net_port_parse(spec, &p, &n, err) < 0)
		return -1;
	append_ports(out, n_out, p, n);
	return 0;
}

/* One {"HostIp","HostPort"} of key ("80/tcp") as a -p spec. */
static int add_binding(const char *key, json_t *b, struct hamn_net_port **out, size_t *n_out,
		       struct hamn_error **err)
{
	const char *ip = NULL, *port = NULL;
	_cleanup_free_ char *spec = NULL;

	if (!json_is_object(b))
		return hamn_error_setq(err, EINVAL, "invalid port binding for '%s'", key);
	if (hamn_json_get_string_opt(b, "HostIp", "HostIp", &ip, err) < 0 ||
	    hamn_json_get_string_opt(b, "HostPort", "HostPort", &port, err) < 0)
		return -1;
	if (ip && streq(ip, "0.0.0.0"))
		ip = NULL;
	if (ip && strchr(ip, ':')) {
		/* IPv6 is not done: docker's CLI sends "::" bindings beside the IPv4 ones */
		return 0;
	}
	if (ip && ip[0])
		spec = xasprintf("%s:%s:%s", ip, port ? port : "", key);
	else if (port && port[0])
		spec = xasprintf("%s:%s", port, key);
	else
		spec = xstrdup(key);
	return add_spec(spec, out, n_out, err);
}

int ctr_net_ports_parse(json_t *hc, json_t *cfg, struct hamn_net_port **out, size_t *n_out,
			struct hamn_error **err)
{
	json_t *pb = json_object_get(hc, "PortBindings"), *v, *b;
	json_t *exposed = json_object_get(cfg, "ExposedPorts");
	const char *key;
	size_t i;

	*out = NULL;
	*n_out = 0;
	if (pb && !json_is_null(pb) && !json_is_object(pb))
		return hamn_error_setq(err, EINVAL,
				       "json: cannot unmarshal %s into Go struct field "
				       "HostConfig.PortBindings of type nat.PortMap",
				       json_is_array(pb) ? "array" : "value");
	json_object_foreach (pb, key, v) {
		if (json_is_null(v))
			continue;
		if (!json_is_array(v))
			goto fail_type;
		json_array_foreach (v, i, b)
			if (add_binding(key, b, out, n_out, err) < 0)
				goto fail;
	}
	if (!json_is_true(json_object_get(hc, "PublishAllPorts")))
		return 0;
	json_object_foreach (exposed, key, v) {
		json_t *have = json_object_get(pb, key);

		if (have && json_array_size(have) > 0)
			continue;
		if (add_spec(key, out, n_out, err) < 0)
			goto fail;
	}
	return 0;
fail_type:
	hamn_error_setq(err, EINVAL, "invalid port bindings for '%s'", key);
fail:
	free(*out);
	*out = NULL;
	*n_out = 0;
	return hamn_error_wrap(err, "invalid port specification");
}

/* ---- daemon options ---- */

int engine_net_parse_bip(const char *bip, char **subnet, char **gateway, struct hamn_error **err)
{
	const char *slash = strchr(bip, '/');
	_cleanup_free_ char *addr = slash ? xstrndup(bip, (size_t)(slash - bip)) : NULL;
	char net[INET_ADDRSTRLEN];
	struct in_addr a;
	char *end = NULL;
	long len = slash ? strtol(slash + 1, &end, 10) : -1;
	uint32_t mask;

	if (!addr || !end || *end || end == slash + 1 || len < 1 || len > 30 ||
	    inet_pton(AF_INET, addr, &a) != 1)
		return hamn_error_setq(err, EINVAL,
				       "invalid bip '%s': want an address/prefix such "
				       "as 10.213.5.1/24",
				       bip);
	mask = htonl(0xffffffffu << (32 - len));
	if ((a.s_addr & ~mask) == 0 || (a.s_addr | mask) == 0xffffffffu)
		return hamn_error_setq(err, EINVAL,
				       "invalid bip '%s': the address must be a host "
				       "of the subnet (the bridge's own)",
				       bip);
	*gateway = xstrdup(addr);
	a.s_addr &= mask;
	inet_ntop(AF_INET, &a, net, sizeof(net));
	*subnet = xasprintf("%s/%ld", net, len);
	return 0;
}

char *engine_net_instance(const char *exec_root)
{
	struct hamn_digest d;

	if (!exec_root || streq(exec_root, "/run/hamn") || streq(exec_root, "/run/hamn/"))
		return xstrdup("hamn");
	hamn_sha256_buf(exec_root, strlen(exec_root), &d);
	return xasprintf("hamn_%.8s", hamn_digest_hex(&d));
}

/*
 * link.c - links, addresses and routes through netlink (libnl-route-3).
 *
 * Bridges carry an ifalias tag "hamn:<instance>:<network id>" so that
 * reconcile and purge recognise what this daemon instance made, and never
 * touch another instance's (or anybody else's) links. A veth needs no tag:
 * its host end is a port of one of our bridges for its whole life.
 * Nothing here runs `ip`; each function is one or two netlink round trips.
 */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "network/internal.h"

int nl_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_EXIST:
		return EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return ENODEV;
	case NLE_PERM:
		return EPERM;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_BUSY:
		return EBUSY;
	case NLE_INVAL:
		return EINVAL;
	case NLE_RANGE:
		return ERANGE;
	case NLE_NOADDR:
		return EADDRNOTAVAIL;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_MSGSIZE:
		return EMSGSIZE;
	default:
		return EIO;
	}
}

int nl_fail(struct hamn_error **err, int nlerr, const char *what, const char *name)
{
	return hamn_error_setq(err, nl_to_errno(nlerr), "%s '%s': %s", what, name,
			       nl_geterror(nlerr));
}

int link_open(struct nl_sock **out, struct hamn_error **err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc;

	if (!sk)
		return hamn_error_setq(err, ENOMEM, "netlink: cannot allocate a socket");
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		nl_socket_free(sk);
		return hamn_error_setq(err, nl_to_errno(rc), "netlink: connect: %s",
				       nl_geterror(rc));
	}
	*out = sk;
	return 0;
}

void link_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk); /* closes the fd too */
}

int link_ifindex(struct nl_sock *sk, const char *name, int *out, struct hamn_error **err)
{
	struct rtnl_link *link = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, &link);

	if (rc < 0)
		return nl_fail(err, rc, "find link", name);
	*out = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return 0;
}

int link_set_up(struct nl_sock *sk, const char *name, struct hamn_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	int rc;

	if (!msg)
		return hamn_error_setq(err, ENOMEM, "netlink: no memory");
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0) {
		nlmsg_free(msg);
		return hamn_error_setq(err, EMSGSIZE, "netlink: message too long");
	}
	rc = nl_send_sync(sk, msg); /* frees msg */
	if (rc < 0)
		return nl_fail(err, rc, "set link up", name);
	return 0;
}

static int set_alias(struct nl_sock *sk, int ifindex, const char *name, const char *alias,
		     struct hamn_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	int rc;

	if (!msg)
		return hamn_error_setq(err, ENOMEM, "netlink: no memory");
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFALIAS, alias) < 0) {
		nlmsg_free(msg);
		return hamn_error_setq(err, EMSGSIZE, "netlink: message too long");
	}
	rc = nl_send_sync(sk, msg);
	if (rc < 0)
		return nl_fail(err, rc, "tag link", name);
	return 0;
}

static struct nl_addr *ipv4_addr(uint32_t a, int prefix)
{
	uint32_t be = htonl(a);
	struct nl_addr *na = nl_addr_build(AF_INET, &be, sizeof(be));

	if (na)
		nl_addr_set_prefixlen(na, prefix);
	return na;
}

int link_addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix, const char *name,
		  struct hamn_error **err)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = ipv4_addr(ip, prefix);
	struct hamn_ipv4_net net = {ip & hamn_ipv4_mask(prefix), prefix};
	struct nl_addr *brd = ipv4_addr(hamn_ipv4_broadcast(&net), 32);
	int rc = -NLE_NOMEM;

	if (addr && local && brd) {
		rtnl_addr_set_ifindex(addr, ifindex);
		rtnl_addr_set_family(addr, AF_INET);
		rtnl_addr_set_local(addr, local);
		rtnl_addr_set_broadcast(addr, brd);
		rc = rtnl_addr_add(sk, addr, 0);
	}
	nl_addr_put(local);
	nl_addr_put(brd);
	rtnl_addr_put(addr);
	if (rc < 0 && rc != -NLE_EXIST) /* already there: a bridge we made before */
		return nl_fail(err, rc, "add address to", name);
	return 0;
}

int link_default_route(struct nl_sock *sk, int ifindex, uint32_t gateway, const char *name,
		       struct hamn_error **err)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = ipv4_addr(0, 0), *gw = ipv4_addr(gateway, 32);
	int rc = -NLE_NOMEM;

	if (route && nh && dst && gw) {
		rtnl_route_set_family(route, AF_INET);
		rtnl_route_set_table(route, RT_TABLE_MAIN);
		rtnl_route_set_protocol(route, RTPROT_BOOT);
		rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
		rtnl_route_set_type(route, RTN_UNICAST);
		rtnl_route_set_dst(route, dst);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_nh_set_gateway(nh, gw);
		rtnl_route_add_nexthop(route, nh);
		nh = NULL; /* owned by route now */
		rc = rtnl_route_add(sk, route, NLM_F_EXCL);
	}
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(gw);
	rtnl_route_put(route);
	/* EEXIST: the container has a default route through an earlier network */
	if (rc < 0 && rc != -NLE_EXIST)
		return nl_fail(err, rc, "add default route via", name);
	return 0;
}

char *link_tag(const struct hamn_net_ctx *ctx, const char *net_id)
{
	return xasprintf("hamn:%s:%s", ctx->instance, net_id);
}

int sysctl_write(const char *path, const char *value, struct hamn_error **err)
{
	_cleanup_free_ char *full = xasprintf("/proc/sys/%s", path);
	_cleanup_close_ int fd = open(full, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", full);
	return hamn_write_all(fd, value, strlen(value), err);
}

static int bridge_create(struct nl_sock *sk, const struct network *n, int mtu,
			 struct hamn_error **err)
{
	struct rtnl_link *br = rtnl_link_bridge_alloc();
	uint8_t mac[6];
	struct nl_addr *lladdr;
	int rc = -NLE_NOMEM;

	/* a fixed random MAC: otherwise the bridge takes its ports' lowest and changes with them */
	hamn_random_bytes(mac, sizeof(mac));
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
	lladdr = nl_addr_build(AF_LLC, mac, sizeof(mac));
	if (br && lladdr) {
		rtnl_link_set_name(br, n->bridge);
		rtnl_link_set_mtu(br, (unsigned)mtu);
		rtnl_link_set_addr(br, lladdr);
		rtnl_link_set_flags(br, IFF_UP);
		rc = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
	}
	nl_addr_put(lladdr);
	rtnl_link_put(br);
	if (rc < 0)
		return nl_fail(err, rc, "create bridge", n->bridge);
	return 0;
}

/* The existing link named like our bridge: its ifindex, or -1 if absent. */
static int existing_bridge(struct nl_sock *sk, const char *name, int *ifindex,
			   struct hamn_error **err)
{
	struct rtnl_link *link = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, &link);
	bool bridge;

	*ifindex = -1;
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return 0;
	if (rc < 0)
		return nl_fail(err, rc, "find link", name);
	bridge = streq(rtnl_link_get_type(link), "bridge");
	*ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if (!bridge)
		return hamn_error_setq(err, EEXIST, "link '%s' exists and is not a bridge", name);
	return 0;
}

static int bridge_sysctls(const struct network *n, struct hamn_error **err)
{
	_cleanup_free_ char *localnet = xasprintf("net/ipv4/conf/%s/route_localnet", n->bridge);
	_cleanup_free_ char *fwd = xasprintf("net/ipv4/conf/%s/forwarding", n->bridge);

	/*
	 * route_localnet: the host reaches published ports on 127.0.0.1 through
	 * DNAT to this bridge (the guard chain drops 127/8 from anywhere else).
	 * forwarding: per bridge, so a test daemon does not turn the whole host
	 * into a router; internal networks never forward.
	 */
	if (sysctl_write(localnet, "1", err) < 0 ||
	    sysctl_write(fwd, n->internal ? "0" : "1", err) < 0)
		return hamn_error_wrap(err, "configure bridge '%s'", n->bridge);
	return 0;
}

int link_bridge_ensure(struct hamn_net_ctx *ctx, const struct network *n, bool create_only,
		       int *ifindex, struct hamn_error **err)
{
	_cleanup_free_ char *tag = link_tag(ctx, n->id);
	bool created = false;
	int idx;

	if (existing_bridge(ctx->nl, n->bridge, &idx, err) < 0)
		return -1;
	if (idx >= 0 && create_only)
		return hamn_error_setq(err, EEXIST, "link '%s' already exists", n->bridge);
	if (idx < 0) {
		if (bridge_create(ctx->nl, n, n->mtu, err) < 0 ||
		    link_ifindex(ctx->nl, n->bridge, &idx, err) < 0)
			return -1;
		created = true;
	}
	if (set_alias(ctx->nl, idx, n->bridge, tag, err) < 0 ||
	    link_addr_add(ctx->nl, idx, n->ipam.gateway, n->ipam.subnet.len, n->bridge, err) < 0 ||
	    bridge_sysctls(n, err) < 0)
		goto fail;
	*ifindex = idx;
	return 0;
fail:
	if (created) {
		struct hamn_error *e2 = NULL;

		if (link_delete(ctx->nl, n->bridge, &e2) < 0)
			log_warn("cannot delete bridge '%s': %s", n->bridge, e2->msg);
		hamn_error_free(&e2);
	}
	return -1;
}

int link_set_hairpin(struct nl_sock *sk, const char *name, struct hamn_error **err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	struct nlattr *info, *data;
	int rc;

	if (!msg)
		return hamn_error_setq(err, ENOMEM, "netlink: no memory");
	/* a bridge port option: IFLA_LINKINFO { SLAVE_KIND "bridge", SLAVE_DATA { MODE 1 } } */
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0 ||
	    !(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_SLAVE_KIND, "bridge") < 0 ||
	    !(data = nla_nest_start(msg, IFLA_INFO_SLAVE_DATA)) ||
	    nla_put_u8(msg, IFLA_BRPORT_MODE, 1) < 0) {
		nlmsg_free(msg);
		return hamn_error_setq(err, EMSGSIZE, "netlink: message too long");
	}
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	rc = nl_send_sync(sk, msg);
	if (rc < 0)
		return nl_fail(err, rc, "set hairpin mode on", name);
	return 0;
}

int link_delete(struct nl_sock *sk, const char *name, struct hamn_error **err)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int rc = -NLE_NOMEM;

	if (link) {
		rtnl_link_set_name(link, name);
		rc = rtnl_link_delete(sk, link);
		rtnl_link_put(link);
	}
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return 0; /* gone already: what the caller wanted */
	if (rc < 0)
		return nl_fail(err, rc, "delete link", name);
	return 0;
}

int link_veth_create(struct nl_sock *sk, const struct endpoint *ep, int master, int mtu,
		     int netns_fd, struct hamn_error **err)
{
	struct rtnl_link *veth = rtnl_link_veth_alloc(), *peer = NULL;
	struct nl_addr *mac = nl_addr_build(AF_LLC, ep->mac, sizeof(ep->mac));
	int rc = -NLE_NOMEM;

	if (veth && mac) {
		peer = rtnl_link_veth_get_peer(veth);
		/*
		 * One RTM_NEWLINK does most of it: the host end joins the bridge
		 * and comes up; the peer is born inside the container's netns
		 * under its final name, with its MAC and MTU. (It cannot be born
		 * up: veth_open fails with ENOTCONN before the pair is complete.)
		 */
		rtnl_link_set_name(veth, ep->veth);
		rtnl_link_set_master(veth, master);
		rtnl_link_set_mtu(veth, (unsigned)mtu);
		rtnl_link_set_flags(veth, IFF_UP);
		rtnl_link_set_name(peer, ep->ifname);
		rtnl_link_set_ns_fd(peer, netns_fd);
		rtnl_link_set_mtu(peer, (unsigned)mtu);
		rtnl_link_set_addr(peer, mac);
		rc = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
	}
	if (peer)
		rtnl_link_put(peer);
	nl_addr_put(mac);
	if (veth)
		rtnl_link_put(veth);
	if (rc < 0)
		return nl_fail(err, rc, "create veth", ep->veth);
	return 0;
}

int link_host_routes(struct nl_sock *sk, struct hamn_ipv4_net **out, size_t *n_out,
		     struct hamn_error **err)
{
	struct nl_cache *cache = NULL;
	struct hamn_ipv4_net *v = NULL;
	size_t n = 0;
	int rc = rtnl_route_alloc_cache(sk, AF_INET, 0, &cache);

	if (rc < 0)
		return hamn_error_setq(err, nl_to_errno(rc), "list routes: %s", nl_geterror(rc));
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct nl_addr *dst = rtnl_route_get_dst((struct rtnl_route *)o);
		uint32_t be;
		int len;

		if (!dst || nl_addr_get_family(dst) != AF_INET || nl_addr_get_len(dst) != 4)
			continue;
		len = (int)nl_addr_get_prefixlen(dst);
		if (len == 0)
			continue; /* a default route overlaps everything and means nothing here */
		memcpy(&be, nl_addr_get_binary_addr(dst), 4);
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].len = len;
		v[n].addr = ntohl(be) & hamn_ipv4_mask(len);
		n++;
	}
	nl_cache_free(cache);
	*out = v;
	*n_out = n;
	return 0;
}

int link_list(struct hamn_net_ctx *ctx, struct owned_link **out, size_t *n_out,
	      struct hamn_error **err)
{
	_cleanup_free_ char *prefix = xasprintf("hamn:%s:", ctx->instance);
	struct nl_cache *cache = NULL;
	struct owned_link *v = NULL;
	size_t n = 0;
	int rc = rtnl_link_alloc_cache(ctx->nl, AF_UNSPEC, &cache);

	if (rc < 0)
		return hamn_error_setq(err, nl_to_errno(rc), "list links: %s", nl_geterror(rc));
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *alias = rtnl_link_get_ifalias(l), *name = rtnl_link_get_name(l);

		if (!name)
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		snprintf(v[n].name, sizeof(v[n].name), "%s", name);
		v[n].ifindex = rtnl_link_get_ifindex(l);
		v[n].master = rtnl_link_get_master(l);
		v[n].is_bridge = streq(rtnl_link_get_type(l), "bridge");
		if (alias && str_has_prefix(alias, prefix))
			v[n].tag_net = xstrdup(alias + strlen(prefix));
		n++;
	}
	nl_cache_free(cache);
	*out = v;
	*n_out = n;
	return 0;
}

void link_list_free(struct owned_link *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].tag_net);
	free(v);
}

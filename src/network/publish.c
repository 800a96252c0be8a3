/*
 * publish.c - published ports: reserve the host port, then let nft DNAT.
 *
 * The packets of a published port never reach a socket on the host: DNAT in
 * the table's prerouting/output chains sends them to the container. Still
 * each mapping holds a socket bound (not listening) to its host address and
 * port, as docker does, so that a port already used by a host program or
 * another container is refused at publish time (EADDRINUSE) instead of
 * being silently shadowed, and so that "any free port" comes from the
 * kernel's ephemeral range.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "network/internal.h"

void ports_release(struct port_map *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].reserve_fd >= 0)
			close(v[i].reserve_fd);
		v[i].reserve_fd = -1;
	}
}

/* A socket bound to ip:port for proto; *port gets the bound port (for 0). -1 with errno. */
static int reserve(int proto, uint32_t ip, uint16_t *port)
{
	int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(*port),
		.sin_addr.s_addr = htonl(ip),
	};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int reserve_error(struct hamn_error **err, int errnum, uint32_t ip, unsigned lo, unsigned hi,
			 int proto)
{
	char a[HAMN_IPV4_STR_MAX];

	hamn_ipv4_str(ip, a);
	if (errnum == EADDRINUSE && lo == hi)
		return hamn_error_setq(err, EADDRINUSE,
				       "Bind for %s:%u/%s failed: port is already allocated", a, lo,
				       hamn_net_proto_name(proto));
	if (errnum == EADDRINUSE)
		return hamn_error_setq(err, EADDRINUSE, "no free port in %s:%u-%u/%s", a, lo, hi,
				       hamn_net_proto_name(proto));
	if (errnum == EADDRNOTAVAIL)
		return hamn_error_setq(err, EADDRNOTAVAIL,
				       "cannot publish on %s: not an address of this host", a);
	return hamn_error_set(err, errnum, "reserve host port %s:%u/%s", a, lo,
			      hamn_net_proto_name(proto));
}

/* Reserve one requested mapping into *out. */
static int reserve_one(const struct network *n, const struct hamn_net_port *req,
		       struct port_map *out, struct hamn_error **err)
{
	uint32_t ip = n->host_binding;
	unsigned lo = req->host_port, hi = req->host_port_end > lo ? req->host_port_end : lo;
	int errnum = 0;

	if (req->host_ip[0] && hamn_ipv4_parse(req->host_ip, &ip, err) < 0)
		return -1;
	if (req->container_port == 0)
		return hamn_error_setq(err, EINVAL, "container port 0 cannot be published");
	out->reserve_fd = -1;
	out->proto = req->proto;
	out->host_ip = ip;
	out->container_port = req->container_port;
	for (unsigned p = lo; p <= hi; p++) {
		uint16_t port = (uint16_t)p;
		int fd = reserve(req->proto, ip, &port);

		if (fd >= 0) {
			out->reserve_fd = fd;
			out->host_port = port;
			return 0;
		}
		errnum = errno;
		if (errnum != EADDRINUSE)
			break;
	}
	return reserve_error(err, errnum, ip, lo, hi, req->proto);
}

int ports_reserve(struct network *n, const struct hamn_net_port *ports, size_t n_ports,
		  struct port_map **out, size_t *n_out, struct hamn_error **err)
{
	struct port_map *v = xcalloc(n_ports + 1, sizeof(*v));

	if (!is_bridge(n) || n->internal) {
		free(v);
		return hamn_error_setq(err, EINVAL, "network '%s' cannot publish ports", n->name);
	}
	for (size_t i = 0; i < n_ports; i++) {
		if (reserve_one(n, &ports[i], &v[i], err) < 0) {
			ports_release(v, i);
			free(v);
			return -1;
		}
	}
	*out = v;
	*n_out = n_ports;
	return 0;
}

int ports_rebind(struct port_map *v, size_t n, struct hamn_error **err)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		uint16_t port = v[i].host_port;

		if (v[i].reserve_fd >= 0)
			continue;
		v[i].reserve_fd = reserve(v[i].proto, v[i].host_ip, &port);
		if (v[i].reserve_fd < 0 && rc == 0)
			rc = reserve_error(err, errno, v[i].host_ip, port, port, v[i].proto);
	}
	return rc;
}

static int publish_locked(struct hamn_net_ctx *ctx, struct endpoint *ep,
			  const struct hamn_net_port *ports, size_t n_ports,
			  struct hamn_error **err)
{
	struct port_map *v = NULL, *old = ep->ports;
	size_t n = 0, n_old = ep->n_ports;
	struct hamn_error *e = NULL;

	if (ports_reserve(ep->net, ports, n_ports, &v, &n, err) < 0)
		return -1;
	/* a container reaching its own published port: the frame goes back out its port */
	if (ep->veth[0] && link_set_hairpin(ctx->nl, ep->veth, err) < 0) {
		ports_release(v, n);
		free(v);
		return -1;
	}
	ep->ports = xreallocarray(NULL, n_old + n + 1, sizeof(*ep->ports));
	if (n_old)
		memcpy(ep->ports, old, n_old * sizeof(*old));
	memcpy(ep->ports + n_old, v, n * sizeof(*v));
	ep->n_ports = n_old + n;
	if (nft_apply(ctx, err) < 0 || state_save(ctx, ep->net, err) < 0) {
		/* back to the old mappings: rules, then the new reservations */
		free(ep->ports);
		ep->ports = old;
		ep->n_ports = n_old;
		if (nft_apply(ctx, &e) < 0)
			log_warn("restore rules: %s", e->msg);
		hamn_error_free(&e);
		ports_release(v, n);
		free(v);
		return -1;
	}
	free(old);
	free(v);
	return 0;
}

int hamn_net_publish(struct hamn_net_ctx *ctx, const char *endpoint_id,
		     const struct hamn_net_port *ports, size_t n_ports, struct hamn_error **err)
{
	struct endpoint *ep;
	int rc;

	pthread_mutex_lock(&ctx->lock);
	ep = ep_by_id(ctx, endpoint_id);
	if (!ep)
		rc = hamn_error_setq(err, ENOENT, "endpoint %s not found", endpoint_id);
	else if (n_ports == 0)
		rc = 0;
	else
		rc = publish_locked(ctx, ep, ports, n_ports, err);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

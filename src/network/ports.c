/*
 * ports.c - docker's -p syntax and HostConfig.NetworkMode, parsed into
 * plain structs. Pure: publishing itself is in publish.c.
 */
#include <netinet/in.h>
#include <strings.h>

#include "base/base.h"
#include "network/ipam.h"
#include "network/network.h"

const char *hamn_net_proto_name(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	return "?";
}

static int parse_proto(const char *s, int *out)
{
	if (strcasecmp(s, "tcp") == 0)
		*out = IPPROTO_TCP;
	else if (strcasecmp(s, "udp") == 0)
		*out = IPPROTO_UDP;
	else if (strcasecmp(s, "sctp") == 0)
		*out = IPPROTO_SCTP;
	else
		return -1;
	return 0;
}

/* "80" or "80-82" into [lo, hi]; allow_zero admits "0" (any host port). */
static int parse_range(const char *s, bool allow_zero, uint16_t *lo, uint16_t *hi)
{
	_cleanup_free_ char *a = xstrdup(s);
	char *dash = strchr(a, '-');
	int64_t x, y;

	if (dash)
		*dash = '\0';
	if (!*a || *a == '+' || hamn_parse_int64(a, &x, NULL) < 0)
		return -1;
	y = x;
	if (dash && (!dash[1] || dash[1] == '+' || hamn_parse_int64(dash + 1, &y, NULL) < 0))
		return -1;
	if (x < (allow_zero && !dash ? 0 : 1) || y > 65535 || y < x)
		return -1;
	*lo = (uint16_t)x;
	*hi = (uint16_t)y;
	return 0;
}

/* Split "IP:HOST:CONTAINER" into its parts; host parts may be empty. */
static int split_spec(char *s, char **ip, char **host, char **ctr)
{
	char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	*ip = *host = NULL;
	if (c2 && strchr(c2 + 1, ':'))
		return -1; /* an unbracketed IPv6 address */
	if (!c1) {
		*ctr = s;
	} else if (!c2) {
		*c1 = '\0';
		*host = s;
		*ctr = c1 + 1;
	} else {
		*c1 = *c2 = '\0';
		*ip = s;
		*host = c1 + 1;
		*ctr = c2 + 1;
	}
	return 0;
}

static int check_host_ip(const char *ip, char out[16], const char *spec, struct hamn_error **err)
{
	uint32_t a;

	out[0] = '\0';
	if (!ip || !*ip)
		return 0;
	if (ip[0] == '[' || strchr(ip, ':'))
		return hamn_error_setq(err, EINVAL, "invalid port spec '%s': IPv6 is not supported",
				       spec);
	if (hamn_ipv4_parse(ip, &a, NULL) < 0)
		return hamn_error_setq(err, EINVAL, "invalid port spec '%s': bad host IP '%s'",
				       spec, ip);
	if (a != 0) /* 0.0.0.0 means every address, as "" does */
		hamn_ipv4_str(a, out);
	return 0;
}

static int expand(const char *spec, int proto, const char *ip, uint16_t hlo, uint16_t hhi,
		  uint16_t clo, uint16_t chi, struct hamn_net_port **out, size_t *n_out,
		  struct hamn_error **err)
{
	size_t n_ctr = (size_t)(chi - clo) + 1, n_host = hlo ? (size_t)(hhi - hlo) + 1 : 0;
	struct hamn_net_port *v;
	bool host_range = n_ctr == 1 && n_host > 1;

	if (n_host && n_host != n_ctr && !host_range)
		return hamn_error_setq(
			err, EINVAL,
			"invalid port spec '%s': host and container ranges differ in size", spec);
	v = xcalloc(n_ctr, sizeof(*v));
	for (size_t i = 0; i < n_ctr; i++) {
		v[i].proto = proto;
		snprintf(v[i].host_ip, sizeof(v[i].host_ip), "%s", ip);
		v[i].container_port = (uint16_t)(clo + i);
		if (host_range) {
			v[i].host_port = hlo;
			v[i].host_port_end = hhi;
		} else if (n_host) {
			v[i].host_port = (uint16_t)(hlo + i);
		}
	}
	*out = v;
	*n_out = n_ctr;
	return 0;
}

int hamn_net_port_parse(const char *spec, struct hamn_net_port **out, size_t *n_out,
			struct hamn_error **err)
{
	_cleanup_free_ char *s = xstrdup(spec ? spec : "");
	char *slash = strrchr(s, '/'), *ip, *host, *ctr;
	uint16_t hlo = 0, hhi = 0, clo, chi;
	int proto = IPPROTO_TCP;
	char ipbuf[16];

	if (slash) {
		*slash = '\0';
		if (parse_proto(slash + 1, &proto) < 0)
			return hamn_error_setq(err, EINVAL,
					       "invalid port spec '%s': bad protocol '%s'", spec,
					       slash + 1);
	}
	if (split_spec(s, &ip, &host, &ctr) < 0)
		return hamn_error_setq(
			err, EINVAL,
			"invalid port spec '%s': too many colons (IPv6 is not supported)", spec);
	if (check_host_ip(ip, ipbuf, spec, err) < 0)
		return -1;
	if (parse_range(ctr, false, &clo, &chi) < 0)
		return hamn_error_setq(
			err, EINVAL, "invalid port spec '%s': bad container port '%s'", spec, ctr);
	if (host && *host && parse_range(host, true, &hlo, &hhi) < 0)
		return hamn_error_setq(err, EINVAL, "invalid port spec '%s': bad host port '%s'",
				       spec, host);
	return expand(spec, proto, ipbuf, hlo, hhi, clo, chi, out, n_out, err);
}

int hamn_net_mode_parse(const char *mode, struct hamn_net_mode *out, struct hamn_error **err)
{
	out->ref = NULL;
	if (!mode || !*mode || streq(mode, "default") || streq(mode, "bridge")) {
		out->kind = HAMN_NET_MODE_BRIDGE;
	} else if (streq(mode, "host")) {
		out->kind = HAMN_NET_MODE_HOST;
	} else if (streq(mode, "none")) {
		out->kind = HAMN_NET_MODE_NONE;
	} else if (str_has_prefix(mode, "container:")) {
		if (!mode[10])
			return hamn_error_setq(
				err, EINVAL, "invalid network mode '%s': no container given", mode);
		out->kind = HAMN_NET_MODE_CONTAINER;
		out->ref = xstrdup(mode + 10);
	} else {
		out->kind = HAMN_NET_MODE_NETWORK;
		out->ref = xstrdup(mode);
	}
	return 0;
}

void hamn_net_mode_release(struct hamn_net_mode *m)
{
	free(m->ref);
	m->ref = NULL;
}

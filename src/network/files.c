/*
 * files.c - the text of a container's /etc/hosts and /etc/resolv.conf.
 *
 * Pure functions following docker's rules (libnetwork's etchosts and
 * resolvconf packages); the engine writes the files where it wants.
 */
#include <arpa/inet.h>
#include <ctype.h>

#include "base/base.h"
#include "network/network.h"

static const char default_hosts[] = "127.0.0.1\tlocalhost\n"
				    "::1\tlocalhost ip6-localhost ip6-loopback\n"
				    "fe00::0\tip6-localnet\n"
				    "ff00::0\tip6-mcastprefix\n"
				    "ff02::1\tip6-allnodes\n"
				    "ff02::2\tip6-allrouters\n";

static bool valid_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool valid_hostname(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '#' || !isprint((unsigned char)*s))
			return false;
	return true;
}

/* "name:ip" or "name=ip" (the address may itself hold colons: IPv6). */
static int extra_host_line(struct hamn_buf *b, const char *entry, struct hamn_error **err)
{
	const char *sep = strpbrk(entry, ":=");
	_cleanup_free_ char *name = NULL;
	const char *ip;

	if (!sep)
		return hamn_error_setq(err, EINVAL, "invalid extra host '%s': want NAME:IP", entry);
	name = xstrndup(entry, (size_t)(sep - entry));
	ip = sep + 1;
	if (ip[0] == '[' && ip[strlen(ip) - 1] == ']') {
		_cleanup_free_ char *inner = xstrndup(ip + 1, strlen(ip) - 2);
		if (!valid_hostname(name) || !valid_ip(inner))
			return hamn_error_setq(err, EINVAL, "invalid extra host '%s'", entry);
		hamn_buf_printf(b, "%s\t%s\n", inner, name);
		return 0;
	}
	if (!valid_hostname(name) || !valid_ip(ip))
		return hamn_error_setq(err, EINVAL, "invalid extra host '%s'", entry);
	hamn_buf_printf(b, "%s\t%s\n", ip, name);
	return 0;
}

int hamn_net_hosts_content(const struct hamn_net_hosts_opts *o, char **out, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;

	if (!o->hostname || !valid_hostname(o->hostname))
		return hamn_error_setq(err, EINVAL, "invalid hostname '%s'",
				       o->hostname ? o->hostname : "");
	hamn_buf_puts(&b, default_hosts);
	for (char *const *e = o->extra_hosts; e && *e; e++)
		if (extra_host_line(&b, *e, err) < 0)
			return -1;
	for (char *const *ip = o->ips; ip && *ip; ip++) {
		if (!valid_ip(*ip))
			return hamn_error_setq(err, EINVAL, "invalid container address '%s'", *ip);
		if (o->domainname && *o->domainname)
			hamn_buf_printf(&b, "%s\t%s.%s %s\n", *ip, o->hostname, o->domainname,
					o->hostname);
		else
			hamn_buf_printf(&b, "%s\t%s\n", *ip, o->hostname);
	}
	*out = hamn_buf_steal(&b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* resolv.conf                                                          */
/* ------------------------------------------------------------------ */

struct resolv {
	char **nameservers;
	char **search;	/* the last "search" (or "domain") line wins, as in the resolver */
	char **options; /* all "options" lines, in order */
};

static void resolv_release(struct resolv *r)
{
	hamn_strv_free(r->nameservers);
	hamn_strv_free(r->search);
	hamn_strv_free(r->options);
}

/* The whitespace-separated words of line after its keyword. */
static char **words(const char *line)
{
	char **v = NULL;
	const char *p = line;

	while (*p) {
		const char *start;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == ';')
			break;
		start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		strv_push_take(&v, xstrndup(start, (size_t)(p - start)));
	}
	return v;
}

static void parse_line(struct resolv *r, const char *line)
{
	_cleanup_strv_ char **w = words(line);

	if (!w || !w[1])
		return;
	if (streq(w[0], "nameserver")) {
		strv_push(&r->nameservers, w[1]);
	} else if (streq(w[0], "search") || streq(w[0], "domain")) {
		hamn_strv_free(r->search);
		r->search = strv_copy(w + 1);
	} else if (streq(w[0], "options")) {
		for (char **o = w + 1; *o; o++)
			strv_push(&r->options, *o);
	}
}

static void resolv_parse(const char *text, struct resolv *r)
{
	_cleanup_strv_ char **lines = str_split(text ? text : "", '\n');

	memset(r, 0, sizeof(*r));
	for (char **l = lines; l && *l; l++)
		parse_line(r, *l);
}

char **hamn_net_resolv_nameservers(const char *text)
{
	struct resolv r;
	char **v;

	resolv_parse(text, &r);
	v = r.nameservers ? r.nameservers : xcalloc(1, sizeof(char *));
	r.nameservers = NULL;
	resolv_release(&r);
	return v;
}

/* Loopback and IPv6 servers are useless in a container without IPv6 on its own netns. */
static bool usable_in_container(const char *ns)
{
	return !str_has_prefix(ns, "127.") && !strchr(ns, ':');
}

static bool has_ndots(char *const *options)
{
	for (char *const *o = options; o && *o; o++)
		if (str_has_prefix(*o, "ndots:"))
			return true;
	return false;
}

static void put_list(struct hamn_buf *b, const char *key, char *const *v)
{
	if (!v || !*v)
		return;
	hamn_buf_puts(b, key);
	for (; *v; v++)
		hamn_buf_printf(b, " %s", *v);
	hamn_buf_putc(b, '\n');
}

char *hamn_net_resolv_content(const struct hamn_net_resolv_opts *o)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	_cleanup_strv_ char **options = NULL;
	struct resolv host;
	size_t n_servers = 0;

	resolv_parse(o->host_resolv, &host);
	options = strv_copy(o->dns_options ? o->dns_options : host.options);
	if (o->embedded_dns) {
		hamn_buf_puts(&b, "nameserver 127.0.0.11\n");
	} else if (o->dns) {
		for (char *const *s = o->dns; *s; s++)
			hamn_buf_printf(&b, "nameserver %s\n", *s);
	} else {
		for (char **s = host.nameservers; s && *s; s++) {
			if (!usable_in_container(*s))
				continue;
			hamn_buf_printf(&b, "nameserver %s\n", *s);
			n_servers++;
		}
		if (n_servers == 0)
			hamn_buf_puts(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	}
	put_list(&b, "search", o->dns_search ? o->dns_search : host.search);
	if (o->embedded_dns && !has_ndots(options))
		strv_push(&options, "ndots:0");
	put_list(&b, "options", options);
	resolv_release(&host);
	return hamn_buf_steal(&b);
}

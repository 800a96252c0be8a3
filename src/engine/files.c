/*
 * files.c - the files bind-mounted over the container's /etc/hostname,
 * /etc/hosts and /etc/resolv.conf, kept in its directory as docker does.
 *
 * resolv.conf is the host's with localhost nameservers removed (they would
 * point at the container's own loopback), replaced by HostConfig.Dns /
 * DnsSearch / DnsOptions when given. With --network host the host's files
 * are used as they are.
 */
#include <fcntl.h>
#include <unistd.h>

#include "engine/internal.h"

static bool local_nameserver(const char *line)
{
	const char *p = line + strlen("nameserver");

	while (*p == ' ' || *p == '\t')
		p++;
	return str_has_prefix(p, "127.") || str_has_prefix(p, "::1");
}

static void put_list(struct hamn_buf *b, const char *key, char *const *v)
{
	if (!v || !v[0])
		return;
	hamn_buf_puts(b, key);
	for (size_t i = 0; v[i]; i++) {
		hamn_buf_putc(b, ' ');
		hamn_buf_puts(b, v[i]);
	}
	hamn_buf_putc(b, '\n');
}

char *resolv_conf_build(const char *host, char *const *dns, char *const *search,
			char *const *options, bool keep_local)
{
	_cleanup_strv_ char **lines = str_split(host ? host : "", '\n');
	struct hamn_buf b = HAMN_BUF_INIT;
	bool any_ns = false;

	for (size_t i = 0; lines[i]; i++) {
		const char *l = lines[i];
		bool ns = str_has_prefix(l, "nameserver");

		if ((ns && (dns && dns[0])) || (str_has_prefix(l, "search") && search && search[0]) ||
		    (str_has_prefix(l, "options") && options && options[0]))
			continue;
		if (ns && !keep_local && local_nameserver(l))
			continue;
		if (!l[0] && !lines[i + 1])
			break;
		any_ns |= ns;
		hamn_buf_puts(&b, l);
		hamn_buf_putc(&b, '\n');
	}
	for (size_t i = 0; dns && dns[i]; i++) {
		hamn_buf_printf(&b, "nameserver %s\n", dns[i]);
		any_ns = true;
	}
	put_list(&b, "search", search);
	put_list(&b, "options", options);
	/* docker's fallback when nothing usable is left */
	if (!any_ns && !keep_local)
		hamn_buf_puts(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	return hamn_buf_steal(&b);
}

static char *host_file(const char *path)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	char *text = NULL;
	size_t len;

	if (hamn_read_file(AT_FDCWD, path, 1 << 20, &text, &len, &err) < 0)
		return xstrdup("");
	return text;
}

static char *hosts_text(const struct ctr_config *c)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	if (c->net_host) {
		char *host = host_file("/etc/hosts");

		hamn_buf_puts(&b, host);
		free(host);
	} else {
		hamn_buf_puts(&b, "127.0.0.1\tlocalhost\n"
				  "::1\tlocalhost ip6-localhost ip6-loopback\n"
				  "fe00::0\tip6-localnet\n"
				  "ff00::0\tip6-mcastprefix\n"
				  "ff02::1\tip6-allnodes\n"
				  "ff02::2\tip6-allrouters\n");
	}
	for (size_t i = 0; c->extra_hosts && c->extra_hosts[i]; i++) {
		const char *colon = strchr(c->extra_hosts[i], ':');

		hamn_buf_printf(&b, "%s\t%.*s\n", colon + 1, (int)(colon - c->extra_hosts[i]),
				c->extra_hosts[i]);
	}
	return hamn_buf_steal(&b);
}

static char *hostname_text(const struct ctr_config *c)
{
	char host[256] = "";

	if (c->uts_mode == NS_HOST || c->net_host) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			host[0] = '\0';
		if (c->uts_mode == NS_HOST)
			return xasprintf("%s\n", host);
	}
	return xasprintf("%s\n", c->hostname);
}

int ctr_files_write(int dirfd, const struct container *ctr, struct hamn_error **err)
{
	const struct ctr_config *c = &ctr->cfg;
	_cleanup_free_ char *host_resolv = host_file("/etc/resolv.conf");
	_cleanup_free_ char *resolv = resolv_conf_build(host_resolv, c->dns, c->dns_search,
							c->dns_options, c->net_host);
	_cleanup_free_ char *hosts = hosts_text(c);
	_cleanup_free_ char *hostname = hostname_text(c);

	/* each file and the directory synced: a container's files survive a crash of the host */
	if (hamn_write_atomic(dirfd, "resolv.conf", resolv, strlen(resolv), 0644, err) < 0 ||
	    hamn_write_atomic(dirfd, "hosts", hosts, strlen(hosts), 0644, err) < 0 ||
	    hamn_write_atomic(dirfd, "hostname", hostname, strlen(hostname), 0644, err) < 0)
		return -1;
	return 0;
}

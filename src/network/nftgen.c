/*
 * nftgen.c - generate the nft script of a daemon instance's table.
 *
 * Chains (all in "table ip <instance>"):
 *   guard        prerouting/raw: packets for 127.0.0.0/8 that did not come
 *                from lo are dropped before DNAT can turn them into
 *                packets for a container (route_localnet is on for our
 *                bridges; see docs/network.md)
 *   prerouting,  nat: packets for a local address jump to "publish", whose
 *   output       DNAT rules implement published ports, from outside, from
 *                the host itself (output) and from containers (hairpin)
 *   postrouting  nat: masquerade outbound traffic of each non-internal
 *                subnet; masquerade DNATed traffic going into the bridge
 *                it came from (hairpin) and host-loopback traffic going
 *                into a bridge, so replies come back through the host
 *   forward      filter: internal bridges are sealed, established flows
 *                and published ports pass, traffic between two of our
 *                bridges is dropped (isolation), icc=false drops
 *                traffic within a bridge (needs br_netfilter to see it)
 */
#include <netinet/in.h>

#include "base/base.h"
#include "network/network.h"
#include "network/nftgen.h"

char *hamn_nft_delete_script(const char *table)
{
	/* "add" first so that "delete" never fails on a missing table */
	return xasprintf("add table ip %s\ndelete table ip %s\n", table, table);
}

static void put_bridge_set(struct hamn_buf *b, const struct hamn_nft_bridge *br, size_t n)
{
	hamn_buf_puts(b, "\tset bridges {\n\t\ttype ifname\n");
	if (n > 0) {
		hamn_buf_puts(b, "\t\telements = { ");
		for (size_t i = 0; i < n; i++)
			hamn_buf_printf(b, "%s\"%s\"", i ? ", " : "", br[i].ifname);
		hamn_buf_puts(b, " }\n");
	}
	hamn_buf_puts(b, "\t}\n\n");
}

static void put_guard_and_hooks(struct hamn_buf *b)
{
	hamn_buf_puts(b, "\tchain guard {\n"
			 "\t\ttype filter hook prerouting priority raw; policy accept;\n"
			 "\t\tiifname != \"lo\" ip daddr 127.0.0.0/8 counter drop\n"
			 "\t}\n\n"
			 "\tchain prerouting {\n"
			 "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
			 "\t\tfib daddr type local jump publish\n"
			 "\t}\n\n"
			 "\tchain output {\n"
			 "\t\ttype nat hook output priority -100; policy accept;\n"
			 "\t\tfib daddr type local jump publish\n"
			 "\t}\n\n");
}

static void put_publish(struct hamn_buf *b, const struct hamn_nft_port *p, size_t n)
{
	char a[HAMN_IPV4_STR_MAX];

	hamn_buf_puts(b, "\tchain publish {\n");
	for (size_t i = 0; i < n; i++) {
		hamn_buf_puts(b, "\t\t");
		if (p[i].host_ip)
			hamn_buf_printf(b, "ip daddr %s ", hamn_ipv4_str(p[i].host_ip, a));
		hamn_buf_printf(b, "%s dport %u dnat to ", hamn_net_proto_name(p[i].proto),
				p[i].host_port);
		hamn_buf_printf(b, "%s:%u", hamn_ipv4_str(p[i].ct_ip, a), p[i].ct_port);
		if (p[i].tag)
			hamn_buf_printf(b, " comment \"%s\"", p[i].tag);
		hamn_buf_putc(b, '\n');
	}
	hamn_buf_puts(b, "\t}\n\n");
}

static void put_postrouting(struct hamn_buf *b, const struct hamn_nft_bridge *br, size_t n)
{
	char s[HAMN_IPV4_NET_STR_MAX];

	hamn_buf_puts(b, "\tchain postrouting {\n"
			 "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	for (size_t i = 0; i < n; i++) {
		const char *name = br[i].ifname;
		const char *net = hamn_ipv4_net_str(&br[i].subnet, s);

		hamn_buf_printf(b, "\t\toifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", name);
		hamn_buf_printf(b, "\t\toifname \"%s\" ip saddr %s ct status dnat masquerade\n",
				name, net);
		if (!br[i].internal && br[i].masquerade)
			hamn_buf_printf(b, "\t\toifname != \"%s\" ip saddr %s masquerade\n", name,
					net);
	}
	hamn_buf_puts(b, "\t}\n\n");
}

static void put_forward(struct hamn_buf *b, const struct hamn_nft_bridge *br, size_t n)
{
	hamn_buf_puts(b, "\tchain forward {\n"
			 "\t\ttype filter hook forward priority filter; policy accept;\n");
	for (size_t i = 0; i < n; i++) {
		if (!br[i].internal)
			continue;
		hamn_buf_printf(b, "\t\tiifname \"%s\" oifname != \"%s\" counter drop\n",
				br[i].ifname, br[i].ifname);
		hamn_buf_printf(b, "\t\toifname \"%s\" iifname != \"%s\" counter drop\n",
				br[i].ifname, br[i].ifname);
	}
	hamn_buf_puts(b, "\t\tct state established,related accept\n"
			 "\t\tct status dnat accept\n");
	for (size_t i = 0; i < n; i++) {
		const char *name = br[i].ifname;

		if (!br[i].icc)
			hamn_buf_printf(b, "\t\tiifname \"%s\" oifname \"%s\" counter drop\n", name,
					name);
		hamn_buf_printf(
			b, "\t\tiifname \"%s\" oifname != \"%s\" oifname @bridges counter drop\n",
			name, name);
	}
	hamn_buf_puts(b, "\t}\n");
}

char *hamn_nft_ruleset(const char *table, const struct hamn_nft_bridge *bridges, size_t n_bridges,
		       const struct hamn_nft_port *ports, size_t n_ports)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	hamn_buf_printf(&b, "add table ip %s\ndelete table ip %s\n", table, table);
	hamn_buf_printf(&b, "table ip %s {\n", table);
	put_bridge_set(&b, bridges, n_bridges);
	put_guard_and_hooks(&b);
	put_publish(&b, ports, n_ports);
	put_postrouting(&b, bridges, n_bridges);
	put_forward(&b, bridges, n_bridges);
	hamn_buf_puts(&b, "}\n");
	return hamn_buf_steal(&b);
}

/*
 * nftgen.h - the nftables script of one daemon instance, as text (pure).
 *
 * The whole table is rewritten in one transaction whenever networks or
 * published ports change: "add table; delete table; table { ... }" in one
 * nft batch is atomic, so no packet ever sees a half-made rule set and no
 * stale rule can survive. Used by src/network/ (its .c files) and the unit tests only.
 */
#ifndef HAMN_NETWORK_NFTGEN_H
#define HAMN_NETWORK_NFTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "network/ipam.h"

struct hamn_nft_bridge {
	const char *ifname;
	struct hamn_ipv4_net subnet;
	bool internal;	 /* nothing in or out but through the bridge itself */
	bool masquerade; /* outbound NAT (ignored when internal) */
	bool icc;	 /* containers of this bridge may talk to each other */
};

struct hamn_nft_port {
	int proto;	  /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	uint32_t host_ip; /* 0 = every local address */
	uint16_t host_port;
	uint32_t ct_ip;
	uint16_t ct_port;
	const char *tag; /* a short comment naming the owner (endpoint id prefix) */
};

/*
 * The script that replaces table "ip <table>" with the rules for these
 * bridges and ports. table must be a valid nft identifier and the bridge
 * names interface names (the caller checks). Caller frees.
 */
char *hamn_nft_ruleset(const char *table, const struct hamn_nft_bridge *bridges, size_t n_bridges,
		       const struct hamn_nft_port *ports, size_t n_ports);

/* The script that deletes table "ip <table>", present or not. Caller frees. */
char *hamn_nft_delete_script(const char *table);

#endif

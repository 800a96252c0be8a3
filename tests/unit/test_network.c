/*
 * Tests of the pure parts of src/network: IPAM, the DNS wire format (with
 * hostile packets), the embedded DNS answer logic, port specs and network
 * modes, the /etc/hosts and /etc/resolv.conf generators and the nft script.
 * The kernel side is covered by tests/system/050-network-lib.bats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <unistd.h>

#include "base/base.h"
#include "network/dns.h"
#include "network/dnswire.h"
#include "network/ipam.h"
#include "network/network.h"
#include "network/nftgen.h"

static uint32_t ip(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(hamn_ipv4_parse(s, &a, NULL), 0);
	return a;
}

static struct hamn_ipv4_net net(const char *s)
{
	struct hamn_ipv4_net n = {0, 0};

	assert_int_equal(hamn_ipv4_net_parse(s, &n, NULL), 0);
	return n;
}

static void expect_errno(int rc, struct hamn_error **err, int errnum)
{
	assert_int_equal(rc, -1);
	assert_non_null(*err);
	assert_int_equal((*err)->errnum, errnum);
	hamn_error_free(err);
}

/* ------------------------------------------------------------------ */
/* IPv4 prefixes and subnet picking                                     */
/* ------------------------------------------------------------------ */

static void prefixes_parse_and_normalise(void **state)
{
	struct hamn_ipv4_net n;
	struct hamn_error *err = NULL;
	char buf[HAMN_IPV4_NET_STR_MAX];
	const char *bad[] = {"10.0.0.0", "10.0.0/24",  "10.0.0.0/33", "10.0.0.0/-1",
			     "x/8",	 "10.0.0.0/",  "10.0.0.0/+8", "10.0.0.0/8x",
			     "",	 "1.2.3.4.5/8"};

	(void)state;
	n = net("10.1.2.77/24");
	assert_string_equal(hamn_ipv4_net_str(&n, buf), "10.1.2.0/24");
	n = net("0.0.0.0/0");
	assert_int_equal(n.len, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_errno(hamn_ipv4_net_parse(bad[i], &n, &err), &err, EINVAL);
	assert_true(hamn_ipv4_net_contains(&(struct hamn_ipv4_net){ip("10.1.0.0"), 16},
					   ip("10.1.255.3")));
}

static void prefixes_overlap(void **state)
{
	struct hamn_ipv4_net a = net("10.0.0.0/8"), b = net("10.20.0.0/16"), c = net("11.0.0.0/8"),
			     d = net("10.20.1.0/24");

	(void)state;
	assert_true(hamn_ipv4_net_overlaps(&a, &b));
	assert_true(hamn_ipv4_net_overlaps(&b, &a));
	assert_true(hamn_ipv4_net_overlaps(&d, &b));
	assert_false(hamn_ipv4_net_overlaps(&a, &c));
	assert_false(hamn_ipv4_net_overlaps(&c, &d));
}

static void subnet_pick_avoids_routes_and_networks(void **state)
{
	struct hamn_ipam_pool pools[2] = {{net("10.10.0.0/16"), 24}, {net("10.20.0.0/16"), 24}};
	struct hamn_ipv4_net taken[3] = {net("10.10.0.0/24"), net("10.10.1.128/25"),
					 net("192.0.2.0/24")};
	struct hamn_ipv4_net out;
	struct hamn_error *err = NULL;
	char buf[HAMN_IPV4_NET_STR_MAX];

	(void)state;
	assert_int_equal(hamn_ipam_pick_subnet(pools, 2, taken, 3, &out, &err), 0);
	assert_string_equal(hamn_ipv4_net_str(&out, buf), "10.10.2.0/24");
	/* a route covering the whole first pool sends us to the second */
	taken[0] = net("10.10.0.0/15");
	assert_int_equal(hamn_ipam_pick_subnet(pools, 2, taken, 3, &out, &err), 0);
	assert_string_equal(hamn_ipv4_net_str(&out, buf), "10.20.0.0/24");
	/* a default route is never in the list (the caller drops it); a /8 is: nothing left */
	taken[0] = net("10.0.0.0/8");
	expect_errno(hamn_ipam_pick_subnet(pools, 2, taken, 1, &out, &err), &err, ENOSPC);
}

static void subnet_pick_docker_defaults(void **state)
{
	struct hamn_ipam_pool pools[2] = {{net("172.17.0.0/16"), 16}, {net("172.18.0.0/16"), 16}};
	struct hamn_ipv4_net taken[1] = {net("172.17.0.0/16")}, out;
	char buf[HAMN_IPV4_NET_STR_MAX];

	(void)state;
	assert_int_equal(hamn_ipam_pick_subnet(pools, 2, NULL, 0, &out, NULL), 0);
	assert_string_equal(hamn_ipv4_net_str(&out, buf), "172.17.0.0/16");
	assert_int_equal(hamn_ipam_pick_subnet(pools, 2, taken, 1, &out, NULL), 0);
	assert_string_equal(hamn_ipv4_net_str(&out, buf), "172.18.0.0/16");
}

/* ------------------------------------------------------------------ */
/* Address allocation                                                   */
/* ------------------------------------------------------------------ */

static void ipam_allocates_all_hosts_then_enospc(void **state)
{
	struct hamn_ipam ipam;
	struct hamn_ipv4_net s = net("10.0.0.0/29");
	struct hamn_error *err = NULL;
	uint32_t a;

	(void)state;
	assert_int_equal(hamn_ipam_init(&ipam, &s, NULL, ip("10.0.0.1"), &err), 0);
	for (uint32_t want = ip("10.0.0.2"); want <= ip("10.0.0.6"); want++) {
		assert_int_equal(hamn_ipam_alloc(&ipam, &a, &err), 0);
		assert_int_equal(a, want);
	}
	expect_errno(hamn_ipam_alloc(&ipam, &a, &err), &err, ENOSPC);
	hamn_ipam_release_all(&ipam);
}

static void ipam_released_address_is_reused_last(void **state)
{
	struct hamn_ipam ipam;
	struct hamn_ipv4_net s = net("10.0.0.0/29");
	uint32_t a, b, c;

	(void)state;
	assert_int_equal(hamn_ipam_init(&ipam, &s, NULL, ip("10.0.0.1"), NULL), 0);
	assert_int_equal(hamn_ipam_alloc(&ipam, &a, NULL), 0);
	assert_int_equal(hamn_ipam_alloc(&ipam, &b, NULL), 0);
	hamn_ipam_free(&ipam, a);
	assert_false(hamn_ipam_is_used(&ipam, a));
	/* round robin: .4, .5, .6 come before the released .2 */
	for (uint32_t want = ip("10.0.0.4"); want <= ip("10.0.0.6"); want++) {
		assert_int_equal(hamn_ipam_alloc(&ipam, &c, NULL), 0);
		assert_int_equal(c, want);
	}
	assert_int_equal(hamn_ipam_alloc(&ipam, &c, NULL), 0);
	assert_int_equal(c, a);
	/* never twice: everything is in use now */
	assert_int_equal(hamn_ipam_alloc(&ipam, &c, NULL), -1);
	hamn_ipam_free(&ipam, ip("10.9.9.9")); /* unknown: ignored */
	hamn_ipam_release_all(&ipam);
}

static void ipam_static_addresses(void **state)
{
	struct hamn_ipam ipam;
	struct hamn_ipv4_net s = net("10.0.0.0/24");
	struct hamn_error *err = NULL;
	uint32_t a;

	(void)state;
	assert_int_equal(hamn_ipam_init(&ipam, &s, NULL, ip("10.0.0.1"), NULL), 0);
	assert_int_equal(hamn_ipam_reserve(&ipam, ip("10.0.0.2"), &err), 0);
	expect_errno(hamn_ipam_reserve(&ipam, ip("10.0.0.2"), &err), &err, EEXIST);
	expect_errno(hamn_ipam_reserve(&ipam, ip("10.0.0.1"), &err), &err, EINVAL);
	expect_errno(hamn_ipam_reserve(&ipam, ip("10.0.0.0"), &err), &err, EINVAL);
	expect_errno(hamn_ipam_reserve(&ipam, ip("10.0.0.255"), &err), &err, EINVAL);
	expect_errno(hamn_ipam_reserve(&ipam, ip("10.0.1.5"), &err), &err, EINVAL);
	/* dynamic allocation skips the static one */
	assert_int_equal(hamn_ipam_alloc(&ipam, &a, NULL), 0);
	assert_int_equal(a, ip("10.0.0.3"));
	hamn_ipam_release_all(&ipam);
}

static void ipam_range_and_bad_setups(void **state)
{
	struct hamn_ipam ipam;
	struct hamn_ipv4_net s = net("10.0.0.0/24"), r = net("10.0.0.128/25"),
			     bad = net("10.1.0.0/25");
	struct hamn_ipv4_net s31 = net("10.0.0.0/31");
	struct hamn_error *err = NULL;
	uint32_t a;

	(void)state;
	assert_int_equal(hamn_ipam_init(&ipam, &s, &r, ip("10.0.0.1"), NULL), 0);
	assert_int_equal(hamn_ipam_alloc(&ipam, &a, NULL), 0);
	assert_int_equal(a, ip("10.0.0.128"));
	/* static addresses may lie outside the range, inside the subnet */
	assert_int_equal(hamn_ipam_reserve(&ipam, ip("10.0.0.5"), NULL), 0);
	hamn_ipam_release_all(&ipam);
	expect_errno(hamn_ipam_init(&ipam, &s, &bad, 0, &err), &err, EINVAL);
	expect_errno(hamn_ipam_init(&ipam, &s, NULL, ip("10.0.0.255"), &err), &err, EINVAL);
	expect_errno(hamn_ipam_init(&ipam, &s, NULL, ip("10.0.1.1"), &err), &err, EINVAL);
	expect_errno(hamn_ipam_init(&ipam, &s31, NULL, 0, &err), &err, EINVAL);
}

static void ipam_state_survives_a_reload(void **state)
{
	struct hamn_ipam a, b;
	struct hamn_ipv4_net s = net("10.5.0.0/24"), r = net("10.5.0.0/25");
	struct hamn_error *err = NULL;
	json_t *j;
	uint32_t x;

	(void)state;
	assert_int_equal(hamn_ipam_init(&a, &s, &r, ip("10.5.0.1"), NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(hamn_ipam_alloc(&a, &x, NULL), 0);
	hamn_ipam_free(&a, ip("10.5.0.3"));
	j = hamn_ipam_to_json(&a);
	memset(&b, 0, sizeof(b));
	assert_int_equal(hamn_ipam_from_json(j, &b, &err), 0);
	assert_int_equal(b.n_used, 3);
	assert_true(hamn_ipam_is_used(&b, ip("10.5.0.2")));
	assert_false(hamn_ipam_is_used(&b, ip("10.5.0.3")));
	assert_int_equal(b.range.len, 25);
	assert_int_equal(b.gateway, ip("10.5.0.1"));
	/* the cursor came along: the freed .3 is not handed out next */
	assert_int_equal(hamn_ipam_alloc(&b, &x, NULL), 0);
	assert_int_equal(x, ip("10.5.0.6"));
	json_decref(j);
	hamn_ipam_release_all(&a);
	hamn_ipam_release_all(&b);
}

static void ipam_reload_rejects_inconsistent_state(void **state)
{
	const char *bad[] = {
		"{\"subnet\":\"10.0.0.0/24\",\"range\":\"10.0.0.0/24\","
		"\"allocated\":[\"10.0.0.2\",\"10.0.0.2\"]}",
		"{\"subnet\":\"10.0.0.0/24\",\"range\":\"10.0.0.0/24\","
		"\"allocated\":[\"10.0.1.2\"]}",
		"{\"subnet\":\"10.0.0.0/24\",\"range\":\"10.0.0.0/24\",\"allocated\":[7]}",
		"{\"subnet\":\"10.0.0.0/24\",\"range\":\"10.1.0.0/24\"}",
		"{\"subnet\":\"banana\",\"range\":\"10.0.0.0/24\"}",
		"{\"range\":\"10.0.0.0/24\"}",
		"[]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hamn_ipam ipam;
		struct hamn_error *err = NULL;
		json_t *j = json_loads(bad[i], 0, NULL);

		assert_non_null(j);
		memset(&ipam, 0, sizeof(ipam));
		assert_int_equal(hamn_ipam_from_json(j, &ipam, &err), -1);
		assert_non_null(err);
		assert_null(ipam.used);
		hamn_error_free(&err);
		json_decref(j);
	}
}

/* ------------------------------------------------------------------ */
/* DNS wire format                                                      */
/* ------------------------------------------------------------------ */

/* A query header (id 0xbeef, RD, one question) followed by raw bytes. */
static size_t raw_query(uint8_t *pkt, const void *body, size_t body_len, uint16_t qdcount)
{
	static const uint8_t hdr[12] = {0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};

	memcpy(pkt, hdr, 12);
	hamn_dns_put16(pkt + 4, qdcount);
	memcpy(pkt + 12, body, body_len);
	return 12 + body_len;
}

static void dns_query_round_trip(void **state)
{
	uint8_t pkt[512];
	struct hamn_dns_query q;
	size_t len =
		hamn_dns_write_query(0x1234, "Web.Example.", HAMN_DNS_TYPE_A, pkt, sizeof(pkt));

	(void)state;
	assert_int_equal(len, 12 + 13 + 4);
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_OK);
	assert_int_equal(q.id, 0x1234);
	assert_string_equal(q.name, "Web.Example");
	assert_int_equal(q.qtype, HAMN_DNS_TYPE_A);
	assert_int_equal(q.qclass, HAMN_DNS_CLASS_IN);
	assert_int_equal(q.qwire_len, 13 + 4);
	assert_memory_equal(q.qwire, pkt + 12, q.qwire_len);
	/* the root name */
	len = hamn_dns_write_query(7, ".", HAMN_DNS_TYPE_A, pkt, sizeof(pkt));
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_OK);
	assert_string_equal(q.name, "");
	/* names that cannot be encoded */
	assert_int_equal(hamn_dns_encode_name("a..b", pkt, sizeof(pkt)), -1);
	memset(pkt, 'x', 64);
	pkt[64] = '\0';
	assert_int_equal(hamn_dns_encode_name((char *)pkt, pkt + 100, 300), -1);
}

/* Walk an answer: header counts, then each A record's owner (via compression) and address. */
static void check_a_answer(const uint8_t *pkt, size_t len, uint16_t id, size_t n,
			   const uint32_t *want, const char *owner)
{
	size_t off = 12;
	char name[HAMN_DNS_TEXT_NAME_MAX];

	assert_true(len >= 12);
	assert_int_equal(hamn_dns_get16(pkt), id);
	assert_true(hamn_dns_get16(pkt + 2) & HAMN_DNS_QR);
	assert_int_equal(hamn_dns_get16(pkt + 6), n);
	assert_int_equal(hamn_dns_read_name(pkt, len, &off, name, sizeof(name), NULL, NULL), 0);
	off += 4;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(hamn_dns_read_name(pkt, len, &off, name, sizeof(name), NULL, NULL),
				 0);
		assert_string_equal(name, owner);
		assert_int_equal(hamn_dns_get16(pkt + off), HAMN_DNS_TYPE_A);
		assert_int_equal(hamn_dns_get16(pkt + off + 8), 4);
		assert_int_equal((uint32_t)pkt[off + 10] << 24 | (uint32_t)pkt[off + 11] << 16 |
					 (uint32_t)pkt[off + 12] << 8 | pkt[off + 13],
				 want[i]);
		off += 14;
	}
	assert_int_equal(off, len);
}

static void dns_answer_a_records(void **state)
{
	uint8_t pkt[512], out[512];
	struct hamn_dns_query q;
	uint32_t addrs[2] = {ip("10.0.0.2"), ip("10.0.0.3")};
	size_t len = hamn_dns_write_query(42, "web", HAMN_DNS_TYPE_A, pkt, sizeof(pkt));

	(void)state;
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_OK);
	len = hamn_dns_write_answer(&q, HAMN_DNS_NOERROR, addrs, 2, NULL, 600, out, sizeof(out));
	check_a_answer(out, len, 42, 2, addrs, "web");
	assert_int_equal(out[3] & 0xf, HAMN_DNS_NOERROR);
	assert_true(hamn_dns_response_matches(out, len, q.qwire, q.qwire_len));
	/* too small for the second record: one record and TC */
	len = hamn_dns_write_answer(&q, HAMN_DNS_NOERROR, addrs, 2, NULL, 600, out, 12 + 9 + 16);
	assert_int_equal(hamn_dns_get16(out + 6), 1);
	assert_true(hamn_dns_get16(out + 2) & HAMN_DNS_TC);
	/* too small for the question: nothing */
	assert_int_equal(hamn_dns_write_answer(&q, 0, NULL, 0, NULL, 0, out, 12), 0);
}

static void dns_parse_hostile_headers(void **state)
{
	uint8_t pkt[64] = {0};
	struct hamn_dns_query q;
	static const uint8_t name[] = {3, 'w', 'e', 'b', 0, 0, 1, 0, 1};
	size_t len;

	(void)state;
	assert_int_equal(hamn_dns_parse_query(pkt, 0, &q), HAMN_DNS_PARSE_DROP);
	len = raw_query(pkt, name, sizeof(name), 1);
	assert_int_equal(hamn_dns_parse_query(pkt, 11, &q), HAMN_DNS_PARSE_DROP);
	pkt[2] |= 0x80; /* a response: never answered */
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_DROP);
	pkt[2] = 0x01 | (2 << 3); /* opcode STATUS */
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_NOTIMP);
	assert_int_equal(q.id, 0xbeef);
	len = raw_query(pkt, name, sizeof(name), 0);
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_FORMERR);
	len = raw_query(pkt, name, sizeof(name), 2);
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_FORMERR);
	/* no room for type and class */
	len = raw_query(pkt, name, 7, 1);
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_FORMERR);
}

static void dns_parse_hostile_names(void **state)
{
	static const struct {
		const char *what;
		uint8_t body[16];
		size_t len;
	} cases[] = {
		{"label past the end", {10, 'a', 'b'}, 3},
		{"no terminating zero", {1, 'a'}, 2},
		{"pointer to itself", {0xc0, 12, 0, 1, 0, 1}, 6},
		{"pointer forward", {0xc0, 20, 0, 1, 0, 1, 0, 0, 1, 'a', 0}, 11},
		{"pointer into the header", {0xc0, 2, 0, 1, 0, 1}, 6},
		{"half a pointer", {1, 'a', 0xc0}, 3},
		{"label type 0x40", {0x41, 'a', 0, 0, 1, 0, 1}, 7},
		{"label type 0x80", {0x81, 'a', 0, 0, 1, 0, 1}, 7},
	};
	uint8_t pkt[64];
	struct hamn_dns_query q;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = raw_query(pkt, cases[i].body, cases[i].len, 1);

		if (hamn_dns_parse_query(pkt, len, &q) != HAMN_DNS_PARSE_FORMERR)
			fail_msg("%s: accepted", cases[i].what);
	}
}

static void dns_compression_loops_are_refused(void **state)
{
	/* at 12: "a" then a pointer to 20; at 20: "b" then a pointer back to 12 */
	uint8_t pkt[64] = {0};
	char name[HAMN_DNS_TEXT_NAME_MAX];
	size_t off;

	(void)state;
	pkt[12] = 1, pkt[13] = 'a', pkt[14] = 0xc0, pkt[15] = 20;
	pkt[20] = 1, pkt[21] = 'b', pkt[22] = 0xc0, pkt[23] = 12;
	off = 12;
	assert_int_equal(hamn_dns_read_name(pkt, 30, &off, name, sizeof(name), NULL, NULL), -1);
	off = 20; /* starting at the second one: 20 -> 12 -> 20 is a loop too */
	assert_int_equal(hamn_dns_read_name(pkt, 30, &off, name, sizeof(name), NULL, NULL), -1);
	/* a proper backward chain: 30 -> 20 ("b") -> 12? no: 20's pointer must go below 20 */
	pkt[22] = 0; /* "b." at 20 ends there */
	pkt[30] = 1, pkt[31] = 'c', pkt[32] = 0xc0, pkt[33] = 20;
	off = 30;
	assert_int_equal(hamn_dns_read_name(pkt, 40, &off, name, sizeof(name), NULL, NULL), 0);
	assert_string_equal(name, "c.b");
	assert_int_equal(off, 34);
}

static void dns_oversized_names_are_refused(void **state)
{
	uint8_t pkt[600] = {0};
	size_t pos = 12, off = 12;
	char name[HAMN_DNS_TEXT_NAME_MAX];
	struct hamn_dns_query q;

	(void)state;
	memcpy(pkt, "\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	/* four 63-byte labels: 256 bytes on the wire with the root, one too many */
	for (int i = 0; i < 4; i++) {
		pkt[pos++] = 63;
		memset(pkt + pos, 'a', 63);
		pos += 63;
	}
	pkt[pos++] = 0;
	pos += 4;
	assert_int_equal(hamn_dns_read_name(pkt, pos, &off, name, sizeof(name), NULL, NULL), -1);
	assert_int_equal(hamn_dns_parse_query(pkt, pos, &q), HAMN_DNS_PARSE_FORMERR);
	/* 63 + 63 + 63 + 61 + 5 = 255: the longest legal name */
	pkt[12 + 3 * 64] = 61;
	memmove(pkt + 12 + 3 * 64 + 1 + 61, pkt + 12 + 4 * 64, 5);
	off = 12;
	assert_int_equal(hamn_dns_read_name(pkt, 12 + 255, &off, name, sizeof(name), NULL, NULL),
			 0);
	assert_int_equal(strlen(name), 63 * 3 + 61 + 3);
	/* a too small output buffer is an error, not an overflow */
	off = 12;
	assert_int_equal(hamn_dns_read_name(pkt, 12 + 255, &off, name, 100, NULL, NULL), -1);
}

static void dns_odd_bytes_are_escaped(void **state)
{
	static const uint8_t body[] = {3, 'a', '.', 0, 2, '\\', 'B', 0, 0, 1, 0, 1};
	uint8_t pkt[64];
	struct hamn_dns_query q;
	size_t len = raw_query(pkt, body, sizeof(body), 1);

	(void)state;
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_OK);
	assert_string_equal(q.name, "a\\.\\000.\\\\B");
}

static void dns_random_packets_never_crash(void **state)
{
	uint8_t pkt[300];
	struct hamn_dns_query q;
	unsigned seed = 12345;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(pkt));

		for (size_t k = 0; k < len; k++)
			pkt[k] = (uint8_t)rand_r(&seed);
		if (len > 12 && (i & 1)) {
			pkt[2] &= 0x07; /* make half of them look like queries */
			pkt[4] = 0, pkt[5] = 1;
		}
		if (hamn_dns_parse_query(pkt, len, &q) == HAMN_DNS_PARSE_OK) {
			assert_true(q.qwire_len <= HAMN_DNS_WIRE_NAME_MAX + 4);
			assert_true(strlen(q.name) < sizeof(q.name));
		}
		(void)hamn_dns_response_matches(pkt, len, q.qwire, q.qwire_len);
	}
}

static void dns_response_matching(void **state)
{
	uint8_t pkt[512], resp[512];
	struct hamn_dns_query q;
	size_t len = hamn_dns_write_query(9, "web.example", HAMN_DNS_TYPE_A, pkt, sizeof(pkt));
	size_t rlen;

	(void)state;
	assert_int_equal(hamn_dns_parse_query(pkt, len, &q), HAMN_DNS_PARSE_OK);
	memcpy(resp, pkt, len);
	rlen = len;
	assert_false(hamn_dns_response_matches(resp, rlen, q.qwire, q.qwire_len)); /* no QR */
	resp[2] |= 0x80;
	assert_true(hamn_dns_response_matches(resp, rlen, q.qwire, q.qwire_len));
	resp[13] = 'W'; /* 0x20 case randomisation is fine */
	assert_true(hamn_dns_response_matches(resp, rlen, q.qwire, q.qwire_len));
	resp[14] = 'x';
	assert_false(hamn_dns_response_matches(resp, rlen, q.qwire, q.qwire_len));
	resp[14] = 'e';
	resp[rlen - 3] = HAMN_DNS_TYPE_AAAA; /* other type */
	assert_false(hamn_dns_response_matches(resp, rlen, q.qwire, q.qwire_len));
	assert_false(hamn_dns_response_matches(resp, 11, q.qwire, q.qwire_len));
}

static void dns_ptr_names(void **state)
{
	uint32_t a;
	const char *bad[] = {"1.2.3.in-addr.arpa",
			     "256.1.1.1.in-addr.arpa",
			     "1.2.3.4.in-addr.arpa.x",
			     "1.2.3.4.ip6.arpa",
			     "a.2.3.4.in-addr.arpa",
			     "1111.2.3.4.in-addr.arpa",
			     ""};

	(void)state;
	assert_int_equal(hamn_dns_parse_ptr_name("4.3.2.1.IN-ADDR.ARPA", &a), 0);
	assert_int_equal(a, ip("1.2.3.4"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hamn_dns_parse_ptr_name(bad[i], &a), -1);
}

/* ------------------------------------------------------------------ */
/* Embedded DNS answers                                                 */
/* ------------------------------------------------------------------ */

static char *alpha_names[] = {"alpha", "web", NULL};
static char *beta_names[] = {"beta", NULL};
static char *gamma_names[] = {"gamma", NULL};
static char *web2_names[] = {"web2", "web", NULL};

/* c1 and c2 on net A, c3 and c2 on net B; "web" is an alias of two containers on A */
static struct hamn_dns_record records[] = {
	{"e1", "c1", "A", alpha_names, 0x0a000002}, {"e2", "c2", "A", beta_names, 0x0a000003},
	{"e3", "c3", "B", gamma_names, 0x0a010002}, {"e4", "c2", "B", beta_names, 0x0a010003},
	{"e5", "c4", "A", web2_names, 0x0a000004},
};

static enum hamn_dns_verdict ask(const char *cid, bool fwd, const char *name, uint16_t type,
				 uint8_t *out, size_t *len)
{
	uint8_t pkt[512];
	struct hamn_dns_query q;
	size_t qlen = hamn_dns_write_query(77, name, type, pkt, sizeof(pkt));

	assert_int_equal(hamn_dns_parse_query(pkt, qlen, &q), HAMN_DNS_PARSE_OK);
	*len = 0;
	return hamn_dns_resolve(records, sizeof(records) / sizeof(records[0]), cid, fwd, &q, out,
				HAMN_DNS_UDP_MAX, len);
}

static void dns_resolve_scoped_to_the_containers_networks(void **state)
{
	uint8_t out[512];
	size_t len;
	uint32_t beta_a = 0x0a000003, gamma = 0x0a010002, webs[2] = {0x0a000002, 0x0a000004};

	(void)state;
	assert_int_equal(ask("c1", true, "beta", HAMN_DNS_TYPE_A, out, &len), HAMN_DNS_ANSWERED);
	check_a_answer(out, len, 77, 1, &beta_a, "beta");
	assert_int_equal(ask("c1", true, "BeTa", HAMN_DNS_TYPE_A, out, &len), HAMN_DNS_ANSWERED);
	/* c1 is not on B: gamma is somebody else's, ask upstream */
	assert_int_equal(ask("c1", true, "gamma", HAMN_DNS_TYPE_A, out, &len), HAMN_DNS_FORWARD);
	/* c2 is on both */
	assert_int_equal(ask("c2", true, "gamma", HAMN_DNS_TYPE_A, out, &len), HAMN_DNS_ANSWERED);
	check_a_answer(out, len, 77, 1, &gamma, "gamma");
	/* an alias shared by two containers gives both addresses */
	assert_int_equal(ask("c2", true, "web", HAMN_DNS_TYPE_A, out, &len), HAMN_DNS_ANSWERED);
	check_a_answer(out, len, 77, 2, webs, "web");
	/* a container that is on no network sees nothing */
	assert_int_equal(ask("zz", true, "beta", HAMN_DNS_TYPE_A, out, &len), HAMN_DNS_FORWARD);
}

static void dns_resolve_other_types(void **state)
{
	uint8_t out[512];
	size_t len, off = 12;
	char name[HAMN_DNS_TEXT_NAME_MAX];

	(void)state;
	/* AAAA of a known name: NOERROR without answers (IPv4 only) */
	assert_int_equal(ask("c1", true, "beta", HAMN_DNS_TYPE_AAAA, out, &len), HAMN_DNS_ANSWERED);
	assert_int_equal(out[3] & 0xf, HAMN_DNS_NOERROR);
	assert_int_equal(hamn_dns_get16(out + 6), 0);
	/* PTR of a known address in scope */
	assert_int_equal(ask("c1", true, "3.0.0.10.in-addr.arpa", HAMN_DNS_TYPE_PTR, out, &len),
			 HAMN_DNS_ANSWERED);
	assert_int_equal(hamn_dns_get16(out + 6), 1);
	assert_int_equal(hamn_dns_read_name(out, len, &off, name, sizeof(name), NULL, NULL), 0);
	off += 4;
	assert_int_equal(hamn_dns_read_name(out, len, &off, name, sizeof(name), NULL, NULL), 0);
	off += 10;
	assert_int_equal(hamn_dns_read_name(out, len, &off, name, sizeof(name), NULL, NULL), 0);
	assert_string_equal(name, "beta");
	/* PTR of an address out of scope is not ours */
	assert_int_equal(ask("c1", true, "2.0.1.10.in-addr.arpa", HAMN_DNS_TYPE_PTR, out, &len),
			 HAMN_DNS_FORWARD);
	/* internal-only containers get NXDOMAIN instead of forwarding */
	assert_int_equal(ask("c1", false, "example.com", HAMN_DNS_TYPE_A, out, &len),
			 HAMN_DNS_ANSWERED);
	assert_int_equal(out[3] & 0xf, HAMN_DNS_NXDOMAIN);
	assert_int_equal(hamn_dns_get16(out), 77);
}

/* ------------------------------------------------------------------ */
/* Port specs and modes                                                 */
/* ------------------------------------------------------------------ */

static struct hamn_net_port *ports(const char *spec, size_t *n)
{
	struct hamn_net_port *v = NULL;
	struct hamn_error *err = NULL;

	if (hamn_net_port_parse(spec, &v, n, &err) < 0)
		fail_msg("'%s': %s", spec, err->msg);
	return v;
}

static void port_specs(void **state)
{
	struct hamn_net_port *p;
	size_t n;

	(void)state;
	p = ports("80", &n);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].proto, IPPROTO_TCP);
	assert_int_equal(p[0].host_port, 0);
	assert_int_equal(p[0].container_port, 80);
	assert_string_equal(p[0].host_ip, "");
	free(p);
	p = ports("8080:80", &n);
	assert_int_equal(p[0].host_port, 8080);
	free(p);
	p = ports("127.0.0.1:8080:80/udp", &n);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].host_ip, "127.0.0.1");
	assert_int_equal(p[0].proto, IPPROTO_UDP);
	assert_int_equal(p[0].host_port, 8080);
	free(p);
	p = ports("8000-8002:80-82", &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(p[i].host_port, 8000 + i);
		assert_int_equal(p[i].host_port_end, 0);
		assert_int_equal(p[i].container_port, 80 + i);
	}
	free(p);
	p = ports("127.0.0.1::80/sctp", &n);
	assert_int_equal(p[0].host_port, 0);
	assert_int_equal(p[0].proto, IPPROTO_SCTP);
	free(p);
	p = ports("8000-8010:80", &n);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].host_port, 8000);
	assert_int_equal(p[0].host_port_end, 8010);
	free(p);
	p = ports("80-82/UDP", &n);
	assert_int_equal(n, 3);
	assert_int_equal(p[2].container_port, 82);
	assert_int_equal(p[2].host_port, 0);
	free(p);
	p = ports("0.0.0.0:8080:80", &n);
	assert_string_equal(p[0].host_ip, "");
	free(p);
}

static void port_specs_bad(void **state)
{
	const char *bad[] = {
		"",
		"abc",
		"8080:80/xyz",
		"70000:80",
		"8080:0",
		"0",
		"8000-8001:80-82",
		"[::1]:80:80",
		"::1:80:80",
		"80-70",
		"1.2.3:80:80",
		"8080:-80",
		"8080:+80",
		"a:b:c:d",
		"8080:80/",
		"-1:80",
		"80-",
		"1.2.3.4:x:80",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hamn_net_port *p = NULL;
		size_t n = 0;
		struct hamn_error *err = NULL;

		if (hamn_net_port_parse(bad[i], &p, &n, &err) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(err->errnum, EINVAL);
		hamn_error_free(&err);
	}
}

static void network_modes(void **state)
{
	struct hamn_net_mode m;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_net_mode_parse("", &m, NULL), 0);
	assert_int_equal(m.kind, HAMN_NET_MODE_BRIDGE);
	assert_int_equal(hamn_net_mode_parse("default", &m, NULL), 0);
	assert_int_equal(m.kind, HAMN_NET_MODE_BRIDGE);
	assert_int_equal(hamn_net_mode_parse("host", &m, NULL), 0);
	assert_int_equal(m.kind, HAMN_NET_MODE_HOST);
	assert_int_equal(hamn_net_mode_parse("none", &m, NULL), 0);
	assert_int_equal(m.kind, HAMN_NET_MODE_NONE);
	assert_int_equal(hamn_net_mode_parse("container:web", &m, NULL), 0);
	assert_int_equal(m.kind, HAMN_NET_MODE_CONTAINER);
	assert_string_equal(m.ref, "web");
	hamn_net_mode_release(&m);
	assert_int_equal(hamn_net_mode_parse("backend", &m, NULL), 0);
	assert_int_equal(m.kind, HAMN_NET_MODE_NETWORK);
	assert_string_equal(m.ref, "backend");
	hamn_net_mode_release(&m);
	expect_errno(hamn_net_mode_parse("container:", &m, &err), &err, EINVAL);
}

/* ------------------------------------------------------------------ */
/* /etc/hosts and /etc/resolv.conf                                      */
/* ------------------------------------------------------------------ */

static const char hosts_head[] = "127.0.0.1\tlocalhost\n"
				 "::1\tlocalhost ip6-localhost ip6-loopback\n"
				 "fe00::0\tip6-localnet\n"
				 "ff00::0\tip6-mcastprefix\n"
				 "ff02::1\tip6-allnodes\n"
				 "ff02::2\tip6-allrouters\n";

static void hosts_files(void **state)
{
	char *ips[] = {"10.0.0.2", "10.1.0.2", NULL};
	char *extra[] = {"db:10.9.9.9", "v6=::1", "br:[fe80::1]", NULL};
	struct hamn_net_hosts_opts o = {.hostname = "4f2a", .ips = ips};
	_cleanup_free_ char *want = NULL;
	char *text = NULL;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_net_hosts_content(&o, &text, NULL), 0);
	want = xasprintf("%s10.0.0.2\t4f2a\n10.1.0.2\t4f2a\n", hosts_head);
	assert_string_equal(text, want);
	free(text);
	free(want);
	o.domainname = "example.org";
	o.extra_hosts = extra;
	o.ips = NULL;
	assert_int_equal(hamn_net_hosts_content(&o, &text, NULL), 0);
	want = xasprintf("%s10.9.9.9\tdb\n::1\tv6\nfe80::1\tbr\n", hosts_head);
	assert_string_equal(text, want);
	free(text);
	extra[0] = "nocolon";
	expect_errno(hamn_net_hosts_content(&o, &text, &err), &err, EINVAL);
	extra[0] = "db:not-an-ip";
	expect_errno(hamn_net_hosts_content(&o, &text, &err), &err, EINVAL);
	o.extra_hosts = NULL;
	o.hostname = "bad name";
	expect_errno(hamn_net_hosts_content(&o, &text, &err), &err, EINVAL);
}

static const char host_resolv[] = "# managed by someone\n"
				  "nameserver 127.0.0.53\n"
				  "nameserver 10.0.0.2  # the LAN\n"
				  "nameserver fd00::1\n"
				  "domain old.example\n"
				  "search a.example b.example\n"
				  "options edns0 ndots:2\n"
				  "options timeout:1\n";

static void resolv_files(void **state)
{
	struct hamn_net_resolv_opts o = {.host_resolv = host_resolv, .embedded_dns = true};
	char *dns[] = {"1.1.1.1", NULL}, *opts[] = {"attempts:3", NULL};
	char *text;
	char **ns;

	(void)state;
	text = hamn_net_resolv_content(&o);
	assert_string_equal(text, "nameserver 127.0.0.11\nsearch a.example b.example\n"
				  "options edns0 ndots:2 timeout:1\n");
	free(text);
	/* without ndots in the options, embedded DNS adds ndots:0 */
	o.dns_options = opts;
	text = hamn_net_resolv_content(&o);
	assert_string_equal(text, "nameserver 127.0.0.11\nsearch a.example b.example\n"
				  "options attempts:3 ndots:0\n");
	free(text);
	/* default bridge: host servers minus loopback (and IPv6) */
	o.embedded_dns = false;
	o.dns_options = NULL;
	text = hamn_net_resolv_content(&o);
	assert_string_equal(text, "nameserver 10.0.0.2\nsearch a.example b.example\n"
				  "options edns0 ndots:2 timeout:1\n");
	free(text);
	o.host_resolv = "nameserver 127.0.0.53\n";
	text = hamn_net_resolv_content(&o);
	assert_string_equal(text, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	free(text);
	o.dns = dns;
	text = hamn_net_resolv_content(&o);
	assert_string_equal(text, "nameserver 1.1.1.1\n");
	free(text);
	ns = hamn_net_resolv_nameservers(host_resolv);
	assert_int_equal(strv_len(ns), 3);
	assert_string_equal(ns[0], "127.0.0.53");
	assert_string_equal(ns[1], "10.0.0.2");
	hamn_strv_free(ns);
	ns = hamn_net_resolv_nameservers(NULL);
	assert_non_null(ns);
	assert_null(ns[0]);
	hamn_strv_free(ns);
}

/* ------------------------------------------------------------------ */
/* The nft script                                                       */
/* ------------------------------------------------------------------ */

static const char golden_ruleset[] =
	"add table ip hamn_t\n"
	"delete table ip hamn_t\n"
	"table ip hamn_t {\n"
	"\tset bridges {\n"
	"\t\ttype ifname\n"
	"\t\telements = { \"hamn0\", \"br-int\" }\n"
	"\t}\n\n"
	"\tchain guard {\n"
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
	"\t}\n\n"
	"\tchain publish {\n"
	"\t\tip daddr 127.0.0.1 tcp dport 8080 dnat to 172.17.0.2:80 comment \"ep=1\"\n"
	"\t\tudp dport 5353 dnat to 172.17.0.3:53\n"
	"\t}\n\n"
	"\tchain postrouting {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\toifname \"hamn0\" ip saddr 127.0.0.0/8 masquerade\n"
	"\t\toifname \"hamn0\" ip saddr 172.17.0.0/16 ct status dnat masquerade\n"
	"\t\toifname != \"hamn0\" ip saddr 172.17.0.0/16 masquerade\n"
	"\t\toifname \"br-int\" ip saddr 127.0.0.0/8 masquerade\n"
	"\t\toifname \"br-int\" ip saddr 10.9.0.0/24 ct status dnat masquerade\n"
	"\t}\n\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname \"br-int\" oifname != \"br-int\" counter drop\n"
	"\t\toifname \"br-int\" iifname != \"br-int\" counter drop\n"
	"\t\tct state established,related accept\n"
	"\t\tct status dnat accept\n"
	"\t\tiifname \"hamn0\" oifname != \"hamn0\" oifname @bridges counter drop\n"
	"\t\tiifname \"br-int\" oifname \"br-int\" counter drop\n"
	"\t\tiifname \"br-int\" oifname != \"br-int\" oifname @bridges counter drop\n"
	"\t}\n"
	"}\n";

static const struct hamn_nft_bridge golden_bridges[] = {
	{"hamn0", {0xac110000, 16}, false, true, true},
	{"br-int", {0x0a090000, 24}, true, true, false},
};

static const struct hamn_nft_port golden_ports[] = {
	{IPPROTO_TCP, 0x7f000001, 8080, 0xac110002, 80, "ep=1"},
	{IPPROTO_UDP, 0, 5353, 0xac110003, 53, NULL},
};

static void nft_ruleset_text(void **state)
{
	_cleanup_free_ char *text = hamn_nft_ruleset("hamn_t", golden_bridges, 2, golden_ports, 2);
	_cleanup_free_ char *empty = hamn_nft_ruleset("hamn_t", NULL, 0, NULL, 0);
	_cleanup_free_ char *del = hamn_nft_delete_script("hamn_t");

	(void)state;
	assert_string_equal(text, golden_ruleset);
	/* no bridges: an empty set (an empty element list is a syntax error) */
	assert_non_null(strstr(empty, "\tset bridges {\n\t\ttype ifname\n\t}\n"));
	assert_null(strstr(empty, "elements"));
	assert_string_equal(del, "add table ip hamn_t\ndelete table ip hamn_t\n");
}

/* When root, let libnftables check the scripts without touching the kernel's rules. */
static void nft_ruleset_is_valid_nft(void **state)
{
	_cleanup_free_ char *text =
		hamn_nft_ruleset("hamn_unit", golden_bridges, 2, golden_ports, 2);
	_cleanup_free_ char *empty = hamn_nft_ruleset("hamn_unit", NULL, 0, NULL, 0);
	struct nft_ctx *nft;

	(void)state;
	if (geteuid() != 0)
		skip();
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	assert_non_null(nft);
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	nft_ctx_set_dry_run(nft, true);
	if (nft_run_cmd_from_buffer(nft, text) != 0)
		fail_msg("nft refused the script: %s", nft_ctx_get_error_buffer(nft));
	if (nft_run_cmd_from_buffer(nft, empty) != 0)
		fail_msg("nft refused the empty script: %s", nft_ctx_get_error_buffer(nft));
	nft_ctx_free(nft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefixes_parse_and_normalise),
		cmocka_unit_test(prefixes_overlap),
		cmocka_unit_test(subnet_pick_avoids_routes_and_networks),
		cmocka_unit_test(subnet_pick_docker_defaults),
		cmocka_unit_test(ipam_allocates_all_hosts_then_enospc),
		cmocka_unit_test(ipam_released_address_is_reused_last),
		cmocka_unit_test(ipam_static_addresses),
		cmocka_unit_test(ipam_range_and_bad_setups),
		cmocka_unit_test(ipam_state_survives_a_reload),
		cmocka_unit_test(ipam_reload_rejects_inconsistent_state),
		cmocka_unit_test(dns_query_round_trip),
		cmocka_unit_test(dns_answer_a_records),
		cmocka_unit_test(dns_parse_hostile_headers),
		cmocka_unit_test(dns_parse_hostile_names),
		cmocka_unit_test(dns_compression_loops_are_refused),
		cmocka_unit_test(dns_oversized_names_are_refused),
		cmocka_unit_test(dns_odd_bytes_are_escaped),
		cmocka_unit_test(dns_random_packets_never_crash),
		cmocka_unit_test(dns_response_matching),
		cmocka_unit_test(dns_ptr_names),
		cmocka_unit_test(dns_resolve_scoped_to_the_containers_networks),
		cmocka_unit_test(dns_resolve_other_types),
		cmocka_unit_test(port_specs),
		cmocka_unit_test(port_specs_bad),
		cmocka_unit_test(network_modes),
		cmocka_unit_test(hosts_files),
		cmocka_unit_test(resolv_files),
		cmocka_unit_test(nft_ruleset_text),
		cmocka_unit_test(nft_ruleset_is_valid_nft),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

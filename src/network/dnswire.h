/*
 * dnswire.h - the DNS wire format (RFC 1035), just what the embedded DNS
 * server needs: read a query, write an answer, check a forwarded reply.
 *
 * Every reader takes untrusted bytes: lengths are checked before each read,
 * compression pointers must point strictly backwards (so they cannot loop),
 * names are limited to 255 bytes on the wire and labels to 63.
 * Used by src/network/ (its .c files) and tests/unit/test_network.c only.
 */
#ifndef HAMN_NETWORK_DNSWIRE_H
#define HAMN_NETWORK_DNSWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	HAMN_DNS_TYPE_A = 1,
	HAMN_DNS_TYPE_CNAME = 5,
	HAMN_DNS_TYPE_PTR = 12,
	HAMN_DNS_TYPE_AAAA = 28,
	HAMN_DNS_TYPE_ANY = 255,
	HAMN_DNS_CLASS_IN = 1,
};

enum {
	HAMN_DNS_NOERROR = 0,
	HAMN_DNS_FORMERR = 1,
	HAMN_DNS_SERVFAIL = 2,
	HAMN_DNS_NXDOMAIN = 3,
	HAMN_DNS_NOTIMP = 4,
	HAMN_DNS_REFUSED = 5,
};

#define HAMN_DNS_HEADER_LEN 12
#define HAMN_DNS_UDP_MAX 512 /* an answer to a query without EDNS */
#define HAMN_DNS_WIRE_NAME_MAX 255
/* Presentation form: each wire byte may become "\DDD". */
#define HAMN_DNS_TEXT_NAME_MAX (HAMN_DNS_WIRE_NAME_MAX * 4 + 1)

/* Flag bits of the header's second word. */
#define HAMN_DNS_QR 0x8000
#define HAMN_DNS_AA 0x0400
#define HAMN_DNS_TC 0x0200
#define HAMN_DNS_RD 0x0100
#define HAMN_DNS_RA 0x0080
#define HAMN_DNS_OPCODE(f) (((f) >> 11) & 0xf)

struct hamn_dns_query {
	uint16_t id;
	uint16_t flags;
	char name[HAMN_DNS_TEXT_NAME_MAX]; /* "web.example", no trailing dot; "" = root */
	uint16_t qtype;
	uint16_t qclass;
	/* The question as it should be echoed: name uncompressed, type, class. */
	uint8_t qwire[HAMN_DNS_WIRE_NAME_MAX + 4];
	size_t qwire_len;
};

enum hamn_dns_parse_result {
	HAMN_DNS_PARSE_OK = 0,
	HAMN_DNS_PARSE_DROP = -1,    /* not even a query header: no reply possible */
	HAMN_DNS_PARSE_FORMERR = -2, /* header read (id, flags set): reply FORMERR */
	HAMN_DNS_PARSE_NOTIMP = -3,  /* not a standard query: reply NOTIMP */
};

/*
 * Read the name at *off of pkt into out (presentation form, at most cap
 * bytes with the NUL) and its uncompressed wire form into wire (may be
 * NULL; HAMN_DNS_WIRE_NAME_MAX bytes) with *wire_len. *off moves past the
 * name where it sits (a pointer counts 2 bytes). Returns 0, or -1 for a
 * truncated name, a forward or looping pointer, a reserved label type, a
 * label over 63 or a name over 255 bytes, or out being too small.
 */
int hamn_dns_read_name(const uint8_t *pkt, size_t len, size_t *off, char *out, size_t cap,
		       uint8_t *wire, size_t *wire_len);

/* Parse a query: exactly one question; additional records (EDNS) are ignored. */
enum hamn_dns_parse_result hamn_dns_parse_query(const uint8_t *pkt, size_t len,
						struct hamn_dns_query *q);

/*
 * Write the answer to q into out (cap bytes; at least HAMN_DNS_HEADER_LEN +
 * q->qwire_len): rcode, then one A record per addrs[] (TTL ttl) or one PTR
 * record naming ptr_name when it is not NULL. Records that do not fit are
 * left out and TC is set. Returns the length written, 0 if even the
 * question does not fit.
 */
size_t hamn_dns_write_answer(const struct hamn_dns_query *q, int rcode, const uint32_t *addrs,
			     size_t n_addrs, const char *ptr_name, uint32_t ttl, uint8_t *out,
			     size_t cap);

/* A bare header reply (FORMERR, NOTIMP, SERVFAIL) to id/flags. Writes 12 bytes. */
size_t hamn_dns_write_error(uint16_t id, uint16_t flags, int rcode, uint8_t *out);

/* Encode a plain name ("a.b", trailing dot optional) into wire form. Length or -1. */
int hamn_dns_encode_name(const char *name, uint8_t *out, size_t cap);

/* A standard query with RD for name/qtype (tests and tools). Length, or 0 if it does not fit. */
size_t hamn_dns_write_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out,
			    size_t cap);

/*
 * Is pkt a response (QR set) whose question section equals qwire (names
 * compared case-insensitively, as resolvers may randomise case)?
 */
bool hamn_dns_response_matches(const uint8_t *pkt, size_t len, const uint8_t *qwire,
			       size_t qwire_len);

/* "4.3.2.1.in-addr.arpa" -> 1.2.3.4 (host order). -1 when name is not such a name. */
int hamn_dns_parse_ptr_name(const char *name, uint32_t *addr);

static inline uint16_t hamn_dns_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void hamn_dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif

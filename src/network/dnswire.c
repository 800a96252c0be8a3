/*
 * dnswire.c - reading and writing DNS messages (RFC 1035 section 4).
 *
 * Only what a stub-facing server needs: one-question queries in, A/PTR/empty
 * answers and error replies out, and a check that a forwarded reply answers
 * the question we sent. Compression is read, never written (except the
 * 0xC00C pointer of answers to the question name).
 */
#include <ctype.h>
#include <strings.h>

#include "base/base.h"
#include "network/dnswire.h"

struct text_out {
	char *buf;
	size_t cap;
	size_t len;
};

static int text_put(struct text_out *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap)
		return -1;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

/* Append one label in presentation form: '.' and '\' escaped, odd bytes as \DDD. */
static int text_label(struct text_out *t, const uint8_t *label, size_t n)
{
	if (t->len > 0 && text_put(t, ".", 1) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = label[i];
		char esc[5];

		if (c == '.' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			if (text_put(t, esc, 2) < 0)
				return -1;
		} else if (c < 0x21 || c > 0x7e) {
			snprintf(esc, sizeof(esc), "\\%03u", c);
			if (text_put(t, esc, 4) < 0)
				return -1;
		} else if (text_put(t, (const char *)&c, 1) < 0) {
			return -1;
		}
	}
	return 0;
}

int hamn_dns_read_name(const uint8_t *pkt, size_t len, size_t *off, char *out, size_t cap,
		       uint8_t *wire, size_t *wire_len)
{
	struct text_out t = {out, cap, 0};
	size_t pos = *off, limit = *off, end = 0, wl = 0;
	bool jumped = false;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -1;
		c = pkt[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return -1;
			target = ((size_t)(c & 0x3f) << 8) | pkt[pos + 1];
			/*
			 * Every jump must land before the previous one's target (or
			 * the start of the name): positions strictly decrease, so a
			 * loop is impossible and the walk ends within len jumps.
			 */
			if (target >= limit || target < HAMN_DNS_HEADER_LEN)
				return -1;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			limit = pos = target;
			continue;
		}
		if (c & 0xc0)
			return -1; /* 0x40 and 0x80: extended/reserved label types */
		if (c == 0)
			break;
		if (pos + 1 + c > len || wl + 1 + c + 1 > HAMN_DNS_WIRE_NAME_MAX)
			return -1;
		if (wire)
			memcpy(wire + wl, pkt + pos, 1 + (size_t)c);
		wl += 1 + (size_t)c;
		if (text_label(&t, pkt + pos + 1, c) < 0)
			return -1;
		pos += 1 + (size_t)c;
	}
	if (wire)
		wire[wl] = 0;
	if (wire_len)
		*wire_len = wl + 1;
	*off = jumped ? end : pos + 1;
	return 0;
}

enum hamn_dns_parse_result hamn_dns_parse_query(const uint8_t *pkt, size_t len,
						struct hamn_dns_query *q)
{
	size_t off = HAMN_DNS_HEADER_LEN, wl = 0;

	memset(q, 0, sizeof(*q));
	if (len < HAMN_DNS_HEADER_LEN)
		return HAMN_DNS_PARSE_DROP;
	q->id = hamn_dns_get16(pkt);
	q->flags = hamn_dns_get16(pkt + 2);
	if (q->flags & HAMN_DNS_QR)
		return HAMN_DNS_PARSE_DROP; /* never answer an answer: no reflection loops */
	if (HAMN_DNS_OPCODE(q->flags) != 0)
		return HAMN_DNS_PARSE_NOTIMP;
	if (hamn_dns_get16(pkt + 4) != 1)
		return HAMN_DNS_PARSE_FORMERR;
	if (hamn_dns_read_name(pkt, len, &off, q->name, sizeof(q->name), q->qwire, &wl) < 0)
		return HAMN_DNS_PARSE_FORMERR;
	if (off + 4 > len)
		return HAMN_DNS_PARSE_FORMERR;
	q->qtype = hamn_dns_get16(pkt + off);
	q->qclass = hamn_dns_get16(pkt + off + 2);
	memcpy(q->qwire + wl, pkt + off, 4);
	q->qwire_len = wl + 4;
	return HAMN_DNS_PARSE_OK;
}

static void write_header(uint8_t *out, uint16_t id, uint16_t qflags, uint16_t extra, int rcode,
			 uint16_t qd)
{
	uint16_t flags = HAMN_DNS_QR | (qflags & (0x7800 | HAMN_DNS_RD)) | HAMN_DNS_RA | extra |
			 (uint16_t)(rcode & 0xf);

	hamn_dns_put16(out, id);
	hamn_dns_put16(out + 2, flags);
	hamn_dns_put16(out + 4, qd);
	memset(out + 6, 0, 6);
}

size_t hamn_dns_write_error(uint16_t id, uint16_t flags, int rcode, uint8_t *out)
{
	write_header(out, id, flags, 0, rcode, 0);
	return HAMN_DNS_HEADER_LEN;
}

/* One resource record owned by the question name (pointer 0xC00C). 0 if it does not fit. */
static size_t put_record(uint8_t *out, size_t pos, size_t cap, uint16_t type, uint32_t ttl,
			 const uint8_t *rdata, size_t rdlen)
{
	if (pos + 12 + rdlen > cap)
		return 0;
	hamn_dns_put16(out + pos, 0xc000 | HAMN_DNS_HEADER_LEN);
	hamn_dns_put16(out + pos + 2, type);
	hamn_dns_put16(out + pos + 4, HAMN_DNS_CLASS_IN);
	hamn_dns_put16(out + pos + 6, (uint16_t)(ttl >> 16));
	hamn_dns_put16(out + pos + 8, (uint16_t)ttl);
	hamn_dns_put16(out + pos + 10, (uint16_t)rdlen);
	memcpy(out + pos + 12, rdata, rdlen);
	return 12 + rdlen;
}

size_t hamn_dns_write_answer(const struct hamn_dns_query *q, int rcode, const uint32_t *addrs,
			     size_t n_addrs, const char *ptr_name, uint32_t ttl, uint8_t *out,
			     size_t cap)
{
	size_t pos = HAMN_DNS_HEADER_LEN + q->qwire_len, n = 0, rec;
	uint16_t tc = 0;

	if (cap < pos)
		return 0;
	memcpy(out + HAMN_DNS_HEADER_LEN, q->qwire, q->qwire_len);
	for (size_t i = 0; i < n_addrs; i++) {
		uint8_t a[4] = {addrs[i] >> 24, addrs[i] >> 16, addrs[i] >> 8, addrs[i]};

		rec = put_record(out, pos, cap, HAMN_DNS_TYPE_A, ttl, a, 4);
		if (!rec) {
			tc = HAMN_DNS_TC;
			break;
		}
		pos += rec;
		n++;
	}
	if (ptr_name) {
		uint8_t wire[HAMN_DNS_WIRE_NAME_MAX];
		int wl = hamn_dns_encode_name(ptr_name, wire, sizeof(wire));

		rec = wl > 0 ? put_record(out, pos, cap, HAMN_DNS_TYPE_PTR, ttl, wire, (size_t)wl)
			     : 0;
		if (rec) {
			pos += rec;
			n++;
		} else {
			tc = wl > 0 ? HAMN_DNS_TC : 0;
		}
	}
	write_header(out, q->id, q->flags, HAMN_DNS_AA | tc, rcode, 1);
	hamn_dns_put16(out + 6, (uint16_t)n);
	return pos;
}

int hamn_dns_encode_name(const char *name, uint8_t *out, size_t cap)
{
	size_t pos = 0;
	const char *p = name;

	if (streq(name, ".") || !*name) {
		if (cap < 1)
			return -1;
		out[0] = 0;
		return 1;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n == 0 || n > 63 || pos + 1 + n + 1 > cap || pos + 1 + n + 1 > 255)
			return -1;
		out[pos] = (uint8_t)n;
		memcpy(out + pos + 1, p, n);
		pos += 1 + n;
		p += n;
		if (*p == '.')
			p++;
	}
	out[pos++] = 0;
	return (int)pos;
}

size_t hamn_dns_write_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out, size_t cap)
{
	int wl;

	if (cap < HAMN_DNS_HEADER_LEN + 4)
		return 0;
	wl = hamn_dns_encode_name(name, out + HAMN_DNS_HEADER_LEN, cap - HAMN_DNS_HEADER_LEN - 4);
	if (wl < 0)
		return 0;
	hamn_dns_put16(out, id);
	hamn_dns_put16(out + 2, HAMN_DNS_RD);
	hamn_dns_put16(out + 4, 1);
	memset(out + 6, 0, 6);
	hamn_dns_put16(out + HAMN_DNS_HEADER_LEN + wl, qtype);
	hamn_dns_put16(out + HAMN_DNS_HEADER_LEN + wl + 2, HAMN_DNS_CLASS_IN);
	return HAMN_DNS_HEADER_LEN + (size_t)wl + 4;
}

bool hamn_dns_response_matches(const uint8_t *pkt, size_t len, const uint8_t *qwire,
			       size_t qwire_len)
{
	uint8_t wire[HAMN_DNS_WIRE_NAME_MAX + 4];
	char text[HAMN_DNS_TEXT_NAME_MAX];
	size_t off = HAMN_DNS_HEADER_LEN, wl = 0;

	if (len < HAMN_DNS_HEADER_LEN || !(hamn_dns_get16(pkt + 2) & HAMN_DNS_QR) ||
	    hamn_dns_get16(pkt + 4) != 1)
		return false;
	if (hamn_dns_read_name(pkt, len, &off, text, sizeof(text), wire, &wl) < 0 ||
	    off + 4 > len || wl + 4 != qwire_len)
		return false;
	for (size_t i = 0; i < wl; i++)
		if (tolower(wire[i]) != tolower(qwire[i]))
			return false;
	return memcmp(pkt + off, qwire + wl, 4) == 0;
}

/* One decimal octet "0".."255" ending at '.'; advances *p past the dot. */
static int octet(const char **p, unsigned *out)
{
	unsigned v = 0;
	int digits = 0;

	while (isdigit((unsigned char)**p) && digits < 4) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		digits++;
	}
	if (digits == 0 || digits > 3 || v > 255 || **p != '.')
		return -1;
	(*p)++;
	*out = v;
	return 0;
}

int hamn_dns_parse_ptr_name(const char *name, uint32_t *addr)
{
	const char *p = name;
	unsigned o[4];

	for (int i = 0; i < 4; i++)
		if (octet(&p, &o[i]) < 0)
			return -1;
	if (strcasecmp(p, "in-addr.arpa") != 0)
		return -1;
	*addr = (uint32_t)o[3] << 24 | (uint32_t)o[2] << 16 | (uint32_t)o[1] << 8 | o[0];
	return 0;
}

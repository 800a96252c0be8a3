/*
 * dnsresolve.c - what the embedded DNS server answers by itself (pure).
 *
 * Scope: a container sees the names of every endpoint on the networks it
 * has an endpoint on, and nothing else, as docker's embedded DNS does.
 */
#include <strings.h>

#include "base/base.h"
#include "network/dns.h"

#define MAX_ADDRS 64

static bool in_scope(const struct hamn_dns_record *recs, size_t n, const char *container_id,
		     const char *network_id)
{
	for (size_t i = 0; i < n; i++)
		if (streq(recs[i].container_id, container_id) &&
		    streq(recs[i].network_id, network_id))
			return true;
	return false;
}

static bool has_name(const struct hamn_dns_record *r, const char *name)
{
	for (char **s = r->names; s && *s; s++)
		if (strcasecmp(*s, name) == 0)
			return true;
	return false;
}

static void add_unique(uint32_t *addrs, size_t *n, uint32_t a)
{
	for (size_t i = 0; i < *n; i++)
		if (addrs[i] == a)
			return;
	if (*n < MAX_ADDRS)
		addrs[(*n)++] = a;
}

/* The first name of a record in scope holding address a, or NULL. */
static const char *name_of(const struct hamn_dns_record *recs, size_t n, const char *container_id,
			   uint32_t a)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].ip == a && recs[i].names && recs[i].names[0] &&
		    in_scope(recs, n, container_id, recs[i].network_id))
			return recs[i].names[0];
	return NULL;
}

static enum hamn_dns_verdict not_ours(const struct hamn_dns_query *q, bool may_forward,
				      uint8_t *out, size_t cap, size_t *out_len)
{
	if (may_forward)
		return HAMN_DNS_FORWARD;
	*out_len = hamn_dns_write_answer(q, HAMN_DNS_NXDOMAIN, NULL, 0, NULL, 0, out, cap);
	return HAMN_DNS_ANSWERED;
}

enum hamn_dns_verdict hamn_dns_resolve(const struct hamn_dns_record *recs, size_t n_recs,
				       const char *container_id, bool may_forward,
				       const struct hamn_dns_query *q, uint8_t *out, size_t cap,
				       size_t *out_len)
{
	uint32_t addrs[MAX_ADDRS], ptr_addr;
	size_t n = 0;

	if (q->qclass != HAMN_DNS_CLASS_IN && q->qclass != HAMN_DNS_TYPE_ANY)
		return not_ours(q, may_forward, out, cap, out_len);
	if (q->qtype == HAMN_DNS_TYPE_PTR && hamn_dns_parse_ptr_name(q->name, &ptr_addr) == 0) {
		const char *name = name_of(recs, n_recs, container_id, ptr_addr);

		if (!name)
			return not_ours(q, may_forward, out, cap, out_len);
		*out_len = hamn_dns_write_answer(q, HAMN_DNS_NOERROR, NULL, 0, name, HAMN_DNS_TTL,
						 out, cap);
		return HAMN_DNS_ANSWERED;
	}
	for (size_t i = 0; i < n_recs; i++)
		if (has_name(&recs[i], q->name) &&
		    in_scope(recs, n_recs, container_id, recs[i].network_id))
			add_unique(addrs, &n, recs[i].ip);
	if (n == 0)
		return not_ours(q, may_forward, out, cap, out_len);
	if (q->qtype != HAMN_DNS_TYPE_A && q->qtype != HAMN_DNS_TYPE_ANY)
		n = 0; /* a name we own, a type we do not have (AAAA, MX, ...): empty answer */
	*out_len =
		hamn_dns_write_answer(q, HAMN_DNS_NOERROR, addrs, n, NULL, HAMN_DNS_TTL, out, cap);
	return HAMN_DNS_ANSWERED;
}

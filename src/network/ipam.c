/*
 * ipam.c - IPv4 prefixes, subnet picking from pools and per-subnet address
 * allocation. Pure: the caller supplies the host's routes and persists the
 * JSON form; nothing here talks to the kernel or the disk.
 */
#include <arpa/inet.h>

#include "base/base.h"
#include "network/ipam.h"

int hamn_ipv4_parse(const char *s, uint32_t *out, struct hamn_error **err)
{
	struct in_addr a;

	/* inet_pton takes exactly four decimal parts: no "10.1", no octal, no hex */
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return hamn_error_setq(err, EINVAL, "invalid IPv4 address '%s'", s ? s : "");
	*out = ntohl(a.s_addr);
	return 0;
}

uint32_t hamn_ipv4_mask(int len)
{
	return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len);
}

int hamn_ipv4_net_parse(const char *s, struct hamn_ipv4_net *out, struct hamn_error **err)
{
	_cleanup_free_ char *addr = NULL;
	const char *slash = s ? strchr(s, '/') : NULL;
	int64_t len;
	uint32_t a;

	if (!slash || slash[1] == '\0')
		return hamn_error_setq(err, EINVAL, "invalid subnet '%s': want ADDRESS/LENGTH",
				       s ? s : "");
	addr = xstrndup(s, (size_t)(slash - s));
	if (hamn_ipv4_parse(addr, &a, NULL) < 0 || hamn_parse_int64(slash + 1, &len, NULL) < 0 ||
	    len < 0 || len > 32 || slash[1] == '+' || slash[1] == '-')
		return hamn_error_setq(err, EINVAL, "invalid subnet '%s'", s);
	out->len = (int)len;
	out->addr = a & hamn_ipv4_mask(out->len);
	return 0;
}

const char *hamn_ipv4_str(uint32_t a, char buf[HAMN_IPV4_STR_MAX])
{
	snprintf(buf, HAMN_IPV4_STR_MAX, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		 a & 0xff);
	return buf;
}

const char *hamn_ipv4_net_str(const struct hamn_ipv4_net *n, char buf[HAMN_IPV4_NET_STR_MAX])
{
	char a[HAMN_IPV4_STR_MAX];

	snprintf(buf, HAMN_IPV4_NET_STR_MAX, "%s/%d", hamn_ipv4_str(n->addr, a), n->len);
	return buf;
}

bool hamn_ipv4_net_contains(const struct hamn_ipv4_net *n, uint32_t a)
{
	return (a & hamn_ipv4_mask(n->len)) == n->addr;
}

bool hamn_ipv4_net_overlaps(const struct hamn_ipv4_net *a, const struct hamn_ipv4_net *b)
{
	int len = a->len < b->len ? a->len : b->len;
	uint32_t m = hamn_ipv4_mask(len);

	/* two prefixes overlap exactly when the shorter one contains the other */
	return (a->addr & m) == (b->addr & m);
}

static bool overlaps_any(const struct hamn_ipv4_net *n, const struct hamn_ipv4_net *taken,
			 size_t n_taken)
{
	for (size_t i = 0; i < n_taken; i++)
		if (hamn_ipv4_net_overlaps(n, &taken[i]))
			return true;
	return false;
}

int hamn_ipam_pick_subnet(const struct hamn_ipam_pool *pools, size_t n_pools,
			  const struct hamn_ipv4_net *taken, size_t n_taken,
			  struct hamn_ipv4_net *out, struct hamn_error **err)
{
	for (size_t p = 0; p < n_pools; p++) {
		const struct hamn_ipam_pool *pool = &pools[p];
		uint64_t count, step;

		if (pool->size < pool->base.len || pool->size > 30)
			continue;
		count = 1ull << (pool->size - pool->base.len);
		step = 1ull << (32 - pool->size);
		for (uint64_t i = 0; i < count; i++) {
			struct hamn_ipv4_net cand = {
				.addr = pool->base.addr + (uint32_t)(i * step),
				.len = pool->size,
			};
			if (!overlaps_any(&cand, taken, n_taken)) {
				*out = cand;
				return 0;
			}
		}
	}
	return hamn_error_setq(err, ENOSPC, "no free subnet left in the default address pools");
}

/* ------------------------------------------------------------------ */
/* Allocation within one subnet                                         */
/* ------------------------------------------------------------------ */

int hamn_ipam_init(struct hamn_ipam *ipam, const struct hamn_ipv4_net *subnet,
		   const struct hamn_ipv4_net *range, uint32_t gateway, struct hamn_error **err)
{
	char s[HAMN_IPV4_NET_STR_MAX], r[HAMN_IPV4_NET_STR_MAX], g[HAMN_IPV4_STR_MAX];

	memset(ipam, 0, sizeof(*ipam));
	if (subnet->len < 1 || subnet->len > 30)
		return hamn_error_setq(err, EINVAL,
				       "subnet '%s' must have a prefix length of 1 to 30",
				       hamn_ipv4_net_str(subnet, s));
	ipam->subnet = *subnet;
	ipam->range = range ? *range : *subnet;
	if (ipam->range.len < subnet->len || !hamn_ipv4_net_contains(subnet, ipam->range.addr))
		return hamn_error_setq(err, EINVAL, "ip range '%s' is not inside subnet '%s'",
				       hamn_ipv4_net_str(&ipam->range, r),
				       hamn_ipv4_net_str(subnet, s));
	if (gateway && (!hamn_ipv4_net_contains(subnet, gateway) || gateway == subnet->addr ||
			gateway == hamn_ipv4_broadcast(subnet)))
		return hamn_error_setq(err, EINVAL, "gateway '%s' is not a host address of '%s'",
				       hamn_ipv4_str(gateway, g), hamn_ipv4_net_str(subnet, s));
	ipam->gateway = gateway;
	ipam->next = ipam->range.addr;
	return 0;
}

void hamn_ipam_release_all(struct hamn_ipam *ipam)
{
	free(ipam->used);
	ipam->used = NULL;
	ipam->n_used = ipam->cap = 0;
}

/* Index of the first element of used[] >= a. */
static size_t lower_bound(const struct hamn_ipam *ipam, uint32_t a)
{
	size_t lo = 0, hi = ipam->n_used;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ipam->used[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool hamn_ipam_is_used(const struct hamn_ipam *ipam, uint32_t a)
{
	size_t i = lower_bound(ipam, a);

	return i < ipam->n_used && ipam->used[i] == a;
}

static bool never_handed_out(const struct hamn_ipam *ipam, uint32_t a)
{
	return a == ipam->subnet.addr || a == hamn_ipv4_broadcast(&ipam->subnet) ||
	       (ipam->gateway && a == ipam->gateway);
}

static void insert_used(struct hamn_ipam *ipam, uint32_t a)
{
	size_t i = lower_bound(ipam, a);

	if (ipam->n_used == ipam->cap) {
		ipam->cap = ipam->cap ? ipam->cap * 2 : 16;
		ipam->used = xreallocarray(ipam->used, ipam->cap, sizeof(*ipam->used));
	}
	memmove(&ipam->used[i + 1], &ipam->used[i], (ipam->n_used - i) * sizeof(*ipam->used));
	ipam->used[i] = a;
	ipam->n_used++;
}

/* The first free address in [from, to], or 0. Skips runs of used ones in one walk. */
static uint32_t first_free(const struct hamn_ipam *ipam, uint32_t from, uint32_t to)
{
	size_t i = lower_bound(ipam, from);
	uint64_t a = from;

	for (; a <= to; a++) {
		while (i < ipam->n_used && ipam->used[i] < a)
			i++;
		if (i < ipam->n_used && ipam->used[i] == a)
			continue;
		if (!never_handed_out(ipam, (uint32_t)a))
			return (uint32_t)a;
	}
	return 0;
}

int hamn_ipam_alloc(struct hamn_ipam *ipam, uint32_t *out, struct hamn_error **err)
{
	uint32_t lo = ipam->range.addr, hi = hamn_ipv4_broadcast(&ipam->range);
	uint32_t start = ipam->next < lo || ipam->next > hi ? lo : ipam->next;
	uint32_t a = first_free(ipam, start, hi);
	char s[HAMN_IPV4_NET_STR_MAX];

	if (!a && start > lo)
		a = first_free(ipam, lo, start - 1);
	if (!a)
		return hamn_error_setq(err, ENOSPC, "no free address left in '%s'",
				       hamn_ipv4_net_str(&ipam->range, s));
	insert_used(ipam, a);
	ipam->next = a == hi ? lo : a + 1;
	*out = a;
	return 0;
}

int hamn_ipam_reserve(struct hamn_ipam *ipam, uint32_t a, struct hamn_error **err)
{
	char s[HAMN_IPV4_NET_STR_MAX], b[HAMN_IPV4_STR_MAX];

	if (!hamn_ipv4_net_contains(&ipam->subnet, a) || never_handed_out(ipam, a))
		return hamn_error_setq(err, EINVAL, "address '%s' is not usable in subnet '%s'",
				       hamn_ipv4_str(a, b), hamn_ipv4_net_str(&ipam->subnet, s));
	if (hamn_ipam_is_used(ipam, a))
		return hamn_error_setq(err, EEXIST, "address '%s' is already in use",
				       hamn_ipv4_str(a, b));
	insert_used(ipam, a);
	return 0;
}

void hamn_ipam_free(struct hamn_ipam *ipam, uint32_t a)
{
	size_t i = lower_bound(ipam, a);

	if (i >= ipam->n_used || ipam->used[i] != a)
		return;
	memmove(&ipam->used[i], &ipam->used[i + 1], (ipam->n_used - i - 1) * sizeof(*ipam->used));
	ipam->n_used--;
}

/* ------------------------------------------------------------------ */
/* Persistence                                                          */
/* ------------------------------------------------------------------ */

json_t *hamn_ipam_to_json(const struct hamn_ipam *ipam)
{
	char s[HAMN_IPV4_NET_STR_MAX], a[HAMN_IPV4_STR_MAX];
	json_t *j = json_object(), *arr = json_array();

	json_object_set_new(j, "subnet", json_string(hamn_ipv4_net_str(&ipam->subnet, s)));
	json_object_set_new(j, "range", json_string(hamn_ipv4_net_str(&ipam->range, s)));
	json_object_set_new(j, "gateway",
			    json_string(ipam->gateway ? hamn_ipv4_str(ipam->gateway, a) : ""));
	json_object_set_new(j, "next", json_string(hamn_ipv4_str(ipam->next, a)));
	for (size_t i = 0; i < ipam->n_used; i++)
		json_array_append_new(arr, json_string(hamn_ipv4_str(ipam->used[i], a)));
	json_object_set_new(j, "allocated", arr);
	return j;
}

static int get_net(json_t *j, const char *key, struct hamn_ipv4_net *out, struct hamn_error **err)
{
	const char *s = NULL;

	if (hamn_json_get_string(j, key, key, &s, err) < 0)
		return -1;
	return hamn_ipv4_net_parse(s, out, err);
}

static int load_allocated(json_t *arr, struct hamn_ipam *ipam, struct hamn_error **err)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v) {
		uint32_t a;

		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL, "allocated[%zu]: not a string", i);
		if (hamn_ipv4_parse(json_string_value(v), &a, err) < 0 ||
		    hamn_ipam_reserve(ipam, a, err) < 0)
			return hamn_error_wrap(err, "allocated[%zu]", i);
	}
	return 0;
}

int hamn_ipam_from_json(json_t *j, struct hamn_ipam *ipam, struct hamn_error **err)
{
	struct hamn_ipv4_net subnet, range;
	const char *gw = NULL, *next = NULL;
	uint32_t gateway = 0, cursor = 0;
	json_t *arr = NULL;

	if (!json_is_object(j))
		return hamn_error_setq(err, EINVAL, "ipam: not an object");
	if (get_net(j, "subnet", &subnet, err) < 0 || get_net(j, "range", &range, err) < 0 ||
	    hamn_json_get_string_opt(j, "gateway", "gateway", &gw, err) < 0 ||
	    hamn_json_get_string_opt(j, "next", "next", &next, err) < 0 ||
	    hamn_json_get_array_opt(j, "allocated", "allocated", &arr, err) < 0)
		goto fail;
	if (gw && *gw && hamn_ipv4_parse(gw, &gateway, err) < 0)
		goto fail;
	if (next && hamn_ipv4_parse(next, &cursor, err) < 0)
		goto fail;
	if (hamn_ipam_init(ipam, &subnet, &range, gateway, err) < 0)
		goto fail;
	if (cursor && hamn_ipv4_net_contains(&range, cursor))
		ipam->next = cursor;
	if (arr && load_allocated(arr, ipam, err) < 0) {
		hamn_ipam_release_all(ipam);
		goto fail;
	}
	return 0;
fail:
	return hamn_error_wrap(err, "ipam");
}

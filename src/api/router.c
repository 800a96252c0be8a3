/*
 * router.c - method + path pattern matching, and the /vX.Y prefix.
 *
 * Patterns are split into segments once, at registration. Matching walks
 * the path's segments against them; a "{name*}" rest segment takes one or
 * more path segments and backtracks from the longest, so that
 * "/images/{name*}/json" gives name = "127.0.0.1:5000/busy/box" for
 * "/images/127.0.0.1:5000/busy/box/json". A linear scan over the routes is
 * plenty for the ~100 routes of the Docker API.
 */
#include "api/internal.h"

#include <ctype.h>

enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_REST };

struct segment {
	enum seg_kind kind;
	char *text; /* literal text or parameter name */
};

struct route {
	char *method;
	struct segment *segs;
	size_t nsegs;
	size_t nliterals;
	size_t nparams;
	unsigned flags;
	hamn_api_handler_fn fn;
	void *ctx;
};

struct hamn_api_router {
	struct route *routes;
	size_t n;
};

struct hamn_api_router *hamn_api_router_new(void)
{
	return xzalloc(sizeof(struct hamn_api_router));
}

static void route_release(struct route *rt)
{
	for (size_t i = 0; i < rt->nsegs; i++)
		free(rt->segs[i].text);
	free(rt->segs);
	free(rt->method);
}

void hamn_api_router_free(struct hamn_api_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		route_release(&r->routes[i]);
	free(r->routes);
	free(r);
}

/* Parse one pattern segment; EINVAL for "", "{", "{}" and braces inside literals. */
static int parse_segment(const char *s, size_t len, struct segment *seg, struct hamn_error **err)
{
	if (len == 0)
		return hamn_error_setq(err, EINVAL, "empty segment");
	if (s[0] != '{') {
		if (memchr(s, '{', len) || memchr(s, '}', len))
			return hamn_error_setq(err, EINVAL, "brace inside a literal segment");
		seg->kind = SEG_LITERAL;
		seg->text = xstrndup(s, len);
		return 0;
	}
	if (len < 3 || s[len - 1] != '}')
		return hamn_error_setq(err, EINVAL, "unclosed or empty parameter");
	seg->kind = SEG_PARAM;
	if (s[len - 2] == '*') {
		seg->kind = SEG_REST;
		len--;
		if (len < 3)
			return hamn_error_setq(err, EINVAL, "rest parameter without a name");
	}
	seg->text = xstrndup(s + 1, len - 2);
	if (strpbrk(seg->text, "{}*/"))
		return hamn_error_setq(err, EINVAL, "bad parameter name '%s'", seg->text);
	return 0;
}

static int parse_pattern(const char *pattern, struct route *rt, struct hamn_error **err)
{
	const char *p = pattern;

	if (*p != '/')
		return hamn_error_setq(err, EINVAL, "pattern must start with '/'");
	while (*p == '/') {
		const char *start = p + 1;
		const char *end = strchrnul(start, '/');
		struct segment seg = {SEG_LITERAL, NULL};

		if (parse_segment(start, (size_t)(end - start), &seg, err) < 0) {
			free(seg.text);
			return -1;
		}
		rt->segs = xreallocarray(rt->segs, rt->nsegs + 1, sizeof(*rt->segs));
		rt->segs[rt->nsegs++] = seg;
		if (seg.kind == SEG_LITERAL)
			rt->nliterals++;
		else
			rt->nparams++;
		p = end;
	}
	if (rt->nparams > HAMN_API_MAX_PARAMS)
		return hamn_error_setq(err, EINVAL, "more than %d parameters", HAMN_API_MAX_PARAMS);
	return 0;
}

int hamn_api_router_add(struct hamn_api_router *r, const char *method, const char *pattern,
			unsigned flags, hamn_api_handler_fn fn, void *ctx, struct hamn_error **err)
{
	struct route rt = {0};

	if (!method || !*method || !fn)
		return hamn_error_setq(err, EINVAL, "route '%s': method and handler are required",
				       pattern);
	if (parse_pattern(pattern, &rt, err) < 0) {
		route_release(&rt);
		return hamn_error_wrap(err, "route pattern '%s'", pattern);
	}
	rt.method = xstrdup(method);
	rt.flags = flags;
	rt.fn = fn;
	rt.ctx = ctx;
	r->routes = xreallocarray(r->routes, r->n + 1, sizeof(*r->routes));
	r->routes[r->n++] = rt;
	return 0;
}

/* The path split at '/': segs[i] points into a copy; empty segments are kept. */
struct split_path {
	char *copy;
	char **segs;
	size_t n;
};

static void split_path(const char *path, struct split_path *sp)
{
	char *p;

	sp->copy = xstrdup(path);
	sp->segs = NULL;
	sp->n = 0;
	p = sp->copy;
	while (*p == '/') {
		*p++ = '\0';
		sp->segs = xreallocarray(sp->segs, sp->n + 1, sizeof(char *));
		sp->segs[sp->n++] = p;
		p = strchrnul(p, '/');
	}
}

/* Path segments [from, to) joined with '/' into a new string. */
static char *join_segs(char **segs, size_t from, size_t to)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (size_t i = from; i < to; i++) {
		if (i > from)
			hamn_buf_putc(&b, '/');
		hamn_buf_puts(&b, segs[i]);
	}
	return hamn_buf_steal(&b);
}

/*
 * Match route segments from si against path segments from pi. Captured
 * values are stored at vals[k...] (k = index of the next parameter).
 */
static bool match_from(const struct route *rt, size_t si, char **psegs, size_t np, size_t pi,
		       char **vals, size_t k)
{
	if (si == rt->nsegs)
		return pi == np;
	if (pi >= np)
		return false;
	const struct segment *seg = &rt->segs[si];

	if (seg->kind == SEG_LITERAL)
		return streq(seg->text, psegs[pi]) &&
		       match_from(rt, si + 1, psegs, np, pi + 1, vals, k);
	if (seg->kind == SEG_PARAM) {
		if (!*psegs[pi] || !match_from(rt, si + 1, psegs, np, pi + 1, vals, k + 1))
			return false;
		vals[k] = xstrdup(psegs[pi]);
		return true;
	}
	/* SEG_REST: the longest run of segments that lets the rest match; no empty segment */
	for (size_t end = np; end > pi; end--) {
		bool has_empty = false;

		for (size_t i = pi; i < end; i++)
			has_empty |= !*psegs[i];
		if (has_empty || !match_from(rt, si + 1, psegs, np, end, vals, k + 1))
			continue;
		vals[k] = join_segs(psegs, pi, end);
		return true;
	}
	return false;
}

static void fill_match(const struct route *rt, char **vals, struct hamn_api_match *m)
{
	size_t k = 0;

	m->fn = rt->fn;
	m->ctx = rt->ctx;
	m->flags = rt->flags;
	for (size_t i = 0; i < rt->nsegs; i++) {
		if (rt->segs[i].kind == SEG_LITERAL)
			continue;
		m->names[k] = rt->segs[i].text;
		m->values[k] = vals[k];
		k++;
	}
	m->nparams = k;
}

static bool is_better(const struct route *cand, const struct route *best)
{
	return !best || cand->nliterals > best->nliterals;
}

/*
 * Split "/v1.41/containers/json" into version "1.41" and "/containers/json".
 * Only "/v" + digits and dots + "/" counts as a prefix (dockerd's
 * "/v{version:[0-9.]+}"); anything else is left in the path.
 */
static const char *strip_version(const char *path, char version[16])
{
	size_t n = 0;

	snprintf(version, 16, "%s", HAMN_API_VERSION);
	if (!str_has_prefix(path, "/v"))
		return path;
	while (isdigit((unsigned char)path[2 + n]) || path[2 + n] == '.')
		n++;
	if (n == 0 || n >= 16 || path[2 + n] != '/')
		return path;
	memcpy(version, path + 2, n);
	version[n] = '\0';
	return path + 2 + n;
}

const char *api_strip_version(const char *path)
{
	char version[16];

	return strip_version(path, version);
}

static int check_version(const char *v, struct hamn_error **err)
{
	if (hamn_api_version_compare(v, HAMN_API_VERSION) > 0)
		return hamn_error_setq(
			err, EINVAL,
			"client version %s is too new. Maximum supported API version is %s", v,
			HAMN_API_VERSION);
	if (hamn_api_version_compare(v, HAMN_API_MIN_VERSION) < 0)
		return hamn_error_setq(
			err, EINVAL,
			"client version %s is too old. Minimum supported API version is %s, "
			"please upgrade your client to a newer version",
			v, HAMN_API_MIN_VERSION);
	return 0;
}

int hamn_api_router_match(const struct hamn_api_router *r, const char *method, const char *path,
			  struct hamn_api_match *m, struct hamn_error **err)
{
	struct split_path sp;
	const struct route *best = NULL;
	char *best_vals[HAMN_API_MAX_PARAMS] = {0};

	memset(m, 0, sizeof(*m));
	split_path(strip_version(path, m->version), &sp);
	for (size_t i = 0; i < r->n; i++) {
		const struct route *rt = &r->routes[i];
		char *vals[HAMN_API_MAX_PARAMS] = {0};

		if (!streq(rt->method, method) || !is_better(rt, best))
			continue;
		if (!match_from(rt, 0, sp.segs, sp.n, 0, vals, 0))
			continue;
		for (size_t k = 0; k < HAMN_API_MAX_PARAMS; k++) {
			free(best_vals[k]);
			best_vals[k] = vals[k];
		}
		best = rt;
	}
	free(sp.segs);
	free(sp.copy);
	if (!best)
		return hamn_error_setq(err, ENOENT, "page not found");
	fill_match(best, best_vals, m);
	if (check_version(m->version, err) < 0) {
		hamn_api_match_release(m);
		return -1;
	}
	return 0;
}

void hamn_api_match_release(struct hamn_api_match *m)
{
	for (size_t i = 0; i < m->nparams; i++) {
		free(m->values[i]);
		m->values[i] = NULL;
	}
	m->nparams = 0;
}

/* The next dotted component of *s as a number (missing or junk = 0), advancing *s. */
static long next_component(const char **s)
{
	long v = 0;

	while (isdigit((unsigned char)**s)) {
		if (v < 100000000)
			v = v * 10 + (**s - '0');
		(*s)++;
	}
	while (**s && **s != '.')
		(*s)++;
	if (**s == '.')
		(*s)++;
	return v;
}

int hamn_api_version_compare(const char *a, const char *b)
{
	while (*a || *b) {
		long x = next_component(&a);
		long y = next_component(&b);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

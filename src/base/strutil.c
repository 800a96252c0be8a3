/*
 * strutil.c - string vectors, strict number parsing, sizes, hex, randomness, UTF-8.
 */
#include "base/base.h"

#include <ctype.h>
#include <sys/random.h>

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

void strv_push_take(char ***v, char *s)
{
	size_t n = strv_len(*v);

	*v = xreallocarray(*v, n + 2, sizeof(char *));
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
}

void strv_push(char ***v, const char *s)
{
	strv_push_take(v, xstrdup(s));
}

char **strv_copy(char *const *v)
{
	size_t n = strv_len(v);
	char **c = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

char *strv_join(char *const *v, const char *sep)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			hamn_buf_puts(&b, sep);
		hamn_buf_puts(&b, v[i]);
	}
	return hamn_buf_steal(&b);
}

char **str_split(const char *s, char sep)
{
	char **v = xcalloc(1, sizeof(char *));
	const char *start = s;

	for (;; s++) {
		if (*s == sep || *s == '\0') {
			strv_push_take(&v, xstrndup(start, (size_t)(s - start)));
			if (*s == '\0')
				break;
			start = s + 1;
		}
	}
	return v;
}

int hamn_parse_int64(const char *s, int64_t *out, struct hamn_error **err)
{
	char *end = NULL;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return hamn_error_setq(err, EINVAL, "invalid number '%s'", s ? s : "");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return hamn_error_setq(err, ERANGE, "number '%s' out of range", s);
	if (*end)
		return hamn_error_setq(err, EINVAL, "invalid number '%s'", s);
	*out = v;
	return 0;
}

int hamn_parse_uint64(const char *s, uint64_t *out, struct hamn_error **err)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return hamn_error_setq(err, EINVAL, "invalid number '%s'", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return hamn_error_setq(err, ERANGE, "number '%s' out of range", s);
	if (*end)
		return hamn_error_setq(err, EINVAL, "invalid number '%s'", s);
	*out = v;
	return 0;
}

/* Multiplier for a size suffix ("", "b", "k", "KiB", "mb", "g"...); 0 when unknown. */
static int64_t size_unit(const char *u)
{
	static const char prefixes[] = "kmgtp";
	const char *p;
	int64_t mult = 1;

	if (*u == '\0' || strcasecmp(u, "b") == 0)
		return 1;
	p = strchr(prefixes, tolower((unsigned char)*u));
	if (!p)
		return 0;
	for (long i = 0; i <= p - prefixes; i++)
		mult *= 1024;
	u++;
	if (*u == '\0' || strcasecmp(u, "b") == 0 || strcasecmp(u, "ib") == 0)
		return mult;
	return 0;
}

int hamn_parse_size(const char *s, int64_t *out, struct hamn_error **err)
{
	char *end = NULL;
	double v;
	int64_t mult;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return hamn_error_setq(err, EINVAL, "invalid size '%s'", s ? s : "");
	errno = 0;
	v = strtod(s, &end);
	mult = size_unit(end);
	if (errno || mult == 0 || v < 0)
		return hamn_error_setq(err, EINVAL, "invalid size '%s'", s);
	if (v * (double)mult >= 9.2e18)
		return hamn_error_setq(err, ERANGE, "size '%s' out of range", s);
	*out = (int64_t)(v * (double)mult);
	return 0;
}

void hamn_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void hamn_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			hamn_bug("getrandom: %s", strerror(errno));
		}
		p += r;
		n -= (size_t)r;
	}
}

char *hamn_random_id(void)
{
	unsigned char raw[32];
	char *id = xmalloc(65);

	hamn_random_bytes(raw, sizeof(raw));
	hamn_hex(raw, sizeof(raw), id);
	return id;
}

/* Length of the UTF-8 sequence starting with byte c and its minimum code point. */
static int utf8_seq(unsigned char c, uint32_t *min, uint32_t *cp)
{
	if (c < 0x80)
		return *cp = c, *min = 0, 1;
	if ((c & 0xE0) == 0xC0)
		return *cp = c & 0x1F, *min = 0x80, 2;
	if ((c & 0xF0) == 0xE0)
		return *cp = c & 0x0F, *min = 0x800, 3;
	if ((c & 0xF8) == 0xF0)
		return *cp = c & 0x07, *min = 0x10000, 4;
	return 0;
}

bool hamn_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t min, cp;
		int n = utf8_seq(p[i], &min, &cp);

		if (n == 0 || i + (size_t)n > len)
			return false;
		for (int k = 1; k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += (size_t)n;
	}
	return true;
}

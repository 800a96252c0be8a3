/*
 * util.c - small string helpers of the builder, most of them reproducing a
 * Go formatting rule exactly, because docker records history strings with
 * Go's fmt verbs and users compare them.
 */
#include "build/internal.h"

char **split_ws(const char *s)
{
	char **v = xzalloc(sizeof(*v));

	while (*s) {
		const char *start;

		while (is_ws(*s))
			s++;
		if (!*s)
			break;
		start = s;
		while (*s && !is_ws(*s))
			s++;
		strv_push_take(&v, xstrndup(start, (size_t)(s - start)));
	}
	return v;
}

char *trim_dup(const char *s)
{
	size_t n;

	while (is_ws(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_ws(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* Drop the last element of the cleaned output in b (after position floor). */
static void clean_pop(struct hamn_buf *b, size_t floor)
{
	size_t i = b->len;

	while (i > floor && b->data[i - 1] != '/')
		i--;
	if (i > floor)
		i--;	/* the separator before the element */
	b->len = i;
	b->data[i] = '\0';
}

char *path_clean(const char *p)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	bool rooted = p[0] == '/';
	size_t floor = rooted ? 1 : 0, dotdot = floor;

	if (rooted)
		hamn_buf_putc(&b, '/');
	while (*p) {
		const char *e = p;
		size_t n;

		while (*e && *e != '/')
			e++;
		n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* empty or "." element: nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (b.len > dotdot) {
				clean_pop(&b, floor);
			} else if (!rooted) {
				if (b.len > 0)
					hamn_buf_putc(&b, '/');
				hamn_buf_puts(&b, "..");
				dotdot = b.len;
			}
		} else {
			if (b.len > floor)
				hamn_buf_putc(&b, '/');
			hamn_buf_append(&b, p, n);
		}
		p = *e ? e + 1 : e;
	}
	if (b.len == 0)
		return xstrdup(".");
	return hamn_buf_steal(&b);
}

/* Append v/div with its fraction (prec digits), trailing zeros dropped. */
static void put_fraction(struct hamn_buf *b, uint64_t v, uint64_t div, int prec)
{
	char frac[16];
	int n;

	hamn_buf_printf(b, "%llu", (unsigned long long)(v / div));
	if (v % div == 0)
		return;
	n = snprintf(frac, sizeof(frac), "%0*llu", prec, (unsigned long long)(v % div));
	while (n > 0 && frac[n - 1] == '0')
		n--;
	hamn_buf_putc(b, '.');
	hamn_buf_append(b, frac, (size_t)n);
}

void go_duration(struct hamn_buf *b, int64_t ns)
{
	uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
	uint64_t secs;

	if (ns < 0)
		hamn_buf_putc(b, '-');
	if (u == 0) {
		hamn_buf_puts(b, "0s");
		return;
	}
	if (u < 1000000000ULL) {
		if (u < 1000) {
			hamn_buf_printf(b, "%lluns", (unsigned long long)u);
		} else if (u < 1000000) {
			put_fraction(b, u, 1000, 3);
			hamn_buf_puts(b, "\xc2\xb5s");
		} else {
			put_fraction(b, u, 1000000, 6);
			hamn_buf_puts(b, "ms");
		}
		return;
	}
	secs = u / 1000000000ULL;
	if (secs >= 3600)
		hamn_buf_printf(b, "%lluh", (unsigned long long)(secs / 3600));
	if (secs >= 60)
		hamn_buf_printf(b, "%llum", (unsigned long long)(secs / 60 % 60));
	put_fraction(b, (secs % 60) * 1000000000ULL + u % 1000000000ULL, 1000000000ULL, 9);
	hamn_buf_putc(b, 's');
}

/* Length of the valid UTF-8 sequence at s (2..4) and its code point, or 0. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Go's unicode.IsPrint for the code points that matter in practice. */
static bool rune_printable(uint32_t c)
{
	return !(c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad || c == 0x2028 ||
		 c == 0x2029 || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb));
}

/* The escape of an ASCII control character, or 0. */
static char control_escape(unsigned char c)
{
	static const char esc[] = { 'a', 'b', 't', 'n', 'v', 'f', 'r' };

	if (c >= 7 && c <= 13)
		return esc[c - 7];
	return 0;
}

void hamn_build_go_quote(struct hamn_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	hamn_buf_putc(b, '"');
	while (*p) {
		uint32_t cp;
		size_t n;

		if (*p == '"' || *p == '\\') {
			hamn_buf_putc(b, '\\');
			hamn_buf_putc(b, (char)*p++);
		} else if (*p >= 0x20 && *p < 0x7f) {
			hamn_buf_putc(b, (char)*p++);
		} else if (*p < 0x80) {
			char e = control_escape(*p);

			if (e)
				hamn_buf_printf(b, "\\%c", e);
			else
				hamn_buf_printf(b, "\\x%02x", *p);
			p++;
		} else if ((n = utf8_decode(p, &cp)) == 0) {
			hamn_buf_printf(b, "\\x%02x", *p++);
		} else {
			if (rune_printable(cp))
				hamn_buf_append(b, p, n);
			else if (cp < 0x10000)
				hamn_buf_printf(b, "\\u%04x", cp);
			else
				hamn_buf_printf(b, "\\U%08x", cp);
			p += n;
		}
	}
	hamn_buf_putc(b, '"');
}

void go_quote_rune(struct hamn_buf *b, int64_t r)
{
	if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		r = 0xfffd;
	hamn_buf_putc(b, '\'');
	if (r == '\'' || r == '\\') {
		hamn_buf_printf(b, "\\%c", (char)r);
	} else if (r >= 0x20 && r < 0x7f) {
		hamn_buf_putc(b, (char)r);
	} else if (r < 0x80) {
		char e = control_escape((unsigned char)r);

		if (e)
			hamn_buf_printf(b, "\\%c", e);
		else
			hamn_buf_printf(b, "\\x%02x", (unsigned)r);
	} else if (!rune_printable((uint32_t)r)) {
		hamn_buf_printf(b, r < 0x10000 ? "\\u%04x" : "\\U%08x", (unsigned)r);
	} else {
		char u[4];
		size_t n;

		if (r < 0x800) {
			u[0] = (char)(0xc0 | (r >> 6)), u[1] = (char)(0x80 | (r & 0x3f)), n = 2;
		} else if (r < 0x10000) {
			u[0] = (char)(0xe0 | (r >> 12)), u[1] = (char)(0x80 | ((r >> 6) & 0x3f));
			u[2] = (char)(0x80 | (r & 0x3f)), n = 3;
		} else {
			u[0] = (char)(0xf0 | (r >> 18)), u[1] = (char)(0x80 | ((r >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((r >> 6) & 0x3f)), u[3] = (char)(0x80 | (r & 0x3f));
			n = 4;
		}
		hamn_buf_append(b, u, n);
	}
	hamn_buf_putc(b, '\'');
}

void go_slice(struct hamn_buf *b, char *const *v)
{
	hamn_buf_putc(b, '[');
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			hamn_buf_putc(b, ' ');
		hamn_buf_puts(b, v[i]);
	}
	hamn_buf_putc(b, ']');
}

void go_quote_slice(struct hamn_buf *b, char *const *v)
{
	hamn_buf_putc(b, '[');
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			hamn_buf_putc(b, ' ');
		hamn_build_go_quote(b, v[i]);
	}
	hamn_buf_putc(b, ']');
}

void strv_add_unique(char ***v, const char *s)
{
	if (!strv_contains(*v, s))
		strv_push(v, s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **v)
{
	if (v)
		qsort(v, strv_len(v), sizeof(*v), cmp_str);
}

const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env && env[i]; i++) {
		if (strncmp(env[i], name, n) != 0)
			continue;
		if (env[i][n] == '=')
			return env[i] + n + 1;
		if (env[i][n] == '\0')
			return "";
	}
	return NULL;
}

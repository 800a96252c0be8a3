/*
 * ignore.c - .dockerignore: reading the file and docker's PatternMatcher
 * semantics, plus the plain glob (Go's filepath.Match) used for COPY
 * sources.
 *
 * docker compiles each pattern into a regular expression; here a pattern
 * is compiled into a short list of tokens matched by backtracking, with
 * the same meaning: '*' and '?' never cross '/', "**" followed by '/' (or
 * at the end) spans directories, '\' escapes, '[...]' is a class. Other
 * characters are literal (docker lets some regexp syntax leak through; we
 * do not).
 */
#include "build/internal.h"

enum tok_kind { T_LIT, T_STAR, T_ONE, T_CLASS, T_DSTAR_END, T_DSTAR_DIR };

struct tok {
	enum tok_kind kind;
	char c;			/* T_LIT */
	bool negate;		/* T_CLASS */
	char *set;		/* T_CLASS: pairs lo,hi */
	size_t n_set;
};

struct pattern {
	char *text;		/* cleaned, without the '!' */
	bool exclusion;
	size_t n_dirs;
	struct tok *toks;
	size_t n_toks;
};

struct hamn_build_ignore {
	struct pattern *v;
	size_t n;
	bool has_exclusions;
};

static void push_tok(struct pattern *p, struct tok t)
{
	p->toks = xreallocarray(p->toks, p->n_toks + 1, sizeof(t));
	p->toks[p->n_toks++] = t;
}

/* Parse a class starting after '['; *s is advanced past ']'. false when malformed. */
static bool parse_class(const char **s, struct tok *t)
{
	const char *p = *s;

	t->kind = T_CLASS;
	if (*p == '^') {
		t->negate = true;
		p++;
	}
	for (bool first = true; first || *p != ']'; first = false) {
		char lo, hi;

		if (!*p)
			return false;
		if (*p == '\\')
			p++;
		if (!*p)
			return false;
		lo = hi = *p++;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			if (*p == '\\')
				p++;
			if (!*p)
				return false;
			hi = *p++;
			if (hi < lo)
				return false;
		}
		t->set = xrealloc(t->set, t->n_set * 2 + 2);
		t->set[t->n_set * 2] = lo;
		t->set[t->n_set * 2 + 1] = hi;
		t->n_set++;
	}
	*s = p + 1;
	return true;
}

static bool compile(struct pattern *p, const char *s, bool doublestar)
{
	while (*s) {
		struct tok t = { 0 };

		if (*s == '*' && doublestar && s[1] == '*') {
			s += 2;
			if (*s == '/')
				s++;
			t.kind = *s ? T_DSTAR_DIR : T_DSTAR_END;
		} else if (*s == '*') {
			while (*s == '*')
				s++;
			t.kind = T_STAR;
		} else if (*s == '?') {
			s++;
			t.kind = T_ONE;
		} else if (*s == '[') {
			s++;
			if (!parse_class(&s, &t)) {
				free(t.set);
				return false;
			}
		} else {
			if (*s == '\\' && s[1])
				s++;
			t.kind = T_LIT;
			t.c = *s++;
		}
		push_tok(p, t);
	}
	return true;
}

/* Bytes in the UTF-8 character at s (1 for anything malformed). */
static size_t char_len(const char *s)
{
	size_t n = 1;

	if ((unsigned char)*s >= 0xc0)
		while (((unsigned char)s[n] & 0xc0) == 0x80 && n < 4)
			n++;
	return n;
}

static bool class_has(const struct tok *t, char c)
{
	bool in = false;

	for (size_t i = 0; i < t->n_set && !in; i++)
		in = c >= t->set[2 * i] && c <= t->set[2 * i + 1];
	return in != t->negate;
}

static bool match_from(const struct tok *t, size_t n, const char *s)
{
	if (n == 0)
		return *s == '\0';
	switch (t->kind) {
	case T_LIT:
		return *s == t->c && match_from(t + 1, n - 1, s + 1);
	case T_ONE:
		return *s && *s != '/' && match_from(t + 1, n - 1, s + char_len(s));
	case T_CLASS:
		return *s && class_has(t, *s) && match_from(t + 1, n - 1, s + 1);
	case T_STAR:
		for (;; s++) {
			if (match_from(t + 1, n - 1, s))
				return true;
			if (!*s || *s == '/')
				return false;
		}
	case T_DSTAR_END:
		return true;
	case T_DSTAR_DIR:
		if (match_from(t + 1, n - 1, s))
			return true;
		for (; *s; s++)
			if (*s == '/' && match_from(t + 1, n - 1, s + 1))
				return true;
		return false;
	}
	return false;
}

static void pattern_release(struct pattern *p)
{
	for (size_t i = 0; i < p->n_toks; i++)
		free(p->toks[i].set);
	free(p->toks);
	free(p->text);
}

bool glob_match(const char *pattern, const char *name)
{
	struct pattern p = { 0 };
	bool r = compile(&p, pattern, false) && match_from(p.toks, p.n_toks, name);

	pattern_release(&p);
	return r;
}

bool has_glob(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		else if (*s == '*' || *s == '?' || *s == '[')
			return true;
	}
	return false;
}

char **hamn_build_ignore_read(const char *text, size_t len)
{
	char **v = xzalloc(sizeof(*v));
	size_t i = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len;
		_cleanup_free_ char *raw = xstrndup(text + i, e - i);
		_cleanup_free_ char *pat = NULL, *clean = NULL;
		bool invert;

		i = e + 1;
		if (raw[0] == '#')
			continue;
		pat = trim_dup(raw);
		if (!*pat)
			continue;
		invert = pat[0] == '!';
		if (invert) {
			char *t = trim_dup(pat + 1);

			free(pat);
			pat = t;
		}
		if (*pat) {
			clean = path_clean(pat);
			if (strlen(clean) > 1 && clean[0] == '/')
				memmove(clean, clean + 1, strlen(clean));
		}
		strv_push_take(&v, xasprintf("%s%s", invert ? "!" : "", clean ? clean : ""));
	}
	return v;
}

static int add_pattern(struct hamn_build_ignore *m, const char *raw, struct hamn_error **err)
{
	_cleanup_free_ char *trimmed = trim_dup(raw);
	_cleanup_free_ char *p = NULL;
	struct pattern pat = { 0 };
	const char *s;

	if (!*trimmed)
		return 0;
	p = path_clean(trimmed);
	s = p;
	if (*s == '!') {
		if (!s[1])
			return hamn_error_setq(err, EINVAL, "illegal exclusion pattern: \"!\"");
		pat.exclusion = true;
		s++;
	}
	if (!compile(&pat, s, true)) {
		pattern_release(&pat);
		return hamn_error_setq(err, EINVAL, "syntax error in pattern '%s'", raw);
	}
	pat.text = xstrdup(s);
	pat.n_dirs = 1;
	for (const char *c = s; *c; c++)
		pat.n_dirs += *c == '/';
	m->has_exclusions |= pat.exclusion;
	m->v = xreallocarray(m->v, m->n + 1, sizeof(pat));
	m->v[m->n++] = pat;
	return 0;
}

struct hamn_build_ignore *hamn_build_ignore_new(char *const *patterns, struct hamn_error **err)
{
	struct hamn_build_ignore *m = xzalloc(sizeof(*m));

	for (size_t i = 0; patterns && patterns[i]; i++) {
		if (add_pattern(m, patterns[i], err) < 0) {
			hamn_build_ignore_free(m);
			return NULL;
		}
	}
	return m;
}

void hamn_build_ignore_free(struct hamn_build_ignore *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		pattern_release(&m->v[i]);
	free(m->v);
	free(m);
}

/* The first n '/'-separated components of the parent of path, or NULL when it has fewer. */
static char *parent_prefix(const char *path, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t comps = 1, i;

	if (!slash)
		return NULL;
	for (const char *c = path; c < slash; c++)
		comps += *c == '/';
	if (n > comps)
		return NULL;
	for (i = 0; path + i < slash; i++)
		if (path[i] == '/' && --n == 0)
			break;
	return xstrndup(path, i);
}

bool hamn_build_ignore_match(const struct hamn_build_ignore *m, const char *path)
{
	bool matched = false;

	if (!m)
		return false;
	for (size_t i = 0; i < m->n; i++) {
		const struct pattern *p = &m->v[i];
		bool hit = match_from(p->toks, p->n_toks, path);

		if (!hit) {
			_cleanup_free_ char *prefix = parent_prefix(path, p->n_dirs);

			if (prefix)
				hit = match_from(p->toks, p->n_toks, prefix);
		}
		if (hit)
			matched = !p->exclusion;
	}
	return matched;
}

bool hamn_build_ignore_descend(const struct hamn_build_ignore *m, const char *dir)
{
	size_t dl = strlen(dir);

	if (!m || !m->has_exclusions)
		return false;
	for (size_t i = 0; i < m->n; i++) {
		const struct pattern *p = &m->v[i];

		if (!p->exclusion)
			continue;
		/* (pattern + "/") starts with (dir + "/") */
		if (strncmp(p->text, dir, dl) == 0 && (p->text[dl] == '/' || p->text[dl] == '\0'))
			return true;
	}
	return false;
}

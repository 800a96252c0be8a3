/*
 * reference.c - docker image references: grammar checks, normalisation to
 * "docker.io/library/x:tag", and the familiar forms used for display.
 *
 * Only sha256 digests are accepted (hamn stores nothing else). Resolving a
 * reference to an image is the image store's business, not this file's.
 */
#include "oci/reference.h"

#include <ctype.h>

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n == 64;
}

/* component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )* over s[0..len) */
static bool component_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	while (i < len) {
		size_t sep = 0;

		while (i < len && is_lower_alnum(s[i]))
			i++;
		if (i == len)
			return true;
		if (s[i] == '.')
			sep = 1;
		else if (s[i] == '_')
			sep = (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i + sep < len && s[i + sep] == '-')
				sep++;
		if (sep == 0)
			return false;
		i += sep;
		if (i >= len || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

static bool path_valid(const char *path, bool *has_upper)
{
	const char *p = path;

	*has_upper = false;
	for (const char *q = path; *q; q++)
		if (isupper((unsigned char)*q))
			*has_upper = true;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!component_valid(p, len))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool host_label_valid(const char *s, size_t len)
{
	if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* host [":" port], host being dotted labels or a bracketed IPv6 address. */
static bool domain_valid(const char *d)
{
	const char *end = d + strlen(d), *colon, *p = d;

	if (*d == '[') {
		const char *close = strchr(d, ']');
		if (!close || close == d + 1)
			return false;
		for (const char *q = d + 1; q < close; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':')
				return false;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (!colon && close[1] != '\0')
			return false;
	} else {
		colon = strchr(d, ':');
		const char *hend = colon ? colon : end;
		while (p < hend) {
			const char *dot = memchr(p, '.', (size_t)(hend - p));
			const char *lend = dot ? dot : hend;
			if (!host_label_valid(p, (size_t)(lend - p)))
				return false;
			p = dot ? dot + 1 : hend;
			if (dot && p == hend)
				return false;
		}
	}
	if (colon) {
		if (colon[1] == '\0')
			return false;
		for (const char *q = colon + 1; *q; q++)
			if (!isdigit((unsigned char)*q))
				return false;
	}
	return true;
}

bool hamn_ref_tag_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static int bad_ref(struct hamn_error **err, const char *s, const char *why)
{
	return hamn_error_setq(err, EINVAL, "invalid reference format '%s': %s", s, why);
}

/* Split "name" into domain and path as docker does (splitDockerDomain). */
static void split_domain(const char *name, char **domain, char **path)
{
	const char *slash = strchr(name, '/');
	bool first_is_domain = false;

	if (slash) {
		_cleanup_free_ char *first = xstrndup(name, (size_t)(slash - name));
		bool lower = true;

		for (char *q = first; *q; q++)
			if (isupper((unsigned char)*q))
				lower = false;
		first_is_domain = strpbrk(first, ".:") || streq(first, "localhost") || !lower;
	}
	if (first_is_domain) {
		*domain = xstrndup(name, (size_t)(slash - name));
		*path = xstrdup(slash + 1);
	} else {
		*domain = xstrdup(HAMN_REF_DEFAULT_DOMAIN);
		*path = xstrdup(name);
	}
	if (streq(*domain, "index.docker.io")) {
		free(*domain);
		*domain = xstrdup(HAMN_REF_DEFAULT_DOMAIN);
	}
	if (streq(*domain, HAMN_REF_DEFAULT_DOMAIN) && !strchr(*path, '/')) {
		char *p = xasprintf("library/%s", *path);
		free(*path);
		*path = p;
	}
}

/* Cut "@digest" and ":tag" off name (modified in place) into ref. */
static int split_tag_digest(const char *s, char *name, struct hamn_ref *ref,
			    struct hamn_error **err)
{
	char *at = strchr(name, '@'), *colon, *slash;

	if (at) {
		*at = '\0';
		if (!str_has_prefix(at + 1, "sha256:"))
			return bad_ref(err, s, "unsupported digest algorithm");
		if (!hamn_digest_valid(at + 1))
			return bad_ref(err, s, "invalid digest");
		ref->digest = xstrdup(at + 1);
	}
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		if (!hamn_ref_tag_valid(colon + 1))
			return bad_ref(err, s, "invalid tag");
		ref->tag = xstrdup(colon + 1);
	}
	return 0;
}

static int parse_name(const char *s, const char *name, struct hamn_ref *ref,
		      struct hamn_error **err)
{
	bool has_upper;

	if (*name == '\0')
		return bad_ref(err, s, "empty repository name");
	if (strlen(name) > HAMN_REF_NAME_MAX)
		return bad_ref(err, s, "repository name must not be more than 255 characters");
	split_domain(name, &ref->domain, &ref->path);
	if (!domain_valid(ref->domain))
		return bad_ref(err, s, "invalid registry host");
	if (!path_valid(ref->path, &has_upper))
		return bad_ref(err, s, has_upper ? "repository name must be lowercase"
						 : "invalid repository name");
	return 0;
}

int hamn_ref_parse(const char *s, struct hamn_ref *ref, struct hamn_error **err)
{
	_cleanup_free_ char *name = NULL;
	struct hamn_ref r = HAMN_REF_INIT;

	if (!s || *s == '\0')
		return hamn_error_setq(err, EINVAL, "invalid reference format: empty reference");
	if (is_hex64(s))
		return hamn_error_setq(err, EINVAL,
				       "invalid repository name (%s), cannot specify 64-byte "
				       "hexadecimal strings", s);
	if (strlen(s) > 4 * HAMN_REF_NAME_MAX)
		return bad_ref(err, "...", "reference too long");
	name = xstrdup(s);
	if (split_tag_digest(s, name, &r, err) < 0 || parse_name(s, name, &r, err) < 0) {
		hamn_ref_release(&r);
		return -1;
	}
	*ref = r;
	return 0;
}

void hamn_ref_default_tag(struct hamn_ref *ref)
{
	if (!ref->tag && !ref->digest)
		ref->tag = xstrdup(HAMN_REF_DEFAULT_TAG);
}

void hamn_ref_release(struct hamn_ref *ref)
{
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	*ref = (struct hamn_ref)HAMN_REF_INIT;
}

char *hamn_ref_name(const struct hamn_ref *ref)
{
	return xasprintf("%s/%s", ref->domain, ref->path);
}

char *hamn_ref_familiar_name(const struct hamn_ref *ref)
{
	if (!streq(ref->domain, HAMN_REF_DEFAULT_DOMAIN))
		return hamn_ref_name(ref);
	if (str_has_prefix(ref->path, "library/") && !strchr(ref->path + 8, '/'))
		return xstrdup(ref->path + 8);
	return xstrdup(ref->path);
}

static char *with_suffix(char *name, const struct hamn_ref *ref)
{
	char *s = xasprintf("%s%s%s%s%s", name, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
			    ref->digest ? "@" : "", ref->digest ? ref->digest : "");
	free(name);
	return s;
}

char *hamn_ref_string(const struct hamn_ref *ref)
{
	return with_suffix(hamn_ref_name(ref), ref);
}

char *hamn_ref_familiar(const struct hamn_ref *ref)
{
	return with_suffix(hamn_ref_familiar_name(ref), ref);
}

char *hamn_ref_normalize(const char *s, struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref ref = HAMN_REF_INIT;

	if (hamn_ref_parse(s, &ref, err) < 0)
		return NULL;
	hamn_ref_default_tag(&ref);
	return hamn_ref_string(&ref);
}

char *hamn_ref_familiarize(const char *full)
{
	_cleanup_ref_ struct hamn_ref ref = HAMN_REF_INIT;

	if (hamn_ref_parse(full, &ref, NULL) < 0)
		return xstrdup(full);
	return hamn_ref_familiar(&ref);
}

/*
 * manifest.c - manifests on the wire: fetch one (Docker schema 2 or OCI,
 * or a list/index from which the platform's entry is chosen and fetched),
 * check that it hashes to the digest it was asked by (or that the registry
 * named), push one, list tags. Also the platform rules (parse, normalise,
 * choose) as docker applies them. Schema 1 manifests are refused.
 */
#include "distribution/internal.h"

#include <ctype.h>

#define ACCEPT_HEADER                                                                              \
	"Accept: " HAMN_MT_DOCKER_MANIFEST ", " HAMN_MT_DOCKER_LIST ", " HAMN_MT_OCI_MANIFEST      \
	", " HAMN_MT_OCI_INDEX
#define TAGS_MAX_PAGES 1000

void dist_manifest_release(struct dist_manifest *m)
{
	free(m->body);
	free(m->media_type);
	if (m->m)
		hamn_oci_manifest_free(m->m);
	if (m->idx)
		hamn_oci_index_free(m->idx);
	memset(m, 0, sizeof(*m));
}

/* ---- platforms ---- */

static void lower_copy(char *dst, size_t size, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	dst[i] = '\0';
}

static void normalise(struct hamn_dist_platform *p)
{
	static const struct {
		const char *from, *arch, *variant;
	} archs[] = {
		{"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
		{"armhf", "arm", "v7"},	   {"armel", "arm", "v6"},    {"i386", "386", NULL},
		{"i686", "386", NULL},
	};

	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++) {
		if (streq(p->arch, archs[i].from)) {
			snprintf(p->arch, sizeof(p->arch), "%s", archs[i].arch);
			if (archs[i].variant)
				snprintf(p->variant, sizeof(p->variant), "%s", archs[i].variant);
		}
	}
	if (streq(p->arch, "arm64") && (streq(p->variant, "v8") || streq(p->variant, "8")))
		p->variant[0] = '\0';
	if (streq(p->arch, "arm") && !p->variant[0])
		snprintf(p->variant, sizeof(p->variant), "v7");
	if (streq(p->arch, "arm") && isdigit((unsigned char)p->variant[0])) {
		char v[sizeof(p->variant)];

		snprintf(v, sizeof(v), "%s", p->variant);
		snprintf(p->variant, sizeof(p->variant), "v%.8s", v);
	}
}

int hamn_dist_platform_parse(const char *s, struct hamn_dist_platform *out, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		snprintf(out->os, sizeof(out->os), "%s", hamn_oci_host_os());
		snprintf(out->arch, sizeof(out->arch), "%s", hamn_oci_host_arch());
		normalise(out);
		return 0;
	}
	parts = str_split(s, '/');
	n = strv_len(parts);
	for (size_t i = 0; i < n; i++)
		if (!*parts[i] || strlen(parts[i]) >= sizeof(out->os))
			n = 0;
	if (n == 0 || n > 3)
		return hamn_error_setq(err, EINVAL,
				       "invalid platform '%s': expected "
				       "os/arch[/variant]",
				       s);
	if (n == 1) {
		snprintf(out->os, sizeof(out->os), "linux");
		lower_copy(out->arch, sizeof(out->arch), parts[0], strlen(parts[0]));
	} else {
		lower_copy(out->os, sizeof(out->os), parts[0], strlen(parts[0]));
		lower_copy(out->arch, sizeof(out->arch), parts[1], strlen(parts[1]));
		if (n == 3)
			lower_copy(out->variant, sizeof(out->variant), parts[2], strlen(parts[2]));
	}
	normalise(out);
	return 0;
}

static void platform_of(const struct hamn_oci_platform *op, struct hamn_dist_platform *p)
{
	memset(p, 0, sizeof(*p));
	lower_copy(p->os, sizeof(p->os), op->os ? op->os : "", op->os ? strlen(op->os) : 0);
	lower_copy(p->arch, sizeof(p->arch), op->architecture ? op->architecture : "",
		   op->architecture ? strlen(op->architecture) : 0);
	if (op->variant)
		lower_copy(p->variant, sizeof(p->variant), op->variant, strlen(op->variant));
	normalise(p);
}

/* How well entry e fits want: 0 not at all, higher is better. */
static int fit(const struct hamn_dist_platform *want, const struct hamn_dist_platform *e)
{
	if (!streq(want->os, e->os) || !streq(want->arch, e->arch))
		return 0;
	if (streq(want->variant, e->variant))
		return 100;
	if (!want->variant[0])
		return 50; /* amd64 asked, amd64/v3 offered: usable */
	/* arm/v7 runs v6 and v5 code: a lower variant of the same family fits */
	if (streq(want->arch, "arm") && e->variant[0] == 'v' && want->variant[0] == 'v' &&
	    atoi(e->variant + 1) < atoi(want->variant + 1))
		return 10 + atoi(e->variant + 1);
	return 0;
}

int hamn_dist_index_select(const struct hamn_oci_index *idx, const struct hamn_dist_platform *p,
			   size_t *index_out, struct hamn_error **err)
{
	int best = 0;

	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct hamn_oci_descriptor *d = &idx->manifests[i];
		struct hamn_dist_platform e;
		int f;

		if (!d->platform || !hamn_oci_media_is_manifest(d->media_type))
			continue;
		platform_of(d->platform, &e);
		f = fit(p, &e);
		if (f > best) {
			best = f;
			*index_out = i;
		}
	}
	if (best)
		return 0;
	return hamn_error_setq(err, ENOENT,
			       "no matching manifest for %s/%s%s%s in the manifest "
			       "list entries",
			       p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

/* ---- fetch ---- */

static const char *kind_of(const char *content_type, json_t *doc)
{
	const char *mt = json_string_value(json_object_get(doc, "mediaType"));

	if (mt && *mt)
		return mt;
	if (content_type &&
	    (hamn_oci_media_is_manifest(content_type) || hamn_oci_media_is_index(content_type)))
		return content_type;
	if (json_object_get(doc, "manifests"))
		return HAMN_MT_OCI_INDEX;
	return HAMN_MT_OCI_MANIFEST;
}

static int parse_body(struct dist_manifest *m, const char *content_type, const char *display,
		      struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = hamn_json_parse(m->body, m->len, err);
	const char *mt;

	if (!doc)
		return hamn_error_wrap(err, "manifest for %s", display);
	if (json_integer_value(json_object_get(doc, "schemaVersion")) == 1)
		return hamn_error_setq(err, ENOTSUP,
				       "manifest for %s: Docker schema 1 manifests "
				       "are not supported",
				       display);
	mt = kind_of(content_type, doc);
	m->media_type = xstrdup(mt);
	if (hamn_oci_media_is_index(mt))
		m->idx = hamn_oci_index_parse(doc, err);
	else if (hamn_oci_media_is_manifest(mt))
		m->m = hamn_oci_manifest_parse(doc, err);
	else
		return hamn_error_setq(err, ENOTSUP, "manifest for %s: unsupported media type '%s'",
				       display, mt);
	if (!m->idx && !m->m)
		return hamn_error_wrap(err, "manifest for %s", display);
	return 0;
}

/* The body must hash to the digest asked for, or to the one the registry named. */
static int check_digest(struct dist_manifest *m, const char *reference,
			const struct dist_http_resp *resp, const char *display,
			struct hamn_error **err)
{
	const char *want = NULL;

	hamn_sha256_buf(m->body, m->len, &m->digest);
	if (str_has_prefix(reference, "sha256:"))
		want = reference;
	else if (resp->docker_digest && str_has_prefix(resp->docker_digest, "sha256:"))
		want = resp->docker_digest;
	if (want && !streq(want, m->digest.str))
		return hamn_error_setq(err, EINVAL,
				       "manifest for %s: digest mismatch: expected "
				       "%s, the content hashes to %s",
				       display, want, m->digest.str);
	return 0;
}

static int get_error(const struct dist_http_resp *resp, const char *display,
		     struct hamn_error **err)
{
	if (resp->status == 404)
		return dist_registry_error(resp, err, "manifest for %s not found", display);
	if (resp->status == 401 || resp->status == 403) {
		/* docker names the repository as the user wrote it, without the tag */
		const char *slash = strrchr(display, '/');
		const char *end = strchr(display, '@');

		if (!end)
			end = strchr(slash ? slash : display, ':');
		return dist_registry_error(resp, err,
					   "pull access denied for %.*s, repository does "
					   "not exist or may require 'docker login'",
					   end ? (int)(end - display) : (int)strlen(display),
					   display);
	}
	return dist_registry_error(resp, err, "fetch manifest for %s", display);
}

static int get_one(struct dist_repo *r, CURL *h, const char *reference, const char *display,
		   struct dist_manifest *m, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", r->path, reference);
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;
	char *headers[] = {ACCEPT_HEADER, NULL};

	req.method = "GET";
	req.url = path;
	req.headers = headers;
	req.max_body = HAMN_OCI_JSON_MAX;
	req.stall_timeout_s = r->d->stall_timeout_s;
	if (dist_repo_do(r, h, &req, &resp, err) < 0)
		return hamn_error_wrap(err, "fetch manifest for %s", display);
	if (resp.status != 200)
		return get_error(&resp, display, err);
	m->len = resp.body.len;
	m->body = hamn_buf_steal(&resp.body);
	if (check_digest(m, reference, &resp, display, err) < 0)
		return -1;
	return parse_body(m, resp.content_type, display, err);
}

int dist_manifest_get(struct dist_repo *r, CURL *h, const char *reference,
		      const struct hamn_dist_platform *platform, const char *display,
		      struct dist_manifest *m, struct hamn_error **err)
{
	struct dist_manifest list = {0};
	size_t i = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (get_one(r, h, reference, display, m, err) < 0) {
		dist_manifest_release(m);
		return -1;
	}
	if (!m->idx)
		return 0;
	list = *m;
	memset(m, 0, sizeof(*m));
	rc = hamn_dist_index_select(list.idx, platform, &i, err);
	if (rc == 0)
		rc = get_one(r, h, list.idx->manifests[i].digest.str, display, m, err);
	if (rc == 0 && !m->m)
		rc = hamn_error_setq(err, ENOTSUP,
				     "manifest for %s: an index inside an index is "
				     "not supported",
				     display);
	dist_manifest_release(&list);
	if (rc < 0)
		dist_manifest_release(m);
	return rc;
}

int dist_manifest_put(struct dist_repo *r, CURL *h, const char *reference, const char *media_type,
		      const char *body, size_t len, struct hamn_digest *digest_out,
		      struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", r->path, reference);
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	hamn_sha256_buf(body, len, digest_out);
	req.method = "PUT";
	req.url = path;
	req.body = body;
	req.body_len = len;
	req.content_type = media_type;
	if (dist_repo_do(r, h, &req, &resp, err) < 0)
		return -1;
	if (resp.status != 201 && resp.status != 200 && resp.status != 202)
		return dist_registry_error(&resp, err, "push manifest '%s'", reference);
	if (resp.docker_digest && str_has_prefix(resp.docker_digest, "sha256:") &&
	    !streq(resp.docker_digest, digest_out->str))
		return hamn_error_setq(err, EPROTO,
				       "push manifest '%s': the registry stored it as "
				       "%s, not %s",
				       reference, resp.docker_digest, digest_out->str);
	return 0;
}

/* ---- tags ---- */

/* The target of a Link header with rel="next" (new string), or NULL. */
static char *next_link(const char *link)
{
	const char *lt, *gt;

	if (!link || !strstr(link, "rel=\"next\""))
		return NULL;
	lt = strchr(link, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	return gt ? xstrndup(lt + 1, (size_t)(gt - lt - 1)) : NULL;
}

static int tags_page(struct dist_repo *r, CURL *h, const char *url, char ***tags, char **next,
		     struct hamn_error **err)
{
	_cleanup_resp_ struct dist_http_resp resp = {0};
	_cleanup_json_ json_t *o = NULL;
	struct dist_http_req req = DIST_HTTP_REQ_INIT;
	json_t *arr, *t;
	size_t i;

	req.method = "GET";
	req.url = url;
	req.max_body = HAMN_OCI_JSON_MAX;
	if (dist_repo_do(r, h, &req, &resp, err) < 0)
		return -1;
	if (resp.status != 200)
		return dist_registry_error(&resp, err, "list tags of '%s'", r->path);
	o = hamn_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, err);
	if (!o)
		return hamn_error_wrap(err, "list tags of '%s'", r->path);
	arr = json_object_get(o, "tags");
	json_array_foreach (arr, i, t)
		if (json_is_string(t) && hamn_ref_tag_valid(json_string_value(t)))
			strv_push(tags, json_string_value(t));
	*next = next_link(resp.link);
	return 0;
}

int dist_tags_list(struct dist_repo *r, CURL *h, char ***tags_out, struct hamn_error **err)
{
	_cleanup_free_ char *url = xasprintf("/v2/%s/tags/list", r->path);
	_cleanup_strv_ char **tags = NULL;

	strv_push(&tags, ""); /* a non-NULL empty vector: removed below */
	for (int page = 0; url && page < TAGS_MAX_PAGES; page++) {
		char *next = NULL;

		if (tags_page(r, h, url, &tags, &next, err) < 0)
			return -1;
		free(url);
		url = next;
	}
	free(tags[0]);
	memmove(tags, tags + 1, strv_len(tags + 1) * sizeof(*tags) + sizeof(*tags));
	*tags_out = steal_pointer(&tags);
	return 0;
}

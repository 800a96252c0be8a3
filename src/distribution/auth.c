/*
 * auth.c - registry authentication: WWW-Authenticate challenges, HTTP
 * basic credentials, and bearer tokens from the token server the challenge
 * names (docker's token protocol: GET realm?service=..&scope=.. with basic
 * credentials, or the OAuth2 POST with a refresh token).
 *
 * Tokens are cached per repository session (struct dist_repo) and shared by
 * all its threads; a 401 with a token makes registry.c ask here for a new one.
 */
#include "distribution/internal.h"

#include <ctype.h>
#include <strings.h>

#define TOKEN_REPLY_MAX (1u << 20)

void hamn_dist_challenge_release(struct hamn_dist_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static size_t token_len(const char *p)
{
	size_t n = 0;

	while (p[n] && (isalnum((unsigned char)p[n]) || strchr("!#$%&'*+-.^_`|~", p[n])))
		n++;
	return n;
}

/* A quoted string at p (after the opening quote): its unescaped value; *end after the quote. */
static int quoted(const char *p, char **out, const char **end)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	hamn_buf_puts(&b, "");
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		hamn_buf_putc(&b, *p);
	}
	if (*p != '"') {
		hamn_buf_release(&b);
		return -1;
	}
	*out = hamn_buf_steal(&b);
	*end = p + 1;
	return 0;
}

static void set_param(struct hamn_dist_challenge *c, const char *key, size_t kn, char *v)
{
	static const struct {
		const char *name;
		size_t off;
	} params[] = {
		{"realm", offsetof(struct hamn_dist_challenge, realm)},
		{"service", offsetof(struct hamn_dist_challenge, service)},
		{"scope", offsetof(struct hamn_dist_challenge, scope)},
		{"error", offsetof(struct hamn_dist_challenge, error)},
	};

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (strlen(params[i].name) == kn && strncasecmp(key, params[i].name, kn) == 0) {
			char **slot = (char **)((char *)c + params[i].off);

			free(*slot);
			*slot = v;
			return;
		}
	}
	free(v);
}

static int parse_params(const char *p, struct hamn_dist_challenge *c, struct hamn_error **err)
{
	for (;;) {
		const char *key;
		size_t kn;
		char *v = NULL;

		p = skip_space(p);
		while (*p == ',')
			p = skip_space(p + 1);
		if (!*p)
			return 0;
		key = p;
		kn = token_len(p);
		p = skip_space(p + kn);
		if (kn == 0 || *p != '=')
			return kn ? 0 : hamn_error_setq(err, EINVAL, "bad challenge parameter");
		p = skip_space(p + 1); /* a token without '=' starts the next challenge */
		if (*p == '"') {
			if (quoted(p + 1, &v, &p) < 0)
				return hamn_error_setq(err, EINVAL, "unterminated quoted string");
		} else {
			size_t vn = token_len(p);

			v = xstrndup(p, vn);
			p += vn;
		}
		set_param(c, key, kn, v);
	}
}

int hamn_dist_challenge_parse(const char *value, struct hamn_dist_challenge *out,
			      struct hamn_error **err)
{
	const char *p = skip_space(value ? value : "");
	size_t n = token_len(p);

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return hamn_error_setq(err, EINVAL, "invalid WWW-Authenticate '%s'", value);
	out->scheme = xstrndup(p, n);
	for (char *s = out->scheme; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	if (parse_params(p + n, out, err) < 0) {
		hamn_dist_challenge_release(out);
		return hamn_error_wrap(err, "invalid WWW-Authenticate '%s'", value);
	}
	return 0;
}

char *dist_auth_basic(const struct hamn_dist_auth *a)
{
	_cleanup_free_ char *up = NULL, *b64 = NULL;

	if (!a || !a->username || !*a->username)
		return NULL;
	up = xasprintf("%s:%s", a->username, a->password ? a->password : "");
	b64 = hamn_dist_base64_encode(up, strlen(up));
	return xasprintf("Basic %s", b64);
}

/* ---- token server ---- */

/* Append the scope parameters; *sep is "?" or "&" before the first and "&" after. */
static void add_scopes(struct hamn_buf *q, const struct dist_repo *r, const char **sep)
{
	_cleanup_free_ char *own = xasprintf("repository:%s:%s", r->path, r->actions);
	const char *extra = r->challenge.scope;

	/* a login asks for no repository: the token server only checks the credentials */
	if (*r->path) {
		_cleanup_free_ char *e = dist_url_escape(own);

		hamn_buf_printf(q, "%sscope=%s", *sep, e);
		*sep = "&";
	}
	for (char **s = r->extra_scopes; s && *s; s++) {
		_cleanup_free_ char *es = dist_url_escape(*s);

		hamn_buf_printf(q, "%sscope=%s", *sep, es);
		*sep = "&";
	}
	/* the registry may ask for a scope we did not think of (insufficient_scope) */
	if (extra && !streq(extra, own) && !strv_contains(r->extra_scopes, extra)) {
		_cleanup_free_ char *es = dist_url_escape(extra);

		hamn_buf_printf(q, "%sscope=%s", *sep, es);
	}
}

static int token_error(const struct dist_http_resp *resp, const char *realm,
		       struct hamn_error **err)
{
	if (resp->status == 401 || resp->status == 403) {
		_cleanup_free_ char *code = dist_registry_error_code(resp);

		if (code)
			return dist_registry_error(resp, err, "get token from \"%s\"", realm);
		return hamn_error_setq(err, EKEYREJECTED,
				       "get token from \"%s\": unauthorized: "
				       "incorrect username or password",
				       realm);
	}
	return dist_registry_error(resp, err, "get token from \"%s\"", realm);
}

/* Pick the token (or access_token) and a refresh token out of the reply. */
static int take_token(struct dist_repo *r, const struct dist_http_resp *resp,
		      struct hamn_error **err)
{
	_cleanup_json_ json_t *o =
		hamn_json_parse(resp->body.data ? resp->body.data : "", resp->body.len, err);
	const char *tok, *refresh;

	if (!o)
		return hamn_error_wrap(err, "token server reply");
	tok = json_string_value(json_object_get(o, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(o, "access_token"));
	if (!tok || !*tok)
		return hamn_error_setq(err, EPROTO, "token server reply has no token");
	free(r->token);
	r->token = xstrdup(tok);
	r->token_gen++;
	refresh = json_string_value(json_object_get(o, "refresh_token"));
	if (refresh && *refresh) {
		free(r->identity_token);
		r->identity_token = xstrdup(refresh);
	}
	return 0;
}

/* The OAuth2 refresh-token grant (docker's identity tokens). */
static int fetch_oauth(struct dist_repo *r, CURL *h, const struct dist_tls *tls,
		       struct dist_http_resp *resp, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf form = HAMN_BUF_INIT;
	_cleanup_free_ char *rt = dist_url_escape(r->creds.identity_token);
	_cleanup_free_ char *svc =
		dist_url_escape(r->challenge.service ? r->challenge.service : "");
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	const char *sep = "&";

	hamn_buf_printf(&form,
			"grant_type=refresh_token&refresh_token=%s&service=%s"
			"&client_id=hamn&access_type=offline",
			rt, svc);
	add_scopes(&form, r, &sep);
	req.method = "POST";
	req.url = r->challenge.realm;
	req.body = form.data;
	req.body_len = form.len;
	req.content_type = "application/x-www-form-urlencoded";
	req.max_body = TOKEN_REPLY_MAX;
	req.tls = tls;
	req.cancel_fd = r->cancel_fd;
	req.abort = r->abort;
	return dist_http_do(h, &req, resp, err);
}

static int fetch_get(struct dist_repo *r, CURL *h, const struct dist_tls *tls,
		     struct dist_http_resp *resp, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf url = HAMN_BUF_INIT;
	_cleanup_free_ char *basic = dist_auth_basic(&r->creds);
	_cleanup_free_ char *hdr = basic ? xasprintf("Authorization: %s", basic) : NULL;
	char *headers[] = {hdr, NULL};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;
	const char *sep = strchr(r->challenge.realm, '?') ? "&" : "?";

	hamn_buf_puts(&url, r->challenge.realm);
	if (r->challenge.service) {
		_cleanup_free_ char *svc = dist_url_escape(r->challenge.service);

		hamn_buf_printf(&url, "%sservice=%s", sep, svc);
		sep = "&";
	}
	add_scopes(&url, r, &sep);
	if (r->creds.username && *r->creds.username) {
		_cleanup_free_ char *acct = dist_url_escape(r->creds.username);

		hamn_buf_printf(&url, "%saccount=%s", sep, acct);
	}
	req.method = "GET";
	req.url = url.data;
	req.headers = headers;
	req.max_body = TOKEN_REPLY_MAX;
	req.tls = tls;
	req.cancel_fd = r->cancel_fd;
	req.abort = r->abort;
	return dist_http_do(h, &req, resp, err);
}

/* TLS for the token server: the registry's own when it is the same host. */
static int realm_tls(struct dist_repo *r, struct dist_tls *own, const struct dist_tls **out,
		     struct hamn_error **err)
{
	const char *realm = r->challenge.realm;
	const char *hs = strstr(realm, "://");
	_cleanup_free_ char *host = NULL;

	if (!hs)
		return hamn_error_setq(err, EPROTO, "invalid token realm '%s'", realm);
	hs += 3;
	host = xstrndup(hs, strcspn(hs, "/?"));
	if (streq(host, r->host)) {
		*out = &r->tls;
		return 0;
	}
	if (dist_tls_load(r->d->certs_dir, host, hamn_dist_host_insecure(host, r->d->insecure), own,
			  err) < 0)
		return -1;
	*out = own;
	return 0;
}

int dist_auth_fetch_token(struct dist_repo *r, CURL *h, struct hamn_error **err)
{
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_tls own = {0};
	const struct dist_tls *tls = NULL;
	int rc;

	if (r->creds.registry_token && *r->creds.registry_token) {
		free(r->token);
		r->token = xstrdup(r->creds.registry_token);
		r->token_gen++;
		return 0;
	}
	if (!r->challenge.realm || !*r->challenge.realm)
		return hamn_error_setq(err, EPROTO, "bearer challenge without a realm");
	if (realm_tls(r, &own, &tls, err) < 0)
		return -1;
	if (r->creds.identity_token && *r->creds.identity_token)
		rc = fetch_oauth(r, h, tls, &resp, err);
	else
		rc = fetch_get(r, h, tls, &resp, err);
	dist_tls_release(&own);
	if (rc < 0)
		return -1;
	if (resp.status != 200)
		return token_error(&resp, r->challenge.realm, err);
	return take_token(r, &resp, err);
}

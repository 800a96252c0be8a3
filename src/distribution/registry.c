/*
 * registry.c - a session with one repository on one registry: which URL
 * (https, or plain http for an insecure registry that does not speak TLS),
 * which TLS material (certs.d), which authentication (found by pinging
 * /v2/), and requests that carry the right Authorization header and get a
 * fresh token after a 401. Also: registry error replies as docker prints them.
 */
#include "distribution/internal.h"

#include <ctype.h>
#include <stdarg.h>

#define PING_BODY_MAX (64u << 10)

static char *host_of_url(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	return xstrndup(p, strcspn(p, "/?#"));
}

struct dist_repo *dist_repo_new(struct hamn_dist *d, const char *domain, const char *base_url,
				const char *path, const struct hamn_dist_auth *creds,
				const char *actions, int cancel_fd, struct hamn_error **err)
{
	struct dist_repo *r;

	/* every request goes through a repository: libcurl is loaded on the first */
	if (dist_curl_load(err) < 0)
		return NULL;
	r = xzalloc(sizeof(*r));
	r->d = d;
	r->domain = xstrdup(domain);
	r->path = xstrdup(path);
	r->actions = actions;
	r->cancel_fd = cancel_fd;
	r->mirror = base_url && *base_url && !streq(base_url, HAMN_DIST_HUB_ENDPOINT);
	r->host = base_url && *base_url ? host_of_url(base_url) : xstrdup(domain);
	r->insecure = hamn_dist_host_insecure(r->host, d->insecure);
	if (base_url && *base_url)
		r->base = xstrdup(base_url);
	else if (r->insecure && dist_host_is_plain(d, r->host))
		r->base = xasprintf("http://%s", r->host);
	else
		r->base = xasprintf("https://%s", r->host);
	if (creds) {
		r->creds.username = creds->username ? xstrdup(creds->username) : NULL;
		r->creds.password = creds->password ? xstrdup(creds->password) : NULL;
		r->creds.identity_token =
			creds->identity_token ? xstrdup(creds->identity_token) : NULL;
		r->creds.registry_token =
			creds->registry_token ? xstrdup(creds->registry_token) : NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	if (dist_tls_load(d->certs_dir, r->host, r->insecure, &r->tls, err) < 0) {
		dist_repo_free(r);
		return NULL;
	}
	return r;
}

void dist_repo_free(struct dist_repo *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->host);
	free(r->base);
	free(r->path);
	dist_tls_release(&r->tls);
	hamn_dist_auth_release(&r->creds);
	hamn_strv_free(r->extra_scopes);
	hamn_dist_challenge_release(&r->challenge);
	free(r->token);
	free(r->identity_token);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

char *dist_repo_url(const struct dist_repo *r, const char *path_or_url)
{
	if (strstr(path_or_url, "://"))
		return xstrdup(path_or_url);
	return xasprintf("%s%s", r->base, path_or_url);
}

/* ---- registry errors ---- */

char *dist_registry_error_code(const struct dist_http_resp *resp)
{
	_cleanup_json_ json_t *o = NULL;
	json_t *errs;
	const char *code;

	if (!resp->body.len)
		return NULL;
	o = json_loadb(resp->body.data, resp->body.len, 0, NULL);
	errs = json_object_get(o, "errors");
	code = json_string_value(json_object_get(json_array_get(errs, 0), "code"));
	return code ? xstrdup(code) : NULL;
}

/* "MANIFEST_UNKNOWN" -> "manifest unknown" (docker's errcode text). */
static void code_text(struct hamn_buf *b, const char *code)
{
	for (const char *p = code; *p; p++)
		hamn_buf_putc(b, *p == '_' ? ' ' : (char)tolower((unsigned char)*p));
}

static void describe(const struct dist_http_resp *resp, struct hamn_buf *b)
{
	_cleanup_json_ json_t *o = NULL;
	json_t *errs, *e;
	size_t i;

	if (resp->body.len)
		o = json_loadb(resp->body.data, resp->body.len, 0, NULL);
	errs = json_object_get(o, "errors");
	if (!json_is_array(errs) || json_array_size(errs) == 0) {
		if (resp->status == 401)
			hamn_buf_puts(b, "unauthorized: authentication required");
		else
			hamn_buf_printf(b, "unexpected HTTP status %ld", resp->status);
		return;
	}
	json_array_foreach (errs, i, e) {
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		if (i)
			hamn_buf_puts(b, ", ");
		code_text(b, code ? code : "unknown");
		if (msg && *msg)
			hamn_buf_printf(b, ": %s", msg);
	}
}

static int errno_of_status(long status)
{
	switch (status) {
	case 401:
		return EKEYREJECTED;
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 400:
		return EINVAL;
	case 405:
		return ENOTSUP;
	case 408:
	case 429:
	case 502:
	case 503:
	case 504:
		return EAGAIN;
	default:
		return EIO;
	}
}

int dist_registry_error(const struct dist_http_resp *resp, struct hamn_error **err,
			const char *what, ...)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	va_list ap;

	va_start(ap, what);
	hamn_buf_vprintf(&b, what, ap);
	va_end(ap);
	hamn_buf_puts(&b, ": ");
	describe(resp, &b);
	return hamn_error_setq(err, errno_of_status(resp->status), "%s", b.data);
}

/* ---- ping ---- */

static int note_challenge(struct dist_repo *r, const struct dist_http_resp *resp,
			  struct hamn_error **err)
{
	struct hamn_dist_challenge c;

	if (resp->status != 401) {
		r->scheme = AUTH_NONE;
		return 0;
	}
	if (!resp->www_auth)
		return hamn_error_setq(err, EPROTO,
				       "registry %s answered 401 without a "
				       "WWW-Authenticate challenge",
				       r->host);
	if (hamn_dist_challenge_parse(resp->www_auth, &c, err) < 0)
		return -1;
	hamn_dist_challenge_release(&r->challenge);
	r->challenge = c;
	if (streq(c.scheme, "basic"))
		r->scheme = AUTH_BASIC;
	else if (streq(c.scheme, "bearer"))
		r->scheme = AUTH_BEARER;
	else
		return hamn_error_setq(err, ENOTSUP,
				       "registry %s wants unsupported "
				       "authentication '%s'",
				       r->host, c.scheme);
	return 0;
}

static int ping_once(struct dist_repo *r, CURL *h, struct dist_http_resp *resp,
		     struct hamn_error **err)
{
	_cleanup_free_ char *url = xasprintf("%s/v2/", r->base);
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	req.method = "GET";
	req.url = url;
	req.max_body = PING_BODY_MAX;
	req.tls = &r->tls;
	req.cancel_fd = r->cancel_fd;
	req.abort = r->abort;
	req.stall_timeout_s = r->d->stall_timeout_s;
	return dist_http_do(h, &req, resp, err);
}

/* An insecure registry that does not speak TLS: try plain HTTP (docker does the same). */
static bool try_plain(const struct dist_repo *r, const struct hamn_error *e)
{
	return r->insecure && !r->mirror && !r->tls.configured &&
	       str_has_prefix(r->base, "https://") &&
	       (e->errnum == EPROTO || e->errnum == ECONNRESET || e->errnum == EIO);
}

int dist_repo_ping(struct dist_repo *r, CURL *h, struct hamn_error **err)
{
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct hamn_error *first = NULL;

	if (ping_once(r, h, &resp, &first) < 0) {
		if (!try_plain(r, first))
			return hamn_error_propagate(err, &first);
		free(r->base);
		r->base = xasprintf("http://%s", r->host);
		dist_http_resp_release(&resp);
		if (ping_once(r, h, &resp, err) < 0) {
			hamn_error_free(&first);
			return -1;
		}
		hamn_error_free(&first);
		dist_host_set_plain(r->d, r->host);
	}
	if (resp.status != 200 && resp.status != 401)
		return dist_registry_error(&resp, err, "ping \"%s/v2/\"", r->base);
	pthread_mutex_lock(&r->lock);
	int rc = note_challenge(r, &resp, err);

	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- authenticated requests ---- */

/* The Authorization header for the current state (new string or NULL), and its token generation. */
static char *auth_header(struct dist_repo *r, unsigned *gen)
{
	char *h = NULL;

	pthread_mutex_lock(&r->lock);
	*gen = r->token_gen;
	if (r->scheme == AUTH_BASIC) {
		_cleanup_free_ char *b = dist_auth_basic(&r->creds);

		h = b ? xasprintf("Authorization: %s", b) : NULL;
	} else if (r->scheme == AUTH_BEARER && r->token) {
		h = xasprintf("Authorization: Bearer %s", r->token);
	}
	pthread_mutex_unlock(&r->lock);
	return h;
}

/*
 * After a 401: learn the challenge and get a new token, unless another
 * thread already did (the generation moved on). *retry says whether the
 * request is worth sending again.
 */
static int refresh(struct dist_repo *r, CURL *h, const struct dist_http_resp *resp, unsigned gen,
		   bool had_auth, bool *retry, struct hamn_error **err)
{
	int rc = 0;

	*retry = false;
	pthread_mutex_lock(&r->lock);
	if (r->token_gen != gen) {
		*retry = true;
		goto out;
	}
	if (note_challenge(r, resp, err) < 0) {
		rc = -1;
		goto out;
	}
	if (r->scheme == AUTH_BEARER) {
		/* the token server uses its own connection: h is in the middle of nothing */
		rc = dist_auth_fetch_token(r, h, err);
		*retry = rc == 0;
	} else {
		/* basic credentials refused are final; absent ones are sent now */
		*retry = r->scheme == AUTH_BASIC && !had_auth && r->creds.username;
	}
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static char **with_auth(char *const *headers, const char *auth)
{
	char **v = strv_copy(headers);

	if (auth)
		strv_push(&v, auth);
	return v;
}

int dist_repo_do(struct dist_repo *r, CURL *h, struct dist_http_req *req,
		 struct dist_http_resp *resp, struct hamn_error **err)
{
	_cleanup_free_ char *url = dist_repo_url(r, req->url);
	struct dist_http_req q = *req;

	q.url = url;
	q.tls = &r->tls;
	q.cancel_fd = r->cancel_fd;
	q.abort = r->abort;
	for (int attempt = 0;; attempt++) {
		unsigned gen;
		_cleanup_free_ char *auth = auth_header(r, &gen);
		_cleanup_strv_ char **headers = with_auth(req->headers, auth);
		bool retry = false;

		q.headers = headers;
		if (dist_http_do(h, &q, resp, err) < 0)
			return -1;
		if (resp->status != 401 || attempt == 2)
			return 0;
		if (refresh(r, h, resp, gen, auth != NULL, &retry, err) < 0)
			return -1;
		if (!retry)
			return 0;
		dist_http_resp_release(resp);
	}
}

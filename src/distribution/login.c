/*
 * login.c - checking credentials against a registry, as dockerd's POST
 * /auth does: ping /v2/, then prove the credentials the way the registry
 * asks (basic: /v2/ again with them; bearer: a token for no repository,
 * then /v2/ with it). An auth-less registry accepts anything.
 */
#include "distribution/internal.h"

static int check(struct dist_repo *r, CURL *h, const char *key, struct hamn_error **err)
{
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	if (r->scheme == AUTH_BEARER) {
		pthread_mutex_lock(&r->lock);
		int rc = dist_auth_fetch_token(r, h, err);

		pthread_mutex_unlock(&r->lock);
		if (rc < 0)
			return hamn_error_wrap(err, "login to '%s'", key);
	}
	req.method = "GET";
	req.url = "/v2/";
	if (dist_repo_do(r, h, &req, &resp, err) < 0)
		return hamn_error_wrap(err, "login to '%s'", key);
	if (resp.status == 200)
		return 0;
	return dist_registry_error(&resp, err, "login to '%s'", key);
}

int hamn_dist_login(struct hamn_dist *d, const struct hamn_dist_auth *auth,
		    char **identity_token_out, struct hamn_error **err)
{
	_cleanup_free_ char *key = hamn_dist_auth_key(auth ? auth->server_address : NULL);
	bool hub = streq(key, HAMN_DIST_HUB_AUTH_KEY);
	_cleanup_repo_ struct dist_repo *r = NULL;
	CURL *h;
	int rc;

	if (identity_token_out)
		*identity_token_out = NULL;
	r = dist_repo_new(d, hub ? HAMN_REF_DEFAULT_DOMAIN : key,
			  hub ? HAMN_DIST_HUB_ENDPOINT : NULL, "", auth, "pull", -1, err);
	if (!r)
		return -1;
	h = dist_handle_get(d);
	rc = dist_repo_ping(r, h, err);
	if (rc < 0)
		hamn_error_wrap(err, "login to '%s'", key);
	else if (r->scheme != AUTH_NONE)
		rc = check(r, h, key, err);
	dist_handle_put(d, h);
	if (rc == 0 && identity_token_out && r->identity_token)
		*identity_token_out = xstrdup(r->identity_token);
	return rc;
}

/*
 * request.c - the request object: accessors for handlers (method, path,
 * params, headers, query), the request body (buffered for JSON routes,
 * handed on in chunks for stream-body routes) and dockerd's bool rules.
 */
#include "api/internal.h"

#include <ctype.h>
#include <strings.h>

struct hamn_api_req *api_req_new(struct hamn_api_server *s, struct MHD_Connection *conn,
				 const char *method, const char *url)
{
	struct hamn_api_req *req = xzalloc(sizeof(*req));

	req->server = s;
	req->conn = conn;
	req->method = xstrdup(method);
	req->raw_path = xstrdup(url);
	req->path = req->raw_path;
	req->status = 0;
	req->start_ns = hamn_monotonic_ns();
	return req;
}

void api_req_free(struct hamn_api_req *req)
{
	if (!req)
		return;
	if (req->body_ctx_free)
		req->body_ctx_free(req->body_ctx);
	hamn_error_free(&req->body_err);
	hamn_error_free(&req->early_err);
	if (req->response)
		MHD_destroy_response(req->response);
	for (size_t i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	free(req->headers);
	hamn_api_match_release(&req->match);
	hamn_buf_release(&req->body);
	free(req->method);
	free(req->raw_path);
	free(req);
}

const char *hamn_api_req_method(const struct hamn_api_req *req)
{
	return req->method;
}

const char *hamn_api_req_path(const struct hamn_api_req *req)
{
	return req->path;
}

const char *hamn_api_req_version(const struct hamn_api_req *req)
{
	return req->matched ? req->match.version : HAMN_API_VERSION;
}

const char *hamn_api_req_param(const struct hamn_api_req *req, const char *name)
{
	for (size_t i = 0; i < req->match.nparams; i++)
		if (streq(req->match.names[i], name))
			return req->match.values[i];
	return NULL;
}

const char *hamn_api_req_header(const struct hamn_api_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *hamn_api_req_query(const struct hamn_api_req *req, const char *key)
{
	const char *value = NULL;
	size_t len = 0;

	if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key),
					  &value, &len) != MHD_YES)
		return NULL;
	return value ? value : "";
}

struct query_collect {
	const char *key;
	char **values;
};

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct query_collect *qc = cls;

	(void)kind;
	if (streq(key, qc->key))
		strv_push(&qc->values, value ? value : "");
	return MHD_YES;
}

char **hamn_api_req_query_list(const struct hamn_api_req *req, const char *key)
{
	struct query_collect qc = {key, NULL};

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_value, &qc);
	return qc.values ? qc.values : xzalloc(sizeof(char *));
}

bool hamn_api_parse_bool(const char *s)
{
	static const char *const falsy[] = {"", "0", "no", "false", "none"};
	size_t len;

	if (!s)
		return false;
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++)
		if (strlen(falsy[i]) == len && strncasecmp(s, falsy[i], len) == 0)
			return false;
	return true;
}

bool hamn_api_req_query_bool(const struct hamn_api_req *req, const char *key, bool def)
{
	const char *v = hamn_api_req_query(req, key);

	return v ? hamn_api_parse_bool(v) : def;
}

int hamn_api_req_query_int(const struct hamn_api_req *req, const char *key, int64_t def,
			   int64_t *out, struct hamn_error **err)
{
	const char *v = hamn_api_req_query(req, key);
	_cleanup_error_ struct hamn_error *perr = NULL;

	if (!v || !*v) {
		*out = def;
		return 0;
	}
	if (hamn_parse_int64(v, out, &perr) < 0)
		return hamn_error_setq(err, EINVAL, "invalid value for '%s': '%s'", key, v);
	return 0;
}

int api_req_tty_size(const struct hamn_api_req *req, unsigned int *h, unsigned int *w,
		     struct hamn_error **err)
{
	int64_t hh = 0, ww = 0;

	if (hamn_api_req_query_int(req, "h", 0, &hh, err) < 0 ||
	    hamn_api_req_query_int(req, "w", 0, &ww, err) < 0)
		return -1;
	if (hh < 0 || ww < 0 || hh > 65535 || ww > 65535)
		return hamn_error_setq(err, EINVAL, "invalid terminal size %lldx%lld",
				       (long long)hh, (long long)ww);
	*h = (unsigned int)hh;
	*w = (unsigned int)ww;
	return 0;
}

const char *hamn_api_req_body(const struct hamn_api_req *req, size_t *len)
{
	*len = req->body.len;
	return req->body.data ? req->body.data : "";
}

/* dockerd's CheckForJSON: a body with a Content-Type must say application/json. */
static int check_json_content_type(const struct hamn_api_req *req, struct hamn_error **err)
{
	const char *ct = hamn_api_req_header(req, "Content-Type");
	size_t n;

	if (!ct || !*ct)
		return 0;
	n = strcspn(ct, "; \t");
	if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
		return 0;
	return hamn_error_setq(err, EINVAL,
			       "Content-Type specified (%s) must be 'application/json'", ct);
}

int hamn_api_req_json(const struct hamn_api_req *req, unsigned flags, json_t **out,
		      struct hamn_error **err)
{
	json_t *v;

	*out = NULL;
	if (req->body.len == 0) {
		if (flags & HAMN_API_JSON_OPTIONAL)
			return 0;
		return hamn_error_setq(err, EINVAL,
				       "request body is empty: a JSON object is needed");
	}
	if (check_json_content_type(req, err) < 0)
		return -1;
	v = hamn_json_parse(req->body.data, req->body.len, err);
	if (!v)
		return -1;
	if (json_is_null(v) && (flags & HAMN_API_JSON_OPTIONAL)) {
		json_decref(v); /* docker-py sends "null" for "no body" */
		return 0;
	}
	if (!(flags & HAMN_API_JSON_ANY) && !json_is_object(v)) {
		json_decref(v);
		return hamn_error_setq(err, EINVAL,
				       "invalid JSON: the request body must be an object");
	}
	*out = v;
	return 0;
}

void hamn_api_req_consume_body(struct hamn_api_req *req, hamn_api_body_fn on_data,
			       hamn_api_body_done_fn on_done, void *ctx, void (*ctx_free)(void *))
{
	if (!(req->match.flags & HAMN_API_ROUTE_STREAM_BODY) || req->on_done)
		hamn_bug("consume_body outside a stream-body handler, or twice");
	req->on_data = on_data;
	req->on_done = on_done;
	req->body_ctx = ctx;
	req->body_ctx_free = ctx_free;
}

/*
 * Discarded bytes (the body of a request that already failed) are bounded
 * too: past the limit the connection is closed instead of read forever.
 */
static enum MHD_Result discard(struct hamn_api_req *req, size_t len)
{
	req->discarded += len;
	return req->discarded > req->server->cfg.max_body ? MHD_NO : MHD_YES;
}

enum MHD_Result api_req_feed(struct hamn_api_req *req, const char *data, size_t len)
{
	if (req->early_err)
		return discard(req, len);
	if (req->on_data) {
		if (req->body_err)
			return MHD_YES; /* the client is still sending; the error is replied at the
					   end */
		if (req->on_data(req->body_ctx, data, len, &req->body_err) < 0 && !req->body_err)
			hamn_error_setq(&req->body_err, EIO, "request body consumer failed");
		return MHD_YES;
	}
	if (req->body.len + len > req->server->cfg.max_body) {
		/* only a chunked body gets here (Content-Length was checked up front) */
		log_kv(HAMN_LOG_WARN, "request body too large, closing",
		       "method=%s path=%s limit=%zu", req->method, req->raw_path,
		       req->server->cfg.max_body);
		return MHD_NO;
	}
	hamn_buf_append(&req->body, data, len);
	return MHD_YES;
}

/*
 * client.c - Docker Engine API calls on top of http.c: plain JSON calls on a
 * kept-alive connection, streams and hijacks on their own connections.
 * It knows the API's conventions (prefix, error shape), nothing about commands.
 */
#include "client/http.h"

#include <ctype.h>

struct hamn_client {
	char *host;		/* as given, for messages */
	char *unix_path;	/* unix socket, or NULL */
	char *tcp_host, *tcp_port;
	struct http_conn conn;	/* kept-alive connection for hamn_client_call; fd -1 when closed */
};

static int parse_host(struct hamn_client *c, const char *host, struct hamn_error **err)
{
	if (str_has_prefix(host, "unix://")) {
		c->unix_path = xstrdup(host + 7);
	} else if (host[0] == '/') {
		c->unix_path = xstrdup(host);
	} else if (str_has_prefix(host, "tcp://") || str_has_prefix(host, "http://")) {
		const char *hp = strstr(host, "://") + 3;
		const char *colon = strrchr(hp, ':');
		size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);

		c->tcp_host = xstrndup(hp, hl);
		c->tcp_port = xstrdup(colon ? colon + 1 : "2375");
		char *slash = strchr(c->tcp_port, '/');
		if (slash)
			*slash = '\0';
	} else {
		return hamn_error_setq(err, EINVAL, "unsupported host '%s' (want unix:// or tcp://)",
				       host);
	}
	return 0;
}

struct hamn_client *hamn_client_new(const char *host, struct hamn_error **err)
{
	struct hamn_client *c = xzalloc(sizeof(*c));

	if (!host || !*host)
		host = getenv("HAMN_HOST");
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = "unix:///run/hamn/hamn.sock";
	c->host = xstrdup(host);
	c->conn.fd = -1;
	if (parse_host(c, host, err) < 0) {
		hamn_client_free(c);
		return NULL;
	}
	return c;
}

void hamn_client_free(struct hamn_client *c)
{
	if (!c)
		return;
	if (c->conn.fd >= 0)
		close(c->conn.fd);
	hamn_buf_release(&c->conn.in);
	free(c->host);
	free(c->unix_path);
	free(c->tcp_host);
	free(c->tcp_port);
	free(c);
}

const char *hamn_client_host(const struct hamn_client *c)
{
	return c->host;
}

void hamn_client_resp_release(struct hamn_client_resp *r)
{
	free(r->content_type);
	free(r->body);
	*r = (struct hamn_client_resp){ 0 };
}

static int open_conn(struct hamn_client *c, struct http_conn *hc, struct hamn_error **err)
{
	*hc = (struct http_conn){ .fd = -1, .in = HAMN_BUF_INIT };
	return http_connect(c->unix_path, c->tcp_host, c->tcp_port, &hc->fd, err);
}

static void close_conn(struct http_conn *hc)
{
	if (hc->fd >= 0)
		close(hc->fd);
	hc->fd = -1;
	hamn_buf_release(&hc->in);
}

static char *full_path(const char *path)
{
	return xasprintf("%s%s", HAMN_CLIENT_API_PREFIX, path);
}

static int collect(void *ctx, const char *data, size_t len)
{
	hamn_buf_append(ctx, data, len);
	return 0;
}

/* One request/response on hc; the caller decides what to do with the connection. */
static int exchange(struct http_conn *hc, const char *method, const char *path,
		    const char *content_type, const void *body, size_t body_len,
		    struct http_head *head, struct hamn_buf *out, struct hamn_error **err)
{
	if (http_send_head(hc, method, path, content_type, (long long)body_len, false, err) < 0)
		return -1;
	if (body_len && hamn_write_all(hc->fd, body, body_len, err) < 0)
		return -1;
	if (http_read_head(hc, head, err) < 0)
		return -1;
	return http_read_body(hc, head, strcmp(method, "HEAD") == 0, collect, out, err);
}

int hamn_client_call(struct hamn_client *c, const char *method, const char *path,
		     const char *content_type, const void *body, size_t body_len,
		     struct hamn_client_resp *resp, struct hamn_error **err)
{
	_cleanup_free_ char *fp = full_path(path);
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	struct http_head head;
	bool reused = c->conn.fd >= 0;

	if (!reused && open_conn(c, &c->conn, err) < 0)
		return -1;
	if (exchange(&c->conn, method, fp, content_type, body, body_len, &head, &out, err) < 0) {
		close_conn(&c->conn);
		if (!reused)
			return -1;
		/* the daemon may have closed an idle kept-alive connection: retry once, fresh */
		hamn_error_free(err);
		hamn_buf_reset(&out);
		if (open_conn(c, &c->conn, err) < 0 ||
		    exchange(&c->conn, method, fp, content_type, body, body_len, &head, &out,
			     err) < 0) {
			close_conn(&c->conn);
			return -1;
		}
	}
	if (head.close || (!head.chunked && head.length < 0))
		close_conn(&c->conn);
	resp->status = head.status;
	resp->content_type = head.content_type;
	resp->len = out.len;
	resp->body = hamn_buf_steal(&out);
	return 0;
}

int hamn_client_status_error(int status, const char *body, size_t len, struct hamn_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	const char *msg = NULL;
	int errnum;

	switch (status) {
	case 400: errnum = EINVAL; break;
	case 401: case 403: errnum = EPERM; break;
	case 404: errnum = ENOENT; break;
	case 409: errnum = EEXIST; break;
	case 304: errnum = EALREADY; break;
	default: errnum = EIO; break;
	}
	if (len)
		j = json_loadb(body, len, 0, NULL);
	if (j && json_is_string(json_object_get(j, "message")))
		msg = json_string_value(json_object_get(j, "message"));
	if (msg)
		return hamn_error_setq(err, errnum, "%s", msg);
	return hamn_error_setq(err, errnum, "daemon answered %d%s%.*s", status, len ? ": " : "",
			       (int)(len > 200 ? 200 : len), body ? body : "");
}

int hamn_client_json(struct hamn_client *c, const char *method, const char *path, json_t *body,
		     json_t **out, struct hamn_error **err)
{
	_cleanup_free_ char *text = body ? hamn_json_dump(body) : NULL;
	struct hamn_client_resp r = { 0 };
	int rc = -1;

	if (out)
		*out = NULL;
	if (hamn_client_call(c, method, path, body ? "application/json" : NULL, text,
			     text ? strlen(text) : 0, &r, err) < 0)
		return -1;
	if (r.status < 200 || r.status > 299) {
		hamn_client_status_error(r.status, r.body, r.len, err);
		goto out;
	}
	if (out && r.len) {
		*out = hamn_json_parse(r.body, r.len, err);
		if (!*out) {
			hamn_error_wrap(err, "reply to %s %s", method, path);
			goto out;
		}
	}
	rc = 0;
out:
	hamn_client_resp_release(&r);
	return rc;
}

int hamn_client_stream(struct hamn_client *c, const struct hamn_client_stream *req, int *status_out,
		       struct hamn_error **err)
{
	_cleanup_free_ char *fp = full_path(req->path);
	struct http_conn hc;
	struct http_head head = { 0 };
	long long len = req->body_fd >= 0 ? -1 : (long long)req->body_len;
	int rc = -1;

	if (open_conn(c, &hc, err) < 0)
		return -1;
	if (http_send_head_extra(&hc, req->method, fp, req->content_type, len, false, req->headers,
				 err) < 0)
		goto out;
	if (req->body_fd >= 0 ? http_send_chunked_fd(&hc, req->body_fd, err) < 0
			      : (req->body_len &&
				 hamn_write_all(hc.fd, req->body, req->body_len, err) < 0))
		goto out;
	if (http_read_head(&hc, &head, err) < 0)
		goto out;
	*status_out = head.status;
	if (head.status < 200 || head.status > 299) {
		_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
		if (http_read_body(&hc, &head, false, collect, &b, err) == 0)
			hamn_client_status_error(head.status, b.data, b.len, err);
		goto out;
	}
	rc = http_read_body(&hc, &head, false, req->on_data, req->ctx, err);
out:
	http_head_release(&head);
	close_conn(&hc);
	return rc;
}

int hamn_client_hijack(struct hamn_client *c, const char *method, const char *path, json_t *body,
		       int *fd_out, struct hamn_buf *early, struct hamn_error **err)
{
	_cleanup_free_ char *fp = full_path(path);
	_cleanup_free_ char *text = body ? hamn_json_dump(body) : NULL;
	struct http_conn hc;
	struct http_head head = { 0 };
	size_t len = text ? strlen(text) : 0;

	if (open_conn(c, &hc, err) < 0)
		return -1;
	if (http_send_head(&hc, method, fp, text ? "application/json" : "text/plain",
			   (long long)len, true, err) < 0 ||
	    (len && hamn_write_all(hc.fd, text, len, err) < 0) ||
	    http_read_head(&hc, &head, err) < 0)
		goto fail;
	if (head.status != 101 && head.status != 200) {
		_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
		if (http_read_body(&hc, &head, false, collect, &b, err) == 0)
			hamn_client_status_error(head.status, b.data, b.len, err);
		goto fail;
	}
	http_head_release(&head);
	hamn_buf_append(early, hc.in.data ? hc.in.data : "", hc.in.len);
	hamn_buf_release(&hc.in);
	*fd_out = hc.fd;
	return 0;
fail:
	http_head_release(&head);
	close_conn(&hc);
	return -1;
}

struct hamn_client_pending {
	struct http_conn hc;
	bool head_request;
};

struct hamn_client_pending *hamn_client_pending_start(struct hamn_client *c, const char *method,
						      const char *path, json_t *body,
						      struct hamn_error **err)
{
	_cleanup_free_ char *fp = full_path(path);
	_cleanup_free_ char *text = body ? hamn_json_dump(body) : NULL;
	struct hamn_client_pending *p = xzalloc(sizeof(*p));
	size_t len = text ? strlen(text) : 0;

	p->head_request = strcmp(method, "HEAD") == 0;
	if (open_conn(c, &p->hc, err) < 0 ||
	    http_send_head(&p->hc, method, fp, text ? "application/json" : NULL, (long long)len,
			   false, err) < 0 ||
	    (len && hamn_write_all(p->hc.fd, text, len, err) < 0)) {
		hamn_client_pending_free(p);
		return NULL;
	}
	return p;
}

int hamn_client_pending_finish(struct hamn_client_pending *p, struct hamn_client_resp *resp,
			       struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	struct http_head head;

	if (http_read_head(&p->hc, &head, err) < 0)
		return -1;
	if (http_read_body(&p->hc, &head, p->head_request, collect, &out, err) < 0) {
		http_head_release(&head);
		return -1;
	}
	resp->status = head.status;
	resp->content_type = head.content_type;
	resp->len = out.len;
	resp->body = hamn_buf_steal(&out);
	return 0;
}

void hamn_client_pending_free(struct hamn_client_pending *p)
{
	if (!p)
		return;
	close_conn(&p->hc);
	free(p);
}

char *hamn_client_urlencode(const char *s)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("-._~", ch))
			hamn_buf_putc(&b, (char)ch);
		else
			hamn_buf_printf(&b, "%%%02X", ch);
	}
	return hamn_buf_steal(&b);
}

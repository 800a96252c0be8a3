/*
 * http.c - one HTTP request over a libcurl easy handle, with the registry's
 * needs: bodies streamed to a callback or collected with a limit, uploads
 * from memory or from a file, the response headers a registry sends
 * (Location, Docker-Content-Digest, WWW-Authenticate, Range, Link), TLS
 * per registry (docker's certs.d), cancellation and stall detection.
 *
 * It knows nothing about registries or authentication (registry.c, auth.c).
 */
#include "distribution/internal.h"

#include <dirent.h>
#include <poll.h>
#include <strings.h>

#define COLLECT_DEFAULT_MAX (1u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define CERT_FILE_MAX (1u << 20)

void dist_http_resp_release(struct dist_http_resp *r)
{
	hamn_buf_release(&r->body);
	free(r->location);
	free(r->content_type);
	free(r->docker_digest);
	free(r->www_auth);
	free(r->content_range);
	free(r->range);
	free(r->link);
	free(r->url);
	memset(r, 0, sizeof(*r));
}

void dist_tls_release(struct dist_tls *t)
{
	free(t->ca_pem);
	free(t->client_cert);
	free(t->client_key);
	memset(t, 0, sizeof(*t));
}

/* ---- TLS material from certs.d ---- */

static void append_file(struct hamn_buf *b, int dirfd, const char *name)
{
	_cleanup_free_ char *text = NULL;
	struct hamn_error *err = NULL;
	size_t len = 0;

	if (hamn_read_file(dirfd, name, CERT_FILE_MAX, &text, &len, &err) < 0) {
		/* an unreadable CA is skipped, as docker does; the handshake will say what failed
		 */
		log_kv(HAMN_LOG_WARN, "cannot read CA certificate", "file=%s err=\"%s\"", name,
		       err->msg);
		hamn_error_free(&err);
		return;
	}
	hamn_buf_append(b, text, len);
	hamn_buf_putc(b, '\n');
}

static void append_system_cas(struct hamn_buf *b)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *path = v->cainfo ? v->cainfo : "/etc/ssl/certs/ca-certificates.crt";

	append_file(b, AT_FDCWD, path);
}

/* Each entry of dir: X.crt (a CA), X.cert with X.key (a client pair). */
static int scan_certs_dir(int dirfd, const char *dirpath, struct hamn_buf *cas, struct dist_tls *t,
			  struct hamn_error **err)
{
	_cleanup_closedir_ DIR *dir = fdopendir(dirfd);
	struct dirent *de;

	if (!dir) {
		close(dirfd);
		return hamn_error_set(err, errno, "open '%s'", dirpath);
	}
	while ((de = readdir(dir))) {
		const char *n = de->d_name;

		if (str_has_suffix(n, ".crt")) {
			append_file(cas, dirfd, n);
		} else if (str_has_suffix(n, ".cert")) {
			_cleanup_free_ char *key = xasprintf("%.*s.key", (int)(strlen(n) - 5), n);

			if (faccessat(dirfd, key, R_OK, 0) < 0)
				return hamn_error_setq(err, ENOENT,
						       "missing key %s for client "
						       "certificate %s in '%s'",
						       key, n, dirpath);
			free(t->client_cert);
			free(t->client_key);
			t->client_cert = xasprintf("%s/%s", dirpath, n);
			t->client_key = xasprintf("%s/%s", dirpath, key);
		}
	}
	return 0;
}

int dist_tls_load(const char *certs_dir, const char *host, bool insecure, struct dist_tls *t,
		  struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf cas = HAMN_BUF_INIT;
	_cleanup_free_ char *path = NULL;
	int fd;

	memset(t, 0, sizeof(*t));
	t->verify = !insecure;
	if (!certs_dir || strchr(host, '/') || streq(host, "..") || streq(host, "."))
		return 0;
	path = xasprintf("%s/%s", certs_dir, host);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR
			       ? 0
			       : hamn_error_set(err, errno, "open '%s'", path);
	t->configured = true;
	t->verify = true;
	append_system_cas(&cas);
	size_t system_len = cas.len;

	if (scan_certs_dir(fd, path, &cas, t, err) < 0) {
		dist_tls_release(t);
		return -1;
	}
	if (cas.len > system_len) {
		t->ca_len = cas.len;
		t->ca_pem = hamn_buf_steal(&cas);
	}
	return 0;
}

/* ---- one transfer ---- */

struct xfer {
	CURL *h;
	const struct dist_http_req *req;
	struct dist_http_resp *resp;
	size_t max_body;
	struct hamn_error *cb_err;
	bool cancelled;
	const char *mem; /* upload from memory */
	size_t mem_left;
	uint64_t fd_left; /* upload from req->body_fd */
	off_t fd_off;
	uint64_t sent;
};

static char *trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	return xstrndup(s, n);
}

static void reset_headers(struct dist_http_resp *r)
{
	struct hamn_buf keep = r->body;
	char *url = r->url;

	r->body = (struct hamn_buf)HAMN_BUF_INIT;
	r->url = NULL;
	dist_http_resp_release(r);
	hamn_buf_release(&keep);
	r->url = url;
	r->content_length = -1;
}

static void set_header(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = trim_dup(v, n);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;
	const char *colon = memchr(buf, ':', n);
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
		{"location", offsetof(struct dist_http_resp, location)},
		{"content-type", offsetof(struct dist_http_resp, content_type)},
		{"docker-content-digest", offsetof(struct dist_http_resp, docker_digest)},
		{"www-authenticate", offsetof(struct dist_http_resp, www_auth)},
		{"content-range", offsetof(struct dist_http_resp, content_range)},
		{"range", offsetof(struct dist_http_resp, range)},
		{"link", offsetof(struct dist_http_resp, link)},
	};

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		reset_headers(x->resp); /* a new response: a redirect, or 100 Continue */
		return n;
	}
	if (!colon)
		return n;
	size_t nl = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vn = n - nl - 1;

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (strlen(wanted[i].name) == nl && strncasecmp(buf, wanted[i].name, nl) == 0) {
			set_header((char **)((char *)x->resp + wanted[i].off), v, vn);
			return n;
		}
	}
	if (nl == 14 && strncasecmp(buf, "content-length", nl) == 0) {
		_cleanup_free_ char *s = trim_dup(v, vn);
		int64_t cl;

		if (hamn_parse_int64(s, &cl, NULL) == 0 && cl >= 0)
			x->resp->content_length = cl;
	}
	return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (x->req->on_data && status >= 200 && status < 300) {
		if (x->req->on_data(x->req->ud, data, n, &x->cb_err) < 0)
			return CURL_WRITEFUNC_ERROR;
		return n;
	}
	/* collected: a small document, or an error body (kept short; the rest is dropped) */
	size_t max = x->req->on_data ? ERROR_BODY_MAX : x->max_body;

	if (x->resp->body.len + n > max) {
		if (x->req->on_data || status < 200 || status >= 300)
			return n;
		hamn_error_setq(&x->cb_err, EFBIG, "response larger than %zu bytes", max);
		return CURL_WRITEFUNC_ERROR;
	}
	hamn_buf_append(&x->resp->body, data, n);
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;

	if (x->mem) {
		n = n < x->mem_left ? n : x->mem_left;
		memcpy(buf, x->mem, n);
		x->mem += n;
		x->mem_left -= n;
		return n;
	}
	if (n > x->fd_left)
		n = (size_t)x->fd_left;
	if (n == 0)
		return 0;
	ssize_t r;

	do
		r = pread(x->req->body_fd, buf, n, x->fd_off);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		hamn_error_set(&x->cb_err, r < 0 ? errno : EIO, "read upload body");
		return CURL_READFUNC_ABORT;
	}
	x->fd_off += r;
	x->fd_left -= (uint64_t)r;
	return (size_t)r;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = ud;

	if (x->req->abort && __atomic_load_n(x->req->abort, __ATOMIC_RELAXED)) {
		x->cancelled = true;
		return 1;
	}
	if (x->req->cancel_fd >= 0) {
		struct pollfd pfd = {.fd = x->req->cancel_fd, .events = POLLIN};

		if (poll(&pfd, 1, 0) > 0) {
			x->cancelled = true;
			return 1;
		}
	}
	if (x->req->on_sent && (uint64_t)ulnow != x->sent) {
		x->sent = (uint64_t)ulnow;
		x->req->on_sent(x->req->ud, x->sent);
	}
	return 0;
}

static void set_body(CURL *h, const struct dist_http_req *r, struct xfer *x)
{
	bool has_body = r->body || r->body_fd >= 0 || streq(r->method, "PUT") ||
			streq(r->method, "POST") || streq(r->method, "PATCH");
	curl_off_t len = r->body_fd >= 0 ? (curl_off_t)r->body_fd_len : (curl_off_t)r->body_len;

	if (!has_body)
		return;
	x->mem = r->body_fd >= 0 ? NULL : (r->body ? r->body : "");
	x->mem_left = r->body_len;
	x->fd_left = r->body_fd_len;
	x->fd_off = r->body_off;
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, x);
	if (streq(r->method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, len);
	} else {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, len);
		if (!streq(r->method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

static void set_tls(CURL *h, const struct dist_tls *t)
{
	if (!t)
		return;
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, t->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, t->verify ? 2L : 0L);
	if (t->ca_pem) {
		struct curl_blob blob = {
			.data = t->ca_pem, .len = t->ca_len, .flags = CURL_BLOB_NOCOPY};

		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (t->client_cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, t->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, t->client_key);
	}
}

static struct curl_slist *build_headers(const struct dist_http_req *r)
{
	struct curl_slist *l = NULL;

	/* a registry answers at once; never wait a second for "100 Continue" */
	l = curl_slist_append(l, "Expect:");
	if (r->content_type) {
		_cleanup_free_ char *ct = xasprintf("Content-Type: %s", r->content_type);

		l = curl_slist_append(l, ct);
	} else if (streq(r->method, "POST") || streq(r->method, "PATCH") ||
		   streq(r->method, "PUT")) {
		l = curl_slist_append(l, "Content-Type: application/octet-stream");
	}
	for (char *const *p = r->headers; p && *p; p++)
		l = curl_slist_append(l, *p);
	return l;
}

static void setup(CURL *h, const struct dist_http_req *r, struct xfer *x, char *errbuf,
		  struct curl_slist *headers)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "hamn/" HAMN_VERSION);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	if (r->follow) {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	}
	if (r->stall_timeout_s) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)r->stall_timeout_s);
	}
	if (streq(r->method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (streq(r->method, "DELETE"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	set_body(h, r, x);
	set_tls(h, r->tls);
}

static int errno_of(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return EPROTO;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return ECONNRESET;
	default:
		return EIO;
	}
}

int dist_http_do(CURL *h, const struct dist_http_req *r, struct dist_http_resp *resp,
		 struct hamn_error **err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct xfer x = {.h = h, .req = r, .resp = resp};
	struct curl_slist *headers = build_headers(r);
	CURLcode rc;
	char *url = NULL;

	x.max_body = r->max_body ? r->max_body : COLLECT_DEFAULT_MAX;
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	setup(h, r, &x, errbuf, headers);
	rc = curl_easy_perform(h);
	curl_slist_free_all(headers);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url)
		resp->url = xstrdup(url);
	if (rc == CURLE_OK)
		return 0;
	if (x.cancelled) {
		hamn_error_free(&x.cb_err);
		return hamn_error_setq(err, ECANCELED, "%s %s: cancelled", r->method, r->url);
	}
	if (x.cb_err)
		return hamn_error_propagate(err, &x.cb_err);
	return hamn_error_setq(err, errno_of(rc), "%s \"%s\": %s", r->method, r->url,
			       errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

bool dist_http_retryable(const struct hamn_error *e)
{
	return e && (e->errnum == ECONNRESET || e->errnum == ETIMEDOUT || e->errnum == EAGAIN);
}

char *dist_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct hamn_buf b = HAMN_BUF_INIT;

	hamn_buf_puts(&b, "");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~", *p)) {
			hamn_buf_putc(&b, (char)*p);
		} else {
			hamn_buf_putc(&b, '%');
			hamn_buf_putc(&b, hex[*p >> 4]);
			hamn_buf_putc(&b, hex[*p & 15]);
		}
	}
	return hamn_buf_steal(&b);
}

/*
 * test_api_server.c - a real API server on a unix socket in a temporary
 * directory, driven over raw sockets: /_ping headers, keep-alive, error
 * replies, JSON bodies (malformed, not an object, too large), streams
 * (headers before the body, in-band errors, a client that goes away), a
 * body consumer fed far more than the JSON limit, and a hijacked connection
 * with a client half-close.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"

/*
 * A real server on a socket in a temporary directory. Every server test
 * gets a fresh one (setup/teardown), with a 64 KiB JSON body limit.
 */
struct fixture {
	char dir[64];
	char sock[100];
	struct hamn_api_server *s;
};

static struct fixture fx;

/* handler side of the stream tests */
static int release_fd = -1; /* the "wait" producer blocks until this is readable */
static pthread_mutex_t flood_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flood_cond = PTHREAD_COND_INITIALIZER;
static int flood_errnum = -1; /* set when the flood producer stops */
static int wait_cancelled;    /* the wait producer saw its cancel fd */

static int echo_json(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	json_t *body = NULL;
	char **names;

	(void)ctx;
	if (hamn_api_req_json(req, 0, &body, err) < 0)
		return -1;
	json_object_set_new(body, "path", json_string(hamn_api_req_path(req)));
	json_object_set_new(body, "q", json_boolean(hamn_api_req_query_bool(req, "q", false)));
	names = hamn_api_req_query_list(req, "name");
	json_object_set_new(body, "names", hamn_json_from_strv(names));
	hamn_strv_free(names);
	return hamn_api_reply_json(req, 200, body);
}

static int fail_with(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	(void)ctx;
	return hamn_error_setq(err, atoi(hamn_api_req_param(req, "errno")), "failed on purpose");
}

static int wait_producer(struct hamn_api_stream *st, void *ctx, struct hamn_error **err)
{
	struct pollfd pfd[2] = {{.fd = release_fd, .events = POLLIN},
				{.fd = hamn_api_stream_cancel_fd(st), .events = POLLIN}};
	json_t *msg;
	int rc;

	(void)ctx;
	if (poll(pfd, 2, 10000) <= 0)
		return hamn_error_setq(err, ETIMEDOUT, "never released");
	if (pfd[1].revents & POLLIN) {
		pthread_mutex_lock(&flood_lock);
		wait_cancelled = 1;
		pthread_cond_broadcast(&flood_cond);
		pthread_mutex_unlock(&flood_lock);
		return hamn_error_setq(err, EPIPE, "cancelled");
	}
	msg = json_pack("{s:n,s:i}", "Error", "StatusCode", 0);
	rc = hamn_api_stream_json(st, msg, err);
	json_decref(msg);
	return rc;
}

static int wait_route(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	(void)ctx;
	(void)err;
	return hamn_api_reply_stream(req, 200, "application/json", 0, wait_producer, NULL, NULL);
}

static int progress_producer(struct hamn_api_stream *st, void *ctx, struct hamn_error **err)
{
	json_t *msg = json_pack("{s:s}", "status", "one");
	int rc = hamn_api_stream_json(st, msg, err);

	(void)ctx;
	json_decref(msg);
	if (rc < 0)
		return -1;
	return hamn_error_setq(err, EIO, "boom");
}

static int progress_route(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	(void)ctx;
	(void)err;
	return hamn_api_reply_stream(req, 200, "application/json", HAMN_API_STREAM_PROGRESS,
				     progress_producer, NULL, NULL);
}

static int flood_producer(struct hamn_api_stream *st, void *ctx, struct hamn_error **err)
{
	static char chunk[65536];

	(void)ctx;
	while (hamn_api_stream_write(st, chunk, sizeof(chunk), err) == 0)
		;
	pthread_mutex_lock(&flood_lock);
	flood_errnum = (*err)->errnum;
	pthread_cond_broadcast(&flood_cond);
	pthread_mutex_unlock(&flood_lock);
	return -1;
}

static int flood_route(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	(void)ctx;
	(void)err;
	return hamn_api_reply_stream(req, 200, NULL, 0, flood_producer, NULL, NULL);
}

/* Hijack: read stdin until the client half-closes, then answer in two frames and close. */
static void echo_session(struct hamn_api_hijack *h, void *ctx)
{
	struct hamn_buf in = HAMN_BUF_INIT;
	struct hamn_error *err = NULL;
	char buf[256];
	ssize_t n;

	(void)ctx;
	while ((n = hamn_api_hijack_read(h, buf, sizeof(buf), &err)) > 0)
		hamn_buf_append(&in, buf, (size_t)n);
	/* EOF is a half-close, not a detach: output still goes out */
	if (n == 0 && hamn_api_hijack_frame(h, HAMN_API_STDOUT, in.data, in.len, &err) == 0)
		hamn_api_hijack_frame(h, HAMN_API_STDERR, "bye", 3, &err);
	hamn_error_free(&err);
	hamn_buf_release(&in);
	hamn_api_hijack_close(h);
}

static int hijack_route(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	(void)ctx;
	(void)err;
	return hamn_api_reply_hijack(req, echo_session, NULL, NULL);
}

struct upload {
	uint64_t bytes, sum;
	bool fail;
};

static int upload_chunk(void *ctx, const void *data, size_t len, struct hamn_error **err)
{
	struct upload *u = ctx;
	const unsigned char *p = data;

	if (u->fail)
		return hamn_error_setq(err, EINVAL, "bad archive");
	u->bytes += len;
	for (size_t i = 0; i < len; i++)
		u->sum += p[i];
	return 0;
}

static int upload_done(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct upload *u = ctx;

	(void)err;
	return hamn_api_reply_json(
		req, 200,
		json_pack("{s:I,s:I}", "bytes", (json_int_t)u->bytes, "sum", (json_int_t)u->sum));
}

static int upload_route(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct upload *u = xzalloc(sizeof(*u));

	(void)ctx;
	(void)err;
	u->fail = hamn_api_req_query_bool(req, "fail", false);
	hamn_api_req_consume_body(req, upload_chunk, upload_done, u, free);
	return 0;
}

static void add_test_routes(struct hamn_api_server *s)
{
	hamn_api_route(s, "POST", "/echo", echo_json, NULL);
	hamn_api_route(s, "GET", "/fail/{errno}", fail_with, NULL);
	hamn_api_route(s, "GET", "/wait", wait_route, NULL);
	hamn_api_route(s, "GET", "/progress", progress_route, NULL);
	hamn_api_route(s, "GET", "/flood", flood_route, NULL);
	hamn_api_route(s, "POST", "/hijack", hijack_route, NULL);
	hamn_api_route_flags(s, "PUT", "/upload", HAMN_API_ROUTE_STREAM_BODY, upload_route, NULL);
}

static int server_setup(void **state)
{
	struct hamn_api_server_config cfg = {.max_body = 64 << 10};
	struct hamn_api_system_config sys = {0};
	struct hamn_error *err = NULL;
	char host[160];
	char *hosts[] = {host, NULL};

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "%s", "/tmp/hamn-test-api-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.sock, sizeof(fx.sock), "%s/run/api.sock", fx.dir);
	snprintf(host, sizeof(host), "unix://%s", fx.sock);
	cfg.hosts = hosts;
	sys.root_dir = fx.dir;
	fx.s = hamn_api_server_new(&cfg, &err);
	if (!fx.s || hamn_api_system_register(fx.s, &sys, &err) < 0)
		goto fail;
	add_test_routes(fx.s);
	if (hamn_api_server_start(fx.s, &err) < 0)
		goto fail;
	release_fd = eventfd(0, EFD_CLOEXEC);
	flood_errnum = -1;
	wait_cancelled = 0;
	return 0;
fail:
	fprintf(stderr, "server setup: %s\n", err ? err->msg : "?");
	hamn_error_free(&err);
	return -1;
}

static int server_teardown(void **state)
{
	struct hamn_error *err = NULL;
	char path[200];
	int rc;

	(void)state;
	if (!fx.s)
		goto removed; /* the test stopped it */
	rc = hamn_api_server_stop(fx.s, 2000, &err);
	if (rc < 0) {
		fprintf(stderr, "server stop: %s\n", err->msg);
		return -1;
	}
	hamn_api_server_free(fx.s);
removed:
	close(release_fd);
	/* the socket must be gone after a stop */
	if (access(fx.sock, F_OK) == 0)
		return -1;
	snprintf(path, sizeof(path), "%s/engine-id", fx.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run", fx.dir);
	rmdir(path);
	return rmdir(fx.dir);
}

/* ---- a tiny HTTP client over the unix socket ---- */

struct conn {
	int fd;
	struct hamn_buf in; /* received, not yet consumed */
};

struct resp {
	int status;
	char *head; /* status line and headers */
	struct hamn_buf body;
};

static void conn_open(struct conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.sock);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	hamn_buf_reset(&c->in);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	hamn_buf_release(&c->in);
}

static void conn_send(struct conn *c, const void *data, size_t len)
{
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_write_all(c->fd, data, len, &err), 0);
}

static void conn_sendf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	conn_send(c, s, strlen(s));
	free(s);
}

/* Read more; false on EOF or timeout. */
static bool conn_fill(struct conn *c)
{
	char buf[65536];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n <= 0)
		return false;
	hamn_buf_append(&c->in, buf, (size_t)n);
	return true;
}

/* Take n bytes (reading as needed) into out. */
static void conn_take(struct conn *c, size_t n, struct hamn_buf *out)
{
	while (c->in.len < n)
		assert_true(conn_fill(c));
	hamn_buf_append(out, c->in.data, n);
	hamn_buf_consume(&c->in, n);
}

/* Read up to and including marker; returns the text before it (heap). */
static char *conn_until(struct conn *c, const char *marker)
{
	char *at, *text;

	while (!c->in.data || !(at = strstr(c->in.data, marker)))
		assert_true(conn_fill(c));
	text = xstrndup(c->in.data, (size_t)(at - c->in.data));
	hamn_buf_consume(&c->in, (size_t)(at - c->in.data) + strlen(marker));
	return text;
}

static const char *find_header(const char *head, const char *name)
{
	_cleanup_free_ char *needle = xasprintf("\r\n%s: ", name);
	const char *p = strcasestr(head, needle);

	return p ? p + strlen(needle) : NULL;
}

/* Does header name have exactly value? */
static bool header_is(const char *head, const char *name, const char *value)
{
	const char *v = find_header(head, name);
	size_t n = strlen(value);

	return v && strncmp(v, value, n) == 0 && (v[n] == '\r' || v[n] == '\0');
}

/* Read one chunk of a chunked body into out; false at the terminating chunk. */
static bool read_chunk(struct conn *c, struct hamn_buf *out)
{
	_cleanup_free_ char *size_line = conn_until(c, "\r\n");
	size_t n = strtoul(size_line, NULL, 16);
	struct hamn_buf crlf = HAMN_BUF_INIT;

	if (n == 0) {
		free(conn_until(c, "\r\n")); /* no trailers */
		return false;
	}
	conn_take(c, n, out);
	conn_take(c, 2, &crlf);
	hamn_buf_release(&crlf);
	return true;
}

static void read_head(struct conn *c, struct resp *r)
{
	r->head = conn_until(c, "\r\n\r\n");
	assert_true(sscanf(r->head, "HTTP/1.1 %d", &r->status) == 1);
}

static void read_body(struct conn *c, struct resp *r, bool head_request)
{
	const char *te = find_header(r->head, "Transfer-Encoding");
	const char *cl = find_header(r->head, "Content-Length");

	if (te && strncasecmp(te, "chunked", 7) == 0) {
		while (read_chunk(c, &r->body))
			;
	} else if (cl && !head_request) {
		conn_take(c, strtoul(cl, NULL, 10), &r->body);
	}
}

static void read_resp(struct conn *c, struct resp *r, bool head_request)
{
	memset(r, 0, sizeof(*r));
	read_head(c, r);
	read_body(c, r, head_request);
}

static void resp_release(struct resp *r)
{
	free(r->head);
	hamn_buf_release(&r->body);
}

/* One request on a fresh connection. */
static void request(const char *method, const char *path, const char *body, struct resp *r)
{
	struct conn c = {-1, HAMN_BUF_INIT};

	conn_open(&c);
	conn_sendf(&c,
		   "%s %s HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
		   "Content-Length: %zu\r\n\r\n%s",
		   method, path, body ? strlen(body) : 0, body ? body : "");
	read_resp(&c, r, streq(method, "HEAD"));
	conn_close(&c);
}

static json_t *body_json(struct resp *r)
{
	json_error_t e;
	json_t *v = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &e);

	assert_non_null(v);
	return v;
}

/* ---- server tests ---- */

static void srv_ping_headers(void **state)
{
	struct resp r;

	(void)state;
	request("HEAD", "/_ping", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(header_is(r.head, "Api-Version", "1.41"));
	assert_true(header_is(r.head, "Content-Length", "0"));
	assert_true(header_is(r.head, "Cache-Control", "no-cache, no-store, must-revalidate"));
	assert_true(header_is(r.head, "Ostype", "linux"));
	assert_true(header_is(r.head, "Docker-Experimental", "false"));
	resp_release(&r);
	request("GET", "/v1.41/_ping", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 2);
	assert_memory_equal(r.body.data, "OK", 2);
	resp_release(&r);
}

static void srv_keep_alive(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r;

	(void)state;
	conn_open(&c);
	/* what the CLI does: HEAD /_ping, then the real request on the same connection */
	conn_sendf(&c, "HEAD /_ping HTTP/1.1\r\nHost: d\r\n\r\n");
	read_resp(&c, &r, true);
	assert_int_equal(r.status, 200);
	resp_release(&r);
	conn_sendf(&c, "GET /v1.41/version HTTP/1.1\r\nHost: d\r\n\r\n");
	read_resp(&c, &r, false);
	assert_int_equal(r.status, 200);
	assert_true(header_is(r.head, "Content-Type", "application/json"));
	assert_int_equal(r.body.data[r.body.len - 1], '\n');
	resp_release(&r);
	conn_close(&c);
}

static void srv_errors(void **state)
{
	struct resp r;
	json_t *v;

	(void)state;
	request("GET", "/v1.41/nope", NULL, &r);
	assert_int_equal(r.status, 404);
	v = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(v, "message")), "page not found");
	json_decref(v);
	resp_release(&r);
	request("GET", "/v1.99/version", NULL, &r);
	assert_int_equal(r.status, 400);
	resp_release(&r);
	request("GET", "/fail/2", NULL, &r); /* ENOENT */
	assert_int_equal(r.status, 404);
	v = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(v, "message")), "failed on purpose");
	json_decref(v);
	resp_release(&r);
	request("GET", "/fail/114", NULL, &r); /* EALREADY: not modified, no body */
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body.len, 0);
	resp_release(&r);
}

static void srv_json_body(void **state)
{
	struct resp r;
	json_t *v;

	(void)state;
	request("POST", "/v1.41/echo?q=True&name=a%2Fb&name=c", "{\"a\":1}", &r);
	assert_int_equal(r.status, 200);
	v = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	assert_string_equal(json_string_value(json_object_get(v, "path")), "/echo");
	assert_true(json_is_true(json_object_get(v, "q")));
	assert_int_equal(json_array_size(json_object_get(v, "names")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "names"), 0)),
			    "a/b");
	json_decref(v);
	resp_release(&r);
	request("POST", "/echo", "{bad", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body.data, "invalid JSON"));
	resp_release(&r);
	request("POST", "/echo", "[1,2]", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body.data, "must be an object"));
	resp_release(&r);
	request("POST", "/echo", NULL, &r);
	assert_int_equal(r.status, 400);
	resp_release(&r);
}

static void srv_body_limit(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r;

	(void)state;
	conn_open(&c);
	conn_sendf(&c, "POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: %d\r\n\r\n", 1 << 20);
	read_resp(&c, &r, false);
	assert_int_equal(r.status, 413);
	resp_release(&r);
	conn_close(&c);
}

static void srv_stream_headers_first(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r = {0};
	uint64_t one = 1;

	(void)state;
	conn_open(&c);
	conn_sendf(&c, "GET /wait HTTP/1.1\r\nHost: d\r\n\r\n");
	/* the producer is still blocked: the headers must be here already */
	read_head(&c, &r);
	assert_int_equal(r.status, 200);
	assert_true(header_is(r.head, "Transfer-Encoding", "chunked"));
	assert_int_equal(write(release_fd, &one, sizeof(one)), sizeof(one));
	read_body(&c, &r, false);
	hamn_buf_putc(&r.body, '\0');
	assert_string_equal(r.body.data, "{\"Error\":null,\"StatusCode\":0}\n");
	resp_release(&r);
	/* still usable afterwards (keep-alive) */
	conn_sendf(&c, "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n");
	read_resp(&c, &r, false);
	assert_int_equal(r.status, 200);
	resp_release(&r);
	conn_close(&c);
}

static void srv_stream_progress_error(void **state)
{
	struct resp r;

	(void)state;
	request("GET", "/progress", NULL, &r);
	assert_int_equal(r.status, 200);
	hamn_buf_putc(&r.body, '\0');
	assert_string_equal(r.body.data,
			    "{\"status\":\"one\"}\r\n"
			    "{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}\r\n");
	resp_release(&r);
}

static void srv_stream_client_leaves(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r = {0};
	struct timespec deadline;
	int got;

	(void)state;
	conn_open(&c);
	conn_sendf(&c, "GET /flood HTTP/1.1\r\nHost: d\r\n\r\n");
	read_head(&c, &r);
	resp_release(&r);
	conn_close(&c);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&flood_lock);
	while (flood_errnum < 0)
		if (pthread_cond_timedwait(&flood_cond, &flood_lock, &deadline) != 0)
			break;
	got = flood_errnum;
	pthread_mutex_unlock(&flood_lock);
	assert_int_equal(got, EPIPE);
}

/* Wait (10 s at most) until *flag is set by a handler thread. */
static int wait_flag(int *flag)
{
	struct timespec deadline;
	int v;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&flood_lock);
	while (!*flag)
		if (pthread_cond_timedwait(&flood_cond, &flood_lock, &deadline) != 0)
			break;
	v = *flag;
	pthread_mutex_unlock(&flood_lock);
	return v;
}

/* A producer that waits for something else sees the client leave on its cancel fd. */
static void srv_stream_cancel_fd(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r = {0};

	(void)state;
	conn_open(&c);
	conn_sendf(&c, "GET /wait HTTP/1.1\r\nHost: d\r\n\r\n");
	read_head(&c, &r);
	resp_release(&r);
	conn_close(&c);
	assert_true(wait_flag(&wait_cancelled));
}

/* Stopping the server cancels a running stream and closes its connection. */
static void srv_stop_cancels_streams(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r = {0};
	struct hamn_error *err = NULL;

	(void)state;
	conn_open(&c);
	conn_sendf(&c, "GET /wait HTTP/1.1\r\nHost: d\r\n\r\n");
	read_head(&c, &r);
	assert_int_equal(hamn_api_server_stop(fx.s, 200, &err), 0);
	hamn_api_server_free(fx.s);
	fx.s = NULL;
	assert_true(wait_flag(&wait_cancelled));
	while (conn_fill(&c))
		; /* the server closed the connection (no terminating chunk) */
	assert_null(strstr(c.in.data ? c.in.data : "", "0\r\n\r\n"));
	assert_int_equal(access(fx.sock, F_OK), -1);
	resp_release(&r);
	conn_close(&c);
}

static void srv_hijack_half_close(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r = {0};
	struct hamn_buf frames = HAMN_BUF_INIT;
	const uint8_t want[] = {1,   0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l',
				'o', 2, 0, 0, 0, 0, 0, 0, 3,   'b', 'y', 'e'};

	(void)state;
	conn_open(&c);
	/* stdin bytes right behind the request, then a half-close, as the CLI may do */
	conn_sendf(&c, "POST /hijack HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n"
		       "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nhel");
	read_head(&c, &r);
	assert_int_equal(r.status, 101);
	assert_true(header_is(r.head, "Content-Type", "application/vnd.docker.raw-stream"));
	assert_true(header_is(r.head, "Upgrade", "tcp"));
	assert_true(header_is(r.head, "Connection", "Upgrade"));
	assert_true(header_is(r.head, "Api-Version", "1.41"));
	conn_sendf(&c, "lo");
	shutdown(c.fd, SHUT_WR);
	while (conn_fill(&c))
		; /* until the server closes */
	hamn_buf_append(&frames, c.in.data, c.in.len);
	assert_int_equal(frames.len, sizeof(want));
	assert_memory_equal(frames.data, want, sizeof(want));
	hamn_buf_release(&frames);
	resp_release(&r);
	conn_close(&c);
}

/* exec start: the upgrade request carries a JSON body; stdin may follow it at once. */
static void srv_hijack_after_body(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r = {0};
	const char *body = "{\"Detach\":false,\"Tty\":false}";
	const uint8_t want[] = {1, 0, 0, 0, 0, 0, 0, 2,	  'h', 'i', 2,
				0, 0, 0, 0, 0, 0, 3, 'b', 'y', 'e'};

	(void)state;
	conn_open(&c);
	conn_sendf(&c,
		   "POST /hijack HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
		   "Content-Length: %zu\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n%shi",
		   strlen(body), body);
	shutdown(c.fd, SHUT_WR);
	read_head(&c, &r);
	assert_int_equal(r.status, 101);
	while (conn_fill(&c))
		;
	assert_int_equal(c.in.len, sizeof(want));
	assert_memory_equal(c.in.data, want, sizeof(want));
	resp_release(&r);
	conn_close(&c);
}

static void srv_hijack_needs_upgrade(void **state)
{
	struct resp r;

	(void)state;
	request("POST", "/hijack", NULL, &r);
	assert_int_equal(r.status, 400);
	resp_release(&r);
}

/* 4 MiB in chunks: far over the 64 KiB JSON limit, never held in memory. */
static void srv_upload_stream(void **state)
{
	struct conn c = {-1, HAMN_BUF_INIT};
	struct resp r;
	static unsigned char chunk[32768];
	uint64_t sum = 0;
	json_t *v;

	(void)state;
	for (size_t i = 0; i < sizeof(chunk); i++) {
		chunk[i] = (unsigned char)(i * 7);
		sum += chunk[i];
	}
	conn_open(&c);
	conn_sendf(&c, "PUT /upload HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 128; i++) {
		conn_sendf(&c, "%zx\r\n", sizeof(chunk));
		conn_send(&c, chunk, sizeof(chunk));
		conn_sendf(&c, "\r\n");
	}
	conn_sendf(&c, "0\r\n\r\n");
	read_resp(&c, &r, false);
	assert_int_equal(r.status, 200);
	v = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(v, "bytes")), 128 * sizeof(chunk));
	assert_int_equal(json_integer_value(json_object_get(v, "sum")), 128 * sum);
	json_decref(v);
	resp_release(&r);
	conn_close(&c);
}

static void srv_upload_consumer_fails(void **state)
{
	struct resp r;

	(void)state;
	request("PUT", "/upload?fail=1", "some tar bytes", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body.data, "bad archive"));
	resp_release(&r);
}

static void srv_info(void **state)
{
	struct resp r;
	json_t *v;

	(void)state;
	request("GET", "/info", NULL, &r);
	assert_int_equal(r.status, 200);
	v = body_json(&r);
	assert_int_equal(json_integer_value(json_object_get(v, "NCPU")),
			 sysconf(_SC_NPROCESSORS_ONLN));
	assert_string_equal(json_string_value(json_object_get(v, "DockerRootDir")), fx.dir);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(v, "Swarm"), "LocalNodeState")),
		"inactive");
	assert_true(json_integer_value(json_object_get(v, "MemTotal")) > 0);
	json_decref(v);
	resp_release(&r);
}

static void srv_socket_mode(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat(fx.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
}

#define SRV(t) cmocka_unit_test_setup_teardown(t, server_setup, server_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SRV(srv_ping_headers),
		SRV(srv_keep_alive),
		SRV(srv_errors),
		SRV(srv_json_body),
		SRV(srv_body_limit),
		SRV(srv_stream_headers_first),
		SRV(srv_stream_progress_error),
		SRV(srv_stream_client_leaves),
		SRV(srv_stream_cancel_fd),
		SRV(srv_stop_cancels_streams),
		SRV(srv_hijack_half_close),
		SRV(srv_hijack_after_body),
		SRV(srv_hijack_needs_upgrade),
		SRV(srv_upload_stream),
		SRV(srv_upload_consumer_fails),
		SRV(srv_info),
		SRV(srv_socket_mode),
	};

	signal(SIGPIPE, SIG_IGN);
	hamn_log_set_level(HAMN_LOG_ERROR); /* the in-band error test logs a warning */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

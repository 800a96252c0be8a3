/*
 * http.c - the wire side of the client: just enough HTTP/1.1 for the Docker
 * Engine API (requests with a length or chunked body; responses with a
 * length, chunked, or delimited by close; 101 upgrades).
 */
#include "client/http.h"

#include <ctype.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#define HEAD_MAX (64 * 1024)

int http_connect(const char *unix_path, const char *tcp_host, const char *tcp_port, int *fd_out,
		 struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;

	if (unix_path) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(unix_path) >= sizeof(sa.sun_path))
			return hamn_error_setq(err, EINVAL, "socket path '%s' too long", unix_path);
		memcpy(sa.sun_path, unix_path, strlen(unix_path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return hamn_error_set(err, errno, "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return hamn_error_set(err, errno,
					      "cannot connect to the hamn daemon at unix://%s "
					      "(is hamnd running?)", unix_path);
	} else {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
		struct addrinfo *ai = NULL;
		int rc = getaddrinfo(tcp_host, tcp_port, &hints, &ai);

		if (rc != 0)
			return hamn_error_setq(err, EHOSTUNREACH, "resolve '%s': %s", tcp_host,
					       gai_strerror(rc));
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			int e = errno;
			freeaddrinfo(ai);
			return hamn_error_set(err, e, "cannot connect to tcp://%s:%s", tcp_host,
					      tcp_port);
		}
		freeaddrinfo(ai);
	}
	*fd_out = steal_fd(&fd);
	return 0;
}

int http_send_head(struct http_conn *hc, const char *method, const char *path,
		   const char *content_type, long long body_len, bool upgrade,
		   struct hamn_error **err)
{
	return http_send_head_extra(hc, method, path, content_type, body_len, upgrade, NULL, err);
}

int http_send_head_extra(struct http_conn *hc, const char *method, const char *path,
			 const char *content_type, long long body_len, bool upgrade,
			 const char *extra, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;

	hamn_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\n"
			"User-Agent: hamn-client/" HAMN_VERSION "\r\n", method, path);
	if (content_type)
		hamn_buf_printf(&b, "Content-Type: %s\r\n", content_type);
	if (body_len >= 0)
		hamn_buf_printf(&b, "Content-Length: %lld\r\n", body_len);
	else
		hamn_buf_puts(&b, "Transfer-Encoding: chunked\r\n");
	if (upgrade)
		hamn_buf_puts(&b, "Connection: Upgrade\r\nUpgrade: tcp\r\n");
	if (extra)
		hamn_buf_puts(&b, extra);
	hamn_buf_puts(&b, "\r\n");
	return hamn_write_all(hc->fd, b.data, b.len, err);
}

/* Read more bytes into hc->in; 0 at EOF. */
static ssize_t fill(struct http_conn *hc, struct hamn_error **err)
{
	ssize_t n;

	hamn_buf_reserve(&hc->in, 65536);
	do
		n = read(hc->fd, hc->in.data + hc->in.len, 65536);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hamn_error_set(err, errno, "read from daemon");
	hc->in.len += (size_t)n;
	hc->in.data[hc->in.len] = '\0';
	return n;
}

static void parse_header_line(char *line, struct http_head *head)
{
	char *colon = strchr(line, ':');
	char *v;

	if (!colon)
		return;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (strcasecmp(line, "Content-Type") == 0) {
		free(head->content_type);
		head->content_type = xstrdup(v);
	} else if (strcasecmp(line, "Content-Length") == 0) {
		head->length = strtoll(v, NULL, 10);
	} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
		head->chunked = strcasestr(v, "chunked") != NULL;
	} else if (strcasecmp(line, "Connection") == 0) {
		head->close = strcasestr(v, "close") != NULL;
	}
}

int http_read_head(struct http_conn *hc, struct http_head *head, struct hamn_error **err)
{
	char *end, *line, *next;
	int minor = 1;

	*head = (struct http_head){ .length = -1 };
	while (!(hc->in.data && (end = strstr(hc->in.data, "\r\n\r\n")))) {
		if (hc->in.len > HEAD_MAX)
			return hamn_error_setq(err, EPROTO, "response head too large");
		ssize_t n = fill(hc, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return hamn_error_setq(err, EPIPE, "daemon closed the connection");
	}
	*end = '\0';
	if (sscanf(hc->in.data, "HTTP/1.%d %d", &minor, &head->status) != 2)
		return hamn_error_setq(err, EPROTO, "bad response line from daemon");
	head->close = minor == 0;
	for (line = strstr(hc->in.data, "\r\n"); line; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next)
			*next = '\0';
		parse_header_line(line, head);
	}
	hamn_buf_consume(&hc->in, (size_t)(end + 4 - hc->in.data));
	return 0;
}

void http_head_release(struct http_head *head)
{
	free(head->content_type);
	head->content_type = NULL;
}

/* Hand up to want bytes (all buffered ones when want < 0) to on_data. */
static int deliver(struct http_conn *hc, long long want, bool *stop,
		   int (*on_data)(void *ctx, const char *data, size_t len), void *ctx)
{
	size_t n = hc->in.len;

	if (want >= 0 && (size_t)want < n)
		n = (size_t)want;
	if (n && !*stop && on_data(ctx, hc->in.data, n) < 0)
		*stop = true;
	hamn_buf_consume(&hc->in, n);
	return (int)n;
}

static int read_sized(struct http_conn *hc, long long left, bool *stop,
		      int (*on_data)(void *, const char *, size_t), void *ctx,
		      struct hamn_error **err)
{
	while (left > 0 || left < 0) {
		if (hc->in.len == 0) {
			ssize_t n = fill(hc, err);
			if (n < 0)
				return -1;
			if (n == 0) {
				if (left < 0)
					return 0;
				return hamn_error_setq(err, EPIPE, "daemon closed the connection early");
			}
		}
		int got = deliver(hc, left, stop, on_data, ctx);
		if (left > 0)
			left -= got;
		if (*stop)
			return 0;
	}
	return 0;
}

static int read_chunk_size(struct http_conn *hc, long long *size, struct hamn_error **err)
{
	char *eol;

	while (!(hc->in.data && (eol = strstr(hc->in.data, "\r\n")))) {
		ssize_t n = fill(hc, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return hamn_error_setq(err, EPIPE, "daemon closed the connection mid-stream");
	}
	*size = strtoll(hc->in.data, NULL, 16);
	hamn_buf_consume(&hc->in, (size_t)(eol + 2 - hc->in.data));
	return 0;
}

/* Consume the CRLF that ends a chunk (and the chunked body; trailers are not used). */
static int skip_crlf(struct http_conn *hc, struct hamn_error **err)
{
	while (hc->in.len < 2) {
		ssize_t n = fill(hc, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return hamn_error_setq(err, EPIPE, "daemon closed the connection mid-stream");
	}
	hamn_buf_consume(&hc->in, 2);
	return 0;
}

static int read_chunked(struct http_conn *hc, bool *stop,
			int (*on_data)(void *, const char *, size_t), void *ctx,
			struct hamn_error **err)
{
	for (;;) {
		long long size = 0;

		if (read_chunk_size(hc, &size, err) < 0)
			return -1;
		if (size == 0)
			return skip_crlf(hc, err);
		if (read_sized(hc, size, stop, on_data, ctx, err) < 0)
			return -1;
		if (*stop)
			return 0;
		if (skip_crlf(hc, err) < 0)
			return -1;
	}
}

int http_read_body(struct http_conn *hc, const struct http_head *head, bool is_head_request,
		   int (*on_data)(void *ctx, const char *data, size_t len), void *ctx,
		   struct hamn_error **err)
{
	bool stop = false;

	if (is_head_request || head->status == 204 || head->status == 304 ||
	    head->status == 101)
		return 0;
	if (head->chunked)
		return read_chunked(hc, &stop, on_data, ctx, err);
	if (head->length >= 0)
		return read_sized(hc, head->length, &stop, on_data, ctx, err);
	return read_sized(hc, -1, &stop, on_data, ctx, err);
}

/* Write all of iov (a few entries), retrying on EINTR and short writes. */
static int writev_all(int fd, struct iovec *iov, int n, struct hamn_error **err)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return hamn_error_set(err, errno, "write");
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int http_send_chunked_fd(struct http_conn *hc, int fd, struct hamn_error **err)
{
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	char head[32];

	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "read request body");
		int hl = snprintf(head, sizeof(head), "%zx\r\n", (size_t)n);
		/* one write per chunk: its size line, its data and its CRLF */
		struct iovec iov[3] = {
			{ head, (size_t)hl }, { buf, (size_t)n }, { (char *)"\r\n", 2 },
		};
		if (n == 0) {
			iov[1] = iov[2];
			return writev_all(hc->fd, iov, 2, err);
		}
		if (writev_all(hc->fd, iov, 3, err) < 0)
			return -1;
	}
}

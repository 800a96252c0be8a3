/*
 * http.h - one HTTP/1.1 connection: write a request, parse a response head,
 * read a body framed by Content-Length, chunked encoding or connection close.
 * Internal to src/client.
 */
#ifndef HAMN_CLIENT_HTTP_H
#define HAMN_CLIENT_HTTP_H

#include "client/client.h"

struct http_conn {
	int fd;
	struct hamn_buf in;	/* bytes read but not yet consumed */
};

struct http_head {
	int status;
	char *content_type;
	bool chunked;
	bool close;		/* Connection: close, or HTTP/1.0 */
	long long length;	/* -1 when not given */
};

int http_connect(const char *unix_path, const char *tcp_host, const char *tcp_port, int *fd_out,
		 struct hamn_error **err);
int http_send_head(struct http_conn *hc, const char *method, const char *path,
		   const char *content_type, long long body_len, bool upgrade,
		   struct hamn_error **err);
/* The same with extra header lines (each ending in "\r\n"; may be NULL). */
int http_send_head_extra(struct http_conn *hc, const char *method, const char *path,
		   const char *content_type, long long body_len, bool upgrade, const char *extra,
		   struct hamn_error **err);
int http_read_head(struct http_conn *hc, struct http_head *head, struct hamn_error **err);
void http_head_release(struct http_head *head);
/* Read the body per head, calling on_data for each piece; -1 from on_data stops (not an error). */
int http_read_body(struct http_conn *hc, const struct http_head *head, bool is_head_request,
		   int (*on_data)(void *ctx, const char *data, size_t len), void *ctx,
		   struct hamn_error **err);
/* Send the contents of fd as a chunked body. */
int http_send_chunked_fd(struct http_conn *hc, int fd, struct hamn_error **err);

#endif

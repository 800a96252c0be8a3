/*
 * client.h - a small HTTP/1.1 client for the Docker Engine API (hamnd or dockerd).
 *
 * Used by the hamn CLI (and compose later). It speaks HTTP/1.1 over a unix
 * socket or plain TCP itself instead of through libcurl: linking libcurl
 * costs about 4.5 ms of process start-up here (measured: a program that only
 * initialises libcurl runs in 5.2 ms, an empty one in 0.7 ms), and
 * `hamn run --rm IMG true` is a hot path. TLS hosts are not supported yet
 * (an error says so).
 *
 * One struct hamn_client holds the address and one kept-alive connection for
 * plain calls; streaming and hijacked requests open their own connection.
 * Not thread-safe: one client per thread.
 */
#ifndef HAMN_CLIENT_CLIENT_H
#define HAMN_CLIENT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

#define HAMN_CLIENT_API_PREFIX "/v1.41"

struct hamn_client;

/*
 * host: "unix:///path/to.sock", "tcp://HOST:PORT", or NULL for the default
 * (HAMN_HOST, then DOCKER_HOST, then unix:///run/hamn/hamn.sock). Nothing is
 * connected yet. EINVAL for an address it cannot use.
 */
struct hamn_client *hamn_client_new(const char *host, struct hamn_error **err);
void hamn_client_free(struct hamn_client *c);
HAMN_DEFINE_CLEANUP(hamn_client, hamn_client_free)
#define _cleanup_client_ _cleanup_(cleanup_hamn_clientp)

/* The address in use, for messages ("unix:///run/hamn/hamn.sock"). */
const char *hamn_client_host(const struct hamn_client *c);

/* A response whose body has been read completely. */
struct hamn_client_resp {
	int status;
	char *content_type;
	char *body;		/* NUL-terminated; may contain NULs before len */
	size_t len;
};
void hamn_client_resp_release(struct hamn_client_resp *r);

/*
 * Send METHOD PATH (PATH gets the API prefix; include the query string) with
 * an optional body, and read the whole response. Any status is success here;
 * only transport failures are errors (ECONNREFUSED, ENOENT for a missing
 * socket: the message then says the daemon is not running).
 */
int hamn_client_call(struct hamn_client *c, const char *method, const char *path,
		     const char *content_type, const void *body, size_t body_len,
		     struct hamn_client_resp *resp, struct hamn_error **err);

/*
 * JSON round trip: body may be NULL. A non-2xx reply becomes an error whose
 * message is the daemon's {"message"} and whose errnum follows the status
 * (404 ENOENT, 409 EEXIST, 400 EINVAL, 403 EPERM, 304 EALREADY, else EIO).
 * *out (may be NULL to ignore) gets the parsed reply, or NULL for an empty one.
 */
int hamn_client_json(struct hamn_client *c, const char *method, const char *path, json_t *body,
		     json_t **out, struct hamn_error **err);
/* Map a status and reply body to an error (used by the stream calls too). */
int hamn_client_status_error(int status, const char *body, size_t len, struct hamn_error **err);

/*
 * A request on its own connection whose response is consumed as it arrives.
 * on_data is called for each piece of the (de-chunked) body; returning -1
 * stops reading. Send a body from body/body_len, or stream one from body_fd
 * (>= 0: sent chunked until EOF; body is then ignored).
 */
struct hamn_client_stream {
	const char *method;
	const char *path;
	const char *content_type;
	const void *body;
	size_t body_len;
	int body_fd;
	int (*on_data)(void *ctx, const char *data, size_t len);
	void *ctx;
	const char *headers;	/* more header lines, each ending in "\r\n" (X-Registry-Auth); may be NULL */
};
int hamn_client_stream(struct hamn_client *c, const struct hamn_client_stream *req, int *status_out,
		       struct hamn_error **err);

/*
 * Hijack: send the request with "Connection: Upgrade, Upgrade: tcp" on a new
 * connection, expect 101 (or 200, old daemons), and return the raw socket.
 * Bytes the daemon sent right after the headers are in *early (may be empty).
 */
int hamn_client_hijack(struct hamn_client *c, const char *method, const char *path, json_t *body,
		       int *fd_out, struct hamn_buf *early, struct hamn_error **err);

/*
 * Start a request on its own connection and return without reading the
 * reply (for `wait`, which must be sent before `start`). Read it later with
 * hamn_client_pending_finish, which blocks until the whole body arrived.
 */
struct hamn_client_pending;
struct hamn_client_pending *hamn_client_pending_start(struct hamn_client *c, const char *method,
						      const char *path, json_t *body,
						      struct hamn_error **err);
int hamn_client_pending_finish(struct hamn_client_pending *p, struct hamn_client_resp *resp,
			       struct hamn_error **err);
void hamn_client_pending_free(struct hamn_client_pending *p);

/* Percent-encode for a query value (everything but unreserved characters). */
char *hamn_client_urlencode(const char *s);

#endif

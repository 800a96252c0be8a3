/*
 * api.h - the HTTP server of hamnd: the Docker Engine API transport (unix
 * sockets, TCP with mutual TLS), a router with {param} patterns, helpers for
 * handlers (query, filters, JSON bodies, replies), streaming replies, request
 * bodies handed over in chunks, and hijacked (101 UPGRADED) connections.
 *
 * A handler file registers its routes with hamn_api_route() before the
 * server starts; see docs/api.md for a walk-through.
 *
 * Threads: every connection runs in its own thread (libmicrohttpd
 * thread-per-connection), so a handler may block without stalling other
 * clients. Streaming replies and hijacked connections run in a thread of
 * their own that the server counts and cancels on shutdown.
 */
#ifndef HAMN_API_API_H
#define HAMN_API_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"

#define HAMN_API_VERSION "1.41"		   /* the one API version hamnd speaks */
#define HAMN_API_MIN_VERSION "1.12"	   /* oldest version accepted in a /vX.Y prefix */
#define HAMN_API_ENGINE_VERSION "20.10.24" /* the dockerd release whose API we follow */

/*
 * The errno a handler returns for "nothing to do": starting a running
 * container, stopping a stopped one. It becomes 304 Not Modified with no body.
 * The engine cannot include this header, so it uses EALREADY directly.
 */
#define HAMN_API_ENOTMODIFIED EALREADY

/* Defaults of struct hamn_api_server_config (0 in a field means the default). */
#define HAMN_API_DEFAULT_MAX_CONNECTIONS 1024u
#define HAMN_API_DEFAULT_MAX_BODY (16u << 20)	  /* JSON request bodies */
#define HAMN_API_DEFAULT_IDLE_TIMEOUT 120u	  /* seconds without a byte either way */
#define HAMN_API_DEFAULT_CONN_MEMORY (128u << 10) /* per connection; bounds the header size */

struct hamn_api_server;
struct hamn_api_req;
struct hamn_api_stream;
struct hamn_api_hijack;

/* ---------------------------------------------------------------------------------------- */
/* Server */

struct hamn_api_server_config {
	char *const
		*hosts;	  /* NULL-terminated "unix:///path" / "tcp://addr:port" (see parse_host) */
	gid_t socket_gid; /* group owning unix sockets (mode 0660); 0 = root */
	const char *tls_cert; /* PEM files; all three are needed for a tcp:// host */
	const char *tls_key;
	const char *tls_ca; /* clients must present a certificate signed by this CA */
	bool insecure_tcp;  /* allow tcp:// without TLS (explicit opt-out, logged loudly) */
	unsigned max_connections;
	size_t max_body;
	unsigned idle_timeout;
	size_t conn_memory;
};

/*
 * Check cfg and make a server with no routes. Nothing is bound yet. A tcp://
 * host without the three TLS files (and without insecure_tcp) is EINVAL with
 * a message saying why; a TLS file that cannot be read is its errno.
 * The caller owns the result (hamn_api_server_free).
 */
struct hamn_api_server *hamn_api_server_new(const struct hamn_api_server_config *cfg,
					    struct hamn_error **err);

/*
 * A handler. It replies with exactly one hamn_api_reply_*() call and returns
 * 0, or returns -1 with *err set; the server then replies with the status of
 * err->errnum (hamn_api_status_for_errno) and {"message": err->msg}.
 */
typedef int (*hamn_api_handler_fn)(struct hamn_api_req *req, void *ctx, struct hamn_error **err);

enum hamn_api_route_flags {
	/*
	 * The handler is called as soon as the headers are in, before the body,
	 * and must call hamn_api_req_consume_body() (or reply at once). Use it for
	 * bodies that must not be held in memory: image load, build, archive PUT.
	 */
	HAMN_API_ROUTE_STREAM_BODY = 1 << 0,
};

/*
 * Register fn for method ("GET", "HEAD", "POST", "PUT", "DELETE") on pattern.
 * Patterns are '/'-separated; a segment is a literal, "{name}" (one non-empty
 * segment) or "{name*}" (one or more segments, slashes and colons included,
 * as image names need: "/images/{name*}/json"). The /vX.Y prefix is stripped
 * before matching, so patterns never carry it. When several routes match, the
 * one with more literal segments wins, then the one registered first.
 * Must be called before hamn_api_server_start (not thread-safe). Bad
 * patterns are a programmer error and abort.
 */
void hamn_api_route(struct hamn_api_server *s, const char *method, const char *pattern,
		    hamn_api_handler_fn fn, void *ctx);
void hamn_api_route_flags(struct hamn_api_server *s, const char *method, const char *pattern,
			  unsigned flags, hamn_api_handler_fn fn, void *ctx);

/*
 * Bind every host and start serving. A unix socket's parent directory is
 * created (0711) when missing; a stale socket file is removed only when
 * nothing answers on it (EADDRINUSE when a daemon does). The socket is
 * chmod 0660 and chown root:socket_gid before listen(), so nobody can
 * connect while it is still wider. On failure nothing stays bound.
 */
int hamn_api_server_start(struct hamn_api_server *s, struct hamn_error **err);

/*
 * Graceful stop: stop accepting, give in-flight requests up to grace_ms to
 * finish, then cancel streams and hijacked connections (their threads see
 * their cancel fd) and remove the unix socket files. Returns -1 with
 * ETIMEDOUT when requests or threads are still busy after a second grace
 * period; the server must then not be freed (the process should just exit).
 * Call once, from one thread.
 */
int hamn_api_server_stop(struct hamn_api_server *s, unsigned grace_ms, struct hamn_error **err);

/*
 * Run fn(ctx) when the server is freed, after its daemons are gone: for the
 * contexts of handler files. Runs in reverse order of registration.
 */
void hamn_api_server_on_free(struct hamn_api_server *s, void (*fn)(void *), void *ctx);

/* Free a server that was never started or was stopped successfully. NULL is fine. */
void hamn_api_server_free(struct hamn_api_server *s);

/* ---------------------------------------------------------------------------------------- */
/* Hosts (-H) */

enum hamn_api_host_kind { HAMN_API_HOST_UNIX, HAMN_API_HOST_TCP };

struct hamn_api_host {
	enum hamn_api_host_kind kind;
	char *path;    /* unix: socket path */
	char *addr;    /* tcp: address ("" = all interfaces), without brackets */
	uint16_t port; /* tcp */
};

/*
 * Parse a -H value: "unix:///run/x.sock", "unix://" (the default socket),
 * "tcp://127.0.0.1:2376", "tcp://[::1]:2376", "tcp://:2376", "tcp://host"
 * (port 2376 with TLS, else 2375). Anything else (fd://, ssh://, a bare
 * path) is EINVAL. Free out with hamn_api_host_release.
 */
int hamn_api_parse_host(const char *spec, bool tls, struct hamn_api_host *out,
			struct hamn_error **err);
void hamn_api_host_release(struct hamn_api_host *h);

#define HAMN_API_DEFAULT_SOCKET "/run/hamn/hamn.sock"

/* ---------------------------------------------------------------------------------------- */
/* Router (used by the server; public so its matching can be unit-tested) */

struct hamn_api_router;

#define HAMN_API_MAX_PARAMS 8

struct hamn_api_match {
	hamn_api_handler_fn fn;
	void *ctx;
	unsigned flags;
	char version[16]; /* "1.41" from the /vX.Y prefix, or HAMN_API_VERSION */
	size_t nparams;
	char *names[HAMN_API_MAX_PARAMS];  /* borrowed from the route */
	char *values[HAMN_API_MAX_PARAMS]; /* owned; freed by hamn_api_match_release */
};

struct hamn_api_router *hamn_api_router_new(void);
void hamn_api_router_free(struct hamn_api_router *r);
/* Add a route; EINVAL for a bad pattern (empty segment, unclosed brace, too many params). */
int hamn_api_router_add(struct hamn_api_router *r, const char *method, const char *pattern,
			unsigned flags, hamn_api_handler_fn fn, void *ctx, struct hamn_error **err);
/*
 * Find the route for method and path (path as received: with or without a
 * /vX.Y prefix; no query string). ENOENT "page not found" when no route
 * matches (a wrong method is a miss too, as in dockerd); EINVAL with
 * dockerd's message when a matched route carries a version above
 * HAMN_API_VERSION or below HAMN_API_MIN_VERSION. On success m is filled
 * and must be released.
 */
int hamn_api_router_match(const struct hamn_api_router *r, const char *method, const char *path,
			  struct hamn_api_match *m, struct hamn_error **err);
void hamn_api_match_release(struct hamn_api_match *m);
/* Compare dotted versions numerically ("1.9" < "1.41"): <0, 0, >0. */
int hamn_api_version_compare(const char *a, const char *b);

/* ---------------------------------------------------------------------------------------- */
/* Request accessors (valid inside the handler; strings are borrowed from req) */

const char *hamn_api_req_method(const struct hamn_api_req *req);
/* The path without the /vX.Y prefix and without the query string. */
const char *hamn_api_req_path(const struct hamn_api_req *req);
/* The client's API version: the /vX.Y prefix, or HAMN_API_VERSION when there was none. */
const char *hamn_api_req_version(const struct hamn_api_req *req);
/* A path parameter by name ("id" for "{id}"); NULL if the route has none of that name. */
const char *hamn_api_req_param(const struct hamn_api_req *req, const char *name);
/* A request header, case-insensitive; NULL when absent. */
const char *hamn_api_req_header(const struct hamn_api_req *req, const char *name);
/* A query parameter (URL-decoded); NULL when absent, "" for "?k" or "?k=". */
const char *hamn_api_req_query(const struct hamn_api_req *req, const char *key);
/* Every value of a repeated query key ("?names=a&names=b"), as a new vector (empty if none). */
char **hamn_api_req_query_list(const struct hamn_api_req *req, const char *key);
/* A query bool by dockerd's rules (hamn_api_parse_bool); def when absent. */
bool hamn_api_req_query_bool(const struct hamn_api_req *req, const char *key, bool def);
/* A query integer; def when absent or empty; EINVAL naming the key when not a number. */
int hamn_api_req_query_int(const struct hamn_api_req *req, const char *key, int64_t def,
			   int64_t *out, struct hamn_error **err);
/* The raw body of a JSON route (NUL-terminated); len 0 when there was none. */
const char *hamn_api_req_body(const struct hamn_api_req *req, size_t *len);

enum hamn_api_json_flags {
	HAMN_API_JSON_OPTIONAL = 1 << 0, /* an empty or "null" body gives *out = NULL */
	HAMN_API_JSON_ANY = 1 << 1,	 /* accept any JSON value, not only an object */
};

/*
 * Parse the body as JSON (hamn_json_parse: UTF-8, depth and trailing-garbage
 * checks). EINVAL with a message that says what is wrong for malformed JSON,
 * a non-object (unless HAMN_API_JSON_ANY), an empty body (unless OPTIONAL),
 * or a Content-Type other than application/json. *out is a new reference.
 */
int hamn_api_req_json(const struct hamn_api_req *req, unsigned flags, json_t **out,
		      struct hamn_error **err);

/*
 * Body consumer of a HAMN_API_ROUTE_STREAM_BODY route, called from the
 * handler. on_data gets each chunk as it arrives (in the connection thread;
 * it may block, which throttles the client); on_done runs once the body is
 * complete and replies like a handler. If on_data fails the rest of the body
 * is discarded and its error is the reply; on_done is then not called.
 * ctx_free (may be NULL) runs when the request ends, also when the client
 * went away mid-body (then on_done never runs). To feed a pull-style reader
 * (libarchive), write the chunks to a pipe read by a worker thread.
 */
typedef int (*hamn_api_body_fn)(void *ctx, const void *data, size_t len, struct hamn_error **err);
typedef int (*hamn_api_body_done_fn)(struct hamn_api_req *req, void *ctx, struct hamn_error **err);
void hamn_api_req_consume_body(struct hamn_api_req *req, hamn_api_body_fn on_data,
			       hamn_api_body_done_fn on_done, void *ctx, void (*ctx_free)(void *));

/* ---------------------------------------------------------------------------------------- */
/* Replies: exactly one per request. All return 0 so a handler can "return hamn_api_reply_...". */

/* Add a header to the coming reply (call before the reply_* function). */
void hamn_api_reply_header(struct hamn_api_req *req, const char *name, const char *value);
/* application/json reply of body + "\n". Steals the reference to body (NULL is a bug). */
int hamn_api_reply_json(struct hamn_api_req *req, int status, json_t *body);
/* Content-Length: 0 reply (204 start/stop, 201 tag, 200 resize, 304). */
int hamn_api_reply_empty(struct hamn_api_req *req, int status);
/* A fixed body of len bytes (copied) with content_type (NULL: no Content-Type). */
int hamn_api_reply_data(struct hamn_api_req *req, int status, const char *content_type,
			const void *data, size_t len);
/* {"message": err->msg} with hamn_api_status_for_errno(err->errnum). err is not freed. */
int hamn_api_reply_error(struct hamn_api_req *req, const struct hamn_error *err);

/*
 * The status for an errno: ENOENT/ESRCH 404, EEXIST/EBUSY/ENOTEMPTY 409,
 * EINVAL/ENAMETOOLONG/EILSEQ/EFBIG/EDOM 400, EPERM/EACCES 403, EKEYREJECTED 401,
 * EALREADY (HAMN_API_ENOTMODIFIED) 304, ENOTSUP/ENOSYS 501, EAGAIN 503,
 * ETIMEDOUT 504, anything else (0 included) 500.
 */
int hamn_api_status_for_errno(int errnum);

/* ---------------------------------------------------------------------------------------- */
/* Streaming replies (chunked): pull/push/build/load progress, logs, events, wait, save */

enum hamn_api_stream_flags {
	/*
	 * JSON-lines progress (pull, push, build, load): messages end in "\r\n"
	 * as dockerd's do, and a producer failure is sent in-band as
	 * {"errorDetail":{"message":m},"error":m} before the stream ends
	 * normally. Without it a failure cuts the chunked stream short, which
	 * clients see as an error.
	 */
	HAMN_API_STREAM_PROGRESS = 1 << 0,
};

/*
 * A producer: runs in a thread of its own once the headers are on their way,
 * writes with hamn_api_stream_*() and returns 0 (stream ends) or -1 with *err.
 * It may block; while it waits for something other than a write, it should
 * also poll hamn_api_stream_cancel_fd() to notice a client that went away.
 */
typedef int (*hamn_api_stream_fn)(struct hamn_api_stream *st, void *ctx, struct hamn_error **err);

/*
 * Reply status with a chunked body produced by fn(st, ctx) in a new thread.
 * content_type NULL sends none (logs). ctx_free (may be NULL) runs in that
 * thread after fn returns. The connection's idle timeout is off while the
 * stream lasts. If no thread can be started, ctx_free runs at once and the
 * stream ends as failed. Returns 0.
 */
int hamn_api_reply_stream(struct hamn_api_req *req, int status, const char *content_type,
			  unsigned flags, hamn_api_stream_fn fn, void *ctx,
			  void (*ctx_free)(void *));

/*
 * The same without a thread: returns the stream for a thread the caller
 * already has (an events bus, a log follower). The caller must end it
 * with hamn_api_stream_end exactly once. Never fails.
 */
struct hamn_api_stream *hamn_api_reply_stream_begin(struct hamn_api_req *req, int status,
						    const char *content_type, unsigned flags);
/*
 * End a stream from hamn_api_reply_stream_begin. failure NULL ends it
 * normally; otherwise it is sent in-band (PROGRESS) or cuts the stream.
 * Releases the caller's reference: st must not be used afterwards.
 */
void hamn_api_stream_end(struct hamn_api_stream *st, const struct hamn_error *failure);

/*
 * Queue bytes for the client; they are sent as one chunk as soon as the
 * connection can take them (each call is flushed, no batching delay).
 * Blocks while more than 1 MiB is queued (a slow reader slows the producer,
 * memory stays bounded). EPIPE once the client went away or the server is
 * stopping. Thread-safe.
 */
int hamn_api_stream_write(struct hamn_api_stream *st, const void *data, size_t len,
			  struct hamn_error **err);
/* One JSON message (msg borrowed) plus "\n", or "\r\n" for PROGRESS streams. */
int hamn_api_stream_json(struct hamn_api_stream *st, const json_t *msg, struct hamn_error **err);
/* One docker multiplexed frame (8-byte header + payload), for logs of non-TTY containers. */
int hamn_api_stream_frame(struct hamn_api_stream *st, int stream_type, const void *data, size_t len,
			  struct hamn_error **err);
/* An fd that becomes readable (POLLIN) once the stream is cancelled; do not close it. */
int hamn_api_stream_cancel_fd(const struct hamn_api_stream *st);
bool hamn_api_stream_cancelled(struct hamn_api_stream *st);

/* ---------------------------------------------------------------------------------------- */
/* Hijacked connections (attach, exec start) */

/*
 * Runs in a thread of its own after "101 UPGRADED" went out. The
 * connection stays open after fn returns, until hamn_api_hijack_close() is
 * called exactly once (from any thread), so fn may hand h to other threads.
 */
typedef void (*hamn_api_hijack_fn)(struct hamn_api_hijack *h, void *ctx);

/*
 * Reply "101 UPGRADED" with Content-Type application/vnd.docker.raw-stream,
 * Connection: Upgrade, Upgrade: tcp, then run fn(h, ctx). The request must
 * carry "Upgrade: tcp" (EINVAL otherwise). Copy what you need from req into
 * ctx first: req is gone when fn runs. ctx_free (may be NULL) runs in that
 * thread after fn returns.
 */
int hamn_api_reply_hijack(struct hamn_api_req *req, hamn_api_hijack_fn fn, void *ctx,
			  void (*ctx_free)(void *));
/*
 * Read client bytes (stdin). Bytes the client sent right behind the request
 * come first. Returns the count, or 0 at EOF: the client half-closed its
 * side (shutdown SHUT_WR, as the CLI does when there is no stdin) - that is
 * NOT a detach, keep writing output. -1 with *err on a read error. When the
 * server stops, the socket is shut down: reads return 0, writes fail, and
 * the cancel fd is readable. Blocking; one reader thread at a time.
 */
ssize_t hamn_api_hijack_read(struct hamn_api_hijack *h, void *buf, size_t len,
			     struct hamn_error **err);
/*
 * For a session that hands the raw fd to another process: take the bytes
 * the server read past the request that no hamn_api_hijack_read returned
 * (stdin the client sent right behind it, before it read the 101). They
 * come before anything read from the fd, so pass them on first. NULL with
 * *len_out 0 when there are none; the bytes stay valid until the close.
 */
const char *hamn_api_hijack_take_extra(struct hamn_api_hijack *h, size_t *len_out);
/* Write all of data (blocking); EPIPE when the client is gone. */
int hamn_api_hijack_write(struct hamn_api_hijack *h, const void *data, size_t len,
			  struct hamn_error **err);
/* Write one multiplexed frame (non-TTY): header + payload. */
int hamn_api_hijack_frame(struct hamn_api_hijack *h, int stream_type, const void *data, size_t len,
			  struct hamn_error **err);
/*
 * The raw connection fd (blocking mode), for poll(). Never close() it, and
 * read through hamn_api_hijack_read so the buffered bytes are not lost.
 */
int hamn_api_hijack_fd(const struct hamn_api_hijack *h);
/* Readable (POLLIN) once the server is stopping; do not close it. */
int hamn_api_hijack_cancel_fd(const struct hamn_api_hijack *h);
/* Flush, send EOF to the client and close. h is freed when its thread is done too. */
void hamn_api_hijack_close(struct hamn_api_hijack *h);

/* ---------------------------------------------------------------------------------------- */
/* Multiplexed frames and small parsers (pure; unit-tested) */

enum hamn_api_stdstream {
	HAMN_API_STDIN = 0,
	HAMN_API_STDOUT = 1,
	HAMN_API_STDERR = 2,
	HAMN_API_SYSERR = 3,
};
#define HAMN_API_MUX_HEADER_LEN 8

/* docker's frame header: stream type, three zero bytes, payload length big-endian. */
void hamn_api_mux_header(uint8_t hdr[HAMN_API_MUX_HEADER_LEN], int stream_type, uint32_t len);

/* dockerd's BoolValue: "", "0", "no", "false", "none" (any case, spaces trimmed) are false. */
bool hamn_api_parse_bool(const char *s);

/* ---------------------------------------------------------------------------------------- */
/* Filters (?filters=...) */

struct hamn_api_filter {
	char *key;
	char **values; /* NULL-terminated, never NULL (possibly empty) */
};

struct hamn_api_filters {
	size_t n;
	struct hamn_api_filter *items;
};

/*
 * Parse a filters JSON object in either shape dockerd accepts:
 * {"type":{"container":true}} (map of bools; every key counts, as in
 * dockerd) or {"label":["a=b","c"]} (lists). NULL or "" gives an empty set.
 * EINVAL for malformed JSON or other value types. Free with
 * hamn_api_filters_free.
 */
int hamn_api_filters_parse(const char *text, struct hamn_api_filters **out,
			   struct hamn_error **err);
void hamn_api_filters_free(struct hamn_api_filters *f);
/* The parsed ?filters= of req (an empty set when absent). */
int hamn_api_req_filters(const struct hamn_api_req *req, struct hamn_api_filters **out,
			 struct hamn_error **err);
/* The values of key (borrowed), or NULL when key is not in the set. */
char *const *hamn_api_filters_get(const struct hamn_api_filters *f, const char *key);
/*
 * EINVAL "Invalid filter 'k'" (dockerd 20.10's wording) for a key not in
 * allowed (NULL-terminated).
 */
int hamn_api_filters_validate(const struct hamn_api_filters *f, const char *const *allowed,
			      struct hamn_error **err);
/*
 * Do labels (a JSON object of strings, may be NULL) pass every value of
 * filter key ("label")? A value "k" needs the label k; "k=v" needs k with
 * value v; "k!=v" needs k absent or not v. No filter of that key passes.
 */
bool hamn_api_filters_match_labels(const struct hamn_api_filters *f, const char *key,
				   const json_t *labels);

HAMN_DEFINE_CLEANUP(hamn_api_filters, hamn_api_filters_free)
#define _cleanup_filters_ _cleanup_(cleanup_hamn_api_filtersp)

/* ---------------------------------------------------------------------------------------- */
/* System endpoints: /_ping, /version, /info (system.c) */

/*
 * Filled in by the engine: container and image counts and whatever else
 * it knows (SecurityOptions, Runtimes, Warnings). Called for every GET
 * /info with the object built from host facts; it sets or replaces members.
 * Until an engine registers one, the counts stay 0 (there is no engine that
 * could hold containers).
 */
typedef int (*hamn_api_info_fn)(json_t *info, void *ctx, struct hamn_error **err);

struct hamn_api_system_config {
	const char *root_dir; /* --root: DockerRootDir, and where the daemon ID is kept */
	const char *exec_root;
	const char *cgroup_parent;
	bool debug;
	bool insecure_tcp;	  /* adds dockerd's warning to /info */
	hamn_api_info_fn info_fn; /* NULL until the engine exists */
	void *info_ctx;
};

/*
 * Register HEAD/GET /_ping, GET /version and GET /info. cfg is copied. The
 * daemon ID is read from (or created in) <root_dir>/engine-id: the errors
 * of that are returned.
 */
int hamn_api_system_register(struct hamn_api_server *s, const struct hamn_api_system_config *cfg,
			     struct hamn_error **err);

/* ---------------------------------------------------------------------------------------- */
/* Registry endpoints: pull, push, login (images_dist.c) */

struct hamn_engine;
struct hamn_dist_config;

struct hamn_api_dist_config {
	struct hamn_engine *engine;	/* borrowed: its image store is pulled into / pushed from */
	const struct hamn_dist_config *registry;	/* mirrors, insecure registries, ...; copied */
};

/*
 * Register POST /images/{name*}/push and POST /auth, and make the registry
 * client (freed with the server) that these and hamn_api_images_pull (the
 * pull behind POST /images/create?fromImage=, see api/images.h) use.
 * EINVAL for a bad registry setting.
 */
int hamn_api_dist_register(struct hamn_api_server *s, const struct hamn_api_dist_config *cfg,
			   struct hamn_error **err);

#endif

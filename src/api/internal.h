/*
 * internal.h - shared by the .c files of src/api only; never included from outside the folder.
 */
#ifndef HAMN_API_INTERNAL_H
#define HAMN_API_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>

#include "api/api.h"

/* Every response carries these (contract section 1.5). */
#define API_SERVER_HEADER "Docker/" HAMN_API_ENGINE_VERSION " (linux)"

/* Streams block writers beyond this much queued data. */
#define API_STREAM_HIGH_WATER (1u << 20)

/* A doubly linked list node; the server keeps its live streams and hijacks on lists. */
struct api_link {
	struct api_link *prev, *next;
};

struct api_endpoint {
	struct hamn_api_server *server;
	struct hamn_api_host host;
	int listen_fd;
	struct MHD_Daemon *mhd;
	bool tls;
	dev_t sock_dev; /* identity of the socket file we created, so stop removes only ours */
	ino_t sock_ino;
};

struct hamn_api_server {
	struct hamn_api_router *router;
	struct hamn_api_server_config cfg; /* hosts and TLS paths point into owned copies */
	char **hosts;
	char *tls_cert_pem, *tls_key_pem, *tls_ca_pem;
	struct api_endpoint *eps;
	size_t neps;
	int stop_fd; /* eventfd, readable once stopping */
	pthread_mutex_t lock;
	pthread_cond_t idle;	 /* signalled when a counter below drops */
	unsigned active_reqs;	 /* requests between their headers and their end */
	unsigned active_threads; /* stream producers and hijack sessions */
	struct api_link streams; /* live streams (struct hamn_api_stream.link) */
	struct api_link hijacks; /* open hijacked connections */
	bool started, stopping;
	struct api_cleanup {
		void (*fn)(void *);
		void *ctx;
	} * cleanups;
	size_t ncleanups;
};

struct api_header {
	char *name, *value;
};

struct hamn_api_req {
	struct hamn_api_server *server;
	struct MHD_Connection *conn;
	char *method;
	char *raw_path;
	const char *path; /* raw_path without the /vX.Y prefix */
	struct hamn_api_match match;
	bool matched;
	struct hamn_error *early_err; /* routing/limits error, replied after the body */
	struct hamn_buf body;
	uint64_t discarded;
	/* body consumer (stream-body routes) */
	hamn_api_body_fn on_data;
	hamn_api_body_done_fn on_done;
	void *body_ctx;
	void (*body_ctx_free)(void *);
	struct hamn_error *body_err;
	/* the reply being built */
	struct api_header *headers;
	size_t nheaders;
	struct MHD_Response *response;
	int status;
	bool queued;
	bool stream_reply;		/* idle timeout disabled for this request */
	struct hamn_api_hijack *hijack; /* a 101 reply whose upgrade may not happen */
	int64_t start_ns;
};

/* request.c */
struct hamn_api_req *api_req_new(struct hamn_api_server *s, struct MHD_Connection *conn,
				 const char *method, const char *url);
void api_req_free(struct hamn_api_req *req);
/* Take a body chunk; MHD_NO means "close the connection". */
enum MHD_Result api_req_feed(struct hamn_api_req *req, const char *data, size_t len);

/* reply.c */
void api_add_common_headers(struct MHD_Response *r);
/* Install resp as req's reply (after the headers added with hamn_api_reply_header). */
void api_req_set_response(struct hamn_api_req *req, int status, struct MHD_Response *resp);
/* Reply {"message": msg}; logs 500s once. */
void api_reply_error_msg(struct hamn_api_req *req, int status, const char *msg);

/* stream.c */
void api_streams_cancel_all(struct hamn_api_server *s);

/* hijack.c */
void api_hijacks_cancel_all(struct hamn_api_server *s);
/*
 * Before MHD stops (it closes upgraded sockets nobody closed and frees their
 * handles): hijacks closed later (attach clients the engine lets go of at
 * its end) only release their memory.
 */
void api_hijacks_detach_all(struct hamn_api_server *s);
/* The request that replied 101 ended; frees h if the upgrade never happened. */
void api_hijack_request_done(struct hamn_api_hijack *h);

/* router.c */
/* path without a /vX.Y prefix (a pointer into path). */
const char *api_strip_version(const char *path);

/* server.c */
void api_server_thread_started(struct hamn_api_server *s);
void api_server_thread_done(struct hamn_api_server *s);
void api_list_init(struct api_link *head);
void api_list_add(struct hamn_api_server *s, struct api_link *head, struct api_link *node);
void api_list_del(struct hamn_api_server *s, struct api_link *node);
/* The client socket of conn (for hangup polling), or -1. */
int api_conn_fd(struct MHD_Connection *conn);

/* listen.c */
int api_listen(struct api_endpoint *ep, gid_t gid, struct hamn_error **err);
void api_unlisten(struct api_endpoint *ep);

/* hostinfo.c: facts about the host for /version and /info */
const char *api_go_arch(const char *machine); /* "x86_64" -> "amd64" (Go's GOARCH) */
char *api_os_release(const char *key);	      /* a value of /etc/os-release, or NULL */
int api_ncpu(void);			      /* CPUs we may run on */
int64_t api_mem_total(void);
bool api_cgroup_v2(void); /* is /sys/fs/cgroup a cgroup2 mount? */
/* MemoryLimit, CpuCfsQuota, ... and CgroupVersion into info; dockerd's warnings into warnings. */
void api_cgroup_features(json_t *info, json_t *warnings);
const char *api_fs_name(const char *path); /* "extfs", "xfs", ... as dockerd names them */
bool api_read_flag(const char *path);	   /* does the file start with '1'? */
int api_count_fds(void);
int api_count_threads(void);
char *api_proxy_env(const char *upper, const char *lower); /* credentials masked */

/*
 * filtered.c: a request's ?filters= (filters.c), and the same key/values
 * pairs as src/engine's and src/volume's filters, which borrow the parsed
 * strings. Release with api_filters_release (also after a failure).
 */
struct api_filters {
	struct hamn_api_filters *parsed;
	struct hamn_engine_filter *engine; /* n of them */
	struct hamn_volume_filter *volume; /* n of them */
	size_t n;
};
#define API_FILTERS_INIT {NULL, NULL, NULL, 0}
int api_req_filters(const struct hamn_api_req *req, struct api_filters *f,
		    struct hamn_error **err);
/* request.c: ?h=&w= of a resize (0 when absent), each within 0..65535; EINVAL otherwise. */
int api_req_tty_size(const struct hamn_api_req *req, unsigned int *h, unsigned int *w,
		     struct hamn_error **err);
void api_filters_release(struct api_filters *f);
/* Makes a list or prune reply from the filters: a new reference, or NULL with *err. */
typedef json_t *(*api_filtered_fn)(void *ctx, const struct api_filters *f,
				   struct hamn_error **err);
/* Reply 200 with what fn makes of the request's ?filters=; EINVAL for bad filters. */
int api_reply_filtered(struct hamn_api_req *req, api_filtered_fn fn, void *ctx,
		       struct hamn_error **err);

/*
 * pump.c: request and reply bodies through a worker thread. The worker
 * runs an engine or store call on an fd: it reads an upload from it, or
 * writes a download into it.
 */
typedef int (*api_fd_fn)(void *ctx, int fd, struct hamn_error **err);

/*
 * An upload: api_upload_start runs the worker, each body chunk goes to
 * api_upload_write, the body's end to api_upload_end; api_upload_wait then
 * tells when the worker finished, and rc/err (read only once finished) what
 * it returned. Releasing an upload whose body did not end (the client went
 * away) makes the worker's read fail, so a cut body never passes for a
 * whole one.
 */
struct api_upload {
	api_fd_fn run;
	void *ctx;
	const int *bad_input; /* errnos of run meaning a bad body (400), 0-terminated */
	int fd;		      /* our end of the socketpair */
	int peer;	      /* the worker's end; the worker closes it */
	int done_fd;	      /* eventfd, readable once the worker finished */
	int sockbuf;	      /* socket buffer sizes to ask for (set before start); 0: default */
	pthread_t thread;
	bool started, eof_sent;
	pthread_mutex_t lock; /* guards what the worker writes below */
	bool finished;
	int rc;
	struct hamn_error *err;
};

/* Set up u for run(ctx, fd); bad_input (may be NULL) stays borrowed. Never fails. */
void api_upload_init(struct api_upload *u, api_fd_fn run, void *ctx, const int *bad_input);
/* Start the worker. On failure u still needs api_upload_release. */
int api_upload_start(struct api_upload *u, struct hamn_error **err);
/*
 * Hand a body chunk to the worker (blocks while it is busy). When the
 * worker stopped reading, waits for it: its failure is returned
 * (api_upload_failure), a success drops the rest of the body.
 */
int api_upload_write(struct api_upload *u, const void *data, size_t len,
		     struct hamn_error **err);
/* The whole body was sent: the worker reads a clean end of file. */
int api_upload_end(struct api_upload *u, struct hamn_error **err);
/*
 * Wait up to timeout_ms (-1: forever) for the worker, or until cancel_fd
 * (-1: none) is readable; true once the worker finished.
 */
bool api_upload_wait(struct api_upload *u, int timeout_ms, int cancel_fd);
/*
 * The finished worker's failure as a new error of the caller's (its own
 * stays with u): the errnos in bad_input become EINVAL, since the body was
 * the request's only input.
 */
int api_upload_failure(const struct api_upload *u, struct hamn_error **err);
/* Stop (if the body did not end) and join the worker, close the fds. */
void api_upload_release(struct api_upload *u);

/*
 * A download, from a stream's producer: run(ctx, fd) on a worker thread
 * writing a pipe, which is copied to s until the worker returns (its fd is
 * closed then). A client that goes away stops the copy with EPIPE, and the
 * worker's next write fails. A worker that fails after all it wrote was
 * copied fails the stream, so the client sees a cut tar as a failure.
 * what ("save") starts the error messages. Call from the producer only.
 */
int api_stream_from_worker(struct hamn_api_stream *s, const char *what, api_fd_fn run, void *ctx,
			   struct hamn_error **err);

/* tls.c */
int api_tls_load(struct hamn_api_server *s, struct hamn_error **err);
/* Has the client of conn presented a certificate signed by our CA? */
bool api_tls_client_ok(struct MHD_Connection *conn, char **why);

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif

/*
 * internal.h - shared by the .c files of src/distribution only; never included from outside.
 */
#ifndef HAMN_DISTRIBUTION_INTERNAL_H
#define HAMN_DISTRIBUTION_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <sys/types.h>

#include "distribution/distribution.h"
#include "oci/image.h"
#include "oci/reference.h"

/* ---- the client (dist.c) ---- */

struct dist_hint {
	char *digest;
	char *domain;
	char *path;
};

/* A layer some pull is downloading now (others wait for it instead of fetching it too). */
struct dist_inflight {
	char *key;
	struct dist_inflight *next;
};

struct hamn_dist {
	char *certs_dir;
	char **insecure;
	char **mirrors;
	unsigned max_downloads, max_uploads, max_retries, retry_delay_ms, stall_timeout_s;
	pthread_mutex_t lock;
	CURL **pool; /* idle easy handles: they keep their connections */
	size_t npool;
	char **plain_http;	 /* hosts found to speak plain HTTP */
	struct dist_hint *hints; /* where blobs were seen, for cross-repository mounts */
	size_t nhints;
	struct dist_inflight *inflight; /* guarded by lock */
	pthread_cond_t inflight_done;	/* broadcast when an entry goes */
};

/*
 * Load and initialise libcurl (curl_lazy.c), once per process: call it before
 * any curl_* function; later calls only repeat the first one's answer.
 */
int dist_curl_load(struct hamn_error **err);
/* An easy handle from the pool (or a new one); give it back with dist_handle_put. */
CURL *dist_handle_get(struct hamn_dist *d);
void dist_handle_put(struct hamn_dist *d, CURL *h);
/* Remember that blob digest is in domain/path; list the paths known on domain. */
void dist_hint_add(struct hamn_dist *d, const char *digest, const char *domain, const char *path);
char **dist_hint_paths(struct hamn_dist *d, const char *digest, const char *domain);
/*
 * Claim the download of key (a layer's chain ID): true when the caller is to
 * fetch it (and must dist_inflight_release it); false once another pull that
 * had it finished (the caller looks in the store again) or when cancel_fd /
 * *abort stops the wait (the caller checks them).
 */
bool dist_inflight_claim(struct hamn_dist *d, const char *key, int cancel_fd, const bool *abort);
void dist_inflight_release(struct hamn_dist *d, const char *key);
bool dist_host_is_plain(struct hamn_dist *d, const char *host);
void dist_host_set_plain(struct hamn_dist *d, const char *host);

/* ---- HTTP over libcurl (http.c) ---- */

struct dist_tls {
	bool configured; /* certs.d has a directory for the host */
	bool verify;	 /* false: insecure registry over https without certs.d */
	char *ca_pem;	 /* system CAs + certs.d/<host>/ *.crt, or NULL: curl's default */
	size_t ca_len;
	char *client_cert; /* paths, or NULL */
	char *client_key;
};

void dist_tls_release(struct dist_tls *t);
/*
 * Fill t from certs_dir/<host>/. Missing directory: defaults. An insecure
 * host is verified all the same when it has a certs.d directory: whoever
 * made one wants TLS checked (docker would skip verification there).
 */
int dist_tls_load(const char *certs_dir, const char *host, bool insecure, struct dist_tls *t,
		  struct hamn_error **err);

/* Consumer of a response body: return 0, or -1 with *err to abort the transfer. */
typedef int (*dist_data_fn)(void *ud, const char *data, size_t len, struct hamn_error **err);

struct dist_http_req {
	const char *method; /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
	const char *url;
	char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
	const void *body;     /* a body in memory (PUT/POST/PATCH) */
	size_t body_len;
	int body_fd; /* >= 0: send body_fd_len bytes from body_fd at body_off */
	off_t body_off;
	uint64_t body_fd_len;
	const char *content_type;
	dist_data_fn on_data; /* NULL: the body is collected into resp->body */
	void *ud;
	size_t max_body; /* limit of a collected body (EFBIG beyond); 0: 1 MiB */
	bool follow;	 /* follow redirects (blob downloads) */
	const struct dist_tls *tls;
	int cancel_fd;		  /* -1: none */
	const bool *abort;	  /* true (atomically read): stop as for cancel_fd; may be NULL */
	unsigned stall_timeout_s; /* 0: none */
	/* upload progress: called with the bytes sent so far */
	void (*on_sent)(void *ud, uint64_t sent);
};

#define DIST_HTTP_REQ_INIT                                                                         \
	{                                                                                          \
		.body_fd = -1, .cancel_fd = -1                                                     \
	}

struct dist_http_resp {
	long status;
	struct hamn_buf body;
	char *location;
	char *content_type;
	char *docker_digest; /* Docker-Content-Digest */
	char *www_auth;
	char *content_range;
	char *range; /* Range (upload status) */
	char *link;
	int64_t content_length; /* -1 when absent */
	char *url;		/* the effective URL after redirects */
};

void dist_http_resp_release(struct dist_http_resp *r);
static inline void cleanup_dist_http_respp(struct dist_http_resp *r)
{
	dist_http_resp_release(r);
}
#define _cleanup_resp_ __attribute__((cleanup(cleanup_dist_http_respp)))

/*
 * Perform one request on handle h (reset first; its connections stay).
 * Any HTTP status is success; transport failures are errors with errno
 * ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, EPROTO (TLS), ECONNRESET (dropped),
 * ECANCELED (cancel_fd), or the on_data callback's error. The message names
 * the method and URL.
 */
int dist_http_do(CURL *h, const struct dist_http_req *r, struct dist_http_resp *resp,
		 struct hamn_error **err);
/* Is an error from dist_http_do worth retrying (a dropped or stalled connection)? */
bool dist_http_retryable(const struct hamn_error *e);
/* Case-insensitive search of a header value in a "Name: value" vector. */
char *dist_url_escape(const char *s);

/* ---- endpoints, auth and requests to one repository (registry.c, auth.c) ---- */

enum dist_auth_scheme { AUTH_UNKNOWN, AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct dist_repo {
	struct hamn_dist *d;
	char *domain; /* as in the reference: "docker.io", "127.0.0.1:5000" */
	char *host;   /* what is contacted: "registry-1.docker.io", "127.0.0.1:5000" */
	char *base;   /* "https://127.0.0.1:5000" */
	char *path;   /* "library/busybox" */
	bool insecure;
	bool mirror;
	struct dist_tls tls;
	struct hamn_dist_auth creds;
	const char *actions; /* "pull" or "pull,push" */
	char **extra_scopes; /* more scopes for the token (mount sources) */
	int cancel_fd;
	const bool *abort;    /* set by a pull or push whose other transfer failed */
	pthread_mutex_t lock; /* guards the auth state below */
	enum dist_auth_scheme scheme;
	struct hamn_dist_challenge challenge;
	char *token;
	unsigned token_gen;
	char *identity_token; /* a refresh token the token server handed out */
};

/*
 * A session with repository path on the registry of domain. base_url
 * (may be NULL) overrides the endpoint (a mirror: "https://m:5000").
 * creds may be NULL. Nothing is contacted yet.
 */
struct dist_repo *dist_repo_new(struct hamn_dist *d, const char *domain, const char *base_url,
				const char *path, const struct hamn_dist_auth *creds,
				const char *actions, int cancel_fd, struct hamn_error **err);
void dist_repo_free(struct dist_repo *r);
HAMN_DEFINE_CLEANUP(dist_repo, dist_repo_free)
#define _cleanup_repo_ _cleanup_(cleanup_dist_repop)

/*
 * GET /v2/: find out whether the registry speaks HTTPS or (when insecure)
 * plain HTTP, and which authentication it wants. Errors: transport errors,
 * EKEYREJECTED when given credentials are refused (basic).
 */
int dist_repo_ping(struct dist_repo *r, CURL *h, struct hamn_error **err);

/*
 * A request to the repository's registry: path_and_query is appended to
 * base ("/v2/<path>/manifests/x"), or a full URL (an upload Location).
 * Authorization is added (basic, or a bearer token fetched on the first 401
 * and again after a later 401). Any HTTP status is success, as dist_http_do.
 */
int dist_repo_do(struct dist_repo *r, CURL *h, struct dist_http_req *req,
		 struct dist_http_resp *resp, struct hamn_error **err);
/* The full URL of a path on the repository's registry ("/v2/..."), or url if absolute. New. */
char *dist_repo_url(const struct dist_repo *r, const char *path_or_url);

/*
 * Turn a registry error reply into an error: the {"errors":[{code,message}]}
 * body as docker prints it ("manifest unknown: manifest unknown"), errno by
 * status (401 EKEYREJECTED, 403 EACCES, 404 ENOENT, 429 EAGAIN, else EIO).
 * what names the request ("fetch manifest 'x:v1'").
 */
int dist_registry_error(const struct dist_http_resp *resp, struct hamn_error **err,
			const char *what, ...) __attribute__((format(printf, 3, 4)));
/* The first registry error code in a reply body ("MANIFEST_UNKNOWN"), or NULL. New string. */
char *dist_registry_error_code(const struct dist_http_resp *resp);

/* auth.c: get a bearer token for r's scopes with challenge c. Called with r->lock held. */
int dist_auth_fetch_token(struct dist_repo *r, CURL *h, struct hamn_error **err);
/* "Basic base64(user:pass)" or NULL when r has no username. New string. */
char *dist_auth_basic(const struct hamn_dist_auth *a);

/* ---- progress (progress.c) ---- */

struct dist_progress {
	hamn_dist_progress_fn fn;
	void *ud;
	pthread_mutex_t lock;
};

void dist_progress_init(struct dist_progress *p, hamn_dist_progress_fn fn, void *ud);
void dist_progress_release(struct dist_progress *p);
/* {"status": status, "id": id} (id may be NULL); progressDetail {} when detail is true. */
void dist_progress_status(struct dist_progress *p, const char *id, bool detail, const char *fmt,
			  ...) __attribute__((format(printf, 4, 5)));
/* {"status", "progressDetail":{"current","total"}, "progress": bar, "id"}. */
void dist_progress_bytes(struct dist_progress *p, const char *id, const char *status,
			 int64_t current, int64_t total);
/* Any message (borrowed). */
void dist_progress_json(struct dist_progress *p, json_t *msg);

/* ---- blobs (blob.c) ---- */

struct dist_blob {
	struct hamn_digest digest;
	int64_t size; /* -1 when unknown */
	char *media_type;
	char short_id[13]; /* first 12 hex: the id of progress lines */
};

/*
 * Download a blob, verifying size and digest as it streams, into on_data
 * (which sees every byte exactly once, in order, however often the
 * connection dropped and was resumed with a Range request). Retries with
 * back-off up to d->max_retries. progress (may be NULL) gets "Downloading"
 * messages for id. EINVAL "... digest mismatch ..." / "... size mismatch ...".
 */
int dist_blob_fetch(struct dist_repo *r, CURL *h, const struct dist_blob *b, dist_data_fn on_data,
		    void *ud, struct dist_progress *progress, struct hamn_error **err);
/* Fetch a small blob (a config) into memory (at most max bytes), verified. */
int dist_blob_fetch_mem(struct dist_repo *r, CURL *h, const struct dist_blob *b, size_t max,
			char **out, size_t *len_out, struct hamn_error **err);

/* HEAD the blob: *exists true on 200 (and matching size when b->size >= 0). */
int dist_blob_exists(struct dist_repo *r, CURL *h, const struct dist_blob *b, bool *exists,
		     struct hamn_error **err);
/* Try to mount b from repository path from (same registry): *mounted true on 201. */
int dist_blob_mount(struct dist_repo *r, CURL *h, const struct dist_blob *b, const char *from,
		    bool *mounted, char **location_out, struct hamn_error **err);
/*
 * Upload len bytes of fd (from offset 0) as blob b: one PUT when it is no
 * larger than HAMN_DIST_CHUNK_SIZE, else PATCH chunks; a dropped transfer
 * asks the registry how much it got and goes on from there. location (may
 * be NULL) is an upload already started (by a mount attempt).
 */
int dist_blob_upload(struct dist_repo *r, CURL *h, const struct dist_blob *b, int fd,
		     const char *location, struct dist_progress *progress, struct hamn_error **err);

void dist_blob_release(struct dist_blob *b);
void dist_blob_set(struct dist_blob *b, const struct hamn_oci_descriptor *d);

/* ---- manifests (manifest.c) ---- */

/* A manifest as fetched: its bytes, digest and parsed form. */
struct dist_manifest {
	char *body;
	size_t len;
	char *media_type;
	struct hamn_digest digest;
	struct hamn_oci_manifest *m; /* NULL for an index */
	struct hamn_oci_index *idx;  /* NULL for an image manifest */
};

void dist_manifest_release(struct dist_manifest *m);
/*
 * GET /v2/<path>/manifests/<reference> (a tag or a digest), verify that
 * the body hashes to reference when it is a digest (and to the
 * Docker-Content-Digest header otherwise), and parse it. A list or index
 * is resolved for platform: the chosen manifest is fetched by digest in its
 * place (*m is then that manifest). display names the reference in messages.
 */
int dist_manifest_get(struct dist_repo *r, CURL *h, const char *reference,
		      const struct hamn_dist_platform *platform, const char *display,
		      struct dist_manifest *m, struct hamn_error **err);
/* PUT a manifest under reference; *digest_out gets its digest. */
int dist_manifest_put(struct dist_repo *r, CURL *h, const char *reference, const char *media_type,
		      const char *body, size_t len, struct hamn_digest *digest_out,
		      struct hamn_error **err);
/* GET /v2/<path>/tags/list, following Link pagination. New vector. */
int dist_tags_list(struct dist_repo *r, CURL *h, char ***tags_out, struct hamn_error **err);

/* ---- where pulled images go, where pushed ones come from (sink.c) ---- */

struct dist_layer_ref {
	const struct dist_blob *blob;
	const struct hamn_digest *diff_id;
	const struct hamn_digest *chain_id;
	const struct hamn_digest *parent_chain; /* NULL for the bottom layer */
};

struct dist_image_rec {
	const struct dist_blob *config;
	const struct dist_blob *layers;
	size_t n_layers;
	const char *manifest_digest;
	const char *ref; /* full reference to tag ("docker.io/library/x:v1") */
};

struct dist_sink_ops {
	bool (*has_blob)(void *ctx, const char *digest);
	/* Read fd to EOF and keep it as blob b only if it hashes to b's digest. */
	int (*put_blob)(void *ctx, int fd, const struct dist_blob *b, struct hamn_error **err);
	/* Is the layer (by chain ID) there already? */
	bool (*has_layer)(void *ctx, const struct dist_layer_ref *l);
	/*
	 * Read the layer blob from fd to EOF, keep it (and unpack it) only if it
	 * hashes to its digest and unpacks to its diff ID. Called concurrently.
	 */
	int (*put_layer)(void *ctx, int fd, const struct dist_layer_ref *l,
			 struct hamn_error **err);
	/* Open a stored blob for reading. */
	int (*open_blob)(void *ctx, const char *digest, struct hamn_error **err);
	/* The image id ref points to now (new string), or NULL. */
	char *(*lookup)(void *ctx, const char *ref);
	int (*commit)(void *ctx, const struct dist_image_rec *img, char **id_out,
		      struct hamn_error **err);
};

struct dist_sink {
	const struct dist_sink_ops *ops;
	void *ctx;
};

/* A sink on the image store. */
void dist_sink_store(struct hamn_image_store *st, struct dist_sink *out);

/* What a push needs of a local image. */
struct dist_source_image {
	char *tag; /* the tag in the target repository */
	struct dist_blob config;
	struct dist_blob *layers;
	size_t n_layers;
	char **repos; /* other full names of the image (mount candidates) */
};

void dist_source_image_release(struct dist_source_image *s);

struct dist_source_ops {
	/*
	 * The images to push for ref (one for "name:tag", every tag of the
	 * repository for "name"). ENOENT when there is none.
	 */
	int (*images)(void *ctx, const struct hamn_ref *ref, struct dist_source_image **out,
		      size_t *n_out, struct hamn_error **err);
	int (*open_blob)(void *ctx, const char *digest, struct hamn_error **err);
	/* Record a pushed manifest digest for ref (may be NULL). */
	void (*pushed)(void *ctx, const char *ref, const char *manifest_digest);
};

struct dist_source {
	const struct dist_source_ops *ops;
	void *ctx;
};

void dist_source_store(struct hamn_image_store *st, struct dist_source *out);

/* ---- pull and push engines with an explicit sink/source (pull.c, push.c; tests use these) ---- */

struct hamn_dist_pull *dist_pull_prepare(struct hamn_dist *d, const struct dist_sink *sink,
					 const struct hamn_dist_pull_opts *o,
					 struct hamn_error **err);
int dist_push(struct hamn_dist *d, const struct dist_source *src,
	      const struct hamn_dist_push_opts *o, struct hamn_error **err);

/* Pull endpoints of a domain: mirrors for docker.io, then the registry itself. New vector. */
char **dist_endpoints(struct hamn_dist *d, const char *domain);

/* Sleep ms milliseconds, or less when cancel_fd becomes readable or *abort is set (ECANCELED). */
int dist_backoff(int cancel_fd, const bool *abort, unsigned ms, struct hamn_error **err);

/*
 * Run job(ctx, i, h, err) for i in [0, n) on up to max threads, each with
 * its own curl handle (SIGPIPE blocked in them). The first failure sets
 * *abort (so transfers in flight stop with ECANCELED) and is returned;
 * later ECANCELED errors are dropped. Jobs not started yet are skipped.
 */
typedef int (*dist_job_fn)(void *ctx, size_t i, CURL *h, struct hamn_error **err);
int dist_pool_run(struct hamn_dist *d, unsigned max, size_t n, dist_job_fn job, void *ctx,
		  bool *abort, struct hamn_error **err);

#endif

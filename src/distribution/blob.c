/*
 * blob.c - moving blobs: downloads that are hashed while they stream,
 * checked against the descriptor's size and digest, and resumed with a Range
 * request after a dropped connection (the consumer sees every byte once);
 * existence checks, cross-repository mounts, and uploads (one PUT for a
 * small blob, PATCH chunks for a large one, resumed from what the registry
 * says it has).
 */
#include "distribution/internal.h"

#include <inttypes.h>
#include <sys/stat.h>

#define REPORT_INTERVAL_NS (100 * 1000000LL)

void dist_blob_release(struct dist_blob *b)
{
	free(b->media_type);
	memset(b, 0, sizeof(*b));
}

void dist_blob_set(struct dist_blob *b, const struct hamn_oci_descriptor *d)
{
	b->digest = d->digest;
	b->size = d->size;
	b->media_type = d->media_type ? xstrdup(d->media_type) : NULL;
	snprintf(b->short_id, sizeof(b->short_id), "%s", hamn_digest_hex(&d->digest));
}

/* ---- download ---- */

struct fetch {
	const struct dist_blob *b;
	struct hamn_sha256 *hash;
	uint64_t got;  /* bytes handed to the consumer */
	uint64_t skip; /* bytes of this reply the consumer already had */
	bool first;    /* no data of this attempt seen yet */
	struct dist_http_resp *resp;
	dist_data_fn on_data;
	void *ud;
	struct dist_progress *progress;
	int64_t last_report;
};

static void report(struct fetch *f, bool force)
{
	int64_t now = hamn_monotonic_ns();

	if (!f->progress || (!force && now - f->last_report < REPORT_INTERVAL_NS))
		return;
	f->last_report = now;
	dist_progress_bytes(f->progress, f->b->short_id, "Downloading", (int64_t)f->got,
			    f->b->size);
}

/* At the first bytes of a reply: did the server honour our Range? */
static int check_range(struct fetch *f, struct hamn_error **err)
{
	uint64_t start = 0;

	f->first = false;
	f->skip = 0;
	if (f->got == 0)
		return 0;
	if (!f->resp->content_range) {
		f->skip = f->got; /* a 200 with the whole blob: drop what we have */
		return 0;
	}
	if (sscanf(f->resp->content_range, "bytes %" SCNu64 "-", &start) != 1 || start > f->got)
		return hamn_error_setq(err, EPROTO, "blob %s: unexpected Content-Range '%s'",
				       f->b->digest.str, f->resp->content_range);
	f->skip = f->got - start;
	return 0;
}

static int fetch_data(void *ud, const char *data, size_t len, struct hamn_error **err)
{
	struct fetch *f = ud;

	if (f->first && check_range(f, err) < 0)
		return -1;
	if (f->skip) {
		size_t n = len < f->skip ? len : (size_t)f->skip;

		f->skip -= n;
		data += n;
		len -= n;
		if (!len)
			return 0;
	}
	if (f->b->size >= 0 && f->got + len > (uint64_t)f->b->size)
		return hamn_error_setq(err, EINVAL,
				       "blob %s: size mismatch: more than the %" PRId64
				       " bytes its descriptor says",
				       f->b->digest.str, f->b->size);
	hamn_sha256_update(f->hash, data, len);
	f->got += len;
	if (f->on_data(f->ud, data, len, err) < 0)
		return -1;
	report(f, false);
	return 0;
}

static int verify(struct fetch *f, struct hamn_error **err)
{
	struct hamn_digest d;

	if (f->b->size >= 0 && f->got != (uint64_t)f->b->size)
		return hamn_error_setq(err, EINVAL,
				       "blob %s: size mismatch: got %" PRIu64
				       " bytes, expected %" PRId64,
				       f->b->digest.str, f->got, f->b->size);
	hamn_sha256_final(f->hash, &d);
	if (!streq(d.str, f->b->digest.str))
		return hamn_error_setq(err, EINVAL,
				       "blob %s: digest mismatch: the content hashes "
				       "to %s",
				       f->b->digest.str, d.str);
	return 0;
}

/* One GET (ranged when resuming). 1: complete, 0: retry, -1: failed. */
static int fetch_attempt(struct dist_repo *r, CURL *h, struct fetch *f, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", r->path, f->b->digest.str);
	_cleanup_free_ char *range = f->got ? xasprintf("Range: bytes=%" PRIu64 "-", f->got) : NULL;
	char *headers[] = {range, NULL};
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	req.method = "GET";
	req.url = path;
	req.headers = headers;
	req.follow = true;
	req.on_data = fetch_data;
	req.ud = f;
	req.stall_timeout_s = r->d->stall_timeout_s;
	f->resp = &resp;
	f->first = true;
	if (dist_repo_do(r, h, &req, &resp, err) < 0)
		return dist_http_retryable(*err) ? 0 : -1;
	if (resp.status == 416 && f->b->size >= 0 && f->got == (uint64_t)f->b->size)
		return 1;
	if (resp.status != 200 && resp.status != 206) {
		dist_registry_error(&resp, err, "fetch blob %s", f->b->digest.str);
		return (*err)->errnum == EAGAIN || resp.status >= 500 ? 0 : -1;
	}
	if (f->b->size >= 0 && f->got < (uint64_t)f->b->size) {
		hamn_error_setq(err, ECONNRESET, "blob %s: reply ended after %" PRIu64 " bytes",
				f->b->digest.str, f->got);
		return 0;
	}
	return 1;
}

int dist_blob_fetch(struct dist_repo *r, CURL *h, const struct dist_blob *b, dist_data_fn on_data,
		    void *ud, struct dist_progress *progress, struct hamn_error **err)
{
	struct fetch f = {.b = b, .on_data = on_data, .ud = ud, .progress = progress};
	_cleanup_sha256_ struct hamn_sha256 *hash = hamn_sha256_new();
	unsigned delay = r->d->retry_delay_ms;

	f.hash = hash;
	for (unsigned attempt = 0;; attempt++) {
		uint64_t before = f.got;
		int rc = fetch_attempt(r, h, &f, err);

		if (rc < 0)
			return -1;
		if (rc > 0)
			break;
		/* progress made: the connection was fine until it dropped; start counting again */
		if (f.got > before)
			attempt = 0;
		if (attempt >= r->d->max_retries)
			return hamn_error_wrap(err, "fetch blob %s: giving up after %u attempts",
					       b->digest.str, attempt + 1);
		log_kv(HAMN_LOG_INFO, "blob download interrupted, resuming",
		       "digest=%s offset=%" PRIu64 " err=\"%s\"", b->digest.str, f.got,
		       (*err)->msg);
		hamn_error_free(err);
		if (dist_backoff(r->cancel_fd, r->abort, delay, err) < 0)
			return -1;
		delay = delay < 10000 ? delay * 2 : delay;
	}
	report(&f, true);
	return verify(&f, err);
}

struct mem {
	struct hamn_buf b;
	size_t max;
};

static int mem_data(void *ud, const char *data, size_t len, struct hamn_error **err)
{
	struct mem *m = ud;

	if (m->b.len + len > m->max)
		return hamn_error_setq(err, EFBIG, "blob larger than %zu bytes", m->max);
	hamn_buf_append(&m->b, data, len);
	return 0;
}

int dist_blob_fetch_mem(struct dist_repo *r, CURL *h, const struct dist_blob *b, size_t max,
			char **out, size_t *len_out, struct hamn_error **err)
{
	struct mem m = {HAMN_BUF_INIT, max};

	if (b->size > (int64_t)max)
		return hamn_error_setq(err, EFBIG,
				       "blob %s: %" PRId64 " bytes is more than the "
				       "limit of %zu",
				       b->digest.str, b->size, max);
	hamn_buf_puts(&m.b, "");
	if (dist_blob_fetch(r, h, b, mem_data, &m, NULL, err) < 0) {
		hamn_buf_release(&m.b);
		return -1;
	}
	*len_out = m.b.len;
	*out = hamn_buf_steal(&m.b);
	return 0;
}

/* ---- existence and mounts ---- */

int dist_blob_exists(struct dist_repo *r, CURL *h, const struct dist_blob *b, bool *exists,
		     struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", r->path, b->digest.str);
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	req.method = "HEAD";
	req.url = path;
	if (dist_repo_do(r, h, &req, &resp, err) < 0)
		return -1;
	if (resp.status == 404) {
		*exists = false;
		return 0;
	}
	if (resp.status != 200)
		return dist_registry_error(&resp, err, "check blob %s", b->digest.str);
	*exists = b->size < 0 || resp.content_length < 0 || resp.content_length == b->size;
	return 0;
}

static void add_scope(struct dist_repo *r, const char *scope)
{
	pthread_mutex_lock(&r->lock);
	if (!strv_contains(r->extra_scopes, scope))
		strv_push(&r->extra_scopes, scope);
	pthread_mutex_unlock(&r->lock);
}

int dist_blob_mount(struct dist_repo *r, CURL *h, const struct dist_blob *b, const char *from,
		    bool *mounted, char **location_out, struct hamn_error **err)
{
	_cleanup_free_ char *efrom = dist_url_escape(from);
	_cleanup_free_ char *path =
		xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", r->path, b->digest.str, efrom);
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", from);
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	add_scope(r, scope);
	req.method = "POST";
	req.url = path;
	*mounted = false;
	*location_out = NULL;
	if (dist_repo_do(r, h, &req, &resp, err) < 0)
		return -1;
	if (resp.status == 201) {
		*mounted = true;
		return 0;
	}
	if (resp.status == 202 && resp.location) {
		*location_out = steal_pointer(&resp.location);
		return 0;
	}
	return dist_registry_error(&resp, err, "mount blob %s from '%s'", b->digest.str, from);
}

/* ---- upload ---- */

struct upload {
	struct dist_repo *r;
	CURL *h;
	const struct dist_blob *b;
	int fd;
	uint64_t size;
	char *location;	 /* current upload URL (absolute) */
	uint64_t offset; /* bytes the registry has */
	struct dist_progress *progress;
	int64_t last_report;
};

static void upload_sent(void *ud, uint64_t sent)
{
	struct upload *u = ud;
	int64_t now = hamn_monotonic_ns();

	if (!u->progress || now - u->last_report < REPORT_INTERVAL_NS)
		return;
	u->last_report = now;
	dist_progress_bytes(u->progress, u->b->short_id, "Pushing", (int64_t)(u->offset + sent),
			    (int64_t)u->size);
}

static void set_location(struct upload *u, const char *loc)
{
	free(u->location);
	u->location = dist_repo_url(u->r, loc);
}

static int upload_start(struct upload *u, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/", u->r->path);
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	req.method = "POST";
	req.url = path;
	if (dist_repo_do(u->r, u->h, &req, &resp, err) < 0)
		return -1;
	if (resp.status != 202 || !resp.location)
		return dist_registry_error(&resp, err, "start upload of blob %s", u->b->digest.str);
	set_location(u, resp.location);
	u->offset = 0;
	return 0;
}

static char *with_digest(const char *location, const struct hamn_digest *d)
{
	return xasprintf("%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", d->str);
}

/* PUT the rest of the blob (or nothing, after chunks) to finish the upload. */
static int upload_finish(struct upload *u, bool with_body, struct hamn_error **err)
{
	_cleanup_free_ char *url = with_digest(u->location, &u->b->digest);
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;

	req.method = "PUT";
	req.url = url;
	if (with_body) {
		req.body_fd = u->fd;
		req.body_off = (off_t)u->offset;
		req.body_fd_len = u->size - u->offset;
		req.on_sent = upload_sent;
		req.ud = u;
		req.stall_timeout_s = u->r->d->stall_timeout_s;
	}
	if (dist_repo_do(u->r, u->h, &req, &resp, err) < 0)
		return -1;
	if (resp.status != 201 && resp.status != 204)
		return dist_registry_error(&resp, err, "upload blob %s", u->b->digest.str);
	return 0;
}

static int upload_chunk(struct upload *u, struct hamn_error **err)
{
	uint64_t len = u->size - u->offset;
	_cleanup_free_ char *range = NULL;
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;
	char *headers[2] = {NULL, NULL};

	if (len > HAMN_DIST_CHUNK_SIZE)
		len = HAMN_DIST_CHUNK_SIZE;
	range = xasprintf("Content-Range: %" PRIu64 "-%" PRIu64, u->offset, u->offset + len - 1);
	headers[0] = range;
	req.method = "PATCH";
	req.url = u->location;
	req.headers = headers;
	req.body_fd = u->fd;
	req.body_off = (off_t)u->offset;
	req.body_fd_len = len;
	req.on_sent = upload_sent;
	req.ud = u;
	req.stall_timeout_s = u->r->d->stall_timeout_s;
	if (dist_repo_do(u->r, u->h, &req, &resp, err) < 0)
		return -1;
	if (resp.status != 202)
		return dist_registry_error(&resp, err, "upload blob %s", u->b->digest.str);
	if (resp.location)
		set_location(u, resp.location);
	u->offset += len;
	return 0;
}

/* After a dropped chunk: ask the registry how much it has (GET on the upload URL). */
static int upload_status(struct upload *u, struct hamn_error **err)
{
	_cleanup_resp_ struct dist_http_resp resp = {0};
	struct dist_http_req req = DIST_HTTP_REQ_INIT;
	uint64_t start = 0, end = 0;

	req.method = "GET";
	req.url = u->location;
	if (dist_repo_do(u->r, u->h, &req, &resp, err) < 0)
		return -1;
	if (resp.status != 204)
		return upload_start(u, err); /* the session is gone: start over */
	if (resp.location)
		set_location(u, resp.location);
	if (resp.range && sscanf(resp.range, "%" SCNu64 "-%" SCNu64, &start, &end) == 2)
		u->offset = end + 1;
	else
		u->offset = 0;
	return 0;
}

static int upload_run(struct upload *u, struct hamn_error **err)
{
	if (u->size <= HAMN_DIST_CHUNK_SIZE)
		return upload_finish(u, true, err);
	while (u->offset < u->size)
		if (upload_chunk(u, err) < 0)
			return -1;
	return upload_finish(u, false, err);
}

static int upload_retry(struct upload *u, unsigned *delay, struct hamn_error **err)
{
	log_kv(HAMN_LOG_INFO, "blob upload interrupted, resuming", "digest=%s err=\"%s\"",
	       u->b->digest.str, (*err)->msg);
	hamn_error_free(err);
	if (dist_backoff(u->r->cancel_fd, u->r->abort, *delay, err) < 0)
		return -1;
	*delay = *delay < 10000 ? *delay * 2 : *delay;
	if (u->size <= HAMN_DIST_CHUNK_SIZE)
		return upload_start(u, err);
	return upload_status(u, err);
}

int dist_blob_upload(struct dist_repo *r, CURL *h, const struct dist_blob *b, int fd,
		     const char *location, struct dist_progress *progress, struct hamn_error **err)
{
	struct upload u = {.r = r, .h = h, .b = b, .fd = fd, .progress = progress};
	unsigned delay = r->d->retry_delay_ms;
	struct stat sb;
	int rc = -1;

	if (fstat(fd, &sb) < 0)
		return hamn_error_set(err, errno, "upload blob %s: stat", b->digest.str);
	u.size = (uint64_t)sb.st_size;
	if (b->size >= 0 && u.size != (uint64_t)b->size)
		return hamn_error_setq(err, EINVAL,
				       "upload blob %s: the stored blob has %" PRIu64
				       " bytes, expected %" PRId64,
				       b->digest.str, u.size, b->size);
	if (location)
		set_location(&u, location);
	else if (upload_start(&u, err) < 0)
		goto out;
	for (unsigned attempt = 0;; attempt++) {
		if (upload_run(&u, err) == 0) {
			rc = 0;
			break;
		}
		if (!dist_http_retryable(*err) || attempt >= r->d->max_retries)
			break;
		if (upload_retry(&u, &delay, err) < 0)
			break;
	}
	if (rc == 0 && progress)
		dist_progress_bytes(progress, b->short_id, "Pushing", (int64_t)u.size,
				    (int64_t)u.size);
out:
	free(u.location);
	return rc;
}

/*
 * pull.c - pulling an image: reach the registry (mirrors first for
 * docker.io), fetch and verify the manifest, then the config, then the
 * layers the store lacks, up to max_downloads at once. Each layer streams
 * from the network through a pipe into the store, which hashes and keeps
 * it (or refuses it) as it arrives; we hash it too, to verify the size and
 * digest and to resume a dropped connection at the right byte. The image
 * is created, and tagged, only when everything is stored: until then no
 * pull is visible, however it ends.
 *
 * It does not: pull schema 1 manifests, Windows foreign layers, or
 * signatures.
 */
#include "distribution/internal.h"

#include <sys/mman.h>

#define PIPE_SIZE (1 << 20)

enum job_state {
	JOB_FETCH, /* download it, unpacking as it streams */
	JOB_LOCAL, /* its blob is stored: unpack from there */
	JOB_HAVE,  /* the layer is there */
	JOB_SAME,  /* the same blob as an earlier layer: unpack from the store after it */
};

struct job {
	struct dist_layer_ref l;
	enum job_state state;
};

struct image_layers {
	struct dist_blob *blobs;
	struct hamn_digest *diff_ids;
	struct hamn_digest *chains;
	size_t n;
};

struct hamn_dist_pull {
	struct hamn_dist *d;
	struct dist_sink sink;
	struct hamn_ref ref;
	struct hamn_dist_platform platform;
	struct dist_repo *repo;
	struct hamn_dist_pull_opts o;
	struct dist_progress progress;
	char **tags;		    /* pull -a: every tag; else NULL */
	struct dist_manifest first; /* fetched by prepare (not for -a) */
	bool abort;
	/* the image being pulled */
	struct job *jobs;
	size_t n_jobs;
};

/* ---- prepare: reach the registry and fetch the manifest ---- */

static int parse_ref(struct hamn_dist_pull *p, const struct hamn_dist_pull_opts *o,
		     struct hamn_error **err)
{
	if (!o->ref || !*o->ref)
		return hamn_error_setq(err, EINVAL, "no image to pull");
	if (hamn_ref_parse(o->ref, &p->ref, err) < 0)
		return -1;
	if (o->all_tags && (p->ref.tag || p->ref.digest))
		return hamn_error_setq(err, EINVAL, "tag can't be used with --all-tags/-a");
	if (!o->all_tags)
		hamn_ref_default_tag(&p->ref);
	return hamn_dist_platform_parse(o->platform, &p->platform, err);
}

static const char *reference_of(const struct hamn_ref *ref)
{
	return ref->digest ? ref->digest : ref->tag;
}

/* Display name of ref with its tag/digest ("busybox:latest", "r:5000/x@sha256:..."). */
static char *display_of(const struct hamn_ref *ref)
{
	return hamn_ref_familiar(ref);
}

/* Reach one endpoint and fetch what prepare needs from it. */
static int try_endpoint(struct hamn_dist_pull *p, const char *base, CURL *h,
			struct hamn_error **err)
{
	_cleanup_free_ char *display = display_of(&p->ref);

	p->repo = dist_repo_new(p->d, p->ref.domain, base, p->ref.path, p->o.auth, "pull",
				p->o.cancel_fd, err);
	if (!p->repo)
		return -1;
	p->repo->abort = &p->abort;
	if (dist_repo_ping(p->repo, h, err) < 0)
		return -1;
	if (p->o.all_tags)
		return dist_tags_list(p->repo, h, &p->tags, err);
	return dist_manifest_get(p->repo, h, reference_of(&p->ref), &p->platform, display,
				 &p->first, err);
}

/* A mirror that fails is skipped, as docker does; only the last endpoint's error counts. */
static int reach(struct hamn_dist_pull *p, struct hamn_error **err)
{
	_cleanup_strv_ char **endpoints = dist_endpoints(p->d, p->ref.domain);
	CURL *h = dist_handle_get(p->d);
	int rc = -1;

	for (char **e = endpoints; *e; e++) {
		if (try_endpoint(p, *e, h, err) == 0) {
			rc = 0;
			break;
		}
		if (!e[1] || (*err)->errnum == ECANCELED)
			break;
		log_kv(HAMN_LOG_INFO, "mirror failed, trying the next endpoint",
		       "mirror=%s err=\"%s\"", *e, (*err)->msg);
		hamn_error_free(err);
		dist_repo_free(p->repo);
		p->repo = NULL;
	}
	dist_handle_put(p->d, h);
	return rc;
}

struct hamn_dist_pull *dist_pull_prepare(struct hamn_dist *d, const struct dist_sink *sink,
					 const struct hamn_dist_pull_opts *o,
					 struct hamn_error **err)
{
	struct hamn_dist_pull *p;

	if (dist_curl_load(err) < 0) /* reach() takes a handle before any repository */
		return NULL;
	p = xzalloc(sizeof(*p));
	p->d = d;
	p->sink = *sink;
	p->o = *o;
	dist_progress_init(&p->progress, o->progress, o->progress_ud);
	if (parse_ref(p, o, err) < 0 || reach(p, err) < 0) {
		hamn_dist_pull_free(p);
		return NULL;
	}
	return p;
}

void hamn_dist_pull_set_progress(struct hamn_dist_pull *p, hamn_dist_progress_fn fn, void *ud,
				 int cancel_fd)
{
	p->progress.fn = fn;
	p->progress.ud = ud;
	p->o.cancel_fd = cancel_fd;
	if (p->repo)
		p->repo->cancel_fd = cancel_fd;
}

void hamn_dist_pull_free(struct hamn_dist_pull *p)
{
	if (!p)
		return;
	hamn_ref_release(&p->ref);
	dist_repo_free(p->repo);
	dist_progress_release(&p->progress);
	hamn_strv_free(p->tags);
	dist_manifest_release(&p->first);
	free(p->jobs);
	free(p);
}

/* ---- layers ---- */

struct consumer {
	struct dist_sink *sink;
	int fd;
	const struct dist_layer_ref *l;
	struct hamn_error *err;
	int rc;
};

static void *consume(void *arg)
{
	struct consumer *c = arg;

	c->rc = c->sink->ops->put_layer(c->sink->ctx, c->fd, c->l, &c->err);
	return NULL;
}

static int to_pipe(void *ud, const char *data, size_t len, struct hamn_error **err)
{
	int fd = *(int *)ud;

	if (hamn_write_all(fd, data, len, err) < 0)
		return hamn_error_wrap(err, "hand the layer to the image store");
	return 0;
}

/* Stream one layer from the registry into the sink; both verify it. */
static int fetch_into_sink(struct hamn_dist_pull *p, CURL *h, const struct dist_layer_ref *l,
			   struct dist_progress *progress, struct hamn_error **err)
{
	const struct dist_blob *b = l->blob;
	int fds[2];
	pthread_t t;
	struct consumer c = {.sink = &p->sink, .l = l};
	int rc, prc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "pipe");
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE); /* a bigger pipe is only faster */
	c.fd = fds[0];
	prc = pthread_create(&t, NULL, consume, &c);
	if (prc != 0) {
		close(fds[0]);
		close(fds[1]);
		return hamn_error_set(err, prc, "start layer writer");
	}
	rc = dist_blob_fetch(p->repo, h, b, to_pipe, &fds[1], progress, err);
	/* EOF: a complete blob is kept by the sink, a cut one is refused by its digest check */
	close(fds[1]);
	pthread_join(t, NULL);
	close(fds[0]);
	if (rc < 0 && c.rc == 0 && (*err)->errnum == EPIPE) {
		/* the store had the layer by then (another pull made it) and read nothing */
		hamn_error_free(err);
		return 0;
	}
	if (rc < 0) {
		hamn_error_free(&c.err);
		return -1;
	}
	if (c.rc < 0)
		return hamn_error_propagate(err, &c.err);
	return 0;
}

/* Unpack a layer whose blob is already stored. */
static int from_store(struct hamn_dist_pull *p, const struct dist_layer_ref *l,
		      struct hamn_error **err)
{
	_cleanup_close_ int fd = p->sink.ops->open_blob(p->sink.ctx, l->blob->digest.str, err);

	if (fd < 0)
		return -1;
	return p->sink.ops->put_layer(p->sink.ctx, fd, l, err);
}

/*
 * Another pull may be downloading this very layer: wait for it rather than
 * fetch it twice. *have is true when the layer is there now (nothing to do);
 * otherwise the caller holds the claim.
 */
static int wait_for_others(struct hamn_dist_pull *p, const struct job *j, bool *have,
			   struct hamn_error **err)
{
	*have = false;
	while (!dist_inflight_claim(p->d, j->l.chain_id->str, p->o.cancel_fd, &p->abort)) {
		if (p->sink.ops->has_layer(p->sink.ctx, &j->l)) {
			*have = true;
			return 0;
		}
		if (dist_backoff(p->o.cancel_fd, &p->abort, 0, err) < 0)
			return -1; /* cancelled while waiting */
	}
	/* a pull that finished between our plan and our claim made it already */
	if (p->sink.ops->has_layer(p->sink.ctx, &j->l)) {
		dist_inflight_release(p->d, j->l.chain_id->str);
		*have = true;
	}
	return 0;
}

static int layer_job(void *ctx, size_t i, CURL *h, struct hamn_error **err)
{
	struct hamn_dist_pull *p = ctx;
	struct job *j = &p->jobs[i];
	const char *id = j->l.blob->short_id;
	bool have = false;
	int rc;

	if (j->state == JOB_LOCAL && from_store(p, &j->l, err) < 0)
		return hamn_error_wrap(err, "layer %s", id);
	if (j->state != JOB_FETCH)
		return 0;
	if (wait_for_others(p, j, &have, err) < 0)
		return -1;
	if (have) {
		dist_progress_status(&p->progress, id, true, "Download complete");
		dist_progress_status(&p->progress, id, true, "Pull complete");
		return 0;
	}
	rc = fetch_into_sink(p, h, &j->l, &p->progress, err);
	dist_inflight_release(p->d, j->l.chain_id->str);
	if (rc < 0)
		return hamn_error_wrap(err, "layer %s", id);
	/* the store unpacked it while it streamed: checksum and extraction are done */
	dist_progress_status(&p->progress, id, true, "Verifying Checksum");
	dist_progress_status(&p->progress, id, true, "Download complete");
	dist_progress_bytes(&p->progress, id, "Extracting", j->l.blob->size, j->l.blob->size);
	dist_progress_status(&p->progress, id, true, "Pull complete");
	return 0;
}

/* A later layer with the same blob as an earlier one: unpack it from the store. */
static int finish_same(struct hamn_dist_pull *p, struct hamn_error **err)
{
	for (size_t i = 0; i < p->n_jobs; i++) {
		struct job *j = &p->jobs[i];

		if (j->state != JOB_SAME || p->sink.ops->has_layer(p->sink.ctx, &j->l))
			continue;
		if (from_store(p, &j->l, err) < 0)
			return hamn_error_wrap(err, "layer %s", j->l.blob->short_id);
	}
	return 0;
}

static bool earlier_blob(const struct hamn_dist_pull *p, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (streq(p->jobs[k].l.blob->digest.str, p->jobs[i].l.blob->digest.str))
			return true;
	return false;
}

/* Decide per layer: already there, in the store as a blob, a duplicate, or to fetch. */
static void plan_layers(struct hamn_dist_pull *p, const struct image_layers *il)
{
	size_t fetching = 0;

	free(p->jobs);
	p->jobs = xcalloc(il->n ? il->n : 1, sizeof(*p->jobs));
	p->n_jobs = il->n;
	for (size_t i = 0; i < il->n; i++) {
		struct job *j = &p->jobs[i];
		const char *id = il->blobs[i].short_id;

		j->l = (struct dist_layer_ref){&il->blobs[i], &il->diff_ids[i], &il->chains[i],
					       i ? &il->chains[i - 1] : NULL};
		if (p->sink.ops->has_layer(p->sink.ctx, &j->l)) {
			j->state = JOB_HAVE;
		} else if (earlier_blob(p, i)) {
			j->state = JOB_SAME;
			continue;
		} else if (p->sink.ops->has_blob(p->sink.ctx, il->blobs[i].digest.str)) {
			j->state = JOB_LOCAL;
		} else {
			j->state = JOB_FETCH;
			dist_progress_status(&p->progress, id, true, "Pulling fs layer");
			if (fetching++ >= p->d->max_downloads)
				dist_progress_status(&p->progress, id, true, "Waiting");
			continue;
		}
		dist_progress_status(&p->progress, id, true, "Already exists");
	}
}

/* ---- config and image ---- */

static int put_config(struct hamn_dist_pull *p, const struct dist_blob *b, const char *text,
		      size_t len, struct hamn_error **err)
{
	_cleanup_close_ int fd = memfd_create("hamn-config", MFD_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "memfd_create");
	if (hamn_write_all(fd, text, len, err) < 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hamn_error_set(err, errno, "lseek");
	return p->sink.ops->put_blob(p->sink.ctx, fd, b, err);
}

struct image_pull {
	struct dist_blob config;
	char *config_text;
	size_t config_len;
	struct image_layers layers;
	char *full_ref; /* what gets tagged */
	char *display;
	char *id;
};

static void image_pull_release(struct image_pull *ip)
{
	dist_blob_release(&ip->config);
	free(ip->config_text);
	for (size_t i = 0; i < ip->layers.n; i++)
		dist_blob_release(&ip->layers.blobs[i]);
	free(ip->layers.blobs);
	free(ip->layers.diff_ids);
	free(ip->layers.chains);
	free(ip->full_ref);
	free(ip->display);
	free(ip->id);
}

/* The layers of manifest m with the diff IDs of config c, and their chain IDs. */
static void set_layers(struct image_layers *il, const struct hamn_oci_manifest *m,
		       const struct hamn_oci_image_config *c)
{
	il->n = m->n_layers;
	il->blobs = xcalloc(il->n + 1, sizeof(*il->blobs));
	il->diff_ids = xcalloc(il->n + 1, sizeof(*il->diff_ids));
	il->chains = xcalloc(il->n + 1, sizeof(*il->chains));
	for (size_t i = 0; i < il->n; i++) {
		dist_blob_set(&il->blobs[i], &m->layers[i]);
		il->diff_ids[i] = c->diff_ids[i];
		if (i == 0) {
			il->chains[i] = c->diff_ids[i];
		} else {
			_cleanup_free_ char *s =
				xasprintf("%s %s", il->chains[i - 1].str, c->diff_ids[i].str);

			hamn_sha256_buf(s, strlen(s), &il->chains[i]);
		}
	}
}

/* Fetch, verify and check the config (it is stored only when the layers are); set the layers. */
static int fetch_config(struct hamn_dist_pull *p, const struct dist_manifest *m,
			struct image_pull *ip, struct hamn_error **err)
{
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;
	CURL *h = dist_handle_get(p->d);
	int rc;

	dist_blob_set(&ip->config, &m->m->config);
	rc = dist_blob_fetch_mem(p->repo, h, &ip->config, HAMN_OCI_JSON_MAX, &ip->config_text,
				 &ip->config_len, err);
	dist_handle_put(p->d, h);
	if (rc < 0)
		return hamn_error_wrap(err, "fetch image config");
	c = hamn_oci_image_config_parse_text(ip->config_text, ip->config_len, err);
	if (!c)
		return -1;
	if (c->n_diff_ids != m->m->n_layers)
		return hamn_error_setq(err, EINVAL,
				       "image config %s has %zu diff_ids but the "
				       "manifest %zu layers",
				       ip->config.digest.str, c->n_diff_ids, m->m->n_layers);
	set_layers(&ip->layers, m->m, c);
	return 0;
}

static int fetch_layers(struct hamn_dist_pull *p, struct image_pull *ip, struct hamn_error **err)
{
	plan_layers(p, &ip->layers);
	if (dist_pool_run(p->d, p->d->max_downloads, p->n_jobs, layer_job, p, &p->abort, err) < 0)
		return -1;
	if (finish_same(p, err) < 0)
		return -1;
	for (size_t i = 0; i < ip->layers.n; i++)
		dist_hint_add(p->d, ip->layers.blobs[i].digest.str, p->ref.domain, p->ref.path);
	return 0;
}

static int commit(struct hamn_dist_pull *p, struct image_pull *ip, const char *manifest_digest,
		  struct hamn_error **err)
{
	struct dist_image_rec rec = {
		.config = &ip->config,
		.layers = ip->layers.blobs,
		.n_layers = ip->layers.n,
		.manifest_digest = manifest_digest,
		.ref = ip->full_ref,
	};

	if (!p->sink.ops->has_blob(p->sink.ctx, ip->config.digest.str) &&
	    put_config(p, &ip->config, ip->config_text, ip->config_len, err) < 0)
		return -1;
	return p->sink.ops->commit(p->sink.ctx, &rec, &ip->id, err);
}

/* Pull the image of manifest m, known as ref (with a tag or a digest). */
static int pull_image(struct hamn_dist_pull *p, const struct hamn_ref *ref,
		      const struct dist_manifest *m, char **id_out, struct hamn_error **err)
{
	struct image_pull ip = {0};
	_cleanup_free_ char *before = NULL;
	int rc = -1;

	ip.full_ref = hamn_ref_string(ref);
	ip.display = display_of(ref);
	dist_progress_status(&p->progress, reference_of(ref), false, "Pulling from %s", ref->path);
	if (fetch_config(p, m, &ip, err) < 0)
		goto out;
	before = p->sink.ops->lookup(p->sink.ctx, ip.full_ref);
	if (fetch_layers(p, &ip, err) < 0 || commit(p, &ip, m->digest.str, err) < 0)
		goto out;
	dist_progress_status(&p->progress, NULL, false, "Digest: %s", m->digest.str);
	dist_progress_status(&p->progress, NULL, false, "Status: %s for %s",
			     streq(before, ip.id) ? "Image is up to date"
						  : "Downloaded newer image",
			     ip.display);
	if (id_out) {
		free(*id_out);
		*id_out = steal_pointer(&ip.id);
	}
	rc = 0;
out:
	image_pull_release(&ip);
	return rc;
}

static int pull_tag(struct hamn_dist_pull *p, const char *tag, char **id_out,
		    struct hamn_error **err)
{
	_cleanup_ref_ struct hamn_ref ref = HAMN_REF_INIT;
	struct dist_manifest m = {0};
	_cleanup_free_ char *full = NULL, *display = NULL;
	CURL *h = dist_handle_get(p->d);
	int rc;

	ref.domain = xstrdup(p->ref.domain);
	ref.path = xstrdup(p->ref.path);
	ref.tag = xstrdup(tag);
	display = display_of(&ref);
	rc = dist_manifest_get(p->repo, h, tag, &p->platform, display, &m, err);
	dist_handle_put(p->d, h);
	if (rc == 0)
		rc = pull_image(p, &ref, &m, id_out, err);
	dist_manifest_release(&m);
	return rc;
}

int hamn_dist_pull_run(struct hamn_dist_pull *p, char **id_out, struct hamn_error **err)
{
	_cleanup_free_ char *id = NULL;

	if (!p->o.all_tags) {
		if (pull_image(p, &p->ref, &p->first, &id, err) < 0)
			return -1;
	} else {
		for (char **t = p->tags; t && *t; t++)
			if (pull_tag(p, *t, &id, err) < 0)
				return -1;
		if (!p->tags || !*p->tags)
			return hamn_error_setq(err, ENOENT, "repository %s has no tags",
					       p->ref.path);
	}
	if (id_out)
		*id_out = steal_pointer(&id);
	return 0;
}

struct hamn_dist_pull *hamn_dist_pull_prepare(struct hamn_dist *d, struct hamn_image_store *st,
					      const struct hamn_dist_pull_opts *o,
					      struct hamn_error **err)
{
	struct dist_sink sink;

	dist_sink_store(st, &sink);
	return dist_pull_prepare(d, &sink, o, err);
}

int hamn_dist_pull(struct hamn_dist *d, struct hamn_image_store *st,
		   const struct hamn_dist_pull_opts *o, char **id_out, struct hamn_error **err)
{
	_cleanup_dist_pull_ struct hamn_dist_pull *p = hamn_dist_pull_prepare(d, st, o, err);

	if (!p)
		return -1;
	return hamn_dist_pull_run(p, id_out, err);
}

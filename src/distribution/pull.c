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

enum job_state { JOB_FETCH, JOB_HAVE, JOB_SAME };

struct job {
	const struct dist_blob *blob;
	enum job_state state;
};

struct hamn_dist_pull {
	struct hamn_dist *d;
	struct dist_sink sink;
	struct hamn_ref ref;
	struct hamn_dist_platform platform;
	struct dist_repo *repo;
	struct hamn_dist_pull_opts o;
	struct dist_progress progress;
	char **tags;			/* pull -a: every tag; else NULL */
	struct dist_manifest first;	/* fetched by prepare (not for -a) */
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
	struct hamn_dist_pull *p = xzalloc(sizeof(*p));

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
	const struct dist_blob *blob;
	struct hamn_error *err;
	int rc;
};

static void *consume(void *arg)
{
	struct consumer *c = arg;

	c->rc = c->sink->ops->put_blob(c->sink->ctx, c->fd, c->blob, &c->err);
	return NULL;
}

static int to_pipe(void *ud, const char *data, size_t len, struct hamn_error **err)
{
	int fd = *(int *)ud;

	if (hamn_write_all(fd, data, len, err) < 0)
		return hamn_error_wrap(err, "hand the layer to the image store");
	return 0;
}

/* Stream one blob from the registry into the sink; both verify it. */
static int fetch_into_sink(struct hamn_dist_pull *p, CURL *h, const struct dist_blob *b,
			   struct dist_progress *progress, struct hamn_error **err)
{
	int fds[2];
	pthread_t t;
	struct consumer c = { .sink = &p->sink, .blob = b };
	int rc, prc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "pipe");
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);	/* a bigger pipe is only faster */
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
	if (rc < 0) {
		hamn_error_free(&c.err);
		return -1;
	}
	if (c.rc < 0)
		return hamn_error_propagate(err, &c.err);
	return 0;
}

static int layer_job(void *ctx, size_t i, CURL *h, struct hamn_error **err)
{
	struct hamn_dist_pull *p = ctx;
	struct job *j = &p->jobs[i];

	if (j->state != JOB_FETCH)
		return 0;
	if (fetch_into_sink(p, h, j->blob, &p->progress, err) < 0)
		return hamn_error_wrap(err, "layer %s", j->blob->short_id);
	dist_progress_status(&p->progress, j->blob->short_id, true, "Verifying Checksum");
	dist_progress_status(&p->progress, j->blob->short_id, true, "Download complete");
	return 0;
}

/* Decide per layer: already stored, a duplicate in this image, or to fetch. */
static void plan_layers(struct hamn_dist_pull *p, const struct dist_blob *layers, size_t n)
{
	size_t fetching = 0;

	free(p->jobs);
	p->jobs = xcalloc(n ? n : 1, sizeof(*p->jobs));
	p->n_jobs = n;
	for (size_t i = 0; i < n; i++) {
		struct job *j = &p->jobs[i];

		j->blob = &layers[i];
		j->state = JOB_FETCH;
		for (size_t k = 0; k < i; k++)
			if (streq(layers[k].digest.str, layers[i].digest.str))
				j->state = JOB_SAME;
		if (j->state == JOB_SAME)
			continue;
		if (p->sink.ops->has_blob(p->sink.ctx, layers[i].digest.str)) {
			j->state = JOB_HAVE;
			dist_progress_status(&p->progress, j->blob->short_id, true,
					     "Already exists");
			continue;
		}
		dist_progress_status(&p->progress, j->blob->short_id, true, "Pulling fs layer");
		if (fetching++ >= p->d->max_downloads)
			dist_progress_status(&p->progress, j->blob->short_id, true, "Waiting");
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

static int fetch_config(struct hamn_dist_pull *p, const struct dist_manifest *m,
			struct dist_blob *cfg, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	struct hamn_oci_image_config *c = NULL;
	size_t len = 0;
	CURL *h = dist_handle_get(p->d);
	int rc;

	dist_blob_set(cfg, &m->m->config);
	rc = dist_blob_fetch_mem(p->repo, h, cfg, HAMN_OCI_JSON_MAX, &text, &len, err);
	dist_handle_put(p->d, h);
	if (rc < 0)
		return hamn_error_wrap(err, "fetch image config");
	c = hamn_oci_image_config_parse_text(text, len, err);
	if (!c)
		return -1;
	rc = c->n_diff_ids == m->m->n_layers ? 0 :
		hamn_error_setq(err, EINVAL, "image config %s has %zu diff_ids but the manifest "
				"%zu layers", cfg->digest.str, c->n_diff_ids, m->m->n_layers);
	hamn_oci_image_config_free(c);
	if (rc == 0 && !p->sink.ops->has_blob(p->sink.ctx, cfg->digest.str))
		rc = put_config(p, cfg, text, len, err);
	return rc;
}

struct image_pull {
	struct dist_blob config;
	struct dist_blob *layers;
	size_t n;
	char *full_ref;		/* what gets tagged */
	char *display;
	char *id;
};

static void image_pull_release(struct image_pull *ip)
{
	dist_blob_release(&ip->config);
	for (size_t i = 0; i < ip->n; i++)
		dist_blob_release(&ip->layers[i]);
	free(ip->layers);
	free(ip->full_ref);
	free(ip->display);
	free(ip->id);
}

static int fetch_layers(struct hamn_dist_pull *p, struct image_pull *ip,
			struct hamn_error **err)
{
	plan_layers(p, ip->layers, ip->n);
	if (dist_pool_run(p->d, p->d->max_downloads, p->n_jobs, layer_job, p, &p->abort, err) < 0)
		return -1;
	for (size_t i = 0; i < ip->n; i++)
		dist_hint_add(p->d, ip->layers[i].digest.str, p->ref.domain, p->ref.path);
	return 0;
}

static int commit(struct hamn_dist_pull *p, struct image_pull *ip, const char *manifest_digest,
		  struct hamn_error **err)
{
	struct dist_image_rec rec = {
		.config = &ip->config, .layers = ip->layers, .n_layers = ip->n,
		.manifest_digest = manifest_digest, .ref = ip->full_ref,
	};

	for (size_t i = 0; i < p->n_jobs; i++)
		if (p->jobs[i].state == JOB_FETCH)
			dist_progress_status(&p->progress, p->jobs[i].blob->short_id, true,
					     "Extracting");
	if (p->sink.ops->commit(p->sink.ctx, &rec, &ip->id, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_jobs; i++)
		if (p->jobs[i].state == JOB_FETCH)
			dist_progress_status(&p->progress, p->jobs[i].blob->short_id, true,
					     "Pull complete");
	return 0;
}

/* Pull the image of manifest m, known as ref (with a tag or a digest). */
static int pull_image(struct hamn_dist_pull *p, const struct hamn_ref *ref,
		      const struct dist_manifest *m, char **id_out, struct hamn_error **err)
{
	struct image_pull ip = { 0 };
	_cleanup_free_ char *before = NULL;
	int rc = -1;

	ip.full_ref = hamn_ref_string(ref);
	ip.display = display_of(ref);
	dist_progress_status(&p->progress, reference_of(ref), false, "Pulling from %s",
			     ref->path);
	if (fetch_config(p, m, &ip.config, err) < 0)
		goto out;
	ip.n = m->m->n_layers;
	ip.layers = xcalloc(ip.n ? ip.n : 1, sizeof(*ip.layers));
	for (size_t i = 0; i < ip.n; i++)
		dist_blob_set(&ip.layers[i], &m->m->layers[i]);
	before = p->sink.ops->lookup(p->sink.ctx, ip.full_ref);
	if (fetch_layers(p, &ip, err) < 0 || commit(p, &ip, m->digest.str, err) < 0)
		goto out;
	dist_progress_status(&p->progress, NULL, false, "Digest: %s", m->digest.str);
	dist_progress_status(&p->progress, NULL, false, "Status: %s for %s",
			     streq(before, ip.id) ? "Image is up to date" :
						    "Downloaded newer image",
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
	struct dist_manifest m = { 0 };
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

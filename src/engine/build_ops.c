/*
 * build_ops.c - the daemon's side of docker build: src/build's ops on this
 * engine. RUN runs the step in a container made from the parent image
 * (output followed through its log, the container removed whatever
 * happens) and commits its upper directory; config-only steps (and
 * WORKDIR's mkdir) commit a new image; COPY/ADD are in build_copy.c; the
 * cache maps a step's key to the image it made, one small file per key
 * under <root>/builder/cache.
 *
 * Not done: FROM of an image that is not local is not pulled (the step
 * fails with "No such image"); --platform is ignored.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build.h"
#include "engine/build_ops.h"
#include "engine/commit_int.h"

/* ---- the workspace ---- */

/* Workspaces of another (dead) hamnd process: "ws-<pid>-<random>". */
static void sweep_workspaces(int dirfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char mine[32];
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(mine, sizeof(mine), "ws-%d-", (int)getpid());
	while ((de = readdir(d))) {
		_cleanup_error_ struct hamn_error *err = NULL;

		if (!str_has_prefix(de->d_name, "ws-") || str_has_prefix(de->d_name, mine))
			continue;
		if (hamn_rm_rf(dirfd, de->d_name, &err) < 0)
			log_warn("cannot remove the stale build workspace %s: %s", de->d_name,
				 err->msg);
	}
}

struct hamn_engine_build *hamn_engine_build_new(struct hamn_engine *e, struct hamn_error **err)
{
	_cleanup_close_ int dfd = scratch_dir_open(e, err);
	struct hamn_engine_build *b;
	char hex[17];
	unsigned char rnd[8];

	if (dfd < 0)
		return NULL;
	sweep_workspaces(dfd);
	hamn_random_bytes(rnd, sizeof(rnd));
	hamn_hex(rnd, sizeof(rnd), hex);
	b = xzalloc(sizeof(*b));
	b->e = e;
	b->ws_fd = b->ctx_fd = -1;
	b->ws_name = xasprintf("ws-%d-%s", (int)getpid(), hex);
	if (mkdirat(dfd, b->ws_name, 0700) < 0) {
		hamn_error_set(err, errno, "create the build workspace");
		free(b->ws_name);
		free(b);
		return NULL;
	}
	b->ws_fd = openat(dfd, b->ws_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (b->ws_fd < 0 || mkdirat(b->ws_fd, "context", 0755) < 0 ||
	    (b->ctx_fd = openat(b->ws_fd, "context", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				O_CLOEXEC)) < 0) {
		hamn_error_set(err, errno, "create the build context directory");
		hamn_engine_build_free(b);
		return NULL;
	}
	return b;
}

void hamn_engine_build_free(struct hamn_engine_build *b)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int dfd = -1;

	if (!b)
		return;
	if (b->ctx_fd >= 0)
		close(b->ctx_fd);
	if (b->ws_fd >= 0)
		close(b->ws_fd);
	dfd = scratch_dir_open(b->e, &err);
	if (dfd >= 0 && hamn_rm_rf(dfd, b->ws_name, &err) < 0)
		log_warn("cannot remove the build workspace %s: %s", b->ws_name, err->msg);
	free(b->ws_name);
	free(b);
}

int hamn_engine_build_context_fd(const struct hamn_engine_build *b)
{
	return b->ctx_fd;
}

int build_stage_dir(struct hamn_engine_build *b, char **name, struct hamn_error **err)
{
	int fd;

	*name = xasprintf("step-%u", ++b->seq);
	if (mkdirat(b->ws_fd, *name, 0755) < 0 ||
	    (fd = openat(b->ws_fd, *name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		hamn_error_set(err, errno, "create the staging directory '%s'", *name);
		free(*name);
		*name = NULL;
		return -1;
	}
	return fd;
}

void build_stage_remove(struct hamn_engine_build *b, const char *name)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (name && hamn_rm_rf(b->ws_fd, name, &err) < 0)
		log_warn("cannot remove the staging directory %s: %s", name, err->msg);
}

/* ---- images ---- */

static int op_resolve(void *ctx, const char *ref, const char *platform, char **id,
		      json_t **config, struct hamn_error **err)
{
	struct hamn_engine_build *b = ctx;
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;
	json_t *cfg;

	(void)platform;
	if (hamn_image_resolve(b->e->images, ref, id, err) < 0)
		return -1;
	c = hamn_image_config(b->e->images, *id, err);
	if (!c) {
		free(*id);
		*id = NULL;
		return -1;
	}
	cfg = json_object_get(c->raw, "config");
	*config = json_is_object(cfg) ? json_deep_copy(cfg) : NULL;
	return 0;
}

static int op_tag(void *ctx, const char *image_id, const char *ref, struct hamn_error **err)
{
	struct hamn_engine_build *b = ctx;

	return hamn_image_tag(b->e->images, image_id, ref, err);
}

static void op_emit(void *ctx, json_t *msg)
{
	struct hamn_engine_build *b = ctx;

	b->o->emit(b->o->emit_ctx, msg);
}

/* ---- the cache: <root>/builder/cache/<key hex> holds an image id ---- */

static int cache_dir_of(struct hamn_engine *e, struct hamn_error **err)
{
	_cleanup_close_ int dfd = scratch_dir_open(e, err);
	int fd;

	if (dfd < 0)
		return -1;
	if (mkdirat(dfd, "cache", 0700) < 0 && errno != EEXIST)
		return hamn_error_set(err, errno, "create the build cache");
	fd = openat(dfd, "cache", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open the build cache");
	return fd;
}

static int cache_dir(struct hamn_engine_build *b, struct hamn_error **err)
{
	return cache_dir_of(b->e, err);
}

static int op_cache_lookup(void *ctx, const struct hamn_digest *key, char **image_id,
			   struct hamn_error **err)
{
	struct hamn_engine_build *b = ctx;
	_cleanup_close_ int dfd = cache_dir(b, err);
	_cleanup_error_ struct hamn_error *e = NULL;
	_cleanup_free_ char *text = NULL;

	*image_id = NULL;
	if (dfd < 0)
		return -1;
	if (hamn_read_file(dfd, hamn_digest_hex(key), 256, &text, NULL, &e) < 0)
		return e->errnum == ENOENT ? 0 : hamn_error_propagate(err, &e);
	text[strcspn(text, "\n")] = '\0';
	/* an image deleted since is a miss */
	if (!hamn_digest_valid(text) || hamn_image_resolve(b->e->images, text, image_id, &e) < 0)
		*image_id = NULL;
	return 0;
}

static int op_cache_store(void *ctx, const struct hamn_digest *key, const char *image_id,
			  struct hamn_error **err)
{
	struct hamn_engine_build *b = ctx;
	_cleanup_close_ int dfd = cache_dir(b, err);

	if (dfd < 0)
		return -1;
	return hamn_write_atomic(dfd, hamn_digest_hex(key), image_id, strlen(image_id), 0600, err);
}

/* ---- pruning the cache ---- */

struct cache_entry {
	char name[HAMN_DIGEST_HEX_LEN + 1];
	int64_t size;
	int64_t mtime_ns;
};

static bool cache_name_valid(const char *name)
{
	size_t n = strspn(name, "0123456789abcdef");

	return n == HAMN_DIGEST_HEX_LEN && !name[n];
}

/* The cache's entries, newest first (*out, *n_out). */
static int cache_entries(int dfd, struct cache_entry **out, size_t *n_out,
			 struct hamn_error **err)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return hamn_error_set(err, errno, "read the build cache");
	}
	while ((de = readdir(d))) {
		struct stat st;
		struct cache_entry *c;

		if (!cache_name_valid(de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;	/* not an entry (a temp file of hamn_write_atomic, say) */
		*out = xreallocarray(*out, *n_out + 1, sizeof(**out));
		c = &(*out)[(*n_out)++];
		memcpy(c->name, de->d_name, sizeof(c->name));	/* 64 hex and the NUL */
		c->size = st.st_size;
		c->mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	}
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	const struct cache_entry *x = a, *y = b;

	return (y->mtime_ns > x->mtime_ns) - (y->mtime_ns < x->mtime_ns);
}

static bool prune_selects(const struct hamn_engine_build_prune_opts *o,
			  const struct cache_entry *c)
{
	bool id_ok = !o->ids || !o->ids[0];

	if (o->until_ns > 0 && c->mtime_ns >= o->until_ns)
		return false;
	for (size_t i = 0; o->ids && o->ids[i]; i++)
		id_ok |= str_has_prefix(c->name, o->ids[i]);
	return id_ok;
}

int hamn_engine_build_prune(struct hamn_engine *e, const struct hamn_engine_build_prune_opts *o,
			    json_t **deleted_out, int64_t *reclaimed_out, struct hamn_error **err)
{
	_cleanup_close_ int dfd = cache_dir_of(e, err);
	_cleanup_free_ struct cache_entry *ents = NULL;
	int64_t kept = 0, freed = 0;
	json_t *deleted;
	size_t n = 0;

	if (dfd < 0 || cache_entries(dfd, &ents, &n, err) < 0)
		return -1;
	if (n > 1)	/* an empty cache has no array: qsort's base must not be NULL */
		qsort(ents, n, sizeof(*ents), newest_first);
	deleted = json_array();
	for (size_t i = 0; i < n; i++) {
		if (!prune_selects(o, &ents[i]) ||
		    (o->keep_bytes > 0 && kept + ents[i].size <= o->keep_bytes)) {
			kept += ents[i].size;
			continue;
		}
		if (unlinkat(dfd, ents[i].name, 0) < 0) {
			if (errno != ENOENT)	/* gone meanwhile (another prune) is fine */
				log_warn("cannot remove build cache entry %s: %s", ents[i].name,
					 strerror(errno));
			continue;
		}
		json_array_append_new(deleted, json_string(ents[i].name));
		freed += ents[i].size;
	}
	*deleted_out = deleted;
	*reclaimed_out = freed;
	return 0;
}

/* ---- config-only steps ---- */

/* WORKDIR: a layer holding the directory, or none when it exists already. */
static int workdir_layer(struct hamn_engine_build *b, const char *parent, const char *dir,
			 int *fd_out, struct hamn_digest *diff, struct hamn_error **err)
{
	struct lstack lower = LSTACK_INIT, root = LSTACK_INIT;
	_cleanup_free_ char *stage = NULL;
	_cleanup_close_ int upper = -1, made = -1;
	size_t n = 0;
	int rc = -1;

	*fd_out = -1;
	upper = build_stage_dir(b, &stage, err);
	if (upper < 0 || image_lstack(b->e, parent, &lower, err) < 0)
		goto out;
	if (lstack_dup(&lower, &root, err) < 0 || lstack_push_top(&root, upper, err) < 0 ||
	    lstack_upper_mkdirs(&root, dir, 0, 0, &made, NULL, err) < 0 ||
	    layer_diff_file(b->e, upper, &lower, NULL, fd_out, diff, &n, err) < 0)
		goto out;
	if (n == 0) {
		close(*fd_out);
		*fd_out = -1;
	}
	rc = 0;
out:
	lstack_release(&lower);
	lstack_release(&root);
	build_stage_remove(b, stage);
	return rc;
}

static int op_commit(void *ctx, const struct hamn_build_commit_req *req,
		     struct hamn_build_out *out, char **image_id, struct hamn_error **err)
{
	struct hamn_engine_build *b = ctx;
	_cleanup_close_ int layer = -1;
	struct hamn_digest diff;

	(void)out;
	if (build_cancelled(b, err))
		return -1;
	if (req->mkdir && workdir_layer(b, req->parent, req->mkdir, &layer, &diff, err) < 0)
		return -1;
	struct image_req r = {
		.parent = req->parent, .config = req->config, .created_by = req->created_by,
		.author = req->author, .layer_fd = layer, .diff_id = &diff,
	};
	return engine_image_new(b->e, &r, image_id, err);
}

/* ---- RUN ---- */

static json_t *run_body(const struct hamn_build_run_req *req, const char *network)
{
	json_t *body = json_pack("{s:s, s:o, s:[s], s:o, s:s, s:s, s:{s:s, s:{s:s, s:{}}}}",
				 "Image", req->parent, "Cmd", hamn_json_from_strv(req->argv),
				 "Entrypoint", "", "Env", hamn_json_from_strv(req->env), "User",
				 req->user ? req->user : "", "WorkingDir",
				 req->workdir ? req->workdir : "", "HostConfig", "NetworkMode",
				 network, "LogConfig", "Type", "json-file", "Config");

	if (!body)
		hamn_bug("cannot build a RUN container's request");
	return body;
}

bool build_cancelled(const struct hamn_engine_build *b, struct hamn_error **err)
{
	struct pollfd p = { b->o->cancel_fd, POLLIN, 0 };

	if (b->o->cancel_fd < 0 || poll(&p, 1, 0) <= 0)
		return false;
	if (err)
		hamn_error_setq(err, ECANCELED, "the build was cancelled: the client went away");
	return true;
}

static int log_to_out(void *ctx, int stream, const char *data, size_t len,
		      struct hamn_error **err)
{
	(void)stream;
	(void)err;
	hamn_build_out_write(ctx, data, len);
	return 0;
}

/* Follow the container's output to the build's stream, then wait for its exit. */
static int run_follow(struct hamn_engine_build *b, const char *cid,
		      struct hamn_engine_waiter *w, struct hamn_build_out *out, int *code,
		      struct hamn_error **err)
{
	struct hamn_engine_logs_opts lo = { .stdout_ = true, .stderr_ = true, .follow = true,
					    .tail = -1 };
	struct hamn_engine_logs *l;
	bool tty;
	int rc;

	l = hamn_engine_logs_open(b->e, cid, &lo, &tty, err);
	if (!l)
		return -1;
	rc = hamn_engine_logs_run(l, b->o->cancel_fd, log_to_out, out, err);
	hamn_engine_logs_free(l);
	while (rc == 0 && !hamn_engine_waiter_result(w, code, NULL)) {
		struct pollfd p[2] = { { hamn_engine_waiter_fd(w), POLLIN, 0 },
				       { b->o->cancel_fd, POLLIN, 0 } };

		if (build_cancelled(b, NULL))
			break;
		if (poll(p, b->o->cancel_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			return hamn_error_set(err, errno, "wait for the RUN container");
	}
	if (rc == 0 && build_cancelled(b, err))
		return -1;
	return rc;
}

static int run_commit(struct hamn_engine_build *b, const char *cid,
		      const struct hamn_build_run_req *req, char **image_id,
		      struct hamn_error **err)
{
	_cleanup_close_ int layer = -1;
	struct hamn_digest diff;

	if (container_layer(b->e, cid, &layer, &diff, NULL, err) < 0)
		return -1;
	struct image_req r = {
		.parent = req->parent, .config = req->config, .created_by = req->created_by,
		.author = req->author, .container = cid, .layer_fd = layer, .diff_id = &diff,
	};
	return engine_image_new(b->e, &r, image_id, err);
}

static int run_in(struct hamn_engine_build *b, const char *cid,
		  const struct hamn_build_run_req *req, struct hamn_build_out *out,
		  char **image_id, int *exit_code, struct hamn_error **err)
{
	struct hamn_engine_waiter *w = hamn_engine_wait_new(b->e, cid, HAMN_WAIT_NEXT_EXIT, err);
	int rc = -1;

	if (!w)
		return -1;
	if (hamn_engine_container_start(b->e, cid, err) < 0)
		goto out;
	hamn_build_out_running(out, cid);
	if (run_follow(b, cid, w, out, exit_code, err) < 0)
		goto out;
	rc = *exit_code == 0 ? run_commit(b, cid, req, image_id, err) : 0;
out:
	hamn_engine_waiter_free(w);
	return rc;
}

static int op_run(void *ctx, const struct hamn_build_run_req *req, struct hamn_build_out *out,
		  char **image_id, int *exit_code, struct hamn_error **err)
{
	struct hamn_engine_build *b = ctx;
	_cleanup_json_ json_t *body = NULL;
	_cleanup_free_ char *cid = NULL;
	struct hamn_error *rm_err = NULL;
	int rc;

	*image_id = NULL;
	*exit_code = 0;
	if (build_cancelled(b, err))
		return -1;
	if (!req->parent)
		return hamn_error_setq(err, EINVAL, "cannot RUN on an empty image: FROM scratch "
				       "has no /bin/sh (copy a program in first)");
	body = run_body(req, req->network && *req->network ? req->network
			: b->o->network && *b->o->network ? b->o->network : "default");
	if (hamn_engine_container_create(b->e, NULL, body, &cid, NULL, err) < 0)
		return -1;
	rc = run_in(b, cid, req, out, image_id, exit_code, err);
	if (b->o->keep_containers)
		return rc;
	/* the step's container never outlives it, whatever happened */
	if (hamn_engine_container_remove(b->e, cid, true, true, &rm_err) < 0) {
		log_warn("cannot remove build container %s: %s", cid, rm_err->msg);
		hamn_error_free(&rm_err);
	}
	return rc;
}

/* ---- the build ---- */

static const struct hamn_build_ops engine_build_ops = {
	.resolve_image = op_resolve,
	.run = op_run,
	.copy = build_op_copy,
	.commit = op_commit,
	.cache_lookup = op_cache_lookup,
	.cache_store = op_cache_store,
	.tag = op_tag,
	.emit = op_emit,
};

/* Read the Dockerfile inside the context (never through a symlink out of it). */
static int read_dockerfile(struct hamn_engine_build *b, const char *name, char **text,
			   size_t *len, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *e = NULL;
	_cleanup_close_ int fd = hamn_open_in_root(b->ctx_fd, name, O_RDONLY, 0, 0, &e);

	if (fd < 0 && (e->errnum == ENOENT || e->errnum == ENOTDIR))
		return hamn_error_setq(err, ENOENT, "Cannot locate specified Dockerfile: %s", name);
	if (fd < 0)
		return hamn_error_propagate(err, &e);
	if (hamn_read_fd(fd, HAMN_BUILD_DOCKERFILE_MAX, text, len, err) < 0)
		return hamn_error_wrap(err, "read the Dockerfile '%s'", name);
	return 0;
}

/*
 * src/build reads .dockerignore with a plain open: a symlink there is
 * replaced by what it points to inside the context (or removed), so the
 * patterns never come from a host file.
 */
static int contain_dockerignore(struct hamn_engine_build *b, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *e = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len = 0;

	if (fstatat(b->ctx_fd, ".dockerignore", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISLNK(st.st_mode))
		return 0;
	fd = hamn_open_in_root(b->ctx_fd, ".dockerignore", O_RDONLY, 0, 0, &e);
	if (fd >= 0 && hamn_read_fd(fd, HAMN_BUILD_DOCKERFILE_MAX, &text, &len, err) < 0)
		return -1;
	if (unlinkat(b->ctx_fd, ".dockerignore", 0) < 0)
		return hamn_error_set(err, errno, "remove the .dockerignore link");
	if (!text)
		return 0;
	return hamn_write_atomic(b->ctx_fd, ".dockerignore", text, len, 0644, err);
}

/* A failure before the loop started: emit it as the loop would have. */
static void emit_failure(const struct hamn_engine_build_opts *o, const struct hamn_error *err)
{
	json_t *m = json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error",
			      err->msg);

	o->emit(o->emit_ctx, m);
	json_decref(m);
}

int hamn_engine_build_run(struct hamn_engine_build *b, const struct hamn_engine_build_opts *o,
			  char **image_id, int *code, struct hamn_error **err)
{
	const char *name = o->dockerfile && *o->dockerfile ? o->dockerfile : "Dockerfile";
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc;

	*image_id = NULL;
	*code = 1;
	b->o = o;
	if (contain_dockerignore(b, err) < 0 || read_dockerfile(b, name, &text, &len, err) < 0) {
		emit_failure(o, *err);
		return -1;
	}
	struct hamn_build_options bo = {
		.dockerfile = text, .dockerfile_len = len, .dockerfile_name = name,
		.ctxfd = b->ctx_fd, .target = o->target, .build_args = o->build_args,
		.labels = o->labels, .tags = o->tags, .no_cache = o->no_cache,
		.network = o->network,
	};
	rc = hamn_build_run(&engine_build_ops, b, &bo, image_id, code, err);
	b->o = NULL;
	return rc;
}

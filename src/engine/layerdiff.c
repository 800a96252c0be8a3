/*
 * layerdiff.c - an upper directory compared with the layers below it, as
 * docker's overlay driver does for commit, diff and every build step, and
 * a new image made of a parent image plus such a layer.
 *
 * The walk runs in two passes: the first decides which entries count (a
 * directory that only holds a mount point the runtime made does not), the
 * second writes them in that order, so a directory's entry always comes
 * before its children in the tar.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/commit_int.h"
#include "oci/image.h"

/* ---- scratch space ---- */

int scratch_dir_open(struct hamn_engine *e, struct hamn_error **err)
{
	int fd;

	if (mkdirat(e->root_fd, "builder", 0700) < 0 && errno != EEXIST)
		return hamn_error_set(err, errno, "create '%s/builder'", e->root);
	fd = openat(e->root_fd, "builder", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s/builder'", e->root);
	return fd;
}

int scratch_tmpfile(struct hamn_engine *e, struct hamn_error **err)
{
	_cleanup_close_ int dfd = scratch_dir_open(e, err);
	int fd;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return hamn_error_set(err, errno, "create a temporary file in '%s/builder'",
				      e->root);
	return fd;
}

int image_lstack(struct hamn_engine *e, const char *image_id, struct lstack *out,
		 struct hamn_error **err)
{
	struct hamn_image_layer_info *layers = NULL;
	_cleanup_free_ char *cfg = NULL, *manifest = NULL;
	char **dirs = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!image_id)
		return 0;
	if (hamn_image_push_info(e->images, image_id, &cfg, &manifest, &layers, &n, err) < 0)
		return -1;
	dirs = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		dirs[n - 1 - i] = xasprintf("%s/layers/%s/diff", e->root,
					    hamn_digest_hex(&layers[i].chain_id));
	rc = lstack_open(dirs, n, out, err);
	hamn_strv_free(dirs);
	hamn_image_layer_info_free(layers, n);
	return rc;
}

/* ---- pass 1: what changed ---- */

struct change {
	char *path;		/* relative to the root, no leading '/' */
	int kind;
	bool dir, opaque;
};

struct walk {
	struct layer_diff *d;
	struct change *v;
	size_t n;
};

static size_t add_change(struct walk *w, const char *path, int kind, bool dir, bool opaque)
{
	w->v = xreallocarray(w->v, w->n + 1, sizeof(*w->v));
	w->v[w->n] = (struct change){ xstrdup(path), kind, dir, opaque };
	return w->n++;
}

static void drop_from(struct walk *w, size_t from)
{
	while (w->n > from)
		free(w->v[--w->n].path);
}

static bool skipped(const struct layer_diff *d, const char *path)
{
	for (size_t i = 0; d->skip && d->skip[i]; i++)
		if (streq(d->skip[i] + (d->skip[i][0] == '/'), path))
			return true;
	return false;
}

/* An empty directory or an empty file: what a mount point made by the runtime looks like. */
static bool empty_entry(int dirfd, const char *name, const struct stat *st)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int fd = -1;

	if (S_ISREG(st->st_mode))
		return st->st_size == 0;
	if (!S_ISDIR(st->st_mode))
		return false;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	names = layer_dir_names(fd, &err);
	return names && !names[0];
}

/* docker's statDifferent for a directory: mode, owner (never size or times). */
static bool dir_meta_differs(const struct stat *a, const struct stat *b)
{
	return a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid;
}

static int walk_dir(struct walk *w, int upper, const struct lstack *lower, const char *rel,
		    struct hamn_error **err);

static int walk_subdir(struct walk *w, int upper, const struct lstack *lower, const char *name,
		       const char *path, const struct stat *st, const struct lent *le,
		       struct hamn_error **err)
{
	_cleanup_close_ int sub = openat(upper, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
	struct lstack child = LSTACK_INIT;
	int kind = le->idx < 0 ? CHANGE_ADDED : CHANGE_MODIFIED;
	bool lower_dir = le->idx >= 0 && S_ISDIR(le->st.st_mode);
	bool opaque;
	size_t at;
	int rc;

	if (sub < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	opaque = lower_dir && lstack_fd_opaque(sub);
	if (lower_dir && !opaque && lstack_child(lower, name, &child, err) < 0)
		return -1;
	at = add_change(w, path, kind, true, opaque);
	rc = walk_dir(w, sub, &child, path, err);
	lstack_release(&child);
	if (rc < 0)
		return -1;
	/* an unchanged directory counts only when something below it changed */
	if (lower_dir && !opaque && w->n == at + 1 && !dir_meta_differs(st, &le->st))
		drop_from(w, at);
	return 0;
}

static int walk_entry(struct walk *w, int upper, const struct lstack *lower, const char *name,
		      const char *rel, struct hamn_error **err)
{
	_cleanup_free_ char *path = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
	struct stat st;
	struct lent le;

	if (fstatat(upper, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : hamn_error_set(err, errno, "stat '%s'", path);
	if (lstack_lookup(lower, name, &le, err) < 0)
		return -1;
	if (lstack_is_whiteout(&st)) {
		/* a whiteout of nothing (overlay may leave one) changes nothing */
		if (le.idx >= 0)
			add_change(w, path, CHANGE_DELETED, false, false);
		return 0;
	}
	if (le.idx < 0 && skipped(w->d, path) && empty_entry(upper, name, &st))
		return 0;
	if (S_ISDIR(st.st_mode))
		return walk_subdir(w, upper, lower, name, path, &st, &le, err);
	add_change(w, path, le.idx < 0 ? CHANGE_ADDED : CHANGE_MODIFIED, false, false);
	return 0;
}

static int walk_dir(struct walk *w, int upper, const struct lstack *lower, const char *rel,
		    struct hamn_error **err)
{
	/* whiteouts included: they are the deletions */
	_cleanup_strv_ char **names = layer_dir_names(upper, err);

	if (!names)
		return hamn_error_wrap(err, "read '/%s'", rel);
	for (size_t i = 0; names[i]; i++)
		if (walk_entry(w, upper, lower, names[i], rel, err) < 0)
			return -1;
	return 0;
}

/* ---- pass 2: the tar ---- */

/* Open the parent directory of path inside the upper, never following a symlink. */
static int open_parent(int upper, const char *path, const char **name, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = str_split(path, '/');
	size_t n = strv_len(parts);
	int fd = fcntl(upper, F_DUPFD_CLOEXEC, 3);

	*name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	for (size_t i = 0; fd >= 0 && i + 1 < n; i++) {
		int sub = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = sub;
	}
	if (fd < 0)
		return hamn_error_set(err, errno, "open the directory of '%s'", path);
	return fd;
}

static int write_change(struct layer_diff *d, int upper, const struct change *c,
			struct hamn_error **err)
{
	const char *name;
	_cleanup_close_ int dfd = open_parent(upper, c->path, &name, err);
	_cleanup_free_ char *wh = NULL;
	struct stat st;

	if (dfd < 0)
		return -1;
	if (c->kind == CHANGE_DELETED) {
		wh = name == c->path ? xasprintf(".wh.%s", name)
				     : xasprintf("%.*s/.wh.%s", (int)(name - c->path - 1), c->path,
						 name);
		return ltar_add_marker(d->tar, wh, err);
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "stat '%s'", c->path);
	if (ltar_add(d->tar, dfd, name, &st, c->path, err) < 0)
		return -1;
	if (!c->opaque)
		return 0;
	wh = xasprintf("%s/.wh..wh..opq", c->path);
	return ltar_add_marker(d->tar, wh, err);
}

int layer_diff(int upper_fd, const struct lstack *lower, struct layer_diff *d,
	       struct hamn_error **err)
{
	struct walk w = { .d = d };
	int rc = walk_dir(&w, upper_fd, lower, "", err);

	for (size_t i = 0; rc == 0 && i < w.n; i++) {
		if (d->changes) {
			_cleanup_free_ char *abs = xasprintf("/%s", w.v[i].path);

			json_array_append_new(d->changes, json_pack("{s:s, s:i}", "Path", abs,
								    "Kind", w.v[i].kind));
		}
		if (d->tar)
			rc = write_change(d, upper_fd, &w.v[i], err);
	}
	d->n = w.n;
	drop_from(&w, 0);
	free(w.v);
	return rc;
}

int layer_diff_file(struct hamn_engine *e, int upper_fd, const struct lstack *lower,
		    char *const *skip, int *fd_out, struct hamn_digest *diff_out, size_t *n_out,
		    struct hamn_error **err)
{
	_cleanup_close_ int fd = scratch_tmpfile(e, err);
	struct layer_diff d = { .skip = skip };

	if (fd < 0)
		return -1;
	d.tar = ltar_new(fd, err);
	if (!d.tar)
		return -1;
	if (layer_diff(upper_fd, lower, &d, err) < 0) {
		ltar_free(d.tar);
		return -1;
	}
	if (ltar_finish(d.tar, diff_out, NULL, err) < 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hamn_error_set(err, errno, "rewind the layer");
	*n_out = d.n;
	*fd_out = steal_fd(&fd);
	return 0;
}

/* ---- a new image ---- */

static json_t *base_doc(struct hamn_engine *e, const char *parent, struct hamn_error **err)
{
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;
	json_t *doc;

	if (!parent)
		return json_pack("{s:s, s:s, s:{s:s, s:[]}, s:[]}", "architecture",
				 hamn_oci_host_arch(), "os", hamn_oci_host_os(), "rootfs", "type",
				 "layers", "diff_ids", "history");
	c = hamn_image_config(e->images, parent, err);
	if (!c)
		return NULL;
	doc = json_deep_copy(c->raw);
	/* what described the parent's own making does not describe ours */
	json_object_del(doc, "container");
	json_object_del(doc, "container_config");
	json_object_del(doc, "author");
	json_object_del(doc, "comment");
	json_object_del(doc, "id");
	json_object_del(doc, "parent");
	if (!json_is_array(json_object_get(doc, "history")))
		json_object_set_new(doc, "history", json_array());
	return doc;
}

static void set_opt(json_t *obj, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(obj, key, json_string(v));
}

static void doc_update(json_t *doc, const struct image_req *r)
{
	char now[HAMN_TIME_STR_MAX];
	json_t *h = json_object(), *rootfs = json_object_get(doc, "rootfs");

	hamn_oci_time_format(hamn_now_ns(), now);
	json_object_set_new(doc, "config", json_deep_copy(r->config));
	json_object_set_new(doc, "created", json_string(now));
	set_opt(doc, "author", r->author);
	set_opt(doc, "comment", r->comment);	/* docker commit -m: the image's Comment */
	set_opt(doc, "container", r->container);
	json_object_set_new(h, "created", json_string(now));
	set_opt(h, "created_by", r->created_by);
	set_opt(h, "author", r->author);
	set_opt(h, "comment", r->comment);
	if (r->layer_fd < 0)
		json_object_set_new(h, "empty_layer", json_true());
	json_array_append_new(json_object_get(doc, "history"), h);
	if (r->layer_fd >= 0)
		json_array_append_new(json_object_get(rootfs, "diff_ids"),
				      json_string(r->diff_id->str));
}

/* Put text as a blob through a memfd (the store reads blobs from fds). */
static int put_config(struct hamn_engine *e, const char *text, struct hamn_digest *out,
		      struct hamn_error **err)
{
	_cleanup_close_ int fd = memfd_create("hamn-config", MFD_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "memfd_create");
	if (hamn_write_all(fd, text, strlen(text), err) < 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hamn_error_set(err, errno, "rewind the config");
	return hamn_image_blob_put(e->images, fd, NULL, out, err);
}

static int create_image(struct hamn_engine *e, const struct image_req *r,
			struct hamn_image_layer_info *layers, size_t n, const char *config,
			char **id_out, struct hamn_error **err)
{
	const char **digests = xcalloc(n + 2, sizeof(char *));
	const char **types = xcalloc(n + 2, sizeof(char *));
	int rc;

	for (size_t i = 0; i < n; i++) {
		digests[i] = layers[i].blob.str;
		types[i] = layers[i].media_type;
	}
	if (r->layer_fd >= 0) {
		digests[n] = r->diff_id->str;
		types[n++] = HAMN_MT_DOCKER_LAYER;
	}
	/* the parent link makes the image an intermediate one while it has children */
	rc = hamn_image_create_child(e->images, config, digests, types, n, r->parent, id_out, err);
	free(digests);
	free(types);
	return rc;
}

int engine_image_new(struct hamn_engine *e, const struct image_req *r, char **id_out,
		     struct hamn_error **err)
{
	struct hamn_image_layer_info *layers = NULL;
	_cleanup_free_ char *pcfg = NULL, *manifest = NULL, *text = NULL;
	_cleanup_json_ json_t *doc = NULL;
	struct hamn_digest cfg;
	size_t n = 0;
	int rc = -1;

	if (r->parent &&
	    hamn_image_push_info(e->images, r->parent, &pcfg, &manifest, &layers, &n, err) < 0)
		return -1;
	doc = base_doc(e, r->parent, err);
	if (!doc)
		goto out;
	if (r->layer_fd >= 0 &&
	    hamn_image_layer_put(e->images, r->layer_fd, n ? layers[n - 1].chain_id.str : NULL,
				 r->diff_id->str, r->diff_id->str, HAMN_MT_DOCKER_LAYER, NULL,
				 err) < 0)
		goto out;
	doc_update(doc, r);
	text = hamn_json_dump(doc);
	if (put_config(e, text, &cfg, err) < 0)
		goto out;
	rc = create_image(e, r, layers, n, cfg.str, id_out, err);
out:
	hamn_image_layer_info_free(layers, n);
	return rc;
}

/*
 * build_copy.c - COPY and ADD of a build: the selected files are written
 * into a staging directory that plays the part of a container's upper
 * directory over the parent image's layers, then that directory is
 * compared with the layers (layerdiff.c) to make the step's layer.
 *
 * Sources are the build context (only the entries src/build selected, so
 * .dockerignore holds), an image or an earlier stage (--from, read through
 * its merged layers), or heredocs. Nothing is ever followed out of its
 * tree: context entries are opened relative to the context with
 * hamn_open_in_root and O_NOFOLLOW, image entries through layerfs, and
 * destinations are resolved inside the image being built (a symlink there
 * is followed, but only within it).
 *
 * docker's rules: a destination ending in '/' or naming an existing
 * directory receives the sources by their base names; a directory source
 * copies its contents; files are root's (0:0) unless --chown (resolved in
 * the image's /etc/passwd and /etc/group; "user" alone means "user:user"),
 * --from without --chown keeps the owners; ADD unpacks local tar archives
 * (gzip, xz, zstd or none) into the destination.
 */
#include <archive.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include "build/build.h"
#include "engine/commit_int.h"

#define COPY_BUF (256u << 10)

struct copyctx {
	struct hamn_engine_build *b;
	const struct hamn_build_copy_req *req;
	struct lstack root;	/* the staging upper (layer 0) over the parent's layers */
	uid_t uid;		/* owner of copied entries and of new parent directories */
	gid_t gid;
	bool keep_owner;	/* --from without --chown: copied entries keep theirs */
	char *last_dir;		/* the destination directory asked for last, and its fd */
	int last_fd;
	char *buf;
};

/* ---- --chown ---- */

/* The id of name in a passwd or group text ("name:x:ID:..."), or -1. */
static long long db_lookup(const char *text, const char *name)
{
	_cleanup_strv_ char **lines = str_split(text ? text : "", '\n');

	for (size_t i = 0; lines[i]; i++) {
		_cleanup_strv_ char **f = str_split(lines[i], ':');

		if (strv_len(f) >= 3 && streq(f[0], name) && f[2][0])
			return strtoll(f[2], NULL, 10);
	}
	return -1;
}

static char *read_in_image(struct copyctx *cc, const char *path)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct lresolved r;
	char *text = NULL;
	int fd;

	if (lstack_resolve(&cc->root, path, true, &r, &err) < 0)
		return NULL;
	fd = lstack_open_file(&r, &err);
	lresolved_release(&r);
	if (fd >= 0 && hamn_read_fd(fd, 4 << 20, &text, NULL, &err) < 0)
		text = NULL;
	if (fd >= 0)
		close(fd);
	return text;
}

static int id_of(const char *spec, const char *db, const char *what, long long *out,
		 struct hamn_error **err)
{
	char *end;

	*out = strtoll(spec, &end, 10);
	if (*spec && !*end && *out >= 0)
		return 0;
	*out = db_lookup(db, spec);
	if (*out < 0)
		return hamn_error_setq(err, EINVAL, "unable to find %s %s: no matching entries in "
				       "%s file", what, spec, streq(what, "user") ? "passwd" : "group");
	return 0;
}

static int resolve_chown(struct copyctx *cc, const char *spec, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = str_split(spec, ':');
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	long long uid, gid;

	if (strv_len(parts) > 2 || !parts[0][0])
		return hamn_error_setq(err, EINVAL, "invalid chown string format: %s", spec);
	passwd = read_in_image(cc, "/etc/passwd");
	group = read_in_image(cc, "/etc/group");
	if (id_of(parts[0], passwd, "user", &uid, err) < 0 ||
	    id_of(parts[1] ? parts[1] : parts[0], group, "group", &gid, err) < 0)
		return -1;
	cc->uid = (uid_t)uid;
	cc->gid = (gid_t)gid;
	return 0;
}

/* ---- writing into the upper ---- */

/* The upper's directory abs (made, copied up as needed); cached for runs of siblings. */
static int dest_dir(struct copyctx *cc, const char *abs, struct hamn_error **err)
{
	int fd;

	if (cc->last_dir && streq(cc->last_dir, abs))
		return cc->last_fd;
	if (lstack_upper_mkdirs(&cc->root, abs, cc->uid, cc->gid, &fd, NULL, err) < 0)
		return -1;
	free(cc->last_dir);
	if (cc->last_fd >= 0)
		close(cc->last_fd);
	cc->last_dir = xstrdup(abs);
	cc->last_fd = fd;
	return fd;
}

static void forget_dir(struct copyctx *cc)
{
	free(cc->last_dir);
	cc->last_dir = NULL;
	if (cc->last_fd >= 0)
		close(cc->last_fd);
	cc->last_fd = -1;
}

static char *dir_of(const char *abs)
{
	const char *slash = strrchr(abs, '/');

	return slash && slash != abs ? xstrndup(abs, (size_t)(slash - abs)) : xstrdup("/");
}

static const char *base_of(const char *abs)
{
	const char *slash = strrchr(abs, '/');

	return slash ? slash + 1 : abs;
}

static char *join(const char *dir, const char *name)
{
	return xasprintf("%s%s%s", dir, str_has_suffix(dir, "/") ? "" : "/", name);
}

/* Clear what the upper has at name, so a new entry can take its place. */
static int clear_entry(struct copyctx *cc, int dfd, const char *name, struct hamn_error **err)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : hamn_error_set(err, errno, "stat '%s'", name);
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 ? hamn_error_set(err, errno, "remove '%s'", name)
						   : 0;
	/* the cached directory is dfd itself, never below name: it stays valid */
	return hamn_rm_rf(dfd, name, err);
}

/* Owner, mode and times of a new entry, from its source and the step's flags. */
static int apply_meta(struct copyctx *cc, int dfd, const char *name, const struct stat *src,
		      struct hamn_error **err)
{
	struct timespec ts[2] = { src->st_atim, src->st_mtim };
	uid_t uid = cc->keep_owner ? src->st_uid : cc->uid;
	gid_t gid = cc->keep_owner ? src->st_gid : cc->gid;
	mode_t mode = cc->req->has_chmod ? cc->req->chmod : src->st_mode & 07777;

	/* owner first: chown clears the setuid and setgid bits */
	if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "chown '%s'", name);
	if (!S_ISLNK(src->st_mode) && fchmodat(dfd, name, mode, 0) < 0)
		return hamn_error_set(err, errno, "chmod '%s'", name);
	if (!S_ISDIR(src->st_mode) && utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "set the times of '%s'", name);
	return 0;
}

static int copy_data(struct copyctx *cc, int in, int out, const char *what,
		     struct hamn_error **err)
{
	for (;;) {
		ssize_t n = read(in, cc->buf, COPY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "read '%s'", what);
		if (n == 0)
			return 0;
		if (hamn_write_all(out, cc->buf, (size_t)n, err) < 0)
			return hamn_error_wrap(err, "write '%s'", what);
	}
}

/* Open a regular file of a source tree, checking it is the file that was looked at. */
static int open_source(int sdir, const char *sname, const struct stat *st,
		       struct hamn_error **err)
{
	int fd = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat now;

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", sname);
	if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode) || now.st_ino != st->st_ino) {
		close(fd);
		return hamn_error_setq(err, EAGAIN, "'%s' changed while being copied", sname);
	}
	return fd;
}

/* Make the non-directory abs from entry sname of directory sdir. */
static int put_node(struct copyctx *cc, const char *abs, int sdir, const char *sname,
		    const struct stat *st, struct hamn_error **err)
{
	_cleanup_free_ char *parent = dir_of(abs);
	const char *name = base_of(abs);
	_cleanup_close_ int in = -1, out = -1;
	char target[4096];
	ssize_t n;
	int dfd = dest_dir(cc, parent, err);

	if (dfd < 0 || clear_entry(cc, dfd, name, err) < 0)
		return -1;
	if (S_ISLNK(st->st_mode)) {
		n = readlinkat(sdir, sname, target, sizeof(target) - 1);
		if (n < 0)
			return hamn_error_set(err, errno, "readlink '%s'", sname);
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return hamn_error_set(err, errno, "symlink '%s'", abs);
	} else if (S_ISREG(st->st_mode)) {
		in = open_source(sdir, sname, st, err);
		out = in < 0 ? -1 : openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					    O_CLOEXEC, 0600);
		if (in < 0)
			return -1;
		if (out < 0)
			return hamn_error_set(err, errno, "create '%s'", abs);
		if (copy_data(cc, in, out, abs, err) < 0)
			return -1;
	} else {
		log_debug("build: skipping '%s': not a file, directory or symlink", abs);
		return 0;
	}
	return apply_meta(cc, dfd, name, st, err);
}

/* Make directory abs (merged with an existing one); meta: give it the source's metadata. */
static int put_dir(struct copyctx *cc, const char *abs, const struct stat *st, bool meta,
		   struct hamn_error **err)
{
	_cleanup_free_ char *parent = NULL;
	int dfd;

	if (dest_dir(cc, abs, err) < 0)
		return -1;
	if (!meta || streq(abs, "/"))
		return 0;
	parent = dir_of(abs);
	dfd = dest_dir(cc, parent, err);
	return dfd < 0 ? -1 : apply_meta(cc, dfd, base_of(abs), st, err);
}

static int put_inline(struct copyctx *cc, const char *abs, const char *content,
		      struct hamn_error **err)
{
	_cleanup_free_ char *parent = dir_of(abs);
	const char *name = base_of(abs);
	_cleanup_close_ int out = -1;
	struct stat st = { .st_mode = S_IFREG | 0644 };
	int dfd = dest_dir(cc, parent, err);

	if (dfd < 0 || clear_entry(cc, dfd, name, err) < 0)
		return -1;
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return hamn_error_set(err, errno, "create '%s'", abs);
	if (hamn_write_all(out, content, strlen(content), err) < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &st.st_mtim);
	st.st_atim = st.st_mtim;
	return apply_meta(cc, dfd, name, &st, err);
}

/* ---- destinations ---- */

/* Does the destination receive sources by name (a trailing '/' or an existing directory)? */
static int dest_is_dir(struct copyctx *cc, bool *out, struct hamn_error **err)
{
	struct lresolved r;

	*out = str_has_suffix(cc->req->dest, "/");
	if (*out)
		return 0;
	if (lstack_resolve(&cc->root, cc->req->dest, true, &r, err) < 0) {
		/* a missing parent is made later: the destination is then a new file */
		if ((*err)->errnum != ENOENT)
			return -1;
		hamn_error_free(err);
		return 0;
	}
	*out = r.ent.idx >= 0 && S_ISDIR(r.ent.st.st_mode);
	lresolved_release(&r);
	return 0;
}

static char *file_target(struct copyctx *cc, bool into, const char *name)
{
	return into ? join(cc->req->dest, name) : xstrdup(cc->req->dest);
}

/* ---- ADD of a local archive ---- */

static bool is_archive(int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool yes;

	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	yes = archive_read_open_fd(a, fd, 10240) == ARCHIVE_OK &&
	      archive_read_next_header(a, &e) == ARCHIVE_OK;
	archive_read_free(a);
	lseek(fd, 0, SEEK_SET);
	return yes;
}

static int extract(struct copyctx *cc, int fd, const char *what, struct hamn_error **err)
{
	_cleanup_free_ char *dest = xstrdup(cc->req->dest);
	int dfd;

	if (str_has_suffix(dest, "/") && strlen(dest) > 1)
		dest[strlen(dest) - 1] = '\0';
	_cleanup_close_ int into = -1;

	dfd = dest_dir(cc, dest, err);
	if (dfd < 0)
		return -1;
	into = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (into < 0)
		return hamn_error_set(err, errno, "dup");
	forget_dir(cc); /* the archive may replace directories below */
	if (hamn_layer_apply(into, fd, HAMN_LAYER_FLATTEN, what, NULL, err) < 0)
		return hamn_error_wrap(err, "ADD '%s'", what);
	return 0;
}

/* ---- sources from the context ---- */

/* The context directory holding rel (the parent of its last component). */
static int ctx_parent(struct copyctx *cc, const char *rel, struct hamn_error **err)
{
	_cleanup_free_ char *dir = xstrdup(rel);
	char *slash = strrchr(dir, '/');

	if (!slash)
		return fcntl(cc->req->ctxfd, F_DUPFD_CLOEXEC, 3);
	*slash = '\0';
	return hamn_open_in_root(cc->req->ctxfd, dir, O_RDONLY | O_DIRECTORY, 0, 0, err);
}

static int ctx_file(struct copyctx *cc, const char *rel, const char *abs, bool add,
		    struct hamn_error **err)
{
	_cleanup_close_ int sdir = ctx_parent(cc, rel, err);
	const char *name = base_of(rel);
	struct stat st;

	if (sdir < 0)
		return -1;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "stat '%s'", rel);
	if (add && S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd = open_source(sdir, name, &st, err);

		if (fd < 0)
			return -1;
		if (is_archive(fd))
			return extract(cc, fd, rel, err);
	}
	return S_ISDIR(st.st_mode) ? put_dir(cc, abs, &st, true, err)
				   : put_node(cc, abs, sdir, name, &st, err);
}

static int ctx_source(struct copyctx *cc, const struct hamn_build_source *s, bool into,
		      struct hamn_error **err)
{
	_cleanup_free_ char *target = NULL;
	bool root = streq(s->path, ".");

	if (!S_ISDIR(s->mode)) {
		target = file_target(cc, into, base_of(s->path));
		return ctx_file(cc, s->path, target, cc->req->extract, err);
	}
	/* a directory: its contents go into the destination */
	if (put_dir(cc, cc->req->dest, NULL, false, err) < 0)
		return -1;
	for (size_t i = 0; s->entries && s->entries[i]; i++) {
		_cleanup_free_ char *rel = root ? xstrdup(s->entries[i])
						: xasprintf("%s/%s", s->path, s->entries[i]);
		_cleanup_free_ char *abs = join(cc->req->dest, s->entries[i]);

		if (ctx_file(cc, rel, abs, false, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- sources from an image (--from) ---- */

static int copy_tree(struct copyctx *cc, const struct lstack *dir, const char *abs,
		     struct hamn_error **err)
{
	_cleanup_strv_ char **names = lstack_names(dir, err);

	if (!names)
		return -1;
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *to = join(abs, names[i]);
		struct lstack child = LSTACK_INIT;
		struct lent le;
		int rc;

		if (lstack_lookup(dir, names[i], &le, err) < 0)
			return -1;
		if (le.idx < 0)
			continue;
		if (!S_ISDIR(le.st.st_mode)) {
			if (put_node(cc, to, dir->fds[le.idx], names[i], &le.st, err) < 0)
				return -1;
			continue;
		}
		if (put_dir(cc, to, &le.st, true, err) < 0 ||
		    lstack_child(dir, names[i], &child, err) < 0)
			return -1;
		rc = copy_tree(cc, &child, to, err);
		lstack_release(&child);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int image_path(struct copyctx *cc, const struct lstack *src, const char *path,
		      bool into, struct hamn_error **err)
{
	struct lresolved r;
	struct lstack child = LSTACK_INIT;
	_cleanup_free_ char *target = NULL;
	int rc;

	if (lstack_resolve(src, path, true, &r, err) < 0)
		return -1;
	if (r.ent.idx < 0) {
		lresolved_release(&r);
		return hamn_error_setq(err, ENOENT, "'%s': no such file or directory in the "
				       "source image", path);
	}
	if (!S_ISDIR(r.ent.st.st_mode)) {
		target = file_target(cc, into, base_of(r.path));
		rc = put_node(cc, target, r.dir.fds[r.ent.idx], r.name, &r.ent.st, err);
	} else if (!r.name[0]) {
		rc = put_dir(cc, cc->req->dest, NULL, false, err) < 0
			     ? -1 : copy_tree(cc, &r.dir, cc->req->dest, err);
	} else {
		rc = put_dir(cc, cc->req->dest, NULL, false, err) < 0 ||
			     lstack_child(&r.dir, r.name, &child, err) < 0
			     ? -1 : copy_tree(cc, &child, cc->req->dest, err);
		lstack_release(&child);
	}
	lresolved_release(&r);
	return rc;
}

/* Expand wildcards component by component in the source image. */
static int glob_paths(const struct lstack *src, const char *done, char **rest, char ***out,
		      struct hamn_error **err)
{
	_cleanup_free_ char *here = NULL;
	struct lresolved r;
	struct lstack dir = LSTACK_INIT;
	_cleanup_strv_ char **names = NULL;
	int rc = 0;

	if (!rest[0]) {
		strv_push(out, done[0] ? done : "/");
		return 0;
	}
	if (!strpbrk(rest[0], "*?[")) {
		here = xasprintf("%s/%s", done, rest[0]);
		return glob_paths(src, here, rest + 1, out, err);
	}
	if (lstack_resolve(src, done[0] ? done : "/", true, &r, err) < 0) {
		/* nothing below a missing directory matches */
		hamn_error_free(err);
		return 0;
	}
	if (r.ent.idx >= 0 && S_ISDIR(r.ent.st.st_mode))
		rc = r.name[0] ? lstack_child(&r.dir, r.name, &dir, err) : lstack_dup(&r.dir, &dir, err);
	lresolved_release(&r);
	names = rc == 0 && dir.n ? lstack_names(&dir, err) : xcalloc(1, sizeof(char *));
	lstack_release(&dir);
	for (size_t i = 0; rc == 0 && names && names[i]; i++) {
		if (fnmatch(rest[0], names[i], FNM_PATHNAME) == 0) {
			_cleanup_free_ char *p = xasprintf("%s/%s", done, names[i]);

			rc = glob_paths(src, p, rest + 1, out, err);
		}
	}
	return names ? rc : -1;
}

static int image_sources(struct copyctx *cc, bool into, struct hamn_error **err)
{
	struct lstack src = LSTACK_INIT;
	int rc = image_lstack(cc->b->e, cc->req->from_image, &src, err);

	for (size_t i = 0; rc == 0 && cc->req->patterns && cc->req->patterns[i]; i++) {
		_cleanup_strv_ char **parts = str_split(cc->req->patterns[i], '/');
		_cleanup_strv_ char **found = xcalloc(1, sizeof(char *));
		_cleanup_strv_ char **comps = xcalloc(1, sizeof(char *));

		for (size_t j = 0; parts[j]; j++)
			if (parts[j][0])
				strv_push(&comps, parts[j]);
		rc = glob_paths(&src, "", comps, &found, err);
		if (rc == 0 && !found[0])
			rc = hamn_error_setq(err, ENOENT, "no source files were specified");
		for (size_t j = 0; rc == 0 && found[j]; j++)
			rc = image_path(cc, &src, found[j], into, err);
	}
	lstack_release(&src);
	return rc;
}

/* ---- the op ---- */

static int copy_all(struct copyctx *cc, struct hamn_error **err)
{
	const struct hamn_build_copy_req *req = cc->req;
	bool into;

	if (req->chown && resolve_chown(cc, req->chown, err) < 0)
		return -1;
	cc->keep_owner = req->preserve_owner && !req->chown;
	if (dest_is_dir(cc, &into, err) < 0)
		return -1;
	if (req->from_image)
		return image_sources(cc, into, err);
	for (size_t i = 0; req->sources && i < req->sources->n; i++)
		if (ctx_source(cc, &req->sources->v[i], into, err) < 0)
			return -1;
	for (size_t i = 0; i < req->n_inline; i++) {
		_cleanup_free_ char *t = file_target(cc, into, req->inline_files[i].name);

		if (put_inline(cc, t, req->inline_files[i].content, err) < 0)
			return -1;
	}
	return 0;
}

/* Stage the files over the parent, then turn the staging directory into a layer. */
static int stage_layer(struct copyctx *cc, int upper, int *fd_out, struct hamn_digest *diff,
		       struct hamn_error **err)
{
	struct lstack lower = LSTACK_INIT;
	size_t n;
	int rc = image_lstack(cc->b->e, cc->req->parent, &lower, err);

	if (rc == 0)
		rc = lstack_dup(&lower, &cc->root, err);
	if (rc == 0)
		rc = lstack_push_top(&cc->root, upper, err);
	if (rc == 0)
		rc = copy_all(cc, err);
	forget_dir(cc);
	if (rc == 0)
		rc = layer_diff_file(cc->b->e, upper, &lower, NULL, fd_out, diff, &n, err);
	lstack_release(&lower);
	return rc;
}

int build_op_copy(void *ctx, const struct hamn_build_copy_req *req, struct hamn_build_out *out,
		  char **image_id, struct hamn_error **err)
{
	struct hamn_engine_build *b = ctx;
	struct copyctx cc = { .b = b, .req = req, .last_fd = -1 };
	_cleanup_free_ char *stage = NULL;
	_cleanup_close_ int upper = -1, layer = -1;
	struct hamn_digest diff;
	int rc = -1;

	(void)out;
	if (build_cancelled(b, err))
		return -1;
	cc.buf = xmalloc(COPY_BUF);
	upper = build_stage_dir(b, &stage, err);
	if (upper >= 0 && stage_layer(&cc, upper, &layer, &diff, err) == 0) {
		struct image_req r = {
			.parent = req->parent, .config = req->config, .created_by = req->created_by,
			.author = req->author, .layer_fd = layer, .diff_id = &diff,
		};
		rc = engine_image_new(b->e, &r, image_id, err);
	}
	lstack_release(&cc.root);
	free(cc.buf);
	build_stage_remove(b, stage);
	return rc;
}

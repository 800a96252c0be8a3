/*
 * cp.c - `hamn cp [-a] [-L] SRC DEST`, one side CONTAINER:PATH, with
 * docker's semantics: a tar through /containers/{id}/archive, "-" for a tar
 * on stdin or stdout, a new name when the destination does not exist, "/."
 * for a directory's contents.
 *
 * Out of a container the tar comes from the daemon (whose container may be
 * hostile) and is unpacked here with a small reader (ustar, PAX and GNU
 * long names): names that climb with ".." are refused, every parent is
 * resolved inside the destination directory (hamn_open_in_root), files are
 * made with O_EXCL|O_NOFOLLOW, nothing is chowned (files belong to whoever
 * runs hamn, as with docker) and device nodes are skipped.
 */
#include "cli.h"
#include "tarw.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 512
#define CHUNK (256u << 10)

struct cp_opts {
	bool archive, follow;
	char *ctr, *cpath; /* the container side */
	const char *local; /* the other side ("-" for a tar stream) */
};

/* "name:path" is a container when the colon comes before any '/' (docker's rule). */
static bool split_ctr(const char *arg, char **ctr, char **path)
{
	const char *colon = strchr(arg, ':');

	if (arg[0] == '/' || arg[0] == '.' || !colon ||
	    (strchr(arg, '/') && strchr(arg, '/') < colon))
		return false;
	*ctr = xstrndup(arg, (size_t)(colon - arg));
	*path = xstrdup(colon + 1);
	return true;
}

static char *archive_path(const struct cp_opts *o, const char *path, const char *extra)
{
	_cleanup_free_ char *ctr = hamn_client_urlencode(o->ctr);
	_cleanup_free_ char *p = hamn_client_urlencode(path);

	return xasprintf("/containers/%s/archive?%spath=%s", ctr, extra ? extra : "", p);
}

/* HEAD: 1 exists, 0 not found, -1 error. */
static int ctr_exists(struct hamn_client *c, const struct cp_opts *o, const char *path,
		      struct hamn_error **err)
{
	_cleanup_free_ char *url = archive_path(o, path, NULL);
	struct hamn_client_resp r = {0};
	int status;

	if (hamn_client_call(c, "HEAD", url, NULL, NULL, 0, &r, err) < 0)
		return -1;
	status = r.status;
	hamn_client_resp_release(&r);
	if (status == 404)
		return 0;
	if (status / 100 != 2)
		return hamn_client_status_error(status, NULL, 0, err);
	return 1;
}

/* ---- a tar reader for the host side ---- */

struct tread {
	int fd;
	char hdr[BLOCK];
	char *long_name, *long_link; /* GNU L/K, PAX path/linkpath */
	int64_t pax_size;
	bool eof;
};

struct tentry {
	char *name, *link;
	char type;
	mode_t mode;
	int64_t size, mtime;
};

static int read_block(struct tread *t, void *buf, struct hamn_error **err)
{
	ssize_t n = hamn_read_all(t->fd, buf, BLOCK, err);

	if (n < 0)
		return -1;
	if (n != BLOCK)
		return hamn_error_setq(err, EINVAL, "the archive ends in the middle of a block");
	return 0;
}

static int64_t num(const char *f, size_t len)
{
	int64_t v = 0;

	if ((unsigned char)f[0] & 0x80) { /* base-256 */
		for (size_t i = 1; i < len; i++)
			v = v * 256 + (unsigned char)f[i];
		return v;
	}
	for (size_t i = 0; i < len && f[i]; i++)
		if (f[i] >= '0' && f[i] <= '7')
			v = v * 8 + (f[i] - '0');
	return v;
}

/* Read size bytes of an entry's data into a new string. */
static char *read_data(struct tread *t, int64_t size, struct hamn_error **err)
{
	size_t padded = (size_t)((size + BLOCK - 1) / BLOCK * BLOCK);
	char *buf;

	if (size < 0 || size > (16 << 20)) {
		hamn_error_setq(err, EINVAL, "archive header too big");
		return NULL;
	}
	buf = xmalloc(padded + 1);
	if (hamn_read_all(t->fd, buf, padded, err) != (ssize_t)padded) {
		if (!*err)
			hamn_error_setq(err, EINVAL, "the archive is cut short");
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

/* PAX records "len key=value\n": path, linkpath and size matter here. */
static void pax_apply(struct tread *t, const char *data)
{
	const char *p = data;

	while (*p) {
		char *end = NULL;
		long len = strtol(p, &end, 10);
		const char *kv = end ? end + 1 : NULL;
		size_t vlen;

		if (len <= 0 || !end || *end != ' ')
			return;
		vlen = (size_t)len - (size_t)(kv - p) - 1;
		if (str_has_prefix(kv, "path=")) {
			free(t->long_name);
			t->long_name = xstrndup(kv + 5, vlen - 5);
		} else if (str_has_prefix(kv, "linkpath=")) {
			free(t->long_link);
			t->long_link = xstrndup(kv + 9, vlen - 9);
		} else if (str_has_prefix(kv, "size=")) {
			t->pax_size = strtoll(kv + 5, NULL, 10);
		}
		p += len;
	}
}

/* The next entry: 1, 0 at the end, -1 on error. Data follows (tread_skip/extract). */
static int tread_next(struct tread *t, struct tentry *e, struct hamn_error **err)
{
	for (;;) {
		const char *h = t->hdr;
		char type;

		if (read_block(t, t->hdr, err) < 0)
			return -1;
		if (!h[0]) {
			t->eof = true;
			return 0;
		}
		type = h[156];
		if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
			_cleanup_free_ char *data = read_data(t, num(h + 124, 12), err);

			if (!data)
				return -1;
			if (type == 'x')
				pax_apply(t, data);
			else if (type == 'L')
				free(t->long_name), t->long_name = xstrdup(data);
			else if (type == 'K')
				free(t->long_link), t->long_link = xstrdup(data);
			continue;
		}
		memset(e, 0, sizeof(*e));
		if (t->long_name) {
			e->name = steal_pointer(&t->long_name);
		} else if (!memcmp(h + 257, "ustar", 5) && h[345]) {
			e->name = xasprintf("%.155s/%.100s", h + 345, h);
		} else {
			e->name = xstrndup(h, 100);
		}
		e->link = t->long_link ? steal_pointer(&t->long_link) : xstrndup(h + 157, 100);
		e->type = type ? type : '0';
		e->mode = (mode_t)num(h + 100, 8) & 07777;
		e->size = t->pax_size >= 0 ? t->pax_size : num(h + 124, 12);
		e->mtime = num(h + 136, 12);
		t->pax_size = -1;
		if (e->type != '0' && e->type != '7')
			e->size = 0;
		return 1;
	}
}

/* Copy (or skip, out < 0) an entry's data and its padding. */
static int tread_data(struct tread *t, const struct tentry *e, int out, struct hamn_error **err)
{
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	int64_t left = (e->size + BLOCK - 1) / BLOCK * BLOCK, data = e->size;

	while (left > 0) {
		size_t want = left < (int64_t)CHUNK ? (size_t)left : CHUNK;
		ssize_t n = hamn_read_all(t->fd, buf, want, err);

		if (n < 0)
			return -1;
		if ((size_t)n != want)
			return hamn_error_setq(err, EINVAL, "the archive is cut short");
		if (out >= 0 && data > 0 &&
		    hamn_write_all(out, buf, (size_t)(data < n ? data : n), err) < 0)
			return -1;
		data -= n;
		left -= n;
	}
	return 0;
}

/* ---- extraction into a host directory ---- */

struct extract {
	int destfd;	 /* the directory entries are made in */
	const char *top; /* the archive's top name, replaced by rename when set */
	const char *rename;
};

/* The entry's path under destfd: cleaned, renamed; NULL when it climbs out. */
static char *host_name(const struct extract *x, const char *raw)
{
	_cleanup_strv_ char **parts = str_split(raw, '/');
	struct hamn_buf b = HAMN_BUF_INIT;
	bool first = true;

	for (size_t i = 0; parts[i]; i++) {
		const char *p = parts[i];

		if (!p[0] || streq(p, "."))
			continue;
		if (streq(p, "..")) {
			hamn_buf_release(&b);
			return NULL;
		}
		if (first && x->rename && x->top && streq(p, x->top))
			p = x->rename;
		first = false;
		hamn_buf_printf(&b, "%s%s", b.len ? "/" : "", p);
	}
	return b.data ? hamn_buf_steal(&b) : xstrdup("");
}

static int make_entry(struct extract *x, struct tread *t, const struct tentry *e,
		      struct hamn_error **err)
{
	_cleanup_free_ char *name = host_name(x, e->name), *dir = NULL;
	_cleanup_close_ int parent = -1, fd = -1;
	const char *base;
	struct stat st;

	if (!name)
		return hamn_error_setq(err, EINVAL, "archive entry '%s' leaves the destination",
				       e->name);
	if (!name[0])
		return tread_data(t, e, -1, err);
	base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	dir = base == name ? xstrdup(".") : xstrndup(name, (size_t)(base - name - 1));
	/* symlinks the archive made are followed, but never out of the destination */
	parent = hamn_open_in_root(x->destfd, dir, O_PATH | O_DIRECTORY, 0, 0, err);
	if (parent < 0)
		return -1;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !(S_ISDIR(st.st_mode) && e->type == '5')) {
		if (S_ISDIR(st.st_mode) ? hamn_rm_rf(parent, base, err) < 0
					: unlinkat(parent, base, 0) < 0)
			return *err ? -1 : hamn_error_set(err, errno, "remove '%s'", name);
	}
	switch (e->type) {
	case '5':
		if (mkdirat(parent, base, e->mode | 0700) < 0 && errno != EEXIST)
			return hamn_error_set(err, errno, "mkdir '%s'", name);
		return tread_data(t, e, -1, err);
	case '2':
		if (symlinkat(e->link, parent, base) < 0)
			return hamn_error_set(err, errno, "symlink '%s'", name);
		return tread_data(t, e, -1, err);
	case '1': {
		_cleanup_free_ char *target = host_name(x, e->link);
		_cleanup_close_ int tfd =
			target ? hamn_open_in_root(x->destfd, target, O_PATH, 0,
						   HAMN_RESOLVE_NO_SYMLINK_LAST, err)
			       : -1;

		if (tfd < 0 || linkat(tfd, "", parent, base, AT_EMPTY_PATH) < 0)
			return *err ? -1 : hamn_error_set(err, errno, "link '%s'", name);
		return tread_data(t, e, -1, err);
	}
	case '0':
	case '7':
		fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0)
			return hamn_error_set(err, errno, "create '%s'", name);
		if (tread_data(t, e, fd, err) < 0)
			return -1;
		fchmod(fd, e->mode);
		futimens(fd, (struct timespec[2]){{e->mtime, 0}, {e->mtime, 0}});
		return 0;
	default:
		return tread_data(t, e, -1, err); /* devices, fifos: not made here */
	}
}

static int extract(struct extract *x, int fd, struct hamn_error **err)
{
	struct tread t = {.fd = fd, .pax_size = -1};
	struct tentry e;
	int r;

	while ((r = tread_next(&t, &e, err)) > 0) {
		r = make_entry(x, &t, &e, err);
		free(e.name);
		free(e.link);
		if (r < 0)
			break;
	}
	free(t.long_name);
	free(t.long_link);
	return r < 0 ? -1 : 0;
}

/* ---- GET into a pipe read by an extracting thread ---- */

struct getx {
	struct extract x;
	int rfd;
	int rc;
	struct hamn_error *err;
};

static void *extract_main(void *arg)
{
	struct getx *g = arg;
	char buf[4096];

	g->rc = extract(&g->x, g->rfd, &g->err);
	/* drain, so the writer never blocks on a reader that gave up */
	while (read(g->rfd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static int to_fd(void *ctx, const char *data, size_t len)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	return hamn_write_all(*(int *)ctx, data, len, &err);
}

/* GET the archive of path into fd; a non-200 reply is its error. */
static int get_archive(struct hamn_client *c, const struct cp_opts *o, const char *path, int fd,
		       struct hamn_error **err)
{
	_cleanup_free_ char *url = archive_path(o, path, NULL);
	struct hamn_client_stream req = {
		.method = "GET",
		.path = url,
		.body_fd = -1,
		.on_data = to_fd,
		.ctx = &fd,
	};
	int status = 0;

	if (hamn_client_stream(c, &req, &status, err) < 0)
		return -1;
	if (status / 100 != 2)
		return hamn_client_status_error(status, NULL, 0, err);
	return 0;
}

/* Where a copy out goes: into dest (a directory), or renamed into its parent. */
static int open_dest(const char *dest, bool src_dir, struct extract *x, struct hamn_error **err)
{
	struct stat st;
	_cleanup_free_ char *copy = xstrdup(dest), *copy2 = xstrdup(dest);

	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
		x->destfd = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return x->destfd < 0 ? hamn_error_set(err, errno, "open '%s'", dest) : 0;
	}
	if (src_dir && errno != ENOENT)
		return hamn_error_setq(err, EINVAL, "cannot copy a directory to a file: '%s'",
				       dest);
	x->rename = xstrdup(basename(copy));
	x->destfd = open(dirname(copy2), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (x->destfd < 0)
		return hamn_error_set(err, errno, "destination directory '%s'", dest);
	return 0;
}

/* The type of the archive's top entry, read from a GET cut short after one header. */
struct peek {
	char hdr[BLOCK];
	size_t have;
};

static int peek_data(void *ctx, const char *data, size_t len)
{
	struct peek *p = ctx;
	size_t take = len < BLOCK - p->have ? len : BLOCK - p->have;

	memcpy(p->hdr + p->have, data, take);
	p->have += take;
	return p->have == BLOCK ? -1 : 0;
}

static int peek_top(struct hamn_client *c, const struct cp_opts *o, const char *path,
		    struct peek *pk, struct hamn_error **err)
{
	_cleanup_free_ char *url = archive_path(o, path, NULL);
	struct hamn_client_stream req = {
		.method = "GET",
		.path = url,
		.body_fd = -1,
		.on_data = peek_data,
		.ctx = pk,
	};
	int status = 0;

	memset(pk, 0, sizeof(*pk));
	if (hamn_client_stream(c, &req, &status, err) < 0 && pk->have < BLOCK)
		return -1;
	hamn_error_free(err);
	if (status && status / 100 != 2)
		return hamn_client_status_error(status, NULL, 0, err);
	return 0;
}

/* -L: follow a symlink at the end of path (inside the container) to what it names. */
static char *follow(struct hamn_client *c, const struct cp_opts *o, struct peek *pk,
		    struct hamn_error **err)
{
	char *path = xstrdup(o->cpath);

	for (int i = 0; i < 40; i++) {
		_cleanup_free_ char *copy = NULL;
		char link[101];

		if (peek_top(c, o, path, pk, err) < 0)
			goto fail;
		if (pk->hdr[156] != '2' || !o->follow)
			return path;
		snprintf(link, sizeof(link), "%.100s", pk->hdr + 157);
		copy = xstrdup(path);
		free(path);
		path = link[0] == '/' ? xstrdup(link) : xasprintf("%s/%s", dirname(copy), link);
	}
	hamn_error_setq(err, ELOOP, "too many levels of symbolic links: %s", o->cpath);
fail:
	free(path);
	return NULL;
}

static int copy_out(struct hamn_client *c, const struct cp_opts *o, struct hamn_error **err)
{
	_cleanup_free_ char *path = NULL;
	struct getx g = {.x = {.destfd = -1}, .rfd = -1};
	struct peek pk;
	char top[101];
	pthread_t th;
	int p[2], rc;

	if (streq(o->local, "-"))
		return get_archive(c, o, o->cpath, STDOUT_FILENO, err);
	path = follow(c, o, &pk, err);
	if (!path)
		return -1;
	snprintf(top, sizeof(top), "%.100s", pk.hdr);
	if (strchr(top, '/'))
		*strchr(top, '/') = '\0';
	g.x.top = top;
	/* "/." copies the contents: the archive's top is "." and lands in dest itself */
	if (open_dest(o->local, pk.hdr[156] == '5', &g.x, err) < 0)
		goto out;
	if (streq(top, ".") && g.x.rename) {
		if (mkdirat(g.x.destfd, g.x.rename, 0755) < 0 && errno != EEXIST) {
			rc = hamn_error_set(err, errno, "mkdir '%s'", o->local);
			goto out;
		}
		int sub = openat(g.x.destfd, g.x.rename, O_PATH | O_DIRECTORY | O_CLOEXEC);

		close(g.x.destfd);
		g.x.destfd = sub;
		free((char *)g.x.rename);
		g.x.rename = NULL;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		hamn_error_set(err, errno, "pipe");
		goto out;
	}
	g.rfd = p[0];
	pthread_create(&th, NULL, extract_main, &g);
	rc = get_archive(c, o, path, p[1], err);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	if (rc == 0 && g.rc < 0)
		hamn_error_propagate(err, &g.err);
out:
	hamn_error_free(&g.err);
	free((char *)g.x.rename);
	if (g.x.destfd >= 0)
		close(g.x.destfd);
	return *err ? -1 : 0;
}

/* ---- into a container ---- */

struct putx {
	const char *src; /* the local path */
	const char *top; /* its name in the archive ("." for contents) */
	bool follow;
	int wfd;
	int rc;
	struct hamn_error *err;
};

static int add_local(struct putx *x, struct tarw *t, int dirfd, const char *name, const char *path,
		     bool follow);

static int add_dir(struct putx *x, struct tarw *t, int fd, const char *path)
{
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return hamn_error_set(&x->err, errno, "read directory '%s'", path);
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *child = NULL;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		child = streq(path, ".") ? xstrdup(de->d_name)
					 : xasprintf("%s/%s", path, de->d_name);
		if (add_local(x, t, dirfd(d), de->d_name, child, false) < 0)
			return -1;
	}
	return 0;
}

static int add_local(struct putx *x, struct tarw *t, int dirfd, const char *name, const char *path,
		     bool follow)
{
	_cleanup_close_ int fd = -1;
	char link[4096] = "";
	struct stat st;

	if (fstatat(dirfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(&x->err, errno, "stat '%s'", name);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);

		if (n < 0)
			return hamn_error_set(&x->err, errno, "readlink '%s'", name);
		link[n] = '\0';
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
		if (fd < 0)
			return hamn_error_set(&x->err, errno, "open '%s'", name);
	}
	if (!streq(path, ".") && tarw_add(t, path, &st, fd, link, &x->err) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return add_dir(x, t, steal_fd(&fd), path);
	return 0;
}

static void *tar_main(void *arg)
{
	struct putx *x = arg;
	struct tarw t = {.fd = x->wfd};

	x->rc = add_local(x, &t, AT_FDCWD, x->src, x->top, x->follow);
	if (x->rc == 0)
		x->rc = tarw_finish(&t, &x->err);
	close(x->wfd);
	return NULL;
}

static int collect(void *ctx, const char *data, size_t len)
{
	hamn_buf_append(ctx, data, len);
	return 0;
}

/* PUT the tar read from fd into the container's directory dir. */
static int put_archive(struct hamn_client *c, const struct cp_opts *o, const char *dir, int fd,
		       struct hamn_error **err)
{
	_cleanup_free_ char *url = archive_path(o, dir,
						o->archive ? "copyUIDGID=true&"
							     "noOverwriteDirNonDir=true&"
							   : "noOverwriteDirNonDir=true&");
	_cleanup_buf_ struct hamn_buf body = HAMN_BUF_INIT;
	struct hamn_client_stream req = {
		.method = "PUT",
		.path = url,
		.content_type = "application/x-tar",
		.body_fd = fd,
		.on_data = collect,
		.ctx = &body,
	};
	int status = 0;

	if (hamn_client_stream(c, &req, &status, err) < 0)
		return -1;
	if (status / 100 != 2)
		return hamn_client_status_error(status, body.data, body.len, err);
	return 0;
}

static int copy_in(struct hamn_client *c, const struct cp_opts *o, struct hamn_error **err)
{
	_cleanup_free_ char *dirdot = xasprintf("%s/.", o->cpath), *c1 = NULL, *c2 = NULL;
	_cleanup_free_ char *src_copy = xstrdup(o->local);
	struct putx x = {.src = o->local, .follow = o->follow, .wfd = -1};
	const char *dir = o->cpath;
	size_t sl = strlen(o->local);
	struct stat st;
	int exists, is_dir, p[2], rc;
	pthread_t th;

	if (streq(o->local, "-"))
		return put_archive(c, o, o->cpath, STDIN_FILENO, err);
	if ((o->follow ? stat(o->local, &st) : lstat(o->local, &st)) < 0)
		return hamn_error_set(err, errno, "stat '%s'", o->local);
	exists = ctr_exists(c, o, o->cpath, err);
	is_dir = exists > 0 ? ctr_exists(c, o, dirdot, err) : 0;
	if (exists < 0 || is_dir < 0)
		return -1;
	x.top = sl >= 2 && streq(o->local + sl - 2, "/.") ? "." : basename(src_copy);
	if (!is_dir) {
		/* a new name, or a file replaced: the entry is renamed into the parent */
		if (exists && S_ISDIR(st.st_mode))
			return hamn_error_setq(err, EINVAL, "cannot copy a directory to a file");
		c1 = xstrdup(o->cpath);
		c2 = xstrdup(o->cpath);
		dir = dirname(c1);
		x.top = basename(c2);
		if (streq(x.top, "/") || streq(x.top, "."))
			return hamn_error_setq(err, EINVAL, "invalid destination '%s'", o->cpath);
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "pipe");
	x.wfd = p[1];
	pthread_create(&th, NULL, tar_main, &x);
	rc = put_archive(c, o, dir, p[0], err);
	close(p[0]); /* a tar still being written fails with EPIPE */
	pthread_join(th, NULL);
	if (rc == 0 && x.rc < 0)
		rc = hamn_error_propagate(err, &x.err);
	hamn_error_free(&x.err);
	return rc;
}

int cmd_cp(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"archive", no_argument, NULL, 'a'},
		{"follow-link", no_argument, NULL, 'L'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	struct cp_opts o = {0};
	struct hamn_client *c;
	bool from, to;
	int opt, rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+aLq", opts, NULL)) != -1) {
		if (opt == 'a')
			o.archive = true;
		else if (opt == 'L')
			o.follow = true;
		else if (opt != 'q')
			return cli_errorf("see 'hamn cp --help'"), CLI_EXIT_ERROR;
	}
	if (argc - optind != 2) {
		cli_errorf("\"hamn cp\" requires exactly 2 arguments");
		return CLI_EXIT_ERROR;
	}
	from = split_ctr(argv[optind], &o.ctr, &o.cpath);
	to = !from && split_ctr(argv[optind + 1], &o.ctr, &o.cpath);
	if (from == to) {
		cli_errorf("copying between containers is not supported; one side must be "
			   "CONTAINER:PATH");
		goto out;
	}
	o.local = from ? argv[optind + 1] : argv[optind];
	if (!(c = cli_client(cli)))
		goto out;
	if ((from ? copy_out(c, &o, &err) : copy_in(c, &o, &err)) == 0)
		rc = 0;
	else
		cli_daemon_error(err);
out:
	free(o.ctr);
	free(o.cpath);
	return rc;
}

/*
 * layerfs.c - overlayfs's merged view computed in user space: what commit,
 * diff, export and the builder's COPY need to read (and, for COPY, write)
 * an image's layers plus a container's upper directory without mounting
 * anything. Mounting would need a private mount namespace and a process to
 * hold it; reading the layer directories directly works the same on a
 * stopped container, a running one and a build step, and can be tested
 * with plain directories.
 *
 * Not done: overlay's redirect_dir and metacopy features (the engine mounts
 * without them, so upper directories never carry trusted.overlay.redirect
 * or metacopy files).
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/layerfs.h"

#define MAX_LINKS 40

void lstack_release(struct lstack *s)
{
	for (size_t i = 0; i < s->n; i++)
		close(s->fds[i]);
	free(s->fds);
	free(s->ids);
	s->fds = NULL;
	s->ids = NULL;
	s->n = 0;
}

static void stack_add(struct lstack *s, int fd, int id)
{
	s->fds = xreallocarray(s->fds, s->n + 1, sizeof(*s->fds));
	s->ids = xreallocarray(s->ids, s->n + 1, sizeof(*s->ids));
	s->fds[s->n] = fd;
	s->ids[s->n++] = id;
}

int lstack_open(char *const *dirs, size_t n, struct lstack *out, struct hamn_error **err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		int fd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			hamn_error_set(err, errno, "open layer '%s'", dirs[i]);
			lstack_release(out);
			return -1;
		}
		stack_add(out, fd, (int)i);
	}
	return 0;
}

int lstack_push_top(struct lstack *s, int fd, struct hamn_error **err)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (d < 0)
		return hamn_error_set(err, errno, "dup");
	stack_add(s, -1, 0);
	memmove(s->fds + 1, s->fds, (s->n - 1) * sizeof(*s->fds));
	memmove(s->ids + 1, s->ids, (s->n - 1) * sizeof(*s->ids));
	s->fds[0] = d;
	s->ids[0] = 0;
	for (size_t i = 1; i < s->n; i++)
		s->ids[i]++;
	return 0;
}

int lstack_dup(const struct lstack *s, struct lstack *out, struct hamn_error **err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->n; i++) {
		int d = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 3);

		if (d < 0) {
			lstack_release(out);
			return hamn_error_set(err, errno, "dup");
		}
		stack_add(out, d, s->ids[i]);
	}
	return 0;
}

bool lstack_is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

bool lstack_fd_opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));

	return n == 1 && v[0] == 'y';
}

int lstack_lookup(const struct lstack *s, const char *name, struct lent *out,
		  struct hamn_error **err)
{
	out->idx = out->layer = -1;
	for (size_t i = 0; i < s->n; i++) {
		if (fstatat(s->fds[i], name, &out->st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return hamn_error_set(err, errno, "stat '%s'", name);
		}
		if (lstack_is_whiteout(&out->st))
			return 0;
		out->idx = (int)i;
		out->layer = s->ids[i];
		return 0;
	}
	return 0;
}

static int open_dir_at(int dirfd, const char *name, struct hamn_error **err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "open directory '%s'", name);
	return fd;
}

int lstack_child(const struct lstack *s, const char *name, struct lstack *out,
		 struct hamn_error **err)
{
	struct lent e;
	int fd;

	memset(out, 0, sizeof(*out));
	if (lstack_lookup(s, name, &e, err) < 0)
		return -1;
	if (e.idx < 0 || !S_ISDIR(e.st.st_mode))
		return hamn_error_setq(err, ENOTDIR, "'%s' is not a directory", name);
	for (size_t i = (size_t)e.idx; i < s->n; i++) {
		struct stat st;

		if (i > (size_t)e.idx) {
			if (fstatat(s->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue;
				lstack_release(out);
				return hamn_error_set(err, errno, "stat '%s'", name);
			}
			/* a whiteout or a non-directory ends the merge */
			if (!S_ISDIR(st.st_mode))
				break;
		}
		fd = open_dir_at(s->fds[i], name, err);
		if (fd < 0) {
			lstack_release(out);
			return -1;
		}
		stack_add(out, fd, s->ids[i]);
		if (lstack_fd_opaque(fd))
			break;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dirfd (no "." and ".."), unsorted. */
static int read_dir(int dirfd, char ***out, struct hamn_error **err)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		hamn_error_set(err, errno, "read directory");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	*out = xcalloc(1, sizeof(char *));
	while ((errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(out, de->d_name);
	if (errno) {
		hamn_error_set(err, errno, "read directory");
		hamn_strv_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Is name in the sorted vector v[0..n)? */
static bool sorted_has(char *const *v, size_t n, const char *name)
{
	return n && bsearch(&name, v, n, sizeof(char *), cmp_str) != NULL;
}

char **layer_dir_names(int dirfd, struct hamn_error **err)
{
	char **names = NULL;

	if (read_dir(dirfd, &names, err) < 0)
		return NULL;
	qsort(names, strv_len(names), sizeof(char *), cmp_str);
	return names;
}

char **lstack_names(const struct lstack *s, struct hamn_error **err)
{
	_cleanup_strv_ char **seen = xcalloc(1, sizeof(char *));
	char **out = xcalloc(1, sizeof(char *));

	for (size_t i = 0; i < s->n; i++) {
		_cleanup_strv_ char **names = NULL;
		size_t n_seen = strv_len(seen);

		if (read_dir(s->fds[i], &names, err) < 0) {
			hamn_strv_free(out);
			return NULL;
		}
		for (size_t j = 0; names[j]; j++) {
			struct stat st;

			if (sorted_has(seen, n_seen, names[j]))
				continue;
			strv_push(&seen, names[j]);
			if (fstatat(s->fds[i], names[j], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    !lstack_is_whiteout(&st))
				strv_push(&out, names[j]);
		}
		qsort(seen, strv_len(seen), sizeof(char *), cmp_str);
	}
	qsort(out, strv_len(out), sizeof(char *), cmp_str);
	return out;
}

/* ---- resolving paths inside the merged root ---- */

void lresolved_release(struct lresolved *r)
{
	lstack_release(&r->dir);
	free(r->name);
	free(r->path);
	memset(r, 0, sizeof(*r));
	r->ent.idx = r->ent.layer = -1;
}

/* The walk's state: one stack and one name per directory level below the root. */
struct walk {
	struct lstack *levels;	/* levels[0] is the root */
	char **names;		/* names[i] is the name of levels[i + 1] */
	size_t depth;		/* levels in use minus one */
	char **todo;		/* components still to resolve, next one last */
	int links;
};

static void walk_pop(struct walk *w)
{
	if (w->depth == 0)
		return;
	lstack_release(&w->levels[w->depth]);
	free(w->names[--w->depth]);
}

static void walk_release(struct walk *w)
{
	while (w->depth)
		walk_pop(w);
	lstack_release(&w->levels[0]);
	free(w->levels);
	free(w->names);
	hamn_strv_free(w->todo);
}

/* Push the components of path (in order) on the todo list, so they come next. */
static void walk_queue(struct walk *w, const char *path)
{
	_cleanup_strv_ char **parts = str_split(path, '/');
	size_t n = strv_len(parts);

	while (n--)
		if (parts[n][0] && strcmp(parts[n], "."))
			strv_push(&w->todo, parts[n]);
}

static char *take_next(struct walk *w)
{
	size_t n = strv_len(w->todo);
	char *c = w->todo[n - 1];

	w->todo[n - 1] = NULL;
	return c;
}

static int walk_enter(struct walk *w, const char *name, struct hamn_error **err)
{
	struct lstack child;

	if (lstack_child(&w->levels[w->depth], name, &child, err) < 0)
		return -1;
	w->levels = xreallocarray(w->levels, w->depth + 2, sizeof(*w->levels));
	w->names = xreallocarray(w->names, w->depth + 1, sizeof(*w->names));
	w->names[w->depth++] = xstrdup(name);
	w->levels[w->depth] = child;
	return 0;
}

static int walk_link(struct walk *w, const struct lstack *dir, const struct lent *e,
		     const char *name, struct hamn_error **err)
{
	char target[4096];
	ssize_t n;

	if (++w->links > MAX_LINKS)
		return hamn_error_setq(err, ELOOP, "too many levels of symbolic links at '%s'",
				       name);
	n = readlinkat(dir->fds[e->idx], name, target, sizeof(target) - 1);
	if (n < 0)
		return hamn_error_set(err, errno, "readlink '%s'", name);
	target[n] = '\0';
	if (target[0] == '/')
		while (w->depth)
			walk_pop(w);
	walk_queue(w, target);
	return 0;
}

static char *walk_path(const struct walk *w, const char *last)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (size_t i = 0; i < w->depth; i++)
		hamn_buf_printf(&b, "/%s", w->names[i]);
	if (last && *last)
		hamn_buf_printf(&b, "/%s", last);
	if (!b.len)
		hamn_buf_puts(&b, "/");
	return hamn_buf_steal(&b);
}

/* One step; *done when c was the last component and out is filled. */
static int walk_step(struct walk *w, char *c, bool follow_last, struct lresolved *out,
		     bool *done, struct hamn_error **err)
{
	bool last = !w->todo[0];
	struct lent e;

	*done = false;
	if (strcmp(c, "..") == 0) {
		walk_pop(w);
		return 0;
	}
	if (lstack_lookup(&w->levels[w->depth], c, &e, err) < 0)
		return -1;
	if (e.idx >= 0 && S_ISLNK(e.st.st_mode) && (!last || follow_last))
		return walk_link(w, &w->levels[w->depth], &e, c, err);
	if (last) {
		*done = true;
		out->name = xstrdup(c);
		out->ent = e;
		out->path = walk_path(w, c);
		return lstack_dup(&w->levels[w->depth], &out->dir, err);
	}
	if (e.idx < 0)
		return hamn_error_setq(err, ENOENT, "'%s': no such file or directory", c);
	if (!S_ISDIR(e.st.st_mode))
		return hamn_error_setq(err, ENOTDIR, "'%s': not a directory", c);
	return walk_enter(w, c, err);
}

/* Everything resolved to the root (or a ".." chain): the root "names" itself. */
static int walk_root(struct walk *w, struct lresolved *out, struct hamn_error **err)
{
	out->name = xstrdup("");
	out->path = walk_path(w, NULL);
	if (w->depth) {
		/* ended on a directory we entered: describe it from its parent */
		char *name = xstrdup(w->names[w->depth - 1]);
		int rc;

		walk_pop(w);
		free(out->name);
		out->name = name;
		rc = lstack_lookup(&w->levels[w->depth], name, &out->ent, err);
		return rc < 0 ? -1 : lstack_dup(&w->levels[w->depth], &out->dir, err);
	}
	out->ent.idx = 0;
	out->ent.layer = w->levels[0].n ? w->levels[0].ids[0] : -1;
	if (w->levels[0].n && fstat(w->levels[0].fds[0], &out->ent.st) < 0)
		return hamn_error_set(err, errno, "stat the root");
	return lstack_dup(&w->levels[0], &out->dir, err);
}

int lstack_resolve(const struct lstack *root, const char *path, bool follow_last,
		   struct lresolved *out, struct hamn_error **err)
{
	struct walk w = { 0 };
	bool done = false;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->ent.idx = out->ent.layer = -1;
	w.levels = xcalloc(1, sizeof(*w.levels));
	w.todo = xcalloc(1, sizeof(char *));
	if (lstack_dup(root, &w.levels[0], err) < 0) {
		walk_release(&w);
		return -1;
	}
	walk_queue(&w, path);
	while (rc == 0 && !done && w.todo[0]) {
		_cleanup_free_ char *c = take_next(&w);

		rc = walk_step(&w, c, follow_last, out, &done, err);
	}
	if (rc == 0 && !done)
		rc = walk_root(&w, out, err);
	walk_release(&w);
	if (rc < 0) {
		lresolved_release(out);
		return hamn_error_wrap(err, "resolve '%s'", path);
	}
	return 0;
}

int lstack_open_file(const struct lresolved *r, struct hamn_error **err)
{
	struct stat st;
	int fd;

	if (r->ent.idx < 0)
		return hamn_error_setq(err, ENOENT, "'%s': no such file or directory", r->path);
	if (!S_ISREG(r->ent.st.st_mode))
		return hamn_error_setq(err, S_ISDIR(r->ent.st.st_mode) ? EISDIR : EINVAL,
				       "'%s' is not a regular file", r->path);
	fd = openat(r->dir.fds[r->ent.idx], r->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", r->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return hamn_error_setq(err, EINVAL, "'%s' changed while being opened", r->path);
	}
	return fd;
}

/* ---- writing through the upper layer ---- */

/* Copy the lower directory's owner, mode and times to the new upper one. */
static int copy_up_meta(int upper, const char *name, const struct stat *st,
			struct hamn_error **err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchownat(upper, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "chown '%s'", name);
	if (fchmodat(upper, name, st->st_mode & 07777, 0) < 0)
		return hamn_error_set(err, errno, "chmod '%s'", name);
	if (utimensat(upper, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "set times of '%s'", name);
	return 0;
}

static int set_opaque(int dirfd, const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC);

	if (fd < 0 || fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
		return hamn_error_set(err, errno, "mark '%s' opaque", name);
	return 0;
}

/* Make directory name exist in the upper (fds[0] of dir, layer 0). */
static int upper_dir(const struct lstack *dir, const char *name, uid_t uid, gid_t gid,
		     struct hamn_error **err)
{
	struct stat st;
	bool whiteout;
	struct lent e;

	if (!dir->n || dir->ids[0] != 0)
		return hamn_error_setq(err, EINVAL, "'%s': the parent is not in the upper layer",
				       name);
	if (lstack_lookup(dir, name, &e, err) < 0)
		return -1;
	if (e.idx >= 0 && !S_ISDIR(e.st.st_mode))
		return hamn_error_setq(err, ENOTDIR, "mkdir '%s': not a directory", name);
	if (e.layer == 0)
		return 0;
	/*
	 * A whiteout of a deleted lower entry may sit there: the directory
	 * replacing it must hide what is below, as overlay's would (opaque).
	 */
	whiteout = fstatat(dir->fds[0], name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		   lstack_is_whiteout(&st);
	if (whiteout && unlinkat(dir->fds[0], name, 0) < 0)
		return hamn_error_set(err, errno, "remove '%s'", name);
	if (mkdirat(dir->fds[0], name, 0755) < 0)
		return hamn_error_set(err, errno, "mkdir '%s'", name);
	if (whiteout && set_opaque(dir->fds[0], name, err) < 0)
		return -1;
	if (e.idx >= 0)
		return copy_up_meta(dir->fds[0], name, &e.st, err);
	if (fchownat(dir->fds[0], name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(dir->fds[0], name, 0755, 0) < 0)
		return hamn_error_set(err, errno, "set up '%s'", name);
	return 0;
}

int lstack_upper_mkdirs(const struct lstack *root, const char *abs, uid_t uid, gid_t gid,
			int *dirfd_out, struct lstack *stack_out, struct hamn_error **err)
{
	struct walk w = { 0 };
	int rc = 0;

	w.levels = xcalloc(1, sizeof(*w.levels));
	w.todo = xcalloc(1, sizeof(char *));
	if (lstack_dup(root, &w.levels[0], err) < 0) {
		walk_release(&w);
		return -1;
	}
	walk_queue(&w, abs);
	while (rc == 0 && w.todo[0]) {
		_cleanup_free_ char *c = take_next(&w);
		struct lent e;

		if (strcmp(c, "..") == 0) {
			walk_pop(&w);
			continue;
		}
		rc = lstack_lookup(&w.levels[w.depth], c, &e, err);
		if (rc == 0 && e.idx >= 0 && S_ISLNK(e.st.st_mode))
			rc = walk_link(&w, &w.levels[w.depth], &e, c, err);
		else if (rc == 0)
			rc = upper_dir(&w.levels[w.depth], c, uid, gid, err) < 0
				     ? -1 : walk_enter(&w, c, err);
	}
	if (rc == 0 && (!w.levels[w.depth].n || w.levels[w.depth].ids[0] != 0))
		rc = hamn_error_setq(err, EINVAL, "the root is not writable");
	if (rc == 0) {
		*dirfd_out = fcntl(w.levels[w.depth].fds[0], F_DUPFD_CLOEXEC, 3);
		if (*dirfd_out < 0)
			rc = hamn_error_set(err, errno, "dup");
	}
	if (rc == 0 && stack_out) {
		*stack_out = w.levels[w.depth];
		memset(&w.levels[w.depth], 0, sizeof(w.levels[w.depth]));
	}
	walk_release(&w);
	return rc < 0 ? hamn_error_wrap(err, "mkdir '%s'", abs) : 0;
}

/*
 * context.c - the build context seen by COPY and ADD: which paths a source
 * pattern selects once .dockerignore is applied, and the content hash that
 * makes a cache key change exactly when a copied file changes.
 *
 * Symlinks are never followed out of the context. A source that is a
 * symlink is followed while its target stays inside the context (lexically,
 * relative targets only); every other symlink is taken as a link. Paths
 * with directory parts are resolved inside the context (hamn_open_in_root),
 * so "a/link/b" can not step out either.
 */
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/internal.h"

/* The non-ignored entries below dir (context-relative), parents first, sorted. */
struct walk {
	int ctxfd;
	const struct hamn_build_ignore *ig;
	char **paths;
	struct hamn_error **err;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **read_names(int dfd, const char *rel, struct hamn_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	char **names = xzalloc(sizeof(char *));
	struct dirent *de;
	int fd = dup(dfd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		hamn_error_set(err, errno, "read directory '%s'", rel);
		if (fd >= 0)
			close(fd);
		hamn_strv_free(names);
		return NULL;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&names, de->d_name);
	}
	if (errno) {
		hamn_error_set(err, errno, "read directory '%s'", rel);
		hamn_strv_free(names);
		return NULL;
	}
	qsort(names, strv_len(names), sizeof(char *), cmp_names);
	return names;
}

static int walk_dir(struct walk *w, int dfd, const char *rel);

static int walk_entry(struct walk *w, int dfd, const char *rel, const char *name)
{
	_cleanup_free_ char *path = strcmp(rel, ".") ? xasprintf("%s/%s", rel, name)
						     : xstrdup(name);
	_cleanup_close_ int sub = -1;
	struct stat st;
	bool excluded;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(w->err, errno, "stat '%s'", path);
	excluded = hamn_build_ignore_match(w->ig, path);
	if (excluded && !(S_ISDIR(st.st_mode) && hamn_build_ignore_descend(w->ig, path)))
		return 0;
	if (!excluded)
		strv_push(&w->paths, path);
	if (!S_ISDIR(st.st_mode))
		return 0;
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return hamn_error_set(w->err, errno, "open '%s'", path);
	return walk_dir(w, sub, path);
}

static int walk_dir(struct walk *w, int dfd, const char *rel)
{
	_cleanup_strv_ char **names = read_names(dfd, rel, w->err);

	if (!names)
		return -1;
	for (size_t i = 0; names[i]; i++)
		if (walk_entry(w, dfd, rel, names[i]) < 0)
			return -1;
	return 0;
}

/* Every non-ignored path under rel (a directory), context-relative. */
static char **walk_tree(int ctxfd, const struct hamn_build_ignore *ig, const char *rel,
			struct hamn_error **err)
{
	struct walk w = { .ctxfd = ctxfd, .ig = ig, .err = err };
	_cleanup_close_ int dfd = -1;

	w.paths = xzalloc(sizeof(char *));
	if (strcmp(rel, ".") == 0)
		dfd = openat(ctxfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		dfd = hamn_open_in_root(ctxfd, rel, O_RDONLY | O_DIRECTORY, 0,
					HAMN_RESOLVE_NO_SYMLINK_LAST, err);
	if (dfd < 0 && strcmp(rel, ".") == 0)
		hamn_error_set(err, errno, "open the build context");
	if (dfd < 0 || walk_dir(&w, dfd, rel) < 0) {
		hamn_strv_free(w.paths);
		return NULL;
	}
	return w.paths;
}

/* ---- hashing ---- */

/*
 * What one entry adds to its source's hash: its name, "<mode> 0:0 <size>",
 * then the sha256 of a file's content or a symlink's target, then "\n".
 */
static int record_one(struct hamn_buf *rec, int ctxfd, const char *path, const char *name,
		      struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	struct hamn_digest d;
	struct stat st;
	char line[96];
	int n;

	fd = hamn_open_in_root(ctxfd, path, O_PATH, 0, HAMN_RESOLVE_NO_SYMLINK_LAST, err);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return hamn_error_set(err, errno, "stat '%s'", path);
	hamn_buf_append(rec, name, strlen(name) + 1);
	/* uid and gid are always 0: COPY makes files root's unless --chown says otherwise */
	n = snprintf(line, sizeof(line), "%o 0:0 %lld", (unsigned)st.st_mode,
		     S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL);
	hamn_buf_append(rec, line, (size_t)n + 1);
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int rfd = hamn_open_in_root(ctxfd, path, O_RDONLY, 0,
							    HAMN_RESOLVE_NO_SYMLINK_LAST, err);

		if (rfd < 0)
			return -1;
		if (hamn_sha256_fd(rfd, &d, err) < 0)
			return hamn_error_wrap(err, "hash '%s'", path);
		hamn_buf_puts(rec, d.str);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t l = readlinkat(fd, "", target, sizeof(target) - 1);

		if (l < 0)
			return hamn_error_set(err, errno, "readlink '%s'", path);
		hamn_buf_append(rec, target, (size_t)l);
	}
	hamn_buf_putc(rec, '\n');
	return 0;
}

/*
 * The records of a source's entries, made by a few threads at once (the
 * files' content hashes are most of a big COPY's cache check); entry 0 is
 * the source itself, entry i the source's entries[i - 1]. The hash is then
 * fed the records in order, so it does not depend on the threads.
 */
struct records {
	int ctxfd;
	const struct hamn_build_source *s;
	size_t n;
	size_t next;		/* the next entry to take (atomic) */
	struct hamn_buf *rec;
	struct hamn_error **errs;
};

static void records_make(struct records *r, size_t i)
{
	const struct hamn_build_source *s = r->s;
	_cleanup_free_ char *p = NULL;

	if (i == 0) {
		record_one(&r->rec[0], r->ctxfd, s->path, ".", &r->errs[0]);
		return;
	}
	p = strcmp(s->path, ".") ? xasprintf("%s/%s", s->path, s->entries[i - 1])
				 : xstrdup(s->entries[i - 1]);
	record_one(&r->rec[i], r->ctxfd, p, s->entries[i - 1], &r->errs[i]);
}

static void *records_main(void *arg)
{
	struct records *r = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED)) < r->n)
		records_make(r, i);
	return NULL;
}

/* Helper threads for n entries: none for a few, at most 3 (and the caller). */
static size_t records_helpers(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = n / 8;

	if (cpus < 2 || want == 0)
		return 0;
	if (want > (size_t)cpus - 1)
		want = (size_t)cpus - 1;
	return want < 3 ? want : 3;
}

static void records_run(struct records *r)
{
	pthread_t tid[3];
	size_t started = 0, helpers = records_helpers(r->n);

	while (started < helpers && pthread_create(&tid[started], NULL, records_main, r) == 0)
		started++;
	records_main(r);
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

static int hash_source(int ctxfd, struct hamn_build_source *s, struct hamn_error **err)
{
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();
	struct records r = { .ctxfd = ctxfd, .s = s, .n = 1 + strv_len(s->entries) };
	struct hamn_digest d;
	int rc = 0;

	r.rec = xcalloc(r.n, sizeof(*r.rec));
	r.errs = xcalloc(r.n, sizeof(*r.errs));
	records_run(&r);
	for (size_t i = 0; i < r.n; i++) {
		/* the first failure in entry order, as a single thread would report */
		if (rc == 0 && r.errs[i]) {
			hamn_error_propagate(err, &r.errs[i]);
			rc = -1;
		}
		if (rc == 0)
			hamn_sha256_update(h, r.rec[i].data, r.rec[i].len);
		hamn_buf_release(&r.rec[i]);
		hamn_error_free(&r.errs[i]);
	}
	free(r.rec);
	free(r.errs);
	if (rc < 0)
		return -1;
	hamn_sha256_final(h, &d);
	s->hash = xasprintf("%s:%s", S_ISDIR(s->mode) ? "dir" : "file", hamn_digest_hex(&d));
	return 0;
}

/* ---- selecting sources ---- */

static void add_source(struct hamn_build_sources *out, const char *path, mode_t mode,
		       char **entries)
{
	struct hamn_build_source *s;

	out->v = xreallocarray(out->v, out->n + 1, sizeof(*s));
	s = &out->v[out->n++];
	memset(s, 0, sizeof(*s));
	s->path = xstrdup(path);
	s->mode = mode;
	s->entries = entries;
}

/* Entries below dir, relative to it. */
static int dir_entries(int ctxfd, const struct hamn_build_ignore *ig, const char *dir,
		       char ***out, struct hamn_error **err)
{
	char **all = walk_tree(ctxfd, ig, dir, err);
	size_t skip = strcmp(dir, ".") ? strlen(dir) + 1 : 0;

	if (!all)
		return -1;
	for (size_t i = 0; all[i]; i++)
		memmove(all[i], all[i] + skip, strlen(all[i] + skip) + 1);
	*out = all;
	return 0;
}

static int not_found(const char *rel, struct hamn_error **err)
{
	return hamn_error_setq(err, ENOENT, "file not found in build context or excluded by "
			       ".dockerignore: stat %s: file does not exist", rel);
}

/* A symlink source whose target stays inside: the cleaned target path, else NULL. */
static char *inside_target(int ctxfd, const char *rel)
{
	char target[4096];
	_cleanup_free_ char *dir = xstrdup(rel), *joined = NULL;
	_cleanup_error_ struct hamn_error *e = NULL;
	_cleanup_close_ int fd = hamn_open_in_root(ctxfd, rel, O_PATH, 0,
						   HAMN_RESOLVE_NO_SYMLINK_LAST, &e);
	char *slash, *clean;
	ssize_t l;

	if (fd < 0 || (l = readlinkat(fd, "", target, sizeof(target) - 1)) < 0)
		return NULL;
	target[l] = '\0';
	if (target[0] == '/')
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	joined = slash ? xasprintf("%s/%s", dir, target) : xstrdup(target);
	clean = path_clean(joined);
	if (strcmp(clean, "..") == 0 || str_has_prefix(clean, "../")) {
		free(clean);
		return NULL;
	}
	return clean;
}

static int select_path(int ctxfd, const struct hamn_build_ignore *ig, const char *rel,
		       int depth, struct hamn_build_sources *out, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *e = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *target = NULL;
	char **entries = NULL;
	struct stat st;

	/* an excluded directory that an exception reaches into is still a source */
	if (strcmp(rel, ".") && hamn_build_ignore_match(ig, rel) &&
	    !hamn_build_ignore_descend(ig, rel))
		return not_found(rel, err);
	fd = hamn_open_in_root(ctxfd, rel, O_PATH, 0, HAMN_RESOLVE_NO_SYMLINK_LAST, &e);
	if (fd < 0 && (e->errnum == ENOENT || e->errnum == ENOTDIR))
		return not_found(rel, err);
	if (fd < 0)
		return hamn_error_propagate(err, &e);
	if (fstat(fd, &st) < 0)
		return hamn_error_set(err, errno, "stat '%s'", rel);
	if (S_ISLNK(st.st_mode) && depth < 40 && (target = inside_target(ctxfd, rel)))
		return select_path(ctxfd, ig, target, depth + 1, out, err);
	if (S_ISDIR(st.st_mode) && dir_entries(ctxfd, ig, rel, &entries, err) < 0)
		return -1;
	add_source(out, rel, st.st_mode, entries);
	return 0;
}

static int select_glob(int ctxfd, const struct hamn_build_ignore *ig, const char *pattern,
		       struct hamn_build_sources *out, struct hamn_error **err)
{
	_cleanup_strv_ char **all = walk_tree(ctxfd, ig, ".", err);
	const char *taken = NULL;
	size_t before = out->n;

	if (!all)
		return -1;
	for (size_t i = 0; all[i]; i++) {
		size_t tl = taken ? strlen(taken) : 0;

		if (taken && strncmp(all[i], taken, tl) == 0 && all[i][tl] == '/')
			continue;
		if (!glob_match(pattern, all[i]))
			continue;
		if (select_path(ctxfd, ig, all[i], 0, out, err) < 0)
			return -1;
		taken = all[i];
	}
	if (out->n == before)
		return hamn_error_setq(err, ENOENT, "no source files were specified");
	return 0;
}

int hamn_build_sources_select(int ctxfd, const struct hamn_build_ignore *ig, char *const *patterns,
			      bool hash, struct hamn_build_sources *out, struct hamn_error **err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; patterns && patterns[i]; i++) {
		const char *p = patterns[i];
		_cleanup_free_ char *rel = NULL;
		int r;

		while (*p == '/')
			p++;
		rel = path_clean(*p ? p : ".");
		if (strcmp(rel, "..") == 0 || str_has_prefix(rel, "../")) {
			hamn_error_setq(err, EPERM, "forbidden path outside the build context: %s",
					patterns[i]);
			goto fail;
		}
		r = has_glob(rel) ? select_glob(ctxfd, ig, rel, out, err)
				  : select_path(ctxfd, ig, rel, 0, out, err);
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0; hash && i < out->n; i++)
		if (hash_source(ctxfd, &out->v[i], err) < 0)
			goto fail;
	return 0;
fail:
	hamn_build_sources_release(out);
	return -1;
}

void hamn_build_sources_release(struct hamn_build_sources *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		hamn_strv_free(s->v[i].entries);
		free(s->v[i].hash);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int hamn_build_context_list(int ctxfd, const struct hamn_build_ignore *ig, const char *dockerfile,
			    char ***out, struct hamn_error **err)
{
	char **all = walk_tree(ctxfd, ig, ".", err);
	const char *always[] = { dockerfile ? dockerfile : "Dockerfile", ".dockerignore" };
	struct stat st;

	if (!all)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		if (fstatat(ctxfd, always[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !strv_contains(all, always[i]))
			strv_push(&all, always[i]);
	}
	strv_sort(all);
	*out = all;
	return 0;
}

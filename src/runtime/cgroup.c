/*
 * cgroup.c - the version-independent half of container cgroups: detection,
 * placement, the directory tree hamn makes and removes, moving and listing
 * processes, killing, persistence, and the file helpers both backends use.
 *
 * What a version does differently (limits, freezing, stats, preparing each
 * new level) is in cgroup_v1.c / cgroup_v2.c behind struct cgroup_ops.
 * Deliberately not here: the systemd cgroup driver (no D-Bus), and any write
 * outside the directories hamn placed: the hierarchy roots and the caller's
 * own cgroup are only read, except a v2 parent's cgroup.subtree_control,
 * which the placement needs.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup_internal.h"

#define READ_MAX (8u << 20)

const char *hamn_cg_root(void)
{
	const char *r = getenv("HAMN_TEST_CGROUP_ROOT");

	return r && *r ? r : HAMN_CGROUP_MOUNT;
}

bool hamn_cg_is_fake(void)
{
	const char *r = getenv("HAMN_TEST_CGROUP_ROOT");

	return r && *r;
}

enum hamn_cgroup_version hamn_cgroup_detect(void)
{
	static enum hamn_cgroup_version cached;
	struct statfs sfs;
	_cleanup_free_ char *probe = NULL;

	if (hamn_cg_is_fake()) {
		/* Not cached: tests switch between fake v1 and v2 trees. */
		probe = xasprintf("%s/cgroup.controllers", hamn_cg_root());
		return access(probe, F_OK) == 0 ? HAMN_CGROUP_V2 : HAMN_CGROUP_V1;
	}
	if (!cached) {
		if (statfs(HAMN_CGROUP_MOUNT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
			cached = HAMN_CGROUP_V2;
		else
			cached = HAMN_CGROUP_V1;
	}
	return cached;
}

/* ---- files ---- */

static int write_file(const char *dir, const char *file, const char *value)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *line = NULL;
	_cleanup_close_ int fd = -1;
	const char *buf = value;
	int flags = O_WRONLY | O_CLOEXEC;
	ssize_t n;

	if (hamn_cg_is_fake()) {
		line = xasprintf("%s\n", value);
		buf = line;
		flags |= O_CREAT | O_APPEND;
	}
	fd = open(path, flags, 0644);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, buf, strlen(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(buf) ? 0 : -EIO;
}

int hamn_cg_write(const char *dir, const char *file, const char *value,
		  struct hamn_error **err)
{
	int r = write_file(dir, file, value);

	if (r < 0)
		return hamn_error_set(err, -r, "write '%s' to '%s/%s'", value, dir, file);
	return 0;
}

int hamn_cg_write_opt(const char *dir, const char *file, const char *value,
		      struct hamn_error **err)
{
	int r = write_file(dir, file, value);

	if (r == -ENOENT) {
		log_kv(HAMN_LOG_DEBUG, "cgroup file absent, skipped", "path=%s/%s", dir, file);
		return 1;
	}
	if (r < 0)
		return hamn_error_set(err, -r, "write '%s' to '%s/%s'", value, dir, file);
	return 0;
}

/* Read a whole file; -errno on failure (no hamn_error: callers decide whether ENOENT matters). */
static int read_file(const char *dir, const char *file, char **out)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = -1;
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	char chunk[4096];
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (b.len + (size_t)n > READ_MAX)
			return -EFBIG;
		hamn_buf_append(&b, chunk, (size_t)n);
	}
	hamn_buf_append(&b, "", 0);
	*out = hamn_buf_steal(&b);
	return 0;
}

int hamn_cg_read(const char *dir, const char *file, char **out, struct hamn_error **err)
{
	int r = read_file(dir, file, out);

	if (r < 0)
		return hamn_error_set(err, -r, "read '%s/%s'", dir, file);
	return 0;
}

static int parse_u64_text(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;

	while (*text == ' ' || *text == '\t')
		text++;
	if (str_has_prefix(text, "max")) {
		*out = UINT64_MAX;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -errno;
	if (*end && *end != '\n' && *end != ' ')
		return -EINVAL;
	*out = v;
	return 0;
}

int hamn_cg_read_u64(const char *dir, const char *file, uint64_t *out, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file(dir, file, &text);

	if (r == 0)
		r = parse_u64_text(text, out);
	if (r < 0)
		return hamn_error_set(err, -r, "read '%s/%s'", dir, file);
	return 0;
}

int hamn_cg_read_key(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = text;

	while ((p = strstr(p, key)) != NULL) {
		bool at_start = p == text || p[-1] == '\n' || p[-1] == ' ';
		char next = p[klen];

		if (at_start && (next == ' ' || next == '=') &&
		    parse_u64_text(p + klen + 1, out) == 0)
			return 0;
		p += klen;
	}
	return 1;
}

int hamn_cg_stat_u64(const char *dir, const char *file, uint64_t *out, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (!dir)
		return 0;
	r = read_file(dir, file, &text);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = parse_u64_text(text, out);
	if (r < 0)
		return hamn_error_set(err, -r, "read '%s/%s'", dir, file);
	return 0;
}

int hamn_cg_stat_key(const char *dir, const char *file, const char *key, uint64_t *out,
		     struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (!dir)
		return 0;
	r = read_file(dir, file, &text);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hamn_error_set(err, -r, "read '%s/%s'", dir, file);
	hamn_cg_read_key(text, key, out);
	return 0;
}

void hamn_cg_backoff(unsigned attempt)
{
	long ms = attempt < 6 ? 1L << attempt : 50;
	struct timespec ts = { 0, ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool hamn_cg_has_controller(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p && *p) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

const char *hamn_cg_dir_for(const struct hamn_cgroup *cg, const char *name)
{
	for (size_t i = 0; i < cg->n_h; i++)
		if (cg->ops->version == HAMN_CGROUP_V2 ||
		    hamn_cg_has_controller(cg->h[i].controllers, name))
			return cg->h[i].dir;
	return NULL;
}

/* ---- placement ---- */

int hamn_cg_validate_id(const char *id, struct hamn_error **err)
{
	if (!id || !*id || strlen(id) > 1024)
		return hamn_error_set(err, EINVAL, "invalid container id for a cgroup");
	if (strchr(id, '/') || strstr(id, "..") || streq(id, "."))
		return hamn_error_set(err, EINVAL, "invalid container id '%s' for a cgroup", id);
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return hamn_error_set(err, EINVAL, "invalid container id for a cgroup");
	return 0;
}

static char *join_own(const char *own, const char *rel)
{
	size_t n = strlen(own);

	return xasprintf("%s%s%s", own, n && own[n - 1] == '/' ? "" : "/", rel);
}

int hamn_cg_placement(const char *own, const char *id, const char *cgroups_path,
		      char **path_out, unsigned *depth_out, bool *is_default,
		      struct hamn_error **err)
{
	_cleanup_strv_ char **parts = NULL;
	_cleanup_strv_ char **comps = NULL;
	_cleanup_free_ char *rel = NULL;

	if (hamn_cg_validate_id(id, err) < 0)
		return -1;
	if (!own || own[0] != '/')
		return hamn_error_set(err, EINVAL, "own cgroup '%s' is not absolute",
				      own ? own : "");
	*is_default = !cgroups_path || !*cgroups_path;
	if (*is_default) {
		rel = xasprintf("hamn/%s", id);
		*path_out = join_own(own, rel);
		*depth_out = 2;
		return 0;
	}
	if (strchr(cgroups_path, ':'))
		return hamn_error_set(err, EINVAL,
				      "cgroupsPath '%s': systemd slice paths are not supported",
				      cgroups_path);
	parts = str_split(cgroups_path, '/');
	for (char **p = parts; *p; p++) {
		if (!**p)
			continue;
		if (streq(*p, ".") || streq(*p, ".."))
			return hamn_error_set(err, EINVAL, "cgroupsPath '%s' has '%s'",
					      cgroups_path, *p);
		strv_push(&comps, *p);
	}
	if (strv_len(comps) == 0)
		return hamn_error_set(err, EINVAL, "cgroupsPath '%s' is a hierarchy root",
				      cgroups_path);
	rel = strv_join(comps, "/");
	*path_out = cgroups_path[0] == '/' ? xasprintf("/%s", rel) : join_own(own, rel);
	*depth_out = (unsigned)strv_len(comps);
	return 0;
}

int hamn_cg_parse_self(const char *text, const char *controllers, char **path_out,
		       struct hamn_error **err)
{
	_cleanup_strv_ char **lines = str_split(text, '\n');
	_cleanup_free_ char *first = xstrndup(controllers, strcspn(controllers, ","));

	for (char **l = lines; *l; l++) {
		char *c1 = strchr(*l, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		_cleanup_free_ char *list = NULL;
		bool match;

		if (!c2)
			continue;
		list = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
		if (*first)
			match = hamn_cg_has_controller(list, first);
		else
			match = !*list && strncmp(*l, "0:", 2) == 0;
		if (match) {
			*path_out = xstrdup(c2 + 1);
			return 0;
		}
	}
	return hamn_error_set(err, ENOENT, "no cgroup of this process for '%s'",
			      *controllers ? controllers : "cgroup2");
}

void hamn_cg_mounts_free(struct cgroup_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].controllers);
		free(m[i].mount);
		free(m[i].mount_root);
		free(m[i].own);
	}
	free(m);
}

/* mount + path inside the hierarchy, minus the part of path above the mount's root */
static char *hier_dir(const struct cgroup_mount *m, const char *path)
{
	size_t n = strlen(m->mount_root);

	if (streq(m->mount_root, "/"))
		return xasprintf("%s%s", m->mount, path);
	if (strncmp(path, m->mount_root, n) == 0 && (path[n] == '/' || path[n] == '\0'))
		return xasprintf("%s%s", m->mount, path + n);
	return xasprintf("%s%s", m->mount, path);
}

/* ---- the object ---- */

void hamn_cgroup_free(struct hamn_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_h; i++) {
		free(cg->h[i].controllers);
		free(cg->h[i].path);
		free(cg->h[i].dir);
	}
	free(cg->h);
	free(cg->id);
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	free(cg);
}

static struct hamn_cgroup *cgroup_alloc(enum hamn_cgroup_version v, const char *id)
{
	struct hamn_cgroup *cg = xzalloc(sizeof(*cg));

	cg->ops = v == HAMN_CGROUP_V2 ? &hamn_cgroup_v2_ops : &hamn_cgroup_v1_ops;
	cg->id = xstrdup(id);
	cg->dirfd = -1;
	return cg;
}

struct hamn_cgroup *hamn_cgroup_new(const char *id, const char *cgroups_path,
				    struct hamn_error **err)
{
	enum hamn_cgroup_version v = hamn_cgroup_detect();
	_cleanup_(cleanup_hamn_cgroupp) struct hamn_cgroup *cg = NULL;
	struct cgroup_mount *m = NULL;
	size_t n = 0;
	int r;

	if (hamn_cg_validate_id(id, err) < 0)
		return NULL;
	r = v == HAMN_CGROUP_V2 ? hamn_cg_v2_mounts(&m, &n, err) : hamn_cg_v1_mounts(&m, &n, err);
	if (r < 0)
		return NULL;
	if (n == 0) {
		hamn_error_set(err, ENOENT, "no cgroup hierarchy is mounted");
		goto out;
	}
	cg = cgroup_alloc(v, id);
	cg->h = xcalloc(n, sizeof(*cg->h));
	for (size_t i = 0; i < n; i++) {
		struct cgroup_hier *h = &cg->h[i];

		if (hamn_cg_placement(m[i].own, id, cgroups_path, &h->path, &h->depth,
				      &cg->is_default, err) < 0)
			goto out;
		cg->n_h++;
		h->controllers = xstrdup(m[i].controllers);
		h->dir = hier_dir(&m[i], h->path);
		h->removable = cg->is_default ? h->depth : 0;
	}
	hamn_cg_mounts_free(m, n);
	return steal_pointer(&cg);
out:
	hamn_cg_mounts_free(m, n);
	return NULL;
}

/* dir with its last k components removed */
static char *dir_up(const char *dir, unsigned k)
{
	size_t n = strlen(dir);

	while (k-- > 0) {
		while (n > 1 && dir[n - 1] != '/')
			n--;
		if (n > 1)
			n--;
	}
	return xstrndup(dir, n);
}

/* The fake tree holds plain files, which a real cgroupfs rmdir does not care about. */
static void fake_unlink_files(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL)
		if (e->d_type == DT_REG)
			unlinkat(dirfd(d), e->d_name, 0);
}

/* rmdir dir and every cgroup below it, deepest first. Returns 0 or -errno. */
static int remove_tree(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		_cleanup_free_ char *sub = NULL;

		if (e->d_type != DT_DIR || streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		/* A nested cgroup that stays makes our rmdir fail below, which reports it. */
		sub = xasprintf("%s/%s", dir, e->d_name);
		remove_tree(sub);
	}
	if (hamn_cg_is_fake())
		fake_unlink_files(dir);
	/* The kernel can lag behind the last exit: EBUSY is retried briefly. */
	for (unsigned attempt = 0;; attempt++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || attempt >= 12)
			return -errno;
		hamn_cg_backoff(attempt);
	}
}

/* Remove the leaf, then the parents hamn made, as long as they are empty. */
static int remove_dirs(const struct cgroup_hier *h, struct hamn_error **err)
{
	int r;

	if (h->removable == 0)
		return 0;	/* an explicit cgroupsPath that existed before us */
	r = remove_tree(h->dir);
	if (r < 0)
		return hamn_error_set(err, -r, "remove cgroup '%s'%s", h->dir,
				      r == -EBUSY ? " (processes remain)" : "");
	for (unsigned k = 1; k < h->removable; k++) {
		_cleanup_free_ char *up = dir_up(h->dir, k);

		if (hamn_cg_is_fake())
			fake_unlink_files(up);
		/* Busy or not empty: another container of ours still lives there. */
		if (rmdir(up) < 0 && errno != ENOENT)
			break;
	}
	return 0;
}

/* mkdir -p from the first level hamn places; counts what it made into h->removable. */
static int make_dirs_once(const struct hamn_cgroup *cg, struct cgroup_hier *h,
			  struct hamn_error **err)
{
	unsigned first_made = 0;

	for (unsigned k = h->depth; k >= 1; k--) {
		_cleanup_free_ char *cur = dir_up(h->dir, k - 1);
		_cleanup_free_ char *parent = dir_up(h->dir, k);

		if (mkdir(cur, 0755) == 0) {
			if (!first_made)
				first_made = k;
		} else if (errno != EEXIST) {
			hamn_error_set(err, errno, "create cgroup '%s'", cur);
			goto fail;
		}
		if (!cg->is_default)
			h->removable = first_made;
		if (cg->ops->prepare_level(h, parent, cur, err) < 0)
			goto fail;
	}
	return 0;
fail:
	if (first_made)
		remove_dirs(h, NULL);
	return -1;
}

static int make_dirs(const struct hamn_cgroup *cg, struct cgroup_hier *h, struct hamn_error **err)
{
	/* ENOENT: a parent we share with another container was just removed by its destroy. */
	for (unsigned attempt = 0;; attempt++) {
		struct hamn_error *e = NULL;

		if (make_dirs_once(cg, h, &e) == 0)
			return 0;
		if (e->errnum != ENOENT || attempt >= 3)
			return hamn_error_propagate(err, &e);
		hamn_error_free(&e);
	}
}

int hamn_cgroup_create(struct hamn_cgroup *cg, const struct hamn_oci_resources *res,
		       struct hamn_error **err)
{
	size_t i;

	for (i = 0; i < cg->n_h; i++)
		if (make_dirs(cg, &cg->h[i], err) < 0)
			goto fail;
	if (cg->ops->apply(cg, res, false, err) < 0)
		goto fail;
	return 0;
fail:
	/* Nothing is left behind: every hierarchy made so far is removed again. */
	while (i-- > 0)
		remove_dirs(&cg->h[i], NULL);
	if (cg->dirfd >= 0) {
		close(cg->dirfd);
		cg->dirfd = -1;
	}
	return hamn_error_wrap(err, "cgroup of '%s'", cg->id);
}

int hamn_cgroup_update(struct hamn_cgroup *cg, const struct hamn_oci_resources *res,
		       struct hamn_error **err)
{
	if (!res)
		return 0;
	if (cg->ops->apply(cg, res, true, err) < 0)
		return hamn_error_wrap(err, "update cgroup of '%s'", cg->id);
	return 0;
}

int hamn_cgroup_destroy(struct hamn_cgroup *cg, struct hamn_error **err)
{
	struct hamn_error *first = NULL;

	if (cg->dirfd >= 0) {
		close(cg->dirfd);
		cg->dirfd = -1;
	}
	for (size_t i = 0; i < cg->n_h; i++) {
		struct hamn_error *e = NULL;

		if (remove_dirs(&cg->h[i], &e) < 0) {
			if (!first)
				first = e;
			else
				hamn_error_free(&e);
		}
	}
	if (first)
		return hamn_error_propagate(err, &first);
	return 0;
}

int hamn_cgroup_enter(struct hamn_cgroup *cg, pid_t pid, struct hamn_error **err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n_h; i++)
		if (hamn_cg_write(cg->h[i].dir, "cgroup.procs", buf, err) < 0)
			return hamn_error_wrap(err, "move pid %d into the cgroup of '%s'",
					       (int)pid, cg->id);
	return 0;
}

int hamn_cgroup_dirfd(struct hamn_cgroup *cg)
{
	if (cg->ops->version != HAMN_CGROUP_V2) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (cg->dirfd < 0)
		cg->dirfd = open(cg->h[0].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return cg->dirfd;
}

int hamn_cgroup_freeze(struct hamn_cgroup *cg, bool frozen, struct hamn_error **err)
{
	if (cg->ops->freeze(cg, frozen, err) < 0)
		return hamn_error_wrap(err, "%s '%s'", frozen ? "pause" : "resume", cg->id);
	return 0;
}

int hamn_cgroup_is_frozen(struct hamn_cgroup *cg, bool *out, struct hamn_error **err)
{
	*out = false;
	return cg->ops->is_frozen(cg, out, err);
}

int hamn_cgroup_stats(struct hamn_cgroup *cg, struct hamn_cgroup_stats *out,
		      struct hamn_error **err)
{
	memset(out, 0, sizeof(*out));
	if (cg->ops->stats(cg, out, err) < 0)
		return hamn_error_wrap(err, "stats of '%s'", cg->id);
	return 0;
}

/* ---- processes ---- */

static int collect_pids(const char *dir, bool top, pid_t **pids, size_t *n,
			struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int r = read_file(dir, "cgroup.procs", &text);

	if (r == -ENOENT && !top)
		return 0;	/* a nested cgroup went away while we walked */
	if (r < 0)
		return hamn_error_set(err, -r, "read '%s/cgroup.procs'", dir);
	for (char *p = text; *p;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v > 0) {
			*pids = xreallocarray(*pids, *n + 1, sizeof(**pids));
			(*pids)[(*n)++] = (pid_t)v;
		}
		p = end;
	}
	d = opendir(dir);
	if (!d)
		return hamn_error_set(err, errno, "open '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		_cleanup_free_ char *sub = NULL;

		if (e->d_type != DT_DIR || streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		sub = xasprintf("%s/%s", dir, e->d_name);
		if (collect_pids(sub, false, pids, n, err) < 0)
			return -1;
	}
	return 0;
}

/* Every hierarchy lists the same processes; pick one that is always there. */
static const char *procs_dir(const struct hamn_cgroup *cg)
{
	static const char *const prefer[] = { "pids", "freezer", "memory", "cpu" };
	const char *dir;

	if (cg->ops->version == HAMN_CGROUP_V2)
		return cg->h[0].dir;
	for (size_t i = 0; i < sizeof(prefer) / sizeof(prefer[0]); i++)
		if ((dir = hamn_cg_dir_for(cg, prefer[i])) != NULL)
			return dir;
	return cg->h[0].dir;
}

int hamn_cgroup_pids(struct hamn_cgroup *cg, pid_t **pids_out, size_t *n_out,
		     struct hamn_error **err)
{
	pid_t *pids = NULL;
	size_t n = 0;

	if (collect_pids(procs_dir(cg), true, &pids, &n, err) < 0) {
		free(pids);
		return hamn_error_wrap(err, "processes of '%s'", cg->id);
	}
	*pids_out = pids;
	*n_out = n;
	return 0;
}

static int signal_pids(struct hamn_cgroup *cg, int sig, struct hamn_error **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	if (hamn_cgroup_pids(cg, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return hamn_error_set(err, errno, "signal %d to pid %d of '%s'", sig,
					      (int)pids[i], cg->id);
	return 0;
}

int hamn_cgroup_kill_all(struct hamn_cgroup *cg, int sig, struct hamn_error **err)
{
	struct hamn_error *e = NULL;
	bool frozen = false;
	int r;

	r = cg->ops->kill_fast(cg, sig, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (sig == SIGKILL) {
		/*
		 * Freeze so nothing forks between listing and killing; the
		 * thaw afterwards also lets already-frozen tasks die (v1 tasks
		 * do not handle SIGKILL while frozen).
		 */
		frozen = cg->ops->freeze(cg, true, &e) == 0;
		if (!frozen) {
			log_kv(HAMN_LOG_DEBUG, "cannot freeze before kill",
			       "container=%s err=\"%s\"", cg->id, e->msg);
			hamn_error_free(&e);
		}
	}
	r = signal_pids(cg, sig, err);
	if (frozen && cg->ops->freeze(cg, false, &e) < 0) {
		if (r == 0)
			return hamn_error_propagate(err, &e);
		hamn_error_free(&e);
	}
	return r;
}

/* ---- device rules ---- */

void hamn_cg_device_rules(const struct hamn_oci_resources *res,
			  struct hamn_oci_device_rule **out, size_t *n_out)
{
	size_t nu = res ? res->n_devices : 0;
	struct hamn_oci_device_rule *v = xcalloc(1 + nu, sizeof(*v));

	v[0] = (struct hamn_oci_device_rule){ false, 'a', -1, -1, "rwm" };
	if (nu)
		memcpy(v + 1, res->devices, nu * sizeof(*v));
	*out = v;
	*n_out = 1 + nu;
}

void hamn_cg_device_rule_text(const struct hamn_oci_device_rule *r, char *buf, size_t len)
{
	char maj[24] = "*", min[24] = "*";

	if (r->major >= 0)
		snprintf(maj, sizeof(maj), "%lld", (long long)r->major);
	if (r->minor >= 0)
		snprintf(min, sizeof(min), "%lld", (long long)r->minor);
	snprintf(buf, len, "%c %s:%s %s", r->type ? r->type : 'a', maj, min,
		 r->access[0] ? r->access : "rwm");
}

/* ---- persistence ---- */

json_t *hamn_cgroup_to_json(const struct hamn_cgroup *cg)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < cg->n_h; i++) {
		const struct cgroup_hier *h = &cg->h[i];

		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I}",
						     "controllers", h->controllers, "path", h->path,
						     "dir", h->dir, "depth", (json_int_t)h->depth,
						     "removable", (json_int_t)h->removable));
	}
	return json_pack("{s:i, s:s, s:b, s:o}", "version", (int)cg->ops->version, "id", cg->id,
			 "default", cg->is_default, "hierarchies", arr);
}

/* A stored directory must be below the cgroup mount and must not climb out of it. */
static bool dir_is_sane(const char *dir)
{
	const char *root = hamn_cg_root();
	size_t n = strlen(root);

	if (strncmp(dir, root, n) != 0 || dir[n] != '/')
		return false;
	return !strstr(dir, "/../") && !str_has_suffix(dir, "/..") && !strstr(dir, "/./");
}

static int hier_from_json(json_t *o, struct cgroup_hier *h, struct hamn_error **err)
{
	const char *ctl, *path, *dir;
	json_int_t depth, removable;

	if (json_unpack(o, "{s:s, s:s, s:s, s:I, s:I}", "controllers", &ctl, "path", &path,
			"dir", &dir, "depth", &depth, "removable", &removable) < 0)
		return hamn_error_set(err, EINVAL, "cgroup state: bad hierarchy entry");
	if (!dir_is_sane(dir) || path[0] != '/' || depth < 1 || depth > 64 || removable < 0 ||
	    removable > depth)
		return hamn_error_set(err, EINVAL, "cgroup state: bad directory '%s'", dir);
	h->controllers = xstrdup(ctl);
	h->path = xstrdup(path);
	h->dir = xstrdup(dir);
	h->depth = (unsigned)depth;
	h->removable = (unsigned)removable;
	return 0;
}

struct hamn_cgroup *hamn_cgroup_from_json(json_t *obj, struct hamn_error **err)
{
	_cleanup_(cleanup_hamn_cgroupp) struct hamn_cgroup *cg = NULL;
	json_t *arr = NULL, *o;
	const char *id;
	int version, is_default = 0;
	size_t i;

	if (json_unpack(obj, "{s:i, s:s, s?b, s:o}", "version", &version, "id", &id, "default",
			&is_default, "hierarchies", &arr) < 0 || !json_is_array(arr) ||
	    json_array_size(arr) == 0 || (version != 1 && version != 2)) {
		hamn_error_set(err, EINVAL, "cgroup state: malformed");
		return NULL;
	}
	if (hamn_cg_validate_id(id, err) < 0)
		return NULL;
	cg = cgroup_alloc((enum hamn_cgroup_version)version, id);
	cg->is_default = is_default;
	cg->h = xcalloc(json_array_size(arr), sizeof(*cg->h));
	json_array_foreach(arr, i, o) {
		if (hier_from_json(o, &cg->h[i], err) < 0)
			return NULL;
		cg->n_h++;
	}
	return steal_pointer(&cg);
}

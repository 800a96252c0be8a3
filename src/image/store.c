/*
 * store.c - the image store: opening the directories under --root, the
 * lock, and the garbage collection that makes a crash invisible.
 *
 * What a crash can leave behind, and what removes it at the next open:
 * - staging files and half-extracted layers under tmp/ and layers/tmp-*:
 *   deleted (nothing outside the database refers to them);
 * - a layer renamed into place but not recorded, or recorded but used by no
 *   image (the image transaction did not commit): deleted;
 * - blobs no image or layer row refers to: deleted.
 * The store does not repair a layer directory that vanished behind its back.
 */
#include "image/internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

void store_lock(struct hamn_image_store *st)
{
	pthread_mutex_lock(&st->lock);
}

void store_unlock(struct hamn_image_store *st)
{
	pthread_mutex_unlock(&st->lock);
}

char *store_tmp_name(const char *prefix)
{
	unsigned char rnd[8];
	char hex[17];

	hamn_random_bytes(rnd, sizeof(rnd));
	hamn_hex(rnd, sizeof(rnd), hex);
	return xasprintf("%s-%s", prefix, hex);
}

static int open_subdir(int rootfd, const char *path, struct hamn_error **err)
{
	int fd;

	if (hamn_mkdir_p(rootfd, path, 0700, err) < 0)
		return -1;
	fd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	return fd;
}

static bool is_hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == HAMN_DIGEST_HEX_LEN;
}

/* Is "sha256:<name>" in a row that the query (one ?1 parameter) selects? */
static int referenced(struct hamn_image_store *st, const char *sql, const char *name, bool *out,
		      struct hamn_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = db_prepare(st, sql, err);
	_cleanup_free_ char *d = xasprintf("sha256:%s", name);
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, d, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, "lookup", err);
	*out = rc == SQLITE_ROW;
	return 0;
}

/* Remove every entry of dirfd for which keep() says false. */
static int sweep(struct hamn_image_store *st, int dirfd, const char *what,
		 int (*keep)(struct hamn_image_store *, const char *, bool *, struct hamn_error **),
		 struct hamn_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		hamn_error_set(err, errno, "open '%s'", what);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		bool k = false;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (keep && keep(st, de->d_name, &k, err) < 0)
			return -1;
		if (k)
			continue;
		log_kv(HAMN_LOG_INFO, "image store: removing leftover", "dir=%s name=%s", what,
		       de->d_name);
		if (hamn_rm_rf(dirfd, de->d_name, err) < 0)
			return hamn_error_wrap(err, "clean up '%s'", what);
	}
	return 0;
}

static int keep_layer(struct hamn_image_store *st, const char *name, bool *out,
		      struct hamn_error **err)
{
	*out = false;
	if (!is_hex64(name))
		return 0;
	return referenced(st, "SELECT 1 FROM image_layers WHERE chain_id = ?1", name, out, err);
}

static int keep_blob(struct hamn_image_store *st, const char *name, bool *out,
		     struct hamn_error **err)
{
	*out = false;
	if (!is_hex64(name))
		return 0;
	return referenced(st,
			  "SELECT 1 FROM images WHERE id = ?1 OR manifest = ?1 "
			  "UNION ALL SELECT 1 FROM image_layers WHERE blob = ?1 LIMIT 1",
			  name, out, err);
}

static int collect_garbage(struct hamn_image_store *st, struct hamn_error **err)
{
	if (sweep(st, st->tmp_fd, "tmp", NULL, err) < 0)
		return -1;
	/* rows a crash left half-written: layers no image uses, tags of no image */
	if (db_begin(st, err) < 0)
		return -1;
	if (db_exec(st,
		    "DELETE FROM image_layers WHERE chain_id NOT IN "
		    " (SELECT chain_id FROM image_stack);"
		    "DELETE FROM image_tags WHERE image_id NOT IN (SELECT id FROM images);",
		    err) < 0) {
		db_rollback(st);
		return -1;
	}
	if (db_commit(st, err) < 0)
		return -1;
	if (sweep(st, st->layers_fd, "layers", keep_layer, err) < 0)
		return -1;
	return sweep(st, st->blobs_fd, "blobs/sha256", keep_blob, err);
}

static int root_path_of(int fd, char **out, struct hamn_error **err)
{
	char buf[HAMN_FD_PATH_MAX], target[PATH_MAX];
	ssize_t n = readlink(hamn_fd_path(fd, buf), target, sizeof(target) - 1);

	if (n < 0)
		return hamn_error_set(err, errno, "find the path of the image store root");
	target[n] = '\0';
	*out = xstrdup(target);
	return 0;
}

static int store_init(struct hamn_image_store *st, int root_dirfd, struct hamn_error **err)
{
	st->rootfd = fcntl(root_dirfd, F_DUPFD_CLOEXEC, 3);
	if (st->rootfd < 0)
		return hamn_error_set(err, errno, "image store: dup root fd");
	if (root_path_of(st->rootfd, &st->root_path, err) < 0)
		return -1;
	st->blobs_fd = open_subdir(st->rootfd, "blobs/sha256", err);
	if (st->blobs_fd < 0)
		return -1;
	st->layers_fd = open_subdir(st->rootfd, "layers", err);
	if (st->layers_fd < 0)
		return -1;
	st->tmp_fd = open_subdir(st->rootfd, "tmp", err);
	if (st->tmp_fd < 0)
		return -1;
	if (db_migrate(st, err) < 0)
		return -1;
	return collect_garbage(st, err);
}

struct hamn_image_store *hamn_image_store_open(int root_dirfd, sqlite3 *db,
					       struct hamn_error **err)
{
	struct hamn_image_store *st = xzalloc(sizeof(*st));

	st->rootfd = st->blobs_fd = st->layers_fd = st->tmp_fd = -1;
	st->db = db;
	pthread_mutex_init(&st->lock, NULL);
	if (store_init(st, root_dirfd, err) < 0) {
		hamn_image_store_free(st);
		hamn_error_wrap(err, "open image store");
		return NULL;
	}
	return st;
}

void hamn_image_store_free(struct hamn_image_store *st)
{
	if (!st)
		return;
	cleanup_closep(&st->rootfd);
	cleanup_closep(&st->blobs_fd);
	cleanup_closep(&st->layers_fd);
	cleanup_closep(&st->tmp_fd);
	free(st->root_path);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

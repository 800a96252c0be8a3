/*
 * store.c - the image store: opening the directories under --root, the
 * schema, the lock. What opening collects is in gc.c.
 *
 * The module keeps images on disk and answers questions about them. It
 * deliberately does not talk to registries (distribution/ does, through
 * the blob and layer functions), mount anything (the engine mounts the
 * overlay from hamn_image_lowerdir()), or know about containers (the
 * engine says which images are in use through a callback).
 */
#include "image/internal.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

void store_lock(struct hamn_image_store *st)
{
	pthread_mutex_lock(&st->lock);
}

void store_unlock(struct hamn_image_store *st)
{
	char **trash = steal_pointer(&st->trash);

	pthread_mutex_unlock(&st->lock);
	/* deleting a big layer takes a while: others may use the store meanwhile */
	for (size_t i = 0; trash && trash[i]; i++) {
		struct hamn_error *e = NULL;

		if (hamn_rm_rf(st->tmp_fd, trash[i], &e) < 0) {
			/* tmp/ is emptied at the next open */
			log_kv(HAMN_LOG_WARN, "cannot remove", "dir=tmp name=%s err=\"%s\"",
			       trash[i], e->msg);
			hamn_error_free(&e);
		}
	}
	hamn_strv_free(trash);
}

int store_trash(struct hamn_image_store *st, int dirfd, const char *name,
		struct hamn_error **err)
{
	char *t = store_tmp_name("trash");

	if (renameat(dirfd, name, st->tmp_fd, t) == 0) {
		strv_push_take(&st->trash, t);
		return 0;
	}
	free(t);
	if (errno == ENOENT)
		return 0;
	return hamn_rm_rf(dirfd, name, err);	/* e.g. EXDEV: tmp/ on another mount */
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
	return store_collect_garbage(st, err);
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
	free(st->pins);
	hamn_strv_free(st->trash);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

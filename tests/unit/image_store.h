/*
 * image_store.h - the image store fixture shared by test_image.c and
 * test_image_store.c: a store in a temp dir with its own SQLite database,
 * two small layers, and helpers to load the two-layer test image and check
 * that the store is empty. Includers disable -Wmissing-field-initializers.
 */
#ifndef HAMN_TEST_IMAGE_STORE_H
#define HAMN_TEST_IMAGE_STORE_H

#include "image_tar.h"

struct senv {
	char dir[64];
	int dirfd;
	int rootfd;
	sqlite3 *db;
	struct hamn_image_store *st;
	struct layerdef l[2];	/* l[0] below l[1] */
	char **lines;		/* load reports */
};

static inline void open_store_at(struct senv *e, const char *root, sqlite3 **db,
				 struct hamn_image_store **st)
{
	_cleanup_free_ char *dbpath = xasprintf("%s/%s/hamn.db", e->dir, root);
	_cleanup_close_ int fd = -1;
	struct hamn_error *err = NULL;

	mkdirat(e->dirfd, root, 0700);
	fd = openat(e->dirfd, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sqlite3_open(dbpath, db), SQLITE_OK);
	sqlite3_exec(*db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	*st = hamn_image_store_open(fd, *db, &err);
	if (!*st)
		fail_msg("open store: %s", err->msg);
}

static inline void close_store(sqlite3 **db, struct hamn_image_store **st)
{
	hamn_image_store_free(*st);
	*st = NULL;
	sqlite3_close(*db);
	*db = NULL;
}

static inline int setup(void **state)
{
	struct senv *e = xzalloc(sizeof(*e));

	make_tmpdir(e->dir);
	e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	open_store_at(e, "root", &e->db, &e->st);
	e->rootfd = openat(e->dirfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	layer_make(&e->l[0], "hello", "hello\n");
	layer_make(&e->l[1], "two", "two\n");
	e->lines = xcalloc(1, sizeof(char *));
	*state = e;
	return 0;
}

static inline int teardown(void **state)
{
	struct senv *e = *state;

	close_store(&e->db, &e->st);
	close(e->rootfd);
	close(e->dirfd);
	remove_tmpdir(e->dir);
	layer_free(&e->l[0]);
	layer_free(&e->l[1]);
	hamn_strv_free(e->lines);
	free(e);
	return 0;
}

static inline void collect(const char *line, void *ud)
{
	strv_push(&((struct senv *)ud)->lines, line);
}

static inline int load_buf(struct senv *e, struct hamn_image_store *st,
			   const struct hamn_buf *b, struct hamn_error **err)
{
	_cleanup_close_ int fd = mem_fd(b->data, b->len);

	hamn_strv_free(e->lines);
	e->lines = xcalloc(1, sizeof(char *));
	return hamn_image_load(st, fd, collect, e, err);
}

static inline void must(int rc, struct hamn_error **err)
{
	if (rc < 0)
		fail_msg("%s", (*err)->msg);
}

/* The chain ID of ls[0..1]. */
static inline void chain_of(const struct layerdef *ls, struct hamn_digest *out)
{
	_cleanup_free_ char *s = xasprintf("%s %s", ls[0].diff.str, ls[1].diff.str);

	hamn_sha256_buf(s, strlen(s), out);
}

/* Load the two-layer test image tagged hamn-unit:v1; returns its config digest. */
static inline void load_test_image(struct senv *e, struct hamn_digest *id)
{
	_cleanup_free_ char *config = config_make(e->l, 2, NULL);
	_cleanup_buf_ struct hamn_buf tar = HAMN_BUF_INIT;
	struct hamn_error *err = NULL;

	hamn_sha256_buf(config, strlen(config), id);
	docker_tar(&tar, config, e->l, 2, "[\"hamn-unit:v1\"]", NULL);
	must(load_buf(e, e->st, &tar, &err), &err);
}

static inline size_t count_images(struct hamn_image_store *st)
{
	struct hamn_error *err = NULL;
	_cleanup_json_ json_t *l = hamn_image_list_json(st, NULL, &err);

	if (!l)
		fail_msg("%s", err->msg);
	return json_array_size(l);
}

static inline void assert_store_empty(struct senv *e)
{
	assert_int_equal(count_images(e->st), 0);
	assert_int_equal(dir_count(e->rootfd, "layers"), 0);
	assert_int_equal(dir_count(e->rootfd, "tmp"), 0);
	assert_int_equal(dir_count(e->rootfd, "blobs/sha256"), 0);
}

static inline const char *jstr(json_t *o, const char *path)
{
	_cleanup_strv_ char **parts = str_split(path, '.');

	for (size_t i = 0; parts[i]; i++)
		o = json_is_array(o) ? json_array_get(o, (size_t)atoi(parts[i]))
				     : json_object_get(o, parts[i]);
	return json_string_value(o);
}

#endif

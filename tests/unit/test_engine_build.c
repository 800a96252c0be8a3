/*
 * test_engine_build.c - the build cache's prune (src/engine/build_ops.c,
 * POST /build/prune) on an engine that has only its root directory: an
 * empty cache (qsort was given a NULL array; UBSan's nonnull check in
 * `make asan`), entries picked by ID prefix, the newest kept by size,
 * and files that are not entries left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/build_ops.h"
#include "engine/internal.h"

#define HEX_A "aa00000000000000000000000000000000000000000000000000000000000000"
#define HEX_B "bb00000000000000000000000000000000000000000000000000000000000000"
#define HEX_C "cc00000000000000000000000000000000000000000000000000000000000000"

struct fixture {
	struct hamn_engine e; /* root and root_fd: all the prune needs */
	int cache_fd;
};

static int setup(void **state)
{
	struct fixture *f = xzalloc(sizeof(*f));
	char dir[] = "/tmp/hamn-test-build-XXXXXX";

	if (!mkdtemp(dir))
		return -1;
	f->e.root = xstrdup(dir);
	f->e.root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->e.root_fd < 0 || mkdirat(f->e.root_fd, "builder", 0700) < 0 ||
	    mkdirat(f->e.root_fd, "builder/cache", 0700) < 0)
		return -1;
	f->cache_fd = openat(f->e.root_fd, "builder/cache", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->cache_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	int r = hamn_rm_rf(AT_FDCWD, f->e.root, &err);

	hamn_error_free(&err);
	close(f->cache_fd);
	close(f->e.root_fd);
	free(f->e.root);
	free(f);
	return r;
}

/* A cache entry of size bytes, written age_s seconds ago. */
static void entry(struct fixture *f, const char *name, size_t size, time_t age_s)
{
	char buf[256] = {0};
	struct timespec t[2] = {{.tv_sec = time(NULL) - age_s}, {.tv_sec = time(NULL) - age_s}};
	int fd = openat(f->cache_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0 && size <= sizeof(buf));
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	assert_int_equal(futimens(fd, t), 0);
	close(fd);
}

static bool present(struct fixture *f, const char *name)
{
	return faccessat(f->cache_fd, name, F_OK, 0) == 0;
}

/* Prune with o; the deleted IDs joined with ' ' in *ids (new string). */
static int64_t prune(struct fixture *f, const struct hamn_engine_build_prune_opts *o, char **ids)
{
	struct hamn_error *err = NULL;
	json_t *deleted = NULL, *v;
	int64_t reclaimed = -1;
	struct hamn_buf b = HAMN_BUF_INIT;
	size_t i;

	if (hamn_engine_build_prune(&f->e, o, &deleted, &reclaimed, &err) < 0)
		fail_msg("prune: %s", err->msg);
	json_array_foreach (deleted, i, v)
		hamn_buf_printf(&b, "%s%s", i ? " " : "", json_string_value(v));
	json_decref(deleted);
	*ids = hamn_buf_steal(&b);
	return reclaimed;
}

static void an_empty_cache_prunes_nothing(void **state)
{
	struct hamn_engine_build_prune_opts o = {0};
	char *ids;

	assert_int_equal(prune(*state, &o, &ids), 0);
	assert_string_equal(ids, "");
	free(ids);
}

static void entries_go_by_prefix_and_the_newest_stay_within_keep(void **state)
{
	struct fixture *f = *state;
	char *const only_a[] = {"aa", NULL};
	struct hamn_engine_build_prune_opts by_id = {.ids = only_a};
	struct hamn_engine_build_prune_opts keep = {.keep_bytes = 100};
	char *ids;

	entry(f, HEX_A, 10, 300);
	entry(f, HEX_B, 60, 200);
	entry(f, HEX_C, 50, 100);
	entry(f, HEX_C ".tmp", 5, 0); /* a write in progress, not an entry */
	assert_int_equal(prune(f, &by_id, &ids), 10);
	assert_string_equal(ids, HEX_A);
	free(ids);
	/* newest first: C (50) fits in 100 bytes, B (60) would not */
	assert_int_equal(prune(f, &keep, &ids), 60);
	assert_string_equal(ids, HEX_B);
	free(ids);
	assert_true(present(f, HEX_C));
	assert_true(present(f, HEX_C ".tmp"));
	assert_false(present(f, HEX_A) || present(f, HEX_B));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(an_empty_cache_prunes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			entries_go_by_prefix_and_the_newest_stay_within_keep, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

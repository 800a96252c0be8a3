/*
 * test_engine_layers.c - overlayfs's merged view computed by src/engine's
 * layerfs.c, and the layer diffs of layerdiff.c, on plain directories:
 * whiteouts, opaque directories, symlinks resolved inside the root, copy-up
 * of directories into an upper, change lists and layer tars.
 *
 * Whiteouts are 0:0 character devices and opaque directories carry a
 * trusted.* xattr: both need root, so the tests skip without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/commit_int.h"

struct fixture {
	char *top;		/* the temporary directory */
	char *dirs[2];		/* lower layers: [0] top, [1] bottom */
	char *upper;
	struct lstack lower;
};

static void put(const char *dir, const char *path, const char *content)
{
	char *p = xasprintf("%s/%s", dir, path);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	free(p);
}

static void mk(const char *dir, const char *path)
{
	char *p = xasprintf("%s/%s", dir, path);

	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static void whiteout(const char *dir, const char *path)
{
	char *p = xasprintf("%s/%s", dir, path);

	assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(0, 0)), 0);
	free(p);
}

static void opaque(const char *dir, const char *path)
{
	char *p = xasprintf("%s/%s", dir, path);

	assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
	free(p);
}

static void link_to(const char *dir, const char *path, const char *target)
{
	char *p = xasprintf("%s/%s", dir, path);

	assert_int_equal(symlink(target, p), 0);
	free(p);
}

/*
 * bottom: a/file1 a/file2 dir/x etc/passwd link -> /a  loop -> loop
 * top:    a/.wh(file2)  dir (opaque) with dir/y
 */
static int setup(void **state)
{
	struct fixture *f = xzalloc(sizeof(*f));
	char tmpl[] = "/tmp/hamn-layers-XXXXXX";
	struct hamn_error *err = NULL;

	if (getuid() != 0) {
		free(f);
		return 0;
	}
	assert_non_null(mkdtemp(tmpl));
	f->top = xstrdup(tmpl);
	f->dirs[0] = xasprintf("%s/l0", f->top);
	f->dirs[1] = xasprintf("%s/l1", f->top);
	f->upper = xasprintf("%s/upper", f->top);
	assert_int_equal(mkdir(f->dirs[0], 0755), 0);
	assert_int_equal(mkdir(f->dirs[1], 0755), 0);
	assert_int_equal(mkdir(f->upper, 0755), 0);
	mk(f->dirs[1], "a");
	put(f->dirs[1], "a/file1", "one");
	put(f->dirs[1], "a/file2", "two");
	mk(f->dirs[1], "dir");
	put(f->dirs[1], "dir/x", "x");
	mk(f->dirs[1], "etc");
	put(f->dirs[1], "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	link_to(f->dirs[1], "link", "/a");
	link_to(f->dirs[1], "loop", "loop");
	mk(f->dirs[0], "a");
	whiteout(f->dirs[0], "a/file2");
	mk(f->dirs[0], "dir");
	opaque(f->dirs[0], "dir");
	put(f->dirs[0], "dir/y", "y");
	assert_int_equal(lstack_open(f->dirs, 2, &f->lower, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;

	if (!f)
		return 0;
	lstack_release(&f->lower);
	assert_int_equal(hamn_rm_rf(AT_FDCWD, f->top, &err), 0);
	free(f->dirs[0]);
	free(f->dirs[1]);
	free(f->upper);
	free(f->top);
	free(f);
	return 0;
}

#define NEED_ROOT(f)                                  \
	do {                                          \
		if (!(f))                             \
			skip();                       \
	} while (0)

static char *joined_names(const struct lstack *s)
{
	struct hamn_error *err = NULL;
	char **names = lstack_names(s, &err);
	char *j;

	assert_non_null(names);
	j = strv_join(names, " ");
	hamn_strv_free(names);
	return j;
}

static void merged_listing_applies_whiteouts_and_opaque(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct lstack a = LSTACK_INIT, dir = LSTACK_INIT;
	char *s;

	NEED_ROOT(f);
	s = joined_names(&f->lower);
	assert_string_equal(s, "a dir etc link loop");
	free(s);
	assert_int_equal(lstack_child(&f->lower, "a", &a, &err), 0);
	s = joined_names(&a);
	assert_string_equal(s, "file1");
	free(s);
	assert_int_equal(lstack_child(&f->lower, "dir", &dir, &err), 0);
	assert_int_equal(dir.n, 1); /* the opaque directory hides the one below */
	s = joined_names(&dir);
	assert_string_equal(s, "y");
	free(s);
	lstack_release(&a);
	lstack_release(&dir);
}

static void resolve_follows_links_inside_the_root(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct lresolved r;
	char buf[8] = { 0 };
	int fd;

	NEED_ROOT(f);
	assert_int_equal(lstack_resolve(&f->lower, "/link/file1", true, &r, &err), 0);
	assert_string_equal(r.path, "/a/file1");
	assert_int_equal(r.ent.layer, 1);
	fd = lstack_open_file(&r, &err);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 3);
	assert_string_equal(buf, "one");
	close(fd);
	lresolved_release(&r);
	/* ".." never climbs out of the root */
	assert_int_equal(lstack_resolve(&f->lower, "../../../etc/passwd", true, &r, &err), 0);
	assert_string_equal(r.path, "/etc/passwd");
	assert_true(r.ent.idx >= 0);
	lresolved_release(&r);
	/* a whited-out file does not exist; the last link is kept when asked */
	assert_int_equal(lstack_resolve(&f->lower, "/a/file2", true, &r, &err), 0);
	assert_int_equal(r.ent.idx, -1);
	lresolved_release(&r);
	assert_int_equal(lstack_resolve(&f->lower, "/link", false, &r, &err), 0);
	assert_true(S_ISLNK(r.ent.st.st_mode));
	lresolved_release(&r);
	assert_int_equal(lstack_resolve(&f->lower, "/loop/x", true, &r, &err), -1);
	assert_int_equal(err->errnum, ELOOP);
	hamn_error_free(&err);
	assert_int_equal(lstack_resolve(&f->lower, "/etc/passwd/x", true, &r, &err), -1);
	assert_int_equal(err->errnum, ENOTDIR);
	hamn_error_free(&err);
}

/* The root stack with the upper on top. */
static void with_upper(struct fixture *f, struct lstack *root, int *upper)
{
	struct hamn_error *err = NULL;

	*upper = open(f->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(*upper >= 0);
	assert_int_equal(lstack_dup(&f->lower, root, &err), 0);
	assert_int_equal(lstack_push_top(root, *upper, &err), 0);
}

static void upper_mkdirs_copies_up_and_follows_links(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct lstack root = LSTACK_INIT;
	struct stat st;
	char *p;
	int upper, fd;

	NEED_ROOT(f);
	/* the merged /a takes its metadata from the topmost layer that has it */
	p = xasprintf("%s/a", f->dirs[0]);
	assert_int_equal(chmod(p, 0711), 0);
	free(p);
	with_upper(f, &root, &upper);
	/* /link is /a: the new directories land under the upper's a/ */
	assert_int_equal(lstack_upper_mkdirs(&root, "/link/new/deep", 5, 6, &fd, NULL, &err), 0);
	close(fd);
	p = xasprintf("%s/a", f->upper);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0711); /* copied up with the lower's mode */
	assert_int_equal(st.st_uid, 0);
	free(p);
	p = xasprintf("%s/a/new/deep", f->upper);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_gid, 6);
	free(p);
	/* a file on the way is not a directory */
	assert_int_equal(lstack_upper_mkdirs(&root, "/etc/passwd/x", 0, 0, &fd, NULL, &err), -1);
	assert_int_equal(err->errnum, ENOTDIR);
	hamn_error_free(&err);
	lstack_release(&root);
	close(upper);
}

static char *tar_names(int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct hamn_buf b = HAMN_BUF_INIT;

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK)
		hamn_buf_printf(&b, "%s%s", b.len ? " " : "", archive_entry_pathname(e));
	archive_read_free(a);
	return hamn_buf_steal(&b);
}

static void diff_reports_changes_and_writes_whiteouts(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct lstack root = LSTACK_INIT;
	char *const skip[] = { "/proc", NULL };
	struct layer_diff d = { .skip = skip };
	struct ltar *t;
	struct hamn_digest diff, again;
	char *names, *dump;
	int upper, fd, layer;

	NEED_ROOT(f);
	with_upper(f, &root, &upper);
	assert_int_equal(lstack_upper_mkdirs(&root, "/a/new", 0, 0, &fd, NULL, &err), 0);
	close(fd);
	put(f->upper, "a/new/deep", "d");
	whiteout(f->upper, "a/file1");
	put(f->upper, "top.txt", "t");
	mk(f->upper, "proc"); /* an empty mount point: not a change */
	d.changes = json_array();
	assert_int_equal(layer_diff(upper, &f->lower, &d, &err), 0);
	dump = json_dumps(d.changes, JSON_COMPACT);
	assert_string_equal(dump, "[{\"Path\":\"/a\",\"Kind\":0},{\"Path\":\"/a/file1\",\"Kind\":2},"
				  "{\"Path\":\"/a/new\",\"Kind\":1},{\"Path\":\"/a/new/deep\",\"Kind\":1},"
				  "{\"Path\":\"/top.txt\",\"Kind\":1}]");
	free(dump);
	json_decref(d.changes);

	/* the same as a layer tar, twice: the same bytes each time */
	for (int i = 0; i < 2; i++) {
		layer = memfd_create("layer", MFD_CLOEXEC);
		t = ltar_new(layer, &err);
		assert_non_null(t);
		d.changes = NULL;
		d.tar = t;
		assert_int_equal(layer_diff(upper, &f->lower, &d, &err), 0);
		assert_int_equal(ltar_finish(t, i ? &again : &diff, NULL, &err), 0);
		assert_int_equal(lseek(layer, 0, SEEK_SET), 0);
		names = tar_names(layer);
		assert_string_equal(names, "a/ a/.wh.file1 a/new/ a/new/deep top.txt");
		free(names);
		close(layer);
	}
	assert_string_equal(diff.str, again.str);
	lstack_release(&root);
	close(upper);
}

static void opaque_upper_directory_is_marked(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct layer_diff d = { 0 };
	char *names;
	int upper, layer;

	NEED_ROOT(f);
	mk(f->upper, "dir");
	opaque(f->upper, "dir");
	put(f->upper, "dir/z", "z");
	upper = open(f->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	layer = memfd_create("layer", MFD_CLOEXEC);
	d.tar = ltar_new(layer, &err);
	d.changes = json_array();
	assert_int_equal(layer_diff(upper, &f->lower, &d, &err), 0);
	assert_int_equal(ltar_finish(d.tar, &(struct hamn_digest){ 0 }, NULL, &err), 0);
	assert_int_equal(json_array_size(d.changes), 2);
	lseek(layer, 0, SEEK_SET);
	names = tar_names(layer);
	assert_string_equal(names, "dir/ dir/.wh..wh..opq dir/z");
	free(names);
	json_decref(d.changes);
	close(layer);
	close(upper);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(merged_listing_applies_whiteouts_and_opaque, setup,
						teardown),
		cmocka_unit_test_setup_teardown(resolve_follows_links_inside_the_root, setup,
						teardown),
		cmocka_unit_test_setup_teardown(upper_mkdirs_copies_up_and_follows_links, setup,
						teardown),
		cmocka_unit_test_setup_teardown(diff_reports_changes_and_writes_whiteouts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(opaque_upper_directory_is_marked, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

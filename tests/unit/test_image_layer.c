/*
 * test_image_layer.c - layer extraction with hostile tars (CVE-2014-6407,
 * CVE-2014-9356, CVE-2021-32760), whiteouts, metadata and the diff ID.
 *
 * Each test extracts into TMP/root; TMP/sentinel sits next to it and must
 * stay empty, and /tmp/hamn-escape-<pid>* must never appear.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* short positional entry tables read better than designated initialisers here */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "image_tar.h"

struct lenv {
	char dir[64];
	int dirfd;
	int rootfd;
	char escape[80];	/* /tmp/hamn-escape-<pid> */
	char escape_base[64];	/* hamn-escape-<pid> */
};

static int setup(void **state)
{
	struct lenv *e = xzalloc(sizeof(*e));

	make_tmpdir(e->dir);
	e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mkdirat(e->dirfd, "root", 0755) < 0 || mkdirat(e->dirfd, "sentinel", 0755) < 0)
		return -1;
	e->rootfd = openat(e->dirfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(e->escape_base, sizeof(e->escape_base), "hamn-escape-%d", (int)getpid());
	snprintf(e->escape, sizeof(e->escape), "/tmp/%s", e->escape_base);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct lenv *e = *state;

	hamn_rm_rf(AT_FDCWD, e->escape, NULL);
	close(e->rootfd);
	close(e->dirfd);
	remove_tmpdir(e->dir);
	free(e);
	return 0;
}

static int apply_flags(struct lenv *e, const struct ent *ents, size_t n, unsigned int flags,
		       struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf tar = HAMN_BUF_INIT;
	_cleanup_close_ int fd = -1;

	make_tar(ents, n, false, &tar);
	fd = mem_fd(tar.data, tar.len);
	return hamn_layer_apply(e->rootfd, fd, flags, "layer sha256:test", NULL, err);
}

#define APPLY(e, ents, err) apply_flags((e), (ents), sizeof(ents) / sizeof((ents)[0]), 0, (err))

static void assert_no_escape(struct lenv *e)
{
	struct stat sb;

	assert_int_equal(dir_count(e->dirfd, "sentinel"), 0);
	assert_int_equal(lstat(e->escape, &sb), -1);
	assert_int_equal(errno, ENOENT);
}

static void assert_refused(int rc, struct hamn_error **err, const char *needle)
{
	assert_int_equal(rc, -1);
	assert_non_null(*err);
	if (needle && !strstr((*err)->msg, needle))
		fail_msg("message '%s' lacks '%s'", (*err)->msg, needle);
	hamn_error_free(err);
}

static void dotdot_names_are_refused(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent up[] = { { "../sentinel/x", 'f', "x" } };
	const struct ent mid[] = { { "a", 'd' }, { "a/../../sentinel/y", 'f', "y" } };

	assert_refused(APPLY(e, up, &err), &err,
		       "layer sha256:test: entry '../sentinel/x' escapes the root");
	assert_refused(APPLY(e, mid, &err), &err, "escapes the root");
	assert_no_escape(e);
}

static void absolute_names_are_refused(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	struct ent abs[] = { { e->escape, 'f', "pwned" } };

	assert_refused(APPLY(e, abs, &err), &err, "escapes the root");
	assert_no_escape(e);
}

static void write_through_absolute_symlink_is_contained(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *through = xasprintf("link/%s", e->escape_base);
	_cleanup_free_ char *inside = xasprintf("tmp/%s", e->escape_base);
	struct ent dangling[] = { { "link", 'l', "/tmp" }, { through, 'f', "x" } };
	struct ent contained[] = { { "tmp", 'd' }, { "link", 'l', "/tmp" }, { through, 'f', "x" } };
	struct stat sb;

	/* "/tmp" means root/tmp; it does not exist, so the layer is refused */
	assert_refused(APPLY(e, dangling, &err), &err, through);
	assert_no_escape(e);
	/* with root/tmp present the write lands there */
	assert_int_equal(APPLY(e, contained, &err), 0);
	assert_int_equal(fstatat(e->rootfd, inside, &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_no_escape(e);
}

static void write_through_relative_chain_is_contained(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent chain[] = {
		{ "a", 'l', "b" }, { "b", 'l', "../../sentinel" }, { "a/x", 'f', "x" },
	};
	const struct ent contained[] = {
		{ "sentinel", 'd' }, { "c", 'l', "d/e" }, { "d", 'l', "../.." },
		{ "e", 'l', "../../../sentinel" }, { "c/x", 'f', "x" },
	};
	struct stat sb;

	assert_refused(APPLY(e, chain, &err), &err, "'a/x'");
	assert_no_escape(e);
	/* c -> d/e -> ../../e (= /e) -> ../../../sentinel (= /sentinel): all inside */
	assert_int_equal(APPLY(e, contained, &err), 0);
	assert_int_equal(fstatat(e->rootfd, "sentinel/x", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_no_escape(e);
}

static void hardlinks_outside_are_refused(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent dotdot[] = { { "passwd", 'h', "../../etc/passwd" } };
	const struct ent abs[] = { { "shadow", 'h', "/etc/passwd" } };
	const struct ent via_link[] = { { "l", 'l', "/etc" }, { "p", 'h', "l/passwd" } };
	const struct ent ok[] = { { "f", 'f', "data" }, { "g", 'h', "f" }, { "h", 'h', "/f" } };
	struct stat before, after, f, g, h;

	assert_int_equal(stat("/etc/passwd", &before), 0);
	assert_refused(APPLY(e, dotdot, &err), &err, "hardlink target '../../etc/passwd' escapes");
	assert_refused(APPLY(e, abs, &err), &err, "invalid hardlink target '/etc/passwd'");
	assert_refused(APPLY(e, via_link, &err), &err, "invalid hardlink target 'l/passwd'");
	assert_int_equal(stat("/etc/passwd", &after), 0);
	assert_int_equal(before.st_nlink, after.st_nlink);
	assert_int_equal(fstatat(e->rootfd, "passwd", &f, AT_SYMLINK_NOFOLLOW), -1);
	/* links inside the layer work, "/f" meaning the layer's f */
	assert_int_equal(APPLY(e, ok, &err), 0);
	assert_int_equal(fstatat(e->rootfd, "f", &f, 0), 0);
	assert_int_equal(fstatat(e->rootfd, "g", &g, 0), 0);
	assert_int_equal(fstatat(e->rootfd, "h", &h, 0), 0);
	assert_int_equal(f.st_ino, g.st_ino);
	assert_int_equal(f.st_ino, h.st_ino);
	assert_int_equal(f.st_nlink, 3);
	assert_no_escape(e);
}

static void device_nodes_dropped_unless_privileged(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent ents[] = {
		{ "mem", 'c', NULL, 0640, 1, 1 }, { "sda", 'b', NULL, 0640, 8, 0 },
		{ "fifo", 'p', NULL, 0620 },
	};
	const struct ent null[] = { { "null", 'c', NULL, 0666, 1, 3 } };
	struct stat sb;

	assert_int_equal(APPLY(e, ents, &err), 0);
	assert_int_equal(fstatat(e->rootfd, "mem", &sb, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(e->rootfd, "sda", &sb, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(e->rootfd, "fifo", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0620);
	if (geteuid() != 0)
		skip();
	assert_int_equal(apply_flags(e, null, 1, HAMN_LAYER_PRIVILEGED, &err), 0);
	assert_int_equal(fstatat(e->rootfd, "null", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(sb.st_mode));
	assert_int_equal(sb.st_rdev, makedev(1, 3));
}

/* CVE-2021-32760: symlink x -> host file, then directory x 0777. */
static void never_chmod_through_symlink(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *victim = xasprintf("%s/victim", e->dir);
	struct ent dir_after[] = { { "x", 'l', victim }, { "x", 'd', NULL, 0777 } };
	struct ent link_after[] = { { "y", 'd', NULL, 0777 }, { "y", 'l', victim } };
	struct ent file_after[] = { { "z", 'l', victim }, { "z", 'f', "pwned", 04777 } };
	_cleanup_close_ int fd = -1;
	struct stat sb;
	char buf[16] = { 0 };

	fd = openat(e->dirfd, "victim", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret", 6), 6);
	assert_int_equal(APPLY(e, dir_after, &err), 0);
	assert_int_equal(APPLY(e, link_after, &err), 0);
	assert_int_equal(APPLY(e, file_after, &err), 0);
	assert_int_equal(stat(victim, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	close(steal_fd(&fd));
	fd = open(victim, O_RDONLY | O_CLOEXEC);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	assert_string_equal(buf, "secret");
	assert_int_equal(fstatat(e->rootfd, "x", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0777);
	assert_int_equal(fstatat(e->rootfd, "y", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(fstatat(e->rootfd, "z", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 04777);
}

static void whiteouts_become_overlay_whiteouts(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent ents[] = {
		{ "dir", 'd' }, { "dir/.wh..wh..opq", 'f', "" }, { "dir/new", 'f', "n" },
		{ ".wh.file", 'f', "" }, { "sub/.wh.gone", 'f', "" },
	};
	const struct ent bad[] = { { ".wh...", 'f', "" } };
	struct stat sb;
	char v[4] = { 0 };

	assert_int_equal(APPLY(e, ents, &err), 0);
	assert_int_equal(fstatat(e->rootfd, "file", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(sb.st_mode));
	assert_int_equal(sb.st_rdev, makedev(0, 0));
	assert_int_equal(fstatat(e->rootfd, "sub/gone", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(sb.st_mode));
	assert_int_equal(fstatat(e->rootfd, ".wh.file", &sb, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(e->rootfd, "dir/.wh..wh..opq", &sb, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(e->rootfd, "dir/new", &sb, AT_SYMLINK_NOFOLLOW), 0);
	_cleanup_free_ char *dir = xasprintf("%s/root/dir", e->dir);
	assert_int_equal(getxattr(dir, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_string_equal(v, "y");
	assert_refused(APPLY(e, bad, &err), &err, "invalid whiteout");
}

static void whiteouts_delete_when_flattening(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent lower[] = {
		{ "dir", 'd' }, { "dir/old", 'f', "o" }, { "file", 'f', "f" }, { "keep", 'f', "k" },
	};
	const struct ent upper[] = {
		{ "dir/new", 'f', "n" }, { "dir/.wh..wh..opq", 'f', "" }, { ".wh.file", 'f', "" },
	};
	struct stat sb;

	assert_int_equal(apply_flags(e, lower, 4, HAMN_LAYER_FLATTEN, &err), 0);
	assert_int_equal(apply_flags(e, upper, 3, HAMN_LAYER_FLATTEN, &err), 0);
	assert_int_equal(fstatat(e->rootfd, "file", &sb, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(e->rootfd, "dir/old", &sb, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(e->rootfd, "dir/new", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(e->rootfd, "keep", &sb, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(dir_count(e->rootfd, "dir"), 1);
}

static void metadata_is_applied_last(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent ents[] = {
		{ "ro", 'd', NULL, 0555 },
		{ "ro/f", 'f', "data" },
		{ "suid", 'f', "x", 04755, 0, 0, 1234 },
		{ "kept", 'f', "x", 0, 0, 0, 0, "trusted.overlay.test=1" },
		{ "dropped", 'f', "x", 0, 0, 0, 0, "trusted.evil=1" },
	};
	_cleanup_free_ char *kept = xasprintf("%s/root/kept", e->dir);
	_cleanup_free_ char *dropped = xasprintf("%s/root/dropped", e->dir);
	char v[4] = { 0 };
	struct stat sb;

	assert_int_equal(APPLY(e, ents, &err), 0);
	assert_int_equal(fstatat(e->rootfd, "ro", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 0555);
	assert_int_equal(sb.st_mtim.tv_sec, 946684800);
	assert_int_equal(fstatat(e->rootfd, "ro/f", &sb, 0), 0);
	assert_int_equal(sb.st_size, 4);
	assert_int_equal(fstatat(e->rootfd, "suid", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 04755);
	if (geteuid() == 0) {
		assert_int_equal(sb.st_uid, 1234);
		assert_int_equal(getxattr(kept, "trusted.overlay.test", v, sizeof(v)), 1);
		assert_int_equal(getxattr(dropped, "trusted.evil", v, sizeof(v)), -1);
	}
}

static void diff_id_is_hash_of_uncompressed_stream(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	const struct ent ents[] = { { "etc", 'd' }, { "etc/hello", 'f', "hello" } };
	_cleanup_buf_ struct hamn_buf plain = HAMN_BUF_INIT, gz = HAMN_BUF_INIT;
	struct hamn_layer_stats st1, st2;
	struct hamn_digest want, want_gz, want_padded;
	_cleanup_close_ int fd1 = -1, fd2 = -1;

	make_tar(ents, 2, false, &plain);
	make_tar(ents, 2, true, &gz);
	hamn_sha256_buf(plain.data, plain.len, &want);
	/* what follows the end-of-archive blocks is part of the stream, and of the hash */
	hamn_buf_append(&plain, "\0\0\0\0", 4);
	hamn_sha256_buf(plain.data, plain.len, &want_padded);
	hamn_sha256_buf(gz.data, gz.len, &want_gz);
	fd1 = mem_fd(plain.data, plain.len);
	fd2 = mem_fd(gz.data, gz.len);
	assert_int_equal(hamn_layer_apply(e->rootfd, fd1, 0, NULL, &st1, &err), 0);
	assert_int_equal(hamn_layer_apply(e->rootfd, fd2, 0, NULL, &st2, &err), 0);
	assert_string_equal(st1.diff_id.str, want_padded.str);
	assert_string_equal(st1.input_digest.str, want_padded.str);
	assert_int_equal(st1.tar_size, plain.len);
	assert_null(st1.compression);
	assert_string_equal(st2.diff_id.str, want.str);
	assert_string_equal(st2.input_digest.str, want_gz.str);
	assert_int_equal(st2.input_size, gz.len);
	assert_string_equal(st2.compression, "gzip");
	assert_int_equal(st2.unpacked_size, 5);
}

static void garbage_is_not_a_layer(void **state)
{
	struct lenv *e = *state;
	struct hamn_error *err = NULL;
	char junk[4096];
	_cleanup_close_ int fd = -1;

	memset(junk, 'j', sizeof(junk));
	fd = mem_fd(junk, sizeof(junk));
	assert_int_equal(hamn_layer_apply(e->rootfd, fd, 0, "layer x", NULL, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(dotdot_names_are_refused),
		T(absolute_names_are_refused),
		T(write_through_absolute_symlink_is_contained),
		T(write_through_relative_chain_is_contained),
		T(hardlinks_outside_are_refused),
		T(device_nodes_dropped_unless_privileged),
		T(never_chmod_through_symlink),
		T(whiteouts_become_overlay_whiteouts),
		T(whiteouts_delete_when_flattening),
		T(metadata_is_applied_last),
		T(diff_id_is_hash_of_uncompressed_stream),
		T(garbage_is_not_a_layer),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

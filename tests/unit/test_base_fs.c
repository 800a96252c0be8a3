/*
 * Tests of src/base/fs.c. Every resolution test runs twice: once through
 * openat2 and once through the fallback walk (HAMN_TEST_NO_OPENAT2=1),
 * on a hostile tree made fresh in a mkdtemp directory for each test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

enum mode { USE_OPENAT2, USE_WALK };
static const enum mode mode_openat2 = USE_OPENAT2;
static const enum mode mode_walk = USE_WALK;

struct fixture {
	char base[64];	/* the mkdtemp dir: holds root/ and outside/ */
	int basefd;
	int rootfd;	/* base/root: the root of the resolutions */
	char mnt[128];	/* a bind mount made by a test, unmounted in teardown */
};

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static void put_file(int dirfd, const char *name, const char *content)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void put_link(int dirfd, const char *name, const char *target)
{
	assert_int_equal(symlinkat(target, dirfd, name), 0);
}

/* The content of an fd (opened for reading), as a heap string. */
static char *fd_content(int fd)
{
	char *s = NULL;
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_read_fd(fd, 4096, &s, NULL, &err), 0);
	return s;
}

/* Open path in the root for reading and check what it holds. */
static void assert_reads(int rootfd, const char *path, const char *want)
{
	struct hamn_error *err = NULL;
	_cleanup_free_ char *got = NULL;
	int fd = hamn_open_in_root(rootfd, path, O_RDONLY, 0, 0, &err);

	if (fd < 0)
		fail_msg("open '%s': %s", path, err->msg);
	got = fd_content(fd);
	close(fd);
	assert_string_equal(got, want);
}

static void assert_open_fails(int rootfd, const char *path, int flags,
			      enum hamn_resolve_flags rflags, int want_errno)
{
	struct hamn_error *err = NULL;
	int fd = hamn_open_in_root(rootfd, path, flags, 0644, rflags, &err);

	if (fd >= 0) {
		close(fd);
		fail_msg("open '%s' succeeded, want errno %d", path, want_errno);
	}
	assert_non_null(err);
	if (err->errnum != want_errno)
		fail_msg("open '%s': %s (errno %d, want %d)", path, err->msg, err->errnum,
			 want_errno);
	assert_non_null(strstr(err->msg, path));
	hamn_error_free(&err);
}

static bool exists_at(int dirfd, const char *path)
{
	struct stat st;

	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static size_t count_entries(int dirfd)
{
	DIR *d = fdopendir(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * base/
 *   outside/secret        "outside"       (must never be read, made, or removed)
 *   root/etc/passwd       "inside"
 *   root/dir/sub/
 *   root/abs_etc     -> /etc
 *   root/rel_escape  -> ../../../../etc/passwd
 *   root/up_escape   -> ../..
 *   root/loop_a <-> root/loop_b
 *   root/l0 -> l1 -> ... -> l40 -> /etc/passwd   (41 links)
 *   root/dangling_abs -> /created
 *   root/dangling_rel -> ../../../created_rel
 *   root/file_link   -> etc/passwd
 *   root/d           -> /
 *   root/magic       -> /proc/self/root
 */
static void make_tree(struct fixture *f)
{
	char name[16], target[16];

	assert_int_equal(mkdirat(f->basefd, "outside", 0755), 0);
	assert_int_equal(mkdirat(f->basefd, "root", 0755), 0);
	put_file(f->basefd, "outside/secret", "outside");
	f->rootfd = openat(f->basefd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	assert_int_equal(mkdirat(f->rootfd, "etc", 0755), 0);
	put_file(f->rootfd, "etc/passwd", "inside");
	assert_int_equal(mkdirat(f->rootfd, "dir", 0755), 0);
	assert_int_equal(mkdirat(f->rootfd, "dir/sub", 0755), 0);
	put_link(f->rootfd, "abs_etc", "/etc");
	put_link(f->rootfd, "rel_escape", "../../../../etc/passwd");
	put_link(f->rootfd, "up_escape", "../..");
	put_link(f->rootfd, "loop_a", "loop_b");
	put_link(f->rootfd, "loop_b", "loop_a");
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		snprintf(target, sizeof(target), "l%d", i + 1);
		put_link(f->rootfd, name, target);
	}
	put_link(f->rootfd, "l40", "/etc/passwd");
	put_link(f->rootfd, "dangling_abs", "/created");
	put_link(f->rootfd, "dangling_rel", "../../../created_rel");
	put_link(f->rootfd, "file_link", "etc/passwd");
	put_link(f->rootfd, "d", "/");
	put_link(f->rootfd, "magic", "/proc/self/root");
}

static int setup(void **state)
{
	const enum mode *mode = *state;
	struct fixture *f = xzalloc(sizeof(*f));

	if (*mode == USE_WALK)
		setenv("HAMN_TEST_NO_OPENAT2", "1", 1);
	else
		unsetenv("HAMN_TEST_NO_OPENAT2");
	hamn_fs_reset_probe_for_tests();
	snprintf(f->base, sizeof(f->base), "/tmp/hamn-test-fs-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	f->basefd = open(f->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->basefd >= 0);
	make_tree(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;

	if (f->mnt[0])
		umount2(f->mnt, MNT_DETACH);
	close(f->rootfd);
	close(f->basefd);
	if (hamn_rm_rf(AT_FDCWD, f->base, &err) < 0) {
		print_error("cleanup: %s\n", err->msg);
		hamn_error_free(&err);
	}
	free(f);
	unsetenv("HAMN_TEST_NO_OPENAT2");
	hamn_fs_reset_probe_for_tests();
	return 0;
}

/* The fixture's mode is the one actually in use (so both paths really run). */
static void check_mode(void **state)
{
	bool walk = getenv("HAMN_TEST_NO_OPENAT2") != NULL;

	(void)state;
	if (!walk && !hamn_have_openat2())
		skip();	/* kernel < 5.6: only the walk exists */
	assert_int_equal(hamn_have_openat2(), !walk);
}

/* ------------------------------------------------------------------ */
/* Resolution inside the root                                           */
/* ------------------------------------------------------------------ */

static void dotdot_stays_in_root(void **state)
{
	struct fixture *f = *state;

	check_mode(state);
	assert_reads(f->rootfd, "../../../../etc/passwd", "inside");
	assert_reads(f->rootfd, "/../etc/passwd", "inside");
	assert_reads(f->rootfd, "dir/sub/../../../../etc/passwd", "inside");
	assert_reads(f->rootfd, "dir/./sub/.././../etc//passwd", "inside");
	assert_open_fails(f->rootfd, "../outside/secret", O_RDONLY, 0, ENOENT);
}

static void absolute_symlink_stays_in_root(void **state)
{
	struct fixture *f = *state;

	check_mode(state);
	assert_reads(f->rootfd, "abs_etc/passwd", "inside");
	assert_reads(f->rootfd, "/abs_etc/../abs_etc/passwd", "inside");
	assert_reads(f->rootfd, "d/d/d/etc/passwd", "inside");
}

static void relative_symlink_stays_in_root(void **state)
{
	struct fixture *f = *state;

	check_mode(state);
	assert_reads(f->rootfd, "rel_escape", "inside");
	assert_reads(f->rootfd, "up_escape/etc/passwd", "inside");
	assert_reads(f->rootfd, "dir/sub/../../up_escape/up_escape/etc/passwd", "inside");
	assert_open_fails(f->rootfd, "up_escape/outside/secret", O_RDONLY, 0, ENOENT);
}

static void symlink_loops_are_eloop(void **state)
{
	struct fixture *f = *state;

	check_mode(state);
	assert_open_fails(f->rootfd, "loop_a", O_RDONLY, 0, ELOOP);
	assert_open_fails(f->rootfd, "loop_a/x", O_RDONLY, 0, ELOOP);
	/* 40 links are allowed, as in the kernel; the 41st is one too many */
	assert_reads(f->rootfd, "l1", "inside");
	assert_open_fails(f->rootfd, "l0", O_RDONLY, 0, ELOOP);
}

static void magic_links_are_eloop(void **state)
{
	struct fixture *f = *state;
	char path[64];
	int hostfd, fd;
	struct hamn_error *err = NULL;
	struct stat st;

	check_mode(state);
	hostfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(hostfd >= 0);
	/* /proc/self is a plain link and is followed; what lies behind it is not */
	fd = hamn_open_in_root(hostfd, "/proc/self/status", O_RDONLY, 0, 0, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_open_fails(hostfd, "/proc/self/root/etc", O_PATH, 0, ELOOP);
	assert_open_fails(hostfd, "/proc/self/cwd", O_RDONLY | O_DIRECTORY, 0, ELOOP);
	assert_open_fails(hostfd, "/proc/self/exe", O_PATH, 0, ELOOP);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->basefd);
	assert_open_fails(hostfd, path, O_PATH, 0, ELOOP);
	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d/root/etc/passwd", f->basefd);
	assert_open_fails(hostfd, path, O_RDONLY, 0, ELOOP);
	/* not following the last component is fine: that gives the link itself */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->basefd);
	fd = hamn_open_in_root(hostfd, path, O_PATH, 0, HAMN_RESOLVE_NO_SYMLINK_LAST, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
	/* a link in the root to /proc/... names the root's own proc: absent */
	assert_open_fails(f->rootfd, "magic/etc/passwd", O_RDONLY, 0, ENOENT);
	close(hostfd);
}

static void no_symlink_last(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct stat st;
	char buf[64];
	ssize_t n;
	int fd;

	check_mode(state);
	fd = hamn_open_in_root(f->rootfd, "file_link", O_PATH, 0, HAMN_RESOLVE_NO_SYMLINK_LAST,
			       &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlinkat(fd, "", buf, sizeof(buf));
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "etc/passwd", 10);
	close(fd);
	assert_open_fails(f->rootfd, "file_link", O_RDONLY, HAMN_RESOLVE_NO_SYMLINK_LAST, ELOOP);
	/* only the last one: links before it are followed */
	fd = hamn_open_in_root(f->rootfd, "abs_etc/passwd", O_PATH, 0,
			       HAMN_RESOLVE_NO_SYMLINK_LAST, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	/* a trailing slash follows the link even so, as in the kernel */
	fd = hamn_open_in_root(f->rootfd, "abs_etc/", O_PATH, 0, HAMN_RESOLVE_NO_SYMLINK_LAST,
			       &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
}

static void misc_errors(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct stat st, root_st;
	int fd;

	check_mode(state);
	assert_open_fails(f->rootfd, "", O_RDONLY, 0, ENOENT);
	assert_open_fails(f->rootfd, "nope", O_RDONLY, 0, ENOENT);
	assert_open_fails(f->rootfd, "etc/passwd/x", O_RDONLY, 0, ENOTDIR);
	assert_open_fails(f->rootfd, "etc/passwd/", O_RDONLY, 0, ENOTDIR);
	assert_open_fails(f->rootfd, "etc/passwd", O_RDONLY | O_DIRECTORY, 0, ENOTDIR);
	assert_open_fails(f->rootfd, "etc", O_WRONLY, 0, EISDIR);
	assert_open_fails(f->rootfd, "etc/passwd", O_WRONLY | O_CREAT | O_EXCL, 0, EEXIST);
	assert_open_fails(f->rootfd, "file_link", O_WRONLY | O_CREAT | O_EXCL, 0, EEXIST);
	/* "/" and ".." of the root are the root */
	assert_int_equal(fstat(f->rootfd, &root_st), 0);
	fd = hamn_open_in_root(f->rootfd, "/..", O_RDONLY | O_DIRECTORY, 0, 0, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, root_st.st_ino);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void create_through_dangling_link(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	int fd;

	check_mode(state);
	assert_false(exists_at(AT_FDCWD, "/created"));
	fd = hamn_open_in_root(f->rootfd, "dangling_abs", O_WRONLY | O_CREAT, 0600, 0, &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_true(exists_at(f->rootfd, "created"));
	assert_false(exists_at(AT_FDCWD, "/created"));
	fd = hamn_open_in_root(f->rootfd, "dangling_rel", O_WRONLY | O_CREAT, 0600, 0, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_true(exists_at(f->rootfd, "created_rel"));
	assert_false(exists_at(f->basefd, "created_rel"));
	assert_false(exists_at(AT_FDCWD, "/created_rel"));
	/* NO_SYMLINK_LAST: creating through the link is refused */
	assert_open_fails(f->rootfd, "dangling_abs", O_WRONLY | O_CREAT,
			  HAMN_RESOLVE_NO_SYMLINK_LAST, ELOOP);
	/* O_CREAT makes the last component only */
	assert_open_fails(f->rootfd, "newdir/file", O_WRONLY | O_CREAT, 0, ENOENT);
	fd = hamn_open_in_root(f->rootfd, "d/dir/sub/../new", O_WRONLY | O_CREAT, 0600, 0, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_true(exists_at(f->rootfd, "dir/new"));
}

static void mkdir_in_root_stays_in_root(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct stat st, got;
	int fd;

	check_mode(state);
	assert_false(exists_at(AT_FDCWD, "/hamn-test-mkdir"));
	fd = hamn_mkdir_in_root(f->rootfd, "d/hamn-test-mkdir/a/b", 0755, &err);
	assert_true(fd >= 0);
	assert_false(exists_at(AT_FDCWD, "/hamn-test-mkdir"));
	assert_int_equal(fstatat(f->rootfd, "hamn-test-mkdir/a/b", &st, 0), 0);
	assert_int_equal(fstat(fd, &got), 0);
	assert_int_equal(st.st_ino, got.st_ino);
	assert_true(fcntl(fd, F_GETFL) & O_PATH);
	close(fd);
	/* again: everything exists */
	fd = hamn_mkdir_in_root(f->rootfd, "/hamn-test-mkdir/a/b/", 0755, &err);
	assert_true(fd >= 0);
	close(fd);
	fd = hamn_mkdir_in_root(f->rootfd, "up_escape/../x/y", 0755, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_true(exists_at(f->rootfd, "x/y"));
	assert_false(exists_at(f->basefd, "x"));
	/* a file in the way */
	assert_int_equal(hamn_mkdir_in_root(f->rootfd, "etc/passwd/z", 0755, &err), -1);
	assert_int_equal(err->errnum, ENOTDIR);
	hamn_error_free(&err);
	/* a dangling link is not made into a directory */
	assert_int_equal(hamn_mkdir_in_root(f->rootfd, "dangling_abs/z", 0755, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	assert_false(exists_at(f->rootfd, "created"));
}

/* Resolve path with the current mode: "E<errno>" or "<dev>:<ino>". */
static void resolve_result(int rootfd, const char *path, int flags,
			   enum hamn_resolve_flags rflags, char *out, size_t size)
{
	struct hamn_error *err = NULL;
	struct stat st;
	int fd = hamn_open_in_root(rootfd, path, flags, 0, rflags, &err);

	if (fd < 0) {
		snprintf(out, size, "E%d", err->errnum);
		hamn_error_free(&err);
		return;
	}
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(out, size, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	close(fd);
}

static void set_mode(bool walk)
{
	if (walk)
		setenv("HAMN_TEST_NO_OPENAT2", "1", 1);
	else
		unsetenv("HAMN_TEST_NO_OPENAT2");
	hamn_fs_reset_probe_for_tests();
	assert_int_equal(hamn_have_openat2(), !walk);
}

/* The walk gives the kernel's answer for every path of the corpus. */
static void both_paths_agree(void **state)
{
	static const char *const paths[] = {
		"", "/", ".", "..", "//..//.", "etc", "etc/", "etc/passwd", "etc/passwd/",
		"etc/passwd/.", "etc/./passwd", "etc/../etc/passwd", "dir/sub/..", "dir/sub/../..",
		"abs_etc", "abs_etc/", "abs_etc/passwd", "abs_etc/..", "rel_escape", "rel_escape/",
		"up_escape", "up_escape/..", "up_escape/etc", "loop_a", "loop_b/", "l0", "l1",
		"l39", "l40/", "dangling_abs", "dangling_abs/", "dangling_rel", "file_link",
		"file_link/", "d", "d/", "d/d/etc", "d/..", "magic", "magic/etc", "nope",
		"nope/..", "dir/nope/..",
	};
	static const char *const host_paths[] = {
		"/proc", "/proc/self", "/proc/self/", "/proc/self/status", "/proc/self/fd",
		"/proc/self/fd/0", "/proc/self/root", "/proc/self/root/", "/proc/self/cwd/x",
		"/proc/self/exe", "/proc/self/ns/net", "/proc/thread-self/root", "/proc/mounts",
		"/proc/net/dev", "/proc/1/root", "/proc/../proc/self/status",
	};
	static const int flag_sets[] = {
		O_RDONLY, O_PATH, O_RDONLY | O_DIRECTORY, O_PATH | O_DIRECTORY, O_PATH | O_NOFOLLOW,
	};
	struct fixture *f = *state;
	int hostfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char kernel[64], walk[64];

	unsetenv("HAMN_TEST_NO_OPENAT2");
	hamn_fs_reset_probe_for_tests();
	if (!hamn_have_openat2())
		skip();	/* nothing to compare with */
	for (size_t i = 0; i < ARRAY_SIZE(paths) + ARRAY_SIZE(host_paths); i++) {
		bool host = i >= ARRAY_SIZE(paths);
		const char *path = host ? host_paths[i - ARRAY_SIZE(paths)] : paths[i];
		int rootfd = host ? hostfd : f->rootfd;

		for (size_t j = 0; j < ARRAY_SIZE(flag_sets); j++) {
			for (int r = 0; r < 2; r++) {
				enum hamn_resolve_flags rf = r ? HAMN_RESOLVE_NO_SYMLINK_LAST : 0;

				set_mode(false);
				resolve_result(rootfd, path, flag_sets[j], rf, kernel,
					       sizeof(kernel));
				set_mode(true);
				resolve_result(rootfd, path, flag_sets[j], rf, walk, sizeof(walk));
				if (!streq(kernel, walk))
					fail_msg("'%s' flags %#x rflags %d: openat2 %s, walk %s",
						 path, flag_sets[j], rf, kernel, walk);
			}
		}
	}
	close(hostfd);
}

/* ------------------------------------------------------------------ */
/* I/O, atomic write, mkdir -p, rm -rf                                  */
/* ------------------------------------------------------------------ */

static void read_file_limits(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	char *s = NULL;
	size_t len = 0;
	int fd;

	put_file(f->basefd, "ten", "0123456789");
	assert_int_equal(hamn_read_file(f->basefd, "ten", 10, &s, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(s, "0123456789");
	free(s);
	assert_int_equal(hamn_read_file(f->basefd, "ten", 9, &s, &len, &err), -1);
	assert_int_equal(err->errnum, EFBIG);
	assert_non_null(strstr(err->msg, "ten"));
	hamn_error_free(&err);
	assert_int_equal(hamn_read_file(f->basefd, "nope", 9, &s, &len, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	/* procfs files say size 0 but have content */
	assert_int_equal(hamn_read_file(AT_FDCWD, "/proc/self/status", 1 << 20, &s, NULL, &err),
			 0);
	assert_non_null(strstr(s, "Pid:"));
	free(s);
	/* read_fd reads from offset 0 whatever the file position */
	fd = openat(f->basefd, "ten", O_RDONLY | O_CLOEXEC);
	assert_int_equal(lseek(fd, 5, SEEK_SET), 5);
	assert_int_equal(hamn_read_fd(fd, 100, &s, &len, &err), 0);
	assert_string_equal(s, "0123456789");
	free(s);
	close(fd);
	put_file(f->basefd, "empty", "");
	assert_int_equal(hamn_read_file(f->basefd, "empty", 0, &s, &len, &err), 0);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
}

static void read_write_all_pipe(void **state)
{
	struct hamn_error *err = NULL;
	char big[200000], back[200000];
	int p[2];
	pid_t pid;

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* more than a pipe holds: write_all must loop over short writes */
		_exit(hamn_write_all(p[1], big, sizeof(big), NULL) == 0 ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(hamn_read_all(p[0], back, sizeof(back), &err), (ssize_t)sizeof(back));
	assert_memory_equal(big, back, sizeof(big));
	assert_int_equal(hamn_read_all(p[0], back, sizeof(back), &err), 0);	/* EOF */
	close(p[0]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void write_atomic_replaces(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	char *s = NULL;
	struct stat st;
	int dfd;

	assert_int_equal(mkdirat(f->basefd, "w", 0755), 0);
	dfd = openat(f->basefd, "w", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(hamn_write_atomic(dfd, "cfg", "one", 3, 0640, &err), 0);
	assert_int_equal(hamn_write_atomic(dfd, "cfg", "second", 6, 0600, &err), 0);
	assert_int_equal(hamn_read_file(dfd, "cfg", 100, &s, NULL, &err), 0);
	assert_string_equal(s, "second");
	free(s);
	assert_int_equal(fstatat(dfd, "cfg", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(dfd), 1);	/* no temp file left */
	/* a path with a directory part: the temp file goes next to the target */
	assert_int_equal(hamn_write_atomic(f->basefd, "w/cfg2", "x", 1, 0644, &err), 0);
	assert_int_equal(count_entries(dfd), 2);
	/* failure (a directory is in the way): the temp file is removed */
	assert_int_equal(mkdirat(dfd, "isdir", 0755), 0);
	assert_int_equal(hamn_write_atomic(dfd, "isdir", "x", 1, 0644, &err), -1);
	assert_int_equal(err->errnum, EISDIR);
	hamn_error_free(&err);
	assert_int_equal(count_entries(dfd), 3);
	close(dfd);
}

static void mkdir_p_works(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	struct stat st;

	assert_int_equal(hamn_mkdir_p(f->basefd, "m/a//b/c/", 0755, &err), 0);
	assert_int_equal(fstatat(f->basefd, "m/a/b/c", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(hamn_mkdir_p(f->basefd, "m/a/b/c", 0755, &err), 0);
	put_file(f->basefd, "m/file", "x");
	assert_int_equal(hamn_mkdir_p(f->basefd, "m/file", 0755, &err), -1);
	assert_int_equal(err->errnum, ENOTDIR);
	hamn_error_free(&err);
	assert_int_equal(hamn_mkdir_p(f->basefd, "m/file/x", 0755, &err), -1);
	assert_int_equal(err->errnum, ENOTDIR);
	hamn_error_free(&err);
}

static void rm_rf_does_not_follow_links(void **state)
{
	static const char *const refused[] = { "", "/", "//", ".", "outside/..", "outside/./" };
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	char abs[128];
	char *s = NULL;

	/* the root tree links to /etc, /, ../.. and more; add links to outside/ */
	snprintf(abs, sizeof(abs), "%s/outside", f->base);
	put_link(f->rootfd, "out_abs", abs);
	put_link(f->rootfd, "dir/sub/out_rel", "../../../outside");
	put_link(f->rootfd, "dir/secret_link", "../../outside/secret");
	assert_int_equal(mkfifoat(f->rootfd, "dir/fifo", 0600), 0);
	assert_int_equal(hamn_rm_rf(f->basefd, "root", &err), 0);
	assert_false(exists_at(f->basefd, "root"));
	assert_int_equal(hamn_read_file(f->basefd, "outside/secret", 100, &s, NULL, &err), 0);
	assert_string_equal(s, "outside");
	free(s);
	/* a missing path is success; a file or a link alone is removed */
	assert_int_equal(hamn_rm_rf(f->basefd, "root", &err), 0);
	put_link(f->basefd, "lonely", "outside");
	assert_int_equal(hamn_rm_rf(f->basefd, "lonely", &err), 0);
	assert_false(exists_at(f->basefd, "lonely"));
	assert_true(exists_at(f->basefd, "outside/secret"));
	/* a trailing slash must not make it follow a link to a directory */
	put_link(f->basefd, "dirlink", "outside");
	assert_int_equal(hamn_rm_rf(f->basefd, "dirlink/", &err), 0);
	assert_false(exists_at(f->basefd, "dirlink"));
	assert_true(exists_at(f->basefd, "outside/secret"));
	/* refused, as rm does */
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		assert_int_equal(hamn_rm_rf(f->basefd, refused[i], &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		hamn_error_free(&err);
	}
	assert_true(exists_at(f->basefd, "outside/secret"));
}

/* Bind-mount base/outside on base/root/dir/sub/m (same filesystem: same st_dev). */
static bool bind_outside(struct fixture *f)
{
	char src[128];

	if (geteuid() != 0)
		return false;
	/* our own mount namespace: nothing leaks to the host even if we crash */
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return false;
	/* fds opened before unshare see the old namespace's mounts: reopen them */
	close(f->rootfd);
	close(f->basefd);
	f->basefd = open(f->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	f->rootfd = openat(f->basefd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->basefd >= 0 && f->rootfd >= 0);
	assert_int_equal(mkdirat(f->rootfd, "dir/sub/m", 0755), 0);
	snprintf(src, sizeof(src), "%s/outside", f->base);
	snprintf(f->mnt, sizeof(f->mnt), "%s/root/dir/sub/m", f->base);
	assert_int_equal(mount(src, f->mnt, "none", MS_BIND, NULL), 0);
	return true;
}

static void rm_rf_stops_at_bind_mount(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;

	if (!bind_outside(f))
		skip();	/* needs root and mount namespaces */
	put_file(f->rootfd, "dir/sub/sibling", "x");
	assert_int_equal(hamn_rm_rf(f->basefd, "root", &err), -1);
	assert_int_equal(err->errnum, EBUSY);
	assert_non_null(strstr(err->msg, "dir/sub/m"));
	hamn_error_free(&err);
	/* the mounted content is intact; the siblings are gone */
	assert_true(exists_at(f->basefd, "outside/secret"));
	assert_true(exists_at(f->rootfd, "dir/sub/m/secret"));
	assert_false(exists_at(f->rootfd, "dir/sub/sibling"));
	assert_false(exists_at(f->rootfd, "etc"));
	assert_false(exists_at(f->rootfd, "l0"));
	/* the mount point itself is EBUSY too */
	assert_int_equal(hamn_rm_rf(f->rootfd, "dir/sub/m", &err), -1);
	assert_int_equal(err->errnum, EBUSY);
	hamn_error_free(&err);
	assert_int_equal(umount2(f->mnt, 0), 0);
	f->mnt[0] = '\0';
	assert_int_equal(hamn_rm_rf(f->basefd, "root", &err), 0);
	assert_true(exists_at(f->basefd, "outside/secret"));
}

static void no_xdev(void **state)
{
	struct fixture *f = *state;
	struct hamn_error *err = NULL;
	int fd;

	check_mode(state);
	if (!bind_outside(f))
		skip();
	assert_open_fails(f->rootfd, "dir/sub/m/secret", O_RDONLY, HAMN_RESOLVE_NO_XDEV, EXDEV);
	assert_open_fails(f->rootfd, "dir/sub/m", O_PATH, HAMN_RESOLVE_NO_XDEV, EXDEV);
	fd = hamn_open_in_root(f->rootfd, "dir/sub/../../etc/passwd", O_RDONLY,
			       0, HAMN_RESOLVE_NO_XDEV, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_reads(f->rootfd, "dir/sub/m/secret", "outside");
	assert_reads(f->rootfd, "dir/sub/m/../../../etc/passwd", "inside");
}

static void small_helpers(void **state)
{
	struct hamn_error *err = NULL;
	char buf[HAMN_FD_PATH_MAX];
	bool is_proc = true;
	int fd;

	(void)state;
	assert_string_equal(hamn_fd_path(7, buf), "/proc/self/fd/7");
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_int_equal(hamn_fd_is_fs(fd, 0x9fa0, &is_proc, &err), 0);
	assert_true(is_proc);
	close(fd);
	fd = open("/", O_PATH | O_CLOEXEC);
	assert_int_equal(hamn_fd_is_fs(fd, 0x9fa0, &is_proc, &err), 0);
	assert_false(is_proc);
	close(fd);
	assert_int_equal(hamn_fd_is_fs(-1, 0x9fa0, &is_proc, &err), -1);
	assert_int_equal(err->errnum, EBADF);
	hamn_error_free(&err);
}

#define BOTH(fn)                                                                           \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&mode_openat2), \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&mode_walk)
#define ONCE(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)&mode_walk)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(dotdot_stays_in_root),
		BOTH(absolute_symlink_stays_in_root),
		BOTH(relative_symlink_stays_in_root),
		BOTH(symlink_loops_are_eloop),
		BOTH(magic_links_are_eloop),
		BOTH(no_symlink_last),
		BOTH(misc_errors),
		BOTH(create_through_dangling_link),
		BOTH(mkdir_in_root_stays_in_root),
		ONCE(both_paths_agree),
		ONCE(read_file_limits),
		ONCE(read_write_all_pipe),
		ONCE(write_atomic_replaces),
		ONCE(mkdir_p_works),
		ONCE(rm_rf_does_not_follow_links),
		ONCE(small_helpers),
		/* last: they move the process into its own mount namespace */
		BOTH(no_xdev),
		ONCE(rm_rf_stops_at_bind_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests of src/base/spawn.c: exit codes, signals, the fd map (including a
 * swap of 1 and 2), what the child does not inherit, and errors from the
 * child before exec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"

/* Run argv, return its exit status and (if out) its stdout. */
static int run(char *const *argv, char **out)
{
	struct hamn_error *err = NULL;
	int status = -1;

	if (hamn_spawn_run(argv, out, 1 << 16, &status, &err) < 0)
		fail_msg("run '%s': %s", argv[0], err->msg);
	return status;
}

static char *read_pipe(int fd)
{
	struct hamn_error *err = NULL;
	char *s = NULL;

	assert_int_equal(hamn_read_fd(fd, 4096, &s, NULL, &err), 0);
	return s;
}

static void exit_code(void **state)
{
	char *const ok[] = { "true", NULL };
	char *const three[] = { "sh", "-c", "exit 3", NULL };
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(run(ok, NULL), 0);
	assert_int_equal(run(three, NULL), 3);
	/* without status_out a failure is an error */
	assert_int_equal(hamn_spawn_run(three, NULL, 0, NULL, &err), -1);
	assert_non_null(strstr(err->msg, "status 3"));
	hamn_error_free(&err);
	assert_int_equal(hamn_spawn_run(ok, NULL, 0, NULL, &err), 0);
}

static void signal_is_128_plus(void **state)
{
	char *const term[] = { "sh", "-c", "kill -TERM $$", NULL };
	char *const kill9[] = { "sh", "-c", "kill -KILL $$", NULL };

	(void)state;
	assert_int_equal(run(term, NULL), 128 + SIGTERM);
	assert_int_equal(run(kill9, NULL), 128 + SIGKILL);
}

static void capture_and_limit(void **state)
{
	char *const echo[] = { "echo", "hello", NULL };
	char *const big[] = { "head", "-c", "300000", "/dev/zero", NULL };
	struct hamn_error *err = NULL;
	char *out = NULL;
	int status;

	(void)state;
	assert_int_equal(run(echo, &out), 0);
	assert_string_equal(out, "hello\n");
	free(out);
	/* more than the limit: EFBIG, and the child is still drained and reaped */
	assert_int_equal(hamn_spawn_run(big, &out, 1000, &status, &err), -1);
	assert_int_equal(err->errnum, EFBIG);
	hamn_error_free(&err);
	assert_int_equal(hamn_spawn_run(big, &out, 300000, &status, &err), 0);
	free(out);
}

/* 8 -> 9 and 9 -> 8 (dash knows fds 0-9 only): each mapping's source is the other's destination. */
static void fd_swap_crossed(void **state)
{
	char *const argv[] = { "sh", "-c", "echo to8 >&8; echo to9 >&9", NULL };
	struct hamn_spawn_fd fds[2];
	struct hamn_spawn sp = { .argv = argv, .fds = fds, .n_fds = 2 };
	struct hamn_error *err = NULL;
	int a[2], b[2], status;
	char *s;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	assert_int_equal(dup3(a[1], 8, O_CLOEXEC), 8);
	assert_int_equal(dup3(b[1], 9, O_CLOEXEC), 9);
	close(a[1]);
	close(b[1]);
	fds[0] = (struct hamn_spawn_fd){ .parent_fd = 8, .child_fd = 9 };
	fds[1] = (struct hamn_spawn_fd){ .parent_fd = 9, .child_fd = 8 };
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), 0);
	close(8);
	close(9);
	s = read_pipe(a[0]);
	assert_string_equal(s, "to9\n");	/* pipe a was at 8 here, 9 in the child */
	free(s);
	s = read_pipe(b[0]);
	assert_string_equal(s, "to8\n");
	free(s);
	assert_int_equal(hamn_spawn_wait(pid, &status, &err), 0);
	assert_int_equal(status, 0);
	close(a[0]);
	close(b[0]);
}

/* The parent's 1 becomes the child's 2 and the other way round. */
static void fd_swap_stdout_stderr(void **state)
{
	char *const argv[] = { "sh", "-c", "echo out; echo err >&2", NULL };
	struct hamn_spawn_fd fds[2] = {
		{ .parent_fd = 1, .child_fd = 2 },
		{ .parent_fd = 2, .child_fd = 1 },
	};
	struct hamn_spawn sp = { .argv = argv, .fds = fds, .n_fds = 2 };
	struct hamn_error *err = NULL;
	int p1[2], p2[2], saved1, saved2, status, ret;
	char *s;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(p1, O_CLOEXEC), 0);
	assert_int_equal(pipe2(p2, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 3);
	saved2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
	dup2(p1[1], 1);
	dup2(p2[1], 2);
	ret = hamn_spawn_start(&sp, &pid, &err);
	dup2(saved1, 1);	/* put our own stdout/stderr back before any assert */
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(p1[1]);
	close(p2[1]);
	assert_int_equal(ret, 0);
	s = read_pipe(p1[0]);
	assert_string_equal(s, "err\n");
	free(s);
	s = read_pipe(p2[0]);
	assert_string_equal(s, "out\n");
	free(s);
	assert_int_equal(hamn_spawn_wait(pid, &status, &err), 0);
	assert_int_equal(status, 0);
	close(p1[0]);
	close(p2[0]);
}

/* Only 0-2 and the mapped fds reach the child, even without O_CLOEXEC. */
static void unmapped_fds_closed(void **state)
{
	char *const argv[] = { "ls", "/proc/self/fd", NULL };
	struct hamn_spawn_fd fds[2];
	struct hamn_spawn sp = { .argv = argv, .fds = fds, .n_fds = 2 };
	struct hamn_error *err = NULL;
	int p[2], leak, status;
	char *s;
	pid_t pid;

	(void)state;
	leak = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC, on purpose */
	assert_true(leak >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fds[0] = (struct hamn_spawn_fd){ .parent_fd = p[1], .child_fd = 1 };
	fds[1] = (struct hamn_spawn_fd){ .parent_fd = -1, .child_fd = 7 };	/* /dev/null */
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), 0);
	close(p[1]);
	s = read_pipe(p[0]);
	/* 3 is the directory ls itself opened to list fds */
	assert_string_equal(s, "0\n1\n2\n3\n7\n");
	free(s);
	assert_int_equal(hamn_spawn_wait(pid, &status, &err), 0);
	assert_int_equal(status, 0);
	close(p[0]);
	close(leak);
}

static void missing_program_is_enoent(void **state)
{
	char *const rel[] = { "hamn-no-such-program", NULL };
	char *const abs[] = { "/nonexistent/hamn-no-such-program", NULL };
	char *const dir[] = { "/", NULL };
	struct hamn_spawn sp = { .argv = rel };
	struct hamn_error *err = NULL;
	pid_t pid;

	(void)state;
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(err->msg,
			    "spawn 'hamn-no-such-program': exec: No such file or directory");
	hamn_error_free(&err);
	sp.argv = abs;
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	sp.argv = dir;
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), -1);
	assert_int_equal(err->errnum, EACCES);
	hamn_error_free(&err);
	/* nothing left to reap: the failed children were waited for */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void bad_cwd_is_an_error(void **state)
{
	char *const argv[] = { "true", NULL };
	struct hamn_spawn sp = { .argv = argv, .cwd = "/nonexistent-hamn-dir" };
	struct hamn_error *err = NULL;
	pid_t pid;

	(void)state;
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	assert_non_null(strstr(err->msg, "chdir '/nonexistent-hamn-dir'"));
	hamn_error_free(&err);
}

static void cwd_env_and_session(void **state)
{
	char *const argv[] = {
		"sh", "-c",
		"read p c s pp pg sid rest < /proc/$$/stat; echo \"$PWD $FOO $(( sid == $$ ))\"",
		NULL
	};
	char *const envp[] = { "FOO=bar", NULL };
	struct hamn_spawn_fd fds[1];
	struct hamn_spawn sp = {
		.argv = argv, .envp = envp, .cwd = "/tmp", .fds = fds, .n_fds = 1,
		.new_session = true,
	};
	struct hamn_error *err = NULL;
	int p[2], status;
	char *s;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fds[0] = (struct hamn_spawn_fd){ .parent_fd = p[1], .child_fd = 1 };
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), 0);
	close(p[1]);
	s = read_pipe(p[0]);
	assert_string_equal(s, "/tmp bar 1\n");
	free(s);
	assert_int_equal(hamn_spawn_wait(pid, &status, &err), 0);
	assert_int_equal(status, 0);
	close(p[0]);
}

/* A blocked or ignored signal in the parent is neither in the child. */
static void signals_reset(void **state)
{
	char *const argv[] = { "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int;
	sigset_t usr1, old_mask;
	char *out = NULL;

	(void)state;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old_mask);
	sigaction(SIGINT, &ign, &old_int);
	assert_int_equal(run(argv, &out), 0);
	sigaction(SIGINT, &old_int, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	assert_string_equal(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	free(out);
}

static void bad_arguments(void **state)
{
	char *const argv[] = { "true", NULL };
	char *const empty[] = { NULL };
	struct hamn_spawn_fd fds[1] = { { .parent_fd = 999, .child_fd = 3 } };
	struct hamn_spawn sp = { .argv = argv, .fds = fds, .n_fds = 1 };
	struct hamn_error *err = NULL;
	pid_t pid;

	(void)state;
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), -1);
	assert_int_equal(err->errnum, EBADF);
	hamn_error_free(&err);
	sp.argv = empty;
	sp.n_fds = 0;
	assert_int_equal(hamn_spawn_start(&sp, &pid, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exit_code),
		cmocka_unit_test(signal_is_128_plus),
		cmocka_unit_test(capture_and_limit),
		cmocka_unit_test(fd_swap_crossed),
		cmocka_unit_test(fd_swap_stdout_stderr),
		cmocka_unit_test(unmapped_fds_closed),
		cmocka_unit_test(missing_program_is_enoent),
		cmocka_unit_test(bad_cwd_is_an_error),
		cmocka_unit_test(cwd_env_and_session),
		cmocka_unit_test(signals_reset),
		cmocka_unit_test(bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

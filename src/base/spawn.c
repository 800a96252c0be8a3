/*
 * spawn.c - fork and exec a program with an exact fd map.
 *
 * Everything the child needs (the candidate paths of the program, the fd
 * plan, /dev/null) is built before fork, so the child only makes
 * async-signal-safe calls and never allocates. A failure in the child
 * before exec travels back as {step, errno} on a CLOEXEC pipe: EOF on the
 * pipe means exec succeeded.
 *
 * Deliberately not here: namespaces, cgroups, credentials and ptys; the
 * runtime does those with clone3. A script without "#!" is not retried
 * through /bin/sh as execvp would: it fails with ENOEXEC.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/syscalls.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

enum child_step {
	STEP_FDS,
	STEP_SETSID,
	STEP_CHDIR,
	STEP_EXEC,
};

static const char *const step_names[] = {
	[STEP_FDS] = "set up fds",
	[STEP_SETSID] = "setsid",
	[STEP_CHDIR] = "chdir",
	[STEP_EXEC] = "exec",
};

/* What the child writes to the error pipe when a step fails. */
struct child_report {
	int step;
	int errnum;
};

struct fd_move {
	int src;	/* fd in the parent */
	int dst;	/* fd in the child */
};

/* Everything the child needs, prepared by the parent before fork. */
struct plan {
	const struct hamn_spawn *sp;
	char **paths;		/* where to look for argv[0], in order; NULL-terminated */
	char *const *envp;
	int devnull;
	int errpipe[2];
	struct fd_move *moves;	/* explicit mappings, then /dev/null for unmapped 0-2 */
	size_t n_moves;
	int *tmp;		/* the child's scratch: one slot per move */
	unsigned int *keep;	/* sorted child fds >= 3 that survive exec */
	size_t n_keep;
	int high;		/* above every fd number in the plan */
	unsigned int max_fd;	/* for the close_range fallback */
};

/* ------------------------------------------------------------------ */
/* The child: async-signal-safe calls only                              */
/* ------------------------------------------------------------------ */

__attribute__((noreturn)) static void child_fail(int errfd, enum child_step step, int errnum)
{
	struct child_report r = { .step = (int)step, .errnum = errnum };
	ssize_t n;

	do
		n = write(errfd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Set FD_CLOEXEC on [first, last]; exec then closes them. */
static void cloexec_range(unsigned int first, unsigned int last, unsigned int max_fd)
{
	if (sys_close_range(first, last, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	/* before Linux 5.11: one fcntl per possible fd (EBADF for the closed ones) */
	for (unsigned int fd = first; fd <= last && fd < max_fd; fd++)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

/*
 * Move every source to a scratch fd above all the numbers in the plan
 * first, so overlapping mappings (1->2 with 2->1) do not clobber each
 * other; then dup2 each to its place (dup2 clears FD_CLOEXEC); then mark
 * every other fd from 3 up close-on-exec.
 */
static int child_setup_fds(const struct plan *p)
{
	unsigned int from = 3;

	for (size_t i = 0; i < p->n_moves; i++) {
		p->tmp[i] = fcntl(p->moves[i].src, F_DUPFD_CLOEXEC, p->high);
		if (p->tmp[i] < 0)
			return -1;
	}
	for (size_t i = 0; i < p->n_moves; i++)
		if (dup2(p->tmp[i], p->moves[i].dst) < 0)
			return -1;
	for (size_t i = 0; i < p->n_keep; i++) {
		if (p->keep[i] > from)
			cloexec_range(from, p->keep[i] - 1, p->max_fd);
		from = p->keep[i] + 1;
	}
	cloexec_range(from, ~0U, p->max_fd);
	return 0;
}

static void child_reset_signals(void)
{
	/* handlers are reset by exec anyway, but SIG_IGN would be inherited */
	sys_reset_all_signals();
}

static void child_exec(const struct plan *p, int errfd)
{
	bool eacces = false;
	int last = ENOENT;
	sigset_t none;

	/* signals stay blocked until now so no handler of the parent runs here */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* as execvp: go on past missing candidates, report EACCES if one was seen */
	for (char **c = p->paths; *c; c++) {
		execve(*c, p->sp->argv, p->envp);
		last = errno;
		if (last == EACCES)
			eacces = true;
		else if (last != ENOENT && last != ENOTDIR && last != ESTALE && last != ENODEV &&
			 last != ETIMEDOUT)
			break;
	}
	child_fail(errfd, STEP_EXEC, eacces && last == ENOENT ? EACCES : last);
}

__attribute__((noreturn)) static void child_run(const struct plan *p)
{
	int errfd;

	/* keep the report pipe out of the way of the fds being mapped */
	errfd = fcntl(p->errpipe[1], F_DUPFD_CLOEXEC, p->high);
	if (errfd < 0)
		_exit(127);
	child_reset_signals();
	if (child_setup_fds(p) < 0)
		child_fail(errfd, STEP_FDS, errno);
	if (p->sp->new_session && setsid() < 0)
		child_fail(errfd, STEP_SETSID, errno);
	if (p->sp->cwd && chdir(p->sp->cwd) < 0)
		child_fail(errfd, STEP_CHDIR, errno);
	child_exec(p, errfd);
	_exit(127);
}

/* ------------------------------------------------------------------ */
/* The parent: build the plan                                           */
/* ------------------------------------------------------------------ */

/* argv[0] as is when it has a '/', else each directory of the caller's PATH. */
static char **plan_paths(const char *prog)
{
	const char *path = getenv("PATH");
	_cleanup_strv_ char **dirs = NULL;
	char **out = NULL;

	if (strchr(prog, '/')) {
		strv_push(&out, prog);
		return out;
	}
	dirs = str_split(path && *path ? path : DEFAULT_PATH, ':');
	for (char **d = dirs; *d; d++)
		strv_push_take(&out, xasprintf("%s/%s", **d ? *d : ".", prog));
	if (!out)
		out = xcalloc(1, sizeof(*out));
	return out;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

static void plan_add(struct plan *p, int src, int dst)
{
	p->moves[p->n_moves++] = (struct fd_move){ .src = src, .dst = dst };
	if (src >= p->high)
		p->high = src + 1;
	if (dst >= p->high)
		p->high = dst + 1;
	if (dst >= 3)
		p->keep[p->n_keep++] = (unsigned int)dst;
}

static int plan_moves(struct plan *p, const struct hamn_spawn *sp, struct hamn_error **err)
{
	bool std_mapped[3] = { false, false, false };
	size_t n = 0;

	p->moves = xcalloc(sp->n_fds + 3, sizeof(*p->moves));
	p->tmp = xcalloc(sp->n_fds + 3, sizeof(*p->tmp));
	p->keep = xcalloc(sp->n_fds + 1, sizeof(*p->keep));
	for (size_t i = 0; i < sp->n_fds; i++) {
		int src = sp->fds[i].parent_fd < 0 ? p->devnull : sp->fds[i].parent_fd;
		int dst = sp->fds[i].child_fd;

		if (dst < 0)
			return hamn_error_setq(err, EINVAL, "child fd %d", dst);
		if (fcntl(src, F_GETFD) < 0)
			return hamn_error_set(err, errno, "fd %d for child fd %d", src, dst);
		if (dst < 3)
			std_mapped[dst] = true;
		plan_add(p, src, dst);
	}
	for (int fd = 0; fd < 3; fd++)
		if (!std_mapped[fd])
			plan_add(p, p->devnull, fd);
	qsort(p->keep, p->n_keep, sizeof(*p->keep), cmp_uint);
	for (size_t i = 0; i < p->n_keep; i++)	/* drop duplicates */
		if (n == 0 || p->keep[n - 1] != p->keep[i])
			p->keep[n++] = p->keep[i];
	p->n_keep = n;
	return 0;
}

static void plan_release(struct plan *p)
{
	int saved = errno;

	hamn_strv_free(p->paths);
	free(p->moves);
	free(p->tmp);
	free(p->keep);
	if (p->devnull >= 0)
		close(p->devnull);
	for (int i = 0; i < 2; i++)
		if (p->errpipe[i] >= 0)
			close(p->errpipe[i]);
	errno = saved;
}

static int plan_build(struct plan *p, const struct hamn_spawn *sp, struct hamn_error **err)
{
	struct rlimit rl;

	*p = (struct plan){ .sp = sp, .devnull = -1, .errpipe = { -1, -1 }, .high = 3 };
	p->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (p->devnull < 0)
		return hamn_error_set(err, errno, "open /dev/null");
	if (pipe2(p->errpipe, O_CLOEXEC) < 0)
		return hamn_error_set(err, errno, "pipe");
	for (int i = 0; i < 2; i++)
		if (p->errpipe[i] >= p->high)
			p->high = p->errpipe[i] + 1;
	if (p->devnull >= p->high)
		p->high = p->devnull + 1;
	if (plan_moves(p, sp, err) < 0)
		return -1;
	p->paths = plan_paths(sp->argv[0]);
	p->envp = sp->envp ? sp->envp : environ;
	p->max_fd = 1U << 20;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < p->max_fd)
		p->max_fd = (unsigned int)rl.rlim_cur;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */
/* ------------------------------------------------------------------ */

/* Read the child's report: 0 on EOF (exec happened), 1 with *r filled, -1 on error. */
static int read_report(int fd, struct child_report *r)
{
	ssize_t n = hamn_read_all(fd, r, sizeof(*r), NULL);

	if (n == 0)
		return 0;
	if (n == (ssize_t)sizeof(*r) && r->step >= 0 && r->step <= STEP_EXEC)
		return 1;
	*r = (struct child_report){ .step = STEP_EXEC, .errnum = n < 0 ? errno : EIO };
	return 1;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int hamn_spawn_start(const struct hamn_spawn *sp, pid_t *pid_out, struct hamn_error **err)
{
	struct plan p;
	struct child_report r;
	sigset_t all, old;
	pid_t pid;
	int fork_errno;

	if (!sp->argv || !sp->argv[0])
		return hamn_error_setq(err, EINVAL, "spawn: empty argv");
	if (plan_build(&p, sp, err) < 0) {
		plan_release(&p);
		return hamn_error_wrap(err, "spawn '%s'", sp->argv[0]);
	}
	/* the child must not run our handlers before it has reset them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_run(&p);
	fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p.errpipe[1]);
	p.errpipe[1] = -1;
	if (pid < 0) {
		plan_release(&p);
		return hamn_error_set(err, fork_errno, "spawn '%s': fork", sp->argv[0]);
	}
	if (read_report(p.errpipe[0], &r) == 0) {
		plan_release(&p);
		*pid_out = pid;
		return 0;
	}
	plan_release(&p);
	reap(pid);
	if (r.step == STEP_CHDIR)
		return hamn_error_set(err, r.errnum, "spawn '%s': chdir '%s'", sp->argv[0],
				      sp->cwd);
	return hamn_error_set(err, r.errnum, "spawn '%s': %s", sp->argv[0], step_names[r.step]);
}

int hamn_spawn_wait(pid_t pid, int *status_out, struct hamn_error **err)
{
	int st, code;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return hamn_error_set(err, errno, "wait for pid %d", (int)pid);
	if (WIFEXITED(st))
		code = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		code = 128 + WTERMSIG(st);
	else
		code = 255;	/* not reachable without WUNTRACED */
	if (status_out)
		*status_out = code;
	return 0;
}

/* Read fd to EOF, keeping at most max bytes; *too_big says whether more came. */
static int read_capped(int fd, size_t max, struct hamn_buf *b, bool *too_big,
		       struct hamn_error **err)
{
	char chunk[4096];

	*too_big = false;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		size_t keep;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "read output");
		}
		if (n == 0)
			return 0;
		/* past the limit keep draining, so the child never blocks on a full pipe */
		keep = (size_t)n;
		if (b->len + keep > max) {
			*too_big = true;
			keep = max - b->len;
		}
		hamn_buf_append(b, chunk, keep);
	}
}

/* The output pipe of hamn_spawn_run, mapped to the child's stdout. */
static int start_captured(char *const *argv, bool capture, int *rd, pid_t *pid,
			  struct hamn_error **err)
{
	struct hamn_spawn_fd fds[2] = {
		/* stderr goes to ours, or /dev/null if we have none */
		{ .parent_fd = fcntl(2, F_GETFD) < 0 ? -1 : 2, .child_fd = 2 },
	};
	struct hamn_spawn sp = { .argv = argv, .fds = fds, .n_fds = 1 };
	int pfd[2] = { -1, -1 };
	int ret;

	if (capture) {
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return hamn_error_set(err, errno, "run '%s': pipe", argv[0]);
		fds[1] = (struct hamn_spawn_fd){ .parent_fd = pfd[1], .child_fd = 1 };
		sp.n_fds = 2;
	}
	ret = hamn_spawn_start(&sp, pid, err);
	if (capture) {
		close(pfd[1]);	/* else we would never see EOF */
		if (ret < 0)
			close(pfd[0]);
		else
			*rd = pfd[0];
	}
	return ret;
}

int hamn_spawn_run(char *const *argv, char **out, size_t max_out, int *status_out,
		   struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	_cleanup_error_ struct hamn_error *read_err = NULL;
	bool too_big = false;
	int rd = -1, status;
	pid_t pid;

	if (!argv || !argv[0])
		return hamn_error_setq(err, EINVAL, "run: empty argv");
	if (start_captured(argv, out != NULL, &rd, &pid, err) < 0)
		return -1;
	if (rd >= 0) {
		read_capped(rd, max_out, &b, &too_big, &read_err);
		close(rd);	/* a child still writing gets EPIPE instead of blocking */
	}
	if (hamn_spawn_wait(pid, &status, err) < 0)
		return -1;
	if (read_err) {
		hamn_error_propagate(err, &read_err);
		return hamn_error_wrap(err, "run '%s'", argv[0]);
	}
	if (too_big)
		return hamn_error_setq(err, EFBIG, "run '%s': output larger than %zu bytes",
				       argv[0], max_out);
	if (!status_out && status != 0)
		return hamn_error_setq(err, EIO, "run '%s': exited with status %d", argv[0],
				       status);
	if (status_out)
		*status_out = status;
	if (out)
		*out = hamn_buf_steal(&b);
	return 0;
}

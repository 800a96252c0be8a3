/*
 * hamn-init - the minimal init hamnd runs as a container's pid 1 for
 * `run --init` (docker's docker-init, tini's job): bind-mounted read-only at
 * /sbin/hamn-init, started as `hamn-init -- CMD [ARG...]`.
 *
 * It forks CMD in a process group of its own (same session, so a terminal
 * stays the controlling one; with a terminal on stdin the group becomes its
 * foreground group), then waits for signals synchronously: SIGCHLD reaps
 * every zombie that was re-parented to it, any other signal is forwarded to
 * CMD's process group (so `sh -c 'a & b'` gets the SIGTERM of a stop as a
 * whole). When CMD exits, hamn-init exits with CMD's status, or 128+signal
 * when CMD was killed; the kernel then kills what is left in the pid
 * namespace.
 *
 * Deliberately small and self-contained: static, no stdio, no malloc, no
 * hamn library; it must run in any image (scratch included) as any user.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Faults are delivered to the faulting thread; blocking them would only hide a crash. */
static const int sync_signals[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS};

/* "hamn-init: " a b c d "\n" on stderr (NULL parts are skipped). */
static void say(const char *a, const char *b, const char *c, const char *d)
{
	const char *parts[] = {"hamn-init: ", a, b, c, d, "\n"};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t len = parts[i] ? strlen(parts[i]) : 0;

		/* best effort: a closed stderr must not stop the init */
		if (len && write(STDERR_FILENO, parts[i], len) < 0)
			return;
	}
}

static void usage(void)
{
	say("usage: hamn-init [--] COMMAND [ARG...]", NULL, NULL, NULL);
}

/* The set of signals hamn-init waits for: everything but the synchronous ones. */
static void waited_set(sigset_t *set)
{
	sigfillset(set);
	for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		sigdelset(set, sync_signals[i]);
}

/* In the child: own process group, foreground on a terminal, old mask, exec. */
static void run_child(char **argv, const sigset_t *old_mask) __attribute__((noreturn));

static void run_child(char **argv, const sigset_t *old_mask)
{
	int e;

	if (setpgid(0, 0) < 0)
		say("setpgid: ", strerror(errno), NULL, NULL);
	/*
	 * SIGTTOU is still blocked here, so a background group may take the
	 * terminal. No terminal (ENOTTY) is the common case and not an error.
	 */
	if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpid()) < 0 && errno != ENOTTY &&
	    errno != ENXIO)
		say("tcsetpgrp: ", strerror(errno), NULL, NULL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	execvp(argv[0], argv);
	e = errno;
	say("exec ", argv[0], ": ", strerror(e));
	/* as a shell does: 126 found but not runnable, 127 not found */
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

/* Reap every child that is done; *done and *status once the command is among them. */
static void reap(pid_t child, bool *done, int *status)
{
	int st;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		if (pid == child) {
			*done = true;
			*status = st;
		}
	}
}

/* Forward sig to the command's group; to the command alone if the group is gone. */
static void forward(pid_t child, int sig)
{
	if (kill(-child, sig) < 0 && errno == ESRCH)
		kill(child, sig);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static int supervise(pid_t child, const sigset_t *set)
{
	bool done = false;
	int status = 0;

	while (!done) {
		siginfo_t info;
		int sig = sigwaitinfo(set, &info);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			say("sigwaitinfo: ", strerror(errno), NULL, NULL);
			return 1;
		}
		if (sig == SIGCHLD)
			reap(child, &done, &status);
		else
			forward(child, sig);
	}
	/* zombies that exited at the same time as the command */
	reap(child, &done, &status);
	return exit_code(status);
}

int main(int argc, char **argv)
{
	sigset_t set, old;
	pid_t child;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		say("version ", HAMN_VERSION, NULL, NULL);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argv++;
		argc--;
	}
	if (argc < 2) {
		usage();
		return 1;
	}
	/* not pid 1 (--pid=host): still adopt the command's orphans */
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	waited_set(&set);
	if (sigprocmask(SIG_SETMASK, &set, &old) < 0) {
		say("sigprocmask: ", strerror(errno), NULL, NULL);
		return 1;
	}
	child = fork();
	if (child < 0) {
		say("fork: ", strerror(errno), NULL, NULL);
		return 1;
	}
	if (child == 0)
		run_child(argv + 1, &old);
	/* both sides set the group, so the first forward cannot miss it */
	setpgid(child, child);
	return supervise(child, &set);
}

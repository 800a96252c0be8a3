/*
 * spawn.h - run a program with full control of its file descriptors.
 *
 * Every fd in hamn is O_CLOEXEC, so a spawned child sees only what the
 * caller maps into it. Errors in the child before exec (a bad cwd, a missing
 * program) come back to the parent as a hamn_error through a CLOEXEC pipe.
 */
#ifndef HAMN_BASE_SPAWN_H
#define HAMN_BASE_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

struct hamn_spawn_fd {
	int parent_fd;	/* fd in the parent (or -1 to open /dev/null) */
	int child_fd;	/* the number it gets in the child */
};

struct hamn_spawn {
	char *const *argv;		/* argv[0] is looked up in PATH if it has no '/' */
	char *const *envp;		/* NULL: inherit environ */
	const char *cwd;		/* NULL: inherit */
	const struct hamn_spawn_fd *fds;	/* n_fds mappings; unmapped 0-2 become /dev/null */
	size_t n_fds;
	bool new_session;		/* setsid() in the child */
};

/*
 * Start the program; *pid_out is its pid. The caller reaps it.
 * The child gets exactly the mapped fds (overlapping maps such as 1->2 with
 * 2->1 work), default signal dispositions and an empty signal mask. argv[0]
 * is looked up in the caller's PATH (not envp's). A failure before the
 * program runs is returned here, the child already reaped:
 * "spawn 'foo': exec: No such file or directory" (errnum ENOENT), or
 * "spawn 'foo': chdir '/x': ...". Thread-safe (uses fork; the child makes
 * async-signal-safe calls only).
 */
int hamn_spawn_start(const struct hamn_spawn *sp, pid_t *pid_out, struct hamn_error **err);

/* Wait for pid (EINTR retried); *status_out (may be NULL) is the exit code, or 128+signal. */
int hamn_spawn_wait(pid_t pid, int *status_out, struct hamn_error **err);

/*
 * Run argv to completion, capturing stdout (at most max_out bytes) into a
 * new string when out is non-NULL; stderr goes to the parent's stderr,
 * stdin is /dev/null. More output than max_out is EFBIG (the rest is
 * drained, the child is still reaped). With status_out NULL a non-zero
 * exit status is an error (EIO); otherwise it is returned there.
 */
int hamn_spawn_run(char *const *argv, char **out, size_t max_out, int *status_out,
		   struct hamn_error **err);

#endif

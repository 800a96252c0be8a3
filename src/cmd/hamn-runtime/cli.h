/*
 * cli.h - shared by the files of the hamn-runtime command (runc's command
 * line: global flags, then a command with its own flags).
 */
#ifndef HAMN_CMD_RUNTIME_CLI_H
#define HAMN_CMD_RUNTIME_CLI_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/base.h"
#include "runtime/runtime.h"

#define DEFAULT_ROOT "/run/hamn-runtime"

struct cli {
	const char *root;
	bool systemd_cgroup;
	bool debug;
};

/* One flag of a command: "bundle" with alias "b" accepts --bundle X, -b X, --bundle=X, -bundle X.
 */
struct cli_flag {
	const char *name;
	const char *alias; /* or NULL */
	bool has_arg;
	bool repeat; /* values collect into a vector */
	const char *help;
};

struct cli_args {
	const char *value[16]; /* by flag index; "" for a set boolean */
	char **values[16];     /* repeatable flags */
	char **pos;	       /* positional arguments */
	bool help;
};

/*
 * Parse argv (after the command name) against flags. With stop_early,
 * everything after the first positional that follows n_before positionals
 * is positional (exec ID CMD -x). Returns 0, or -1 with *err set.
 */
int cli_parse(int argc, char **argv, const struct cli_flag *flags, size_t n_flags,
	      size_t stop_after, struct cli_args *out, struct hamn_error **err);
void cli_args_release(struct cli_args *a);
/* Print "Usage:" and the flags of a command to stdout. */
void cli_usage(const char *usage, const char *about, const struct cli_flag *flags, size_t n);
/* Require exactly n positionals (the container id first); EINVAL naming the command otherwise. */
int cli_need_args(const struct cli_args *a, size_t min, size_t max, const char *cmd,
		  struct hamn_error **err);
/* Connect to the console socket at path; -1 with *err. */
int cli_console_socket(const char *path, struct hamn_error **err);
/* "KILL", "SIGKILL", "9" -> 9; -1 when unknown. */
int cli_signal(const char *s);
/* Print JSON to stdout, indented. */
void cli_print_json(json_t *j);

/*
 * Wait for pid (our child) while forwarding signals to it and, with
 * console >= 0, relaying the pty to our stdin/stdout. Signals must already
 * be blocked (cli_block_signals, before the process was created).
 */
int cli_wait_forward(pid_t pid, int console, int *status, struct hamn_error **err);
void cli_block_signals(void);

int cmd_create(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_start(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_run(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_state(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_kill(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_delete(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_pause(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_resume(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_ps(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_list(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_update(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_exec(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_spec(struct cli *c, int argc, char **argv, struct hamn_error **err);
int cmd_features(struct cli *c, int argc, char **argv, struct hamn_error **err);

/* A command's exit status when it succeeded (run/exec return the process's). */
extern int cli_exit_status;

#endif

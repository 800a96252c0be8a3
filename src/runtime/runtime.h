/*
 * runtime.h - the Linux container runtime: the public API of src/runtime.
 *
 * Two layers share one core:
 *
 * 1. A handle API for the engine's per-container monitor. It runs a parsed
 *    config directly and keeps the container as a child of the caller:
 *
 *        hamn_runtime_spawn(spec, &opts, &h, &err);   init waits, set up
 *        hamn_container_handle_start(h, &err);         init execs
 *        hamn_container_handle_wait(h, &status, &err); exit code or 128+sig
 *        hamn_container_handle_destroy(h, &err);       kill, cgroup, hooks
 *        hamn_container_handle_free(h);
 *
 *    plus _kill and _exec on the same handle. Nothing is written to disk.
 *
 * 2. The runc-style lifecycle behind the `hamn-runtime` CLI: containers
 *    live in a state directory (--root/<id>/state.json) so separate
 *    processes can create, start, kill and delete them. These functions
 *    call the handle layer and persist what it returns.
 *
 * Errors are hamn_errors worded "create 'id': mount '/proc': ...". No
 * function prints or exits. The functions are not async-signal-safe; they
 * may be called from any thread, but spawn/exec clone the calling thread.
 */
#ifndef HAMN_RUNTIME_RUNTIME_H
#define HAMN_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/oci.h"

struct hamn_seccomp_prog;

/* The process's standard streams. */
struct hamn_runtime_stdio {
	int fds[3]; /* fds that become 0, 1, 2; -1 keeps the caller's */
	/*
	 * process.terminal only: a connected unix socket that receives the pty
	 * master with SCM_RIGHTS (runc --console-socket). When -1, the master
	 * comes back to the caller instead (hamn_container_handle_console_fd,
	 * hamn_runtime_exec's *console_out).
	 */
	int console_socket;
};

#define HAMN_RUNTIME_STDIO_INIT                                                                    \
	{                                                                                          \
		{-1, -1, -1}, -1                                                                   \
	}

enum hamn_runtime_flags {
	HAMN_RUNTIME_NO_PIVOT = 1 << 0,	      /* MS_MOVE + chroot instead of pivot_root */
	HAMN_RUNTIME_NO_NEW_KEYRING = 1 << 1, /* keep the caller's session keyring */
};

struct hamn_runtime_spawn_opts {
	const char *id;	    /* container id: names the cgroup; in hooks' state */
	const char *bundle; /* absolute bundle dir: base of relative paths; may be NULL */
	const char *rootfs; /* absolute rootfs; NULL: spec's root.path relative to bundle */
	struct hamn_runtime_stdio stdio;
	/*
	 * NULL: the init waits for hamn_container_handle_start(). Otherwise an
	 * existing fifo: the init blocks opening it for writing and runs once a
	 * reader (hamn_runtime_start in another process) opens it.
	 */
	const char *exec_fifo;
	unsigned int flags; /* enum hamn_runtime_flags */
	/*
	 * A program compiled from spec's linux.seccomp (hamn_seccomp_compile,
	 * runtime/seccomp_bpf.h), loaded instead of compiling it again: the
	 * engine compiles each profile once and shares it between its monitors.
	 * NULL: compile spec's. Borrowed; it must outlive the handle.
	 */
	const struct hamn_seccomp_prog *seccomp_prog;
};

struct hamn_container_handle;

/*
 * Create the container described by spec: cgroup, namespaces, root
 * filesystem, devices, hardening, prestart/createRuntime/createContainer
 * hooks. On return the init waits (for _start or on the fifo) and the
 * process is a child of the caller. On failure nothing is left behind
 * (no process, cgroup or mount). spec must outlive the handle.
 */
int hamn_runtime_spawn(const struct hamn_oci_spec *spec, const struct hamn_runtime_spawn_opts *opts,
		       struct hamn_container_handle **out, struct hamn_error **err);

pid_t hamn_container_handle_pid(const struct hamn_container_handle *h);
/* A pidfd of the init (owned by the handle). */
int hamn_container_handle_pidfd(const struct hamn_container_handle *h);
/* The pty master when process.terminal and no console socket; -1 otherwise. Owned by the handle. */
int hamn_container_handle_console_fd(const struct hamn_container_handle *h);
/* The cgroup (owned by the handle), for stats and state. */
struct hamn_cgroup *hamn_container_handle_cgroup(const struct hamn_container_handle *h);

/* Let the init exec process.args (socket mode); runs poststart hooks. Errors from exec come back.
 */
int hamn_container_handle_start(struct hamn_container_handle *h, struct hamn_error **err);
/* Wait for the init; *status is its exit code, or 128+signal when killed. */
int hamn_container_handle_wait(struct hamn_container_handle *h, int *status,
			       struct hamn_error **err);
/* Signal the init (all: every process in the cgroup). */
int hamn_container_handle_kill(struct hamn_container_handle *h, int sig, bool all,
			       struct hamn_error **err);
/* Kill what is left, reap the init if it is ours, remove the cgroup, run poststop hooks. */
int hamn_container_handle_destroy(struct hamn_container_handle *h, struct hamn_error **err);
/* Free the handle only (the container is left as it is; see _destroy). Safe on NULL. */
void hamn_container_handle_free(struct hamn_container_handle *h);
/* Forget that the init is our child, e.g. after the CLI's `create` hands it to its parent. */
void hamn_container_handle_detach(struct hamn_container_handle *h);
HAMN_DEFINE_CLEANUP(hamn_container_handle, hamn_container_handle_free)

/* ---- exec into a running container ---- */

struct hamn_runtime_exec_target {
	pid_t init_pid;			  /* the container's init */
	int init_pidfd;			  /* or -1: opened from init_pid */
	const struct hamn_oci_spec *spec; /* the container's config (namespaces, seccomp default) */
	struct hamn_cgroup *cgroup;	  /* joined by the new process; may be NULL */
	/*
	 * The program compiled from spec's linux.seccomp, loaded instead of
	 * compiling it again (an engine monitor has it already); NULL: compile.
	 */
	const struct hamn_seccomp_prog *seccomp_prog;
};

/*
 * Start process in the container of target: setns into all its namespaces
 * (user first) via a pidfd, same cgroup, the process's user, caps,
 * no_new_privs, rlimits and seccomp (process has its own; the container's
 * linux.seccomp applies). The new process is a child of the caller;
 * *pid_out is its pid. With a terminal and no console socket the pty
 * master is returned in *console_out (else -1).
 */
int hamn_runtime_exec(const struct hamn_runtime_exec_target *target,
		      const struct hamn_oci_process *process,
		      const struct hamn_runtime_stdio *stdio, pid_t *pid_out, int *console_out,
		      struct hamn_error **err);

/* ---- protection of the runtime's own binary (CVE-2019-5736) ---- */

/*
 * If /proc/self/exe is on a writable mount, re-exec the running program
 * from a read-only detached clone of its own file (open_tree +
 * mount_setattr(MOUNT_ATTR_RDONLY) + execveat), so that any process that
 * later reaches it through /proc/PID/exe gets EROFS on open for writing.
 * Returns only on failure (-1, *err set) or when already safe (0). Call it
 * first thing in main(), before threads exist.
 */
int hamn_runtime_protect_exe(char **argv, struct hamn_error **err);

/* ---- the runc-style state directory (the CLI) ---- */

struct hamn_runtime_create_opts {
	const char *bundle;   /* absolute */
	const char *pid_file; /* NULL or a path to write the init's pid to */
	int console_socket;   /* -1 or a connected socket */
	unsigned int flags;   /* enum hamn_runtime_flags */
	bool systemd_cgroup;  /* --systemd-cgroup: an error when a systemd path is needed */
};

/*
 * `create`: load bundle/config.json, spawn the init waiting on
 * <root>/<id>/exec.fifo, write <root>/<id>/state.json. *pid_out gets the
 * init's pid. The init is not waited for: it is meant to outlive the caller.
 */
int hamn_runtime_create(const char *root, const char *id, const struct hamn_runtime_create_opts *o,
			pid_t *pid_out, struct hamn_error **err);
/* `start`: release a created container's init; runs poststart hooks. */
int hamn_runtime_start(const char *root, const char *id, struct hamn_error **err);

/*
 * `run`: create + start, with the init as the caller's child. *h_out is
 * the handle to wait on (the caller forwards signals and then calls
 * hamn_runtime_run_finish). The state directory exists while it runs.
 * With a terminal and no console socket, the pty master is in the handle.
 */
int hamn_runtime_run(const char *root, const char *id, const struct hamn_runtime_create_opts *o,
		     bool detach, struct hamn_container_handle **h_out, struct hamn_error **err);
/* After the init of a non-detached run has been waited for: destroy and delete the state. */
int hamn_runtime_run_finish(const char *root, const char *id, struct hamn_container_handle *h,
			    struct hamn_error **err);

/* `state`: the OCI state document (new reference) with the derived status. */
json_t *hamn_runtime_state(const char *root, const char *id, struct hamn_error **err);
/* `list`: the state documents of all containers under root (a new array). */
json_t *hamn_runtime_list(const char *root, struct hamn_error **err);
/* `kill`: sig to the init, or with all to every process of the container. */
int hamn_runtime_kill(const char *root, const char *id, int sig, bool all, struct hamn_error **err);
/* `delete`: remove a stopped (or created) container; force kills a running one. */
int hamn_runtime_delete(const char *root, const char *id, bool force, struct hamn_error **err);
/* `pause` / `resume`: freeze or thaw the container's cgroup. */
int hamn_runtime_pause(const char *root, const char *id, bool pause, struct hamn_error **err);
/* `ps`: the host pids of the container's processes (new array). */
int hamn_runtime_pids(const char *root, const char *id, pid_t **pids, size_t *n,
		      struct hamn_error **err);
/* `update`: apply new limits to the container's cgroup. */
int hamn_runtime_update(const char *root, const char *id, const struct hamn_oci_resources *res,
			struct hamn_error **err);

struct hamn_runtime_exec_opts {
	const struct hamn_runtime_stdio *stdio;
	bool detach;
	const char *pid_file;
};
/*
 * `exec` by id: process into the running container. *pid_out is the new
 * process (a child of the caller); *console_out its pty master when
 * terminal without console socket (else -1).
 */
int hamn_runtime_exec_id(const char *root, const char *id, const struct hamn_oci_process *process,
			 const struct hamn_runtime_exec_opts *o, pid_t *pid_out, int *console_out,
			 struct hamn_error **err);
/* The container's config as it was at create time (new spec). */
struct hamn_oci_spec *hamn_runtime_load_config(const char *root, const char *id,
					       struct hamn_error **err);

/* `features`: runc-style features JSON (new reference). */
json_t *hamn_runtime_features(void);

/* Wait for pid (our child); exit code or 128+signal. EINTR is retried. */
int hamn_runtime_wait_pid(pid_t pid, int *status, struct hamn_error **err);

/* Write pid to path atomically (pid files of create/run/exec). */
int hamn_runtime_write_pid_file(const char *path, pid_t pid, struct hamn_error **err);

/* Is id usable as a container id (no '/', not "." or "..", [A-Za-z0-9_+.-], <= 1024)? */
bool hamn_runtime_id_valid(const char *id);

#endif

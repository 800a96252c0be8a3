/*
 * internal.h - shared by the .c files of src/runtime only; never included from outside.
 *
 * A container is started in two halves. The parent (the CLI, or the
 * engine's monitor) turns a parsed config.json into a `struct rt_plan`:
 * every path, string, id, mask and the compiled seccomp program, all
 * decided before clone. The child then only makes syscalls from that plan
 * and reports failures as (step, errno, detail) on a SOCK_SEQPACKET sync
 * socket; the parent turns that into a hamn_error. Everything in the
 * child (child.c, rootfs.c, childutil.c) must be async-signal-safe: the
 * daemon is multithreaded and clone3 skips glibc's fork handlers, so no
 * malloc, no stdio, no locks there.
 */
#ifndef HAMN_RUNTIME_INTERNAL_H
#define HAMN_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/oci.h"
#include "runtime/cgroup.h"
#include "runtime/runtime.h"
#include "runtime/seccomp_bpf.h"

#define RT_DETAIL_MAX 256

/* What the child was doing when it failed; names in rt_step_name(). */
enum rt_step {
	STEP_NONE,
	STEP_SYNC,
	STEP_CGROUP_ENTER,
	STEP_SETNS,
	STEP_UNSHARE,
	STEP_FORK,
	STEP_USERNS_ROOT,
	STEP_CGROUPNS,
	STEP_HOSTNAME,
	STEP_DOMAINNAME,
	STEP_KEYRING,
	STEP_PROPAGATION,
	STEP_ROOT_BIND,
	STEP_MOUNT_TARGET,
	STEP_MOUNT,
	STEP_MOUNT_VERIFY,
	STEP_CGROUP_MOUNT,
	STEP_DEVICE,
	STEP_SYMLINK,
	STEP_CONSOLE,
	STEP_SYSCTL,
	STEP_MASK,
	STEP_READONLY,
	STEP_PIVOT,
	STEP_ROOT_READONLY,
	STEP_HOOK,
	STEP_START_WAIT,
	STEP_STDIO,
	STEP_GROUPS,
	STEP_USER,
	STEP_CAPS,
	STEP_NNP,
	STEP_SECCOMP,
	STEP_CWD,
	STEP_CLOSE_FDS,
	STEP_EXEC,
	STEP_N,
};
const char *rt_step_name(enum rt_step s);

/* Messages on the sync socket. */
enum rt_msg_type {
	MSG_GO = 1,	/* parent -> child: cgroup, maps, limits are in place */
	MSG_PID,	/* intermediate -> parent: the pid of the real child */
	MSG_MAPS,	/* intermediate -> parent: write uid/gid maps for msg.pid */
	MSG_MAPS_DONE,	/* parent -> intermediate */
	MSG_HOOKS,	/* child -> parent: run createRuntime/prestart hooks now */
	MSG_HOOKS_DONE, /* parent -> child */
	MSG_READY,	/* child -> parent: set up, waiting for start (may carry a pty fd) */
	MSG_START,	/* parent -> child: exec the process */
	MSG_ERROR,	/* child -> parent: step/errnum/detail */
	MSG_CONSOLE,	/* child -> parent: the pty master (no console socket) */
	MSG_CGROUP,	/* parent -> child: the child is in its cgroup now */
};

struct rt_msg {
	int32_t type;
	int32_t step;
	int32_t errnum;
	int32_t pid;
	char detail[RT_DETAIL_MAX];
};

enum rt_mount_kind {
	RT_MOUNT_FS,	 /* a new filesystem instance (proc, tmpfs, ...) */
	RT_MOUNT_BIND,	 /* bind or rbind of a host path */
	RT_MOUNT_CGROUP, /* type "cgroup"/"cgroup2": tmpfs + per-hierarchy binds, or cgroupns mounts
			  */
};

struct rt_mount {
	enum rt_mount_kind kind;
	const char *target; /* absolute path inside the container */
	const char *source; /* FS: the source string; BIND: absolute host path */
	int source_fd;	    /* BIND: O_PATH fd opened by the parent (no lookup in the child) */
	const char *fstype;
	const char *data;      /* may be NULL */
	unsigned long flags;   /* MS_* for mount(2) */
	unsigned long remount; /* BIND: MS_* for the read-only/nosuid/... remount, 0 for none */
	unsigned long propagation;
	unsigned long magic; /* FS: statfs type the new mount must have (0: not checked) */
	bool recursive;
	bool src_is_dir;
	bool no_symlink; /* proc and sysfs refuse a symlink destination */
	bool is_devpts;
	bool is_dev; /* destination is /dev */
	bool is_proc;
};

struct rt_device {
	const char *path; /* absolute inside the container */
	mode_t mode;	  /* S_IFCHR/S_IFBLK/S_IFIFO | permissions */
	dev_t rdev;
	uid_t uid;
	gid_t gid;
	const char *host_path; /* for bind mounting in a user namespace ("/dev/null") */
};

struct rt_cgroup_hier {
	const char *host_mount; /* "/sys/fs/cgroup/memory" */
	const char *name;	/* directory under /sys/fs/cgroup in the container: "memory" */
	const char
		*controllers; /* as in /proc/self/cgroup: "cpu,cpuacct", "name=systemd", "" (v2) */
	const char *options;  /* mount data for a fresh mount in a cgroup namespace */
	bool v2;
};

struct rt_sysctl {
	const char *path; /* relative to a procfs root: "sys/net/ipv4/ip_forward" */
	const char *value;
};

struct rt_hook {
	const char *path;
	char *const *argv;
	char *const *envp;
	int timeout; /* seconds; 0 = none */
};

/* The process to execute: the container's init, or one started by exec. */
struct rt_proc {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	const char *path_env; /* PATH for looking up argv[0] without '/' */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	bool has_umask;
	mode_t umask;
	bool has_caps;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	int cap_last;
	bool no_new_privs;
	const struct hamn_seccomp_prog *seccomp;
	bool terminal;
	unsigned short console_rows, console_cols;
	int console_socket; /* send the pty master here (runc --console-socket), or -1 */
	int stdio[3];	    /* dup2 onto 0,1,2; -1 leaves the inherited fd */
	const struct hamn_oci_rlimit *rlimits;
	size_t n_rlimits;
	bool setsid;
};

struct rt_plan {
	/* namespaces */
	unsigned long clone_flags;	  /* CLONE_NEW* created at clone (no CLONE_NEWCGROUP) */
	bool new_cgroupns;		  /* unshare(CLONE_NEWCGROUP) after the cgroup is entered */
	int join_fd[HAMN_OCI_NS_N_TYPES]; /* -1, or an fd of the namespace to join */
	bool intermediate; /* joins by path: a middle process setns()es, then forks */
	bool new_userns;
	const char *uid_map, *gid_map; /* "0 1000 65536\n" text for /proc/PID/uid_map */

	/* root filesystem */
	const char *rootfs; /* absolute host path */
	bool root_readonly;
	unsigned long root_propagation; /* MS_* | MS_REC applied to / afterwards (0: keep rslave) */
	bool no_pivot;
	bool new_keyring;
	const char *hostname, *domainname;
	struct rt_mount *mounts;
	size_t n_mounts;
	struct rt_device *devices; /* the defaults (when /dev is a tmpfs) then config ones */
	size_t n_devices;
	bool default_links; /* /dev/fd, /dev/std*, /dev/ptmx, /dev/shm */
	struct rt_cgroup_hier *hiers;
	size_t n_hiers;
	struct rt_sysctl *sysctls;
	size_t n_sysctls;
	char *const *masked;
	char *const *readonly;

	/* hooks run by the child */
	struct rt_hook *hooks_create_container, *hooks_start_container;
	size_t n_create_container, n_start_container;
	bool parent_hooks;	/* prestart/createRuntime: stop and let the parent run them */
	const char *hook_state; /* state JSON written to every hook's stdin */

	int exec_fifo; /* O_PATH fd of the exec fifo, or -1 (start by MSG_START) */

	/* exec into a running container: setns(target_pidfd, setns_flags), then fork */
	int target_pidfd;
	unsigned long setns_flags;

	struct rt_proc proc;
	int sync_fd;	    /* the child's end of the sync socket */
	int parent_sync_fd; /* the parent's end: closed first thing in the child */

	/* hook state: the parent fills in the init's pid at hook_pid_off before MSG_GO arrives */
	char *hook_state_buf;
	size_t hook_pid_off;

	/* the fds the child may keep; every other one is closed first thing (rt_plan_seal) */
	int keep_fds[64];
	size_t n_keep_fds;

	/*
	 * cgroup v1: the "tasks" files the child writes "0" to, moving only its own thread.
	 * That skips the kernel's global threadgroup lock, whose write side waits for an RCU
	 * grace period (milliseconds) when the parent moves the child by pid. NULL: the
	 * parent enters the child (user namespace: no write access to the host's cgroupfs).
	 */
	char **cgroup_tasks;

	/* owned by the plan */
	char **owned; /* strings */
	char **env_store;
	gid_t *groups_store;
	struct hamn_seccomp_prog *prog;
};

/* ---- child side (async-signal-safe) ---- */

/* Entry points after clone; they never return. */
void rt_child_init(struct rt_plan *p) __attribute__((noreturn));
void rt_child_join(struct rt_plan *p) __attribute__((noreturn));
void rt_child_exec(struct rt_plan *p) __attribute__((noreturn));
/* Set up the root filesystem in the new mount namespace; 0 or -1 (already reported). */
int rt_rootfs_setup(struct rt_plan *p, bool *cgroup_ready, int *console_fd);
/*
 * Wait (once) for MSG_CGROUP, then create the cgroup namespace if the plan has one:
 * it must be rooted at the container's cgroup. 0, or -1 (already reported).
 */
int rt_wait_cgroup(const struct rt_plan *p, bool *ready);
/* The last steps before execve: user, caps, no_new_privs, fds, cwd, seccomp, exec. */
void rt_proc_exec(const struct rt_proc *proc, int sync_fd) __attribute__((noreturn));

/* Report (step, errno, detail) to the parent; returns -1 so callers can `return rt_fail(...)`. */
int rt_fail(int sync_fd, enum rt_step step, int errnum, const char *detail);
void rt_die(int sync_fd, enum rt_step step, int errnum, const char *detail)
	__attribute__((noreturn));
int rt_send(int fd, const struct rt_msg *m, int pass_fd);
/* Receive one message; the fd passed with it (or -1) goes to *fd_out when non-NULL. */
int rt_recv(int fd, struct rt_msg *m, int *fd_out);
/* Wait for a message of type `want`; an MSG_ERROR or EOF is -1 with errno set. */
int rt_expect(int fd, int want);

/* Bounded string helpers that never allocate. */
size_t rt_strlcpy(char *dst, const char *src, size_t size);
size_t rt_strlcat(char *dst, const char *src, size_t size);
char *rt_utoa(unsigned long v, char *buf, size_t size); /* decimal, into buf; returns buf */
const char *rt_fdpath(int fd, char buf[HAMN_FD_PATH_MAX]);

/* openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) of path inside rootfd; -1 with errno. */
int rt_open_in_root(int rootfd, const char *path, int flags, bool nofollow);
/*
 * Make sure path exists inside rootfd (every component resolved inside the
 * root, directories created 0755; the last one a directory or, with
 * as_file, an empty file) and return an O_PATH fd of it; -1 with errno.
 */
int rt_mkpath_in_root(int rootfd, const char *path, bool as_file, bool nofollow);

/* Run one hook with state on its stdin; 0, or -1 with errno (ECANCELED: non-zero exit). */
int rt_run_hook(const struct rt_hook *h, const char *state, int *status_out);

/* Allocate a pty in the devpts at devpts_fd; send the master to console_socket or sync_fd. */
int rt_console_create(int devpts_fd, const struct rt_proc *proc, int sync_fd, int *peer_out);
/* sendmsg with SCM_RIGHTS (payload: a name, as runc sends "/dev/ptmx"). */
int rt_send_fd(int sock, int fd, const char *name);

/* ---- parent side ---- */

/* Build a plan for spec (allocations owned by the plan; free with rt_plan_free). */
struct rt_plan *rt_plan_new(const struct hamn_oci_spec *spec, const char *rootfs,
			    const struct hamn_runtime_spawn_opts *o, struct hamn_error **err);
void rt_plan_free(struct rt_plan *p);
/* Fill p->cgroup_tasks for cg when the child can enter it itself (see the field). */
void rt_plan_cgroup_tasks(struct rt_plan *p, struct hamn_cgroup *cg);
/* In the child: write "0" to each of p->cgroup_tasks; 0, or -1 (reported). */
int rt_enter_cgroup(const struct rt_plan *p);
/* Record which fds the child needs (call after every fd of the plan is set). */
void rt_plan_seal(struct rt_plan *p);
/* In the child: close every fd that is not 0-2 or in p->keep_fds (async-signal-safe). */
void rt_close_other_fds(const struct rt_plan *p);
/* Fill an rt_proc from a process object (strings borrowed from proc, arrays owned by store). */
int rt_proc_from_oci(const struct hamn_oci_process *proc, struct rt_proc *out, char ***env_store,
		     struct hamn_error **err);

/* The handle frees spec with itself. */
void rt_handle_own_spec(struct hamn_container_handle *h, struct hamn_oci_spec *spec);

/* Turn an MSG_ERROR from the child into a hamn_error. */
int rt_error_from_msg(const struct rt_msg *m, struct hamn_error **err);
/* Read from the child until `want` arrives; errors and EOF become hamn_errors. */
int rt_wait_msg(int fd, int want, struct rt_msg *m, int *fd_out, struct hamn_error **err);

/* Parent-side helpers: uid/gid maps and oom_score_adj of pid (rlimits are set by the child). */
int rt_write_id_maps(pid_t pid, const char *uid_map, const char *gid_map, struct hamn_error **err);
int rt_apply_limits(pid_t pid, const struct hamn_oci_process *proc, struct hamn_error **err);

/* Run the hooks of one kind in the runtime's namespace (state JSON on stdin). */
int rt_run_hooks(const struct hamn_oci_spec *spec, enum hamn_oci_hook_kind kind,
		 const char *state_json, struct hamn_error **err);
/* The OCI state JSON text for hooks. */
char *rt_state_text(const char *id, enum hamn_oci_status st, pid_t pid, const char *bundle,
		    const struct hamn_oci_spec *spec);

/* The device cgroup rules to apply: config rules + the default devices + config devices. */
struct hamn_oci_resources *rt_resources_with_devices(const struct hamn_oci_spec *spec,
						     struct hamn_oci_device_rule **rules_store);

/* Start time of pid (field 22 of /proc/PID/stat), 0 when the process is gone. */
uint64_t rt_pid_start_time(pid_t pid, char *state_out);

/* A clone3() with the given flags and exit signal; like fork() otherwise. */
pid_t rt_clone(uint64_t flags, int cgroup_fd, int *pidfd_out);

#endif

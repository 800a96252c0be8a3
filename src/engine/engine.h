/*
 * engine.h - the containers of one host: their records, their monitors and
 * their state machine. The public API of src/engine.
 *
 * State lives in SQLite (hamn.db under --root, WAL; the engine opens it and
 * gives the image store its own connection to the same file) and in memory
 * (a table by id and name, guarded by one mutex). The database is the truth
 * across restarts; memory is the truth while hamnd runs.
 *
 * Each started container has a monitor: a process forked (never exec'd) from
 * a small single-threaded "zygote" that hamnd forks before it starts any
 * thread. The monitor mounts the container's overlay rootfs in a private
 * mount namespace, spawns the container through src/runtime, holds its
 * stdio, writes the json-file log, serves attached clients (their sockets
 * are passed to it with SCM_RIGHTS, so output never goes through hamnd),
 * reaps the container and writes its exit status atomically to
 * <root>/containers/<id>/exit.json. Monitors outlive hamnd: a restarted
 * hamnd reconnects to each one through <exec-root>/containers/<id>/monitor.sock.
 *
 * Container references ("ref") are what docker accepts: a full id, a name
 * with or without its leading '/', or a unique id prefix. An unknown ref is
 * ENOENT "No such container: X" (404).
 *
 * Errors follow the API's errno mapping: EINVAL 400, ENOENT 404,
 * EEXIST/EBUSY 409, EALREADY 304 (start of a running container, stop of a
 * stopped one), anything else 500.
 *
 * Threads: every function below is thread-safe unless it says otherwise.
 */
#ifndef HAMN_ENGINE_ENGINE_H
#define HAMN_ENGINE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"

struct hamn_engine;
struct hamn_image_store;
struct hamn_net_config;

/* Every container gets this pids limit unless it asks for another (-1: unlimited). */
#define HAMN_ENGINE_DEFAULT_PIDS_LIMIT 4096
/* /dev/shm size when HostConfig.ShmSize is 0 (docker's 64 MiB). */
#define HAMN_ENGINE_DEFAULT_SHM_SIZE (64 << 20)
/* Stop timeout when neither ?t= nor Config.StopTimeout says (docker's 10 s). */
#define HAMN_ENGINE_DEFAULT_STOP_TIMEOUT 10

struct hamn_engine_config {
	const char *root;		/* --root (created 0700 when missing) */
	const char *exec_root;		/* --exec-root (created 0711 when missing) */
	const char *cgroup_parent;	/* NULL: the runtime's default (<own cgroup>/hamn/<id>) */
	/*
	 * default-pids-limit: 0 means HAMN_ENGINE_DEFAULT_PIDS_LIMIT; -1 means
	 * no limit unless the container asks for one.
	 */
	int64_t default_pids_limit;
	/*
	 * no-new-privileges is ON for every container unless this is set or the
	 * container opts out with --security-opt no-new-privileges=false
	 * (docs: secure-defaults section 1.6).
	 */
	bool allow_new_privileges;
	/*
	 * dockerd's log-driver ("json-file", "local" or "none"; NULL:
	 * json-file) and log-opts (an object of strings, copied; or NULL):
	 * merged into each new container's LogConfig as dockerd merges them
	 * (docs/engine.md). hamn_engine_new fails (EINVAL) on a driver or an
	 * option it does not know.
	 */
	const char *log_driver;
	json_t *log_opts;
	/* A docker-format seccomp profile file used instead of the built-in default; NULL: built-in. */
	const char *seccomp_profile;
	/*
	 * Networking (src/network): state_dir and instance may be NULL (then
	 * <root>/network and a name derived from exec_root). NULL turns
	 * networking off: each container gets an empty netns of its own.
	 */
	const struct hamn_net_config *network;
	/* dockerd's --bip ("10.213.5.1/24"): the default bridge's gateway and subnet; or NULL */
	const char *bip;
	/* dockerd's init-path: the program of --init; NULL: hamn-init beside our binary */
	const char *init_path;
};

/*
 * Open the engine: fork the monitor zygote (so this MUST be called before
 * the process starts any thread), create root and exec-root, open hamn.db,
 * open the image store on it, load every container and reconcile it with
 * its monitor or exit file (see docs/engine.md), and start the engine's
 * own thread. Containers whose restart policy says so are restarted in the
 * background. Returns a new engine or NULL with *err.
 */
struct hamn_engine *hamn_engine_new(const struct hamn_engine_config *cfg,
				    struct hamn_error **err);
/*
 * Stop the engine's thread, close monitor connections (monitors and their
 * containers keep running) and free everything. Safe on NULL. Not
 * thread-safe: call once, after the API server stopped.
 */
void hamn_engine_free(struct hamn_engine *e);

/*
 * Let the engine's SQLite connections drop their cached pages: for a daemon
 * that has gone idle (the pages are read again, from the kernel's cache, by
 * the next request that needs them). Safe from any thread.
 */
void hamn_engine_release_memory(struct hamn_engine *e);
HAMN_DEFINE_CLEANUP(hamn_engine, hamn_engine_free)

/* The image store opened on hamn.db (owned by the engine). */
struct hamn_image_store *hamn_engine_images(struct hamn_engine *e);

struct hamn_volume_store;
/* The volume store of --root (owned by the engine; it knows which containers use a volume). */
struct hamn_volume_store *hamn_engine_volumes(struct hamn_engine *e);

/* Is image_id used by a container? (hamn_image_in_use_fn for rmi/prune; ud = the engine) */
bool hamn_engine_image_in_use(const char *image_id, void *ud);

/* Fill container counts and security options into a GET /info object (hamn_api_info_fn). */
int hamn_engine_info(json_t *info, void *ud, struct hamn_error **err);

/* ---- lifecycle ---- */

/*
 * POST /containers/create. name may be NULL (a generated adjective_noun
 * name). body is the request object (Config fields at the top level, plus
 * HostConfig and NetworkingConfig). Errors: EINVAL (400) with docker's
 * message for an invalid name or bad fields, ENOENT "No such image: X",
 * EEXIST (409) with docker's conflict message. *id_out gets the new
 * 64-hex id; *warnings_out (may be NULL) a new JSON array of strings.
 */
int hamn_engine_container_create(struct hamn_engine *e, const char *name, json_t *body,
				 char **id_out, json_t **warnings_out, struct hamn_error **err);

/*
 * Start a created or exited container: launch its monitor, which spawns
 * it; returns once the container's process runs (or failed to exec, then
 * the error says why: EINVAL/ENOENT/EACCES with the runtime's message).
 * EALREADY (304) when it is already running. Clients that attached before
 * get every byte from the first one.
 */
int hamn_engine_container_start(struct hamn_engine *e, const char *ref, struct hamn_error **err);

/*
 * Send the stop signal, wait timeout seconds (< 0: ?t absent, use
 * Config.StopTimeout or 10), then SIGKILL, and wait for the exit.
 * EALREADY (304) when not running. The restart policy will not restart it.
 */
int hamn_engine_container_stop(struct hamn_engine *e, const char *ref, int timeout,
			       struct hamn_error **err);
/* Stop (if running) then start. */
int hamn_engine_container_restart(struct hamn_engine *e, const char *ref, int timeout,
				  struct hamn_error **err);
/*
 * Send signal (a name "TERM"/"SIGTERM" or a number; NULL or "" = SIGKILL)
 * to the container's init. EINVAL for an unknown signal, EBUSY (409)
 * "Container X is not running".
 */
int hamn_engine_container_kill(struct hamn_engine *e, const char *ref, const char *signal,
			       struct hamn_error **err);
/*
 * DELETE /containers/{id}: remove a stopped container (its directory, log
 * and record). force kills a running one first; without it a running
 * container is EBUSY (409) with docker's message. volumes: remove anonymous
 * volumes (there are none yet; accepted).
 */
int hamn_engine_container_remove(struct hamn_engine *e, const char *ref, bool force, bool volumes,
				 struct hamn_error **err);
/* Rename; EINVAL for a bad name, EEXIST (409) when taken. */
int hamn_engine_container_rename(struct hamn_engine *e, const char *ref, const char *new_name,
				 struct hamn_error **err);
/* Resize the container's terminal (a no-op without Tty). EBUSY when not running. */
int hamn_engine_container_resize(struct hamn_engine *e, const char *ref, unsigned int height,
				 unsigned int width, struct hamn_error **err);

/* ---- queries ---- */

/* GET /containers/{id}/json: docker's inspect object (new reference). */
json_t *hamn_engine_container_inspect(struct hamn_engine *e, const char *ref, bool size,
				      struct hamn_error **err);

struct hamn_engine_filter {
	const char *key;		/* "status", "label", "name", "id", "ancestor", "exited", ... */
	char *const *values;		/* NULL-terminated */
};

struct hamn_engine_list_opts {
	bool all;			/* include stopped containers */
	int64_t limit;			/* <= 0: no limit (newest first) */
	bool size;
	const struct hamn_engine_filter *filters;
	size_t n_filters;
};

/*
 * GET /containers/json: a new array, newest first. EINVAL for an unknown
 * filter key or a bad value (status=foo). Served from an in-memory cache.
 */
json_t *hamn_engine_container_list(struct hamn_engine *e, const struct hamn_engine_list_opts *o,
				   struct hamn_error **err);
/*
 * The same as JSON text ending in a newline, ready to send (*len bytes; a
 * new string): what the list endpoint answers, without building JSON objects.
 */
char *hamn_engine_container_list_text(struct hamn_engine *e,
				      const struct hamn_engine_list_opts *o, size_t *len,
				      struct hamn_error **err);

/* GET /containers/{id}/top: {"Titles":[...],"Processes":[[...]]}. EBUSY when not running. */
json_t *hamn_engine_container_top(struct hamn_engine *e, const char *ref, const char *ps_args,
				  struct hamn_error **err);

/* The full id of ref (new string), or NULL with ENOENT. */
char *hamn_engine_container_id(struct hamn_engine *e, const char *ref, struct hamn_error **err);

/* ---- wait ---- */

enum hamn_wait_condition {
	HAMN_WAIT_NOT_RUNNING,	/* now if not running, else at the next exit */
	HAMN_WAIT_NEXT_EXIT,	/* the next exit, even for a created container */
	HAMN_WAIT_REMOVED,	/* after the container is removed (AutoRemove or DELETE) */
};

/* "not-running", "next-exit", "removed" or "" / NULL (not-running); EINVAL otherwise. */
int hamn_wait_condition_parse(const char *s, enum hamn_wait_condition *out,
			      struct hamn_error **err);

struct hamn_engine_waiter;

/*
 * Register a waiter now (so no exit between this call and the wait is
 * missed). ENOENT for an unknown container. The waiter is independent of
 * the container's lifetime.
 */
struct hamn_engine_waiter *hamn_engine_wait_new(struct hamn_engine *e, const char *ref,
						enum hamn_wait_condition cond,
						struct hamn_error **err);
/* An fd that becomes readable (POLLIN) when the condition is met. Owned by the waiter. */
int hamn_engine_waiter_fd(const struct hamn_engine_waiter *w);
/*
 * true once the condition is met; *status gets the exit code and *error
 * (may be NULL) a borrowed message or NULL (docker's "Error": null).
 */
bool hamn_engine_waiter_result(struct hamn_engine_waiter *w, int *status, const char **error);
/* Unregister and free. Safe on NULL. */
void hamn_engine_waiter_free(struct hamn_engine_waiter *w);

/* ---- logs ---- */

struct hamn_engine_logs_opts {
	bool stdout_, stderr_;		/* which streams */
	bool follow;
	bool timestamps;		/* prefix each line with its RFC 3339 nano time and a space */
	bool details;			/* then with its attributes (none: "") and a space */
	int64_t since_ns;		/* 0: from the start */
	int64_t until_ns;		/* 0: no end */
	int64_t tail;			/* < 0: all */
};

/*
 * Receives one log record: stream 1 (stdout) or 2 (stderr), its bytes
 * (timestamp already prefixed when asked). Return -1 with *err to stop
 * (the client went away).
 */
typedef int (*hamn_engine_log_fn)(void *ctx, int stream, const char *data, size_t len,
				  struct hamn_error **err);

struct hamn_engine_logs;

/*
 * Prepare a logs request: resolves ref (ENOENT), refuses containers whose
 * log driver keeps nothing (EINVAL "configured logging driver does not
 * support reading"). *tty_out tells the caller to send raw bytes (true)
 * or multiplexed frames (false).
 */
struct hamn_engine_logs *hamn_engine_logs_open(struct hamn_engine *e, const char *ref,
					       const struct hamn_engine_logs_opts *o,
					       bool *tty_out, struct hamn_error **err);
/*
 * Send the selected records to fn; with follow, keep sending new ones
 * (inotify, no polling) until the container stops, cancel_fd (may be -1)
 * becomes readable, or fn fails. Blocking; run it in the stream's thread.
 */
int hamn_engine_logs_run(struct hamn_engine_logs *l, int cancel_fd, hamn_engine_log_fn fn,
			 void *ctx, struct hamn_error **err);
void hamn_engine_logs_free(struct hamn_engine_logs *l);

/* ---- attach ---- */

struct hamn_engine_attach_opts {
	bool stdin_, stdout_, stderr_;
	bool stream;			/* live output (and stdin) */
	bool logs;			/* replay the stored log first */
	const char *detach_keys;	/* "ctrl-p,ctrl-q" (default) or docker's syntax */
};

/*
 * Called by the engine (from any thread) when the attached client is done:
 * the container exited, the client detached or went away. The owner of the
 * connection closes it then.
 */
typedef void (*hamn_engine_attach_done_fn)(void *ctx);

struct hamn_engine_attach;

/*
 * Step 1, before the "101 UPGRADED" goes out: resolve ref (ENOENT), check
 * options (EINVAL for bad detach keys), refuse a stopped container when
 * streaming (EBUSY "You cannot attach to a stopped container, start it
 * first"), and reserve the client's place so a start that comes before
 * step 2 waits for it. *tty_out: raw bytes (true) or multiplexed frames.
 */
struct hamn_engine_attach *hamn_engine_attach_prepare(struct hamn_engine *e, const char *ref,
						      const struct hamn_engine_attach_opts *o,
						      bool *tty_out, struct hamn_error **err);
/*
 * Step 2, once upgraded: hand over the client connection fd (borrowed: the
 * engine dups it). ahead (n_ahead bytes, copied; may be NULL) is what the
 * HTTP server already read from fd past the request: with stdin attached
 * it reaches the container before anything read from fd. Replays the log
 * when asked, then gives the connection to the container's monitor (now,
 * or at start for a created container). done(ctx) runs exactly once when
 * the client is finished with, also on failure (then after this returns
 * -1). Consumes a.
 */
int hamn_engine_attach_run(struct hamn_engine_attach *a, int fd, const char *ahead, size_t n_ahead,
			   hamn_engine_attach_done_fn done, void *ctx, struct hamn_error **err);
/* Give up a prepared attach (the upgrade failed). Consumes a. Safe on NULL. */
void hamn_engine_attach_cancel(struct hamn_engine_attach *a);

/* ---- events (for the events endpoint, a later issue) ---- */

/*
 * Called for every container event: action "create", "start", "die"
 * (attributes carry "exitCode"), "destroy", "rename", "kill", "stop",
 * "restart", "attach", "oom". attrs is borrowed. Called without engine
 * locks held, from any thread.
 */
typedef void (*hamn_engine_event_fn)(void *ctx, const char *action, const char *id,
				     json_t *attrs);
/* Set (or clear with NULL) the one event sink. Not thread-safe: set it before serving. */
void hamn_engine_set_event_fn(struct hamn_engine *e, hamn_engine_event_fn fn, void *ctx);

/* ---- the monitor program ---- */

/*
 * The body of the hamn-monitor program: serve the zygote protocol on the
 * unix socket fd (inherited from hamnd), forking one monitor per started
 * container, until hamnd's end closes. Never returns. Call it first thing
 * in main(), in a process with a single thread.
 */
int hamn_engine_zygote_main(int fd) __attribute__((noreturn));

/* ---- networks (network_api.c) ---- */

/*
 * POST /networks/create with docker's body (Name, Driver, Internal, IPAM,
 * Options, Labels; EnableIPv6 must be false). Returns {"Id","Warning"}
 * (new). EINVAL for bad fields, EEXIST (409) when the name is taken or the
 * subnet overlaps, ENOSPC when no subnet is left, ENOTSUP with networking off.
 */
json_t *hamn_engine_network_create(struct hamn_engine *e, json_t *body, struct hamn_error **err);
/*
 * GET /networks: docker's NetworkResource array, by name. Filters: driver,
 * id, name, label, label!, scope, type (custom/builtin), dangling. EINVAL
 * for another key.
 */
json_t *hamn_engine_network_list(struct hamn_engine *e, const struct hamn_engine_filter *f,
				 size_t n, struct hamn_error **err);
/* GET /networks/{id}: by name, id or unique prefix. ENOENT "network X not found". */
json_t *hamn_engine_network_inspect(struct hamn_engine *e, const char *ref,
				    struct hamn_error **err);
/*
 * DELETE /networks/{id}. ENOENT; EPERM (403) for bridge/host/none; EBUSY
 * (409) while a running container is attached.
 */
int hamn_engine_network_remove(struct hamn_engine *e, const char *ref, struct hamn_error **err);
/* POST /networks/prune: {"NetworksDeleted":[names]}. Filters: until, label, label!. */
json_t *hamn_engine_network_prune(struct hamn_engine *e, const struct hamn_engine_filter *f,
				  size_t n, struct hamn_error **err);
/*
 * POST /networks/{id}/connect {"Container", "EndpointConfig": {"Aliases",
 * "IPAMConfig": {"IPv4Address"}, "MacAddress"}}: a running container gets
 * the endpoint at once, a stopped one at its next start. EEXIST when
 * already connected, EINVAL for what the network or mode cannot take.
 */
int hamn_engine_network_connect(struct hamn_engine *e, const char *ref, json_t *body,
				struct hamn_error **err);
/* POST /networks/{id}/disconnect {"Container", "Force"}. EINVAL when not connected. */
int hamn_engine_network_disconnect(struct hamn_engine *e, const char *ref, json_t *body,
				   struct hamn_error **err);

/* ---- pause, update, prune (pause.c, update.c, prune.c) ---- */

/*
 * Freeze every process of a running container (the cgroup freezer). It
 * stays running: inspect shows State.Paused and Status "paused", ps "Up 3
 * seconds (Paused)". EBUSY (409) "Container X is not running" / "Container
 * X is already paused"; 500 with the cgroup's error when the freezer
 * fails. stop, kill with the stop signal or KILL, and a forced remove thaw
 * it again; remove without force is EBUSY.
 */
int hamn_engine_container_pause(struct hamn_engine *e, const char *ref, struct hamn_error **err);
/* Thaw a paused container. EBUSY "Container X is not paused" (or not running). */
int hamn_engine_container_unpause(struct hamn_engine *e, const char *ref,
				  struct hamn_error **err);
/*
 * POST /containers/{id}/update. body is docker's UpdateConfig: Memory,
 * MemorySwap, MemoryReservation, NanoCpus, CpuShares, CpuQuota, CpuPeriod,
 * CpusetCpus, CpusetMems, BlkioWeight, PidsLimit (0 or -1: unlimited) and
 * RestartPolicy; zero or absent fields keep their value. A running
 * container's cgroup gets the new limits at once; the HostConfig records
 * them (inspect, later starts). EINVAL "Cannot update container X: ..."
 * with dockerd's messages for bad or conflicting values, ENOENT.
 * *warnings_out (may be NULL) gets a new (empty) array.
 */
int hamn_engine_container_update(struct hamn_engine *e, const char *ref, json_t *body,
				 json_t **warnings_out, struct hamn_error **err);
/*
 * POST /containers/prune: remove every container that does not run
 * (created, exited, dead) and passes the filters: "until" (created before
 * a time, or before a duration ago), "label" (k or k=v, all must hold),
 * "label!" (none may hold). EINVAL for another key or a bad time.
 * *deleted_out gets a new array of the removed ids, *space_out the bytes
 * their writable layers held.
 */
int hamn_engine_container_prune(struct hamn_engine *e, const struct hamn_engine_filter *filters,
				size_t n, json_t **deleted_out, int64_t *space_out,
				struct hamn_error **err);

/* ---- pure helpers (unit-tested) ---- */

/* docker's name rule [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' is allowed and ignored). */
bool hamn_engine_name_valid(const char *name);
/* A signal name ("KILL", "SIGKILL", "kill") or number to its number; -1 when unknown. */
int hamn_engine_signal_parse(const char *s);

#endif

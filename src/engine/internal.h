/*
 * internal.h - shared by the .c files of src/engine only; never included from outside.
 */
#ifndef HAMN_ENGINE_INTERNAL_H
#define HAMN_ENGINE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "image/image.h"
#include "oci/image.h"
#include "oci/oci.h"
#include "volume/volume.h"

#define ID_LEN 64
#define SHORT_ID_LEN 12

/* ---------------------------------------------------------------------------------------- */
/* The validated create request (config.c, hostconfig.c, mounts.c) */

enum ctr_mount_type { CM_BIND, CM_VOLUME, CM_TMPFS };

struct ctr_mount {
	enum ctr_mount_type type;
	char *source;		/* host path (bind, volume); NULL for tmpfs */
	char *destination;	/* absolute, cleaned */
	bool readonly;
	char *propagation;	/* "rprivate" unless given */
	char *options;		/* tmpfs data ("size=65536k,mode=1777") or NULL */
	char *name;		/* volume name or NULL */
	char *mode;		/* the mode text as given ("ro,z"), for inspect */
	bool create_source;	/* -v: create a missing source dir (docker does, --mount does not) */
	bool tmpfs_map;		/* from HostConfig.Tmpfs: not in inspect's Mounts (docker) */
};

enum ctr_seccomp_mode { SECCOMP_DEFAULT, SECCOMP_UNCONFINED, SECCOMP_PROFILE };

struct ctr_ulimit {
	char *name;		/* "nofile" */
	int resource;		/* RLIMIT_NOFILE */
	int64_t soft, hard;
};

enum ctr_restart_policy { RESTART_NO, RESTART_ALWAYS, RESTART_UNLESS_STOPPED, RESTART_ON_FAILURE };

enum ctr_ns_mode { NS_PRIVATE, NS_HOST };

struct ctr_config {
	/* Config (merged with the image's) */
	char *image;		/* as the client named it */
	char *hostname, *domainname;
	char *user;		/* "" = root */
	char *working_dir;	/* "" = / */
	char **env;		/* merged; never NULL */
	char **cmd, **entrypoint;	/* final (may be NULL) */
	bool tty, open_stdin, stdin_once;
	bool attach_stdin, attach_stdout, attach_stderr;
	json_t *labels;		/* object (never NULL) */
	char *stop_signal;	/* NULL = SIGTERM */
	int stop_signo;
	bool has_stop_timeout;
	int64_t stop_timeout;

	/* HostConfig */
	struct ctr_mount *mounts;
	size_t n_mounts;
	char *network_mode;	/* "default", "none", "bridge", "host" */
	bool net_host;
	enum ctr_ns_mode pid_mode, ipc_mode, uts_mode;
	int64_t memory, memory_swap, memory_reservation;
	int64_t memory_swappiness;	/* -1 = unset */
	bool oom_kill_disable;
	int64_t nano_cpus, cpu_shares, cpu_quota, cpu_period;
	char *cpuset_cpus, *cpuset_mems;
	int64_t blkio_weight;
	bool has_pids_limit;
	int64_t pids_limit;	/* as asked: > 0 limit, -1 (or 0 with has) unlimited */
	uint64_t cap_add, cap_drop;	/* masks */
	bool cap_add_all, cap_drop_all;
	bool privileged, readonly_rootfs, auto_remove, init;
	enum ctr_seccomp_mode seccomp;
	json_t *seccomp_profile;	/* SECCOMP_PROFILE: the docker-format profile */
	int no_new_privs;	/* -1 daemon default, 0 off, 1 on */
	bool unmask_paths;	/* systempaths=unconfined */
	struct ctr_ulimit *ulimits;
	size_t n_ulimits;
	json_t *sysctls;	/* object of strings (never NULL) */
	enum ctr_restart_policy restart;
	int64_t restart_max;	/* on-failure:N; 0 = no limit */
	char *log_driver;	/* "json-file", "local" or "none" */
	int64_t log_max_size;	/* bytes; 0: never rotate */
	int64_t log_max_file;	/* files kept (>= 1) */
	int64_t shm_size;	/* 0 = default */
	int64_t oom_score_adj;
	char **dns, **dns_search, **dns_options, **extra_hosts, **group_add;
	unsigned int console_h, console_w;
};

/*
 * Validate the Config (the request's top level) and HostConfig objects into
 * c (zeroed first); root (--root) places named volumes. Nothing is merged
 * with the image here. EINVAL with a
 * docker-like message ("json: cannot unmarshal number into Go struct field
 * Config.Env of type []string", "invalid restart policy 'x'").
 */
int ctr_config_parse(json_t *config, json_t *host_config, const char *root, struct ctr_config *c,
		     struct hamn_error **err);
/* The HostConfig part (hostconfig.c); called by ctr_config_parse. */
int ctr_host_config_parse(json_t *hc, const char *root, struct ctr_config *c,
			  struct hamn_error **err);
/*
 * HostConfig.LogConfig into c's log_* fields (logconfig.c): the driver
 * (json-file when empty; local; none) and its options, with dockerd's
 * messages: "logger: no log driver named 'x' is registered", "unknown log
 * opt 'k' for json-file log driver", ... (EINVAL).
 */
int ctr_log_config_parse(json_t *hc, struct ctr_config *c, struct hamn_error **err);
/* Check the daemon's log-driver and log-opts (an object of strings, or NULL). EINVAL. */
int ctr_log_defaults_check(const char *type, json_t *opts, struct hamn_error **err);
/*
 * A copy of hc (may be NULL) with the daemon's defaults merged into its
 * LogConfig as dockerd does: no Type takes def_type; a container on
 * def_type gets each option of def_opts it does not set. Pure.
 */
json_t *ctr_log_merge_defaults(json_t *hc, const char *def_type, json_t *def_opts);
/* LogConfig as inspect shows it: {"Type", "Config"} with Config's keys sorted, as Go's. New. */
json_t *ctr_log_config_json(const char *type, json_t *opts);
/* go-units' FromHumanSize ("1k" = 1000, "2.5MB", "10 mb"); -1 when it is not a size. */
int ctr_log_parse_size(const char *s, int64_t *out);
/* Binds, Mounts and Tmpfs into c->mounts (mounts.c). root is --root (named volumes). */
int ctr_mounts_parse(json_t *hc, const char *root, struct ctr_config *c,
		     struct hamn_error **err);
void ctr_config_release(struct ctr_config *c);
/* Free c->mounts and their strings; c has no mounts after. */
void ctr_mounts_free(struct ctr_config *c);

/*
 * Merge the image's defaults into c as docker does (env, cmd/entrypoint,
 * working dir, user, labels, stop signal; PATH when neither has one) and
 * write the merged values back into config_json (a Config object, changed
 * in place) so that inspect and the stored record show them. EINVAL "No
 * command specified" when there is nothing to run.
 */
int ctr_config_merge_image(struct ctr_config *c, json_t *config_json,
			   const struct hamn_oci_image_exec *img, struct hamn_error **err);

/* Docker's HostConfig with every field at its zero value, overlaid with hc (new reference). */
json_t *ctr_host_config_full(json_t *hc);
/* Docker's Config with every field at its zero value, overlaid with cfg (new reference). */
json_t *ctr_config_full(json_t *cfg);

/* Helpers for strict typed reads with Go-like messages (jsonutil.c). */
int jf_string(json_t *obj, const char *st, const char *key, const char **out,
	      struct hamn_error **err);
int jf_bool(json_t *obj, const char *st, const char *key, bool *out, struct hamn_error **err);
int jf_int(json_t *obj, const char *st, const char *key, int64_t *out, struct hamn_error **err);
/* Has the member a non-null value? */
bool jf_present(json_t *obj, const char *key);
/* []string; null/absent -> *out NULL. */
int jf_strv(json_t *obj, const char *st, const char *key, char ***out, struct hamn_error **err);
/* docker's StrSlice: a string or []string; null/absent -> NULL. */
int jf_strslice(json_t *obj, const char *st, const char *key, char ***out,
		struct hamn_error **err);
/* map[string]string; *out borrowed (NULL when absent). */
int jf_strmap(json_t *obj, const char *st, const char *key, json_t **out,
	      struct hamn_error **err);
/* An object member; *out borrowed (NULL when absent or null). */
int jf_object(json_t *obj, const char *st, const char *key, json_t **out,
	      struct hamn_error **err);
int jf_type_error(struct hamn_error **err, json_t *v, const char *st, const char *key,
		  const char *gotype);

/* ---------------------------------------------------------------------------------------- */
/* Names (names.c) */

/* EINVAL with docker's message when name is not valid. */
int name_check(const char *name, struct hamn_error **err);
/* A new "adjective_noun" name drawn with the random bytes in seed (tests pass their own). */
char *name_generate(uint32_t seed);

/* ---------------------------------------------------------------------------------------- */
/* Container state */

enum ctr_status {
	ST_CREATED,
	ST_RUNNING,
	ST_PAUSED,
	ST_RESTARTING,
	ST_REMOVING,
	ST_EXITED,
	ST_DEAD,
};

const char *ctr_status_name(enum ctr_status s);
int ctr_status_parse(const char *s);	/* -1 when unknown */

struct ctr_state {
	enum ctr_status status;
	pid_t pid;
	int exit_code;
	bool oom_killed;
	char *error;		/* "" when none */
	int64_t started_ns, finished_ns;	/* 0 = docker's zero time */
	int64_t restart_count;
	bool manual_stop;	/* HasBeenManuallyStopped */
	bool has_been_started;
	bool paused;		/* running and frozen (pause.c): shown as "paused" */
};

/* A client connection that waits for the container's monitor. */
struct attach_slot {
	struct attach_slot *next;
	uint64_t token;
	bool ready;		/* fd is set */
	int fd;
	bool in_stdin, in_stdout, in_stderr;
	char detach[16];	/* detach key sequence */
	size_t n_detach;
	char *ahead;		/* stdin the HTTP server read past the request, or NULL */
	size_t n_ahead;
	hamn_engine_attach_done_fn done;
	void *done_ctx;
	struct container *c;	/* referenced while the slot is pending */
};

struct waiter_link {
	struct waiter_link *prev, *next;
};

struct container {
	char id[ID_LEN + 1];
	char *name;		/* without the leading '/' */
	int64_t created_ns;
	char *image_id;		/* "sha256:..." */
	char *path;		/* process path (first arg) */
	json_t *config_json;	/* merged Config as stored */
	json_t *host_json;	/* HostConfig as stored */
	json_t *mount_points;	/* resolved mounts (volumes.c), the record's MountPoints; or NULL */
	struct ctr_config cfg;	/* parsed from the two */
	struct ctr_state st;

	/* below: not stored, guarded by engine->lock unless said otherwise */
	bool start_event_pending;	/* a start is sending its "start" event: "die" waits for it */
	unsigned int refs;
	bool in_table;		/* visible to lookups */
	bool reserved;		/* being created: the name is taken, nothing else is visible */
	bool removed;
	pthread_mutex_t op_lock;	/* serialises start/stop/restart/remove/rename */
	int mon_fd;		/* connection to the monitor, -1 when none */
	uint64_t mon_gen;	/* bumped at each launch: stale monitor events are ignored */
	struct attach_slot *pending;	/* clients waiting for the next start */
	struct attach_slot *handed;	/* clients given to the monitor: done() when it says */
	struct waiter_link waiters;
	char *list_cache;	/* list entry without Status/State and the closing brace */
	int64_t backoff_ms;	/* restart back-off */
	bool restart_pending;
	struct ctr_net *net;	/* its networks (network.h); NULL without networking */
	json_t *stats_last;	/* the last CPU sample of this run (stats.c), or NULL */
};

/*
 * A started container's first CPU sample, kept for stats?stream=0 (stats.c;
 * lock not held; costs a few small file reads).
 */
void ctr_stats_started(struct hamn_engine *e, struct container *c);

/* ---------------------------------------------------------------------------------------- */
/* Restart policy (restart.c, pure) */

/* Should a container that exited with code (manual: stopped by the user) be restarted? */
bool restart_should(enum ctr_restart_policy p, int64_t max, int64_t restart_count, int code,
		    bool manual);
/* The next back-off: 100 ms, doubling, at most 60 s; reset when it ran >= 10 s. */
int64_t restart_next_backoff(int64_t prev_ms, int64_t ran_ns);
/* "no", "always", "unless-stopped", "on-failure" ("" = no); -1 when unknown. */
int restart_policy_parse(const char *s);
const char *restart_policy_name(enum ctr_restart_policy p);

/* ---------------------------------------------------------------------------------------- */
/* json-file logs (logfile.c, logread.c) */

/* Append one json-file line for msg to b: {"log":"..","stream":"stdout","time":".."}\n */
void logline_encode(struct hamn_buf *b, int stream, const char *msg, size_t len, int64_t ns);
/*
 * Decode one line (without the newline). *msg_out is a new string of
 * *len_out bytes. EINVAL on anything that is not a json-file record.
 */
int logline_decode(const char *line, size_t len, int *stream_out, char **msg_out,
		   size_t *len_out, int64_t *ns_out, struct hamn_error **err);

struct logw {
	int dirfd;		/* the container directory (borrowed) */
	char *name;		/* "<id>-json.log", "local-logs/container.log" */
	int fd;			/* -1 when logging is off */
	int64_t size;
	int64_t max_size;	/* 0: never rotate */
	int64_t max_file;	/* files kept, including the current one (>= 1) */
	struct hamn_buf partial[3];	/* per stream: bytes without a newline yet */
	struct hamn_buf out;
};

/*
 * Open (append) the log file; name NULL disables logging. A name with a
 * directory ("local-logs/container.log") gets that directory (0700).
 */
int logw_open(struct logw *w, int dirfd, const char *name, int64_t max_size, int64_t max_file,
	      struct hamn_error **err);
/* Log bytes read from stream (1 or 2): complete lines now, a partial line at 16 KiB. */
int logw_write(struct logw *w, int stream, const char *data, size_t len, int64_t now_ns,
	       struct hamn_error **err);
/* Write out partial lines (at EOF). */
int logw_flush(struct logw *w, int64_t now_ns, struct hamn_error **err);
void logw_close(struct logw *w);

/* The log file in the container directory: "<id>-json.log", "local-logs/container.log". */
char *log_file_name(const struct ctr_config *c, const char *id);

/* ---------------------------------------------------------------------------------------- */
/* The monitor protocol (proto.c) */

enum mon_msg_type {
	MON_STARTED = 1,	/* m->d: pid, t1 = started */
	MON_START_FAILED,	/* m->d: code = errno, pid = exit code to record, text = why */
	MON_EXITED,		/* m->d: code, flags = oom, t1 = started, t2 = finished, text */
	MON_CLIENT_DONE,	/* m->d: token */
	MON_HELLO,		/* d->m: after a reconnect */
	MON_STATUS,		/* m->d: pid, t1 = started (answer to HELLO while running) */
	MON_ATTACH,		/* d->m: token, flags, text = detach keys (n = h); one fd;
				   w > 0: a blob of w bytes of stdin read ahead follows */
	MON_SIGNAL,		/* d->m: code = signal */
	MON_RESIZE,		/* d->m: h, w */
	MON_NET_WAIT,		/* m->d: pid; one fd (its netns): attach, then answer (network.h) */
	MON_NET_GO,		/* d->m: code 0 go on, or errno and text */
	MON_EXEC,		/* d->m: fds ctl [, client]: fork an exec session (exec_int.h) */
};

#define MON_F_OOM (1u << 0)
#define MON_F_STDIN (1u << 1)
#define MON_F_STDOUT (1u << 2)
#define MON_F_STDERR (1u << 3)

struct mon_msg {
	uint32_t type;
	int32_t code;
	int32_t pid;
	uint32_t flags;
	uint32_t h, w;
	uint64_t token;
	int64_t t1, t2;
	char text[1024];
};

/* Send msg with up to 16 fds (n_fds may be 0). EPIPE when the peer is gone. */
int mon_send(int sock, const struct mon_msg *msg, const int *fds, size_t n_fds,
	     struct hamn_error **err);
/*
 * Receive one message, blocking up to timeout_ms (-1: forever). Returns 1
 * with a message, 0 at EOF, -1 on error (ETIMEDOUT after the timeout).
 * Received fds (at most max_fds) go to fds/n_fds; extra ones are closed.
 */
int mon_recv(int sock, struct mon_msg *msg, int *fds, size_t max_fds, size_t *n_fds,
	     int timeout_ms, struct hamn_error **err);
/* Send a variable-size blob (the launch request) with fds. */
int mon_send_blob(int sock, const void *data, size_t len, const int *fds, size_t n_fds,
		  struct hamn_error **err);
/* Receive a blob (new buffer, NUL-terminated). Same returns as mon_recv. */
int mon_recv_blob(int sock, char **data, size_t *len, int *fds, size_t max_fds, size_t *n_fds,
		  struct hamn_error **err);
/* Connect to or bind a unix socket named name in the directory dirfd (path length safe). */
int unix_connect_at(int dirfd, const char *name, struct hamn_error **err);
int unix_listen_at(int dirfd, const char *name, struct hamn_error **err);

/* ---------------------------------------------------------------------------------------- */
/* Zygote and monitor (zygote.c, monitor*.c) */

struct zygote {
	pid_t pid;
	int fd;			/* SOCK_SEQPACKET to the zygote */
	pthread_mutex_t lock;	/* one launch at a time on fd */
};

/*
 * Start the zygote (hamn-monitor beside our binary, else a fork of us).
 * Must run while the process has a single thread. root and exec_root only
 * label the process for ps.
 */
int zygote_start(struct zygote *z, const char *root, const char *exec_root,
		 struct hamn_error **err);
/* Seccomp programs are named by the sha256 hex of their linux.seccomp JSON. */
#define SECCOMP_KEY_LEN 64

struct hamn_seccomp_prog;

/*
 * Launch a monitor: request is the launch JSON; fds[0] is the monitor's end
 * of its connection to hamnd, the rest are attach client sockets. With
 * seccomp_key, the monitor gets the program compiled from seccomp (a
 * linux.seccomp object, sent only the first time the zygote sees the key).
 */
int zygote_launch(struct zygote *z, const char *request, const char *seccomp_key,
		  json_t *seccomp, const int *fds, size_t n_fds, pid_t *pid_out,
		  struct hamn_error **err);
void zygote_stop(struct zygote *z);

/* The monitor's main: never returns. fds as in zygote_launch (owned); prog may be NULL. */
void monitor_main(char *request, int *fds, size_t n_fds, const struct hamn_seccomp_prog *prog)
	__attribute__((noreturn));

/* ---------------------------------------------------------------------------------------- */
/* The engine */

struct engine_store;	/* store.c */

struct hamn_engine {
	char *root, *exec_root, *cgroup_parent, *seccomp_profile_path;
	int64_t default_pids_limit;	/* -1: none */
	bool allow_new_privileges;
	char *log_driver;	/* the daemon's default driver (dockerd's log-driver) */
	json_t *log_opts;	/* its options (log-opts), an object; or NULL */
	int root_fd, exec_fd;
	int ctrs_fd;		/* <root>/containers */
	int exec_ctrs_fd;	/* <exec-root>/containers */

	sqlite3 *img_db;	/* the image store's connection */
	struct hamn_image_store *images;
	struct engine_store *store;
	struct hamn_volume_store *volumes;	/* volumes.c */
	struct engine_net *net;		/* network.c; NULL: networking off */

	pthread_mutex_t lock;	/* the table and every container's state */
	pthread_cond_t cond;	/* broadcast at every state change */
	struct container **ctrs;
	size_t n_ctrs, cap_ctrs;
	uint64_t next_token;

	struct zygote zygote;
	int epfd;		/* monitor connections, the wake eventfd */
	int wake_fd;
	/* every container whose monitor connection is in epfd, in the table or removed already */
	struct container **watched;
	size_t n_watched, cap_watched;
	pthread_t thread;
	bool thread_started, stopping;
	unsigned int workers;	/* detached helper threads still running */

	json_t *seccomp_profile;	/* docker-format default profile */
	pthread_mutex_t seccomp_lock;
	uint64_t seccomp_cached_caps;
	json_t *seccomp_cached;	/* linux.seccomp for seccomp_cached_caps */
	char seccomp_cached_key[SECCOMP_KEY_LEN + 1];
	json_t *base_spec;	/* hamn_oci_default_spec_json() minus process and seccomp */

	hamn_engine_event_fn event_fn;
	void *event_ctx;
	struct hamn_events *events;	/* events.c: the bus behind GET /events */
	struct engine_init *init;	/* init.c: the program of --init */
	struct engine_execs *execs;	/* exec.c: exec records (made on first use) */
	struct engine_health *health;	/* health.c: the health check thread */
};

/* table.c (call with e->lock held unless said otherwise) */
struct container *table_find(struct hamn_engine *e, const char *ref, struct hamn_error **err);
struct container *table_find_name(struct hamn_engine *e, const char *name);
void table_add(struct hamn_engine *e, struct container *c);
void table_del(struct hamn_engine *e, struct container *c);
/* Lookup + reference, taking the lock itself. */
struct container *ctr_get(struct hamn_engine *e, const char *ref, struct hamn_error **err);
void ctr_ref(struct container *c);
/* Drop a reference (lock held); frees on the last one. */
void ctr_unref_locked(struct container *c);
void ctr_put(struct hamn_engine *e, struct container *c);
struct container *ctr_new(void);
/* Mark the container's cached list entry stale. */
void ctr_changed(struct hamn_engine *e, struct container *c);

/* store.c: the containers table (serialised by its own mutex) */
struct engine_store *store_open(const char *path, struct hamn_error **err);
void store_close(struct engine_store *s);
void store_release_memory(struct engine_store *s);
/* Insert or replace the record of c (call with e->lock held: it reads c's state). */
int store_put(struct engine_store *s, const struct container *c, struct hamn_error **err);
/* Delete container id's record, then its execs and health rows. */
int store_delete(struct engine_store *s, const char *id, struct hamn_error **err);

/* The tables of what belongs to a container besides its record (store.c). */
enum store_aux {
	STORE_EXECS,	/* id: the exec's id; doc: exec.c's record */
	STORE_HEALTH,	/* id: the container's id; doc: health.c's State.Health */
	STORE_AUX_N,
};
/* Insert or replace row id of container ctr with doc (borrowed). Any lock may be held. */
int store_aux_put(struct engine_store *s, enum store_aux t, const char *id, const char *ctr,
		  json_t *doc, struct hamn_error **err);
int store_aux_delete(struct engine_store *s, enum store_aux t, const char *id,
		     struct hamn_error **err);
/*
 * Call fn for every row of t whose doc is a JSON object (borrowed). fn runs
 * with the store's lock held: it must not call the store_* functions.
 */
int store_aux_load(struct engine_store *s, enum store_aux t,
		   void (*fn)(void *ud, const char *id, const char *ctr, json_t *doc), void *ud,
		   struct hamn_error **err);
/* Call fn for every stored record. */
int store_load(struct engine_store *s, int (*fn)(void *ud, const char *id, const char *name,
						 int64_t created, const char *doc),
	       void *ud, struct hamn_error **err);
/* The stored document of c (new reference). */
json_t *ctr_record_json(const struct container *c);
/* Rebuild a container from a stored record. */
struct container *ctr_from_record(const char *root, const char *id, const char *name,
				  int64_t created, const char *doc, struct hamn_error **err);
json_t *ctr_state_json(const struct ctr_state *st);
int ctr_state_from_json(json_t *obj, struct ctr_state *st, struct hamn_error **err);

/* spec.c: the OCI config of a container (new reference); rootfs is root.path. */
json_t *spec_build(struct hamn_engine *e, const struct container *c, const char *rootfs,
		   struct hamn_error **err);
/* The pure part, for tests: base is the default spec without process and seccomp. */
struct spec_env {
	json_t *base;
	json_t *seccomp;	/* linux.seccomp to use when seccomp is on (borrowed) or NULL */
	int64_t default_pids_limit;
	bool allow_new_privileges;
	const char *ctr_dir;	/* where hosts/hostname/resolv.conf are */
	const char *cgroup_parent;
};
json_t *spec_build_with(const struct spec_env *env, const struct container *c,
			const char *rootfs, struct hamn_error **err);
/* The key the zygote caches the compiled program of sc under (cheap for the default). */
void spec_seccomp_key(struct hamn_engine *e, json_t *sc, char key[SECCOMP_KEY_LEN + 1]);
/* Every capability this process may give (known to hamn and in our bounding set). */
uint64_t spec_all_caps(void);
/* Effective capability mask of a config. */
uint64_t spec_caps(const struct ctr_config *c);
/* The base spec: default spec without process and linux.seccomp. */
json_t *spec_base(void);

/* files.c: hostname, hosts, resolv.conf in the container directory */
int ctr_files_write(int dirfd, const struct container *c, struct hamn_error **err);
/* resolv.conf text from the host's: localhost nameservers dropped, dns options applied. */
char *resolv_conf_build(const char *host, char *const *dns, char *const *search,
			char *const *options, bool keep_local);

/* lifecycle.c */
int ctr_start_locked_op(struct hamn_engine *e, struct container *c, bool restart,
			struct hamn_error **err);
int ctr_remove_op(struct hamn_engine *e, struct container *c, bool force,
		  struct hamn_error **err);
/* Send a signal through the monitor (lock held). */
int ctr_signal_locked(struct hamn_engine *e, struct container *c, int sig,
		      struct hamn_error **err);

/* watcher.c: the engine thread */
int watcher_start(struct hamn_engine *e, struct hamn_error **err);
void watcher_stop(struct hamn_engine *e);
/* Watch c's monitor connection (c->mon_fd set, lock held). */
int watcher_add(struct hamn_engine *e, struct container *c, struct hamn_error **err);
/*
 * At the end (lock held, the engine thread and workers stopped): close every
 * watched monitor connection and drop its reference, removed containers'
 * included; the monitors live on. Their handed clients go to *slots, for
 * attach_slot_finish outside the lock.
 */
void watcher_release_all(struct hamn_engine *e, struct attach_slot **slots);
/*
 * Record an exit (lock held): state, DB, waiters, events; then auto-remove
 * or restart in a worker. gen is the monitor generation it belongs to.
 */
void ctr_exited_locked(struct hamn_engine *e, struct container *c, const struct mon_msg *m);
/* Run fn(e, c) in a detached worker thread holding a reference to c. */
void engine_spawn_worker(struct hamn_engine *e, struct container *c,
			 void (*fn)(struct hamn_engine *, struct container *));
/* Kill what is left in the cgroup of a container whose monitor died, and remove the cgroup. */
void ctr_kill_orphan(struct hamn_engine *e, struct container *c);
/* Worker: remove an exited AutoRemove container. */
void engine_auto_remove_worker(struct hamn_engine *e, struct container *c);
/* Hand a ready slot to the running monitor (lock held). */
int ctr_attach_handoff_locked(struct hamn_engine *e, struct container *c,
			      struct attach_slot *s, struct hamn_error **err);
void attach_slot_finish(struct attach_slot *s);
/*
 * attach.c: stdin read ahead (attach_slot.ahead, an exec's) in a launch or
 * session request: a hex string. parse appends the bytes to out; false
 * when v is not such a string (out may hold part of it then; NULL is none,
 * and fine).
 */
json_t *attach_ahead_json(const char *data, size_t len);
bool attach_ahead_parse(json_t *v, struct hamn_buf *out);

/* wait.c (lock held) */
void waiters_notify_exit(struct hamn_engine *e, struct container *c, bool will_restart);
void waiters_notify_removed(struct hamn_engine *e, struct container *c);

/* events */
void engine_event(struct hamn_engine *e, struct container *c, const char *action,
		  json_t *extra);
/* events.c: open <root>/events.db (after the volume store: its events go there too) */
int engine_events_open(struct hamn_engine *e, struct hamn_error **err);
void engine_events_close(struct hamn_engine *e);
/* Emit a non-container event ("network", "connect", net_id, attrs); attrs borrowed. */
void engine_emit(struct hamn_engine *e, const char *type, const char *action, const char *id,
		 json_t *attrs);
struct net_facts;
/* A network event of f (attributes name, type and, when ctr_id is set, container). */
void engine_net_emit(struct hamn_engine *e, const char *action, const struct net_facts *f,
		     const char *ctr_id);
/* Look ref up for an event to come (destroy: before it is gone); false when unknown. */
bool engine_net_lookup(struct hamn_engine *e, const char *ref, struct net_facts *f);
/* Hold this thread's network events back until engine_events_release (die, then disconnect). */
void engine_events_hold(void);
void engine_events_release(struct hamn_engine *e);

/* render.c */
json_t *ctr_inspect_json(struct hamn_engine *e, const struct container *c);
/* Append c's list entry to out (lock held): the cached part, then State and Status. */
void ctr_list_entry(struct hamn_engine *e, struct container *c, int64_t now_ns,
		    struct hamn_buf *out);
/* Docker's Status text: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created". */
char *ctr_status_text(const struct ctr_state *st, int64_t now_ns);
/* Does c pass every filter? (lock held) EINVAL for bad values is checked beforehand. */
bool ctr_filters_match(struct hamn_engine *e, const struct container *c,
		       const struct hamn_engine_filter *f, size_t n);
int ctr_filters_check(const struct hamn_engine_filter *f, size_t n, struct hamn_error **err);
/* Every before/since container exists (takes the lock); else ENOENT "no such container X". */
int ctr_filters_check_refs(struct hamn_engine *e, const struct hamn_engine_filter *f, size_t n,
			   struct hamn_error **err);
/* The command string of ps ("sh -c 'x'"). */
char *ctr_command_string(const struct ctr_config *c);

/* size.c (no lock held: these walk the container's upper directory) */
/* Bytes of the files in the writable layer of container id; 0 when unknown. */
int64_t ctr_rw_size(struct hamn_engine *e, const char *id);
/* Set docker's SizeRw and SizeRootFs (image_id's size + SizeRw) in obj. */
void ctr_size_fields(struct hamn_engine *e, json_t *obj, const char *id, const char *image_id);
/* A list text (consumed) with every entry's sizes added; *len updated. */
char *ctr_list_add_sizes(struct hamn_engine *e, char *text, size_t *len,
			 struct hamn_error **err);

/* paths */
char *ctr_dir_path(struct hamn_engine *e, const char *id);

/* ---------------------------------------------------------------------------------------- */
/* Volumes and mounts (volumes.c, on src/volume) */

/* Open the volume store of e->root, sweep a crash's leftovers, answer which containers use what. */
int engine_volumes_open(struct hamn_engine *e, struct hamn_error **err);
/* Replace c's mounts with l (volumes placed under root/volumes). */
void ctr_mounts_set(struct ctr_config *c, const struct hamn_mount_list *l, const char *root);
/*
 * At create (c reserved, lock not held): plan c's mounts from its HostConfig,
 * merged Config.Volumes and --volumes-from, check bind sources, create the
 * volumes it needs; sets c->cfg.mounts and c->mount_points.
 */
int ctr_volumes_resolve(struct hamn_engine *e, struct container *c, struct hamn_error **err);
/* At load: the record's MountPoints (if any) into c. */
int ctr_volumes_load(struct container *c, json_t *record, const char *root,
		     struct hamn_error **err);
/*
 * At start (lock not held): put src/volume's OCI mounts into spec (missing -v
 * sources and named volumes are made) and return the copy-up list for the
 * monitor ([{"name","dest"}], new reference), or NULL with *err.
 */
json_t *ctr_volumes_start(struct hamn_engine *e, const struct container *c, json_t *spec,
			  struct hamn_error **err);
/* In the monitor, rootfs mounted: copy image content into new volumes (req "populate"). */
int ctr_volumes_populate(json_t *req, int rootfd, struct hamn_error **err);
/* After c was removed: remove its anonymous volumes nobody else uses (errors logged). */
void ctr_volumes_remove_anonymous(struct hamn_engine *e, struct container *c);

/* ---------------------------------------------------------------------------------------- */
/* --init, pause, update (init.c, pause.c, update.c) */

/* Open the --init program (init_path, or hamn-init beside our binary) once; never fails. */
void engine_init_open(struct hamn_engine *e, const char *init_path);
void engine_init_free(struct hamn_engine *e);
/* For a container with Init: run its process under hamn-init, bind-mounted read-only. */
int ctr_init_apply(struct hamn_engine *e, json_t *spec, struct hamn_error **err);

/* The status shown (inspect, ps, filters): ST_PAUSED for a paused running container. */
enum ctr_status ctr_status_shown(const struct ctr_state *st);
struct hamn_cgroup;
/* The cgroup the runtime gave c (from its id and --cgroup-parent); new, not created. */
struct hamn_cgroup *ctr_cgroup(struct hamn_engine *e, const struct container *c,
			       struct hamn_error **err);
/* Thaw c if it is paused (lock held): stop does this before it signals. */
int ctr_thaw_locked(struct hamn_engine *e, struct container *c, struct hamn_error **err);
/* After kill sent sig (lock held): the stop signal and KILL end a pause (errors logged). */
void ctr_paused_signalled_locked(struct hamn_engine *e, struct container *c, int sig);
/* Before remove kills c (lock held): a paused container needs force (EBUSY), then is thawed. */
int ctr_paused_remove_locked(struct hamn_engine *e, struct container *c, bool force,
			     struct hamn_error **err);

#include "engine/network.h"

#endif

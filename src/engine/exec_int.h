/*
 * exec_int.h - exec sessions, shared by exec.c (hamnd's side), exec_mon.c
 * (the monitor's side) and health.c; internal to src/engine.
 *
 * An exec session is a process the container's monitor forks for one exec
 * (see exec_mon.c for why). hamnd talks to it over a SOCK_SEQPACKET
 * socketpair, the "ctl" socket, one JSON blob per message:
 *
 *   hamnd -> session   first the request (queued before the socket is
 *                      passed): {"cmd":[...], "env":[...], "user", "workdir",
 *                      "tty", "stdin", "stdout", "stderr", "privileged",
 *                      "h", "w", "capture", "timeout_ms"}; later
 *                      {"resize":[h,w]} or {"signal":N}
 *   session -> hamnd   {"started":pid}, then {"exited":code, "output":"..",
 *                      "timed_out":bool}; or {"failed":code, "message":".."}
 *
 * The session writes the process's output straight to the client's socket
 * (multiplexed frames without a tty, raw bytes with one) and reads its
 * stdin from it; with "capture" (health checks) there is no client and the
 * first 4096 bytes of output come back in "exited".
 */
#ifndef HAMN_ENGINE_EXEC_INT_H
#define HAMN_ENGINE_EXEC_INT_H

#include <pthread.h>

#include "engine/internal.h"

/* Docker keeps this much of a health check's output. */
#define EXEC_CAPTURE_MAX 4096

struct mon;

/*
 * Monitor side (exec_mon.c): start a session for the MON_EXEC message that
 * carried ctl (and client, or -1). Both fds are consumed. Never blocks for
 * longer than a fork.
 */
void mon_exec_fork(struct mon *m, int ctl, int client);

/*
 * hamnd side (exec.c): launch a session in the monitor of container ref.
 * req is the request above (borrowed); client_fd (borrowed, may be -1) is
 * duplicated and passed on. EBUSY (409) "Container X is not running" / "is
 * paused, unpause the container before exec"; ENOENT. *ctl_out gets
 * hamnd's end of the ctl socket. *id_out (may be NULL) the container's id.
 */
int exec_launch(struct hamn_engine *e, const char *ref, json_t *req, int client_fd, int *ctl_out,
		char **id_out, struct hamn_error **err);
/*
 * Read one message from ctl, waiting at most timeout_ms (-1: forever).
 * 1 with *msg (new reference), 0 when the session is gone, -1 on error
 * (ETIMEDOUT after the timeout).
 */
int exec_ctl_recv(int ctl, int timeout_ms, json_t **msg, struct hamn_error **err);
/* Send one message (borrowed) on ctl. */
int exec_ctl_send(int ctl, json_t *msg, struct hamn_error **err);

/*
 * The session of an exec (not of a health check) keeps its result in
 * <exec-root>/containers/<ctr>/exec-<eid>.json: it creates the file and
 * holds an exclusive flock on it while it runs, and writes {"exited":code}
 * into it before it reports the exit on ctl. So a hamnd that was away when
 * the exec ended still learns its exit code: locked means running; the
 * code in it means ended; unlocked without a code means the session died
 * without a word. hamnd deletes the file once the exit is in its database.
 */
#define EXEC_SESSION_FILE "exec-%s.json"

/* Finished exec records are forgotten after five minutes (dockerd's exec GC). */
#define EXEC_KEEP_NS (300LL * 1000000000LL)

/* ---- exec records: exec.c; their rows and the session files: exec_rec.c ---- */

struct exec_rec {
	char id[ID_LEN + 1];
	char ctr_id[ID_LEN + 1];
	char **cmd, **env;
	char *user, *workdir, *detach_keys;
	bool tty, in, out, err, privileged;
	bool claimed, running, has_exit;
	bool lost;   /* ended, exit code unknown: its session died without recording one */
	bool orphan; /* running, but no thread of ours reads its session (hamnd restarted) */
	int exit_code;
	pid_t pid;
	int ctl;	   /* hamnd's end while running; -1 */
	unsigned int h, w; /* the pty size asked before the start */
	int64_t created_ns, finished_ns;
	unsigned int refs; /* guarded by the table's lock */
};

struct engine_execs {
	pthread_mutex_t lock; /* v and every record's fields */
	pthread_cond_t cond;
	struct exec_rec **v;
	size_t n, cap;
	unsigned int waiters; /* detached exit-waiting threads */
	bool stopping;	      /* hamnd stops: sessions that go quiet now are not over */
};

/* The exec table of e (made on first use). */
struct engine_execs *engine_execs_get(struct hamn_engine *e);
/* Append r (its reference moves to the table; x->lock held). */
void execs_add_locked(struct engine_execs *x, struct exec_rec *r);
/* Drop a reference (x->lock held); frees r on the last one. */
void exec_rec_unref(struct exec_rec *r);

/*
 * Record r's end (x->lock held): not running; the exit code when known,
 * else "lost" (ExitCode null); its row written, its session file removed.
 */
void exec_rec_end_locked(struct hamn_engine *e, struct exec_rec *r, bool known, int code);
/* Emit exec_die with exitCode code for r (any lock but e->lock may be held). */
void exec_die_event(struct hamn_engine *e, const struct exec_rec *r, int code);

/* The stored document of r (x->lock held; new reference). */
json_t *exec_rec_doc(const struct exec_rec *r);
/* A record (one reference, ctl -1) from its row; NULL when the document is not one. */
struct exec_rec *exec_rec_from_doc(const char *id, const char *ctr_id, json_t *doc);
/* Write r's row (x->lock held); a failure is logged: the record lives on in memory. */
void exec_rec_save(struct hamn_engine *e, const struct exec_rec *r);
/* Delete r's row and its session file (x->lock held; errors logged). */
void exec_rec_forget(struct hamn_engine *e, const struct exec_rec *r);

enum exec_sess_state {
	EXEC_SESS_NONE,	   /* no session file: never started, or its exit was recorded */
	EXEC_SESS_RUNNING, /* the session holds its lock */
	EXEC_SESS_EXITED,  /* it ended and wrote the exit code (in *code_out) */
	EXEC_SESS_LOST,	   /* it ended without writing one (killed) */
};
/* What r's session file says (no lock needed; a few syscalls). */
enum exec_sess_state exec_session_state(struct hamn_engine *e, const struct exec_rec *r,
					int *code_out);
/* Remove r's session file (absent is fine). */
void exec_session_forget(struct hamn_engine *e, const struct exec_rec *r);
/*
 * An orphaned record (x->lock held): when its session has ended since,
 * record the end (the exit code, or lost), store it and emit exec_die.
 */
void exec_rec_refresh(struct hamn_engine *e, struct exec_rec *r);
/*
 * Read the exec records back at start-up (after the containers): drop the
 * rows of containers that are gone and of execs that ended long ago, and
 * find out from the session files what became of the ones that ran.
 */
int engine_execs_load(struct hamn_engine *e, struct hamn_error **err);
/* Container inspect's ExecIDs: the execs of ctr_id not ended yet, or null (new reference). */
json_t *engine_exec_ids(struct hamn_engine *e, const char *ctr_id);

/* Health checks (health.c): called by hamn_engine_new and hamn_engine_free. */
int engine_health_start(struct hamn_engine *e, struct hamn_error **err);
void engine_health_stop(struct hamn_engine *e);
/* State.Health of container id (new reference), or NULL when it has no health check. */
json_t *engine_health_json(struct hamn_engine *e, const char *id);
/* "starting", "healthy" or "unhealthy" in out; false (out "") without a health check. */
bool engine_health_status(struct hamn_engine *e, const char *id, char out[16]);
/* Fill Config.Healthcheck (cfg, a Config object) from the image's as docker merges them. */
void engine_health_merge_image(json_t *cfg, const struct hamn_oci_healthcheck *img);
/* Exec records (exec.c): freed by hamn_engine_free. */
void engine_execs_free(struct hamn_engine *e);

#endif

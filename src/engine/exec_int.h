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

/*
 * exec.h - docker exec on hamnd's side (src/engine/exec.c): exec instances
 * (POST /containers/{id}/exec, GET /exec/{id}/json, POST /exec/{id}/resize)
 * and their start (POST /exec/{id}/start, hijacked or detached).
 *
 * An exec runs in a session process that the container's monitor forks
 * (exec_mon.c); the client's hijacked socket is handed to it, so hamnd
 * only waits for the session's report and records the exit code. Records
 * are kept in the engine's database too (exec_rec.c): a restarted hamnd
 * still answers for them, running execs go on (their clients still get
 * their output and EOF), and the exit of one that ended meanwhile is read
 * from the file its session left (exec_int.h).
 *
 * Errors: ENOENT "No such container: X" / "No such exec instance: X" (404),
 * EBUSY (409) "Container X is not running", "Container X is paused,
 * unpause the container before exec", "Error: Exec command X is already
 * running" / "has already run", EINVAL (400) for a bad body.
 * Every function is thread-safe.
 */
#ifndef HAMN_ENGINE_EXEC_H
#define HAMN_ENGINE_EXEC_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/engine.h"

/*
 * POST /containers/{id}/exec with docker's ExecConfig body (Cmd, Env,
 * User, WorkingDir, Tty, AttachStdin/Stdout/Stderr, Privileged,
 * DetachKeys). *id_out gets the new 64-hex exec id. Emits "exec_create".
 */
int hamn_engine_exec_create(struct hamn_engine *e, const char *ref, json_t *body, char **id_out,
			    struct hamn_error **err);

/*
 * GET /exec/{id}/json: docker's ExecInspect (new reference). ExitCode is
 * null until the end, and stays null when the exec's session died without
 * recording one while hamnd was away.
 */
json_t *hamn_engine_exec_inspect(struct hamn_engine *e, const char *eid, struct hamn_error **err);

/*
 * POST /exec/{id}/resize: the exec's pty size (kept for its start when it
 * has not started yet; a no-op without a tty).
 */
int hamn_engine_exec_resize(struct hamn_engine *e, const char *eid, unsigned int h, unsigned int w,
			    struct hamn_error **err);

struct hamn_engine_exec_start;

/*
 * Step 1 of POST /exec/{id}/start, before any reply: find the exec, refuse
 * a second start and a container that does not run (or is paused), and
 * claim the start. *tty_out says how the client reads the stream (raw or
 * multiplexed). The result must go to _run or _cancel.
 */
struct hamn_engine_exec_start *hamn_engine_exec_start_prepare(struct hamn_engine *e,
							      const char *eid, bool *tty_out,
							      struct hamn_error **err);
/*
 * Step 2: start the exec's process. client_fd is the hijacked connection
 * (borrowed; the session gets a copy), or -1 to detach: then this returns
 * once the process runs and a thread records its exit. ahead (n_ahead
 * bytes, may be NULL) is what the HTTP server already read from client_fd
 * past the request: with stdin attached the process reads it first.
 * Attached, it blocks until the exec ends (its exit code recorded, every
 * byte of output handed to the client's socket) or cancel_fd (may be -1)
 * becomes readable. A process that cannot start is -1 with docker's
 * message in *err (the caller writes it to the client; ExitCode 126 is
 * recorded). Consumes s.
 */
int hamn_engine_exec_start_run(struct hamn_engine_exec_start *s, int client_fd, const char *ahead,
			       size_t n_ahead, int cancel_fd,
			       struct hamn_error **err);
/* Give a prepared start up (the upgrade failed): the exec may be started again. Safe on NULL. */
void hamn_engine_exec_start_cancel(struct hamn_engine_exec_start *s);

#endif

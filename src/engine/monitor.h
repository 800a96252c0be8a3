/*
 * monitor.h - the per-container monitor's state (monitor.c, monitor_io.c);
 * internal to src/engine.
 */
#ifndef HAMN_ENGINE_MONITOR_H
#define HAMN_ENGINE_MONITOR_H

#include "engine/internal.h"
#include "runtime/runtime.h"

#define MON_MAX_CLIENTS 64
#define MON_MAX_CONNS 8
/* Stop reading the container's output while a client has this much unsent. */
#define MON_CLIENT_HIGH_WATER (1 << 20)
/* Stop reading clients' stdin while this much waits for the container. */
#define MON_STDIN_HIGH_WATER (256 << 10)

struct mon_client {
	int fd;			/* the client's socket (a dup of hamnd's hijacked connection) */
	uint64_t token;
	bool in, out, err;	/* attached streams */
	bool read_eof;		/* the client half-closed */
	bool gone;		/* to be closed */
	char detach[16];
	size_t n_detach, matched;
	struct hamn_buf pending;	/* output not yet sent */
};

struct mon {
	char *id;
	json_t *req;
	int ctr_dirfd;		/* <root>/containers/<id> */
	int exec_dirfd;		/* <exec-root>/containers/<id> */
	char *rootfs;
	bool tty, open_stdin, stdin_once;

	struct hamn_oci_spec *spec;
	const struct hamn_seccomp_prog *seccomp;	/* compiled by the zygote, or NULL */
	struct hamn_container_handle *h;
	pid_t pid;
	int pidfd;
	int64_t started_ns, finished_ns;
	int status;
	bool exited, oom;

	int out[3];		/* read ends: [1] stdout (or the pty master), [2] stderr */
	int in_fd;		/* write end of the container's stdin (or the pty master), -1 */
	bool close_in;		/* close in_fd once in_buf is empty */
	struct hamn_buf in_buf;

	struct logw log;
	struct mon_client clients[MON_MAX_CLIENTS];
	size_t n_clients;
	int conns[MON_MAX_CONNS];	/* connections from hamnd */
	size_t n_conns;
	int listen_fd;
};

/* monitor_io.c */
/*
 * Take a client (fd owned). ahead: its stdin that hamnd's HTTP server read
 * past the request, which the container gets before anything read from fd.
 */
void mon_client_add(struct mon *m, int fd, uint64_t token, uint32_t flags, const char *detach,
		    size_t n_detach, const char *ahead, size_t n_ahead);
/* Read what the container wrote on out[s]; false at EOF. */
bool mon_read_output(struct mon *m, int s);
void mon_client_read(struct mon *m, struct mon_client *c);
void mon_client_flush(struct mon *m, struct mon_client *c);
void mon_stdin_flush(struct mon *m);
/* Close clients marked gone, telling hamnd. */
void mon_clients_reap(struct mon *m);
/* Send msg to every connected hamnd (dropping dead connections). */
void mon_broadcast(struct mon *m, const struct mon_msg *msg);
/* Handle a message from hamnd connection i; false when it closed. */
bool mon_conn_message(struct mon *m, size_t i);
/* The event loop until the container exited and its output is drained. */
void mon_loop(struct mon *m);
/* After the exit: flush clients (bounded), close them. */
void mon_clients_finish(struct mon *m);

#endif

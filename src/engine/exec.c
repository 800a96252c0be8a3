/*
 * exec.c - docker exec on hamnd's side: exec records, the launch of a
 * session in the container's monitor (exec_mon.c), and the wait for its
 * report on the ctl socket (exec_int.h).
 *
 * Who reads a session's ctl socket: the API thread of an attached start
 * (it blocks there anyway while the client is hijacked), a small detached
 * thread for `exec -d`, and the health thread for checks (health.c). So
 * nothing here polls, and hamnd's engine thread never waits for an exec.
 *
 * Records are kept in memory and, unlike dockerd's, in the engine's
 * database too (exec_rec.c), so a restarted hamnd still answers for the
 * execs made before; finished ones are dropped after EXEC_KEEP_NS, or when
 * their container is gone.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/exec.h"
#include "engine/exec_int.h"

/* A session reports its start within this time or is considered lost. */
#define EXEC_START_TIMEOUT_MS 30000
/* At most this many records; the oldest finished ones go first. */
#define EXEC_MAX_RECORDS 4096

static pthread_mutex_t execs_init_lock = PTHREAD_MUTEX_INITIALIZER;

struct engine_execs *engine_execs_get(struct hamn_engine *e)
{
	pthread_mutex_lock(&execs_init_lock);
	if (!e->execs) {
		e->execs = xzalloc(sizeof(*e->execs));
		pthread_mutex_init(&e->execs->lock, NULL);
		pthread_cond_init(&e->execs->cond, NULL);
	}
	pthread_mutex_unlock(&execs_init_lock);
	return e->execs;
}

static struct engine_execs *execs(struct hamn_engine *e)
{
	return engine_execs_get(e);
}

void execs_add_locked(struct engine_execs *x, struct exec_rec *r)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		x->v = xrealloc(x->v, x->cap * sizeof(*x->v));
	}
	x->v[x->n++] = r;
}

void exec_rec_unref(struct exec_rec *r)
{
	if (!r || --r->refs)
		return;
	hamn_strv_free(r->cmd);
	hamn_strv_free(r->env);
	free(r->user);
	free(r->workdir);
	free(r->detach_keys);
	if (r->ctl >= 0)
		close(r->ctl);
	free(r);
}

static void rec_put(struct hamn_engine *e, struct exec_rec *r)
{
	pthread_mutex_lock(&execs(e)->lock);
	exec_rec_unref(r);
	pthread_mutex_unlock(&execs(e)->lock);
}

/* An exec by its id or a unique prefix, referenced; ENOENT otherwise. */
static struct exec_rec *rec_get(struct hamn_engine *e, const char *eid, struct hamn_error **err)
{
	struct engine_execs *x = execs(e);
	struct exec_rec *found = NULL;
	size_t hits = 0;

	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; eid && eid[0] && i < x->n; i++) {
		if (streq(x->v[i]->id, eid)) {
			found = x->v[i];
			hits = 1;
			break;
		}
		if (str_has_prefix(x->v[i]->id, eid)) {
			found = x->v[i];
			hits++;
		}
	}
	if (hits == 1) {
		found->refs++;
		exec_rec_refresh(e, found);
	}
	pthread_mutex_unlock(&x->lock);
	if (hits != 1)
		return hamn_error_setq(err, ENOENT, "No such exec instance: %s", eid ? eid : ""),
		       NULL;
	return found;
}

/* Forget finished execs that are old or whose container is gone (x->lock held). */
static void prune(struct hamn_engine *e, struct engine_execs *x, int64_t now)
{
	for (size_t i = 0; i < x->n;) {
		struct exec_rec *r = x->v[i];
		bool ended, old, gone;

		exec_rec_refresh(e, r);
		ended = r->has_exit || r->lost;
		old = ended && now - r->finished_ns > EXEC_KEEP_NS;
		pthread_mutex_lock(&e->lock);
		gone = !r->running && !table_find(e, r->ctr_id, NULL);
		pthread_mutex_unlock(&e->lock);
		if (!old && !gone && !(x->n >= EXEC_MAX_RECORDS && ended)) {
			i++;
			continue;
		}
		/* keep the creation order: ExecIDs lists them in it */
		memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
		x->n--;
		exec_rec_forget(e, r);
		exec_rec_unref(r);
	}
}

/* "exec_create: sh -c x": the action of docker's exec events. */
static void exec_event(struct hamn_engine *e, const struct exec_rec *r, const char *what,
		       bool with_cmd, json_t *extra)
{
	_cleanup_free_ char *cmd = with_cmd ? strv_join(r->cmd, " ") : NULL;
	_cleanup_free_ char *action = cmd ? xasprintf("%s: %s", what, cmd) : xstrdup(what);
	_cleanup_json_ json_t *attrs = json_pack("{s:s}", "execID", r->id);
	struct container *c = ctr_get(e, r->ctr_id, NULL);

	if (extra)
		json_object_update(attrs, extra);
	if (c)
		engine_event(e, c, action, attrs);
	ctr_put(e, c);
}

/*
 * docker's refusals for a container an exec cannot enter (e->lock held);
 * "is paused" names it as the client did (ref).
 */
static int check_running(struct container *c, const char *ref, struct hamn_error **err)
{
	if (c->st.status == ST_RESTARTING)
		return hamn_error_setq(err, EBUSY,
				       "Container %s is restarting, wait until the "
				       "container is running",
				       c->id);
	if (c->st.status != ST_RUNNING || c->mon_fd < 0)
		return hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	if (c->st.paused)
		return hamn_error_setq(err, EBUSY,
				       "Container %s is paused, unpause the "
				       "container before exec",
				       ref);
	return 0;
}

/* ---- create / inspect / resize ---- */

static int parse_config(json_t *body, struct exec_rec *r, struct hamn_error **err)
{
	const char *user = NULL, *wd = NULL, *dk = NULL;

	if (jf_strslice(body, "ExecConfig", "Cmd", &r->cmd, err) < 0 ||
	    jf_strv(body, "ExecConfig", "Env", &r->env, err) < 0 ||
	    jf_string(body, "ExecConfig", "User", &user, err) < 0 ||
	    jf_string(body, "ExecConfig", "WorkingDir", &wd, err) < 0 ||
	    jf_string(body, "ExecConfig", "DetachKeys", &dk, err) < 0 ||
	    jf_bool(body, "ExecConfig", "Tty", &r->tty, err) < 0 ||
	    jf_bool(body, "ExecConfig", "AttachStdin", &r->in, err) < 0 ||
	    jf_bool(body, "ExecConfig", "AttachStdout", &r->out, err) < 0 ||
	    jf_bool(body, "ExecConfig", "AttachStderr", &r->err, err) < 0 ||
	    jf_bool(body, "ExecConfig", "Privileged", &r->privileged, err) < 0)
		return -1;
	if (!r->cmd || !r->cmd[0])
		return hamn_error_setq(err, EINVAL, "No exec command specified");
	/* API 1.42: the pty's first size comes with the create */
	if (json_array_size(json_object_get(body, "ConsoleSize")) == 2) {
		r->h = (unsigned int)json_integer_value(
			json_array_get(json_object_get(body, "ConsoleSize"), 0));
		r->w = (unsigned int)json_integer_value(
			json_array_get(json_object_get(body, "ConsoleSize"), 1));
	}
	if (wd && wd[0] && wd[0] != '/')
		return hamn_error_setq(err, EINVAL,
				       "the working directory '%s' is invalid, it "
				       "needs to be an absolute path",
				       wd);
	for (size_t i = 0; r->env && r->env[i]; i++)
		if (!strchr(r->env[i], '=') || r->env[i][0] == '=')
			return hamn_error_setq(err, EINVAL, "invalid environment variable: %s",
					       r->env[i]);
	r->user = xstrdup(user ? user : "");
	r->workdir = xstrdup(wd ? wd : "");
	r->detach_keys = xstrdup(dk ? dk : "");
	return 0;
}

int hamn_engine_exec_create(struct hamn_engine *e, const char *ref, json_t *body, char **id_out,
			    struct hamn_error **err)
{
	struct engine_execs *x = execs(e);
	struct exec_rec *r = xzalloc(sizeof(*r));
	_cleanup_free_ char *id = hamn_random_id();
	struct container *c;

	r->refs = 1;
	r->ctl = -1;
	r->created_ns = hamn_now_ns();
	if (parse_config(body, r, err) < 0)
		goto fail;
	pthread_mutex_lock(&e->lock);
	c = table_find(e, ref, err);
	if (!c || check_running(c, ref, err) < 0) {
		pthread_mutex_unlock(&e->lock);
		goto fail;
	}
	memcpy(r->ctr_id, c->id, ID_LEN + 1);
	pthread_mutex_unlock(&e->lock);
	snprintf(r->id, sizeof(r->id), "%s", id);

	pthread_mutex_lock(&x->lock);
	prune(e, x, hamn_now_ns());
	execs_add_locked(x, r);
	exec_rec_save(e, r);
	pthread_mutex_unlock(&x->lock);
	exec_event(e, r, "exec_create", true, NULL);
	*id_out = steal_pointer(&id);
	return 0;
fail:
	exec_rec_unref(r);
	return -1;
}

json_t *hamn_engine_exec_inspect(struct hamn_engine *e, const char *eid, struct hamn_error **err)
{
	struct exec_rec *r = rec_get(e, eid, err);
	json_t *pc, *obj;

	if (!r)
		return NULL;
	pthread_mutex_lock(&execs(e)->lock);
	pc = json_pack("{s:b, s:s, s:o, s:b}", "tty", r->tty, "entrypoint", r->cmd[0], "arguments",
		       hamn_json_from_strv(r->cmd + 1), "privileged", r->privileged);
	if (r->user[0])
		json_object_set_new(pc, "user", json_string(r->user));
	obj = json_pack("{s:s, s:b, s:o, s:o, s:b, s:b, s:b, s:b, s:s, s:s, s:i}", "ID", r->id,
			"Running", r->running, "ExitCode",
			r->has_exit ? json_integer(r->exit_code) : json_null(), "ProcessConfig", pc,
			"OpenStdin", r->in, "OpenStderr", r->err, "OpenStdout", r->out, "CanRemove",
			false, "ContainerID", r->ctr_id, "DetachKeys", r->detach_keys, "Pid",
			(int)r->pid);
	exec_rec_unref(r);
	pthread_mutex_unlock(&execs(e)->lock);
	return obj;
}

/* Tell a running session its pty size (table lock held). */
static void send_resize(struct exec_rec *r)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *msg = json_pack("{s:[i,i]}", "resize", (int)r->h, (int)r->w);

	/* a send error means the session is ending: nothing left to resize */
	exec_ctl_send(r->ctl, msg, &err);
}

int hamn_engine_exec_resize(struct hamn_engine *e, const char *eid, unsigned int h, unsigned int w,
			    struct hamn_error **err)
{
	struct exec_rec *r = rec_get(e, eid, err);

	if (!r)
		return -1;
	pthread_mutex_lock(&execs(e)->lock);
	r->h = h;
	r->w = w;
	if (r->running && r->ctl >= 0 && r->tty)
		send_resize(r);
	else if (!r->claimed)
		exec_rec_save(e, r); /* its start may come after a restart of hamnd */
	exec_rec_unref(r);
	pthread_mutex_unlock(&execs(e)->lock);
	return 0;
}

/* ---- the ctl socket ---- */

int exec_ctl_send(int ctl, json_t *msg, struct hamn_error **err)
{
	_cleanup_free_ char *text = hamn_json_dump(msg);

	return mon_send_blob(ctl, text, strlen(text), NULL, 0, err);
}

int exec_ctl_recv(int ctl, int timeout_ms, json_t **msg, struct hamn_error **err)
{
	struct pollfd p = {.fd = ctl, .events = POLLIN};
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if (timeout_ms >= 0) {
		do
			r = poll(&p, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return hamn_error_setq(err, ETIMEDOUT, "no answer from the exec session");
	}
	r = mon_recv_blob(ctl, &text, &len, NULL, 0, NULL, err);
	if (r <= 0)
		return r;
	*msg = hamn_json_parse(text, len, err);
	return *msg ? 1 : -1;
}

int exec_launch(struct hamn_engine *e, const char *ref, json_t *req, int client_fd, int *ctl_out,
		char **id_out, struct hamn_error **err)
{
	struct mon_msg m = {.type = MON_EXEC};
	int sv[2], fds[2];
	struct container *c;
	int r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hamn_error_set(err, errno, "exec: socketpair");
	/* the request waits in the socket for the session to read it first */
	if (exec_ctl_send(sv[0], req, err) < 0)
		goto fail;
	fds[0] = sv[1];
	fds[1] = client_fd;
	pthread_mutex_lock(&e->lock);
	c = table_find(e, ref, err);
	r = c ? check_running(c, ref, err) : -1;
	if (r == 0)
		r = mon_send(c->mon_fd, &m, fds, client_fd >= 0 ? 2 : 1, err);
	if (r == 0 && id_out)
		*id_out = xstrdup(c->id);
	pthread_mutex_unlock(&e->lock);
	if (r < 0)
		goto fail;
	close(sv[1]);
	*ctl_out = sv[0];
	return 0;
fail:
	close(sv[0]);
	close(sv[1]);
	return -1;
}

/* ---- start ---- */

struct hamn_engine_exec_start {
	struct hamn_engine *e;
	struct exec_rec *r;
};

struct hamn_engine_exec_start *hamn_engine_exec_start_prepare(struct hamn_engine *e,
							      const char *eid, bool *tty_out,
							      struct hamn_error **err)
{
	struct exec_rec *r = rec_get(e, eid, err);
	struct hamn_engine_exec_start *s;
	struct container *c;
	int ok;

	if (!r)
		return NULL;
	pthread_mutex_lock(&e->lock);
	c = table_find(e, r->ctr_id, err);
	ok = c ? check_running(c, r->ctr_id, err) : -1;
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_lock(&execs(e)->lock);
	if (ok == 0 && (r->has_exit || r->lost))
		ok = hamn_error_setq(err, EBUSY, "Error: Exec command %s has already run", r->id);
	else if (ok == 0 && r->claimed)
		ok = hamn_error_setq(err, EBUSY, "Error: Exec command %s is already running",
				     r->id);
	if (ok == 0)
		r->claimed = true;
	else
		exec_rec_unref(r);
	pthread_mutex_unlock(&execs(e)->lock);
	if (ok < 0)
		return NULL;
	s = xzalloc(sizeof(*s));
	s->e = e;
	s->r = r;
	*tty_out = r->tty;
	return s;
}

void hamn_engine_exec_start_cancel(struct hamn_engine_exec_start *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&execs(s->e)->lock);
	s->r->claimed = false;
	exec_rec_unref(s->r);
	pthread_mutex_unlock(&execs(s->e)->lock);
	free(s);
}

static json_t *session_request(const struct exec_rec *r, bool attached)
{
	json_t *req =
		json_pack("{s:o, s:o, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i}", "cmd",
			  hamn_json_from_strv(r->cmd), "env", hamn_json_from_strv(r->env), "user",
			  r->user, "workdir", r->workdir, "tty", r->tty, "stdin", attached && r->in,
			  "stdout", attached && r->out, "stderr", attached && r->err, "privileged",
			  r->privileged, "h", (int)r->h, "w", (int)r->w);

	if (!req)
		hamn_bug("cannot build an exec request");
	/* the session keeps its exit code in a file named after it (exec_int.h) */
	json_object_set_new(req, "id", json_string(r->id));
	return req;
}

void exec_rec_end_locked(struct hamn_engine *e, struct exec_rec *r, bool known, int code)
{
	r->running = false;
	r->orphan = false;
	r->has_exit = known;
	r->lost = !known;
	r->exit_code = known ? code : 0;
	r->finished_ns = hamn_now_ns();
	if (r->ctl >= 0)
		close(r->ctl);
	r->ctl = -1;
	exec_rec_save(e, r);
	/* the row has it now: the session's copy is not needed any more */
	exec_session_forget(e, r);
}

void exec_die_event(struct hamn_engine *e, const struct exec_rec *r, int code)
{
	_cleanup_json_ json_t *attrs = json_pack("{s:s}", "exitCode", "");

	json_object_set_new(attrs, "exitCode", json_sprintf("%d", code));
	exec_event(e, r, "exec_die", false, attrs);
}

/* Record the end of r: exit code, row, event. */
static void rec_finish(struct hamn_engine *e, struct exec_rec *r, int code)
{
	pthread_mutex_lock(&execs(e)->lock);
	exec_rec_end_locked(e, r, true, code);
	pthread_mutex_unlock(&execs(e)->lock);
	exec_die_event(e, r, code);
}

/* Wait for the session's first report: started (0) or failed (-1, with docker's message). */
static int wait_started(struct hamn_engine *e, struct exec_rec *r, int ctl, struct hamn_error **err)
{
	_cleanup_json_ json_t *msg = NULL;
	int got = exec_ctl_recv(ctl, EXEC_START_TIMEOUT_MS, &msg, err);

	if (got == 0)
		hamn_error_setq(err, EBUSY, "Container %s is not running", r->ctr_id);
	if (got > 0 && json_is_integer(json_object_get(msg, "started"))) {
		pthread_mutex_lock(&execs(e)->lock);
		r->pid = (pid_t)json_integer_value(json_object_get(msg, "started"));
		r->running = true;
		r->ctl = ctl;
		exec_rec_save(e, r);
		/* a resize that came while the session started up: it has it now */
		if (r->tty && r->h && r->w)
			send_resize(r);
		pthread_mutex_unlock(&execs(e)->lock);
		exec_event(e, r, "exec_start", true, NULL);
		return 0;
	}
	if (got > 0) {
		const char *why = json_string_value(json_object_get(msg, "message"));

		hamn_error_setq(err, EINVAL, "%s", why ? why : "exec failed");
	}
	close(ctl);
	rec_finish(e, r, 126);
	return -1;
}

/* hamnd is stopping (engine_execs_free ran). */
static bool stopping(struct hamn_engine *e)
{
	struct engine_execs *x = execs(e);
	bool yes;

	pthread_mutex_lock(&x->lock);
	yes = x->stopping;
	pthread_mutex_unlock(&x->lock);
	return yes;
}

/* Wait for "exited" on the session's ctl (or cancel_fd); records it. */
static void wait_exited(struct hamn_engine *e, struct exec_rec *r, int ctl, int cancel_fd)
{
	for (;;) {
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_json_ json_t *msg = NULL;
		struct pollfd p[2] = {{.fd = ctl, .events = POLLIN},
				      {.fd = cancel_fd, .events = POLLIN}};
		int got;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		/* hamnd stops: the exec goes on, unrecorded, as a restart would leave it */
		if (p[1].revents)
			return;
		if (!p[0].revents)
			continue;
		got = exec_ctl_recv(ctl, 0, &msg, &err);
		if (got > 0 && !json_is_integer(json_object_get(msg, "exited")))
			continue;
		if (got <= 0 && stopping(e))
			return; /* our end was shut down: the next hamnd asks the session's file */
		rec_finish(e, r,
			   got > 0 ? (int)json_integer_value(json_object_get(msg, "exited")) : 137);
		return;
	}
}

struct detached {
	struct hamn_engine *e;
	struct exec_rec *r;
	int ctl;
};

static void *detached_main(void *arg)
{
	struct detached *d = arg;
	struct engine_execs *x = execs(d->e);

	wait_exited(d->e, d->r, d->ctl, -1);
	pthread_mutex_lock(&x->lock);
	exec_rec_unref(d->r);
	x->waiters--;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	free(d);
	return NULL;
}

/* exec -d: a thread waits for the exit so that inspect shows it. */
static void detach_wait(struct hamn_engine *e, struct exec_rec *r, int ctl)
{
	struct engine_execs *x = execs(e);
	struct detached *d = xmalloc(sizeof(*d));
	pthread_attr_t attr;
	pthread_t t;

	d->e = e;
	d->r = r;
	d->ctl = ctl;
	pthread_mutex_lock(&x->lock);
	r->refs++;
	x->waiters++;
	pthread_mutex_unlock(&x->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 << 10);
	if (pthread_create(&t, &attr, detached_main, d) != 0) {
		log_warn("exec %s: no thread to wait for its exit", r->id);
		pthread_mutex_lock(&x->lock);
		exec_rec_unref(r);
		x->waiters--;
		pthread_mutex_unlock(&x->lock);
		free(d);
	}
	pthread_attr_destroy(&attr);
}

int hamn_engine_exec_start_run(struct hamn_engine_exec_start *s, int client_fd, const char *ahead,
			       size_t n_ahead, int cancel_fd, struct hamn_error **err)
{
	struct hamn_engine *e = s->e;
	struct exec_rec *r = s->r;
	_cleanup_json_ json_t *req = NULL;
	int ctl = -1, rc = -1;

	pthread_mutex_lock(&execs(e)->lock);
	req = session_request(r, client_fd >= 0);
	/* the session feeds them to the process before it reads the socket */
	if (client_fd >= 0 && r->in && n_ahead)
		json_object_set_new(req, "ahead", attach_ahead_json(ahead, n_ahead));
	pthread_mutex_unlock(&execs(e)->lock);
	if (exec_launch(e, r->ctr_id, req, client_fd, &ctl, NULL, err) < 0) {
		rec_finish(e, r, 126);
		goto out;
	}
	if (wait_started(e, r, ctl, err) < 0)
		goto out;
	rc = 0;
	if (client_fd < 0)
		detach_wait(e, r, ctl);
	else
		wait_exited(e, r, ctl, cancel_fd);
out:
	rec_put(e, r);
	free(s);
	return rc;
}

void engine_execs_free(struct hamn_engine *e)
{
	struct engine_execs *x = e->execs;

	if (!x)
		return;
	pthread_mutex_lock(&x->lock);
	x->stopping = true;
	/* wake the exit waiters of `exec -d`: their sessions go on without us */
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i]->ctl >= 0)
			shutdown(x->v[i]->ctl, SHUT_RDWR);
	while (x->waiters)
		pthread_cond_wait(&x->cond, &x->lock);
	for (size_t i = 0; i < x->n; i++)
		exec_rec_unref(x->v[i]);
	pthread_mutex_unlock(&x->lock);
	free(x->v);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->cond);
	free(x);
	e->execs = NULL;
}

json_t *engine_exec_ids(struct hamn_engine *e, const char *ctr_id)
{
	struct engine_execs *x = execs(e);
	json_t *ids = json_array();

	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; i < x->n; i++) {
		struct exec_rec *r = x->v[i];

		if (!streq(r->ctr_id, ctr_id))
			continue;
		exec_rec_refresh(e, r);
		if (!r->has_exit && !r->lost)
			json_array_append_new(ids, json_string(r->id));
	}
	pthread_mutex_unlock(&x->lock);
	/* docker: null when there are none */
	if (json_array_size(ids) == 0) {
		json_decref(ids);
		return json_null();
	}
	return ids;
}

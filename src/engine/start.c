/*
 * start.c - starting a container: build its OCI config, launch its monitor
 * through the zygote with the clients that attached before, and wait for
 * the monitor to say the process runs (or why it could not).
 *
 * Lifecycle operations on one container are serialised by its op_lock;
 * its state is read and written under the engine lock, which is never
 * held while talking to the image store or waiting for a monitor.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

/* How long start waits for clients that were promised (attach before start). */
#define ATTACH_READY_TIMEOUT_NS (5LL * 1000000000LL)
/* How long start waits for the monitor's first word. */
#define MONITOR_START_TIMEOUT_MS 120000
/*
 * How long start waits for the previous run's monitor to go: after the exit
 * it flushes its clients (monitor_io.c: FLUSH_TIMEOUT_MS, 5 s at most).
 */
#define MONITOR_GONE_TIMEOUT_NS (15LL * 1000000000LL)

static void timespec_at(struct timespec *ts, int64_t mono_deadline_ns)
{
	/* e->cond uses CLOCK_MONOTONIC (engine.c) */
	ts->tv_sec = mono_deadline_ns / 1000000000LL;
	ts->tv_nsec = mono_deadline_ns % 1000000000LL;
}

/* Wait (lock held) until every pending client has its connection. */
static void wait_attach_ready(struct hamn_engine *e, struct container *c)
{
	int64_t deadline = hamn_monotonic_ns() + ATTACH_READY_TIMEOUT_NS;
	struct timespec ts;

	timespec_at(&ts, deadline);
	for (;;) {
		bool all = true;

		for (struct attach_slot *s = c->pending; s; s = s->next)
			all &= s->ready;
		if (all || hamn_monotonic_ns() >= deadline)
			return;
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
	}
}

/*
 * Wait (lock held) until the monitor of the previous run is gone. It still
 * flushes its clients after it reported the exit, and until the watcher
 * has seen its connection end, that connection is c->mon_fd and its
 * clients are c->handed: a launch must not put its own in their place (the
 * watcher would close the new run's clients and connection as the old's).
 */
static int wait_monitor_gone(struct hamn_engine *e, struct container *c, struct hamn_error **err)
{
	int64_t deadline = hamn_monotonic_ns() + MONITOR_GONE_TIMEOUT_NS;
	struct timespec ts;

	timespec_at(&ts, deadline);
	while (c->mon_fd >= 0) {
		if (e->stopping || hamn_monotonic_ns() >= deadline)
			return hamn_error_setq(err, EBUSY,
					       "the previous run of container %s has not ended yet",
					       c->id);
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
	}
	return 0;
}

static uint32_t slot_flags(const struct attach_slot *s)
{
	return (s->in_stdin ? MON_F_STDIN : 0) | (s->in_stdout ? MON_F_STDOUT : 0) |
	       (s->in_stderr ? MON_F_STDERR : 0);
}

/* Move the ready pending clients to handed; their fds go with the launch (lock held). */
static json_t *take_clients(struct container *c, int *fds, size_t *n_fds)
{
	json_t *arr = json_array();
	struct attach_slot **pp = &c->pending;

	while (*pp) {
		struct attach_slot *s = *pp;
		json_t *client;

		if (!s->ready || *n_fds >= 15) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		fds[(*n_fds)++] = s->fd;
		client = json_pack("{s:I, s:i, s:s#}", "token", (json_int_t)s->token, "flags",
				   (int)slot_flags(s), "detach", s->detach, (int)s->n_detach);
		if (s->n_ahead)
			json_object_set_new(client, "ahead",
					    attach_ahead_json(s->ahead, s->n_ahead));
		json_array_append_new(arr, client);
		s->next = c->handed;
		c->handed = s;
	}
	return arr;
}

static int ensure_sources(const struct ctr_config *c, struct hamn_error **err)
{
	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct ctr_mount *m = &c->mounts[i];
		struct stat st;

		if (m->type == CM_TMPFS || stat(m->source, &st) == 0)
			continue;
		if (m->type == CM_BIND && !m->create_source)
			return hamn_error_setq(err, EINVAL, "bind source path does not exist: %s",
					       m->source);
		if (hamn_mkdir_p(AT_FDCWD, m->source, 0755, err) < 0)
			return hamn_error_wrap(err, "create mount source");
	}
	return 0;
}

static json_t *launch_request(struct hamn_engine *e, struct container *c, json_t *spec,
			      const char *lower)
{
	_cleanup_free_ char *ctr_dir = ctr_dir_path(e, c->id);
	_cleanup_free_ char *exec_dir = xasprintf("%s/containers/%s", e->exec_root, c->id);
	const struct ctr_config *cfg = &c->cfg;
	_cleanup_free_ char *log = log_file_name(cfg, c->id);
	/* the daemon's log-opts were merged in at create (logconfig.c) */
	json_t *log_obj = json_pack("{s:I, s:I}", "max_size", (json_int_t)cfg->log_max_size,
				    "max_file", (json_int_t)cfg->log_max_file);

	if (!streq(cfg->log_driver, "none"))
		json_object_set_new(log_obj, "name", json_string(log));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:o, s:b, s:b, s:b, s:o}", "id",
			 c->id, "root", e->root, "ctr_dir", ctr_dir, "exec_dir", exec_dir, "lower",
			 lower, "spec", spec, "user", cfg->user, "group_add",
			 hamn_json_from_strv(cfg->group_add), "tty", cfg->tty, "open_stdin",
			 cfg->open_stdin, "stdin_once", cfg->stdin_once, "log", log_obj);
}

/* What hamnd prepares without the engine lock: the config, the dirs, the request. */
static json_t *prepare_launch(struct hamn_engine *e, struct container *c,
			      struct hamn_error **err)
{
	_cleanup_free_ char *lower = NULL, *rootfs = NULL;
	_cleanup_json_ json_t *spec = NULL, *populate = NULL;
	_cleanup_close_ int xfd = -1;
	json_t *req;

	lower = hamn_image_lowerdir(e->images, c->image_id, err);
	if (!lower)
		return NULL;
	/* a record from before volumes.c has no mount points: its mounts as they were */
	if (!c->mount_points && ensure_sources(&c->cfg, err) < 0)
		return NULL;
	rootfs = xasprintf("%s/containers/%s/merged", e->root, c->id);
	spec = spec_build(e, c, rootfs, err);
	if (!spec)
		return NULL;
	populate = ctr_volumes_start(e, c, spec, err);
	if (!populate)
		return NULL;
	if (mkdirat(e->exec_ctrs_fd, c->id, 0700) < 0 && errno != EEXIST)
		return hamn_error_set(err, errno, "create the monitor directory"), NULL;
	xfd = openat(e->ctrs_fd, c->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (xfd < 0)
		return hamn_error_set(err, errno, "open the container directory"), NULL;
	/* a stale exit record would be taken for this run's after a crash */
	unlinkat(xfd, "exit.json", 0);
	req = launch_request(e, c, spec, lower);
	json_object_set(req, "populate", populate);
	if (ctr_net_prepare(e, c, json_object_get(req, "spec"), req, err) < 0) {
		json_decref(req);
		return NULL;
	}
	return req;
}

static void finish_slots(struct attach_slot *list)
{
	while (list) {
		struct attach_slot *next = list->next;

		attach_slot_finish(list);
		list = next;
	}
}

/* The monitor answered: record the outcome (lock held). */
static int launched_locked(struct hamn_engine *e, struct container *c, int sock,
			   const struct mon_msg *m, struct hamn_error **err)
{
	struct ctr_state *st = &c->st;

	if (m->type == MON_STARTED) {
		st->status = ST_RUNNING;
		st->pid = m->pid;
		st->started_ns = m->t1;
		st->exit_code = 0;
		st->oom_killed = false;
		st->has_been_started = true;
		st->manual_stop = false;
		free(st->error);
		st->error = xstrdup("");
		c->mon_fd = sock;
		ctr_changed(e, c);
		if (store_put(e->store, c, err) < 0) {
			log_warn("container %s: %s", c->id, (*err)->msg);
			hamn_error_free(err);
		}
		return watcher_add(e, c, err);
	}
	st->exit_code = m->pid > 0 ? m->pid : 128;
	free(st->error);
	st->error = xstrdup(m->text);
	if (st->status == ST_RESTARTING)
		st->status = ST_EXITED;
	ctr_changed(e, c);
	if (store_put(e->store, c, err) < 0)
		hamn_error_free(err);
	/* dockerd resolves --user itself, before the runtime: no runtime words then */
	if (str_has_prefix(m->text, "unable to find user ") ||
	    str_has_prefix(m->text, "unable to find group "))
		return hamn_error_setq(err, EIO, "%s", m->text);
	/* docker: a command that cannot be run is the caller's mistake (400) */
	return hamn_error_setq(err, st->exit_code == 127 || st->exit_code == 126 ? EINVAL : EIO,
			       "failed to create task for container: %s", m->text);
}

static int await_monitor(struct hamn_engine *e, struct container *c, int sock,
			 struct mon_msg *m, struct hamn_error **err)
{
	size_t n_fds;
	int r, fd;

	for (;;) {
		fd = -1;
		r = mon_recv(sock, m, &fd, 1, &n_fds, MONITOR_START_TIMEOUT_MS, err);
		if (r <= 0 || m->type != MON_NET_WAIT)
			break;
		/* the init waits until its networks are attached (network.c) */
		ctr_net_handshake(e, c, sock, n_fds ? fd : -1);
	}
	if (r < 0)
		return hamn_error_wrap(err, "wait for the monitor");
	if (r == 0)
		return hamn_error_setq(err, EIO, "the monitor exited before the container started");
	if (m->type != MON_STARTED && m->type != MON_START_FAILED)
		return hamn_error_setq(err, EPROTO, "unexpected monitor message %u", m->type);
	return 0;
}

/*
 * Take linux.seccomp out of the request (a new reference in *out): the
 * zygote compiles each profile once and hands the program to the monitor;
 * key names it.
 */
static bool take_seccomp(struct hamn_engine *e, json_t *req, char key[SECCOMP_KEY_LEN + 1],
			 json_t **out)
{
	json_t *lin = json_object_get(json_object_get(req, "spec"), "linux");
	json_t *sc = json_object_get(lin, "seccomp");

	*out = NULL;
	if (!sc)
		return false;
	spec_seccomp_key(e, sc, key);
	*out = json_incref(sc);
	json_object_del(lin, "seccomp");
	return true;
}

/* Our copies of the clients the monitor now has are not needed any more (lock taken). */
static void drop_handed_fds(struct hamn_engine *e, struct container *c)
{
	pthread_mutex_lock(&e->lock);
	for (struct attach_slot *s = c->handed; s; s = s->next) {
		if (s->fd >= 0) {
			close(s->fd);
			s->fd = -1;
		}
	}
	pthread_mutex_unlock(&e->lock);
}

/*
 * Have the zygote fork the monitor and wait for its first word in *m.
 * Returns our end of its connection, or -1 with *m a START_FAILED saying why.
 */
static int launch_monitor(struct hamn_engine *e, struct container *c, json_t *req,
			  struct mon_msg *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *sc = NULL;
	char sc_key[SECCOMP_KEY_LEN + 1];
	int sv[2], fds[16], r = -1;
	size_t n_fds = 1;
	bool has_sc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		hamn_error_set(&err, errno, "socketpair");
		goto failed;
	}
	fds[0] = sv[1];
	pthread_mutex_lock(&e->lock);
	wait_attach_ready(e, c);
	json_object_set_new(req, "attach", take_clients(c, fds, &n_fds));
	pthread_mutex_unlock(&e->lock);
	has_sc = take_seccomp(e, req, sc_key, &sc);
	text = hamn_json_dump(req);
	r = zygote_launch(&e->zygote, text, has_sc ? sc_key : NULL, sc, fds, n_fds, &pid, &err);
	close(sv[1]);
	if (r == 0) {
		drop_handed_fds(e, c);
		r = await_monitor(e, c, sv[0], m, &err);
	}
	if (r == 0 && m->type == MON_STARTED)
		return sv[0];
	close(sv[0]);
	if (r == 0)
		return -1;	/* START_FAILED: m says why */
failed:
	memset(m, 0, sizeof(*m));
	m->type = MON_START_FAILED;
	m->pid = 128;
	snprintf(m->text, sizeof(m->text), "%s", err->msg);
	return -1;
}

static int launch(struct hamn_engine *e, struct container *c, json_t *req,
		  struct hamn_error **err)
{
	struct attach_slot *handed;
	struct mon_msg m;
	int sock = launch_monitor(e, c, req, &m);

	pthread_mutex_lock(&e->lock);
	if (launched_locked(e, c, sock, &m, err) == 0) {
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	if (sock >= 0) {
		close(sock);
		c->mon_fd = -1;
	}
	/* the clients of a launch that failed are done with */
	handed = c->handed;
	c->handed = NULL;
	pthread_mutex_unlock(&e->lock);
	finish_slots(handed);
	ctr_net_release(e, c);
	return -1;
}

static void start_event_pending(struct hamn_engine *e, struct container *c, bool pending)
{
	pthread_mutex_lock(&e->lock);
	c->start_event_pending = pending;
	if (!pending)
		pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

int ctr_start_locked_op(struct hamn_engine *e, struct container *c, bool restart,
			struct hamn_error **err)
{
	_cleanup_json_ json_t *req = NULL;
	enum ctr_status s;
	bool paused;
	int r;

	pthread_mutex_lock(&e->lock);
	s = c->st.status;
	paused = c->st.paused;
	pthread_mutex_unlock(&e->lock);
	if (!c->in_table || s == ST_REMOVING || c->removed)
		return hamn_error_setq(err, EBUSY,
				       "container is marked for removal and cannot be started");
	/* dockerd checks this before "already started": a paused container runs */
	if (s == ST_RUNNING && paused)
		return hamn_error_setq(err, EBUSY,
				       "cannot start a paused container, try unpause instead");
	if (s == ST_RUNNING || (s == ST_RESTARTING && !restart))
		return hamn_error_setq(err, EALREADY, "container already started");
	pthread_mutex_lock(&e->lock);
	r = wait_monitor_gone(e, c, err);
	pthread_mutex_unlock(&e->lock);
	if (r < 0)
		return -1;
	if (ctr_net_check_unresolved(e, c, err) < 0)
		return -1;
	req = prepare_launch(e, c, err);
	if (!req)
		return hamn_error_wrap(err, "start container %s", c->id);
	/* a process that exits at once must not have its "die" sent before this "start" */
	start_event_pending(e, c, true);
	if (launch(e, c, req, err) < 0) {
		start_event_pending(e, c, false);
		return -1;
	}
	ctr_stats_started(e, c);
	engine_event(e, c, restart ? "restart" : "start", NULL);
	start_event_pending(e, c, false);
	return 0;
}

static bool runs(struct hamn_engine *e, const struct container *c)
{
	bool r;

	pthread_mutex_lock(&e->lock);
	r = c->st.status == ST_RUNNING;
	pthread_mutex_unlock(&e->lock);
	return r;
}

int hamn_engine_container_start(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	bool auto_remove;
	int r;

	if (!c)
		return -1;
	pthread_mutex_lock(&c->op_lock);
	r = ctr_start_locked_op(e, c, false, err);
	/* only a failed launch, never a container that runs (already started, or paused) */
	auto_remove = r < 0 && (*err)->errnum != EALREADY && c->cfg.auto_remove &&
		      !runs(e, c);
	if (auto_remove) {
		/* docker: a --rm container that cannot start is removed */
		_cleanup_error_ struct hamn_error *rerr = NULL;

		ctr_remove_op(e, c, true, &rerr);
	}
	pthread_mutex_unlock(&c->op_lock);
	ctr_put(e, c);
	return r;
}

/*
 * watcher.c - the engine's thread: it listens to every monitor connection
 * (epoll) and turns their messages into state: an exit is recorded in
 * memory and in the database, waiters and events are told, clients the
 * monitor is done with are closed, and AutoRemove or the restart policy
 * (with back-off) is applied in a short-lived worker thread so that the
 * watcher never blocks.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"

int watcher_add(struct hamn_engine *e, struct container *c, struct hamn_error **err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, c->mon_fd, &ev) < 0)
		return hamn_error_set(err, errno, "watch the monitor of %s", c->id);
	/* the registration holds a reference, dropped when the connection ends */
	ctr_ref(c);
	if (e->n_watched == e->cap_watched) {
		e->cap_watched = e->cap_watched ? 2 * e->cap_watched : 64;
		e->watched = xreallocarray(e->watched, e->cap_watched, sizeof(*e->watched));
	}
	e->watched[e->n_watched++] = c;
	return 0;
}

/* Put c's handed clients at the end of *to (lock held). */
static void take_handed_all(struct container *c, struct attach_slot **to)
{
	while (*to)
		to = &(*to)->next;
	*to = c->handed;
	c->handed = NULL;
}

/* Stop watching c's monitor connection and close it (lock held); the caller drops the ref. */
static void unwatch_locked(struct hamn_engine *e, struct container *c)
{
	for (size_t i = 0; i < e->n_watched; i++) {
		if (e->watched[i] == c) {
			e->watched[i] = e->watched[--e->n_watched];
			break;
		}
	}
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->mon_fd, NULL);
	close(c->mon_fd);
	c->mon_fd = -1;
}

void watcher_release_all(struct hamn_engine *e, struct attach_slot **slots)
{
	while (e->n_watched) {
		struct container *c = e->watched[e->n_watched - 1];

		take_handed_all(c, slots);
		unwatch_locked(e, c);
		ctr_unref_locked(c);	/* the watch's reference */
	}
	free(e->watched);
	e->watched = NULL;
	e->cap_watched = 0;
}

void attach_slot_finish(struct attach_slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->done)
		s->done(s->done_ctx);
	free(s->ahead);
	free(s);
}

/* Unlink the handed client with token (lock held); NULL when unknown. */
static struct attach_slot *take_handed(struct container *c, uint64_t token)
{
	for (struct attach_slot **pp = &c->handed; *pp; pp = &(*pp)->next) {
		struct attach_slot *s = *pp;

		if (s->token == token) {
			*pp = s->next;
			return s;
		}
	}
	return NULL;
}

int ctr_attach_handoff_locked(struct hamn_engine *e, struct container *c,
			      struct attach_slot *s, struct hamn_error **err)
{
	struct mon_msg m = { .type = MON_ATTACH, .token = s->token };

	(void)e;
	if (c->mon_fd < 0)
		return hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	m.flags = (s->in_stdin ? MON_F_STDIN : 0) | (s->in_stdout ? MON_F_STDOUT : 0) |
		  (s->in_stderr ? MON_F_STDERR : 0);
	memcpy(m.text, s->detach, s->n_detach);
	m.h = (uint32_t)s->n_detach;
	m.w = (uint32_t)s->n_ahead;
	if (mon_send(c->mon_fd, &m, &s->fd, 1, err) < 0 ||
	    (s->n_ahead && mon_send_blob(c->mon_fd, s->ahead, s->n_ahead, NULL, 0, err) < 0))
		return -1;
	close(s->fd);
	s->fd = -1;
	s->next = c->handed;
	c->handed = s;
	return 0;
}

/* ---- workers ---- */

struct worker {
	struct hamn_engine *e;
	struct container *c;
	void (*fn)(struct hamn_engine *, struct container *);
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct hamn_engine *e = w->e;

	w->fn(e, w->c);
	pthread_mutex_lock(&e->lock);
	ctr_unref_locked(w->c);
	e->workers--;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	free(w);
	return NULL;
}

/* Called with the lock held. */
void engine_spawn_worker(struct hamn_engine *e, struct container *c,
			 void (*fn)(struct hamn_engine *, struct container *))
{
	struct worker *w = xmalloc(sizeof(*w));
	pthread_attr_t attr;
	pthread_t t;

	w->e = e;
	w->c = c;
	w->fn = fn;
	ctr_ref(c);
	e->workers++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	if (pthread_create(&t, &attr, worker_main, w) != 0) {
		log_error("container %s: cannot start a worker thread", c->id);
		ctr_unref_locked(c);
		e->workers--;
		free(w);
	}
	pthread_attr_destroy(&attr);
}

void engine_auto_remove_worker(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	pthread_mutex_lock(&c->op_lock);
	if (ctr_remove_op(e, c, true, &err) < 0) {
		if (err->errnum != ENOENT)
			log_warn("auto-remove container %s: %s", c->id, err->msg);
	} else {
		ctr_volumes_remove_anonymous(e, c);	/* --rm takes its anonymous volumes too */
	}
	pthread_mutex_unlock(&c->op_lock);
}

static void restart_worker(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int64_t deadline;
	struct timespec ts;
	bool go;

	pthread_mutex_lock(&e->lock);
	deadline = hamn_monotonic_ns() + c->backoff_ms * 1000000LL;
	ts.tv_sec = deadline / 1000000000LL;
	ts.tv_nsec = deadline % 1000000000LL;
	while (c->st.status == ST_RESTARTING && !e->stopping && hamn_monotonic_ns() < deadline)
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
	pthread_mutex_unlock(&e->lock);

	pthread_mutex_lock(&c->op_lock);
	pthread_mutex_lock(&e->lock);
	go = c->st.status == ST_RESTARTING && !e->stopping && c->in_table;
	if (go)
		c->st.restart_count++;
	pthread_mutex_unlock(&e->lock);
	if (go && ctr_start_locked_op(e, c, true, &err) < 0) {
		log_warn("restart container %s: %s", c->id, err->msg);
		pthread_mutex_lock(&e->lock);
		if (c->st.status == ST_RESTARTING) {
			c->st.status = ST_EXITED;
			ctr_changed(e, c);
		}
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_unlock(&c->op_lock);
}

/* ---- exits ---- */

void ctr_exited_locked(struct hamn_engine *e, struct container *c, const struct mon_msg *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct ctr_state *st = &c->st;
	bool restart;
	json_t *attrs;

	/* its endpoints go before anyone hears of the exit: a start right after finds none */
	engine_events_hold(); /* their disconnect events come after "die", as dockerd's */
	ctr_net_release_locked(e, c);
	st->exit_code = m->code;
	st->paused = false;
	st->oom_killed = m->flags & MON_F_OOM;
	if (m->t1)
		st->started_ns = m->t1;
	st->finished_ns = m->t2 ? m->t2 : hamn_now_ns();
	st->pid = 0;
	restart = !c->removed && st->status != ST_REMOVING && !c->cfg.auto_remove &&
		  restart_should(c->cfg.restart, c->cfg.restart_max, st->restart_count,
				 st->exit_code, st->manual_stop);
	if (st->status != ST_REMOVING)
		st->status = restart ? ST_RESTARTING : ST_EXITED;
	if (restart)
		c->backoff_ms = restart_next_backoff(c->backoff_ms, st->finished_ns - st->started_ns);
	ctr_changed(e, c);
	if (st->status != ST_REMOVING && store_put(e->store, c, &err) < 0)
		log_warn("container %s: %s", c->id, err->msg);
	waiters_notify_exit(e, c, restart);
	attrs = json_pack("{s:s}", "exitCode", "");
	json_object_set_new(attrs, "exitCode", json_sprintf("%d", st->exit_code));
	/* dockerd's order: the start that launched this process has sent "start" first */
	while (c->start_event_pending)
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
	if (st->oom_killed)
		engine_event(e, c, "oom", NULL);
	engine_event(e, c, "die", attrs);
	engine_events_release(e);
	json_decref(attrs);
	pthread_mutex_lock(&e->lock);
	if (c->cfg.auto_remove && !c->removed)
		engine_spawn_worker(e, c, engine_auto_remove_worker);
	else if (restart)
		engine_spawn_worker(e, c, restart_worker);
}

/* The connection of c ended: the monitor is gone (lock held). Returns handed clients. */
static struct attach_slot *monitor_gone_locked(struct hamn_engine *e, struct container *c)
{
	struct attach_slot *handed = c->handed;

	unwatch_locked(e, c);
	c->handed = NULL;
	pthread_cond_broadcast(&e->cond);	/* a start waits for this (start.c) */
	if (c->st.status == ST_RUNNING) {
		/* no EXITED: the monitor was killed; its container must not run unwatched */
		struct mon_msg m = { .type = MON_EXITED, .code = 255 };

		ctr_kill_orphan(e, c);
		free(c->st.error);
		c->st.error = xstrdup("the container's monitor exited unexpectedly");
		ctr_exited_locked(e, c, &m);
	}
	return handed;
}

static void handle_message(struct hamn_engine *e, struct container *c, const struct mon_msg *m)
{
	struct attach_slot *s = NULL;

	pthread_mutex_lock(&e->lock);
	switch (m->type) {
	case MON_EXITED:
		if (c->st.status == ST_RUNNING)
			ctr_exited_locked(e, c, m);
		break;
	case MON_CLIENT_DONE:
		s = take_handed(c, m->token);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&e->lock);
	if (s)
		attach_slot_finish(s);
}

static void handle_monitor(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct attach_slot *handed;
	struct mon_msg m;
	int r;

	r = mon_recv(c->mon_fd, &m, NULL, 0, NULL, 0, &err);
	if (r > 0) {
		handle_message(e, c, &m);
		return;
	}
	if (r < 0 && err->errnum == ETIMEDOUT)
		return;
	pthread_mutex_lock(&e->lock);
	handed = monitor_gone_locked(e, c);
	ctr_unref_locked(c);	/* the watch's reference */
	pthread_mutex_unlock(&e->lock);
	while (handed) {
		struct attach_slot *next = handed->next;

		attach_slot_finish(handed);
		handed = next;
	}
}

static void *watcher_main(void *arg)
{
	struct hamn_engine *e = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(e->epfd, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("engine thread: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				uint64_t v;

				if (read(e->wake_fd, &v, sizeof(v)) < 0) {
					/* nothing to read: another wake-up took it */
				}
				continue;
			}
			handle_monitor(e, evs[i].data.ptr);
		}
		pthread_mutex_lock(&e->lock);
		if (e->stopping) {
			pthread_mutex_unlock(&e->lock);
			return NULL;
		}
		pthread_mutex_unlock(&e->lock);
	}
}

int watcher_start(struct hamn_engine *e, struct hamn_error **err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wake_fd, &ev) < 0)
		return hamn_error_set(err, errno, "epoll_ctl");
	if (pthread_create(&e->thread, NULL, watcher_main, e) != 0)
		return hamn_error_setq(err, EAGAIN, "cannot start the engine thread");
	e->thread_started = true;
	return 0;
}

void watcher_stop(struct hamn_engine *e)
{
	uint64_t one = 1;

	if (!e->thread_started)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	if (write(e->wake_fd, &one, sizeof(one)) < 0)
		log_warn("engine thread: cannot wake it: %s", strerror(errno));
	pthread_join(e->thread, NULL);
	e->thread_started = false;
}

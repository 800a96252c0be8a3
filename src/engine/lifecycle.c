/*
 * lifecycle.c - stop, kill, restart, remove, rename and resize.
 *
 * Signals go to the container through its monitor (which holds the
 * container's pidfd, so a recycled pid is never hit). stop waits on the
 * engine's condition variable for the exit that the engine thread records.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"

/* After SIGKILL, how long to wait for the monitor to report the exit. */
#define KILL_WAIT_NS (30LL * 1000000000LL)

int ctr_signal_locked(struct hamn_engine *e, struct container *c, int sig,
		      struct hamn_error **err)
{
	struct mon_msg m = { .type = MON_SIGNAL, .code = sig };

	(void)e;
	if (c->mon_fd < 0)
		return hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	if (mon_send(c->mon_fd, &m, NULL, 0, err) == 0)
		return 0;
	/*
	 * The monitor is going: its container exited and the engine thread is
	 * about to record it. Nothing is left to signal; callers wait for that.
	 */
	if ((*err)->errnum == EPIPE || (*err)->errnum == ECONNRESET) {
		hamn_error_free(err);
		return 0;
	}
	return -1;
}

/* Wait (lock held) until c is no longer running or the monotonic deadline passes. */
static bool wait_not_running(struct hamn_engine *e, struct container *c, int64_t deadline)
{
	struct timespec ts = { .tv_sec = deadline / 1000000000LL,
			       .tv_nsec = deadline % 1000000000LL };

	while (c->st.status == ST_RUNNING) {
		if (hamn_monotonic_ns() >= deadline)
			return false;
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
	}
	return true;
}

static void set_manual_stop(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (c->st.manual_stop)
		return;
	c->st.manual_stop = true;
	if (store_put(e->store, c, &err) < 0)
		log_warn("container %s: %s", c->id, err->msg);
}

/* A container waiting to be restarted is simply not restarted (lock held). */
static void cancel_restart(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	c->st.status = ST_EXITED;
	c->st.manual_stop = true;
	ctr_changed(e, c);
	if (store_put(e->store, c, &err) < 0)
		log_warn("container %s: %s", c->id, err->msg);
}

/* Stop c (op_lock held, engine lock held). */
static int stop_locked(struct hamn_engine *e, struct container *c, int timeout,
		       struct hamn_error **err)
{
	int64_t t;

	if (c->st.status == ST_RESTARTING) {
		cancel_restart(e, c);
		return 0;
	}
	if (c->st.status != ST_RUNNING)
		return hamn_error_setq(err, EALREADY, "container already stopped");
	if (ctr_thaw_locked(e, c, err) < 0)	/* a paused container (pause.c) */
		return -1;
	if (timeout < 0)
		timeout = c->cfg.has_stop_timeout ? (int)c->cfg.stop_timeout
						  : HAMN_ENGINE_DEFAULT_STOP_TIMEOUT;
	set_manual_stop(e, c);
	if (timeout != 0) {
		/* a negative StopTimeout waits for as long as it takes */
		t = timeout < 0 ? INT64_MAX / 2
				: hamn_monotonic_ns() + (int64_t)timeout * 1000000000LL;
		if (ctr_signal_locked(e, c, c->cfg.stop_signo, err) == 0 &&
		    wait_not_running(e, c, t))
			return 0;
		hamn_error_free(err);
	}
	if (c->st.status != ST_RUNNING)
		return 0;
	if (ctr_signal_locked(e, c, SIGKILL, err) < 0)
		return -1;
	if (!wait_not_running(e, c, hamn_monotonic_ns() + KILL_WAIT_NS))
		return hamn_error_setq(err, ETIMEDOUT, "container %s did not stop after SIGKILL",
				       c->id);
	return 0;
}

int hamn_engine_container_stop(struct hamn_engine *e, const char *ref, int timeout,
			       struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	int r;

	if (!c)
		return -1;
	pthread_mutex_lock(&c->op_lock);
	pthread_mutex_lock(&e->lock);
	r = stop_locked(e, c, timeout, err);
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_unlock(&c->op_lock);
	if (r == 0)
		engine_event(e, c, "stop", NULL);
	ctr_put(e, c);
	return r;
}

int hamn_engine_container_restart(struct hamn_engine *e, const char *ref, int timeout,
				  struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	int r;

	if (!c)
		return -1;
	pthread_mutex_lock(&c->op_lock);
	pthread_mutex_lock(&e->lock);
	r = stop_locked(e, c, timeout, err);
	pthread_mutex_unlock(&e->lock);
	if (r < 0 && (*err)->errnum == EALREADY) {
		hamn_error_free(err);
		r = 0;
	}
	if (r == 0)
		r = ctr_start_locked_op(e, c, true, err);
	pthread_mutex_unlock(&c->op_lock);
	ctr_put(e, c);
	return r;
}

int hamn_engine_container_kill(struct hamn_engine *e, const char *ref, const char *signal,
			       struct hamn_error **err)
{
	int sig = signal && signal[0] ? hamn_engine_signal_parse(signal) : SIGKILL;
	struct container *c;
	int r;

	if (sig <= 0)
		return hamn_error_setq(err, EINVAL, "Invalid signal: %s", signal);
	c = ctr_get(e, ref, err);
	if (!c)
		return -1;
	pthread_mutex_lock(&e->lock);
	if (c->st.status != ST_RUNNING) {
		r = hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	} else {
		/* docker: killing with the stop signal or KILL counts as a manual stop */
		if (sig == SIGKILL || sig == c->cfg.stop_signo)
			set_manual_stop(e, c);
		r = ctr_signal_locked(e, c, sig, err);
		if (r == 0)
			ctr_paused_signalled_locked(e, c, sig);
	}
	pthread_mutex_unlock(&e->lock);
	if (r == 0) {
		json_t *attrs = json_pack("{s:i}", "signal", sig);

		engine_event(e, c, "kill", attrs);
		json_decref(attrs);
	}
	ctr_put(e, c);
	return r;
}

int hamn_engine_container_resize(struct hamn_engine *e, const char *ref, unsigned int height,
				 unsigned int width, struct hamn_error **err)
{
	struct mon_msg m = { .type = MON_RESIZE, .h = height, .w = width };
	struct container *c = ctr_get(e, ref, err);
	int r = 0;

	if (!c)
		return -1;
	pthread_mutex_lock(&e->lock);
	if (c->st.status != ST_RUNNING || c->mon_fd < 0)
		r = hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	else if (c->cfg.tty)
		r = mon_send(c->mon_fd, &m, NULL, 0, err);
	pthread_mutex_unlock(&e->lock);
	ctr_put(e, c);
	return r;
}

/* ---- remove ---- */

static int kill_for_remove(struct hamn_engine *e, struct container *c, bool force,
			   struct hamn_error **err)
{
	if (c->st.status == ST_RESTARTING) {
		if (!force)
			goto busy;
		cancel_restart(e, c);
		return 0;
	}
	if (c->st.status != ST_RUNNING)
		return 0;
	if (ctr_paused_remove_locked(e, c, force, err) < 0)
		return -1;
	if (!force)
		goto busy;
	set_manual_stop(e, c);
	if (ctr_signal_locked(e, c, SIGKILL, err) < 0)
		return -1;
	if (!wait_not_running(e, c, hamn_monotonic_ns() + KILL_WAIT_NS))
		return hamn_error_setq(err, ETIMEDOUT, "container %s did not stop after SIGKILL",
				       c->id);
	return 0;
busy:
	return hamn_error_setq(err, EBUSY,
			       "You cannot remove a running container %s. Stop the container before "
			       "attempting removal or force remove",
			       c->id);
}

/*
 * The pending clients that have their connection (lock held). The others
 * are still in an attach handler, which finds the container removed.
 */
static struct attach_slot *take_ready(struct container *c)
{
	struct attach_slot *ready = NULL, **pp = &c->pending;

	while (*pp) {
		struct attach_slot *s = *pp;

		if (!s->ready) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		s->next = ready;
		ready = s;
	}
	return ready;
}

int ctr_remove_op(struct hamn_engine *e, struct container *c, bool force,
		  struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *rerr = NULL;
	struct attach_slot *pending;

	pthread_mutex_lock(&e->lock);
	if (c->removed || c->st.status == ST_REMOVING) {
		pthread_mutex_unlock(&e->lock);
		return hamn_error_setq(err, ENOENT, "No such container: %s", c->id);
	}
	if (kill_for_remove(e, c, force, err) < 0) {
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	c->st.status = ST_REMOVING;
	ctr_changed(e, c);
	pthread_mutex_unlock(&e->lock);

	/* the row goes first: it is the commit point; a crash after it leaves a dir to sweep */
	if (store_delete(e->store, c->id, err) < 0) {
		pthread_mutex_lock(&e->lock);
		c->st.status = ST_DEAD;
		ctr_changed(e, c);
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	if (hamn_rm_rf(e->ctrs_fd, c->id, &rerr) < 0)
		log_warn("remove container %s: %s", c->id, rerr->msg);
	hamn_error_free(&rerr);
	if (hamn_rm_rf(e->exec_ctrs_fd, c->id, &rerr) < 0)
		log_warn("remove container %s: %s", c->id, rerr->msg);

	pthread_mutex_lock(&e->lock);
	c->removed = true;
	pending = take_ready(c);
	table_del(e, c);
	waiters_notify_removed(e, c);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	while (pending) {
		struct attach_slot *next = pending->next;

		attach_slot_finish(pending);
		pending = next;
	}
	engine_event(e, c, "destroy", NULL);
	return 0;
}

int hamn_engine_container_remove(struct hamn_engine *e, const char *ref, bool force, bool volumes,
				 struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	int r;

	if (!c)
		return -1;
	/* a forced remove must not wait behind a long stop: kill first, outside op_lock */
	if (force) {
		_cleanup_error_ struct hamn_error *kerr = NULL;

		pthread_mutex_lock(&e->lock);
		if (c->st.status == ST_RUNNING) {
			set_manual_stop(e, c);
			ctr_signal_locked(e, c, SIGKILL, &kerr);
		}
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_lock(&c->op_lock);
	r = ctr_remove_op(e, c, force, err);
	pthread_mutex_unlock(&c->op_lock);
	if (r == 0 && volumes)
		ctr_volumes_remove_anonymous(e, c);
	ctr_put(e, c);
	return r;
}

/* ---- rename ---- */

int hamn_engine_container_rename(struct hamn_engine *e, const char *ref, const char *new_name,
				 struct hamn_error **err)
{
	struct container *c, *other;
	char *old;
	int r = 0;

	if (!new_name || !new_name[0])
		return hamn_error_setq(err, EINVAL, "Neither old nor new names may be empty");
	if (new_name[0] == '/')
		new_name++;
	/* as dockerd: the container first, then the new name (its errors say so) */
	c = ctr_get(e, ref, err);
	if (!c)
		return -1;
	pthread_mutex_lock(&c->op_lock);
	pthread_mutex_lock(&e->lock);
	other = table_find_name(e, new_name);
	if (other == c) {
		r = hamn_error_setq(err, EINVAL,
				    "Renaming a container with the same name as its current name");
	} else if (!hamn_engine_name_valid(new_name)) {
		r = hamn_error_setq(err, EINVAL,
				    "Error when allocating new name: Invalid container name (/%s), "
				    "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
				    new_name);
	} else if (other) {
		r = hamn_error_setq(err, EEXIST,
				    "Error when allocating new name: Conflict. The container name "
				    "\"/%s\" is already in use by container \"%s\". You have to "
				    "remove (or rename) that container to be able to reuse that "
				    "name.",
				    new_name, other->id);
	} else {
		old = c->name;
		c->name = xstrdup(new_name);
		if (store_put(e->store, c, err) < 0) {
			free(c->name);
			c->name = old;
			r = -1;
		} else {
			free(old);
			ctr_changed(e, c);
		}
	}
	pthread_mutex_unlock(&e->lock);
	if (r == 0)
		ctr_net_renamed(e, c);	/* its DNS names follow */
	pthread_mutex_unlock(&c->op_lock);
	if (r == 0)
		engine_event(e, c, "rename", NULL);
	ctr_put(e, c);
	return r;
}

/*
 * pause.c - pause and unpause: the cgroup freezer of a running container.
 *
 * As in docker, a paused container is still running (its status stays
 * ST_RUNNING, so stop, wait, exec, top and the monitor's exit report treat
 * it as alive); st.paused only changes what is shown ("paused", "Up 3
 * seconds (Paused)") and what is refused. hamnd reaches the container's
 * cgroup itself, from the id and --cgroup-parent as the runtime placed it
 * (the monitor stays in hamnd's cgroup), so no monitor round trip is needed.
 *
 * A frozen process does not act on signals, SIGKILL included (cgroup v1), so
 * stop thaws first, and kill with the stop signal or KILL and a forced
 * remove thaw right after signalling, as dockerd does.
 */
#include <signal.h>

#include "engine/internal.h"
#include "runtime/cgroup.h"

enum ctr_status ctr_status_shown(const struct ctr_state *st)
{
	return st->status == ST_RUNNING && st->paused ? ST_PAUSED : st->status;
}

struct hamn_cgroup *ctr_cgroup(struct hamn_engine *e, const struct container *c,
			       struct hamn_error **err)
{
	_cleanup_free_ char *path = e->cgroup_parent && e->cgroup_parent[0]
					    ? xasprintf("%s/%s", e->cgroup_parent, c->id)
					    : NULL;

	return hamn_cgroup_new(c->id, path, err);
}

static int freeze(struct hamn_engine *e, const struct container *c, bool frozen,
		  struct hamn_error **err)
{
	_cleanup_(cleanup_hamn_cgroupp) struct hamn_cgroup *cg = ctr_cgroup(e, c, err);

	if (!cg || hamn_cgroup_freeze(cg, frozen, err) < 0)
		return hamn_error_wrap(err, "Cannot %s container %s", frozen ? "pause" : "unpause",
				       c->id);
	return 0;
}

/* Record the new state (lock held). */
static void set_paused_locked(struct hamn_engine *e, struct container *c, bool paused)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	c->st.paused = paused;
	ctr_changed(e, c);
	if (store_put(e->store, c, &err) < 0)
		log_warn("container %s: %s", c->id, err->msg);
}

/*
 * EBUSY unless c runs and its paused state is not `paused` (lock held). As
 * dockerd, unpause asks only whether c is paused: "is not paused" even when
 * it is not running.
 */
static int check_state_locked(const struct container *c, bool paused, struct hamn_error **err)
{
	if (!paused && (c->removed || c->st.status != ST_RUNNING || !c->st.paused))
		return hamn_error_setq(err, EBUSY, "Container %s is not paused", c->id);
	if (c->removed || c->st.status != ST_RUNNING)
		return hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	if (c->st.paused == paused)
		return hamn_error_setq(err, EBUSY,
				       paused ? "Container %s is already paused"
					      : "Container %s is not paused",
				       c->id);
	return 0;
}

/* Freeze or thaw c (op_lock held): the cgroup first, then the record. */
static int set_paused_op(struct hamn_engine *e, struct container *c, bool paused,
			 struct hamn_error **err)
{
	int r;

	pthread_mutex_lock(&e->lock);
	r = check_state_locked(c, paused, err);
	pthread_mutex_unlock(&e->lock);
	/* the freezer may take a while to settle: not under the engine lock */
	if (r < 0 || freeze(e, c, paused, err) < 0)
		return -1;
	pthread_mutex_lock(&e->lock);
	if (c->st.status == ST_RUNNING) {
		set_paused_locked(e, c, paused);
	} else if (paused) {
		/* it exited meanwhile: leave nothing frozen behind */
		_cleanup_error_ struct hamn_error *terr = NULL;

		freeze(e, c, false, &terr);
		r = hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	}
	pthread_mutex_unlock(&e->lock);
	return r;
}

static int pause_ref(struct hamn_engine *e, const char *ref, bool paused, struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	int r;

	if (!c)
		return -1;
	pthread_mutex_lock(&c->op_lock);
	r = set_paused_op(e, c, paused, err);
	pthread_mutex_unlock(&c->op_lock);
	if (r == 0)
		engine_event(e, c, paused ? "pause" : "unpause", NULL);
	ctr_put(e, c);
	return r;
}

int hamn_engine_container_pause(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	return pause_ref(e, ref, true, err);
}

int hamn_engine_container_unpause(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	return pause_ref(e, ref, false, err);
}

/* ---- hooks of stop, kill and remove (lock held) ---- */

int ctr_thaw_locked(struct hamn_engine *e, struct container *c, struct hamn_error **err)
{
	if (!c->st.paused)
		return 0;
	/* thawing only waits for the kernel to report THAWED: short enough under the lock */
	if (freeze(e, c, false, err) < 0)
		return -1;
	set_paused_locked(e, c, false);
	return 0;
}

void ctr_paused_signalled_locked(struct hamn_engine *e, struct container *c, int sig)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	/* dockerd: the stop signal and KILL end a pause; others wait for the unpause */
	if (!c->st.paused || (sig != SIGKILL && sig != c->cfg.stop_signo))
		return;
	if (ctr_thaw_locked(e, c, &err) < 0)
		log_warn("container %s: %s", c->id, err->msg);
}

int ctr_paused_remove_locked(struct hamn_engine *e, struct container *c, bool force,
			     struct hamn_error **err)
{
	if (!c->st.paused || c->st.status != ST_RUNNING)
		return 0;
	if (!force)
		return hamn_error_setq(
			err, EBUSY,
			"You cannot remove a paused container %s. Unpause and then "
			"stop the container before attempting removal or force remove",
			c->id);
	return ctr_thaw_locked(e, c, err);
}

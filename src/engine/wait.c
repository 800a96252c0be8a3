/*
 * wait.c - POST /containers/{id}/wait: waiters registered on a container
 * and woken by its exits and its removal. Each waiter has an eventfd, so a
 * handler can poll it together with the client's socket and notice a
 * client that went away (docker run -d drops its wait right after start).
 */
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/internal.h"

struct hamn_engine_waiter {
	struct waiter_link link;	/* first: the container's list points here */
	struct hamn_engine *e;
	struct container *c;
	enum hamn_wait_condition cond;
	int efd;
	bool done;
	int status;
	char *error;
};

int hamn_wait_condition_parse(const char *s, enum hamn_wait_condition *out,
			      struct hamn_error **err)
{
	if (!s || !s[0] || streq(s, "not-running"))
		*out = HAMN_WAIT_NOT_RUNNING;
	else if (streq(s, "next-exit"))
		*out = HAMN_WAIT_NEXT_EXIT;
	else if (streq(s, "removed"))
		*out = HAMN_WAIT_REMOVED;
	else
		return hamn_error_setq(err, EINVAL, "invalid condition: \"%s\"", s);
	return 0;
}

static void link_del(struct waiter_link *l)
{
	if (!l->next)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

static void waiter_done(struct hamn_engine_waiter *w, int status, const char *error)
{
	uint64_t one = 1;

	link_del(&w->link);
	w->done = true;
	w->status = status;
	free(w->error);
	w->error = error && error[0] ? xstrdup(error) : NULL;
	if (write(w->efd, &one, sizeof(one)) < 0)
		log_warn("wait: cannot signal the waiter: %s", strerror(errno));
}

struct hamn_engine_waiter *hamn_engine_wait_new(struct hamn_engine *e, const char *ref,
						enum hamn_wait_condition cond,
						struct hamn_error **err)
{
	struct hamn_engine_waiter *w;
	struct container *c;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (efd < 0)
		return hamn_error_set(err, errno, "eventfd"), NULL;
	pthread_mutex_lock(&e->lock);
	c = table_find(e, ref, err);
	if (!c) {
		pthread_mutex_unlock(&e->lock);
		close(efd);
		return NULL;
	}
	w = xzalloc(sizeof(*w));
	w->e = e;
	w->c = c;
	w->cond = cond;
	w->efd = efd;
	ctr_ref(c);
	w->link.prev = c->waiters.prev;
	w->link.next = &c->waiters;
	c->waiters.prev->next = &w->link;
	c->waiters.prev = &w->link;
	if (cond == HAMN_WAIT_NOT_RUNNING && c->st.status != ST_RUNNING &&
	    c->st.status != ST_RESTARTING)
		waiter_done(w, c->st.exit_code, NULL);
	pthread_mutex_unlock(&e->lock);
	return w;
}

int hamn_engine_waiter_fd(const struct hamn_engine_waiter *w)
{
	return w->efd;
}

bool hamn_engine_waiter_result(struct hamn_engine_waiter *w, int *status, const char **error)
{
	bool done;

	pthread_mutex_lock(&w->e->lock);
	done = w->done;
	if (done) {
		*status = w->status;
		if (error)
			*error = w->error;
	}
	pthread_mutex_unlock(&w->e->lock);
	return done;
}

void hamn_engine_waiter_free(struct hamn_engine_waiter *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->e->lock);
	link_del(&w->link);
	ctr_unref_locked(w->c);
	pthread_mutex_unlock(&w->e->lock);
	close(w->efd);
	free(w->error);
	free(w);
}

void waiters_notify_exit(struct hamn_engine *e, struct container *c, bool will_restart)
{
	struct waiter_link *l = c->waiters.next;

	(void)e;
	while (l != &c->waiters) {
		struct hamn_engine_waiter *w = (struct hamn_engine_waiter *)l;

		l = l->next;
		if (w->cond == HAMN_WAIT_NEXT_EXIT ||
		    (w->cond == HAMN_WAIT_NOT_RUNNING && !will_restart))
			waiter_done(w, c->st.exit_code, NULL);
	}
}

void waiters_notify_removed(struct hamn_engine *e, struct container *c)
{
	struct waiter_link *l = c->waiters.next;

	(void)e;
	while (l != &c->waiters) {
		struct hamn_engine_waiter *w = (struct hamn_engine_waiter *)l;

		l = l->next;
		waiter_done(w, c->st.exit_code, NULL);
	}
}

/*
 * janitor.c - delete links in the background.
 *
 * Deleting a veth costs the kernel 15-20 ms (it waits for an RCU grace
 * period while holding the caller in sendmsg), ten times what creating the
 * endpoint costs. Nothing waits for that on the hot path: the endpoint is
 * forgotten at once and its host veth is queued here; one thread with its
 * own netlink socket deletes queued links in order. hamn_net_ctx_free,
 * reconcile and purge drain the queue first, so nothing is left behind.
 */
#include "network/internal.h"

struct janitor {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* work arrived, or stop */
	pthread_cond_t idle; /* the queue emptied */
	pthread_t thread;
	bool running;
	bool stop;
	bool busy;
	char **queue;
	size_t n;
};

static void *janitor_thread(void *arg)
{
	struct janitor *j = arg;
	struct nl_sock *sk = NULL;
	struct hamn_error *err = NULL;

	if (link_open(&sk, &err) < 0) {
		log_warn("janitor: %s", err->msg);
		hamn_error_free(&err);
	}
	pthread_mutex_lock(&j->lock);
	for (;;) {
		char *name;

		while (j->n == 0 && !j->stop)
			pthread_cond_wait(&j->cond, &j->lock);
		if (j->n == 0 && j->stop)
			break;
		name = j->queue[0];
		memmove(j->queue, j->queue + 1, j->n * sizeof(*j->queue)); /* keeps the NULL */
		j->n--;
		j->busy = true;
		pthread_mutex_unlock(&j->lock);
		if (sk && link_delete(sk, name, &err) < 0) {
			log_warn("janitor: %s", err->msg);
			hamn_error_free(&err);
		}
		free(name);
		pthread_mutex_lock(&j->lock);
		j->busy = false;
		if (j->n == 0)
			pthread_cond_broadcast(&j->idle);
	}
	pthread_cond_broadcast(&j->idle);
	pthread_mutex_unlock(&j->lock);
	link_close(sk);
	return NULL;
}

struct janitor *janitor_new(void)
{
	struct janitor *j = xzalloc(sizeof(*j));

	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	pthread_cond_init(&j->idle, NULL);
	return j;
}

int janitor_delete_link(struct janitor *j, const char *name, struct hamn_error **err)
{
	int rc = 0;

	pthread_mutex_lock(&j->lock);
	if (!j->running) {
		rc = pthread_create(&j->thread, NULL, janitor_thread, j);
		j->running = rc == 0;
	}
	if (rc == 0) {
		strv_push(&j->queue, name);
		j->n++;
		pthread_cond_signal(&j->cond);
	}
	pthread_mutex_unlock(&j->lock);
	if (rc != 0)
		return hamn_error_set(err, rc, "start the link janitor");
	return 0;
}

void janitor_drain(struct janitor *j)
{
	pthread_mutex_lock(&j->lock);
	while (j->running && (j->n > 0 || j->busy))
		pthread_cond_wait(&j->idle, &j->lock);
	pthread_mutex_unlock(&j->lock);
}

void janitor_free(struct janitor *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->stop = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	if (j->running)
		pthread_join(j->thread, NULL); /* it finishes the queue first */
	hamn_strv_free(j->queue);
	pthread_cond_destroy(&j->idle);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

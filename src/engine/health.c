/*
 * health.c - HEALTHCHECK: probes run through exec (a capture session in
 * the container's monitor, exec_mon.c), their results kept as docker's
 * State.Health {Status, FailingStreak, Log[]} and shown by ps
 * ("Up 3 seconds (healthy)"), with a "health_status: X" event on each
 * change.
 *
 * One thread does all of it: it learns of starts and exits from the
 * engine's event bus, keeps a deadline per container and sleeps in poll()
 * until the earliest one, the bus or a running probe's ctl socket has
 * something - nothing is polled with a timer. Probes of several containers
 * run at the same time (each in its own session); a probe over its timeout
 * is killed by its session.
 *
 * Docker's rules: the first probe runs one interval after the start; exit
 * code 0 is healthy and resets the failing streak; anything else (a probe
 * that cannot start or times out counts as -1) adds to the streak, except
 * while the container is still "starting" within its start period, and
 * `retries` failures in a row make it unhealthy. The last 5 results are
 * kept, with at most 4096 bytes of output each. Nothing restarts an
 * unhealthy container.
 *
 * The state is stored too (the "health" table of store.c, a row per
 * container written after every probe, with the StartedAt of the run it
 * belongs to), so a restarted hamnd shows what it showed before - for a
 * container still in the same run, and for one that stopped since - and
 * goes on probing running containers one interval after it came back.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/exec_int.h"

#define NS_PER_S 1000000000LL
#define DEFAULT_INTERVAL (30 * NS_PER_S)
#define DEFAULT_TIMEOUT (30 * NS_PER_S)
#define DEFAULT_RETRIES 3
#define MAX_LOG 5

struct hc {
	char id[ID_LEN + 1];
	char **test; /* argv of the probe */
	int64_t interval, timeout, start_period, retries;
	bool active;	      /* the container runs: probes are scheduled */
	int64_t next_ns;      /* monotonic time of the next probe */
	int64_t started_wall; /* the container's StartedAt */
	int ctl;	      /* the running probe's session, -1 */
	int64_t probe_start;  /* wall clock */
	char status[16];      /* "starting", "healthy", "unhealthy" */
	int64_t streak;
	json_t *log; /* [{Start, End, ExitCode, Output}] */
};

struct engine_health {
	pthread_mutex_t lock; /* v and every hc's status, streak, log (read by render.c) */
	struct hc **v;
	size_t n, cap;
	pthread_t thread;
	int wake_fd;
	bool stop;
	struct hamn_events_sub *sub;
};

/* ---- configuration ---- */

static int64_t dur(json_t *hc, const char *key, int64_t def)
{
	int64_t v = json_integer_value(json_object_get(hc, key));

	return v > 0 ? v : def;
}

/* The probe of a Config.Healthcheck; NULL when there is none (absent, [], NONE). */
static char **probe_argv(json_t *hc)
{
	json_t *test = json_object_get(hc, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	char **argv = NULL;
	size_t i;
	json_t *v;

	if (!kind || streq(kind, "NONE") || json_array_size(test) < 2)
		return NULL;
	if (streq(kind, "CMD-SHELL")) {
		strv_push(&argv, "/bin/sh");
		strv_push(&argv, "-c");
		strv_push(&argv, json_string_value(json_array_get(test, 1)) ?: "");
		return argv;
	}
	if (!streq(kind, "CMD"))
		return NULL;
	json_array_foreach (test, i, v)
		if (i > 0 && json_is_string(v))
			strv_push(&argv, json_string_value(v));
	return argv;
}

/* Go's Duration.String() for whole milliseconds and seconds ("30s", "500ms", "1m30s"). */
static char *go_duration(int64_t ns)
{
	int64_t s = ns / NS_PER_S;

	if (ns % NS_PER_S)
		return s ? xasprintf("%.3gs", (double)ns / NS_PER_S)
			 : xasprintf("%lldms", (long long)(ns / 1000000));
	if (s >= 3600)
		return xasprintf("%lldh%lldm%llds", (long long)(s / 3600),
				 (long long)(s % 3600 / 60), (long long)(s % 60));
	if (s >= 60)
		return xasprintf("%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	return xasprintf("%llds", (long long)s);
}

static void hc_free(struct hc *h)
{
	if (!h)
		return;
	hamn_strv_free(h->test);
	if (h->ctl >= 0)
		close(h->ctl);
	json_decref(h->log);
	free(h);
}

/* h->lock held */
static struct hc *hc_find(struct engine_health *h, const char *id, size_t *idx)
{
	for (size_t i = 0; i < h->n; i++) {
		if (streq(h->v[i]->id, id)) {
			if (idx)
				*idx = i;
			return h->v[i];
		}
	}
	return NULL;
}

/*
 * The health of container id at "starting" from its Config.Healthcheck, or
 * NULL when it has none. *running: the container runs; *started: it ever
 * did.
 */
static struct hc *hc_make(struct hamn_engine *e, const char *id, bool *running, bool *started)
{
	struct container *c;
	struct hc *n;
	json_t *cfg;

	pthread_mutex_lock(&e->lock);
	c = table_find(e, id, NULL);
	cfg = c ? json_object_get(c->config_json, "Healthcheck") : NULL;
	n = xzalloc(sizeof(*n));
	n->ctl = -1;
	n->test = probe_argv(cfg);
	n->interval = dur(cfg, "Interval", DEFAULT_INTERVAL);
	n->timeout = dur(cfg, "Timeout", DEFAULT_TIMEOUT);
	n->start_period = dur(cfg, "StartPeriod", 0);
	n->retries = dur(cfg, "Retries", DEFAULT_RETRIES);
	n->started_wall = c ? c->st.started_ns : 0;
	*running = c && c->st.status == ST_RUNNING;
	*started = c && c->st.has_been_started;
	if (c)
		memcpy(n->id, c->id, ID_LEN + 1);
	pthread_mutex_unlock(&e->lock);
	if (!n->test) {
		hc_free(n);
		return NULL;
	}
	snprintf(n->status, sizeof(n->status), "starting");
	n->log = json_array();
	return n;
}

/* Put n in the table in place of the container's old one. */
static void hc_install(struct engine_health *h, struct hc *n)
{
	struct hc *old;
	size_t idx;

	pthread_mutex_lock(&h->lock);
	old = hc_find(h, n->id, &idx);
	if (old) {
		h->v[idx] = n;
	} else {
		if (h->n == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 16;
			h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
		}
		h->v[h->n++] = n;
	}
	pthread_mutex_unlock(&h->lock);
	hc_free(old);
}

/* A container started: (re)arm its probes at "starting" when it has a health check. */
static void on_start(struct hamn_engine *e, const char *id)
{
	bool running, started;
	struct hc *n = hc_make(e, id, &running, &started);

	if (!n || !running) {
		hc_free(n);
		return;
	}
	n->active = true;
	n->next_ns = hamn_monotonic_ns() + n->interval;
	hc_install(e->health, n);
}

/* ---- the stored state ---- */

/* The row of x (h->lock held; new reference). */
static json_t *hc_doc(const struct hc *x)
{
	return json_pack("{s:s, s:I, s:O, s:I}", "Status", x->status, "FailingStreak",
			 (json_int_t)x->streak, "Log", x->log, "StartedAt",
			 (json_int_t)x->started_wall);
}

static void hc_save(struct hamn_engine *e, const char *id, json_t *doc)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (doc && store_aux_put(e->store, STORE_HEALTH, id, id, doc, &err) < 0)
		log_warn("health %s: %s", id, err->msg);
}

static void hc_forget(struct hamn_engine *e, const char *id)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (store_aux_delete(e->store, STORE_HEALTH, id, &err) < 0)
		log_warn("health %s: %s", id, err->msg);
}

/* Take the stored state doc into n when it belongs to the same run of the container. */
static void hc_restore(struct hc *n, json_t *doc)
{
	const char *status = json_string_value(json_object_get(doc, "Status"));
	json_t *log = json_object_get(doc, "Log");

	if (json_integer_value(json_object_get(doc, "StartedAt")) != n->started_wall || !status ||
	    !json_is_array(log) ||
	    !(streq(status, "starting") || streq(status, "healthy") || streq(status, "unhealthy")))
		return;
	snprintf(n->status, sizeof(n->status), "%s", status);
	n->streak = json_integer_value(json_object_get(doc, "FailingStreak"));
	json_decref(n->log);
	n->log = json_deep_copy(log);
	while (json_array_size(n->log) > MAX_LOG)
		json_array_remove(n->log, 0);
}

static void collect_saved(void *ud, const char *id, const char *ctr, json_t *doc)
{
	(void)ctr;
	json_object_set(ud, id, doc);
}

/* A container stopped (keep its last health, as docker does) or is gone. */
static void on_stop(struct hamn_engine *e, const char *id, bool destroyed)
{
	struct engine_health *h = e->health;
	struct hc *gone = NULL, *x;
	size_t idx;

	pthread_mutex_lock(&h->lock);
	x = hc_find(h, id, &idx);
	if (x && destroyed) {
		gone = x;
		h->v[idx] = h->v[--h->n];
	} else if (x) {
		x->active = false;
		if (x->ctl >= 0)
			close(x->ctl);
		x->ctl = -1;
	}
	pthread_mutex_unlock(&h->lock);
	/* store_delete took the row already; a probe's result may have come after it */
	if (gone)
		hc_forget(e, id);
	hc_free(gone);
}

static void read_events(struct hamn_engine *e)
{
	for (;;) {
		_cleanup_error_ struct hamn_error *err = NULL;
		struct hamn_event *ev = NULL;
		int r = hamn_events_sub_next(e->health->sub, &ev, &err);

		if (r <= 0) {
			/* fell behind (EOVERFLOW): nothing is lost for us but a start */
			if (r < 0)
				log_warn("health: events: %s", err->msg);
			return;
		}
		if (streq(ev->type, "container")) {
			if (streq(ev->action, "start"))
				on_start(e, ev->id);
			else if (streq(ev->action, "die"))
				on_stop(e, ev->id, false);
			else if (streq(ev->action, "destroy"))
				on_stop(e, ev->id, true);
		}
		hamn_event_unref(ev);
	}
}

/* ---- probes ---- */

static void launch(struct hamn_engine *e, struct hc *x)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *req = json_pack(
		"{s:o, s:b, s:b, s:b, s:I}", "cmd", hamn_json_from_strv(x->test), "capture", 1,
		"stdout", 1, "stderr", 1, "timeout_ms", (json_int_t)(x->timeout / 1000000));
	int ctl = -1;

	x->next_ns = 0;
	x->probe_start = hamn_now_ns();
	/* paused or stopping: no probe this round */
	if (exec_launch(e, x->id, req, -1, &ctl, NULL, &err) < 0) {
		log_debug("health %s: %s", x->id, err->msg);
		x->next_ns = hamn_monotonic_ns() + x->interval;
		return;
	}
	x->ctl = ctl;
}

/* docker's handleProbeResult (h->lock held); true when the status changed. */
static bool record(struct hc *x, int code, const char *output)
{
	char a[HAMN_TIME_STR_MAX], b[HAMN_TIME_STR_MAX];
	int64_t end = hamn_now_ns();
	char before[sizeof(x->status)];
	bool count = true;

	memcpy(before, x->status, sizeof(before));

	json_array_append_new(x->log, json_pack("{s:s, s:s, s:i, s:s}", "Start",
						hamn_time_format(x->probe_start, a), "End",
						hamn_time_format(end, b), "ExitCode", code,
						"Output", output));
	while (json_array_size(x->log) > MAX_LOG)
		json_array_remove(x->log, 0);
	if (code == 0) {
		x->streak = 0;
		snprintf(x->status, sizeof(x->status), "healthy");
		return !streq(before, "healthy");
	}
	/* still starting and within the start period: a failure does not count */
	if (streq(x->status, "starting") && x->probe_start - x->started_wall < x->start_period)
		count = false;
	if (count && ++x->streak >= x->retries) {
		snprintf(x->status, sizeof(x->status), "unhealthy");
		return !streq(before, "unhealthy");
	}
	return false;
}

static void emit_status(struct hamn_engine *e, const char *id, const char *status)
{
	_cleanup_free_ char *action = xasprintf("health_status: %s", status);
	struct container *c = ctr_get(e, id, NULL);

	if (c)
		engine_event(e, c, action, NULL);
	ctr_put(e, c);
}

/* A message from probe x's session (h->lock not held). */
static void probe_message(struct hamn_engine *e, struct hc *x)
{
	struct engine_health *h = e->health;
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *msg = NULL;
	_cleanup_free_ char *out = NULL, *id = NULL, *status = NULL;
	_cleanup_json_ json_t *doc = NULL;
	int got = exec_ctl_recv(x->ctl, 0, &msg, &err), code;
	bool changed;

	if (got > 0 && json_is_integer(json_object_get(msg, "started")))
		return;
	if (got > 0 && json_is_true(json_object_get(msg, "timed_out"))) {
		_cleanup_free_ char *d = go_duration(x->timeout);

		out = xasprintf("Health check exceeded timeout (%s)", d);
		code = -1;
	} else if (got > 0 && json_is_integer(json_object_get(msg, "exited"))) {
		out = xstrdup(json_string_value(json_object_get(msg, "output")) ?: "");
		code = (int)json_integer_value(json_object_get(msg, "exited"));
	} else {
		const char *why = json_string_value(json_object_get(msg, "message"));

		out = xstrdup(why ? why : "the health check's exec session ended");
		code = -1;
	}
	pthread_mutex_lock(&h->lock);
	close(x->ctl);
	x->ctl = -1;
	changed = record(x, code, out);
	x->next_ns = x->active ? hamn_monotonic_ns() + x->interval : 0;
	id = xstrdup(x->id);
	status = xstrdup(x->status);
	doc = hc_doc(x);
	pthread_mutex_unlock(&h->lock);
	hc_save(e, id, doc);
	if (changed)
		emit_status(e, id, status);
}

/* ---- the thread ---- */

/* One container at start-up: its stored state, probes armed when it runs. */
static void restore_one(struct hamn_engine *e, const char *id, json_t *doc)
{
	bool running, started;
	struct hc *n = hc_make(e, id, &running, &started);

	if (!n || !started) {
		hc_free(n);
		return;
	}
	if (doc)
		hc_restore(n, doc);
	n->active = running;
	n->next_ns = running ? hamn_monotonic_ns() + n->interval : 0;
	hc_install(e->health, n);
}

/*
 * The containers there are when hamnd starts (events cover the rest),
 * with what was stored of their health; rows of containers that are gone
 * are dropped.
 */
static void scan(struct hamn_engine *e)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *saved = json_object();
	_cleanup_strv_ char **ids = NULL;
	const char *id;
	json_t *doc;
	void *tmp;

	if (store_aux_load(e->store, STORE_HEALTH, collect_saved, saved, &err) < 0)
		log_warn("health: %s", err->msg);
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_ctrs; i++)
		if (e->ctrs[i]->in_table)
			strv_push(&ids, e->ctrs[i]->id);
	pthread_mutex_unlock(&e->lock);
	for (size_t i = 0; ids && ids[i]; i++)
		restore_one(e, ids[i], json_object_get(saved, ids[i]));
	json_object_foreach_safe (saved, tmp, id, doc)
		if (!strv_contains(ids, id))
			hc_forget(e, id);
}

/* Poll set: wake, bus, then the running probes (listed in who[]). */
static int wait_next(struct engine_health *h, struct pollfd **p, struct hc ***who, size_t *n)
{
	int64_t now = hamn_monotonic_ns(), next = 0;

	pthread_mutex_lock(&h->lock);
	*p = xrealloc(*p, (h->n + 2) * sizeof(**p));
	*who = xrealloc(*who, (h->n + 2) * sizeof(**who));
	(*p)[0] = (struct pollfd){.fd = h->wake_fd, .events = POLLIN};
	(*p)[1] = (struct pollfd){.fd = hamn_events_sub_fd(h->sub), .events = POLLIN};
	*n = 2;
	for (size_t i = 0; i < h->n; i++) {
		struct hc *x = h->v[i];

		if (x->ctl >= 0) {
			(*who)[*n] = x;
			(*p)[(*n)++] = (struct pollfd){.fd = x->ctl, .events = POLLIN};
		} else if (x->active && x->next_ns && (!next || x->next_ns < next)) {
			next = x->next_ns;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (!next)
		return -1;
	return next <= now ? 0 : (int)((next - now) / 1000000 + 1);
}

/*
 * Only this thread changes h->v and the scheduling fields, so it reads them
 * without the lock; h->lock is not held across exec_launch, which takes
 * e->lock (render.c takes e->lock, then h->lock).
 */
static void run_due(struct hamn_engine *e)
{
	struct engine_health *h = e->health;
	int64_t now = hamn_monotonic_ns();

	for (size_t i = 0; i < h->n; i++) {
		struct hc *x = h->v[i];

		if (x->active && x->ctl < 0 && x->next_ns && x->next_ns <= now)
			launch(e, x);
	}
}

static void *health_main(void *arg)
{
	struct hamn_engine *e = arg;
	struct engine_health *h = e->health;
	_cleanup_free_ struct pollfd *p = NULL;
	_cleanup_free_ struct hc **who = NULL;
	size_t n;

	for (;;) {
		int timeout = wait_next(h, &p, &who, &n);

		if (poll(p, n, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents)
			read_events(e);
		for (size_t i = 2; i < n; i++) {
			bool live;

			if (!p[i].revents)
				continue;
			/* the container may have stopped or gone since the poll set was made */
			pthread_mutex_lock(&h->lock);
			live = false;
			for (size_t k = 0; k < h->n && !live; k++)
				live = h->v[k] == who[i] && who[i]->ctl == p[i].fd;
			pthread_mutex_unlock(&h->lock);
			if (live)
				probe_message(e, who[i]);
		}
		run_due(e);
	}
	return NULL;
}

int engine_health_start(struct hamn_engine *e, struct hamn_error **err)
{
	struct engine_health *h = xzalloc(sizeof(*h));

	pthread_mutex_init(&h->lock, NULL);
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		hamn_error_set(err, errno, "health: eventfd");
		goto fail;
	}
	/* subscribed before the scan: no start falls between the two */
	h->sub = hamn_events_subscribe(e->events, false, 0, 0, err);
	if (!h->sub)
		goto fail;
	e->health = h;
	/* before the API serves: inspect shows the restored state from the first request */
	scan(e);
	if (pthread_create(&h->thread, NULL, health_main, e) != 0) {
		e->health = NULL;
		hamn_error_setq(err, EAGAIN, "cannot start the health check thread");
		goto fail;
	}
	return 0;
fail:
	for (size_t i = 0; i < h->n; i++)
		hc_free(h->v[i]);
	free(h->v);
	hamn_events_sub_free(h->sub);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return -1;
}

void engine_health_stop(struct hamn_engine *e)
{
	struct engine_health *h = e->health;
	uint64_t one = 1;

	if (!h)
		return;
	if (write(h->wake_fd, &one, sizeof(one)) < 0)
		log_warn("health: cannot wake the thread: %s", strerror(errno));
	pthread_join(h->thread, NULL);
	for (size_t i = 0; i < h->n; i++)
		hc_free(h->v[i]);
	free(h->v);
	hamn_events_sub_free(h->sub);
	close(h->wake_fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
	e->health = NULL;
}

/* ---- what inspect and ps show (render.c; e->lock may be held) ---- */

json_t *engine_health_json(struct hamn_engine *e, const char *id)
{
	struct engine_health *h = e->health;
	json_t *obj = NULL;
	struct hc *x;

	if (!h)
		return NULL;
	pthread_mutex_lock(&h->lock);
	x = hc_find(h, id, NULL);
	if (x)
		obj = json_pack("{s:s, s:I, s:O}", "Status", x->status, "FailingStreak",
				(json_int_t)x->streak, "Log", x->log);
	pthread_mutex_unlock(&h->lock);
	return obj;
}

bool engine_health_status(struct hamn_engine *e, const char *id, char out[16])
{
	struct engine_health *h = e->health;
	struct hc *x;

	out[0] = '\0';
	if (!h)
		return false;
	pthread_mutex_lock(&h->lock);
	x = hc_find(h, id, NULL);
	if (x)
		snprintf(out, 16, "%s", x->status);
	pthread_mutex_unlock(&h->lock);
	return x != NULL;
}

/* ---- the image's HEALTHCHECK (config.c, at create) ---- */

static void set_dur(json_t *hc, const char *key, int64_t img)
{
	if (img > 0 && json_integer_value(json_object_get(hc, key)) <= 0)
		json_object_set_new(hc, key, json_integer(img));
}

void engine_health_merge_image(json_t *cfg, const struct hamn_oci_healthcheck *img)
{
	json_t *hc = json_object_get(cfg, "Healthcheck");

	if (!img)
		return;
	/* docker: no Healthcheck at all takes the image's; an empty Test takes its Test */
	if (!json_is_object(hc)) {
		hc = json_object();
		json_object_set_new(cfg, "Healthcheck", hc);
	}
	if (json_array_size(json_object_get(hc, "Test")) == 0 && img->test)
		json_object_set_new(hc, "Test", hamn_json_from_strv(img->test));
	set_dur(hc, "Interval", img->interval);
	set_dur(hc, "Timeout", img->timeout);
	set_dur(hc, "StartPeriod", img->start_period);
	set_dur(hc, "Retries", img->retries);
}

/*
 * engine.c - opening the engine, finding every container again after a
 * restart of hamnd, and the read-only queries (inspect, list, info).
 *
 * This module owns the containers of one host: their records (store.c),
 * their monitors (zygote.c, monitor*.c), their state machine (start.c,
 * lifecycle.c, watcher.c) and their logs; networking, volumes, execs and
 * health checks live in files of their own.
 *
 * After a restart (kill -9 included), for every recorded container:
 *   - a monitor answering on <exec-root>/containers/<id>/monitor.sock means
 *     the container runs (even one recorded "created": hamnd died between
 *     launching the monitor and recording the start);
 *   - otherwise <root>/containers/<id>/exit.json, written by the monitor
 *     before it exits, gives the real exit code of a container that exited
 *     while hamnd was away;
 *   - otherwise a container recorded running lost its monitor without a
 *     record: what is left of it is killed and it is marked exited with
 *     code 255 and an Error saying so; one recorded "created" stays created.
 * Then AutoRemove and restart policies apply as if the exit had just
 * happened. Directories without a record (a create interrupted before its
 * commit) are removed; no mount can be left since rootfs mounts only exist
 * in monitors' private mount namespaces. Exec records come back after the
 * containers (exec_rec.c), health states with the health thread (health.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/exec_int.h"
#include "engine/internal.h"
#include "runtime/cgroup.h"

#define RECONNECT_TIMEOUT_MS 5000

struct hamn_image_store *hamn_engine_images(struct hamn_engine *e)
{
	return e->images;
}

void hamn_engine_set_event_fn(struct hamn_engine *e, hamn_engine_event_fn fn, void *ctx)
{
	e->event_fn = fn;
	e->event_ctx = ctx;
}

void engine_event(struct hamn_engine *e, struct container *c, const char *action,
		  json_t *extra)
{
	_cleanup_json_ json_t *attrs = NULL;

	if (!e->event_fn && !e->events)
		return;
	pthread_mutex_lock(&e->lock);
	attrs = json_deep_copy(c->cfg.labels);
	json_object_set_new(attrs, "name", json_string(c->name));
	json_object_set_new(attrs, "image", json_string(c->cfg.image));
	pthread_mutex_unlock(&e->lock);
	if (extra)
		json_object_update(attrs, extra);
	hamn_events_emit(e->events, "container", action, c->id, attrs);
	if (e->event_fn)
		e->event_fn(e->event_ctx, action, c->id, attrs);
}

bool hamn_engine_image_in_use(const char *image_id, void *ud)
{
	struct hamn_engine *e = ud;
	bool used = false;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_ctrs && !used; i++)
		used = streq(e->ctrs[i]->image_id, image_id);
	pthread_mutex_unlock(&e->lock);
	return used;
}

/* ---- opening ---- */

static int open_dir(int at, const char *path, mode_t mode, int *out, struct hamn_error **err)
{
	if (hamn_mkdir_p(at, path, mode, err) < 0)
		return -1;
	*out = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*out < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	return 0;
}

static int open_dirs(struct hamn_engine *e, struct hamn_error **err)
{
	if (open_dir(AT_FDCWD, e->root, 0700, &e->root_fd, err) < 0 ||
	    open_dir(AT_FDCWD, e->exec_root, 0711, &e->exec_fd, err) < 0 ||
	    open_dir(e->root_fd, "containers", 0710, &e->ctrs_fd, err) < 0 ||
	    open_dir(e->exec_fd, "containers", 0700, &e->exec_ctrs_fd, err) < 0)
		return -1;
	/* CVE-2021-41091: nobody but root may walk into a container's files */
	fchmod(e->root_fd, 0700);
	fchmod(e->ctrs_fd, 0710);
	return 0;
}

static int open_images(struct hamn_engine *e, struct hamn_error **err)
{
	_cleanup_free_ char *db = xasprintf("%s/hamn.db", e->root);

	e->store = store_open(db, err);
	if (!e->store)
		return -1;
	/* the image store gets a connection of its own: its SAVEPOINTs never mix with ours */
	if (sqlite3_open_v2(db, &e->img_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK)
		return hamn_error_setq(err, EIO, "open '%s': %s", db, sqlite3_errmsg(e->img_db));
	sqlite3_busy_timeout(e->img_db, 10000);
	sqlite3_exec(e->img_db, "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
	e->images = hamn_image_store_open(e->root_fd, e->img_db, err);
	return e->images ? 0 : -1;
}

static int load_seccomp(struct hamn_engine *e, struct hamn_error **err)
{
	if (!e->seccomp_profile_path) {
		e->seccomp_profile = hamn_oci_seccomp_default_profile();
		return 0;
	}
	e->seccomp_profile = hamn_json_load_file(AT_FDCWD, e->seccomp_profile_path, 4 << 20, err);
	if (!e->seccomp_profile)
		return hamn_error_wrap(err, "seccomp profile");
	return 0;
}

static int load_one(void *ud, const char *id, const char *name, int64_t created, const char *doc)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_engine *e = ud;
	struct container *c = ctr_from_record(e->root, id, name, created, doc, &err);

	if (!c) {
		log_error("skipping the record of container %s: %s", id, err->msg);
		return 0;
	}
	c->in_table = true;
	ctr_net_load(e, c);
	table_add(e, c);
	ctr_unref_locked(c);
	return 0;
}

/* ---- reconciliation ---- */

static bool read_exit_file(struct hamn_engine *e, const char *id, struct mon_msg *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = xasprintf("%s/exit.json", id);
	_cleanup_json_ json_t *doc = hamn_json_load_file(e->ctrs_fd, path, 65536, &err);

	if (!doc)
		return false;
	memset(m, 0, sizeof(*m));
	m->type = MON_EXITED;
	m->code = (int32_t)json_integer_value(json_object_get(doc, "ExitCode"));
	m->flags = json_is_true(json_object_get(doc, "OOMKilled")) ? MON_F_OOM : 0;
	m->t1 = json_integer_value(json_object_get(doc, "StartedAt"));
	m->t2 = json_integer_value(json_object_get(doc, "FinishedAt"));
	return true;
}

/* Connect to c's monitor and ask how it is; 1 running, 0 gone. */
static int reconnect(struct hamn_engine *e, struct container *c, struct mon_msg *reply)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int dfd = openat(e->exec_ctrs_fd, c->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct mon_msg hello = { .type = MON_HELLO };
	int fd;

	if (dfd < 0)
		return 0;
	fd = unix_connect_at(dfd, "monitor.sock", &err);
	if (fd < 0)
		return 0;
	if (mon_send(fd, &hello, NULL, 0, &err) < 0 ||
	    mon_recv(fd, reply, NULL, 0, NULL, RECONNECT_TIMEOUT_MS, &err) <= 0) {
		close(fd);
		return 0;
	}
	if (reply->type != MON_STATUS) {
		close(fd);
		return 0;
	}
	c->mon_fd = fd;
	return 1;
}

/* A container recorded running whose monitor is gone without a word: kill what is left. */
void ctr_kill_orphan(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = e->cgroup_parent && e->cgroup_parent[0]
					    ? xasprintf("%s/%s", e->cgroup_parent, c->id)
					    : NULL;
	struct hamn_cgroup *cg = hamn_cgroup_new(c->id, path, &err);

	if (!cg)
		return;
	if (hamn_cgroup_kill_all(cg, SIGKILL, &err) < 0)
		hamn_error_free(&err);
	if (hamn_cgroup_destroy(cg, &err) < 0)
		log_warn("container %s: %s", c->id, err->msg);
	hamn_cgroup_free(cg);
}

static void mark_running(struct hamn_engine *e, struct container *c, const struct mon_msg *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	c->st.status = ST_RUNNING;
	c->st.pid = m->pid;
	c->st.started_ns = m->t1;
	c->st.has_been_started = true;
	if (store_put(e->store, c, &err) < 0)
		log_warn("container %s: %s", c->id, err->msg);
	if (watcher_add(e, c, &err) < 0) {
		log_error("container %s: %s", c->id, err->msg);
		close(c->mon_fd);
		c->mon_fd = -1;
	}
}

static bool startup_restart(const struct container *c)
{
	const struct ctr_state *st = &c->st;

	if (st->status != ST_EXITED || !st->has_been_started || c->cfg.auto_remove)
		return false;
	/* "always" comes back with the daemon even after a manual stop (docker's rule) */
	if (c->cfg.restart == RESTART_ALWAYS)
		return true;
	return restart_should(c->cfg.restart, c->cfg.restart_max, st->restart_count, st->exit_code,
			      st->manual_stop);
}

static void startup_restart_worker(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	pthread_mutex_lock(&c->op_lock);
	if (ctr_start_locked_op(e, c, true, &err) < 0 && err->errnum != EALREADY)
		log_warn("restart container %s at start-up: %s", c->id, err->msg);
	pthread_mutex_unlock(&c->op_lock);
}

/* Bring one container up to date (lock held, no other thread yet but the watcher). */
static void reconcile_one(struct hamn_engine *e, struct container *c)
{
	enum ctr_status was = c->st.status;
	struct mon_msg m;

	if (reconnect(e, c, &m)) {
		mark_running(e, c, &m);
		return;
	}
	if (was == ST_RESTARTING)
		c->st.status = ST_RUNNING;	/* let the exit below run the policy again */
	if (read_exit_file(e, c->id, &m) &&
	    (was == ST_RUNNING || was == ST_RESTARTING ||
	     (was == ST_CREATED && m.t2 > c->st.finished_ns))) {
		c->st.status = ST_RUNNING;
		ctr_exited_locked(e, c, &m);
		return;
	}
	if (was == ST_RUNNING) {
		struct mon_msg lost = { .type = MON_EXITED, .code = 255 };

		ctr_kill_orphan(e, c);
		free(c->st.error);
		c->st.error = xstrdup("the container's monitor exited unexpectedly; exit status unknown");
		ctr_exited_locked(e, c, &lost);
		return;
	}
	if (c->st.status == ST_RUNNING)
		c->st.status = was == ST_RESTARTING ? ST_EXITED : was;
	if (startup_restart(c)) {
		c->st.status = ST_RESTARTING;
		c->backoff_ms = 0;
		engine_spawn_worker(e, c, startup_restart_worker);
	} else if (c->cfg.auto_remove && c->st.status == ST_EXITED) {
		engine_spawn_worker(e, c, engine_auto_remove_worker);
	}
}

/* Remove directories that have no record: a create or remove cut short. */
static void sweep(struct hamn_engine *e, int dirfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		_cleanup_error_ struct hamn_error *err = NULL;
		bool known = false;

		if (strlen(de->d_name) != ID_LEN)
			continue;
		for (size_t i = 0; i < e->n_ctrs && !known; i++)
			known = streq(e->ctrs[i]->id, de->d_name);
		if (known)
			continue;
		log_info("removing the leftover directory of container %s", de->d_name);
		if (hamn_rm_rf(dirfd, de->d_name, &err) < 0)
			log_warn("cannot remove %s: %s", de->d_name, err->msg);
	}
}

static int reconcile(struct hamn_engine *e, struct hamn_error **err)
{
	_cleanup_free_ struct container **all = NULL;
	size_t n;

	if (store_load(e->store, load_one, e, err) < 0)
		return -1;
	sweep(e, e->ctrs_fd);
	sweep(e, e->exec_ctrs_fd);

	pthread_mutex_lock(&e->lock);
	/* a snapshot: workers started below (AutoRemove) may change the table meanwhile */
	n = e->n_ctrs;
	all = xcalloc(n + 1, sizeof(*all));
	for (size_t i = 0; i < n; i++) {
		all[i] = e->ctrs[i];
		ctr_ref(all[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (all[i]->in_table)
			reconcile_one(e, all[i]);
		ctr_unref_locked(all[i]);
	}
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* ---- new / free ---- */

static void copy_config(struct hamn_engine *e, const struct hamn_engine_config *cfg)
{
	e->root = xstrdup(cfg->root && cfg->root[0] ? cfg->root : "/var/lib/hamn");
	e->exec_root = xstrdup(cfg->exec_root && cfg->exec_root[0] ? cfg->exec_root : "/run/hamn");
	e->cgroup_parent = cfg->cgroup_parent ? xstrdup(cfg->cgroup_parent) : NULL;
	e->seccomp_profile_path = cfg->seccomp_profile ? xstrdup(cfg->seccomp_profile) : NULL;
	e->default_pids_limit = cfg->default_pids_limit == 0 ? HAMN_ENGINE_DEFAULT_PIDS_LIMIT
							     : cfg->default_pids_limit;
	e->allow_new_privileges = cfg->allow_new_privileges;
	e->log_driver = xstrdup(cfg->log_driver && cfg->log_driver[0] ? cfg->log_driver
								   : "json-file");
	e->log_opts = cfg->log_opts ? json_deep_copy(cfg->log_opts) : NULL;
	e->root_fd = e->exec_fd = e->ctrs_fd = e->exec_ctrs_fd = -1;
	e->epfd = e->wake_fd = -1;
}

static void init_sync(struct hamn_engine *e)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->seccomp_lock, NULL);
	/* every timed wait in the engine uses the monotonic clock */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
}

struct hamn_engine *hamn_engine_new(const struct hamn_engine_config *cfg,
				    struct hamn_error **err)
{
	struct hamn_engine *e;

	if (ctr_log_defaults_check(cfg->log_driver, cfg->log_opts, err) < 0)
		return hamn_error_wrap(err, "default log config"), NULL;
	e = xzalloc(sizeof(*e));
	copy_config(e, cfg);
	init_sync(e);
	/* first, while this process is small and single-threaded */
	if (zygote_start(&e->zygote, e->root, e->exec_root, err) < 0)
		goto fail;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->epfd < 0 || e->wake_fd < 0) {
		hamn_error_set(err, errno, "epoll/eventfd");
		goto fail;
	}
	if (open_dirs(e, err) < 0 || engine_volumes_open(e, err) < 0 ||
	    engine_events_open(e, err) < 0 || open_images(e, err) < 0 ||
	    load_seccomp(e, err) < 0 || engine_net_open(e, cfg, err) < 0)
		goto fail;
	e->base_spec = spec_base();
	engine_init_open(e, cfg->init_path);
	if (watcher_start(e, err) < 0 || reconcile(e, err) < 0 || engine_execs_load(e, err) < 0)
		goto fail;
	engine_net_start(e);
	if (engine_health_start(e, err) < 0)
		goto fail;
	return e;
fail:
	hamn_error_wrap(err, "open the engine");
	hamn_engine_free(e);
	return NULL;
}

static void wait_workers(struct hamn_engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_cond_broadcast(&e->cond);
	while (e->workers > 0)
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
}

/* Move c's clients waiting for a start (its ready pending slots) to the end of *to (lock held). */
static void take_waiting(struct container *c, struct attach_slot **to)
{
	struct attach_slot **pp = &c->pending;

	while (*to)
		to = &(*to)->next;
	while (*pp) {
		struct attach_slot *s = *pp;

		if (!s->ready) {	/* still its attach handler's */
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		s->next = NULL;
		*to = s;
		to = &s->next;
	}
}

static void free_containers(struct hamn_engine *e)
{
	struct attach_slot *slots = NULL;

	pthread_mutex_lock(&e->lock);
	/*
	 * The monitors keep running; only our ends go. That includes removed
	 * containers whose monitor still flushes a client: their connection's
	 * reference is the last one.
	 */
	watcher_release_all(e, &slots);
	while (e->n_ctrs) {
		struct container *c = e->ctrs[e->n_ctrs - 1];

		take_waiting(c, &slots);
		table_del(e, c);
	}
	pthread_mutex_unlock(&e->lock);
	while (slots) {
		struct attach_slot *next = slots->next;

		attach_slot_finish(slots);
		slots = next;
	}
	free(e->ctrs);
}

void hamn_engine_release_memory(struct hamn_engine *e)
{
	sqlite3_db_release_memory(e->img_db);
	store_release_memory(e->store);
	if (e->events)
		hamn_events_release_memory(e->events);
}

void hamn_engine_free(struct hamn_engine *e)
{
	if (!e)
		return;
	engine_health_stop(e);
	engine_execs_free(e);
	watcher_stop(e);
	wait_workers(e);
	free_containers(e);
	if (e->zygote.fd >= 0 || e->zygote.pid > 0)
		zygote_stop(&e->zygote);
	hamn_image_store_free(e->images);
	if (e->img_db)
		sqlite3_close(e->img_db);
	store_close(e->store);
	engine_events_close(e);
	hamn_volume_store_free(e->volumes);
	engine_init_free(e);
	engine_net_close(e);
	for (int *fd = &e->root_fd; fd <= &e->exec_ctrs_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	if (e->seccomp_profile)
		json_decref(e->seccomp_profile);
	if (e->seccomp_cached)
		json_decref(e->seccomp_cached);
	if (e->base_spec)
		json_decref(e->base_spec);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->seccomp_lock);
	free(e->root);
	free(e->exec_root);
	free(e->cgroup_parent);
	free(e->seccomp_profile_path);
	free(e->log_driver);
	if (e->log_opts)
		json_decref(e->log_opts);
	free(e);
}

/* ---- queries ---- */

json_t *hamn_engine_container_inspect(struct hamn_engine *e, const char *ref, bool size,
				      struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *lerr = NULL;
	_cleanup_free_ char *lower = NULL;
	struct container *c = ctr_get(e, ref, err);
	json_t *obj;

	if (!c)
		return NULL;
	lower = hamn_image_lowerdir(e->images, c->image_id, &lerr);
	pthread_mutex_lock(&e->lock);
	obj = ctr_inspect_json(e, c);
	pthread_mutex_unlock(&e->lock);
	json_object_set_new(json_object_get(json_object_get(obj, "GraphDriver"), "Data"),
			    "LowerDir", json_string(lower ? lower : ""));
	/* not under e->lock: the exec table's lock comes first (exec.c) */
	json_object_set_new(obj, "ExecIDs", engine_exec_ids(e, c->id));
	if (size)
		ctr_size_fields(e, obj, c->id, c->image_id);
	ctr_put(e, c);
	return obj;
}

static bool implies_all(const struct hamn_engine_list_opts *o)
{
	for (size_t i = 0; i < o->n_filters; i++)
		if (streq(o->filters[i].key, "status") || streq(o->filters[i].key, "before") ||
		    streq(o->filters[i].key, "since") || streq(o->filters[i].key, "exited"))
			return true;
	return o->all || o->limit > 0;
}

char *hamn_engine_container_list_text(struct hamn_engine *e,
				      const struct hamn_engine_list_opts *o, size_t *len,
				      struct hamn_error **err)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	int64_t now = hamn_now_ns(), n = 0;
	bool all = implies_all(o);

	if (ctr_filters_check(o->filters, o->n_filters, err) < 0 ||
	    ctr_filters_check_refs(e, o->filters, o->n_filters, err) < 0)
		return NULL;
	hamn_buf_reserve(&b, 4096);
	hamn_buf_putc(&b, '[');
	pthread_mutex_lock(&e->lock);
	for (size_t i = e->n_ctrs; i-- > 0;) {
		struct container *c = e->ctrs[i];

		if (!c->in_table || (!all && c->st.status != ST_RUNNING &&
				     c->st.status != ST_RESTARTING && c->st.status != ST_PAUSED))
			continue;
		if (!ctr_filters_match(e, c, o->filters, o->n_filters))
			continue;
		if (o->limit > 0 && n >= o->limit)
			break;
		if (n++)
			hamn_buf_putc(&b, ',');
		ctr_list_entry(e, c, now, &b);
	}
	pthread_mutex_unlock(&e->lock);
	hamn_buf_puts(&b, "]\n");
	*len = b.len;
	if (o->size)	/* measured outside the lock: it walks every upper directory */
		return ctr_list_add_sizes(e, hamn_buf_steal(&b), len, err);
	return hamn_buf_steal(&b);
}

json_t *hamn_engine_container_list(struct hamn_engine *e, const struct hamn_engine_list_opts *o,
				   struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	text = hamn_engine_container_list_text(e, o, &len, err);
	return text ? hamn_json_parse(text, len, err) : NULL;
}

int hamn_engine_info(json_t *info, void *ud, struct hamn_error **err)
{
	struct hamn_engine *e = ud;
	_cleanup_json_ json_t *images = NULL;
	int64_t running = 0, paused = 0, stopped = 0;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_ctrs; i++) {
		enum ctr_status s = ctr_status_shown(&e->ctrs[i]->st);

		if (!e->ctrs[i]->in_table)
			continue;
		if (s == ST_RUNNING || s == ST_RESTARTING)
			running++;
		else if (s == ST_PAUSED)
			paused++;
		else
			stopped++;
	}
	pthread_mutex_unlock(&e->lock);
	json_object_set_new(info, "Containers", json_integer(running + paused + stopped));
	json_object_set_new(info, "ContainersRunning", json_integer(running));
	json_object_set_new(info, "ContainersPaused", json_integer(paused));
	json_object_set_new(info, "ContainersStopped", json_integer(stopped));
	images = hamn_image_list_json(e->images, NULL, err);
	if (images)
		json_object_set_new(info, "Images", json_integer((json_int_t)json_array_size(images)));
	else
		hamn_error_free(err);
	json_object_set_new(info, "LoggingDriver", json_string(e->log_driver));
	json_object_set_new(json_object_get(info, "Plugins"), "Log",
			    json_pack("[s, s]", "json-file", "local"));
	json_object_set_new(info, "SecurityOptions",
			    json_pack("[s, s]", "name=seccomp,profile=default",
				      e->allow_new_privileges ? "name=cgroupns"
							      : "name=no-new-privileges"));
	return 0;
}

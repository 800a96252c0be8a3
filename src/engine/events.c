/*
 * events.c - the event bus of hamnd (see events.h): events in order, a ring
 * of the latest ones in memory, all of them (up to HAMN_EVENTS_KEEP) in
 * <root>/events.db, and a queue with an eventfd for every subscriber.
 *
 * Emitting is one short critical section: number the event, render its
 * JSON once, insert it (WAL, synchronous=NORMAL: no fsync per event), put
 * it in the ring and in each subscriber's queue. A replay reads pages of
 * events with seq in (cursor, last] from the ring when the ring still holds
 * them, else from the database, where `last` is the newest event when the
 * subscriber came: the live queue starts right after it, so nothing is
 * missed or sent twice.
 *
 * The events live in a database file of their own rather than in hamn.db:
 * no event insert ever waits for the write lock of a container or image
 * transaction, and history that cannot be read is simply started afresh.
 *
 * It does not filter: subscribers get everything and choose (api/events.c).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/internal.h"
#include "engine/network.h"

#define NS_PER_SEC 1000000000LL
#define PAGE 256
#define TRIM_EVERY 1000

struct hamn_events_sub {
	struct hamn_events *bus;
	struct hamn_events_sub *prev, *next;
	int fd;
	/* replay: events with seq in (cursor, last] and time in [since, until] */
	bool replaying;
	uint64_t cursor, last;
	int64_t since, until;
	struct hamn_event **page;
	size_t n_page, i_page;
	/* live: a ring buffer of references, guarded by the bus lock */
	struct hamn_event **q;
	size_t q_head, q_len, q_cap;
	bool overflow;
};

struct hamn_events {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *ins, *page, *first, *trim;
	uint64_t last_seq;
	struct hamn_event *ring[HAMN_EVENTS_RING]; /* event seq at ring[seq % RING] */
	uint64_t ring_first;			   /* oldest seq the ring holds */
	struct hamn_events_sub subs;		   /* list head */
	unsigned since_trim;
	bool db_broken_logged;
};

/* ---- events ---- */

struct hamn_event *hamn_event_ref(struct hamn_event *ev)
{
	if (ev)
		__atomic_add_fetch(&ev->refs, 1, __ATOMIC_RELAXED);
	return ev;
}

void hamn_event_unref(struct hamn_event *ev)
{
	if (!ev || __atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(ev->type);
	free(ev->action);
	free(ev->id);
	json_decref(ev->attrs);
	free(ev->text);
	free(ev);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of attrs with its string members only, in key order (Go prints maps sorted). */
static json_t *sorted_attrs(json_t *attrs)
{
	json_t *out = json_object(), *v;
	_cleanup_free_ const char **keys = NULL;
	const char *k;
	size_t n = 0;

	if (!json_is_object(attrs))
		return out;
	keys = xcalloc(json_object_size(attrs) + 1, sizeof(*keys));
	json_object_foreach(attrs, k, v) {
		if (json_is_string(v))
			keys[n++] = k;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(attrs, keys[i]);
		json_object_set_new(out, keys[i],
				    json_stringn(json_string_value(v), json_string_length(v)));
	}
	return out;
}

/* dockerd's events.Message, members in its order; status/id/from only where it fills them. */
static char *render(const struct hamn_event *ev)
{
	_cleanup_json_ json_t *m = json_object();
	const char *from = json_string_value(json_object_get(ev->attrs, "image"));
	bool ctr = streq(ev->type, "container");

	if (ctr || streq(ev->type, "image")) {
		json_object_set_new(m, "status", json_string(ev->action));
		json_object_set_new(m, "id", json_string(ev->id));
		if (ctr && from && from[0])
			json_object_set_new(m, "from", json_string(from));
	}
	json_object_set_new(m, "Type", json_string(ev->type));
	json_object_set_new(m, "Action", json_string(ev->action));
	json_object_set_new(m, "Actor",
			    json_pack("{s:s, s:O}", "ID", ev->id, "Attributes", ev->attrs));
	json_object_set_new(m, "scope", json_string("local"));
	json_object_set_new(m, "time", json_integer(ev->time_ns / NS_PER_SEC));
	json_object_set_new(m, "timeNano", json_integer(ev->time_ns));
	return hamn_json_dump(m);
}

struct hamn_event *hamn_event_new(uint64_t seq, int64_t time_ns, const char *type,
				  const char *action, const char *id, json_t *attrs)
{
	struct hamn_event *ev = xzalloc(sizeof(*ev));

	ev->refs = 1;
	ev->seq = seq;
	ev->time_ns = time_ns;
	ev->type = xstrdup(type ? type : "");
	ev->action = xstrdup(action ? action : "");
	ev->id = xstrdup(id ? id : "");
	ev->attrs = sorted_attrs(attrs);
	ev->text = render(ev);
	return ev;
}

struct hamn_event *hamn_event_parse(uint64_t seq, const char *text, struct hamn_error **err)
{
	_cleanup_json_ json_t *m = hamn_json_parse(text, strlen(text), err);
	json_t *actor = json_object_get(m, "Actor");
	const char *type = json_string_value(json_object_get(m, "Type"));
	const char *action = json_string_value(json_object_get(m, "Action"));
	const char *id = json_string_value(json_object_get(actor, "ID"));
	json_t *ns = json_object_get(m, "timeNano");
	struct hamn_event *ev;

	if (!m)
		return NULL;
	if (!type || !action || !id || !json_is_integer(ns))
		return hamn_error_setq(err, EINVAL, "event %llu: not an event message",
				       (unsigned long long)seq),
		       NULL;
	ev = xzalloc(sizeof(*ev));
	ev->refs = 1;
	ev->seq = seq;
	ev->time_ns = json_integer_value(ns);
	ev->type = xstrdup(type);
	ev->action = xstrdup(action);
	ev->id = xstrdup(id);
	ev->attrs = sorted_attrs(json_object_get(actor, "Attributes"));
	ev->text = xstrdup(text);
	return ev;
}

/* ---- the database ---- */

static const char schema[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			     "CREATE TABLE IF NOT EXISTS events ("
			     " seq INTEGER PRIMARY KEY,"
			     " time INTEGER NOT NULL,"
			     " doc TEXT NOT NULL);"
			     "CREATE INDEX IF NOT EXISTS events_time ON events (time);";

static void db_close(struct hamn_events *b)
{
	sqlite3_finalize(b->ins);
	sqlite3_finalize(b->page);
	sqlite3_finalize(b->first);
	sqlite3_finalize(b->trim);
	sqlite3_close(b->db);
	b->ins = b->page = b->first = b->trim = NULL;
	b->db = NULL;
}

static int prepare(struct hamn_events *b, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v3(b->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

static int db_try_open(struct hamn_events *b, const char *path, struct hamn_error **err)
{
	sqlite3_stmt *max = NULL;
	int rc = sqlite3_open_v2(path, &b->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);

	if (rc == SQLITE_OK) {
		chmod(path, 0600);
		sqlite3_busy_timeout(b->db, 5000);
		rc = sqlite3_exec(b->db, schema, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = prepare(b, "INSERT INTO events (seq, time, doc) VALUES (?1, ?2, ?3)", &b->ins);
	if (rc == SQLITE_OK)
		rc = prepare(b,
			     "SELECT seq, doc FROM events WHERE seq > ?1 AND seq <= ?2"
			     " AND time >= ?3 AND time <= ?4 ORDER BY seq LIMIT 256",
			     &b->page);
	if (rc == SQLITE_OK)
		rc = prepare(b, "SELECT min(seq) FROM events WHERE time >= ?1", &b->first);
	if (rc == SQLITE_OK)
		rc = prepare(b, "DELETE FROM events WHERE seq <= ?1", &b->trim);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(b->db, "SELECT max(seq) FROM events", -1, &max, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(max)) == SQLITE_ROW) {
		b->last_seq = (uint64_t)sqlite3_column_int64(max, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(max);
	if (rc == SQLITE_OK)
		return 0;
	hamn_error_setq(err, EIO, "events database '%s': %s", path,
			b->db ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc));
	db_close(b);
	return -1;
}

/* Move an unreadable database (and its WAL) aside so hamnd starts with empty history. */
static void move_aside(const char *path)
{
	_cleanup_free_ char *to = xasprintf("%s.corrupt", path);
	_cleanup_free_ char *wal = xasprintf("%s-wal", path);
	_cleanup_free_ char *shm = xasprintf("%s-shm", path);

	if (rename(path, to) < 0 && errno != ENOENT)
		unlink(path);
	unlink(wal);
	unlink(shm);
}

static int db_open(struct hamn_events *b, const char *path, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *first = NULL;

	if (db_try_open(b, path, &first) == 0)
		return 0;
	log_kv(HAMN_LOG_WARN, "events database unreadable, starting a new one",
	       "path=%s error=\"%s\"", path, first->msg);
	move_aside(path);
	b->last_seq = 0;
	return db_try_open(b, path, err);
}

/* Insert ev (lock held); failures are logged once, the event still goes out live. */
static void persist(struct hamn_events *b, const struct hamn_event *ev)
{
	int rc;

	sqlite3_bind_int64(b->ins, 1, (sqlite3_int64)ev->seq);
	sqlite3_bind_int64(b->ins, 2, ev->time_ns);
	sqlite3_bind_text(b->ins, 3, ev->text, -1, SQLITE_STATIC);
	rc = sqlite3_step(b->ins);
	sqlite3_reset(b->ins);
	sqlite3_clear_bindings(b->ins);
	if (rc != SQLITE_DONE && !b->db_broken_logged) {
		b->db_broken_logged = true;
		log_kv(HAMN_LOG_WARN, "cannot record events", "error=\"%s\"",
		       sqlite3_errmsg(b->db));
	}
	if (++b->since_trim >= TRIM_EVERY && ev->seq > HAMN_EVENTS_KEEP) {
		b->since_trim = 0;
		sqlite3_bind_int64(b->trim, 1, (sqlite3_int64)(ev->seq - HAMN_EVENTS_KEEP));
		sqlite3_step(b->trim);
		sqlite3_reset(b->trim);
	}
}

/* ---- the bus ---- */

struct hamn_events *hamn_events_open(const char *path, struct hamn_error **err)
{
	struct hamn_events *b = xzalloc(sizeof(*b));

	pthread_mutex_init(&b->lock, NULL);
	b->subs.next = b->subs.prev = &b->subs;
	if (db_open(b, path, err) < 0) {
		pthread_mutex_destroy(&b->lock);
		free(b);
		return NULL;
	}
	b->ring_first = b->last_seq + 1;
	return b;
}

void hamn_events_release_memory(struct hamn_events *b)
{
	sqlite3_db_release_memory(b->db);
}

void hamn_events_free(struct hamn_events *b)
{
	if (!b)
		return;
	if (b->subs.next != &b->subs)
		hamn_bug("events bus freed with subscribers");
	for (size_t i = 0; i < HAMN_EVENTS_RING; i++)
		hamn_event_unref(b->ring[i]);
	db_close(b);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static void ring_put(struct hamn_events *b, struct hamn_event *ev)
{
	struct hamn_event **slot = &b->ring[ev->seq % HAMN_EVENTS_RING];

	hamn_event_unref(*slot);
	*slot = hamn_event_ref(ev);
	if (ev->seq - b->ring_first >= HAMN_EVENTS_RING)
		b->ring_first = ev->seq - HAMN_EVENTS_RING + 1;
}

static void wake(struct hamn_events_sub *s)
{
	uint64_t one = 1;

	/* EAGAIN only when the counter is huge: the reader is woken either way */
	if (write(s->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("events: wake subscriber: %s", strerror(errno));
}

/* Queue ev for s (lock held). */
static void deliver(struct hamn_events_sub *s, struct hamn_event *ev)
{
	if (s->overflow)
		return;
	if (s->q_len >= HAMN_EVENTS_QUEUE_MAX) {
		s->overflow = true;
		wake(s);
		return;
	}
	if (s->q_len == s->q_cap) {
		size_t cap = s->q_cap ? s->q_cap * 2 : 16;
		struct hamn_event **q = xcalloc(cap, sizeof(*q));

		for (size_t i = 0; i < s->q_len; i++)
			q[i] = s->q[(s->q_head + i) % s->q_cap];
		free(s->q);
		s->q = q;
		s->q_cap = cap;
		s->q_head = 0;
	}
	s->q[(s->q_head + s->q_len) % s->q_cap] = hamn_event_ref(ev);
	s->q_len++;
	wake(s);
}

void hamn_events_emit_at(struct hamn_events *b, int64_t time_ns, const char *type,
			 const char *action, const char *id, json_t *attrs)
{
	struct hamn_event *ev;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	/* numbered and timed under the lock: seq order is time order */
	ev = hamn_event_new(b->last_seq + 1, time_ns ? time_ns : hamn_now_ns(), type, action, id,
			    attrs);
	b->last_seq = ev->seq;
	persist(b, ev);
	ring_put(b, ev);
	for (struct hamn_events_sub *s = b->subs.next; s != &b->subs; s = s->next)
		deliver(s, ev);
	pthread_mutex_unlock(&b->lock);
	hamn_event_unref(ev);
}

void hamn_events_emit(struct hamn_events *b, const char *type, const char *action,
		      const char *id, json_t *attrs)
{
	hamn_events_emit_at(b, 0, type, action, id, attrs);
}

/* ---- subscribers ---- */

/* The seq before the first stored event at or after since (lock held). */
static uint64_t first_cursor(struct hamn_events *b, int64_t since)
{
	uint64_t cursor = 0; /* the query failed: scan everything, the time filter still holds */

	if (since <= 0)
		return 0;
	sqlite3_bind_int64(b->first, 1, since);
	if (sqlite3_step(b->first) == SQLITE_ROW) {
		if (sqlite3_column_type(b->first, 0) == SQLITE_NULL)
			cursor = b->last_seq; /* nothing that recent */
		else
			cursor = (uint64_t)sqlite3_column_int64(b->first, 0) - 1;
	}
	sqlite3_reset(b->first);
	return cursor;
}

struct hamn_events_sub *hamn_events_subscribe(struct hamn_events *b, bool replay,
					      int64_t since_ns, int64_t until_ns,
					      struct hamn_error **err)
{
	struct hamn_events_sub *s = xzalloc(sizeof(*s));

	s->bus = b;
	s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->fd < 0) {
		hamn_error_set(err, errno, "subscribe to events: eventfd");
		free(s);
		return NULL;
	}
	s->since = since_ns > 0 ? since_ns : 0;
	s->until = until_ns > 0 ? until_ns : INT64_MAX;
	pthread_mutex_lock(&b->lock);
	s->last = b->last_seq;
	s->cursor = replay ? first_cursor(b, s->since) : s->last;
	s->replaying = s->cursor < s->last;
	s->next = &b->subs;
	s->prev = b->subs.prev;
	b->subs.prev->next = s;
	b->subs.prev = s;
	pthread_mutex_unlock(&b->lock);
	return s;
}

int hamn_events_sub_fd(const struct hamn_events_sub *s)
{
	return s->fd;
}

bool hamn_events_sub_replaying(const struct hamn_events_sub *s)
{
	return s->replaying;
}

static bool in_window(const struct hamn_events_sub *s, int64_t t)
{
	return t >= s->since && t <= s->until;
}

static void page_add(struct hamn_events_sub *s, struct hamn_event *ev)
{
	s->page = xreallocarray(s->page, s->n_page + 1, sizeof(*s->page));
	s->page[s->n_page++] = ev;
}

/* Replay from the ring (lock held): false when it no longer holds cursor + 1. */
static bool page_from_ring(struct hamn_events_sub *s)
{
	struct hamn_events *b = s->bus;

	if (s->cursor + 1 < b->ring_first)
		return false;
	while (s->cursor < s->last && s->n_page < PAGE) {
		struct hamn_event *ev = b->ring[(s->cursor + 1) % HAMN_EVENTS_RING];

		if (!ev || ev->seq != s->cursor + 1)
			return false; /* overwritten meanwhile: the database has it */
		s->cursor++;
		if (in_window(s, ev->time_ns))
			page_add(s, hamn_event_ref(ev));
	}
	return true;
}

/* Replay from the database (lock held). */
static int page_from_db(struct hamn_events_sub *s, struct hamn_error **err)
{
	struct hamn_events *b = s->bus;
	sqlite3_stmt *st = b->page;
	uint64_t before = s->cursor;
	int rc;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)s->cursor);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)s->last);
	sqlite3_bind_int64(st, 3, s->since);
	sqlite3_bind_int64(st, 4, s->until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		_cleanup_error_ struct hamn_error *perr = NULL;
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		const char *doc = (const char *)sqlite3_column_text(st, 1);
		struct hamn_event *ev = hamn_event_parse(seq, doc ? doc : "", &perr);

		s->cursor = seq;
		if (ev)
			page_add(s, ev);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return hamn_error_setq(err, EIO, "read events: %s", sqlite3_errmsg(b->db));
	/* nothing more stored: what is left can only be in the ring */
	if (s->cursor == before)
		s->cursor = b->ring_first - 1 > s->cursor ? b->ring_first - 1 : s->last;
	return 0;
}

static void page_clear(struct hamn_events_sub *s)
{
	for (size_t i = s->i_page; i < s->n_page; i++)
		hamn_event_unref(s->page[i]);
	free(s->page);
	s->page = NULL;
	s->n_page = s->i_page = 0;
}

/* Fill the next page of the replay; ends the replay when nothing is left. */
static int fetch_page(struct hamn_events_sub *s, struct hamn_error **err)
{
	int r = 0;

	page_clear(s);
	pthread_mutex_lock(&s->bus->lock);
	while (s->n_page == 0 && s->cursor < s->last && r == 0) {
		if (!page_from_ring(s) && s->n_page == 0)
			r = page_from_db(s, err);
	}
	pthread_mutex_unlock(&s->bus->lock);
	if (r == 0 && s->n_page == 0)
		s->replaying = false;
	return r;
}

static int next_live(struct hamn_events_sub *s, struct hamn_event **out, struct hamn_error **err)
{
	struct hamn_events *b = s->bus;
	uint64_t drain;
	int r = 0;

	pthread_mutex_lock(&b->lock);
	if (s->q_len > 0) {
		*out = s->q[s->q_head];
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
		r = 1;
	} else if (s->overflow) {
		r = hamn_error_setq(err, EOVERFLOW, "too many events queued for a slow reader");
	} else if (read(s->fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN) {
		/* emitters write the fd under the lock: empty queue and drained fd agree */
		r = hamn_error_set(err, errno, "read events eventfd");
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

int hamn_events_sub_next(struct hamn_events_sub *s, struct hamn_event **out,
			 struct hamn_error **err)
{
	while (s->replaying) {
		if (s->i_page < s->n_page) {
			*out = s->page[s->i_page++];
			return 1;
		}
		if (fetch_page(s, err) < 0) {
			s->replaying = false;
			return -1;
		}
	}
	page_clear(s);
	return next_live(s, out, err);
}

void hamn_events_sub_free(struct hamn_events_sub *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->bus->lock);
	s->prev->next = s->next;
	s->next->prev = s->prev;
	pthread_mutex_unlock(&s->bus->lock);
	for (size_t i = 0; i < s->q_len; i++)
		hamn_event_unref(s->q[(s->q_head + i) % s->q_cap]);
	free(s->q);
	page_clear(s);
	close(s->fd);
	free(s);
}

/* ---- the engine's bus ---- */

struct hamn_events *hamn_engine_events(struct hamn_engine *e)
{
	return e->events;
}

static void volume_event(void *ud, const char *action, const char *name, const char *driver)
{
	_cleanup_json_ json_t *attrs = json_pack("{s:s}", "driver", driver ? driver : "local");

	hamn_events_emit(ud, "volume", action, name, attrs);
}

int engine_events_open(struct hamn_engine *e, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/events.db", e->root);

	e->events = hamn_events_open(path, err);
	if (!e->events)
		return -1;
	if (e->volumes)
		hamn_volume_store_set_event_fn(e->volumes, volume_event, e->events);
	return 0;
}

void engine_events_close(struct hamn_engine *e)
{
	if (e->volumes)
		hamn_volume_store_set_event_fn(e->volumes, NULL, NULL);
	hamn_events_free(e->events);
	e->events = NULL;
}

void engine_emit(struct hamn_engine *e, const char *type, const char *action, const char *id,
		 json_t *attrs)
{
	hamn_events_emit(e->events, type, action, id, attrs);
}

/* ---- network events ---- */

/*
 * Network events held back by this thread (engine_events_hold): a stopping
 * container's endpoints go before its exit is recorded, but dockerd reports
 * "die" first and "disconnect" after it.
 */
static __thread bool holding;
static __thread json_t *held; /* [[action, id, attrs], ...] */

void engine_events_hold(void)
{
	holding = true;
}

void engine_events_release(struct hamn_engine *e)
{
	size_t i;
	json_t *h;

	holding = false;
	json_array_foreach(held, i, h) {
		hamn_events_emit(e->events, "network", json_string_value(json_array_get(h, 0)),
				 json_string_value(json_array_get(h, 1)), json_array_get(h, 2));
	}
	if (held)
		json_decref(held);
	held = NULL;
}

void engine_net_emit(struct hamn_engine *e, const char *action, const struct net_facts *f,
		     const char *ctr_id)
{
	_cleanup_json_ json_t *attrs = NULL;

	if (!e->events)
		return;
	attrs = json_pack("{s:s, s:s}", "name", f->name, "type",
			  f->bridge ? "bridge" : f->host ? "host" : "null");
	if (ctr_id)
		json_object_set_new(attrs, "container", json_string(ctr_id));
	if (holding) {
		if (!held)
			held = json_array();
		json_array_append_new(held, json_pack("[s, s, O]", action, f->id, attrs));
		return;
	}
	hamn_events_emit(e->events, "network", action, f->id, attrs);
}

bool engine_net_lookup(struct hamn_engine *e, const char *ref, struct net_facts *f)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	return e->events && e->net && net_facts_get(e->net->ctx, ref, f, &err) == 0;
}

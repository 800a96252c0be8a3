/*
 * store.c - containers in SQLite: one row per container
 * (id, name UNIQUE, created, doc), doc being the JSON of its merged Config,
 * HostConfig, image ID and State. The engine has its own connection to
 * hamn.db (the image store gets another), in WAL mode with
 * synchronous=NORMAL: a commit survives the crash of any process, and
 * writers do not wait for readers.
 *
 * Every change is one statement (an implicit transaction), made while the
 * engine lock is held so that two changes of one container land in the
 * order they happened.
 *
 * Two more tables keep what hamnd knows of a container besides its record
 * (same shape: id, container, doc): "execs" (one row per exec instance,
 * exec.c) and "health" (one row per container with a health check: its
 * State.Health, health.c). Their rows go with the container's (after it,
 * so a crash in between leaves rows the loaders drop: they belong to no
 * container).
 */
#include "engine/internal.h"

struct engine_store {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *put, *del;
	sqlite3_stmt *aux_put[STORE_AUX_N], *aux_del[STORE_AUX_N], *aux_del_ctr[STORE_AUX_N];
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS containers ("
			     " id TEXT PRIMARY KEY,"
			     " name TEXT NOT NULL UNIQUE,"
			     " created INTEGER NOT NULL,"
			     " doc TEXT NOT NULL);"
			     "CREATE TABLE IF NOT EXISTS execs ("
			     " id TEXT PRIMARY KEY,"
			     " container TEXT NOT NULL,"
			     " doc TEXT NOT NULL);"
			     "CREATE INDEX IF NOT EXISTS execs_container ON execs (container);"
			     "CREATE TABLE IF NOT EXISTS health ("
			     " id TEXT PRIMARY KEY,"
			     " container TEXT NOT NULL,"
			     " doc TEXT NOT NULL);";

static const char *const aux_table[STORE_AUX_N] = { "execs", "health" };

static int db_fail(sqlite3 *db, const char *what, struct hamn_error **err)
{
	int code = sqlite3_extended_errcode(db);

	/* the UNIQUE name: a racing create that the in-memory check did not see */
	if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
		return hamn_error_setq(err, EEXIST, "container database: %s: %s", what,
				       sqlite3_errmsg(db));
	return hamn_error_setq(err, EIO, "container database: %s: %s", what, sqlite3_errmsg(db));
}

static int prepare_aux(struct engine_store *s, struct hamn_error **err)
{
	for (int t = 0; t < STORE_AUX_N; t++) {
		_cleanup_free_ char *put = xasprintf("INSERT OR REPLACE INTO %s (id, container, doc) "
						     "VALUES (?1, ?2, ?3)", aux_table[t]);
		_cleanup_free_ char *del = xasprintf("DELETE FROM %s WHERE id = ?1", aux_table[t]);
		_cleanup_free_ char *del_ctr =
			xasprintf("DELETE FROM %s WHERE container = ?1", aux_table[t]);

		if (sqlite3_prepare_v2(s->db, put, -1, &s->aux_put[t], NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(s->db, del, -1, &s->aux_del[t], NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(s->db, del_ctr, -1, &s->aux_del_ctr[t], NULL) != SQLITE_OK)
			return db_fail(s->db, "prepare", err);
	}
	return 0;
}

struct engine_store *store_open(const char *path, struct hamn_error **err)
{
	struct engine_store *s = xzalloc(sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						  SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		hamn_error_setq(err, EIO, "open '%s': %s", path,
				s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(s->db, "schema", err);
		goto fail;
	}
	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO containers (id, name, created, doc) "
			       "VALUES (?1, ?2, ?3, ?4)",
			       -1, &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM containers WHERE id = ?1", -1, &s->del,
			       NULL) != SQLITE_OK) {
		db_fail(s->db, "prepare", err);
		goto fail;
	}
	if (prepare_aux(s, err) < 0)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

/* Drop the connection's cached pages (the daemon is idle; they are read again when needed). */
void store_release_memory(struct engine_store *s)
{
	sqlite3_db_release_memory(s->db);
}

void store_close(struct engine_store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->del);
	for (int t = 0; t < STORE_AUX_N; t++) {
		sqlite3_finalize(s->aux_put[t]);
		sqlite3_finalize(s->aux_del[t]);
		sqlite3_finalize(s->aux_del_ctr[t]);
	}
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int store_put(struct engine_store *s, const struct container *c, struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = ctr_record_json(c);
	_cleanup_free_ char *text = hamn_json_dump(doc);
	int r = 0;

	pthread_mutex_lock(&s->lock);
	sqlite3_bind_text(s->put, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->put, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->put, 3, c->created_ns);
	sqlite3_bind_text(s->put, 4, text, -1, SQLITE_STATIC);
	if (sqlite3_step(s->put) != SQLITE_DONE)
		r = db_fail(s->db, "write", err);
	sqlite3_reset(s->put);
	sqlite3_clear_bindings(s->put);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Run a prepared statement with one text parameter (s->lock held). */
static int step_one(struct engine_store *s, sqlite3_stmt *st, const char *arg, const char *what,
		    struct hamn_error **err)
{
	int r = 0;

	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(s->db, what, err);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_delete(struct engine_store *s, const char *id, struct hamn_error **err)
{
	struct hamn_error *aux_err = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	r = step_one(s, s->del, id, "delete", err);
	/* the container's row was the commit point: what is left here is dropped at load */
	for (int t = 0; r == 0 && t < STORE_AUX_N; t++)
		if (step_one(s, s->aux_del_ctr[t], id, "delete", &aux_err) < 0)
			hamn_error_free(&aux_err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_aux_put(struct engine_store *s, enum store_aux t, const char *id, const char *ctr,
		  json_t *doc, struct hamn_error **err)
{
	_cleanup_free_ char *text = hamn_json_dump(doc);
	sqlite3_stmt *st = s->aux_put[t];
	int r = 0;

	pthread_mutex_lock(&s->lock);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ctr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(s->db, "write", err);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_aux_delete(struct engine_store *s, enum store_aux t, const char *id,
		     struct hamn_error **err)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = step_one(s, s->aux_del[t], id, "delete", err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_aux_load(struct engine_store *s, enum store_aux t,
		   void (*fn)(void *ud, const char *id, const char *ctr, json_t *doc), void *ud,
		   struct hamn_error **err)
{
	_cleanup_free_ char *sql = xasprintf("SELECT id, container, doc FROM %s", aux_table[t]);
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = db_fail(s->db, "prepare", err);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *ctr = (const char *)sqlite3_column_text(st, 1);
		const char *text = (const char *)sqlite3_column_text(st, 2);
		_cleanup_json_ json_t *doc = text ? json_loads(text, 0, NULL) : NULL;

		/* a row that does not parse is skipped: it holds nothing we could show */
		if (id && ctr && json_is_object(doc))
			fn(ud, id, ctr, doc);
	}
	if (rc != SQLITE_DONE)
		r = db_fail(s->db, "read", err);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_load(struct engine_store *s, int (*fn)(void *ud, const char *id, const char *name,
						 int64_t created, const char *doc),
	       void *ud, struct hamn_error **err)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT id, name, created, doc FROM containers", -1, &st,
			       NULL) != SQLITE_OK) {
		r = db_fail(s->db, "prepare", err);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *doc = (const char *)sqlite3_column_text(st, 3);

		if (fn(ud, id ? id : "", name ? name : "", sqlite3_column_int64(st, 2),
		       doc ? doc : "") < 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(s->db, "read", err);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- the record document ---- */

json_t *ctr_state_json(const struct ctr_state *st)
{
	return json_pack("{s:s, s:i, s:i, s:b, s:s, s:I, s:I, s:I, s:b, s:b}", "Status",
			 ctr_status_name(ctr_status_shown(st)), "Pid", (int)st->pid, "ExitCode",
			 st->exit_code, "OOMKilled", st->oom_killed, "Error",
			 st->error ? st->error : "", "StartedAt", (json_int_t)st->started_ns,
			 "FinishedAt", (json_int_t)st->finished_ns, "RestartCount",
			 (json_int_t)st->restart_count, "ManualStop", st->manual_stop,
			 "HasBeenStarted", st->has_been_started);
}

int ctr_state_from_json(json_t *obj, struct ctr_state *st, struct hamn_error **err)
{
	const char *status = json_string_value(json_object_get(obj, "Status"));
	const char *error = json_string_value(json_object_get(obj, "Error"));
	int s = status ? ctr_status_parse(status) : -1;

	if (!json_is_object(obj) || s < 0)
		return hamn_error_setq(err, EINVAL, "bad container state record");
	st->status = s;
	/* a paused container runs: "paused" is only how it is shown (pause.c) */
	st->paused = s == ST_PAUSED;
	if (st->paused)
		st->status = ST_RUNNING;
	st->pid = (pid_t)json_integer_value(json_object_get(obj, "Pid"));
	st->exit_code = (int)json_integer_value(json_object_get(obj, "ExitCode"));
	st->oom_killed = json_is_true(json_object_get(obj, "OOMKilled"));
	free(st->error);
	st->error = xstrdup(error ? error : "");
	st->started_ns = json_integer_value(json_object_get(obj, "StartedAt"));
	st->finished_ns = json_integer_value(json_object_get(obj, "FinishedAt"));
	st->restart_count = json_integer_value(json_object_get(obj, "RestartCount"));
	st->manual_stop = json_is_true(json_object_get(obj, "ManualStop"));
	st->has_been_started = json_is_true(json_object_get(obj, "HasBeenStarted"));
	return 0;
}

json_t *ctr_record_json(const struct container *c)
{
	json_t *doc = json_pack("{s:O, s:O, s:s, s:o}", "Config", c->config_json, "HostConfig",
				c->host_json, "Image", c->image_id, "State",
				ctr_state_json(&c->st));

	if (!doc)
		hamn_bug("cannot build the record of %s", c->id);
	if (c->mount_points)
		json_object_set(doc, "MountPoints", c->mount_points);
	return doc;
}

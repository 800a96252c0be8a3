/*
 * exec_rec.c - exec records that outlive hamnd: their rows in the engine's
 * database (the "execs" table of store.c), the session files through which
 * a session reports an exit that hamnd was not there to hear (exec_int.h),
 * and reading both back at start-up.
 *
 * A row is written at every change of a record (made, resized before its
 * start, started, ended) and deleted with the record (pruned, or its
 * container removed). What a restarted hamnd makes of a row:
 *   - its container is gone, or it ended more than EXEC_KEEP_NS ago: dropped;
 *   - ended: shown as it was;
 *   - made but never started (and no session file): it can be started;
 *   - started: its session file decides. Locked: still running, an
 *     "orphan" whose ctl socket nobody reads, so the file is looked at
 *     again whenever the record is read (inspect, ExecIDs, start, prune);
 *     an exit code: ended with it; neither: its session died without a
 *     word (killed, or the host rebooted), ended with ExitCode null.
 * Nothing here polls: an orphan's end is noticed when someone asks.
 */
#include <sys/file.h>
#include <unistd.h>

#include "engine/exec_int.h"

/* A session writes a few bytes; anything bigger is not one of its files. */
#define SESSION_FILE_MAX 4096

/* ---- rows ---- */

json_t *exec_rec_doc(const struct exec_rec *r)
{
	json_t *doc = json_pack(
		"{s:o, s:o, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:b,"
		" s:b, s:i, s:I, s:I, s:[i, i]}",
		"Cmd", hamn_json_from_strv(r->cmd), "Env", hamn_json_from_strv(r->env), "User",
		r->user, "WorkingDir", r->workdir, "DetachKeys", r->detach_keys, "Tty", r->tty,
		"AttachStdin", r->in, "AttachStdout", r->out, "AttachStderr", r->err, "Privileged",
		r->privileged, "Started", r->claimed && (r->running || r->has_exit || r->lost),
		"Running", r->running, "Lost", r->lost, "Pid", (int)r->pid, "CreatedAt",
		(json_int_t)r->created_ns, "FinishedAt", (json_int_t)r->finished_ns, "ConsoleSize",
		(int)r->h, (int)r->w);

	if (!doc)
		hamn_bug("cannot build the record of exec %s", r->id);
	json_object_set_new(doc, "ExitCode",
			    r->has_exit ? json_integer(r->exit_code) : json_null());
	return doc;
}

static bool valid_id(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == ID_LEN;
}

static char *doc_str(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));

	return xstrdup(s ? s : "");
}

struct exec_rec *exec_rec_from_doc(const char *id, const char *ctr_id, json_t *doc)
{
	struct exec_rec *r;
	json_t *size = json_object_get(doc, "ConsoleSize");

	if (!valid_id(id) || !valid_id(ctr_id))
		return NULL;
	r = xzalloc(sizeof(*r));
	r->refs = 1;
	r->ctl = -1;
	memcpy(r->id, id, ID_LEN + 1);
	memcpy(r->ctr_id, ctr_id, ID_LEN + 1);
	if (hamn_json_get_strv_opt(doc, "Cmd", "Cmd", &r->cmd, NULL) < 0 || !r->cmd || !r->cmd[0] ||
	    hamn_json_get_strv_opt(doc, "Env", "Env", &r->env, NULL) < 0) {
		exec_rec_unref(r);
		return NULL;
	}
	r->user = doc_str(doc, "User");
	r->workdir = doc_str(doc, "WorkingDir");
	r->detach_keys = doc_str(doc, "DetachKeys");
	r->tty = json_is_true(json_object_get(doc, "Tty"));
	r->in = json_is_true(json_object_get(doc, "AttachStdin"));
	r->out = json_is_true(json_object_get(doc, "AttachStdout"));
	r->err = json_is_true(json_object_get(doc, "AttachStderr"));
	r->privileged = json_is_true(json_object_get(doc, "Privileged"));
	r->claimed = json_is_true(json_object_get(doc, "Started"));
	r->running = json_is_true(json_object_get(doc, "Running"));
	r->lost = json_is_true(json_object_get(doc, "Lost"));
	r->has_exit = json_is_integer(json_object_get(doc, "ExitCode"));
	r->exit_code = (int)json_integer_value(json_object_get(doc, "ExitCode"));
	r->pid = (pid_t)json_integer_value(json_object_get(doc, "Pid"));
	r->created_ns = json_integer_value(json_object_get(doc, "CreatedAt"));
	r->finished_ns = json_integer_value(json_object_get(doc, "FinishedAt"));
	r->h = (unsigned int)json_integer_value(json_array_get(size, 0));
	r->w = (unsigned int)json_integer_value(json_array_get(size, 1));
	return r;
}

void exec_rec_save(struct hamn_engine *e, const struct exec_rec *r)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *doc = exec_rec_doc(r);

	if (store_aux_put(e->store, STORE_EXECS, r->id, r->ctr_id, doc, &err) < 0)
		log_warn("exec %s: %s", r->id, err->msg);
}

void exec_rec_forget(struct hamn_engine *e, const struct exec_rec *r)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (store_aux_delete(e->store, STORE_EXECS, r->id, &err) < 0)
		log_warn("exec %s: %s", r->id, err->msg);
	exec_session_forget(e, r);
}

/* ---- session files ---- */

static char *session_path(const struct exec_rec *r)
{
	_cleanup_free_ char *name = xasprintf(EXEC_SESSION_FILE, r->id);

	return xasprintf("%s/%s", r->ctr_id, name);
}

enum exec_sess_state exec_session_state(struct hamn_engine *e, const struct exec_rec *r,
					int *code_out)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = session_path(r), *text = NULL;
	_cleanup_json_ json_t *doc = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0;

	fd = openat(e->exec_ctrs_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return EXEC_SESS_NONE;
	/* the session holds LOCK_EX from before its start until it exits */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? EXEC_SESS_RUNNING : EXEC_SESS_LOST;
	if (hamn_read_fd(fd, SESSION_FILE_MAX, &text, &len, &err) < 0 || len == 0)
		return EXEC_SESS_LOST;
	doc = json_loadb(text, len, 0, NULL);
	if (!json_is_integer(json_object_get(doc, "exited")))
		return EXEC_SESS_LOST;
	*code_out = (int)json_integer_value(json_object_get(doc, "exited"));
	return EXEC_SESS_EXITED;
}

void exec_session_forget(struct hamn_engine *e, const struct exec_rec *r)
{
	_cleanup_free_ char *path = session_path(r);

	if (unlinkat(e->exec_ctrs_fd, path, 0) < 0 && errno != ENOENT)
		log_warn("exec %s: remove '%s': %s", r->id, path, strerror(errno));
}

void exec_rec_refresh(struct hamn_engine *e, struct exec_rec *r)
{
	int code = 0;

	if (!r->orphan)
		return;
	switch (exec_session_state(e, r, &code)) {
	case EXEC_SESS_RUNNING:
		return;
	case EXEC_SESS_EXITED:
		exec_rec_end_locked(e, r, true, code);
		exec_die_event(e, r, code);
		return;
	default:
		exec_rec_end_locked(e, r, false, 0);
		return;
	}
}

/* ---- start-up ---- */

struct loaded {
	char **ids, **ctrs;
	json_t *docs; /* array, in row order */
};

static void collect(void *ud, const char *id, const char *ctr, json_t *doc)
{
	struct loaded *l = ud;

	strv_push(&l->ids, id);
	strv_push(&l->ctrs, ctr);
	json_array_append(l->docs, doc);
}

/*
 * A record read back (x->lock held): what its session did meanwhile.
 * false when the row is to be dropped.
 */
static bool revive(struct hamn_engine *e, struct exec_rec *r, int64_t now)
{
	bool known;
	int code = 0;

	pthread_mutex_lock(&e->lock);
	known = table_find(e, r->ctr_id, NULL) != NULL;
	pthread_mutex_unlock(&e->lock);
	if (!known)
		return false;
	if (r->has_exit || r->lost)
		return now - r->finished_ns <= EXEC_KEEP_NS;
	switch (exec_session_state(e, r, &code)) {
	case EXEC_SESS_RUNNING:
		r->running = r->claimed = r->orphan = true;
		return true;
	case EXEC_SESS_EXITED:
		r->claimed = true;
		exec_rec_end_locked(e, r, true, code);
		exec_die_event(e, r, code);
		return true;
	case EXEC_SESS_LOST:
		r->claimed = true;
		exec_rec_end_locked(e, r, false, 0);
		return true;
	default:
		/* never started: it still can be; started: it ended unrecorded */
		if (r->running || r->claimed)
			exec_rec_end_locked(e, r, false, 0);
		return true;
	}
}

static int by_creation(const void *a, const void *b)
{
	const struct exec_rec *ra = *(struct exec_rec *const *)a,
			      *rb = *(struct exec_rec *const *)b;

	return (ra->created_ns > rb->created_ns) - (ra->created_ns < rb->created_ns);
}

int engine_execs_load(struct hamn_engine *e, struct hamn_error **err)
{
	struct engine_execs *x = engine_execs_get(e);
	struct loaded l = {.docs = json_array()};
	int64_t now = hamn_now_ns();
	int rc = store_aux_load(e->store, STORE_EXECS, collect, &l, err);

	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; rc == 0 && l.ids && l.ids[i]; i++) {
		struct exec_rec *r =
			exec_rec_from_doc(l.ids[i], l.ctrs[i], json_array_get(l.docs, i));
		struct hamn_error *del_err = NULL;

		if (r && revive(e, r, now)) {
			execs_add_locked(x, r);
		} else if (r) {
			exec_rec_forget(e, r);
			exec_rec_unref(r);
		} else if (store_aux_delete(e->store, STORE_EXECS, l.ids[i], &del_err) < 0) {
			/* tried again at the next start */
			log_warn("exec %s: %s", l.ids[i], del_err->msg);
			hamn_error_free(&del_err);
		}
	}
	/* rows come in the order of their last write: ExecIDs lists them as they were made */
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), by_creation);
	pthread_mutex_unlock(&x->lock);
	hamn_strv_free(l.ids);
	hamn_strv_free(l.ctrs);
	json_decref(l.docs);
	return rc;
}

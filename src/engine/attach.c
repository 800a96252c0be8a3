/*
 * attach.c - POST /containers/{id}/attach on hamnd's side.
 *
 * The client's hijacked connection is handed to the container's monitor
 * (SCM_RIGHTS) so that output goes straight from the monitor to the client
 * and hamnd's threads are free. docker run attaches before it starts, so
 * the place of a client is reserved before the "101 UPGRADED" goes out
 * (prepare) and a start waits for reserved clients to arrive (run): the
 * monitor then has them before the container's process runs, and no byte
 * of output is lost. Stdin the HTTP server read past the request (a client
 * that writes before it reads the 101) goes along with the connection, as
 * a blob behind MON_ATTACH or hex in the launch request ("ahead"), and the
 * monitor gives it to the container before anything it reads itself.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/internal.h"

struct hamn_engine_attach {
	struct hamn_engine *e;
	struct container *c;
	struct attach_slot *slot;	/* NULL without stream */
	struct hamn_engine_attach_opts o;
	bool tty;
};

/* docker's detach key syntax: "ctrl-p,ctrl-q", "a,b", "ctrl-@". */
static int detach_keys_parse(const char *s, char *out, size_t *n, struct hamn_error **err)
{
	_cleanup_strv_ char **keys = NULL;

	if (!s || !s[0])
		s = "ctrl-p,ctrl-q";
	keys = str_split(s, ',');
	*n = 0;
	for (size_t i = 0; keys[i]; i++) {
		const char *k = keys[i];
		char ch;

		if (*n >= 16)
			goto bad;
		if (strlen(k) == 1) {
			out[(*n)++] = k[0];
			continue;
		}
		if (!str_has_prefix(k, "ctrl-") || strlen(k) != 6)
			goto bad;
		ch = k[5];
		if (ch >= 'a' && ch <= 'z')
			out[(*n)++] = (char)(ch - 'a' + 1);
		else if (ch == '@' || ch == '[' || ch == '\\' || ch == ']' || ch == '^' || ch == '_')
			out[(*n)++] = (char)(ch == '@' ? 0 : ch - '[' + 27);
		else
			goto bad;
	}
	return 0;
bad:
	return hamn_error_setq(err, EINVAL, "Invalid detach keys (%s) provided", s);
}

struct hamn_engine_attach *hamn_engine_attach_prepare(struct hamn_engine *e, const char *ref,
						      const struct hamn_engine_attach_opts *o,
						      bool *tty_out, struct hamn_error **err)
{
	struct hamn_engine_attach *a;
	struct attach_slot *s = NULL;
	char keys[16];
	size_t n_keys = 0;

	if (o->stream && o->stdin_ && detach_keys_parse(o->detach_keys, keys, &n_keys, err) < 0)
		return NULL;
	a = xzalloc(sizeof(*a));
	a->e = e;
	a->o = *o;
	a->o.detach_keys = NULL;
	pthread_mutex_lock(&e->lock);
	a->c = table_find(e, ref, err);
	if (!a->c || a->c->st.status == ST_REMOVING) {
		if (a->c)
			hamn_error_setq(err, ENOENT, "No such container: %s", ref);
		pthread_mutex_unlock(&e->lock);
		free(a);
		return NULL;
	}
	ctr_ref(a->c);
	a->tty = a->c->cfg.tty;
	if (o->stream) {
		s = xzalloc(sizeof(*s));
		s->token = ++e->next_token;
		s->fd = -1;
		s->in_stdin = o->stdin_;
		s->in_stdout = o->stdout_;
		s->in_stderr = o->stderr_;
		memcpy(s->detach, keys, n_keys);
		s->n_detach = n_keys;
		s->c = a->c;
		s->next = a->c->pending;
		a->c->pending = s;
		a->slot = s;
	}
	pthread_mutex_unlock(&e->lock);
	engine_event(e, a->c, "attach", NULL);
	*tty_out = a->tty;
	return a;
}

/* Unlink a slot from the pending list (lock held); false when it is not there. */
static bool unpend(struct container *c, struct attach_slot *s)
{
	for (struct attach_slot **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->next = NULL;
			return true;
		}
	}
	return false;
}

json_t *attach_ahead_json(const char *data, size_t len)
{
	_cleanup_free_ char *hex = xmalloc(2 * len + 1);

	hamn_hex((const unsigned char *)data, len, hex);
	return json_string(hex);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool attach_ahead_parse(json_t *v, struct hamn_buf *out)
{
	const char *hex;
	size_t len;

	if (!v)
		return true;
	hex = json_string_value(v);
	len = json_string_length(v);
	if (!hex || len % 2)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		hamn_buf_putc(out, (char)(hi << 4 | lo));
	}
	return true;
}

void hamn_engine_attach_cancel(struct hamn_engine_attach *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->e->lock);
	if (a->slot && unpend(a->c, a->slot))
		free(a->slot);
	pthread_cond_broadcast(&a->e->cond);
	ctr_unref_locked(a->c);
	pthread_mutex_unlock(&a->e->lock);
	free(a);
}

struct replay {
	int fd;
	bool tty;
};

static int replay_write(void *ctx, int stream, const char *data, size_t len,
			struct hamn_error **err)
{
	struct replay *r = ctx;

	if (!r->tty) {
		unsigned char hdr[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24),
					 (unsigned char)(len >> 16), (unsigned char)(len >> 8),
					 (unsigned char)len };

		if (hamn_write_all(r->fd, hdr, sizeof(hdr), err) < 0)
			return -1;
	}
	return hamn_write_all(r->fd, data, len, err);
}

static void replay_logs(struct hamn_engine_attach *a, int fd)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_engine_logs_opts lo = { .stdout_ = a->o.stdout_, .stderr_ = a->o.stderr_,
					    .tail = -1 };
	struct replay r = { .fd = fd, .tty = a->tty };
	struct hamn_engine_logs *l;
	bool tty;

	l = hamn_engine_logs_open(a->e, a->c->id, &lo, &tty, &err);
	if (l && hamn_engine_logs_run(l, -1, replay_write, &r, &err) < 0)
		log_debug("attach %s: log replay: %s", a->c->id, err->msg);
	hamn_engine_logs_free(l);
}

/* Give the ready slot to the monitor now, or leave it for the next start (lock held). */
static struct attach_slot *place_slot(struct hamn_engine *e, struct container *c,
				      struct attach_slot *s)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (!unpend(c, s) || c->removed)
		return s;
	if (c->st.status != ST_RUNNING || c->mon_fd < 0) {
		s->next = c->pending;
		c->pending = s;
		return NULL;
	}
	if (ctr_attach_handoff_locked(e, c, s, &err) < 0) {
		log_debug("attach %s: %s", c->id, err->msg);
		return s;
	}
	return NULL;
}

int hamn_engine_attach_run(struct hamn_engine_attach *a, int fd, const char *ahead, size_t n_ahead,
			   hamn_engine_attach_done_fn done, void *ctx, struct hamn_error **err)
{
	struct hamn_engine *e = a->e;
	struct attach_slot *s = a->slot, *finish = NULL;
	int dup = -1;

	if (a->o.logs)
		replay_logs(a, fd);
	if (s)
		dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	/* the monitor feeds them to the container before it reads the socket */
	if (s && s->in_stdin && n_ahead) {
		s->ahead = xmalloc(n_ahead);
		memcpy(s->ahead, ahead, n_ahead);
		s->n_ahead = n_ahead;
	}
	pthread_mutex_lock(&e->lock);
	if (s && dup < 0) {
		hamn_error_set(err, errno, "dup the client connection");
		unpend(a->c, s);
		finish = s;
	} else if (s) {
		s->fd = dup;
		s->done = done;
		s->done_ctx = ctx;
		s->ready = true;
		finish = place_slot(e, a->c, s);
	}
	pthread_cond_broadcast(&e->cond);
	ctr_unref_locked(a->c);
	pthread_mutex_unlock(&e->lock);
	if (!s && done)
		done(ctx);	/* logs only: the reply is complete */
	if (finish) {
		finish->done = done;
		finish->done_ctx = ctx;
		attach_slot_finish(finish);
	}
	free(a);
	return dup < 0 && s ? -1 : 0;
}

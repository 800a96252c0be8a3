/*
 * test_image_store.c - the image store used from several threads at once:
 * clients that stall in the middle of an import, a load and a save block
 * no other call (list, resolve, what container create asks, tag, create,
 * rmi), and a save keeps streaming an image deleted under it. And the disk
 * usage numbers of GET /system/df.
 *
 * No sleeps: a stalled client is a pipe of one page that the test stops
 * writing to (or reading from); a call that should not wait gets a deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

/* short positional entry tables read better than designated initialisers here */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "image_store.h"

#define BIG_FILE (1 << 20)
#define FED (256 << 10)		/* what a stalled client sends before it stops */
#define DEADLINE_NS (20 * 1000000000LL)	/* for one wait: only reached when a call hangs */

/* ---- pipes with a deadline ---- */

/* A pipe holding one page, so a writer blocks as soon as its reader stops; ours non-blocking. */
static void small_pipe(int p[2], int ours)
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) > 0);
	assert_int_equal(fcntl(p[ours], F_SETFL, O_NONBLOCK), 0);
}

static int64_t soon(void)
{
	return hamn_monotonic_ns() + DEADLINE_NS;
}

static bool wait_fd(int fd, short events, int64_t deadline)
{
	int64_t left = (deadline - hamn_monotonic_ns()) / 1000000;
	struct pollfd p = { fd, events, 0 };

	return left > 0 && poll(&p, 1, (int)left) > 0;
}

/* Write all of data to the non-blocking fd: false when the reader stops reading until deadline. */
static bool feed(int fd, const char *data, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if ((n < 0 && errno != EAGAIN) || !wait_fd(fd, POLLOUT, deadline))
			return false;
	}
	return true;
}

/* Read from the non-blocking fd into out: some bytes, or with to_eof all up to its end. */
static bool drain(int fd, struct hamn_buf *out, bool to_eof, int64_t deadline)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			hamn_buf_append(out, buf, (size_t)n);
			if (!to_eof)
				return true;
		} else if (n == 0) {
			return to_eof;
		} else if (errno != EAGAIN || !wait_fd(fd, POLLIN, deadline)) {
			return false;
		}
	}
}

/* ---- the stalled clients, each in its own thread ---- */

enum job_kind { JOB_IMPORT, JOB_LOAD, JOB_SAVE };

struct job {
	enum job_kind kind;
	struct hamn_image_store *st;
	int fd;			/* the store's end of the job's pipe */
	int rc;
	struct hamn_error *err;
	pthread_t thread;
	bool started;
};

static void *job_run(void *arg)
{
	struct job *j = arg;
	const struct hamn_image_import_opts o = { .ref = "stalled:1" };
	const char *refs[] = { "big:1" };

	if (j->kind == JOB_IMPORT)
		j->rc = hamn_image_import(j->st, j->fd, &o, NULL, &j->err);
	else if (j->kind == JOB_LOAD)
		j->rc = hamn_image_load(j->st, j->fd, NULL, NULL, &j->err);
	else
		j->rc = hamn_image_save(j->st, refs, 1, j->fd, &j->err);
	close(j->fd);	/* save: the reader sees the end of the tar */
	j->fd = -1;
	return NULL;
}

static void job_start(struct job *j, enum job_kind kind, struct hamn_image_store *st, int fd)
{
	*j = (struct job){ .kind = kind, .st = st, .fd = fd };
	assert_int_equal(pthread_create(&j->thread, NULL, job_run, j), 0);
	j->started = true;
}

/* ---- the client that must not wait ---- */

struct other {
	struct senv *e;
	bool changes;		/* also tag, create, and rmi big:1 (the image being saved) */
	int done;		/* written to when finished */
	char *failure;		/* the first call that failed, or NULL */
};

static bool step(struct other *o, const char *what, bool ok, struct hamn_error **err)
{
	if (!ok && !o->failure)
		o->failure = xasprintf("%s: %s", what, *err ? (*err)->msg : "wrong result");
	hamn_error_free(err);
	return ok;
}

/* What docker images and the engine's container create ask. */
static bool other_lookups(struct other *o, struct hamn_error **err)
{
	_cleanup_json_ json_t *list = hamn_image_list_json(o->e->st, NULL, err);
	_cleanup_free_ char *id = NULL, *lower = NULL;
	_cleanup_image_config_ struct hamn_oci_image_config *c = NULL;

	/* nothing of the stalled import and load is visible */
	if (!step(o, "list", list && json_array_size(list) == 2, err) ||
	    !step(o, "resolve", hamn_image_resolve(o->e->st, "hamn-unit:v1", &id, err) == 0, err))
		return false;
	c = hamn_image_config(o->e->st, id, err);
	lower = c ? hamn_image_lowerdir(o->e->st, id, err) : NULL;
	return step(o, "config and lowerdir", lower != NULL, err);
}

/* A tag, what a pull does once its blobs are there, and rmi of the image being saved. */
static bool other_changes(struct other *o, struct hamn_error **err)
{
	_cleanup_free_ char *config = config_make(o->e->l, 1, ",\"author\":\"created\"");
	_cleanup_close_ int fd = mem_fd(config, strlen(config));
	_cleanup_json_ json_t *report = NULL;
	struct hamn_digest cd;
	const char *layers[] = { o->e->l[0].diff.str };

	if (!step(o, "tag", hamn_image_tag(o->e->st, "hamn-unit:v1", "other:1", err) == 0, err) ||
	    !step(o, "blob put", hamn_image_blob_put(o->e->st, fd, NULL, &cd, err) == 0, err) ||
	    !step(o, "create", hamn_image_create(o->e->st, cd.str, layers, NULL, 1, NULL,
						 "created:1", NULL, err) == 0, err))
		return false;
	return step(o, "rmi big:1", hamn_image_remove(o->e->st, "big:1", 0, NULL, NULL, &report,
						      err) == 0, err);
}

static void *other_run(void *arg)
{
	struct other *o = arg;
	struct hamn_error *err = NULL;

	if (other_lookups(o, &err) && o->changes)
		other_changes(o, &err);
	if (write(o->done, "x", 1) != 1)
		hamn_bug("done pipe");
	return NULL;
}

/* ---- the test ---- */

struct stalled {
	struct senv *e;
	struct layerdef big[2];		/* big:1, saved: a 1 MiB layer, a small one on top */
	struct layerdef loaded;		/* loaded:1, a 1 MiB layer */
	struct hamn_buf import_tar, load_tar, saved;
	int imp[2], load[2], save[2], done[2];
	struct job jobs[3];
};

static char *filled(char c)
{
	char *s = xmalloc(BIG_FILE + 1);

	memset(s, c, BIG_FILE);
	s[BIG_FILE] = '\0';
	return s;
}

static void stalled_init(struct stalled *s, struct senv *e)
{
	_cleanup_free_ char *b = filled('b'), *l = filled('l'), *i = filled('i');
	_cleanup_free_ char *big_config = NULL, *load_config = NULL;
	_cleanup_buf_ struct hamn_buf big_tar = HAMN_BUF_INIT;
	const struct ent rootfs[] = { { "etc", 'd' }, { "etc/big", 'f', i } };
	struct hamn_error *err = NULL;

	memset(s, 0, sizeof(*s));
	s->e = e;
	layer_make(&s->big[0], "big", b);
	layer_make(&s->big[1], "top", "top\n");
	layer_make(&s->loaded, "loaded", l);
	big_config = config_make(s->big, 2, ",\"author\":\"big\"");
	load_config = config_make(&s->loaded, 1, ",\"author\":\"loaded\"");
	docker_tar(&big_tar, big_config, s->big, 2, "[\"big:1\"]", NULL);
	must(load_buf(e, e->st, &big_tar, &err), &err);
	docker_tar(&s->load_tar, load_config, &s->loaded, 1, "[\"loaded:1\"]", NULL);
	make_tar(rootfs, 2, false, &s->import_tar);
	small_pipe(s->imp, 1);
	small_pipe(s->load, 1);
	small_pipe(s->save, 0);
	assert_int_equal(pipe2(s->done, O_CLOEXEC), 0);
}

/* Unblock every client (end their input, stop reading the save) and wait for them. */
static void stalled_release(struct stalled *s)
{
	cleanup_closep(&s->imp[1]);
	cleanup_closep(&s->load[1]);
	cleanup_closep(&s->save[0]);
	for (int i = 0; i < 3; i++) {
		if (s->jobs[i].started)
			pthread_join(s->jobs[i].thread, NULL);
		s->jobs[i].started = false;
	}
}

static void stalled_free(struct stalled *s)
{
	stalled_release(s);
	for (int i = 0; i < 2; i++) {
		cleanup_closep(&s->done[i]);
		layer_free(&s->big[i]);
	}
	layer_free(&s->loaded);
	hamn_buf_release(&s->import_tar);
	hamn_buf_release(&s->load_tar);
	hamn_buf_release(&s->saved);
	for (int i = 0; i < 3; i++)
		hamn_error_free(&s->jobs[i].err);
}

/*
 * While the clients started so far are stalled, another one lists, resolves
 * (and with changes, tags, creates, deletes): NULL, or what went wrong.
 */
static char *probe(struct stalled *s, bool changes, const char *stalled_what)
{
	struct other o = { s->e, changes, s->done[1], NULL };
	pthread_t t;
	char c;

	assert_int_equal(pthread_create(&t, NULL, other_run, &o), 0);
	if (!wait_fd(s->done[0], POLLIN, soon())) {
		stalled_release(s);	/* so that it can finish */
		pthread_join(t, NULL);
		free(o.failure);
		return xasprintf("another client's calls waited for %s", stalled_what);
	}
	pthread_join(t, NULL);
	if (read(s->done[0], &c, 1) != 1)
		hamn_bug("done pipe");
	if (o.failure) {
		char *msg = xasprintf("with %s: %s", stalled_what, o.failure);

		free(o.failure);
		return msg;
	}
	return NULL;
}

/* Start the three clients, stop each in the middle of its stream, and probe. */
static char *stall_and_probe(struct stalled *s)
{
	char *failed;

	job_start(&s->jobs[0], JOB_IMPORT, s->e->st, steal_fd(&s->imp[0]));
	if (!feed(s->imp[1], s->import_tar.data, FED, soon()))
		return xstrdup("the import did not read its stream");
	if ((failed = probe(s, false, "a stalled import")))
		return failed;
	job_start(&s->jobs[1], JOB_LOAD, s->e->st, steal_fd(&s->load[0]));
	if (!feed(s->load[1], s->load_tar.data, FED, soon()))
		return xstrdup("the load did not read its stream");
	if ((failed = probe(s, false, "a stalled import and load")))
		return failed;
	job_start(&s->jobs[2], JOB_SAVE, s->e->st, steal_fd(&s->save[1]));
	if (!drain(s->save[0], &s->saved, false, soon()))
		return xstrdup("the save wrote nothing");
	return probe(s, true, "a stalled import, load and save");
}

/* Let the clients go on to the end; NULL when all three succeeded. */
static char *finish_clients(struct stalled *s)
{
	static const char *const what[] = { "import", "load", "save" };
	bool fed = feed(s->imp[1], s->import_tar.data + FED, s->import_tar.len - FED, soon()) &&
		   feed(s->load[1], s->load_tar.data + FED, s->load_tar.len - FED, soon());
	bool saved;

	cleanup_closep(&s->imp[1]);
	cleanup_closep(&s->load[1]);
	saved = drain(s->save[0], &s->saved, true, soon());
	stalled_release(s);
	if (!fed || !saved)
		return xstrdup("a client could not finish its stream");
	for (int i = 0; i < 3; i++)
		if (s->jobs[i].rc < 0)
			return xasprintf("%s: %s", what[i], s->jobs[i].err->msg);
	return NULL;
}

/* The save went on after big:1 was deleted: its tar is whole, and the layers go after it. */
static void check_saved(struct stalled *s)
{
	struct senv *e = s->e;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *config = config_make(s->big, 2, ",\"author\":\"big\""), *id = NULL;
	struct hamn_digest cd, top;
	sqlite3 *db2 = NULL;
	struct hamn_image_store *st2 = NULL;

	hamn_sha256_buf(config, strlen(config), &cd);
	chain_of(s->big, &top);
	assert_false(hamn_image_layer_exists(e->st, s->big[0].diff.str));
	assert_false(hamn_image_layer_exists(e->st, top.str));
	open_store_at(e, "root2", &db2, &st2);
	must(load_buf(e, st2, &s->saved, &err), &err);
	must(hamn_image_resolve(st2, "big:1", &id, &err), &err);
	assert_string_equal(id, cd.str);
	assert_true(hamn_image_layer_exists(st2, top.str));
	close_store(&db2, &st2);
}

/* What is stored when all is done: nothing half-made, nothing of big:1 left. */
static void check_store(struct stalled *s)
{
	struct hamn_error *err = NULL;
	const char *refs[] = { "hamn-unit:v1", "other:1", "created:1", "stalled:1", "loaded:1" };

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		_cleanup_free_ char *id = NULL;

		must(hamn_image_resolve(s->e->st, refs[i], &id, &err), &err);
	}
	assert_int_equal(count_images(s->e->st), 4);	/* other:1 is hamn-unit:v1 */
	assert_int_equal(dir_count(s->e->rootfd, "layers"), 4);
	assert_int_equal(dir_count(s->e->rootfd, "tmp"), 0);
}

static void stalled_clients_block_no_one(void **state)
{
	struct senv *e = *state;
	struct stalled s;
	struct hamn_digest id;
	char *failed;

	load_test_image(e, &id);
	stalled_init(&s, e);
	failed = stall_and_probe(&s);
	if (!failed)
		failed = finish_clients(&s);
	if (failed) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", failed);
		free(failed);
		stalled_free(&s);
		fail_msg("%s", msg);
	}
	check_store(&s);
	check_saved(&s);
	stalled_free(&s);
}

/* ---- disk usage ---- */

static const struct hamn_image_usage *usage_of(const struct hamn_image_usage *u, size_t n,
					       const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (streq(u[i].id, id))
			return &u[i];
	fail_msg("no usage for %s", id);
	return NULL;
}

static void check_usage(struct senv *e, const char *id, int64_t size, int64_t shared,
			int64_t layers_size)
{
	struct hamn_error *err = NULL;
	struct hamn_image_usage *u = NULL;
	const struct hamn_image_usage *one;
	int64_t total = -1;
	size_t n = 0;

	must(hamn_image_usage(e->st, &u, &n, &total, &err), &err);
	one = usage_of(u, n, id);
	assert_int_equal(one->size, size);
	assert_int_equal(one->shared_size, shared);
	assert_int_equal(one->unique_size, size - shared);
	assert_int_equal(total, layers_size);
	hamn_image_usage_free(u, n);
}

static void usage_counts_shared_layers(void **state)
{
	struct senv *e = *state;
	struct hamn_error *err = NULL;
	_cleanup_free_ char *c1 = config_make(e->l, 1, NULL), *base = NULL;
	_cleanup_buf_ struct hamn_buf t1 = HAMN_BUF_INIT;
	_cleanup_close_ int fd = -1;
	struct layerdef extra;
	struct hamn_digest id, chain2;
	struct hamn_image_layer_info *l = NULL;
	size_t n = 0;

	load_test_image(e, &id);		/* "hello\n" (6 bytes) under "two\n" (4) */
	docker_tar(&t1, c1, e->l, 1, "[\"base:1\"]", NULL);
	must(load_buf(e, e->st, &t1, &err), &err);
	must(hamn_image_resolve(e->st, "base:1", &base, &err), &err);
	check_usage(e, id.str, 10, 6, 10);
	check_usage(e, base, 6, 6, 10);
	must(hamn_image_layers(e->st, "hamn-unit:v1", &l, &n, &err), &err);
	chain_of(e->l, &chain2);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].chain_id.str, e->l[0].diff.str);
	assert_int_equal(l[0].size, 6);
	assert_int_equal(l[0].n_images, 2);
	assert_string_equal(l[1].chain_id.str, chain2.str);
	assert_string_equal(l[1].diff_id.str, e->l[1].diff.str);
	assert_int_equal(l[1].size, 4);
	assert_int_equal(l[1].n_images, 1);
	hamn_image_layer_info_free(l, n);
	assert_int_equal(hamn_image_layers(e->st, "nosuch:1", &l, &n, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	/* an unused layer (an interrupted pull) takes room too */
	layer_make(&extra, "extra", "extra-bytes\n");
	fd = mem_fd(extra.tar.data, extra.tar.len);
	must(hamn_image_layer_put(e->st, fd, NULL, extra.diff.str, extra.diff.str, NULL, NULL,
				  &err), &err);
	layer_free(&extra);
	check_usage(e, id.str, 10, 6, 22);
	must(hamn_image_remove(e->st, "base:1", 0, NULL, NULL, NULL, &err), &err);
	check_usage(e, id.str, 10, 0, 22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stalled_clients_block_no_one, setup, teardown),
		cmocka_unit_test_setup_teardown(usage_counts_shared_layers, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);	/* a save whose reader went away gets EPIPE */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

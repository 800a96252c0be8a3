/*
 * test_build_loop.c - the builder loop of src/build driven through a fake
 * implementation of the daemon's ops. Images and the cache of the fake are
 * JSON objects, so "restarting the daemon" is a new fake that shares them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "build/build.h"

/* ---- the fake daemon ---- */

struct fake {
	json_t *images;		/* id -> {"parent", "config", "created_by"} */
	json_t *cache;		/* key -> id */
	json_t *msgs;		/* every emitted message */
	struct hamn_buf stream;	/* the "stream" texts, concatenated */
	int n_run, n_copy, n_commit, n_hits;
	char **resolved;	/* refs given to resolve_image */
	char **runs;		/* created_by of each run */
	char **run_envs;	/* env of each run, joined by ' ' */
	char **copies;		/* "<dest> <sources...>" of each copy */
	char **mkdirs;
	char **tags;
	int seq;
};

static void fake_init(struct fake *f, json_t *images, json_t *cache)
{
	memset(f, 0, sizeof(*f));
	f->images = images ? json_incref(images) : json_object();
	f->cache = cache ? json_incref(cache) : json_object();
	f->msgs = json_array();
	f->resolved = xzalloc(sizeof(char *));
	f->runs = xzalloc(sizeof(char *));
	f->run_envs = xzalloc(sizeof(char *));
	f->copies = xzalloc(sizeof(char *));
	f->mkdirs = xzalloc(sizeof(char *));
	f->tags = xzalloc(sizeof(char *));
}

static void fake_release(struct fake *f)
{
	json_decref(f->images);
	json_decref(f->cache);
	json_decref(f->msgs);
	hamn_buf_release(&f->stream);
	hamn_strv_free(f->resolved);
	hamn_strv_free(f->runs);
	hamn_strv_free(f->run_envs);
	hamn_strv_free(f->copies);
	hamn_strv_free(f->mkdirs);
	hamn_strv_free(f->tags);
}

static char *new_image(struct fake *f, const char *parent, const json_t *config,
		       const char *created_by)
{
	json_t *img = json_pack("{s:s, s:O, s:s, s:i}", "parent", parent ? parent : "", "config",
				config, "created_by", created_by, "seq", f->seq++);
	char *dump = json_dumps(img, JSON_COMPACT | JSON_SORT_KEYS);
	struct hamn_digest d;

	hamn_sha256_buf(dump, strlen(dump), &d);
	free(dump);
	json_object_set_new(f->images, d.str, img);
	return xstrdup(d.str);
}

static int fake_resolve(void *ctx, const char *ref, const char *platform, char **id,
			json_t **config, struct hamn_error **err)
{
	struct fake *f = ctx;
	struct hamn_digest d;

	strv_push(&f->resolved, ref);
	if (strcmp(ref, "busybox") == 0 || strcmp(ref, "alpine") == 0)
		*config = json_pack("{s:[s], s:[s]}", "Env", "PATH=/bin:/usr/bin", "Cmd", "sh");
	else if (strcmp(ref, "onbuild-base") == 0)
		*config = json_pack("{s:[s,s]}", "OnBuild", "RUN echo triggered",
				    "ENV FROM_TRIGGER=1");
	else
		return hamn_error_setq(err, ENOENT, "No such image: %s", ref);
	hamn_sha256_buf(ref, strlen(ref), &d);
	*id = xstrdup(d.str);
	return 0;
}

static int fake_run(void *ctx, const struct hamn_build_run_req *req, struct hamn_build_out *out,
		    char **image_id, int *exit_code, struct hamn_error **err)
{
	struct fake *f = ctx;
	const char *last = req->argv[strv_len(req->argv) - 1];

	f->n_run++;
	strv_push(&f->runs, req->created_by);
	strv_push_take(&f->run_envs, strv_join(req->env, " "));
	hamn_build_out_running(out, "c0ffee0123456789c0ffee");
	hamn_build_out_write(out, "output \xff\n", 9);
	if (strstr(last, "exit 7")) {
		*exit_code = 7;
		*image_id = NULL;
		return 0;
	}
	*exit_code = 0;
	*image_id = new_image(f, req->parent, req->config, req->created_by);
	return 0;
}

static int fake_copy(void *ctx, const struct hamn_build_copy_req *req, struct hamn_build_out *out,
		     char **image_id, struct hamn_error **err)
{
	struct fake *f = ctx;
	struct hamn_buf b = HAMN_BUF_INIT;

	f->n_copy++;
	hamn_buf_puts(&b, req->dest);
	for (size_t i = 0; req->sources && i < req->sources->n; i++)
		hamn_buf_printf(&b, " %s(%zu)", req->sources->v[i].path,
				strv_len(req->sources->v[i].entries));
	for (size_t i = 0; req->patterns && req->patterns[i] && req->from_image; i++)
		hamn_buf_printf(&b, " from:%s", req->patterns[i]);
	if (req->extract)
		hamn_buf_puts(&b, " extract");
	if (req->has_chmod)
		hamn_buf_printf(&b, " chmod=%o", (unsigned)req->chmod);
	if (req->chown)
		hamn_buf_printf(&b, " chown=%s", req->chown);
	if (req->preserve_owner)
		hamn_buf_puts(&b, " keep-owner");
	for (size_t i = 0; i < req->n_inline; i++)
		hamn_buf_printf(&b, " inline:%s=%s", req->inline_files[i].name,
				req->inline_files[i].content);
	strv_push_take(&f->copies, hamn_buf_steal(&b));
	*image_id = new_image(f, req->parent, req->config, req->created_by);
	return 0;
}

static int fake_commit(void *ctx, const struct hamn_build_commit_req *req,
		       struct hamn_build_out *out, char **image_id, struct hamn_error **err)
{
	struct fake *f = ctx;

	f->n_commit++;
	if (req->mkdir)
		strv_push(&f->mkdirs, req->mkdir);
	*image_id = new_image(f, req->parent, req->config, req->created_by);
	return 0;
}

static int fake_lookup(void *ctx, const struct hamn_digest *key, char **image_id,
		       struct hamn_error **err)
{
	struct fake *f = ctx;
	const char *id = json_string_value(json_object_get(f->cache, key->str));

	*image_id = id && json_object_get(f->images, id) ? xstrdup(id) : NULL;
	f->n_hits += *image_id != NULL;
	return 0;
}

static int fake_store(void *ctx, const struct hamn_digest *key, const char *image_id,
		      struct hamn_error **err)
{
	struct fake *f = ctx;

	json_object_set_new(f->cache, key->str, json_string(image_id));
	return 0;
}

static int fake_tag(void *ctx, const char *image_id, const char *ref, struct hamn_error **err)
{
	struct fake *f = ctx;

	strv_push(&f->tags, ref);
	return 0;
}

static void fake_emit(void *ctx, json_t *msg)
{
	struct fake *f = ctx;
	const char *s = json_string_value(json_object_get(msg, "stream"));

	json_array_append(f->msgs, msg);
	if (s)
		hamn_buf_puts(&f->stream, s);
}

static const struct hamn_build_ops fake_ops = {
	.resolve_image = fake_resolve,
	.run = fake_run,
	.copy = fake_copy,
	.commit = fake_commit,
	.cache_lookup = fake_lookup,
	.cache_store = fake_store,
	.tag = fake_tag,
	.emit = fake_emit,
};

/* ---- the context ---- */

static char ctx_path[64];
static int ctxfd = -1;

static void write_file(const char *name, const char *content)
{
	struct hamn_error *err = NULL;

	if (hamn_write_atomic(ctxfd, name, content, strlen(content), 0644, &err) < 0)
		fail_msg("write %s: %s", name, err->msg);
}

static int ctx_setup(void **state)
{
	(void)state;
	snprintf(ctx_path, sizeof(ctx_path), "/tmp/hamn-test-build-XXXXXX");
	if (!mkdtemp(ctx_path))
		return -1;
	ctxfd = open(ctx_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctxfd < 0)
		return -1;
	write_file("main.c", "int main;\n");
	write_file("config.txt", "k=v\n");
	write_file("notes.md", "notes\n");
	write_file(".dockerignore", "*.md\n");
	return 0;
}

static int ctx_teardown(void **state)
{
	struct hamn_error *err = NULL;
	int r;

	(void)state;
	close(ctxfd);
	ctxfd = -1;
	r = hamn_rm_rf(AT_FDCWD, ctx_path, &err);
	hamn_error_free(&err);
	return r;
}

/* ---- running builds ---- */

struct result {
	int rc;
	int code;
	char *id;
	char *msg;
};

static struct result build(struct fake *f, const char *dockerfile, const char *target,
			   char **build_args, char **labels, bool no_cache)
{
	char *tags[] = { "app", "localhost:5000/x/app:v1", NULL };
	struct hamn_build_options o = {
		.dockerfile = dockerfile, .dockerfile_len = strlen(dockerfile),
		.dockerfile_name = "Dockerfile", .ctxfd = ctxfd, .target = target,
		.build_args = build_args, .labels = labels, .tags = tags, .no_cache = no_cache,
	};
	struct hamn_error *err = NULL;
	struct result r = { 0 };

	hamn_buf_reset(&f->stream);
	r.rc = hamn_build_run(&fake_ops, f, &o, &r.id, &r.code, &err);
	if (err) {
		r.msg = xstrdup(err->msg);
		hamn_error_free(&err);
	}
	return r;
}

static void result_release(struct result *r)
{
	free(r->id);
	free(r->msg);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const json_t *image_config(struct fake *f, const char *id)
{
	return json_object_get(json_object_get(f->images, id), "config");
}

static const char multi_df[] = "ARG VERSION=1.0\n"
			       "FROM busybox AS deps\n"
			       "ARG VERSION\n"
			       "RUN echo deps $VERSION > /deps\n"
			       "FROM alpine AS unused\n"
			       "RUN echo never\n"
			       "FROM deps AS build\n"
			       "WORKDIR /src\n"
			       "COPY . .\n"
			       "RUN make\n"
			       "FROM busybox\n"
			       "ENV APP=/app\n"
			       "COPY --from=build /src/out /app/\n"
			       "COPY config.txt /etc/\n"
			       "CMD [\"/app/run\"]\n";

static void loop_first_build(void **state)
{
	struct fake f;
	struct result r;
	const json_t *cfg;

	(void)state;
	fake_init(&f, NULL, NULL);
	r = build(&f, multi_df, NULL, NULL, NULL, false);
	if (r.rc < 0)
		fail_msg("build failed: %s\n%s", r.msg, f.stream.data);
	assert_int_equal(f.n_run, 2);
	assert_int_equal(f.n_copy, 3);
	assert_int_equal(f.n_commit, 4);	/* ARG, WORKDIR, ENV, CMD */
	assert_int_equal(f.n_hits, 0);
	/* the unused stage is skipped entirely */
	assert_false(strv_contains(f.resolved, "alpine"));
	assert_int_equal(count(f.stream.data, "echo never"), 0);
	assert_int_equal(count(f.stream.data, "Step "), 13);
	assert_non_null(strstr(f.stream.data, "Step 1/13 : ARG VERSION=1.0\n"));
	assert_non_null(strstr(f.stream.data, "Step 2/13 : FROM busybox AS deps\n ---> "));
	assert_non_null(strstr(f.stream.data, " ---> Running in c0ffee012345\n"));
	assert_non_null(strstr(f.stream.data, "output \xef\xbf\xbd\n"));
	assert_non_null(strstr(f.stream.data, "Removing intermediate container c0ffee012345\n"));
	assert_non_null(strstr(f.stream.data, "Successfully tagged app:latest\n"));
	assert_non_null(strstr(f.stream.data, "Successfully tagged localhost:5000/x/app:v1\n"));
	assert_string_equal(f.runs[0], "|1 VERSION=1.0 /bin/sh -c echo deps $VERSION > /deps");
	/* VERSION is not declared in the build stage: not in scope there */
	assert_string_equal(f.runs[1], "/bin/sh -c make");
	assert_string_equal(f.run_envs[0], "PATH=/bin:/usr/bin VERSION=1.0");
	assert_string_equal(f.run_envs[1], "PATH=/bin:/usr/bin");
	assert_string_equal(f.copies[0], "/src/ .(3)");
	assert_string_equal(f.copies[1], "/app/ from:/src/out keep-owner");
	assert_string_equal(f.copies[2], "/etc/ config.txt(0)");
	assert_string_equal(f.mkdirs[0], "/src");
	cfg = image_config(&f, r.id);
	assert_non_null(cfg);
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)),
			    "/app/run");
	assert_int_equal(json_array_size(json_object_get(cfg, "Env")), 2);
	/* the stream: the step text and its newline come separately, as docker sends them */
	assert_string_equal(json_string_value(json_object_get(json_array_get(f.msgs, 0), "stream")),
			    "Step 1/13 : ARG VERSION=1.0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(f.msgs, 1), "stream")),
			    "\n");
	const json_t *last_aux = NULL;
	for (size_t i = 0; i < json_array_size(f.msgs); i++)
		if (json_object_get(json_array_get(f.msgs, i), "aux"))
			last_aux = json_array_get(f.msgs, i);
	assert_string_equal(json_string_value(json_object_get(json_object_get(last_aux, "aux"),
								"ID")), r.id);
	assert_int_equal(strv_len(f.tags), 2);
	result_release(&r);
	fake_release(&f);
}

static void loop_second_build_all_cached(void **state)
{
	struct fake f, g;
	struct result r1, r2, r3;

	(void)state;
	fake_init(&f, NULL, NULL);
	r1 = build(&f, multi_df, NULL, NULL, NULL, false);
	assert_int_equal(r1.rc, 0);
	r2 = build(&f, multi_df, NULL, NULL, NULL, false);
	assert_int_equal(r2.rc, 0);
	assert_int_equal(f.n_run, 2);
	assert_int_equal(f.n_copy, 3);
	assert_int_equal(f.n_commit, 4);
	assert_int_equal(count(f.stream.data, " ---> Using cache\n"), 9);
	assert_string_equal(r1.id, r2.id);
	/* a file .dockerignore excludes changes nothing */
	write_file("notes.md", "changed\n");
	result_release(&r2);
	r2 = build(&f, multi_df, NULL, NULL, NULL, false);
	assert_int_equal(f.n_run, 2);
	assert_string_equal(r1.id, r2.id);
	/* a daemon restart: a new fake with the same images and cache */
	fake_init(&g, f.images, f.cache);
	r3 = build(&g, multi_df, NULL, NULL, NULL, false);
	assert_int_equal(r3.rc, 0);
	assert_int_equal(g.n_run + g.n_copy + g.n_commit, 0);
	assert_string_equal(r1.id, r3.id);
	result_release(&r1);
	result_release(&r2);
	result_release(&r3);
	fake_release(&f);
	fake_release(&g);
}

static void loop_changed_file_invalidates_from_copy(void **state)
{
	struct fake f;
	struct result r1, r2;

	(void)state;
	fake_init(&f, NULL, NULL);
	r1 = build(&f, multi_df, NULL, NULL, NULL, false);
	write_file("main.c", "int main(void) { return 0; }\n");
	r2 = build(&f, multi_df, NULL, NULL, NULL, false);
	assert_int_equal(r2.rc, 0);
	/* deps (ARG, RUN) and WORKDIR hit; COPY . . and everything after it runs again */
	assert_int_equal(f.n_run, 3);
	assert_string_equal(f.runs[2], "/bin/sh -c make");
	assert_int_equal(f.n_copy, 6);
	assert_int_equal(count(f.stream.data, " ---> Using cache\n"), 4); /* ARG RUN WORKDIR ENV */
	assert_string_not_equal(r1.id, r2.id);
	result_release(&r1);
	result_release(&r2);
	fake_release(&f);
}

static void loop_no_cache_and_target(void **state)
{
	struct fake f;
	struct result r1, r2, r3;

	(void)state;
	fake_init(&f, NULL, NULL);
	r1 = build(&f, multi_df, NULL, NULL, NULL, false);
	r2 = build(&f, multi_df, NULL, NULL, NULL, true);
	assert_int_equal(r2.rc, 0);
	assert_int_equal(f.n_run, 4);
	assert_int_equal(count(f.stream.data, "Using cache"), 0);
	r3 = build(&f, multi_df, "build", NULL, NULL, false);
	assert_int_equal(r3.rc, 0);
	assert_int_equal(count(f.stream.data, "Step "), 8);
	assert_null(strstr(f.stream.data, "CMD"));
	assert_string_equal(json_string_value(json_object_get(image_config(&f, r3.id),
							       "WorkingDir")), "/src");
	result_release(&r1);
	result_release(&r2);
	result_release(&r3);
	fake_release(&f);
}

static void loop_build_args(void **state)
{
	char *args[] = { "VERSION=2.0", "HTTP_PROXY=http://p", "UNUSED=1", NULL };
	char *labels[] = { "org.b=2", "org.a=1", NULL };
	struct fake f;
	struct result r;
	const json_t *labels_obj;

	(void)state;
	fake_init(&f, NULL, NULL);
	r = build(&f, multi_df, NULL, args, labels, false);
	assert_int_equal(r.rc, 0);
	assert_string_equal(f.runs[0], "|1 VERSION=2.0 /bin/sh -c echo deps $VERSION > /deps");
	assert_string_equal(f.run_envs[1], "PATH=/bin:/usr/bin HTTP_PROXY=http://p");
	assert_non_null(strstr(f.stream.data, "[Warning] One or more build-args [UNUSED] were not "
			       "consumed\n"));
	assert_non_null(strstr(f.stream.data, "Step 14/15 : LABEL org.a=1\n"));
	labels_obj = json_object_get(image_config(&f, r.id), "Labels");
	assert_string_equal(json_string_value(json_object_get(labels_obj, "org.b")), "2");
	result_release(&r);
	fake_release(&f);
}

static void loop_run_failure(void **state)
{
	struct fake f;
	struct result r;
	json_t *last;

	(void)state;
	fake_init(&f, NULL, NULL);
	r = build(&f, "FROM busybox\nRUN exit 7\nRUN echo not reached\n", NULL, NULL, NULL, false);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.code, 7);
	assert_string_equal(r.msg, "The command '/bin/sh -c exit 7' returned a non-zero code: 7");
	last = json_array_get(f.msgs, json_array_size(f.msgs) - 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(last, "errorDetail"),
							     "code")), 7);
	assert_string_equal(json_string_value(json_object_get(last, "error")), r.msg);
	assert_null(strstr(f.stream.data, "Successfully"));
	assert_null(strstr(f.stream.data, "Removing intermediate container"));
	assert_int_equal(f.n_run, 1);
	result_release(&r);
	fake_release(&f);
}

static void loop_other_failures(void **state)
{
	struct fake f;
	struct result r;

	(void)state;
	fake_init(&f, NULL, NULL);
	r = build(&f, "FROM nosuch\n", NULL, NULL, NULL, false);
	assert_int_equal(r.code, 1);
	assert_string_equal(r.msg, "Dockerfile:1: No such image: nosuch");
	result_release(&r);
	r = build(&f, "FROM busybox\nCOPY missing /x\n", NULL, NULL, NULL, false);
	assert_string_equal(r.msg, "Dockerfile:2: COPY failed: file not found in build context "
			    "or excluded by .dockerignore: stat missing: file does not exist");
	result_release(&r);
	r = build(&f, "FROM busybox\nCOPY notes.md /x\n", NULL, NULL, NULL, false);
	assert_int_equal(r.rc, -1);
	result_release(&r);
	r = build(&f, "FROM busybox\nCOPY main.c config.txt /x\n", NULL, NULL, NULL, false);
	assert_string_equal(r.msg, "Dockerfile:2: When using COPY with more than one source "
			    "file, the destination must be a directory and end with a /");
	result_release(&r);
	r = build(&f, "FROM scratch\n", NULL, NULL, NULL, false);
	assert_string_equal(r.msg, "No image was generated. Is your Dockerfile empty?");
	result_release(&r);
	r = build(&f, "FROM busybox\nFRM x\n", NULL, NULL, NULL, false);
	assert_string_equal(r.msg, "Dockerfile:2: unknown instruction: FRM");
	assert_int_equal(f.n_run + f.n_copy + f.n_commit, 0);
	result_release(&r);
	fake_release(&f);
}

static void loop_onbuild_triggers_and_scratch(void **state)
{
	struct fake f;
	struct result r;
	const json_t *cfg;

	(void)state;
	fake_init(&f, NULL, NULL);
	r = build(&f, "FROM onbuild-base\nRUN echo after\n", NULL, NULL, NULL, false);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(f.stream.data, "# Executing 2 build triggers\n"));
	assert_string_equal(f.runs[0], "/bin/sh -c echo triggered");
	assert_string_equal(f.runs[1], "/bin/sh -c echo after");
	cfg = image_config(&f, r.id);
	assert_null(json_object_get(cfg, "OnBuild"));
	assert_true(json_array_size(json_object_get(cfg, "Env")) == 2);
	result_release(&r);
	r = build(&f, "FROM scratch\nCOPY <<EOF /hello.txt\nhi $X\nEOF\nENV X=1\n", NULL, NULL,
		  NULL, false);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(f.stream.data, "Step 1/3 : FROM scratch\n ---> \n"));
	assert_string_equal(f.copies[0], "/hello.txt inline:EOF=hi \n");
	cfg = image_config(&f, r.id);
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "Env"), 0)),
			    "PATH=" HAMN_BUILD_DEFAULT_PATH);
	result_release(&r);
	fake_release(&f);
}

static void loop_add_history(void **state)
{
	struct fake f;
	struct result r;
	const char *cb;

	(void)state;
	fake_init(&f, NULL, NULL);
	r = build(&f, "FROM busybox\nARG OWNER=1\nWORKDIR /w\n"
		      "ADD --chown=${OWNER}:2 --chmod=640 main.c sub/\n", NULL, NULL, NULL, false);
	assert_int_equal(r.rc, 0);
	assert_string_equal(f.copies[0], "/w/sub/ main.c(0) extract chmod=640 chown=1:2");
	cb = json_string_value(json_object_get(json_object_get(f.images, r.id), "created_by"));
	assert_true(str_has_prefix(cb, "/bin/sh -c #(nop) ADD --chown=1:2file:"));
	assert_true(str_has_suffix(cb, " in /w/sub/ "));
	result_release(&r);
	fake_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(loop_first_build, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_second_build_all_cached, ctx_setup,
						ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_changed_file_invalidates_from_copy, ctx_setup,
						ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_no_cache_and_target, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_build_args, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_run_failure, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_other_failures, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_onbuild_triggers_and_scratch, ctx_setup,
						ctx_teardown),
		cmocka_unit_test_setup_teardown(loop_add_history, ctx_setup, ctx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

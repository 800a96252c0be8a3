/*
 * test_build_plan.c - src/build beyond the parser: selecting and hashing
 * context sources, the stage plan, build-argument scoping, cache keys,
 * and config mutation with docker's history strings. The builder loop is
 * in test_build_loop.c.
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

/* ---- a scratch context directory ---- */

static char ctx_path[64];
static int ctxfd = -1;

static void write_file(const char *name, const char *content, mode_t mode)
{
	struct hamn_error *err = NULL;

	if (hamn_write_atomic(ctxfd, name, content, strlen(content), mode, &err) < 0)
		fail_msg("write %s: %s", name, err->msg);
}

static int ctx_setup(void **state)
{
	struct hamn_error *err = NULL;

	(void)state;
	snprintf(ctx_path, sizeof(ctx_path), "/tmp/hamn-test-build-XXXXXX");
	if (!mkdtemp(ctx_path))
		return -1;
	ctxfd = open(ctx_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctxfd < 0 || hamn_mkdir_p(ctxfd, "dir/sub", 0755, &err) < 0)
		return -1;
	write_file("a.txt", "alpha\n", 0644);
	write_file("dir/b.txt", "beta\n", 0644);
	write_file("dir/sub/c.txt", "gamma\n", 0644);
	write_file("dir/skip.log", "noise\n", 0644);
	write_file("notes.md", "notes\n", 0644);
	write_file("main.c", "int main;\n", 0644);
	write_file("config.txt", "k=v\n", 0644);
	write_file(".dockerignore", "*.md\n**/*.log\n", 0644);
	if (symlinkat("/etc/passwd", ctxfd, "link_out") < 0 ||
	    symlinkat("a.txt", ctxfd, "link_in") < 0 || symlinkat("../../x", ctxfd, "dir/up") < 0)
		return -1;
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

static struct hamn_build_ignore *test_ignore(void)
{
	char *pats[] = { "*.md", "**/*.log", NULL };
	struct hamn_error *err = NULL;

	return hamn_build_ignore_new(pats, &err);
}

static void assert_args(char *const *args, ...)
{
	va_list ap;
	size_t i = 0;
	const char *want;

	va_start(ap, args);
	while ((want = va_arg(ap, const char *))) {
		if (!args || !args[i])
			fail_msg("argument %zu missing, expected '%s'", i, want);
		assert_string_equal(args[i], want);
		i++;
	}
	va_end(ap);
	if (args && args[i])
		fail_msg("unexpected argument %zu '%s'", i, args[i]);
}

/* ==== context ==== */

static void select_one(const struct hamn_build_ignore *ig, const char *pattern,
		       struct hamn_build_sources *out)
{
	char *pats[] = { (char *)pattern, NULL };
	struct hamn_error *err = NULL;

	if (hamn_build_sources_select(ctxfd, ig, pats, true, out, &err) < 0)
		fail_msg("select %s: %s", pattern, err->msg);
}

static void select_fails(const struct hamn_build_ignore *ig, const char *pattern, int errnum,
			 const char *msg)
{
	char *pats[] = { (char *)pattern, NULL };
	struct hamn_error *err = NULL;
	struct hamn_build_sources s;

	assert_int_equal(hamn_build_sources_select(ctxfd, ig, pats, true, &s, &err), -1);
	assert_int_equal(err->errnum, errnum);
	if (msg)
		assert_string_equal(err->msg, msg);
	hamn_error_free(&err);
}

static void context_select(void **state)
{
	struct hamn_build_ignore *ig = test_ignore();
	struct hamn_build_sources s;

	(void)state;
	select_one(ig, "/dir/", &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0].path, "dir");
	assert_true(S_ISDIR(s.v[0].mode));
	assert_args(s.v[0].entries, "b.txt", "sub", "sub/c.txt", "up", NULL);
	assert_true(str_has_prefix(s.v[0].hash, "dir:"));
	hamn_build_sources_release(&s);
	select_one(ig, "*.txt", &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].path, "a.txt");
	assert_string_equal(s.v[1].path, "config.txt");
	assert_true(str_has_prefix(s.v[0].hash, "file:"));
	hamn_build_sources_release(&s);
	select_one(ig, "link_out", &s);
	assert_true(S_ISLNK(s.v[0].mode));
	hamn_build_sources_release(&s);
	select_one(ig, "link_in", &s);
	assert_string_equal(s.v[0].path, "a.txt");
	assert_true(S_ISREG(s.v[0].mode));
	hamn_build_sources_release(&s);
	select_one(ig, "dir/up", &s);
	assert_true(S_ISLNK(s.v[0].mode));
	hamn_build_sources_release(&s);
	select_one(ig, ".", &s);
	assert_false(strv_contains(s.v[0].entries, "notes.md"));
	assert_false(strv_contains(s.v[0].entries, "dir/skip.log"));
	assert_true(strv_contains(s.v[0].entries, "dir/sub/c.txt"));
	hamn_build_sources_release(&s);
	select_fails(ig, "../x", EPERM, "forbidden path outside the build context: ../x");
	select_fails(ig, "nope", ENOENT, "file not found in build context or excluded by "
		     ".dockerignore: stat nope: file does not exist");
	select_fails(ig, "notes.md", ENOENT, NULL);
	select_fails(ig, "dir/skip.log", ENOENT, NULL);
	select_fails(ig, "*.nothing", ENOENT, "no source files were specified");
	select_fails(ig, "link_out/x", ENOENT, NULL);
	hamn_build_ignore_free(ig);
}

static char *hash_of(const struct hamn_build_ignore *ig, const char *pattern)
{
	struct hamn_build_sources s;
	char *h;

	select_one(ig, pattern, &s);
	h = xstrdup(s.v[0].hash);
	hamn_build_sources_release(&s);
	return h;
}

static void context_hash(void **state)
{
	struct hamn_build_ignore *ig = test_ignore();
	char *h1 = hash_of(ig, "dir"), *h2 = hash_of(ig, "dir"), *h3, *h4, *h5;
	struct timespec ts[2] = { { 12345, 0 }, { 12345, 0 } };

	(void)state;
	assert_string_equal(h1, h2);
	/* an ignored file and an mtime change leave the hash alone */
	write_file("dir/skip.log", "other noise\n", 0644);
	assert_int_equal(utimensat(ctxfd, "dir/b.txt", ts, 0), 0);
	h3 = hash_of(ig, "dir");
	assert_string_equal(h1, h3);
	/* mode and content do not */
	assert_int_equal(fchmodat(ctxfd, "dir/b.txt", 0600, 0), 0);
	h4 = hash_of(ig, "dir");
	assert_string_not_equal(h1, h4);
	assert_int_equal(fchmodat(ctxfd, "dir/b.txt", 0644, 0), 0);
	write_file("dir/b.txt", "BETA\n", 0644);
	h5 = hash_of(ig, "dir");
	assert_string_not_equal(h1, h5);
	write_file("dir/b.txt", "beta\n", 0644);
	free(h2);
	h2 = hash_of(ig, "dir");
	assert_string_equal(h1, h2);
	free(h1), free(h2), free(h3), free(h4), free(h5);
	hamn_build_ignore_free(ig);
}

static void context_list(void **state)
{
	char *pats[] = { "*.md", "Dockerfile", ".dockerignore", NULL };
	struct hamn_error *err = NULL;
	struct hamn_build_ignore *ig = hamn_build_ignore_new(pats, &err);
	char **all = NULL;

	(void)state;
	write_file("Dockerfile", "FROM x\n", 0644);
	assert_int_equal(hamn_build_context_list(ctxfd, ig, "Dockerfile", &all, &err), 0);
	assert_true(strv_contains(all, "Dockerfile"));
	assert_true(strv_contains(all, ".dockerignore"));
	assert_false(strv_contains(all, "notes.md"));
	assert_true(strv_contains(all, "dir/sub/c.txt"));
	hamn_strv_free(all);
	hamn_build_ignore_free(ig);
	assert_int_equal(unlinkat(ctxfd, "Dockerfile", 0), 0);
}

/* ==== plan, args, cache keys ==== */

static struct hamn_build_dockerfile *parse_ok(const char *text)
{
	struct hamn_error *err = NULL;
	struct hamn_build_dockerfile *df = hamn_build_dockerfile_parse(text, strlen(text),
								       "Dockerfile", &err);

	if (!df)
		fail_msg("parse: %s", err->msg);
	return df;
}

static const char plan_df[] = "ARG V=1\n"
			      "FROM busybox AS base\n"
			      "FROM base AS build\n"
			      "RUN make\n"
			      "FROM alpine AS unused\n"
			      "FROM busybox:$V AS final\n"
			      "COPY --from=build /a /a\n"
			      "COPY --from=0 /b /b\n";

static void plan_stages(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(plan_df);
	struct hamn_build_plan p;
	struct hamn_error *err = NULL;
	char *args[] = { "V=2", "HTTP_PROXY=http://proxy", NULL };

	(void)state;
	assert_int_equal(hamn_build_plan_make(df, NULL, NULL, 0, &p, &err), 0);
	assert_int_equal(p.target, 3);
	assert_true(p.needed[0] && p.needed[1] && p.needed[3]);
	assert_false(p.needed[2]);
	assert_int_equal(p.n_steps, 1 + 1 + 2 + 3);
	assert_int_equal(p.base_stage[1], 0);
	assert_int_equal(p.base_stage[3], -1);
	assert_args(p.meta_env, "V=1", NULL);
	hamn_build_plan_release(&p);
	assert_int_equal(hamn_build_plan_make(df, "BUILD", args, 2, &p, &err), 0);
	assert_int_equal(p.target, 1);
	assert_false(p.needed[3]);
	assert_int_equal(p.n_steps, 1 + 1 + 2 + 2);
	assert_args(p.meta_env, "V=2", "HTTP_PROXY=http://proxy", NULL);
	assert_args(p.used_args, "V", NULL);
	hamn_build_plan_release(&p);
	assert_int_equal(hamn_build_plan_make(df, "nope", NULL, 0, &p, &err), -1);
	assert_string_equal(err->msg, "failed to reach build target nope in Dockerfile");
	hamn_error_free(&err);
	hamn_build_dockerfile_free(df);
}

static void plan_bad_from_index(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok("FROM x AS a\nCOPY --from=1 /a /a\nFROM y\n");
	struct hamn_build_plan p;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_build_plan_make(df, NULL, NULL, 0, &p, &err), -1);
	assert_true(str_has_prefix(err->msg, "Dockerfile:2: invalid from flag value 1"));
	hamn_error_free(&err);
	hamn_build_dockerfile_free(df);
}

static void plan_from_stage_via_meta_arg(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok("ARG S=base\nFROM busybox AS base\n"
						    "FROM ${S}\n");
	struct hamn_build_plan p;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_build_plan_make(df, NULL, NULL, 0, &p, &err), 0);
	assert_int_equal(p.base_stage[1], 0);
	assert_true(p.needed[0]);
	hamn_build_plan_release(&p);
	hamn_build_dockerfile_free(df);
}

static void args_scoping(void **state)
{
	char *opts[] = { "A=fromcli", "HTTP_PROXY=p", "UNUSED=1", "NOVAL", NULL };
	char *meta[] = { "M=meta", NULL };
	char *env[] = { "B=envwins", "PATH=/bin", NULL };
	char *used[] = { "M", NULL };
	struct hamn_build_args *a = hamn_build_args_new(opts, meta);
	char **v;
	char *cb;

	(void)state;
	v = hamn_build_args_env(a, NULL);
	assert_args(v, "HTTP_PROXY=p", NULL);
	hamn_strv_free(v);
	hamn_build_args_declare(a, "A", "dflt");
	hamn_build_args_declare(a, "B", "b");
	hamn_build_args_declare(a, "M", NULL);
	hamn_build_args_declare(a, "C", NULL);
	hamn_build_args_declare(a, "NOVAL", "d");
	v = hamn_build_args_env(a, NULL);
	assert_args(v, "A=fromcli", "B=b", "HTTP_PROXY=p", "M=meta", "NOVAL=d", NULL);
	hamn_strv_free(v);
	v = hamn_build_args_env(a, env);
	assert_args(v, "A=fromcli", "HTTP_PROXY=p", "M=meta", "NOVAL=d", NULL);
	hamn_strv_free(v);
	v = hamn_build_args_recorded(a, env);
	assert_args(v, "A=fromcli", "M=meta", "NOVAL=d", NULL);
	char *argv[] = { "/bin/sh", "-c", "echo hi", NULL };
	cb = hamn_build_run_created_by(argv, v);
	assert_string_equal(cb, "|3 A=fromcli M=meta NOVAL=d /bin/sh -c echo hi");
	free(cb);
	hamn_strv_free(v);
	/* a declared builtin is recorded like any other arg */
	hamn_build_args_declare(a, "HTTP_PROXY", NULL);
	v = hamn_build_args_recorded(a, env);
	assert_true(strv_contains(v, "HTTP_PROXY=p"));
	hamn_strv_free(v);
	v = hamn_build_args_unused(a, used);
	assert_args(v, "UNUSED", NULL);
	hamn_strv_free(v);
	cb = hamn_build_run_created_by(argv, NULL);
	assert_string_equal(cb, "/bin/sh -c echo hi");
	free(cb);
	assert_true(hamn_build_arg_is_builtin("no_proxy"));
	assert_false(hamn_build_arg_is_builtin("PROXY"));
	hamn_build_args_free(a);
}

static void cache_key_stability(void **state)
{
	json_t *cfg = json_pack("{s:[s], s:s}", "Env", "PATH=/bin", "User", "app");
	json_t *cfg2 = json_pack("{s:s, s:[s]}", "User", "app", "Env", "PATH=/bin");
	char *args[] = { "A=1", NULL }, *args2[] = { "A=2", NULL };
	struct hamn_build_key_input in = { .parent = "sha256:aa", .instruction = "/bin/sh -c x",
					   .args = args, .config = cfg };
	struct hamn_digest k1, k2;

	(void)state;
	hamn_build_cache_key(&in, &k1);
	in.config = cfg2;
	hamn_build_cache_key(&in, &k2);
	assert_string_equal(k1.str, k2.str);	/* key order in the config does not matter */
	in.args = args2;
	hamn_build_cache_key(&in, &k2);
	assert_string_not_equal(k1.str, k2.str);
	in.args = args;
	in.parent = "sha256:ab";
	hamn_build_cache_key(&in, &k2);
	assert_string_not_equal(k1.str, k2.str);
	in.parent = "sha256:aa";
	in.content = "file:00";
	hamn_build_cache_key(&in, &k2);
	assert_string_not_equal(k1.str, k2.str);
	/* fields can not slide into each other */
	struct hamn_build_key_input a = { .parent = "ab", .instruction = "c" };
	struct hamn_build_key_input b = { .parent = "a", .instruction = "bc" };
	hamn_build_cache_key(&a, &k1);
	hamn_build_cache_key(&b, &k2);
	assert_string_not_equal(k1.str, k2.str);
	json_decref(cfg);
	json_decref(cfg2);
}

/* ==== config mutation ==== */

struct applied {
	json_t *config;
	struct hamn_build_stage_state st;
	char *history[32];
	size_t n;
};

/* Apply every instruction of the (single) stage of text to a config starting at initial. */
static void apply_all(struct applied *a, const char *text, const char *initial, char *const *env)
{
	struct hamn_build_dockerfile *df = parse_ok(text);
	struct hamn_error *err = NULL;
	json_error_t jerr;

	memset(a, 0, sizeof(*a));
	a->config = json_loads(initial, 0, &jerr);
	assert_non_null(a->config);
	for (size_t i = 0; i < df->stages[0].n_instrs; i++) {
		assert_true(a->n < 32);
		if (hamn_build_config_apply(a->config, &a->st, &df->stages[0].instrs[i], env,
					    df->escape, &a->history[a->n++], &err) < 0)
			fail_msg("apply '%s': %s", df->stages[0].instrs[i].text, err->msg);
	}
	hamn_build_dockerfile_free(df);
}

static void applied_release(struct applied *a)
{
	json_decref(a->config);
	hamn_build_stage_state_release(&a->st);
	for (size_t i = 0; i < a->n; i++)
		free(a->history[i]);
}

static void assert_json(const json_t *v, const char *want)
{
	char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (strcmp(got, want) != 0)
		fail_msg("got %s\nwant %s", got, want);
	free(got);
}

static void config_cmd_entrypoint(void **state)
{
	struct applied a;

	(void)state;
	apply_all(&a, "FROM x\n"
		      "ENTRYPOINT [\"/e\"]\n"
		      "CMD echo hi\n"
		      "CMD [\"echo\", \"a\\\"b\"]\n"
		      "ENTRYPOINT /run.sh\n",
		  "{\"Cmd\":[\"sh\"],\"ArgsEscaped\":true}", NULL);
	assert_json(json_object_get(a.config, "Cmd"), "[\"echo\",\"a\\\"b\"]");
	assert_json(json_object_get(a.config, "Entrypoint"), "[\"/bin/sh\",\"-c\",\"/run.sh\"]");
	assert_null(json_object_get(a.config, "ArgsEscaped"));
	assert_string_equal(a.history[0], "/bin/sh -c #(nop)  ENTRYPOINT [\"/e\"]");
	assert_string_equal(a.history[1],
			    "/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"echo hi\"]");
	assert_string_equal(a.history[2], "/bin/sh -c #(nop)  CMD [\"echo\" \"a\\\"b\"]");
	assert_string_equal(a.history[3],
			    "/bin/sh -c #(nop)  ENTRYPOINT [\"/bin/sh\" \"-c\" \"/run.sh\"]");
	applied_release(&a);
	/* ENTRYPOINT without a CMD in this stage drops the inherited Cmd */
	apply_all(&a, "FROM x\nENTRYPOINT [\"/e\"]\n", "{\"Cmd\":[\"sh\"]}", NULL);
	assert_json(json_object_get(a.config, "Cmd"), "null");
	applied_release(&a);
	apply_all(&a, "FROM x\nENTRYPOINT []\n", "{}", NULL);
	assert_json(json_object_get(a.config, "Entrypoint"), "[]");
	assert_string_equal(a.history[0], "/bin/sh -c #(nop)  ENTRYPOINT []");
	applied_release(&a);
}

static void config_env_label_user_workdir(void **state)
{
	char *env[] = { "A=old", "HOME=/root", NULL };
	struct applied a;

	(void)state;
	apply_all(&a, "FROM x\n"
		      "ENV A=1 B=$A C=\"x y\"\n"
		      "ENV OLD form value\n"
		      "LABEL version=\"1.0\" \"com.x\"=$HOME\n"
		      "USER ${HOME:+app}:1\n"
		      "WORKDIR /app\n"
		      "WORKDIR sub/../src\n"
		      "WORKDIR $HOME/x\n"
		      "MAINTAINER Jane <j@x>\n",
		  "{\"Env\":[\"PATH=/bin\",\"A=base\"]}", env);
	assert_json(json_object_get(a.config, "Env"),
		    "[\"PATH=/bin\",\"A=1\",\"B=old\",\"C=x y\",\"OLD=form value\"]");
	assert_json(json_object_get(a.config, "Labels"),
		    "{\"com.x\":\"/root\",\"version\":\"1.0\"}");
	assert_json(json_object_get(a.config, "User"), "\"app:1\"");
	assert_json(json_object_get(a.config, "WorkingDir"), "\"/root/x\"");
	assert_string_equal(a.history[0], "/bin/sh -c #(nop)  ENV A=1 B=old C=x y");
	assert_string_equal(a.history[1], "/bin/sh -c #(nop)  ENV OLD=form value");
	assert_string_equal(a.history[2], "/bin/sh -c #(nop)  LABEL version=1.0 com.x=/root");
	assert_string_equal(a.history[3], "/bin/sh -c #(nop)  USER app:1");
	assert_string_equal(a.history[4], "/bin/sh -c #(nop) WORKDIR /app");
	assert_string_equal(a.history[5], "/bin/sh -c #(nop) WORKDIR /app/src");
	assert_string_equal(a.history[7], "/bin/sh -c #(nop)  MAINTAINER Jane <j@x>");
	assert_string_equal(a.st.author, "Jane <j@x>");
	applied_release(&a);
}

static void config_expose_volume_signal(void **state)
{
	char *env[] = { "PORTS=8000-8001 53/UDP", NULL };
	struct applied a;
	struct hamn_error *err = NULL;

	(void)state;
	apply_all(&a, "FROM x\n"
		      "EXPOSE 80\n"
		      "EXPOSE $PORTS 443/tcp\n"
		      "VOLUME [\"/data\", \"/logs\"]\n"
		      "VOLUME /cache\n"
		      "STOPSIGNAL SIGKILL\n"
		      "STOPSIGNAL 15\n",
		  "{\"ExposedPorts\":{\"22/tcp\":{}}}", env);
	assert_json(json_object_get(a.config, "ExposedPorts"),
		    "{\"22/tcp\":{},\"443/tcp\":{},\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},"
		    "\"8001/tcp\":{}}");
	assert_json(json_object_get(a.config, "Volumes"),
		    "{\"/cache\":{},\"/data\":{},\"/logs\":{}}");
	assert_json(json_object_get(a.config, "StopSignal"), "\"15\"");
	assert_string_equal(a.history[0], "/bin/sh -c #(nop)  EXPOSE 80");
	assert_string_equal(a.history[1], "/bin/sh -c #(nop)  EXPOSE 8000-8001 53/UDP 443/tcp");
	assert_string_equal(a.history[2], "/bin/sh -c #(nop)  VOLUME [/data /logs]");
	assert_string_equal(a.history[4], "/bin/sh -c #(nop)  STOPSIGNAL SIGKILL");
	applied_release(&a);

	struct hamn_build_dockerfile *df = parse_ok("FROM x\nSTOPSIGNAL NOPE\nEXPOSE 80/xyz\n"
						    "EXPOSE 99999\nVOLUME $EMPTY\n");
	json_t *cfg = json_pack("{s:s}", "User", "keep");
	struct hamn_build_stage_state st = { 0 };
	char *hist = NULL;
	const char *want[] = { "STOPSIGNAL: Invalid signal: NOPE", "EXPOSE: invalid proto: xyz",
			       "EXPOSE: invalid containerPort: 99999",
			       "VOLUME: VOLUME specified can not be an empty string" };

	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(hamn_build_config_apply(cfg, &st, &df->stages[0].instrs[i], NULL,
							 '\\', &hist, &err), -1);
		assert_string_equal(err->msg, want[i]);
		hamn_error_free(&err);
	}
	assert_json(cfg, "{\"User\":\"keep\"}");	/* a failed step changes nothing */
	json_decref(cfg);
	hamn_build_dockerfile_free(df);
}

static void config_healthcheck(void **state)
{
	struct applied a;

	(void)state;
	apply_all(&a, "FROM x\n"
		      "HEALTHCHECK --interval=5m --timeout=3s --retries=3 CMD curl -f http://x/\n"
		      "HEALTHCHECK --start-period=1m30s CMD [\"/check\", \"-q\"]\n"
		      "HEALTHCHECK NONE\n",
		  "{}", NULL);
	assert_string_equal(a.history[0], "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" "
			    "\"curl -f http://x/\"] \"5m0s\" \"3s\" \"0s\" '\\x03'}");
	assert_string_equal(a.history[1], "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD\" \"/check\" "
			    "\"-q\"] \"0s\" \"0s\" \"1m30s\" '\\x00'}");
	assert_string_equal(a.history[2], "/bin/sh -c #(nop)  HEALTHCHECK &{[\"NONE\"] \"0s\" "
			    "\"0s\" \"0s\" '\\x00'}");
	assert_json(json_object_get(a.config, "Healthcheck"), "{\"Test\":[\"NONE\"]}");
	assert_string_equal(a.st.note, "Note: overriding previous HEALTHCHECK: [CMD /check -q]");
	applied_release(&a);
	apply_all(&a, "FROM x\nHEALTHCHECK --interval=30s --retries=7 CMD true\n", "{}", NULL);
	assert_json(json_object_get(a.config, "Healthcheck"),
		    "{\"Interval\":30000000000,\"Retries\":7,\"Test\":[\"CMD-SHELL\",\"true\"]}");
	assert_true(str_has_suffix(a.history[0], "\"30s\" \"0s\" \"0s\" '\\a'}"));
	applied_release(&a);
}

static void config_shell_onbuild_arg(void **state)
{
	char *env[] = { "V=2", NULL };
	struct applied a;

	(void)state;
	apply_all(&a, "FROM x\n"
		      "SHELL [\"/bin/bash\", \"-c\"]\n"
		      "CMD echo $0\n"
		      "ENV A=b\n"
		      "ONBUILD RUN echo triggered\n"
		      "ARG V X=$V\n",
		  "{}", env);
	assert_json(json_object_get(a.config, "Shell"), "[\"/bin/bash\",\"-c\"]");
	assert_json(json_object_get(a.config, "Cmd"), "[\"/bin/bash\",\"-c\",\"echo $0\"]");
	assert_json(json_object_get(a.config, "OnBuild"), "[\"RUN echo triggered\"]");
	assert_string_equal(a.history[0], "/bin/bash -c #(nop)  SHELL [/bin/bash -c]");
	assert_string_equal(a.history[2], "/bin/bash -c #(nop)  ENV A=b");
	assert_string_equal(a.history[3], "/bin/bash -c #(nop)  ONBUILD RUN echo triggered");
	assert_string_equal(a.history[4], "/bin/bash -c #(nop)  ARG V X=2");
	assert_true(a.st.cmd_set);
	applied_release(&a);
}

static void config_cmdline_and_workdir(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok("FROM x\n"
						    "RUN <<EOF\nset -e\necho one\nEOF\n"
						    "RUN cat <<A > /f && echo done\nline\nA\n"
						    "RUN [\"/bin/true\", \"x\"]\n");
	json_t *cfg = json_object();
	char **v;

	(void)state;
	v = hamn_build_cmdline(cfg, &df->stages[0].instrs[0]);
	assert_args(v, "/bin/sh", "-c", "set -e\necho one\n", NULL);
	hamn_strv_free(v);
	v = hamn_build_cmdline(cfg, &df->stages[0].instrs[1]);
	assert_args(v, "/bin/sh", "-c", "cat <<A > /f && echo done\nline\nA", NULL);
	hamn_strv_free(v);
	v = hamn_build_cmdline(cfg, &df->stages[0].instrs[2]);
	assert_args(v, "/bin/true", "x", NULL);
	hamn_strv_free(v);
	json_decref(cfg);
	hamn_build_dockerfile_free(df);

	char *w = hamn_build_workdir("/a", "/b/");
	assert_string_equal(w, "/b/");
	free(w);
	w = hamn_build_workdir("", "x");
	assert_string_equal(w, "/x");
	free(w);
	w = hamn_build_workdir("/a/b", "../c/./d/");
	assert_string_equal(w, "/a/c/d");
	free(w);
	w = hamn_build_workdir(NULL, "../../x");
	assert_string_equal(w, "/x");
	free(w);
}

static void go_quote_strings(void **state)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	(void)state;
	hamn_build_go_quote(&b, "a\"b\\c\n\t\x01\x7f \xc3\xa9 \xff");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\t\\x01\\x7f \xc3\xa9 \\xff\"");
	hamn_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(context_select, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(context_hash, ctx_setup, ctx_teardown),
		cmocka_unit_test_setup_teardown(context_list, ctx_setup, ctx_teardown),
		cmocka_unit_test(plan_stages),
		cmocka_unit_test(plan_bad_from_index),
		cmocka_unit_test(plan_from_stage_via_meta_arg),
		cmocka_unit_test(args_scoping),
		cmocka_unit_test(cache_key_stability),
		cmocka_unit_test(config_cmd_entrypoint),
		cmocka_unit_test(config_env_label_user_workdir),
		cmocka_unit_test(config_expose_volume_signal),
		cmocka_unit_test(config_healthcheck),
		cmocka_unit_test(config_shell_onbuild_arg),
		cmocka_unit_test(config_cmdline_and_workdir),
		cmocka_unit_test(go_quote_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

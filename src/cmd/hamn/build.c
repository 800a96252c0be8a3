/*
 * build.c - `hamn build`: send a context tar to POST /build (the classic
 * builder's API) and print the daemon's progress as docker does.
 *
 * The context is the directory's files minus what .dockerignore excludes
 * (matched with src/build's own rules, so the CLI and the builder agree),
 * written as a tar by a second thread into a pipe the request streams from.
 * Entries are sent as root's (0:0), as docker's CLI sends them. A
 * Dockerfile outside the context (-f ../x, -f -) is added under a random
 * name that .dockerignore then hides from COPY, again as docker does.
 */
#include "cli.h"
#include "build/build.h"
#include "tarw.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

struct build_opts {
	char **tags, **args, **labels;
	const char *file, *target, *iidfile, *network;
	bool no_cache, quiet, rm, force_rm;
	const char *context;
};

/* ---- the context tar ---- */

struct ctx_job {
	int ctxfd;		/* the context directory, or -1 */
	char **paths;		/* what to send from it */
	char *df_name;		/* the Dockerfile's name in the tar */
	char *df_data;		/* its content when it comes from outside the context */
	char *ignore_data;	/* a replacement .dockerignore, or NULL */
	char *raw;		/* stdin that already is a (maybe compressed) tar */
	size_t raw_len;
	int out;		/* the pipe's write end (closed by the thread) */
	int rc;
	struct hamn_error *err;
};

static int send_path(struct tarw *t, int ctxfd, const char *path, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;
	char link[PATH_MAX];
	struct stat st;
	ssize_t n = -1;

	if (fstatat(ctxfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hamn_error_set(err, errno, "stat '%s'", path);
	if (S_ISREG(st.st_mode)) {
		fd = openat(ctxfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return hamn_error_set(err, errno, "open '%s'", path);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlinkat(ctxfd, path, link, sizeof(link) - 1);
		if (n < 0)
			return hamn_error_set(err, errno, "readlink '%s'", path);
		link[n] = '\0';
	}
	return tarw_add(t, path, &st, fd, n >= 0 ? link : NULL, err);
}

static int write_context(struct ctx_job *j, struct hamn_error **err)
{
	struct tarw t = { .fd = j->out };

	if (j->raw)
		return hamn_write_all(j->out, j->raw, j->raw_len, err);
	for (size_t i = 0; j->paths && j->paths[i]; i++) {
		if (j->ignore_data && streq(j->paths[i], ".dockerignore"))
			continue;
		if (send_path(&t, j->ctxfd, j->paths[i], err) < 0)
			return -1;
	}
	if (j->df_data && tarw_add_data(&t, j->df_name, j->df_data, strlen(j->df_data), err) < 0)
		return -1;
	if (j->ignore_data &&
	    tarw_add_data(&t, ".dockerignore", j->ignore_data, strlen(j->ignore_data), err) < 0)
		return -1;
	return tarw_finish(&t, err);
}

static void *context_main(void *arg)
{
	struct ctx_job *j = arg;

	j->rc = write_context(j, &j->err);
	close(j->out);
	return NULL;
}

static void ctx_job_release(struct ctx_job *j)
{
	if (j->ctxfd >= 0)
		close(j->ctxfd);
	hamn_strv_free(j->paths);
	free(j->df_name);
	free(j->df_data);
	free(j->ignore_data);
	free(j->raw);
	hamn_error_free(&j->err);
}

static char *random_name(void)
{
	unsigned char rnd[10];
	char hex[21];

	hamn_random_bytes(rnd, sizeof(rnd));
	hamn_hex(rnd, sizeof(rnd), hex);
	return xasprintf(".dockerfile.%s", hex);
}

/* Is the Dockerfile path inside the context? Then *rel gets its path there. */
static bool inside(const char *ctxdir, const char *file, char **rel)
{
	_cleanup_free_ char *c = realpath(ctxdir, NULL), *f = realpath(file, NULL);
	size_t n;

	if (!c || !f)
		return false;
	n = strlen(c);
	if (strncmp(c, f, n) != 0 || (f[n] != '/' && !streq(c, "/")))
		return false;
	*rel = xstrdup(f + n + (streq(c, "/") ? 0 : 1));
	return true;
}

static int read_stdin(char **out, size_t *len, struct hamn_error **err)
{
	return hamn_read_fd(STDIN_FILENO, (size_t)8 << 30, out, len, err);
}

/* Outside Dockerfile: send it under a random name that .dockerignore hides. */
static int outside_dockerfile(struct ctx_job *j, const char *file, struct hamn_error **err)
{
	_cleanup_free_ char *old = NULL;
	size_t len = 0;
	struct hamn_error *e = NULL;

	if (streq(file, "-") ? read_stdin(&j->df_data, &len, err) < 0
			     : hamn_read_file(AT_FDCWD, file, HAMN_BUILD_DOCKERFILE_MAX,
					      &j->df_data, &len, err) < 0)
		return hamn_error_wrap(err, "read the Dockerfile");
	j->df_name = random_name();
	if (hamn_read_file(j->ctxfd, ".dockerignore", HAMN_BUILD_DOCKERFILE_MAX, &old, &len,
			   &e) < 0)
		hamn_error_free(&e);
	j->ignore_data = xasprintf("%s%s.dockerignore\n%s\n", old ? old : "",
				   old && len && old[len - 1] != '\n' ? "\n" : "", j->df_name);
	return 0;
}

static int list_context(struct ctx_job *j, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_ char **pats = NULL;
	struct hamn_build_ignore *ig = NULL;
	struct hamn_error *e = NULL;
	size_t len = 0;
	int rc;

	if (hamn_read_file(j->ctxfd, ".dockerignore", HAMN_BUILD_DOCKERFILE_MAX, &text, &len,
			   &e) < 0) {
		if (e->errnum != ENOENT)
			return hamn_error_propagate(err, &e);
		hamn_error_free(&e);
	}
	pats = hamn_build_ignore_read(text ? text : "", len);
	ig = hamn_build_ignore_new(pats, err);
	if (!ig)
		return hamn_error_wrap(err, ".dockerignore");
	rc = hamn_build_context_list(j->ctxfd, ig, j->df_data ? NULL : j->df_name, &j->paths, err);
	hamn_build_ignore_free(ig);
	return rc;
}

/* Does data start like a tar archive (or a compressed stream)? */
static bool looks_like_tar(const char *d, size_t n)
{
	return (n >= 262 && memcmp(d + 257, "ustar", 5) == 0) ||
	       (n >= 2 && (unsigned char)d[0] == 0x1f && (unsigned char)d[1] == 0x8b) ||
	       (n >= 4 && memcmp(d, "\xfd" "7zX", 4) == 0) ||
	       (n >= 4 && memcmp(d, "\x28\xb5\x2f\xfd", 4) == 0);
}

static int stdin_context(struct ctx_job *j, struct hamn_error **err)
{
	if (read_stdin(&j->raw, &j->raw_len, err) < 0)
		return hamn_error_wrap(err, "read the context from stdin");
	if (looks_like_tar(j->raw, j->raw_len))
		return 0;
	/* not a tar: stdin is the Dockerfile, and there is no context */
	j->df_data = steal_pointer(&j->raw);
	j->df_name = xstrdup("Dockerfile");
	return 0;
}

static int prepare_context(const struct build_opts *o, struct ctx_job *j, struct hamn_error **err)
{
	_cleanup_free_ char *rel = NULL, *dflt = NULL;

	j->ctxfd = -1;
	if (streq(o->context, "-")) {
		if (o->file && streq(o->file, "-"))
			return hamn_error_setq(err, EINVAL, "invalid argument: can't use stdin for "
					       "both build context and dockerfile");
		return stdin_context(j, err);
	}
	j->ctxfd = open(o->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->ctxfd < 0)
		return hamn_error_set(err, errno, "unable to prepare context: path '%s'",
				      o->context);
	if (!o->file)
		j->df_name = xstrdup("Dockerfile");
	else if (!streq(o->file, "-") && inside(o->context, o->file, &rel))
		j->df_name = steal_pointer(&rel);
	else if (outside_dockerfile(j, o->file, err) < 0)
		return -1;
	return list_context(j, err);
}

/* ---- the request ---- */

static void add_map(struct hamn_buf *q, const char *key, char *const *kv, bool from_env)
{
	_cleanup_json_ json_t *m = json_object();
	_cleanup_free_ char *text = NULL, *enc = NULL;

	if (!kv || !kv[0])
		return;
	for (size_t i = 0; kv[i]; i++) {
		const char *eq = strchr(kv[i], '=');
		_cleanup_free_ char *k = eq ? xstrndup(kv[i], (size_t)(eq - kv[i])) : xstrdup(kv[i]);
		const char *env = !eq && from_env ? getenv(k) : NULL;

		json_object_set_new(m, k, eq ? json_string(eq + 1)
					  : env ? json_string(env) : from_env ? json_null()
									      : json_string(""));
	}
	text = hamn_json_dump(m);
	enc = hamn_client_urlencode(text);
	hamn_buf_printf(q, "&%s=%s", key, enc);
}

static void add_param(struct hamn_buf *q, const char *key, const char *value)
{
	_cleanup_free_ char *enc = NULL;

	if (!value)
		return;
	enc = hamn_client_urlencode(value);
	hamn_buf_printf(q, "&%s=%s", key, enc);
}

static char *build_query(const struct build_opts *o, const struct ctx_job *j)
{
	struct hamn_buf q = HAMN_BUF_INIT;

	hamn_buf_puts(&q, "/build?version=1");
	add_param(&q, "dockerfile", j->df_name);
	for (size_t i = 0; o->tags && o->tags[i]; i++)
		add_param(&q, "t", o->tags[i]);
	add_map(&q, "buildargs", o->args, true);
	add_map(&q, "labels", o->labels, false);
	add_param(&q, "target", o->target);
	add_param(&q, "networkmode", o->network);
	if (o->no_cache)
		hamn_buf_puts(&q, "&nocache=1");
	if (o->quiet)
		hamn_buf_puts(&q, "&q=1");
	hamn_buf_printf(&q, "&rm=%d&forcerm=%d", o->rm, o->force_rm);
	return hamn_buf_steal(&q);
}

/* ---- the progress stream ---- */

struct progress {
	struct hamn_buf pending;
	bool quiet;
	struct hamn_buf held;	/* -q: the output, shown only when the build fails */
	char *id;
	char *error;
	int code;
};

static void progress_message(void *ctx, json_t *m)
{
	struct progress *p = ctx;
	const char *stream = json_string_value(json_object_get(m, "stream"));
	const char *error = json_string_value(json_object_get(m, "error"));
	json_t *detail = json_object_get(m, "errorDetail");
	const char *id = json_string_value(json_object_get(json_object_get(m, "aux"), "ID"));

	if (id) {
		free(p->id);
		p->id = xstrdup(id);
	}
	if (stream && p->quiet) {
		hamn_buf_puts(&p->held, stream);
	} else if (stream) {
		fputs(stream, stdout);
		fflush(stdout);
	}
	if (error || detail) {
		const char *msg = json_string_value(json_object_get(detail, "message"));

		free(p->error);
		p->error = xstrdup(msg ? msg : error ? error : "the build failed");
		p->code = (int)json_integer_value(json_object_get(detail, "code"));
	}
}

static int progress_data(void *ctx, const char *data, size_t len)
{
	struct progress *p = ctx;

	return cli_json_lines(&p->pending, data, len, progress_message, p);
}

static void progress_release(struct progress *p)
{
	hamn_buf_release(&p->pending);
	hamn_buf_release(&p->held);
	free(p->id);
	free(p->error);
}

static int finish(const struct build_opts *o, struct progress *p)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	progress_data(p, "\n", 1);
	if (p->error) {
		if (p->quiet && p->held.len)
			fwrite(p->held.data, 1, p->held.len, stderr);
		fprintf(stderr, "%s\n", p->error);
		return p->code > 0 ? p->code : 1;
	}
	if (!p->id) {
		cli_errorf("the daemon did not report the image it built");
		return 1;
	}
	if (o->quiet)
		printf("%s\n", p->id);
	if (o->iidfile && hamn_write_atomic(AT_FDCWD, o->iidfile, p->id, strlen(p->id), 0644,
					     &err) < 0) {
		cli_error(err);
		return 1;
	}
	return 0;
}

static int run_build(struct cli *cli, const struct build_opts *o, struct ctx_job *j)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = build_query(o, j);
	struct progress p = { .quiet = o->quiet };
	struct hamn_client *c = cli_client(cli);
	pthread_t thread;
	int pfd[2], status = 0, rc;

	if (!c)
		return CLI_EXIT_ERROR;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		cli_errorf("pipe: %s", strerror(errno));
		return 1;
	}
	/* a bigger pipe: fewer wake-ups between the tar thread and the sender */
	(void)fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
	j->out = pfd[1];
	if ((rc = pthread_create(&thread, NULL, context_main, j)) != 0) {
		cli_errorf("start a thread: %s", strerror(rc));
		close(pfd[0]);
		close(pfd[1]);
		return 1;
	}
	struct hamn_client_stream req = {
		.method = "POST", .path = path, .content_type = "application/x-tar",
		.body_fd = pfd[0], .on_data = progress_data, .ctx = &p,
	};
	rc = hamn_client_stream(c, &req, &status, &err);
	close(pfd[0]); /* a writer still going stops with EPIPE */
	pthread_join(thread, NULL);
	if (rc == 0 && j->rc < 0) {
		cli_error(j->err);
		rc = 1;
	} else if (rc < 0) {
		cli_error(err);
		rc = 1;
	} else {
		rc = finish(o, &p);
	}
	progress_release(&p);
	return rc;
}

/* ---- options ---- */

static int parse_opts(int argc, char **argv, struct build_opts *o)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "build-arg", required_argument, NULL, 'A' },
		{ "label", required_argument, NULL, 'L' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "target", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "iidfile", required_argument, NULL, 'I' },
		{ "rm", optional_argument, NULL, 'R' },
		{ "force-rm", no_argument, NULL, 'F' },
		{ "network", required_argument, NULL, 'n' },
		{ "pull", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->rm = true;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "t:f:q", opts, NULL)) != -1) {
		if (opt == 't')
			strv_push(&o->tags, optarg);
		else if (opt == 'A')
			strv_push(&o->args, optarg);
		else if (opt == 'L')
			strv_push(&o->labels, optarg);
		else if (opt == 'f')
			o->file = optarg;
		else if (opt == 'T')
			o->target = optarg;
		else if (opt == 'I')
			o->iidfile = optarg;
		else if (opt == 'n')
			o->network = optarg;
		else if (opt == 'N')
			o->no_cache = true;
		else if (opt == 'q')
			o->quiet = true;
		else if (opt == 'F')
			o->force_rm = true;
		else if (opt == 'R')
			o->rm = !optarg || !(streq(optarg, "false") || streq(optarg, "0"));
		else if (opt != 'P')	/* --pull: base images are never pulled by a build */
			return -1;
	}
	if (optind + 1 != argc) {
		cli_errorf("\"hamn build\" requires exactly 1 argument.");
		return -1;
	}
	o->context = argv[optind];
	return 0;
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	struct build_opts o = { 0 };
	struct ctx_job j = { .ctxfd = -1, .out = -1 };
	_cleanup_error_ struct hamn_error *err = NULL;
	int rc = 1;

	o.tags = xcalloc(1, sizeof(char *));
	o.args = xcalloc(1, sizeof(char *));
	o.labels = xcalloc(1, sizeof(char *));
	/* the daemon may stop reading the context early: a write error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (parse_opts(argc, argv, &o) < 0)
		goto out;
	if (o.iidfile && unlink(o.iidfile) < 0 && errno != ENOENT) {
		cli_errorf("remove '%s': %s", o.iidfile, strerror(errno));
		goto out;
	}
	if (prepare_context(&o, &j, &err) < 0) {
		cli_error(err);
		goto out;
	}
	rc = run_build(cli, &o, &j);
out:
	ctx_job_release(&j);
	hamn_strv_free(o.tags);
	hamn_strv_free(o.args);
	hamn_strv_free(o.labels);
	return rc;
}

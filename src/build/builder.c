/*
 * builder.c - the build loop: parse, plan, build each needed stage step by
 * step through the daemon's ops, tag, and speak docker's progress stream
 * the whole time.
 *
 * It never runs anything itself and never touches an image: RUN, COPY/ADD
 * and config-only steps are ops->run, ops->copy and ops->commit, so the
 * loop can be tested with a fake. What it does not do: parallel stages,
 * BuildKit's cache mounts and secrets, ADD of URLs.
 */
#include "build/internal.h"
#include "oci/reference.h"

/* ---- the progress stream ---- */

/* A JSON string of s (len bytes) with invalid UTF-8 replaced by U+FFFD. */
static json_t *json_text(const char *s, size_t len)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	json_t *j;

	if (hamn_utf8_valid(s, len))
		return json_stringn(s, len);
	for (size_t i = 0; i < len; i++) {
		size_t n = 1;

		while (n <= 4 && i + n <= len && !hamn_utf8_valid(s + i, n))
			n++;
		if (n <= 4 && i + n <= len && (unsigned char)s[i] >= 0x80) {
			hamn_buf_append(&b, s + i, n);
			i += n - 1;
		} else if ((unsigned char)s[i] < 0x80) {
			hamn_buf_putc(&b, s[i]);
		} else {
			hamn_buf_puts(&b, "\xef\xbf\xbd");
		}
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	hamn_buf_release(&b);
	return j;
}

static void emit_stream(struct hamn_build_out *o, const char *s, size_t len)
{
	json_t *msg = json_object();

	json_object_set_new(msg, "stream", json_text(s, len));
	o->ops->emit(o->ctx, msg);
	json_decref(msg);
}

void out_stream(struct hamn_build_out *o, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	emit_stream(o, s, strlen(s));
}

void hamn_build_out_write(struct hamn_build_out *o, const char *data, size_t len)
{
	if (len > 0)
		emit_stream(o, data, len);
}

const char *short_id(const char *id, char buf[13])
{
	if (!id)
		return "";
	if (str_has_prefix(id, "sha256:"))
		id += 7;
	snprintf(buf, 13, "%s", id);
	return buf;
}

void hamn_build_out_running(struct hamn_build_out *o, const char *container_id)
{
	char s[13];

	free(o->running);
	o->running = xstrdup(container_id);
	out_stream(o, " ---> Running in %s\n", short_id(container_id, s));
}

static void emit_aux(struct builder *b, const char *id)
{
	json_t *msg = json_pack("{s:{s:s}}", "aux", "ID", id);

	b->ops->emit(b->ctx, msg);
	json_decref(msg);
}

static void emit_error(struct builder *b, const char *msg, int code)
{
	json_t *detail = json_object(), *m = json_object();

	if (code)
		json_object_set_new(detail, "code", json_integer(code));
	json_object_set_new(detail, "message", json_text(msg, strlen(msg)));
	json_object_set_new(m, "errorDetail", detail);
	json_object_set_new(m, "error", json_text(msg, strlen(msg)));
	b->ops->emit(b->ctx, m);
	json_decref(m);
}

/* "Step 3/7 : RUN make" as docker sends it: the text, then the newline on its own. */
static void print_step(struct builder *b, const struct hamn_build_instr *ins)
{
	out_stream(&b->out, "Step %zu/%zu : %s", ++b->step, b->plan.n_steps, ins->text);
	out_stream(&b->out, "\n");
}

/* ---- stages ---- */

static void stage_run_release(struct stage_run *sr)
{
	free(sr->image);
	json_decref(sr->config);
	hamn_build_stage_state_release(&sr->st);
	hamn_build_args_free(sr->args);
}

/* docker's setDefaultPath: every stage has a PATH. */
static void default_path(json_t *config)
{
	json_t *env = json_object_get(config, "Env"), *e;
	size_t i;

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	json_array_foreach(env, i, e)
		if (json_string_value(e) && str_has_prefix(json_string_value(e), "PATH="))
			return;
	json_array_append_new(env, json_string("PATH=" HAMN_BUILD_DEFAULT_PATH));
}

static int resolve_base(struct builder *b, struct stage_run *sr, struct hamn_error **err)
{
	const struct hamn_build_stage *st = &b->df->stages[sr->index];
	ssize_t dep = b->plan.base_stage[sr->index];
	const char *pf = hamn_build_instr_flag(&st->from, "platform", NULL);
	_cleanup_free_ char *name = NULL, *platform = NULL;
	json_t *cfg = NULL;

	if (hamn_build_expand_word(st->base, b->plan.meta_env, b->df->escape, &name, err) < 0)
		return -1;
	if (pf && hamn_build_expand_word(pf, b->plan.meta_env, b->df->escape, &platform, err) < 0)
		return -1;
	if (!*name)
		return hamn_error_setq(err, EINVAL, "base name (%s) should not be blank", st->base);
	if (dep >= 0) {
		sr->image = b->results[dep].image ? xstrdup(b->results[dep].image) : NULL;
		cfg = json_deep_copy(b->results[dep].config);
	} else if (strcasecmp(name, "scratch") != 0) {
		if (b->ops->resolve_image(b->ctx, name, platform ? platform : b->opts->platform,
					  &sr->image, &cfg, err) < 0)
			return -1;
	}
	sr->config = json_is_object(cfg) ? cfg : json_object();
	if (cfg && !json_is_object(cfg))
		json_decref(cfg);
	default_path(sr->config);
	return 0;
}

/* docker's dispatchTriggeredOnBuild: the base image's ONBUILD triggers run first. */
static int run_triggers(struct builder *b, struct stage_run *sr, struct hamn_error **err)
{
	_cleanup_strv_ char **triggers = NULL;
	size_t n;

	hamn_json_get_strv_opt(sr->config, "OnBuild", "OnBuild", &triggers, NULL);
	json_object_del(sr->config, "OnBuild");
	n = strv_len(triggers);
	if (n == 0)
		return 0;
	out_stream(&b->out, "# Executing %zu build trigger%s\n", n, n > 1 ? "s" : "");
	for (size_t i = 0; i < n; i++) {
		struct hamn_build_instr ins;
		int r;

		if (hamn_build_instr_parse(triggers[i], b->df->escape, &ins, err) < 0)
			return hamn_error_wrap(err, "ONBUILD trigger '%s'", triggers[i]);
		r = step_dispatch(b, sr, &ins, err);
		hamn_build_instr_release(&ins);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int instr_failed(struct builder *b, const struct hamn_build_instr *ins,
			struct hamn_error **err)
{
	/* a failed RUN is reported in docker's words, with no location */
	if (b->code || ins->line == 0)
		return -1;
	return hamn_error_wrap(err, "%s:%d", b->df->filename, ins->line);
}

static int run_instrs(struct builder *b, struct stage_run *sr, const struct hamn_build_instr *v,
		      size_t n, struct hamn_error **err)
{
	char s[13];

	for (size_t i = 0; i < n; i++) {
		print_step(b, &v[i]);
		if (step_dispatch(b, sr, &v[i], err) < 0)
			return instr_failed(b, &v[i], err);
		out_stream(&b->out, " ---> %s\n", short_id(sr->image, s));
	}
	return 0;
}

static int build_stage(struct builder *b, size_t index, struct hamn_error **err)
{
	const struct hamn_build_stage *st = &b->df->stages[index];
	struct stage_run sr = { .index = index };
	char s[13];
	int rc = -1;

	sr.args = hamn_build_args_new(b->opts->build_args, b->plan.meta_env);
	print_step(b, &st->from);
	if (resolve_base(b, &sr, err) < 0 || run_triggers(b, &sr, err) < 0) {
		instr_failed(b, &st->from, err);
		goto out;
	}
	out_stream(&b->out, " ---> %s\n", short_id(sr.image, s));
	if (run_instrs(b, &sr, st->instrs, st->n_instrs, err) < 0)
		goto out;
	if (index == b->plan.target && run_instrs(b, &sr, b->labels, b->n_labels, err) < 0)
		goto out;
	if (sr.image)
		emit_aux(b, sr.image);
	b->results[index].built = true;
	b->results[index].image = steal_pointer(&sr.image);
	b->results[index].config = steal_pointer(&sr.config);
	rc = 0;
out:
	stage_run_release(&sr);
	return rc;
}

/* ---- the whole build ---- */

/* --label k=v: one literal LABEL per label, sorted, added to the target stage. */
static void make_labels(struct builder *b)
{
	_cleanup_strv_ char **sorted = strv_copy(b->opts->labels);

	strv_sort(sorted);
	b->n_labels = strv_len(sorted);
	b->labels = xcalloc(b->n_labels + 1, sizeof(*b->labels));
	for (size_t i = 0; i < b->n_labels; i++) {
		struct hamn_build_instr *l = &b->labels[i];
		const char *eq = strchr(sorted[i], '=');

		l->cmd = HAMN_BUILD_LABEL;
		l->literal = true;
		l->text = xasprintf("LABEL %s", sorted[i]);
		l->args = xzalloc(sizeof(char *));
		strv_push_take(&l->args, eq ? xstrndup(sorted[i], (size_t)(eq - sorted[i]))
					    : xstrdup(sorted[i]));
		strv_push(&l->args, eq ? eq + 1 : "");
	}
}

static int read_ignore(struct builder *b, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_ char **pats = NULL;
	_cleanup_error_ struct hamn_error *e = NULL;
	size_t len;

	if (b->opts->ctxfd < 0)
		return 0;
	if (hamn_read_file(b->opts->ctxfd, ".dockerignore", HAMN_BUILD_DOCKERFILE_MAX, &text, &len,
			   &e) < 0) {
		if (e->errnum == ENOENT)
			return 0;
		return hamn_error_propagate(err, &e);
	}
	pats = hamn_build_ignore_read(text, len);
	b->ig = hamn_build_ignore_new(pats, err);
	return b->ig ? 0 : hamn_error_wrap(err, ".dockerignore");
}

static int check_tags(struct builder *b, struct hamn_error **err)
{
	for (size_t i = 0; b->opts->tags && b->opts->tags[i]; i++) {
		_cleanup_free_ char *n = hamn_ref_normalize(b->opts->tags[i], err);

		if (!n)
			return hamn_error_wrap(err, "invalid tag '%s'", b->opts->tags[i]);
	}
	return 0;
}

static int prepare(struct builder *b, struct hamn_error **err)
{
	const struct hamn_build_options *o = b->opts;

	if (!o->dockerfile)
		return hamn_error_setq(err, EINVAL, "no Dockerfile to build");
	if (check_tags(b, err) < 0)
		return -1;
	b->df = hamn_build_dockerfile_parse(o->dockerfile, o->dockerfile_len,
					    o->dockerfile_name ? o->dockerfile_name : "Dockerfile",
					    err);
	if (!b->df || read_ignore(b, err) < 0)
		return -1;
	for (size_t i = 0; b->df->warnings[i]; i++)
		out_stream(&b->out, "%s\n", b->df->warnings[i]);
	make_labels(b);
	if (hamn_build_plan_make(b->df, o->target, o->build_args, b->n_labels, &b->plan, err) < 0)
		return -1;
	b->results = xcalloc(b->df->n_stages, sizeof(*b->results));
	b->used_args = strv_copy(b->plan.used_args);
	return 0;
}

static void warn_unused(struct builder *b)
{
	struct hamn_build_args *a = hamn_build_args_new(b->opts->build_args, NULL);
	_cleanup_strv_ char **unused = hamn_build_args_unused(a, b->used_args);

	if (unused[0]) {
		struct hamn_buf s = HAMN_BUF_INIT;

		go_slice(&s, unused);
		out_stream(&b->out, "[Warning] One or more build-args %s were not consumed\n",
			   s.data);
		hamn_buf_release(&s);
	}
	hamn_build_args_free(a);
}

static int finish_build(struct builder *b, char **image_id, struct hamn_error **err)
{
	const char *id = b->results[b->plan.target].image;
	char s[13];

	warn_unused(b);
	if (!id)
		return hamn_error_setq(err, EINVAL, "No image was generated. Is your Dockerfile "
				       "empty?");
	out_stream(&b->out, "Successfully built %s\n", short_id(id, s));
	for (size_t i = 0; b->opts->tags && b->opts->tags[i]; i++) {
		_cleanup_free_ char *full = hamn_ref_normalize(b->opts->tags[i], err);
		_cleanup_free_ char *fam = NULL;

		if (!full || b->ops->tag(b->ctx, id, b->opts->tags[i], err) < 0)
			return -1;
		fam = hamn_ref_familiarize(full);
		out_stream(&b->out, "Successfully tagged %s\n", fam);
	}
	*image_id = xstrdup(id);
	return 0;
}

static int build_all(struct builder *b, char **image_id, struct hamn_error **err)
{
	if (prepare(b, err) < 0)
		return -1;
	for (size_t i = 0; i < b->df->n_meta_args; i++)
		print_step(b, &b->df->meta_args[i]);
	for (size_t i = 0; i <= b->plan.target; i++)
		if (b->plan.needed[i] && build_stage(b, i, err) < 0)
			return -1;
	return finish_build(b, image_id, err);
}

static void builder_release(struct builder *b)
{
	for (size_t i = 0; b->results && i < b->df->n_stages; i++) {
		free(b->results[i].image);
		json_decref(b->results[i].config);
	}
	free(b->results);
	for (size_t i = 0; i < b->n_labels; i++)
		hamn_build_instr_release(&b->labels[i]);
	free(b->labels);
	hamn_strv_free(b->used_args);
	hamn_build_plan_release(&b->plan);
	hamn_build_ignore_free(b->ig);
	hamn_build_dockerfile_free(b->df);
	free(b->out.running);
}

int hamn_build_run(const struct hamn_build_ops *ops, void *ctx,
		   const struct hamn_build_options *opts, char **image_id, int *code,
		   struct hamn_error **err)
{
	struct builder b = { .ops = ops, .ctx = ctx, .opts = opts };
	int rc;

	b.out.ops = ops;
	b.out.ctx = ctx;
	*image_id = NULL;
	*code = 0;
	rc = build_all(&b, image_id, err);
	if (rc < 0) {
		*code = b.code ? b.code : 1;
		emit_error(&b, (*err)->msg, b.code);
	}
	builder_release(&b);
	return rc;
}

/*
 * plan.c - the build plan: meta ARGs, which stages the target needs (FROM
 * <stage> and COPY --from=<stage|index>), step numbering; docker's
 * build-argument scoping (BuildArgs); and the cache key of a step.
 *
 * Unlike docker's classic builder, stages the target does not need are
 * skipped (as BuildKit does).
 */
#include <ctype.h>

#include "build/internal.h"

static const char *const builtin_args[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
	"ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};
#define N_BUILTIN (sizeof(builtin_args) / sizeof(builtin_args[0]))

bool hamn_build_arg_is_builtin(const char *name)
{
	for (size_t i = 0; i < N_BUILTIN; i++)
		if (strcmp(builtin_args[i], name) == 0)
			return true;
	return false;
}

/* ---- build args ---- */

struct kv {
	char *key;
	char *value;	/* NULL: no value */
};

struct kvs {
	struct kv *v;
	size_t n;
};

struct hamn_build_args {
	struct kvs opts;	/* --build-arg */
	struct kvs meta;	/* meta args with their resolved values */
	struct kvs declared;	/* ARGs of the stage so far */
};

static struct kv *kvs_find(const struct kvs *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0)
			return &s->v[i];
	return NULL;
}

static void kvs_set(struct kvs *s, const char *key, const char *value)
{
	struct kv *e = kvs_find(s, key);

	if (!e) {
		s->v = xreallocarray(s->v, s->n + 1, sizeof(*e));
		e = &s->v[s->n++];
		e->key = xstrdup(key);
	} else {
		free(e->value);
	}
	e->value = value ? xstrdup(value) : NULL;
}

/* "K=V" sets K to V; "K" alone gives K without a value. */
static void kvs_set_kv(struct kvs *s, const char *kv)
{
	const char *eq = strchr(kv, '=');
	_cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);

	kvs_set(s, k, eq ? eq + 1 : NULL);
}

static void kvs_release(struct kvs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].value);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

struct hamn_build_args *hamn_build_args_new(char *const *build_args, char *const *meta_env)
{
	struct hamn_build_args *a = xzalloc(sizeof(*a));

	for (size_t i = 0; build_args && build_args[i]; i++)
		kvs_set_kv(&a->opts, build_args[i]);
	for (size_t i = 0; meta_env && meta_env[i]; i++)
		kvs_set_kv(&a->meta, meta_env[i]);
	return a;
}

void hamn_build_args_free(struct hamn_build_args *a)
{
	if (!a)
		return;
	kvs_release(&a->opts);
	kvs_release(&a->meta);
	kvs_release(&a->declared);
	free(a);
}

void hamn_build_args_declare(struct hamn_build_args *a, const char *name, const char *value)
{
	kvs_set(&a->declared, name, value);
}

/* docker's getBuildArg: --build-arg, else the default, else the meta arg. */
static const char *arg_value(const struct hamn_build_args *a, const char *key)
{
	const struct kv *o = kvs_find(&a->opts, key), *d = kvs_find(&a->declared, key), *m;

	if (o && o->value)
		return o->value;
	if (d && d->value)
		return d->value;
	m = kvs_find(&a->meta, key);
	return m ? m->value : NULL;
}

static char **args_in_scope(const struct hamn_build_args *a, char *const *env, bool recorded)
{
	char **v = xzalloc(sizeof(char *));

	for (size_t i = 0; i < a->declared.n + N_BUILTIN; i++) {
		const char *key = i < a->declared.n ? a->declared.v[i].key
						    : builtin_args[i - a->declared.n];
		const char *val;

		if (i >= a->declared.n && kvs_find(&a->declared, key))
			continue;	/* a declared builtin is listed once */
		if (env_get(env, key) || !(val = arg_value(a, key)))
			continue;
		if (recorded && i >= a->declared.n)
			continue;	/* undeclared builtins never reach the history */
		strv_push_take(&v, xasprintf("%s=%s", key, val));
	}
	strv_sort(v);
	return v;
}

char **hamn_build_args_env(const struct hamn_build_args *a, char *const *env)
{
	return args_in_scope(a, env, false);
}

char **hamn_build_args_recorded(const struct hamn_build_args *a, char *const *env)
{
	return args_in_scope(a, env, true);
}

char **hamn_build_args_unused(const struct hamn_build_args *a, char *const *also_used)
{
	char **v = xzalloc(sizeof(char *));

	for (size_t i = 0; i < a->opts.n; i++) {
		const char *k = a->opts.v[i].key;

		if (!hamn_build_arg_is_builtin(k) && !kvs_find(&a->declared, k) &&
		    !strv_contains(also_used, k))
			strv_push(&v, k);
	}
	strv_sort(v);
	return v;
}

int hamn_build_arg_split(const char *word, char *const *env, char escape, char **key,
			 char **value, struct hamn_error **err)
{
	const char *eq = strchr(word, '=');
	_cleanup_free_ char *rk = eq ? xstrndup(word, (size_t)(eq - word)) : xstrdup(word);

	*key = *value = NULL;
	if (hamn_build_expand_word(rk, env, escape, key, err) < 0)
		return -1;
	if (eq && hamn_build_expand_word(eq + 1, env, escape, value, err) < 0) {
		free(*key);
		*key = NULL;
		return -1;
	}
	return 0;
}

/* ---- the plan ---- */

static int wrap_at(const struct hamn_build_dockerfile *df, const struct hamn_build_instr *ins,
		   struct hamn_error **err)
{
	return hamn_error_wrap(err, "%s:%d", df->filename, ins->line);
}

/* plan->meta_env from the meta args so far: --build-arg wins over the default. */
static void rebuild_meta_env(const struct hamn_build_args *a, struct hamn_build_plan *plan)
{
	hamn_strv_free(plan->meta_env);
	plan->meta_env = xzalloc(sizeof(char *));
	for (size_t k = 0; k < a->meta.n; k++) {
		const struct kv *o = kvs_find(&a->opts, a->meta.v[k].key);
		const char *v = o && o->value ? o->value : a->meta.v[k].value;

		if (v)
			strv_push_take(&plan->meta_env, xasprintf("%s=%s", a->meta.v[k].key, v));
	}
	for (size_t k = 0; k < a->opts.n; k++)
		if (hamn_build_arg_is_builtin(a->opts.v[k].key) && a->opts.v[k].value &&
		    !env_get(plan->meta_env, a->opts.v[k].key))
			strv_push_take(&plan->meta_env, xasprintf("%s=%s", a->opts.v[k].key,
								  a->opts.v[k].value));
}

/* Evaluate the meta ARGs into plan->meta_env ("K=V", declaration order, builtins after). */
static int meta_args(const struct hamn_build_dockerfile *df, char *const *build_args,
		     struct hamn_build_plan *plan, struct hamn_error **err)
{
	struct hamn_build_args *a = hamn_build_args_new(build_args, NULL);
	int rc = 0;

	rebuild_meta_env(a, plan);
	for (size_t i = 0; i < df->n_meta_args && rc == 0; i++) {
		const struct hamn_build_instr *ins = &df->meta_args[i];

		for (size_t j = 0; ins->args[j]; j++) {
			_cleanup_free_ char *k = NULL, *v = NULL;

			if (hamn_build_arg_split(ins->args[j], plan->meta_env, df->escape, &k, &v,
						 err) < 0) {
				rc = wrap_at(df, ins, err);
				break;
			}
			kvs_set(&a->meta, k, v);
			strv_add_unique(&plan->used_args, k);
			rebuild_meta_env(a, plan);
		}
	}
	hamn_build_args_free(a);
	return rc;
}

static ssize_t stage_by_name(const struct hamn_build_dockerfile *df, const char *name,
			     size_t before)
{
	for (size_t i = 0; i < before && i < df->n_stages; i++)
		if (df->stages[i].name && strcasecmp(df->stages[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* The stage a COPY --from names (name or index), -1 for an image. */
static int copy_from_stage(const struct hamn_build_dockerfile *df, size_t cur,
			   const struct hamn_build_instr *ins, char *const *env, ssize_t *out,
			   struct hamn_error **err)
{
	const char *from = hamn_build_instr_flag(ins, "from", NULL);
	_cleanup_free_ char *x = NULL;
	_cleanup_error_ struct hamn_error *e = NULL;

	*out = -1;
	if (!from)
		return 0;
	/* an expansion error is reported when the step runs; here it names an image */
	if (hamn_build_expand_word(from, env, df->escape, &x, &e) < 0)
		return 0;
	if (all_digits(x)) {
		unsigned long idx = strtoul(x, NULL, 10);

		if (idx >= cur) {
			hamn_error_setq(err, EINVAL,
					"invalid from flag value %s: refers to a stage "
					"that is not before this one",
					x);
			return wrap_at(df, ins, err);
		}
		*out = (ssize_t)idx;
		return 0;
	}
	*out = stage_by_name(df, x, cur);
	return 0;
}

static void mark_needed(struct hamn_build_plan *plan, ssize_t **deps, size_t *n_deps, size_t i)
{
	if (plan->needed[i])
		return;
	plan->needed[i] = true;
	for (size_t k = 0; k < n_deps[i]; k++)
		mark_needed(plan, deps, n_deps, (size_t)deps[i][k]);
}

static int stage_deps(const struct hamn_build_dockerfile *df, struct hamn_build_plan *plan,
		      ssize_t **deps, size_t *n_deps, struct hamn_error **err)
{
	for (size_t i = 0; i < df->n_stages; i++) {
		const struct hamn_build_stage *st = &df->stages[i];
		_cleanup_free_ char *base = NULL;
		_cleanup_error_ struct hamn_error *e = NULL;

		deps[i] = xcalloc(st->n_instrs + 1, sizeof(ssize_t));
		plan->base_stage[i] = -1;
		if (hamn_build_expand_word(st->base, plan->meta_env, df->escape, &base, &e) == 0)
			plan->base_stage[i] = stage_by_name(df, base, i);
		if (plan->base_stage[i] >= 0)
			deps[i][n_deps[i]++] = plan->base_stage[i];
		for (size_t j = 0; j < st->n_instrs; j++) {
			ssize_t s;

			if (st->instrs[j].cmd != HAMN_BUILD_COPY)
				continue;
			if (copy_from_stage(df, i, &st->instrs[j], plan->meta_env, &s, err) < 0)
				return -1;
			if (s >= 0)
				deps[i][n_deps[i]++] = s;
		}
	}
	return 0;
}

static int find_target(const struct hamn_build_dockerfile *df, const char *target, size_t *out,
		       struct hamn_error **err)
{
	ssize_t t;

	if (!target || !*target) {
		*out = df->n_stages - 1;
		return 0;
	}
	t = stage_by_name(df, target, df->n_stages);
	if (t < 0)
		return hamn_error_setq(err, EINVAL, "failed to reach build target %s in Dockerfile",
				       target);
	*out = (size_t)t;
	return 0;
}

int hamn_build_plan_make(const struct hamn_build_dockerfile *df, const char *target,
			 char *const *build_args, size_t n_extra_steps,
			 struct hamn_build_plan *plan, struct hamn_error **err)
{
	ssize_t **deps = NULL;
	size_t *n_deps = NULL;
	int rc = -1;

	memset(plan, 0, sizeof(*plan));
	plan->meta_env = xzalloc(sizeof(char *));
	plan->used_args = xzalloc(sizeof(char *));
	plan->needed = xcalloc(df->n_stages, sizeof(bool));
	plan->base_stage = xcalloc(df->n_stages, sizeof(ssize_t));
	deps = xcalloc(df->n_stages, sizeof(*deps));
	n_deps = xcalloc(df->n_stages, sizeof(*n_deps));
	if (meta_args(df, build_args, plan, err) < 0 ||
	    find_target(df, target, &plan->target, err) < 0 ||
	    stage_deps(df, plan, deps, n_deps, err) < 0)
		goto out;
	mark_needed(plan, deps, n_deps, plan->target);
	plan->n_steps = df->n_meta_args + n_extra_steps;
	for (size_t i = 0; i < df->n_stages; i++)
		if (plan->needed[i])
			plan->n_steps += 1 + df->stages[i].n_instrs;
	rc = 0;
out:
	for (size_t i = 0; i < df->n_stages; i++)
		free(deps[i]);
	free(deps);
	free(n_deps);
	if (rc < 0)
		hamn_build_plan_release(plan);
	return rc;
}

void hamn_build_plan_release(struct hamn_build_plan *plan)
{
	free(plan->needed);
	free(plan->base_stage);
	hamn_strv_free(plan->meta_env);
	hamn_strv_free(plan->used_args);
	memset(plan, 0, sizeof(*plan));
}

/* ---- cache keys ---- */

static void put_field(struct hamn_sha256 *h, const char *tag, const char *s)
{
	char len[32];
	int n;

	s = s ? s : "";
	n = snprintf(len, sizeof(len), "%s:%zu:", tag, strlen(s));
	hamn_sha256_update(h, len, (size_t)n);
	hamn_sha256_update(h, s, strlen(s));
}

void hamn_build_cache_key(const struct hamn_build_key_input *in, struct hamn_digest *out)
{
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();
	_cleanup_free_ char *cfg = NULL;

	put_field(h, "v", "hamn-build-cache-1");
	put_field(h, "parent", in->parent);
	put_field(h, "instruction", in->instruction);
	for (size_t i = 0; in->args && in->args[i]; i++)
		put_field(h, "arg", in->args[i]);
	put_field(h, "content", in->content);
	if (in->config)
		cfg = json_dumps(in->config, JSON_COMPACT | JSON_SORT_KEYS);
	put_field(h, "config", cfg);
	put_field(h, "extra", in->extra);
	hamn_sha256_final(h, out);
}

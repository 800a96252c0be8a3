/*
 * step.c - one instruction of a stage: work out its result config, its
 * history string and its cache key, then reuse a cached image or ask the
 * daemon's ops to run, copy or commit.
 */
#include <sys/stat.h>

#include "build/internal.h"

/* Env of the config plus the build args in scope: what ${VAR} sees. */
static char **expand_env(const struct stage_run *sr)
{
	_cleanup_strv_ char **env = NULL;
	char **args, **all;

	hamn_json_get_strv_opt(sr->config, "Env", "Env", &env, NULL);
	args = hamn_build_args_env(sr->args, env);
	all = strv_copy(env);
	for (size_t i = 0; args[i]; i++)
		strv_push(&all, args[i]);
	hamn_strv_free(args);
	return all;
}

/* Look key up unless the cache is off or busted; true on a hit (sr->image replaced). */
static int probe(struct builder *b, struct stage_run *sr, const struct hamn_digest *key,
		 bool *hit, struct hamn_error **err)
{
	char *id = NULL;

	*hit = false;
	if (b->opts->no_cache || sr->cache_busted)
		return 0;
	if (b->ops->cache_lookup(b->ctx, key, &id, err) < 0)
		return -1;
	if (!id) {
		sr->cache_busted = true;
		return 0;
	}
	out_stream(&b->out, " ---> Using cache\n");
	free(sr->image);
	sr->image = id;
	*hit = true;
	return 0;
}

/* After an op made image id: remember it, announce the removed container, store in the cache. */
static int finish(struct builder *b, struct stage_run *sr, const struct hamn_digest *key,
		  char *id, struct hamn_error **err)
{
	char s[13];

	if (b->out.running) {
		out_stream(&b->out, "Removing intermediate container %s\n",
			   short_id(b->out.running, s));
		free(b->out.running);
		b->out.running = NULL;
	}
	free(sr->image);
	sr->image = id;
	return b->ops->cache_store(b->ctx, key, id, err);
}

static int commit_step(struct builder *b, struct stage_run *sr, json_t *config,
		       const char *created_by, const char *mkdir, struct hamn_error **err)
{
	struct hamn_build_key_input in = { .parent = sr->image ? sr->image : "",
					   .instruction = created_by, .config = config,
					   .extra = mkdir };
	struct hamn_build_commit_req req = { .parent = sr->image, .config = config,
					     .created_by = created_by, .author = sr->st.author,
					     .mkdir = mkdir };
	struct hamn_digest key;
	char *id = NULL;
	bool hit;

	hamn_build_cache_key(&in, &key);
	if (probe(b, sr, &key, &hit, err) < 0)
		return -1;
	if (hit)
		return 0;
	if (b->ops->commit(b->ctx, &req, &b->out, &id, err) < 0)
		return -1;
	return finish(b, sr, &key, id, err);
}

static int config_step(struct builder *b, struct stage_run *sr, const struct hamn_build_instr *ins,
		       struct hamn_error **err)
{
	_cleanup_json_ json_t *cfg = json_deep_copy(sr->config);
	_cleanup_strv_ char **env = expand_env(sr);
	_cleanup_free_ char *created_by = NULL;
	const char *wd;

	if (hamn_build_config_apply(cfg, &sr->st, ins, env, b->df->escape, &created_by, err) < 0)
		return -1;
	if (sr->st.note) {
		out_stream(&b->out, "%s\n", sr->st.note);
		free(sr->st.note);
		sr->st.note = NULL;
	}
	wd = ins->cmd == HAMN_BUILD_WORKDIR ? json_string_value(json_object_get(cfg, "WorkingDir"))
					     : NULL;
	if (commit_step(b, sr, cfg, created_by, wd, err) < 0)
		return -1;
	json_decref(sr->config);
	sr->config = steal_pointer(&cfg);
	return 0;
}

static int arg_step(struct builder *b, struct stage_run *sr, const struct hamn_build_instr *ins,
		    struct hamn_error **err)
{
	_cleanup_strv_ char **env = expand_env(sr);

	for (size_t i = 0; ins->args[i]; i++) {
		_cleanup_free_ char *k = NULL, *v = NULL;

		if (hamn_build_arg_split(ins->args[i], env, b->df->escape, &k, &v, err) < 0)
			return -1;
		hamn_build_args_declare(sr->args, k, v);
		strv_add_unique(&b->used_args, k);
	}
	return config_step(b, sr, ins, err);
}

/* ---- RUN ---- */

static int run_failed(struct builder *b, char *const *argv, int code, struct hamn_error **err)
{
	_cleanup_free_ char *cmd = strv_join(argv, " ");

	b->code = code;
	return hamn_error_setq(err, ECANCELED, "The command '%s' returned a non-zero code: %d",
			       cmd, code);
}

static int run_step(struct builder *b, struct stage_run *sr, const struct hamn_build_instr *ins,
		    struct hamn_error **err)
{
	_cleanup_strv_ char **argv = hamn_build_cmdline(sr->config, ins);
	_cleanup_strv_ char **env = NULL, **args = NULL, **recorded = NULL, **full = NULL;
	_cleanup_free_ char *created_by = NULL;
	const char *net = hamn_build_instr_flag(ins, "network", NULL);
	struct hamn_build_key_input in = { .parent = sr->image ? sr->image : "",
					   .config = sr->config };
	struct hamn_digest key;
	char *id = NULL;
	int code = 0;
	bool hit;

	hamn_json_get_strv_opt(sr->config, "Env", "Env", &env, NULL);
	args = hamn_build_args_env(sr->args, env);
	recorded = hamn_build_args_recorded(sr->args, env);
	created_by = hamn_build_run_created_by(argv, args[0] ? recorded : NULL);
	net = net ? net : b->opts->network;
	in.instruction = created_by;
	in.extra = net;
	hamn_build_cache_key(&in, &key);
	if (probe(b, sr, &key, &hit, err) < 0 || hit)
		return hit ? 0 : -1;
	full = strv_copy(env);
	for (size_t i = 0; args[i]; i++)
		strv_push(&full, args[i]);
	struct hamn_build_run_req req = {
		.parent = sr->image, .config = sr->config, .argv = argv, .env = full,
		.user = json_string_value(json_object_get(sr->config, "User")),
		.workdir = json_string_value(json_object_get(sr->config, "WorkingDir")),
		.network = net, .created_by = created_by, .author = sr->st.author,
	};
	if (b->ops->run(b->ctx, &req, &b->out, &id, &code, err) < 0 || code != 0 || !id) {
		/* no "Removing intermediate container": the op removed it quietly */
		free(b->out.running);
		b->out.running = NULL;
		if (*err)
			return -1;
		free(id);
		return run_failed(b, argv, code ? code : 1, err);
	}
	return finish(b, sr, &key, id, err);
}

/* ---- COPY / ADD ---- */

struct copy_plan {
	char **patterns;
	struct hamn_build_inline_file *inl;
	size_t n_inline;
	char *dest;
	char *chown;
	char *from;
	bool has_chmod;
	mode_t chmod;
	struct hamn_build_sources sources;
	char *from_image;
	char *content;		/* what the cache key sees of the sources */
	char *hash;		/* what the history shows */
};

static void copy_plan_release(struct copy_plan *cp)
{
	hamn_strv_free(cp->patterns);
	for (size_t i = 0; i < cp->n_inline; i++) {
		free(cp->inl[i].name);
		free(cp->inl[i].content);
	}
	free(cp->inl);
	free(cp->dest);
	free(cp->chown);
	free(cp->from);
	hamn_build_sources_release(&cp->sources);
	free(cp->from_image);
	free(cp->content);
	free(cp->hash);
}

/* A heredoc source ("<<EOF") becomes an inline file; true when word is one. */
static int take_heredoc(const struct hamn_build_instr *ins, const char *word, char *const *env,
			char escape, struct copy_plan *cp, bool *taken, struct hamn_error **err)
{
	_cleanup_free_ char *name = NULL;
	bool chomp, exp;

	*taken = false;
	if (!ins->n_heredocs || !heredoc_marker(word, &name, &chomp, &exp))
		return 0;
	for (size_t i = 0; i < ins->n_heredocs; i++) {
		const struct hamn_build_heredoc *h = &ins->heredocs[i];
		char *content = NULL;

		if (strcmp(h->name, name) != 0)
			continue;
		if (h->expand && hamn_build_expand_word(h->content, env, escape, &content, err) < 0)
			return -1;
		cp->inl = xreallocarray(cp->inl, cp->n_inline + 1, sizeof(*cp->inl));
		cp->inl[cp->n_inline].name = xstrdup(h->name);
		cp->inl[cp->n_inline++].content = content ? content : xstrdup(h->content);
		*taken = true;
		return 0;
	}
	return 0;
}

static int copy_flags(const struct hamn_build_instr *ins, char *const *env, char escape,
		      struct copy_plan *cp, struct hamn_error **err)
{
	const char *chown = hamn_build_instr_flag(ins, "chown", NULL);
	const char *chmod = hamn_build_instr_flag(ins, "chmod", NULL);
	const char *from = hamn_build_instr_flag(ins, "from", NULL);
	_cleanup_free_ char *m = NULL;
	char *end;
	unsigned long v;

	if (chown && *chown && hamn_build_expand_word(chown, env, escape, &cp->chown, err) < 0)
		return -1;
	if (from && hamn_build_expand_word(from, env, escape, &cp->from, err) < 0)
		return -1;
	if (!chmod || !*chmod)
		return 0;
	if (hamn_build_expand_word(chmod, env, escape, &m, err) < 0)
		return -1;
	v = strtoul(m, &end, 8);
	if (!*m || *end || v > 07777)
		return hamn_error_setq(err, EINVAL, "invalid chmod parameter '%s'", m);
	cp->has_chmod = true;
	cp->chmod = (mode_t)v;
	return 0;
}

/* The destination made absolute against WORKDIR, a trailing '/' kept. */
static char *copy_dest(const json_t *config, const char *dest)
{
	const char *wd = json_string_value(json_object_get(config, "WorkingDir"));
	size_t n = strlen(dest);
	bool dir = n > 0 && (dest[n - 1] == '/' || strcmp(dest, ".") == 0 ||
			     (n >= 2 && strcmp(dest + n - 2, "/.") == 0));
	_cleanup_free_ char *joined = dest[0] == '/' ? xstrdup(dest)
						     : xasprintf("/%s/%s", wd ? wd : "", dest);
	_cleanup_free_ char *clean = path_clean(joined);

	if (dir && strcmp(clean, "/") != 0)
		return xasprintf("%s/", clean);
	return steal_pointer(&clean);
}

static int copy_words(const struct hamn_build_instr *ins, char *const *env, char escape,
		      struct copy_plan *cp, struct hamn_error **err)
{
	size_t n = strv_len(ins->args);
	_cleanup_free_ char *dest = NULL;

	cp->patterns = xzalloc(sizeof(char *));
	for (size_t i = 0; i + 1 < n; i++) {
		char *w;
		bool taken;

		if (take_heredoc(ins, ins->args[i], env, escape, cp, &taken, err) < 0)
			return -1;
		if (taken)
			continue;
		if (hamn_build_expand_word(ins->args[i], env, escape, &w, err) < 0)
			return -1;
		if (str_has_prefix(w, "http://") || str_has_prefix(w, "https://")) {
			hamn_error_setq(err, ENOTSUP, ins->cmd == HAMN_BUILD_COPY
				? "source can't be a URL for COPY"
				: "ADD from a URL ('%s') is not supported by hamn's builder", w);
			free(w);
			return -1;
		}
		strv_push_take(&cp->patterns, w);
	}
	return hamn_build_expand_word(ins->args[n - 1], env, escape, &dest, err) < 0 ? -1
	       : (cp->dest = xstrdup(dest), 0);
}

/* sha256 of the joined parts, as "<prefix>:<hex>". */
static char *hash_strings(const char *prefix, char *const *v)
{
	_cleanup_free_ char *joined = strv_join(v, ",");
	struct hamn_digest d;

	hamn_sha256_buf(joined, strlen(joined), &d);
	return xasprintf("%s:%s", prefix, hamn_digest_hex(&d));
}

static int copy_sources(struct builder *b, struct copy_plan *cp, struct hamn_error **err)
{
	_cleanup_strv_ char **hashes = xzalloc(sizeof(char *));

	if (cp->patterns[0]) {
		if (b->opts->ctxfd < 0)
			return hamn_error_setq(err, EINVAL, "no build context for '%s'",
					       cp->patterns[0]);
		if (hamn_build_sources_select(b->opts->ctxfd, b->ig, cp->patterns, true,
					      &cp->sources, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < cp->sources.n; i++)
		strv_push(&hashes, cp->sources.v[i].hash);
	for (size_t i = 0; i < cp->n_inline; i++) {
		struct hamn_digest d;

		hamn_sha256_buf(cp->inl[i].content, strlen(cp->inl[i].content), &d);
		strv_push_take(&hashes, xasprintf("file:%s", hamn_digest_hex(&d)));
	}
	cp->hash = hashes[1] ? hash_strings("multi", hashes) : xstrdup(hashes[0]);
	cp->content = xstrdup(cp->hash);
	return 0;
}

/* --from: a stage's result or an image; the content is its id plus the paths. */
static int copy_from(struct builder *b, struct copy_plan *cp, size_t cur,
		     struct hamn_error **err)
{
	_cleanup_free_ char *paths = strv_join(cp->patterns, " ");
	ssize_t s = -1;
	char *end;
	unsigned long idx = strtoul(cp->from, &end, 10);

	if (*cp->from && !*end)
		s = idx < cur ? (ssize_t)idx : -1;
	for (size_t i = 0; s < 0 && i < cur; i++)
		if (b->df->stages[i].name && strcasecmp(b->df->stages[i].name, cp->from) == 0)
			s = (ssize_t)i;
	if (s >= 0 && !b->results[s].built)
		return hamn_error_setq(err, EINVAL, "invalid from flag value %s: stage %zd was not "
				       "built (its name depends on a variable set inside a stage)",
				       cp->from, s);
	if (s >= 0 && !b->results[s].image)
		return hamn_error_setq(err, EINVAL, "invalid from flag value %s: the stage is "
				       "empty (FROM scratch)", cp->from);
	if (s >= 0) {
		cp->from_image = xstrdup(b->results[s].image);
	} else {
		_cleanup_json_ json_t *cfg = NULL;

		if (b->ops->resolve_image(b->ctx, cp->from, b->opts->platform, &cp->from_image,
					  &cfg, err) < 0)
			return hamn_error_wrap(err, "invalid from flag value %s", cp->from);
	}
	cp->hash = xasprintf("--from=%s %s", cp->from, paths);
	cp->content = xasprintf("%s\n%s", cp->from_image, paths);
	return 0;
}

static char *copy_created_by(const json_t *config, const struct hamn_build_instr *ins,
			     const struct copy_plan *cp)
{
	_cleanup_free_ char *chown = cp->chown ? xasprintf("--chown=%s", cp->chown)
					       : xstrdup("");
	_cleanup_free_ char *comment = xasprintf("%s %s%s in %s ", hamn_build_cmd_name(ins->cmd),
						 chown, cp->hash, cp->dest);
	_cleanup_strv_ char **sh = NULL;
	json_t *shell = json_object_get(config, "Shell");

	if (json_is_array(shell) && json_array_size(shell) > 0)
		hamn_json_get_strv_opt((json_t *)config, "Shell", "Shell", &sh, NULL);
	_cleanup_free_ char *joined = sh ? strv_join(sh, " ") : xstrdup("/bin/sh -c");
	return xasprintf("%s #(nop) %s", joined, comment);
}

static int copy_prepare(struct builder *b, struct stage_run *sr,
			const struct hamn_build_instr *ins, struct copy_plan *cp,
			struct hamn_error **err)
{
	_cleanup_strv_ char **env = expand_env(sr);
	_cleanup_free_ char *dest = NULL;
	size_t n_src;

	if (copy_flags(ins, env, b->df->escape, cp, err) < 0 ||
	    copy_words(ins, env, b->df->escape, cp, err) < 0)
		return -1;
	dest = cp->dest;
	cp->dest = copy_dest(sr->config, dest);
	if (cp->from ? copy_from(b, cp, sr->index, err) < 0 : copy_sources(b, cp, err) < 0)
		return hamn_error_wrap(err, "%s failed", hamn_build_cmd_name(ins->cmd));
	n_src = cp->sources.n + cp->n_inline + (cp->from ? strv_len(cp->patterns) : 0);
	if (n_src > 1 && !str_has_suffix(cp->dest, "/"))
		return hamn_error_setq(err, EINVAL, "When using %s with more than one source file, "
				       "the destination must be a directory and end with a /",
				       hamn_build_cmd_name(ins->cmd));
	return 0;
}

static int copy_step(struct builder *b, struct stage_run *sr, const struct hamn_build_instr *ins,
		     struct hamn_error **err)
{
	struct copy_plan cp = { 0 };
	_cleanup_free_ char *created_by = NULL, *extra = NULL;
	struct hamn_digest key;
	char *id = NULL;
	bool hit;
	int rc = -1;

	if (copy_prepare(b, sr, ins, &cp, err) < 0)
		goto out;
	created_by = copy_created_by(sr->config, ins, &cp);
	extra = xasprintf("chmod=%d:%o", cp.has_chmod, (unsigned)cp.chmod);
	struct hamn_build_key_input in = { .parent = sr->image ? sr->image : "",
					   .instruction = created_by, .content = cp.content,
					   .config = sr->config, .extra = extra };
	hamn_build_cache_key(&in, &key);
	if (probe(b, sr, &key, &hit, err) < 0 || hit) {
		rc = hit ? 0 : -1;
		goto out;
	}
	struct hamn_build_copy_req req = {
		.parent = sr->image, .config = sr->config, .created_by = created_by,
		.author = sr->st.author, .ctxfd = b->opts->ctxfd, .sources = &cp.sources,
		.from_image = cp.from_image, .patterns = cp.patterns, .inline_files = cp.inl,
		.n_inline = cp.n_inline, .dest = cp.dest, .chown = cp.chown,
		.has_chmod = cp.has_chmod, .chmod = cp.chmod,
		.extract = ins->cmd == HAMN_BUILD_ADD, .preserve_owner = cp.from && !cp.chown,
	};
	if (b->ops->copy(b->ctx, &req, &b->out, &id, err) < 0)
		goto out;
	rc = finish(b, sr, &key, id, err);
out:
	copy_plan_release(&cp);
	return rc;
}

int step_dispatch(struct builder *b, struct stage_run *sr, const struct hamn_build_instr *ins,
		  struct hamn_error **err)
{
	switch (ins->cmd) {
	case HAMN_BUILD_RUN:
		return run_step(b, sr, ins, err);
	case HAMN_BUILD_COPY:
	case HAMN_BUILD_ADD:
		return copy_step(b, sr, ins, err);
	case HAMN_BUILD_ARG:
		return arg_step(b, sr, ins, err);
	case HAMN_BUILD_FROM:
		return hamn_error_setq(err, EINVAL, "FROM can not be a step");
	default:
		return config_step(b, sr, ins, err);
	}
}

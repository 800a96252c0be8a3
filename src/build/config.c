/*
 * config.c - what each config-only instruction does to an image config, and
 * the history string docker's classic builder records for it.
 *
 * The config is a JSON object with docker's container-config keys, so the
 * result can be written into an image config as it is. The history
 * strings reproduce docker's: "/bin/sh -c #(nop)  ENV A=b" (the comment
 * after "#(nop) " and a space, the shell in force first), "#(nop) WORKDIR
 * /x" with one space, Go's %q and %v formatting of CMD, ENTRYPOINT,
 * VOLUME, SHELL and HEALTHCHECK.
 */
#include "build/internal.h"

static int expand(const struct hamn_build_instr *ins, const char *w, char *const *env,
		  char escape, char **out, struct hamn_error **err)
{
	if (ins->literal) {
		*out = xstrdup(w);
		return 0;
	}
	return hamn_build_expand_word(w, env, escape, out, err);
}

/* The SHELL in force: config "Shell" when set, else /bin/sh -c. New vector. */
static char **get_shell(const json_t *config)
{
	char **v = xzalloc(sizeof(char *));
	json_t *sh = json_object_get(config, "Shell"), *e;
	size_t i;

	if (json_is_array(sh) && json_array_size(sh) > 0) {
		json_array_foreach(sh, i, e)
			strv_push(&v, json_string_value(e) ? json_string_value(e) : "");
		return v;
	}
	strv_push(&v, "/bin/sh");
	strv_push(&v, "-c");
	return v;
}

/* "<shell> #(nop) <sep><comment>": docker's withCmdComment (sep " ") and withCmdCommentString. */
static char *nop(const json_t *config, const char *sep, const char *comment)
{
	_cleanup_strv_ char **sh = get_shell(config);
	_cleanup_free_ char *joined = strv_join(sh, " ");

	return xasprintf("%s #(nop) %s%s", joined, sep, comment);
}

char **hamn_build_cmdline(const json_t *config, const struct hamn_build_instr *ins)
{
	char **v;
	char *text;

	if (ins->json || !ins->args[0]) {
		v = strv_copy(ins->args);
		return v ? v : xzalloc(sizeof(char *));
	}
	v = get_shell(config);
	text = xstrdup(ins->args[0]);
	if (ins->cmd == HAMN_BUILD_RUN && ins->n_heredocs > 0) {
		_cleanup_free_ char *name = NULL;
		bool chomp, exp;
		_cleanup_free_ char *t = trim_dup(text);

		free(text);
		if (ins->n_heredocs == 1 && heredoc_marker(t, &name, &chomp, &exp)) {
			text = xstrdup(ins->heredocs[0].content);
		} else {
			struct hamn_buf b = HAMN_BUF_INIT;

			hamn_buf_puts(&b, ins->args[0]);
			for (size_t i = 0; i < ins->n_heredocs; i++)
				hamn_buf_printf(&b, "\n%s%s", ins->heredocs[i].content,
						ins->heredocs[i].name);
			text = hamn_buf_steal(&b);
		}
	}
	strv_push_take(&v, text);
	return v;
}

char *hamn_build_workdir(const char *current, const char *dir)
{
	_cleanup_free_ char *joined = NULL;

	if (dir[0] == '/')
		return xstrdup(dir);
	joined = xasprintf("/%s/%s", current ? current : "", dir);
	return path_clean(joined);
}

void hamn_build_stage_state_release(struct hamn_build_stage_state *st)
{
	free(st->author);
	free(st->note);
	memset(st, 0, sizeof(*st));
}

/* ---- one function per instruction; each returns the comment for the history ---- */

static void env_set(json_t *config, const char *name, const char *value)
{
	json_t *env = json_object_get(config, "Env"), *e;
	size_t i, nl = strlen(name);
	char *kv = xasprintf("%s=%s", name, value);

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);

		if (s && strncmp(s, name, nl) == 0 && (s[nl] == '=' || s[nl] == '\0')) {
			json_array_set_new(env, i, json_string(kv));
			free(kv);
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
	free(kv);
}

/* ENV and LABEL: expand all pairs first (later pairs do not see earlier ones), then set. */
static int apply_pairs(json_t *config, const struct hamn_build_instr *ins, char *const *env,
		       char escape, struct hamn_buf *msg, struct hamn_error **err)
{
	_cleanup_strv_ char **kv = xzalloc(sizeof(char *));
	bool label = ins->cmd == HAMN_BUILD_LABEL;
	json_t *labels;

	for (size_t i = 0; ins->args[i]; i++) {
		char *w;

		if (expand(ins, ins->args[i], env, escape, &w, err) < 0)
			return -1;
		strv_push_take(&kv, w);
	}
	if (label && !json_is_object(json_object_get(config, "Labels")))
		json_object_set_new(config, "Labels", json_object());
	labels = json_object_get(config, "Labels");
	hamn_buf_puts(msg, label ? "LABEL" : "ENV");
	for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
		hamn_buf_printf(msg, " %s=%s", kv[i], kv[i + 1]);
		if (label)
			json_object_set_new(labels, kv[i], json_string(kv[i + 1]));
		else
			env_set(config, kv[i], kv[i + 1]);
	}
	return 0;
}

static void set_strv(json_t *config, const char *key, char *const *v)
{
	json_object_set_new(config, key, hamn_json_from_strv(v));
}

static void apply_cmd(json_t *config, struct hamn_build_stage_state *st,
		      const struct hamn_build_instr *ins, struct hamn_buf *msg)
{
	_cleanup_strv_ char **argv = hamn_build_cmdline(config, ins);

	if (ins->cmd == HAMN_BUILD_CMD) {
		set_strv(config, "Cmd", argv);
		if (ins->args[0])
			st->cmd_set = true;
		hamn_buf_puts(msg, "CMD ");
	} else {
		set_strv(config, "Entrypoint", argv);
		if (!st->cmd_set)
			json_object_set_new(config, "Cmd", json_null());
		hamn_buf_puts(msg, "ENTRYPOINT ");
	}
	json_object_del(config, "ArgsEscaped");
	go_quote_slice(msg, argv);
}

/* Add the ports of one EXPOSE spec ("80", "80/udp", "8000-8002/tcp", "ip:host:80"). */
static int add_ports(json_t *ports, const char *spec, struct hamn_error **err)
{
	const char *colon = strrchr(spec, ':');
	_cleanup_free_ char *port = xstrdup(colon ? colon + 1 : spec);
	char *slash = strchr(port, '/'), *dash, *end;
	const char *proto = "tcp";
	unsigned long lo, hi;

	if (slash) {
		*slash = '\0';
		proto = slash + 1;
		for (char *c = slash + 1; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return hamn_error_setq(err, EINVAL, "invalid proto: %s", proto);
	}
	dash = strchr(port, '-');
	if (dash)
		*dash = '\0';
	lo = strtoul(port, &end, 10);
	if (!*port || *end || lo > 65535)
		return hamn_error_setq(err, EINVAL, "invalid containerPort: %s", spec);
	hi = lo;
	if (dash) {
		hi = strtoul(dash + 1, &end, 10);
		if (!dash[1] || *end || hi > 65535 || hi < lo)
			return hamn_error_setq(err, EINVAL, "invalid containerPort: %s", spec);
	}
	for (unsigned long p = lo; p <= hi; p++) {
		char key[32];

		snprintf(key, sizeof(key), "%lu/%s", p, proto);
		json_object_set_new(ports, key, json_object());
	}
	return 0;
}

static int apply_expose(json_t *config, const struct hamn_build_instr *ins, char *const *env,
			char escape, struct hamn_buf *msg, struct hamn_error **err)
{
	_cleanup_strv_ char **words = xzalloc(sizeof(char *));
	_cleanup_json_ json_t *ports = json_object();
	json_t *old = json_object_get(config, "ExposedPorts");

	for (size_t i = 0; ins->args[i]; i++) {
		_cleanup_strv_ char **w = NULL;

		if (hamn_build_expand_words(ins->args[i], env, escape, &w, err) < 0)
			return -1;
		for (size_t j = 0; w[j]; j++)
			strv_push(&words, w[j]);
	}
	for (size_t i = 0; words[i]; i++)
		if (add_ports(ports, words[i], err) < 0)
			return -1;
	if (json_is_object(old))
		json_object_update_missing(ports, old);
	json_object_set(config, "ExposedPorts", ports);
	_cleanup_free_ char *joined = strv_join(words, " ");
	hamn_buf_printf(msg, "EXPOSE %s", joined);
	return 0;
}

static int apply_volume(json_t *config, const struct hamn_build_instr *ins, char *const *env,
			char escape, struct hamn_buf *msg, struct hamn_error **err)
{
	_cleanup_strv_ char **vols = xzalloc(sizeof(char *));
	json_t *obj;

	for (size_t i = 0; ins->args[i]; i++) {
		char *w;

		if (expand(ins, ins->args[i], env, escape, &w, err) < 0)
			return -1;
		strv_push_take(&vols, w);
		if (!*w)
			return hamn_error_setq(err, EINVAL, "VOLUME specified can not be an empty "
					       "string");
	}
	if (!json_is_object(json_object_get(config, "Volumes")))
		json_object_set_new(config, "Volumes", json_object());
	obj = json_object_get(config, "Volumes");
	for (size_t i = 0; vols[i]; i++)
		json_object_set_new(obj, vols[i], json_object());
	hamn_buf_puts(msg, "VOLUME ");
	go_slice(msg, vols);
	return 0;
}

static void health_history(struct hamn_buf *msg, char *const *test, const int64_t d[4],
			   int64_t retries)
{
	hamn_buf_puts(msg, "HEALTHCHECK &{");
	go_quote_slice(msg, test);
	for (int i = 0; i < 4; i++) {
		/* docker before 25 has no StartInterval: show it only when used */
		if (i == 3 && d[3] == 0)
			continue;
		hamn_buf_puts(msg, " \"");
		go_duration(msg, d[i]);
		hamn_buf_putc(msg, '"');
	}
	hamn_buf_putc(msg, ' ');
	go_quote_rune(msg, retries);
	hamn_buf_putc(msg, '}');
}

static int apply_health(json_t *config, struct hamn_build_stage_state *st,
			const struct hamn_build_instr *ins, struct hamn_buf *msg,
			struct hamn_error **err)
{
	static const char *const flags[] = { "interval", "timeout", "start-period",
					      "start-interval" };
	static const char *const keys[] = { "Interval", "Timeout", "StartPeriod", "StartInterval" };
	_cleanup_strv_ char **test = xzalloc(sizeof(char *));
	json_t *hc = json_object(), *old = json_object_get(config, "Healthcheck");
	int64_t d[4] = { 0 }, retries = 0;
	const char *r;

	if (strcmp(ins->args[0], "NONE") == 0) {
		strv_push(&test, "NONE");
	} else {
		strv_push(&test, ins->json ? "CMD" : "CMD-SHELL");
		for (size_t i = 1; ins->args[i]; i++)
			strv_push(&test, ins->args[i]);
		for (int i = 0; i < 4; i++)
			if (health_duration(ins, flags[i], &d[i], err) < 0) {
				json_decref(hc);
				return -1;
			}
		r = hamn_build_instr_flag(ins, "retries", NULL);
		retries = r && *r ? strtoll(r, NULL, 10) : 0;
	}
	json_object_set_new(hc, "Test", hamn_json_from_strv(test));
	for (int i = 0; i < 4; i++)
		if (d[i])
			json_object_set_new(hc, keys[i], json_integer(d[i]));
	if (retries)
		json_object_set_new(hc, "Retries", json_integer(retries));
	if (json_is_object(old)) {
		json_t *ot = json_object_get(old, "Test");
		const char *t0 = json_string_value(json_array_get(ot, 0));

		if (t0 && strcmp(t0, "NONE") != 0) {
			_cleanup_strv_ char **v = NULL;
			struct hamn_buf note = HAMN_BUF_INIT;

			hamn_json_get_strv_opt(old, "Test", "Test", &v, NULL);
			hamn_buf_puts(&note, "Note: overriding previous HEALTHCHECK: ");
			go_slice(&note, v);
			free(st->note);
			st->note = hamn_buf_steal(&note);
		}
	}
	json_object_set_new(config, "Healthcheck", hc);
	health_history(msg, test, d, retries);
	return 0;
}

static int apply_arg(const struct hamn_build_instr *ins, char *const *env, char escape,
		     struct hamn_buf *msg, struct hamn_error **err)
{
	hamn_buf_puts(msg, "ARG ");
	for (size_t i = 0; ins->args[i]; i++) {
		_cleanup_free_ char *w = NULL;

		if (expand(ins, ins->args[i], env, escape, &w, err) < 0)
			return -1;
		hamn_buf_printf(msg, "%s%s", i ? " " : "", w);
	}
	return 0;
}

/* USER, WORKDIR, STOPSIGNAL: one expanded word into a string key. */
static int apply_single(json_t *config, const struct hamn_build_instr *ins, char *const *env,
			char escape, struct hamn_buf *msg, struct hamn_error **err)
{
	_cleanup_free_ char *w = NULL;
	int sig;

	if (expand(ins, ins->args[0], env, escape, &w, err) < 0)
		return -1;
	switch (ins->cmd) {
	case HAMN_BUILD_USER:
		json_object_set_new(config, "User", json_string(w));
		hamn_buf_printf(msg, "USER %s", w);
		return 0;
	case HAMN_BUILD_STOPSIGNAL:
		if (signal_parse(w, &sig, err) < 0)
			return -1;
		json_object_set_new(config, "StopSignal", json_string(w));
		hamn_buf_printf(msg, "STOPSIGNAL %s", w);
		return 0;
	default: {
		const char *cur = json_string_value(json_object_get(config, "WorkingDir"));
		_cleanup_free_ char *wd = NULL;

		if (!*w)
			return hamn_error_setq(err, EINVAL, "cannot normalize nothing");
		wd = hamn_build_workdir(cur, w);
		json_object_set_new(config, "WorkingDir", json_string(wd));
		hamn_buf_printf(msg, "WORKDIR %s", wd);
		return 0;
	}
	}
}

static void apply_onbuild(json_t *config, const struct hamn_build_instr *ins,
			  struct hamn_buf *msg)
{
	json_t *ob = json_object_get(config, "OnBuild");

	if (!json_is_array(ob)) {
		ob = json_array();
		json_object_set_new(config, "OnBuild", ob);
	}
	json_array_append_new(ob, json_string(ins->args[0]));
	hamn_buf_printf(msg, "ONBUILD %s", ins->args[0]);
}

static int dispatch(json_t *config, struct hamn_build_stage_state *st,
		    const struct hamn_build_instr *ins, char *const *env, char escape,
		    struct hamn_buf *msg, struct hamn_error **err)
{
	switch (ins->cmd) {
	case HAMN_BUILD_ENV:
	case HAMN_BUILD_LABEL:
		return apply_pairs(config, ins, env, escape, msg, err);
	case HAMN_BUILD_MAINTAINER:
		free(st->author);
		st->author = xstrdup(ins->args[0]);
		hamn_buf_printf(msg, "MAINTAINER %s", ins->args[0]);
		return 0;
	case HAMN_BUILD_CMD:
	case HAMN_BUILD_ENTRYPOINT:
		apply_cmd(config, st, ins, msg);
		return 0;
	case HAMN_BUILD_EXPOSE:
		return apply_expose(config, ins, env, escape, msg, err);
	case HAMN_BUILD_VOLUME:
		return apply_volume(config, ins, env, escape, msg, err);
	case HAMN_BUILD_USER:
	case HAMN_BUILD_WORKDIR:
	case HAMN_BUILD_STOPSIGNAL:
		return apply_single(config, ins, env, escape, msg, err);
	case HAMN_BUILD_HEALTHCHECK:
		return apply_health(config, st, ins, msg, err);
	case HAMN_BUILD_SHELL:
		set_strv(config, "Shell", ins->args);
		hamn_buf_puts(msg, "SHELL ");
		go_slice(msg, ins->args);
		return 0;
	case HAMN_BUILD_ONBUILD:
		apply_onbuild(config, ins, msg);
		return 0;
	case HAMN_BUILD_ARG:
		return apply_arg(ins, env, escape, msg, err);
	default:
		return hamn_error_setq(err, EINVAL, "%s is not a config-only instruction",
				       hamn_build_cmd_name(ins->cmd));
	}
}

int hamn_build_config_apply(json_t *config, struct hamn_build_stage_state *st,
			    const struct hamn_build_instr *ins, char *const *env, char escape,
			    char **created_by, struct hamn_error **err)
{
	_cleanup_json_ json_t *work = json_deep_copy(config);
	_cleanup_buf_ struct hamn_buf msg = HAMN_BUF_INIT;
	struct hamn_build_stage_state saved = { st->cmd_set, NULL, NULL };

	if (dispatch(work, st, ins, env, escape, &msg, err) < 0) {
		st->cmd_set = saved.cmd_set;
		return hamn_error_wrap(err, "%s", hamn_build_cmd_name(ins->cmd));
	}
	json_object_clear(config);
	json_object_update(config, work);
	*created_by = nop(config, ins->cmd == HAMN_BUILD_WORKDIR ? "" : " ",
			  msg.data ? msg.data : "");
	return 0;
}

char *hamn_build_run_created_by(char *const *argv, char *const *recorded_args)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	_cleanup_free_ char *cmd = strv_join(argv, " ");

	if (recorded_args) {
		hamn_buf_printf(&b, "|%zu ", strv_len(recorded_args));
		for (size_t i = 0; recorded_args[i]; i++)
			hamn_buf_printf(&b, "%s ", recorded_args[i]);
	}
	hamn_buf_puts(&b, cmd);
	return hamn_buf_steal(&b);
}

/*
 * instr.c - one Dockerfile instruction line: its command, its --flags, its
 * arguments in the form docker's parser gives them (JSON or shell form,
 * key=value pairs, words), and the checks docker makes on them before a
 * build starts.
 *
 * The wording of the errors follows docker's builder so that users find
 * them familiar; the caller adds "Dockerfile:<line>: " in front.
 */
#include <ctype.h>

#include "base/signame.h"
#include "build/internal.h"

enum argform {
	FORM_WORDS,		/* whitespace-separated words */
	FORM_MAYBE_JSON,	/* JSON array, else the whole rest as one string */
	FORM_JSON_LIST,		/* JSON array, else the words */
	FORM_NAMEVAL,		/* ENV/LABEL: key=value pairs or "key value" */
	FORM_PARSEWORDS,	/* ARG: words with quotes kept */
	FORM_STRING,		/* the rest as one argument */
	FORM_HEALTH,
	FORM_SUB,
};

struct flag_spec {
	const char *name;
	bool boolean;
	const char *unsupported;	/* a reason to refuse it, or NULL */
};

struct cmd_spec {
	const char *name;
	enum hamn_build_cmd cmd;
	enum argform form;
	const struct flag_spec *flags;
};

static const struct flag_spec from_flags[] = { { "platform", false, NULL }, { NULL, 0, NULL } };
static const struct flag_spec run_flags[] = {
	{ "mount", false, "RUN --mount is not supported by hamn's builder" },
	{ "security", false, "RUN --security is not supported by hamn's builder" },
	{ "network", false, NULL },
	{ NULL, 0, NULL },
};
static const struct flag_spec copy_flags[] = {
	{ "from", false, NULL },
	{ "chown", false, NULL },
	{ "chmod", false, NULL },
	{ "link", true, NULL },
	{ "parents", true, "COPY --parents is not supported by hamn's builder" },
	{ "exclude", false, "COPY --exclude is not supported by hamn's builder" },
	{ NULL, 0, NULL },
};
static const struct flag_spec add_flags[] = {
	{ "chown", false, NULL },
	{ "chmod", false, NULL },
	{ "link", true, NULL },
	{ "keep-git-dir", true, NULL },
	{ "checksum", false, "ADD --checksum is not supported by hamn's builder" },
	{ "exclude", false, "ADD --exclude is not supported by hamn's builder" },
	{ NULL, 0, NULL },
};
static const struct flag_spec health_flags[] = {
	{ "interval", false, NULL },
	{ "timeout", false, NULL },
	{ "start-period", false, NULL },
	{ "start-interval", false, NULL },
	{ "retries", false, NULL },
	{ NULL, 0, NULL },
};
static const struct flag_spec no_flags[] = { { NULL, 0, NULL } };

static const struct cmd_spec commands[] = {
	{ "ADD", HAMN_BUILD_ADD, FORM_JSON_LIST, add_flags },
	{ "ARG", HAMN_BUILD_ARG, FORM_PARSEWORDS, no_flags },
	{ "CMD", HAMN_BUILD_CMD, FORM_MAYBE_JSON, no_flags },
	{ "COPY", HAMN_BUILD_COPY, FORM_JSON_LIST, copy_flags },
	{ "ENTRYPOINT", HAMN_BUILD_ENTRYPOINT, FORM_MAYBE_JSON, no_flags },
	{ "ENV", HAMN_BUILD_ENV, FORM_NAMEVAL, no_flags },
	{ "EXPOSE", HAMN_BUILD_EXPOSE, FORM_WORDS, no_flags },
	{ "FROM", HAMN_BUILD_FROM, FORM_WORDS, from_flags },
	{ "HEALTHCHECK", HAMN_BUILD_HEALTHCHECK, FORM_HEALTH, health_flags },
	{ "LABEL", HAMN_BUILD_LABEL, FORM_NAMEVAL, no_flags },
	{ "MAINTAINER", HAMN_BUILD_MAINTAINER, FORM_STRING, no_flags },
	{ "ONBUILD", HAMN_BUILD_ONBUILD, FORM_SUB, no_flags },
	{ "RUN", HAMN_BUILD_RUN, FORM_MAYBE_JSON, run_flags },
	{ "SHELL", HAMN_BUILD_SHELL, FORM_MAYBE_JSON, no_flags },
	{ "STOPSIGNAL", HAMN_BUILD_STOPSIGNAL, FORM_STRING, no_flags },
	{ "USER", HAMN_BUILD_USER, FORM_STRING, no_flags },
	{ "VOLUME", HAMN_BUILD_VOLUME, FORM_JSON_LIST, no_flags },
	{ "WORKDIR", HAMN_BUILD_WORKDIR, FORM_STRING, no_flags },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *hamn_build_cmd_name(enum hamn_build_cmd cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].cmd == cmd)
			return commands[i].name;
	return "?";
}

static const struct cmd_spec *find_cmd(const char *word)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcasecmp(commands[i].name, word) == 0)
			return &commands[i];
	return NULL;
}

/* ---- words ---- */

char **parse_words(const char *s, char escape)
{
	struct hamn_buf w = HAMN_BUF_INIT;
	char **v = xzalloc(sizeof(*v));
	char quote = 0;
	bool in_word = false, blank_ok = false;

	for (; *s; s++) {
		char c = *s;

		if (!in_word && !quote && is_ws(c))
			continue;
		in_word = true;
		if (quote) {
			if (c == quote) {
				quote = 0;
			} else if (c == escape && quote != '\'') {
				if (!s[1]) {
					quote = 0;	/* docker drops an escape at the very end */
					continue;
				}
				hamn_buf_putc(&w, *s++);
				c = *s;
			}
			hamn_buf_putc(&w, c);
			continue;
		}
		if (is_ws(c)) {
			if (blank_ok || w.len > 0)
				strv_push(&v, w.data ? w.data : "");
			hamn_buf_reset(&w);
			in_word = blank_ok = false;
			continue;
		}
		if (c == '\'' || c == '"')
			quote = c, blank_ok = true;
		if (c == escape) {
			if (!s[1])
				continue;
			hamn_buf_putc(&w, *s++);
			c = *s;
		}
		hamn_buf_putc(&w, c);
	}
	if (in_word && (blank_ok || w.len > 0))
		strv_push(&v, w.data ? w.data : "");
	hamn_buf_release(&w);
	return v;
}

/* Split off the leading --flags (docker's extractBuilderFlags); *rest points after them. */
static char **extract_flags(const char *line, const char **rest)
{
	struct hamn_buf w = HAMN_BUF_INIT;
	char **v = xzalloc(sizeof(*v));
	const char *p = line;

	for (;;) {
		char quote = 0;

		while (is_ws(*p))
			p++;
		if (p[0] != '-' || p[1] != '-')
			break;
		hamn_buf_reset(&w);
		for (; *p && (quote || !is_ws(*p)); p++) {
			if (!quote && (*p == '\'' || *p == '"')) {
				quote = *p;
			} else if (quote && *p == quote) {
				quote = 0;
			} else if (*p == '\\') {
				if (p[1])
					hamn_buf_putc(&w, *++p);
			} else {
				hamn_buf_putc(&w, *p);
			}
		}
		if (w.len == 2 && strcmp(w.data, "--") == 0)
			break;
		strv_push(&v, w.data);
	}
	*rest = p;
	hamn_buf_release(&w);
	return v;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False", NULL };

	if (strv_contains((char **)yes, s))
		return *out = true, 0;
	if (strv_contains((char **)no, s))
		return *out = false, 0;
	return -1;
}

static const struct flag_spec *find_flag(const struct flag_spec *specs, const char *name)
{
	for (; specs->name; specs++)
		if (strcmp(specs->name, name) == 0)
			return specs;
	return NULL;
}

static int add_flag(struct hamn_build_instr *ins, const struct cmd_spec *cs, const char *word,
		    struct hamn_error **err)
{
	const char *eq = strchr(word + 2, '=');
	_cleanup_free_ char *name = eq ? xstrndup(word + 2, (size_t)(eq - word - 2))
				       : xstrdup(word + 2);
	const struct flag_spec *fs = find_flag(cs->flags, name);
	bool bv;

	if (!fs)
		return hamn_error_setq(err, EINVAL, "Unknown flag: %s", name);
	if (hamn_build_instr_flag(ins, name, NULL))
		return hamn_error_setq(err, EINVAL, "Duplicate flag specified: %s", name);
	if (fs->unsupported)
		return hamn_error_setq(err, EINVAL, "%s", fs->unsupported);
	if (!fs->boolean && !eq)
		return hamn_error_setq(err, EINVAL, "Missing a value on flag: %s", name);
	if (fs->boolean && eq && parse_bool(eq + 1, &bv) < 0)
		return hamn_error_setq(err, EINVAL, "expecting boolean value for flag %s, not: %s",
				       name, eq + 1);
	ins->flags = xreallocarray(ins->flags, ins->n_flags + 1, sizeof(*ins->flags));
	ins->flags[ins->n_flags].name = steal_pointer(&name);
	ins->flags[ins->n_flags].value = eq ? xstrdup(eq + 1) : NULL;
	ins->n_flags++;
	return 0;
}

const char *hamn_build_instr_flag(const struct hamn_build_instr *ins, const char *name,
				  bool *present)
{
	for (size_t i = 0; i < ins->n_flags; i++) {
		if (strcmp(ins->flags[i].name, name) == 0) {
			if (present)
				*present = true;
			return ins->flags[i].value ? ins->flags[i].value : "";
		}
	}
	if (present)
		*present = false;
	return NULL;
}

/* ---- argument forms ---- */

/* 0: parsed as JSON; 1: not JSON (use the other form); -1: a JSON array of non-strings. */
static int parse_json(const char *s, char ***out, struct hamn_error **err)
{
	_cleanup_json_ json_t *a = NULL;
	json_error_t jerr;
	size_t i;
	json_t *e;

	if (*s != '[')
		return 1;
	a = json_loadb(s, strlen(s), JSON_DISABLE_EOF_CHECK, &jerr);
	if (!a || !json_is_array(a))
		return 1;
	*out = xzalloc(sizeof(char *));
	json_array_foreach(a, i, e) {
		if (!json_is_string(e)) {
			hamn_strv_free(*out);
			*out = NULL;
			return hamn_error_setq(err, EINVAL, "when using JSON array syntax, arrays "
					       "must be comprised of strings only");
		}
		strv_push(out, json_string_value(e));
	}
	return 0;
}

static int parse_maybe_json(struct hamn_build_instr *ins, const char *rest, bool list,
			    struct hamn_error **err)
{
	int r;

	if (!*rest && !list) {
		ins->args = xzalloc(sizeof(char *));
		return 0;
	}
	r = parse_json(rest, &ins->args, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		ins->json = true;
		return 0;
	}
	if (list) {
		ins->args = split_ws(rest);
	} else {
		ins->args = xzalloc(sizeof(char *));
		strv_push(&ins->args, rest);
	}
	return 0;
}

static int parse_name_val(struct hamn_build_instr *ins, const char *rest, const char *cmd,
			  char escape, struct hamn_error **err)
{
	_cleanup_strv_ char **words = parse_words(rest, escape);

	ins->args = xzalloc(sizeof(char *));
	if (!words[0])
		return 0;
	if (!strchr(words[0], '=')) {
		const char *p = rest;

		while (*p && !is_ws(*p))
			p++;
		if (!*p)
			return hamn_error_setq(err, EINVAL, "%s must have two arguments", cmd);
		strv_push_take(&ins->args, xstrndup(rest, (size_t)(p - rest)));
		while (is_ws(*p))
			p++;
		strv_push(&ins->args, p);
		return 0;
	}
	for (size_t i = 0; words[i]; i++) {
		char *eq = strchr(words[i], '=');

		if (!eq) {
			_cleanup_buf_ struct hamn_buf q = HAMN_BUF_INIT;

			hamn_build_go_quote(&q, words[i]);
			return hamn_error_setq(err, EINVAL,
					       "Syntax error - can't find = in %s. Must "
					       "be of the form: name=value",
					       q.data);
		}
		strv_push_take(&ins->args, xstrndup(words[i], (size_t)(eq - words[i])));
		strv_push(&ins->args, eq + 1);
	}
	return 0;
}

static int parse_health(struct hamn_build_instr *ins, const char *rest, struct hamn_error **err)
{
	const char *sep = rest;
	_cleanup_free_ char *typ = NULL;

	while (*sep && !is_ws(*sep))
		sep++;
	if (sep == rest) {
		ins->args = xzalloc(sizeof(char *));
		return 0;
	}
	typ = xstrndup(rest, (size_t)(sep - rest));
	while (is_ws(*sep))
		sep++;
	if (parse_maybe_json(ins, sep, false, err) < 0)
		return -1;
	for (char *c = typ; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	/* put the type in front of the command's words */
	size_t n = strv_len(ins->args);
	ins->args = xreallocarray(ins->args, n + 2, sizeof(char *));
	memmove(ins->args + 1, ins->args, (n + 1) * sizeof(char *));
	ins->args[0] = steal_pointer(&typ);
	return 0;
}

static int parse_sub(struct hamn_build_instr *ins, const char *rest, char escape, int depth,
		     struct hamn_error **err)
{
	_cleanup_strv_ char **w = split_ws(rest);

	ins->args = xzalloc(sizeof(char *));
	if (!w[0])
		return hamn_error_setq(err, EINVAL, "ONBUILD requires at least one argument");
	if (strcasecmp(w[0], "ONBUILD") == 0)
		return hamn_error_setq(err, EINVAL,
				       "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	if (strcasecmp(w[0], "FROM") == 0 || strcasecmp(w[0], "MAINTAINER") == 0) {
		for (char *c = w[0]; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		return hamn_error_setq(err, EINVAL, "%s isn't allowed as an ONBUILD trigger", w[0]);
	}
	ins->trigger = xzalloc(sizeof(*ins->trigger));
	if (instr_parse_line(rest, escape, depth + 1, ins->trigger, err) < 0)
		return -1;
	strv_push(&ins->args, rest);
	return 0;
}

/* ---- validation ---- */

static bool stage_name_valid(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

static int check_from(const struct hamn_build_instr *ins, struct hamn_error **err)
{
	size_t n = strv_len(ins->args);
	_cleanup_free_ char *lower = NULL;

	if (n != 1 && !(n == 3 && strcasecmp(ins->args[1], "as") == 0))
		return hamn_error_setq(err, EINVAL, "FROM requires either one or three arguments");
	if (n == 3) {
		lower = xstrdup(ins->args[2]);
		for (char *c = lower; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!stage_name_valid(lower)) {
			_cleanup_buf_ struct hamn_buf q = HAMN_BUF_INIT;

			hamn_build_go_quote(&q, ins->args[2]);
			return hamn_error_setq(err, EINVAL,
					       "invalid name for build stage: %s, name "
					       "can't start with a number or contain symbols",
					       q.data);
		}
	}
	return 0;
}

int health_duration(const struct hamn_build_instr *ins, const char *flag, int64_t *out,
		    struct hamn_error **err)
{
	const char *v = hamn_build_instr_flag(ins, flag, NULL);
	_cleanup_error_ struct hamn_error *e = NULL;

	*out = 0;
	if (!v || !*v)
		return 0;
	if (hamn_duration_parse(v, out, &e) < 0)
		return hamn_error_setq(err, EINVAL, "time: invalid duration \"%s\"", v);
	if (*out < 1000000)
		return hamn_error_setq(err, EINVAL, "Interval \"%s\" cannot be less than 1ms",
				       flag);
	return 0;
}

static int check_health(const struct hamn_build_instr *ins, struct hamn_error **err)
{
	static const char *const durations[] = { "interval", "timeout", "start-period",
						 "start-interval" };
	const char *retries;
	int64_t d, r;
	char *end;

	if (!ins->args[0])
		return hamn_error_setq(err, EINVAL, "HEALTHCHECK requires at least one argument");
	if (strcmp(ins->args[0], "NONE") == 0) {
		if (ins->args[1])
			return hamn_error_setq(err, EINVAL, "HEALTHCHECK NONE takes no arguments");
		return 0;
	}
	if (strcmp(ins->args[0], "CMD") != 0)
		return hamn_error_setq(err, EINVAL, "Unknown type \"%s\" in HEALTHCHECK (try CMD)",
				       ins->args[0]);
	if (!ins->args[1])
		return hamn_error_setq(err, EINVAL, "Missing command after HEALTHCHECK CMD");
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
		if (health_duration(ins, durations[i], &d, err) < 0)
			return -1;
	retries = hamn_build_instr_flag(ins, "retries", NULL);
	if (retries && *retries) {
		errno = 0;
		r = strtoll(retries, &end, 10);
		if (*end || errno || r > INT32_MAX || r < INT32_MIN)
			return hamn_error_setq(err, EINVAL, "strconv.ParseInt: parsing \"%s\": "
					       "invalid syntax", retries);
		if (r < 1)
			return hamn_error_setq(err, EINVAL,
					       "--retries must be at least 1 (not %lld)",
					       (long long)r);
	}
	return 0;
}

static int check_counts(const struct hamn_build_instr *ins, const char *name,
			struct hamn_error **err)
{
	size_t n = strv_len(ins->args);

	switch (ins->cmd) {
	case HAMN_BUILD_ADD:
	case HAMN_BUILD_COPY:
		if (n == 1)
			return hamn_error_setq(err, EINVAL,
					       "%s requires at least two arguments, but "
					       "only one was provided. Destination could not be "
					       "determined.",
					       name);
		if (n == 0)
			return hamn_error_setq(err, EINVAL, "%s requires at least two arguments",
					       name);
		return 0;
	case HAMN_BUILD_ARG:
	case HAMN_BUILD_ENV:
	case HAMN_BUILD_LABEL:
	case HAMN_BUILD_EXPOSE:
	case HAMN_BUILD_VOLUME:
	case HAMN_BUILD_RUN:
	case HAMN_BUILD_SHELL:
		if (n == 0)
			return hamn_error_setq(err, EINVAL, "%s requires at least one argument",
					       name);
		return 0;
	case HAMN_BUILD_MAINTAINER:
	case HAMN_BUILD_STOPSIGNAL:
	case HAMN_BUILD_USER:
	case HAMN_BUILD_WORKDIR:
		if (n != 1)
			return hamn_error_setq(err, EINVAL, "%s requires exactly one argument",
					       name);
		return 0;
	default:
		return 0;
	}
}

static int check_args(const struct hamn_build_instr *ins, const char *name,
		      struct hamn_error **err)
{
	if (check_counts(ins, name, err) < 0)
		return -1;
	switch (ins->cmd) {
	case HAMN_BUILD_FROM:
		return check_from(ins, err);
	case HAMN_BUILD_HEALTHCHECK:
		return check_health(ins, err);
	case HAMN_BUILD_SHELL:
		if (!ins->json)
			return hamn_error_setq(err, EINVAL, "SHELL requires the arguments to be in "
					       "JSON form");
		return 0;
	case HAMN_BUILD_ENV:
	case HAMN_BUILD_LABEL:
		for (size_t i = 0; ins->args[i]; i += 2)
			if (!*ins->args[i])
				return hamn_error_setq(err, EINVAL, "%s names can not be blank",
						       name);
		return 0;
	case HAMN_BUILD_ARG:
		for (size_t i = 0; ins->args[i]; i++)
			if (ins->args[i][0] == '=')
				return hamn_error_setq(err, EINVAL, "ARG names can not be blank");
		return 0;
	case HAMN_BUILD_VOLUME:
		for (size_t i = 0; ins->args[i]; i++)
			if (!*ins->args[i])
				return hamn_error_setq(err, EINVAL,
						       "VOLUME specified can not be an "
						       "empty string");
		return 0;
	default:
		return 0;
	}
}

static int parse_form(struct hamn_build_instr *ins, const struct cmd_spec *cs, const char *rest,
		      char escape, int depth, struct hamn_error **err)
{
	switch (cs->form) {
	case FORM_WORDS:
		ins->args = split_ws(rest);
		return 0;
	case FORM_MAYBE_JSON:
		return parse_maybe_json(ins, rest, false, err);
	case FORM_JSON_LIST:
		return parse_maybe_json(ins, rest, true, err);
	case FORM_NAMEVAL:
		return parse_name_val(ins, rest, cs->name, escape, err);
	case FORM_PARSEWORDS:
		ins->args = parse_words(rest, escape);
		return 0;
	case FORM_STRING:
		ins->args = xzalloc(sizeof(char *));
		if (*rest)
			strv_push(&ins->args, rest);
		return 0;
	case FORM_HEALTH:
		return parse_health(ins, rest, err);
	case FORM_SUB:
		return parse_sub(ins, rest, escape, depth, err);
	}
	return 0;
}

int instr_parse_line(const char *line, char escape, int depth, struct hamn_build_instr *out,
		     struct hamn_error **err)
{
	_cleanup_free_ char *text = trim_dup(line);
	_cleanup_free_ char *word = NULL, *rest = NULL;
	_cleanup_strv_ char **flags = NULL;
	const struct cmd_spec *cs;
	const char *p = text, *after;

	memset(out, 0, sizeof(*out));
	while (*p && !is_ws(*p))
		p++;
	word = xstrndup(text, (size_t)(p - text));
	cs = find_cmd(word);
	if (!cs) {
		for (char *c = word; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		return hamn_error_setq(err, EINVAL, "unknown instruction: %s", word);
	}
	out->cmd = cs->cmd;
	if (cs->form == FORM_SUB) {
		after = p;
	} else {
		flags = extract_flags(p, &after);
		for (size_t i = 0; flags[i]; i++)
			if (add_flag(out, cs, flags[i], err) < 0)
				goto fail;
	}
	rest = trim_dup(after);
	if (parse_form(out, cs, rest, escape, depth, err) < 0 || check_args(out, cs->name, err) < 0)
		goto fail;
	if (cs->cmd == HAMN_BUILD_EXPOSE)
		strv_sort(out->args);
	out->text = steal_pointer(&text);
	return 0;
fail:
	hamn_build_instr_release(out);
	return -1;
}

void hamn_build_instr_release(struct hamn_build_instr *ins)
{
	if (!ins)
		return;
	free(ins->text);
	hamn_strv_free(ins->args);
	for (size_t i = 0; i < ins->n_flags; i++) {
		free(ins->flags[i].name);
		free(ins->flags[i].value);
	}
	free(ins->flags);
	for (size_t i = 0; i < ins->n_heredocs; i++) {
		free(ins->heredocs[i].name);
		free(ins->heredocs[i].content);
	}
	free(ins->heredocs);
	if (ins->trigger) {
		hamn_build_instr_release(ins->trigger);
		free(ins->trigger);
	}
	memset(ins, 0, sizeof(*ins));
}

void instr_copy(struct hamn_build_instr *dst, const struct hamn_build_instr *src)
{
	*dst = *src;
	dst->text = src->text ? xstrdup(src->text) : NULL;
	dst->args = strv_copy(src->args);
	if (!dst->args)
		dst->args = xzalloc(sizeof(char *));
	dst->flags = src->n_flags ? xcalloc(src->n_flags, sizeof(*dst->flags)) : NULL;
	for (size_t i = 0; i < src->n_flags; i++) {
		dst->flags[i].name = xstrdup(src->flags[i].name);
		dst->flags[i].value = src->flags[i].value ? xstrdup(src->flags[i].value) : NULL;
	}
	dst->heredocs = src->n_heredocs ? xcalloc(src->n_heredocs, sizeof(*dst->heredocs)) : NULL;
	for (size_t i = 0; i < src->n_heredocs; i++) {
		dst->heredocs[i] = src->heredocs[i];
		dst->heredocs[i].name = xstrdup(src->heredocs[i].name);
		dst->heredocs[i].content = xstrdup(src->heredocs[i].content);
	}
	if (src->trigger) {
		dst->trigger = xzalloc(sizeof(*dst->trigger));
		instr_copy(dst->trigger, src->trigger);
	}
}

int hamn_build_instr_parse(const char *line, char escape, struct hamn_build_instr *out,
			   struct hamn_error **err)
{
	_cleanup_strv_ char **w = split_ws(line);

	if (w[0] && (strcasecmp(w[0], "FROM") == 0 || strcasecmp(w[0], "MAINTAINER") == 0 ||
		     strcasecmp(w[0], "ONBUILD") == 0)) {
		for (char *c = w[0]; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		return hamn_error_setq(err, EINVAL, "%s isn't allowed as an ONBUILD trigger", w[0]);
	}
	return instr_parse_line(line, escape, 1, out, err);
}

bool heredoc_marker(const char *word, char **name, bool *chomp, bool *expand)
{
	const char *p = word;
	struct hamn_buf b = HAMN_BUF_INIT;
	bool quoted = false;
	char quote = 0;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] != '<' || p[1] != '<')
		return false;
	p += 2;
	*chomp = *p == '-';
	if (*chomp)
		p++;
	if (!*p || strchr(p, '<'))
		return false;
	for (; *p; p++) {
		if (quote && *p == quote) {
			quote = 0;
		} else if (!quote && (*p == '\'' || *p == '"')) {
			quote = *p;
			quoted = true;
		} else if (!quote && *p == '\\' && p[1]) {
			quoted = true;
			hamn_buf_putc(&b, *++p);
		} else {
			hamn_buf_putc(&b, *p);
		}
	}
	if (quote || b.len == 0) {
		hamn_buf_release(&b);
		return false;
	}
	*name = hamn_buf_steal(&b);
	*expand = !quoted;
	return true;
}

/* ---- signals (STOPSIGNAL) ---- */

int signal_parse(const char *s, int *out, struct hamn_error **err)
{
	return hamn_signal_parse(s, out, err);
}

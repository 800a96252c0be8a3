/*
 * changes.c - the Dockerfile-like instructions of `import --change` (and,
 * later, commit): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME,
 * WORKDIR, STOPSIGNAL, in their simple forms. Not a Dockerfile parser: no
 * variables, no line continuations, no heredocs.
 */
#include "image/internal.h"

#include <ctype.h>

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* Words separated by blanks; quotes group, backslash escapes (not inside ''). */
static int split_words(const char *s, char ***out, struct hamn_error **err)
{
	struct hamn_buf w = HAMN_BUF_INIT;
	char quote = 0;
	bool in_word = false;

	*out = xcalloc(1, sizeof(char *));
	for (;; s++) {
		char c = *s;

		if (c == '\0' || (!quote && isspace((unsigned char)c))) {
			if (quote)
				break;
			if (in_word)
				strv_push_take(out, hamn_buf_steal(&w));
			in_word = false;
			if (c == '\0')
				return 0;
			continue;
		}
		in_word = true;
		if (c == '\\' && quote != '\'' && s[1]) {
			hamn_buf_putc(&w, *++s);
		} else if ((c == '"' || c == '\'') && (!quote || quote == c)) {
			quote = quote ? 0 : c;	/* "" still makes an (empty) word */
		} else {
			hamn_buf_putc(&w, c);
		}
	}
	hamn_buf_release(&w);
	hamn_strv_free(steal_pointer(out));
	return hamn_error_setq(err, EINVAL, "unterminated quote");
}

/* ["a", "b"] (JSON) or the shell form, which runs under /bin/sh -c. */
static int parse_command(const char *args, char ***out, struct hamn_error **err)
{
	if (*args == '[') {
		_cleanup_json_ json_t *doc = hamn_json_parse(args, strlen(args), NULL);
		json_t *wrap = doc ? json_pack("{sO}", "v", doc) : NULL;
		int rc;

		if (!wrap)
			return hamn_error_setq(err, EINVAL, "not a JSON array of strings");
		rc = hamn_json_get_strv_opt(wrap, "v", "command", out, err);
		json_decref(wrap);
		if (rc == 0 && !json_is_array(doc))
			rc = hamn_error_setq(err, EINVAL, "not a JSON array of strings");
		return rc;
	}
	*out = xcalloc(4, sizeof(char *));
	(*out)[0] = xstrdup("/bin/sh");
	(*out)[1] = xstrdup("-c");
	(*out)[2] = xstrdup(args);
	return 0;
}

static void env_set(char ***env, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char *kv = xasprintf("%s=%s", key, value);

	for (size_t i = 0; *env && (*env)[i]; i++) {
		if (strncmp((*env)[i], key, klen) == 0 && (*env)[i][klen] == '=') {
			free((*env)[i]);
			(*env)[i] = kv;
			return;
		}
	}
	strv_push_take(env, kv);
}

/* "k=v k2=v2" pairs, or the old "k value with spaces" form when allowed. */
static int parse_pairs(const char *args, bool legacy, char ***keys, char ***values,
		       struct hamn_error **err)
{
	_cleanup_strv_ char **words = NULL;

	*keys = xcalloc(1, sizeof(char *));
	*values = xcalloc(1, sizeof(char *));
	if (split_words(args, &words, err) < 0)
		return -1;
	if (!words[0])
		return hamn_error_setq(err, EINVAL, "needs at least one key=value");
	if (legacy && !strchr(words[0], '=')) {
		const char *rest = skip_space(args + strcspn(args, " \t"));

		strv_push(keys, words[0]);
		strv_push(values, rest);
		return 0;
	}
	for (size_t i = 0; words[i]; i++) {
		char *eq = strchr(words[i], '=');

		if (!eq || eq == words[i])
			return hamn_error_setq(err, EINVAL, "'%s' is not key=value", words[i]);
		strv_push_take(keys, xstrndup(words[i], (size_t)(eq - words[i])));
		strv_push(values, eq + 1);
	}
	return 0;
}

static int do_env_label(const char *args, bool env, struct hamn_oci_image_exec *e,
			struct hamn_error **err)
{
	_cleanup_strv_ char **keys = NULL, **values = NULL;

	if (parse_pairs(args, true, &keys, &values, err) < 0)
		return -1;
	for (size_t i = 0; keys[i]; i++) {
		if (env) {
			env_set(&e->env, keys[i], values[i]);
			continue;
		}
		if (!e->labels)
			e->labels = json_object();
		json_object_set_new(e->labels, keys[i], json_string(values[i]));
	}
	return 0;
}

static int port_number(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || end == s || *out < 1 || *out > 65535) ? -1 : (int)(end - s);
}

static int add_port(const char *spec, char ***ports, struct hamn_error **err)
{
	const char *slash = strchr(spec, '/');
	const char *proto = slash ? slash + 1 : "tcp";
	long lo, hi;
	int n = port_number(spec, &lo);

	if (n < 0)
		return hamn_error_setq(err, EINVAL, "invalid port '%s'", spec);
	hi = lo;
	if (spec[n] == '-' && (port_number(spec + n + 1, &hi) < 0 || hi < lo || hi - lo > 1000))
		return hamn_error_setq(err, EINVAL, "invalid port range '%s'", spec);
	if (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp"))
		return hamn_error_setq(err, EINVAL, "invalid protocol in '%s'", spec);
	for (long p = lo; p <= hi; p++) {
		_cleanup_free_ char *key = xasprintf("%ld/%s", p, proto);

		if (!strv_contains(*ports, key))
			strv_push(ports, key);
	}
	return 0;
}

static int do_list(const char *args, bool ports, struct hamn_oci_image_exec *e,
		   struct hamn_error **err)
{
	_cleanup_strv_ char **words = NULL;
	char ***dst = ports ? &e->exposed_ports : &e->volumes;

	if (*args == '[') {
		if (parse_command(args, &words, err) < 0)
			return -1;
	} else if (split_words(args, &words, err) < 0) {
		return -1;
	}
	if (!words[0])
		return hamn_error_setq(err, EINVAL, "needs at least one argument");
	for (size_t i = 0; words[i]; i++) {
		if (ports && add_port(words[i], dst, err) < 0)
			return -1;
		if (!ports && *words[i] != '/')
			return hamn_error_setq(err, EINVAL, "volume '%s' is not absolute", words[i]);
		if (!ports && !strv_contains(*dst, words[i]))
			strv_push(dst, words[i]);
	}
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void do_workdir(const char *args, struct hamn_oci_image_exec *e)
{
	char *w;

	if (*args == '/')
		w = xstrdup(args);
	else
		w = xasprintf("%s/%s", e->working_dir && *e->working_dir ? e->working_dir : "",
			      args);
	free(e->working_dir);
	e->working_dir = w;
}

static int apply_one(const char *op, const char *args, struct hamn_oci_image_exec *e,
		     struct hamn_error **err)
{
	if (!strcasecmp(op, "CMD")) {
		hamn_strv_free(steal_pointer(&e->cmd));
		return parse_command(args, &e->cmd, err);
	}
	if (!strcasecmp(op, "ENTRYPOINT")) {
		hamn_strv_free(steal_pointer(&e->entrypoint));
		return parse_command(args, &e->entrypoint, err);
	}
	if (!strcasecmp(op, "ENV") || !strcasecmp(op, "LABEL"))
		return do_env_label(args, !strcasecmp(op, "ENV"), e, err);
	if (!strcasecmp(op, "EXPOSE") || !strcasecmp(op, "VOLUME"))
		return do_list(args, !strcasecmp(op, "EXPOSE"), e, err);
	if (!*args)
		return hamn_error_setq(err, EINVAL, "needs an argument");
	if (!strcasecmp(op, "USER"))
		set_str(&e->user, args);
	else if (!strcasecmp(op, "WORKDIR"))
		do_workdir(args, e);
	else if (!strcasecmp(op, "STOPSIGNAL"))
		set_str(&e->stop_signal, args);
	else
		return hamn_error_setq(err, EINVAL, "%s is not supported (use CMD, ENTRYPOINT, ENV, "
				       "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR)", op);
	return 0;
}

int hamn_image_apply_changes(char *const *changes, struct hamn_oci_image_exec *e,
			     struct hamn_error **err)
{
	for (size_t i = 0; changes && changes[i]; i++) {
		const char *s = skip_space(changes[i]);
		size_t oplen = strcspn(s, " \t");
		_cleanup_free_ char *op = xstrndup(s, oplen);
		_cleanup_free_ char *args = xstrdup(skip_space(s + oplen));

		for (size_t n = strlen(args); n > 0 && isspace((unsigned char)args[n - 1]); n--)
			args[n - 1] = '\0';
		if (!*op)
			continue;
		if (apply_one(op, args, e, err) < 0)
			return hamn_error_wrap(err, "change '%s'", changes[i]);
	}
	return 0;
}

/*
 * shell.c - docker's shell-word lexer: the variable substitution and quote
 * removal applied to the arguments of ENV, LABEL, ARG, COPY, ADD, WORKDIR,
 * USER, VOLUME, EXPOSE, STOPSIGNAL and FROM.
 *
 * It is not a shell: no command substitution, globbing, arithmetic or
 * pattern operators (${V#x}); only what docker's builder does, with its
 * error messages.
 */
#include "build/internal.h"

struct lexer {
	const char *p;
	char escape;
	char *const *env;
	struct hamn_error **err;
	/* word splitting (hamn_build_expand_words) */
	struct hamn_buf word;
	bool in_word;
	char **words;
};

static int peek(const struct lexer *lx)
{
	return *lx->p ? (unsigned char)*lx->p : -1;
}

static int next(struct lexer *lx)
{
	return *lx->p ? (unsigned char)*lx->p++ : -1;
}

static void flush_word(struct lexer *lx)
{
	if (lx->word.len > 0)
		strv_push(&lx->words, lx->word.data);
	hamn_buf_reset(&lx->word);
	lx->in_word = false;
}

/* A character that may split words (unquoted, unescaped). */
static void add_char(struct lexer *lx, char c)
{
	if (is_ws(c)) {
		if (lx->in_word)
			flush_word(lx);
		return;
	}
	hamn_buf_putc(&lx->word, c);
	lx->in_word = true;
}

static void add_raw(struct lexer *lx, const char *s, size_t n)
{
	hamn_buf_append(&lx->word, s, n);
	lx->in_word = true;
}

static int process_stop_on(struct lexer *lx, int stop, struct hamn_buf *out);

static const char *lookup(const struct lexer *lx, const char *name)
{
	return env_get(lx->env, name);
}

static bool special_param(int c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
	       c == '0';
}

static bool name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

static char *process_name(struct lexer *lx)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	int c = peek(lx);

	if (c >= '0' && c <= '9') {
		while (peek(lx) >= '0' && peek(lx) <= '9')
			hamn_buf_putc(&b, (char)next(lx));
		return hamn_buf_steal(&b);
	}
	if (c != -1 && special_param(c)) {
		hamn_buf_putc(&b, (char)next(lx));
		return hamn_buf_steal(&b);
	}
	while (name_char(peek(lx)))
		hamn_buf_putc(&b, (char)next(lx));
	return hamn_buf_steal(&b);
}

/* ${name<op>word}: op is the modifier, colon says whether ':' preceded it. */
static int apply_modifier(struct lexer *lx, const char *name, int op, bool colon,
			  struct hamn_buf *out)
{
	_cleanup_buf_ struct hamn_buf word = HAMN_BUF_INIT;
	const char *val = lookup(lx, name);
	bool set = val != NULL, nonempty = val && *val;
	bool use_word;

	if (process_stop_on(lx, '}', &word) < 0)
		return -1;
	if (!word.data)
		hamn_buf_puts(&word, "");
	switch (op) {
	case '+':
		use_word = colon ? nonempty : set;
		hamn_buf_puts(out, use_word ? word.data : "");
		return 0;
	case '-':
		use_word = colon ? !nonempty : !set;
		hamn_buf_puts(out, use_word ? word.data : val);
		return 0;
	case '?':
		if (!set)
			return hamn_error_setq(lx->err, EINVAL, "%s: %s", name,
					       *word.data ? word.data
							  : "is not allowed to be unset");
		if (colon && !nonempty)
			return hamn_error_setq(lx->err, EINVAL, "%s: %s", name,
					       *word.data ? word.data
							  : "is not allowed to be empty");
		hamn_buf_puts(out, val);
		return 0;
	}
	return hamn_error_setq(lx->err, EINVAL, "unsupported modifier (%c) in substitution", op);
}

static int process_braced(struct lexer *lx, struct hamn_buf *out)
{
	_cleanup_free_ char *name = NULL;
	int c = peek(lx);

	if (c == -1)
		return hamn_error_setq(lx->err, EINVAL, "syntax error: missing '}'");
	if (c == '{' || c == '}' || c == ':')
		return hamn_error_setq(lx->err, EINVAL, "syntax error: bad substitution");
	name = process_name(lx);
	c = next(lx);
	switch (c) {
	case '}': {
		const char *v = lookup(lx, name);

		hamn_buf_puts(out, v ? v : "");
		return 0;
	}
	case ':':
		c = next(lx);
		if (c == -1)
			return hamn_error_setq(lx->err, EINVAL, "syntax error: missing '}'");
		return apply_modifier(lx, name, c, true, out);
	case '+':
	case '-':
	case '?':
		return apply_modifier(lx, name, c, false, out);
	case -1:
		return hamn_error_setq(lx->err, EINVAL, "syntax error: missing '}'");
	}
	return hamn_error_setq(lx->err, EINVAL, "missing ':' in substitution");
}

/* At a '$': append its value to out. */
static int process_dollar(struct lexer *lx, struct hamn_buf *out)
{
	next(lx);
	if (peek(lx) == '{') {
		next(lx);
		return process_braced(lx, out);
	}
	_cleanup_free_ char *name = process_name(lx);
	if (!*name) {
		hamn_buf_putc(out, '$');
		return 0;
	}
	const char *v = lookup(lx, name);
	hamn_buf_puts(out, v ? v : "");
	return 0;
}

static int process_single_quote(struct lexer *lx, struct hamn_buf *out)
{
	next(lx);
	for (;;) {
		int c = next(lx);

		if (c == -1)
			return hamn_error_setq(lx->err, EINVAL, "unexpected end of statement while "
					       "looking for matching single-quote");
		if (c == '\'')
			return 0;
		hamn_buf_putc(out, (char)c);
	}
}

static int process_double_quote(struct lexer *lx, struct hamn_buf *out)
{
	next(lx);
	for (;;) {
		int c = peek(lx);

		if (c == -1)
			return hamn_error_setq(lx->err, EINVAL, "unexpected end of statement while "
					       "looking for matching double-quote");
		if (c == '"') {
			next(lx);
			return 0;
		}
		if (c == '$') {
			if (process_dollar(lx, out) < 0)
				return -1;
			continue;
		}
		c = next(lx);
		if (c == lx->escape) {
			int n = peek(lx);

			if (n == -1)
				continue;
			if (n == '"' || n == '$' || n == lx->escape)
				c = next(lx);
		}
		hamn_buf_putc(out, (char)c);
	}
}

/*
 * A quote or a '$' at the current position: append its value to out; for
 * the word splitter, a substitution may split while quoted text never does.
 */
static int process_special(struct lexer *lx, int c, struct hamn_buf *out)
{
	_cleanup_buf_ struct hamn_buf part = HAMN_BUF_INIT;
	int r;

	if (c == '\'')
		r = process_single_quote(lx, &part);
	else if (c == '"')
		r = process_double_quote(lx, &part);
	else
		r = process_dollar(lx, &part);
	if (r < 0)
		return -1;
	hamn_buf_append(out, part.data ? part.data : "", part.len);
	if (c == '$') {
		for (size_t i = 0; i < part.len; i++)
			add_char(lx, part.data[i]);
	} else {
		add_raw(lx, part.data ? part.data : "", part.len);
	}
	return 0;
}

/* Process until stop (-1: the end); the result goes to out and to the word splitter. */
static int process_stop_on(struct lexer *lx, int stop, struct hamn_buf *out)
{
	while (peek(lx) != -1) {
		int c = peek(lx);

		if (stop != -1 && c == stop) {
			next(lx);
			return 0;
		}
		if (c == '\'' || c == '"' || c == '$') {
			if (process_special(lx, c, out) < 0)
				return -1;
			continue;
		}
		c = next(lx);
		if (c == lx->escape) {
			char ch;

			c = next(lx);
			if (c == -1)
				break;
			ch = (char)c;
			add_raw(lx, &ch, 1);
		} else {
			add_char(lx, (char)c);
		}
		hamn_buf_putc(out, (char)c);
	}
	if (stop != -1) {
		if (stop == '}')
			return hamn_error_setq(lx->err, EINVAL, "syntax error: missing '}'");
		return hamn_error_setq(lx->err, EINVAL, "unexpected end of statement while looking "
				       "for matching %c", stop);
	}
	return 0;
}

static int lex(const char *word, char *const *env, char escape, char **out, char ***words,
	       struct hamn_error **err)
{
	struct lexer lx = { .p = word, .escape = escape, .env = env, .err = err };
	struct hamn_buf res = HAMN_BUF_INIT;
	int r = process_stop_on(&lx, -1, &res);

	if (r == 0 && words) {
		flush_word(&lx);
		*words = lx.words ? lx.words : xzalloc(sizeof(char *));
		lx.words = NULL;
	}
	if (r == 0 && out)
		*out = hamn_buf_steal(&res);
	hamn_buf_release(&res);
	hamn_buf_release(&lx.word);
	hamn_strv_free(lx.words);
	return r;
}

int hamn_build_expand_word(const char *word, char *const *env, char escape, char **out,
			   struct hamn_error **err)
{
	return lex(word, env, escape, out, NULL, err);
}

int hamn_build_expand_words(const char *word, char *const *env, char escape, char ***out,
			    struct hamn_error **err)
{
	return lex(word, env, escape, NULL, out, err);
}

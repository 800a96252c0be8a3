/*
 * dockerfile.c - the Dockerfile reader: parser directives, comments, line
 * continuations, heredoc bodies, and the grouping of instructions into
 * stages. Each logical line is handed to instr.c.
 *
 * Rules, as docker's parser has them: directives ("# escape=`",
 * "# syntax=...") count only before anything else, a blank line or a
 * non-directive comment included; a comment line inside a continuation is
 * dropped, and so is an empty one (with a warning); continuation lines keep
 * their leading whitespace; the escape character followed only by blanks at
 * the end of a line continues it. Not done: ONBUILD with heredocs.
 */
#include <ctype.h>

#include "build/internal.h"

struct reader {
	char **lines;		/* the file split at '\n', '\r' before it dropped */
	size_t n, pos;
	struct hamn_build_dockerfile *df;
	bool directives_done;
	bool seen_escape, seen_syntax, seen_check;
};

static int fail_at(struct reader *r, int line, struct hamn_error **err)
{
	return hamn_error_wrap(err, "%s:%d", r->df->filename, line);
}

static const char *ltrim(const char *s)
{
	while (is_ws(*s))
		s++;
	return s;
}

/* Match "#\s*name\s*=\s*value" on a left-trimmed line; name and value are new strings. */
static bool directive_match(const char *s, char **name, char **value)
{
	const char *n, *v;
	size_t vl;

	if (*s++ != '#')
		return false;
	while (is_ws(*s))
		s++;
	n = s;
	if (!isalpha((unsigned char)*s))
		return false;
	while (isalnum((unsigned char)*s))
		s++;
	*name = xstrndup(n, (size_t)(s - n));
	while (is_ws(*s))
		s++;
	if (*s++ != '=') {
		free(*name);
		*name = NULL;
		return false;
	}
	v = ltrim(s);
	vl = strlen(v);
	while (vl > 0 && is_ws(v[vl - 1]))
		vl--;
	if (vl == 0) {
		free(*name);
		*name = NULL;
		return false;
	}
	*value = xstrndup(v, vl);
	for (char *c = *name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return true;
}

static int directive(struct reader *r, const char *line, struct hamn_error **err)
{
	_cleanup_free_ char *name = NULL, *value = NULL;
	bool *seen;

	if (r->directives_done)
		return 0;
	if (!directive_match(ltrim(line), &name, &value)) {
		r->directives_done = true;
		return 0;
	}
	if (strcmp(name, "escape") == 0)
		seen = &r->seen_escape;
	else if (strcmp(name, "syntax") == 0)
		seen = &r->seen_syntax;
	else if (strcmp(name, "check") == 0)
		seen = &r->seen_check;
	else {
		r->directives_done = true;
		return 0;
	}
	if (*seen)
		return hamn_error_setq(err, EINVAL, "only one %s parser directive can be used",
				       name);
	*seen = true;
	if (seen == &r->seen_escape) {
		if (strcmp(value, "`") != 0 && strcmp(value, "\\") != 0)
			return hamn_error_setq(err, EINVAL, "invalid escape token '%s' does not "
					       "match ` or \\", value);
		r->df->escape = value[0];
	} else if (seen == &r->seen_syntax) {
		r->df->syntax = steal_pointer(&value);
	}
	return 0;
}

/* Strip a trailing continuation (escape + blanks); true when the line continues. */
static bool strip_continuation(struct hamn_buf *b, char escape)
{
	size_t n = b->len;

	while (n > 0 && (b->data[n - 1] == ' ' || b->data[n - 1] == '\t'))
		n--;
	if (n == 0 || b->data[n - 1] != escape)
		return false;
	b->len = n - 1;
	b->data[b->len] = '\0';
	return true;
}

static bool is_comment(const char *line)
{
	return *ltrim(line) == '#';
}

/* Join the continuation lines that follow into b. Returns the last line number. */
static int read_continuation(struct reader *r, struct hamn_buf *b, int line)
{
	bool empty_seen = false;

	while (r->pos < r->n) {
		const char *l = r->lines[r->pos++];

		line++;
		if (is_comment(l))
			continue;
		if (!*ltrim(l)) {
			empty_seen = true;
			continue;
		}
		hamn_buf_puts(b, l);
		if (!strip_continuation(b, r->df->escape))
			break;
	}
	if (empty_seen)
		strv_push_take(&r->df->warnings,
			       xasprintf("[WARNING]: Empty continuation line found in:\n    %s",
					 b->data ? b->data : ""));
	return line;
}

static bool can_heredoc(const struct hamn_build_instr *ins)
{
	return !ins->json && (ins->cmd == HAMN_BUILD_RUN || ins->cmd == HAMN_BUILD_COPY ||
			      ins->cmd == HAMN_BUILD_ADD);
}

/* Strip leading tabs (<<-). */
static const char *untab(const char *s)
{
	while (*s == '\t')
		s++;
	return s;
}

static int read_heredoc(struct reader *r, struct hamn_build_heredoc *h, int *line,
			struct hamn_error **err)
{
	struct hamn_buf body = HAMN_BUF_INIT;

	while (r->pos < r->n) {
		const char *l = r->lines[r->pos++];

		(*line)++;
		if (strcmp(h->chomp ? untab(l) : l, h->name) == 0) {
			h->content = body.data ? hamn_buf_steal(&body) : xstrdup("");
			return 0;
		}
		hamn_buf_puts(&body, h->chomp ? untab(l) : l);
		hamn_buf_putc(&body, '\n');
	}
	hamn_buf_release(&body);
	return hamn_error_setq(err, EINVAL, "unterminated heredoc");
}

static int read_heredocs(struct reader *r, struct hamn_build_instr *ins, int *line,
			 struct hamn_error **err)
{
	_cleanup_strv_ char **words = NULL;
	const char *rest = ins->text;

	while (*rest && !is_ws(*rest))
		rest++;
	words = parse_words(rest, '\\');
	for (size_t i = 0; words[i]; i++) {
		struct hamn_build_heredoc h = { 0 };

		if (!heredoc_marker(words[i], &h.name, &h.chomp, &h.expand))
			continue;
		ins->heredocs = xreallocarray(ins->heredocs, ins->n_heredocs + 1, sizeof(h));
		ins->heredocs[ins->n_heredocs++] = h;
		if (read_heredoc(r, &ins->heredocs[ins->n_heredocs - 1], line, err) < 0)
			return -1;
	}
	return 0;
}

static void add_instr(struct hamn_build_instr **v, size_t *n, struct hamn_build_instr *ins)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *ins;
	memset(ins, 0, sizeof(*ins));
}

/* Place a parsed instruction: a meta ARG, a new stage, or into the current stage. */
static int place(struct reader *r, struct hamn_build_instr *ins, struct hamn_error **err)
{
	struct hamn_build_dockerfile *df = r->df;
	struct hamn_build_stage *st;

	if (ins->cmd == HAMN_BUILD_FROM) {
		df->stages = xreallocarray(df->stages, df->n_stages + 1, sizeof(*st));
		st = &df->stages[df->n_stages++];
		memset(st, 0, sizeof(*st));
		st->base = xstrdup(ins->args[0]);
		if (ins->args[1]) {
			st->name = xstrdup(ins->args[2]);
			for (char *c = st->name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
		}
		st->from = *ins;
		memset(ins, 0, sizeof(*ins));
		return 0;
	}
	if (df->n_stages == 0) {
		if (ins->cmd != HAMN_BUILD_ARG)
			return hamn_error_setq(err, EINVAL, "no build stage in current context");
		add_instr(&df->meta_args, &df->n_meta_args, ins);
		return 0;
	}
	st = &df->stages[df->n_stages - 1];
	add_instr(&st->instrs, &st->n_instrs, ins);
	return 0;
}

/* One logical line starting at r->lines[r->pos - 1] (line number `line`). */
static int logical_line(struct reader *r, const char *first, int line, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	struct hamn_build_instr ins;
	int end = line;

	hamn_buf_puts(&b, ltrim(first));
	if (strip_continuation(&b, r->df->escape))
		end = read_continuation(r, &b, line);
	if (!b.data || !*ltrim(b.data))
		return 0;
	if (instr_parse_line(b.data, r->df->escape, 0, &ins, err) < 0)
		return fail_at(r, line, err);
	if (can_heredoc(&ins) && read_heredocs(r, &ins, &end, err) < 0) {
		hamn_build_instr_release(&ins);
		return fail_at(r, line, err);
	}
	ins.line = line;
	ins.end_line = end;
	if (place(r, &ins, err) < 0) {
		hamn_build_instr_release(&ins);
		return fail_at(r, line, err);
	}
	return 0;
}

static char **split_lines(const char *text, size_t len, size_t *n)
{
	char **v = NULL;
	size_t i = 0;

	*n = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len, l = e - i;

		if (l > 0 && text[i + l - 1] == '\r')
			l--;
		v = xreallocarray(v, *n + 2, sizeof(*v));
		v[(*n)++] = xstrndup(text + i, l);
		v[*n] = NULL;
		i = e + 1;
	}
	return v;
}

static int read_all(struct reader *r, struct hamn_error **err)
{
	while (r->pos < r->n) {
		const char *l = r->lines[r->pos++];
		int line = (int)r->pos;

		if (directive(r, l, err) < 0)
			return fail_at(r, line, err);
		if (is_comment(l))
			continue;
		if (logical_line(r, l, line, err) < 0)
			return -1;
	}
	if (r->df->n_stages == 0)
		return hamn_error_setq(err, EINVAL, "%s: %s", r->df->filename,
				       r->n == 0 || r->df->n_meta_args == 0
					       ? "file with no instructions"
					       : "no build stage in current context");
	return 0;
}

struct hamn_build_dockerfile *hamn_build_dockerfile_parse(const char *text, size_t len,
							  const char *filename,
							  struct hamn_error **err)
{
	struct hamn_build_dockerfile *df;
	struct reader r = { 0 };
	int rc;

	if (len > HAMN_BUILD_DOCKERFILE_MAX)
		return hamn_error_setq(err, EFBIG, "%s: larger than %d bytes",
				       filename ? filename : "Dockerfile",
				       HAMN_BUILD_DOCKERFILE_MAX), NULL;
	if (memchr(text, '\0', len))
		return hamn_error_setq(err, EINVAL, "%s: contains a NUL byte",
				       filename ? filename : "Dockerfile"), NULL;
	df = xzalloc(sizeof(*df));
	df->filename = xstrdup(filename ? filename : "Dockerfile");
	df->escape = '\\';
	df->warnings = xzalloc(sizeof(char *));
	r.df = df;
	r.lines = split_lines(text, len, &r.n);
	rc = read_all(&r, err);
	hamn_strv_free(r.lines);
	if (rc < 0) {
		hamn_build_dockerfile_free(df);
		return NULL;
	}
	return df;
}

void hamn_build_dockerfile_free(struct hamn_build_dockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->n_meta_args; i++)
		hamn_build_instr_release(&df->meta_args[i]);
	free(df->meta_args);
	for (size_t i = 0; i < df->n_stages; i++) {
		struct hamn_build_stage *st = &df->stages[i];

		hamn_build_instr_release(&st->from);
		for (size_t j = 0; j < st->n_instrs; j++)
			hamn_build_instr_release(&st->instrs[j]);
		free(st->instrs);
		free(st->base);
		free(st->name);
	}
	free(df->stages);
	free(df->filename);
	free(df->syntax);
	hamn_strv_free(df->warnings);
	free(df);
}

/*
 * internal.h - shared by the .c files of src/build only; never included from outside.
 */
#ifndef HAMN_BUILD_INTERNAL_H
#define HAMN_BUILD_INTERNAL_H

#include "build/build.h"

/* Go's unicode.IsSpace restricted to ASCII: what docker splits words on. */
static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* ---- strings (util.c) ---- */

/* Whitespace-separated words (docker's reWhitespace split); an empty vector for "". */
char **split_ws(const char *s);
/* Copy of s without leading and trailing whitespace. */
char *trim_dup(const char *s);
/* Go's path.Clean for '/'-separated paths ("" -> "."). New string. */
char *path_clean(const char *p);
/* Go's time.Duration.String() of ns ("1m30s", "500ms", "0s"). */
void go_duration(struct hamn_buf *b, int64_t ns);
/* Go's %q of a rune value (docker prints HEALTHCHECK Retries this way: '\x03'). */
void go_quote_rune(struct hamn_buf *b, int64_t r);
/* Go's %v of a string slice: "[a b c]". */
void go_slice(struct hamn_buf *b, char *const *v);
/* Go's %q of a string slice: ["a" "b"]; an empty or NULL slice is "[]". */
void go_quote_slice(struct hamn_buf *b, char *const *v);
/* Append s to *v unless already there. */
void strv_add_unique(char ***v, const char *s);
/* Sort a vector in place (strcmp order). */
void strv_sort(char **v);
/* Look up "name=" in an env vector; NULL when absent ("name" alone gives ""). */
const char *env_get(char *const *env, const char *name);

/* ---- Dockerfile lines (instr.c) ---- */

/*
 * Parse one logical line (continuations joined, no heredoc bodies) into
 * *out: command, flags, arguments, validation. depth > 0 for ONBUILD
 * triggers. The error message has no location; the caller adds it.
 */
int instr_parse_line(const char *line, char escape, int depth, struct hamn_build_instr *out,
		     struct hamn_error **err);
/* docker's parseWords: split at unquoted whitespace, quotes and escapes kept. */
char **parse_words(const char *s, char escape);
/*
 * Is word a heredoc marker ("<<EOF", "<<-EOF", "<<'EOF'", "3<<EOF")? Fills
 * name (new string), chomp and expand when it is.
 */
bool heredoc_marker(const char *word, char **name, bool *chomp, bool *expand);
/* Parse a HEALTHCHECK duration flag into ns (0 when absent); docker's wording on error. */
int health_duration(const struct hamn_build_instr *ins, const char *flag, int64_t *out,
		    struct hamn_error **err);
/* A signal name or number as docker's STOPSIGNAL accepts it. */
int signal_parse(const char *s, int *out, struct hamn_error **err);
/* Deep copy of an instruction into *dst. */
void instr_copy(struct hamn_build_instr *dst, const struct hamn_build_instr *src);

/* ---- glob matching (ignore.c) ---- */

/* Go's filepath.Match on '/'-separated names: '*', '?' and classes never match '/'. */
bool glob_match(const char *pattern, const char *name);
/* Does s contain a wildcard character Go's filepath.Match interprets? */
bool has_glob(const char *s);

/* ---- the builder (builder.c, step.c) ---- */

struct hamn_build_out {
	const struct hamn_build_ops *ops;
	void *ctx;
	char *running;		/* the container announced by hamn_build_out_running */
};

/* Emit {"stream": text} (invalid UTF-8 replaced, as Go's encoder does). */
void out_stream(struct hamn_build_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The 12 hex digits docker shows for an id ("sha256:" dropped); "" for NULL. */
const char *short_id(const char *id, char buf[13]);

struct stage_result {
	bool built;
	char *image;		/* NULL: scratch */
	json_t *config;
};

struct builder {
	const struct hamn_build_ops *ops;
	void *ctx;
	const struct hamn_build_options *opts;
	struct hamn_build_out out;
	struct hamn_build_dockerfile *df;
	struct hamn_build_ignore *ig;
	struct hamn_build_plan plan;
	struct stage_result *results;
	char **used_args;	/* ARG names declared anywhere (for the unused warning) */
	struct hamn_build_instr *labels;	/* --label, as LABEL instructions */
	size_t n_labels;
	size_t step;
	int code;		/* the exit status of a failed RUN */
};

/* The stage being built. */
struct stage_run {
	size_t index;
	char *image;		/* current image; NULL while on scratch */
	json_t *config;
	struct hamn_build_stage_state st;
	struct hamn_build_args *args;
	bool cache_busted;
};

/* Run one instruction of the stage (printing " ---> ..." lines, not the step header). */
int step_dispatch(struct builder *b, struct stage_run *sr, const struct hamn_build_instr *ins,
		  struct hamn_error **err);

#endif

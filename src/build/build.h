/*
 * build.h - building images from Dockerfiles, the public API of src/build.
 *
 * Four layers, each usable on its own:
 *
 *   1. The Dockerfile parser (docker's rules: directives, continuations,
 *      comments, heredocs, JSON and shell forms, flags) into stages of
 *      instructions, every argument validated with "Dockerfile:7: ..." errors.
 *   2. docker's shell-word expansion ($VAR, ${VAR:-x}, quotes, escapes) and
 *      the .dockerignore matcher; the context walker that selects and hashes
 *      the sources of COPY/ADD.
 *   3. Pure image-config mutation: one instruction applied to a config
 *      (docker's keys: Env, Cmd, Entrypoint, ...) with the history string
 *      docker's classic builder records.
 *   4. The builder loop: stages needed for the target, cache keys, ONBUILD
 *      triggers, docker's JSON progress stream. Everything that touches
 *      images or containers goes through struct hamn_build_ops, which the
 *      daemon implements; the loop itself never touches the filesystem
 *      except to read the build context.
 *
 * Nothing here is global: all functions are thread-safe on distinct
 * objects. Every string, vector and JSON value in a struct is owned by that
 * struct; vectors are NULL-terminated.
 */
#ifndef HAMN_BUILD_BUILD_H
#define HAMN_BUILD_BUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"

/* Largest Dockerfile and .dockerignore accepted. */
#define HAMN_BUILD_DOCKERFILE_MAX (4 * 1024 * 1024)
/* docker's default PATH, added to every stage that has none. */
#define HAMN_BUILD_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ==== 1. the Dockerfile model ==== */

enum hamn_build_cmd {
	HAMN_BUILD_ADD,
	HAMN_BUILD_ARG,
	HAMN_BUILD_CMD,
	HAMN_BUILD_COPY,
	HAMN_BUILD_ENTRYPOINT,
	HAMN_BUILD_ENV,
	HAMN_BUILD_EXPOSE,
	HAMN_BUILD_FROM,
	HAMN_BUILD_HEALTHCHECK,
	HAMN_BUILD_LABEL,
	HAMN_BUILD_MAINTAINER,
	HAMN_BUILD_ONBUILD,
	HAMN_BUILD_RUN,
	HAMN_BUILD_SHELL,
	HAMN_BUILD_STOPSIGNAL,
	HAMN_BUILD_USER,
	HAMN_BUILD_VOLUME,
	HAMN_BUILD_WORKDIR,
};

/* "RUN", "COPY", ... (static storage). */
const char *hamn_build_cmd_name(enum hamn_build_cmd cmd);

struct hamn_build_flag {
	char *name;	/* without the dashes: "from", "chown" */
	char *value;	/* NULL for a bare "--link" */
};

struct hamn_build_heredoc {
	char *name;	/* the delimiter word, quotes removed ("EOF") */
	char *content;	/* the body; every line ends in "\n"; for <<- leading tabs are gone */
	bool expand;	/* the delimiter was not quoted: variables in the body are expanded */
	bool chomp;	/* <<- */
};

/*
 * One instruction. `args` by command (never NULL, variables not expanded):
 *   FROM        the words: [image] or [image, "AS", name]
 *   RUN CMD ENTRYPOINT SHELL
 *               json: the array's strings; shell form: [the rest of the line]
 *               (empty for "CMD" alone or "CMD []")
 *   COPY ADD VOLUME
 *               json: the strings; else the whitespace-separated words
 *   ENV LABEL   [key1, value1, key2, value2, ...] as written (quotes kept)
 *   ARG         the words as written: "NAME" or "NAME=default"
 *   EXPOSE      the words
 *   USER WORKDIR STOPSIGNAL MAINTAINER
 *               [the rest of the line]
 *   HEALTHCHECK ["NONE"] or ["CMD", ...json strings or the shell text]
 *   ONBUILD     [the trigger text as written]; `trigger` holds it parsed
 */
struct hamn_build_instr {
	enum hamn_build_cmd cmd;
	int line;		/* first line, 1-based */
	int end_line;		/* last line (continuations and heredocs included) */
	char *text;		/* the instruction as written, continuations joined, trimmed */
	char **args;
	bool json;		/* exec (JSON array) form */
	bool literal;		/* made by the builder (--label): args are not expanded */
	struct hamn_build_flag *flags;
	size_t n_flags;
	struct hamn_build_heredoc *heredocs;	/* RUN, COPY, ADD in shell form only */
	size_t n_heredocs;
	struct hamn_build_instr *trigger;	/* ONBUILD only */
};

struct hamn_build_stage {
	struct hamn_build_instr from;	/* the FROM instruction */
	char *base;		/* the image as written ("busybox:$V", "scratch", "builder") */
	char *name;		/* the AS name lower-cased, or NULL */
	struct hamn_build_instr *instrs;
	size_t n_instrs;
};

struct hamn_build_dockerfile {
	char *filename;		/* for messages: "Dockerfile" */
	char escape;		/* '\\' or '`' (the escape directive) */
	char *syntax;		/* the "# syntax=" directive (recorded, not used), or NULL */
	struct hamn_build_instr *meta_args;	/* ARGs before the first FROM */
	size_t n_meta_args;
	struct hamn_build_stage *stages;	/* at least one */
	size_t n_stages;
	char **warnings;	/* "[WARNING]: Empty continuation line found in: ..." */
};

/*
 * Parse a Dockerfile of len bytes (need not be NUL-terminated). filename
 * names the file in messages. Every instruction's arguments and flags are
 * validated here, so a build never starts on a file docker would refuse.
 * Errors are EINVAL, worded "<filename>:<line>: <what is wrong>"
 * ("Dockerfile:7: unknown instruction: FRM"); more than
 * HAMN_BUILD_DOCKERFILE_MAX bytes is EFBIG. Returns a new dockerfile.
 */
struct hamn_build_dockerfile *hamn_build_dockerfile_parse(const char *text, size_t len,
							  const char *filename,
							  struct hamn_error **err);
void hamn_build_dockerfile_free(struct hamn_build_dockerfile *df);
HAMN_DEFINE_CLEANUP(hamn_build_dockerfile, hamn_build_dockerfile_free)
#define _cleanup_dockerfile_ _cleanup_(cleanup_hamn_build_dockerfilep)

/*
 * Parse one instruction line (an ONBUILD trigger stored in an image) into
 * *out, which the caller releases with hamn_build_instr_release(). FROM,
 * MAINTAINER and ONBUILD are refused as triggers. EINVAL on error.
 */
int hamn_build_instr_parse(const char *line, char escape, struct hamn_build_instr *out,
			   struct hamn_error **err);
void hamn_build_instr_release(struct hamn_build_instr *ins);

/* The value of flag `name`, or NULL; *present (may be NULL) says whether it was given. */
const char *hamn_build_instr_flag(const struct hamn_build_instr *ins, const char *name,
				  bool *present);

/* ==== 2a. variable expansion (docker's shell lexer) ==== */

/*
 * Expand one word the way docker does for ENV, LABEL, COPY, WORKDIR, ...:
 * single quotes are literal, double quotes allow $ expansion and escape
 * only " $ and the escape char, the escape char outside quotes takes the
 * next character literally, $VAR ${VAR} ${VAR:-w} ${VAR:+w} ${VAR-w}
 * ${VAR+w} ${VAR:?w} ${VAR?w}. env holds "K=V" (first match wins; "K" alone
 * counts as set and empty). Unset variables expand to "". Returns 0 with a
 * new *out, or EINVAL ("syntax error: bad substitution",
 * "unexpected end of statement while looking for matching double-quote").
 */
int hamn_build_expand_word(const char *word, char *const *env, char escape, char **out,
			   struct hamn_error **err);
/* Like hamn_build_expand_word but split the result into words at unquoted whitespace (EXPOSE). */
int hamn_build_expand_words(const char *word, char *const *env, char escape, char ***out,
			    struct hamn_error **err);

/* ==== 2b. .dockerignore ==== */

struct hamn_build_ignore;

/*
 * Read .dockerignore text (docker's dockerignore.ReadAll): one pattern a
 * line, a line starting with '#' is a comment, blanks trimmed, each pattern
 * cleaned like Go's filepath.Clean with a leading '/' dropped, '!' marks an
 * exception. Returns a new vector (empty for an empty file).
 */
char **hamn_build_ignore_read(const char *text, size_t len);

/*
 * Compile patterns into a matcher (docker's fileutils.PatternMatcher):
 * '*' and '?' never match '/', "**" matches any number of directories,
 * '[...]' classes, the escape '\\'; a path is excluded when the last
 * pattern matching it or one of its parent directories is not an
 * exception. EINVAL for "!" alone or a malformed class. NULL patterns give
 * a matcher that matches nothing.
 */
struct hamn_build_ignore *hamn_build_ignore_new(char *const *patterns, struct hamn_error **err);
void hamn_build_ignore_free(struct hamn_build_ignore *m);
HAMN_DEFINE_CLEANUP(hamn_build_ignore, hamn_build_ignore_free)
#define _cleanup_ignore_ _cleanup_(cleanup_hamn_build_ignorep)

/* Is path (relative to the context, '/'-separated) excluded? A NULL matcher excludes nothing. */
bool hamn_build_ignore_match(const struct hamn_build_ignore *m, const char *path);
/*
 * dir is excluded: must a walker still descend into it because an
 * exception pattern starts with "dir/"? (docker's rule: otherwise the
 * whole directory is skipped.)
 */
bool hamn_build_ignore_descend(const struct hamn_build_ignore *m, const char *dir);

/* ==== 2c. the build context: selecting and hashing COPY/ADD sources ==== */

struct hamn_build_source {
	char *path;	/* relative to the context root, cleaned; "." is the root */
	mode_t mode;	/* st_mode of the source itself (lstat; S_IFLNK for a symlink) */
	char **entries;	/* a directory: everything below it that is not ignored, relative to
			   path, parents before children, sorted; NULL for anything else */
	char *hash;	/* "file:<hex>" / "dir:<hex>": its content, as the cache key sees it */
};

struct hamn_build_sources {
	struct hamn_build_source *v;
	size_t n;
};

/*
 * Resolve COPY/ADD source patterns (already expanded; relative to the
 * context, a leading '/' is the context root) against the context directory
 * ctxfd with the ignore matcher applied. Wildcards (* ? [) select every
 * matching path (docker's filepath.Match on the cleaned path); a matching
 * directory is taken whole. Symlinks are never followed out of the
 * context: a source that is a symlink is followed only while its target
 * stays inside; otherwise, and for every symlink inside a directory, the
 * link itself is copied. With hash set, every source gets its content hash
 * (path, type and mode, uid/gid normalised to 0, size, content or link
 * target of each entry); without, hash stays NULL. Errors: ENOENT
 * "file not found in build context or excluded by .dockerignore: stat x",
 * ENOENT "no source files were specified" (a wildcard matched nothing),
 * EPERM "forbidden path outside the build context: ../x", read errors.
 */
int hamn_build_sources_select(int ctxfd, const struct hamn_build_ignore *ig, char *const *patterns,
			      bool hash, struct hamn_build_sources *out, struct hamn_error **err);
void hamn_build_sources_release(struct hamn_build_sources *s);

/*
 * Every path of the context that is not ignored, parents first, sorted
 * (what a client sends); the Dockerfile and .dockerignore are always
 * included, as docker's CLI does.
 */
int hamn_build_context_list(int ctxfd, const struct hamn_build_ignore *ig, const char *dockerfile,
			    char ***out, struct hamn_error **err);

/* ==== 3. image config mutation ==== */

/*
 * Per-stage state that lives beside the config: docker's classic builder
 * keeps these outside the image.
 */
struct hamn_build_stage_state {
	bool cmd_set;		/* a CMD with arguments ran in this stage (ENTRYPOINT keeps Cmd) */
	char *author;		/* MAINTAINER, or NULL */
	char *note;		/* set by apply: a line to print ("Note: overriding ...") */
};

void hamn_build_stage_state_release(struct hamn_build_stage_state *st);

/*
 * Apply a config-only instruction (ENV LABEL MAINTAINER CMD ENTRYPOINT
 * EXPOSE USER WORKDIR VOLUME STOPSIGNAL HEALTHCHECK SHELL ONBUILD ARG) to
 * config, an object with docker's container-config keys ("Env", "Cmd",
 * "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
 * "Healthcheck", "Shell", "StopSignal", "OnBuild", "ArgsEscaped"), in
 * place, exactly as docker's classic builder does. Words are expanded with
 * env first (ins->literal: not). For ARG only the history is made; the
 * caller keeps the argument scope. *created_by gets the history string
 * ("/bin/sh -c #(nop)  ENV A=b"; the SHELL in force replaces "/bin/sh -c").
 * EINVAL with "<cmd>: ..." on a bad value (an invalid signal, port, empty
 * volume, ...); config is unchanged then.
 */
int hamn_build_config_apply(json_t *config, struct hamn_build_stage_state *st,
			    const struct hamn_build_instr *ins, char *const *env, char escape,
			    char **created_by, struct hamn_error **err);

/*
 * The argv a RUN/CMD/ENTRYPOINT/HEALTHCHECK runs: the JSON strings, or the
 * config's Shell (default ["/bin/sh","-c"]) plus the shell text. RUN with
 * heredocs: a single heredoc that is the whole command runs its body; other
 * heredocs are handed to the shell with the command line. New vector.
 */
char **hamn_build_cmdline(const json_t *config, const struct hamn_build_instr *ins);

/*
 * docker's "WORKDIR" rule: an absolute dir replaces, a relative one is
 * joined to current ("/" when empty); the result is cleaned. New string.
 */
char *hamn_build_workdir(const char *current, const char *dir);

/* Go's %q of a string into b (docker records CMD/ENTRYPOINT history with it). */
void hamn_build_go_quote(struct hamn_buf *b, const char *s);

/* ==== 4. the builder ==== */

struct hamn_build_out;	/* the progress stream of one build (opaque) */

/*
 * Write container output (RUN) to the stream as {"stream": ...} messages.
 * Thread-safe against nothing: call it from the thread running the op.
 */
void hamn_build_out_write(struct hamn_build_out *o, const char *data, size_t len);
/* Say " ---> Running in <id12>"; the builder says "Removing intermediate container" after. */
void hamn_build_out_running(struct hamn_build_out *o, const char *container_id);

/* What a step hands to ops->run. */
struct hamn_build_run_req {
	const char *parent;		/* image to run on; NULL for scratch */
	const json_t *config;		/* the resulting image's config (docker keys) */
	char **argv;			/* what to run */
	char **env;			/* Env plus the build args in scope */
	const char *user;		/* "" or NULL: root */
	const char *workdir;		/* "" or NULL: "/" */
	const char *network;		/* RUN --network, or the build's; NULL: default */
	const char *created_by;		/* history of the new image */
	const char *author;
};

/* A file made from a heredoc (COPY <<EOF /dest). */
struct hamn_build_inline_file {
	char *name;
	char *content;
};

struct hamn_build_copy_req {
	const char *parent;
	const json_t *config;
	const char *created_by;
	const char *author;
	/*
	 * Where the files come from: the context (from_image NULL, ctxfd and
	 * sources), an image or stage result (from_image: its id; patterns are
	 * paths inside it, to be matched there), or heredocs (inline).
	 */
	int ctxfd;
	const struct hamn_build_sources *sources;
	const char *from_image;
	char *const *patterns;
	const struct hamn_build_inline_file *inline_files;
	size_t n_inline;
	const char *dest;		/* absolute in the image; a trailing '/': a directory */
	const char *chown;		/* "user[:group]" to resolve in the image, or NULL */
	bool has_chmod;
	mode_t chmod;
	bool extract;			/* ADD: unpack local tar archives */
	bool preserve_owner;		/* --from without --chown: keep the owners */
};

struct hamn_build_commit_req {
	const char *parent;		/* NULL: scratch */
	const json_t *config;
	const char *created_by;
	const char *author;
	const char *mkdir;		/* WORKDIR: make this directory (and parents); NULL */
};

/*
 * What the daemon provides. Every op returns 0 or -1 with *err, is called
 * from the building thread only, and owns nothing it is given. ctx is the
 * `ctx` of the options. Image ids are "sha256:<hex>".
 */
struct hamn_build_ops {
	/*
	 * Find image ref (pull it if the daemon's policy says), giving its id
	 * and its config object (docker keys; a new reference, may be NULL).
	 * It may write pull progress itself. ENOENT when there is none.
	 */
	int (*resolve_image)(void *ctx, const char *ref, const char *platform, char **id,
			     json_t **config, struct hamn_error **err);
	/*
	 * Run req->argv in a new container on req->parent and commit the
	 * result as an image with req->config and req->created_by. Call
	 * hamn_build_out_running() once the container exists and stream its
	 * output with hamn_build_out_write(). Whatever happens, the container
	 * is removed before returning. A non-zero exit is not an error:
	 * return 0 with *exit_code set (and *image_id NULL).
	 */
	int (*run)(void *ctx, const struct hamn_build_run_req *req, struct hamn_build_out *out,
		   char **image_id, int *exit_code, struct hamn_error **err);
	/* Copy files into a new layer on req->parent and commit. */
	int (*copy)(void *ctx, const struct hamn_build_copy_req *req, struct hamn_build_out *out,
		    char **image_id, struct hamn_error **err);
	/* Commit a new image that changes only the config (and WORKDIR's mkdir). */
	int (*commit)(void *ctx, const struct hamn_build_commit_req *req,
		      struct hamn_build_out *out, char **image_id, struct hamn_error **err);
	/* The image stored for key, or *image_id NULL on a miss (also when it was deleted). */
	int (*cache_lookup)(void *ctx, const struct hamn_digest *key, char **image_id,
			    struct hamn_error **err);
	/* Remember key -> image_id so that it survives a daemon restart. */
	int (*cache_store)(void *ctx, const struct hamn_digest *key, const char *image_id,
			   struct hamn_error **err);
	/* Tag the final image with ref as given (-t). */
	int (*tag)(void *ctx, const char *image_id, const char *ref, struct hamn_error **err);
	/* One progress message ({"stream":..}, {"aux":..}, {"errorDetail":..}); borrowed. */
	void (*emit)(void *ctx, json_t *msg);
};

struct hamn_build_options {
	const char *dockerfile;		/* the Dockerfile's text */
	size_t dockerfile_len;
	const char *dockerfile_name;	/* "Dockerfile": for messages and the ignore rule */
	int ctxfd;			/* the context directory, or -1 for none */
	const char *target;		/* --target stage name, or NULL: the last stage */
	char **build_args;		/* "K=V"; "K" alone means given without a value (unset) */
	char **labels;			/* --label "K=V" added to the final image */
	char **tags;			/* -t refs */
	bool no_cache;
	const char *network;		/* networkmode for RUN, or NULL */
	const char *platform;		/* default platform for FROM, or NULL */
};

/*
 * Build. Parses the Dockerfile, reads .dockerignore from the context,
 * builds the stages the target needs (in Dockerfile order) through ops,
 * reusing cached steps, tags, and emits docker's progress stream all along
 * ("Step 1/5 : FROM x", " ---> Using cache", " ---> <id12>",
 * {"aux":{"ID":..}} after each stage, "Successfully built <id12>",
 * "Successfully tagged <ref>"). On failure the error message has been
 * emitted already ({"errorDetail":{"code":N,"message":M},"error":M}) and
 * -1 is returned with *err and *code (the exit status of a failed RUN,
 * else 1). On success *image_id gets the final image's id.
 */
int hamn_build_run(const struct hamn_build_ops *ops, void *ctx,
		   const struct hamn_build_options *opts, char **image_id, int *code,
		   struct hamn_error **err);

/* ==== the pieces of the loop, public so that they can be tested ==== */

/* docker's predefined proxy args (usable without ARG, not recorded in history). */
bool hamn_build_arg_is_builtin(const char *name);

struct hamn_build_plan {
	size_t target;		/* index of the stage that makes the image */
	bool *needed;		/* n_stages flags: the stages the target depends on */
	size_t n_steps;		/* steps printed ("Step i/n"): meta ARGs + FROMs + instructions */
	char **meta_env;	/* the meta args' values ("K=V") for FROM lines */
	char **used_args;	/* build args consumed by meta ARGs */
	ssize_t *base_stage;	/* per stage: the stage its FROM names, or -1 */
};

/*
 * Work out which stages to build: expand the meta ARGs (build_args
 * override their defaults), resolve FROM <stage> and COPY --from=<stage or
 * index> (expanded with the meta args), select target (by name, lower-
 * cased; NULL: the last stage) and everything it needs. Errors: EINVAL
 * "failed to reach build target x in Dockerfile", a COPY --from naming the
 * stage itself or a later one, expansion errors.
 */
int hamn_build_plan_make(const struct hamn_build_dockerfile *df, const char *target,
			 char *const *build_args, size_t n_extra_steps,
			 struct hamn_build_plan *plan, struct hamn_error **err);
void hamn_build_plan_release(struct hamn_build_plan *plan);

/*
 * A stage's build-argument scope (docker's BuildArgs): what --build-arg
 * gave, the meta args, and the ARGs declared so far in the stage.
 */
struct hamn_build_args;

struct hamn_build_args *hamn_build_args_new(char *const *build_args, char *const *meta_env);
void hamn_build_args_free(struct hamn_build_args *a);
/*
 * Split an ARG word ("NAME" or "NAME=default") and expand both parts with
 * env. *value is NULL when there is no '='. New strings; EINVAL on a bad
 * substitution.
 */
int hamn_build_arg_split(const char *word, char *const *env, char escape, char **key,
			 char **value, struct hamn_error **err);
/* ARG name[=value] in the stage (value NULL: no default). */
void hamn_build_args_declare(struct hamn_build_args *a, const char *name, const char *value);
/*
 * The args in scope as "K=V" for names not in env (ENV wins), sorted:
 * declared args with a value from --build-arg, their default or the meta
 * arg, plus builtin proxy args given with --build-arg. New vector.
 */
char **hamn_build_args_env(const struct hamn_build_args *a, char *const *env);
/* Of those, the ones docker records in history (builtins only when declared). */
char **hamn_build_args_recorded(const struct hamn_build_args *a, char *const *env);
/* --build-args that no ARG declared (not builtins), sorted; new vector. */
char **hamn_build_args_unused(const struct hamn_build_args *a, char *const *also_used);

/*
 * History string of a RUN: argv joined by spaces, prefixed with
 * "|N K=V ... " when recorded args are in scope (docker's prependEnvOnCmd).
 */
char *hamn_build_run_created_by(char *const *argv, char *const *recorded_args);

/* What the cache key of a step is made of. */
struct hamn_build_key_input {
	const char *parent;		/* parent image id, "" for scratch */
	const char *instruction;	/* the step after expansion, as recorded in history */
	char *const *args;		/* RUN: the build args in scope ("K=V"), else NULL */
	const char *content;		/* COPY/ADD: the sources' hash (or source image + paths) */
	const json_t *config;		/* the resulting config */
	const char *extra;		/* anything else that changes the result (mkdir, network) */
};

/* sha256 over the inputs, each length-prefixed so no two inputs collide. */
void hamn_build_cache_key(const struct hamn_build_key_input *in, struct hamn_digest *out);

#endif

/*
 * build_ops.h - docker build on this engine (src/engine/build_ops.c,
 * build_copy.c): src/build's builder loop driven by the engine's images and
 * containers. Public API of the engine, used by src/api/build.c.
 *
 * A build has a workspace under <root>/builder: the context directory the
 * API unpacks the client's tar into, and one staging directory per COPY
 * step. It is removed when the build is freed; a crashed hamnd's
 * workspaces are removed by the next build. The cache (step key -> image)
 * is kept in <root>/builder/cache and survives restarts.
 *
 * Threads: one build per thread; any number of builds may run at once.
 */
#ifndef HAMN_ENGINE_BUILD_OPS_H
#define HAMN_ENGINE_BUILD_OPS_H

#include <jansson.h>
#include <stdbool.h>

#include "base/base.h"

struct hamn_engine;
struct hamn_engine_build;

/* Make a build's workspace (and remove those a dead hamnd left behind). */
struct hamn_engine_build *hamn_engine_build_new(struct hamn_engine *e, struct hamn_error **err);
/* Remove the workspace and free. Safe on NULL. */
void hamn_engine_build_free(struct hamn_engine_build *b);
/* The (empty) context directory, to unpack the context into; borrowed. */
int hamn_engine_build_context_fd(const struct hamn_engine_build *b);

/* One progress message ({"stream":..}, {"aux":..}, {"errorDetail":..}); msg is borrowed. */
typedef void (*hamn_engine_build_emit_fn)(void *ctx, json_t *msg);

struct hamn_engine_build_opts {
	const char *dockerfile;		/* its path in the context; NULL: "Dockerfile" */
	char **tags;			/* -t refs; NULL-terminated or NULL */
	char **build_args;		/* "K=V" ("K" alone: given without a value) */
	char **labels;			/* "K=V" */
	const char *target;		/* stage name, or NULL */
	const char *network;		/* networkmode for RUN, or NULL: the default network */
	bool no_cache;
	bool keep_containers;		/* rm=0 without forcerm: keep RUN containers */
	hamn_engine_build_emit_fn emit;
	void *emit_ctx;
	int cancel_fd;			/* readable: the client went away, stop; -1: none */
};

/*
 * Build the context in b's directory with src/build's loop: RUN steps run
 * in containers made from the step's parent image (removed afterwards
 * unless keep_containers, also when the step fails), COPY/ADD write a
 * staged layer, every step is looked up in and stored to the cache.
 * Progress and the final error go to o->emit (see hamn_build_run). On
 * success *image_id gets the image's id; on failure *code is the exit
 * status the CLI should take (a failed RUN's, else 1) and the error has
 * been emitted already.
 */
int hamn_engine_build_run(struct hamn_engine_build *b, const struct hamn_engine_build_opts *o,
			  char **image_id, int *code, struct hamn_error **err);

#endif

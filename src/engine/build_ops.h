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
#include <stdint.h>

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

struct hamn_engine_build_prune_opts {
	int64_t until_ns;	/* > 0: only entries stored before this time */
	char *const *ids;	/* NULL-terminated prefixes of entry IDs, or NULL: any */
	int64_t keep_bytes;	/* > 0: keep the newest entries up to this many bytes */
};

/*
 * POST /build/prune: delete the build cache's entries (step key -> image;
 * the images stay) that pass o. *deleted_out gets a new array of the
 * deleted entries' IDs (the keys' hex), *reclaimed_out the bytes their
 * files held. Builds running meanwhile only miss the deleted entries.
 * Errors: the cache directory's open/read errors.
 */
int hamn_engine_build_prune(struct hamn_engine *e, const struct hamn_engine_build_prune_opts *o,
			    json_t **deleted_out, int64_t *reclaimed_out, struct hamn_error **err);

#endif

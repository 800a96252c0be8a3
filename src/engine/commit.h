/*
 * commit.h - a container's filesystem as images and tar streams
 * (src/engine/commit.c): docker commit, docker diff, docker export. Public
 * API of the engine, used by src/api/containers_fs.c.
 *
 * All three read the container's upper directory and its image's layer
 * directories directly (src/engine/layerfs.c), so they work on running,
 * stopped and created containers alike and mount nothing.
 *
 * Threads: every function is thread-safe.
 */
#ifndef HAMN_ENGINE_COMMIT_H
#define HAMN_ENGINE_COMMIT_H

#include <jansson.h>
#include <stdbool.h>

#include "base/base.h"

struct hamn_engine;

struct hamn_engine_commit_opts {
	const char *ref;	/* "repo[:tag]" to tag the image with, or NULL */
	const char *comment;	/* history comment, or NULL */
	const char *author;	/* or NULL */
	bool pause;		/* accepted; the container is not frozen (see docs/build-engine.md) */
	char **changes;		/* Dockerfile instructions (CMD, ENV, ...); NULL-terminated or NULL */
	json_t *config;		/* docker's container Config overriding the container's, or NULL */
};

/*
 * POST /commit: a new image made of the container's image, one layer with
 * the container's changes (overlay whiteouts become ".wh." entries, entries
 * in a deterministic order) and a config taken from the container's Config
 * (docker's rules: o->config, then the changes, then whatever is still
 * empty from the container). *id_out gets the new "sha256:..." id. Errors:
 * ENOENT for an unknown container, EINVAL for a bad change or ref.
 */
int hamn_engine_container_commit(struct hamn_engine *e, const char *ref,
				 const struct hamn_engine_commit_opts *o, char **id_out,
				 struct hamn_error **err);

/*
 * GET /containers/{id}/changes: docker's [{"Path":"/x","Kind":K}] with K
 * 0 changed, 1 added, 2 deleted, parents before children, names sorted
 * (new reference). Mount points the runtime made (/proc, /etc/hosts, a
 * volume's directory, ...) are left out when they are all that changed,
 * as docker keeps them in a separate init layer.
 */
json_t *hamn_engine_container_changes(struct hamn_engine *e, const char *ref,
				      struct hamn_error **err);

/*
 * GET /containers/{id}/export: write a tar of the container's merged root
 * filesystem to fd (blocking; fd is written, never closed). ENOENT for an
 * unknown container, EPIPE (or the write's errno) when the reader went away.
 */
int hamn_engine_container_export(struct hamn_engine *e, const char *ref, int fd,
				 struct hamn_error **err);

#endif

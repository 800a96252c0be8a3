/*
 * commit_int.h - shared by commit.c, build_ops.c and build_copy.c only:
 * layer diffs, new images on top of others, the builder's scratch space.
 */
#ifndef HAMN_ENGINE_COMMIT_INT_H
#define HAMN_ENGINE_COMMIT_INT_H

#include "engine/internal.h"
#include "engine/layerfs.h"

/* Mount points the runtime makes in every container ("/proc", "/etc/hosts", ...). */
extern const char *const engine_runtime_mounts[];

/* Kinds of docker's change list. */
enum { CHANGE_MODIFIED = 0, CHANGE_ADDED = 1, CHANGE_DELETED = 2 };

/*
 * <root>/builder (0700, made when missing): scratch space for build
 * contexts, COPY layers and layer tars. Returns an O_RDONLY|O_DIRECTORY fd.
 */
int scratch_dir_open(struct hamn_engine *e, struct hamn_error **err);
/* An unnamed temporary file (O_TMPFILE) in the scratch space: nothing is left on a crash. */
int scratch_tmpfile(struct hamn_engine *e, struct hamn_error **err);

/* The layer directories of image_id as a root stack, top first; NULL id: an empty stack. */
int image_lstack(struct hamn_engine *e, const char *image_id, struct lstack *out,
		 struct hamn_error **err);

/* What layer_diff produces. */
struct layer_diff {
	char *const *skip;	/* absolute paths left out while they are empty additions */
	json_t *changes;	/* when set: docker's change objects are appended */
	struct ltar *tar;	/* when set: the layer's entries are written */
	size_t n;		/* entries kept (0: nothing changed) */
};

/*
 * Compare the upper directory with the lower stack as overlayfs would and
 * report every change: whiteouts become deletions (".wh.<name>" in the
 * tar), opaque directories ".wh..wh..opq", directories that changed only
 * below them are listed as modified. Names are visited in sorted order.
 */
int layer_diff(int upper_fd, const struct lstack *lower, struct layer_diff *d,
	       struct hamn_error **err);
/*
 * layer_diff into a layer tar in a new scratch_tmpfile: *fd_out (rewound)
 * and its diff ID; *n_out entries (0: nothing changed).
 */
int layer_diff_file(struct hamn_engine *e, int upper_fd, const struct lstack *lower,
		    char *const *skip, int *fd_out, struct hamn_digest *diff_out, size_t *n_out,
		    struct hamn_error **err);

/*
 * The changes of container ref as a layer tar (layer_diff_file with the
 * container's image below and its mount points skipped).
 */
int container_layer(struct hamn_engine *e, const char *ref, int *fd_out,
		    struct hamn_digest *diff, size_t *n_out, struct hamn_error **err);

/* A new image on top of another. */
struct image_req {
	const char *parent;		/* image id, or NULL (scratch) */
	const json_t *config;		/* the image's "config" member (docker keys); borrowed */
	const char *created_by;
	const char *author;		/* NULL: none */
	const char *comment;
	const char *container;		/* the container it came from, or NULL */
	int layer_fd;			/* an uncompressed layer tar, or -1: no layer (empty_layer) */
	const struct hamn_digest *diff_id;	/* its sha256 when layer_fd >= 0 */
};

/*
 * Store the layer (unpacked as the parent's child), write the config
 * (the parent's document with config, created, author, history and
 * rootfs updated) and record the image with r->parent as its parent
 * image (docker's intermediate images). *id_out: "sha256:...".
 */
int engine_image_new(struct hamn_engine *e, const struct image_req *r, char **id_out,
		     struct hamn_error **err);

/* ---- builds (build_ops.c, build_copy.c) ---- */

struct hamn_build_copy_req;
struct hamn_build_out;
struct hamn_engine_build_opts;

struct hamn_engine_build {
	struct hamn_engine *e;
	char *ws_name;		/* <root>/builder/<ws_name>: the workspace */
	int ws_fd;
	int ctx_fd;		/* <workspace>/context */
	unsigned seq;		/* staging directories made so far */
	const struct hamn_engine_build_opts *o;	/* while running */
};

/* Has the client gone away? Then true, with ECANCELED in *err (may be NULL). */
bool build_cancelled(const struct hamn_engine_build *b, struct hamn_error **err);
/* A new empty directory in the workspace; *name gets its name, returns its fd. */
int build_stage_dir(struct hamn_engine_build *b, char **name, struct hamn_error **err);
/* Remove a staging directory (errors logged). */
void build_stage_remove(struct hamn_engine_build *b, const char *name);
/* The ops' copy (build_copy.c); ctx is the build. */
int build_op_copy(void *ctx, const struct hamn_build_copy_req *req, struct hamn_build_out *out,
		  char **image_id, struct hamn_error **err);

#endif

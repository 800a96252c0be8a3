/*
 * apply.h - shared by apply.c and apply_entry.c only: the state of one
 * layer extraction.
 */
#ifndef HAMN_IMAGE_APPLY_H
#define HAMN_IMAGE_APPLY_H

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <time.h>

#include "image/internal.h"

/* A set of strings with a number each (open addressing; grows by doubling). */
struct strset {
	char **keys;
	size_t *vals;
	size_t cap, n;
};

/* Returns true and sets *val when key is present. */
bool strset_get(const struct strset *s, const char *key, size_t *val);
void strset_put(struct strset *s, const char *key, size_t val);
void strset_release(struct strset *s);

/* A directory whose mode and times are applied at the end. */
struct dir_meta {
	char *path;		/* cleaned, "" for the root */
	mode_t mode;
	struct timespec times[2];
};

struct apply {
	int rootfd;			/* borrowed */
	unsigned int flags;		/* enum hamn_layer_apply_flags */
	const char *label;		/* "layer sha256:..." */
	bool chown;			/* running as root: keep ownership */
	int src_fd;			/* borrowed */
	struct blob_writer *tee;	/* borrowed; may be NULL */
	struct archive *outer;		/* filters only: decompresses src_fd */
	struct archive *inner;		/* tar, fed from outer */
	struct hamn_sha256 *in_hash;	/* of the bytes read from src_fd */
	struct hamn_sha256 *tar_hash;	/* of the uncompressed stream: the diff ID */
	uint64_t in_size, tar_size, unpacked;
	char *inbuf, *tarbuf;
	struct hamn_error *cb_err;	/* an error raised inside a libarchive callback */
	struct dir_meta *dirs;
	size_t n_dirs, cap_dirs;
	struct strset dir_index;	/* path -> index in dirs */
	struct strset seen;		/* HAMN_LAYER_FLATTEN: paths this layer created */
};

/* apply_entry.c: create one tar entry under ap->rootfd. */
int apply_entry(struct apply *ap, struct archive_entry *e, struct hamn_error **err);
/* apply.c: remember a directory's mode and times for the end. */
void apply_defer_dir(struct apply *ap, const char *path, mode_t mode,
		     const struct timespec times[2]);

#endif

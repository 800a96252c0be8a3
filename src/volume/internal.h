/*
 * internal.h - shared by the .c files of src/volume only; never included from outside.
 */
#ifndef HAMN_VOLUME_INTERNAL_H
#define HAMN_VOLUME_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include "volume/volume.h"

#define META_FILE "volume.json"
#define DATA_DIR "_data"
#define META_MAX (1 << 20)
/* Deepest directory nesting walked by populate and size. */
#define WALK_MAX_DEPTH 512

struct hamn_volume_store {
	char *dir;	      /* <root>/volumes */
	int dirfd;	      /* O_PATH of dir */
	pthread_mutex_t lock; /* serialises create and remove */
	hamn_volume_users_fn users_fn;
	void *users_ud;
	hamn_volume_event_fn event_fn;
	void *event_ud;
};

/* The metadata of one volume (volume.json). */
struct vol_meta {
	char *name;
	char *driver;
	char *created_at; /* RFC 3339 seconds, UTC: "2026-11-29T10:55:20Z" */
	json_t *labels;	  /* object or NULL (docker shows null) */
	json_t *options;  /* object or NULL */
	bool populated;
};

void vol_meta_release(struct vol_meta *m);
/* Read <name>/volume.json; ENOENT "get X: no such volume" when the volume is missing. */
int vol_meta_read(struct hamn_volume_store *st, const char *name, struct vol_meta *m,
		  struct hamn_error **err);
/* Write volume.json atomically in the volume directory voldirfd. */
int vol_meta_write(int voldirfd, const struct vol_meta *m, struct hamn_error **err);
/* The ENOENT error of a missing volume. */
int vol_no_such(const char *name, struct hamn_error **err);

/* The containers using name (new vector or NULL). */
char **vol_users(struct hamn_volume_store *st, const char *name);

/* docker's volume object from m. */
json_t *vol_meta_json(struct hamn_volume_store *st, const struct vol_meta *m);

/* Total size of the regular files and links under dirfd (hard links once; one filesystem). */
int64_t vol_tree_size(int dirfd);

/* Validate driver options (keys type, o, device; o/device need type). */
int vol_check_driver_opts(json_t *opts, struct hamn_error **err);

/* Copy the tree under src into the empty directory dst (populate.c). */
int vol_copy_tree(int src, int dst, struct hamn_error **err);

#endif

/*
 * load.h - shared by load.c and load_oci.c only: the staged members of an
 * archive being loaded, and the images planned from them.
 */
#ifndef HAMN_IMAGE_LOAD_H
#define HAMN_IMAGE_LOAD_H

#include "image/apply.h"

/* One member of the outer archive: a staged file, or a link to another member. */
struct member {
	char *name;			/* cleaned path inside the archive */
	char *alias;			/* link target (cleaned), or NULL for a file */
	char file[24];			/* staged file name in the staging dir */
	uint64_t size;
	struct hamn_digest digest;	/* of the staged bytes */
};

struct staging {
	struct hamn_image_store *st;
	char *dirname;			/* under tmp/ */
	int dirfd;
	struct member *m;
	size_t n, cap;
	size_t files;			/* staged files made so far (their names) */
	struct strset index;		/* name -> position in m */
};

/* One image to store: its config and tags, and the members holding its layers. */
struct load_item {
	struct image_plan plan;
	const struct member **layers;	/* plan.config->n_diff_ids entries */
	char **media_types;		/* per layer, or NULL */
};

/* The file member called name (links followed), or NULL. */
const struct member *staging_find(const struct staging *sg, const char *name);
/* Read and parse a member as JSON (at most HAMN_OCI_JSON_MAX bytes: EFBIG). New reference. */
json_t *staging_json(const struct staging *sg, const struct member *m, const char *what,
		     struct hamn_error **err);
/* Read a member's bytes (at most HAMN_OCI_JSON_MAX). */
int staging_read(const struct staging *sg, const struct member *m, const char *what, char **out,
		 size_t *len_out, struct hamn_error **err);
/* Fill it->plan from the config member and the tag list (full refs, taken over). */
int load_item_init(const struct staging *sg, struct load_item *it, const struct member *config,
		   char **tags, struct hamn_error **err);
void load_item_release(struct load_item *it);

/* load_oci.c: plan the images of an OCI image layout (index.json). */
int load_oci_plan(const struct staging *sg, struct load_item **items, size_t *n,
		  struct hamn_error **err);

#endif

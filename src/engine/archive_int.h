/*
 * archive_int.h - shared by archive.c and archive_put.c only.
 */
#ifndef HAMN_ENGINE_ARCHIVE_INT_H
#define HAMN_ENGINE_ARCHIVE_INT_H

#include "engine/cp.h"
#include "engine/internal.h"

struct hamn_engine_archive {
	struct hamn_engine *e;
	char *ref;  /* the container as the client named it (messages) */
	char *user; /* its Config.User (cp -a) */
	int rootfd; /* O_PATH|O_DIRECTORY: the container's "/" */
	char *abs;  /* the path asked for, absolute and cleaned */
	int dirfd;  /* the resolved directory part: O_PATH|O_DIRECTORY */
	char *base; /* the last component in dirfd; "." for dirfd itself */
	char *name; /* docker's filepath.Base of the path: names the stat and tar */
};

/* docker's "Could not find the file P in container C" (ENOENT). */
int archive_not_found(const struct hamn_engine_archive *a, struct hamn_error **err);

#endif

/*
 * tarw.h - a small tar writer for the CLI (src/cmd/hamn/tarw.c): enough to
 * send a build context without linking libarchive into every hamn command.
 * ustar headers, with a PAX extended header when a name, a link target or
 * a size does not fit.
 */
#ifndef HAMN_CMD_HAMN_TARW_H
#define HAMN_CMD_HAMN_TARW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/base.h"

struct tarw {
	int fd;
	uint64_t written;
};

/*
 * Add path (relative, '/'-separated) with st's type, permissions and mtime;
 * owner 0:0 (docker's CLI sends contexts as root's). Regular files are read
 * from content_fd (st->st_size bytes), symlinks point at link. Other types
 * are skipped.
 */
int tarw_add(struct tarw *t, const char *path, const struct stat *st, int content_fd,
	     const char *link, struct hamn_error **err);
/* A regular file from memory (mode 0644, mtime now). */
int tarw_add_data(struct tarw *t, const char *path, const char *data, size_t len,
		  struct hamn_error **err);
/* The two zero blocks that end an archive. */
int tarw_finish(struct tarw *t, struct hamn_error **err);

#endif

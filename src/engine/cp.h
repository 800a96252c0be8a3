/*
 * cp.h - docker cp on hamnd's side (src/engine/archive.c,
 * archive_put.c): HEAD, GET and PUT /containers/{id}/archive.
 *
 * Every path is resolved inside the container's root at every step
 * (hamn_open_in_root: openat2 RESOLVE_IN_ROOT), and every file is opened,
 * created, chowned and chmodded relative to a directory fd without
 * following a symlink in its last component. So no symlink in the
 * container - even one swapped in while a copy runs (CVE-2018-15664) - can
 * make hamnd read or write a host file, and nothing is created outside the
 * root (CVE-2021-41089). There is no chroot and no libc user lookup (NSS)
 * anywhere (CVE-2019-14271): `cp -a` reads the container's /etc/passwd as
 * text.
 *
 * The root is /proc/<init>/root for a running container (its volumes and
 * mounts included) and, for a stopped one, its overlay mounted detached
 * (fsmount: in no mount namespace, gone with its last fd; volumes are not
 * included then).
 *
 * Errors: ENOENT "Could not find the file P in container C" (404), EINVAL
 * "extraction point is not a directory" (400), ENOENT for the container.
 * Thread-safe.
 */
#ifndef HAMN_ENGINE_CP_H
#define HAMN_ENGINE_CP_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/engine.h"

struct hamn_engine_archive;

/*
 * HEAD/GET: resolve path in container ref as docker does (the directory
 * part follows symlinks inside the root; the last component is taken as it
 * is unless the path ends in "/" or "/."). *stat_out (may be NULL) gets
 * {"name","size","mode" (a Go os.FileMode),"mtime","linkTarget"}.
 */
struct hamn_engine_archive *hamn_engine_archive_open(struct hamn_engine *e, const char *ref,
						     const char *path, json_t **stat_out,
						     struct hamn_error **err);
/* Write an uncompressed tar of the opened path to fd (entries named after its last component). */
int hamn_engine_archive_get(struct hamn_engine_archive *a, int fd, struct hamn_error **err);

struct hamn_engine_archive_put_opts {
	bool no_overwrite_dir_non_dir; /* refuse to replace a directory by a file or back */
	bool copy_uid_gid;	       /* chown everything to the container's user (cp -a) */
};

/* PUT: open path (an existing directory; a symlink to one is followed inside the root). */
struct hamn_engine_archive *hamn_engine_archive_open_dir(struct hamn_engine *e, const char *ref,
							 const char *path, struct hamn_error **err);
/* Extract the tar read from fd into the opened directory. */
int hamn_engine_archive_put(struct hamn_engine_archive *a, int fd,
			    const struct hamn_engine_archive_put_opts *o, struct hamn_error **err);

void hamn_engine_archive_free(struct hamn_engine_archive *a);

#endif

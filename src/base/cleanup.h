/*
 * cleanup.h - scope-bound cleanup of resources.
 *
 * Always initialise such a variable (= NULL, = -1). To hand ownership to
 * the caller use steal_pointer(&p) or steal_fd(&fd).
 */
#ifndef HAMN_BASE_CLEANUP_H
#define HAMN_BASE_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/error.h"

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

/*
 * Also sets *fd to -1, so calling it by hand before the scope ends (to let a
 * reader see EOF) cannot lead to a second close of a number another thread
 * may have been given meanwhile.
 */
static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		*fd = -1;
		errno = saved;
	}
}

static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* A NULL-terminated array of heap strings. */
static inline void hamn_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void cleanup_strvp(char ***v)
{
	hamn_strv_free(*v);
}

static inline void cleanup_errorp(struct hamn_error **e)
{
	hamn_error_free(e);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)
#define _cleanup_closedir_ _cleanup_(cleanup_closedirp)
#define _cleanup_strv_ _cleanup_(cleanup_strvp)
#define _cleanup_error_ _cleanup_(cleanup_errorp)

/* Declare cleanup_<type>p for an owning type with a hamn_<type>_free(struct *). */
#define HAMN_DEFINE_CLEANUP(type, freefn)                   \
	static inline void cleanup_##type##p(struct type **p) \
	{                                                     \
		if (*p)                                       \
			freefn(*p);                           \
	}

static inline void *steal_pointer_impl(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_pointer_impl(pp))

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif

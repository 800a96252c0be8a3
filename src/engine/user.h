/*
 * user.h - container user resolution (user.c); internal to src/engine.
 */
#ifndef HAMN_ENGINE_USER_H
#define HAMN_ENGINE_USER_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

struct hamn_user {
	uint32_t uid, gid;
	uint32_t *gids;		/* supplementary groups */
	size_t n_gids;
	char home[1024];
};

/*
 * Resolve spec ("", "name", "uid", "name:group", "uid:gid") against the text
 * of the container's passwd and group files (either may be NULL: absent).
 * EINVAL "unable to find user X: no matching entries in passwd file" for an
 * unknown name (numbers need no entry), the same for groups.
 */
int hamn_user_resolve(const char *spec, const char *passwd, const char *group,
		      char *const *group_add, struct hamn_user *out, struct hamn_error **err);
void hamn_user_release(struct hamn_user *u);

#endif

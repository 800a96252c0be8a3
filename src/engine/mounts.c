/*
 * mounts.c - HostConfig.Binds ("-v"), HostConfig.Mounts ("--mount") and
 * HostConfig.Tmpfs ("--tmpfs") into one list of container mounts, parsed by
 * src/volume.
 *
 * This is the validation at parse time (create, and loading a record): it
 * cannot know the container's id (anonymous volume names), the image's
 * VOLUMEs or other containers (--volumes-from). The full list is planned at
 * create by ctr_volumes_resolve (volumes.c) and kept in the record.
 */
#include "engine/internal.h"

/* Parse time: --volumes-from is checked for its syntax only, its container later. */
static int no_lookup(const char *ref, void *ud, struct hamn_mount_list *out,
		     struct hamn_error **err)
{
	(void)ref;
	(void)ud;
	(void)err;
	memset(out, 0, sizeof(*out));
	return 0;
}

int ctr_mounts_parse(json_t *hc, const char *root, struct ctr_config *c, struct hamn_error **err)
{
	/* anonymous volumes get their real names in ctr_volumes_resolve */
	struct hamn_mount_plan_input in = {
		.host_config = hc, .container_id = "unresolved", .lookup = no_lookup};
	struct hamn_mount_list l = HAMN_MOUNT_LIST_INIT;
	int r = hamn_mounts_plan(&in, &l, err);

	if (r == 0)
		r = hamn_mounts_check_sources(&l, err);
	if (r == 0)
		ctr_mounts_set(c, &l, root);
	hamn_mount_list_release(&l);
	return r;
}

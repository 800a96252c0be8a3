/*
 * volumes.c - the engine's side of src/volume: which containers use which
 * volume, the resolved mounts of a container (planned at create, kept in
 * its record as "MountPoints"), their OCI mounts and copy-up at start, and
 * the anonymous volumes `rm -v` and AutoRemove take away.
 *
 * ctr_config's mounts (struct ctr_mount) stay what spec.c, render.c and the
 * filters read; they are made from the resolved list, which holds what only
 * src/volume needs (nocopy, bind-nonrecursive, labels of implicit volumes).
 */
#include "engine/internal.h"

static void to_ctr_mount(struct ctr_mount *cm, const struct hamn_mount *m, const char *root)
{
	memset(cm, 0, sizeof(*cm));
	cm->destination = xstrdup(m->destination);
	cm->readonly = m->readonly;
	cm->mode = xstrdup(m->mode ? m->mode : "");
	cm->create_source = m->create_source;
	switch (m->type) {
	case HAMN_MOUNT_BIND:
		cm->type = CM_BIND;
		cm->source = xstrdup(m->source);
		cm->propagation = xstrdup(m->propagation ? m->propagation : "rprivate");
		break;
	case HAMN_MOUNT_VOLUME:
		cm->type = CM_VOLUME;
		cm->name = xstrdup(m->source ? m->source : "");
		cm->source = xasprintf("%s/volumes/%s/_data", root, m->source ? m->source : "");
		cm->propagation = xstrdup(m->propagation ? m->propagation : "rprivate");
		break;
	case HAMN_MOUNT_TMPFS:
		cm->type = CM_TMPFS;
		cm->options = xstrdup(m->tmpfs_options ? m->tmpfs_options : "");
		cm->tmpfs_map = m->tmpfs_map;
		break;
	}
}

void ctr_mounts_set(struct ctr_config *c, const struct hamn_mount_list *l, const char *root)
{
	ctr_mounts_free(c);
	c->mounts = xcalloc(l->n + 1, sizeof(*c->mounts));
	for (size_t i = 0; i < l->n; i++)
		to_ctr_mount(&c->mounts[i], &l->items[i], root);
	c->n_mounts = l->n;
}

/* hamn_volume_users_fn: the containers whose mounts name the volume. */
static char **volume_users(const char *name, void *ud)
{
	struct hamn_engine *e = ud;
	char **ids = NULL;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_ctrs; i++) {
		const struct container *c = e->ctrs[i];

		for (size_t j = 0; j < c->cfg.n_mounts; j++) {
			if (c->cfg.mounts[j].type == CM_VOLUME &&
			    streq(c->cfg.mounts[j].name, name)) {
				strv_push(&ids, c->id);
				break;
			}
		}
	}
	pthread_mutex_unlock(&e->lock);
	return ids;
}

int engine_volumes_open(struct hamn_engine *e, struct hamn_error **err)
{
	e->volumes = hamn_volume_store_open(e->root, err);
	if (!e->volumes)
		return -1;
	hamn_volume_store_sweep(e->volumes);
	hamn_volume_store_set_users_fn(e->volumes, volume_users, e);
	return 0;
}

struct hamn_volume_store *hamn_engine_volumes(struct hamn_engine *e)
{
	return e->volumes;
}

/* hamn_mounts_lookup_fn for --volumes-from: the resolved mounts of another container. */
static int lookup_mounts(const char *ref, void *ud, struct hamn_mount_list *out,
			 struct hamn_error **err)
{
	struct hamn_engine *e = ud;
	struct container *c = ctr_get(e, ref, err);
	_cleanup_json_ json_t *mp = NULL;

	memset(out, 0, sizeof(*out));
	if (!c)
		return -1;
	pthread_mutex_lock(&e->lock);
	mp = c->mount_points ? json_incref(c->mount_points) : NULL;
	pthread_mutex_unlock(&e->lock);
	ctr_put(e, c);
	return hamn_mounts_from_json(mp, out, err);
}

int ctr_volumes_resolve(struct hamn_engine *e, struct container *c, struct hamn_error **err)
{
	struct hamn_mount_plan_input in = {
		.host_config = c->host_json,
		.volumes = json_object_get(c->config_json, "Volumes"),
		.container_id = c->id,
		.lookup = lookup_mounts,
		.lookup_ud = e,
	};
	struct hamn_mount_list l = HAMN_MOUNT_LIST_INIT;
	int r = -1;

	if (hamn_mounts_plan(&in, &l, err) < 0 || hamn_mounts_check_sources(&l, err) < 0)
		goto out;
	/* the mounts first: from now on the container counts as a user of its volumes */
	pthread_mutex_lock(&e->lock);
	ctr_mounts_set(&c->cfg, &l, e->root);
	if (c->mount_points)
		json_decref(c->mount_points);
	c->mount_points = hamn_mounts_to_json(&l);
	pthread_mutex_unlock(&e->lock);
	if (hamn_volume_mounts_prepare(e->volumes, &l, NULL, err) < 0)
		goto out;
	r = 0;
out:
	hamn_mount_list_release(&l);
	return r;
}

int ctr_volumes_load(struct container *c, json_t *record, const char *root, struct hamn_error **err)
{
	json_t *mp = json_object_get(record, "MountPoints");
	struct hamn_mount_list l;

	if (!json_is_array(mp))
		return 0; /* a record from before volumes: the parsed mounts stand */
	if (hamn_mounts_from_json(mp, &l, err) < 0)
		return -1;
	ctr_mounts_set(&c->cfg, &l, root);
	hamn_mount_list_release(&l);
	c->mount_points = json_incref(mp);
	return 0;
}

/* The last mount of the spec at dest (the user's, added after the defaults). */
static void replace_mount(json_t *mounts, json_t *oci)
{
	const char *dest = json_string_value(json_object_get(oci, "destination"));

	for (size_t i = json_array_size(mounts); i-- > 0;) {
		json_t *m = json_array_get(mounts, i);

		if (streq(json_string_value(json_object_get(m, "destination")), dest)) {
			json_array_set_new(mounts, i, oci);
			return;
		}
	}
	json_array_append_new(mounts, oci);
}

json_t *ctr_volumes_start(struct hamn_engine *e, const struct container *c, json_t *spec,
			  struct hamn_error **err)
{
	_cleanup_json_ json_t *mp = NULL;
	json_t *populate = json_array(), *mounts = json_object_get(spec, "mounts");
	struct hamn_mount_list l;

	pthread_mutex_lock(&e->lock);
	mp = c->mount_points ? json_incref(c->mount_points) : NULL;
	pthread_mutex_unlock(&e->lock);
	if (hamn_mounts_from_json(mp, &l, err) < 0) {
		json_decref(populate);
		return NULL;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct hamn_mount *m = &l.items[i];
		json_t *oci = hamn_volume_oci_mount(e->volumes, m, err);

		if (!oci) {
			json_decref(populate);
			populate = NULL;
			break;
		}
		replace_mount(mounts, oci);
		if (hamn_volume_needs_populate(e->volumes, m))
			json_array_append_new(populate, json_pack("{s:s, s:s}", "name", m->source,
								  "dest", m->destination));
	}
	hamn_mount_list_release(&l);
	return populate;
}

int ctr_volumes_populate(json_t *req, int rootfd, struct hamn_error **err)
{
	json_t *list = json_object_get(req, "populate"), *p;
	const char *root = json_string_value(json_object_get(req, "root"));
	_cleanup_volume_store_ struct hamn_volume_store *st = NULL;
	size_t i;

	if (json_array_size(list) == 0)
		return 0;
	st = hamn_volume_store_open(root ? root : "", err);
	if (!st)
		return -1;
	json_array_foreach (list, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *dest = json_string_value(json_object_get(p, "dest"));
		_cleanup_close_ int src = -1;

		if (!name || !dest)
			continue;
		/* the image's directory there, resolved inside the container's root */
		src = hamn_open_in_root(rootfd, dest, O_RDONLY | O_DIRECTORY, 0, 0, err);
		if (src < 0) {
			if ((*err)->errnum != ENOENT && (*err)->errnum != ENOTDIR)
				return hamn_error_wrap(err, "copy image content into volume '%s'",
						       name);
			hamn_error_free(err); /* nothing in the image there: nothing to copy */
			continue;
		}
		if (hamn_volume_populate(st, name, src, err) < 0)
			return -1;
	}
	return 0;
}

void ctr_volumes_remove_anonymous(struct hamn_engine *e, struct container *c)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_mount_list l;

	/* c is out of the table: nobody changes its mount points any more */
	if (!c->mount_points || hamn_mounts_from_json(c->mount_points, &l, &err) < 0)
		return;
	hamn_volume_remove_anonymous(e->volumes, &l, c->id);
	hamn_mount_list_release(&l);
}

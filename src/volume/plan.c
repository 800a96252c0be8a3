/*
 * plan.c - the mounts of a container, from its create request: docker's
 * precedence (volumes-from, then Binds/Mounts/Tmpfs, then Config.Volumes),
 * the volumes they need, the record the engine keeps, and `rm -v`.
 */
#include <sys/stat.h>

#include "volume/internal.h"

/* Move *m into l, replacing a mount at the same destination. */
static void put_mount(struct hamn_mount_list *l, struct hamn_mount *m)
{
	struct hamn_mount *old = hamn_mount_list_find(l, m->destination);

	if (old) {
		hamn_mount_release(old);
		*old = *m;
	} else {
		*hamn_mount_list_add(l) = *m;
	}
	memset(m, 0, sizeof(*m));
}

static void copy_mount(struct hamn_mount *to, const struct hamn_mount *from)
{
	*to = *from;
	to->source = from->source ? xstrdup(from->source) : NULL;
	to->destination = xstrdup(from->destination);
	to->propagation = from->propagation ? xstrdup(from->propagation) : NULL;
	to->tmpfs_options = from->tmpfs_options ? xstrdup(from->tmpfs_options) : NULL;
	to->mode = xstrdup(from->mode ? from->mode : "");
	to->volume_labels = from->volume_labels ? json_deep_copy(from->volume_labels) : NULL;
	to->volume_options = from->volume_options ? json_deep_copy(from->volume_options) : NULL;
}

static int add_volumes_from(const struct hamn_mount_plan_input *in, const char *spec,
			    struct hamn_mount_list *out, struct hamn_error **err)
{
	struct hamn_mount_list other = HAMN_MOUNT_LIST_INIT;
	_cleanup_free_ char *ref = NULL;
	int mode;

	if (hamn_mount_parse_volumes_from(spec, &ref, &mode, err) < 0)
		return -1;
	if (!in->lookup)
		return hamn_error_setq(err, EINVAL, "volumes-from is not supported here");
	if (in->lookup(ref, in->lookup_ud, &other, err) < 0)
		return -1;
	for (size_t i = 0; i < other.n; i++) {
		struct hamn_mount m;

		/* a tmpfs belongs to its container; docker shares volumes and binds only */
		if (other.items[i].type == HAMN_MOUNT_TMPFS)
			continue;
		copy_mount(&m, &other.items[i]);
		if (mode >= 0)
			m.readonly = mode == 1;
		put_mount(out, &m);
	}
	hamn_mount_list_release(&other);
	return 0;
}

/* Binds, Mounts, Tmpfs: each destination once among them; they replace volumes-from mounts. */
static int add_explicit(struct hamn_mount_list *out, char ***dests, struct hamn_mount *m)
{
	if (strv_contains(*dests, m->destination))
		return -1;
	strv_push(dests, m->destination);
	put_mount(out, m);
	return 0;
}

static int duplicate(const char *dest, struct hamn_error **err)
{
	return hamn_error_setq(err, EINVAL, "Duplicate mount point: %s", dest);
}

static int add_binds(json_t *hc, struct hamn_mount_list *out, char ***dests,
		     struct hamn_error **err)
{
	_cleanup_strv_ char **binds = NULL;

	if (hamn_json_get_strv_opt(hc, "Binds", "HostConfig.Binds", &binds, err) < 0)
		return -1;
	for (size_t i = 0; binds && binds[i]; i++) {
		struct hamn_mount m;

		if (hamn_mount_parse_bind(binds[i], &m, err) < 0 ||
		    (add_explicit(out, dests, &m) < 0 && duplicate(m.destination, err) < 0)) {
			hamn_mount_release(&m);
			return -1;
		}
	}
	return 0;
}

static int add_mounts(json_t *hc, struct hamn_mount_list *out, char ***dests,
		      struct hamn_error **err)
{
	json_t *arr = NULL, *mo;
	size_t i;

	if (hamn_json_get_array_opt(hc, "Mounts", "HostConfig.Mounts", &arr, err) < 0)
		return -1;
	json_array_foreach (arr, i, mo) {
		struct hamn_mount m;

		if (hamn_mount_parse_api(mo, &m, err) < 0 ||
		    (add_explicit(out, dests, &m) < 0 && duplicate(m.destination, err) < 0)) {
			hamn_mount_release(&m);
			return -1;
		}
	}
	return 0;
}

static int add_tmpfs(json_t *hc, struct hamn_mount_list *out, char ***dests,
		     struct hamn_error **err)
{
	json_t *map = NULL, *v;
	const char *k;

	if (hamn_json_get_object_opt(hc, "Tmpfs", "HostConfig.Tmpfs", &map, err) < 0)
		return -1;
	json_object_foreach (map, k, v) {
		struct hamn_mount m;

		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL,
					       "HostConfig.Tmpfs: values must be "
					       "strings");
		if (hamn_mount_parse_tmpfs(k, json_string_value(v), &m, err) < 0 ||
		    (add_explicit(out, dests, &m) < 0 && duplicate(m.destination, err) < 0)) {
			hamn_mount_release(&m);
			return -1;
		}
	}
	return 0;
}

/* An anonymous volume for every Config.Volumes path nothing else mounts. */
static int add_config_volumes(json_t *volumes, struct hamn_mount_list *out, struct hamn_error **err)
{
	const char *k;
	json_t *v;

	if (!volumes || json_is_null(volumes))
		return 0;
	if (!json_is_object(volumes))
		return hamn_error_setq(err, EINVAL, "Config.Volumes must be an object");
	json_object_foreach (volumes, k, v) {
		_cleanup_free_ char *dest = NULL;
		struct hamn_mount *m;

		if (hamn_mount_clean_dest(k, &dest, err) < 0)
			return hamn_error_wrap(err, "invalid volume specification: '%s'", k);
		if (hamn_mount_list_find(out, dest))
			continue;
		m = hamn_mount_list_add(out);
		m->type = HAMN_MOUNT_VOLUME;
		m->destination = steal_pointer(&dest);
		m->anonymous = true;
		m->mode = xstrdup("");
	}
	return 0;
}

/* sha256("hamn-anonymous-volume\0" id "\0" dest): stable for one container and path. */
static char *anonymous_name(const char *id, const char *dest)
{
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();
	static const char tag[] = "hamn-anonymous-volume";
	struct hamn_digest d;

	hamn_sha256_update(h, tag, sizeof(tag));
	hamn_sha256_update(h, id, strlen(id) + 1);
	hamn_sha256_update(h, dest, strlen(dest));
	hamn_sha256_final(h, &d);
	return xstrdup(hamn_digest_hex(&d));
}

static int name_anonymous(struct hamn_mount_list *l, const char *id, struct hamn_error **err)
{
	for (size_t i = 0; i < l->n; i++) {
		struct hamn_mount *m = &l->items[i];

		if (m->type != HAMN_MOUNT_VOLUME || m->source)
			continue;
		if (!id || !id[0])
			return hamn_error_setq(err, EINVAL,
					       "an anonymous volume needs a container id");
		m->source = anonymous_name(id, m->destination);
	}
	return 0;
}

int hamn_mounts_plan(const struct hamn_mount_plan_input *in, struct hamn_mount_list *out,
		     struct hamn_error **err)
{
	_cleanup_strv_ char **from = NULL, **dests = NULL;
	json_t *hc = json_is_object(in->host_config) ? in->host_config : NULL;

	memset(out, 0, sizeof(*out));
	if (hamn_json_get_strv_opt(hc, "VolumesFrom", "HostConfig.VolumesFrom", &from, err) < 0)
		return -1;
	for (size_t i = 0; from && from[i]; i++)
		if (add_volumes_from(in, from[i], out, err) < 0)
			return -1;
	if (add_binds(hc, out, &dests, err) < 0 || add_mounts(hc, out, &dests, err) < 0 ||
	    add_tmpfs(hc, out, &dests, err) < 0 || add_config_volumes(in->volumes, out, err) < 0)
		return -1;
	return name_anonymous(out, in->container_id, err);
}

int hamn_mounts_check_sources(const struct hamn_mount_list *l, struct hamn_error **err)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct hamn_mount *m = &l->items[i];
		struct stat sb;

		if (m->type == HAMN_MOUNT_BIND && !m->create_source && stat(m->source, &sb) < 0)
			return hamn_error_setq(err, EINVAL,
					       "invalid mount config for type \"bind\": "
					       "bind source path does not exist: %s",
					       m->source);
		if (m->type == HAMN_MOUNT_VOLUME &&
		    vol_check_driver_opts(m->volume_options, err) < 0)
			return -1;
	}
	return 0;
}

int hamn_volume_mounts_prepare(struct hamn_volume_store *st, const struct hamn_mount_list *l,
			       char ***created_out, struct hamn_error **err)
{
	_cleanup_strv_ char **created = NULL;

	for (size_t i = 0; i < l->n; i++) {
		const struct hamn_mount *m = &l->items[i];
		struct hamn_volume_create_opts o = {.name = m->source,
						    .labels = m->volume_labels,
						    .driver_opts = m->volume_options,
						    .anonymous = m->anonymous};
		bool made = false;
		json_t *v;

		if (m->type != HAMN_MOUNT_VOLUME || hamn_volume_exists(st, m->source))
			continue;
		if (!m->source)
			return hamn_error_setq(err, EINVAL, "an anonymous volume has no name yet");
		v = hamn_volume_create(st, &o, &made, err);
		if (!v) {
			hamn_volume_remove_list(st, created);
			return -1;
		}
		json_decref(v);
		if (made)
			strv_push(&created, m->source);
	}
	if (created_out)
		*created_out = steal_pointer(&created);
	return 0;
}

int hamn_volume_remove_anonymous(struct hamn_volume_store *st, const struct hamn_mount_list *l,
				 const char *container_id)
{
	int removed = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct hamn_mount *m = &l->items[i];
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_strv_ char **users = NULL;
		struct vol_meta meta;
		bool anon;

		if (m->type != HAMN_MOUNT_VOLUME || vol_meta_read(st, m->source, &meta, &err) < 0)
			continue;
		anon = meta.labels && json_object_get(meta.labels, HAMN_VOLUME_ANON_LABEL);
		vol_meta_release(&meta);
		if (!anon)
			continue;
		users = vol_users(st, m->source);
		for (size_t j = 0; users && users[j]; j++)
			if (!streq(users[j], container_id))
				goto next; /* another container still uses it */
		if (hamn_volume_remove(st, m->source, true, &err) < 0)
			log_kv(HAMN_LOG_WARN, "cannot remove an anonymous volume",
			       "name=%s error=\"%s\"", m->source, err->msg);
		else
			removed++;
	next:;
	}
	return removed;
}

/* ---- the record ---- */

static const char *type_name(enum hamn_mount_type t)
{
	return t == HAMN_MOUNT_BIND ? "bind" : t == HAMN_MOUNT_VOLUME ? "volume" : "tmpfs";
}

json_t *hamn_mounts_to_json(const struct hamn_mount_list *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < l->n; i++) {
		const struct hamn_mount *m = &l->items[i];
		json_t *o = json_pack(
			"{s:s, s:s?, s:s, s:b, s:s?, s:b, s:b, s:b, s:b, s:s?, s:s, "
			"s:b, s:O?, s:O?}",
			"Type", type_name(m->type), "Source", m->source, "Destination",
			m->destination, "ReadOnly", m->readonly, "Propagation", m->propagation,
			"NonRecursive", m->nonrecursive, "CreateSource", m->create_source, "NoCopy",
			m->nocopy, "Anonymous", m->anonymous, "TmpfsOptions", m->tmpfs_options,
			"Mode", m->mode ? m->mode : "", "TmpfsMap", m->tmpfs_map, "VolumeLabels",
			m->volume_labels, "VolumeOptions", m->volume_options);

		if (!o)
			hamn_bug("cannot serialise the mount at %s", m->destination);
		json_array_append_new(arr, o);
	}
	return arr;
}

static char *opt_dup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? xstrdup(s) : NULL;
}

static int mount_from_json(json_t *o, struct hamn_mount *m, struct hamn_error **err)
{
	const char *type = json_string_value(json_object_get(o, "Type"));
	const char *dest = json_string_value(json_object_get(o, "Destination"));
	json_t *labels = json_object_get(o, "VolumeLabels");
	json_t *opts = json_object_get(o, "VolumeOptions");

	if (!type || !dest || dest[0] != '/')
		return hamn_error_setq(err, EINVAL, "bad mount record");
	if (streq(type, "bind"))
		m->type = HAMN_MOUNT_BIND;
	else if (streq(type, "volume"))
		m->type = HAMN_MOUNT_VOLUME;
	else if (streq(type, "tmpfs"))
		m->type = HAMN_MOUNT_TMPFS;
	else
		return hamn_error_setq(err, EINVAL, "bad mount record: type '%s'", type);
	m->source = opt_dup(o, "Source");
	m->destination = xstrdup(dest);
	m->readonly = json_is_true(json_object_get(o, "ReadOnly"));
	m->propagation = opt_dup(o, "Propagation");
	m->nonrecursive = json_is_true(json_object_get(o, "NonRecursive"));
	m->create_source = json_is_true(json_object_get(o, "CreateSource"));
	m->nocopy = json_is_true(json_object_get(o, "NoCopy"));
	m->anonymous = json_is_true(json_object_get(o, "Anonymous"));
	m->tmpfs_options = opt_dup(o, "TmpfsOptions");
	m->mode = opt_dup(o, "Mode");
	m->mode = m->mode ? m->mode : xstrdup("");
	m->tmpfs_map = json_is_true(json_object_get(o, "TmpfsMap"));
	m->volume_labels = json_is_object(labels) ? json_deep_copy(labels) : NULL;
	m->volume_options = json_is_object(opts) ? json_deep_copy(opts) : NULL;
	if ((m->type == HAMN_MOUNT_BIND && (!m->source || m->source[0] != '/')) ||
	    (m->type == HAMN_MOUNT_VOLUME && !hamn_volume_name_valid(m->source)))
		return hamn_error_setq(err, EINVAL, "bad mount record: source of %s", dest);
	return 0;
}

int hamn_mounts_from_json(json_t *arr, struct hamn_mount_list *out, struct hamn_error **err)
{
	size_t i;
	json_t *o;

	memset(out, 0, sizeof(*out));
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return hamn_error_setq(err, EINVAL, "bad mount record: not an array");
	json_array_foreach (arr, i, o) {
		if (mount_from_json(o, hamn_mount_list_add(out), err) < 0) {
			hamn_mount_list_release(out);
			return -1;
		}
	}
	return 0;
}

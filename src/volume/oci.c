/*
 * oci.c - a container's mount as the OCI runtime config wants it, and as
 * docker's container inspect shows it. Runs at container start: missing -v
 * sources and named volumes are made here, as docker does.
 */
#include <sys/stat.h>

#include "volume/internal.h"

static void push_opts(json_t *arr, const char *csv, bool skip_rw)
{
	_cleanup_strv_ char **parts = str_split(csv ? csv : "", ',');

	for (size_t i = 0; parts[i]; i++) {
		if (!parts[i][0] || (skip_rw && (streq(parts[i], "ro") || streq(parts[i], "rw"))))
			continue;
		json_array_append_new(arr, json_string(parts[i]));
	}
}

static json_t *oci_obj(const char *dest, const char *type, const char *source, json_t *opts)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source",
			      source, "options", opts);

	if (!o)
		hamn_bug("cannot build the mount of %s", dest);
	return o;
}

static json_t *bind_obj(const char *dest, const char *source, bool recursive, bool ro,
			const char *propagation)
{
	json_t *opts = json_array();

	json_array_append_new(opts, json_string(recursive ? "rbind" : "bind"));
	json_array_append_new(opts, json_string(ro ? "ro" : "rw"));
	json_array_append_new(
		opts, json_string(propagation && propagation[0] ? propagation : "rprivate"));
	return oci_obj(dest, "bind", source, opts);
}

static json_t *bind_mount(const struct hamn_mount *m, struct hamn_error **err)
{
	struct stat sb;

	if (stat(m->source, &sb) < 0) {
		if (errno != ENOENT || !m->create_source)
			return hamn_error_setq(err, EINVAL,
					       "invalid mount config for type \"bind\": "
					       "bind source path does not exist: %s",
					       m->source),
			       NULL;
		/* -v makes a missing source directory, as docker does */
		if (hamn_mkdir_p(AT_FDCWD, m->source, 0755, err) < 0)
			return hamn_error_wrap(err, "create mount source"), NULL;
	}
	return bind_obj(m->destination, m->source, !m->nonrecursive, m->readonly, m->propagation);
}

/* A volume with driver options: the mount they describe. */
static json_t *driver_mount(const struct hamn_mount *m, json_t *opts, struct hamn_error **err)
{
	const char *type = json_string_value(json_object_get(opts, "type"));
	const char *o = json_string_value(json_object_get(opts, "o"));
	const char *device = json_string_value(json_object_get(opts, "device"));
	_cleanup_strv_ char **parts = str_split(o ? o : "", ',');
	bool bind = strv_contains(parts, "bind") || strv_contains(parts, "rbind");
	json_t *arr;
	struct stat sb;

	if (bind || !streq(type, "tmpfs")) {
		if (!device || !device[0])
			return hamn_error_setq(err, EINVAL, "mount volume '%s': no device given",
					       m->source),
			       NULL;
		if (bind && (device[0] != '/' || stat(device, &sb) < 0))
			return hamn_error_setq(err, EINVAL,
					       "mount volume '%s': device '%s' does "
					       "not exist",
					       m->source, device),
			       NULL;
	}
	if (bind)
		return bind_obj(m->destination, device, strv_contains(parts, "rbind"),
				m->readonly || strv_contains(parts, "ro"), m->propagation);
	arr = json_array();
	push_opts(arr, o, true);
	json_array_append_new(arr,
			      json_string(m->readonly || strv_contains(parts, "ro") ? "ro" : "rw"));
	return oci_obj(m->destination, type, device && device[0] ? device : type, arr);
}

static json_t *volume_mount(struct hamn_volume_store *st, const struct hamn_mount *m,
			    struct hamn_error **err)
{
	struct vol_meta meta;
	json_t *opts, *out;

	if (!hamn_volume_exists(st, m->source)) {
		/* removed since create (or never made): docker's -v makes it again */
		struct hamn_volume_create_opts o = {.name = m->source,
						    .labels = m->volume_labels,
						    .driver_opts = m->volume_options,
						    .anonymous = m->anonymous};
		json_t *v = hamn_volume_create(st, &o, NULL, err);

		if (!v)
			return NULL;
		json_decref(v);
	}
	if (vol_meta_read(st, m->source, &meta, err) < 0)
		return NULL;
	opts = meta.options;
	if (opts && json_string_length(json_object_get(opts, "type")) > 0) {
		out = driver_mount(m, opts, err);
	} else {
		_cleanup_free_ char *mp = hamn_volume_mountpoint(st, m->source);

		out = bind_obj(m->destination, mp, true, m->readonly, m->propagation);
	}
	vol_meta_release(&meta);
	return out;
}

json_t *hamn_volume_oci_mount(struct hamn_volume_store *st, const struct hamn_mount *m,
			      struct hamn_error **err)
{
	json_t *opts;

	switch (m->type) {
	case HAMN_MOUNT_BIND:
		return bind_mount(m, err);
	case HAMN_MOUNT_VOLUME:
		return volume_mount(st, m, err);
	case HAMN_MOUNT_TMPFS:
		opts = json_array();
		push_opts(opts, m->tmpfs_options, true);
		json_array_append_new(opts, json_string(m->readonly ? "ro" : "rw"));
		return oci_obj(m->destination, "tmpfs", "tmpfs", opts);
	}
	return hamn_error_setq(err, EINVAL, "unknown mount type"), NULL;
}

bool hamn_volume_needs_populate(struct hamn_volume_store *st, const struct hamn_mount *m)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct vol_meta meta;
	bool r;

	if (m->type != HAMN_MOUNT_VOLUME || m->nocopy)
		return false;
	if (vol_meta_read(st, m->source, &meta, &err) < 0)
		return false;
	/* a tmpfs or device volume is mounted afresh in the container: nothing to fill here */
	r = !meta.populated && !(meta.options && json_object_get(meta.options, "type"));
	vol_meta_release(&meta);
	return r;
}

json_t *hamn_mount_inspect_json(struct hamn_volume_store *st, const struct hamn_mount *m)
{
	_cleanup_free_ char *mp = NULL;
	const char *mode = m->mode ? m->mode : "";

	switch (m->type) {
	case HAMN_MOUNT_BIND:
		return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
				 m->source, "Destination", m->destination, "Mode", mode, "RW",
				 !m->readonly, "Propagation",
				 m->propagation ? m->propagation : "rprivate");
	case HAMN_MOUNT_VOLUME:
		mp = st ? hamn_volume_mountpoint(st, m->source) : xstrdup("");
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume",
				 "Name", m->source ? m->source : "", "Source", mp, "Destination",
				 m->destination, "Driver", "local", "Mode", mode[0] ? mode : "z",
				 "RW", !m->readonly, "Propagation", "");
	case HAMN_MOUNT_TMPFS:
		if (m->tmpfs_map)
			return NULL;
		return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "tmpfs", "Source", "",
				 "Destination", m->destination, "Mode", "", "RW", !m->readonly,
				 "Propagation", "");
	}
	return NULL;
}

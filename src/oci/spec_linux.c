/*
 * spec_linux.c - the "linux" section of config.json: namespaces, id
 * mappings, devices, sysctls, propagation, masked and read-only paths;
 * resources and seccomp are handed to resources.c and seccomp.c.
 */
#include "oci/internal.h"

/* The kernel accepts at most this many lines in uid_map/gid_map (since 4.15). */
#define ID_MAP_MAX 340
/* dev_t as the kernel keeps it: 12 bits of major, 20 of minor. */
#define DEV_MAJOR_MAX 0xfff
#define DEV_MINOR_MAX 0xfffff

static int parse_namespace(json_t *obj, const char *path, struct hamn_oci_linux *l,
			   struct hamn_error **err)
{
	struct hamn_oci_namespace *ns = &l->namespaces[l->n_namespaces];
	_cleanup_free_ char *type = NULL;
	int t;

	if (oci_require_object(obj, path, err) < 0 ||
	    oci_get_string(obj, path, "type", true, &type, err) < 0)
		return -1;
	t = hamn_oci_ns_from_name(type);
	if (t < 0)
		return oci_fail(err, path, "type", "unknown namespace type '%s'", type);
	for (size_t i = 0; i < l->n_namespaces; i++)
		if (l->namespaces[i].type == (enum hamn_oci_ns_type)t)
			return oci_fail(err, path, "type", "duplicate namespace type '%s'", type);
	if (oci_get_string(obj, path, "path", false, &ns->path, err) < 0)
		return -1;
	ns->type = t;
	l->n_namespaces++;
	if (ns->path && ns->path[0] != '/')
		return oci_fail(err, path, "path", "'%s' is not an absolute path", ns->path);
	return 0;
}

static int parse_namespaces(json_t *lin, const char *path, struct hamn_oci_linux *l,
			    struct hamn_error **err)
{
	_cleanup_free_ char *apath = oci_path_key(path, "namespaces");
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(lin, path, "namespaces", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	/* duplicates are refused, so more entries than types is always an error */
	l->namespaces = xcalloc(json_array_size(arr) + 1, sizeof(*l->namespaces));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);

		if (parse_namespace(item, ipath, l, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_id_map(json_t *obj, const char *path, struct hamn_oci_id_map *m,
			struct hamn_error **err)
{
	int64_t cid, hid, size;

	if (oci_require_object(obj, path, err) < 0 ||
	    oci_get_int_req(obj, path, "containerID", 0, UINT32_MAX, &cid, err) < 0 ||
	    oci_get_int_req(obj, path, "hostID", 0, UINT32_MAX, &hid, err) < 0 ||
	    oci_get_int_req(obj, path, "size", 1, UINT32_MAX, &size, err) < 0)
		return -1;
	/* the kernel refuses a range whose end wraps around 2^32 */
	if (cid + size > UINT32_MAX || hid + size > UINT32_MAX)
		return oci_fail(err, path, "size", "%lld ids from %lld/%lld overflow 32 bits",
				(long long)size, (long long)cid, (long long)hid);
	m->container_id = cid;
	m->host_id = hid;
	m->size = size;
	return 0;
}

static int parse_id_maps(json_t *lin, const char *path, const char *key,
			 struct hamn_oci_id_map **out, size_t *n, struct hamn_error **err)
{
	_cleanup_free_ char *apath = oci_path_key(path, key);
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(lin, path, key, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	if (json_array_size(arr) > ID_MAP_MAX)
		return oci_fail(err, apath, NULL, "more than %d entries", ID_MAP_MAX);
	*out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);

		if (parse_id_map(item, ipath, &(*out)[i], err) < 0)
			return -1;
		*n = i + 1;
	}
	return 0;
}

static int parse_device_ids(json_t *obj, const char *path, struct hamn_oci_device *d,
			    struct hamn_error **err)
{
	int64_t v = 0;

	/* a fifo has no device number; every other kind needs both */
	if (d->type == 'p') {
		if (oci_get_int(obj, path, "major", 0, DEV_MAJOR_MAX, NULL, &d->major, err) < 0 ||
		    oci_get_int(obj, path, "minor", 0, DEV_MINOR_MAX, NULL, &d->minor, err) < 0)
			return -1;
	} else if (oci_get_int_req(obj, path, "major", 0, DEV_MAJOR_MAX, &d->major, err) < 0 ||
		   oci_get_int_req(obj, path, "minor", 0, DEV_MINOR_MAX, &d->minor, err) < 0) {
		return -1;
	}
	/* Go writes an os.FileMode, whose high bits are type flags: keep the permissions */
	if (oci_get_int(obj, path, "fileMode", 0, UINT32_MAX, &d->has_mode, &v, err) < 0)
		return -1;
	d->file_mode = v & 07777;
	if (oci_get_int(obj, path, "uid", 0, OCI_ID_MAX, &d->has_uid, &v, err) < 0)
		return -1;
	d->uid = d->has_uid ? v : 0;
	if (oci_get_int(obj, path, "gid", 0, OCI_ID_MAX, &d->has_gid, &v, err) < 0)
		return -1;
	d->gid = d->has_gid ? v : 0;
	return 0;
}

static int parse_device(json_t *obj, const char *path, struct hamn_oci_device *d,
			struct hamn_error **err)
{
	_cleanup_free_ char *type = NULL;

	if (oci_require_object(obj, path, err) < 0 ||
	    oci_get_string(obj, path, "path", true, &d->path, err) < 0 ||
	    oci_check_abs_path(d->path, path, "path", err) < 0 ||
	    oci_get_string(obj, path, "type", true, &type, err) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return oci_fail(err, path, "type", "unknown device type '%s'", type);
	d->type = type[0];
	return parse_device_ids(obj, path, d, err);
}

static int parse_devices(json_t *lin, const char *path, struct hamn_oci_linux *l,
			 struct hamn_error **err)
{
	_cleanup_free_ char *apath = oci_path_key(path, "devices");
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(lin, path, "devices", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	l->devices = xcalloc(json_array_size(arr) + 1, sizeof(*l->devices));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);

		l->n_devices = i + 1;
		if (parse_device(item, ipath, &l->devices[i], err) < 0)
			return -1;
	}
	return 0;
}

static bool has_ns(const struct hamn_oci_linux *l, enum hamn_oci_ns_type t)
{
	for (size_t i = 0; i < l->n_namespaces; i++)
		if (l->namespaces[i].type == t)
			return true;
	return false;
}

static int parse_sysctls(json_t *lin, const char *path, struct hamn_oci_linux *l,
			 struct hamn_error **err)
{
	_cleanup_free_ char *opath = oci_path_key(path, "sysctl");
	bool net = has_ns(l, HAMN_OCI_NS_NETWORK), ipc = has_ns(l, HAMN_OCI_NS_IPC);
	bool uts = has_ns(l, HAMN_OCI_NS_UTS);
	const char *key;
	json_t *obj, *v;

	if (oci_get_object(lin, path, "sysctl", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	l->sysctls = xcalloc(json_object_size(obj) + 1, sizeof(*l->sysctls));
	json_object_foreach(obj, key, v) {
		struct hamn_oci_sysctl *sc = &l->sysctls[l->n_sysctls];

		if (oci_string(v, opath, key, &sc->value, err) < 0)
			return -1;
		sc->key = xstrdup(key);
		l->n_sysctls++;
		if (hamn_oci_sysctl_check(key, sc->value, net, ipc, uts, err) < 0)
			return hamn_error_wrap(err, "%s", opath);
	}
	return 0;
}

static int parse_path_list(json_t *lin, const char *path, const char *key, char ***out,
			   struct hamn_error **err)
{
	if (oci_get_strv(lin, path, key, out, err) < 0)
		return -1;
	for (size_t i = 0; *out && (*out)[i]; i++) {
		_cleanup_free_ char *k = xasprintf("%s[%zu]", key, i);

		if (oci_check_abs_path((*out)[i], path, k, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_strings(json_t *lin, const char *path, struct hamn_oci_linux *l,
			 struct hamn_error **err)
{
	_cleanup_free_ char *prop = NULL;

	if (oci_get_string(lin, path, "cgroupsPath", false, &l->cgroups_path, err) < 0)
		return -1;
	/* the runtime joins this to a cgroup mount: it must not climb out of it */
	if (l->cgroups_path && oci_path_has_dotdot(l->cgroups_path))
		return oci_fail(err, path, "cgroupsPath", "'%s' must not contain '..'",
				l->cgroups_path);
	if (oci_get_string(lin, path, "rootfsPropagation", false, &prop, err) < 0)
		return -1;
	if (prop && prop[0]) {
		l->rootfs_propagation = oci_propagation_from_name(prop);
		if (!l->rootfs_propagation)
			return oci_fail(err, path, "rootfsPropagation", "unknown propagation '%s'",
					prop);
	}
	if (parse_path_list(lin, path, "maskedPaths", &l->masked_paths, err) < 0 ||
	    parse_path_list(lin, path, "readonlyPaths", &l->readonly_paths, err) < 0)
		return -1;
	return oci_get_string(lin, path, "mountLabel", false, &l->mount_label, err);
}

static int parse_children(json_t *lin, const char *path, struct hamn_oci_linux *l,
			  struct hamn_error **err)
{
	json_t *obj;

	if (oci_get_object(lin, path, "resources", &obj, err) < 0)
		return -1;
	if (obj) {
		l->resources = hamn_oci_resources_parse(obj, err);
		if (!l->resources)
			return -1;
	}
	if (oci_get_object(lin, path, "seccomp", &obj, err) < 0)
		return -1;
	if (obj) {
		l->seccomp = hamn_oci_seccomp_parse(obj, err);
		if (!l->seccomp)
			return -1;
	}
	return 0;
}

int oci_linux_parse(json_t *lin, const char *path, struct hamn_oci_linux *l,
		    struct hamn_error **err)
{
	if (parse_namespaces(lin, path, l, err) < 0 ||
	    parse_id_maps(lin, path, "uidMappings", &l->uid_mappings, &l->n_uid_mappings, err) <
		    0 ||
	    parse_id_maps(lin, path, "gidMappings", &l->gid_mappings, &l->n_gid_mappings, err) < 0)
		return -1;
	if ((l->n_uid_mappings || l->n_gid_mappings) && !has_ns(l, HAMN_OCI_NS_USER))
		return oci_fail(err, path, l->n_uid_mappings ? "uidMappings" : "gidMappings",
				"requires a user namespace in %s.namespaces", path);
	if (parse_devices(lin, path, l, err) < 0 || parse_sysctls(lin, path, l, err) < 0 ||
	    parse_strings(lin, path, l, err) < 0 || parse_children(lin, path, l, err) < 0)
		return -1;
	return 0;
}

void oci_linux_release(struct hamn_oci_linux *l)
{
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	hamn_oci_resources_free(l->resources);
	for (size_t i = 0; i < l->n_sysctls; i++) {
		free(l->sysctls[i].key);
		free(l->sysctls[i].value);
	}
	free(l->sysctls);
	hamn_oci_seccomp_free(l->seccomp);
	hamn_strv_free(l->masked_paths);
	hamn_strv_free(l->readonly_paths);
	free(l->mount_label);
	memset(l, 0, sizeof(*l));
}

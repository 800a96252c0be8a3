/*
 * spec_emit.c - struct hamn_oci_spec back to config.json, such that parsing
 * the result gives the same values. Optional fields that were absent stay
 * absent; derived fields (mount flags) are not written, they follow from
 * the options.
 */
#include "oci/internal.h"

static void set_str(json_t *obj, const char *key, const char *s)
{
	if (s)
		json_object_set_new(obj, key, json_string(s));
}

static void set_strv(json_t *obj, const char *key, char *const *v)
{
	if (v)
		json_object_set_new(obj, key, hamn_json_from_strv(v));
}

static void set_int(json_t *obj, const char *key, int64_t v)
{
	json_object_set_new(obj, key, json_integer(v));
}

static json_t *user_to_json(const struct hamn_oci_user *u)
{
	json_t *obj = json_object();

	set_int(obj, "uid", u->uid);
	set_int(obj, "gid", u->gid);
	if (u->has_umask)
		set_int(obj, "umask", u->umask);
	if (u->n_additional_gids) {
		json_t *arr = json_array();

		for (size_t i = 0; i < u->n_additional_gids; i++)
			json_array_append_new(arr, json_integer(u->additional_gids[i]));
		json_object_set_new(obj, "additionalGids", arr);
	}
	set_str(obj, "username", u->username);
	return obj;
}

/* RLIM_INFINITY is a big integer: hamn_json_dump_big() writes 18446744073709551615 as dockerd. */
static json_t *rlimits_to_json(const struct hamn_oci_process *p)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct hamn_oci_rlimit *r = &p->rlimits[i];

		json_array_append_new(arr, json_pack("{s:s, s:o, s:o}", "type",
						     hamn_oci_rlimit_name(r->resource), "soft",
						     hamn_json_uint64_new(r->soft), "hard",
						     hamn_json_uint64_new(r->hard)));
	}
	return arr;
}

static void caps_set_to_json(json_t *proc, const struct hamn_oci_caps *c)
{
	json_object_set_new(
		proc, "capabilities",
		json_pack("{s:o, s:o, s:o, s:o, s:o}", "bounding", oci_caps_to_json(c->bounding),
			  "effective", oci_caps_to_json(c->effective), "inheritable",
			  oci_caps_to_json(c->inheritable), "permitted",
			  oci_caps_to_json(c->permitted), "ambient", oci_caps_to_json(c->ambient)));
}

static json_t *oci_process_to_json(const struct hamn_oci_process *p)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "terminal", json_boolean(p->terminal));
	if (p->console_height || p->console_width)
		json_object_set_new(obj, "consoleSize",
				    json_pack("{s:I, s:I}", "height", (json_int_t)p->console_height,
					      "width", (json_int_t)p->console_width));
	json_object_set_new(obj, "user", user_to_json(&p->user));
	set_strv(obj, "args", p->args);
	set_strv(obj, "env", p->env);
	set_str(obj, "cwd", p->cwd);
	if (p->has_caps)
		caps_set_to_json(obj, &p->caps);
	if (p->rlimits)
		json_object_set_new(obj, "rlimits", rlimits_to_json(p));
	json_object_set_new(obj, "noNewPrivileges", json_boolean(p->no_new_privileges));
	if (p->has_oom_score_adj)
		set_int(obj, "oomScoreAdj", p->oom_score_adj);
	set_str(obj, "apparmorProfile", p->apparmor_profile);
	set_str(obj, "selinuxLabel", p->selinux_label);
	return obj;
}

static json_t *mounts_to_json(const struct hamn_oci_spec *s)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct hamn_oci_mount *m = &s->mounts[i];
		json_t *obj = json_object();

		set_str(obj, "destination", m->destination);
		set_str(obj, "type", m->type);
		set_str(obj, "source", m->source);
		set_strv(obj, "options", m->options);
		json_array_append_new(arr, obj);
	}
	return arr;
}

static json_t *hook_to_json(const struct hamn_oci_hook *h)
{
	json_t *obj = json_object();

	set_str(obj, "path", h->path);
	set_strv(obj, "args", h->args);
	set_strv(obj, "env", h->env);
	if (h->timeout > 0)
		set_int(obj, "timeout", h->timeout);
	return obj;
}

static json_t *hooks_to_json(const struct hamn_oci_spec *s)
{
	json_t *obj = NULL;

	for (int k = 0; k < HAMN_OCI_HOOK_N_KINDS; k++) {
		json_t *arr;

		if (!s->hooks[k])
			continue;
		arr = json_array();
		for (size_t i = 0; i < s->n_hooks[k]; i++)
			json_array_append_new(arr, hook_to_json(&s->hooks[k][i]));
		if (!obj)
			obj = json_object();
		json_object_set_new(obj, oci_hook_kind_names[k], arr);
	}
	return obj;
}

/* ---- linux ---- */

static json_t *namespaces_to_json(const struct hamn_oci_linux *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < l->n_namespaces; i++) {
		json_t *obj = json_object();

		set_str(obj, "type", hamn_oci_ns_name(l->namespaces[i].type));
		set_str(obj, "path", l->namespaces[i].path);
		json_array_append_new(arr, obj);
	}
	return arr;
}

static json_t *id_maps_to_json(const struct hamn_oci_id_map *m, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:I, s:I, s:I}", "containerID",
						     (json_int_t)m[i].container_id, "hostID",
						     (json_int_t)m[i].host_id, "size",
						     (json_int_t)m[i].size));
	return arr;
}

static json_t *devices_to_json(const struct hamn_oci_linux *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < l->n_devices; i++) {
		const struct hamn_oci_device *d = &l->devices[i];
		json_t *obj = json_object();

		set_str(obj, "path", d->path);
		json_object_set_new(obj, "type", json_stringn(&d->type, 1));
		if (d->type != 'p' || d->major || d->minor) {
			set_int(obj, "major", d->major);
			set_int(obj, "minor", d->minor);
		}
		if (d->has_mode)
			set_int(obj, "fileMode", d->file_mode);
		if (d->has_uid)
			set_int(obj, "uid", d->uid);
		if (d->has_gid)
			set_int(obj, "gid", d->gid);
		json_array_append_new(arr, obj);
	}
	return arr;
}

static json_t *sysctls_to_json(const struct hamn_oci_linux *l)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < l->n_sysctls; i++)
		set_str(obj, l->sysctls[i].key, l->sysctls[i].value);
	return obj;
}

static void linux_children_to_json(json_t *obj, const struct hamn_oci_linux *l)
{
	if (l->resources)
		json_object_set_new(obj, "resources", hamn_oci_resources_to_json(l->resources));
	if (l->seccomp)
		json_object_set_new(obj, "seccomp", hamn_oci_seccomp_to_json(l->seccomp));
}

static json_t *oci_linux_to_json(const struct hamn_oci_linux *l)
{
	json_t *obj = json_object();

	if (l->namespaces)
		json_object_set_new(obj, "namespaces", namespaces_to_json(l));
	if (l->uid_mappings)
		json_object_set_new(obj, "uidMappings",
				    id_maps_to_json(l->uid_mappings, l->n_uid_mappings));
	if (l->gid_mappings)
		json_object_set_new(obj, "gidMappings",
				    id_maps_to_json(l->gid_mappings, l->n_gid_mappings));
	if (l->devices)
		json_object_set_new(obj, "devices", devices_to_json(l));
	set_str(obj, "cgroupsPath", l->cgroups_path);
	if (l->sysctls)
		json_object_set_new(obj, "sysctl", sysctls_to_json(l));
	if (l->rootfs_propagation)
		set_str(obj, "rootfsPropagation", oci_propagation_name(l->rootfs_propagation));
	set_strv(obj, "maskedPaths", l->masked_paths);
	set_strv(obj, "readonlyPaths", l->readonly_paths);
	set_str(obj, "mountLabel", l->mount_label);
	linux_children_to_json(obj, l);
	return obj;
}

/* ---- the whole document ---- */

json_t *hamn_oci_spec_to_json(const struct hamn_oci_spec *s)
{
	json_t *doc = json_object();
	json_t *hooks = hooks_to_json(s);

	set_str(doc, "ociVersion", s->oci_version);
	if (s->process)
		json_object_set_new(doc, "process", oci_process_to_json(s->process));
	if (s->root_path)
		json_object_set_new(doc, "root",
				    json_pack("{s:s, s:b}", "path", s->root_path, "readonly",
					      s->root_readonly));
	set_str(doc, "hostname", s->hostname);
	set_str(doc, "domainname", s->domainname);
	if (s->mounts)
		json_object_set_new(doc, "mounts", mounts_to_json(s));
	if (hooks)
		json_object_set_new(doc, "hooks", hooks);
	if (s->annotations)
		json_object_set_new(doc, "annotations", json_deep_copy(s->annotations));
	json_object_set_new(doc, "linux", oci_linux_to_json(&s->linux));
	return doc;
}

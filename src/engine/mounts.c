/*
 * mounts.c - HostConfig.Binds ("-v"), HostConfig.Mounts ("--mount") and
 * HostConfig.Tmpfs ("--tmpfs") into one list of container mounts.
 *
 * Named volumes are, until the volume module exists, plain directories
 * <root>/volumes/<name>/_data made on first use (what docker's "local"
 * driver does). Anonymous volumes (Config.Volumes, VOLUME in the image) are
 * not created: those paths live in the container's own layer.
 */
#include <sys/stat.h>

#include "engine/internal.h"

static bool volume_name_valid(const char *n)
{
	return hamn_engine_name_valid(n) && n[0] != '/';
}

/* Clean an absolute container path: no "..", no empty or "." components, no trailing '/'. */
static int clean_dest(const char *in, const char *spec, char **out, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = NULL;
	struct hamn_buf b = HAMN_BUF_INIT;

	if (in[0] != '/')
		return hamn_error_setq(err, EINVAL, "invalid mount config: mount path must be "
				       "absolute: %s", spec);
	parts = str_split(in, '/');
	for (size_t i = 0; parts[i]; i++) {
		if (!parts[i][0] || streq(parts[i], "."))
			continue;
		if (streq(parts[i], "..")) {
			hamn_buf_release(&b);
			return hamn_error_setq(err, EINVAL, "invalid volume specification: '%s'",
					       spec);
		}
		hamn_buf_putc(&b, '/');
		hamn_buf_puts(&b, parts[i]);
	}
	if (!b.len) {
		hamn_buf_release(&b);
		return hamn_error_setq(err, EINVAL,
				       "invalid specification: destination can't be '/'");
	}
	*out = hamn_buf_steal(&b);
	return 0;
}

static struct ctr_mount *mount_add(struct ctr_config *c)
{
	c->mounts = xreallocarray(c->mounts, c->n_mounts + 1, sizeof(*c->mounts));
	memset(&c->mounts[c->n_mounts], 0, sizeof(*c->mounts));
	return &c->mounts[c->n_mounts++];
}

static bool is_propagation(const char *s)
{
	static const char *const names[] = { "shared", "rshared", "slave", "rslave",
					     "private", "rprivate", NULL };

	for (size_t i = 0; names[i]; i++)
		if (streq(s, names[i]))
			return true;
	return false;
}

static int bind_mode(struct ctr_mount *m, const char *mode, const char *spec,
		     struct hamn_error **err)
{
	_cleanup_strv_ char **opts = str_split(mode, ',');

	for (size_t i = 0; opts[i]; i++) {
		const char *o = opts[i];

		if (!o[0])
			continue;
		if (streq(o, "ro"))
			m->readonly = true;
		else if (streq(o, "rw"))
			m->readonly = false;
		else if (is_propagation(o))
			m->propagation = (free(m->propagation), xstrdup(o));
		else if (!streq(o, "z") && !streq(o, "Z") && !streq(o, "nocopy") &&
			 !streq(o, "consistent") && !streq(o, "cached") && !streq(o, "delegated"))
			return hamn_error_setq(err, EINVAL, "invalid mode: %s", o);
	}
	(void)spec;
	return 0;
}

static char *volume_path(const char *root, const char *name)
{
	return xasprintf("%s/volumes/%s/_data", root, name);
}

/* "src:dst[:mode]" */
static int parse_bind(const char *spec, const char *root, struct ctr_config *c,
		      struct hamn_error **err)
{
	_cleanup_strv_ char **p = str_split(spec, ':');
	size_t n = strv_len(p);
	struct ctr_mount *m;

	if (n < 2 || n > 3 || !p[0][0] || !p[1][0])
		return hamn_error_setq(err, EINVAL, "invalid volume specification: '%s'", spec);
	m = mount_add(c);
	if (clean_dest(p[1], spec, &m->destination, err) < 0)
		return -1;
	m->mode = xstrdup(n == 3 ? p[2] : "");
	if (bind_mode(m, m->mode, spec, err) < 0)
		return -1;
	if (p[0][0] == '/') {
		m->type = CM_BIND;
		m->source = xstrdup(p[0]);
		m->create_source = true;
		if (!m->propagation)
			m->propagation = xstrdup("rprivate");
		return 0;
	}
	if (!volume_name_valid(p[0]))
		return hamn_error_setq(err, EINVAL,
				       "create %s: \"%s\" includes invalid characters for a local "
				       "volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
				       "If you intended to pass a host directory, use absolute path",
				       p[0], p[0]);
	m->type = CM_VOLUME;
	m->name = xstrdup(p[0]);
	m->source = volume_path(root, p[0]);
	return 0;
}

static int mount_bind_opts(json_t *mo, struct ctr_mount *m, struct hamn_error **err)
{
	json_t *bo = NULL;
	const char *prop = NULL;

	if (jf_object(mo, "Mount", "BindOptions", &bo, err) < 0 ||
	    jf_string(bo, "BindOptions", "Propagation", &prop, err) < 0)
		return -1;
	if (prop && prop[0]) {
		if (!is_propagation(prop))
			return hamn_error_setq(err, EINVAL, "invalid propagation mode: %s", prop);
		m->propagation = xstrdup(prop);
	} else {
		m->propagation = xstrdup("rprivate");
	}
	return 0;
}

static int mount_tmpfs_opts(json_t *mo, struct ctr_mount *m, struct hamn_error **err)
{
	json_t *to = NULL;
	int64_t size = 0, mode = 0;

	if (jf_object(mo, "Mount", "TmpfsOptions", &to, err) < 0 ||
	    jf_int(to, "TmpfsOptions", "SizeBytes", &size, err) < 0 ||
	    jf_int(to, "TmpfsOptions", "Mode", &mode, err) < 0)
		return -1;
	if (size < 0)
		return hamn_error_setq(err, EINVAL, "invalid tmpfs size: %lld", (long long)size);
	m->options = xstrdup("nosuid,nodev,noexec");
	if (size > 0) {
		char *o = xasprintf("%s,size=%lldk", m->options, (long long)((size + 1023) / 1024));

		free(m->options);
		m->options = o;
	}
	if (mode > 0) {
		char *o = xasprintf("%s,mode=%llo", m->options, (unsigned long long)(mode & 07777));

		free(m->options);
		m->options = o;
	}
	return 0;
}

static int mount_source(json_t *mo, const char *type, const char *src, const char *root,
			struct ctr_mount *m, struct hamn_error **err)
{
	struct stat stbuf;

	if (streq(type, "bind")) {
		if (!src || src[0] != '/')
			return hamn_error_setq(err, EINVAL, "invalid mount config for type \"bind\": "
					       "invalid mount path: '%s' mount path must be absolute",
					       src ? src : "");
		if (stat(src, &stbuf) < 0)
			return hamn_error_setq(err, EINVAL, "invalid mount config for type \"bind\": "
					       "bind source path does not exist: %s", src);
		m->type = CM_BIND;
		m->source = xstrdup(src);
		return mount_bind_opts(mo, m, err);
	}
	if (streq(type, "tmpfs")) {
		if (src && src[0])
			return hamn_error_setq(err, EINVAL, "invalid mount config for type \"tmpfs\": "
					       "field Source must not be specified");
		m->type = CM_TMPFS;
		return mount_tmpfs_opts(mo, m, err);
	}
	if (streq(type, "volume")) {
		_cleanup_free_ char *anon = NULL;

		if (!src || !src[0])
			src = anon = hamn_random_id();
		if (!volume_name_valid(src))
			return hamn_error_setq(err, EINVAL, "invalid mount config for type "
					       "\"volume\": invalid volume name: %s", src);
		m->type = CM_VOLUME;
		m->name = xstrdup(src);
		m->source = volume_path(root, src);
		return 0;
	}
	return hamn_error_setq(err, EINVAL, "invalid mount config: mount type unknown: \"%s\"",
			       type);
}

static int parse_mount_obj(json_t *mo, const char *root, struct ctr_config *c,
			   struct hamn_error **err)
{
	const char *type = NULL, *src = NULL, *target = NULL;
	struct ctr_mount *m;
	bool ro = false;

	if (!json_is_object(mo))
		return jf_type_error(err, mo, "HostConfig", "Mounts", "mount.Mount");
	if (jf_string(mo, "Mount", "Type", &type, err) < 0 ||
	    jf_string(mo, "Mount", "Source", &src, err) < 0 ||
	    jf_string(mo, "Mount", "Target", &target, err) < 0 ||
	    jf_bool(mo, "Mount", "ReadOnly", &ro, err) < 0)
		return -1;
	if (!target || !target[0])
		return hamn_error_setq(err, EINVAL, "invalid mount config: Target must not be empty");
	m = mount_add(c);
	m->readonly = ro;
	m->mode = xstrdup("");
	if (clean_dest(target, target, &m->destination, err) < 0)
		return -1;
	return mount_source(mo, type ? type : "", src, root, m, err);
}

static int parse_tmpfs_map(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	json_t *map = NULL, *v;
	const char *k;

	if (jf_strmap(hc, "HostConfig", "Tmpfs", &map, err) < 0)
		return -1;
	json_object_foreach(map, k, v) {
		const char *o = json_string_value(v);
		_cleanup_strv_ char **opts = str_split(o, ',');
		struct ctr_mount *m = mount_add(c);

		m->type = CM_TMPFS;
		m->mode = xstrdup(o);
		if (clean_dest(k, k, &m->destination, err) < 0)
			return -1;
		m->options = o[0] ? xasprintf("nosuid,nodev,noexec,%s", o)
				  : xstrdup("nosuid,nodev,noexec");
		m->readonly = strv_contains(opts, "ro");
	}
	return 0;
}

static int check_duplicates(const struct ctr_config *c, struct hamn_error **err)
{
	for (size_t i = 0; i < c->n_mounts; i++)
		for (size_t j = i + 1; j < c->n_mounts; j++)
			if (streq(c->mounts[i].destination, c->mounts[j].destination))
				return hamn_error_setq(err, EINVAL, "Duplicate mount point: %s",
						       c->mounts[i].destination);
	return 0;
}

int ctr_mounts_parse(json_t *hc, const char *root, struct ctr_config *c,
		     struct hamn_error **err)
{
	_cleanup_strv_ char **binds = NULL;
	json_t *arr = json_object_get(hc, "Mounts"), *mo;
	size_t i;

	if (jf_strv(hc, "HostConfig", "Binds", &binds, err) < 0)
		return -1;
	for (i = 0; binds && binds[i]; i++)
		if (parse_bind(binds[i], root, c, err) < 0)
			return -1;
	if (arr && !json_is_null(arr)) {
		if (!json_is_array(arr))
			return jf_type_error(err, arr, "HostConfig", "Mounts", "[]mount.Mount");
		json_array_foreach(arr, i, mo)
			if (parse_mount_obj(mo, root, c, err) < 0)
				return -1;
	}
	if (parse_tmpfs_map(hc, c, err) < 0)
		return -1;
	return check_duplicates(c, err);
}

/*
 * parse.c - what docker clients send for a container's mounts, into struct
 * hamn_mount: -v specs (HostConfig.Binds), --mount objects
 * (HostConfig.Mounts), --tmpfs (HostConfig.Tmpfs), --volumes-from.
 * Pure: nothing here touches the filesystem.
 */
#include "volume/internal.h"

void hamn_mount_release(struct hamn_mount *m)
{
	free(m->source);
	free(m->destination);
	free(m->propagation);
	free(m->tmpfs_options);
	free(m->mode);
	if (m->volume_labels)
		json_decref(m->volume_labels);
	if (m->volume_options)
		json_decref(m->volume_options);
	memset(m, 0, sizeof(*m));
}

void hamn_mount_list_release(struct hamn_mount_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		hamn_mount_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

struct hamn_mount *hamn_mount_list_add(struct hamn_mount_list *l)
{
	l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
	memset(&l->items[l->n], 0, sizeof(*l->items));
	return &l->items[l->n++];
}

struct hamn_mount *hamn_mount_list_find(const struct hamn_mount_list *l, const char *dest)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->items[i].destination, dest))
			return &l->items[i];
	return NULL;
}

bool hamn_mount_list_uses(const struct hamn_mount_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].type == HAMN_MOUNT_VOLUME && streq(l->items[i].source, name))
			return true;
	return false;
}

/* ---- paths ---- */

/* Lexical clean as Go's filepath.Clean: "//a/./b/../c/" -> "/a/c"; ".." stops at "/". */
int hamn_mount_clean_dest(const char *path, char **out, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = NULL;
	_cleanup_free_ size_t *starts = NULL;
	struct hamn_buf b = HAMN_BUF_INIT;
	size_t depth = 0;

	if (!path || path[0] != '/')
		return hamn_error_setq(err, EINVAL,
				       "invalid mount path: '%s' mount path must be "
				       "absolute",
				       path ? path : "");
	parts = str_split(path, '/');
	starts = xcalloc(strv_len(parts) + 1, sizeof(*starts));
	for (size_t i = 0; parts[i]; i++) {
		if (!parts[i][0] || streq(parts[i], "."))
			continue;
		if (streq(parts[i], "..")) {
			if (depth)
				b.len = starts[--depth];
			if (b.data)
				b.data[b.len] = '\0';
			continue;
		}
		starts[depth++] = b.len;
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

/* ---- -v ---- */

static bool is_propagation(const char *s)
{
	static const char *const names[] = {"shared",  "rshared",  "slave", "rslave",
					    "private", "rprivate", NULL};

	for (size_t i = 0; names[i]; i++)
		if (streq(s, names[i]))
			return true;
	return false;
}

static int invalid_spec(const char *spec, struct hamn_error **err)
{
	return hamn_error_setq(err, EINVAL, "invalid volume specification: '%s'", spec);
}

/* The options after the second ':' of -v; docker allows one of each kind. */
static int parse_bind_mode(const char *spec, const char *mode, struct hamn_mount *m,
			   struct hamn_error **err)
{
	_cleanup_strv_ char **opts = str_split(mode, ',');
	bool rw_seen = false, label_seen = false, copy_seen = false, cons_seen = false;

	for (size_t i = 0; opts[i]; i++) {
		const char *o = opts[i];
		bool *seen = NULL;

		if (!o[0])
			continue;
		if (streq(o, "ro") || streq(o, "rw")) {
			m->readonly = streq(o, "ro");
			seen = &rw_seen;
		} else if (streq(o, "z") || streq(o, "Z")) {
			seen = &label_seen;
		} else if (streq(o, "nocopy")) {
			m->nocopy = true;
			seen = &copy_seen;
		} else if (streq(o, "consistent") || streq(o, "cached") || streq(o, "delegated")) {
			seen = &cons_seen;
		} else if (is_propagation(o) && !m->propagation) {
			m->propagation = xstrdup(o);
			continue;
		} else {
			return hamn_error_setq(err, EINVAL, "invalid mode: %s", mode);
		}
		if (*seen)
			return hamn_error_setq(err, EINVAL, "invalid mode: %s", mode);
		*seen = true;
	}
	(void)spec;
	return 0;
}

int hamn_mount_parse_bind(const char *spec, struct hamn_mount *m, struct hamn_error **err)
{
	_cleanup_strv_ char **p = str_split(spec ? spec : "", ':');
	size_t n = strv_len(p);
	const char *src = n >= 2 ? p[0] : NULL, *dst = n >= 2 ? p[1] : p[0];

	memset(m, 0, sizeof(*m));
	if (n < 1 || n > 3 || !dst[0] || (src && !src[0]))
		return invalid_spec(spec ? spec : "", err);
	if (hamn_mount_clean_dest(dst, &m->destination, err) < 0)
		return hamn_error_wrap(err, "invalid volume specification: '%s'", spec);
	m->mode = xstrdup(n == 3 ? p[2] : "");
	if (parse_bind_mode(spec, m->mode, m, err) < 0)
		return -1;
	if (src && src[0] == '/') {
		if (m->nocopy)
			return hamn_error_setq(err, EINVAL, "invalid mode: %s", m->mode);
		m->type = HAMN_MOUNT_BIND;
		m->source = xstrdup(src);
		m->create_source = true;
		if (!m->propagation)
			m->propagation = xstrdup("rprivate");
		return 0;
	}
	m->type = HAMN_MOUNT_VOLUME;
	if (!src) {
		m->anonymous = true;
		return 0;
	}
	if (hamn_volume_name_check(src, err) < 0)
		return -1;
	m->source = xstrdup(src);
	return 0;
}

/* ---- --mount ---- */

static int mount_error(struct hamn_error **err, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int mount_error(struct hamn_error **err, const char *type, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	return hamn_error_setq(err, EINVAL, "invalid mount config for type \"%s\": %s", type, msg);
}

/* Fields that belong to another type are refused, as docker does. */
static int refuse_fields(json_t *obj, const char *type, struct hamn_error **err)
{
	static const char *const fields[][2] = {
		{"BindOptions", "bind"}, {"VolumeOptions", "volume"}, {"TmpfsOptions", "tmpfs"}};

	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(obj, fields[i][0]);

		if (v && !json_is_null(v) && !streq(type, fields[i][1]))
			return mount_error(err, type, "field %s must not be specified",
					   fields[i][0]);
	}
	return 0;
}

static int api_bind(json_t *obj, const char *src, struct hamn_mount *m, struct hamn_error **err)
{
	json_t *bo = NULL;
	const char *prop = NULL;
	bool nonrec = false;

	if (!src || !src[0])
		return mount_error(err, "bind", "field Source must not be empty");
	if (src[0] != '/')
		return mount_error(err, "bind",
				   "invalid mount path: '%s' mount path must be "
				   "absolute",
				   src);
	if (hamn_json_get_object_opt(obj, "BindOptions", "Mount.BindOptions", &bo, err) < 0 ||
	    hamn_json_get_string_opt(bo, "Propagation", "BindOptions.Propagation", &prop, err) <
		    0 ||
	    hamn_json_get_bool_opt(bo, "NonRecursive", "BindOptions.NonRecursive", &nonrec, err) <
		    0)
		return -1;
	if (prop && prop[0] && !is_propagation(prop))
		return mount_error(err, "bind", "invalid propagation mode: %s", prop);
	m->type = HAMN_MOUNT_BIND;
	m->source = xstrdup(src);
	m->propagation = xstrdup(prop && prop[0] ? prop : "rprivate");
	m->nonrecursive = nonrec;
	return 0;
}

static int api_volume(json_t *obj, const char *src, struct hamn_mount *m, struct hamn_error **err)
{
	json_t *vo = NULL, *labels = NULL, *dc = NULL, *opts = NULL;
	const char *driver = NULL;
	bool nocopy = false;

	if (hamn_json_get_object_opt(obj, "VolumeOptions", "Mount.VolumeOptions", &vo, err) < 0 ||
	    hamn_json_get_bool_opt(vo, "NoCopy", "VolumeOptions.NoCopy", &nocopy, err) < 0 ||
	    hamn_json_get_object_opt(vo, "Labels", "VolumeOptions.Labels", &labels, err) < 0 ||
	    hamn_json_get_object_opt(vo, "DriverConfig", "VolumeOptions.DriverConfig", &dc, err) <
		    0 ||
	    hamn_json_get_string_opt(dc, "Name", "DriverConfig.Name", &driver, err) < 0 ||
	    hamn_json_get_object_opt(dc, "Options", "DriverConfig.Options", &opts, err) < 0)
		return -1;
	if (driver && driver[0] && !streq(driver, "local"))
		return hamn_error_setq(err, ENOENT,
				       "error looking up volume plugin %s: plugin "
				       "\"%s\" not found",
				       driver, driver);
	if (vol_check_driver_opts(opts, err) < 0)
		return hamn_error_wrap(err, "invalid mount config for type \"volume\"");
	m->type = HAMN_MOUNT_VOLUME;
	m->nocopy = nocopy;
	if (src && src[0]) {
		if (hamn_volume_name_check(src, err) < 0)
			return -1;
		m->source = xstrdup(src);
	} else {
		m->anonymous = true;
	}
	m->volume_labels = labels ? json_deep_copy(labels) : NULL;
	m->volume_options = opts ? json_deep_copy(opts) : NULL;
	return 0;
}

/* docker's tmpfs size text: the largest unit that divides the size exactly. */
static char *tmpfs_size_opt(int64_t size)
{
	if (size % (1LL << 30) == 0)
		return xasprintf("size=%lldg", (long long)(size >> 30));
	if (size % (1LL << 20) == 0)
		return xasprintf("size=%lldm", (long long)(size >> 20));
	if (size % 1024 == 0)
		return xasprintf("size=%lldk", (long long)(size >> 10));
	return xasprintf("size=%lld", (long long)size);
}

static int merge_tmpfs_options(const char *user, struct hamn_mount *m, struct hamn_error **err);

static int api_tmpfs(json_t *obj, const char *src, struct hamn_mount *m, struct hamn_error **err)
{
	json_t *to = NULL;
	int64_t size = 0, mode = 0;
	struct hamn_buf o = HAMN_BUF_INIT;
	int r;

	if (src && src[0])
		return mount_error(err, "tmpfs", "field Source must not be specified");
	if (hamn_json_get_object_opt(obj, "TmpfsOptions", "Mount.TmpfsOptions", &to, err) < 0 ||
	    hamn_json_get_int_opt(to, "SizeBytes", "TmpfsOptions.SizeBytes", &size, err) < 0 ||
	    hamn_json_get_int_opt(to, "Mode", "TmpfsOptions.Mode", &mode, err) < 0)
		return -1;
	if (size < 0)
		return mount_error(err, "tmpfs", "invalid tmpfs size: %lld", (long long)size);
	if (mode < 0 || mode > 07777)
		return mount_error(err, "tmpfs", "invalid tmpfs mode: %llo", (long long)mode);
	m->type = HAMN_MOUNT_TMPFS;
	if (size > 0) {
		_cleanup_free_ char *s = tmpfs_size_opt(size);

		hamn_buf_puts(&o, s);
	}
	if (mode > 0)
		hamn_buf_printf(&o, "%smode=%llo", o.len ? "," : "", (unsigned long long)mode);
	r = merge_tmpfs_options(o.data ? o.data : "", m, err);
	hamn_buf_release(&o);
	return r;
}

int hamn_mount_parse_api(json_t *obj, struct hamn_mount *m, struct hamn_error **err)
{
	const char *type = NULL, *src = NULL, *target = NULL;
	bool ro = false;
	int r;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(obj))
		return hamn_error_setq(err, EINVAL,
				       "invalid mount config: a mount must be an "
				       "object");
	if (hamn_json_get_string_opt(obj, "Type", "Mount.Type", &type, err) < 0 ||
	    hamn_json_get_string_opt(obj, "Source", "Mount.Source", &src, err) < 0 ||
	    hamn_json_get_string_opt(obj, "Target", "Mount.Target", &target, err) < 0 ||
	    hamn_json_get_bool_opt(obj, "ReadOnly", "Mount.ReadOnly", &ro, err) < 0)
		return -1;
	type = type ? type : "";
	if (!streq(type, "bind") && !streq(type, "volume") && !streq(type, "tmpfs"))
		return mount_error(err, type, "mount type unknown");
	if (!target || !target[0])
		return mount_error(err, type, "field Target must not be empty");
	if (refuse_fields(obj, type, err) < 0)
		return -1;
	if (hamn_mount_clean_dest(target, &m->destination, err) < 0)
		return hamn_error_wrap(err, "invalid mount config for type \"%s\"", type);
	m->readonly = ro;
	m->mode = xstrdup("");
	if (streq(type, "bind"))
		r = api_bind(obj, src, m, err);
	else if (streq(type, "volume"))
		r = api_volume(obj, src, m, err);
	else
		r = api_tmpfs(obj, src, m, err);
	return r;
}

/* ---- --tmpfs ---- */

static const char *opposite(const char *flag)
{
	static const char *const pairs[][2] = {{"exec", "noexec"},
					       {"suid", "nosuid"},
					       {"dev", "nodev"},
					       {"atime", "noatime"},
					       {"diratime", "nodiratime"}};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (streq(flag, pairs[i][0]))
			return pairs[i][1];
		if (streq(flag, pairs[i][1]))
			return pairs[i][0];
	}
	return NULL;
}

/* Drop from v every option with the same key ("size=") as o, or o's opposite flag. */
static void drop_overridden(char **v, const char *o)
{
	const char *eq = strchr(o, '=');
	size_t klen = eq ? (size_t)(eq - o) + 1 : 0;
	const char *opp = opposite(o);
	size_t j = 0;

	for (size_t i = 0; v[i]; i++) {
		bool same = klen ? strncmp(v[i], o, klen) == 0 : streq(v[i], o);

		if (same || (opp && streq(v[i], opp)))
			free(v[i]);
		else
			v[j++] = v[i];
	}
	v[j] = NULL;
}

/* docker's defaults noexec,nosuid,nodev, overridden by the user's options; ro/rw set readonly. */
static int merge_tmpfs_options(const char *user, struct hamn_mount *m, struct hamn_error **err)
{
	_cleanup_strv_ char **opts = str_split(user ? user : "", ',');
	_cleanup_strv_ char **out = str_split("noexec,nosuid,nodev", ',');

	for (size_t i = 0; opts[i]; i++) {
		const char *o = opts[i];

		if (!o[0])
			continue;
		if (streq(o, "ro") || streq(o, "rw")) {
			m->readonly = streq(o, "ro");
			continue;
		}
		if (strchr(o, ' ') || strchr(o, '\n'))
			return hamn_error_setq(err, EINVAL, "invalid tmpfs option: %s", o);
		drop_overridden(out, o);
		strv_push(&out, o);
	}
	m->tmpfs_options = strv_join(out, ",");
	return 0;
}

int hamn_mount_parse_tmpfs(const char *dest, const char *options, struct hamn_mount *m,
			   struct hamn_error **err)
{
	memset(m, 0, sizeof(*m));
	if (hamn_mount_clean_dest(dest, &m->destination, err) < 0)
		return hamn_error_wrap(err, "invalid tmpfs mount '%s'", dest ? dest : "");
	m->type = HAMN_MOUNT_TMPFS;
	m->tmpfs_map = true;
	m->mode = xstrdup(options ? options : "");
	return merge_tmpfs_options(options, m, err);
}

/* ---- --volumes-from ---- */

int hamn_mount_parse_volumes_from(const char *spec, char **ref_out, int *mode_out,
				  struct hamn_error **err)
{
	_cleanup_strv_ char **p = str_split(spec ? spec : "", ':');
	size_t n = strv_len(p);

	if (n < 1 || n > 2 || !p[0][0])
		return hamn_error_setq(err, EINVAL, "malformed volumes-from specification: %s",
				       spec ? spec : "");
	*mode_out = -1;
	if (n == 2) {
		_cleanup_strv_ char **opts = str_split(p[1], ',');

		for (size_t i = 0; opts[i]; i++) {
			if (streq(opts[i], "ro") || streq(opts[i], "rw"))
				*mode_out = streq(opts[i], "ro");
			else if (!streq(opts[i], "z") && !streq(opts[i], "Z"))
				return hamn_error_setq(err, EINVAL,
						       "invalid mode for volumes-from: %s", p[1]);
		}
	}
	*ref_out = xstrdup(p[0]);
	return 0;
}

/*
 * spec.c - parse config.json (OCI runtime-spec 1.x) into struct hamn_oci_spec.
 *
 * Strict on what the runtime acts on (types, ranges, required fields,
 * names it must map to kernel constants), silent on fields it does not
 * know, as the spec requires. The linux section is in spec_linux.c, the
 * emitter in spec_emit.c, the name tables in tables.c. Nothing here touches
 * the filesystem except hamn_oci_spec_load(), which reads the one file.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/resource.h>

#include "oci/internal.h"

#define CONFIG_MAX_SIZE (4u << 20)
#define HOSTNAME_MAX 64
#define GROUPS_MAX 65536

/* ---- process ---- */

static int parse_console(json_t *proc, const char *path, struct hamn_oci_process *p,
			 struct hamn_error **err)
{
	_cleanup_free_ char *cpath = oci_path_key(path, "consoleSize");
	json_t *obj;
	int64_t v = 0;

	if (oci_get_object(proc, path, "consoleSize", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	if (oci_get_int(obj, cpath, "height", 0, UINT16_MAX, NULL, &v, err) < 0)
		return -1;
	p->console_height = v;
	v = 0;
	if (oci_get_int(obj, cpath, "width", 0, UINT16_MAX, NULL, &v, err) < 0)
		return -1;
	p->console_width = v;
	return 0;
}

static int parse_gids(json_t *user, const char *path, struct hamn_oci_user *u,
		      struct hamn_error **err)
{
	_cleanup_free_ char *apath = oci_path_key(path, "additionalGids");
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(user, path, "additionalGids", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	if (json_array_size(arr) > GROUPS_MAX)
		return oci_fail(err, apath, NULL, "more than %d groups", GROUPS_MAX);
	u->additional_gids = xcalloc(json_array_size(arr) + 1, sizeof(gid_t));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);
		int64_t gid;

		if (oci_int(item, ipath, NULL, 0, OCI_ID_MAX, &gid, err) < 0)
			return -1;
		u->additional_gids[i] = gid;
		u->n_additional_gids = i + 1;
	}
	return 0;
}

static int parse_user(json_t *proc, const char *path, struct hamn_oci_user *u,
		      struct hamn_error **err)
{
	_cleanup_free_ char *upath = oci_path_key(path, "user");
	json_t *obj;
	int64_t v = 0;

	if (oci_get_object(proc, path, "user", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	if (oci_get_int(obj, upath, "uid", 0, OCI_ID_MAX, NULL, &v, err) < 0)
		return -1;
	u->uid = v;
	v = 0;
	if (oci_get_int(obj, upath, "gid", 0, OCI_ID_MAX, NULL, &v, err) < 0)
		return -1;
	u->gid = v;
	if (oci_get_int(obj, upath, "umask", 0, 0777, &u->has_umask, &v, err) < 0)
		return -1;
	if (u->has_umask)
		u->umask = v;
	if (parse_gids(obj, upath, u, err) < 0)
		return -1;
	return oci_get_string(obj, upath, "username", false, &u->username, err);
}

static int parse_args_env(json_t *proc, const char *path, struct hamn_oci_process *p,
			  struct hamn_error **err)
{
	if (oci_get_strv(proc, path, "args", &p->args, err) < 0)
		return -1;
	if (!p->args || !p->args[0])
		return oci_fail(err, path, "args", "must be a non-empty array of strings");
	if (!p->args[0][0])
		return oci_fail(err, path, "args[0]", "must not be empty");
	if (oci_get_strv(proc, path, "env", &p->env, err) < 0)
		return -1;
	for (size_t i = 0; p->env && p->env[i]; i++) {
		const char *eq = strchr(p->env[i], '=');

		if (!eq || eq == p->env[i]) {
			_cleanup_free_ char *k = xasprintf("env[%zu]", i);

			return oci_fail(err, path, k, "'%s' is not of the form NAME=VALUE",
					p->env[i]);
		}
	}
	if (oci_get_string(proc, path, "cwd", true, &p->cwd, err) < 0)
		return -1;
	if (p->cwd[0] != '/')
		return oci_fail(err, path, "cwd", "'%s' is not an absolute path", p->cwd);
	if (strlen(p->cwd) >= OCI_PATH_MAX)
		return oci_fail(err, path, "cwd", "longer than %d bytes", OCI_PATH_MAX - 1);
	return 0;
}

static int parse_cap_set(json_t *caps, const char *path, const char *key, uint64_t *mask,
			 struct hamn_error **err)
{
	_cleanup_strv_ char **names = NULL;

	if (oci_get_strv(caps, path, key, &names, err) < 0)
		return -1;
	for (size_t i = 0; names && names[i]; i++) {
		int cap = hamn_oci_cap_from_name(names[i]);

		if (cap < 0) {
			_cleanup_free_ char *k = xasprintf("%s[%zu]", key, i);

			return oci_fail(err, path, k, "unknown capability '%s'", names[i]);
		}
		*mask |= 1ULL << cap;
	}
	return 0;
}

static int parse_caps(json_t *proc, const char *path, struct hamn_oci_process *p,
		      struct hamn_error **err)
{
	_cleanup_free_ char *cpath = oci_path_key(path, "capabilities");
	struct hamn_oci_caps *c = &p->caps;
	json_t *obj;

	if (oci_get_object(proc, path, "capabilities", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	p->has_caps = true;
	if (parse_cap_set(obj, cpath, "bounding", &c->bounding, err) < 0 ||
	    parse_cap_set(obj, cpath, "effective", &c->effective, err) < 0 ||
	    parse_cap_set(obj, cpath, "inheritable", &c->inheritable, err) < 0 ||
	    parse_cap_set(obj, cpath, "permitted", &c->permitted, err) < 0 ||
	    parse_cap_set(obj, cpath, "ambient", &c->ambient, err) < 0)
		return -1;
	return 0;
}

/*
 * An rlimit value: 0 to 2^64-1 (RLIM_INFINITY, as dockerd writes "unlimited"),
 * or -1, which also means RLIM_INFINITY: the engine writes Docker's -1 as is.
 */
static int parse_rlimit_value(json_t *obj, const char *path, const char *key, uint64_t *out,
			      struct hamn_error **err)
{
	json_t *v = oci_member(obj, key);

	if (!v)
		return oci_fail(err, path, key, "required");
	if (json_is_integer(v) && json_integer_value(v) == -1) {
		*out = RLIM_INFINITY;
		return 0;
	}
	return oci_uint(v, path, key, UINT64_MAX, out, err);
}

static int parse_rlimit(json_t *obj, const char *path, struct hamn_oci_process *p,
			struct hamn_error **err)
{
	struct hamn_oci_rlimit *r = &p->rlimits[p->n_rlimits];
	_cleanup_free_ char *type = NULL;

	if (oci_require_object(obj, path, err) < 0 ||
	    oci_get_string(obj, path, "type", true, &type, err) < 0)
		return -1;
	r->resource = hamn_oci_rlimit_from_name(type);
	if (r->resource < 0)
		return oci_fail(err, path, "type", "unknown rlimit '%s'", type);
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (p->rlimits[i].resource == r->resource)
			return oci_fail(err, path, "type", "duplicate rlimit '%s'", type);
	if (parse_rlimit_value(obj, path, "soft", &r->soft, err) < 0 ||
	    parse_rlimit_value(obj, path, "hard", &r->hard, err) < 0)
		return -1;
	/* only the soft limit can be RLIM_INFINITY here */
	if (r->soft > r->hard && r->soft == RLIM_INFINITY)
		return oci_fail(err, path, "soft", "unlimited exceeds the hard limit %" PRIu64,
				r->hard);
	if (r->soft > r->hard)
		return oci_fail(err, path, "soft", "%" PRIu64 " exceeds the hard limit %" PRIu64,
				r->soft, r->hard);
	p->n_rlimits++;
	return 0;
}

static int parse_rlimits(json_t *proc, const char *path, struct hamn_oci_process *p,
			 struct hamn_error **err)
{
	_cleanup_free_ char *apath = oci_path_key(path, "rlimits");
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(proc, path, "rlimits", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	p->rlimits = xcalloc(json_array_size(arr) + 1, sizeof(*p->rlimits));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);

		if (parse_rlimit(item, ipath, p, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_process_misc(json_t *proc, const char *path, struct hamn_oci_process *p,
			      struct hamn_error **err)
{
	int64_t v = 0;

	if (oci_get_bool(proc, path, "terminal", &p->terminal, err) < 0 ||
	    oci_get_bool(proc, path, "noNewPrivileges", &p->no_new_privileges, err) < 0)
		return -1;
	if (oci_get_int(proc, path, "oomScoreAdj", -1000, 1000, &p->has_oom_score_adj, &v, err) < 0)
		return -1;
	p->oom_score_adj = v;
	if (oci_get_string(proc, path, "apparmorProfile", false, &p->apparmor_profile, err) < 0)
		return -1;
	return oci_get_string(proc, path, "selinuxLabel", false, &p->selinux_label, err);
}

static struct hamn_oci_process *process_parse_at(json_t *obj, const char *path,
						 struct hamn_error **err)
{
	struct hamn_oci_process *p = NULL;

	if (oci_require_object(obj, path, err) < 0)
		return NULL;
	p = xzalloc(sizeof(*p));
	if (parse_args_env(obj, path, p, err) < 0 || parse_user(obj, path, &p->user, err) < 0 ||
	    parse_console(obj, path, p, err) < 0 || parse_caps(obj, path, p, err) < 0 ||
	    parse_rlimits(obj, path, p, err) < 0 || parse_process_misc(obj, path, p, err) < 0) {
		hamn_oci_process_free(p);
		return NULL;
	}
	return p;
}

struct hamn_oci_process *hamn_oci_process_parse(json_t *obj, struct hamn_error **err)
{
	return process_parse_at(obj, "process", err);
}

void hamn_oci_process_free(struct hamn_oci_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	hamn_strv_free(p->args);
	hamn_strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p);
}

/* ---- root, mounts, hooks, annotations ---- */

static int parse_root(json_t *doc, struct hamn_oci_spec *s, struct hamn_error **err)
{
	json_t *obj;

	if (oci_get_object(doc, NULL, "root", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	if (oci_get_string(obj, "root", "path", true, &s->root_path, err) < 0 ||
	    oci_get_bool(obj, "root", "readonly", &s->root_readonly, err) < 0)
		return -1;
	if (!s->root_path[0])
		return oci_fail(err, "root", "path", "must not be empty");
	/* a bundle-relative root must stay inside the bundle */
	if (s->root_path[0] != '/' && oci_path_has_dotdot(s->root_path))
		return oci_fail(err, "root", "path", "'%s' must not contain '..'", s->root_path);
	return 0;
}

static int parse_mount(json_t *obj, const char *path, struct hamn_oci_mount *m,
		       struct hamn_error **err)
{
	if (oci_require_object(obj, path, err) < 0 ||
	    oci_get_string(obj, path, "destination", true, &m->destination, err) < 0 ||
	    oci_check_abs_path(m->destination, path, "destination", err) < 0 ||
	    oci_get_string(obj, path, "type", false, &m->type, err) < 0 ||
	    oci_get_string(obj, path, "source", false, &m->source, err) < 0 ||
	    oci_get_strv(obj, path, "options", &m->options, err) < 0)
		return -1;
	hamn_oci_mount_flags(m);
	return 0;
}

static int parse_mounts(json_t *doc, struct hamn_oci_spec *s, struct hamn_error **err)
{
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(doc, NULL, "mounts", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	s->mounts = xcalloc(json_array_size(arr) + 1, sizeof(*s->mounts));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index("mounts", i);

		s->n_mounts = i + 1;
		if (parse_mount(item, ipath, &s->mounts[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_hook(json_t *obj, const char *path, struct hamn_oci_hook *h,
		      struct hamn_error **err)
{
	bool has_timeout = false;
	int64_t timeout = 0;

	if (oci_require_object(obj, path, err) < 0 ||
	    oci_get_string(obj, path, "path", true, &h->path, err) < 0)
		return -1;
	if (h->path[0] != '/')
		return oci_fail(err, path, "path", "'%s' is not an absolute path", h->path);
	if (oci_get_strv(obj, path, "args", &h->args, err) < 0 ||
	    oci_get_strv(obj, path, "env", &h->env, err) < 0 ||
	    oci_get_int(obj, path, "timeout", 1, INT_MAX, &has_timeout, &timeout, err) < 0)
		return -1;
	h->timeout = has_timeout ? timeout : 0;
	return 0;
}

static int parse_hooks(json_t *doc, struct hamn_oci_spec *s, struct hamn_error **err)
{
	json_t *obj, *arr, *item;
	size_t i;

	if (oci_get_object(doc, NULL, "hooks", &obj, err) < 0)
		return -1;
	for (int k = 0; obj && k < HAMN_OCI_HOOK_N_KINDS; k++) {
		const char *name = oci_hook_kind_names[k];
		_cleanup_free_ char *apath = oci_path_key("hooks", name);

		if (oci_get_array(obj, "hooks", name, &arr, err) < 0)
			return -1;
		if (!arr)
			continue;
		s->hooks[k] = xcalloc(json_array_size(arr) + 1, sizeof(*s->hooks[k]));
		json_array_foreach(arr, i, item) {
			_cleanup_free_ char *ipath = oci_path_index(apath, i);

			s->n_hooks[k] = i + 1;
			if (parse_hook(item, ipath, &s->hooks[k][i], err) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_annotations(json_t *doc, struct hamn_oci_spec *s, struct hamn_error **err)
{
	const char *key;
	json_t *obj, *v;

	if (oci_get_object(doc, NULL, "annotations", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	json_object_foreach(obj, key, v) {
		if (!json_is_string(v) || hamn_json_big_text(v))
			return oci_fail(err, "annotations", key, "must be a string");
	}
	/* a copy: the caller may change or free its document */
	s->annotations = json_deep_copy(obj);
	return 0;
}

/* ---- the whole document ---- */

static int parse_names(json_t *doc, struct hamn_oci_spec *s, struct hamn_error **err)
{
	if (oci_get_string(doc, NULL, "ociVersion", true, &s->oci_version, err) < 0)
		return -1;
	if (!s->oci_version[0])
		return oci_fail(err, NULL, "ociVersion", "must not be empty");
	if (oci_get_string(doc, NULL, "hostname", false, &s->hostname, err) < 0 ||
	    oci_get_string(doc, NULL, "domainname", false, &s->domainname, err) < 0)
		return -1;
	if (s->hostname && strlen(s->hostname) > HOSTNAME_MAX)
		return oci_fail(err, NULL, "hostname", "longer than %d bytes", HOSTNAME_MAX);
	if (s->domainname && strlen(s->domainname) > HOSTNAME_MAX)
		return oci_fail(err, NULL, "domainname", "longer than %d bytes", HOSTNAME_MAX);
	return 0;
}

static int parse_process_member(json_t *doc, struct hamn_oci_spec *s, struct hamn_error **err)
{
	json_t *obj;

	if (oci_get_object(doc, NULL, "process", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	s->process = process_parse_at(obj, "process", err);
	return s->process ? 0 : -1;
}

static int parse_linux_member(json_t *doc, struct hamn_oci_spec *s, struct hamn_error **err)
{
	bool has_host, has_domain;
	json_t *obj;

	if (oci_get_object(doc, NULL, "linux", &obj, err) < 0)
		return -1;
	if (obj && oci_linux_parse(obj, "linux", &s->linux, err) < 0)
		return -1;
	/* setting a hostname without a uts namespace of its own would rename the host */
	has_host = s->hostname && s->hostname[0];
	has_domain = s->domainname && s->domainname[0];

	if ((has_host || has_domain) && !hamn_oci_spec_ns(s, HAMN_OCI_NS_UTS))
		return oci_fail(err, NULL, has_host ? "hostname" : "domainname",
				"requires a uts namespace in linux.namespaces");
	return 0;
}

struct hamn_oci_spec *hamn_oci_spec_parse(json_t *doc, struct hamn_error **err)
{
	_cleanup_oci_spec_ struct hamn_oci_spec *s = xzalloc(sizeof(*s));

	if (oci_require_object(doc, "document", err) < 0 || parse_names(doc, s, err) < 0 ||
	    parse_root(doc, s, err) < 0 || parse_process_member(doc, s, err) < 0 ||
	    parse_mounts(doc, s, err) < 0 || parse_hooks(doc, s, err) < 0 ||
	    parse_annotations(doc, s, err) < 0 || parse_linux_member(doc, s, err) < 0) {
		hamn_error_wrap(err, "config.json");
		return NULL;
	}
	return steal_pointer(&s);
}

struct hamn_oci_spec *hamn_oci_spec_load(const char *bundle, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	_cleanup_json_ json_t *doc = NULL;

	/* big: dockerd writes uint64 values jansson cannot hold (rlimits of 2^64-1) */
	doc = hamn_json_load_file_big(AT_FDCWD, path, CONFIG_MAX_SIZE, err);
	if (!doc)
		return NULL;
	return hamn_oci_spec_parse(doc, err);
}

static void hook_release(struct hamn_oci_hook *h)
{
	free(h->path);
	hamn_strv_free(h->args);
	hamn_strv_free(h->env);
}

void hamn_oci_spec_free(struct hamn_oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	hamn_oci_process_free(s->process);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		hamn_strv_free(s->mounts[i].options);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	for (int k = 0; k < HAMN_OCI_HOOK_N_KINDS; k++) {
		for (size_t i = 0; i < s->n_hooks[k]; i++)
			hook_release(&s->hooks[k][i]);
		free(s->hooks[k]);
	}
	oci_linux_release(&s->linux);
	if (s->annotations)
		json_decref(s->annotations);
	free(s);
}

const struct hamn_oci_namespace *hamn_oci_spec_ns(const struct hamn_oci_spec *spec,
						  enum hamn_oci_ns_type t)
{
	for (size_t i = 0; spec && i < spec->linux.n_namespaces; i++)
		if (spec->linux.namespaces[i].type == t)
			return &spec->linux.namespaces[i];
	return NULL;
}

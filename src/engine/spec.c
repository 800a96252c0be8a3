/*
 * spec.c - the OCI runtime config of a container, built from its merged
 * Config and HostConfig on top of hamn's secure default spec (src/oci:
 * Docker's mounts, masked and read-only paths, device rules, namespaces).
 *
 * Secure by default: the 14 default capabilities, the default seccomp
 * profile (computed for the container's final capability set), a pids
 * limit (HAMN_ENGINE_DEFAULT_PIDS_LIMIT unless configured), no-new-privileges
 * unless the daemon or the container opts out, empty inheritable and
 * ambient sets. --privileged gives all capabilities, no seccomp, no masks,
 * a writable /sys and every host device.
 *
 * process.user is a placeholder: the monitor resolves the user's name in
 * the mounted rootfs (monitor.c) and fills uid, gid, groups and HOME.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "engine/internal.h"

json_t *spec_base(void)
{
	json_t *spec = hamn_oci_default_spec_json();
	json_t *lin = json_object_get(spec, "linux");

	json_object_del(spec, "process");
	json_object_del(lin, "seccomp");
	return spec;
}

uint64_t spec_all_caps(void)
{
	static uint64_t cached;
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	uint64_t known = (hamn_oci_cap_last() >= 63) ? ~0ULL
						   : (1ULL << (hamn_oci_cap_last() + 1)) - 1;
	const char *bnd;
	size_t len;

	if (cached)
		return cached;
	/*
	 * "All" is what this process may hand out: a daemon that itself runs with
	 * a reduced bounding set cannot give more (capset would fail).
	 */
	if (hamn_read_file(AT_FDCWD, "/proc/self/status", 65536, &text, &len, &err) == 0 &&
	    (bnd = strstr(text, "\nCapBnd:")))
		known &= strtoull(bnd + 9, NULL, 16);
	cached = known;
	return cached;
}

uint64_t spec_caps(const struct ctr_config *c)
{
	uint64_t all = spec_all_caps();
	uint64_t caps = HAMN_OCI_DEFAULT_CAPS;

	if (c->privileged)
		return all;
	if (c->cap_drop_all)
		caps = 0;
	else
		caps &= ~c->cap_drop;
	caps |= c->cap_add_all ? all : c->cap_add;
	return caps;
}

static json_t *caps_json(uint64_t mask)
{
	json_t *arr = json_array();

	for (int cap = 0; cap <= hamn_oci_cap_last(); cap++)
		if (mask & (1ULL << cap))
			json_array_append_new(arr, json_string(hamn_oci_cap_name(cap)));
	return arr;
}

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* docker's order: PATH, HOSTNAME, TERM (tty), then the config's env replacing or appending. */
static json_t *env_json(const struct ctr_config *c)
{
	char **env = NULL;
	json_t *arr;

	strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	strv_push_take(&env, xasprintf("HOSTNAME=%s", c->hostname));
	if (c->tty)
		strv_push(&env, "TERM=xterm");
	for (size_t i = 0; c->env[i]; i++) {
		size_t k = key_len(c->env[i]), j;

		for (j = 0; env[j]; j++)
			if (key_len(env[j]) == k && strncmp(env[j], c->env[i], k) == 0)
				break;
		if (env[j]) {
			free(env[j]);
			env[j] = xstrdup(c->env[i]);
		} else {
			strv_push(&env, c->env[i]);
		}
	}
	arr = hamn_json_from_strv(env);
	hamn_strv_free(env);
	return arr;
}

static json_t *args_json(const struct ctr_config *c)
{
	json_t *arr = json_array();

	for (size_t i = 0; c->entrypoint && c->entrypoint[i]; i++)
		json_array_append_new(arr, json_string(c->entrypoint[i]));
	for (size_t i = 0; c->cmd && c->cmd[i]; i++)
		json_array_append_new(arr, json_string(c->cmd[i]));
	return arr;
}

static json_t *rlimits_json(const struct ctr_config *c)
{
	static const char *const names[] = {
		[RLIMIT_CPU] = "RLIMIT_CPU",	   [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
		[RLIMIT_DATA] = "RLIMIT_DATA",	   [RLIMIT_STACK] = "RLIMIT_STACK",
		[RLIMIT_CORE] = "RLIMIT_CORE",	   [RLIMIT_RSS] = "RLIMIT_RSS",
		[RLIMIT_NPROC] = "RLIMIT_NPROC",   [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
		[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK", [RLIMIT_AS] = "RLIMIT_AS",
		[RLIMIT_LOCKS] = "RLIMIT_LOCKS",   [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
		[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
		[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO", [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
	};
	json_t *arr = json_array();

	for (size_t i = 0; i < c->n_ulimits; i++) {
		const struct ctr_ulimit *u = &c->ulimits[i];

		json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "type", names[u->resource],
						     "hard", (json_int_t)u->hard, "soft",
						     (json_int_t)u->soft));
	}
	return arr;
}

static bool want_nnp(const struct spec_env *env, const struct ctr_config *c)
{
	if (c->no_new_privs >= 0)
		return c->no_new_privs == 1;
	/* --privileged asks for every power: setuid binaries keep working */
	if (c->privileged)
		return false;
	return !env->allow_new_privileges;
}

static json_t *process_json(const struct spec_env *env, const struct ctr_config *c)
{
	uint64_t caps = spec_caps(c);
	json_t *p = json_pack("{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:{s:o, s:o, s:o, s:[], s:[]},"
			      " s:b, s:I}",
			      "terminal", c->tty, "user", "uid", 0, "gid", 0, "args", args_json(c),
			      "env", env_json(c), "cwd", c->working_dir[0] ? c->working_dir : "/",
			      "capabilities", "bounding", caps_json(caps), "effective",
			      caps_json(caps), "permitted", caps_json(caps), "inheritable",
			      "ambient", "noNewPrivileges", want_nnp(env, c), "oomScoreAdj",
			      (json_int_t)c->oom_score_adj);

	if (!p)
		hamn_bug("cannot build process");
	if (c->n_ulimits)
		json_object_set_new(p, "rlimits", rlimits_json(c));
	if (c->tty && c->console_h && c->console_w)
		json_object_set_new(p, "consoleSize", json_pack("{s:i, s:i}", "height",
								c->console_h, "width",
								c->console_w));
	return p;
}

/* ---- mounts ---- */

static json_t *find_mount(json_t *mounts, const char *dest, size_t *idx)
{
	size_t i;
	json_t *m;

	json_array_foreach(mounts, i, m) {
		if (streq(json_string_value(json_object_get(m, "destination")), dest)) {
			if (idx)
				*idx = i;
			return m;
		}
	}
	return NULL;
}

static void set_mount_opt(json_t *m, const char *prefix, const char *value)
{
	json_t *opts = json_object_get(m, "options"), *o;
	size_t i;

	json_array_foreach(opts, i, o) {
		if (str_has_prefix(json_string_value(o), prefix)) {
			json_array_set_new(opts, i, json_string(value));
			return;
		}
	}
	json_array_append_new(opts, json_string(value));
}

static void adjust_default_mounts(json_t *mounts, const struct ctr_config *c)
{
	json_t *m;
	size_t idx;

	m = find_mount(mounts, "/dev/shm", &idx);
	if (m && c->ipc_mode == NS_HOST) {
		json_array_set_new(mounts, idx,
				   json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination",
					     "/dev/shm", "type", "bind", "source", "/dev/shm",
					     "options", "rbind", "nosuid", "noexec", "nodev"));
	} else if (m) {
		int64_t size = c->shm_size > 0 ? c->shm_size : HAMN_ENGINE_DEFAULT_SHM_SIZE;
		_cleanup_free_ char *opt = xasprintf("size=%lldk", (long long)((size + 1023) / 1024));

		set_mount_opt(m, "size=", opt);
	}
	if (c->privileged) {
		if ((m = find_mount(mounts, "/sys", NULL)))
			set_mount_opt(m, "ro", "rw");
		if ((m = find_mount(mounts, "/sys/fs/cgroup", NULL)))
			set_mount_opt(m, "ro", "rw");
	}
}

static json_t *bind_json(const char *dest, const char *src, bool ro, const char *prop)
{
	return json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", dest, "type", "bind",
			 "source", src, "options", "rbind", ro ? "ro" : "rw",
			 prop ? prop : "rprivate");
}

static json_t *user_mount_json(const struct ctr_mount *m)
{
	json_t *j, *opts;

	if (m->type != CM_TMPFS)
		return bind_json(m->destination, m->source, m->readonly, m->propagation);
	opts = json_array();
	{
		_cleanup_strv_ char **parts = str_split(m->options ? m->options : "", ',');

		for (size_t i = 0; parts[i]; i++)
			if (parts[i][0] && !streq(parts[i], "ro") && !streq(parts[i], "rw"))
				json_array_append_new(opts, json_string(parts[i]));
	}
	json_array_append_new(opts, json_string(m->readonly ? "ro" : "rw"));
	j = json_pack("{s:s, s:s, s:s, s:o}", "destination", m->destination, "type", "tmpfs",
		      "source", "tmpfs", "options", opts);
	return j;
}

static size_t path_depth(const char *p)
{
	size_t n = 0;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

static bool user_mounted(const struct ctr_config *c, const char *dest)
{
	for (size_t i = 0; i < c->n_mounts; i++)
		if (streq(c->mounts[i].destination, dest))
			return true;
	return false;
}

static void add_mounts(json_t *mounts, const struct spec_env *env, const struct ctr_config *c)
{
	static const char *const files[][2] = { { "/etc/resolv.conf", "resolv.conf" },
						{ "/etc/hostname", "hostname" },
						{ "/etc/hosts", "hosts" } };
	size_t max_depth = 0;

	adjust_default_mounts(mounts, c);
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *src = xasprintf("%s/%s", env->ctr_dir, files[i][1]);

		if (!user_mounted(c, files[i][0]))
			json_array_append_new(mounts, bind_json(files[i][0], src, false, NULL));
	}
	/* parents before children: by the number of path components, as docker sorts them */
	for (size_t i = 0; i < c->n_mounts; i++)
		if (path_depth(c->mounts[i].destination) > max_depth)
			max_depth = path_depth(c->mounts[i].destination);
	for (size_t d = 0; d <= max_depth; d++)
		for (size_t i = 0; i < c->n_mounts; i++)
			if (path_depth(c->mounts[i].destination) == d)
				json_array_append_new(mounts, user_mount_json(&c->mounts[i]));
}

/* ---- linux ---- */

static void drop_namespace(json_t *lin, const char *type)
{
	json_t *ns = json_object_get(lin, "namespaces"), *n;
	size_t i;

	json_array_foreach(ns, i, n) {
		if (streq(json_string_value(json_object_get(n, "type")), type)) {
			json_array_remove(ns, i);
			return;
		}
	}
}

static void memory_json(json_t *res, const struct ctr_config *c)
{
	json_t *mem = json_object();

	if (c->memory > 0) {
		json_object_set_new(mem, "limit", json_integer(c->memory));
		/* docker: swap defaults to twice the memory when only memory is set */
		json_object_set_new(mem, "swap", json_integer(c->memory_swap ? c->memory_swap
									       : 2 * c->memory));
	} else if (c->memory_swap) {
		json_object_set_new(mem, "swap", json_integer(c->memory_swap));
	}
	if (c->memory_reservation > 0)
		json_object_set_new(mem, "reservation", json_integer(c->memory_reservation));
	if (c->memory_swappiness >= 0)
		json_object_set_new(mem, "swappiness", json_integer(c->memory_swappiness));
	if (c->oom_kill_disable)
		json_object_set_new(mem, "disableOOMKiller", json_true());
	if (json_object_size(mem))
		json_object_set_new(res, "memory", mem);
	else
		json_decref(mem);
}

static void cpu_json(json_t *res, const struct ctr_config *c)
{
	json_t *cpu = json_object();

	if (c->cpu_shares > 0)
		json_object_set_new(cpu, "shares", json_integer(c->cpu_shares));
	if (c->nano_cpus > 0) {
		json_object_set_new(cpu, "period", json_integer(100000));
		json_object_set_new(cpu, "quota", json_integer(c->nano_cpus / 10000));
	} else {
		if (c->cpu_period > 0)
			json_object_set_new(cpu, "period", json_integer(c->cpu_period));
		if (c->cpu_quota > 0)
			json_object_set_new(cpu, "quota", json_integer(c->cpu_quota));
	}
	if (c->cpuset_cpus)
		json_object_set_new(cpu, "cpus", json_string(c->cpuset_cpus));
	if (c->cpuset_mems)
		json_object_set_new(cpu, "mems", json_string(c->cpuset_mems));
	if (json_object_size(cpu))
		json_object_set_new(res, "cpu", cpu);
	else
		json_decref(cpu);
}

static void resources_json(json_t *lin, const struct spec_env *env, const struct ctr_config *c)
{
	json_t *res = json_object_get(lin, "resources");
	int64_t pids = c->has_pids_limit ? c->pids_limit : env->default_pids_limit;

	if (!json_is_object(res)) {
		res = json_object();
		json_object_set_new(lin, "resources", res);
	}
	memory_json(res, c);
	cpu_json(res, c);
	if (pids > 0)
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)pids));
	if (c->blkio_weight > 0)
		json_object_set_new(res, "blockIO", json_pack("{s:I}", "weight",
							      (json_int_t)c->blkio_weight));
	if (c->privileged)
		json_object_set_new(res, "devices",
				    json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
}

/* Every char and block device of the host's /dev (and one level below), for --privileged. */
static void host_devices(json_t *arr, const char *dir, int depth)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;

		if (de->d_name[0] == '.' || streq(de->d_name, "pts") || streq(de->d_name, "shm") ||
		    streq(de->d_name, "mqueue") || streq(de->d_name, "console") ||
		    streq(de->d_name, "ptmx") || lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth == 0) {
			host_devices(arr, p, 1);
			continue;
		}
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:i}", "type",
						     S_ISCHR(st.st_mode) ? "c" : "b", "path", p,
						     "major", (json_int_t)major(st.st_rdev), "minor",
						     (json_int_t)minor(st.st_rdev), "fileMode",
						     (int)(st.st_mode & 0777), "uid", (int)st.st_uid,
						     "gid", (int)st.st_gid));
	}
}

static void namespaces_json(json_t *lin, const struct ctr_config *c)
{
	if (c->net_host)
		drop_namespace(lin, "network");
	if (c->pid_mode == NS_HOST)
		drop_namespace(lin, "pid");
	if (c->ipc_mode == NS_HOST)
		drop_namespace(lin, "ipc");
	if (c->uts_mode == NS_HOST)
		drop_namespace(lin, "uts");
}

static int linux_json(json_t *spec, const struct spec_env *env, const struct container *ctr,
		      struct hamn_error **err)
{
	const struct ctr_config *c = &ctr->cfg;
	json_t *lin = json_object_get(spec, "linux");

	namespaces_json(lin, c);
	resources_json(lin, env, c);
	if (json_object_size(c->sysctls))
		json_object_set(lin, "sysctl", c->sysctls);
	if (env->cgroup_parent && env->cgroup_parent[0])
		json_object_set_new(lin, "cgroupsPath",
				    json_sprintf("%s/%s", env->cgroup_parent, ctr->id));
	if (c->privileged || c->unmask_paths) {
		json_object_set_new(lin, "maskedPaths", json_array());
		json_object_set_new(lin, "readonlyPaths", json_array());
	}
	if (c->privileged) {
		json_t *devs = json_array();

		host_devices(devs, "/dev", 0);
		json_object_set_new(lin, "devices", devs);
		return 0;
	}
	if (c->seccomp == SECCOMP_PROFILE) {
		json_t *sc = hamn_oci_seccomp_from_docker_profile(c->seccomp_profile, spec_caps(c),
								  err);

		if (!sc)
			return -1;
		json_object_set_new(lin, "seccomp", sc);
	} else if (c->seccomp == SECCOMP_DEFAULT && env->seccomp) {
		json_object_set(lin, "seccomp", env->seccomp);
	}
	return 0;
}

json_t *spec_build_with(const struct spec_env *env, const struct container *ctr,
			const char *rootfs, struct hamn_error **err)
{
	const struct ctr_config *c = &ctr->cfg;
	_cleanup_json_ json_t *spec = json_deep_copy(env->base);

	json_object_set_new(spec, "process", process_json(env, c));
	json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", rootfs, "readonly",
						    c->readonly_rootfs));
	if (c->uts_mode == NS_HOST) {
		json_object_del(spec, "hostname");
	} else {
		json_object_set_new(spec, "hostname", json_string(c->hostname));
		if (c->domainname[0])
			json_object_set_new(spec, "domainname", json_string(c->domainname));
	}
	add_mounts(json_object_get(spec, "mounts"), env, c);
	if (linux_json(spec, env, ctr, err) < 0)
		return NULL;
	return steal_pointer(&spec);
}

static void seccomp_key_of(json_t *sc, char key[SECCOMP_KEY_LEN + 1])
{
	_cleanup_free_ char *text = hamn_json_dump(sc);
	struct hamn_digest d;

	hamn_sha256_buf(text, strlen(text), &d);
	memcpy(key, hamn_digest_hex(&d), SECCOMP_KEY_LEN + 1);
}

void spec_seccomp_key(struct hamn_engine *e, json_t *sc, char key[SECCOMP_KEY_LEN + 1])
{
	pthread_mutex_lock(&e->seccomp_lock);
	if (sc == e->seccomp_cached) {
		memcpy(key, e->seccomp_cached_key, SECCOMP_KEY_LEN + 1);
		pthread_mutex_unlock(&e->seccomp_lock);
		return;
	}
	pthread_mutex_unlock(&e->seccomp_lock);
	seccomp_key_of(sc, key);
}

/* The default profile's linux.seccomp for caps, computed once per capability set. */
static json_t *default_seccomp(struct hamn_engine *e, uint64_t caps, struct hamn_error **err)
{
	json_t *sc;

	pthread_mutex_lock(&e->seccomp_lock);
	if (!e->seccomp_cached || e->seccomp_cached_caps != caps) {
		sc = hamn_oci_seccomp_from_docker_profile(e->seccomp_profile, caps, err);
		if (!sc) {
			pthread_mutex_unlock(&e->seccomp_lock);
			return NULL;
		}
		if (e->seccomp_cached)
			json_decref(e->seccomp_cached);
		e->seccomp_cached = sc;
		e->seccomp_cached_caps = caps;
		seccomp_key_of(sc, e->seccomp_cached_key);
	}
	sc = json_incref(e->seccomp_cached);
	pthread_mutex_unlock(&e->seccomp_lock);
	return sc;
}

json_t *spec_build(struct hamn_engine *e, const struct container *c, const char *rootfs,
		   struct hamn_error **err)
{
	_cleanup_free_ char *dir = ctr_dir_path(e, c->id);
	_cleanup_json_ json_t *sc = NULL, *spec = NULL;
	struct spec_env env = {
		.base = e->base_spec,
		.default_pids_limit = e->default_pids_limit,
		.allow_new_privileges = e->allow_new_privileges,
		.ctr_dir = dir,
		.cgroup_parent = e->cgroup_parent,
	};

	if (c->cfg.seccomp == SECCOMP_DEFAULT && !c->cfg.privileged) {
		sc = default_seccomp(e, spec_caps(&c->cfg), err);
		if (!sc)
			return NULL;
	}
	env.seccomp = sc;
	spec = spec_build_with(&env, c, rootfs, err);
	if (spec && c->cfg.init && ctr_init_apply(e, spec, err) < 0)
		return NULL;	/* --init: init.c */
	return steal_pointer(&spec);
}

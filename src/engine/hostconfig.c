/*
 * hostconfig.c - the HostConfig part of a create request: resources,
 * security options, restart policy, logging, namespaces. Every check gives
 * dockerd's 400 message where dockerd has one. Fields hamn does not
 * implement yet are refused when set to a non-default value, never
 * silently ignored (except Links and port publishing, which only warn).
 */
#include <ctype.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "engine/internal.h"

#define HC "HostConfig"

static int parse_network(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	const char *m = NULL;

	if (jf_string(hc, HC, "NetworkMode", &m, err) < 0)
		return -1;
	if (!m || !m[0])
		m = "default";
	/* that a named network or container exists is the engine's check (network_api.c) */
	if (streq(m, "container:"))
		return hamn_error_setq(err, EINVAL, "invalid container format container:<name|id>");
	c->network_mode = xstrdup(m);
	c->net_host = streq(m, "host");
	return 0;
}

static int ns_mode(json_t *hc, const char *key, const char *const *private_names,
		   enum ctr_ns_mode *out, struct hamn_error **err)
{
	const char *m = NULL;

	if (jf_string(hc, HC, key, &m, err) < 0)
		return -1;
	*out = NS_PRIVATE;
	if (!m || !m[0])
		return 0;
	if (streq(m, "host")) {
		*out = NS_HOST;
		return 0;
	}
	for (size_t i = 0; private_names[i]; i++)
		if (streq(m, private_names[i]))
			return 0;
	return hamn_error_setq(err, EINVAL, "%s '%s' is not supported", key, m);
}

static int parse_namespaces(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	static const char *const ipc_names[] = { "private", "shareable", NULL };
	static const char *const none[] = { NULL };
	static const char *const cgns[] = { "private", NULL };
	enum ctr_ns_mode dummy;
	const char *userns = NULL;

	if (ns_mode(hc, "PidMode", none, &c->pid_mode, err) < 0 ||
	    ns_mode(hc, "IpcMode", ipc_names, &c->ipc_mode, err) < 0 ||
	    ns_mode(hc, "UTSMode", none, &c->uts_mode, err) < 0 ||
	    ns_mode(hc, "CgroupnsMode", cgns, &dummy, err) < 0 ||
	    jf_string(hc, HC, "UsernsMode", &userns, err) < 0)
		return -1;
	if (userns && userns[0] && !streq(userns, "host"))
		return hamn_error_setq(err, EINVAL, "UsernsMode '%s' is not supported yet", userns);
	if (c->uts_mode == NS_HOST && c->hostname[0])
		return hamn_error_setq(err, EINVAL,
				       "conflicting options: hostname and the UTS mode");
	return 0;
}

static int parse_restart(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	json_t *rp = NULL;
	const char *name = NULL;
	int p;

	if (jf_object(hc, HC, "RestartPolicy", &rp, err) < 0 ||
	    jf_string(rp, "RestartPolicy", "Name", &name, err) < 0 ||
	    jf_int(rp, "RestartPolicy", "MaximumRetryCount", &c->restart_max, err) < 0)
		return -1;
	p = restart_policy_parse(name ? name : "");
	if (p < 0)
		return hamn_error_setq(err, EINVAL, "invalid restart policy '%s'", name);
	c->restart = p;
	if (c->restart_max < 0)
		return hamn_error_setq(err, EINVAL, "maximum retry count cannot be negative");
	if (c->restart_max > 0 && p != RESTART_ON_FAILURE)
		return hamn_error_setq(err, EINVAL,
				       "maximum retry count cannot be used with restart policy '%s'",
				       name);
	if (jf_bool(hc, HC, "AutoRemove", &c->auto_remove, err) < 0)
		return -1;
	if (c->auto_remove && p != RESTART_NO)
		return hamn_error_setq(err, EINVAL,
				       "can't create 'AutoRemove' container with restart policy");
	return 0;
}

static int parse_memory(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	bool oom_off = false;

	if (jf_int(hc, HC, "Memory", &c->memory, err) < 0 ||
	    jf_int(hc, HC, "MemorySwap", &c->memory_swap, err) < 0 ||
	    jf_int(hc, HC, "MemoryReservation", &c->memory_reservation, err) < 0 ||
	    jf_int(hc, HC, "MemorySwappiness", &c->memory_swappiness, err) < 0 ||
	    jf_bool(hc, HC, "OomKillDisable", &oom_off, err) < 0)
		return -1;
	c->oom_kill_disable = oom_off;
	if (c->memory < 0)
		c->memory = 0;
	if (c->memory > 0 && c->memory < 6 * 1024 * 1024)
		return hamn_error_setq(err, EINVAL, "Minimum memory limit allowed is 6MB");
	if (c->memory_swap > 0 && c->memory == 0)
		return hamn_error_setq(err, EINVAL,
				       "You should always set the Memory limit when using Memoryswap "
				       "limit, see usage");
	if (c->memory_swap > 0 && c->memory_swap < c->memory)
		return hamn_error_setq(err, EINVAL,
				       "Minimum memoryswap limit should be larger than memory limit, "
				       "see usage");
	if (c->memory_reservation > 0 && c->memory > 0 && c->memory < c->memory_reservation)
		return hamn_error_setq(err, EINVAL,
				       "Minimum memory limit can not be less than memory reservation "
				       "limit, see usage");
	if (c->memory_swappiness != -1 && (c->memory_swappiness < 0 || c->memory_swappiness > 100))
		return hamn_error_setq(err, EINVAL,
				       "Invalid value: %lld, valid memory swappiness range is 0-100",
				       (long long)c->memory_swappiness);
	return 0;
}

/* "0-2,4" style lists only. */
static bool cpuset_valid(const char *s)
{
	bool digit = false;

	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if ((*p == '-' || *p == ',') && digit)
			digit = false;
		else
			return false;
	}
	return digit;
}

static int parse_cpu_sets(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	const char *cpus = NULL, *mems = NULL;

	if (jf_string(hc, HC, "CpusetCpus", &cpus, err) < 0 ||
	    jf_string(hc, HC, "CpusetMems", &mems, err) < 0)
		return -1;
	if (cpus && cpus[0]) {
		if (!cpuset_valid(cpus))
			return hamn_error_setq(err, EINVAL, "Invalid value %s for cpuset cpus", cpus);
		c->cpuset_cpus = xstrdup(cpus);
	}
	if (mems && mems[0]) {
		if (!cpuset_valid(mems))
			return hamn_error_setq(err, EINVAL, "Invalid value %s for cpuset mems", mems);
		c->cpuset_mems = xstrdup(mems);
	}
	return 0;
}

static int parse_cpu(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (jf_int(hc, HC, "NanoCpus", &c->nano_cpus, err) < 0 ||
	    jf_int(hc, HC, "CpuShares", &c->cpu_shares, err) < 0 ||
	    jf_int(hc, HC, "CpuQuota", &c->cpu_quota, err) < 0 ||
	    jf_int(hc, HC, "CpuPeriod", &c->cpu_period, err) < 0 ||
	    jf_int(hc, HC, "BlkioWeight", &c->blkio_weight, err) < 0)
		return -1;
	if (c->nano_cpus > 0 && c->cpu_period > 0)
		return hamn_error_setq(err, EINVAL,
				       "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (c->nano_cpus > 0 && c->cpu_quota > 0)
		return hamn_error_setq(err, EINVAL,
				       "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	if (c->nano_cpus < 0 || (c->nano_cpus > 0 && (c->nano_cpus < 10000000 ||
						       c->nano_cpus > ncpu * 1000000000LL)))
		return hamn_error_setq(err, EINVAL,
				       "Range of CPUs is from 0.01 to %ld.00, as there are only %ld "
				       "CPUs available",
				       ncpu, ncpu);
	if (c->cpu_period && (c->cpu_period < 1000 || c->cpu_period > 1000000))
		return hamn_error_setq(err, EINVAL,
				       "CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
				       "than 1 second (i.e. 1000000)");
	if (c->cpu_quota > 0 && c->cpu_quota < 1000)
		return hamn_error_setq(err, EINVAL,
				       "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (c->cpu_shares < 0)
		return hamn_error_setq(err, EINVAL, "invalid CPU shares: %lld",
				       (long long)c->cpu_shares);
	if (c->blkio_weight && (c->blkio_weight < 10 || c->blkio_weight > 1000))
		return hamn_error_setq(err, EINVAL,
				       "Range of blkio weight is from 10 to 1000");
	return parse_cpu_sets(hc, c, err);
}

static int parse_pids(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	if (!jf_present(hc, "PidsLimit"))
		return 0;
	if (jf_int(hc, HC, "PidsLimit", &c->pids_limit, err) < 0)
		return -1;
	/* 0 is what the CLI sends when --pids-limit was not given: the daemon default */
	c->has_pids_limit = c->pids_limit != 0;
	if (c->pids_limit < -1)
		c->pids_limit = -1;
	return 0;
}

static int cap_mask(char *const *names, uint64_t *mask, bool *all, struct hamn_error **err)
{
	for (size_t i = 0; names && names[i]; i++) {
		int cap;

		if (strcasecmp(names[i], "ALL") == 0 || strcasecmp(names[i], "CAP_ALL") == 0) {
			*all = true;
			continue;
		}
		cap = hamn_oci_cap_from_name(names[i]);
		if (cap < 0) {
			_cleanup_free_ char *up = xstrdup(names[i]);

			for (char *p = up; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			return hamn_error_setq(err, EINVAL, "unknown capability: \"%s%s\"",
					       str_has_prefix(up, "CAP_") ? "" : "CAP_", up);
		}
		*mask |= 1ULL << cap;
	}
	return 0;
}

static int parse_caps(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	_cleanup_strv_ char **add = NULL;
	_cleanup_strv_ char **drop = NULL;

	if (jf_strslice(hc, HC, "CapAdd", &add, err) < 0 ||
	    jf_strslice(hc, HC, "CapDrop", &drop, err) < 0)
		return -1;
	/* dockerd's wording: "invalid CapAdd: unknown capability: \"CAP_X\"" */
	if (cap_mask(add, &c->cap_add, &c->cap_add_all, err) < 0)
		return hamn_error_wrap(err, "invalid CapAdd");
	if (cap_mask(drop, &c->cap_drop, &c->cap_drop_all, err) < 0)
		return hamn_error_wrap(err, "invalid CapDrop");
	if (jf_bool(hc, HC, "Privileged", &c->privileged, err) < 0 ||
	    jf_bool(hc, HC, "ReadonlyRootfs", &c->readonly_rootfs, err) < 0)
		return -1;
	return 0;
}

/* One --security-opt: "seccomp=...", "no-new-privileges[=|:]bool", "apparmor=", "label=". */
static int security_opt(const char *opt, struct ctr_config *c, struct hamn_error **err)
{
	const char *v = strpbrk(opt, "=:");
	size_t klen = v ? (size_t)(v - opt) : strlen(opt);

	if (klen == 17 && strncmp(opt, "no-new-privileges", 17) == 0) {
		if (!v)
			c->no_new_privs = 1;
		else if (streq(v + 1, "true"))
			c->no_new_privs = 1;
		else if (streq(v + 1, "false"))
			c->no_new_privs = 0;
		else
			return hamn_error_setq(err, EINVAL, "invalid --security-opt 2: %s", opt);
		return 0;
	}
	if (!v || *v != '=')
		return hamn_error_setq(err, EINVAL, "invalid --security-opt 1: \"%s\"", opt);
	if (klen == 7 && strncmp(opt, "seccomp", 7) == 0) {
		_cleanup_error_ struct hamn_error *perr = NULL;

		if (streq(v + 1, "unconfined")) {
			c->seccomp = SECCOMP_UNCONFINED;
			return 0;
		}
		if (c->seccomp_profile)
			json_decref(c->seccomp_profile);
		c->seccomp_profile = hamn_json_parse(v + 1, strlen(v + 1), &perr);
		if (!c->seccomp_profile || !json_is_object(c->seccomp_profile))
			return hamn_error_setq(err, EINVAL, "Decoding seccomp profile failed: %s",
					       perr ? perr->msg : "not a JSON object");
		c->seccomp = SECCOMP_PROFILE;
		return 0;
	}
	if (klen == 11 && strncmp(opt, "systempaths", 11) == 0) {
		if (!streq(v + 1, "unconfined"))
			return hamn_error_setq(err, EINVAL, "invalid --security-opt: %s", opt);
		c->unmask_paths = true;
		return 0;
	}
	/* no LSM on hamn's hosts: AppArmor/SELinux options are accepted and have no effect */
	if ((klen == 8 && strncmp(opt, "apparmor", 8) == 0) ||
	    (klen == 5 && strncmp(opt, "label", 5) == 0))
		return 0;
	return hamn_error_setq(err, EINVAL, "invalid --security-opt 2: \"%s\"", opt);
}

static int parse_security(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	_cleanup_strv_ char **opts = NULL;

	if (jf_strv(hc, HC, "SecurityOpt", &opts, err) < 0)
		return -1;
	for (size_t i = 0; opts && opts[i]; i++)
		if (security_opt(opts[i], c, err) < 0)
			return -1;
	return 0;
}

static int ulimit_resource(const char *name)
{
	static const struct {
		const char *name;
		int res;
	} table[] = {
		{ "as", RLIMIT_AS },	     { "core", RLIMIT_CORE },
		{ "cpu", RLIMIT_CPU },	     { "data", RLIMIT_DATA },
		{ "fsize", RLIMIT_FSIZE },   { "locks", RLIMIT_LOCKS },
		{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
		{ "nice", RLIMIT_NICE },     { "nofile", RLIMIT_NOFILE },
		{ "nproc", RLIMIT_NPROC },   { "rss", RLIMIT_RSS },
		{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
		{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (streq(name, table[i].name))
			return table[i].res;
	return -1;
}

static int parse_ulimits(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	json_t *arr = json_object_get(hc, "Ulimits"), *u;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return jf_type_error(err, arr, HC, "Ulimits", "[]*units.Ulimit");
	c->ulimits = xcalloc(json_array_size(arr) + 1, sizeof(*c->ulimits));
	json_array_foreach(arr, i, u) {
		struct ctr_ulimit *ul = &c->ulimits[c->n_ulimits];
		const char *name = NULL;

		if (!json_is_object(u))
			return jf_type_error(err, u, HC, "Ulimits", "units.Ulimit");
		if (jf_string(u, "Ulimit", "Name", &name, err) < 0 ||
		    jf_int(u, "Ulimit", "Soft", &ul->soft, err) < 0 ||
		    jf_int(u, "Ulimit", "Hard", &ul->hard, err) < 0)
			return -1;
		ul->resource = ulimit_resource(name ? name : "");
		if (ul->resource < 0)
			return hamn_error_setq(err, EINVAL, "invalid ulimit type: %s",
					       name ? name : "");
		if (ul->soft > ul->hard)
			return hamn_error_setq(err, EINVAL,
					       "ulimit soft limit must be less than or equal to hard "
					       "limit: %lld > %lld",
					       (long long)ul->soft, (long long)ul->hard);
		ul->name = xstrdup(name);
		c->n_ulimits++;
	}
	return 0;
}

static int parse_sysctls(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	json_t *map = NULL, *v;
	const char *k;

	if (jf_strmap(hc, HC, "Sysctls", &map, err) < 0)
		return -1;
	c->sysctls = map ? json_deep_copy(map) : json_object();
	json_object_foreach(c->sysctls, k, v) {
		if (hamn_oci_sysctl_check(k, json_string_value(v), !c->net_host,
					  c->ipc_mode != NS_HOST, c->uts_mode != NS_HOST, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_lists(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	if (jf_strv(hc, HC, "Dns", &c->dns, err) < 0 ||
	    jf_strv(hc, HC, "DnsSearch", &c->dns_search, err) < 0 ||
	    jf_strv(hc, HC, "DnsOptions", &c->dns_options, err) < 0 ||
	    jf_strv(hc, HC, "ExtraHosts", &c->extra_hosts, err) < 0 ||
	    jf_strv(hc, HC, "GroupAdd", &c->group_add, err) < 0)
		return -1;
	for (size_t i = 0; c->extra_hosts && c->extra_hosts[i]; i++) {
		const char *colon = strchr(c->extra_hosts[i], ':');

		if (!colon || colon == c->extra_hosts[i] || !colon[1])
			return hamn_error_setq(err, EINVAL, "invalid IP address in add-host: \"%s\"",
					       colon ? colon + 1 : "");
	}
	return 0;
}

static int parse_console(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	json_t *cs = json_object_get(hc, "ConsoleSize");

	if (!cs || json_is_null(cs))
		return 0;
	if (!json_is_array(cs) || json_array_size(cs) != 2 ||
	    !json_is_integer(json_array_get(cs, 0)) || !json_is_integer(json_array_get(cs, 1)) ||
	    json_integer_value(json_array_get(cs, 0)) < 0 ||
	    json_integer_value(json_array_get(cs, 1)) < 0)
		return jf_type_error(err, cs, HC, "ConsoleSize", "[2]uint");
	c->console_h = (unsigned int)json_integer_value(json_array_get(cs, 0));
	c->console_w = (unsigned int)json_integer_value(json_array_get(cs, 1));
	return 0;
}

static int parse_misc(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	const char *runtime = NULL;
	bool init = false;

	if (jf_int(hc, HC, "ShmSize", &c->shm_size, err) < 0 ||
	    jf_int(hc, HC, "OomScoreAdj", &c->oom_score_adj, err) < 0 ||
	    jf_bool(hc, HC, "Init", &init, err) < 0 ||
	    jf_string(hc, HC, "Runtime", &runtime, err) < 0)
		return -1;
	if (c->shm_size < 0)
		return hamn_error_setq(err, EINVAL, "SHM size can not be less than 0");
	if (c->oom_score_adj < -1000 || c->oom_score_adj > 1000)
		return hamn_error_setq(err, EINVAL,
				       "Invalid value %lld, range for oom score adj is [-1000, 1000]",
				       (long long)c->oom_score_adj);
	c->init = init;	/* hamn-init as pid 1 (init.c) */
	if (runtime && runtime[0] && !streq(runtime, "runc") && !streq(runtime, "hamn"))
		return hamn_error_setq(err, EINVAL, "unknown or invalid runtime name: %s", runtime);
	return 0;
}

/* Fields hamn does not implement: refuse anything but their zero value. */
static int refuse_unsupported(json_t *hc, struct hamn_error **err)
{
	static const char *const keys[] = { "Devices", "DeviceRequests",
					    "DeviceCgroupRules", "BlkioWeightDevice",
					    "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
					    "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", NULL };

	for (size_t i = 0; keys[i]; i++) {
		json_t *v = json_object_get(hc, keys[i]);

		if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
			return hamn_error_setq(err, EINVAL, "%s is not supported yet", keys[i]);
	}
	return 0;
}

int ctr_host_config_parse(json_t *hc, const char *root, struct ctr_config *c,
			  struct hamn_error **err)
{
	if (parse_network(hc, c, err) < 0 || parse_namespaces(hc, c, err) < 0 ||
	    parse_restart(hc, c, err) < 0 || ctr_log_config_parse(hc, c, err) < 0 ||
	    parse_memory(hc, c, err) < 0 || parse_cpu(hc, c, err) < 0 ||
	    parse_pids(hc, c, err) < 0 || parse_caps(hc, c, err) < 0 ||
	    parse_security(hc, c, err) < 0 || parse_ulimits(hc, c, err) < 0 ||
	    parse_sysctls(hc, c, err) < 0 || parse_lists(hc, c, err) < 0 ||
	    parse_console(hc, c, err) < 0 || parse_misc(hc, c, err) < 0 ||
	    refuse_unsupported(hc, err) < 0 || ctr_mounts_parse(hc, root, c, err) < 0)
		return -1;
	return 0;
}

/* ---- docker's full HostConfig shape ---- */

static const char *const default_masked[] = {
	"/proc/asound",	    "/proc/acpi",	"/proc/kcore",	    "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi",	    "/sys/firmware",	"/proc/interrupts", "/sys/devices/virtual/powercap",
	NULL,
};
static const char *const default_readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *host_template(void)
{
	json_t *t = json_pack(
		"{s:n, s:s, s:{s:s, s:{}}, s:s, s:{}, s:{s:s, s:i}, s:b, s:s, s:n, s:n, s:n,"
		" s:s, s:[], s:[], s:[], s:n, s:n, s:s, s:s, s:n, s:i, s:s, s:b, s:b, s:b, s:n,"
		" s:s, s:s, s:I, s:s, s:[i, i], s:s}",
		"Binds", "ContainerIDFile", "", "LogConfig", "Type", "json-file", "Config",
		"NetworkMode", "default", "PortBindings", "RestartPolicy", "Name", "no",
		"MaximumRetryCount", 0, "AutoRemove", 0, "VolumeDriver", "", "VolumesFrom", "CapAdd",
		"CapDrop", "CgroupnsMode", "host", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts",
		"GroupAdd", "IpcMode", "private", "Cgroup", "", "Links", "OomScoreAdj", 0, "PidMode", "",
		"Privileged", 0, "PublishAllPorts", 0, "ReadonlyRootfs", 0, "SecurityOpt", "UTSMode", "",
		"UsernsMode", "", "ShmSize", (json_int_t)HAMN_ENGINE_DEFAULT_SHM_SIZE, "Runtime", "runc",
		"ConsoleSize", 0, 0, "Isolation", "");
	json_t *r = json_pack(
		"{s:i, s:i, s:i, s:s, s:i, s:[], s:n, s:n, s:n, s:n, s:i, s:i, s:i, s:i, s:s, s:s,"
		" s:[], s:n, s:n, s:i, s:i, s:i, s:i, s:n, s:b, s:n, s:n, s:i, s:i, s:i, s:i}",
		"CpuShares", 0, "Memory", 0, "NanoCpus", 0, "CgroupParent", "", "BlkioWeight", 0,
		"BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
		"BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "CpuPeriod", 0, "CpuQuota", 0,
		"CpuRealtimePeriod", 0, "CpuRealtimeRuntime", 0, "CpusetCpus", "", "CpusetMems", "",
		"Devices", "DeviceCgroupRules", "DeviceRequests", "KernelMemory", 0,
		"KernelMemoryTCP", 0, "MemoryReservation", 0, "MemorySwap", 0, "MemorySwappiness",
		"OomKillDisable", 0, "PidsLimit", "Ulimits", "CpuCount", 0, "CpuPercent", 0,
		"IOMaximumIOps", 0, "IOMaximumBandwidth", 0);

	if (!t || !r)
		hamn_bug("cannot build the HostConfig template");
	json_object_update(t, r);
	json_decref(r);
	json_object_set_new(t, "MaskedPaths", hamn_json_from_strv((char *const *)default_masked));
	json_object_set_new(t, "ReadonlyPaths",
			    hamn_json_from_strv((char *const *)default_readonly));
	return t;
}

/* An empty string or a null the CLI sent for key: the template's value stands. */
static void keep_default(json_t *full, json_t *tmpl, const char *key)
{
	json_t *v = json_object_get(full, key);

	if (json_is_null(v) || (json_is_string(v) && !json_string_value(v)[0]))
		json_object_set(full, key, json_object_get(tmpl, key));
}

/* What dockerd shows for what the client left unset, and what hamn applies. */
static void show_defaults(json_t *full, json_t *tmpl)
{
	json_int_t mem = json_integer_value(json_object_get(full, "Memory"));
	json_t *swp = json_object_get(full, "MemorySwappiness");

	keep_default(full, tmpl, "IpcMode");
	keep_default(full, tmpl, "CgroupnsMode");
	if (!json_is_true(json_object_get(full, "Privileged"))) {
		keep_default(full, tmpl, "MaskedPaths");
		keep_default(full, tmpl, "ReadonlyPaths");
	} else {
		json_object_set_new(full, "MaskedPaths", json_null());
		json_object_set_new(full, "ReadonlyPaths", json_null());
	}
	/* swap of twice the memory limit (spec.c) */
	if (mem > 0 && json_integer_value(json_object_get(full, "MemorySwap")) == 0)
		json_object_set_new(full, "MemorySwap", json_integer(2 * mem));
	if (json_is_integer(swp) && json_integer_value(swp) == -1)
		json_object_set_new(full, "MemorySwappiness", json_null());
}

json_t *ctr_host_config_full(json_t *hc)
{
	json_t *full = host_template();
	_cleanup_json_ json_t *tmpl = NULL;

	if (json_is_object(hc)) {
		tmpl = json_deep_copy(full);
		json_object_update(full, hc);
		show_defaults(full, tmpl);
	}
	return full;
}

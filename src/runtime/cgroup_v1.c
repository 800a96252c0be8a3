/*
 * cgroup_v1.c - the cgroup v1 backend: one directory per mounted hierarchy
 * (comounted "cpu,cpuacct" share one), limits written to each controller's
 * own files, devices through devices.allow/deny, the freezer hierarchy for
 * pause. Also drives the hybrid layout (v1 hierarchies plus a cgroup2 mount
 * at /sys/fs/cgroup/unified): every controller goes through v1 and the
 * cgroup2 mount is left alone.
 *
 * Deliberately not here: kernel memory limits (gone from current kernels;
 * skipped with a debug log), net_cls/net_prio values (not in the spec's
 * resources we parse), and the v1 "unified" key/values (v2 only).
 */
#include <dirent.h>
#include <unistd.h>

#include "runtime/cgroup_internal.h"

static const char *const known_controllers[] = {
	"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio",
	"blkio", "perf_event", "hugetlb", "pids", "rdma", "misc", NULL,
};

/* ---- discovery ---- */

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo */
static char *unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* "rw,cpu,cpuacct" -> "cpu,cpuacct"; "rw,name=systemd" -> "name=systemd"; NULL if none */
static char *controllers_of(const char *superopts)
{
	_cleanup_strv_ char **opts = str_split(superopts, ',');
	_cleanup_strv_ char **ctl = NULL;

	for (char **o = opts; *o; o++) {
		bool known = str_has_prefix(*o, "name=");

		for (size_t i = 0; !known && known_controllers[i]; i++)
			known = streq(*o, known_controllers[i]);
		if (known)
			strv_push(&ctl, *o);
	}
	return ctl ? strv_join(ctl, ",") : NULL;
}

static void add_mount(struct cgroup_mount **out, size_t *n, char **fields, size_t sep)
{
	_cleanup_free_ char *ctl = controllers_of(fields[sep + 3]);

	if (!ctl)
		return;
	for (size_t i = 0; i < *n; i++)
		if (streq((*out)[i].controllers, ctl))
			return;	/* the same hierarchy mounted twice */
	*out = xreallocarray(*out, *n + 1, sizeof(**out));
	(*out)[*n] = (struct cgroup_mount){
		.controllers = steal_pointer(&ctl),
		.mount_root = unescape(fields[3]),
		.mount = unescape(fields[4]),
	};
	(*n)++;
}

int hamn_cg_parse_mountinfo(const char *text, struct cgroup_mount **out, size_t *n_out)
{
	_cleanup_strv_ char **lines = str_split(text, '\n');

	*out = NULL;
	*n_out = 0;
	for (char **l = lines; *l; l++) {
		_cleanup_strv_ char **f = str_split(*l, ' ');
		size_t n = strv_len(f), sep = 6;

		while (sep < n && !streq(f[sep], "-"))
			sep++;
		if (sep + 3 >= n || !streq(f[sep + 1], "cgroup"))
			continue;
		add_mount(out, n_out, f, sep);
	}
	return 0;
}

/* The fake tree: every subdirectory of the root is a hierarchy named by its controllers. */
static int fake_mounts(struct cgroup_mount **out, size_t *n_out, struct hamn_error **err)
{
	const char *root = hamn_cg_root(), *self = getenv("HAMN_TEST_CGROUP_SELF");
	_cleanup_closedir_ DIR *d = opendir(root);
	struct dirent *e;

	if (!d)
		return hamn_error_set(err, errno, "open '%s'", root);
	*out = NULL;
	*n_out = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		*out = xreallocarray(*out, *n_out + 1, sizeof(**out));
		(*out)[(*n_out)++] = (struct cgroup_mount){
			.controllers = xstrdup(e->d_name),
			.mount = xasprintf("%s/%s", root, e->d_name),
			.mount_root = xstrdup("/"),
			.own = xstrdup(self && *self ? self : "/"),
		};
	}
	return 0;
}

int hamn_cg_v1_mounts(struct cgroup_mount **out, size_t *n_out, struct hamn_error **err)
{
	_cleanup_free_ char *mi = NULL, *self = NULL;
	struct cgroup_mount *m = NULL;
	size_t n = 0, kept = 0;

	if (hamn_cg_is_fake())
		return fake_mounts(out, n_out, err);
	if (hamn_cg_read("/proc/self", "mountinfo", &mi, err) < 0 ||
	    hamn_cg_read("/proc/self", "cgroup", &self, err) < 0)
		return -1;
	hamn_cg_parse_mountinfo(mi, &m, &n);
	for (size_t i = 0; i < n; i++) {
		struct hamn_error *e = NULL;

		if (hamn_cg_parse_self(self, m[i].controllers, &m[i].own, &e) < 0) {
			log_kv(HAMN_LOG_DEBUG, "cgroup hierarchy not joined, skipped",
			       "controllers=%s", m[i].controllers);
			hamn_error_free(&e);
			free(m[i].controllers);
			free(m[i].mount);
			free(m[i].mount_root);
			continue;
		}
		m[kept++] = m[i];
	}
	*out = m;
	*n_out = kept;
	return 0;
}

/* ---- creating levels ---- */

static bool blank(const char *s)
{
	return s[strspn(s, " \t\n")] == '\0';
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* A new cpuset starts with no cpus and no mems: nothing could run in it. */
static int copy_if_empty(const char *parent, const char *dir, const char *file,
			 struct hamn_error **err)
{
	_cleanup_free_ char *mine = NULL, *theirs = NULL;

	if (hamn_cg_read(dir, file, &mine, NULL) == 0 && !blank(mine))
		return 0;
	if (hamn_cg_read(parent, file, &theirs, err) < 0)
		return -1;
	trim(theirs);
	return hamn_cg_write(dir, file, theirs, err);
}

static int v1_prepare_level(const struct cgroup_hier *h, const char *parent, const char *dir,
			    struct hamn_error **err)
{
	if (!hamn_cg_has_controller(h->controllers, "cpuset"))
		return 0;
	if (copy_if_empty(parent, dir, "cpuset.cpus", err) < 0 ||
	    copy_if_empty(parent, dir, "cpuset.mems", err) < 0)
		return -1;
	return 0;
}

/* ---- limits ---- */

static int need(const char *dir, const char *what, struct hamn_error **err)
{
	if (dir)
		return 0;
	return hamn_error_set(err, EOPNOTSUPP, "the %s cgroup controller is not mounted", what);
}

static void fmt_i64(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%lld", (long long)(v < 0 ? -1 : v));
}

/*
 * Two values the kernel checks against each other (memory and memory+swap,
 * cfs period and quota): write a then b; if the kernel refuses with EINVAL
 * because the old value of the other is in the way, the other order works.
 * A NULL value is left alone.
 */
static int write_pair(const char *dir, const char *fa, const char *va, const char *fb,
		      const char *vb, struct hamn_error **err)
{
	struct hamn_error *e = NULL;

	if ((!va || hamn_cg_write(dir, fa, va, &e) == 0) &&
	    (!vb || hamn_cg_write(dir, fb, vb, &e) == 0))
		return 0;
	if (e->errnum != EINVAL)
		return hamn_error_propagate(err, &e);
	hamn_error_free(&e);
	if (vb && hamn_cg_write(dir, fb, vb, err) < 0)
		return -1;
	if (va && hamn_cg_write(dir, fa, va, err) < 0)
		return -1;
	return 0;
}

static bool has_file(const char *dir, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);

	return hamn_cg_is_fake() || access(p, F_OK) == 0;
}

static int v1_memory(const char *dir, const struct hamn_oci_resources *r, struct hamn_error **err)
{
	char lim[32], sw[32], v[32];
	const char *swap = NULL;

	/* As runc: a zero limit, swap or reservation means "not set". */
	bool limit = r->has_memory_limit && r->memory_limit != 0;
	bool has_swap = r->has_memory_swap && r->memory_swap != 0;
	bool resv = r->has_memory_reservation && r->memory_reservation != 0;

	if (!limit && !resv && !has_swap && !r->has_memory_swappiness && !r->disable_oom_killer &&
	    !r->has_kernel_memory)
		return 0;
	if (need(dir, "memory", err) < 0)
		return -1;
	fmt_i64(lim, sizeof(lim), r->memory_limit);
	fmt_i64(sw, sizeof(sw), r->memory_swap);
	if (has_swap && has_file(dir, "memory.memsw.limit_in_bytes"))
		swap = sw;
	else if (has_swap)
		log_debug("swap accounting is off: memory.swap not applied");
	if (write_pair(dir, "memory.limit_in_bytes", limit ? lim : NULL,
		       "memory.memsw.limit_in_bytes", swap, err) < 0)
		return -1;
	fmt_i64(v, sizeof(v), r->memory_reservation);
	if (resv &&
	    hamn_cg_write(dir, "memory.soft_limit_in_bytes", v, err) < 0)
		return -1;
	if (r->has_memory_swappiness && r->memory_swappiness > 100)
		return hamn_error_set(err, EINVAL, "memory swappiness %llu is above 100",
				      (unsigned long long)r->memory_swappiness);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)r->memory_swappiness);
	if (r->has_memory_swappiness && hamn_cg_write(dir, "memory.swappiness", v, err) < 0)
		return -1;
	if (r->disable_oom_killer && hamn_cg_write(dir, "memory.oom_control", "1", err) < 0)
		return -1;
	if (r->has_kernel_memory)
		log_debug("kernel memory limits are not supported by current kernels: skipped");
	return 0;
}

static int v1_cpu(const struct hamn_cgroup *cg, const struct hamn_oci_resources *r,
		  struct hamn_error **err)
{
	const char *dir = hamn_cg_dir_for(cg, "cpu");
	bool quota = r->has_cpu_quota && r->cpu_quota != 0;
	bool period = r->has_cpu_period && r->cpu_period != 0;
	char q[32], p[32], rq[32], rp[32];

	if (!(r->has_cpu_shares && r->cpu_shares) && !quota && !period && !r->has_cpu_rt_runtime &&
	    !r->has_cpu_rt_period)
		return 0;
	if (need(dir, "cpu", err) < 0)
		return -1;
	snprintf(q, sizeof(q), "%llu", (unsigned long long)r->cpu_shares);
	if (r->has_cpu_shares && r->cpu_shares && hamn_cg_write(dir, "cpu.shares", q, err) < 0)
		return -1;
	fmt_i64(q, sizeof(q), r->cpu_quota);
	snprintf(p, sizeof(p), "%llu", (unsigned long long)r->cpu_period);
	if (write_pair(dir, "cpu.cfs_period_us", period ? p : NULL, "cpu.cfs_quota_us",
		       quota ? q : NULL, err) < 0)
		return -1;
	fmt_i64(rq, sizeof(rq), r->cpu_rt_runtime);
	snprintf(rp, sizeof(rp), "%llu", (unsigned long long)r->cpu_rt_period);
	return write_pair(dir, "cpu.rt_period_us", r->has_cpu_rt_period ? rp : NULL,
			  "cpu.rt_runtime_us", r->has_cpu_rt_runtime ? rq : NULL, err);
}

static int v1_cpuset_pids(const struct hamn_cgroup *cg, const struct hamn_oci_resources *r,
			  struct hamn_error **err)
{
	const char *cs = hamn_cg_dir_for(cg, "cpuset"), *pd = hamn_cg_dir_for(cg, "pids");
	char v[32];

	if ((r->cpuset_cpus || r->cpuset_mems) && need(cs, "cpuset", err) < 0)
		return -1;
	if (r->cpuset_cpus && hamn_cg_write(cs, "cpuset.cpus", r->cpuset_cpus, err) < 0)
		return -1;
	if (r->cpuset_mems && hamn_cg_write(cs, "cpuset.mems", r->cpuset_mems, err) < 0)
		return -1;
	if (!r->has_pids_limit)
		return 0;
	if (need(pd, "pids", err) < 0)
		return -1;
	if (r->pids_limit > 0)
		snprintf(v, sizeof(v), "%lld", (long long)r->pids_limit);
	else
		snprintf(v, sizeof(v), "max");
	return hamn_cg_write(pd, "pids.max", v, err);
}

/* Write to the CFQ file, else the BFQ one; neither present is a debug log. */
static int write_weight(const char *dir, const char *cfq, const char *bfq, const char *v,
			struct hamn_error **err)
{
	int r = hamn_cg_write_opt(dir, cfq, v, err);

	if (r == 1 && bfq)
		r = hamn_cg_write_opt(dir, bfq, v, err);
	return r < 0 ? -1 : 0;
}

static int v1_throttle(const char *dir, const char *file, const struct hamn_oci_throttle_device *t,
		       size_t n, struct hamn_error **err)
{
	char v[96];

	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%lld:%lld %llu", (long long)t[i].major,
			 (long long)t[i].minor, (unsigned long long)t[i].rate);
		if (hamn_cg_write(dir, file, v, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_blkio(const char *dir, const struct hamn_oci_resources *r, struct hamn_error **err)
{
	char v[96];

	if (!dir) {
		log_debug("blkio cgroup controller not mounted: block io limits skipped");
		return 0;
	}
	/* 0 means "not set", as with runc: dockerd sends "weight": 0 by default */
	snprintf(v, sizeof(v), "%u", r->blkio_weight);
	if (r->has_blkio_weight && r->blkio_weight &&
	    write_weight(dir, "blkio.weight", "blkio.bfq.weight", v, err) < 0)
		return -1;
	snprintf(v, sizeof(v), "%u", r->blkio_leaf_weight);
	if (r->has_blkio_leaf_weight && r->blkio_leaf_weight &&
	    write_weight(dir, "blkio.leaf_weight", NULL, v, err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const struct hamn_oci_weight_device *w = &r->blkio_weight_devices[i];

		snprintf(v, sizeof(v), "%lld:%lld %u", (long long)w->major, (long long)w->minor,
			 w->weight);
		if (w->has_weight && write_weight(dir, "blkio.weight_device",
						  "blkio.bfq.weight_device", v, err) < 0)
			return -1;
		snprintf(v, sizeof(v), "%lld:%lld %u", (long long)w->major, (long long)w->minor,
			 w->leaf_weight);
		if (w->has_leaf_weight &&
		    write_weight(dir, "blkio.leaf_weight_device", NULL, v, err) < 0)
			return -1;
	}
	if (v1_throttle(dir, "blkio.throttle.read_bps_device", r->throttle_read_bps,
			r->n_throttle_read_bps, err) < 0 ||
	    v1_throttle(dir, "blkio.throttle.write_bps_device", r->throttle_write_bps,
			r->n_throttle_write_bps, err) < 0 ||
	    v1_throttle(dir, "blkio.throttle.read_iops_device", r->throttle_read_iops,
			r->n_throttle_read_iops, err) < 0 ||
	    v1_throttle(dir, "blkio.throttle.write_iops_device", r->throttle_write_iops,
			r->n_throttle_write_iops, err) < 0)
		return -1;
	return 0;
}

static bool page_size_ok(const char *s)
{
	return s && *s && s[strspn(s, "0123456789KMGB")] == '\0';
}

static int v1_hugetlb(const char *dir, const struct hamn_oci_resources *r,
		      struct hamn_error **err)
{
	if (r->n_hugepage_limits && !dir) {
		log_debug("hugetlb cgroup controller not mounted (v1): hugepage limits skipped");
		return 0;
	}
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		_cleanup_free_ char *file = NULL;
		char v[32];

		if (!page_size_ok(r->hugepage_limits[i].page_size))
			return hamn_error_set(err, EINVAL, "bad hugepage size '%s'",
					      r->hugepage_limits[i].page_size);
		file = xasprintf("hugetlb.%s.limit_in_bytes", r->hugepage_limits[i].page_size);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->hugepage_limits[i].limit);
		if (hamn_cg_write(dir, file, v, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_devices(const char *dir, const struct hamn_oci_resources *res,
		      struct hamn_error **err)
{
	_cleanup_free_ struct hamn_oci_device_rule *rules = NULL;
	size_t n;
	char text[80];

	if (!dir) {
		log_warn("devices cgroup controller not mounted: no device isolation");
		return 0;
	}
	hamn_cg_device_rules(res, &rules, &n);
	for (size_t i = 0; i < n; i++) {
		hamn_cg_device_rule_text(&rules[i], text, sizeof(text));
		if (hamn_cg_write(dir, rules[i].allow ? "devices.allow" : "devices.deny", text,
				  err) < 0)
			return -1;
	}
	return 0;
}

static int v1_apply(struct hamn_cgroup *cg, const struct hamn_oci_resources *res, bool update,
		    struct hamn_error **err)
{
	if (res) {
		if (v1_memory(hamn_cg_dir_for(cg, "memory"), res, err) < 0 ||
		    v1_cpu(cg, res, err) < 0 || v1_cpuset_pids(cg, res, err) < 0 ||
		    v1_hugetlb(hamn_cg_dir_for(cg, "hugetlb"), res, err) < 0)
			return -1;
		if ((res->has_blkio_weight || res->has_blkio_leaf_weight ||
		     res->n_blkio_weight_devices || res->n_throttle_read_bps ||
		     res->n_throttle_write_bps || res->n_throttle_read_iops ||
		     res->n_throttle_write_iops) &&
		    v1_blkio(hamn_cg_dir_for(cg, "blkio"), res, err) < 0)
			return -1;
		if (res->n_unified)
			log_debug("cgroup v2 'unified' settings ignored on cgroup v1");
	}
	if (!update || (res && res->n_devices))
		return v1_devices(hamn_cg_dir_for(cg, "devices"), res, err);
	return 0;
}

/* ---- freezer ---- */

/* The state is the last line (a fake tree appends each write). */
static int freezer_state(const char *dir, char *buf, size_t len, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	char *last;

	if (hamn_cg_read(dir, "freezer.state", &text, err) < 0)
		return -1;
	trim(text);
	last = strrchr(text, '\n');
	snprintf(buf, len, "%s", last ? last + 1 : text);
	return 0;
}

static int v1_freeze(struct hamn_cgroup *cg, bool frozen, struct hamn_error **err)
{
	const char *dir = hamn_cg_dir_for(cg, "freezer");
	const char *want = frozen ? "FROZEN" : "THAWED";
	int64_t deadline = hamn_monotonic_ns() + 10 * 1000000000LL;
	char state[32];

	if (need(dir, "freezer", err) < 0)
		return -1;
	/* Writing FROZEN again while FREEZING makes the kernel retry stragglers. */
	for (unsigned attempt = 0;; attempt++) {
		if (hamn_cg_write(dir, "freezer.state", want, err) < 0 ||
		    freezer_state(dir, state, sizeof(state), err) < 0)
			return -1;
		if (streq(state, want))
			return 0;
		if (hamn_monotonic_ns() > deadline)
			break;
		hamn_cg_backoff(attempt);
	}
	if (frozen)
		hamn_cg_write(dir, "freezer.state", "THAWED", NULL);
	return hamn_error_set(err, EBUSY, "'%s' did not reach %s (still %s)", dir, want, state);
}

static int v1_is_frozen(struct hamn_cgroup *cg, bool *out, struct hamn_error **err)
{
	const char *dir = hamn_cg_dir_for(cg, "freezer");
	char state[32];

	if (!dir)
		return 0;
	if (freezer_state(dir, state, sizeof(state), err) < 0)
		return -1;
	*out = streq(state, "FROZEN");
	return 0;
}

static int v1_kill_fast(struct hamn_cgroup *cg, int sig, struct hamn_error **err)
{
	return 0;
}

/* ---- stats ---- */

/* Sum the Read and Write lines of blkio.throttle.io_service_bytes. */
static int v1_blkio_stats(const char *dir, struct hamn_cgroup_stats *out,
			  struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_ char **lines = NULL;

	if (!dir)
		return 0;
	if (hamn_cg_read(dir, "blkio.throttle.io_service_bytes_recursive", &text, NULL) < 0 &&
	    hamn_cg_read(dir, "blkio.throttle.io_service_bytes", &text, NULL) < 0)
		return 0;
	lines = str_split(text, '\n');
	for (char **l = lines; *l; l++) {
		char dev[64], op[16];
		unsigned long long v;

		if (sscanf(*l, "%63s %15s %llu", dev, op, &v) != 3)
			continue;
		if (streq(op, "Read"))
			out->blkio_read_bytes += v;
		else if (streq(op, "Write"))
			out->blkio_write_bytes += v;
	}
	return 0;
}

static int v1_cpu_stats(struct hamn_cgroup *cg, struct hamn_cgroup_stats *out,
			struct hamn_error **err)
{
	const char *acct = hamn_cg_dir_for(cg, "cpuacct"), *cpu = hamn_cg_dir_for(cg, "cpu");
	uint64_t user = 0, sys = 0, *thr = &out->cpu_throttled_periods;
	long hz = sysconf(_SC_CLK_TCK);

	if (hamn_cg_stat_u64(acct, "cpuacct.usage", &out->cpu_usage_ns, err) < 0 ||
	    hamn_cg_stat_key(acct, "cpuacct.stat", "user", &user, err) < 0 ||
	    hamn_cg_stat_key(acct, "cpuacct.stat", "system", &sys, err) < 0 ||
	    hamn_cg_stat_key(cpu, "cpu.stat", "nr_periods", &out->cpu_periods, err) < 0 ||
	    hamn_cg_stat_key(cpu, "cpu.stat", "nr_throttled", thr, err) < 0 ||
	    hamn_cg_stat_key(cpu, "cpu.stat", "throttled_time", &out->cpu_throttled_ns, err) < 0)
		return -1;
	if (hz <= 0)
		hz = 100;
	out->cpu_user_ns = user * (1000000000ULL / (uint64_t)hz);
	out->cpu_system_ns = sys * (1000000000ULL / (uint64_t)hz);
	return 0;
}

static int v1_mem_stats(const char *mem, struct hamn_cgroup_stats *out, struct hamn_error **err)
{
	if (hamn_cg_stat_u64(mem, "memory.usage_in_bytes", &out->mem_usage, err) < 0 ||
	    hamn_cg_stat_u64(mem, "memory.max_usage_in_bytes", &out->mem_max_usage, err) < 0 ||
	    hamn_cg_stat_u64(mem, "memory.limit_in_bytes", &out->mem_limit, err) < 0 ||
	    hamn_cg_stat_u64(mem, "memory.failcnt", &out->mem_failcnt, err) < 0 ||
	    hamn_cg_stat_key(mem, "memory.oom_control", "oom_kill", &out->oom_kills, err) < 0 ||
	    hamn_cg_stat_key(mem, "memory.stat", "cache", &out->mem_cache, err) < 0 ||
	    hamn_cg_stat_key(mem, "memory.stat", "rss", &out->mem_rss, err) < 0 ||
	    hamn_cg_stat_key(mem, "memory.stat", "total_cache", &out->mem_cache, err) < 0 ||
	    hamn_cg_stat_key(mem, "memory.stat", "total_rss", &out->mem_rss, err) < 0)
		return -1;
	/* "unlimited" is PAGE_COUNTER_MAX rounded to pages: report it as 0. */
	if (out->mem_limit >= (1ULL << 62))
		out->mem_limit = 0;
	return 0;
}

static int v1_stats(struct hamn_cgroup *cg, struct hamn_cgroup_stats *out,
		    struct hamn_error **err)
{
	const char *pids = hamn_cg_dir_for(cg, "pids");

	if (v1_cpu_stats(cg, out, err) < 0 ||
	    v1_mem_stats(hamn_cg_dir_for(cg, "memory"), out, err) < 0 ||
	    hamn_cg_stat_u64(pids, "pids.current", &out->pids_current, err) < 0 ||
	    hamn_cg_stat_u64(pids, "pids.max", &out->pids_limit, err) < 0 ||
	    v1_blkio_stats(hamn_cg_dir_for(cg, "blkio"), out, err) < 0)
		return -1;
	if (out->pids_limit == UINT64_MAX)
		out->pids_limit = 0;
	return 0;
}

const struct cgroup_ops hamn_cgroup_v1_ops = {
	.version = HAMN_CGROUP_V1,
	.prepare_level = v1_prepare_level,
	.apply = v1_apply,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.kill_fast = v1_kill_fast,
	.stats = v1_stats,
};

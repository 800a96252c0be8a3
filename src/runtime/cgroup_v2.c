/*
 * cgroup_v2.c - the cgroup v2 backend: one directory in the unified
 * hierarchy, controllers enabled level by level through each parent's
 * cgroup.subtree_control, v1-style values translated to the v2 files
 * (cpu.weight, cpu.max, memory.swap.max, io.weight, io.max), devices
 * enforced by an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program built here from
 * raw instructions (no libbpf), and cgroup.freeze / cgroup.kill.
 *
 * Deliberately not here: realtime cpu limits, swappiness and disabling the
 * OOM killer, which v2 does not have (skipped with a debug log, as runc
 * does), and threaded cgroups.
 */
#include <poll.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/syscalls.h"
#include "runtime/cgroup_internal.h"

/* ---- pure translations ---- */

uint64_t hamn_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	/* [2, 262144] onto [1, 10000], as runc and crun do */
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t hamn_cgroup_blkio_to_io_weight(uint16_t weight)
{
	uint64_t w = weight;

	if (w == 0)
		return 0;
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	/* [10, 1000] onto [1, 10000] */
	return 1 + ((w - 10) * 9999) / 990;
}

void hamn_cgroup_cpu_max(int64_t quota, uint64_t period, char *buf, size_t len)
{
	if (period == 0)
		period = 100000;
	if (quota <= 0)
		snprintf(buf, len, "max %llu", (unsigned long long)period);
	else
		snprintf(buf, len, "%lld %llu", (long long)quota, (unsigned long long)period);
}

int hamn_cg_v2_swap_max(const struct hamn_oci_resources *res, int64_t *out,
			struct hamn_error **err)
{
	int64_t limit = res->has_memory_limit ? res->memory_limit : 0;
	int64_t swap = res->has_memory_swap ? res->memory_swap : 0;

	if (swap == 0) {
		/* Unlimited memory with no word on swap: v1 meant both unlimited. */
		*out = limit == -1 ? -1 : -2;
		return 0;
	}
	if (swap < 0) {
		*out = -1;
		return 0;
	}
	if (limit <= 0)
		return hamn_error_set(err, EINVAL, "a swap limit needs a memory limit");
	if (swap < limit)
		return hamn_error_set(err, EINVAL, "memory+swap %lld is below memory %lld",
				      (long long)swap, (long long)limit);
	*out = swap - limit;
	return 0;
}

/* ---- discovery and levels ---- */

int hamn_cg_v2_mounts(struct cgroup_mount **out, size_t *n_out, struct hamn_error **err)
{
	_cleanup_free_ char *self = NULL, *own = NULL;
	const char *fake_self = getenv("HAMN_TEST_CGROUP_SELF");

	if (hamn_cg_is_fake()) {
		own = xstrdup(fake_self && *fake_self ? fake_self : "/");
	} else if (hamn_cg_read("/proc/self", "cgroup", &self, err) < 0 ||
		   hamn_cg_parse_self(self, "", &own, err) < 0) {
		return -1;
	}
	*out = xzalloc(sizeof(**out));
	(*out)->controllers = xstrdup("");
	(*out)->mount = xstrdup(hamn_cg_root());
	(*out)->mount_root = xstrdup("/");
	(*out)->own = steal_pointer(&own);
	*n_out = 1;
	return 0;
}

/* Whitespace-separated names; a fake tree's "+name" lines count too. */
static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		p += strspn(p, " \n+");
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
		p += strcspn(p, " \n");
	}
	return false;
}

/* Enable in parent's subtree_control what the first level's parent offers, unless already on. */
static int v2_prepare_level(const struct cgroup_hier *h, const char *parent, const char *dir,
			    struct hamn_error **err)
{
	_cleanup_free_ char *base = NULL, *avail = NULL, *enabled = NULL;
	_cleanup_strv_ char **names = NULL;
	size_t n = strlen(h->dir);
	unsigned k = 0;

	/* base: h->dir with h->depth components removed */
	base = xstrdup(h->dir);
	while (k < h->depth && n > 1)
		if (base[--n] == '/')
			k++;
	base[n ? n : 1] = '\0';
	if (hamn_cg_read(base, "cgroup.controllers", &avail, err) < 0)
		return -1;
	if (hamn_cg_read(parent, "cgroup.subtree_control", &enabled, NULL) < 0)
		enabled = xstrdup("");
	names = str_split(avail, ' ');
	for (char **c = names; *c; c++) {
		_cleanup_free_ char *plus = NULL;
		struct hamn_error *e = NULL;

		(*c)[strcspn(*c, "\n")] = '\0';
		if (!**c || list_has(enabled, *c))
			continue;
		plus = xasprintf("+%s", *c);
		if (hamn_cg_write(parent, "cgroup.subtree_control", plus, &e) == 0)
			continue;
		if (e->errnum == EBUSY) {
			hamn_error_propagate(err, &e);
			return hamn_error_wrap(err, "'%s' has processes of its own, so it cannot "
					       "delegate controllers (run hamn in a leaf cgroup or "
					       "set a cgroup parent)", parent);
		}
		log_kv(HAMN_LOG_WARN, "cannot enable cgroup controller", "controller=%s path=%s "
		       "err=\"%s\"", *c, parent, e->msg);
		hamn_error_free(&e);
	}
	return 0;
}

/* ---- limits ---- */

static void fmt_limit(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

static int v2_memory(const char *dir, const struct hamn_oci_resources *r, struct hamn_error **err)
{
	char v[32];
	int64_t swap;

	if (hamn_cg_v2_swap_max(r, &swap, err) < 0)
		return -1;
	fmt_limit(v, sizeof(v), r->memory_limit);
	if (r->has_memory_limit && r->memory_limit != 0 &&
	    hamn_cg_write(dir, "memory.max", v, err) < 0)
		return -1;
	fmt_limit(v, sizeof(v), swap);
	if (swap != -2 && hamn_cg_write_opt(dir, "memory.swap.max", v, err) < 0)
		return -1;
	fmt_limit(v, sizeof(v), r->memory_reservation);
	if (r->has_memory_reservation && r->memory_reservation != 0 &&
	    hamn_cg_write(dir, "memory.low", v, err) < 0)
		return -1;
	if (r->has_memory_swappiness || r->disable_oom_killer || r->has_kernel_memory)
		log_debug("no swappiness, oom_kill_disable or kernel memory on cgroup v2: skipped");
	return 0;
}

static int v2_cpu(const char *dir, const struct hamn_oci_resources *r, struct hamn_error **err)
{
	char v[64];

	snprintf(v, sizeof(v), "%llu",
		 (unsigned long long)hamn_cgroup_shares_to_weight(r->cpu_shares));
	if (r->has_cpu_shares && r->cpu_shares && hamn_cg_write(dir, "cpu.weight", v, err) < 0)
		return -1;
	if ((r->has_cpu_quota && r->cpu_quota != 0) || (r->has_cpu_period && r->cpu_period)) {
		hamn_cgroup_cpu_max(r->has_cpu_quota ? r->cpu_quota : -1,
				    r->has_cpu_period ? r->cpu_period : 0, v, sizeof(v));
		if (hamn_cg_write(dir, "cpu.max", v, err) < 0)
			return -1;
	}
	if (r->has_cpu_rt_runtime || r->has_cpu_rt_period)
		log_debug("realtime cpu limits do not exist on cgroup v2: skipped");
	if (r->cpuset_cpus && hamn_cg_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
		return -1;
	if (r->cpuset_mems && hamn_cg_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
		return -1;
	if (!r->has_pids_limit)
		return 0;
	fmt_limit(v, sizeof(v), r->pids_limit > 0 ? r->pids_limit : -1);
	return hamn_cg_write(dir, "pids.max", v, err);
}

/* io.weight takes [1, 10000]; BFQ's io.bfq.weight keeps the v1 scale. */
static int io_weight(const char *dir, const char *dev, uint16_t w, struct hamn_error **err)
{
	char v[96];
	int r;

	snprintf(v, sizeof(v), "%s %llu", dev,
		 (unsigned long long)hamn_cgroup_blkio_to_io_weight(w));
	r = hamn_cg_write_opt(dir, "io.weight", v, err);
	if (r == 1) {
		snprintf(v, sizeof(v), "%s %u", dev, w);
		r = hamn_cg_write_opt(dir, "io.bfq.weight", v, err);
	}
	return r < 0 ? -1 : 0;
}

static int io_max(const char *dir, const char *key, const struct hamn_oci_throttle_device *t,
		  size_t n, struct hamn_error **err)
{
	char v[96];

	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%lld:%lld %s=%llu", (long long)t[i].major,
			 (long long)t[i].minor, key, (unsigned long long)t[i].rate);
		if (hamn_cg_write(dir, "io.max", v, err) < 0)
			return -1;
	}
	return 0;
}

static int v2_io(const char *dir, const struct hamn_oci_resources *r, struct hamn_error **err)
{
	if (r->has_blkio_weight && r->blkio_weight && io_weight(dir, "default", r->blkio_weight,
								   err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const struct hamn_oci_weight_device *w = &r->blkio_weight_devices[i];
		char dev[48];

		snprintf(dev, sizeof(dev), "%lld:%lld", (long long)w->major, (long long)w->minor);
		if (w->has_weight && io_weight(dir, dev, w->weight, err) < 0)
			return -1;
	}
	if (io_max(dir, "rbps", r->throttle_read_bps, r->n_throttle_read_bps, err) < 0 ||
	    io_max(dir, "wbps", r->throttle_write_bps, r->n_throttle_write_bps, err) < 0 ||
	    io_max(dir, "riops", r->throttle_read_iops, r->n_throttle_read_iops, err) < 0 ||
	    io_max(dir, "wiops", r->throttle_write_iops, r->n_throttle_write_iops, err) < 0)
		return -1;
	return 0;
}

static bool unified_key_ok(const char *k)
{
	/* Only limits: never a file that moves processes or reshapes the tree. */
	static const char *const refused[] = { "cgroup.procs", "cgroup.threads", "cgroup.kill",
					       "cgroup.subtree_control", "cgroup.type", NULL };

	if (!k || !*k || k[0] == '.' || strchr(k, '/') || strstr(k, ".."))
		return false;
	for (size_t i = 0; refused[i]; i++)
		if (streq(k, refused[i]))
			return false;
	return true;
}

static int v2_hugetlb_unified(const char *dir, const struct hamn_oci_resources *r,
			      struct hamn_error **err)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const char *size = r->hugepage_limits[i].page_size;
		_cleanup_free_ char *file = NULL;
		char v[32];

		if (!size || !*size || size[strspn(size, "0123456789KMGB")])
			return hamn_error_set(err, EINVAL, "bad hugepage size '%s'", size);
		file = xasprintf("hugetlb.%s.max", size);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->hugepage_limits[i].limit);
		if (hamn_cg_write(dir, file, v, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_unified; i++) {
		if (!unified_key_ok(r->unified_keys[i]))
			return hamn_error_set(err, EINVAL, "unified cgroup key '%s' is not allowed",
					      r->unified_keys[i]);
		if (hamn_cg_write(dir, r->unified_keys[i], r->unified_values[i], err) < 0)
			return -1;
	}
	return 0;
}

static int v2_devices(struct hamn_cgroup *cg, const struct hamn_oci_resources *res,
		      struct hamn_error **err)
{
	_cleanup_free_ struct hamn_oci_device_rule *rules = NULL;
	_cleanup_free_ struct bpf_insn *prog = NULL;
	size_t n, n_prog;
	int fd;

	struct statfs sfs;

	hamn_cg_device_rules(res, &rules, &n);
	if (hamn_cg_bpf_devices(rules, n, &prog, &n_prog, err) < 0)
		return -1;
	fd = hamn_cgroup_dirfd(cg);
	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", cg->h[0].dir);
	/* A fake tree of plain files (unit tests) has nothing to attach to. */
	if (hamn_cg_is_fake() && (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)) {
		log_debug("fake cgroup tree: device program built, not attached");
		return 0;
	}
	return hamn_cg_bpf_attach(fd, prog, n_prog, err);
}

static int v2_apply(struct hamn_cgroup *cg, const struct hamn_oci_resources *res, bool update,
		    struct hamn_error **err)
{
	const char *dir = cg->h[0].dir;

	if (res && (v2_memory(dir, res, err) < 0 || v2_cpu(dir, res, err) < 0 ||
		    v2_io(dir, res, err) < 0 || v2_hugetlb_unified(dir, res, err) < 0))
		return -1;
	if (!update || (res && res->n_devices))
		return v2_devices(cg, res, err);
	return 0;
}

/* ---- freezing, killing ---- */

static int v2_wait_frozen(const char *dir, bool frozen, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.events", dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	int64_t deadline = hamn_monotonic_ns() + 10 * 1000000000LL;
	uint64_t state = 2;

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	for (;;) {
		_cleanup_free_ char *text = NULL;
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		int64_t left;

		if (hamn_read_fd(fd, 1 << 16, &text, NULL, err) < 0)
			return -1;
		hamn_cg_read_key(text, "frozen", &state);
		if (state == (frozen ? 1 : 0))
			return 0;
		left = (deadline - hamn_monotonic_ns()) / 1000000;
		if (left <= 0)
			return hamn_error_set(err, EBUSY, "'%s' did not %s in time", dir,
					      frozen ? "freeze" : "thaw");
		/* kernfs signals a change with POLLPRI; re-read at least every 100ms anyway */
		if (poll(&p, 1, left > 100 ? 100 : (int)left) < 0 && errno != EINTR)
			return hamn_error_set(err, errno, "poll '%s'", path);
	}
}

static int v2_freeze(struct hamn_cgroup *cg, bool frozen, struct hamn_error **err)
{
	const char *dir = cg->h[0].dir;

	if (hamn_cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	if (v2_wait_frozen(dir, frozen, err) < 0) {
		if (frozen)
			hamn_cg_write(dir, "cgroup.freeze", "0", NULL);
		return -1;
	}
	return 0;
}

static int v2_is_frozen(struct hamn_cgroup *cg, bool *out, struct hamn_error **err)
{
	uint64_t v = 0;

	if (hamn_cg_stat_key(cg->h[0].dir, "cgroup.events", "frozen", &v, err) < 0)
		return -1;
	*out = v == 1;
	return 0;
}

static int v2_kill_fast(struct hamn_cgroup *cg, int sig, struct hamn_error **err)
{
	int r;

	if (sig != SIGKILL)
		return 0;
	/* cgroup.kill (5.14+) kills the whole subtree at once: frozen or not, forking or not. */
	r = hamn_cg_write_opt(cg->h[0].dir, "cgroup.kill", "1", err);
	return r < 0 ? -1 : r == 0;
}

/* ---- stats ---- */

static int v2_io_stats(const char *dir, struct hamn_cgroup_stats *out, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_ char **lines = NULL;

	if (hamn_cg_read(dir, "io.stat", &text, NULL) < 0)
		return 0;	/* io controller not enabled: no numbers */
	lines = str_split(text, '\n');
	for (char **l = lines; *l; l++) {
		uint64_t v;

		if (hamn_cg_read_key(*l, "rbytes", &v) == 0)
			out->blkio_read_bytes += v;
		if (hamn_cg_read_key(*l, "wbytes", &v) == 0)
			out->blkio_write_bytes += v;
	}
	return 0;
}

static int v2_stats(struct hamn_cgroup *cg, struct hamn_cgroup_stats *out,
		    struct hamn_error **err)
{
	const char *d = cg->h[0].dir;
	uint64_t usage = 0, user = 0, sys = 0, throttled = 0;

	if (hamn_cg_stat_key(d, "cpu.stat", "usage_usec", &usage, err) < 0 ||
	    hamn_cg_stat_key(d, "cpu.stat", "user_usec", &user, err) < 0 ||
	    hamn_cg_stat_key(d, "cpu.stat", "system_usec", &sys, err) < 0 ||
	    hamn_cg_stat_key(d, "cpu.stat", "nr_periods", &out->cpu_periods, err) < 0 ||
	    hamn_cg_stat_key(d, "cpu.stat", "nr_throttled", &out->cpu_throttled_periods, err) < 0 ||
	    hamn_cg_stat_key(d, "cpu.stat", "throttled_usec", &throttled, err) < 0 ||
	    hamn_cg_stat_u64(d, "memory.current", &out->mem_usage, err) < 0 ||
	    hamn_cg_stat_u64(d, "memory.max", &out->mem_limit, err) < 0 ||
	    hamn_cg_stat_u64(d, "memory.peak", &out->mem_max_usage, err) < 0 ||
	    hamn_cg_stat_key(d, "memory.stat", "anon", &out->mem_rss, err) < 0 ||
	    hamn_cg_stat_key(d, "memory.stat", "file", &out->mem_cache, err) < 0 ||
	    hamn_cg_stat_key(d, "memory.events", "max", &out->mem_failcnt, err) < 0 ||
	    hamn_cg_stat_key(d, "memory.events", "oom_kill", &out->oom_kills, err) < 0 ||
	    hamn_cg_stat_u64(d, "pids.current", &out->pids_current, err) < 0 ||
	    hamn_cg_stat_u64(d, "pids.max", &out->pids_limit, err) < 0 ||
	    v2_io_stats(d, out, err) < 0)
		return -1;
	out->cpu_usage_ns = usage * 1000;
	out->cpu_user_ns = user * 1000;
	out->cpu_system_ns = sys * 1000;
	out->cpu_throttled_ns = throttled * 1000;
	if (out->mem_limit == UINT64_MAX)
		out->mem_limit = 0;
	if (out->pids_limit == UINT64_MAX)
		out->pids_limit = 0;
	return 0;
}

/* ---- the device program ---- */

static struct bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src };

	i.off = off;
	i.imm = imm;

	return i;
}

#define JNE_IMM(reg, imm, off) ins(BPF_JMP | BPF_JNE | BPF_K, (reg), 0, (int16_t)(off), (imm))

static int rule_access(const struct hamn_oci_device_rule *r, int32_t *mask, int32_t *type,
		       struct hamn_error **err)
{
	*mask = 0;
	*type = 0;
	for (const char *a = r->access[0] ? r->access : "rwm"; *a; a++) {
		if (*a == 'r')
			*mask |= BPF_DEVCG_ACC_READ;
		else if (*a == 'w')
			*mask |= BPF_DEVCG_ACC_WRITE;
		else if (*a == 'm')
			*mask |= BPF_DEVCG_ACC_MKNOD;
		else
			return hamn_error_set(err, EINVAL, "bad device access '%s'", r->access);
	}
	*type = 0;
	if (r->type == 'c')
		*type = BPF_DEVCG_DEV_CHAR;
	else if (r->type == 'b')
		*type = BPF_DEVCG_DEV_BLOCK;
	else if (r->type && r->type != 'a')
		return hamn_error_set(err, EINVAL, "bad device type '%c'", r->type);
	if (r->major > INT32_MAX || r->minor > INT32_MAX)
		return hamn_error_set(err, EINVAL, "device number %lld:%lld is too large",
				      (long long)r->major, (long long)r->minor);
	return 0;
}

/*
 * One rule. Registers (from the prologue): r2 type, r3 the requested access
 * bits not decided yet, r4 major, r5 minor. Each device check jumps past
 * the block when it fails. A deny rule naming an undecided bit denies; an
 * allow rule decides its bits, and allows once none is left. So every
 * requested bit is decided by the last rule that names it. Returns whether
 * the rule ends the program (it matches every device and names every bit).
 */
static bool emit_rule(const struct hamn_oci_device_rule *r, int32_t mask, int32_t type,
		      struct bpf_insn *b, size_t *n)
{
	size_t checks = (type ? 1 : 0) + (r->major >= 0) + (r->minor >= 0);
	size_t tail = mask == 7 ? 2 : r->allow ? 4 : 5;
	size_t len = checks + tail, start = *n;

#define LEFT() ((int16_t)(len - (*n - start) - 1))
	if (type) {
		b[*n] = JNE_IMM(BPF_REG_2, type, LEFT());
		(*n)++;
	}
	if (r->major >= 0) {
		b[*n] = JNE_IMM(BPF_REG_4, (int32_t)r->major, LEFT());
		(*n)++;
	}
	if (r->minor >= 0) {
		b[*n] = JNE_IMM(BPF_REG_5, (int32_t)r->minor, LEFT());
		(*n)++;
	}
#undef LEFT
	if (mask != 7 && r->allow) {
		/* r3 &= ~mask; if (r3 != 0) goto next */
		b[(*n)++] = ins(BPF_ALU | BPF_AND | BPF_K, BPF_REG_3, 0, 0, ~mask & 7);
		b[(*n)++] = JNE_IMM(BPF_REG_3, 0, 2);
	} else if (mask != 7) {
		/* if ((r3 & mask) == 0) goto next */
		b[(*n)++] = ins(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
		b[(*n)++] = ins(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, mask);
		b[(*n)++] = ins(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 2, 0);
	}
	b[(*n)++] = ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
	b[(*n)++] = ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return checks == 0 && mask == 7;
}

int hamn_cg_bpf_devices(const struct hamn_oci_device_rule *rules, size_t n,
			struct bpf_insn **out, size_t *n_out, struct hamn_error **err)
{
	/* at most 6 prologue + 8 per rule + 2 default */
	_cleanup_free_ struct bpf_insn *b = xcalloc(6 + 9 * n + 2, sizeof(*b));
	size_t k = 0;
	bool all = false;

	b[k++] = ins(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
	b[k++] = ins(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	b[k++] = ins(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
	b[k++] = ins(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	b[k++] = ins(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
	b[k++] = ins(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
	/* Later rules win: emit from the last rule back; a catch-all ends the program. */
	for (size_t i = n; i-- > 0 && !all;) {
		int32_t mask, type;

		if (rule_access(&rules[i], &mask, &type, err) < 0)
			return -1;
		all = emit_rule(&rules[i], mask, type, b, &k);
	}
	if (!all) {
		b[k++] = ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
		b[k++] = ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	*out = steal_pointer(&b);
	*n_out = k;
	return 0;
}

static int bpf_load(const struct bpf_insn *insns, size_t n, struct hamn_error **err)
{
	_cleanup_free_ char *vlog = NULL;
	union bpf_attr a;
	int fd, saved;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"Apache-2.0";
	fd = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
	if (fd >= 0)
		return fd;
	saved = errno;
	/* Load again with the verifier log, only to say why. */
	vlog = xzalloc(8192);
	a.log_level = 1;
	a.log_buf = (uint64_t)(uintptr_t)vlog;
	a.log_size = 8192;
	fd = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
	if (fd >= 0)
		close(fd);
	return hamn_error_set(err, saved, "load the device cgroup program (%zu insns)%s%.300s", n,
			      vlog[0] ? ": " : "", vlog);
}

/* Ids of the device programs attached to cgfd now (at most 64). */
static int bpf_query(int cgfd, uint32_t *ids, uint32_t *n, struct hamn_error **err)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)cgfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)ids;
	a.query.prog_cnt = *n;
	if (sys_bpf(BPF_PROG_QUERY, &a, sizeof(a)) < 0)
		return hamn_error_set(err, errno, "query device cgroup programs");
	*n = a.query.prog_cnt;
	return 0;
}

static int bpf_detach_id(int cgfd, uint32_t id, struct hamn_error **err)
{
	union bpf_attr a;
	_cleanup_close_ int fd = -1;

	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
	if (fd < 0)
		return errno == ENOENT ? 0 : hamn_error_set(err, errno, "get bpf program %u", id);
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	if (sys_bpf(BPF_PROG_DETACH, &a, sizeof(a)) < 0 && errno != ENOENT)
		return hamn_error_set(err, errno, "detach bpf program %u", id);
	return 0;
}

int hamn_cg_bpf_attach(int cgfd, const struct bpf_insn *insns, size_t n,
		       struct hamn_error **err)
{
	uint32_t old[64], n_old = 64;
	_cleanup_close_ int prog = -1;
	union bpf_attr a;

	if (bpf_query(cgfd, old, &n_old, err) < 0)
		return -1;
	prog = bpf_load(insns, n, err);
	if (prog < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a, sizeof(a)) < 0)
		return hamn_error_set(err, errno, "attach the device cgroup program");
	/* Both apply until the old ones go: the swap is never more permissive. */
	for (uint32_t i = 0; i < n_old; i++)
		if (bpf_detach_id(cgfd, old[i], err) < 0)
			return -1;
	return 0;
}

const struct cgroup_ops hamn_cgroup_v2_ops = {
	.version = HAMN_CGROUP_V2,
	.prepare_level = v2_prepare_level,
	.apply = v2_apply,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.kill_fast = v2_kill_fast,
	.stats = v2_stats,
};

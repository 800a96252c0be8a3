/*
 * stats.c - one sample of a running container's resource use, in the
 * shape of dockerd's stats object (see stats.h), read from its cgroup
 * files, /proc/stat and /proc/<init>/net/dev.
 *
 * The cgroup directories are found through /proc/<init>/cgroup and the
 * cgroup mounts of our own mountinfo (parsed once), which works wherever the
 * runtime put the container (default placement, --cgroup-parent, v1 with
 * controllers mounted together or apart, v2). The version is the runtime's
 * choice (hamn_cgroup_detect): on the hybrid layout the cgroup2 mount only
 * holds hugetlb and is ignored.
 *
 * A stream's precpu_stats come from its own previous sample
 * (hamn_stats_set_previous), as in dockerd's. The only history kept is the
 * CPU part of each running container's last sample (any request, or the one
 * taken when it started), so that stream=0 can answer at once.
 */
#include <pthread.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/stats.h"
#include "runtime/cgroup.h"

#define NS_PER_SEC 1000000000ULL
#define SMALL_FILE (64u << 10)

/* ---- pure parsers ---- */

static uint64_t to_u64(const char *s)
{
	return s ? strtoull(s, NULL, 10) : 0;
}

json_t *hamn_stats_parse_kv(const char *text)
{
	_cleanup_strv_ char **lines = str_split(text ? text : "", '\n');
	json_t *out = json_object();

	for (size_t i = 0; lines[i]; i++) {
		char *sp = strchr(lines[i], ' ');

		if (!sp || sp == lines[i])
			continue;
		*sp = '\0';
		json_object_set_new(out, lines[i], json_integer((json_int_t)to_u64(sp + 1)));
	}
	return out;
}

json_t *hamn_stats_parse_net_dev(const char *text)
{
	static const char *const names[] = { "rx_bytes", "rx_packets", "rx_errors",
					     "rx_dropped", "tx_bytes", "tx_packets",
					     "tx_errors", "tx_dropped" };
	/* the columns of /proc/net/dev that hold them */
	static const int cols[] = { 0, 1, 2, 3, 8, 9, 10, 11 };
	_cleanup_strv_ char **lines = str_split(text ? text : "", '\n');
	json_t *out = json_object();

	for (size_t i = 0; lines[i]; i++) {
		char *colon = strchr(lines[i], ':'), *name = lines[i], *p;
		unsigned long long v[16] = { 0 };
		json_t *iface;
		int n = 0;

		if (!colon)
			continue; /* the two header lines */
		*colon = '\0';
		while (*name == ' ')
			name++;
		if (!*name || streq(name, "lo"))
			continue;
		for (p = colon + 1; n < 16; n++) {
			char *end;

			v[n] = strtoull(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
		if (n < 12)
			continue;
		iface = json_object();
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
			json_object_set_new(iface, names[k], json_integer((json_int_t)v[cols[k]]));
		json_object_set_new(out, name, iface);
	}
	return out;
}

uint64_t hamn_stats_system_cpu(const char *text, long hz)
{
	unsigned long long f[7] = { 0 };
	const char *line = text;
	uint64_t ticks = 0;

	while (line && !(str_has_prefix(line, "cpu ") || str_has_prefix(line, "cpu\t"))) {
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (!line || hz <= 0)
		return 0;
	if (sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3],
		   &f[4], &f[5], &f[6]) < 4)
		return 0;
	for (int i = 0; i < 7; i++)
		ticks += f[i];
	return ticks * (NS_PER_SEC / (uint64_t)hz);
}

json_t *hamn_stats_parse_blkio(const char *text)
{
	_cleanup_strv_ char **lines = str_split(text ? text : "", '\n');
	json_t *out = json_array();

	for (size_t i = 0; lines[i]; i++) {
		unsigned major, minor;
		unsigned long long value;
		char op[32];

		if (sscanf(lines[i], "%u:%u %31s %llu", &major, &minor, op, &value) != 4)
			continue;
		json_array_append_new(out, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)major,
						     "minor", (int)minor, "op", op, "value",
						     (json_int_t)value));
	}
	return out;
}

static void io_entry(json_t *arr, unsigned major, unsigned minor, const char *op,
		     const char *fields, const char *key)
{
	_cleanup_free_ char *pat = xasprintf(" %s=", key);
	const char *p = strstr(fields, pat);

	if (!p)
		return;
	json_array_append_new(arr, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)major, "minor",
					     (int)minor, "op", op, "value",
					     (json_int_t)to_u64(p + strlen(pat))));
}

void hamn_stats_parse_io_stat(const char *text, json_t **bytes_out, json_t **ios_out)
{
	_cleanup_strv_ char **lines = str_split(text ? text : "", '\n');

	*bytes_out = json_array();
	*ios_out = json_array();
	for (size_t i = 0; lines[i]; i++) {
		unsigned major, minor;
		int off = 0;

		if (sscanf(lines[i], "%u:%u%n", &major, &minor, &off) != 2)
			continue;
		io_entry(*bytes_out, major, minor, "read", lines[i] + off, "rbytes");
		io_entry(*bytes_out, major, minor, "write", lines[i] + off, "wbytes");
		io_entry(*ios_out, major, minor, "read", lines[i] + off, "rios");
		io_entry(*ios_out, major, minor, "write", lines[i] + off, "wios");
	}
}

json_t *hamn_stats_parse_percpu(const char *text)
{
	json_t *out = json_array();
	const char *p = text ? text : "";

	for (;;) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p)
			break;
		json_array_append_new(out, json_integer((json_int_t)v));
		p = end;
	}
	return out;
}

/* The path of controller's line in /proc/<pid>/cgroup ("" = the v2 line "0::"). */
static char *proc_cgroup_path(const char *proc_cgroup, const char *controller)
{
	_cleanup_strv_ char **lines = str_split(proc_cgroup ? proc_cgroup : "", '\n');

	for (size_t i = 0; lines[i]; i++) {
		char *c1 = strchr(lines[i], ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		_cleanup_strv_ char **ctrls = NULL;

		if (!c2)
			continue;
		*c1 = *c2 = '\0'; /* hierarchy id, controller list, path */
		if (!controller[0]) {
			if (streq(lines[i], "0") && !c1[1])
				return xstrdup(c2 + 1);
			continue;
		}
		ctrls = str_split(c1 + 1, ',');
		if (strv_contains(ctrls, controller))
			return xstrdup(c2 + 1);
	}
	return NULL;
}

/* mountinfo fields of a cgroup mount of controller: root and mount point (new strings). */
static bool find_mount(const char *mountinfo, const char *controller, char **root, char **point)
{
	_cleanup_strv_ char **lines = str_split(mountinfo ? mountinfo : "", '\n');

	for (size_t i = 0; lines[i]; i++) {
		_cleanup_strv_ char **f = NULL, **opts = NULL;
		char *sep = strstr(lines[i], " - ");
		size_t n;

		if (!sep)
			continue;
		*sep = '\0';
		f = str_split(lines[i], ' ');
		opts = str_split(sep + 3, ' ');
		n = strv_len(f);
		if (n < 5 || strv_len(opts) < 3)
			continue;
		if (controller[0] ? !streq(opts[0], "cgroup") : !streq(opts[0], "cgroup2"))
			continue;
		if (controller[0]) {
			_cleanup_strv_ char **so = str_split(opts[2], ',');

			if (!strv_contains(so, controller))
				continue;
		}
		*root = xstrdup(f[3]);
		*point = xstrdup(f[4]);
		return true;
	}
	return false;
}

char *hamn_stats_cgroup_dir(const char *mountinfo, const char *proc_cgroup,
			    const char *controller)
{
	_cleanup_free_ char *path = proc_cgroup_path(proc_cgroup, controller);
	_cleanup_free_ char *root = NULL, *point = NULL;
	const char *rel;

	if (!path || !find_mount(mountinfo, controller, &root, &point))
		return NULL;
	rel = path;
	if (!streq(root, "/")) {
		size_t n = strlen(root);

		if (strncmp(path, root, n) != 0 || (path[n] && path[n] != '/'))
			return NULL; /* outside what this mount shows */
		rel = path + n;
	}
	if (!rel[0] || streq(rel, "/"))
		return xstrdup(point);
	return xasprintf("%s%s", point, rel);
}

/* ---- reading ---- */

/* Our own mountinfo, read once: cgroup mounts do not move while hamnd runs. */
static pthread_once_t mounts_once = PTHREAD_ONCE_INIT;
static char *mounts_text;
static uint64_t mem_total;
static long online_cpus;	/* for the start sample: CPUs are rarely hotplugged */

static void read_host_facts(void)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *meminfo = NULL;
	const char *p;

	if (hamn_read_file(AT_FDCWD, "/proc/self/mountinfo", 4u << 20, &mounts_text, NULL, &err) <
	    0)
		mounts_text = xstrdup("");
	hamn_error_free(&err);
	online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (hamn_read_file(AT_FDCWD, "/proc/meminfo", SMALL_FILE, &meminfo, NULL, &err) == 0 &&
	    (p = strstr(meminfo, "MemTotal:")))
		mem_total = to_u64(p + 9 + strspn(p + 9, " ")) * 1024;
}

/* A small file of dir, or NULL when it is missing (controller or feature absent). */
static char *read_in(const char *dir, const char *name)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = NULL;
	char *text = NULL;

	if (!dir)
		return NULL;
	path = xasprintf("%s/%s", dir, name);
	if (hamn_read_file(AT_FDCWD, path, SMALL_FILE, &text, NULL, &err) < 0)
		return NULL;
	return text;
}

static bool read_num(const char *dir, const char *name, uint64_t *out)
{
	_cleanup_free_ char *text = read_in(dir, name);

	if (!text || !(text[0] >= '0' && text[0] <= '9'))
		return false; /* missing, or "max" */
	*out = to_u64(text);
	return true;
}

static uint64_t kv_get(json_t *kv, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(kv, key));
}

struct cg_dirs {
	bool v2;
	char *cpu, *cpuacct, *memory, *pids, *blkio;
};

static void cg_dirs_release(struct cg_dirs *d)
{
	free(d->cpu);
	free(d->cpuacct);
	free(d->memory);
	free(d->pids);
	free(d->blkio);
}

static void cg_dirs_find(pid_t pid, struct cg_dirs *d)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int)pid), *text = NULL;

	pthread_once(&mounts_once, read_host_facts);
	memset(d, 0, sizeof(*d));
	if (hamn_read_file(AT_FDCWD, path, SMALL_FILE, &text, NULL, &err) < 0)
		return;
	d->v2 = hamn_cgroup_detect() == HAMN_CGROUP_V2;
	if (d->v2) {
		d->cpu = hamn_stats_cgroup_dir(mounts_text, text, "");
		d->cpuacct = d->cpu ? xstrdup(d->cpu) : NULL;
		d->memory = d->cpu ? xstrdup(d->cpu) : NULL;
		d->pids = d->cpu ? xstrdup(d->cpu) : NULL;
		d->blkio = d->cpu ? xstrdup(d->cpu) : NULL;
		return;
	}
	d->cpu = hamn_stats_cgroup_dir(mounts_text, text, "cpu");
	d->cpuacct = hamn_stats_cgroup_dir(mounts_text, text, "cpuacct");
	d->memory = hamn_stats_cgroup_dir(mounts_text, text, "memory");
	d->pids = hamn_stats_cgroup_dir(mounts_text, text, "pids");
	d->blkio = hamn_stats_cgroup_dir(mounts_text, text, "blkio");
}

/* ---- the sections of a sample ---- */

static json_t *zero_cpu_stats(void)
{
	return json_pack("{s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}}", "cpu_usage", "total_usage", 0,
			 "usage_in_kernelmode", 0, "usage_in_usermode", 0, "throttling_data",
			 "periods", 0, "throttled_periods", 0, "throttled_time", 0);
}

struct cpu_raw {
	uint64_t total, user, sys; /* ns */
	uint64_t periods, throttled, throttled_ns;
	json_t *percpu; /* v1 only, or NULL */
};

static void cpu_read_v2(const struct cg_dirs *d, struct cpu_raw *r)
{
	_cleanup_free_ char *text = read_in(d->cpu, "cpu.stat");
	_cleanup_json_ json_t *cs = hamn_stats_parse_kv(text);

	r->total = kv_get(cs, "usage_usec") * 1000;
	r->user = kv_get(cs, "user_usec") * 1000;
	r->sys = kv_get(cs, "system_usec") * 1000;
	r->periods = kv_get(cs, "nr_periods");
	r->throttled = kv_get(cs, "nr_throttled");
	r->throttled_ns = kv_get(cs, "throttled_usec") * 1000;
}

static void cpu_read_v1(const struct cg_dirs *d, struct cpu_raw *r)
{
	_cleanup_free_ char *percpu = read_in(d->cpuacct, "cpuacct.usage_percpu");
	_cleanup_free_ char *acct = read_in(d->cpuacct, "cpuacct.stat");
	_cleanup_free_ char *text = read_in(d->cpu, "cpu.stat");
	_cleanup_json_ json_t *ticks = hamn_stats_parse_kv(acct);
	_cleanup_json_ json_t *cs = hamn_stats_parse_kv(text);
	long hz = sysconf(_SC_CLK_TCK);

	read_num(d->cpuacct, "cpuacct.usage", &r->total);
	r->percpu = percpu ? hamn_stats_parse_percpu(percpu) : NULL;
	/* cpuacct.stat counts USER_HZ ticks */
	if (hz > 0) {
		r->user = kv_get(ticks, "user") * (NS_PER_SEC / (uint64_t)hz);
		r->sys = kv_get(ticks, "system") * (NS_PER_SEC / (uint64_t)hz);
	}
	r->periods = kv_get(cs, "nr_periods");
	r->throttled = kv_get(cs, "nr_throttled");
	r->throttled_ns = kv_get(cs, "throttled_time");
}

/*
 * cpu_stats with dockerd's members in its order (omitempty ones left out
 * when 0); r's percpu array is taken.
 */
static json_t *cpu_stats_json(struct cpu_raw r, uint64_t sys_cpu, long online)
{
	json_t *cpu = json_object(), *usage = json_object();

	json_object_set_new(usage, "total_usage", json_integer((json_int_t)r.total));
	if (r.percpu)
		json_object_set_new(usage, "percpu_usage", r.percpu);
	json_object_set_new(usage, "usage_in_kernelmode", json_integer((json_int_t)r.sys));
	json_object_set_new(usage, "usage_in_usermode", json_integer((json_int_t)r.user));
	json_object_set_new(cpu, "cpu_usage", usage);
	if (sys_cpu)
		json_object_set_new(cpu, "system_cpu_usage", json_integer((json_int_t)sys_cpu));
	if (online > 0)
		json_object_set_new(cpu, "online_cpus", json_integer(online));
	json_object_set_new(cpu, "throttling_data",
			    json_pack("{s:I, s:I, s:I}", "periods", (json_int_t)r.periods,
				      "throttled_periods", (json_int_t)r.throttled,
				      "throttled_time", (json_int_t)r.throttled_ns));
	return cpu;
}

static json_t *cpu_stats(const struct cg_dirs *d)
{
	_cleanup_free_ char *stat = read_in("/proc", "stat");
	uint64_t sys_cpu = hamn_stats_system_cpu(stat, sysconf(_SC_CLK_TCK));
	struct cpu_raw r = { 0 };

	if (d->v2)
		cpu_read_v2(d, &r);
	else
		cpu_read_v1(d, &r);
	return cpu_stats_json(r, sys_cpu, sysconf(_SC_NPROCESSORS_ONLN));
}

static void set_nonzero(json_t *obj, const char *key, uint64_t v)
{
	if (v)
		json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static json_t *memory_stats(const struct cg_dirs *d)
{
	_cleanup_free_ char *text = read_in(d->memory, "memory.stat");
	json_t *mem = json_object();
	uint64_t usage = 0, max = 0, failcnt = 0, limit = 0;

	if (!d->memory)
		return mem;
	if (d->v2) {
		read_num(d->memory, "memory.current", &usage);
		read_num(d->memory, "memory.max", &limit);
	} else {
		read_num(d->memory, "memory.usage_in_bytes", &usage);
		read_num(d->memory, "memory.max_usage_in_bytes", &max);
		read_num(d->memory, "memory.failcnt", &failcnt);
		read_num(d->memory, "memory.limit_in_bytes", &limit);
	}
	/* no limit (or one above the host's memory) shows as the host's memory, as in dockerd */
	if (mem_total && (limit == 0 || limit > mem_total))
		limit = mem_total;
	set_nonzero(mem, "usage", usage);
	set_nonzero(mem, "max_usage", max);
	json_object_set_new(mem, "stats", hamn_stats_parse_kv(text));
	set_nonzero(mem, "failcnt", failcnt);
	set_nonzero(mem, "limit", limit);
	return mem;
}

static json_t *pids_stats(const struct cg_dirs *d)
{
	json_t *p = json_object();
	uint64_t v = 0;

	if (read_num(d->pids, "pids.current", &v))
		set_nonzero(p, "current", v);
	v = 0;
	if (read_num(d->pids, "pids.max", &v))
		set_nonzero(p, "limit", v);
	return p;
}

static const char *const blkio_keys[] = {
	"io_service_bytes_recursive", "io_serviced_recursive",	"io_queue_recursive",
	"io_service_time_recursive",  "io_wait_time_recursive", "io_merged_recursive",
	"io_time_recursive",	      "sectors_recursive",
};

static json_t *blkio_stats(const struct cg_dirs *d, bool running)
{
	json_t *b = json_object();

	for (size_t i = 0; i < sizeof(blkio_keys) / sizeof(blkio_keys[0]); i++)
		json_object_set_new(b, blkio_keys[i], running && !d->v2 ? json_array() : json_null());
	if (!running || !d->blkio)
		return b;
	if (d->v2) {
		_cleanup_free_ char *text = read_in(d->blkio, "io.stat");
		json_t *bytes, *ios;

		hamn_stats_parse_io_stat(text, &bytes, &ios);
		json_object_set_new(b, "io_service_bytes_recursive", bytes);
		json_object_set_new(b, "io_serviced_recursive", ios);
	} else {
		_cleanup_free_ char *bytes =
			read_in(d->blkio, "blkio.throttle.io_service_bytes_recursive");
		_cleanup_free_ char *ios = read_in(d->blkio, "blkio.throttle.io_serviced_recursive");

		json_object_set_new(b, "io_service_bytes_recursive", hamn_stats_parse_blkio(bytes));
		json_object_set_new(b, "io_serviced_recursive", hamn_stats_parse_blkio(ios));
	}
	return b;
}

static json_t *networks(pid_t pid)
{
	_cleanup_free_ char *dir = xasprintf("/proc/%d/net", (int)pid);
	_cleanup_free_ char *text = read_in(dir, "dev");

	return text ? hamn_stats_parse_net_dev(text) : NULL;
}

/* ---- the sample ---- */

#define ZERO_TIME "0001-01-01T00:00:00Z"

/* dockerd's object with every section at its zero value, in its member order. */
static json_t *sample_skeleton(const char *name, const char *id, const struct cg_dirs *d,
			       bool running)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:i, s:{}, s:o, s:o, s:o, s:s+, s:s}", "read",
			 ZERO_TIME, "preread", ZERO_TIME, "pids_stats", json_object(),
			 "blkio_stats", blkio_stats(d, running), "num_procs", 0, "storage_stats",
			 "cpu_stats", zero_cpu_stats(), "precpu_stats", zero_cpu_stats(),
			 "memory_stats", json_object(), "name", "/", name, "id", id);
}

static json_t *sample_running(const char *name, const char *id, pid_t pid, bool own_net)
{
	struct cg_dirs d;
	char now[HAMN_TIME_STR_MAX];
	json_t *s, *net;

	cg_dirs_find(pid, &d);
	s = sample_skeleton(name, id, &d, true);
	json_object_set_new(s, "read", json_string(hamn_time_format(hamn_now_ns(), now)));
	json_object_set_new(s, "pids_stats", pids_stats(&d));
	json_object_set_new(s, "cpu_stats", cpu_stats(&d));
	json_object_set_new(s, "memory_stats", memory_stats(&d));
	net = own_net ? networks(pid) : NULL;
	if (net && json_object_size(net) > 0)
		json_object_set_new(s, "networks", net);
	else if (net)
		json_decref(net);
	cg_dirs_release(&d);
	return s;
}

/* ---- the last sample of each run, for stream=0 ---- */

static int64_t age_of(json_t *kept, int64_t now)
{
	return kept ? now - json_integer_value(json_object_get(kept, "mono")) : -1;
}

/*
 * c keeps the CPU figures of two samples of its current run (pid): "new",
 * the last one, and "old", the last one that was at least
 * HAMN_STATS_MIN_PREV_MS old when a newer came, so that requests in quick
 * succession still find one old enough. Give back the newer of the two
 * that is at least min_age_ns old (a new reference; NULL when none), then
 * keep s. Lock held.
 */
static json_t *last_swap_locked(struct container *c, pid_t pid, const json_t *s,
				int64_t min_age_ns)
{
	json_t *k = c->stats_last, *old = NULL, *newer = NULL, *prev = NULL;
	int64_t now = hamn_monotonic_ns();

	if (k && json_integer_value(json_object_get(k, "pid")) == pid) {
		old = json_object_get(k, "old");
		newer = json_object_get(k, "new");
	}
	if (age_of(newer, now) >= min_age_ns)
		prev = json_incref(newer);
	else if (age_of(old, now) >= min_age_ns)
		prev = json_incref(old);
	/* a young "new" is only replaced: "old" stays until "new" has aged */
	if (age_of(newer, now) >= HAMN_STATS_MIN_PREV_MS * 1000000)
		old = newer;
	c->stats_last = json_pack("{s:I, s:{s:I, s:O, s:O}}", "pid", (json_int_t)pid, "new", "mono",
				  (json_int_t)now, "read", json_object_get(s, "read"), "cpu_stats",
				  json_object_get(s, "cpu_stats"));
	if (old)
		json_object_set(c->stats_last, "old", old);
	if (k)
		json_decref(k);
	return prev;
}

/* ---- the sample kept at start: few syscalls, as it is on the start path ---- */

#define HEAD_MAX 8192

/* The start of dir/name (dir NULL: name), NUL-terminated: open, one read, close. */
static bool read_head(const char *dir, const char *name, char *buf)
{
	_cleanup_free_ char *path = dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return false;
	do
		n = read(fd, buf, HEAD_MAX - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/*
 * cpu_stats of a container that has just started: its CPU time from the
 * cgroup (v1: cpuacct.usage_percpu, whose sum is cpuacct.usage, and
 * cpuacct.stat; v2: cpu.stat) and the host's from /proc/stat. Its cgroup
 * is new, so nothing was throttled yet (v1's counters are not read). About
 * a third of the syscalls of a full sample.
 */
static json_t *start_cpu_stats(pid_t pid)
{
	_cleanup_free_ char *buf = xmalloc(HEAD_MAX), *proc = xasprintf("/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *dir = NULL;
	_cleanup_json_ json_t *kv = NULL;
	bool v2 = hamn_cgroup_detect() == HAMN_CGROUP_V2;
	long hz = sysconf(_SC_CLK_TCK);
	struct cpu_raw r = { 0 };
	json_t *percpu = NULL;
	uint64_t sys_cpu;

	pthread_once(&mounts_once, read_host_facts);
	if (!read_head(NULL, proc, buf))
		return NULL;
	dir = hamn_stats_cgroup_dir(mounts_text, buf, v2 ? "" : "cpuacct");
	if (dir && v2 && read_head(dir, "cpu.stat", buf)) {
		kv = hamn_stats_parse_kv(buf);
		r.total = kv_get(kv, "usage_usec") * 1000;
		r.user = kv_get(kv, "user_usec") * 1000;
		r.sys = kv_get(kv, "system_usec") * 1000;
		r.periods = kv_get(kv, "nr_periods");
		r.throttled = kv_get(kv, "nr_throttled");
		r.throttled_ns = kv_get(kv, "throttled_usec") * 1000;
	} else if (dir && !v2 && read_head(dir, "cpuacct.usage_percpu", buf)) {
		percpu = hamn_stats_parse_percpu(buf);
		for (size_t i = 0; i < json_array_size(percpu); i++)
			r.total += (uint64_t)json_integer_value(json_array_get(percpu, i));
		if (read_head(dir, "cpuacct.stat", buf) && hz > 0) {
			kv = hamn_stats_parse_kv(buf);
			r.user = kv_get(kv, "user") * (NS_PER_SEC / (uint64_t)hz);
			r.sys = kv_get(kv, "system") * (NS_PER_SEC / (uint64_t)hz);
		}
	} else {
		return NULL;
	}
	sys_cpu = read_head(NULL, "/proc/stat", buf) ? hamn_stats_system_cpu(buf, hz) : 0;
	r.percpu = percpu;
	return cpu_stats_json(r, sys_cpu, online_cpus);
}

void ctr_stats_started(struct hamn_engine *e, struct container *c)
{
	_cleanup_json_ json_t *s = NULL;
	char now[HAMN_TIME_STR_MAX];
	json_t *old, *cpu;
	pid_t pid;

	pthread_mutex_lock(&e->lock);
	pid = c->st.status == ST_RUNNING ? c->st.pid : 0;
	pthread_mutex_unlock(&e->lock);
	if (pid <= 0)
		return;
	cpu = start_cpu_stats(pid);
	if (!cpu)
		return;
	s = json_pack("{s:s, s:o}", "read", hamn_time_format(hamn_now_ns(), now), "cpu_stats", cpu);
	pthread_mutex_lock(&e->lock);
	old = last_swap_locked(c, pid, s, 0);
	pthread_mutex_unlock(&e->lock);
	if (old)
		json_decref(old);
}

/* A sample of ref; with prev_out, the last one kept (see hamn_engine_container_stats_last). */
static json_t *sample(struct hamn_engine *e, const char *ref, int64_t min_age_ns,
		      bool *running_out, json_t **prev_out, struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	_cleanup_json_ json_t *prev = NULL;
	_cleanup_free_ char *name = NULL;
	char id[ID_LEN + 1];
	bool running, own_net;
	json_t *s;
	pid_t pid;

	if (!c)
		return NULL;
	pthread_mutex_lock(&e->lock);
	running = (c->st.status == ST_RUNNING || c->st.status == ST_PAUSED) && c->st.pid > 0;
	pid = c->st.pid;
	name = xstrdup(c->name);
	memcpy(id, c->id, sizeof(id));
	own_net = !c->cfg.net_host;
	pthread_mutex_unlock(&e->lock);
	if (running_out)
		*running_out = running;
	if (!running) {
		struct cg_dirs none = { 0 };

		ctr_put(e, c);
		return sample_skeleton(name, id, &none, false);
	}
	s = sample_running(name, id, pid, own_net);
	pthread_mutex_lock(&e->lock);
	prev = last_swap_locked(c, pid, s, min_age_ns);
	pthread_mutex_unlock(&e->lock);
	ctr_put(e, c);
	if (prev_out)
		*prev_out = steal_pointer(&prev);
	return s;
}

json_t *hamn_engine_container_stats(struct hamn_engine *e, const char *ref, bool *running_out,
				    struct hamn_error **err)
{
	return sample(e, ref, 0, running_out, NULL, err);
}

json_t *hamn_engine_container_stats_last(struct hamn_engine *e, const char *ref,
					 int64_t min_age_ms, bool *running_out, bool *has_prev_out,
					 struct hamn_error **err)
{
	_cleanup_json_ json_t *prev = NULL;
	json_t *s = sample(e, ref, min_age_ms * 1000000, running_out, &prev, err);

	*has_prev_out = s && prev;
	if (s && prev)
		hamn_stats_set_previous(s, prev);
	return s;
}

void hamn_stats_set_previous(json_t *cur, const json_t *prev)
{
	json_t *cpu = json_object_get(prev, "cpu_stats");
	json_t *read = json_object_get(prev, "read");

	if (!prev)
		return;
	if (cpu)
		json_object_set_new(cur, "precpu_stats", json_deep_copy(cpu));
	if (read)
		json_object_set(cur, "preread", read);
}

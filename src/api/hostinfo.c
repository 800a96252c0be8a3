/*
 * hostinfo.c - facts about the host for /version and /info: architecture,
 * OS release, CPUs, memory, cgroup version and controllers, filesystems.
 * Everything is read from the kernel at request time; nothing is made up.
 */
#include "api/internal.h"

#include <ctype.h>
#include <dirent.h>
#include <sched.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const char *api_go_arch(const char *machine)
{
	static const char *const map[][2] = {
		{"x86_64", "amd64"},	{"aarch64", "arm64"}, {"armv7l", "arm"},
		{"armv6l", "arm"},	{"i686", "386"},      {"i386", "386"},
		{"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (streq(machine, map[i][0]))
			return map[i][1];
	return machine;
}

/* The line after line, or NULL at the end of text. */
static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl && nl[1] ? nl + 1 : NULL;
}

/* KEY=value or KEY="value" from os-release text; NULL when absent. */
static char *os_release_value(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = text; line; line = next_line(line)) {
		size_t len = strcspn(line, "\n");
		const char *v = line + klen + 1;
		size_t vlen = len - klen - 1;

		if (len <= klen || strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
			v++;
			vlen -= 2;
		}
		return xstrndup(v, vlen);
	}
	return NULL;
}

char *api_os_release(const char *key)
{
	static const char *const paths[] = {"/etc/os-release", "/usr/lib/os-release"};

	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *text = NULL;
		_cleanup_error_ struct hamn_error *err = NULL;
		size_t len = 0;

		if (hamn_read_file(AT_FDCWD, paths[i], 64 << 10, &text, &len, &err) == 0)
			return os_release_value(text, key);
	}
	return NULL;
}

/* CPUs this process may run on, as Go's runtime.NumCPU() and nproc count them. */
int api_ncpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

int64_t api_mem_total(void)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return 0;
	return (int64_t)si.totalram * (int64_t)si.mem_unit;
}

bool api_cgroup_v2(void)
{
	struct statfs sfs;

	return statfs("/sys/fs/cgroup", &sfs) == 0 &&
	       (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* Is name a word of the space-separated list line (cgroup.controllers)? */
static bool has_word(const char *line, const char *name)
{
	size_t n = strlen(name);

	for (const char *w = line; (w = strstr(w, name)); w += n)
		if ((w == line || w[-1] == ' ') && (!w[n] || isspace((unsigned char)w[n])))
			return true;
	return false;
}

/* Is a controller enabled: /proc/cgroups for v1, cgroup.controllers for v2? */
static bool have_controller(const char *name, bool v2)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	size_t len = 0, n = strlen(name);

	if (hamn_read_file(AT_FDCWD, v2 ? "/sys/fs/cgroup/cgroup.controllers" : "/proc/cgroups",
			   1 << 16, &text, &len, &err) < 0)
		return false;
	if (v2)
		return has_word(text, name);
	/* lines of "name hierarchy num_cgroups enabled" */
	for (const char *p = text; p; p = next_line(p)) {
		int enabled = 0;

		if (strncmp(p, name, n) == 0 && p[n] == '\t' &&
		    sscanf(p + n, "%*d %*d %d", &enabled) == 1)
			return enabled == 1;
	}
	return false;
}

void api_cgroup_features(json_t *info, json_t *warnings)
{
	bool v2 = api_cgroup_v2();
	bool mem = have_controller("memory", v2);
	bool cpu = have_controller("cpu", v2);
	bool swap =
		v2 ? mem : access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;

	json_object_set_new(info, "MemoryLimit", json_boolean(mem));
	json_object_set_new(info, "SwapLimit", json_boolean(swap));
	json_object_set_new(info, "KernelMemory", json_false());
	json_object_set_new(info, "KernelMemoryTCP", json_false());
	json_object_set_new(info, "CpuCfsPeriod", json_boolean(cpu));
	json_object_set_new(info, "CpuCfsQuota", json_boolean(cpu));
	json_object_set_new(info, "CPUShares", json_boolean(cpu));
	json_object_set_new(info, "CPUSet", json_boolean(have_controller("cpuset", v2)));
	json_object_set_new(info, "PidsLimit", json_boolean(have_controller("pids", v2)));
	json_object_set_new(info, "OomKillDisable", json_boolean(mem && !v2));
	json_object_set_new(info, "CgroupVersion", json_string(v2 ? "2" : "1"));
	if (!mem)
		json_array_append_new(warnings, json_string("WARNING: No memory limit support"));
	if (!swap)
		json_array_append_new(warnings, json_string("WARNING: No swap limit support"));
}

const char *api_fs_name(const char *path)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} fs[] = {
		{0xEF53, "extfs"},     {0x58465342, "xfs"},	  {0x9123683E, "btrfs"},
		{0x01021994, "tmpfs"}, {0x794c7630, "overlayfs"}, {0x2fc12fc1, "zfs"},
		{0xF2F52010, "f2fs"},  {0x6969, "nfs"},
	};
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return "<unknown>";
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if ((unsigned long)sfs.f_type == fs[i].magic)
			return fs[i].name;
	return "<unknown>";
}

/* A /proc/sys style file holding "1"? */
bool api_read_flag(const char *path)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	size_t len = 0;

	return hamn_read_file(AT_FDCWD, path, 64, &text, &len, &err) == 0 && text[0] == '1';
}

int api_count_fds(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	return n - 1; /* the directory's own fd */
}

int api_count_threads(void)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	size_t len = 0;
	const char *p;

	if (hamn_read_file(AT_FDCWD, "/proc/self/status", 1 << 16, &text, &len, &err) < 0)
		return 0;
	p = strstr(text, "\nThreads:");
	return p ? atoi(p + strlen("\nThreads:")) : 0;
}

/* A proxy variable with any user:password hidden, as dockerd shows it. */
char *api_proxy_env(const char *upper, const char *lower)
{
	const char *v = getenv(upper);
	const char *scheme, *at;

	if (!v || !*v)
		v = getenv(lower);
	if (!v)
		return xstrdup("");
	scheme = strstr(v, "://");
	at = scheme ? strchr(scheme + 3, '@') : NULL;
	if (!at)
		return xstrdup(v);
	return xasprintf("%.*sxxxxx:xxxxx%s", (int)(scheme + 3 - v), v, at);
}

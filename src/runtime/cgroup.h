/*
 * cgroup.h - cgroups for containers, v1 and v2 behind one interface
 * (internal to src/runtime; the engine reaches stats through runtime.h).
 *
 * The version is detected at run time: a pure cgroup2 mount at
 * /sys/fs/cgroup is v2; anything else (v1 hierarchies, or the hybrid layout
 * with a cgroup2 mount at /sys/fs/cgroup/unified holding only hugetlb) is
 * driven through v1 for every controller. The v1/v2 backends sit behind an
 * ops struct chosen once (cgroup.c); callers never test the version.
 *
 * Placement: an absolute cgroupsPath ("/a/b") is taken relative to each
 * hierarchy's root; a relative one, or none, is placed under the caller's
 * own cgroup: <own>/hamn/<id> by default. Never at a hierarchy's root
 * unless cgroupsPath says so.
 */
#ifndef HAMN_RUNTIME_CGROUP_H
#define HAMN_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/oci.h"

struct hamn_cgroup;

enum hamn_cgroup_version {
	HAMN_CGROUP_V1 = 1,
	HAMN_CGROUP_V2 = 2,
};

/*
 * Which version drives controllers on this host (detected once).
 * HAMN_TEST_CGROUP_ROOT=<dir> replaces /sys/fs/cgroup with a fake tree of
 * plain files for unit tests (see cgroup_internal.h); never set it in
 * production.
 */
enum hamn_cgroup_version hamn_cgroup_detect(void);

/*
 * Describe the cgroup for container `id` with the given cgroupsPath (may be
 * NULL): reads /proc/self/cgroup (and, on v1, /proc/self/mountinfo) to decide
 * one directory per hierarchy. Nothing is created yet. EINVAL for an id with
 * '/' or "..", or a cgroupsPath that is "/", has "." / ".." components, or is
 * a systemd "slice:prefix:name" path (no systemd driver). The caller frees
 * the object (hamn_cgroup_free); it is not thread-safe.
 */
struct hamn_cgroup *hamn_cgroup_new(const char *id, const char *cgroups_path,
				    struct hamn_error **err);
void hamn_cgroup_free(struct hamn_cgroup *cg);
HAMN_DEFINE_CLEANUP(hamn_cgroup, hamn_cgroup_free)

/*
 * Create the cgroup (in every v1 hierarchy, or the v2 directory with the
 * needed controllers enabled in the parents) and apply res (may be NULL).
 * An existing leaf directory is reused. Device rules: deny all, then
 * res->devices in order; the caller puts the default devices (null, zero,
 * ..., pts) and linux.devices there. v1: devices.deny / devices.allow; v2:
 * an eBPF BPF_CGROUP_DEVICE program (last matching rule
 * wins). On failure nothing is left behind. On v2, EBUSY means the parent
 * cgroup holds processes itself and cannot delegate controllers.
 */
int hamn_cgroup_create(struct hamn_cgroup *cg, const struct hamn_oci_resources *res,
		       struct hamn_error **err);
/*
 * Re-apply limits on a live cgroup (update): only what res sets is written;
 * device rules are replaced only when res has some. res NULL: no-op.
 */
int hamn_cgroup_update(struct hamn_cgroup *cg, const struct hamn_oci_resources *res,
		       struct hamn_error **err);
/* Move pid into the cgroup (every hierarchy; writes cgroup.procs, so the whole thread group). */
int hamn_cgroup_enter(struct hamn_cgroup *cg, pid_t pid, struct hamn_error **err);
/*
 * v2 only: an O_DIRECTORY|O_CLOEXEC fd of the cgroup for
 * clone3(CLONE_INTO_CGROUP). The fd belongs to cg (valid until
 * hamn_cgroup_destroy or hamn_cgroup_free; do not close it). -1 with errno
 * set on v1 (EOPNOTSUPP) or when the directory cannot be opened.
 */
int hamn_cgroup_dirfd(struct hamn_cgroup *cg);
/*
 * Freeze or thaw every process (freezer on v1, cgroup.freeze on v2); waits
 * until the kernel reports the state (at most 10 s, then EBUSY, and a failed
 * freeze is thawed again). EOPNOTSUPP on v1 without a freezer hierarchy.
 */
int hamn_cgroup_freeze(struct hamn_cgroup *cg, bool frozen, struct hamn_error **err);
/* Is the cgroup frozen now? (false without a freezer) */
int hamn_cgroup_is_frozen(struct hamn_cgroup *cg, bool *out, struct hamn_error **err);
/*
 * Pids in the cgroup (recursively), as seen from the caller's pid
 * namespace. *pids_out is a new array.
 */
int hamn_cgroup_pids(struct hamn_cgroup *cg, pid_t **pids_out, size_t *n_out,
		     struct hamn_error **err);
/*
 * Send sig to every process in the cgroup. SIGKILL: cgroup.kill where the
 * kernel has it (v2), else freeze, signal, thaw, so nothing forks in
 * between and frozen tasks die too. Other signals: to each pid listed
 * (a paused container gets them when resumed). ESRCH is not an error.
 */
int hamn_cgroup_kill_all(struct hamn_cgroup *cg, int sig, struct hamn_error **err);
/*
 * Remove the cgroup directories (all hierarchies): nested cgroups first,
 * then the leaf, then the parents hamn made (<own>/hamn when it is empty).
 * ENOENT is success; EBUSY (after brief retries) if processes remain.
 */
int hamn_cgroup_destroy(struct hamn_cgroup *cg, struct hamn_error **err);

/*
 * Persist/restore what hamn_cgroup_new decided (paths), for state.json, so a
 * later process (delete, kill, ps) finds the same directories. Call to_json
 * after hamn_cgroup_create: it also records which directories hamn made
 * (only those are removed by destroy). to_json returns a new reference.
 * from_json refuses (EINVAL) directories outside the cgroup mount or with
 * ".." components.
 */
json_t *hamn_cgroup_to_json(const struct hamn_cgroup *cg);
struct hamn_cgroup *hamn_cgroup_from_json(json_t *obj, struct hamn_error **err);

struct hamn_cgroup_stats {
	/* Missing files (controller absent) leave 0. */
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	uint64_t cpu_throttled_periods, cpu_periods, cpu_throttled_ns;
	uint64_t mem_usage;
	uint64_t mem_limit;	/* 0 = unlimited */
	uint64_t mem_max_usage, mem_cache, mem_rss;
	uint64_t mem_failcnt;
	uint64_t oom_kills;		/* memory.oom_control oom_kill / memory.events oom_kill */
	uint64_t pids_current, pids_limit;	/* limit 0 = unlimited */
	uint64_t blkio_read_bytes, blkio_write_bytes;
};
/* Read the counters now (v1: cpuacct, cpu, memory, pids, blkio; v2: cpu, memory, pids, io). */
int hamn_cgroup_stats(struct hamn_cgroup *cg, struct hamn_cgroup_stats *out,
		      struct hamn_error **err);

/*
 * Pure translation helpers (unit-tested): v1 cpu.shares -> v2 cpu.weight
 * (0 stays 0 = unset; clamped to [2, 262144] -> [1, 10000]), blkio weight
 * -> io.weight ([10, 1000] -> [1, 10000]), and the v2 "cpu.max" text for
 * quota/period (quota <= 0 is "max", period 0 is 100000).
 */
uint64_t hamn_cgroup_shares_to_weight(uint64_t shares);
uint64_t hamn_cgroup_blkio_to_io_weight(uint16_t weight);
/* "max 100000" or "50000 100000"; buf >= 64 bytes. */
void hamn_cgroup_cpu_max(int64_t quota, uint64_t period, char *buf, size_t len);

#endif

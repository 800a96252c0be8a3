/*
 * stats.h - resource use of running containers for GET /containers/{id}/stats
 * (src/engine/stats.c), in the shape of dockerd's types.StatsJSON (API 1.41).
 *
 * A sample is read straight from the container's cgroup files (v1:
 * cpuacct, cpu, memory, pids, blkio; v2: the one directory), from
 * /proc/stat for the host's CPU time and from /proc/<init>/net/dev for the
 * interfaces of the container's network namespace. Nothing is executed and
 * no daemon thread samples in the background: each call costs a handful of
 * small file reads. The CPU part of each running container's last sample
 * is kept (one small object per container) for stream=0.
 */
#ifndef HAMN_ENGINE_STATS_H
#define HAMN_ENGINE_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

struct hamn_engine;

/*
 * One sample of ref (a container reference) as a new stats object: read,
 * preread (the zero time), pids_stats, blkio_stats, num_procs,
 * storage_stats, cpu_stats, precpu_stats (zero values), memory_stats, name
 * ("/name"), id, and networks when the container has interfaces of its own.
 * A container that is not running gives dockerd's empty object: zero times
 * and values, only name and id filled; *running_out (may be NULL) says
 * which. ENOENT for an unknown ref. Thread-safe.
 */
json_t *hamn_engine_container_stats(struct hamn_engine *e, const char *ref, bool *running_out,
				    struct hamn_error **err);

/* stream=0: a kept sample at least this old may serve as precpu_stats. */
#define HAMN_STATS_MIN_PREV_MS 100

/*
 * As hamn_engine_container_stats, and for a running container also with
 * precpu_stats and preread from the last sample kept of this run (taken by
 * any stats request, or when it started) when that one is at least
 * min_age_ms old: *has_prev_out says whether it was. Every sample of a
 * running container replaces the one kept. Thread-safe.
 */
json_t *hamn_engine_container_stats_last(struct hamn_engine *e, const char *ref,
					 int64_t min_age_ms, bool *running_out, bool *has_prev_out,
					 struct hamn_error **err);

/*
 * Make prev's cpu_stats and read cur's precpu_stats and preread, as
 * dockerd does between two samples of a stream. prev NULL leaves cur as it
 * is. cur is changed in place.
 */
void hamn_stats_set_previous(json_t *cur, const json_t *prev);

/* ---- pure helpers (unit-tested) ---- */

/*
 * /proc/<pid>/net/dev text to docker's "networks" object: one member per
 * interface but lo, with rx/tx bytes, packets, errors and dropped. A new
 * object (empty when there is no interface).
 */
json_t *hamn_stats_parse_net_dev(const char *text);
/* "key value" lines (memory.stat, cpu.stat) into a new object of numbers. */
json_t *hamn_stats_parse_kv(const char *text);
/*
 * The host's CPU time from /proc/stat's "cpu" line in nanoseconds, as
 * dockerd counts it: user + nice + system + idle + iowait + irq + softirq,
 * converted from clock ticks of hz per second. 0 when there is no such line.
 */
uint64_t hamn_stats_system_cpu(const char *text, long hz);
/*
 * blkio.throttle.io_service_bytes_recursive (or io_serviced) text, v1: a
 * new array of {"major","minor","op","value"}; lines without a device
 * ("Total 0") are skipped.
 */
json_t *hamn_stats_parse_blkio(const char *text);
/*
 * v2 io.stat text: new arrays for io_service_bytes_recursive (rbytes,
 * wbytes as "read", "write") and io_serviced_recursive (rios, wios).
 */
void hamn_stats_parse_io_stat(const char *text, json_t **bytes_out, json_t **ios_out);
/* cpuacct.usage_percpu text ("12 34 0") to a new array of numbers. */
json_t *hamn_stats_parse_percpu(const char *text);
/*
 * The directory of controller (a v1 name such as "memory"; "" for v2) of a
 * process, from its /proc/<pid>/cgroup text and our /proc/self/mountinfo
 * text: the mount of that hierarchy plus the process's path in it (the
 * mount's root stripped). A new string, or NULL when the controller is not
 * mounted or the process is not in that hierarchy.
 */
char *hamn_stats_cgroup_dir(const char *mountinfo, const char *proc_cgroup,
			    const char *controller);

#endif

/*
 * resources.h - linux.resources of config.json as plain data (cgroup limits).
 * Included through oci/oci.h. Every field has a has_ flag or a sentinel so
 * that "not set" (leave the kernel default) differs from zero.
 */
#ifndef HAMN_OCI_RESOURCES_H
#define HAMN_OCI_RESOURCES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct hamn_oci_device_rule {
	bool allow;
	char type;		/* 'a', 'c' or 'b'; 'a' when absent */
	int64_t major, minor;	/* -1 = wildcard '*' (absent or -1) */
	char access[4];		/* subset of "rwm" in that order; "rwm" when absent or "" */
};

struct hamn_oci_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct hamn_oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct hamn_oci_resources {
	struct hamn_oci_device_rule *devices;
	size_t n_devices;

	/* memory (bytes; -1 = unlimited where the spec allows it) */
	bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_swappiness;
	int64_t memory_limit, memory_reservation, memory_swap;
	uint64_t memory_swappiness;
	bool has_kernel_memory;
	int64_t kernel_memory;
	bool disable_oom_killer;

	/* cpu */
	bool has_cpu_shares, has_cpu_quota, has_cpu_period, has_cpu_rt_runtime, has_cpu_rt_period;
	uint64_t cpu_shares;
	int64_t cpu_quota;
	uint64_t cpu_period;
	int64_t cpu_rt_runtime;
	uint64_t cpu_rt_period;
	char *cpuset_cpus;	/* NULL when unset */
	char *cpuset_mems;

	/* pids */
	bool has_pids_limit;
	int64_t pids_limit;	/* -1 or 0 = unlimited ("max") as in the spec */

	/* block io */
	bool has_blkio_weight, has_blkio_leaf_weight;
	uint16_t blkio_weight, blkio_leaf_weight;
	struct hamn_oci_weight_device *blkio_weight_devices;
	size_t n_blkio_weight_devices;
	struct hamn_oci_throttle_device *throttle_read_bps, *throttle_write_bps;
	struct hamn_oci_throttle_device *throttle_read_iops, *throttle_write_iops;
	size_t n_throttle_read_bps, n_throttle_write_bps;
	size_t n_throttle_read_iops, n_throttle_write_iops;

	/* hugepage limits: pagesize "2MB" -> limit */
	struct {
		char *page_size;
		uint64_t limit;
	} *hugepage_limits;
	size_t n_hugepage_limits;

	/* cgroup v2 "unified" key/value pairs, applied verbatim on v2 only */
	char **unified_keys;
	char **unified_values;
	size_t n_unified;
};

/*
 * Parse linux.resources (EINVAL with "linux.resources.<field>" in the
 * message). Values written into cgroup files are checked so none can carry a
 * path or a second line: cpuset lists ("" counts as unset), hugepage sizes
 * ("2MB"), unified keys (plain file names like "memory.high").
 * Network, rdma, cpu burst/idle and memory kernelTCP/useHierarchy are ignored.
 */
struct hamn_oci_resources *hamn_oci_resources_parse(json_t *obj, struct hamn_error **err);
/* Back to JSON (new reference); parse(emit(r)) equals r. Big integers as in oci.h. */
json_t *hamn_oci_resources_to_json(const struct hamn_oci_resources *r);
void hamn_oci_resources_free(struct hamn_oci_resources *r);

#endif

/*
 * resources.c - linux.resources of config.json (cgroup limits) as plain data.
 *
 * Values the runtime writes into cgroup files are checked here so that none
 * can carry a second line or a path: cpuset lists are digits, commas and
 * dashes; hugepage sizes look like "2MB"; unified keys are plain file names.
 * Network and rdma limits, cpu burst/idle and memory kernelTCP are not
 * supported and are ignored like any unknown field.
 */
#include "oci/internal.h"

#define P "linux.resources"

/* ---- devices ---- */

static int parse_access(json_t *obj, const char *path, struct hamn_oci_device_rule *d,
			struct hamn_error **err)
{
	_cleanup_free_ char *access = NULL;
	bool r = false, w = false, m = false;
	size_t n = 0;

	if (oci_get_string(obj, path, "access", false, &access, err) < 0)
		return -1;
	/* no access given means all of it, as for the deny-all rule {"allow": false} */
	if (!access || !access[0]) {
		memcpy(d->access, "rwm", 4);
		return 0;
	}
	for (const char *c = access; *c; c++) {
		if (*c == 'r')
			r = true;
		else if (*c == 'w')
			w = true;
		else if (*c == 'm')
			m = true;
		else
			return oci_fail(err, path, "access", "'%s' is not a subset of 'rwm'",
					access);
	}
	if (r)
		d->access[n++] = 'r';
	if (w)
		d->access[n++] = 'w';
	if (m)
		d->access[n++] = 'm';
	d->access[n] = '\0';
	return 0;
}

static int parse_device_rule(json_t *obj, const char *path, struct hamn_oci_device_rule *d,
			     struct hamn_error **err)
{
	_cleanup_free_ char *type = NULL;
	bool has_allow = false;

	if (oci_require_object(obj, path, err) < 0)
		return -1;
	has_allow = oci_member(obj, "allow") != NULL;
	if (!has_allow)
		return oci_fail(err, path, "allow", "required");
	if (oci_get_bool(obj, path, "allow", &d->allow, err) < 0 ||
	    oci_get_string(obj, path, "type", false, &type, err) < 0)
		return -1;
	d->type = type && type[0] ? type[0] : 'a';
	if (type && type[0] && (strlen(type) != 1 || !strchr("acb", type[0])))
		return oci_fail(err, path, "type", "unknown device type '%s'", type);
	d->major = d->minor = -1;
	if (oci_get_int(obj, path, "major", -1, UINT32_MAX, NULL, &d->major, err) < 0 ||
	    oci_get_int(obj, path, "minor", -1, UINT32_MAX, NULL, &d->minor, err) < 0)
		return -1;
	return parse_access(obj, path, d, err);
}

static int parse_device_rules(json_t *res, struct hamn_oci_resources *r, struct hamn_error **err)
{
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(res, P, "devices", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	r->devices = xcalloc(json_array_size(arr) + 1, sizeof(*r->devices));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(P ".devices", i);

		if (parse_device_rule(item, ipath, &r->devices[i], err) < 0)
			return -1;
		r->n_devices = i + 1;
	}
	return 0;
}

/* ---- memory, cpu, pids ---- */

static int parse_memory(json_t *res, struct hamn_oci_resources *r, struct hamn_error **err)
{
	const char *path = P ".memory";
	const struct {
		const char *key;
		bool *has;
		int64_t *value;
	} bytes[] = {
		{"limit", &r->has_memory_limit, &r->memory_limit},
		{"reservation", &r->has_memory_reservation, &r->memory_reservation},
		{"swap", &r->has_memory_swap, &r->memory_swap},
		{"kernel", &r->has_kernel_memory, &r->kernel_memory},
	};
	json_t *m;

	if (oci_get_object(res, P, "memory", &m, err) < 0)
		return -1;
	if (!m)
		return 0;
	/* -1 is "unlimited" for each of them */
	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
		if (oci_get_int(m, path, bytes[i].key, -1, INT64_MAX, bytes[i].has, bytes[i].value,
				err) < 0)
			return -1;
	if (oci_get_uint(m, path, "swappiness", 100, &r->has_memory_swappiness,
			 &r->memory_swappiness, err) < 0 ||
	    oci_get_bool(m, path, "disableOOMKiller", &r->disable_oom_killer, err) < 0)
		return -1;
	return 0;
}

/* A cpuset list such as "0-3,8": written verbatim to cpuset.cpus / cpuset.mems. */
static int parse_cpuset(json_t *cpu, const char *key, char **out, struct hamn_error **err)
{
	if (oci_get_string(cpu, P ".cpu", key, false, out, err) < 0)
		return -1;
	if (*out && !(*out)[0]) {
		free(*out);
		*out = NULL;
	}
	if (*out && strspn(*out, "0123456789,-") != strlen(*out))
		return oci_fail(err, P ".cpu", key, "'%s' is not a cpu list", *out);
	return 0;
}

static int parse_cpu(json_t *res, struct hamn_oci_resources *r, struct hamn_error **err)
{
	const char *path = P ".cpu";
	const struct {
		const char *key;
		bool *has;
		int64_t *value;
	} signed_fields[] = {
		/* -1 is "no limit" to the kernel */
		{"quota", &r->has_cpu_quota, &r->cpu_quota},
		{"realtimeRuntime", &r->has_cpu_rt_runtime, &r->cpu_rt_runtime},
	};
	const struct {
		const char *key;
		bool *has;
		uint64_t *value;
	} unsigned_fields[] = {
		{"shares", &r->has_cpu_shares, &r->cpu_shares},
		{"period", &r->has_cpu_period, &r->cpu_period},
		{"realtimePeriod", &r->has_cpu_rt_period, &r->cpu_rt_period},
	};
	json_t *c;

	if (oci_get_object(res, P, "cpu", &c, err) < 0)
		return -1;
	if (!c)
		return 0;
	for (size_t i = 0; i < sizeof(signed_fields) / sizeof(signed_fields[0]); i++)
		if (oci_get_int(c, path, signed_fields[i].key, -1, INT64_MAX, signed_fields[i].has,
				signed_fields[i].value, err) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(unsigned_fields) / sizeof(unsigned_fields[0]); i++)
		if (oci_get_uint(c, path, unsigned_fields[i].key, UINT64_MAX,
				 unsigned_fields[i].has, unsigned_fields[i].value, err) < 0)
			return -1;
	if (parse_cpuset(c, "cpus", &r->cpuset_cpus, err) < 0 ||
	    parse_cpuset(c, "mems", &r->cpuset_mems, err) < 0)
		return -1;
	return 0;
}

static int parse_pids(json_t *res, struct hamn_oci_resources *r, struct hamn_error **err)
{
	json_t *p;

	if (oci_get_object(res, P, "pids", &p, err) < 0)
		return -1;
	if (!p)
		return 0;
	if (oci_get_int_req(p, P ".pids", "limit", -1, INT64_MAX, &r->pids_limit, err) < 0)
		return -1;
	r->has_pids_limit = true;
	return 0;
}

/* ---- block io ---- */

static int parse_weight_device(json_t *obj, const char *path, struct hamn_oci_weight_device *d,
			       struct hamn_error **err)
{
	int64_t w = 0, lw = 0;

	if (oci_require_object(obj, path, err) < 0 ||
	    oci_get_int_req(obj, path, "major", 0, UINT32_MAX, &d->major, err) < 0 ||
	    oci_get_int_req(obj, path, "minor", 0, UINT32_MAX, &d->minor, err) < 0 ||
	    oci_get_int(obj, path, "weight", 0, UINT16_MAX, &d->has_weight, &w, err) < 0 ||
	    oci_get_int(obj, path, "leafWeight", 0, UINT16_MAX, &d->has_leaf_weight, &lw, err) < 0)
		return -1;
	d->weight = w;
	d->leaf_weight = lw;
	return 0;
}

static int parse_weight_devices(json_t *bio, struct hamn_oci_resources *r, struct hamn_error **err)
{
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(bio, P ".blockIO", "weightDevice", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	r->blkio_weight_devices =
		xcalloc(json_array_size(arr) + 1, sizeof(*r->blkio_weight_devices));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(P ".blockIO.weightDevice", i);

		if (parse_weight_device(item, ipath, &r->blkio_weight_devices[i], err) < 0)
			return -1;
		r->n_blkio_weight_devices = i + 1;
	}
	return 0;
}

static int parse_throttle(json_t *bio, const char *key, struct hamn_oci_throttle_device **out,
			  size_t *n, struct hamn_error **err)
{
	_cleanup_free_ char *apath = oci_path_key(P ".blockIO", key);
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(bio, P ".blockIO", key, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	*out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);
		struct hamn_oci_throttle_device *d = &(*out)[i];

		if (oci_require_object(item, ipath, err) < 0 ||
		    oci_get_int_req(item, ipath, "major", 0, UINT32_MAX, &d->major, err) < 0 ||
		    oci_get_int_req(item, ipath, "minor", 0, UINT32_MAX, &d->minor, err) < 0 ||
		    oci_get_uint_req(item, ipath, "rate", UINT64_MAX, &d->rate, err) < 0)
			return -1;
		*n = i + 1;
	}
	return 0;
}

static int parse_blkio(json_t *res, struct hamn_oci_resources *r, struct hamn_error **err)
{
	const char *path = P ".blockIO";
	int64_t w = 0, lw = 0;
	json_t *b;

	if (oci_get_object(res, P, "blockIO", &b, err) < 0)
		return -1;
	if (!b)
		return 0;
	if (oci_get_int(b, path, "weight", 0, UINT16_MAX, &r->has_blkio_weight, &w, err) < 0 ||
	    oci_get_int(b, path, "leafWeight", 0, UINT16_MAX, &r->has_blkio_leaf_weight, &lw, err) <
		    0)
		return -1;
	r->blkio_weight = w;
	r->blkio_leaf_weight = lw;
	if (parse_weight_devices(b, r, err) < 0 ||
	    parse_throttle(b, "throttleReadBpsDevice", &r->throttle_read_bps,
			   &r->n_throttle_read_bps, err) < 0 ||
	    parse_throttle(b, "throttleWriteBpsDevice", &r->throttle_write_bps,
			   &r->n_throttle_write_bps, err) < 0 ||
	    parse_throttle(b, "throttleReadIOPSDevice", &r->throttle_read_iops,
			   &r->n_throttle_read_iops, err) < 0 ||
	    parse_throttle(b, "throttleWriteIOPSDevice", &r->throttle_write_iops,
			   &r->n_throttle_write_iops, err) < 0)
		return -1;
	return 0;
}

/* ---- hugepages, unified ---- */

/* "2MB", "1GB", "64KB": it becomes part of a cgroup file name. */
static bool page_size_ok(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	if (digits == 0 || digits > 12)
		return false;
	s += digits;
	if (*s && strchr("KMGTPE", *s))
		s++;
	return strcmp(s, "B") == 0;
}

static int parse_hugepages(json_t *res, struct hamn_oci_resources *r, struct hamn_error **err)
{
	json_t *arr, *item;
	size_t i;

	if (oci_get_array(res, P, "hugepageLimits", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	r->hugepage_limits = xcalloc(json_array_size(arr) + 1, sizeof(*r->hugepage_limits));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(P ".hugepageLimits", i);

		r->n_hugepage_limits = i + 1;
		if (oci_require_object(item, ipath, err) < 0 ||
		    oci_get_string(item, ipath, "pageSize", true, &r->hugepage_limits[i].page_size,
				   err) < 0)
			return -1;
		if (!page_size_ok(r->hugepage_limits[i].page_size))
			return oci_fail(err, ipath, "pageSize",
					"'%s' is not a page size like '2MB'",
					r->hugepage_limits[i].page_size);
		if (oci_get_uint_req(item, ipath, "limit", UINT64_MAX, &r->hugepage_limits[i].limit,
				     err) < 0)
			return -1;
	}
	return 0;
}

/* "memory.high", "io.max": a file directly in the container's cgroup directory. */
static bool unified_key_ok(const char *k)
{
	size_t len = strlen(k);

	return len > 0 && len < 256 && k[0] != '.' && strchr(k, '.') &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
		       len;
}

static int parse_unified(json_t *res, struct hamn_oci_resources *r, struct hamn_error **err)
{
	const char *key;
	json_t *obj, *v;

	if (oci_get_object(res, P, "unified", &obj, err) < 0)
		return -1;
	if (!obj)
		return 0;
	r->unified_keys = xcalloc(json_object_size(obj) + 1, sizeof(char *));
	r->unified_values = xcalloc(json_object_size(obj) + 1, sizeof(char *));
	json_object_foreach(obj, key, v) {
		if (!unified_key_ok(key))
			return oci_fail(err, P ".unified", key, "not a cgroup file name");
		if (oci_string(v, P ".unified", key, &r->unified_values[r->n_unified], err) < 0)
			return -1;
		r->unified_keys[r->n_unified++] = xstrdup(key);
	}
	return 0;
}

struct hamn_oci_resources *hamn_oci_resources_parse(json_t *obj, struct hamn_error **err)
{
	struct hamn_oci_resources *r = xzalloc(sizeof(*r));

	if (oci_require_object(obj, P, err) < 0 || parse_device_rules(obj, r, err) < 0 ||
	    parse_memory(obj, r, err) < 0 || parse_cpu(obj, r, err) < 0 ||
	    parse_pids(obj, r, err) < 0 || parse_blkio(obj, r, err) < 0 ||
	    parse_hugepages(obj, r, err) < 0 || parse_unified(obj, r, err) < 0) {
		hamn_oci_resources_free(r);
		return NULL;
	}
	return r;
}

void hamn_oci_resources_free(struct hamn_oci_resources *r)
{
	if (!r)
		return;
	free(r->devices);
	free(r->cpuset_cpus);
	free(r->cpuset_mems);
	free(r->blkio_weight_devices);
	free(r->throttle_read_bps);
	free(r->throttle_write_bps);
	free(r->throttle_read_iops);
	free(r->throttle_write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	hamn_strv_free(r->unified_keys);
	hamn_strv_free(r->unified_values);
	free(r);
}

/* ---- emit ---- */

static json_t *device_rules_to_json(const struct hamn_oci_resources *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_devices; i++) {
		const struct hamn_oci_device_rule *d = &r->devices[i];
		json_t *obj = json_object();

		json_object_set_new(obj, "allow", json_boolean(d->allow));
		json_object_set_new(obj, "type", json_stringn(&d->type, 1));
		if (d->major >= 0)
			json_object_set_new(obj, "major", json_integer(d->major));
		if (d->minor >= 0)
			json_object_set_new(obj, "minor", json_integer(d->minor));
		json_object_set_new(obj, "access", json_string(d->access));
		json_array_append_new(arr, obj);
	}
	return arr;
}

/* Add key: v to *obj when has is set, creating *obj on first use. */
static void put_int(json_t **obj, const char *key, bool has, int64_t v)
{
	if (!has)
		return;
	if (!*obj)
		*obj = json_object();
	json_object_set_new(*obj, key, json_integer(v));
}

/* Add key: v (a big integer above INT64_MAX) to *obj when has is set, creating *obj. */
static void put_uint(json_t **obj, const char *key, bool has, uint64_t v)
{
	if (!has)
		return;
	if (!*obj)
		*obj = json_object();
	json_object_set_new(*obj, key, hamn_json_uint64_new(v));
}

static void put_obj(json_t *parent, const char *key, json_t *obj)
{
	if (obj)
		json_object_set_new(parent, key, obj);
}

static json_t *memory_to_json(const struct hamn_oci_resources *r)
{
	json_t *m = NULL;

	put_int(&m, "limit", r->has_memory_limit, r->memory_limit);
	put_int(&m, "reservation", r->has_memory_reservation, r->memory_reservation);
	put_int(&m, "swap", r->has_memory_swap, r->memory_swap);
	put_int(&m, "kernel", r->has_kernel_memory, r->kernel_memory);
	put_uint(&m, "swappiness", r->has_memory_swappiness, r->memory_swappiness);
	if (r->disable_oom_killer) {
		if (!m)
			m = json_object();
		json_object_set_new(m, "disableOOMKiller", json_true());
	}
	return m;
}

static json_t *cpu_to_json(const struct hamn_oci_resources *r)
{
	json_t *c = NULL;

	put_uint(&c, "shares", r->has_cpu_shares, r->cpu_shares);
	put_int(&c, "quota", r->has_cpu_quota, r->cpu_quota);
	put_uint(&c, "period", r->has_cpu_period, r->cpu_period);
	put_int(&c, "realtimeRuntime", r->has_cpu_rt_runtime, r->cpu_rt_runtime);
	put_uint(&c, "realtimePeriod", r->has_cpu_rt_period, r->cpu_rt_period);
	if (r->cpuset_cpus || r->cpuset_mems) {
		if (!c)
			c = json_object();
		if (r->cpuset_cpus)
			json_object_set_new(c, "cpus", json_string(r->cpuset_cpus));
		if (r->cpuset_mems)
			json_object_set_new(c, "mems", json_string(r->cpuset_mems));
	}
	return c;
}

static json_t *throttle_to_json(const struct hamn_oci_throttle_device *d, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr,
				      json_pack("{s:I, s:I, s:o}", "major", (json_int_t)d[i].major,
						"minor", (json_int_t)d[i].minor, "rate",
						hamn_json_uint64_new(d[i].rate)));
	return arr;
}

static json_t *weight_devices_to_json(const struct hamn_oci_resources *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const struct hamn_oci_weight_device *d = &r->blkio_weight_devices[i];
		json_t *obj = json_pack("{s:I, s:I}", "major", (json_int_t)d->major, "minor",
					(json_int_t)d->minor);

		put_int(&obj, "weight", d->has_weight, d->weight);
		put_int(&obj, "leafWeight", d->has_leaf_weight, d->leaf_weight);
		json_array_append_new(arr, obj);
	}
	return arr;
}

static json_t *blkio_to_json(const struct hamn_oci_resources *r)
{
	json_t *b = json_object();

	put_int(&b, "weight", r->has_blkio_weight, r->blkio_weight);
	put_int(&b, "leafWeight", r->has_blkio_leaf_weight, r->blkio_leaf_weight);
	if (r->blkio_weight_devices)
		json_object_set_new(b, "weightDevice", weight_devices_to_json(r));
	if (r->throttle_read_bps)
		json_object_set_new(b, "throttleReadBpsDevice",
				    throttle_to_json(r->throttle_read_bps, r->n_throttle_read_bps));
	if (r->throttle_write_bps)
		json_object_set_new(
			b, "throttleWriteBpsDevice",
			throttle_to_json(r->throttle_write_bps, r->n_throttle_write_bps));
	if (r->throttle_read_iops)
		json_object_set_new(
			b, "throttleReadIOPSDevice",
			throttle_to_json(r->throttle_read_iops, r->n_throttle_read_iops));
	if (r->throttle_write_iops)
		json_object_set_new(
			b, "throttleWriteIOPSDevice",
			throttle_to_json(r->throttle_write_iops, r->n_throttle_write_iops));
	if (json_object_size(b) == 0) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static json_t *hugepages_to_json(const struct hamn_oci_resources *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		json_t *limit = hamn_json_uint64_new(r->hugepage_limits[i].limit);

		json_array_append_new(arr,
				      json_pack("{s:s, s:o}", "pageSize",
						r->hugepage_limits[i].page_size, "limit", limit));
	}
	return arr;
}

static json_t *unified_to_json(const struct hamn_oci_resources *r)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < r->n_unified; i++)
		json_object_set_new(obj, r->unified_keys[i], json_string(r->unified_values[i]));
	return obj;
}

json_t *hamn_oci_resources_to_json(const struct hamn_oci_resources *r)
{
	json_t *obj = json_object();
	json_t *pids = NULL;

	if (r->devices)
		json_object_set_new(obj, "devices", device_rules_to_json(r));
	put_obj(obj, "memory", memory_to_json(r));
	put_obj(obj, "cpu", cpu_to_json(r));
	put_int(&pids, "limit", r->has_pids_limit, r->pids_limit);
	put_obj(obj, "pids", pids);
	put_obj(obj, "blockIO", blkio_to_json(r));
	if (r->hugepage_limits)
		json_object_set_new(obj, "hugepageLimits", hugepages_to_json(r));
	if (r->unified_keys)
		json_object_set_new(obj, "unified", unified_to_json(r));
	return obj;
}

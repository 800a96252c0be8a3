/*
 * spec.c - spec (write a default config.json), features, update.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

int cmd_spec(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	static const struct cli_flag f[] = {
		{"bundle", "b", true, false, "directory to write config.json to"},
		{"rootless", NULL, false, false, "accepted; the default spec is written"},
	};
	struct cli_args a;
	int r = -1;

	(void)c;
	if (cli_parse(argc, argv, f, N(f), 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("spec [options]",
			  "Write a default config.json (Docker's secure defaults).", f, N(f));
		r = 0;
	} else if (cli_need_args(&a, 0, 0, "spec", err) == 0) {
		_cleanup_free_ char *path =
			xasprintf("%s/config.json", a.value[0] ? a.value[0] : ".");
		_cleanup_json_ json_t *j = hamn_oci_default_spec_json();
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST)
			hamn_error_setq(err, EEXIST, "file %s exists: remove it first", path);
		else if (fd < 0)
			hamn_error_set(err, errno, "create '%s'", path);
		else if (hamn_write_all(fd, text, strlen(text), err) == 0 &&
			 hamn_write_all(fd, "\n", 1, err) == 0)
			r = 0;
		if (fd >= 0)
			close(fd);
		free(text);
	}
	cli_args_release(&a);
	return r;
}

int cmd_features(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	struct cli_args a;

	(void)c;
	if (cli_parse(argc, argv, NULL, 0, 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("features", "Print what this runtime supports, as JSON.", NULL, 0);
	} else {
		_cleanup_json_ json_t *j = hamn_runtime_features();
		cli_print_json(j);
	}
	cli_args_release(&a);
	return 0;
}

enum {
	U_RES,
	U_MEM,
	U_SWAP,
	U_RESV,
	U_KMEM,
	U_SHARES,
	U_PERIOD,
	U_QUOTA,
	U_RT_PERIOD,
	U_RT_RUNTIME,
	U_CPUS,
	U_MEMS,
	U_PIDS,
	U_BLKIO,
};

static const struct cli_flag update_flags[] = {
	[U_RES] = {"resources", "r", true, false, "a linux.resources JSON file ('-' for stdin)"},
	[U_MEM] = {"memory", NULL, true, false, "memory limit in bytes (k, m, g suffixes)"},
	[U_SWAP] = {"memory-swap", NULL, true, false, "memory plus swap limit (-1: unlimited)"},
	[U_RESV] = {"memory-reservation", NULL, true, false, "memory soft limit"},
	[U_KMEM] = {"kernel-memory", NULL, true, false, "kernel memory limit (v1)"},
	[U_SHARES] = {"cpu-shares", NULL, true, false, "relative CPU weight"},
	[U_PERIOD] = {"cpu-period", NULL, true, false, "CFS period in microseconds"},
	[U_QUOTA] = {"cpu-quota", NULL, true, false, "CFS quota in microseconds"},
	[U_RT_PERIOD] = {"cpu-rt-period", NULL, true, false, "realtime period"},
	[U_RT_RUNTIME] = {"cpu-rt-runtime", NULL, true, false, "realtime runtime"},
	[U_CPUS] = {"cpuset-cpus", NULL, true, false, "CPUs to use (0-3, 0,1)"},
	[U_MEMS] = {"cpuset-mems", NULL, true, false, "memory nodes to use"},
	[U_PIDS] = {"pids-limit", NULL, true, false, "maximum number of processes"},
	[U_BLKIO] = {"blkio-weight", NULL, true, false, "block IO weight (10-1000)"},
};

/* The flags as a linux.resources object, parsed by src/oci like a config's. */
static json_t *update_json(const struct cli_args *a, struct hamn_error **err)
{
	static const struct {
		int flag;
		const char *obj, *key;
		bool size;
	} map[] = {
		{U_MEM, "memory", "limit", true},
		{U_SWAP, "memory", "swap", true},
		{U_RESV, "memory", "reservation", true},
		{U_KMEM, "memory", "kernel", true},
		{U_SHARES, "cpu", "shares", false},
		{U_PERIOD, "cpu", "period", false},
		{U_QUOTA, "cpu", "quota", false},
		{U_RT_PERIOD, "cpu", "realtimePeriod", false},
		{U_RT_RUNTIME, "cpu", "realtimeRuntime", false},
		{U_PIDS, "pids", "limit", false},
		{U_BLKIO, "blockIO", "weight", false},
	};
	json_t *r = json_object();

	for (size_t i = 0; i < N(map); i++) {
		const char *v = a->value[map[i].flag];
		int64_t n;
		if (!v)
			continue;
		if (streq(v, "-1"))
			n = -1;
		else if ((map[i].size ? hamn_parse_size(v, &n, err)
				      : hamn_parse_int64(v, &n, err)) < 0)
			return json_decref(r),
			       hamn_error_wrap(err, "--%s", update_flags[map[i].flag].name), NULL;
		json_t *o = json_object_get(r, map[i].obj);
		if (!o)
			json_object_set_new(r, map[i].obj, o = json_object());
		json_object_set_new(o, map[i].key, json_integer(n));
	}
	if (a->value[U_CPUS] || a->value[U_MEMS]) {
		json_t *o = json_object_get(r, "cpu");
		if (!o)
			json_object_set_new(r, "cpu", o = json_object());
		if (a->value[U_CPUS])
			json_object_set_new(o, "cpus", json_string(a->value[U_CPUS]));
		if (a->value[U_MEMS])
			json_object_set_new(o, "mems", json_string(a->value[U_MEMS]));
	}
	return r;
}

int cmd_update(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	struct cli_args a;
	_cleanup_json_ json_t *j = NULL;
	struct hamn_oci_resources *res = NULL;
	int r = -1;

	if (cli_parse(argc, argv, update_flags, N(update_flags), 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("update [options] CONTAINER-ID",
			  "Change the resource limits of a container.", update_flags,
			  N(update_flags));
		cli_args_release(&a);
		return 0;
	}
	if (cli_need_args(&a, 1, 1, "update", err) < 0)
		goto out;
	if (a.value[U_RES])
		j = hamn_json_load_file_big(
			AT_FDCWD, streq(a.value[U_RES], "-") ? "/dev/stdin" : a.value[U_RES],
			1 << 20, err);
	else
		j = update_json(&a, err);
	if (!j || !(res = hamn_oci_resources_parse(j, err)))
		goto out;
	r = hamn_runtime_update(c->root, a.pos[0], res, err);
out:
	hamn_oci_resources_free(res);
	cli_args_release(&a);
	return r;
}

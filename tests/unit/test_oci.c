/*
 * test_oci.c - the OCI runtime config model of src/oci: parse, emit, the
 * default config, error paths, name tables, mount options, sysctl checks,
 * state. Hostile input is in test_oci_hostile.c.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "oci_fixtures.h"

/* ---- round trip ---- */

static void check_rich_process(const struct hamn_oci_spec *s)
{
	const struct hamn_oci_process *p = s->process;

	assert_string_equal(s->oci_version, "1.0.2");
	assert_true(p->terminal);
	assert_int_equal(p->console_height, 24);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1001);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 022);
	assert_int_equal(p->user.n_additional_gids, 3);
	assert_int_equal(p->user.additional_gids[2], 4294967294u);
	assert_string_equal(p->user.username, "bob");
	assert_int_equal(strv_len(p->args), 3);
	assert_string_equal(p->args[2], "echo hi");
	assert_string_equal(p->env[2], "X=a=b");
	assert_string_equal(p->cwd, "/home/bob");
	assert_true(p->has_caps);
	assert_int_equal(p->caps.bounding, (1ULL << 0) | (1ULL << 5) | (1ULL << 21) | (1ULL << 40));
	assert_int_equal(p->caps.effective, 1);
	assert_int_equal(p->caps.inheritable, 0);
	assert_int_equal(p->caps.permitted, (1ULL << 0) | (1ULL << 5));
	assert_int_equal(p->caps.ambient, 1ULL << 13);
	assert_int_equal(p->n_rlimits, 3);
	assert_int_equal(p->rlimits[2].soft, RLIM_INFINITY);
	assert_int_equal(p->rlimits[2].hard, RLIM_INFINITY);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_int_equal(p->rlimits[0].hard, 4096);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->no_new_privileges);
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_string_equal(p->apparmor_profile, "hamn-default");
}

static void check_rich_top(const struct hamn_oci_spec *s)
{
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "box");
	assert_string_equal(s->domainname, "example.org");
	assert_int_equal(s->n_mounts, 4);
	assert_string_equal(s->mounts[1].data, "mode=755,size=65536k");
	assert_int_equal(s->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
	assert_true(s->mounts[2].bind && s->mounts[2].recursive);
	assert_int_equal(s->mounts[2].flags, MS_BIND | MS_REC | MS_RDONLY);
	assert_int_equal(s->mounts[2].propagation, MS_SLAVE | MS_REC);
	assert_null(s->mounts[3].source);
	assert_null(s->mounts[3].data);
	assert_int_equal(s->n_hooks[HAMN_OCI_HOOK_PRESTART], 1);
	assert_int_equal(s->hooks[HAMN_OCI_HOOK_PRESTART][0].timeout, 5);
	assert_int_equal(s->n_hooks[HAMN_OCI_HOOK_CREATE_RUNTIME], 1);
	assert_int_equal(s->n_hooks[HAMN_OCI_HOOK_POSTSTOP], 1);
	assert_int_equal(s->n_hooks[HAMN_OCI_HOOK_START_CONTAINER], 0);
	assert_string_equal(json_string_value(json_object_get(s->annotations, "org.example.key")),
			    "value");
}

static void check_rich_linux(const struct hamn_oci_spec *s)
{
	const struct hamn_oci_linux *l = &s->linux;

	assert_int_equal(l->n_namespaces, 7);
	assert_string_equal(hamn_oci_spec_ns(s, HAMN_OCI_NS_NETWORK)->path, "/run/netns/x");
	assert_null(hamn_oci_spec_ns(s, HAMN_OCI_NS_PID)->path);
	assert_null(hamn_oci_spec_ns(s, HAMN_OCI_NS_TIME));
	assert_int_equal(l->n_uid_mappings, 1);
	assert_int_equal(l->uid_mappings[0].host_id, 100000);
	assert_int_equal(l->n_gid_mappings, 2);
	assert_int_equal(l->gid_mappings[1].container_id, 65536);
	assert_int_equal(l->n_devices, 3);
	assert_int_equal(l->devices[0].type, 'c');
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	assert_true(l->devices[0].has_mode);
	assert_int_equal(l->devices[0].file_mode, 0666);
	assert_true(l->devices[0].has_uid);
	assert_false(l->devices[1].has_uid);
	assert_int_equal(l->devices[2].type, 'p');
	assert_string_equal(l->cgroups_path, "/hamn/abc");
	assert_int_equal(l->n_sysctls, 3);
	assert_int_equal(l->rootfs_propagation, MS_SLAVE | MS_REC);
	assert_int_equal(strv_len(l->masked_paths), 2);
	assert_string_equal(l->readonly_paths[0], "/proc/sys");
	assert_non_null(l->seccomp);
	assert_int_equal(l->seccomp->n_rules, 2);
}

static void check_rich_resources(const struct hamn_oci_resources *r)
{
	assert_non_null(r);
	assert_int_equal(r->n_devices, 4);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 'a');
	assert_int_equal(r->devices[0].major, -1);
	assert_string_equal(r->devices[1].access, "rwm");
	assert_int_equal(r->devices[2].major, 136);
	assert_int_equal(r->devices[2].minor, -1);
	assert_string_equal(r->devices[3].access, "rwm");
	assert_true(r->has_memory_limit);
	assert_int_equal(r->memory_limit, 536870912);
	assert_int_equal(r->memory_swap, -1);
	assert_true(r->has_kernel_memory);
	assert_int_equal(r->memory_swappiness, 60);
	assert_true(r->disable_oom_killer);
	assert_int_equal(r->cpu_shares, 512);
	assert_int_equal(r->cpu_quota, 50000);
	assert_int_equal(r->cpu_rt_period, 1000000);
	assert_string_equal(r->cpuset_cpus, "0-1,3");
	assert_int_equal(r->pids_limit, 2048);
	assert_int_equal(r->blkio_weight, 500);
	assert_int_equal(r->n_blkio_weight_devices, 2);
	assert_false(r->blkio_weight_devices[0].has_leaf_weight);
	assert_int_equal(r->blkio_weight_devices[1].leaf_weight, 50);
	assert_int_equal(r->n_throttle_write_iops, 1);
	assert_int_equal(r->throttle_write_iops[0].rate, 4);
	assert_int_equal(r->n_hugepage_limits, 1);
	assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
	assert_int_equal(r->n_unified, 2);
	assert_string_equal(r->unified_values[1], "8:0 rbps=1024");
}

static void check_rich_values(const struct hamn_oci_spec *s)
{
	check_rich_process(s);
	check_rich_top(s);
	check_rich_linux(s);
	check_rich_resources(s->linux.resources);
}

static void round_trip_keeps_every_value(void **state)
{
	struct hamn_oci_spec *a = parse_ok(rich_config), *b;
	_cleanup_json_ json_t *ja = NULL;
	_cleanup_json_ json_t *jb = NULL;
	struct hamn_error *err = NULL;

	check_rich_values(a);
	ja = hamn_oci_spec_to_json(a);
	b = hamn_oci_spec_parse(ja, &err);
	if (!b)
		fail_msg("re-parse: %s (%s)", err->msg, hamn_json_dump(ja));
	check_rich_values(b);
	jb = hamn_oci_spec_to_json(b);
	assert_true(json_equal(ja, jb));
	hamn_oci_spec_free(a);
	hamn_oci_spec_free(b);
}

static void minimal_config_parses(void **state)
{
	struct hamn_oci_spec *s = parse_ok(minimal_config);
	_cleanup_json_ json_t *j = hamn_oci_spec_to_json(s);
	struct hamn_oci_spec *again = hamn_oci_spec_parse(j, NULL);

	assert_false(s->process->has_caps);
	assert_null(s->process->env);
	assert_null(s->linux.resources);
	assert_null(s->linux.seccomp);
	assert_null(s->annotations);
	assert_non_null(again);
	hamn_oci_spec_free(again);
	hamn_oci_spec_free(s);
	/* no process, no root, no linux: allowed by the spec */
	s = parse_ok("{\"ociVersion\": \"1.0.0\"}");
	assert_null(s->process);
	assert_null(s->root_path);
	hamn_oci_spec_free(s);
}

/* ---- the default config ---- */

static bool strv_has(char **v, const char *s)
{
	return strv_contains(v, s);
}

static void default_spec_is_docker_secure(void **state)
{
	_cleanup_json_ json_t *doc = hamn_oci_default_spec_json();
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s = hamn_oci_spec_parse(doc, &err);
	const struct hamn_oci_linux *l;

	if (!s)
		fail_msg("default spec: %s", err->msg);
	l = &s->linux;
	assert_int_equal(s->process->caps.effective, 0xa80425fbULL);
	assert_int_equal(s->process->caps.bounding, HAMN_OCI_DEFAULT_CAPS);
	assert_int_equal(s->process->caps.permitted, HAMN_OCI_DEFAULT_CAPS);
	assert_int_equal(s->process->caps.inheritable, 0);
	assert_int_equal(s->process->caps.ambient, 0);
	assert_true(s->process->no_new_privileges);
	assert_true(s->process->terminal);
	assert_string_equal(s->process->args[0], "sh");
	assert_null(s->process->args[1]);
	assert_string_equal(s->process->cwd, "/");
	assert_true(strv_has(s->process->env, "TERM=xterm"));
	assert_int_equal(s->process->n_rlimits, 1);
	assert_int_equal(s->process->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process->rlimits[0].soft, 1024);
	assert_int_equal(s->process->rlimits[0].hard, 1024);
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "hamn");
	for (const char *const *m =
		     (const char *const[]){"/proc/interrupts", "/sys/devices/virtual/powercap",
					   "/sys/firmware", "/proc/kcore", "/proc/keys",
					   "/proc/acpi", "/proc/timer_list", "/proc/sched_debug",
					   "/proc/scsi", NULL};
	     *m; m++)
		if (!strv_has(l->masked_paths, *m))
			fail_msg("masked path %s missing", *m);
	for (const char *const *m = (const char *const[]){"/proc/bus", "/proc/fs", "/proc/irq",
							  "/proc/sys", "/proc/sysrq-trigger", NULL};
	     *m; m++)
		assert_true(strv_has(l->readonly_paths, *m));
	assert_int_equal(l->n_namespaces, 5);
	assert_null(hamn_oci_spec_ns(s, HAMN_OCI_NS_USER));
	assert_non_null(hamn_oci_spec_ns(s, HAMN_OCI_NS_IPC));
	assert_non_null(l->seccomp);
	assert_int_equal(l->seccomp->default_action, HAMN_SCMP_ACT_ERRNO);
	assert_true(l->resources->n_devices > 10);
	assert_false(l->resources->devices[0].allow);
	assert_int_equal(l->resources->devices[0].type, 'a');
	assert_string_equal(l->resources->devices[0].access, "rwm");
	assert_int_equal(s->n_mounts, 7);
	hamn_oci_spec_free(s);
}

static const struct hamn_oci_mount *find_mount(const struct hamn_oci_spec *s, const char *dst)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (streq(s->mounts[i].destination, dst))
			return &s->mounts[i];
	fail_msg("no mount at %s", dst);
	return NULL;
}

static void default_spec_mounts_match_docker(void **state)
{
	_cleanup_json_ json_t *doc = hamn_oci_default_spec_json();
	struct hamn_oci_spec *s = hamn_oci_spec_parse(doc, NULL);
	const struct hamn_oci_mount *m;

	assert_non_null(s);
	m = find_mount(s, "/proc");
	assert_string_equal(m->type, "proc");
	assert_int_equal(m->flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	m = find_mount(s, "/dev");
	assert_string_equal(m->data, "mode=755,size=65536k");
	assert_int_equal(m->flags, MS_NOSUID | MS_STRICTATIME);
	m = find_mount(s, "/dev/pts");
	assert_string_equal(m->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	m = find_mount(s, "/sys");
	assert_int_equal(m->flags, MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV);
	m = find_mount(s, "/sys/fs/cgroup");
	assert_true(m->flags & MS_RDONLY);
	m = find_mount(s, "/dev/mqueue");
	assert_string_equal(m->type, "mqueue");
	m = find_mount(s, "/dev/shm");
	assert_string_equal(m->source, "shm");
	assert_string_equal(m->data, "mode=1777,size=65536k");
	hamn_oci_spec_free(s);
}

/* ---- error classes ---- */

static void required_fields_are_einval(void **state)
{
	expect_einval("ociVersion", "=", "config.json: ociVersion: required");
	expect_einval("ociVersion", "\"\"", "ociVersion: must not be empty");
	expect_einval("ociVersion", "5", "ociVersion: must be a string");
	expect_einval("root", "{}", "config.json: root.path: required");
	expect_einval("root.path", "\"\"", "root.path: must not be empty");
	expect_einval("root.path", "\"../../etc\"", "root.path: '../../etc' must not contain '..'");
	expect_einval("process.args", "[]", "process.args: must be a non-empty array of strings");
	expect_einval("process.args", "=", "process.args: must be a non-empty array of strings");
	expect_einval("process.args", "[\"\"]", "process.args[0]: must not be empty");
	expect_einval("process.args", "[\"sh\", 1]", "process.args[1]: must be a string");
	expect_einval("process.cwd", "=", "process.cwd: required");
	expect_einval("process.cwd", "\"tmp\"", "process.cwd: 'tmp' is not an absolute path");
	expect_einval("process.cwd", "\"\"", "process.cwd: '' is not an absolute path");
	expect_einval("process.env", "[\"NOEQUALS\"]",
		      "process.env[0]: 'NOEQUALS' is not of the form");
	expect_einval("process.env", "[\"A=1\", \"=x\"]", "process.env[1]:");
	expect_einval("mounts", "[{\"destination\": \"/a\"}, {\"destination\": \"b\"}]",
		      "config.json: mounts[1].destination: 'b' is not an absolute path");
	expect_einval("mounts", "[{\"destination\": \"/a/../../b\"}]",
		      "mounts[0].destination: '/a/../../b' must not contain '..'");
	expect_einval("mounts", "[{\"type\": \"tmpfs\"}]", "mounts[0].destination: required");
	expect_einval("mounts", "[{\"destination\": \"\"}]", "mounts[0].destination:");
	expect_einval("mounts", "{}", "mounts: must be an array");
	expect_einval("hooks.poststart", "[{\"path\": \"hook\"}]",
		      "hooks.poststart[0].path: 'hook' is not an absolute path");
	expect_einval("hooks.poststop", "[{\"path\": \"/h\", \"timeout\": 0}]",
		      "hooks.poststop[0].timeout: 0 is out of range");
	expect_einval("annotations", "{\"a\": 1}", "annotations.a: must be a string");
}

static void namespace_errors_name_the_path(void **state)
{
	expect_einval("linux.namespaces",
		      "[{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"foo\"}]",
		      "config.json: linux.namespaces[2].type: unknown namespace type 'foo'");
	expect_einval("linux.namespaces", "[{\"type\": \"pid\"}, {\"type\": \"pid\"}]",
		      "config.json: linux.namespaces[1].type: duplicate namespace type 'pid'");
	expect_einval("linux.namespaces", "[{\"type\": \"\"}]", "unknown namespace type ''");
	expect_einval("linux.namespaces", "[{}]", "linux.namespaces[0].type: required");
	expect_einval("linux.namespaces", "[{\"type\": \"net\", \"path\": \"/x\"}]",
		      "unknown namespace type 'net'");
	expect_einval("linux.namespaces", "[{\"type\": \"network\", \"path\": \"x\"}]",
		      "linux.namespaces[0].path: 'x' is not an absolute path");
	expect_einval("linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]",
		      "config.json: linux.uidMappings: requires a user namespace");
	expect_einval("linux.gidMappings", "[{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]",
		      "linux.gidMappings: requires a user namespace");
	expect_einval("hostname", "\"box\"", "hostname: requires a uts namespace");
	expect_einval("domainname", "\"x.org\"", "domainname: requires a uts namespace");
	/* an empty hostname is the same as none */
	expect_ok("hostname", "\"\"");
}

static void id_errors_are_einval(void **state)
{
	expect_einval("process.user.uid", "-1", "process.user.uid: -1 is out of range");
	expect_einval("process.user.gid", "4294967296",
		      "process.user.gid: 4294967296 is out of range");
	expect_einval("process.user.uid", "4294967295", "process.user.uid:");
	expect_einval("process.user.uid", "1.5", "process.user.uid: must be an integer");
	expect_einval("process.user.uid", "1e300", "process.user.uid: must be an integer");
	expect_einval("process.user.uid", "9223372036854775807", "out of range");
	expect_einval("process.user.uid", "\"0\"", "process.user.uid: must be an integer");
	expect_einval("process.user.additionalGids", "[1, -2]",
		      "process.user.additionalGids[1]: -2 is out of range");
	expect_einval("process.user.umask", "512", "process.user.umask:");
}

static void mapping_and_size_errors_are_einval(void **state)
{
	const char *userns = "[{\"type\": \"user\"}]";
	_cleanup_json_ json_t *doc = load_json(minimal_config);
	struct hamn_error *err = NULL;
	_cleanup_free_ char *gids = NULL;
	struct hamn_buf b = HAMN_BUF_INIT;

	expect_einvalv("linux.uidMappings[0].size: 0 is out of range", "linux.namespaces", userns,
		       "linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 1, \"size\": 0}]",
		       NULL);
	expect_einvalv("linux.uidMappings[0].size: 2 ids from 4294967295/1 overflow 32 bits",
		       "linux.namespaces", userns, "linux.uidMappings",
		       "[{\"containerID\": 4294967295, \"hostID\": 1, \"size\": 2}]", NULL);
	expect_einvalv("linux.gidMappings[0].hostID: required", "linux.namespaces", userns,
		       "linux.gidMappings", "[{\"containerID\": 0, \"size\": 2}]", NULL);
	expect_einvalv("linux.uidMappings[0].hostID: -5 is out of range", "linux.namespaces",
		       userns, "linux.uidMappings",
		       "[{\"containerID\": 0, \"hostID\": -5, \"size\": 2}]", NULL);
	expect_einval("process.consoleSize", "{\"height\": 100000, \"width\": 1}",
		      "process.consoleSize.height: 100000 is out of range");
	expect_einval("process.oomScoreAdj", "1001", "process.oomScoreAdj:");
	expect_einval(
		"hostname",
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		"hostname: longer than 64 bytes");
	expect_einval("linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1}]",
		      "linux.devices[0].minor: required");
	expect_einval("linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"q\"}]",
		      "linux.devices[0].type: unknown device type 'q'");
	expect_einval("linux.devices",
		      "[{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 99999, \"minor\": 0}]",
		      "linux.devices[0].major: 99999 is out of range");
	expect_einval("linux.devices", "[{\"path\": \"dev/x\", \"type\": \"p\"}]",
		      "linux.devices[0].path: 'dev/x' is not an absolute path");
	/* 70000 supplementary groups is more than the kernel allows */
	hamn_buf_puts(&b, "[0");
	for (int i = 0; i < 70000; i++)
		hamn_buf_puts(&b, ",1");
	hamn_buf_puts(&b, "]");
	gids = hamn_buf_steal(&b);
	hamn_buf_release(&b);
	set_at(doc, "process.user.additionalGids", gids);
	assert_null(hamn_oci_spec_parse(doc, &err));
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "process.user.additionalGids: more than"));
	hamn_error_free(&err);
}

static void names_errors_are_einval(void **state)
{
	expect_einval(
		"process.capabilities", "{\"bounding\": [\"CAP_CHOWN\", \"CAP_FLY\"]}",
		"config.json: process.capabilities.bounding[1]: unknown capability 'CAP_FLY'");
	expect_einval("process.capabilities", "{\"ambient\": [\"\"]}",
		      "process.capabilities.ambient[0]: unknown capability ''");
	expect_einval("process.capabilities", "{\"effective\": \"CAP_CHOWN\"}",
		      "process.capabilities.effective: must be an array");
	expect_einval("process.rlimits", "[{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]",
		      "config.json: process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'");
	expect_einval("process.rlimits",
		      "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 1},"
		      " {\"type\": \"RLIMIT_NOFILE\", \"soft\": 2, \"hard\": 2}]",
		      "process.rlimits[1].type: duplicate rlimit 'RLIMIT_NOFILE'");
	expect_einval("process.rlimits",
		      "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 10, \"hard\": 1}]",
		      "process.rlimits[0].soft: 10 exceeds the hard limit 1");
	expect_einval("process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1}]",
		      "process.rlimits[0].soft: required");
	expect_einval("process.rlimits", "[{\"type\": \"RLIMIT_CPU\", \"soft\": -2, \"hard\": 1}]",
		      "process.rlimits[0].soft: -2 is out of range");
	/* -1 is RLIM_INFINITY, which is more than any hard limit but itself */
	expect_einval("process.rlimits", "[{\"type\": \"RLIMIT_CPU\", \"soft\": -1, \"hard\": 1}]",
		      "process.rlimits[0].soft: unlimited exceeds the hard limit 1");
	expect_einval("linux.rootfsPropagation", "\"sideways\"",
		      "linux.rootfsPropagation: unknown propagation 'sideways'");
	expect_einval("linux.cgroupsPath", "\"/hamn/../../escape\"",
		      "linux.cgroupsPath: '/hamn/../../escape' must not contain '..'");
	expect_einval("linux.maskedPaths", "[\"/proc/kcore\", \"proc/x\"]",
		      "linux.maskedPaths[1]: 'proc/x' is not an absolute path");
	expect_einval("linux.readonlyPaths", "[1]", "linux.readonlyPaths[0]: must be a string");
	expect_einval("linux.seccomp", "[]", "linux.seccomp: must be an object");
	expect_einval("linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_FLY\"}", "linux.seccomp");
}

static void sysctl_errors_are_einval(void **state)
{
	expect_einval("linux.sysctl", "{\"kernel.core_pattern\": \"|/x\"}",
		      "config.json: linux.sysctl: sysctl 'kernel.core_pattern' is not namespaced");
	expect_einval("linux.sysctl", "{\"kernel.shmmax\": \"1\"}",
		      "sysctl 'kernel.shmmax' requires an ipc namespace");
	expect_einval("linux.sysctl", "{\"net.ipv4.ip_forward\": \"1\"}",
		      "sysctl 'net.ipv4.ip_forward' requires a network namespace");
	expect_einval("linux.sysctl", "{\"net.ipv4.ip_forward\": 1}",
		      "linux.sysctl.net.ipv4.ip_forward: must be a string");
	expect_einvalv("sysctl 'kernel.shm_rmid_forced': value contains a forbidden character",
		       "linux.namespaces", "[{\"type\": \"ipc\"}]", "linux.sysctl",
		       "{\"kernel.shm_rmid_forced\": \"1+kernel.core_pattern=|/x\"}", NULL);
}

static void resources_errors_are_einval(void **state)
{
	expect_einval(
		"linux.resources", "{\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]}",
		"config.json: linux.resources.devices[0].access: 'rwx' is not a subset of 'rwm'");
	expect_einval("linux.resources", "{\"devices\": [{\"access\": \"r\"}]}",
		      "linux.resources.devices[0].allow: required");
	expect_einval("linux.resources", "{\"devices\": [{\"allow\": true, \"type\": \"u\"}]}",
		      "linux.resources.devices[0].type: unknown device type 'u'");
	expect_einval("linux.resources", "{\"devices\": [{\"allow\": true, \"major\": -2}]}",
		      "linux.resources.devices[0].major: -2 is out of range");
	expect_einval("linux.resources", "{\"memory\": {\"limit\": -2}}",
		      "linux.resources.memory.limit: -2 is out of range");
	expect_einval("linux.resources", "{\"memory\": {\"swappiness\": 101}}",
		      "linux.resources.memory.swappiness: 101 is out of range");
	expect_einval("linux.resources", "{\"cpu\": {\"cpus\": \"0-1\\n\"}}",
		      "linux.resources.cpu.cpus: '0-1\n' is not a cpu list");
	expect_einval("linux.resources", "{\"pids\": {}}", "linux.resources.pids.limit: required");
	expect_einval("linux.resources", "{\"blockIO\": {\"weight\": 70000}}",
		      "linux.resources.blockIO.weight: 70000 is out of range");
	expect_einval("linux.resources",
		      "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0}]}}",
		      "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required");
	expect_einval("linux.resources",
		      "{\"hugepageLimits\": [{\"pageSize\": \"../../x\", \"limit\": 1}]}",
		      "linux.resources.hugepageLimits[0].pageSize: '../../x' is not a page size");
	expect_einval("linux.resources", "{\"unified\": {\"../../cgroup.procs\": \"1\"}}",
		      "linux.resources.unified.../../cgroup.procs: not a cgroup file name");
	expect_einval("linux.resources", "{\"unified\": {\"memory.max\": 5}}",
		      "linux.resources.unified.memory.max: must be a string");
}

/* ---- mount options ---- */

static void mount_with(const char *type, const char *const *opts, struct hamn_oci_mount *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type ? xstrdup(type) : NULL;
	m->options = strv_copy((char *const *)opts);
	hamn_oci_mount_flags(m);
}

static void mount_release(struct hamn_oci_mount *m)
{
	free(m->type);
	hamn_strv_free(m->options);
	free(m->data);
}

static void mount_options_map_to_flags(void **state)
{
	struct hamn_oci_mount m;

	mount_with("tmpfs",
		   (const char *const[]){"rw", "nosuid", "mode=755", "nodev", "noexec",
					 "size=65536k", "rprivate", "ro", NULL},
		   &m);
	assert_int_equal(m.flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
	assert_int_equal(m.clear_flags, 0);
	assert_int_equal(m.propagation, MS_PRIVATE | MS_REC);
	assert_string_equal(m.data, "mode=755,size=65536k");
	assert_false(m.bind);
	mount_release(&m);

	mount_with("tmpfs",
		   (const char *const[]){"ro", "suid", "dev", "exec", "async", "atime", "diratime",
					 "norelatime", "nostrictatime", "nomand", "rw", NULL},
		   &m);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.clear_flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS |
						MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
						MS_STRICTATIME | MS_MANDLOCK | MS_RDONLY);
	assert_null(m.data);
	mount_release(&m);

	mount_with(NULL,
		   (const char *const[]){"sync", "dirsync", "remount", "mand", "noatime",
					 "nodiratime", "relatime", "strictatime", "defaults", NULL},
		   &m);
	assert_int_equal(m.flags, MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK |
					  MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
					  MS_STRICTATIME);
	assert_null(m.data);
	mount_release(&m);
}

static void mount_bind_and_propagation(void **state)
{
	static const struct {
		const char *opt;
		unsigned long prop;
	} props[] = {
		{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
		{"shared", MS_SHARED},	       {"rshared", MS_SHARED | MS_REC},
		{"slave", MS_SLAVE},	       {"rslave", MS_SLAVE | MS_REC},
		{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
	};
	struct hamn_oci_mount m;

	mount_with(NULL, (const char *const[]){"rbind", "ro", NULL}, &m);
	assert_true(m.bind);
	assert_true(m.recursive);
	assert_int_equal(m.flags, MS_BIND | MS_REC | MS_RDONLY);
	mount_release(&m);
	mount_with(NULL, (const char *const[]){"bind", NULL}, &m);
	assert_true(m.bind);
	assert_false(m.recursive);
	mount_release(&m);
	mount_with("bind", (const char *const[]){NULL}, &m);
	assert_true(m.bind);
	assert_false(m.recursive);
	assert_int_equal(m.flags, 0);
	mount_release(&m);
	mount_with("proc", NULL, &m);
	assert_false(m.bind);
	assert_null(m.data);
	mount_release(&m);
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		unsigned long f = 0, c = 0, p = 0;

		assert_true(hamn_oci_mount_option(props[i].opt, &f, &c, &p));
		assert_int_equal(p, props[i].prop);
		assert_int_equal(f, 0);
	}
	/* the last propagation option wins; unknown options are data, in order */
	mount_with("ext4", (const char *const[]){"shared", "x-a", "rslave", "uid=5", "x-a", NULL},
		   &m);
	assert_int_equal(m.propagation, MS_SLAVE | MS_REC);
	assert_string_equal(m.data, "x-a,uid=5,x-a");
	mount_release(&m);
}

/* ---- tables ---- */

static void capability_names(void **state)
{
	assert_int_equal(hamn_oci_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(hamn_oci_cap_from_name("chown"), 0);
	assert_int_equal(hamn_oci_cap_from_name("cap_Sys_Admin"), 21);
	assert_int_equal(hamn_oci_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(hamn_oci_cap_from_name("bpf"), 39);
	assert_int_equal(hamn_oci_cap_from_name("CAP_"), -1);
	assert_int_equal(hamn_oci_cap_from_name("CAP_CAP_CHOWN"), -1);
	assert_int_equal(hamn_oci_cap_from_name("nope"), -1);
	assert_int_equal(hamn_oci_cap_from_name(NULL), -1);
	assert_int_equal(hamn_oci_cap_last(), 40);
	assert_string_equal(hamn_oci_cap_name(13), "CAP_NET_RAW");
	assert_string_equal(hamn_oci_cap_name(40), "CAP_CHECKPOINT_RESTORE");
	assert_null(hamn_oci_cap_name(41));
	assert_null(hamn_oci_cap_name(-1));
	for (int c = 0; c <= hamn_oci_cap_last(); c++)
		assert_int_equal(hamn_oci_cap_from_name(hamn_oci_cap_name(c)), c);
}

static void namespace_and_rlimit_names(void **state)
{
	static const struct {
		const char *name;
		int flag;
	} ns[] = {
		{"pid", CLONE_NEWPID},	     {"network", CLONE_NEWNET},
		{"mount", CLONE_NEWNS},	     {"ipc", CLONE_NEWIPC},
		{"uts", CLONE_NEWUTS},	     {"user", CLONE_NEWUSER},
		{"cgroup", CLONE_NEWCGROUP}, {"time", 0x80},
	};

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		int t = hamn_oci_ns_from_name(ns[i].name);

		assert_true(t >= 0);
		assert_string_equal(hamn_oci_ns_name(t), ns[i].name);
		assert_int_equal(hamn_oci_ns_clone_flag(t), ns[i].flag);
	}
	assert_int_equal(hamn_oci_ns_from_name("net"), -1);
	assert_int_equal(hamn_oci_ns_from_name("PID"), -1);
	assert_null(hamn_oci_ns_name(HAMN_OCI_NS_N_TYPES));
	assert_int_equal(hamn_oci_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(hamn_oci_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(hamn_oci_rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
	assert_int_equal(hamn_oci_rlimit_from_name("nofile"), -1);
	assert_int_equal(hamn_oci_rlimit_from_name(NULL), -1);
}

/* ---- sysctl ---- */

static void sysctl_ok(const char *key, const char *value, bool net, bool ipc, bool uts)
{
	struct hamn_error *err = NULL;

	if (hamn_oci_sysctl_check(key, value, net, ipc, uts, &err) < 0)
		fail_msg("%s=%s: %s", key, value, err->msg);
}

static void sysctl_bad(const char *key, const char *value, bool net, bool ipc, bool uts)
{
	struct hamn_error *err = NULL;

	if (hamn_oci_sysctl_check(key, value, net, ipc, uts, &err) == 0)
		fail_msg("%s=%s accepted", key, value);
	assert_int_equal(err->errnum, EINVAL);
	if (key && key[0] && !strstr(err->msg, key))
		fail_msg("message '%s' does not name '%s'", err->msg, key);
	hamn_error_free(&err);
}

static void sysctl_check_allows_only_namespaced(void **state)
{
	sysctl_ok("net.ipv4.ip_forward", "1", true, false, false);
	sysctl_ok("net/ipv4/ip_forward", "1", true, false, false);
	sysctl_ok("net.ipv4.ip_local_port_range", "1024 65000", true, false, false);
	sysctl_ok("net.ipv4.ip_local_reserved_ports", "8080,9148", true, false, false);
	sysctl_ok("net.ipv4.conf.eth0/100.forwarding", "1", true, false, false);
	sysctl_ok("kernel.shmmax", "68719476736", false, true, false);
	sysctl_ok("kernel/shmmax", "1", false, true, false);
	sysctl_ok("kernel.msgmnb", "1", false, true, false);
	sysctl_ok("kernel.sem", "250 32000 32 128", false, true, false);
	sysctl_ok("fs.mqueue.msg_max", "10", false, true, false);
	sysctl_ok("kernel.hostname", "box", false, false, true);
	sysctl_bad("kernel.core_pattern", "|/x", true, true, true);
	sysctl_bad("kernel/core_pattern", "core", true, true, true);
	sysctl_bad("kernel.shmmax", "1", true, false, true);
	sysctl_bad("net.ipv4.ip_forward", "1", false, true, true);
	sysctl_bad("kernel.hostname", "x", true, true, false);
	sysctl_bad("kernel.shmmax", "1+kernel.core_pattern=|/x", true, true, true);
	sysctl_bad("kernel.shm_rmid_forced", "1\nkernel.core_pattern=|/x", true, true, true);
	sysctl_bad("net.ipv4.ip_forward", "1;x", true, true, true);
	sysctl_bad("net.ipv4.ip_forward", "1\r", true, true, true);
	sysctl_bad("net.ipv4.ip_forward", NULL, true, true, true);
	sysctl_bad("net..ipv4", "1", true, true, true);
	sysctl_bad("net/../kernel/core_pattern", "1", true, true, true);
	sysctl_bad("/net/ipv4/ip_forward", "1", true, true, true);
	sysctl_bad("net.ipv4.ip_forward.", "1", true, true, true);
	sysctl_bad("net.ipv4.ip forward", "1", true, true, true);
	sysctl_bad("net.ipv4.ip_forward=1", "1", true, true, true);
	sysctl_bad("kernel.shmmax+kernel.core_pattern", "1", true, true, true);
	sysctl_bad("kernel.shmmaxx", "1", true, false, true);
	sysctl_bad("", "1", true, true, true);
	sysctl_bad(NULL, "1", true, true, true);
	sysctl_bad("kernel.domainname", "x", true, true, false);
	sysctl_bad("vm.overcommit_memory", "1", true, true, true);
}

/* ---- state, process, resources, load ---- */

static void state_document(void **state)
{
	_cleanup_json_ json_t *ann = json_pack("{s:s}", "a", "b");
	_cleanup_json_ json_t *st =
		hamn_oci_state_json("c1", HAMN_OCI_RUNNING, 42, "/b", 1700000000123456789, ann);
	_cleanup_json_ json_t *st2 = hamn_oci_state_json("c2", HAMN_OCI_STOPPED, 0, "/b", 0, NULL);

	assert_string_equal(json_string_value(json_object_get(st, "ociVersion")), HAMN_OCI_VERSION);
	assert_string_equal(json_string_value(json_object_get(st, "id")), "c1");
	assert_string_equal(json_string_value(json_object_get(st, "status")), "running");
	assert_int_equal(json_integer_value(json_object_get(st, "pid")), 42);
	assert_string_equal(json_string_value(json_object_get(st, "bundle")), "/b");
	assert_string_equal(json_string_value(json_object_get(st, "created")),
			    "2023-11-14T22:13:20.123456789Z");
	assert_non_null(json_object_get(st, "owner"));
	assert_true(json_equal(json_object_get(st, "annotations"), ann));
	assert_null(json_object_get(st2, "annotations"));
	assert_string_equal(json_string_value(json_object_get(st2, "status")), "stopped");
	assert_string_equal(hamn_oci_status_name(HAMN_OCI_CREATING), "creating");
	assert_string_equal(hamn_oci_status_name(HAMN_OCI_CREATED), "created");
	assert_string_equal(hamn_oci_status_name(HAMN_OCI_PAUSED), "paused");
}

static void process_parse_alone(void **state)
{
	_cleanup_json_ json_t *ok = load_json("{\"args\": [\"ls\"], \"cwd\": \"/tmp\", "
					      "\"env\": [\"A=b\"], \"terminal\": false}");
	_cleanup_json_ json_t *bad = load_json("{\"args\": [], \"cwd\": \"/\"}");
	struct hamn_error *err = NULL;
	struct hamn_oci_process *p = hamn_oci_process_parse(ok, &err);

	assert_non_null(p);
	assert_string_equal(p->args[0], "ls");
	assert_int_equal(p->user.uid, 0);
	assert_false(p->has_caps);
	hamn_oci_process_free(p);
	assert_null(hamn_oci_process_parse(bad, &err));
	assert_int_equal(err->errnum, EINVAL);
	assert_string_equal(err->msg, "process.args: must be a non-empty array of strings");
	hamn_error_free(&err);
	assert_null(hamn_oci_process_parse(NULL, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	hamn_oci_process_free(NULL);
}

static void resources_parse_alone(void **state)
{
	_cleanup_json_ json_t *obj =
		load_json("{\"devices\": [{\"allow\": true, \"major\": -1, \"access\": \"mr\"}],"
			  " \"memory\": {\"limit\": -1}, \"pids\": {\"limit\": -1}}");
	_cleanup_json_ json_t *out = NULL;
	struct hamn_error *err = NULL;
	struct hamn_oci_resources *r = hamn_oci_resources_parse(obj, &err), *r2;

	assert_non_null(r);
	assert_int_equal(r->devices[0].type, 'a');
	assert_int_equal(r->devices[0].major, -1);
	assert_int_equal(r->devices[0].minor, -1);
	assert_string_equal(r->devices[0].access, "rm");
	assert_true(r->has_memory_limit);
	assert_int_equal(r->memory_limit, -1);
	assert_false(r->has_memory_swap);
	assert_false(r->has_cpu_shares);
	assert_null(r->cpuset_cpus);
	assert_int_equal(r->pids_limit, -1);
	out = hamn_oci_resources_to_json(r);
	assert_null(json_object_get(out, "cpu"));
	assert_null(json_object_get(out, "blockIO"));
	r2 = hamn_oci_resources_parse(out, &err);
	assert_non_null(r2);
	assert_string_equal(r2->devices[0].access, "rm");
	assert_int_equal(r2->pids_limit, -1);
	hamn_oci_resources_free(r);
	hamn_oci_resources_free(r2);
	hamn_oci_resources_free(NULL);
	assert_null(hamn_oci_resources_parse(NULL, &err));
	assert_string_equal(err->msg, "linux.resources: must be an object");
	hamn_error_free(&err);
}

static void spec_load_reads_the_bundle(void **state)
{
	char dir[] = "/tmp/test_oci.XXXXXX";
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *big = NULL;
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s;
	int dirfd;

	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_null(hamn_oci_spec_load(dir, &err));
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	assert_int_equal(hamn_write_atomic(dirfd, "config.json", minimal_config,
					   strlen(minimal_config), 0600, &err),
			 0);
	s = hamn_oci_spec_load(dir, &err);
	assert_non_null(s);
	assert_string_equal(s->root_path, "rootfs");
	hamn_oci_spec_free(s);
	/* more than 4 MiB is refused before it is parsed */
	big = xmalloc(5 << 20);
	memset(big, ' ', 5 << 20);
	assert_int_equal(hamn_write_atomic(dirfd, "config.json", big, 5 << 20, 0600, &err), 0);
	assert_null(hamn_oci_spec_load(dir, &err));
	assert_int_equal(err->errnum, EFBIG);
	hamn_error_free(&err);
	path = xasprintf("%s/config.json", dir);
	assert_int_equal(unlink(path), 0);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_keeps_every_value),
		cmocka_unit_test(minimal_config_parses),
		cmocka_unit_test(default_spec_is_docker_secure),
		cmocka_unit_test(default_spec_mounts_match_docker),
		cmocka_unit_test(required_fields_are_einval),
		cmocka_unit_test(namespace_errors_name_the_path),
		cmocka_unit_test(id_errors_are_einval),
		cmocka_unit_test(mapping_and_size_errors_are_einval),
		cmocka_unit_test(names_errors_are_einval),
		cmocka_unit_test(sysctl_errors_are_einval),
		cmocka_unit_test(resources_errors_are_einval),
		cmocka_unit_test(mount_options_map_to_flags),
		cmocka_unit_test(mount_bind_and_propagation),
		cmocka_unit_test(capability_names),
		cmocka_unit_test(namespace_and_rlimit_names),
		cmocka_unit_test(sysctl_check_allows_only_namespaced),
		cmocka_unit_test(state_document),
		cmocka_unit_test(process_parse_alone),
		cmocka_unit_test(resources_parse_alone),
		cmocka_unit_test(spec_load_reads_the_bundle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

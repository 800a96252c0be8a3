/*
 * test_runtime.c - the pure logic of src/runtime: ids, the child's string
 * helpers, config -> plan decisions (sysctls, devices, namespaces, maps),
 * device cgroup rules, hook state, features.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "runtime/internal.h"
#include "runtime/runtime.h"

static struct hamn_oci_spec *spec_from(const char *linux_json, const char *mounts_json,
				       const char *extra)
{
	struct hamn_error *err = NULL;
	char *text = xasprintf("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"/\"},"
			       " \"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\","
			       " \"user\": {\"uid\": 0, \"gid\": 0}, \"env\": [\"PATH=/bin\"]},"
			       " \"mounts\": %s, \"linux\": %s %s}",
			       mounts_json ? mounts_json : "[]", linux_json, extra ? extra : "");
	json_t *doc = hamn_json_parse(text, strlen(text), &err);
	struct hamn_oci_spec *spec = doc ? hamn_oci_spec_parse(doc, &err) : NULL;

	if (!spec)
		fail_msg("spec: %s", err ? err->msg : "?");
	json_decref(doc);
	free(text);
	return spec;
}

/* NULL with *err set when the parser already refuses the config. */
static struct hamn_oci_spec *try_spec(const char *linux_json, const char *extra,
				      struct hamn_error **err)
{
	char *text = xasprintf("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"/\"},"
			       " \"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\"},"
			       " \"linux\": %s %s}",
			       linux_json, extra ? extra : "");
	json_t *doc = hamn_json_parse(text, strlen(text), err);
	struct hamn_oci_spec *spec = doc ? hamn_oci_spec_parse(doc, err) : NULL;

	json_decref(doc);
	free(text);
	return spec;
}

static struct rt_plan *plan_for(struct hamn_oci_spec *spec, struct hamn_error **err)
{
	struct hamn_runtime_spawn_opts o = {.id = "t1", .stdio = HAMN_RUNTIME_STDIO_INIT};

	return rt_plan_new(spec, "/", &o, err);
}

#define NS_BASIC                                                                                   \
	"\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"pid\"}, "                            \
	"{\"type\": \"network\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}]"

static void ids_are_checked(void **state)
{
	(void)state;
	assert_true(hamn_runtime_id_valid("abc-1.2_x+y"));
	assert_false(hamn_runtime_id_valid(""));
	assert_false(hamn_runtime_id_valid("."));
	assert_false(hamn_runtime_id_valid(".."));
	assert_false(hamn_runtime_id_valid("a/b"));
	assert_false(hamn_runtime_id_valid("a b"));
	assert_false(hamn_runtime_id_valid(NULL));
}

static void child_strings_never_overflow(void **state)
{
	char buf[8], fp[HAMN_FD_PATH_MAX];

	(void)state;
	assert_int_equal(rt_strlcpy(buf, "0123456789", sizeof(buf)), 7);
	assert_string_equal(buf, "0123456");
	rt_strlcpy(buf, "ab", sizeof(buf));
	rt_strlcat(buf, "cdefghij", sizeof(buf));
	assert_string_equal(buf, "abcdefg");
	assert_string_equal(rt_utoa(0, buf, sizeof(buf)), "0");
	assert_string_equal(rt_utoa(4294967295UL, fp, sizeof(fp)), "4294967295");
	assert_string_equal(rt_fdpath(17, fp), "/proc/self/fd/17");
	assert_string_equal(rt_step_name(STEP_PIVOT), "pivot_root");
	assert_string_equal(rt_step_name(STEP_N), "set up");
}

static void namespaces_and_maps(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *spec = spec_from(
		"{\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"user\"}, {\"type\": "
		"\"cgroup\"}],"
		" \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 10}],"
		" \"gidMappings\": [{\"containerID\": 0, \"hostID\": 2000, \"size\": 5}]}",
		NULL, NULL);
	struct rt_plan *p = plan_for(spec, &err);

	(void)state;
	assert_non_null(p);
	assert_true(p->new_userns);
	assert_true(p->new_cgroupns);
	assert_int_equal(p->clone_flags, CLONE_NEWNS | CLONE_NEWUSER);
	assert_string_equal(p->uid_map, "0 1000 10\n");
	assert_string_equal(p->gid_map, "0 2000 5\n");
	assert_false(p->intermediate);
	rt_plan_free(p);
	hamn_oci_spec_free(spec);
}

/* Refused by the parser or, at the latest, by the plan: never started. */
static void refused(const char *linux_json, const char *extra)
{
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *spec = try_spec(linux_json, extra, &err);

	if (spec) {
		assert_null(plan_for(spec, &err));
		hamn_oci_spec_free(spec);
	}
	assert_non_null(err);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

static void refused_plans(void **state)
{
	(void)state;
	/* no mount namespace */
	refused("{\"namespaces\": [{\"type\": \"pid\"}]}", NULL);
	/* a user namespace without mappings */
	refused("{\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"user\"}]}", NULL);
	/* a host-wide sysctl, or one that smuggles a second key */
	refused("{" NS_BASIC ", \"sysctl\": {\"kernel.core_pattern\": \"|/x\"}}", NULL);
	refused("{" NS_BASIC ", \"sysctl\": {\"kernel.shmmax\": \"1\\nkernel.x=1\"}}", NULL);
	/* net.* without a network namespace */
	refused("{\"namespaces\": [{\"type\": \"mount\"}], \"sysctl\": {\"net.ipv4.ip_forward\": "
		"\"1\"}}",
		NULL);
	/* a hostname needs a UTS namespace of its own */
	refused("{\"namespaces\": [{\"type\": \"mount\"}]}", ", \"hostname\": \"x\"");
}

static void sysctls_become_procfs_paths(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *spec = spec_from(
		"{" NS_BASIC ", \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}}", NULL, NULL);
	struct rt_plan *p = plan_for(spec, &err);

	(void)state;
	assert_non_null(p);
	assert_int_equal(p->n_sysctls, 1);
	assert_string_equal(p->sysctls[0].path, "sys/net/ipv4/ip_forward");
	assert_string_equal(p->sysctls[0].value, "1");
	rt_plan_free(p);
	hamn_oci_spec_free(spec);
}

static void default_devices_with_dev_tmpfs(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *spec = spec_from(
		"{" NS_BASIC
		", \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1,"
		" \"minor\": 3, \"fileMode\": 384}, {\"path\": \"/dev/net/tun\", \"type\": \"c\","
		" \"major\": 10, \"minor\": 200}]}",
		"[{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
		" {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"}]",
		NULL);
	struct rt_plan *p = plan_for(spec, &err);

	(void)state;
	assert_non_null(p);
	assert_true(p->default_links);
	/* six defaults, /dev/null overridden in place, /dev/net/tun added */
	assert_int_equal(p->n_devices, 7);
	assert_string_equal(p->devices[0].path, "/dev/null");
	assert_int_equal(p->devices[0].mode, S_IFCHR | 0600);
	assert_string_equal(p->devices[6].path, "/dev/net/tun");
	assert_true(p->devices[6].rdev == makedev(10, 200));
	assert_true(p->mounts[0].is_dev);
	assert_true(p->mounts[1].is_proc);
	assert_true(p->mounts[1].no_symlink);
	rt_plan_free(p);
	hamn_oci_spec_free(spec);
}

static void device_rules_append_the_defaults(void **state)
{
	struct hamn_oci_spec *spec = spec_from(
		"{" NS_BASIC
		", \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},"
		" \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, "
		"\"minor\": 229}]}",
		NULL, NULL);
	struct hamn_oci_device_rule *rules = NULL;
	struct hamn_oci_resources *res = rt_resources_with_devices(spec, &rules);

	(void)state;
	assert_false(res->devices[0].allow);
	assert_int_equal(res->n_devices, 1 + 12 + 1);
	assert_true(res->devices[1].allow);
	assert_int_equal(res->devices[1].major, -1);
	assert_string_equal(res->devices[1].access, "m");
	assert_int_equal(res->devices[13].major, 10);
	assert_int_equal(res->devices[13].minor, 229);
	free(res);
	free(rules);
	hamn_oci_spec_free(spec);
}

static void hook_state_is_oci_state(void **state)
{
	struct hamn_oci_spec *spec = spec_from("{" NS_BASIC "}", NULL, NULL);
	char *text = rt_state_text("c1", HAMN_OCI_CREATED, 42, "/b", spec);
	struct hamn_error *err = NULL;
	json_t *j = hamn_json_parse(text, strlen(text), &err);

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "c1");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "created");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "bundle")), "/b");
	json_decref(j);
	free(text);
	hamn_oci_spec_free(spec);
}

static void start_time_of_self(void **state)
{
	char st = 0;

	(void)state;
	assert_true(rt_pid_start_time(getpid(), &st) > 0);
	assert_true(st == 'R' || st == 'S');
	assert_int_equal(rt_pid_start_time(-1, &st), 0);
	assert_int_equal(st, 'X');
}

static void features_json(void **state)
{
	json_t *f = hamn_runtime_features();

	(void)state;
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMax")), "1.1.0");
	assert_true(json_is_array(json_object_get(json_object_get(f, "linux"), "namespaces")));
	assert_true(json_is_true(json_object_get(
		json_object_get(json_object_get(f, "linux"), "seccomp"), "enabled")));
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_are_checked),
		cmocka_unit_test(child_strings_never_overflow),
		cmocka_unit_test(namespaces_and_maps),
		cmocka_unit_test(refused_plans),
		cmocka_unit_test(sysctls_become_procfs_paths),
		cmocka_unit_test(default_devices_with_dev_tmpfs),
		cmocka_unit_test(device_rules_append_the_defaults),
		cmocka_unit_test(hook_state_is_oci_state),
		cmocka_unit_test(start_time_of_self),
		cmocka_unit_test(features_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

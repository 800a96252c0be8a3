/*
 * test_engine.c - the pure logic of src/engine: names, signals, the create
 * request's validation and its merge with the image, user resolution,
 * restart policies, the json-file codec and writer, list filters, status
 * texts, resolv.conf, and the OCI spec built for a container.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/exec_int.h"
#include "engine/internal.h"
#include "engine/user.h"

#define TEST_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- helpers ---- */

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

/* Parse and merge like create does; returns -1 with err when validation fails. */
static int parse_config(const char *cfg, const char *hc, const struct hamn_oci_image_exec *img,
			struct container **out, struct hamn_error **err)
{
	struct container *c = ctr_new();

	memcpy(c->id, TEST_ID, ID_LEN + 1);
	c->name = xstrdup("test");
	c->image_id = xstrdup("sha256:" TEST_ID);
	c->config_json = parse(cfg);
	c->host_json = hc ? parse(hc) : json_object();
	if (ctr_config_parse(c->config_json, c->host_json, "/var/lib/hamn", &c->cfg, err) < 0 ||
	    ctr_config_merge_image(&c->cfg, c->config_json, img, err) < 0) {
		ctr_unref_locked(c);
		return -1;
	}
	if (!c->cfg.hostname[0]) {
		free(c->cfg.hostname);
		c->cfg.hostname = xstrndup(TEST_ID, SHORT_ID_LEN);
	}
	*out = c;
	return 0;
}

static struct container *config_ok(const char *cfg, const char *hc)
{
	char *img_env[] = { "PATH=/usr/bin:/bin", "IMG=1", NULL };
	char *img_cmd[] = { "sh", NULL };
	struct hamn_oci_image_exec img = { .env = img_env, .cmd = img_cmd };
	struct hamn_error *err = NULL;
	struct container *c = NULL;

	if (parse_config(cfg, hc, &img, &c, &err) < 0)
		fail_msg("config rejected: %s", err->msg);
	return c;
}

static void config_fails(const char *cfg, const char *hc, int errnum, const char *msg)
{
	char *img_cmd[] = { "sh", NULL };
	struct hamn_oci_image_exec img = { .cmd = img_cmd };
	struct hamn_error *err = NULL;
	struct container *c = NULL;

	if (parse_config(cfg, hc, &img, &c, &err) == 0)
		fail_msg("config accepted: %s / %s", cfg, hc ? hc : "");
	assert_int_equal(err->errnum, errnum);
	if (!strstr(err->msg, msg))
		fail_msg("message '%s' does not contain '%s'", err->msg, msg);
	hamn_error_free(&err);
}

static json_t *build_spec(struct container *c)
{
	struct hamn_error *err = NULL;
	json_t *seccomp = parse("{\"defaultAction\":\"SCMP_ACT_ERRNO\"}");
	struct spec_env env = {
		.base = spec_base(),
		.seccomp = seccomp,
		.default_pids_limit = 4096,
		.ctr_dir = "/var/lib/hamn/containers/" TEST_ID,
	};
	json_t *spec = spec_build_with(&env, c, "/var/lib/hamn/containers/" TEST_ID "/merged", &err);

	if (!spec)
		fail_msg("spec: %s", err->msg);
	json_decref(env.base);
	json_decref(seccomp);
	return spec;
}

static json_t *jpath(json_t *v, const char *path)
{
	_cleanup_strv_ char **parts = str_split(path, '.');

	for (size_t i = 0; parts[i] && v; i++)
		v = json_object_get(v, parts[i]);
	return v;
}

static bool array_has(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (streq(json_string_value(v), s))
			return true;
	return false;
}

static json_t *mount_at(json_t *spec, const char *dest)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(spec, "mounts"), i, m)
		if (streq(json_string_value(json_object_get(m, "destination")), dest))
			return m;
	return NULL;
}

static bool has_namespace(json_t *spec, const char *type)
{
	size_t i;
	json_t *n;

	json_array_foreach(jpath(spec, "linux.namespaces"), i, n)
		if (streq(json_string_value(json_object_get(n, "type")), type))
			return true;
	return false;
}

/* ---- names and signals ---- */

static void names_follow_docker(void **state)
{
	struct hamn_error *err = NULL;
	char *n;

	(void)state;
	assert_true(hamn_engine_name_valid("ab"));
	assert_true(hamn_engine_name_valid("/web_1.a-b"));
	assert_true(hamn_engine_name_valid("0x"));
	assert_false(hamn_engine_name_valid("x"));
	assert_false(hamn_engine_name_valid(""));
	assert_false(hamn_engine_name_valid("_ab"));
	assert_false(hamn_engine_name_valid("a b"));
	assert_false(hamn_engine_name_valid("a/b"));
	assert_false(hamn_engine_name_valid("-ab"));
	assert_int_equal(name_check("x", &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	assert_string_equal(err->msg, "Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				      "are allowed");
	hamn_error_free(&err);
	for (uint32_t seed = 0; seed < 5000; seed += 37) {
		n = name_generate(seed);
		assert_true(hamn_engine_name_valid(n));
		assert_non_null(strchr(n, '_'));
		free(n);
	}
}

static void signals_by_name_and_number(void **state)
{
	(void)state;
	assert_int_equal(hamn_engine_signal_parse("KILL"), SIGKILL);
	assert_int_equal(hamn_engine_signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(hamn_engine_signal_parse("wInCh"), SIGWINCH);
	assert_int_equal(hamn_engine_signal_parse("9"), 9);
	assert_int_equal(hamn_engine_signal_parse("RTMIN+1"), SIGRTMIN + 1);
	assert_int_equal(hamn_engine_signal_parse("bogus"), -1);
	assert_int_equal(hamn_engine_signal_parse("0"), -1);
	assert_int_equal(hamn_engine_signal_parse("999"), -1);
	assert_int_equal(hamn_engine_signal_parse(""), -1);
}

/* ---- create request ---- */

static void wrong_types_are_400_with_go_messages(void **state)
{
	(void)state;
	config_fails("{\"Image\":\"x\",\"Env\":5}", NULL, EINVAL,
		     "cannot unmarshal number into Go struct field Config.Env of type []string");
	config_fails("{\"Image\":\"x\",\"Tty\":\"yes\"}", NULL, EINVAL,
		     "cannot unmarshal string into Go struct field Config.Tty of type bool");
	config_fails("{\"Image\":\"x\"}", "{\"Memory\":\"1g\"}", EINVAL,
		     "Go struct field HostConfig.Memory of type int64");
	config_fails("{\"Image\":\"x\",\"Labels\":{\"a\":1}}", NULL, EINVAL,
		     "map[string]string");
	config_fails("{\"Image\":\"x\",\"Cmd\":[1]}", NULL, EINVAL, "Config.Cmd");
}

static void host_config_values_are_checked(void **state)
{
	(void)state;
	config_fails("{\"Image\":\"x\"}", "{\"RestartPolicy\":{\"Name\":\"bogus\"}}", EINVAL,
		     "invalid restart policy 'bogus'");
	config_fails("{\"Image\":\"x\"}",
		     "{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"always\"}}", EINVAL,
		     "can't create 'AutoRemove' container with restart policy");
	config_fails("{\"Image\":\"x\"}",
		     "{\"RestartPolicy\":{\"Name\":\"always\",\"MaximumRetryCount\":3}}", EINVAL,
		     "maximum retry count cannot be used");
	config_fails("{\"Image\":\"x\"}", "{\"CapAdd\":[\"FOO\"]}", EINVAL,
		     "unknown capability: \"CAP_FOO\"");
	config_fails("{\"Image\":\"x\"}", "{\"Memory\":1024}", EINVAL,
		     "Minimum memory limit allowed is 6MB");
	config_fails("{\"Image\":\"x\"}", "{\"NanoCpus\":1000000000,\"CpuQuota\":50000}", EINVAL,
		     "Conflicting options: Nano CPUs and CPU Quota");
	config_fails("{\"Image\":\"x\"}", "{\"Sysctls\":{\"kernel.core_pattern\":\"|/x\"}}", EINVAL,
		     "kernel.core_pattern");
	config_fails("{\"Image\":\"x\"}", "{\"SecurityOpt\":[\"seccomp=not json\"]}", EINVAL,
		     "Decoding seccomp profile failed");
	config_fails("{\"Image\":\"x\"}", "{\"LogConfig\":{\"Type\":\"syslog\"}}", EINVAL,
		     "no log driver named 'syslog'");
	config_fails("{\"Image\":\"x\"}", "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,"
					  "\"Hard\":5}]}",
		     EINVAL, "soft limit must be less than or equal to hard");
	config_fails("{\"Image\":\"x\",\"WorkingDir\":\"rel\"}", NULL, EINVAL,
		     "needs to be an absolute path");
}

static void mounts_are_parsed(void **state)
{
	struct container *c;

	(void)state;
	config_fails("{\"Image\":\"x\"}", "{\"Binds\":[\"/a:/\"]}", EINVAL,
		     "destination can't be '/'");
	config_fails("{\"Image\":\"x\"}", "{\"Binds\":[\"/a:/b:ro:x\"]}", EINVAL,
		     "invalid volume specification");
	config_fails("{\"Image\":\"x\"}", "{\"Binds\":[\"/a:/b\",\"/c:/b\"]}", EINVAL,
		     "Duplicate mount point: /b");
	config_fails("{\"Image\":\"x\"}",
		     "{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/nonexistent/hamn\","
		     "\"Target\":\"/x\"}]}",
		     EINVAL, "bind source path does not exist: /nonexistent/hamn");
	c = config_ok("{\"Image\":\"x\"}",
		      "{\"Binds\":[\"/srv/data:/data:ro\",\"vol1:/v\"],"
		      "\"Tmpfs\":{\"/run\":\"size=1m\"}}");
	assert_int_equal(c->cfg.n_mounts, 3);
	assert_int_equal(c->cfg.mounts[0].type, CM_BIND);
	assert_true(c->cfg.mounts[0].readonly);
	assert_string_equal(c->cfg.mounts[0].destination, "/data");
	assert_int_equal(c->cfg.mounts[1].type, CM_VOLUME);
	assert_string_equal(c->cfg.mounts[1].source, "/var/lib/hamn/volumes/vol1/_data");
	assert_int_equal(c->cfg.mounts[2].type, CM_TMPFS);
	ctr_unref_locked(c);
}

static void merge_follows_docker(void **state)
{
	char *img_env[] = { "PATH=/img/bin", "A=1", NULL };
	char *img_cmd[] = { "sh", NULL };
	char *img_ep[] = { "/entry", NULL };
	json_t *lbl = parse("{\"from\":\"image\",\"both\":\"image\"}");
	struct hamn_oci_image_exec img = { .env = img_env, .cmd = img_cmd, .entrypoint = img_ep,
					   .working_dir = "/w", .user = "nobody", .labels = lbl };
	struct hamn_error *err = NULL;
	struct container *c;

	(void)state;
	assert_int_equal(parse_config("{\"Image\":\"x\",\"Env\":[\"A=2\",\"B=3\"],"
				      "\"Labels\":{\"both\":\"ctr\"}}",
				      NULL, &img, &c, &err),
			 0);
	/* as dockerd: the container's env, then the image's keys it does not set */
	assert_string_equal(c->cfg.env[0], "A=2");
	assert_string_equal(c->cfg.env[1], "B=3");
	assert_string_equal(c->cfg.env[2], "PATH=/img/bin");
	assert_null(c->cfg.env[3]);
	assert_string_equal(c->cfg.entrypoint[0], "/entry");
	assert_string_equal(c->cfg.cmd[0], "sh");
	assert_string_equal(c->cfg.working_dir, "/w");
	assert_string_equal(c->cfg.user, "nobody");
	assert_string_equal(json_string_value(json_object_get(c->cfg.labels, "both")), "ctr");
	assert_string_equal(json_string_value(json_object_get(c->cfg.labels, "from")), "image");
	/* the merged values are what inspect and the record show */
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(c->config_json, "Env"), 2)),
			    "PATH=/img/bin");
	ctr_unref_locked(c);

	/* a container entrypoint drops the image's cmd */
	assert_int_equal(parse_config("{\"Image\":\"x\",\"Entrypoint\":[\"/bin/echo\"]}", NULL,
				      &img, &c, &err),
			 0);
	assert_string_equal(c->cfg.entrypoint[0], "/bin/echo");
	assert_true(!c->cfg.cmd || !c->cfg.cmd[0]);
	ctr_unref_locked(c);

	/* Entrypoint [""] clears the image's entrypoint but keeps its cmd */
	assert_int_equal(parse_config("{\"Image\":\"x\",\"Entrypoint\":[\"\"]}", NULL, &img, &c,
				      &err),
			 0);
	assert_true(!c->cfg.entrypoint || !c->cfg.entrypoint[0]);
	assert_string_equal(c->cfg.cmd[0], "sh");
	ctr_unref_locked(c);

	/* Cmd as a plain string is a one-element list (docker's StrSlice) */
	assert_int_equal(parse_config("{\"Image\":\"x\",\"Cmd\":\"true\"}", NULL, &img, &c, &err),
			 0);
	assert_string_equal(c->cfg.cmd[0], "true");
	ctr_unref_locked(c);
	json_decref(lbl);
}

static void merge_defaults(void **state)
{
	struct hamn_oci_image_exec empty = { 0 };
	struct hamn_error *err = NULL;
	struct container *c;

	(void)state;
	/* no PATH anywhere: docker's default */
	assert_int_equal(parse_config("{\"Image\":\"x\",\"Cmd\":[\"true\"]}", NULL, &empty, &c,
				      &err),
			 0);
	assert_string_equal(c->cfg.env[0],
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	ctr_unref_locked(c);
	/* nothing to run */
	assert_int_equal(parse_config("{\"Image\":\"x\"}", NULL, &empty, &c, &err), -1);
	assert_string_equal(err->msg, "No command specified");
	hamn_error_free(&err);
}

/* ---- the OCI spec ---- */

static void spec_secure_defaults(void **state)
{
	struct container *c = config_ok("{\"Image\":\"x\",\"Cmd\":[\"echo\",\"hi\"],"
					"\"Env\":[\"X=1\"]}",
					NULL);
	json_t *spec = build_spec(c), *caps;

	(void)state;
	assert_string_equal(json_string_value(json_array_get(jpath(spec, "process.args"), 0)),
			    "echo");
	assert_string_equal(json_string_value(json_array_get(jpath(spec, "process.args"), 1)),
			    "hi");
	assert_true(array_has(jpath(spec, "process.env"), "HOSTNAME=0123456789ab"));
	assert_true(array_has(jpath(spec, "process.env"), "X=1"));
	assert_true(array_has(jpath(spec, "process.env"), "IMG=1"));
	assert_true(array_has(jpath(spec, "process.env"), "PATH=/usr/bin:/bin"));
	caps = jpath(spec, "process.capabilities.bounding");
	assert_int_equal(json_array_size(caps), 14);
	assert_true(array_has(caps, "CAP_NET_BIND_SERVICE"));
	assert_false(array_has(caps, "CAP_SYS_ADMIN"));
	assert_int_equal(json_array_size(jpath(spec, "process.capabilities.inheritable")), 0);
	assert_int_equal(json_array_size(jpath(spec, "process.capabilities.ambient")), 0);
	assert_true(json_is_true(jpath(spec, "process.noNewPrivileges")));
	assert_int_equal(json_integer_value(jpath(spec, "process.oomScoreAdj")), 0);
	assert_int_equal(json_integer_value(jpath(spec, "linux.resources.pids.limit")), 4096);
	assert_non_null(jpath(spec, "linux.seccomp"));
	assert_true(array_has(jpath(spec, "linux.maskedPaths"), "/proc/keys"));
	assert_string_equal(json_string_value(jpath(spec, "hostname")), "0123456789ab");
	assert_string_equal(json_string_value(jpath(spec, "root.path")),
			    "/var/lib/hamn/containers/" TEST_ID "/merged");
	assert_false(json_is_true(jpath(spec, "root.readonly")));
	assert_string_equal(json_string_value(json_object_get(mount_at(spec, "/etc/hosts"),
								"source")),
			    "/var/lib/hamn/containers/" TEST_ID "/hosts");
	assert_non_null(mount_at(spec, "/etc/resolv.conf"));
	assert_true(has_namespace(spec, "network"));
	assert_true(has_namespace(spec, "pid"));
	/* and what the runtime will parse */
	{
		struct hamn_error *err = NULL;
		struct hamn_oci_spec *s = hamn_oci_spec_parse(spec, &err);

		if (!s)
			fail_msg("the runtime refuses the spec: %s", err->msg);
		hamn_oci_spec_free(s);
	}
	json_decref(spec);
	ctr_unref_locked(c);
}

static void spec_from_host_config(void **state)
{
	struct container *c = config_ok(
		"{\"Image\":\"x\",\"Tty\":true}",
		"{\"Memory\":67108864,\"NanoCpus\":500000000,\"PidsLimit\":100,"
		"\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"chown\"],\"ReadonlyRootfs\":true,"
		"\"SecurityOpt\":[\"no-new-privileges=false\",\"seccomp=unconfined\"],"
		"\"Binds\":[\"/srv:/data:ro\"],\"ShmSize\":1048576,\"OomScoreAdj\":500,"
		"\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":100,\"Hard\":200}],"
		"\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"},\"ConsoleSize\":[30,100]}");
	json_t *spec = build_spec(c), *m, *rl;

	(void)state;
	assert_int_equal(json_integer_value(jpath(spec, "linux.resources.memory.limit")),
			 67108864);
	assert_int_equal(json_integer_value(jpath(spec, "linux.resources.memory.swap")),
			 2 * 67108864);
	assert_int_equal(json_integer_value(jpath(spec, "linux.resources.cpu.quota")), 50000);
	assert_int_equal(json_integer_value(jpath(spec, "linux.resources.cpu.period")), 100000);
	assert_int_equal(json_integer_value(jpath(spec, "linux.resources.pids.limit")), 100);
	assert_int_equal(json_array_size(jpath(spec, "process.capabilities.bounding")), 1);
	assert_true(array_has(jpath(spec, "process.capabilities.bounding"), "CAP_CHOWN"));
	assert_true(json_is_true(jpath(spec, "root.readonly")));
	assert_false(json_is_true(jpath(spec, "process.noNewPrivileges")));
	assert_null(jpath(spec, "linux.seccomp"));
	assert_true(json_is_true(jpath(spec, "process.terminal")));
	assert_true(array_has(jpath(spec, "process.env"), "TERM=xterm"));
	assert_int_equal(json_integer_value(jpath(spec, "process.consoleSize.height")), 30);
	assert_int_equal(json_integer_value(jpath(spec, "process.oomScoreAdj")), 500);
	m = mount_at(spec, "/data");
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/srv");
	assert_true(array_has(json_object_get(m, "options"), "ro"));
	assert_true(array_has(json_object_get(m, "options"), "rbind"));
	assert_true(array_has(json_object_get(mount_at(spec, "/dev/shm"), "options"),
			      "size=1024k"));
	rl = json_array_get(jpath(spec, "process.rlimits"), 0);
	assert_string_equal(json_string_value(json_object_get(rl, "type")), "RLIMIT_NOFILE");
	assert_int_equal(json_integer_value(json_object_get(rl, "hard")), 200);
	assert_non_null(json_object_get(jpath(spec, "linux.sysctl"), "net.ipv4.ip_forward"));
	json_decref(spec);
	ctr_unref_locked(c);
}

static void spec_privileged_and_host_network(void **state)
{
	struct container *c = config_ok("{\"Image\":\"x\"}",
					"{\"Privileged\":true,\"NetworkMode\":\"host\","
					"\"PidsLimit\":-1}");
	json_t *spec = build_spec(c);

	(void)state;
	assert_int_equal(json_array_size(jpath(spec, "process.capabilities.bounding")),
			 __builtin_popcountll(spec_all_caps()));
	assert_true(array_has(jpath(spec, "process.capabilities.bounding"), "CAP_SYS_ADMIN"));
	assert_null(jpath(spec, "linux.seccomp"));
	assert_int_equal(json_array_size(jpath(spec, "linux.maskedPaths")), 0);
	assert_int_equal(json_array_size(jpath(spec, "linux.readonlyPaths")), 0);
	assert_false(has_namespace(spec, "network"));
	assert_null(jpath(spec, "linux.resources.pids"));
	assert_false(json_is_true(jpath(spec, "process.noNewPrivileges")));
	assert_true(array_has(json_object_get(mount_at(spec, "/sys"), "options"), "rw"));
	json_decref(spec);
	ctr_unref_locked(c);
}

/* ---- users ---- */

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "web:x:1000:1000:web:/home/web:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/:/bin/false\n";
static const char group[] = "root:x:0:\n"
			    "web:x:1000:\n"
			    "audio:x:29:web,other\n"
			    "video:x:44:other\n";

static void users_resolve_in_the_container(void **state)
{
	struct hamn_error *err = NULL;
	char *add[] = { "video", "123", NULL };
	struct hamn_user u;

	(void)state;
	assert_int_equal(hamn_user_resolve("", passwd, group, NULL, &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.home, "/root");
	hamn_user_release(&u);
	assert_int_equal(hamn_user_resolve("web", passwd, group, NULL, &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_int_equal(u.n_gids, 2);	/* as dockerd: the primary group, then audio */
	assert_int_equal(u.gids[0], 1000);
	assert_int_equal(u.gids[1], 29);
	assert_string_equal(u.home, "/home/web");
	hamn_user_release(&u);
	assert_int_equal(hamn_user_resolve("1000:audio", passwd, group, add, &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 29);
	assert_int_equal(u.n_gids, 3);
	hamn_user_release(&u);
	/* numbers need no entry */
	assert_int_equal(hamn_user_resolve("4242:4343", NULL, NULL, NULL, &u, &err), 0);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 4343);
	assert_string_equal(u.home, "/");
	hamn_user_release(&u);
	assert_int_equal(hamn_user_resolve("ghost", passwd, group, NULL, &u, &err), -1);
	assert_string_equal(err->msg,
			    "unable to find user ghost: no matching entries in passwd file");
	hamn_error_free(&err);
	assert_int_equal(hamn_user_resolve("web:ghosts", passwd, group, NULL, &u, &err), -1);
	assert_string_equal(err->msg,
			    "unable to find group ghosts: no matching entries in group file");
	hamn_error_free(&err);
}

/* ---- restart policies ---- */

static void restart_policies(void **state)
{
	(void)state;
	assert_int_equal(restart_policy_parse(""), RESTART_NO);
	assert_int_equal(restart_policy_parse("on-failure"), RESTART_ON_FAILURE);
	assert_int_equal(restart_policy_parse("sometimes"), -1);
	assert_false(restart_should(RESTART_NO, 0, 0, 1, false));
	assert_true(restart_should(RESTART_ALWAYS, 0, 5, 0, false));
	assert_false(restart_should(RESTART_ALWAYS, 0, 0, 0, true));
	assert_true(restart_should(RESTART_UNLESS_STOPPED, 0, 0, 0, false));
	assert_false(restart_should(RESTART_UNLESS_STOPPED, 0, 0, 0, true));
	assert_true(restart_should(RESTART_ON_FAILURE, 2, 1, 3, false));
	assert_false(restart_should(RESTART_ON_FAILURE, 2, 2, 3, false));
	assert_false(restart_should(RESTART_ON_FAILURE, 0, 0, 0, false));
	assert_true(restart_should(RESTART_ON_FAILURE, 0, 100, 1, false));
}

static void restart_backoff(void **state)
{
	int64_t b = 0;

	(void)state;
	b = restart_next_backoff(b, 0);
	assert_int_equal(b, 100);
	b = restart_next_backoff(b, 1000000);
	assert_int_equal(b, 200);
	for (int i = 0; i < 20; i++)
		b = restart_next_backoff(b, 0);
	assert_int_equal(b, 60000);
	/* ran ten seconds: start over */
	assert_int_equal(restart_next_backoff(b, 10LL * 1000000000LL), 100);
}

/* ---- json-file logs ---- */

static void log_lines_encode_like_docker(void **state)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	struct hamn_error *err = NULL;
	int64_t ns = 1795949750958160699LL, got_ns;
	char *msg;
	size_t len;
	int stream;

	(void)state;
	logline_encode(&b, 1, "hi\n", 3, ns);
	assert_string_equal(b.data, "{\"log\":\"hi\\n\",\"stream\":\"stdout\","
				    "\"time\":\"2026-11-29T10:55:50.958160699Z\"}\n");
	hamn_buf_reset(&b);
	/* quotes, control bytes, UTF-8 kept, invalid bytes replaced */
	logline_encode(&b, 2, "a\"\\\x01\t\xc3\xa9\xff\n", 9, ns);
	assert_non_null(strstr(b.data, "\"log\":\"a\\\"\\\\\\u0001\\t\xc3\xa9\\ufffd\\n\""));
	assert_non_null(strstr(b.data, "\"stream\":\"stderr\""));
	assert_int_equal(logline_decode(b.data, b.len - 1, &stream, &msg, &len, &got_ns, &err), 0);
	assert_int_equal(stream, 2);
	assert_int_equal(got_ns, ns);
	assert_int_equal(len, strlen("a\"\\\x01\t\xc3\xa9\xef\xbf\xbd\n"));
	assert_memory_equal(msg, "a\"\\\x01\t\xc3\xa9\xef\xbf\xbd\n", len);
	free(msg);
	assert_int_equal(logline_decode("{\"log\":1}", 9, &stream, &msg, &len, &got_ns, &err), -1);
	hamn_error_free(&err);
	hamn_buf_release(&b);
}

static int count_lines(int dirfd, const char *name)
{
	char *text = NULL;
	size_t len = 0;
	struct hamn_error *err = NULL;
	int n = 0;

	if (hamn_read_file(dirfd, name, 1 << 20, &text, &len, &err) < 0) {
		hamn_error_free(&err);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	free(text);
	return n;
}

/* A scratch directory per test, removed by the teardown even when the test failed. */
static int tmpdir_setup(void **state)
{
	char *dir = xstrdup("/tmp/hamn-test-engine-XXXXXX");

	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int tmpdir_teardown(void **state)
{
	struct hamn_error *err = NULL;
	int r = hamn_rm_rf(AT_FDCWD, *state, &err);

	hamn_error_free(&err);
	free(*state);
	return r;
}

static void log_writer_splits_and_rotates(void **state)
{
	struct hamn_error *err = NULL;
	struct logw w;
	int dfd;
	char big[20000];

	dfd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(logw_open(&w, dfd, "a-json.log", 0, 1, &err), 0);
	/* two records, then a partial line that waits */
	assert_int_equal(logw_write(&w, 1, "one\ntwo\nthr", 11, 1, &err), 0);
	assert_int_equal(count_lines(dfd, "a-json.log"), 2);
	assert_int_equal(logw_write(&w, 1, "ee\n", 3, 2, &err), 0);
	assert_int_equal(count_lines(dfd, "a-json.log"), 3);
	/* a line longer than 16 KiB is cut in two records, the rest waits for the end */
	memset(big, 'a', sizeof(big));
	assert_int_equal(logw_write(&w, 2, big, sizeof(big), 3, &err), 0);
	assert_int_equal(count_lines(dfd, "a-json.log"), 4);
	assert_int_equal(logw_flush(&w, 4, &err), 0);
	assert_int_equal(count_lines(dfd, "a-json.log"), 5);
	logw_close(&w);

	/* rotation keeps at most max-file files of about max-size */
	assert_int_equal(logw_open(&w, dfd, "b-json.log", 600, 3, &err), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(logw_write(&w, 1, "rotate me please\n", 17, 5, &err), 0);
	assert_true(count_lines(dfd, "b-json.log.1") > 0);
	assert_true(count_lines(dfd, "b-json.log.2") > 0);
	assert_int_equal(count_lines(dfd, "b-json.log.3"), -1);
	assert_true(count_lines(dfd, "b-json.log.1") <= 600 / 70 + 1);
	logw_close(&w);
	close(dfd);
}

/* ---- list filters and status ---- */

static void filters_match(void **state)
{
	struct container *c = config_ok("{\"Image\":\"busybox:local\","
					"\"Labels\":{\"com.docker.compose.project\":\"p\","
					"\"flag\":\"\"}}",
					NULL);
	char *lbl_ok[] = { "com.docker.compose.project=p", "flag", NULL };
	char *lbl_bad[] = { "com.docker.compose.project=q", NULL };
	char *lbl_neq[] = { "com.docker.compose.project!=q", NULL };
	char *st_run[] = { "running", NULL };
	char *st_both[] = { "running", "created", NULL };
	char *name[] = { "^/te", NULL };
	char *id[] = { "0123", NULL };
	char *anc[] = { "busybox:local", NULL };
	char *bad[] = { "nonsense", NULL };
	struct hamn_engine_filter f;
	struct hamn_error *err = NULL;

	(void)state;
	c->st.status = ST_CREATED;
#define MATCH(k, v) (f = (struct hamn_engine_filter){ k, v }, ctr_filters_match(NULL, c, &f, 1))
	assert_true(MATCH("label", lbl_ok));
	assert_false(MATCH("label", lbl_bad));
	assert_true(MATCH("label", lbl_neq));
	assert_false(MATCH("status", st_run));
	assert_true(MATCH("status", st_both));
	assert_true(MATCH("name", name));
	assert_true(MATCH("id", id));
	assert_true(MATCH("ancestor", anc));
#undef MATCH
	f = (struct hamn_engine_filter){ "status", bad };
	assert_int_equal(ctr_filters_check(&f, 1, &err), -1);
	assert_string_equal(err->msg, "Invalid filter 'status=nonsense'");
	hamn_error_free(&err);
	f = (struct hamn_engine_filter){ "colour", bad };
	assert_int_equal(ctr_filters_check(&f, 1, &err), -1);
	assert_string_equal(err->msg, "Invalid filter 'colour'");
	hamn_error_free(&err);
	ctr_unref_locked(c);
}

static void status_texts(void **state)
{
	struct ctr_state st = { .status = ST_CREATED };
	int64_t now = 1000LL * 1000000000LL;
	char *s;

	(void)state;
	s = ctr_status_text(&st, now);
	assert_string_equal(s, "Created");
	free(s);
	st.status = ST_RUNNING;
	st.started_ns = now - 3LL * 1000000000LL;
	s = ctr_status_text(&st, now);
	assert_true(str_has_prefix(s, "Up "));
	free(s);
	st.status = ST_EXITED;
	st.exit_code = 3;
	st.finished_ns = now - 120LL * 1000000000LL;
	s = ctr_status_text(&st, now);
	assert_true(str_has_prefix(s, "Exited (3) "));
	assert_true(str_has_suffix(s, " ago"));
	free(s);
}

static void command_strings(void **state)
{
	struct container *c = config_ok("{\"Image\":\"x\",\"Cmd\":[\"sh\",\"-c\",\"echo hi\"]}",
					NULL);
	char *s = ctr_command_string(&c->cfg);

	(void)state;
	assert_string_equal(s, "sh -c 'echo hi'");
	free(s);
	ctr_unref_locked(c);
}

static void resolv_conf(void **state)
{
	char *dns[] = { "10.0.0.1", NULL };
	char *s;

	(void)state;
	s = resolv_conf_build("nameserver 127.0.0.53\nsearch lan\n", NULL, NULL, NULL, false);
	assert_string_equal(s, "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	free(s);
	s = resolv_conf_build("nameserver 1.1.1.1\nnameserver 127.0.0.1\n", NULL, NULL, NULL,
			      false);
	assert_string_equal(s, "nameserver 1.1.1.1\n");
	free(s);
	s = resolv_conf_build("nameserver 1.1.1.1\n", dns, NULL, NULL, false);
	assert_string_equal(s, "nameserver 10.0.0.1\n");
	free(s);
	s = resolv_conf_build("nameserver 127.0.0.53\n", NULL, NULL, NULL, true);
	assert_string_equal(s, "nameserver 127.0.0.53\n");
	free(s);
}

static void records_round_trip(void **state)
{
	struct container *c = config_ok("{\"Image\":\"x\",\"Cmd\":[\"true\"]}",
					"{\"RestartPolicy\":{\"Name\":\"on-failure\","
					"\"MaximumRetryCount\":2}}");
	struct hamn_error *err = NULL;
	json_t *doc;
	char *text;
	struct container *d;

	(void)state;
	c->st.status = ST_EXITED;
	c->st.exit_code = 7;
	c->st.restart_count = 2;
	c->st.manual_stop = true;
	c->created_ns = 42;
	doc = ctr_record_json(c);
	text = hamn_json_dump(doc);
	d = ctr_from_record("/var/lib/hamn", c->id, "test", 42, text, &err);
	if (!d)
		fail_msg("record: %s", err->msg);
	assert_int_equal(d->st.status, ST_EXITED);
	assert_int_equal(d->st.exit_code, 7);
	assert_int_equal(d->st.restart_count, 2);
	assert_true(d->st.manual_stop);
	assert_int_equal(d->cfg.restart, RESTART_ON_FAILURE);
	assert_int_equal(d->cfg.restart_max, 2);
	assert_string_equal(d->path, "true");
	ctr_unref_locked(d);
	free(text);
	json_decref(doc);
	ctr_unref_locked(c);
}

/* ---- exec records and the store's other tables (exec_rec.c, store.c) ---- */

#define EXEC_ID "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void exec_records_round_trip(void **state)
{
	struct exec_rec r = { .id = EXEC_ID, .ctr_id = TEST_ID, .ctl = -1, .refs = 1 };
	char *cmd[] = { "sh", "-c", "exit 3", NULL }, *env[] = { "A=1", NULL };
	struct exec_rec *back;
	json_t *doc;

	(void)state;
	r.cmd = cmd;
	r.env = env;
	r.user = "nobody";
	r.workdir = "/tmp";
	r.detach_keys = "";
	r.tty = r.in = r.out = true;
	r.claimed = r.has_exit = true;
	r.exit_code = 3;
	r.pid = 1234;
	r.h = 24;
	r.w = 80;
	r.created_ns = 5;
	r.finished_ns = 7;
	doc = exec_rec_doc(&r);
	back = exec_rec_from_doc(EXEC_ID, TEST_ID, doc);
	assert_non_null(back);
	assert_string_equal(back->cmd[2], "exit 3");
	assert_string_equal(back->env[0], "A=1");
	assert_string_equal(back->user, "nobody");
	assert_string_equal(back->workdir, "/tmp");
	assert_true(back->tty && back->in && back->out && !back->err);
	assert_true(back->claimed && back->has_exit && !back->running && !back->lost);
	assert_int_equal(back->exit_code, 3);
	assert_int_equal(back->pid, 1234);
	assert_int_equal(back->h, 24);
	assert_int_equal(back->w, 80);
	assert_int_equal(back->created_ns, 5);
	assert_int_equal(back->finished_ns, 7);
	assert_int_equal(back->ctl, -1);
	exec_rec_unref(back);
	/* an exit code nobody knows stays unknown: ExitCode null */
	r.has_exit = false;
	r.lost = true;
	json_decref(doc);
	doc = exec_rec_doc(&r);
	assert_true(json_is_null(json_object_get(doc, "ExitCode")));
	back = exec_rec_from_doc(EXEC_ID, TEST_ID, doc);
	assert_true(back->lost && !back->has_exit);
	exec_rec_unref(back);
	/* ids that could name other files, and records without a command, are refused */
	assert_null(exec_rec_from_doc("../../etc", TEST_ID, doc));
	assert_null(exec_rec_from_doc(EXEC_ID, "x", doc));
	json_object_set_new(doc, "Cmd", json_array());
	assert_null(exec_rec_from_doc(EXEC_ID, TEST_ID, doc));
	json_decref(doc);
}

static void count_row(void *ud, const char *id, const char *ctr, json_t *doc)
{
	(void)id;
	(void)ctr;
	(void)doc;
	(*(int *)ud)++;
}

static void store_aux_rows_go_with_their_container(void **state)
{
	char dir[] = "/tmp/hamn-test-store.XXXXXX";
	struct container *c = config_ok("{\"Image\":\"x\",\"Cmd\":[\"true\"]}", "{}");
	struct hamn_error *err = NULL;
	struct engine_store *s;
	json_t *doc = json_pack("{s:s}", "Status", "healthy");
	char *path;
	int n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/hamn.db", dir);
	s = store_open(path, &err);
	if (!s)
		fail_msg("%s", err->msg);
	assert_int_equal(store_put(s, c, &err), 0);
	assert_int_equal(store_aux_put(s, STORE_EXECS, EXEC_ID, c->id, doc, &err), 0);
	assert_int_equal(store_aux_put(s, STORE_EXECS, EXEC_ID, c->id, doc, &err), 0);
	assert_int_equal(store_aux_put(s, STORE_HEALTH, c->id, c->id, doc, &err), 0);
	assert_int_equal(store_aux_load(s, STORE_EXECS, count_row, &n, &err), 0);
	assert_int_equal(n, 1);
	/* the rows outlive the connection */
	store_close(s);
	s = store_open(path, &err);
	n = 0;
	assert_int_equal(store_aux_load(s, STORE_HEALTH, count_row, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_delete(s, c->id, &err), 0);
	n = 0;
	assert_int_equal(store_aux_load(s, STORE_EXECS, count_row, &n, &err), 0);
	assert_int_equal(store_aux_load(s, STORE_HEALTH, count_row, &n, &err), 0);
	assert_int_equal(n, 0);
	store_close(s);
	for (const char *const *sfx = (const char *const[]){ "", "-wal", "-shm", NULL }; *sfx; sfx++) {
		char *f = xasprintf("%s%s", path, *sfx);

		unlink(f);
		free(f);
	}
	free(path);
	json_decref(doc);
	ctr_unref_locked(c);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- logging drivers and the daemon's defaults (logconfig.c) ---- */

static struct ctr_config log_parse_ok(const char *hc_text)
{
	json_t *hc = json_loads(hc_text, 0, NULL);
	struct hamn_error *err = NULL;
	struct ctr_config c = { 0 };

	if (ctr_log_config_parse(hc, &c, &err) < 0)
		fail_msg("%s: %s", hc_text, err->msg);
	json_decref(hc);
	return c;
}

static void log_config_follows_docker(void **state)
{
	json_t *def = json_pack("{s:s}", "max-file", "3"), *hc, *m;
	struct ctr_config c;
	int64_t n = 0;

	(void)state;
	/* go-units' FromHumanSize: decimal */
	assert_int_equal(ctr_log_parse_size("1k", &n), 0);
	assert_int_equal(n, 1000);
	assert_int_equal(ctr_log_parse_size("2.5MB", &n), 0);
	assert_int_equal(n, 2500000);
	assert_int_equal(ctr_log_parse_size("10 mb", &n), 0);
	assert_int_equal(n, 10000000);
	assert_int_equal(ctr_log_parse_size("100", &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(ctr_log_parse_size("1q", &n), -1);
	assert_int_equal(ctr_log_parse_size("k", &n), -1);
	/* defaults of each driver */
	c = log_parse_ok("{}");
	assert_string_equal(c.log_driver, "json-file");
	assert_int_equal(c.log_max_size, 0);
	assert_int_equal(c.log_max_file, 1);
	free(c.log_driver);
	c = log_parse_ok("{\"LogConfig\":{\"Type\":\"local\"}}");
	assert_int_equal(c.log_max_size, 20000000);
	assert_int_equal(c.log_max_file, 5);
	free(c.log_driver);
	c = log_parse_ok("{\"LogConfig\":{\"Type\":\"none\",\"Config\":{\"x\":\"y\"}}}");
	assert_string_equal(c.log_driver, "none");
	free(c.log_driver);
	/* the daemon's options go to containers on its driver only, never over theirs */
	m = ctr_log_merge_defaults(NULL, "json-file", def);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				    json_object_get(m, "LogConfig"), "Config"), "max-file")), "3");
	json_decref(m);
	hc = json_loads("{\"LogConfig\":{\"Type\":\"local\"}}", 0, NULL);
	m = ctr_log_merge_defaults(hc, "json-file", def);
	assert_int_equal(json_object_size(json_object_get(json_object_get(m, "LogConfig"),
							  "Config")), 0);
	json_decref(m);
	json_decref(hc);
	hc = json_loads("{\"LogConfig\":{\"Type\":\"\",\"Config\":{\"max-file\":\"2\"}}}", 0,
			NULL);
	m = ctr_log_merge_defaults(hc, "local", def);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "LogConfig"),
							      "Type")), "local");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				    json_object_get(m, "LogConfig"), "Config"), "max-file")), "2");
	json_decref(m);
	json_decref(hc);
	json_decref(def);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_follow_docker),
		cmocka_unit_test(signals_by_name_and_number),
		cmocka_unit_test(wrong_types_are_400_with_go_messages),
		cmocka_unit_test(host_config_values_are_checked),
		cmocka_unit_test(mounts_are_parsed),
		cmocka_unit_test(merge_follows_docker),
		cmocka_unit_test(merge_defaults),
		cmocka_unit_test(spec_secure_defaults),
		cmocka_unit_test(spec_from_host_config),
		cmocka_unit_test(spec_privileged_and_host_network),
		cmocka_unit_test(users_resolve_in_the_container),
		cmocka_unit_test(restart_policies),
		cmocka_unit_test(restart_backoff),
		cmocka_unit_test(log_lines_encode_like_docker),
		cmocka_unit_test(log_config_follows_docker),
		cmocka_unit_test_setup_teardown(log_writer_splits_and_rotates, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test(filters_match),
		cmocka_unit_test(status_texts),
		cmocka_unit_test(command_strings),
		cmocka_unit_test(resolv_conf),
		cmocka_unit_test(records_round_trip),
		cmocka_unit_test(exec_records_round_trip),
		cmocka_unit_test(store_aux_rows_go_with_their_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

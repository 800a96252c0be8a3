/*
 * features.c - what this runtime supports, in the shape of runc's
 * `features` output (runtime-spec features.md), for engines that ask.
 */
#include "base/base.h"
#include "runtime/internal.h"

static json_t *strings(const char *const *v)
{
	json_t *a = json_array();

	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *caps_json(void)
{
	json_t *a = json_array();

	for (int c = 0; c <= hamn_oci_cap_last(); c++)
		if (hamn_oci_cap_name(c))
			json_array_append_new(a, json_string(hamn_oci_cap_name(c)));
	return a;
}

json_t *hamn_runtime_features(void)
{
	static const char *const hooks[] = {"prestart",
					    "createRuntime",
					    "createContainer",
					    "startContainer",
					    "poststart",
					    "poststop",
					    NULL};
	static const char *const mount_opts[] = {
		"async",	 "atime",      "bind",	     "defaults", "dev",
		"diratime",	 "dirsync",    "exec",	     "mand",	 "noatime",
		"nodev",	 "nodiratime", "noexec",     "nomand",	 "norelatime",
		"nostrictatime", "nosuid",     "private",    "rbind",	 "relatime",
		"remount",	 "ro",	       "rprivate",   "rshared",	 "rslave",
		"runbindable",	 "rw",	       "shared",     "slave",	 "strictatime",
		"suid",		 "sync",       "unbindable", NULL,
	};
	static const char *const ns[] = {"cgroup", "ipc",  "mount", "network",
					 "pid",	   "user", "uts",   NULL};
	static const char *const actions[] = {
		"SCMP_ACT_ALLOW",	"SCMP_ACT_ERRNO",
		"SCMP_ACT_KILL",	"SCMP_ACT_KILL_PROCESS",
		"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
		"SCMP_ACT_NOTIFY",	"SCMP_ACT_TRACE",
		"SCMP_ACT_TRAP",	NULL,
	};
	static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
					  "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
					  "SCMP_CMP_NE", NULL};
	static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
					    "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
					    "SCMP_ARCH_ARM", NULL};

	json_t *seccomp =
		json_pack("{s:b, s:o, s:o, s:o}", "enabled", 1, "actions", strings(actions),
			  "operators", strings(ops), "archs", strings(archs));
	json_t *cgroup =
		json_pack("{s:b, s:b, s:b, s:b}", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0);
	json_t *linux_ = json_pack("{s:o, s:o, s:o, s:o, s:{s:b}, s:{s:b}, s:{s:b}}", "namespaces",
				   strings(ns), "capabilities", caps_json(), "cgroup", cgroup,
				   "seccomp", seccomp, "apparmor", "enabled", 0, "selinux",
				   "enabled", 0, "intelRdt", "enabled", 0);
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:s}}", "ociVersionMin", "1.0.0",
			 "ociVersionMax", "1.1.0", "hooks", strings(hooks), "mountOptions",
			 strings(mount_opts), "linux", linux_, "annotations",
			 "io.hamn.runtime.version", HAMN_VERSION);
}

/*
 * defaults.c - the config that `hamn-runtime spec` writes (Docker's secure
 * defaults, see docs: secure-defaults §1.1-1.6) and the OCI state document.
 *
 * Deliberate differences from Docker: noNewPrivileges is on, and the
 * inheritable and ambient capability sets are empty (CVE-2022-29162).
 */
#include "oci/internal.h"

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"TERM=xterm",
	NULL,
};

static const char *const masked_paths[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/interrupts",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/sys/devices/virtual/powercap",
	"/sys/firmware",
	NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* Docker's default mounts with their exact options (secure-defaults §1.4). */
static const struct {
	const char *destination, *type, *source;
	const char *options[8];
} default_mounts[] = {
	{"/proc", "proc", "proc", {"rw", "nosuid", "nodev", "noexec"}},
	{"/dev", "tmpfs", "tmpfs", {"rw", "nosuid", "strictatime", "mode=755", "size=65536k"}},
	{"/dev/pts",
	 "devpts",
	 "devpts",
	 {"rw", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
	{"/sys", "sysfs", "sysfs", {"ro", "nosuid", "noexec", "nodev"}},
	{"/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}},
	{"/dev/mqueue", "mqueue", "mqueue", {"rw", "nosuid", "noexec", "nodev"}},
	{"/dev/shm",
	 "tmpfs",
	 "shm",
	 {"rw", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
};

/* Device cgroup rules (secure-defaults §1.5): deny all, then the standard devices. */
static const struct {
	bool allow;
	char type;
	int major, minor; /* -1: any */
	const char *access;
} default_device_rules[] = {
	{false, 'a', -1, -1, "rwm"},  /* deny everything not allowed below */
	{true, 'c', -1, -1, "m"},     /* mknod of any char device ... */
	{true, 'b', -1, -1, "m"},     /* ... and block device; using one is still denied */
	{true, 'c', 1, 3, "rwm"},     /* null */
	{true, 'c', 1, 5, "rwm"},     /* zero */
	{true, 'c', 1, 7, "rwm"},     /* full */
	{true, 'c', 1, 8, "rwm"},     /* random */
	{true, 'c', 1, 9, "rwm"},     /* urandom */
	{true, 'c', 5, 0, "rwm"},     /* tty */
	{true, 'c', 5, 1, "rwm"},     /* console */
	{true, 'c', 5, 2, "rwm"},     /* ptmx */
	{true, 'c', 10, 200, "rwm"},  /* net/tun */
	{true, 'c', 136, -1, "rwm"},  /* pts/N */
	{false, 'c', 10, 229, "rwm"}, /* fuse */
};

static json_t *strv_json(const char *const *v)
{
	return hamn_json_from_strv((char *const *)v);
}

static json_t *default_process(void)
{
	return json_pack("{s:b, s:{s:i, s:i}, s:[s], s:o, s:s, s:{s:o, s:o, s:o},"
			 " s:[{s:s, s:i, s:i}], s:b}",
			 "terminal", true, "user", "uid", 0, "gid", 0, "args", "sh", "env",
			 strv_json(default_env), "cwd", "/", "capabilities", "bounding",
			 oci_caps_to_json(HAMN_OCI_DEFAULT_CAPS), "effective",
			 oci_caps_to_json(HAMN_OCI_DEFAULT_CAPS), "permitted",
			 oci_caps_to_json(HAMN_OCI_DEFAULT_CAPS), "rlimits", "type",
			 "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", true);
}

static json_t *default_mounts_json(void)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < sizeof(default_mounts) / sizeof(default_mounts[0]); i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "destination",
						     default_mounts[i].destination, "type",
						     default_mounts[i].type, "source",
						     default_mounts[i].source, "options",
						     strv_json(default_mounts[i].options)));
	return arr;
}

static json_t *default_devices_json(void)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < sizeof(default_device_rules) / sizeof(default_device_rules[0]);
	     i++) {
		json_t *obj = json_pack("{s:b, s:s#, s:s}", "allow", default_device_rules[i].allow,
					"type", &default_device_rules[i].type, 1, "access",
					default_device_rules[i].access);

		if (default_device_rules[i].major >= 0)
			json_object_set_new(obj, "major",
					    json_integer(default_device_rules[i].major));
		if (default_device_rules[i].minor >= 0)
			json_object_set_new(obj, "minor",
					    json_integer(default_device_rules[i].minor));
		json_array_append_new(arr, obj);
	}
	return arr;
}

static json_t *default_seccomp(void)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *profile = hamn_oci_seccomp_default_profile();
	json_t *sc;

	/* the profile is built in: failing to convert it is a bug, not bad input */
	if (!profile)
		hamn_bug("no default seccomp profile");
	sc = hamn_oci_seccomp_from_docker_profile(profile, HAMN_OCI_DEFAULT_CAPS, &err);
	if (!sc)
		hamn_bug("default seccomp profile: %s", err->msg);
	return sc;
}

static json_t *default_linux(void)
{
	return json_pack("{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}], s:{s:o}, s:o, s:o, s:o}",
			 "namespaces", "type", "pid", "type", "network", "type", "ipc", "type",
			 "uts", "type", "mount", "resources", "devices", default_devices_json(),
			 "maskedPaths", strv_json(masked_paths), "readonlyPaths",
			 strv_json(readonly_paths), "seccomp", default_seccomp());
}

json_t *hamn_oci_default_spec_json(void)
{
	json_t *doc = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion",
				HAMN_OCI_VERSION, "process", default_process(), "root", "path",
				"rootfs", "readonly", true, "hostname", "hamn", "mounts",
				default_mounts_json(), "linux", default_linux());

	if (!doc)
		hamn_bug("cannot build the default config");
	return doc;
}

json_t *hamn_oci_state_json(const char *id, enum hamn_oci_status status, pid_t pid,
			    const char *bundle, int64_t created_ns, json_t *annotations)
{
	char created[HAMN_TIME_STR_MAX];
	json_t *doc;

	doc = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "ociVersion", HAMN_OCI_VERSION, "id",
			id, "status", hamn_oci_status_name(status), "pid", (int)pid, "bundle",
			bundle ? bundle : "", "created", hamn_time_format(created_ns, created),
			"owner", "");
	if (!doc)
		hamn_bug("cannot build the state of '%s'", id ? id : "");
	if (annotations && json_object_size(annotations))
		json_object_set_new(doc, "annotations", json_deep_copy(annotations));
	return doc;
}

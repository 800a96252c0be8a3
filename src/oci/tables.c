/*
 * tables.c - the name tables of the runtime spec: capabilities, namespaces,
 * rlimits, mount options and propagation, container status; and the
 * sysctl allow-list check.
 */
#include <sched.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "oci/internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ---- capabilities ---- */

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
	[0] = "CAP_CHOWN",
	[1] = "CAP_DAC_OVERRIDE",
	[2] = "CAP_DAC_READ_SEARCH",
	[3] = "CAP_FOWNER",
	[4] = "CAP_FSETID",
	[5] = "CAP_KILL",
	[6] = "CAP_SETGID",
	[7] = "CAP_SETUID",
	[8] = "CAP_SETPCAP",
	[9] = "CAP_LINUX_IMMUTABLE",
	[10] = "CAP_NET_BIND_SERVICE",
	[11] = "CAP_NET_BROADCAST",
	[12] = "CAP_NET_ADMIN",
	[13] = "CAP_NET_RAW",
	[14] = "CAP_IPC_LOCK",
	[15] = "CAP_IPC_OWNER",
	[16] = "CAP_SYS_MODULE",
	[17] = "CAP_SYS_RAWIO",
	[18] = "CAP_SYS_CHROOT",
	[19] = "CAP_SYS_PTRACE",
	[20] = "CAP_SYS_PACCT",
	[21] = "CAP_SYS_ADMIN",
	[22] = "CAP_SYS_BOOT",
	[23] = "CAP_SYS_NICE",
	[24] = "CAP_SYS_RESOURCE",
	[25] = "CAP_SYS_TIME",
	[26] = "CAP_SYS_TTY_CONFIG",
	[27] = "CAP_MKNOD",
	[28] = "CAP_LEASE",
	[29] = "CAP_AUDIT_WRITE",
	[30] = "CAP_AUDIT_CONTROL",
	[31] = "CAP_SETFCAP",
	[32] = "CAP_MAC_OVERRIDE",
	[33] = "CAP_MAC_ADMIN",
	[34] = "CAP_SYSLOG",
	[35] = "CAP_WAKE_ALARM",
	[36] = "CAP_BLOCK_SUSPEND",
	[37] = "CAP_AUDIT_READ",
	[38] = "CAP_PERFMON",
	[39] = "CAP_BPF",
	[40] = "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int hamn_oci_cap_from_name(const char *name)
{
	if (!name)
		return -1;
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i < N_CAPS; i++)
		if (strcasecmp(name, cap_names[i] + 4) == 0)
			return i;
	return -1;
}

const char *hamn_oci_cap_name(int cap)
{
	if (cap < 0 || cap >= N_CAPS)
		return NULL;
	return cap_names[cap];
}

int hamn_oci_cap_last(void)
{
	return N_CAPS - 1;
}

json_t *oci_caps_to_json(uint64_t mask)
{
	json_t *arr = json_array();

	for (int c = 0; c < N_CAPS; c++)
		if (mask & (1ULL << c))
			json_array_append_new(arr, json_string(cap_names[c]));
	return arr;
}

/* ---- namespaces ---- */

static const struct {
	const char *name;
	int flag;
} ns_table[HAMN_OCI_NS_N_TYPES] = {
	[HAMN_OCI_NS_PID] = {"pid", CLONE_NEWPID},
	[HAMN_OCI_NS_NETWORK] = {"network", CLONE_NEWNET},
	[HAMN_OCI_NS_MOUNT] = {"mount", CLONE_NEWNS},
	[HAMN_OCI_NS_IPC] = {"ipc", CLONE_NEWIPC},
	[HAMN_OCI_NS_UTS] = {"uts", CLONE_NEWUTS},
	[HAMN_OCI_NS_USER] = {"user", CLONE_NEWUSER},
	[HAMN_OCI_NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP},
	[HAMN_OCI_NS_TIME] = {"time", CLONE_NEWTIME},
};

int hamn_oci_ns_from_name(const char *name)
{
	for (int i = 0; name && i < HAMN_OCI_NS_N_TYPES; i++)
		if (strcmp(name, ns_table[i].name) == 0)
			return i;
	return -1;
}

const char *hamn_oci_ns_name(enum hamn_oci_ns_type t)
{
	if ((unsigned)t >= HAMN_OCI_NS_N_TYPES)
		return NULL;
	return ns_table[t].name;
}

int hamn_oci_ns_clone_flag(enum hamn_oci_ns_type t)
{
	if ((unsigned)t >= HAMN_OCI_NS_N_TYPES)
		return 0;
	return ns_table[t].flag;
}

/* ---- rlimits ---- */

static const struct {
	const char *name;
	int resource;
} rlimit_table[] = {
	{"RLIMIT_AS", RLIMIT_AS},
	{"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},
	{"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};
#define N_RLIMITS (sizeof(rlimit_table) / sizeof(rlimit_table[0]))

int hamn_oci_rlimit_from_name(const char *name)
{
	for (size_t i = 0; name && i < N_RLIMITS; i++)
		if (strcmp(name, rlimit_table[i].name) == 0)
			return rlimit_table[i].resource;
	return -1;
}

const char *hamn_oci_rlimit_name(int resource)
{
	for (size_t i = 0; i < N_RLIMITS; i++)
		if (rlimit_table[i].resource == resource)
			return rlimit_table[i].name;
	return NULL;
}

/* ---- mount options ---- */

static const struct {
	const char *name;
	bool clear; /* the option clears the flag instead of setting it */
	unsigned long flag;
} mount_flag_table[] = {
	{"defaults", false, 0},
	{"ro", false, MS_RDONLY},
	{"rw", true, MS_RDONLY},
	{"nosuid", false, MS_NOSUID},
	{"suid", true, MS_NOSUID},
	{"nodev", false, MS_NODEV},
	{"dev", true, MS_NODEV},
	{"noexec", false, MS_NOEXEC},
	{"exec", true, MS_NOEXEC},
	{"sync", false, MS_SYNCHRONOUS},
	{"async", true, MS_SYNCHRONOUS},
	{"dirsync", false, MS_DIRSYNC},
	{"remount", false, MS_REMOUNT},
	{"mand", false, MS_MANDLOCK},
	{"nomand", true, MS_MANDLOCK},
	{"noatime", false, MS_NOATIME},
	{"atime", true, MS_NOATIME},
	{"nodiratime", false, MS_NODIRATIME},
	{"diratime", true, MS_NODIRATIME},
	{"relatime", false, MS_RELATIME},
	{"norelatime", true, MS_RELATIME},
	{"strictatime", false, MS_STRICTATIME},
	{"nostrictatime", true, MS_STRICTATIME},
	{"bind", false, MS_BIND},
	{"rbind", false, MS_BIND | MS_REC},
};

static const struct {
	const char *name;
	unsigned long flags;
} propagation_table[] = {
	{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
	{"shared", MS_SHARED},	       {"rshared", MS_SHARED | MS_REC},
	{"slave", MS_SLAVE},	       {"rslave", MS_SLAVE | MS_REC},
	{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

unsigned long oci_propagation_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(propagation_table) / sizeof(propagation_table[0]); i++)
		if (strcmp(name, propagation_table[i].name) == 0)
			return propagation_table[i].flags;
	return 0;
}

const char *oci_propagation_name(unsigned long flags)
{
	for (size_t i = 0; i < sizeof(propagation_table) / sizeof(propagation_table[0]); i++)
		if (flags == propagation_table[i].flags)
			return propagation_table[i].name;
	return NULL;
}

bool hamn_oci_mount_option(const char *opt, unsigned long *flags, unsigned long *clear_flags,
			   unsigned long *propagation)
{
	unsigned long prop = oci_propagation_from_name(opt);

	if (prop) {
		*propagation = prop;
		return true;
	}
	for (size_t i = 0; i < sizeof(mount_flag_table) / sizeof(mount_flag_table[0]); i++) {
		unsigned long f = mount_flag_table[i].flag;

		if (strcmp(opt, mount_flag_table[i].name) != 0)
			continue;
		/* the option given last wins: "rw,ro" is read-only */
		if (mount_flag_table[i].clear) {
			*flags &= ~f;
			*clear_flags |= f;
		} else {
			*flags |= f;
			*clear_flags &= ~f;
		}
		return true;
	}
	return false;
}

void hamn_oci_mount_flags(struct hamn_oci_mount *m)
{
	struct hamn_buf data = HAMN_BUF_INIT;

	m->flags = m->clear_flags = m->propagation = 0;
	free(m->data);
	m->data = NULL;
	for (size_t i = 0; m->options && m->options[i]; i++) {
		if (hamn_oci_mount_option(m->options[i], &m->flags, &m->clear_flags,
					  &m->propagation))
			continue;
		if (data.len)
			hamn_buf_putc(&data, ',');
		hamn_buf_puts(&data, m->options[i]);
	}
	if (data.len)
		m->data = hamn_buf_steal(&data);
	hamn_buf_release(&data);
	m->bind = (m->flags & MS_BIND) || streq(m->type, "bind");
	m->recursive = m->bind && (m->flags & MS_REC);
}

/* ---- status ---- */

const char *hamn_oci_status_name(enum hamn_oci_status s)
{
	switch (s) {
	case HAMN_OCI_CREATING:
		return "creating";
	case HAMN_OCI_CREATED:
		return "created";
	case HAMN_OCI_RUNNING:
		return "running";
	case HAMN_OCI_PAUSED:
		return "paused";
	case HAMN_OCI_STOPPED:
		return "stopped";
	}
	return "unknown";
}

const char *const oci_hook_kind_names[HAMN_OCI_HOOK_N_KINDS] = {
	[HAMN_OCI_HOOK_PRESTART] = "prestart",
	[HAMN_OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
	[HAMN_OCI_HOOK_CREATE_CONTAINER] = "createContainer",
	[HAMN_OCI_HOOK_START_CONTAINER] = "startContainer",
	[HAMN_OCI_HOOK_POSTSTART] = "poststart",
	[HAMN_OCI_HOOK_POSTSTOP] = "poststop",
};

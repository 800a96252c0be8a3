/*
 * oci.h - the OCI data model: runtime config.json (runtime-spec 1.x), the
 * OCI state document, and (later) image config, manifest and index.
 *
 * Parsing is strict: wrong types, missing required fields, and values that
 * make no sense (a relative root path with "..", an unknown namespace type,
 * a negative uid) are EINVAL with the JSON path of the offending field in
 * the message ("config.json: process.args: must be a non-empty array of
 * strings"). Unknown fields are ignored, as the spec requires. Parsing never
 * touches the filesystem.
 *
 * All strings and arrays in these structs are owned by the struct; free with
 * the matching _free function. Vectors are NULL-terminated.
 */
#ifndef HAMN_OCI_OCI_H
#define HAMN_OCI_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"
#include "oci/resources.h"
#include "oci/seccomp.h"

#define HAMN_OCI_VERSION "1.0.2"

/*
 * GNU C predefines the old macro `linux` as 1 (-std=gnu17), which would turn
 * the member spec->linux below into a syntax error. Nothing in hamn uses the
 * macro (use __linux__), so drop it.
 */
#undef linux

/* ---- process ---- */

struct hamn_oci_rlimit {
	int resource;		/* RLIMIT_* value, parsed from "RLIMIT_NOFILE" etc. */
	uint64_t soft;		/* RLIM_INFINITY: 18446744073709551615 in JSON (-1 is read too) */
	uint64_t hard;
};

/* Capability sets as bit masks over CAP_* numbers (bit n = capability n). */
struct hamn_oci_caps {
	uint64_t bounding;
	uint64_t effective;
	uint64_t inheritable;
	uint64_t permitted;
	uint64_t ambient;
};

struct hamn_oci_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *username;		/* optional, informational */
};

struct hamn_oci_process {
	bool terminal;
	unsigned int console_height, console_width;	/* 0 when unset */
	struct hamn_oci_user user;
	char **args;		/* non-empty */
	char **env;		/* may be NULL */
	char *cwd;		/* absolute */
	bool has_caps;		/* false: "capabilities" absent (no change to caps) */
	struct hamn_oci_caps caps;
	struct hamn_oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile;	/* parsed, ignored on hosts without AppArmor */
	char *selinux_label;
};

/* ---- root, mounts, hooks ---- */

struct hamn_oci_mount {
	char *destination;	/* absolute path inside the container */
	char *type;		/* may be NULL (bind) */
	char *source;		/* may be NULL */
	char **options;		/* raw option strings as in config.json */
	/*
	 * Derived from options by hamn_oci_mount_flags(). flags includes MS_BIND
	 * for "bind" and MS_BIND|MS_REC for "rbind".
	 */
	unsigned long flags;	/* MS_* to set */
	unsigned long clear_flags;	/* MS_* explicitly cleared ("rw", "suid", ...) */
	unsigned long propagation;	/* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) or 0 */
	char *data;		/* the remaining options joined with ',' ("mode=755,size=65536k") */
	bool bind;		/* "bind" or "rbind" option, or type "bind" */
	bool recursive;		/* "rbind" */
};

struct hamn_oci_hook {
	char *path;
	char **args;
	char **env;
	int timeout;		/* seconds, 0 = none */
};

enum hamn_oci_hook_kind {
	HAMN_OCI_HOOK_PRESTART,		/* deprecated, run like createRuntime */
	HAMN_OCI_HOOK_CREATE_RUNTIME,
	HAMN_OCI_HOOK_CREATE_CONTAINER,
	HAMN_OCI_HOOK_START_CONTAINER,
	HAMN_OCI_HOOK_POSTSTART,
	HAMN_OCI_HOOK_POSTSTOP,
	HAMN_OCI_HOOK_N_KINDS,
};

/*
 * Fill the derived fields of m (flags, clear_flags, propagation, data, bind,
 * recursive) from m->options and m->type; replaces any earlier m->data.
 * When options repeat or contradict ("rw", "ro") the last one wins. Options
 * that are not flags ("mode=755", "size=64m", "newinstance") go to data, in
 * their original order, comma-joined; data is NULL when there are none.
 * hamn_oci_spec_parse() calls this for every mount.
 */
void hamn_oci_mount_flags(struct hamn_oci_mount *m);
/*
 * Apply one option to the three masks: true when opt is a flag or a
 * propagation option (then *flags, *clear_flags or *propagation changed),
 * false when it belongs in the filesystem data.
 */
bool hamn_oci_mount_option(const char *opt, unsigned long *flags, unsigned long *clear_flags,
			   unsigned long *propagation);

/* ---- linux ---- */

enum hamn_oci_ns_type {
	HAMN_OCI_NS_PID,
	HAMN_OCI_NS_NETWORK,
	HAMN_OCI_NS_MOUNT,
	HAMN_OCI_NS_IPC,
	HAMN_OCI_NS_UTS,
	HAMN_OCI_NS_USER,
	HAMN_OCI_NS_CGROUP,
	HAMN_OCI_NS_TIME,
	HAMN_OCI_NS_N_TYPES,
};

struct hamn_oci_namespace {
	enum hamn_oci_ns_type type;
	char *path;		/* NULL: create a new one; else join this one */
};

struct hamn_oci_id_map {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct hamn_oci_device {
	char type;		/* 'c', 'b', 'u' or 'p' */
	char *path;		/* absolute, inside the container */
	int64_t major, minor;
	bool has_mode;
	mode_t file_mode;	/* permission bits only */
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
};

struct hamn_oci_sysctl {
	char *key;
	char *value;
};

struct hamn_oci_linux {
	struct hamn_oci_namespace *namespaces;
	size_t n_namespaces;
	struct hamn_oci_id_map *uid_mappings;
	size_t n_uid_mappings;
	struct hamn_oci_id_map *gid_mappings;
	size_t n_gid_mappings;
	struct hamn_oci_device *devices;
	size_t n_devices;
	char *cgroups_path;		/* NULL: the runtime chooses */
	struct hamn_oci_resources *resources;	/* NULL when absent */
	struct hamn_oci_sysctl *sysctls;
	size_t n_sysctls;
	struct hamn_oci_seccomp *seccomp;	/* NULL when absent */
	unsigned long rootfs_propagation;	/* MS_* | MS_REC, 0 = default (rprivate) */
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
};

/* ---- the whole config ---- */

struct hamn_oci_spec {
	char *oci_version;
	struct hamn_oci_process *process;	/* NULL is allowed by the spec for create-only use */
	char *root_path;			/* as written (may be relative to the bundle) */
	bool root_readonly;
	char *hostname;
	char *domainname;
	struct hamn_oci_mount *mounts;
	size_t n_mounts;
	struct hamn_oci_hook *hooks[HAMN_OCI_HOOK_N_KINDS];
	size_t n_hooks[HAMN_OCI_HOOK_N_KINDS];
	struct hamn_oci_linux linux;		/* zeroed when "linux" is absent */
	json_t *annotations;			/* object or NULL; owned reference */
};

/*
 * Parse a config.json document. On success returns a new spec; on failure
 * NULL with EINVAL (bad structure or value) and the JSON path in the message.
 * Besides types and ranges it refuses what the runtime could only do to the
 * host: linux.sysctl entries that fail hamn_oci_sysctl_check() for the
 * namespaces listed, a hostname/domainname without a uts namespace, id
 * mappings without a user namespace, ".." in mount destinations, device,
 * masked and read-only paths and cgroupsPath. doc is not changed or kept.
 * Parse its text with hamn_json_parse_big() (or hamn_json_load_file_big()):
 * the spec's uint64 fields (rlimits, cpu shares and periods, blockIO rates,
 * hugepage limits, seccomp argument values) go up to 2^64-1, which jansson's
 * plain parse refuses; a value above that, or below 0, is out of range.
 * Thread-safe (no shared state).
 */
struct hamn_oci_spec *hamn_oci_spec_parse(json_t *doc, struct hamn_error **err);
/*
 * Read (with hamn_json_load_file_big()) and parse BUNDLE/config.json (at most
 * 4 MiB: EFBIG beyond). ENOENT or another errno when it cannot be read,
 * EINVAL when it is not valid.
 */
struct hamn_oci_spec *hamn_oci_spec_load(const char *bundle, struct hamn_error **err);
/*
 * Parse only a "process" object (hamn-runtime exec --process), with the same
 * rules as in a config; messages start with "process." (no "config.json: ").
 */
struct hamn_oci_process *hamn_oci_process_parse(json_t *obj, struct hamn_error **err);
void hamn_oci_process_free(struct hamn_oci_process *p);
void hamn_oci_spec_free(struct hamn_oci_spec *spec);
HAMN_DEFINE_CLEANUP(hamn_oci_spec, hamn_oci_spec_free)
#define _cleanup_oci_spec_ _cleanup_(cleanup_hamn_oci_specp)

/*
 * Emit a spec back to JSON (new reference); parse(emit(s)) equals s. The
 * derived mount fields are not written (they follow from the options).
 * uint64 values above INT64_MAX (RLIM_INFINITY) are big integers: write the
 * text with hamn_json_dump_big().
 */
json_t *hamn_oci_spec_to_json(const struct hamn_oci_spec *spec);

/*
 * The default config that `hamn-runtime spec` writes: Docker's secure
 * defaults (14 default caps in bounding/effective/permitted, none
 * inheritable or ambient, masked/read-only paths, default mounts, pid,
 * network, ipc, uts, mount namespaces, device cgroup allow-list, RLIMIT_NOFILE
 * 1024, the default seccomp profile for this machine), noNewPrivileges on,
 * args ["sh"], terminal true, root "rootfs" read-only, hostname "hamn".
 * Returns a new reference; never fails (a broken built-in profile aborts).
 */
json_t *hamn_oci_default_spec_json(void);

/* Capability names ("CAP_CHOWN" or "chown", any case) <-> numbers. -1 when unknown. */
int hamn_oci_cap_from_name(const char *name);
const char *hamn_oci_cap_name(int cap);	/* "CAP_CHOWN"; NULL when unknown */
int hamn_oci_cap_last(void);		/* highest capability number hamn knows */
/* The Docker default capability set as a mask (CapEff 0x00000000a80425fb). */
#define HAMN_OCI_DEFAULT_CAPS 0x00000000a80425fbULL

/* "pid" -> HAMN_OCI_NS_PID etc.; -1 when unknown. CLONE_NEW* flag of a type. */
int hamn_oci_ns_from_name(const char *name);
const char *hamn_oci_ns_name(enum hamn_oci_ns_type t);
int hamn_oci_ns_clone_flag(enum hamn_oci_ns_type t);
/* The namespace entry of type t, or NULL when the spec has none. */
const struct hamn_oci_namespace *hamn_oci_spec_ns(const struct hamn_oci_spec *spec,
						  enum hamn_oci_ns_type t);

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown. */
int hamn_oci_rlimit_from_name(const char *name);
/* RLIMIT_NOFILE -> "RLIMIT_NOFILE" (static storage; async-signal-safe); NULL when unknown. */
const char *hamn_oci_rlimit_name(int resource);

/*
 * Is this sysctl safe to set in a container given which namespaces it has
 * (CVE-2022-0811 class)? Namespaced keys only: kernel.shm*, kernel.msg*,
 * kernel.sem, fs.mqueue.* (ipc ns), net.* (net ns), kernel.hostname /
 * kernel.domainname (uts ns); values without newlines or separators that
 * could inject a second key. EINVAL with a message naming the key otherwise.
 */
int hamn_oci_sysctl_check(const char *key, const char *value, bool has_netns, bool has_ipcns,
			  bool has_utsns, struct hamn_error **err);

/* ---- state ---- */

enum hamn_oci_status {
	HAMN_OCI_CREATING,
	HAMN_OCI_CREATED,
	HAMN_OCI_RUNNING,
	HAMN_OCI_PAUSED,
	HAMN_OCI_STOPPED,
};
const char *hamn_oci_status_name(enum hamn_oci_status s);	/* "created", ... */

/*
 * The OCI state document: {"ociVersion","id","status","pid","bundle",
 * "annotations"} plus runc's extra "created" (RFC 3339 of created_ns) and
 * "owner" ("") fields. annotations is copied and left out when NULL or
 * empty. Returns a new reference.
 */
json_t *hamn_oci_state_json(const char *id, enum hamn_oci_status status, pid_t pid,
			    const char *bundle, int64_t created_ns, json_t *annotations);

#endif

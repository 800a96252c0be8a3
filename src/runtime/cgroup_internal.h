/*
 * cgroup_internal.h - shared by src/runtime/cgroup*.c only: the cgroup
 * object, the v1/v2 ops struct, file helpers and the pure translations the
 * unit tests call directly.
 *
 * Test seam: HAMN_TEST_CGROUP_ROOT=<dir> replaces /sys/fs/cgroup with a tree
 * of plain files. If <dir>/cgroup.controllers exists the tree is v2, else
 * every subdirectory of <dir> is a v1 hierarchy named by its controllers
 * ("cpu,cpuacct", "memory"). HAMN_TEST_CGROUP_SELF is then the caller's own
 * cgroup in every hierarchy (default "/"). In such a fake tree every write
 * creates the file if needed and appends "value\n", so a test can read back
 * each value written in order.
 */
#ifndef HAMN_RUNTIME_CGROUP_INTERNAL_H
#define HAMN_RUNTIME_CGROUP_INTERNAL_H

#include <linux/bpf.h>

#include "runtime/cgroup.h"

#define HAMN_CGROUP_MOUNT "/sys/fs/cgroup"
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* One hierarchy the container's cgroup lives in (v2 has exactly one). */
struct cgroup_hier {
	char *controllers;	/* v1: "cpu,cpuacct", "memory", "name=systemd"; v2: "" */
	char *path;		/* the container's cgroup, relative to the hierarchy root */
	char *dir;		/* its absolute directory */
	unsigned depth;		/* trailing components of dir that hamn placed (mkdir -p) */
	unsigned removable;	/* trailing components destroy may rmdir (<= depth; 0: none) */
};

struct cgroup_ops;

struct hamn_cgroup {
	const struct cgroup_ops *ops;
	char *id;
	struct cgroup_hier *h;
	size_t n_h;
	bool is_default;	/* placed at <own>/hamn/<id> */
	int dirfd;		/* v2: cached O_DIRECTORY fd of h[0].dir, or -1 */
};

/* What differs between v1 and v2; chosen once per hamn_cgroup. */
struct cgroup_ops {
	enum hamn_cgroup_version version;
	/*
	 * Called for every directory from the first one hamn places down to
	 * the leaf, whether mkdir made it or it existed (v1: copy cpuset.cpus
	 * and .mems from the parent; v2: enable controllers in the parent).
	 */
	int (*prepare_level)(const struct cgroup_hier *h, const char *parent, const char *dir,
			     struct hamn_error **err);
	/* Write the limits and device rules (update: devices only when res has rules). */
	int (*apply)(struct hamn_cgroup *cg, const struct hamn_oci_resources *res, bool update,
		     struct hamn_error **err);
	int (*freeze)(struct hamn_cgroup *cg, bool frozen, struct hamn_error **err);
	int (*is_frozen)(struct hamn_cgroup *cg, bool *out, struct hamn_error **err);
	/* Kill everything in one step if the kernel can: 1 done, 0 cannot, -1 error. */
	int (*kill_fast)(struct hamn_cgroup *cg, int sig, struct hamn_error **err);
	int (*stats)(struct hamn_cgroup *cg, struct hamn_cgroup_stats *out,
		     struct hamn_error **err);
};

extern const struct cgroup_ops hamn_cgroup_v1_ops;
extern const struct cgroup_ops hamn_cgroup_v2_ops;

/* A hierarchy as found on the host: where it is mounted and where we are in it. */
struct cgroup_mount {
	char *controllers;	/* as in struct cgroup_hier */
	char *mount;		/* mount point */
	char *mount_root;	/* root of the mount inside the hierarchy (usually "/") */
	char *own;		/* the caller's cgroup, relative to the hierarchy root */
};
void hamn_cg_mounts_free(struct cgroup_mount *m, size_t n);

/* Discovery of the hierarchies (v1: one per mounted hierarchy; v2: one). */
int hamn_cg_v1_mounts(struct cgroup_mount **out, size_t *n_out, struct hamn_error **err);
int hamn_cg_v2_mounts(struct cgroup_mount **out, size_t *n_out, struct hamn_error **err);

/*
 * Pure parsers (unit-tested). mountinfo: every "cgroup" (v1) mount, one per
 * hierarchy, with controllers and own left NULL. self: the path of the line
 * of /proc/self/cgroup whose controller list holds the first controller of
 * `controllers` ("" picks the v2 line "0::"); ENOENT when there is none.
 */
int hamn_cg_parse_mountinfo(const char *text, struct cgroup_mount **out, size_t *n_out);
int hamn_cg_parse_self(const char *text, const char *controllers, char **path_out,
		       struct hamn_error **err);

/*
 * Placement (pure, unit-tested): the container's path relative to a
 * hierarchy root, given the caller's own cgroup there. depth_out is the
 * number of trailing components hamn places; EINVAL for a bad id
 * (empty, '/', "..") or cgroupsPath ("..", ".", "/", systemd "a:b:c").
 */
int hamn_cg_placement(const char *own, const char *id, const char *cgroups_path,
		      char **path_out, unsigned *depth_out, bool *is_default,
		      struct hamn_error **err);
int hamn_cg_validate_id(const char *id, struct hamn_error **err);

/* The cgroup mount root in use (HAMN_TEST_CGROUP_ROOT or /sys/fs/cgroup); static storage. */
const char *hamn_cg_root(void);
bool hamn_cg_is_fake(void);

/* Does controller name appear in a comma-separated list ("cpu,cpuacct")? */
bool hamn_cg_has_controller(const char *list, const char *name);
/* The directory of the hierarchy holding controller name, or NULL when not mounted. */
const char *hamn_cg_dir_for(const struct hamn_cgroup *cg, const char *name);

/*
 * Files inside a cgroup directory. write: one write(2) of value, errors name
 * the file and the value. write_opt: a missing file is skipped with a debug
 * log and returns 1 (0 when written). read: the whole file, NUL-terminated.
 * read_u64: one number ("max" reads as UINT64_MAX). read_key: the number
 * after "key " (or "key=") on its own line or field; *out untouched and 1
 * returned when absent.
 */
int hamn_cg_write(const char *dir, const char *file, const char *value,
		  struct hamn_error **err);
int hamn_cg_write_opt(const char *dir, const char *file, const char *value,
		      struct hamn_error **err);
int hamn_cg_read(const char *dir, const char *file, char **out, struct hamn_error **err);
int hamn_cg_read_u64(const char *dir, const char *file, uint64_t *out, struct hamn_error **err);
int hamn_cg_read_key(const char *text, const char *key, uint64_t *out);
/* The same readers, where a missing file (or a NULL dir) leaves *out at 0. */
int hamn_cg_stat_u64(const char *dir, const char *file, uint64_t *out, struct hamn_error **err);
int hamn_cg_stat_key(const char *dir, const char *file, const char *key, uint64_t *out,
		     struct hamn_error **err);

/* Short waits for the kernel to catch up (freezer, rmdir after exit). */
void hamn_cg_backoff(unsigned attempt);

/*
 * Device rules as a container gets them: deny all, then res's rules in
 * order (the runtime puts the default devices there). *out is a new array;
 * res may be NULL.
 */
void hamn_cg_device_rules(const struct hamn_oci_resources *res,
			  struct hamn_oci_device_rule **out, size_t *n_out);
/* v1 text of a rule: "c 1:3 rwm", "b *:* m", "a *:* rwm". buf >= 64 bytes. */
void hamn_cg_device_rule_text(const struct hamn_oci_device_rule *r, char *buf, size_t len);

/* v2 memory.swap.max from the OCI memory+swap total: -1 "max", -2 leave unset. */
int hamn_cg_v2_swap_max(const struct hamn_oci_resources *res, int64_t *out,
			struct hamn_error **err);

/*
 * The BPF_PROG_TYPE_CGROUP_DEVICE program for rules: each requested access
 * bit (r, w, m) is decided by the last rule that matches the device and
 * names that bit; a bit no rule names is denied. (For rules that all say
 * "rwm" this is plain last-match-wins.) *out is a new array. EINVAL for a
 * major or minor beyond 2^31-1, a bad type or a bad access letter.
 */
int hamn_cg_bpf_devices(const struct hamn_oci_device_rule *rules, size_t n,
			struct bpf_insn **out, size_t *n_out, struct hamn_error **err);
/*
 * Load insns and attach them to the cgroup2 directory cgfd with
 * BPF_F_ALLOW_MULTI; then detach every other device program attached
 * there before (so an update replaces the old rules, and during the swap
 * both apply: never more permissive).
 */
int hamn_cg_bpf_attach(int cgfd, const struct bpf_insn *insns, size_t n,
		       struct hamn_error **err);

#endif

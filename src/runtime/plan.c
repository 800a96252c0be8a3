/*
 * plan.c - turn a parsed config.json into the plan the child executes.
 *
 * Everything that needs memory, a lookup or a decision happens here, in
 * the parent, before clone: absolute paths, mount flags, device numbers,
 * the cgroup hierarchies to show in /sys/fs/cgroup, sysctl paths (checked
 * with hamn_oci_sysctl_check), capability masks, the environment and the
 * compiled seccomp program. The child (child.c, rootfs.c) only reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "base/base.h"
#include "base/syscalls.h"
#include "runtime/internal.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

static const char *own(struct rt_plan *p, char *s)
{
	strv_push_take(&p->owned, s);
	return s;
}

static int cap_last_cap(void)
{
	static int last = -1;
	_cleanup_free_ char *text = NULL;

	if (last >= 0)
		return last;
	if (hamn_read_file(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &text, NULL, NULL) == 0)
		last = atoi(text);
	if (last <= 0)
		last = hamn_oci_cap_last();
	return last;
}

int rt_proc_from_oci(const struct hamn_oci_process *proc, struct rt_proc *out, char ***env_store,
		     struct hamn_error **err)
{
	static char *const empty[] = {NULL};

	memset(out, 0, sizeof(*out));
	out->console_socket = -1;
	for (int i = 0; i < 3; i++)
		out->stdio[i] = -1;
	if (!proc || !proc->args || !proc->args[0])
		return hamn_error_set(err, EINVAL, "process.args must not be empty");
	out->argv = proc->args;
	*env_store = strv_copy(proc->env);
	out->envp = *env_store ? *env_store : empty;
	for (char *const *e = out->envp; *e; e++)
		if (str_has_prefix(*e, "PATH="))
			out->path_env = *e + 5;
	out->cwd = proc->cwd ? proc->cwd : "/";
	out->uid = proc->user.uid;
	out->gid = proc->user.gid;
	out->groups = proc->user.additional_gids;
	out->n_groups = proc->user.n_additional_gids;
	out->has_umask = proc->user.has_umask;
	out->umask = proc->user.umask;
	out->has_caps = proc->has_caps;
	out->cap_bounding = proc->caps.bounding;
	out->cap_effective = proc->caps.effective;
	out->cap_permitted = proc->caps.permitted;
	out->cap_inheritable = proc->caps.inheritable;
	out->cap_ambient = proc->caps.ambient;
	out->cap_last = cap_last_cap();
	out->no_new_privs = proc->no_new_privileges;
	out->terminal = proc->terminal;
	out->console_rows = (unsigned short)proc->console_height;
	out->console_cols = (unsigned short)proc->console_width;
	out->rlimits = proc->rlimits;
	out->n_rlimits = proc->n_rlimits;
	return 0;
}

/* ---- namespaces ---- */

static char *id_map_text(const struct hamn_oci_id_map *m, size_t n)
{
	struct hamn_buf b = HAMN_BUF_INIT;

	for (size_t i = 0; i < n; i++)
		hamn_buf_printf(&b, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
	return hamn_buf_steal(&b);
}

static int plan_namespaces(struct rt_plan *p, const struct hamn_oci_spec *spec,
			   struct hamn_error **err)
{
	const struct hamn_oci_linux *l = &spec->linux;
	bool have_mnt = false;

	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct hamn_oci_namespace *ns = &l->namespaces[i];
		if (ns->type == HAMN_OCI_NS_MOUNT)
			have_mnt = true;
		if (ns->path) {
			int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return hamn_error_set(err, errno, "open %s namespace '%s'",
						      hamn_oci_ns_name(ns->type), ns->path);
			p->join_fd[ns->type] = fd;
			p->intermediate = true;
		} else if (ns->type == HAMN_OCI_NS_CGROUP) {
			p->new_cgroupns = true;
		} else {
			p->clone_flags |= (unsigned long)hamn_oci_ns_clone_flag(ns->type);
			if (ns->type == HAMN_OCI_NS_USER)
				p->new_userns = true;
		}
	}
	if (!have_mnt)
		return hamn_error_set(err, EINVAL,
				      "linux.namespaces: a mount namespace is required");
	if (p->new_userns) {
		if (!l->n_uid_mappings || !l->n_gid_mappings)
			return hamn_error_set(
				err, EINVAL,
				"a user namespace needs linux.uidMappings and linux.gidMappings");
		p->uid_map = own(p, id_map_text(l->uid_mappings, l->n_uid_mappings));
		p->gid_map = own(p, id_map_text(l->gid_mappings, l->n_gid_mappings));
	}
	bool uts = hamn_oci_spec_ns(spec, HAMN_OCI_NS_UTS) != NULL;
	if ((spec->hostname && *spec->hostname) || spec->domainname) {
		if (!uts || hamn_oci_spec_ns(spec, HAMN_OCI_NS_UTS)->path)
			return hamn_error_set(err, EINVAL,
					      "cannot set hostname without a new UTS namespace");
		p->hostname = spec->hostname && *spec->hostname ? spec->hostname : NULL;
		p->domainname = spec->domainname;
	}
	return 0;
}

/* ---- mounts ---- */

static unsigned long fs_magic(const char *type)
{
	static const struct {
		const char *type;
		unsigned long magic;
	} t[] = {
		{"proc", PROC_SUPER_MAGIC},	{"sysfs", SYSFS_MAGIC},	  {"tmpfs", TMPFS_MAGIC},
		{"devpts", DEVPTS_SUPER_MAGIC}, {"mqueue", MQUEUE_MAGIC},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (streq(type, t[i].type))
			return t[i].magic;
	return 0;
}

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define REMOUNT_FLAGS                                                                              \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
	 MS_STRICTATIME)

static int plan_bind(struct rt_plan *p, const struct hamn_oci_mount *m, const char *bundle,
		     struct rt_mount *out, struct hamn_error **err)
{
	struct stat st;
	const char *src = m->source;

	if (!src || !*src)
		return hamn_error_set(err, EINVAL, "mount '%s': a bind mount needs a source",
				      m->destination);
	if (src[0] != '/')
		src = own(p, xasprintf("%s/%s", bundle ? bundle : ".", src));
	/*
	 * A detached copy of the source, made here: the child needs no lookup (in a user
	 * namespace it may not traverse the host's directories, and the host path cannot
	 * change under it), and a detached tree can be attached in the child's namespace.
	 */
	out->source_fd = sys_open_tree(AT_FDCWD, src,
				       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					       (m->recursive ? AT_RECURSIVE : 0));
	if (out->source_fd < 0 || fstat(out->source_fd, &st) < 0)
		return hamn_error_set(err, errno, "mount '%s': source '%s'", m->destination, src);
	out->kind = RT_MOUNT_BIND;
	out->source = src;
	out->src_is_dir = S_ISDIR(st.st_mode);
	out->recursive = m->recursive;
	out->remount = m->flags & REMOUNT_FLAGS;
	return 0;
}

static int plan_mounts(struct rt_plan *p, const struct hamn_oci_spec *spec, const char *bundle,
		       bool *dev_tmpfs, bool *cgroup, struct hamn_error **err)
{
	p->mounts = xcalloc(spec->n_mounts ? spec->n_mounts : 1, sizeof(*p->mounts));
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct hamn_oci_mount *m = &spec->mounts[i];
		struct rt_mount *r = &p->mounts[p->n_mounts];
		r->source_fd = -1;
		if (!m->destination || m->destination[0] != '/')
			return hamn_error_set(err, EINVAL, "mount destination '%s' is not absolute",
					      m->destination ? m->destination : "");
		r->target = m->destination;
		r->propagation = m->propagation;
		r->flags = m->flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS | MS_REMOUNT);
		r->is_dev = streq(m->destination, "/dev");
		if (m->bind) {
			if (plan_bind(p, m, bundle, r, err) < 0)
				return -1;
		} else if (streq(m->type, "cgroup") || streq(m->type, "cgroup2")) {
			r->kind = RT_MOUNT_CGROUP;
			*cgroup = true;
		} else {
			if (!m->type)
				return hamn_error_set(err, EINVAL, "mount '%s' has no type",
						      m->destination);
			r->kind = RT_MOUNT_FS;
			r->fstype = m->type;
			r->source = m->source ? m->source : m->type;
			r->data = m->data;
			r->magic = fs_magic(m->type);
			r->no_symlink = streq(m->type, "proc") || streq(m->type, "sysfs");
			r->is_proc = streq(m->type, "proc");
			r->is_devpts = streq(m->type, "devpts");
			if (r->is_dev && streq(m->type, "tmpfs"))
				*dev_tmpfs = true;
		}
		p->n_mounts++;
	}
	return 0;
}

/* ---- /sys/fs/cgroup: the host's hierarchies, from mountinfo ---- */

static void add_hier(struct rt_plan *p, const char *mnt, const char *super, bool v2)
{
	struct hamn_buf ctl = HAMN_BUF_INIT;
	_cleanup_strv_ char **opts = str_split(super, ',');
	const char *slash = strrchr(mnt, '/');

	for (size_t i = 0; opts && opts[i]; i++) {
		const char *o = opts[i];
		if (streq(o, "rw") || streq(o, "ro") || str_has_prefix(o, "release_agent=") ||
		    streq(o, "clone_children") || streq(o, "noprefix") || streq(o, "xattr") ||
		    str_has_prefix(o, "cpuset_v2_mode") || streq(o, "nsdelegate") ||
		    str_has_prefix(o, "memory_"))
			continue;
		if (ctl.len)
			hamn_buf_putc(&ctl, ',');
		hamn_buf_puts(&ctl, o);
	}
	p->hiers = xreallocarray(p->hiers, p->n_hiers + 1, sizeof(*p->hiers));
	struct rt_cgroup_hier *h = &p->hiers[p->n_hiers++];
	memset(h, 0, sizeof(*h));
	h->host_mount = own(p, xstrdup(mnt));
	h->name = own(p, xstrdup(slash ? slash + 1 : mnt));
	h->v2 = v2;
	h->controllers = own(p, v2 ? xstrdup("") : hamn_buf_steal(&ctl));
	h->options = h->controllers;
	hamn_buf_release(&ctl);
}

/* The hierarchies from mountinfo: slower (it can be megabytes on a busy host), but general. */
static int hiers_from_mountinfo(struct rt_plan *p, bool v2, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;

	if (hamn_read_file(AT_FDCWD, "/proc/self/mountinfo", 64 << 20, &text, NULL, err) < 0)
		return -1;
	_cleanup_strv_ char **lines = str_split(text, '\n');
	for (size_t i = 0; lines && lines[i]; i++) {
		_cleanup_strv_ char **f = str_split(lines[i], ' ');
		size_t n = strv_len(f), dash = 0;
		for (size_t j = 6; j < n; j++)
			if (streq(f[j], "-")) {
				dash = j;
				break;
			}
		if (!dash || dash + 3 > n)
			continue;
		const char *type = f[dash + 1], *super = dash + 3 < n ? f[dash + 3] : "";
		if (!str_has_prefix(f[4], "/sys/fs/cgroup"))
			continue;
		if (v2 && streq(type, "cgroup2"))
			add_hier(p, f[4], super, true);
		else if (!v2 && streq(type, "cgroup"))
			add_hier(p, f[4], super, false);
	}
	return 0;
}

/*
 * The usual layout, from the small /proc/self/cgroup: each v1 hierarchy at
 * /sys/fs/cgroup/<controllers> (name=X at /sys/fs/cgroup/X), v2 at /sys/fs/cgroup.
 * false when a directory is not the cgroupfs it should be.
 */
static bool hiers_from_self(struct rt_plan *p, bool v2)
{
	_cleanup_free_ char *text = NULL;
	struct statfs sfs;

	if (v2)
		return statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
		       (add_hier(p, "/sys/fs/cgroup", "", true), true);
	if (hamn_read_file(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &text, NULL, NULL) < 0)
		return false;
	_cleanup_strv_ char **lines = str_split(text, '\n');
	for (size_t i = 0; lines && lines[i]; i++) {
		_cleanup_strv_ char **f = str_split(lines[i], ':');
		if (strv_len(f) < 3 || !*f[1])
			continue; /* the hybrid layout's cgroup2 line: not ours to show */
		const char *name = str_has_prefix(f[1], "name=") ? f[1] + 5 : f[1];
		_cleanup_free_ char *mnt = xasprintf("/sys/fs/cgroup/%s", name);
		if (statfs(mnt, &sfs) < 0 || sfs.f_type != CGROUP_SUPER_MAGIC)
			return false;
		_cleanup_free_ char *super = xasprintf("rw,%s", f[1]);
		add_hier(p, mnt, super, false);
	}
	return p->n_hiers > 0;
}

static int plan_cgroup_hiers(struct rt_plan *p, struct hamn_error **err)
{
	bool v2 = hamn_cgroup_detect() == HAMN_CGROUP_V2;

	if (!hiers_from_self(p, v2)) {
		p->n_hiers = 0;
		if (hiers_from_mountinfo(p, v2, err) < 0)
			return -1;
	}
	if (!p->n_hiers)
		return hamn_error_set(err, ENOENT,
				      "no cgroup hierarchy mounted under /sys/fs/cgroup");
	return 0;
}

/* ---- devices ---- */

static void add_device(struct rt_plan *p, const char *path, mode_t mode, dev_t rdev, uid_t uid,
		       gid_t gid)
{
	for (size_t i = 0; i < p->n_devices; i++)
		if (streq(p->devices[i].path, path)) { /* a config entry overrides a default */
			p->devices[i] = (struct rt_device){path, mode, rdev, uid, gid, path};
			return;
		}
	p->devices = xreallocarray(p->devices, p->n_devices + 1, sizeof(*p->devices));
	p->devices[p->n_devices++] = (struct rt_device){path, mode, rdev, uid, gid, path};
}

static int plan_devices(struct rt_plan *p, const struct hamn_oci_spec *spec, bool dev_tmpfs,
			struct hamn_error **err)
{
	static const struct {
		const char *path;
		unsigned int major, minor;
	} defaults[] = {
		{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
		{"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
	};

	if (dev_tmpfs) {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			add_device(p, defaults[i].path, S_IFCHR | 0666,
				   makedev(defaults[i].major, defaults[i].minor), 0, 0);
		p->default_links = true;
	}
	for (size_t i = 0; i < spec->linux.n_devices; i++) {
		const struct hamn_oci_device *d = &spec->linux.devices[i];
		mode_t type;
		switch (d->type) {
		case 'c':
		case 'u':
			type = S_IFCHR;
			break;
		case 'b':
			type = S_IFBLK;
			break;
		case 'p':
			type = S_IFIFO;
			break;
		default:
			return hamn_error_set(err, EINVAL, "device '%s': unknown type '%c'",
					      d->path, d->type);
		}
		if (!d->path || !str_has_prefix(d->path, "/"))
			return hamn_error_set(err, EINVAL, "device path must be absolute");
		add_device(p, d->path, type | (d->has_mode ? d->file_mode & 07777 : 0666),
			   makedev((unsigned)d->major, (unsigned)d->minor), d->has_uid ? d->uid : 0,
			   d->has_gid ? d->gid : 0);
	}
	return 0;
}

/* ---- sysctls ---- */

static int plan_sysctls(struct rt_plan *p, const struct hamn_oci_spec *spec,
			struct hamn_error **err)
{
	const struct hamn_oci_linux *l = &spec->linux;
	bool net = hamn_oci_spec_ns(spec, HAMN_OCI_NS_NETWORK) != NULL;
	bool ipc = hamn_oci_spec_ns(spec, HAMN_OCI_NS_IPC) != NULL;
	bool uts = hamn_oci_spec_ns(spec, HAMN_OCI_NS_UTS) != NULL;

	if (!l->n_sysctls)
		return 0;
	p->sysctls = xcalloc(l->n_sysctls, sizeof(*p->sysctls));
	for (size_t i = 0; i < l->n_sysctls; i++) {
		const struct hamn_oci_sysctl *s = &l->sysctls[i];
		if (hamn_oci_sysctl_check(s->key, s->value, net, ipc, uts, err) < 0)
			return -1;
		char *path = xasprintf("sys/%s", s->key);
		for (char *c = path + 4; *c; c++)
			if (*c == '.')
				*c = '/';
		p->sysctls[i].path = own(p, path);
		p->sysctls[i].value = s->value;
	}
	p->n_sysctls = l->n_sysctls;
	return 0;
}

/* ---- hooks ---- */

static struct rt_hook *plan_hooks(const struct hamn_oci_spec *spec, enum hamn_oci_hook_kind k,
				  size_t *n)
{
	struct rt_hook *h;

	*n = spec->n_hooks[k];
	if (!*n)
		return NULL;
	h = xcalloc(*n, sizeof(*h));
	for (size_t i = 0; i < *n; i++) {
		const struct hamn_oci_hook *s = &spec->hooks[k][i];
		h[i] = (struct rt_hook){s->path, s->args, s->env, s->timeout};
	}
	return h;
}

/* The state text for the child's hooks, with room for the pid the parent sends. */
static void plan_hook_state(struct rt_plan *p, const struct hamn_oci_spec *spec, const char *id,
			    const char *bundle)
{
	static const char marker[] = "\"pid\":1234567890";
	char *text;

	if (!p->n_create_container && !p->n_start_container)
		return;
	text = rt_state_text(id, HAMN_OCI_CREATED, 1234567890, bundle, spec);
	char *at = strstr(text, marker);
	if (at) {
		p->hook_pid_off = (size_t)(at - text) + 6;
		memset(text + p->hook_pid_off, ' ', 10);
	}
	p->hook_state_buf = text;
	p->hook_state = text;
}

struct rt_plan *rt_plan_new(const struct hamn_oci_spec *spec, const char *rootfs,
			    const struct hamn_runtime_spawn_opts *o, struct hamn_error **err)
{
	struct rt_plan *p = xzalloc(sizeof(*p));
	bool dev_tmpfs = false, cgroup = false;

	for (int i = 0; i < HAMN_OCI_NS_N_TYPES; i++)
		p->join_fd[i] = -1;
	p->exec_fifo = p->target_pidfd = p->sync_fd = p->parent_sync_fd = -1;
	p->rootfs = rootfs;
	p->root_readonly = spec->root_readonly;
	p->root_propagation = spec->linux.rootfs_propagation;
	p->no_pivot = o->flags & HAMN_RUNTIME_NO_PIVOT;
	p->new_keyring = !(o->flags & HAMN_RUNTIME_NO_NEW_KEYRING);
	p->masked = spec->linux.masked_paths;
	p->readonly = spec->linux.readonly_paths;
	if (plan_namespaces(p, spec, err) < 0 ||
	    plan_mounts(p, spec, o->bundle, &dev_tmpfs, &cgroup, err) < 0 ||
	    (cgroup && plan_cgroup_hiers(p, err) < 0) ||
	    plan_devices(p, spec, dev_tmpfs, err) < 0 || plan_sysctls(p, spec, err) < 0 ||
	    rt_proc_from_oci(spec->process, &p->proc, &p->env_store, err) < 0)
		goto fail;
	p->hooks_create_container =
		plan_hooks(spec, HAMN_OCI_HOOK_CREATE_CONTAINER, &p->n_create_container);
	p->hooks_start_container =
		plan_hooks(spec, HAMN_OCI_HOOK_START_CONTAINER, &p->n_start_container);
	p->parent_hooks = spec->n_hooks[HAMN_OCI_HOOK_PRESTART] ||
			  spec->n_hooks[HAMN_OCI_HOOK_CREATE_RUNTIME];
	plan_hook_state(p, spec, o->id, o->bundle);
	if (o->seccomp_prog) {
		p->proc.seccomp = o->seccomp_prog;
	} else if (spec->linux.seccomp) {
		if (hamn_seccomp_compile(spec->linux.seccomp, &p->prog, err) < 0)
			goto fail;
		p->proc.seccomp = p->prog;
	}
	if (o->exec_fifo) {
		p->exec_fifo = open(o->exec_fifo, O_PATH | O_CLOEXEC);
		if (p->exec_fifo < 0) {
			hamn_error_set(err, errno, "open '%s'", o->exec_fifo);
			goto fail;
		}
	}
	p->proc.console_socket = o->stdio.console_socket;
	for (int i = 0; i < 3; i++)
		p->proc.stdio[i] = o->stdio.fds[i];
	p->proc.setsid = true;
	return p;
fail:
	rt_plan_free(p);
	return NULL;
}

void rt_plan_cgroup_tasks(struct rt_plan *p, struct hamn_cgroup *cg)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *hiers, *h;
	size_t i;

	if (!cg || hamn_cgroup_dirfd(cg) >= 0 || p->new_userns || p->join_fd[HAMN_OCI_NS_USER] >= 0)
		return;
	j = hamn_cgroup_to_json(cg);
	if (json_integer_value(json_object_get(j, "version")) != 1)
		return;
	hiers = json_object_get(j, "hierarchies");
	json_array_foreach (hiers, i, h) {
		const char *dir = json_string_value(json_object_get(h, "dir"));
		if (!dir) {
			hamn_strv_free(p->cgroup_tasks);
			p->cgroup_tasks = NULL;
			return;
		}
		strv_push_take(&p->cgroup_tasks, xasprintf("%s/tasks", dir));
	}
}

static void keep(struct rt_plan *p, int fd)
{
	if (fd < 3 || p->n_keep_fds >= sizeof(p->keep_fds) / sizeof(p->keep_fds[0]))
		return;
	for (size_t i = 0; i < p->n_keep_fds; i++)
		if (p->keep_fds[i] == fd)
			return;
	size_t i = p->n_keep_fds++;
	while (i > 0 && p->keep_fds[i - 1] > fd) { /* sorted, for close_range over the gaps */
		p->keep_fds[i] = p->keep_fds[i - 1];
		i--;
	}
	p->keep_fds[i] = fd;
}

void rt_plan_seal(struct rt_plan *p)
{
	p->n_keep_fds = 0;
	keep(p, p->sync_fd);
	keep(p, p->exec_fifo);
	keep(p, p->target_pidfd);
	keep(p, p->proc.console_socket);
	for (int i = 0; i < 3; i++)
		keep(p, p->proc.stdio[i]);
	for (int i = 0; i < HAMN_OCI_NS_N_TYPES; i++)
		keep(p, p->join_fd[i]);
	for (size_t i = 0; i < p->n_mounts; i++)
		keep(p, p->mounts[i].source_fd);
}

void rt_close_other_fds(const struct rt_plan *p)
{
	unsigned int from = 3;

	/*
	 * The caller's other fds (a daemon's sockets, a test harness's pipes) must not be
	 * held by a container that may wait in "created" for a long time.
	 */
	for (size_t i = 0; i < p->n_keep_fds; i++) {
		unsigned int fd = (unsigned int)p->keep_fds[i];
		if (fd > from)
			sys_close_range(from, fd - 1, 0);
		from = fd + 1;
	}
	sys_close_range(from, ~0U, 0);
}

void rt_plan_free(struct rt_plan *p)
{
	if (!p)
		return;
	for (int i = 0; i < HAMN_OCI_NS_N_TYPES; i++)
		if (p->join_fd[i] >= 0)
			close(p->join_fd[i]);
	if (p->exec_fifo >= 0)
		close(p->exec_fifo);
	for (size_t i = 0; i < p->n_mounts; i++)
		if (p->mounts[i].source_fd >= 0)
			close(p->mounts[i].source_fd);
	free(p->mounts);
	free(p->devices);
	free(p->hiers);
	free(p->sysctls);
	free(p->hooks_create_container);
	free(p->hooks_start_container);
	free(p->hook_state_buf);
	hamn_strv_free(p->owned);
	hamn_strv_free(p->cgroup_tasks);
	hamn_strv_free(p->env_store);
	free(p->groups_store);
	if (p->prog)
		hamn_seccomp_prog_free(p->prog);
	free(p);
}

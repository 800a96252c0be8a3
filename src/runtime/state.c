/*
 * state.c - the runc-style lifecycle: containers kept in a state
 * directory (<root>/<id>/) so that separate runtime processes can create,
 * start, signal and delete them.
 *
 *   <root>/<id>/state.json   pid, its start time, bundle, rootfs, created,
 *                            cgroup, annotations (written atomically)
 *   <root>/<id>/config.json  the config as it was at create time
 *   <root>/<id>/exec.fifo    exists while the init waits for `start`
 *
 * The status is derived, never stored: stopped when the pid is gone, a
 * zombie, or a different process (start time differs); created while the
 * fifo exists; paused when the cgroup is frozen; running otherwise.
 * The state files are written with rename but without fsync: they live in
 * a runtime directory (/run) that does not survive a reboot anyway.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/syscalls.h"
#include "runtime/internal.h"

struct rt_state {
	char *id;
	char *dir;
	pid_t pid;
	uint64_t start_time;
	char *bundle;
	char *rootfs;
	int64_t created;
	json_t *annotations;
	struct hamn_cgroup *cg;
};

static void state_release(struct rt_state *s)
{
	free(s->id);
	free(s->dir);
	free(s->bundle);
	free(s->rootfs);
	if (s->annotations)
		json_decref(s->annotations);
	if (s->cg)
		hamn_cgroup_free(s->cg);
	memset(s, 0, sizeof(*s));
}

bool hamn_runtime_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (!n || n > 1024 || streq(id, ".") || streq(id, ".."))
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_+-.", *c)))
			return false;
	return true;
}

/* Write a small file atomically (tmp + rename, no fsync: see the top of this file). */
static int write_file_atomic(const char *dir, const char *name, const char *text, size_t len,
			     mode_t mode, struct hamn_error **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.tmp", dir, name);
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		return hamn_error_set(err, errno, "create '%s'", tmp);
	if (hamn_write_all(fd, text, len, err) < 0 || rename(tmp, path) < 0) {
		if (!*err)
			hamn_error_set(err, errno, "rename '%s'", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int hamn_runtime_write_pid_file(const char *path, pid_t pid, struct hamn_error **err)
{
	_cleanup_free_ char *copy = xstrdup(path), *text = xasprintf("%d", (int)pid);
	char *slash = strrchr(copy, '/');
	const char *dir = ".", *name = copy;

	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
		name = slash + 1;
	}
	if (write_file_atomic(dir, name, text, strlen(text), 0644, err) < 0)
		return hamn_error_wrap(err, "pid file");
	return 0;
}

static int save_state(const struct rt_state *s, struct hamn_error **err)
{
	_cleanup_json_ json_t *j = json_pack(
		"{s:s, s:i, s:I, s:s, s:s, s:I}", "id", s->id, "pid", (int)s->pid, "pid_start",
		(json_int_t)s->start_time, "bundle", s->bundle ? s->bundle : "", "rootfs",
		s->rootfs ? s->rootfs : "", "created", (json_int_t)s->created);
	if (s->cg)
		json_object_set_new(j, "cgroup", hamn_cgroup_to_json(s->cg));
	if (s->annotations)
		json_object_set(j, "annotations", s->annotations);
	_cleanup_free_ char *text = hamn_json_dump(j);
	return write_file_atomic(s->dir, "state.json", text, strlen(text), 0600, err);
}

static int load_state(const char *root, const char *id, struct rt_state *s, struct hamn_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *j = NULL;
	json_int_t pid = 0, start = 0, created = 0;
	const char *bundle = "", *rootfs = "";
	json_t *cg = NULL, *ann = NULL;

	memset(s, 0, sizeof(*s));
	if (!hamn_runtime_id_valid(id))
		return hamn_error_set(err, EINVAL, "invalid container id '%s'", id ? id : "");
	s->dir = xasprintf("%s/%s", root, id);
	s->id = xstrdup(id);
	path = xasprintf("%s/state.json", s->dir);
	j = hamn_json_load_file(AT_FDCWD, path, 1 << 20, err);
	if (!j) {
		if ((*err)->errnum == ENOENT) {
			hamn_error_free(err);
			hamn_error_setq(err, ENOENT, "container '%s' does not exist", id);
		}
		state_release(s);
		return -1;
	}
	json_unpack(j, "{s?I, s?I, s?s, s?s, s?I, s?o, s?o}", "pid", &pid, "pid_start", &start,
		    "bundle", &bundle, "rootfs", &rootfs, "created", &created, "cgroup", &cg,
		    "annotations", &ann);
	s->pid = (pid_t)pid;
	s->start_time = (uint64_t)start;
	s->bundle = xstrdup(bundle);
	s->rootfs = xstrdup(rootfs);
	s->created = created;
	s->annotations = ann ? json_incref(ann) : NULL;
	if (cg && !(s->cg = hamn_cgroup_from_json(cg, err))) {
		state_release(s);
		return hamn_error_wrap(err, "state of '%s'", id);
	}
	return 0;
}

static bool init_alive(const struct rt_state *s)
{
	char st;
	uint64_t t = rt_pid_start_time(s->pid, &st);

	return t && t == s->start_time && st != 'Z' && st != 'X';
}

static enum hamn_oci_status derive_status(const struct rt_state *s)
{
	_cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", s->dir);
	bool frozen = false;

	if (!init_alive(s))
		return HAMN_OCI_STOPPED;
	if (access(fifo, F_OK) == 0)
		return HAMN_OCI_CREATED;
	if (s->cg && hamn_cgroup_is_frozen(s->cg, &frozen, NULL) == 0 && frozen)
		return HAMN_OCI_PAUSED;
	return HAMN_OCI_RUNNING;
}

/* A pidfd of the init, checked to still be the same process after opening. */
static int open_init(const struct rt_state *s, struct hamn_error **err)
{
	int fd = sys_pidfd_open(s->pid, 0);

	if (fd < 0 || !init_alive(s)) {
		if (fd >= 0)
			close(fd);
		return hamn_error_setq(err, ESRCH, "container '%s' is not running", s->id);
	}
	return fd;
}

static json_t *state_json(const struct rt_state *s)
{
	enum hamn_oci_status st = derive_status(s);
	json_t *j = hamn_oci_state_json(s->id, st, st == HAMN_OCI_STOPPED ? 0 : s->pid, s->bundle,
					s->created, s->annotations);

	json_object_set_new(j, "rootfs", json_string(s->rootfs ? s->rootfs : ""));
	return j;
}

json_t *hamn_runtime_state(const char *root, const char *id, struct hamn_error **err)
{
	struct rt_state s;

	if (load_state(root, id, &s, err) < 0)
		return NULL;
	json_t *j = state_json(&s);
	state_release(&s);
	return j;
}

json_t *hamn_runtime_list(const char *root, struct hamn_error **err)
{
	_cleanup_closedir_ DIR *d = opendir(root);
	json_t *arr = json_array();
	struct dirent *e;

	if (!d) {
		if (errno == ENOENT)
			return arr;
		json_decref(arr);
		return hamn_error_set(err, errno, "open '%s'", root), NULL;
	}
	while ((e = readdir(d))) {
		struct rt_state s;
		struct hamn_error *ignore = NULL;
		if (e->d_name[0] == '.' || !hamn_runtime_id_valid(e->d_name))
			continue;
		if (load_state(root, e->d_name, &s, &ignore) < 0) {
			hamn_error_free(&ignore); /* half-written or foreign entries are skipped */
			continue;
		}
		json_array_append_new(arr, state_json(&s));
		state_release(&s);
	}
	return arr;
}

struct hamn_oci_spec *hamn_runtime_load_config(const char *root, const char *id,
					       struct hamn_error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", root, id);

	return hamn_oci_spec_load(dir, err);
}

static int run_state_hooks(const struct rt_state *s, enum hamn_oci_hook_kind kind,
			   enum hamn_oci_status st, struct hamn_error **err)
{
	_cleanup_oci_spec_ struct hamn_oci_spec *spec = NULL;
	struct hamn_error *e = NULL;

	spec = hamn_oci_spec_load(s->dir, &e);
	if (!spec) {
		hamn_error_propagate(err, &e);
		return -1;
	}
	if (!spec->n_hooks[kind])
		return 0;
	_cleanup_free_ char *text = rt_state_text(s->id, st, s->pid, s->bundle, spec);
	return rt_run_hooks(spec, kind, text, err);
}

/* ---- create / run / start ---- */

static int make_state_dir(const char *root, const char *id, char **dir_out, struct hamn_error **err)
{
	if (!hamn_runtime_id_valid(id))
		return hamn_error_set(err, EINVAL, "invalid container id '%s'", id ? id : "");
	if (mkdir(root, 0700) < 0 && errno != EEXIST && hamn_mkdir_p(AT_FDCWD, root, 0700, err) < 0)
		return -1;
	*dir_out = xasprintf("%s/%s", root, id);
	if (mkdir(*dir_out, 0700) < 0) {
		int e = errno;
		free(*dir_out);
		*dir_out = NULL;
		if (e == EEXIST)
			return hamn_error_setq(err, EEXIST, "container with id '%s' already exists",
					       id);
		return hamn_error_set(err, e, "create state directory for '%s'", id);
	}
	return 0;
}

/* state.json (and the pid file) for a container just spawned. */
static int persist(char *dir, const char *id, const struct hamn_runtime_create_opts *o,
		   const struct hamn_oci_spec *spec, struct hamn_container_handle *h,
		   struct hamn_error **err)
{
	_cleanup_free_ char *rootfs = spec->root_path[0] == '/'
					      ? xstrdup(spec->root_path)
					      : xasprintf("%s/%s", o->bundle, spec->root_path);
	struct rt_state s;

	memset(&s, 0, sizeof(s));
	s.id = (char *)id;
	s.dir = dir;
	s.pid = hamn_container_handle_pid(h);
	s.start_time = rt_pid_start_time(s.pid, NULL);
	s.bundle = (char *)o->bundle;
	s.rootfs = rootfs;
	s.created = hamn_now_ns();
	s.annotations = spec->annotations;
	s.cg = hamn_container_handle_cgroup(h);
	if (save_state(&s, err) < 0)
		return -1;
	return o->pid_file ? hamn_runtime_write_pid_file(o->pid_file, s.pid, err) : 0;
}

/* The shared part of create and run: load, spawn, persist. */
static int create_common(const char *root, const char *id, const struct hamn_runtime_create_opts *o,
			 bool fifo, bool detached, struct hamn_oci_spec **spec_out,
			 struct hamn_container_handle **h_out, struct hamn_error **err)
{
	_cleanup_free_ char *dir = NULL, *text = NULL, *fifo_path = NULL;
	_cleanup_json_ json_t *doc = NULL;
	struct hamn_oci_spec *spec = NULL;
	struct hamn_container_handle *h = NULL;
	size_t len = 0;

	if (make_state_dir(root, id, &dir, err) < 0)
		return -1;
	_cleanup_free_ char *cfg = xasprintf("%s/config.json", o->bundle);
	if (hamn_read_file(AT_FDCWD, cfg, 4 << 20, &text, &len, err) < 0 ||
	    !(doc = hamn_json_parse_big(text, len, err)) || !(spec = hamn_oci_spec_parse(doc, err)))
		goto fail;
	if (spec->process && spec->process->terminal && o->console_socket < 0 && detached) {
		hamn_error_setq(err, EINVAL,
				"cannot allocate a tty without --console-socket "
				"when the runtime detaches");
		goto fail;
	}
	if (o->systemd_cgroup && spec->linux.cgroups_path &&
	    strchr(spec->linux.cgroups_path, ':')) {
		hamn_error_setq(err, ENOTSUP, "the systemd cgroup driver is not supported");
		goto fail;
	}
	if (write_file_atomic(dir, "config.json", text, len, 0600, err) < 0)
		goto fail;
	if (fifo) {
		fifo_path = xasprintf("%s/exec.fifo", dir);
		if (mkfifo(fifo_path, 0622) < 0) {
			hamn_error_set(err, errno, "mkfifo '%s'", fifo_path);
			goto fail;
		}
	}
	struct hamn_runtime_spawn_opts so = {
		.id = id,
		.bundle = o->bundle,
		.exec_fifo = fifo_path,
		.flags = o->flags,
		.stdio = HAMN_RUNTIME_STDIO_INIT,
	};
	so.stdio.console_socket = o->console_socket;
	if (hamn_runtime_spawn(spec, &so, &h, err) < 0)
		goto fail;
	if (persist(dir, id, o, spec, h, err) < 0) {
		struct hamn_error *ignore = NULL;
		hamn_container_handle_destroy(h, &ignore);
		hamn_error_free(&ignore); /* the save error is the one to report */
		hamn_container_handle_free(h);
		goto fail;
	}
	*spec_out = spec;
	*h_out = h;
	return 0;
fail:
	hamn_oci_spec_free(spec);
	hamn_rm_rf(AT_FDCWD, dir, NULL);
	return -1;
}

int hamn_runtime_create(const char *root, const char *id, const struct hamn_runtime_create_opts *o,
			pid_t *pid_out, struct hamn_error **err)
{
	struct hamn_oci_spec *spec = NULL;
	struct hamn_container_handle *h = NULL;

	if (create_common(root, id, o, true, true, &spec, &h, err) < 0)
		return -1;
	*pid_out = hamn_container_handle_pid(h);
	hamn_container_handle_detach(h); /* the init outlives us, waiting on the fifo */
	hamn_container_handle_free(h);
	hamn_oci_spec_free(spec);
	return 0;
}

int hamn_runtime_run(const char *root, const char *id, const struct hamn_runtime_create_opts *o,
		     bool detach, struct hamn_container_handle **h_out, struct hamn_error **err)
{
	struct hamn_oci_spec *spec = NULL;
	struct hamn_container_handle *h = NULL;

	if (create_common(root, id, o, false, detach, &spec, &h, err) < 0)
		return -1;
	rt_handle_own_spec(h, spec);
	if (hamn_container_handle_start(h, err) < 0) {
		struct hamn_error *ignore = NULL;
		hamn_runtime_run_finish(root, id, h, &ignore);
		hamn_error_free(&ignore); /* the start error is the one to report */
		return -1;
	}
	if (detach)
		hamn_container_handle_detach(h);
	*h_out = h;
	return 0;
}

int hamn_runtime_run_finish(const char *root, const char *id, struct hamn_container_handle *h,
			    struct hamn_error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
	int r = hamn_container_handle_destroy(h, err);

	hamn_container_handle_free(h);
	if (hamn_rm_rf(AT_FDCWD, dir, r < 0 ? NULL : err) < 0)
		return -1;
	return r;
}

int hamn_runtime_start(const char *root, const char *id, struct hamn_error **err)
{
	struct rt_state s;
	_cleanup_free_ char *fifo = NULL;
	_cleanup_close_ int fd = -1, pidfd = -1;
	char c;

	if (load_state(root, id, &s, err) < 0)
		return -1;
	enum hamn_oci_status st = derive_status(&s);
	if (st != HAMN_OCI_CREATED) {
		hamn_error_setq(err, EBUSY, "cannot start container '%s': it is %s", id,
				hamn_oci_status_name(st));
		goto fail;
	}
	if ((pidfd = open_init(&s, err)) < 0)
		goto fail;
	fifo = xasprintf("%s/exec.fifo", s.dir);
	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		hamn_error_set(err, errno, "start '%s': open '%s'", id, fifo);
		goto fail;
	}
	/* Opening the read end releases the init's open(O_WRONLY); it then writes one byte. */
	struct pollfd pfd[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			hamn_error_set(err, errno, "start '%s'", id);
			goto fail;
		}
		if (pfd[0].revents & POLLIN && read(fd, &c, 1) == 1)
			break;
		if (pfd[1].revents) {
			hamn_error_setq(err, ESRCH, "start '%s': the container's init exited", id);
			goto fail;
		}
	}
	unlink(fifo);
	struct hamn_error *e = NULL;
	if (run_state_hooks(&s, HAMN_OCI_HOOK_POSTSTART, HAMN_OCI_RUNNING, &e) < 0) {
		log_warn("poststart hook of '%s': %s", id, e->msg);
		hamn_error_free(&e); /* a warning, as the spec says */
	}
	state_release(&s);
	return 0;
fail:
	state_release(&s);
	return -1;
}

/* ---- kill / delete / pause ---- */

int hamn_runtime_kill(const char *root, const char *id, int sig, bool all, struct hamn_error **err)
{
	struct rt_state s;
	int r = -1;

	if (load_state(root, id, &s, err) < 0)
		return -1;
	if (all && s.cg) {
		r = hamn_cgroup_kill_all(s.cg, sig, err);
	} else {
		/* runc's words: containerd's shim reads "container not running" as "exited" */
		_cleanup_close_ int fd = open_init(&s, NULL);
		if (fd < 0)
			hamn_error_setq(err, ESRCH, "kill '%s': container not running", id);
		else if ((r = sys_pidfd_send_signal(fd, sig, NULL, 0)) < 0)
			hamn_error_set(err, errno, "kill '%s'", id);
	}
	state_release(&s);
	return r;
}

/* Wait (bounded) for a process that is not our child to exit. */
static int wait_exit(int pidfd, int timeout_ms)
{
	struct pollfd p = {pidfd, POLLIN, 0};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

int hamn_runtime_delete(const char *root, const char *id, bool force, struct hamn_error **err)
{
	struct rt_state s;

	if (load_state(root, id, &s, err) < 0)
		return -1;
	enum hamn_oci_status st = derive_status(&s);
	if ((st == HAMN_OCI_RUNNING || st == HAMN_OCI_PAUSED) && !force) {
		hamn_error_setq(err, EBUSY, "cannot delete container '%s' that is not stopped: %s",
				id, hamn_oci_status_name(st));
		state_release(&s);
		return -1;
	}
	if (st != HAMN_OCI_STOPPED) {
		_cleanup_close_ int fd = open_init(&s, NULL);
		if (s.cg) /* thaws a frozen cgroup first, so SIGKILL is delivered */
			hamn_cgroup_kill_all(s.cg, SIGKILL, NULL);
		if (fd >= 0) {
			sys_pidfd_send_signal(fd, SIGKILL, NULL, 0);
			wait_exit(fd, 10000);
		}
	}
	if (s.cg && hamn_cgroup_destroy(s.cg, err) < 0) {
		/* processes may take a moment to leave the cgroup after SIGKILL */
		hamn_error_free(err);
		hamn_cgroup_kill_all(s.cg, SIGKILL, NULL);
		for (int i = 0; i < 200 && hamn_cgroup_destroy(s.cg, i == 199 ? err : NULL) < 0;
		     i++)
			poll(NULL, 0, 5);
		if (*err) {
			state_release(&s);
			return hamn_error_wrap(err, "delete '%s'", id);
		}
	}
	struct hamn_error *e = NULL;
	if (run_state_hooks(&s, HAMN_OCI_HOOK_POSTSTOP, HAMN_OCI_STOPPED, &e) < 0) {
		log_warn("poststop hook of '%s': %s", id, e->msg);
		hamn_error_free(&e); /* a warning, as the spec says */
	}
	int r = hamn_rm_rf(AT_FDCWD, s.dir, err);
	state_release(&s);
	return r;
}

int hamn_runtime_pause(const char *root, const char *id, bool pause, struct hamn_error **err)
{
	struct rt_state s;
	int r = -1;

	if (load_state(root, id, &s, err) < 0)
		return -1;
	enum hamn_oci_status st = derive_status(&s);
	if (pause && st != HAMN_OCI_RUNNING)
		hamn_error_setq(err, EBUSY, "cannot pause container '%s': it is %s", id,
				hamn_oci_status_name(st));
	else if (!pause && st != HAMN_OCI_PAUSED)
		hamn_error_setq(err, EBUSY, "cannot resume container '%s': it is not paused", id);
	else if (!s.cg)
		hamn_error_setq(err, ENOTSUP, "container '%s' has no cgroup", id);
	else
		r = hamn_cgroup_freeze(s.cg, pause, err);
	state_release(&s);
	return r;
}

int hamn_runtime_pids(const char *root, const char *id, pid_t **pids, size_t *n,
		      struct hamn_error **err)
{
	struct rt_state s;
	int r = -1;

	if (load_state(root, id, &s, err) < 0)
		return -1;
	if (!s.cg)
		hamn_error_setq(err, ENOTSUP, "container '%s' has no cgroup", id);
	else
		r = hamn_cgroup_pids(s.cg, pids, n, err);
	state_release(&s);
	return r;
}

int hamn_runtime_update(const char *root, const char *id, const struct hamn_oci_resources *res,
			struct hamn_error **err)
{
	struct rt_state s;
	int r = -1;

	if (load_state(root, id, &s, err) < 0)
		return -1;
	if (derive_status(&s) == HAMN_OCI_STOPPED)
		hamn_error_setq(err, ESRCH, "container '%s' is not running", id);
	else if (!s.cg)
		hamn_error_setq(err, ENOTSUP, "container '%s' has no cgroup", id);
	else
		r = hamn_cgroup_update(s.cg, res, err);
	state_release(&s);
	return r;
}

int hamn_runtime_exec_id(const char *root, const char *id, const struct hamn_oci_process *process,
			 const struct hamn_runtime_exec_opts *o, pid_t *pid_out, int *console_out,
			 struct hamn_error **err)
{
	_cleanup_oci_spec_ struct hamn_oci_spec *spec = NULL;
	struct rt_state s;
	int r = -1;

	if (load_state(root, id, &s, err) < 0)
		return -1;
	enum hamn_oci_status st = derive_status(&s);
	if (st == HAMN_OCI_STOPPED || st == HAMN_OCI_PAUSED) {
		hamn_error_setq(err, EBUSY, "cannot exec in container '%s': it is %s", id,
				hamn_oci_status_name(st));
		goto out;
	}
	spec = hamn_runtime_load_config(root, id, err);
	if (!spec)
		goto out;
	struct hamn_runtime_exec_target t = {s.pid, -1, spec, s.cg, NULL};
	t.init_pidfd = open_init(&s, err);
	if (t.init_pidfd < 0)
		goto out;
	r = hamn_runtime_exec(&t, process, o->stdio, pid_out, console_out, err);
	close(t.init_pidfd);
	if (r == 0 && o->pid_file && hamn_runtime_write_pid_file(o->pid_file, *pid_out, err) < 0)
		r = -1;
out:
	if (r < 0)
		hamn_error_wrap(err, "exec '%s'", id);
	state_release(&s);
	return r;
}

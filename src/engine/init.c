/*
 * init.c - `run --init` (HostConfig.Init): hamn-init as the container's pid 1.
 *
 * At start-up the engine reads the program once (the daemon's init-path, or
 * hamn-init beside hamnd's own binary) and keeps a private copy of it,
 * <exec-root>/hamn-init (mode 0555, written atomically). A container with
 * Init gets that copy bind-mounted read-only at /sbin/hamn-init and runs
 * `/sbin/hamn-init -- <entrypoint and cmd>`: replacing or deleting the
 * original afterwards changes nothing for the containers started later.
 * (Binding /proc/<hamnd>/fd/<n> instead does not work: the monitor runs in
 * a mount namespace of its own, and the kernel only clones mounts of the
 * caller's namespace.)
 *
 * A missing program is not an error at start-up (most containers never ask
 * for it); starting a container with Init then fails and says why.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

#define INIT_DEST "/sbin/hamn-init"
#define INIT_COPY "hamn-init"
/* hamn-init is a static binary of about 1 MB; refuse anything absurd */
#define INIT_MAX_SIZE (64 << 20)

struct engine_init {
	char *path; /* where the program was looked for, for messages */
	char *copy; /* <exec-root>/hamn-init, or NULL when there is no program */
};

/* hamn-init in the directory of the running binary. */
static char *beside_self(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return xstrdup("hamn-init");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return xstrdup("hamn-init");
	*slash = '\0';
	return xasprintf("%s/hamn-init", self);
}

/* Copy the program at path into the exec-root (atomically, 0555). */
static int copy_program(struct hamn_engine *e, const char *path, struct hamn_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *data = NULL;
	struct stat st;
	size_t len = 0;

	if (fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	if (fstat(fd, &st) < 0)
		return hamn_error_set(err, errno, "stat '%s'", path);
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return hamn_error_setq(err, EACCES, "'%s' is not an executable file", path);
	if (hamn_read_fd(fd, INIT_MAX_SIZE, &data, &len, err) < 0)
		return hamn_error_wrap(err, "read '%s'", path);
	return hamn_write_atomic(e->exec_fd, INIT_COPY, data, len, 0555, err);
}

void engine_init_open(struct hamn_engine *e, const char *init_path)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct engine_init *in = xzalloc(sizeof(*in));

	in->path = init_path && init_path[0] ? xstrdup(init_path) : beside_self();
	if (copy_program(e, in->path, &err) == 0)
		in->copy = xasprintf("%s/%s", e->exec_root, INIT_COPY);
	else if (err->errnum == ENOENT && !(init_path && init_path[0]))
		log_kv(HAMN_LOG_INFO, "no init program: --init will fail", "path=%s", in->path);
	else
		log_kv(HAMN_LOG_WARN, "cannot use the init program: --init will fail",
		       "path=%s error=\"%s\"", in->path, err->msg);
	e->init = in;
}

void engine_init_free(struct hamn_engine *e)
{
	if (!e->init)
		return;
	free(e->init->copy);
	free(e->init->path);
	free(e->init);
	e->init = NULL;
}

int ctr_init_apply(struct hamn_engine *e, json_t *spec, struct hamn_error **err)
{
	json_t *process = json_object_get(spec, "process"),
	       *mounts = json_object_get(spec, "mounts");
	json_t *args = json_object_get(process, "args");
	json_t *mount;

	if (!e->init || !e->init->copy)
		return hamn_error_setq(
			err, EINVAL, "--init: no init program at '%s' (see the daemon's init-path)",
			e->init ? e->init->path : "hamn-init");
	if (!json_is_array(args) || !json_is_array(mounts))
		hamn_bug("spec without process.args or mounts");
	json_array_insert_new(args, 0, json_string("--"));
	json_array_insert_new(args, 0, json_string(INIT_DEST));
	mount = json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination", INIT_DEST, "type",
			  "bind", "source", e->init->copy, "options", "bind", "ro", "nosuid",
			  "nodev");
	json_array_append_new(mounts, mount);
	return 0;
}

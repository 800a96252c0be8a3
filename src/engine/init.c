/*
 * init.c - `run --init` (HostConfig.Init): hamn-init as the container's pid 1.
 *
 * At start-up the engine opens the program once (the daemon's init-path, or
 * hamn-init beside hamnd's own binary) with O_PATH and keeps the fd. A
 * container with Init gets that very file bind-mounted read-only at
 * /sbin/hamn-init, through /proc/<hamnd>/fd/<n>, and runs
 * `/sbin/hamn-init -- <entrypoint and cmd>`: replacing or deleting the file
 * on disk afterwards changes nothing for containers started later.
 *
 * A missing program is not an error at start-up (most containers never ask
 * for it); starting a container with Init then fails and says why.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

#define INIT_DEST "/sbin/hamn-init"

struct engine_init {
	int fd;		/* O_PATH of the program, -1 when it was not found */
	char *path;	/* where it was looked for, for messages */
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

void engine_init_open(struct hamn_engine *e, const char *init_path)
{
	struct engine_init *in = xzalloc(sizeof(*in));
	struct stat st;

	in->path = init_path && init_path[0] ? xstrdup(init_path) : beside_self();
	in->fd = open(in->path, O_PATH | O_CLOEXEC);
	if (in->fd < 0) {
		log_kv(HAMN_LOG_INFO, "no init program: --init will fail", "path=%s errno=%s",
		       in->path, hamn_errno_name(errno));
	} else if (fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		log_kv(HAMN_LOG_WARN, "the init program is not an executable file", "path=%s",
		       in->path);
		close(in->fd);
		in->fd = -1;
	}
	e->init = in;
}

void engine_init_free(struct hamn_engine *e)
{
	if (!e->init)
		return;
	if (e->init->fd >= 0)
		close(e->init->fd);
	free(e->init->path);
	free(e->init);
	e->init = NULL;
}

int ctr_init_apply(struct hamn_engine *e, json_t *spec, struct hamn_error **err)
{
	json_t *process = json_object_get(spec, "process"), *mounts = json_object_get(spec, "mounts");
	json_t *args = json_object_get(process, "args");
	json_t *mount;

	if (!e->init || e->init->fd < 0)
		return hamn_error_setq(err, EINVAL,
				       "--init: no init program at '%s' (see the daemon's init-path)",
				       e->init ? e->init->path : "hamn-init");
	if (!json_is_array(args) || !json_is_array(mounts))
		hamn_bug("spec without process.args or mounts");
	json_array_insert_new(args, 0, json_string("--"));
	json_array_insert_new(args, 0, json_string(INIT_DEST));
	/* the monitor opens this path while hamnd, which holds the fd, is alive */
	mount = json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination", INIT_DEST, "type",
			  "bind", "source", "", "options", "bind", "ro", "nosuid", "nodev");
	json_object_set_new(mount, "source",
			    json_sprintf("/proc/%d/fd/%d", (int)getpid(), e->init->fd));
	json_array_append_new(mounts, mount);
	return 0;
}

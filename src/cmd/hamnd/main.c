/*
 * hamnd - the hamn daemon. It reads its settings (flags over daemon.json),
 * prepares its directories and pid file, starts the API server and then
 * only waits for signals: SIGTERM/SIGINT stop it gracefully (containers keep
 * running: they belong to their monitors), SIGHUP reloads the log level.
 *
 * Signals are blocked in every thread and read from a signalfd in the main
 * loop, so no work ever runs in a signal handler. Between signals the loop
 * wakes once a second to give freed memory back to the kernel.
 */
#include "api/api.h"
#include "api/containers.h"
#include "api/events.h"
#include "api/build.h"
#include "api/images.h"
#include "api/networks.h"
#include "api/volumes.h"
#include "cmd/hamnd/options.h"
#include "distribution/distribution.h"
#include "engine/engine.h"
#include "network/network.h"

#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#define STOP_GRACE_MS 3000
#define TRIM_PERIOD_MS 1000
#define TRIM_MIN_CPU_NS 1000000 /* less work since the last trim freed next to nothing */

struct daemon {
	struct hamnd_options opts;
	char *flag_level; /* --log-level as given, for SIGHUP reloads */
	enum opt_bool flag_debug;
	int sigfd;
	int pidfd;
	int log_fd;
	gid_t gid;
	struct hamn_api_server *server;
	struct hamn_engine *engine;
};

/* Block the signals we handle in all threads (call before any thread starts). */
static int setup_signals(int *fd_out, struct hamn_error **err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return hamn_error_setq(err, EINVAL, "cannot block signals");
	*fd_out = signalfd(-1, &set, SFD_CLOEXEC);
	if (*fd_out < 0)
		return hamn_error_set(err, errno, "signalfd");
	return 0;
}

/*
 * Each API connection has a thread, and glibc gives threads up to 8 arenas per
 * core, each keeping ~0.5 MB of freed memory: after a burst of connections an
 * idle daemon held ~8 MB more than before it. Two arenas serve our 2-core
 * loads as fast (GET /containers/json: no slower with 16 connections).
 * Fixed thresholds: glibc would raise them after the first big buffer is freed
 * (an image load's), and then keep up to twice that free at an arena's top.
 * 1 MB, not less: below that, 16 connections listing containers made the
 * arenas shrink and grow again on nearly every request (-40% req/s at 256 kB).
 * SQLite's page caches (2 MB per connection by default, and the daemon keeps
 * several) are capped together: the pages they drop stay in the kernel's cache.
 */
static void tune_memory(void)
{
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 20);
	sqlite3_soft_heap_limit64(512 << 10);
}

/* Each API connection holds a descriptor: allow as many as the hard limit. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_kv(HAMN_LOG_WARN, "cannot raise the open file limit", "errno=%s",
			       hamn_errno_name(errno));
	}
}

static int resolve_group(const char *name, gid_t *gid, struct hamn_error **err)
{
	struct group gr, *res = NULL;
	char buf[4096];
	uint64_t n = 0;
	_cleanup_error_ struct hamn_error *perr = NULL;
	int rc;

	*gid = 0;
	if (!name || !*name)
		return 0;
	if (hamn_parse_uint64(name, &n, &perr) == 0 && n < UINT32_MAX) {
		*gid = (gid_t)n;
		return 0;
	}
	rc = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (rc != 0)
		return hamn_error_set(err, rc, "look up group '%s'", name);
	if (!res)
		return hamn_error_setq(err, ENOENT, "group '%s' does not exist", name);
	*gid = gr.gr_gid;
	return 0;
}

/* mkdir -p path, then make sure it is a real directory with exactly mode. */
static int make_dir(const char *path, mode_t mode, struct hamn_error **err)
{
	struct stat st;

	if (hamn_mkdir_p(AT_FDCWD, path, mode, err) < 0)
		return hamn_error_wrap(err, "create '%s'", path);
	if (lstat(path, &st) < 0)
		return hamn_error_set(err, errno, "stat '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return hamn_error_setq(err, ENOTDIR, "'%s' is not a directory", path);
	if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		return hamn_error_set(err, errno, "chmod '%s'", path);
	return 0;
}

/* Is pid a live process called hamnd? (pid files from a kill -9 must not block a start) */
static bool pid_is_hamnd(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/comm", (int)pid);
	_cleanup_free_ char *comm = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	size_t len = 0;

	if (pid <= 0 || pid == getpid() || kill(pid, 0) < 0)
		return false;
	if (hamn_read_file(AT_FDCWD, path, 64, &comm, &len, &err) < 0)
		return false;
	return streq(comm, "hamnd\n");
}

static pid_t read_pid(int fd)
{
	char buf[32] = "";

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return 0;
	return (pid_t)atoi(buf);
}

/*
 * Take the pid file: an flock held for the daemon's life says "running";
 * a file nobody holds is stale (its daemon died) unless the pid in it is a
 * live hamnd, which covers filesystems without flock.
 */
static int pidfile_acquire(const char *path, int *fd_out, struct hamn_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	_cleanup_free_ char *text = NULL;
	pid_t old;

	if (fd < 0)
		return hamn_error_set(err, errno, "open pid file '%s'", path);
	old = read_pid(fd);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return hamn_error_setq(err, EBUSY,
					       "hamnd is already running (pid %d, pid "
					       "file '%s')",
					       (int)old, path);
		log_kv(HAMN_LOG_WARN, "cannot lock the pid file", "path=%s errno=%s", path,
		       hamn_errno_name(errno));
	}
	if (pid_is_hamnd(old))
		return hamn_error_setq(err, EBUSY,
				       "hamnd is already running (pid %d, pid file '%s')", (int)old,
				       path);
	text = xasprintf("%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, strlen(text), 0) != (ssize_t)strlen(text))
		return hamn_error_set(err, errno, "write pid file '%s'", path);
	*fd_out = steal_fd(&fd);
	return 0;
}

static void pidfile_release(const char *path, int fd)
{
	struct stat a, b;

	if (fd < 0)
		return;
	/* remove it only if it is still ours */
	if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		unlink(path);
	close(fd);
}

static int open_log_file(struct daemon *d, struct hamn_error **err)
{
	int fd;

	if (!d->opts.log_file)
		return 0;
	fd = open(d->opts.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return hamn_error_set(err, errno, "open log file '%s'", d->opts.log_file);
	hamn_log_set_fd(fd);
	if (d->log_fd >= 0)
		close(d->log_fd);
	d->log_fd = fd;
	return 0;
}

static const char *level_name(int level)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	return level >= 0 && level <= 3 ? names[level] : "?";
}

/* SIGHUP: reopen the log file (rotation) and take the log level from the config file. */
static void reload(struct daemon *d)
{
	struct hamnd_options file = HAMND_OPTIONS_INIT;
	_cleanup_error_ struct hamn_error *err = NULL;
	int level;

	if (open_log_file(d, &err) < 0) {
		log_kv(HAMN_LOG_ERROR, "reload: cannot reopen the log file", "error=\"%s\"",
		       err->msg);
		hamn_error_free(&err);
	}
	if (hamnd_options_load_file(d->opts.config_file, &file, &err) < 0 &&
	    err->errnum != ENOENT) {
		log_kv(HAMN_LOG_ERROR, "reload failed, keeping the current settings",
		       "error=\"%s\"", err->msg);
		hamnd_options_release(&file);
		return;
	}
	hamn_error_free(&err);
	level = hamnd_options_log_level(d->flag_level, d->flag_debug, &file, &err);
	hamnd_options_release(&file);
	if (level < 0) {
		log_kv(HAMN_LOG_ERROR, "reload failed", "error=\"%s\"", err->msg);
		return;
	}
	hamn_log_set_level((enum hamn_log_level)level);
	log_kv(HAMN_LOG_INFO, "configuration reloaded", "log_level=%s", level_name(level));
	hamn_api_events_daemon(d->engine, d->opts.root, "reload");
}

static struct hamn_api_server *make_server(struct daemon *d, struct hamn_error **err)
{
	struct hamn_api_server_config cfg = {
		.hosts = d->opts.hosts,
		.socket_gid = d->gid,
		.tls_cert = d->opts.tls_cert,
		.tls_key = d->opts.tls_key,
		.tls_ca = d->opts.tls_ca,
		.insecure_tcp = d->opts.insecure_tcp == OPT_TRUE,
	};

	return hamn_api_server_new(&cfg, err);
}

static int register_routes(struct daemon *d, struct hamn_error **err)
{
	struct hamn_api_system_config sys = {
		.root_dir = d->opts.root,
		.exec_root = d->opts.exec_root,
		.cgroup_parent = d->opts.cgroup_parent,
		.debug = hamn_log_level_current >= HAMN_LOG_DEBUG,
		.insecure_tcp = d->opts.insecure_tcp == OPT_TRUE,
		.info_fn = hamn_engine_info,
		.info_ctx = d->engine,
	};

	struct hamn_dist_config reg = {
		.insecure_registries = d->opts.insecure_registries,
		.mirrors = d->opts.registry_mirrors,
		.max_downloads = d->opts.max_downloads > 0 ? (unsigned)d->opts.max_downloads : 0,
		.max_uploads = d->opts.max_uploads > 0 ? (unsigned)d->opts.max_uploads : 0,
	};
	struct hamn_api_dist_config dist = { .engine = d->engine, .registry = &reg };

	if (hamn_api_system_register(d->server, &sys, err) < 0 ||
	    hamn_api_dist_register(d->server, &dist, err) < 0)
		return -1;
	hamn_api_register_images(d->server, d->engine);
	hamn_api_register_build(d->server, d->engine);
	hamn_api_register_containers_fs(d->server, d->engine);
	hamn_api_register_events(d->server, d->engine);
	hamn_api_register_stats(d->server, d->engine);
	if (hamn_api_register_volumes(d->server, hamn_engine_volumes(d->engine), err) < 0 ||
	    hamn_api_register_networks(d->server, d->engine, err) < 0)
		return -1;
	return hamn_api_register_containers(d->server, d->engine, err);
}

/* hamnd's subnets unless configured: clear of docker's first picks (172.17-19). */
static const struct hamn_net_pool default_pools[] = {
	{ "172.30.0.0/15", 16 }, { "172.20.0.0/14", 16 }, { "172.24.0.0/14", 16 },
	{ "192.168.0.0/16", 20 },
};

/* The networking settings (dockerd's bridge, bip, pools, ip-forward, mtu); pools is scratch. */
static void net_config(const struct hamnd_options *o, struct hamn_net_config *nc,
		       struct hamn_net_pool *pools)
{
	memset(nc, 0, sizeof(*nc));
	nc->default_bridge = o->bridge;
	nc->mtu = o->mtu > 0 ? (int)o->mtu : 0;
	nc->ip_forward = o->ip_forward != OPT_FALSE;
	nc->pools = default_pools;
	nc->n_pools = sizeof(default_pools) / sizeof(default_pools[0]);
	if (o->n_pools) {
		for (size_t i = 0; i < o->n_pools; i++)
			pools[i] = (struct hamn_net_pool){ o->pool_bases[i], o->pool_sizes[i] };
		nc->pools = pools;
		nc->n_pools = o->n_pools;
	}
}

/* The engine forks its monitor zygote: call it before any thread exists. */
static int open_engine(struct daemon *d, struct hamn_error **err)
{
	_cleanup_free_ struct hamn_net_pool *pools = xcalloc(d->opts.n_pools + 1, sizeof(*pools));
	struct hamn_net_config net;
	struct hamn_engine_config cfg = {
		.root = d->opts.root,
		.exec_root = d->opts.exec_root,
		.cgroup_parent = d->opts.cgroup_parent,
		/* option unset: the engine's default; 0: no limit, as docker reads 0 */
		.default_pids_limit = d->opts.default_pids_limit < 0	? 0
				      : d->opts.default_pids_limit == 0 ? -1
									: d->opts.default_pids_limit,
		.network = &net,
		.bip = d->opts.bip,
		.init_path = d->opts.init_path,
		.log_driver = d->opts.log_driver,
		.log_opts = d->opts.log_opts,
	};

	net_config(&d->opts, &net, pools);
	d->engine = hamn_engine_new(&cfg, err);
	return d->engine ? 0 : -1;
}

/* Everything between parsed options and a listening server. */
static int start(struct daemon *d, struct hamn_error **err)
{
	int level = hamnd_options_log_level(d->flag_level, d->flag_debug, &d->opts, err);

	if (level < 0)
		return -1;
	hamn_log_set_level((enum hamn_log_level)level);
	if (open_log_file(d, err) < 0 || setup_signals(&d->sigfd, err) < 0)
		return -1;
	raise_nofile();
	if (resolve_group(d->opts.group, &d->gid, err) < 0)
		return -1;
	d->server = make_server(d, err);
	if (!d->server)
		return -1;
	if (make_dir(d->opts.root, 0700, err) < 0 || make_dir(d->opts.exec_root, 0711, err) < 0)
		return -1;
	if (pidfile_acquire(d->opts.pidfile, &d->pidfd, err) < 0 || open_engine(d, err) < 0)
		return -1;
	if (register_routes(d, err) < 0 || hamn_api_server_start(d->server, err) < 0)
		return -1;
	log_kv(HAMN_LOG_INFO, "hamnd started", "version=%s api=%s root=%s exec_root=%s pid=%d",
	       HAMN_VERSION, HAMN_API_VERSION, d->opts.root, d->opts.exec_root, (int)getpid());
	return 0;
}

/* Wait for signals until asked to stop; returns the signal that stopped us. */
static int64_t cpu_time_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * glibc keeps what the daemon frees in its arenas (1-2 MB after a burst of
 * starts or lists), SQLite the pages it read (~0.3 MB): hand both back to the
 * kernel when the daemon worked since the last time. Idle, it only notices
 * that its CPU time has not moved.
 */
static void trim_if_worked(struct daemon *d, int64_t *trimmed_at)
{
	if (cpu_time_ns() - *trimmed_at < TRIM_MIN_CPU_NS)
		return;
	if (d->engine)
		hamn_engine_release_memory(d->engine);
	malloc_trim(0);
	*trimmed_at = cpu_time_ns(); /* the trim itself is no work to trim after */
}

/* Read the next signal into *si, trimming the heap every TRIM_PERIOD_MS meanwhile. */
static ssize_t next_signal(struct daemon *d, struct signalfd_siginfo *si, int64_t *trimmed_at)
{
	struct pollfd pfd = {.fd = d->sigfd, .events = POLLIN};
	int r;

	while ((r = poll(&pfd, 1, TRIM_PERIOD_MS)) == 0 || (r < 0 && errno == EINTR))
		if (r == 0)
			trim_if_worked(d, trimmed_at);
	return read(d->sigfd, si, sizeof(*si));
}

static int run(struct daemon *d)
{
	int64_t trimmed_at = 0;

	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = next_signal(d, &si, &trimmed_at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			log_kv(HAMN_LOG_ERROR, "cannot read signals, stopping", "errno=%s",
			       hamn_errno_name(errno));
			return SIGTERM;
		}
		if (si.ssi_signo == SIGHUP) {
			reload(d);
			continue;
		}
		return (int)si.ssi_signo;
	}
}

static int stop(struct daemon *d, int sig)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	log_kv(HAMN_LOG_INFO, "stopping", "signal=%s", strsignal(sig));
	if (hamn_api_server_stop(d->server, STOP_GRACE_MS, &err) < 0) {
		/* threads are stuck in handlers: leave without freeing what they use */
		log_kv(HAMN_LOG_WARN, "exiting with requests in flight", "error=\"%s\"", err->msg);
		pidfile_release(d->opts.pidfile, d->pidfd);
		_exit(EXIT_SUCCESS);
	}
	/*
	 * The engine goes first: its thread may still close hijacked connections
	 * (attach clients its monitors are done with), which needs the server.
	 * Containers keep running: their monitors outlive us.
	 */
	hamn_engine_free(d->engine);
	d->engine = NULL;
	hamn_api_server_free(d->server);
	d->server = NULL;
	log_kv(HAMN_LOG_INFO, "hamnd stopped", "pid=%d", (int)getpid());
	return EXIT_SUCCESS;
}

static void cleanup(struct daemon *d)
{
	hamn_engine_free(d->engine);
	hamn_api_server_free(d->server);
	pidfile_release(d->opts.pidfile, d->pidfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	hamnd_options_release(&d->opts);
	free(d->flag_level);
	hamn_log_set_fd(-1);
	if (d->log_fd >= 0)
		close(d->log_fd);
}

static int fail(struct daemon *d, struct hamn_error **err)
{
	fprintf(stderr, "hamnd: %s\n", (*err)->msg);
	log_kv(HAMN_LOG_ERROR, "hamnd failed to start", "error=\"%s\"", (*err)->msg);
	hamn_error_free(err);
	cleanup(d);
	return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	struct daemon d = {.opts = HAMND_OPTIONS_INIT, .sigfd = -1, .pidfd = -1, .log_fd = -1};
	struct hamn_error *err = NULL;
	int rc;

	tune_memory();
	hamn_log_set_level(HAMN_LOG_INFO);
	if (hamnd_options_parse_args(argc, argv, &d.opts, &err) < 0)
		return fail(&d, &err);
	if (d.opts.show_help || d.opts.show_version) {
		if (d.opts.show_help)
			hamnd_usage(stdout);
		else
			printf("hamnd version %s (Docker Engine API %s)\n", HAMN_VERSION,
			       HAMN_API_VERSION);
		cleanup(&d);
		return EXIT_SUCCESS;
	}
	d.flag_level = d.opts.log_level ? xstrdup(d.opts.log_level) : NULL;
	d.flag_debug = d.opts.debug;
	if (hamnd_options_finish(&d.opts, &err) < 0 || start(&d, &err) < 0)
		return fail(&d, &err);
	rc = stop(&d, run(&d));
	cleanup(&d);
	return rc;
}

/*
 * run.c - `hamn create` and `hamn run`: options to a create body, then for
 * run the same dance as docker: attach, wait, start, pump, exit with the
 * container's status.
 */
#include "cli.h"

#include <termios.h>
#include <sys/ioctl.h>

enum {
	OPT_RM = 1000, OPT_NAME, OPT_ENV_FILE, OPT_MOUNT, OPT_ENTRYPOINT, OPT_RESTART, OPT_CPUS,
	OPT_PIDS, OPT_CAP_ADD, OPT_CAP_DROP, OPT_PRIV, OPT_READONLY, OPT_SECOPT, OPT_INIT,
	OPT_NETWORK, OPT_STOPSIG, OPT_STOPTIMEOUT, OPT_ULIMIT, OPT_SYSCTL, OPT_MEMSWAP,
	OPT_CPUSHARES, OPT_CPUSET, OPT_CPUQUOTA, OPT_CPUPERIOD, OPT_HOSTNAME, OPT_LOGOPT,
	OPT_LOGDRIVER, OPT_EXPOSE, OPT_TMPFS, OPT_VOLUMES_FROM,
	OPT_HEALTH_CMD, OPT_HEALTH_INTERVAL, OPT_HEALTH_TIMEOUT, OPT_HEALTH_RETRIES,
	OPT_HEALTH_START, OPT_NO_HEALTH,
};

static const struct option run_options[] = {
	{ "detach", no_argument, NULL, 'd' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "tty", no_argument, NULL, 't' },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "env", required_argument, NULL, 'e' },
	{ "env-file", required_argument, NULL, OPT_ENV_FILE },
	{ "volume", required_argument, NULL, 'v' },
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
	{ "restart", required_argument, NULL, OPT_RESTART },
	{ "memory", required_argument, NULL, 'm' },
	{ "memory-swap", required_argument, NULL, OPT_MEMSWAP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-shares", required_argument, NULL, OPT_CPUSHARES },
	{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET },
	{ "cpu-quota", required_argument, NULL, OPT_CPUQUOTA },
	{ "cpu-period", required_argument, NULL, OPT_CPUPERIOD },
	{ "pids-limit", required_argument, NULL, OPT_PIDS },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "privileged", no_argument, NULL, OPT_PRIV },
	{ "read-only", no_argument, NULL, OPT_READONLY },
	{ "security-opt", required_argument, NULL, OPT_SECOPT },
	{ "init", no_argument, NULL, OPT_INIT },
	{ "label", required_argument, NULL, 'l' },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "net", required_argument, NULL, OPT_NETWORK },
	{ "stop-signal", required_argument, NULL, OPT_STOPSIG },
	{ "stop-timeout", required_argument, NULL, OPT_STOPTIMEOUT },
	{ "ulimit", required_argument, NULL, OPT_ULIMIT },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "log-opt", required_argument, NULL, OPT_LOGOPT },
	{ "log-driver", required_argument, NULL, OPT_LOGDRIVER },
	{ "expose", required_argument, NULL, OPT_EXPOSE },
	CLI_NET_RUN_OPTIONS,
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ "volumes-from", required_argument, NULL, OPT_VOLUMES_FROM },
	{ "health-cmd", required_argument, NULL, OPT_HEALTH_CMD },
	{ "health-interval", required_argument, NULL, OPT_HEALTH_INTERVAL },
	{ "health-timeout", required_argument, NULL, OPT_HEALTH_TIMEOUT },
	{ "health-retries", required_argument, NULL, OPT_HEALTH_RETRIES },
	{ "health-start-period", required_argument, NULL, OPT_HEALTH_START },
	{ "no-healthcheck", no_argument, NULL, OPT_NO_HEALTH },
	{ "help", no_argument, NULL, 'H' },
	{ NULL, 0, NULL, 0 },
};

struct run_opts {
	bool detach, interactive, tty, rm;
	const char *name;
	json_t *config;		/* the create body; HostConfig inside */
	json_t *host;		/* borrowed: config.HostConfig */
};

static int add_env_file(json_t *env, const char *path, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_ char **lines = NULL;

	if (hamn_read_file(AT_FDCWD, path, 1 << 20, &text, NULL, err) < 0)
		return hamn_error_wrap(err, "env file");
	lines = str_split(text, '\n');
	for (char **l = lines; *l; l++) {
		char *line = *l;

		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		if (strchr(line, '=')) {
			json_array_append_new(env, json_string(line));
		} else {
			const char *v = getenv(line);
			if (v)
				json_array_append_new(env, json_sprintf("%s=%s", line, v));
		}
	}
	return 0;
}

/* "-e NAME" takes the value from the CLI's environment, as docker does. */
static void add_env(json_t *env, const char *arg)
{
	const char *v;

	if (strchr(arg, '=')) {
		json_array_append_new(env, json_string(arg));
		return;
	}
	v = getenv(arg);
	if (v)
		json_array_append_new(env, json_sprintf("%s=%s", arg, v));
}

static int set_size(json_t *host, const char *key, const char *arg, struct hamn_error **err)
{
	int64_t v;

	if (strcmp(arg, "-1") == 0)
		return json_object_set_new(host, key, json_integer(-1)), 0;
	if (hamn_parse_size(arg, &v, err) < 0)
		return hamn_error_wrap(err, "invalid argument for --%s", key);
	json_object_set_new(host, key, json_integer(v));
	return 0;
}

static int set_int(json_t *obj, const char *key, const char *arg, struct hamn_error **err)
{
	int64_t v;

	if (hamn_parse_int64(arg, &v, err) < 0)
		return hamn_error_wrap(err, "invalid value for %s", key);
	json_object_set_new(obj, key, json_integer(v));
	return 0;
}

int cli_set_restart(json_t *obj, const char *arg, struct hamn_error **err)
{
	const char *colon = strchr(arg, ':');
	_cleanup_free_ char *name = colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
	int64_t max = 0;

	if (colon && hamn_parse_int64(colon + 1, &max, err) < 0)
		return hamn_error_wrap(err, "invalid restart policy '%s'", arg);
	json_object_set_new(obj, "RestartPolicy", json_pack("{s:s,s:I}", "Name", name,
							    "MaximumRetryCount", (json_int_t)max));
	return 0;
}

static int set_cpus(json_t *host, const char *arg, struct hamn_error **err)
{
	char *end;
	double cpus = strtod(arg, &end);

	if (*end || cpus <= 0)
		return hamn_error_setq(err, EINVAL, "invalid argument '%s' for --cpus", arg);
	json_object_set_new(host, "NanoCpus", json_integer((json_int_t)(cpus * 1e9)));
	return 0;
}

/* --ulimit nofile=1024:2048 */
static int add_ulimit(json_t *host, const char *arg, struct hamn_error **err)
{
	const char *eq = strchr(arg, '=');
	int64_t soft, hard;
	char *colon;

	if (!eq)
		return hamn_error_setq(err, EINVAL, "invalid ulimit '%s': want name=soft[:hard]", arg);
	_cleanup_free_ char *vals = xstrdup(eq + 1);
	colon = strchr(vals, ':');
	if (colon)
		*colon = '\0';
	if (hamn_parse_int64(vals, &soft, err) < 0 ||
	    hamn_parse_int64(colon ? colon + 1 : vals, &hard, err) < 0)
		return hamn_error_wrap(err, "invalid ulimit '%s'", arg);
	_cleanup_free_ char *name = xstrndup(arg, (size_t)(eq - arg));
	json_array_append_new(cli_member(host, "Ulimits", true),
			      json_pack("{s:s,s:I,s:I}", "Name", name, "Soft", soft, "Hard", hard));
	return 0;
}

static json_t *volume_options(json_t *mount)
{
	return cli_member(mount, "VolumeOptions", false);
}

/* --mount type=bind,source=/a,target=/b,readonly -> a HostConfig.Mounts entry */
static int add_mount(json_t *mounts, const char *arg, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = str_split(arg, ',');
	json_t *m = json_pack("{s:s}", "Type", "volume");

	for (char **p = parts; *p; p++) {
		char *eq = strchr(*p, '=');
		const char *v = eq ? eq + 1 : "true";

		if (eq)
			*eq = '\0';
		if (strcmp(*p, "type") == 0)
			json_object_set_new(m, "Type", json_string(v));
		else if (strcmp(*p, "source") == 0 || strcmp(*p, "src") == 0)
			json_object_set_new(m, "Source", json_string(v));
		else if (strcmp(*p, "target") == 0 || strcmp(*p, "destination") == 0 ||
			 strcmp(*p, "dst") == 0)
			json_object_set_new(m, "Target", json_string(v));
		else if (strcmp(*p, "readonly") == 0 || strcmp(*p, "ro") == 0)
			json_object_set_new(m, "ReadOnly", json_boolean(strcmp(v, "false") != 0));
		else if (strcmp(*p, "bind-nonrecursive") == 0)
			json_object_set_new(cli_member(m, "BindOptions", false), "NonRecursive",
					    json_boolean(strcmp(v, "false") != 0));
		else if (strcmp(*p, "volume-nocopy") == 0)
			json_object_set_new(volume_options(m), "NoCopy",
					    json_boolean(strcmp(v, "false") != 0));
		else if (strcmp(*p, "volume-label") == 0)
			cli_add_kv(cli_member(volume_options(m), "Labels", false), v);
		else if (strcmp(*p, "volume-driver") == 0)
			json_object_set_new(cli_member(volume_options(m), "DriverConfig", false),
					    "Name", json_string(v));
		else if (strcmp(*p, "volume-opt") == 0)
			cli_add_kv(cli_member(cli_member(volume_options(m), "DriverConfig", false),
					      "Options", false),
				   v);
		else if (strcmp(*p, "bind-propagation") == 0)
			json_object_set_new(cli_member(m, "BindOptions", false), "Propagation",
					    json_string(v));
		else if (strcmp(*p, "tmpfs-size") == 0) {
			int64_t n = 0;
			if (hamn_parse_size(v, &n, err) < 0) {
				json_decref(m);
				return hamn_error_wrap(err, "invalid --mount '%s'", arg);
			}
			json_object_set_new(cli_member(m, "TmpfsOptions", false), "SizeBytes",
					    json_integer(n));
		} else if (strcmp(*p, "tmpfs-mode") == 0) {
			json_object_set_new(cli_member(m, "TmpfsOptions", false), "Mode",
					    json_integer(strtol(v, NULL, 8)));
		} else {
			json_decref(m);
			return hamn_error_setq(err, EINVAL, "invalid --mount field '%s'", *p);
		}
	}
	if (!json_object_get(m, "Target")) {
		json_decref(m);
		return hamn_error_setq(err, EINVAL, "invalid --mount '%s': target is required", arg);
	}
	json_array_append_new(mounts, m);
	return 0;
}

/* --health-* and --no-healthcheck into Config.Healthcheck (durations in ns, as docker's). */
static int set_health(json_t *c, int opt, const char *arg, struct hamn_error **err)
{
	static const char *const keys[] = { "Interval", "Timeout", "Retries", "StartPeriod" };
	json_t *hc = cli_member(c, "Healthcheck", false);
	int64_t v = 0;

	if (opt == OPT_NO_HEALTH) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
		json_object_set_new(hc, "-no", json_true());	/* checked and removed below */
		return 0;
	}
	if (opt == OPT_HEALTH_CMD) {
		json_object_set_new(hc, "Test", json_pack("[s,s]", "CMD-SHELL", arg));
		return 0;
	}
	if (opt == OPT_HEALTH_RETRIES ? hamn_parse_int64(arg, &v, err) < 0
				      : hamn_duration_parse(arg, &v, err) < 0)
		return hamn_error_wrap(err, "invalid argument \"%s\"", arg);
	if (v < 0)
		return hamn_error_setq(err, EINVAL, "health options must not be negative: %s", arg);
	json_object_set_new(hc, keys[opt - OPT_HEALTH_INTERVAL], json_integer(v));
	return 0;
}

/* --no-healthcheck with a --health-* option is docker's conflict error. */
static int check_health(json_t *c, struct hamn_error **err)
{
	json_t *hc = json_object_get(c, "Healthcheck");
	const char *kind = json_string_value(json_array_get(json_object_get(hc, "Test"), 0));

	if (!json_object_get(hc, "-no"))
		return 0;
	json_object_del(hc, "-no");
	if (!kind || !streq(kind, "NONE") || json_object_size(hc) > 1)
		return hamn_error_setq(err, EINVAL, "--no-healthcheck conflicts with --health-* "
				       "options");
	return 0;
}

static int apply_option(struct run_opts *o, int opt, const char *arg, struct hamn_error **err)
{
	json_t *c = o->config, *h = o->host;

	switch (opt) {
	case 'd': o->detach = true; break;
	case 'i': o->interactive = true; break;
	case 't': o->tty = true; break;
	case OPT_RM: o->rm = true; break;
	case OPT_NAME: o->name = arg; break;
	case 'e': add_env(cli_member(c, "Env", true), arg); break;
	case OPT_ENV_FILE: return add_env_file(cli_member(c, "Env", true), arg, err);
	case 'v': json_array_append_new(cli_member(h, "Binds", true), json_string(arg)); break;
	case OPT_MOUNT: return add_mount(cli_member(h, "Mounts", true), arg, err);
	case 'w': json_object_set_new(c, "WorkingDir", json_string(arg)); break;
	case 'u': json_object_set_new(c, "User", json_string(arg)); break;
	case OPT_ENTRYPOINT:
		json_object_set_new(c, "Entrypoint", *arg ? json_pack("[s]", arg) : json_array());
		break;
	case OPT_RESTART: return cli_set_restart(h, arg, err);
	case 'm': return set_size(h, "Memory", arg, err);
	case OPT_MEMSWAP: return set_size(h, "MemorySwap", arg, err);
	case OPT_CPUS: return set_cpus(h, arg, err);
	case OPT_CPUSHARES: return set_int(h, "CpuShares", arg, err);
	case OPT_CPUQUOTA: return set_int(h, "CpuQuota", arg, err);
	case OPT_CPUPERIOD: return set_int(h, "CpuPeriod", arg, err);
	case OPT_CPUSET: json_object_set_new(h, "CpusetCpus", json_string(arg)); break;
	case OPT_PIDS: return set_int(h, "PidsLimit", arg, err);
	case OPT_CAP_ADD:
		json_array_append_new(cli_member(h, "CapAdd", true), json_string(arg));
		break;
	case OPT_CAP_DROP:
		json_array_append_new(cli_member(h, "CapDrop", true), json_string(arg));
		break;
	case OPT_PRIV: json_object_set_new(h, "Privileged", json_true()); break;
	case OPT_READONLY: json_object_set_new(h, "ReadonlyRootfs", json_true()); break;
	case OPT_SECOPT:
		json_array_append_new(cli_member(h, "SecurityOpt", true), json_string(arg));
		break;
	case OPT_INIT: json_object_set_new(h, "Init", json_true()); break;
	case 'l': cli_add_kv(cli_member(c, "Labels", false), arg); break;
	case OPT_NETWORK: json_object_set_new(h, "NetworkMode", json_string(arg)); break;
	case OPT_STOPSIG: json_object_set_new(c, "StopSignal", json_string(arg)); break;
	case OPT_STOPTIMEOUT: return set_int(c, "StopTimeout", arg, err);
	case OPT_ULIMIT: return add_ulimit(h, arg, err);
	case OPT_SYSCTL: cli_add_kv(cli_member(h, "Sysctls", false), arg); break;
	case OPT_HOSTNAME: json_object_set_new(c, "Hostname", json_string(arg)); break;
	case OPT_LOGOPT:
		cli_add_kv(cli_member(cli_member(h, "LogConfig", false), "Config", false), arg);
		break;
	case OPT_LOGDRIVER:
		json_object_set_new(cli_member(h, "LogConfig", false), "Type", json_string(arg));
		break;
	case OPT_TMPFS: {
		const char *colon = strchr(arg, ':');
		_cleanup_free_ char *path = colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
		json_object_set_new(cli_member(h, "Tmpfs", false), path,
				    json_string(colon ? colon + 1 : ""));
		break;
	}
	case OPT_VOLUMES_FROM:
		json_array_append_new(cli_member(h, "VolumesFrom", true), json_string(arg));
		break;
	case OPT_HEALTH_CMD: case OPT_HEALTH_INTERVAL: case OPT_HEALTH_TIMEOUT:
	case OPT_HEALTH_RETRIES: case OPT_HEALTH_START: case OPT_NO_HEALTH:
		return set_health(c, opt, arg, err);
	case OPT_EXPOSE: {
		_cleanup_free_ char *port = strchr(arg, '/') ? xstrdup(arg) : xasprintf("%s/tcp", arg);
		json_object_set_new(cli_member(c, "ExposedPorts", false), port, json_object());
		break;
	}
	default:
		return cli_net_run_option(c, h, opt, arg, err);	/* network.c */
	}
	return 0;
}

/* Parse options and IMAGE [CMD...] into o; returns the index of IMAGE or -1. */
static int parse_run(struct run_opts *o, int argc, char **argv, struct hamn_error **err)
{
	int opt;

	o->config = json_object();
	o->host = cli_member(o->config, "HostConfig", false);
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "+dite:v:w:u:m:l:p:P", run_options, NULL)) != -1) {
		if (opt == '?')
			return hamn_error_setq(err, EINVAL, "see 'hamn %s --help'", argv[0]);
		if (apply_option(o, opt, optarg, err) < 0)
			return -1;
	}
	if (optind >= argc)
		return hamn_error_setq(err, EINVAL, "\"hamn %s\" requires at least 1 argument",
				       argv[0]);
	if (check_health(o->config, err) < 0)
		return -1;
	cli_net_run_finish(o->config);
	json_object_set_new(o->config, "Image", json_string(argv[optind]));
	if (optind + 1 < argc)
		json_object_set_new(o->config, "Cmd", hamn_json_from_strv(argv + optind + 1));
	json_object_set_new(o->config, "Tty", json_boolean(o->tty));
	json_object_set_new(o->config, "OpenStdin", json_boolean(o->interactive));
	json_object_set_new(o->config, "StdinOnce", json_boolean(o->interactive && !o->detach));
	json_object_set_new(o->config, "AttachStdin", json_boolean(o->interactive && !o->detach));
	json_object_set_new(o->config, "AttachStdout", json_boolean(!o->detach));
	json_object_set_new(o->config, "AttachStderr", json_boolean(!o->detach));
	json_object_set_new(o->host, "AutoRemove", json_boolean(o->rm));
	return optind;
}

/* POST /containers/create; prints docker's "Unable to find image" on 404. */
static int create_container(struct hamn_client *c, struct run_opts *o, char **id_out,
			    struct hamn_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *reply = NULL;
	json_t *warnings, *w;
	size_t i;

	if (o->name) {
		_cleanup_free_ char *enc = hamn_client_urlencode(o->name);
		path = xasprintf("/containers/create?name=%s", enc);
	} else {
		path = xstrdup("/containers/create");
	}
	if (hamn_client_json(c, "POST", path, o->config, &reply, err) < 0) {
		if ((*err)->errnum == ENOENT)
			fprintf(stderr, "Unable to find image '%s' locally\n",
				json_string_value(json_object_get(o->config, "Image")));
		return -1;
	}
	warnings = json_object_get(reply, "Warnings");
	json_array_foreach(warnings, i, w)
		if (json_is_string(w))
			fprintf(stderr, "WARNING: %s\n", json_string_value(w));
	if (!json_is_string(json_object_get(reply, "Id")))
		return hamn_error_setq(err, EPROTO, "create: reply has no Id");
	*id_out = xstrdup(json_string_value(json_object_get(reply, "Id")));
	return 0;
}

int cmd_create(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *id = NULL;
	struct run_opts o = { 0 };
	struct hamn_client *c;
	int rc = CLI_EXIT_ERROR;

	if (parse_run(&o, argc, argv, &err) < 0 || !(c = cli_client(cli)))
		goto out;
	if (create_container(c, &o, &id, &err) < 0)
		goto out;
	printf("%s\n", id);
	rc = 0;
out:
	if (err)
		cli_error(err);
	json_decref(o.config);
	return rc;
}

/* Size of the terminal on fd 0, or 0x0. */
static void term_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws = { 0 };

	ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	*rows = ws.ws_row;
	*cols = ws.ws_col;
}

static void resize(struct hamn_client *c, const char *id);

struct run_resize_ctx {
	struct hamn_client *c;
	const char *id;
};

/* On SIGWINCH: the new size, then docker's signal-proxy WINCH to the container. */
static void run_resize_cb(void *ctx)
{
	struct run_resize_ctx *r = ctx;
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = xasprintf("/containers/%s/kill?signal=WINCH", r->id);

	resize(r->c, r->id);
	/* like the resize itself: a failure only leaves the old size */
	hamn_client_json(r->c, "POST", path, NULL, NULL, &err);
}

static void resize(struct hamn_client *c, const char *id)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = NULL;
	unsigned rows, cols;

	term_size(&rows, &cols);
	if (!rows || !cols)
		return;
	path = xasprintf("/containers/%s/resize?h=%u&w=%u", id, rows, cols);
	/* a failed resize only makes the terminal look wrong: not worth failing the run */
	hamn_client_json(c, "POST", path, NULL, NULL, &err);
}

int cli_start_attached(struct hamn_client *c, const char *id, bool in, bool tty, bool removed)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *apath = NULL, *wpath = NULL, *spath = NULL;
	_cleanup_buf_ struct hamn_buf early = HAMN_BUF_INIT;
	struct hamn_client_pending *wait = NULL;
	struct hamn_client_resp wr = { 0 };
	_cleanup_json_ json_t *res = NULL;
	_cleanup_close_ int sock = -1;
	struct termios saved;
	bool raw = false;
	int rc = CLI_EXIT_ERROR;

	apath = xasprintf("/containers/%s/attach?stream=1&stdout=1&stderr=1%s", id,
			  in ? "&stdin=1" : "");
	wpath = xasprintf("/containers/%s/wait?condition=%s", id,
			  removed ? "removed" : "next-exit");
	spath = xasprintf("/containers/%s/start", id);
	if (hamn_client_hijack(c, "POST", apath, NULL, &sock, &early, &err) < 0)
		goto out;
	wait = hamn_client_pending_start(c, "POST", wpath, NULL, &err);
	if (!wait)
		goto out;
	if (hamn_client_json(c, "POST", spath, NULL, NULL, &err) < 0) {
		if (err->errnum != EALREADY)	/* 304: it runs already; stay attached */
			goto out;
		hamn_error_free(&err);
	}
	if (tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		resize(c, id);
	}
	struct run_resize_ctx rctx = { c, id };
	struct cli_resizer rs = { run_resize_cb, &rctx };

	if (cli_pump(sock, &early, in, tty, raw ? &rs : NULL, &err) < 0)
		goto out;
	if (hamn_client_pending_finish(wait, &wr, &err) < 0)
		goto out;
	if (wr.status != 200) {
		hamn_client_status_error(wr.status, wr.body, wr.len, &err);
		goto out;
	}
	res = hamn_json_parse(wr.body, wr.len, &err);
	if (!res)
		goto out;
	rc = (int)json_integer_value(json_object_get(res, "StatusCode"));
out:
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (err)
		cli_error(err);
	hamn_client_resp_release(&wr);
	hamn_client_pending_free(wait);
	return rc;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *id = NULL, *spath = NULL;
	struct run_opts o = { 0 };
	struct hamn_client *c;
	int rc = CLI_EXIT_ERROR;

	if (parse_run(&o, argc, argv, &err) < 0 || !(c = cli_client(cli)))
		goto out;
	if (o.tty && o.interactive && !isatty(STDIN_FILENO)) {
		hamn_error_setq(&err, EINVAL, "the input device is not a TTY");
		goto out;
	}
	if (create_container(c, &o, &id, &err) < 0)
		goto out;
	if (!o.detach) {
		rc = cli_start_attached(c, id, o.interactive, o.tty, o.rm);
		goto out;
	}
	spath = xasprintf("/containers/%s/start", id);
	if (hamn_client_json(c, "POST", spath, NULL, NULL, &err) < 0)
		goto out;
	printf("%s\n", id);
	rc = 0;
out:
	if (err)
		cli_error(err);
	json_decref(o.config);
	return rc;
}

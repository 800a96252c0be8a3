/*
 * main.c - hamn-runtime: a runc-compatible command line over src/runtime.
 *
 * Global flags (--root, --log, --log-format, --debug, --systemd-cgroup)
 * come before the command, as with runc, so other engines can use this
 * program as their runtime. Errors go to stderr and, with --log, to the
 * log file as JSON lines that containerd's shim reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <seccomp.h>

#include "cli.h"

int cli_exit_status;

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **, struct hamn_error **);
	bool spawns; /* re-exec from a read-only copy of ourselves first (CVE-2019-5736) */
	const char *about;
} commands[] = {
	{"create", cmd_create, true, "create a container"},
	{"start", cmd_start, false, "start the user process of a created container"},
	{"run", cmd_run, true, "create and start a container, and wait for it"},
	{"state", cmd_state, false, "print the state of a container"},
	{"kill", cmd_kill, false, "send a signal to the container's init process"},
	{"delete", cmd_delete, false, "delete a container and what it holds"},
	{"pause", cmd_pause, false, "suspend all processes of a container"},
	{"resume", cmd_resume, false, "resume a paused container"},
	{"ps", cmd_ps, false, "list the processes of a container"},
	{"list", cmd_list, false, "list containers"},
	{"update", cmd_update, false, "update the resource limits of a container"},
	{"exec", cmd_exec, true, "run a new process inside a container"},
	{"spec", cmd_spec, false, "write a new default config.json"},
	{"features", cmd_features, false, "print what this runtime supports"},
};

static void usage(void)
{
	printf("Usage: hamn-runtime [global options] COMMAND [options] [arguments]\n\n"
	       "A low-level OCI container runtime with runc's command line.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("   %-10s %s\n", commands[i].name, commands[i].about);
	printf("\nGlobal options:\n"
	       "   --root DIR          state directory (default \"" DEFAULT_ROOT "\")\n"
	       "   --log FILE          write log lines to FILE\n"
	       "   --log-format FMT    text or json (default \"text\")\n"
	       "   --debug             log debug messages\n"
	       "   --systemd-cgroup    accepted; systemd cgroup paths are refused\n"
	       "   --help, -h          show help\n"
	       "   --version, -v       print the version\n");
}

static void version(void)
{
	const struct scmp_version *v = seccomp_version();

	printf("hamn-runtime version %s\nspec: %s\n", HAMN_VERSION, HAMN_OCI_VERSION);
	if (v)
		printf("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

/* ---- shared helpers ---- */

static int find_flag(const struct cli_flag *flags, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if ((strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) ||
		    (flags[i].alias && strlen(flags[i].alias) == len &&
		     strncmp(flags[i].alias, name, len) == 0))
			return (int)i;
	return -1;
}

int cli_parse(int argc, char **argv, const struct cli_flag *flags, size_t n_flags,
	      size_t stop_after, struct cli_args *out, struct hamn_error **err)
{
	bool only_pos = false;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || !a[1]) {
			strv_push(&out->pos, a);
			if (stop_after && strv_len(out->pos) >= stop_after)
				only_pos = true;
			continue;
		}
		if (streq(a, "--")) {
			only_pos = true;
			continue;
		}
		const char *name = a + (a[1] == '-' ? 2 : 1), *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		if ((len == 4 && strncmp(name, "help", 4) == 0) || (len == 1 && name[0] == 'h')) {
			out->help = true;
			continue;
		}
		int f = find_flag(flags, n_flags, name, len);
		if (f < 0)
			return hamn_error_setq(err, EINVAL, "flag provided but not defined: -%.*s",
					       (int)len, name);
		const char *val = "";
		if (flags[f].has_arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return hamn_error_setq(err, EINVAL, "flag needs an argument: -%s",
						       flags[f].name);
		} else if (eq && (streq(eq + 1, "false") || streq(eq + 1, "0"))) {
			continue;
		}
		out->value[f] = val;
		if (flags[f].repeat)
			strv_push(&out->values[f], val);
	}
	return 0;
}

void cli_args_release(struct cli_args *a)
{
	for (size_t i = 0; i < 16; i++)
		hamn_strv_free(a->values[i]);
	hamn_strv_free(a->pos);
	memset(a, 0, sizeof(*a));
}

void cli_usage(const char *use, const char *about, const struct cli_flag *flags, size_t n)
{
	printf("Usage: hamn-runtime %s\n\n%s\n", use, about);
	if (n)
		printf("\nOptions:\n");
	for (size_t i = 0; i < n; i++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s%s", flags[i].name,
			 flags[i].alias ? ", -" : "", flags[i].alias ? flags[i].alias : "",
			 flags[i].has_arg ? " value" : "");
		printf("   %-28s %s\n", left, flags[i].help);
	}
}

int cli_need_args(const struct cli_args *a, size_t min, size_t max, const char *cmd,
		  struct hamn_error **err)
{
	size_t n = strv_len(a->pos);

	if (n < min || n > max)
		return hamn_error_setq(err, EINVAL, "\"%s\" requires %s%zu argument%s", cmd,
				       min == max ? "exactly " : "at least ", min,
				       min == 1 ? "" : "s");
	return 0;
}

int cli_console_socket(const char *path, struct hamn_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return hamn_error_set(err, ENAMETOOLONG, "console socket '%s'", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hamn_error_set(err, errno, "console socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		hamn_error_set(err, errno, "connect to console socket '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

int cli_signal(const char *s)
{
	int64_t n;

	if (hamn_parse_int64(s, &n, NULL) == 0)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name && strcasecmp(name, s) == 0)
			return sig;
	}
	return -1;
}

void cli_print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text)
		printf("%s\n", text);
	free(text);
}

/* ---- main ---- */

static int open_log(const char *path, const char *format, bool debug, struct hamn_error **err)
{
	if (format && !streq(format, "text") && !streq(format, "json"))
		return hamn_error_setq(err, EINVAL, "unknown log format '%s'", format);
	hamn_log_set_json(format && streq(format, "json"));
	hamn_log_set_level(debug ? HAMN_LOG_DEBUG : HAMN_LOG_WARN);
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return hamn_error_set(err, errno, "open log '%s'", path);
	hamn_log_set_fd(fd);
	return 1;
}

static int global_flags(int argc, char **argv, struct cli *c, const char **log_path,
			const char **log_format)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1), *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const char **dst = NULL;
		if (len == 4 && !strncmp(a, "root", 4))
			dst = &c->root;
		else if (len == 3 && !strncmp(a, "log", 3))
			dst = log_path;
		else if (len == 10 && !strncmp(a, "log-format", 10))
			dst = log_format;
		else if (len == 5 && !strncmp(a, "debug", 5))
			c->debug = true;
		else if (len == 14 && !strncmp(a, "systemd-cgroup", 14))
			c->systemd_cgroup = true;
		else if (len == 8 && !strncmp(a, "rootless", 8))
			; /* runc's --rootless=auto|true|false: accepted, ignored when given with
			     '=' */
		else
			return -i;
		if (dst) {
			if (eq)
				*dst = eq + 1;
			else if (i + 1 < argc)
				*dst = argv[++i];
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	struct cli c = {.root = DEFAULT_ROOT};
	const char *log_path = NULL, *log_format = NULL;
	struct hamn_error *err = NULL;
	int i = global_flags(argc, argv, &c, &log_path, &log_format);

	if (i < 0) {
		const char *a = argv[-i];
		if (streq(a, "--version") || streq(a, "-v") || streq(a, "-version")) {
			version();
			return 0;
		}
		if (streq(a, "--help") || streq(a, "-h") || streq(a, "-help")) {
			usage();
			return 0;
		}
		fprintf(stderr, "hamn-runtime: flag provided but not defined: %s\n", a);
		return 1;
	}
	if (i >= argc) {
		usage();
		return 0;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (!streq(argv[i], commands[k].name))
			continue;
		if (commands[k].spawns && hamn_runtime_protect_exe(argv, &err) < 0)
			goto fail;
		int logged = open_log(log_path, log_format, c.debug, &err);
		if (logged < 0 || commands[k].fn(&c, argc - i - 1, argv + i + 1, &err) < 0)
			goto fail;
		return cli_exit_status;
	}
	if (streq(argv[i], "help")) {
		usage();
		return 0;
	}
	fprintf(stderr, "hamn-runtime: no such command '%s'\n", argv[i]);
	return 1;
fail:
	if (log_path)
		log_error("%s", err->msg);
	fprintf(stderr, "hamn-runtime: %s\n", err->msg);
	hamn_error_free(&err);
	return 1;
}

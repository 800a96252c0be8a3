/*
 * lifecycle.c - create, start, state, kill, delete, pause, resume, ps,
 * list and update: each parses its flags and calls src/runtime.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Options shared by create and run; filled from flags 0-5 of create_flags. */
static const struct cli_flag create_flags[] = {
	{"bundle", "b", true, false, "path to the bundle directory (default: current directory)"},
	{"pid-file", NULL, true, false, "write the init's pid to this file"},
	{"console-socket", NULL, true, false, "unix socket that receives the pty master"},
	{"no-pivot", NULL, false, false, "use MS_MOVE and chroot instead of pivot_root"},
	{"no-new-keyring", NULL, false, false, "keep the caller's session keyring"},
	{"preserve-fds", NULL, true, false, "accepted; must be 0"},
	{"detach", "d", false, false, "run: do not wait for the container"},
	{"keep", NULL, false, false, "run: keep the container after it exits"},
};

int cli_create_opts(struct cli *c, const struct cli_args *a, struct hamn_runtime_create_opts *o,
		    char *bundle_buf, struct hamn_error **err);

int cli_create_opts(struct cli *c, const struct cli_args *a, struct hamn_runtime_create_opts *o,
		    char *bundle_buf, struct hamn_error **err)
{
	const char *bundle = a->value[0] && *a->value[0] ? a->value[0] : ".";

	memset(o, 0, sizeof(*o));
	o->console_socket = -1;
	if (!realpath(bundle, bundle_buf))
		return hamn_error_set(err, errno, "bundle '%s'", bundle);
	o->bundle = bundle_buf;
	o->pid_file = a->value[1];
	if (a->value[2] && (o->console_socket = cli_console_socket(a->value[2], err)) < 0)
		return -1;
	if (a->value[3])
		o->flags |= HAMN_RUNTIME_NO_PIVOT;
	if (a->value[4])
		o->flags |= HAMN_RUNTIME_NO_NEW_KEYRING;
	if (a->value[5] && !streq(a->value[5], "0"))
		return hamn_error_setq(err, ENOTSUP, "--preserve-fds is not supported");
	o->systemd_cgroup = c->systemd_cgroup;
	return 0;
}

const struct cli_flag *cli_run_flags(size_t *n);
const struct cli_flag *cli_run_flags(size_t *n)
{
	*n = N(create_flags);
	return create_flags;
}

int cmd_create(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	struct cli_args a;
	struct hamn_runtime_create_opts o;
	char bundle[PATH_MAX];
	pid_t pid;
	int r = -1;

	if (cli_parse(argc, argv, create_flags, 6, 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("create [options] CONTAINER-ID",
			  "Create a container: its init waits for "
			  "`start`.",
			  create_flags, 6);
		r = 0;
	} else if (cli_need_args(&a, 1, 1, "create", err) == 0 &&
		   cli_create_opts(c, &a, &o, bundle, err) == 0) {
		r = hamn_runtime_create(c->root, a.pos[0], &o, &pid, err);
		if (o.console_socket >= 0)
			close(o.console_socket);
	}
	cli_args_release(&a);
	return r;
}

/* The commands that take only a container id. */
static int simple(int argc, char **argv, const char *use, const char *about, const char *cmd,
		  const char **id, struct cli_args *a, struct hamn_error **err)
{
	if (cli_parse(argc, argv, NULL, 0, 0, a, err) < 0)
		return -1;
	if (a->help) {
		cli_usage(use, about, NULL, 0);
		return 1;
	}
	if (cli_need_args(a, 1, 1, cmd, err) < 0)
		return -1;
	*id = a->pos[0];
	return 0;
}

int cmd_start(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	struct cli_args a;
	const char *id;
	int r = simple(argc, argv, "start CONTAINER-ID", "Start a created container.", "start", &id,
		       &a, err);

	if (r == 0)
		r = hamn_runtime_start(c->root, id, err);
	cli_args_release(&a);
	return r < 0 ? -1 : 0;
}

int cmd_state(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	struct cli_args a;
	const char *id;
	int r = simple(argc, argv, "state CONTAINER-ID", "Print the state of a container.", "state",
		       &id, &a, err);

	if (r == 0) {
		json_t *j = hamn_runtime_state(c->root, id, err);
		if (!j)
			r = -1;
		else
			cli_print_json(j);
		json_decref(j);
	}
	cli_args_release(&a);
	return r < 0 ? -1 : 0;
}

int cmd_kill(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	static const struct cli_flag f[] = {
		{"all", "a", false, false, "send the signal to every process of the container"},
	};
	struct cli_args a;
	int r = -1;

	if (cli_parse(argc, argv, f, N(f), 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("kill [options] CONTAINER-ID [SIGNAL]",
			  "Send a signal (default SIGTERM) "
			  "to the container's init.",
			  f, N(f));
		r = 0;
	} else if (cli_need_args(&a, 1, 2, "kill", err) == 0) {
		int sig = a.pos[1] ? cli_signal(a.pos[1]) : SIGTERM;
		if (sig < 0)
			hamn_error_setq(err, EINVAL, "unknown signal '%s'", a.pos[1]);
		else
			r = hamn_runtime_kill(c->root, a.pos[0], sig, a.value[0] != NULL, err);
	}
	cli_args_release(&a);
	return r;
}

int cmd_delete(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	static const struct cli_flag f[] = {
		{"force", "f", false, false, "kill the container first if it is running"},
	};
	struct cli_args a;
	int r = -1;

	if (cli_parse(argc, argv, f, N(f), 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("delete [options] CONTAINER-ID", "Delete a container.", f, N(f));
		r = 0;
	} else if (cli_need_args(&a, 1, 1, "delete", err) == 0) {
		r = hamn_runtime_delete(c->root, a.pos[0], a.value[0] != NULL, err);
		/* runc: deleting what does not exist is fine with --force */
		if (r < 0 && a.value[0] && (*err)->errnum == ENOENT) {
			hamn_error_free(err);
			r = 0;
		}
	}
	cli_args_release(&a);
	return r;
}

static int pause_resume(struct cli *c, int argc, char **argv, bool pause, struct hamn_error **err)
{
	struct cli_args a;
	const char *id;
	int r = simple(argc, argv, pause ? "pause CONTAINER-ID" : "resume CONTAINER-ID",
		       pause ? "Freeze all processes of a container." : "Thaw a paused container.",
		       pause ? "pause" : "resume", &id, &a, err);

	if (r == 0)
		r = hamn_runtime_pause(c->root, id, pause, err);
	cli_args_release(&a);
	return r < 0 ? -1 : 0;
}

int cmd_pause(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	return pause_resume(c, argc, argv, true, err);
}

int cmd_resume(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	return pause_resume(c, argc, argv, false, err);
}

/* The n-th blank-separated word of line into buf ("" when there is none). */
static const char *word_at(const char *line, int n, char *buf, size_t size)
{
	buf[0] = '\0';
	for (int i = 0; *line; i++) {
		line += strspn(line, " \t");
		size_t len = strcspn(line, " \t");
		if (!len)
			break;
		if (i == n) {
			snprintf(buf, size, "%.*s", (int)len, line);
			break;
		}
		line += len;
	}
	return buf;
}

/* runc's table format: `ps` with the given options, keeping only our processes. */
static int ps_table(const pid_t *pids, size_t n, char **ps_args, struct hamn_error **err)
{
	_cleanup_strv_ char **argv = NULL;
	_cleanup_free_ char *out = NULL;
	int status, pid_col = -1;
	char w[64];

	strv_push(&argv, "ps");
	if (!ps_args || !ps_args[0])
		strv_push(&argv, "-ef");
	for (char **p = ps_args; p && *p; p++)
		strv_push(&argv, *p);
	if (hamn_spawn_run(argv, &out, 16 << 20, &status, err) < 0)
		return -1;
	if (status != 0)
		return hamn_error_setq(err, EIO, "ps exited with status %d", status);
	_cleanup_strv_ char **lines = str_split(out, '\n');
	for (int k = 0; lines && lines[0] && *word_at(lines[0], k, w, sizeof(w)); k++)
		if (streq(w, "PID"))
			pid_col = k;
	if (pid_col < 0)
		return hamn_error_setq(err, EINVAL, "ps output has no PID column");
	printf("%s\n", lines[0]);
	for (size_t i = 1; lines[i]; i++) {
		int64_t p;
		if (hamn_parse_int64(word_at(lines[i], pid_col, w, sizeof(w)), &p, NULL) < 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (pids[k] == p)
				printf("%s\n", lines[i]);
	}
	return 0;
}

int cmd_ps(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	static const struct cli_flag f[] = {
		{"format", "f", true, false, "table or json"},
	};
	struct cli_args a;
	pid_t *pids = NULL;
	size_t n = 0;
	int r = -1;

	if (cli_parse(argc, argv, f, N(f), 1, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("ps [options] CONTAINER-ID [ps options]",
			  "List the container's processes.", f, N(f));
		r = 0;
	} else if (cli_need_args(&a, 1, 1000, "ps", err) == 0 &&
		   hamn_runtime_pids(c->root, a.pos[0], &pids, &n, err) == 0) {
		if (a.value[0] && streq(a.value[0], "json")) {
			json_t *j = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(j, json_integer(pids[i]));
			char *s = json_dumps(j, JSON_COMPACT);
			printf("%s\n", s);
			free(s);
			json_decref(j);
			r = 0;
		} else if (a.value[0] && !streq(a.value[0], "table")) {
			hamn_error_setq(err, EINVAL, "invalid format '%s'", a.value[0]);
		} else {
			r = ps_table(pids, n, a.pos + 1, err);
		}
	}
	free(pids);
	cli_args_release(&a);
	return r;
}

static void list_table(json_t *arr, bool quiet)
{
	size_t i;
	json_t *s;

	if (!quiet)
		printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	json_array_foreach (arr, i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		if (quiet) {
			printf("%s\n", id);
			continue;
		}
		printf("%-20s %-8lld %-10s %-40s %-30s %s\n", id,
		       (long long)json_integer_value(json_object_get(s, "pid")),
		       json_string_value(json_object_get(s, "status")),
		       json_string_value(json_object_get(s, "bundle")),
		       json_string_value(json_object_get(s, "created")), "root");
	}
}

int cmd_list(struct cli *c, int argc, char **argv, struct hamn_error **err)
{
	static const struct cli_flag f[] = {
		{"format", "f", true, false, "table or json"},
		{"quiet", "q", false, false, "print only the ids"},
	};
	struct cli_args a;
	int r = -1;

	if (cli_parse(argc, argv, f, N(f), 0, &a, err) < 0)
		return -1;
	if (a.help) {
		cli_usage("list [options]", "List the containers under --root.", f, N(f));
		r = 0;
	} else if (cli_need_args(&a, 0, 0, "list", err) == 0) {
		json_t *arr = hamn_runtime_list(c->root, err);
		if (arr) {
			if (a.value[0] && streq(a.value[0], "json"))
				cli_print_json(arr);
			else
				list_table(arr, a.value[1] != NULL);
			json_decref(arr);
			r = 0;
		}
	}
	cli_args_release(&a);
	return r;
}

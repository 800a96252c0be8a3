/*
 * exec.c - `hamn exec`: create an exec instance, start it on a hijacked
 * connection, then exit with its ExitCode as docker does.
 */
#include "cli.h"

#include <sys/ioctl.h>
#include <termios.h>

struct exec_opts {
	bool detach, interactive, tty, privileged;
	json_t *body;
};

static int parse_exec(struct exec_opts *o, int argc, char **argv, struct hamn_error **err)
{
	static const struct option opts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "privileged", no_argument, NULL, 'P' },
		{ "detach-keys", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *env = json_array();
	int opt;

	o->body = json_object();
	json_object_set_new(o->body, "Env", env);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+dite:w:u:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': o->detach = true; break;
		case 'i': o->interactive = true; break;
		case 't': o->tty = true; break;
		case 'e': json_array_append_new(env, json_string(optarg)); break;
		case 'w': json_object_set_new(o->body, "WorkingDir", json_string(optarg)); break;
		case 'u': json_object_set_new(o->body, "User", json_string(optarg)); break;
		case 'P': o->privileged = true; break;
		case 'k': break;
		default: return hamn_error_setq(err, EINVAL, "see 'hamn exec --help'");
		}
	}
	if (optind + 2 > argc)
		return hamn_error_setq(err, EINVAL, "\"hamn exec\" requires at least 2 arguments");
	json_object_set_new(o->body, "Cmd", hamn_json_from_strv(argv + optind + 1));
	json_object_set_new(o->body, "Tty", json_boolean(o->tty));
	json_object_set_new(o->body, "Privileged", json_boolean(o->privileged));
	json_object_set_new(o->body, "AttachStdin", json_boolean(o->interactive && !o->detach));
	json_object_set_new(o->body, "AttachStdout", json_boolean(!o->detach));
	json_object_set_new(o->body, "AttachStderr", json_boolean(!o->detach));
	return optind;
}

struct exec_resize_ctx {
	struct hamn_client *c;
	const char *eid;
};

static void exec_resize(struct hamn_client *c, const char *eid);

static void exec_resize_cb(void *ctx)
{
	struct exec_resize_ctx *r = ctx;

	exec_resize(r->c, r->eid);
}

static void exec_resize(struct hamn_client *c, const char *eid)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct winsize ws = { 0 };

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return;
	_cleanup_free_ char *path = xasprintf("/exec/%s/resize?h=%u&w=%u", eid, ws.ws_row, ws.ws_col);
	/* a failed resize only makes the terminal look wrong */
	hamn_client_json(c, "POST", path, NULL, NULL, &err);
}

/* Start the exec attached and pump; then read its exit code. */
static int exec_attached(struct hamn_client *c, struct exec_opts *o, const char *eid,
			 struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf early = HAMN_BUF_INIT;
	_cleanup_json_ json_t *start = json_pack("{s:b,s:b}", "Detach", 0, "Tty", o->tty);
	_cleanup_json_ json_t *info = NULL;
	_cleanup_free_ char *spath = xasprintf("/exec/%s/start", eid);
	_cleanup_free_ char *ipath = xasprintf("/exec/%s/json", eid);
	_cleanup_close_ int sock = -1;
	struct termios saved;
	bool raw = false;
	int rc = -1;

	if (hamn_client_hijack(c, "POST", spath, start, &sock, &early, err) < 0)
		return -1;
	if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		exec_resize(c, eid);
	}
	struct exec_resize_ctx rctx = { c, eid };
	struct cli_resizer rs = { exec_resize_cb, &rctx };

	if (cli_pump(sock, &early, o->interactive, o->tty, raw ? &rs : NULL, err) == 0 &&
	    hamn_client_json(c, "GET", ipath, NULL, &info, err) == 0)
		rc = (int)json_integer_value(json_object_get(info, "ExitCode"));
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return rc;
}

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *created = NULL;
	_cleanup_free_ char *enc = NULL, *path = NULL;
	struct exec_opts o = { 0 };
	struct hamn_client *c;
	int first, rc = CLI_EXIT_ERROR;

	first = parse_exec(&o, argc, argv, &err);
	if (first < 0 || !(c = cli_client(cli)))
		goto out;
	enc = hamn_client_urlencode(argv[first]);
	path = xasprintf("/containers/%s/exec", enc);
	if (hamn_client_json(c, "POST", path, o.body, &created, &err) < 0)
		goto out;
	const char *eid = json_string_value(json_object_get(created, "Id"));
	if (!eid) {
		hamn_error_setq(&err, EPROTO, "exec: reply has no Id");
		goto out;
	}
	if (o.detach) {
		_cleanup_free_ char *spath = xasprintf("/exec/%s/start", eid);
		_cleanup_json_ json_t *start = json_pack("{s:b,s:b}", "Detach", 1, "Tty", o.tty);
		rc = hamn_client_json(c, "POST", spath, start, NULL, &err) < 0 ? CLI_EXIT_ERROR : 0;
		goto out;
	}
	rc = exec_attached(c, &o, eid, &err);
	if (rc < 0)
		rc = CLI_EXIT_ERROR;
out:
	if (err)
		cli_daemon_error(err);
	json_decref(o.body);
	return rc;
}

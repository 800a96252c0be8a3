/*
 * container.c - container commands that are one API call per container:
 * start, stop, kill, restart, rm, wait, logs, ps, inspect.
 */
#include "cli.h"

/* For commands taking CONTAINER...: call fn for each, print the name on success like docker. */
static int for_each(struct cli *cli, int first, int argc, char **argv,
		    int (*fn)(struct hamn_client *c, const char *name, void *ctx,
			      struct hamn_error **err),
		    void *ctx, bool echo)
{
	struct hamn_client *c = cli_client(cli);
	int rc = 0;

	if (!c)
		return CLI_EXIT_ERROR;
	if (first >= argc) {
		cli_errorf("\"hamn %s\" requires at least 1 argument.", argv[0]);
		return 1;
	}
	for (int i = first; i < argc; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;

		if (fn(c, argv[i], ctx, &err) < 0) {
			cli_daemon_error(err);
			rc = 1;
		} else if (echo) {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

/* POST /containers/NAME/VERB[QUERY] */
static int post(struct hamn_client *c, const char *verb, const char *name, const char *query,
		struct hamn_error **err)
{
	_cleanup_free_ char *enc = hamn_client_urlencode(name);
	_cleanup_free_ char *path = xasprintf("/containers/%s/%s%s", enc, verb, query ? query : "");

	if (hamn_client_json(c, "POST", path, NULL, NULL, err) < 0) {
		if ((*err)->errnum == EALREADY) {	/* 304: already in that state */
			hamn_error_free(err);
			return 0;
		}
		return -1;
	}
	return 0;
}

static int start_one(struct hamn_client *c, const char *name, void *ctx, struct hamn_error **err)
{
	return post(c, "start", name, NULL, err);
}

/* start -a / -i: one container, attached as docker's CLI does (stdin only when it is open). */
static int start_attach(struct cli *cli, const char *name, bool interactive)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *enc = hamn_client_urlencode(name), *path = NULL;
	_cleanup_json_ json_t *info = NULL;
	struct hamn_client *c = cli_client(cli);
	json_t *config, *host;
	const char *id;
	bool in, tty;

	if (!c)
		return CLI_EXIT_ERROR;
	path = xasprintf("/containers/%s/json", enc);
	if (hamn_client_json(c, "GET", path, NULL, &info, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	config = json_object_get(info, "Config");
	host = json_object_get(info, "HostConfig");
	id = json_string_value(json_object_get(info, "Id")) ?: name;
	in = interactive && json_is_true(json_object_get(config, "OpenStdin"));
	tty = json_is_true(json_object_get(config, "Tty"));
	if (in && tty && !isatty(STDIN_FILENO)) {
		cli_errorf("the input device is not a TTY");
		return 1;
	}
	return cli_start_attached(c, id, in, tty,
				  json_is_true(json_object_get(host, "AutoRemove")));
}

int cmd_start(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attach", no_argument, NULL, 'a' },
		{ "interactive", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	bool attach = false, interactive = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "ai", opts, NULL)) != -1) {
		if (opt == 'a')
			attach = true;
		else if (opt == 'i')
			interactive = true;
		else if (opt == '?')
			return 1;
	}
	if (!attach && !interactive)
		return for_each(cli, optind, argc, argv, start_one, NULL, true);
	if (argc - optind != 1) {
		cli_errorf(optind >= argc ? "\"hamn start\" requires at least 1 argument."
					  : "you cannot start and attach multiple containers at once");
		return 1;
	}
	return start_attach(cli, argv[optind], interactive);
}

static int stop_one(struct hamn_client *c, const char *name, void *ctx, struct hamn_error **err)
{
	return post(c, "stop", name, ctx, err);
}

static int restart_one(struct hamn_client *c, const char *name, void *ctx, struct hamn_error **err)
{
	return post(c, "restart", name, ctx, err);
}

static int kill_one(struct hamn_client *c, const char *name, void *ctx, struct hamn_error **err)
{
	return post(c, "kill", name, ctx, err);
}

/* Parse "-t N"/"--time N" (stop, restart) or "-s SIG"/"--signal SIG" (kill) into a query. */
static int parse_one_option(int argc, char **argv, const char *shortopt, const char *longopt,
			    const char *key, char **query)
{
	static struct option opts[2];
	int opt;

	opts[0] = (struct option){ longopt, required_argument, NULL, shortopt[0] };
	opts[1] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopt, opts, NULL)) != -1) {
		if (opt == '?')
			return -1;
		free(*query);
		_cleanup_free_ char *enc = hamn_client_urlencode(optarg);
		*query = xasprintf("?%s=%s", key, enc);
	}
	return optind;
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *q = NULL;
	int first = parse_one_option(argc, argv, "t:", "time", "t", &q);

	return first < 0 ? 1 : for_each(cli, first, argc, argv, stop_one, q, true);
}

int cmd_restart(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *q = NULL;
	int first = parse_one_option(argc, argv, "t:", "time", "t", &q);

	return first < 0 ? 1 : for_each(cli, first, argc, argv, restart_one, q, true);
}

int cmd_kill(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *q = NULL;
	int first = parse_one_option(argc, argv, "s:", "signal", "signal", &q);

	return first < 0 ? 1 : for_each(cli, first, argc, argv, kill_one, q, true);
}

static int rm_one(struct hamn_client *c, const char *name, void *ctx, struct hamn_error **err)
{
	_cleanup_free_ char *enc = hamn_client_urlencode(name);
	_cleanup_free_ char *path = xasprintf("/containers/%s%s", enc, (const char *)ctx);

	return hamn_client_json(c, "DELETE", path, NULL, NULL, err);
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "volumes", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false, volumes = false;
	char query[32];
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "fv", opts, NULL)) != -1) {
		if (opt == '?')
			return 1;
		if (opt == 'f')
			force = true;
		else
			volumes = true;
	}
	snprintf(query, sizeof(query), "?force=%d&v=%d", force, volumes);
	return for_each(cli, optind, argc, argv, rm_one, query, true);
}

static int wait_one(struct hamn_client *c, const char *name, void *ctx, struct hamn_error **err)
{
	_cleanup_free_ char *enc = hamn_client_urlencode(name);
	_cleanup_free_ char *path = xasprintf("/containers/%s/wait", enc);
	_cleanup_json_ json_t *res = NULL;

	if (hamn_client_json(c, "POST", path, NULL, &res, err) < 0)
		return -1;
	printf("%lld\n", (long long)json_integer_value(json_object_get(res, "StatusCode")));
	return 0;
}

int cmd_wait(struct cli *cli, int argc, char **argv)
{
	return for_each(cli, 1, argc, argv, wait_one, NULL, false);
}

struct inspect_ctx {
	json_t *all;	/* the objects found */
	bool size;	/* -s: containers with SizeRw and SizeRootFs */
};

static int inspect_one(struct hamn_client *c, const char *name, void *ctx, struct hamn_error **err)
{
	struct inspect_ctx *ic = ctx;
	/* docker's order: container, image, network, volume; image names keep their '/' and ':' */
	static const struct {
		const char *prefix, *suffix;
		bool raw;
	} kinds[] = { { "/containers/", "/json", false }, { "/images/", "/json", true },
		      { "/networks/", "", false }, { "/volumes/", "", false } };
	_cleanup_free_ char *enc = hamn_client_urlencode(name);

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		_cleanup_free_ char *path = xasprintf("%s%s%s%s", kinds[i].prefix,
						      kinds[i].raw ? name : enc, kinds[i].suffix,
						      i == 0 && ic->size ? "?size=1" : "");
		json_t *obj = NULL;

		if (hamn_client_json(c, "GET", path, NULL, &obj, err) == 0) {
			json_array_append_new(ic->all, obj);
			return 0;
		}
		if ((*err)->errnum != ENOENT)
			return -1;
		hamn_error_free(err);
	}
	return hamn_error_setq(err, ENOENT, "No such object: %s", name);
}

int cmd_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "size", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_json_ json_t *all = json_array();
	struct inspect_ctx ic = { all, false };
	const char *format = NULL;
	int rc, opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:s", opts, NULL)) != -1) {
		if (opt == 'f')
			format = optarg;
		else if (opt == 's')
			ic.size = true;
		else if (opt == '?')
			return 1;
	}
	rc = for_each(cli, optind, argc, argv, inspect_one, &ic, false);
	return cli_print_inspect(all, format, rc);
}

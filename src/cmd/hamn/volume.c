/*
 * volume.c - `hamn volume create|ls|inspect|rm|prune`, with docker's flags
 * and output. One command in the table ("volume") that dispatches to its
 * subcommands.
 */
#include "cli.h"

#include <unistd.h>

/* docker's units.HumanSize: 4 significant digits, decimal units. */
static char *human_size(double size)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	size_t i = 0;

	while (size >= 1000 && i + 1 < sizeof(units) / sizeof(units[0])) {
		size /= 1000;
		i++;
	}
	return xasprintf("%.4g%s", size, units[i]);
}

/* "k=v" into obj; a missing '=' gives an empty value, as docker's -o/--label. */
static void add_kv(json_t *obj, const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);

	json_object_set_new(obj, key, json_string(eq ? eq + 1 : ""));
}

static int volume_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"driver", required_argument, NULL, 'd'},
		{"label", required_argument, NULL, 'l'},
		{"name", required_argument, NULL, 'n'},
		{"opt", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *labels = json_object(), *dopts = json_object(), *res = NULL;
	_cleanup_json_ json_t *body = NULL;
	const char *driver = "local", *name = NULL;
	struct hamn_client *c;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+d:o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			driver = optarg;
			break;
		case 'l':
			add_kv(labels, optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'o':
			add_kv(dopts, optarg);
			break;
		default:
			return 1;
		}
	}
	if (optind < argc) {
		if (name && !streq(name, argv[optind])) {
			cli_errorf(
				"conflicting options: either specify --name or provide positional "
				"arg, not both");
			return 1;
		}
		name = argv[optind++];
	}
	if (optind < argc) {
		cli_errorf("\"volume create\" requires at most 1 argument");
		return 1;
	}
	if (!(c = cli_client(cli)))
		return 1;
	body = json_pack("{s:s, s:s, s:O, s:O}", "Name", name ? name : "", "Driver", driver,
			 "DriverOpts", dopts, "Labels", labels);
	if (hamn_client_json(c, "POST", "/volumes/create", body, &res, &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err->msg);
		return 1;
	}
	printf("%s\n", json_string_value(json_object_get(res, "Name")));
	return 0;
}

/* "a=b,c=d" as docker's {{.Labels}} */
static char *labels_text(json_t *labels)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	const char *k;
	json_t *v;

	hamn_buf_puts(&b, "");
	json_object_foreach (labels, k, v)
		hamn_buf_printf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v));
	return hamn_buf_steal(&b);
}

static const char *str_of(json_t *v, const char *key)
{
	const char *s = json_string_value(json_object_get(v, key));

	return s ? s : "";
}

static json_t *volume_row(json_t *v)
{
	_cleanup_free_ char *labels = labels_text(json_object_get(v, "Labels"));

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Name", str_of(v, "Name"),
			 "Driver", str_of(v, "Driver"), "Scope", str_of(v, "Scope"), "Mountpoint",
			 str_of(v, "Mountpoint"), "CreatedAt", str_of(v, "CreatedAt"), "Labels",
			 labels, "Links", "N/A", "Size", "N/A");
}

static int volume_ls(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"filter", required_argument, NULL, 'f'},
		{"format", required_argument, NULL, 'F'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *filters = json_object(), *res = NULL, *rows = json_array();
	_cleanup_json_ json_t *headers = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Name", "VOLUME NAME", "Driver",
		"DRIVER", "Scope", "SCOPE", "Mountpoint", "MOUNTPOINT", "CreatedAt", "CREATED",
		"Labels", "LABELS", "Links", "LINKS", "Size", "SIZE");
	_cleanup_free_ char *fjson = NULL, *fenc = NULL, *path = NULL;
	const char *format = "table {{.Driver}}\t{{.Name}}";
	bool quiet = false;
	struct hamn_client *c;
	json_t *v;
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			cli_add_filter(filters, optarg);
			break;
		case 'F':
			format = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			return 1;
		}
	}
	if (quiet)
		format = "{{.Name}}";
	if (!(c = cli_client(cli)))
		return 1;
	fjson = hamn_json_dump(filters);
	fenc = hamn_client_urlencode(fjson);
	path = xasprintf("/volumes?filters=%s", fenc);
	if (hamn_client_json(c, "GET", path, NULL, &res, &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err->msg);
		return 1;
	}
	json_array_foreach (json_object_get(res, "Volumes"), i, v)
		json_array_append_new(rows, volume_row(v));
	if (cli_print_rows(rows, format, headers, &err) < 0) {
		cli_error(err);
		return 1;
	}
	return 0;
}

static int volume_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *all = json_array();
	const char *format = NULL;
	struct hamn_client *c;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (opt != 'f')
			return 1;
		format = optarg;
	}
	if (optind >= argc) {
		cli_errorf("\"volume inspect\" requires at least 1 argument");
		return 1;
	}
	if (!(c = cli_client(cli)))
		return 1;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *enc = hamn_client_urlencode(argv[i]);
		_cleanup_free_ char *path = xasprintf("/volumes/%s", enc);
		json_t *v = NULL;

		if (hamn_client_json(c, "GET", path, NULL, &v, &err) < 0) {
			if (err->errnum == ENOENT)
				fprintf(stderr, "Error: No such volume: %s\n", argv[i]);
			else
				fprintf(stderr, "Error response from daemon: %s\n", err->msg);
			hamn_error_free(&err);
			rc = 1;
			continue;
		}
		json_array_append_new(all, v);
	}
	if (format) {
		if (cli_print_rows(all, format, NULL, &err) < 0) {
			cli_error(err);
			return 1;
		}
		return rc;
	}
	_cleanup_free_ char *text = json_dumps(all, JSON_INDENT(4));
	printf("%s\n", text);
	return rc;
}

static int volume_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	bool force = false;
	struct hamn_client *c;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (opt != 'f')
			return 1;
		force = true;
	}
	if (optind >= argc) {
		cli_errorf("\"volume rm\" requires at least 1 argument");
		return 1;
	}
	if (!(c = cli_client(cli)))
		return 1;
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_free_ char *enc = hamn_client_urlencode(argv[i]);
		_cleanup_free_ char *path = xasprintf("/volumes/%s?force=%d", enc, force);

		if (hamn_client_json(c, "DELETE", path, NULL, NULL, &err) < 0) {
			fprintf(stderr, "Error response from daemon: %s\n", err->msg);
			rc = 1;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

/* docker asks before pruning unless -f; anything but y/Y is a no. */
static bool confirm(void)
{
	char line[16] = "";

	fputs("WARNING! This will remove all local volumes not used by at least one container.\n"
	      "Are you sure you want to continue? [y/N] ",
	      stdout);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static int volume_prune(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"filter", required_argument, NULL, 'F'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *filters = json_object(), *res = NULL;
	_cleanup_free_ char *fjson = NULL, *fenc = NULL, *path = NULL, *space = NULL;
	bool force = false;
	struct hamn_client *c;
	json_t *name;
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		switch (opt) {
		case 'F':
			cli_add_filter(filters, optarg);
			break;
		case 'f':
			force = true;
			break;
		default:
			return 1;
		}
	}
	if (!force && !confirm())
		return 0;
	if (!(c = cli_client(cli)))
		return 1;
	fjson = hamn_json_dump(filters);
	fenc = hamn_client_urlencode(fjson);
	path = xasprintf("/volumes/prune?filters=%s", fenc);
	if (hamn_client_json(c, "POST", path, NULL, &res, &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err->msg);
		return 1;
	}
	json_array_foreach (json_object_get(res, "VolumesDeleted"), i, name) {
		if (i == 0)
			printf("Deleted Volumes:\n");
		printf("%s\n", json_string_value(name));
	}
	if (json_array_size(json_object_get(res, "VolumesDeleted")))
		printf("\n");
	space = human_size((double)json_integer_value(json_object_get(res, "SpaceReclaimed")));
	printf("Total reclaimed space: %s\n", space);
	return 0;
}

static const struct cli_command subcommands[] = {
	{"volume create", volume_create, "[OPTIONS] [VOLUME]", "Create a volume"},
	{"volume ls", volume_ls, "[OPTIONS]", "List volumes"},
	{"volume inspect", volume_inspect, "[OPTIONS] VOLUME [VOLUME...]",
	 "Display detailed information on one or more volumes"},
	{"volume rm", volume_rm, "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes"},
	{"volume prune", volume_prune, "[OPTIONS]", "Remove all unused local volumes"},
	{NULL, NULL, NULL, NULL},
};

static const struct cli_command *find_sub(const char *name)
{
	if (streq(name, "list"))
		name = "ls";
	else if (streq(name, "remove"))
		name = "rm";
	for (const struct cli_command *s = subcommands; s->name; s++)
		if (streq(s->name + strlen("volume "), name))
			return s;
	return NULL;
}

static void group_usage(FILE *to)
{
	fprintf(to, "\nUsage:  hamn volume COMMAND\n\nManage volumes\n\nCommands:\n");
	for (const struct cli_command *s = subcommands; s->name; s++)
		fprintf(to, "  %-10s %s\n", s->name + strlen("volume "), s->summary);
	fprintf(to, "\nRun 'hamn volume COMMAND --help' for more information on a command.\n");
}

int cmd_volume(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *sub;

	if (argc < 2) {
		group_usage(stdout);
		return 0;
	}
	sub = find_sub(argv[1]);
	if (!sub) {
		cli_errorf("'%s' is not a hamn volume command.\nSee 'hamn volume --help'", argv[1]);
		return 1;
	}
	if (cli_wants_help(sub, argc - 1, argv + 1))
		return 0;
	return sub->run(cli, argc - 1, argv + 1);
}

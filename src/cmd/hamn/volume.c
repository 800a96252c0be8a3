/*
 * volume.c - `hamn volume create|ls|inspect|rm|prune`, with docker's flags
 * and output. One command in the table ("volume") that dispatches to its
 * subcommands.
 */
#include "cli.h"

#include <unistd.h>

static const struct cli_objtype volume_type;

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
			cli_add_kv(labels, optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'o':
			cli_add_kv(dopts, optarg);
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
		cli_daemon_error(err);
		return 1;
	}
	printf("%s\n", json_string_value(json_object_get(res, "Name")));
	return 0;
}

/* A volume as ls's row (trunc: volumes have nothing to cut). */
static json_t *volume_row(json_t *v, bool trunc)
{
	_cleanup_free_ char *labels = cli_labels_text(json_object_get(v, "Labels"));

	(void)trunc;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Name", cli_str_of(v, "Name"),
			 "Driver", cli_str_of(v, "Driver"), "Scope", cli_str_of(v, "Scope"),
			 "Mountpoint", cli_str_of(v, "Mountpoint"), "CreatedAt",
			 cli_str_of(v, "CreatedAt"), "Labels", labels, "Links", "N/A", "Size",
			 "N/A");
}

static const char *const ls_headers[] = {
	"Name", "VOLUME NAME", "Driver", "DRIVER", "Scope", "SCOPE", "Mountpoint", "MOUNTPOINT",
	"CreatedAt", "CREATED", "Labels", "LABELS", "Links", "LINKS", "Size", "SIZE", NULL,
};

static int volume_ls(struct cli *cli, int argc, char **argv)
{
	return cli_obj_ls(&volume_type, cli, argc, argv);
}

static int volume_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *format = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (opt != 'f')
			return 1;
		format = optarg;
	}
	return cli_obj_inspect(&volume_type, cli, argc - optind, argv + optind, format);
}

static int volume_rm(struct cli *cli, int argc, char **argv)
{
	return cli_obj_rm(&volume_type, cli, argc, argv);
}

static int volume_prune(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *res = NULL;
	int rc = cli_obj_prune(&volume_type, cli, argc, argv, &res);

	if (rc != 0 || !res)
		return rc;
	if (json_array_size(json_object_get(res, "VolumesDeleted")))
		printf("\n");
	cli_print_reclaimed(json_integer_value(json_object_get(res, "SpaceReclaimed")));
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

static const struct cli_objtype volume_type = {
	.name = "volume",
	.path = "/volumes",
	.summary = "Manage volumes",
	.subs = subcommands,
	.width = 10,
	.options_first = true,
	.ls_key = "Volumes",
	.ls_row = volume_row,
	.ls_headers = ls_headers,
	.ls_format = "table {{.Driver}}\t{{.Name}}",
	.ls_quiet_format = "{{.Name}}",
	.rm_force_query = true,
	.prune_warning = "all local volumes not used by at least one container",
	.prune_key = "VolumesDeleted",
	.prune_title = "Deleted Volumes:",
};

int cmd_volume(struct cli *cli, int argc, char **argv)
{
	return cli_obj_run(&volume_type, cli, argc, argv);
}

/*
 * hamn - the command line client of hamnd, with docker's syntax.
 */
#include "cli.h"

#include <stdarg.h>

static const struct cli_command commands[] = {
	{ "run", cmd_run, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
	  "Create and run a new container from an image" },
	{ "create", cmd_create, "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container" },
	{ "start", cmd_start, "[OPTIONS] CONTAINER [CONTAINER...]",
	  "Start one or more stopped containers" },
	{ "stop", cmd_stop, "[OPTIONS] CONTAINER [CONTAINER...]",
	  "Stop one or more running containers" },
	{ "kill", cmd_kill, "[OPTIONS] CONTAINER [CONTAINER...]",
	  "Kill one or more running containers" },
	{ "restart", cmd_restart, "[OPTIONS] CONTAINER [CONTAINER...]",
	  "Restart one or more containers" },
	{ "rm", cmd_rm, "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers" },
	{ "wait", cmd_wait, "CONTAINER [CONTAINER...]",
	  "Block until one or more containers stop, then print their exit codes" },
	{ "logs", cmd_logs, "[OPTIONS] CONTAINER", "Fetch the logs of a container" },
	{ "ps", cmd_ps, "[OPTIONS]", "List containers" },
	{ "inspect", cmd_inspect, "[OPTIONS] NAME|ID [NAME|ID...]",
	  "Return low-level information on hamn objects" },
	{ "images", cmd_images, "[OPTIONS] [REPOSITORY[:TAG]]", "List images" },
	{ "load", cmd_load, "[OPTIONS]", "Load an image from a tar archive or STDIN" },
	{ "save", cmd_save, "[OPTIONS] IMAGE [IMAGE...]",
	  "Save one or more images to a tar archive (streamed to STDOUT by default)" },
	{ "import", cmd_import, "[OPTIONS] file|- [REPOSITORY[:TAG]]",
	  "Import the contents from a tarball to create a filesystem image" },
	{ "tag", cmd_tag, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
	  "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
	{ "rmi", cmd_rmi, "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images" },
	{ "exec", cmd_exec, "[OPTIONS] CONTAINER COMMAND [ARG...]",
	  "Execute a command in a running container" },
	{ "cp", cmd_cp, "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       hamn cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
	  "Copy files/folders between a container and the local filesystem" },
	{ "rename", cmd_rename, "CONTAINER NEW_NAME", "Rename a container" },
	{ "top", cmd_top, "CONTAINER [ps OPTIONS]", "Display the running processes of a container" },
	{ "attach", cmd_attach, "[OPTIONS] CONTAINER",
	  "Attach local standard input, output, and error streams to a running container" },
	{ "history", cmd_history, "IMAGE", "Show the history of an image" },
	{ "image-prune", cmd_image_prune, "[OPTIONS]", "Remove unused images (hamn image prune)" },
	{ "container-prune", cmd_container_prune, "[OPTIONS]",
	  "Remove all stopped containers (hamn container prune)" },
	{ "system-df", cmd_system_df, "", "Show disk usage (hamn system df)" },
	{ "system-prune", cmd_system_prune, "[OPTIONS]",
	  "Remove unused data (hamn system prune)" },
	{ "pause", cmd_pause, "CONTAINER [CONTAINER...]",
	  "Pause all processes within one or more containers" },
	{ "unpause", cmd_unpause, "CONTAINER [CONTAINER...]",
	  "Unpause all processes within one or more containers" },
	{ "update", cmd_update, "[OPTIONS] CONTAINER [CONTAINER...]",
	  "Update configuration of one or more containers" },
	{ "port", cmd_port, "CONTAINER [PRIVATE_PORT[/PROTO]]",
	  "List port mappings or a specific mapping for the container" },
	{ "pull", cmd_pull, "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry" },
	{ "push", cmd_push, "[OPTIONS] NAME[:TAG]", "Upload an image to a registry" },
	{ "login", cmd_login, "[OPTIONS] [SERVER]", "Log in to a registry" },
	{ "logout", cmd_logout, "[SERVER]", "Log out from a registry" },
	{ "volume", cmd_volume, "COMMAND", "Manage volumes" },
	{ "network", cmd_network, "COMMAND", "Manage networks" },
	{ "events", cmd_events, "[OPTIONS]", "Get real time events from the server" },
	{ "stats", cmd_stats, "[OPTIONS] [CONTAINER...]",
	  "Display a live stream of container(s) resource usage statistics" },
	{ "build", cmd_build, "[OPTIONS] PATH | -", "Build an image from a Dockerfile" },
	{ "commit", cmd_commit, "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
	  "Create a new image from a container's changes" },
	{ "diff", cmd_diff, "CONTAINER",
	  "Inspect changes to files or directories on a container's filesystem" },
	{ "export", cmd_export, "[OPTIONS] CONTAINER",
	  "Export a container's filesystem as a tar archive" },
	{ "version", cmd_version, "", "Show the hamn version information" },
	{ "info", cmd_info, "", "Display system-wide information" },
	{ NULL, NULL, NULL, NULL },
};

/* "hamn image ls" -> images, "hamn container rm" -> rm, ... */
static const struct {
	const char *group, *sub, *command;
} aliases[] = {
	{ "image", "ls", "images" }, { "image", "list", "images" }, { "image", "rm", "rmi" },
	{ "image", "remove", "rmi" }, { "image", "load", "load" }, { "image", "save", "save" },
	{ "image", "import", "import" }, { "image", "tag", "tag" },
	{ "image", "inspect", "inspect" }, { "image", "prune", "image-prune" },
	{ "image", "history", "history" }, { "image", "pull", "pull" }, { "image", "push", "push" },
	{ "container", "ls", "ps" }, { "container", "list", "ps" }, { "container", "rm", "rm" },
	{ "container", "run", "run" }, { "container", "create", "create" },
	{ "container", "start", "start" }, { "container", "stop", "stop" },
	{ "container", "kill", "kill" }, { "container", "restart", "restart" },
	{ "container", "wait", "wait" }, { "container", "logs", "logs" },
	{ "container", "inspect", "inspect" }, { "container", "rename", "rename" },
	{ "container", "top", "top" }, { "container", "exec", "exec" }, { "container", "cp", "cp" }, { "container", "attach", "attach" },
	{ "container", "prune", "container-prune" },
	{ "image", "build", "build" }, { "builder", "build", "build" },
	{ "container", "commit", "commit" }, { "container", "diff", "diff" },
	{ "container", "export", "export" },
	{ "system", "df", "system-df" }, { "system", "info", "info" },
	{ "system", "events", "events" }, { "container", "stats", "stats" },
	{ "system", "prune", "system-prune" }, { "container", "pause", "pause" },
	{ "container", "unpause", "unpause" }, { "container", "update", "update" },
	{ "container", "port", "port" },
};

/* Resolve "group sub" to a command name; *consumed tells how many words it used. */
static const char *resolve_alias(int argc, char **argv, int *consumed)
{
	*consumed = 1;
	if (argc < 2)
		return argv[0];
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(aliases[i].group, argv[0]) == 0 && strcmp(aliases[i].sub, argv[1]) == 0) {
			*consumed = 2;
			return aliases[i].command;
		}
	}
	return argv[0];
}

const struct cli_command *cli_find_command(const char *name)
{
	for (const struct cli_command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct hamn_client *cli_client(struct cli *cli)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (!cli->client) {
		cli->client = hamn_client_new(cli->host, &err);
		if (!cli->client)
			cli_error(err);
	}
	return cli->client;
}

void cli_error(struct hamn_error *err)
{
	fprintf(stderr, "hamn: %s\n", err ? err->msg : "unknown error");
}

void cli_errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("hamn: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_usage(const struct cli_command *cmd, FILE *to)
{
	fprintf(to, "\nUsage:  hamn %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
}

bool cli_wants_help(const struct cli_command *cmd, int argc, char **argv)
{
	/* only options before the first operand: "hamn run img sh --help" is the container's */
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_usage(cmd, stdout);
			return true;
		}
	}
	return false;
}

const char *cli_short_id(const char *id, char buf[13])
{
	snprintf(buf, 13, "%s", str_has_prefix(id, "sha256:") ? id + 7 : id);
	return buf;
}

static void usage(FILE *to)
{
	fprintf(to, "\nUsage:  hamn [OPTIONS] COMMAND\n\nA container engine with docker's syntax.\n\n"
		    "Options:\n"
		    "  -H, --host string      Daemon socket to connect to (default: $HAMN_HOST, "
		    "$DOCKER_HOST, unix:///run/hamn/hamn.sock)\n"
		    "  -v, --version          Print version information and quit\n\n"
		    "Commands:\n");
	for (const struct cli_command *c = commands; c->name; c++)
		fprintf(to, "  %-10s %s\n", c->name, c->summary);
	fprintf(to, "\nRun 'hamn COMMAND --help' for more information on a command.\n");
}

/* Global options come before the command; returns the index of the command or -1. */
static int parse_global(struct cli *cli, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-H") == 0 || strcmp(a, "--host") == 0) && i + 1 < argc) {
			cli->host = argv[++i];
		} else if (str_has_prefix(a, "--host=")) {
			cli->host = a + 7;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
			printf("hamn version %s\n", HAMN_VERSION);
			exit(0);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "-D") == 0 || strcmp(a, "--debug") == 0) {
			hamn_log_set_level(HAMN_LOG_DEBUG);
		} else {
			cli_errorf("unknown flag: %s", a);
			return -1;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	const struct cli_command *cmd;
	int i, rc;

	i = parse_global(&cli, argc, argv);
	if (i < 0)
		return CLI_EXIT_ERROR;
	if (i >= argc) {
		usage(stderr);
		return 0;
	}
	int consumed;
	const char *name = resolve_alias(argc - i, argv + i, &consumed);

	i += consumed - 1;
	cmd = cli_find_command(name);
	if (!cmd) {
		cli_errorf("'%s' is not a hamn command.\nSee 'hamn --help'", argv[i]);
		return CLI_EXIT_ERROR;
	}
	if (cli_wants_help(cmd, argc - i, argv + i))
		return 0;
	rc = cmd->run(&cli, argc - i, argv + i);
	hamn_client_free(cli.client);
	return rc;
}

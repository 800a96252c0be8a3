/*
 * cli.h - shared by the hamn CLI's command files. The CLI changes nothing by
 * itself: every command is one or more API calls through src/client.
 */
#ifndef HAMN_CMD_HAMN_CLI_H
#define HAMN_CMD_HAMN_CLI_H

#include <getopt.h>

#include "base/base.h"
#include "client/client.h"
#include "client/template.h"

/* Exit codes as docker's: 125 daemon/CLI error, 126 cannot invoke, 127 not found. */
#define CLI_EXIT_ERROR 125

struct cli {
	const char *host;		/* -H, or NULL for the default */
	struct hamn_client *client;	/* made on first use */
};

struct cli_command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;		/* "[OPTIONS] CONTAINER [CONTAINER...]" */
	const char *summary;
};

/* The client for this invocation (connects lazily); NULL + message on a bad host. */
struct hamn_client *cli_client(struct cli *cli);

/* Print "hamn: <msg>" (docker prints "Error response from daemon: ..." for daemon errors). */
void cli_error(struct hamn_error *err);
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print usage of a command to stdout (--help) or stderr (misuse). */
void cli_usage(const struct cli_command *cmd, FILE *to);
/* true when argv has -h/--help; prints the usage. */
bool cli_wants_help(const struct cli_command *cmd, int argc, char **argv);

/* Short id (first 12 hex) of a full id, in buf. */
const char *cli_short_id(const char *id, char buf[13]);

/*
 * Print rows (an array of objects) with a Go-template format. A "table"
 * format gets a header row from `headers` (field -> title) and aligned columns.
 */
int cli_print_rows(json_t *rows, const char *format, json_t *headers, struct hamn_error **err);

/* Add "key=value" to a filters object in the CLI's map-of-bools shape. */
void cli_add_filter(json_t *filters, const char *arg);

/* Commands, one file per group. */
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_create(struct cli *cli, int argc, char **argv);
int cmd_start(struct cli *cli, int argc, char **argv);
int cmd_stop(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_restart(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_wait(struct cli *cli, int argc, char **argv);
int cmd_logs(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_inspect(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_images(struct cli *cli, int argc, char **argv);
int cmd_load(struct cli *cli, int argc, char **argv);
int cmd_save(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_tag(struct cli *cli, int argc, char **argv);
int cmd_rmi(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_cp(struct cli *cli, int argc, char **argv);	/* cp.c */
int cmd_rename(struct cli *cli, int argc, char **argv);
int cmd_top(struct cli *cli, int argc, char **argv);
int cmd_attach(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_image_prune(struct cli *cli, int argc, char **argv);
/* ops.c */
int cmd_container_prune(struct cli *cli, int argc, char **argv);
int cmd_system_prune(struct cli *cli, int argc, char **argv);
int cmd_pause(struct cli *cli, int argc, char **argv);
int cmd_unpause(struct cli *cli, int argc, char **argv);
int cmd_update(struct cli *cli, int argc, char **argv);
int cmd_port(struct cli *cli, int argc, char **argv);
int cmd_system_df(struct cli *cli, int argc, char **argv);
int cmd_pull(struct cli *cli, int argc, char **argv);
int cmd_push(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_logout(struct cli *cli, int argc, char **argv);
int cmd_volume(struct cli *cli, int argc, char **argv);
int cmd_network(struct cli *cli, int argc, char **argv);
int cmd_build(struct cli *cli, int argc, char **argv);
int cmd_commit(struct cli *cli, int argc, char **argv);
int cmd_diff(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);

/*
 * The network options of run/create (network.c): -p/--publish, -P/--publish-all,
 * --network-alias, --ip, --mac-address, --dns, --dns-search, --dns-option,
 * --add-host. run.c puts CLI_NET_RUN_OPTIONS in its option table, hands these
 * options to cli_net_run_option, and calls cli_net_run_finish once all are
 * read (the alias and address go to the --network network).
 */
enum {
	CLI_NET_OPT_DNS = 2000, CLI_NET_OPT_DNS_SEARCH, CLI_NET_OPT_DNS_OPTION,
	CLI_NET_OPT_ADD_HOST, CLI_NET_OPT_ALIAS, CLI_NET_OPT_IP, CLI_NET_OPT_MAC,
};
#define CLI_NET_RUN_OPTIONS                                                                        \
	{ "publish", required_argument, NULL, 'p' },                                               \
	{ "publish-all", no_argument, NULL, 'P' },                                                 \
	{ "network-alias", required_argument, NULL, CLI_NET_OPT_ALIAS },                           \
	{ "ip", required_argument, NULL, CLI_NET_OPT_IP },                                         \
	{ "mac-address", required_argument, NULL, CLI_NET_OPT_MAC },                               \
	{ "dns", required_argument, NULL, CLI_NET_OPT_DNS },                                       \
	{ "dns-search", required_argument, NULL, CLI_NET_OPT_DNS_SEARCH },                         \
	{ "dns-option", required_argument, NULL, CLI_NET_OPT_DNS_OPTION },                         \
	{ "dns-opt", required_argument, NULL, CLI_NET_OPT_DNS_OPTION },                            \
	{ "add-host", required_argument, NULL, CLI_NET_OPT_ADD_HOST }
int cli_net_run_option(json_t *config, json_t *host, int opt, const char *arg,
		       struct hamn_error **err);
void cli_net_run_finish(json_t *config);

const struct cli_command *cli_find_command(const char *name);

/*
 * Attach to a container's (or exec's) hijacked stream and copy: stdin to the
 * socket when `in` is true, the socket to stdout/stderr (demultiplexed unless
 * tty). With a tty and rs, a SIGWINCH calls rs->fn so the daemon learns the
 * new window size. Returns when the daemon closes the stream.
 */
struct cli_resizer {
	void (*fn)(void *ctx);	/* sends the terminal's new size to the daemon */
	void *ctx;
};
int cli_pump(int sock, struct hamn_buf *early, bool in, bool tty, const struct cli_resizer *rs,
	     struct hamn_error **err);

/*
 * docker's attach-then-start (run.c; used by run and start -a): attach to
 * container id (with stdin when `in`), register a wait (condition
 * "removed" when `removed`, else "next-exit"), start it (one that runs
 * already is fine), copy the streams (a tty in raw mode) and return the
 * container's exit code, or CLI_EXIT_ERROR after printing the error.
 */
int cli_start_attached(struct hamn_client *c, const char *id, bool in, bool tty, bool removed);

#endif

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

/* Print rows as cli_print_rows does; 0, or 1 after printing the error. */
int cli_show_rows(json_t *rows, const char *format, json_t *headers);

/*
 * docker's units.HumanSizeWithPrecision: decimal units and prec significant
 * digits ("4.86MB" with 3; units.HumanSize is 4). Caller frees.
 */
char *cli_human_size(double size, int prec);
/* docker's units.BytesSize: binary units, 4 significant digits ("23.54GiB"). Caller frees. */
char *cli_bytes_size(double size);

/* ---- objcmd.c: what the object commands share ---- */

/* Print an error the daemon sent as docker does: "Error response from daemon: <msg>". */
void cli_daemon_error(const struct hamn_error *err);
/* "k=v" into obj as a string; a missing '=' gives an empty value (docker's --label, -o). */
void cli_add_kv(json_t *obj, const char *arg);
/* The string member key of obj (borrowed), or "" when there is none. */
const char *cli_str_of(json_t *obj, const char *key);
/* Member key of obj (borrowed), first replaced by an empty array or object if not one. */
json_t *cli_member(json_t *obj, const char *key, bool array);
/* Labels (an object of strings) as docker's {{.Labels}} column: "a=b,c=d". Caller frees. */
char *cli_labels_text(json_t *labels);
/* base with the filters object as url-encoded JSON in ?filters= (&filters= after a query). */
char *cli_filtered_path(const char *base, json_t *filters);

/*
 * A reply of lines read in chunks (an on_data of hamn_client_stream): append
 * data to pending, and hand each whole line in it to fn (without its '\n',
 * borrowed; empty lines skipped). A partial line waits in pending for the
 * next chunk. Returns 0, or -1 as soon as fn does.
 */
typedef int (*cli_line_fn)(void *ctx, const char *line, size_t len);
int cli_lines(struct hamn_buf *pending, const char *data, size_t len, cli_line_fn fn, void *ctx);
/* cli_lines for JSON lines (progress streams): fn borrows each line that parses. Returns 0. */
int cli_json_lines(struct hamn_buf *pending, const char *data, size_t len,
		   void (*fn)(void *ctx, json_t *m), void *ctx);

/* docker's prompt: print warning, ask to continue; true only for an answer starting y/Y. */
bool cli_confirm(const char *warning);
/*
 * A command of exactly two operands that is one POST with no body and an
 * empty reply (tag, rename): path_of makes the path (a new string) from
 * argv[1] and argv[2]. Returns the exit code, after printing any error.
 */
int cli_post_pair(struct cli *cli, int argc, char **argv,
		  char *(*path_of)(const char *first, const char *second));

/*
 * The options every listing of ps and images takes, as docker's: put
 * CLI_LIST_OPTIONS in the option table and hand each option getopt returns
 * to cli_list_option. It takes -a, -f, --format and --no-trunc into l and
 * returns false for any other option; -q is left to the command, whose
 * quiet format differs.
 */
#define CLI_LIST_OPTIONS                                                                           \
	{ "all", no_argument, NULL, 'a' },                                                         \
	{ "quiet", no_argument, NULL, 'q' },                                                       \
	{ "filter", required_argument, NULL, 'f' },                                                \
	{ "format", required_argument, NULL, 'F' },                                                \
	{ "no-trunc", no_argument, NULL, 'T' }
struct cli_list {
	json_t *filters;	/* -f key=value, borrowed (cli_add_filter's shape) */
	const char *format;	/* --format, or the command's default */
	bool all;		/* -a */
	bool trunc;		/* true unless --no-trunc */
};
bool cli_list_option(struct cli_list *l, int opt, const char *arg);

/*
 * A group command of objects with an API collection (network, volume):
 * `hamn NAME COMMAND` runs the subcommand, whose table entries are named
 * "NAME COMMAND"; "list" and "remove" are docker's aliases of ls and rm.
 */
struct cli_objtype {
	const char *name;		/* "network" */
	const char *path;		/* "/networks": the API collection */
	const char *summary;		/* "Manage networks" */
	const struct cli_command *subs;	/* ends with a NULL name */
	int width;			/* of the COMMAND column in the group's usage */
	bool options_first;		/* options end at the first operand (getopt's "+") */
	/* ls */
	const char *ls_key;		/* NULL: GET path answers the list; else its member */
	json_t *(*ls_row)(json_t *obj, bool trunc); /* one object as a row (a new object) */
	const char *const *ls_headers;	/* row field, column title, ..., NULL */
	const char *ls_format;		/* the default --format */
	const char *ls_quiet_format;	/* -q's */
	bool ls_no_trunc;		/* takes --no-trunc (rows with ids) */
	/* rm and prune */
	bool rm_force_query;		/* rm -f is ?force=1 to the daemon, else it hides 404s */
	const char *prune_warning;	/* "all custom networks not used by ...": what goes */
	const char *prune_key;		/* "NetworksDeleted": the names in prune's reply */
	const char *prune_title;	/* "Deleted Networks:", printed above them */
};

/* Run `hamn NAME ARGS...` (argv[0] is NAME): the group's usage, or the subcommand's exit code. */
int cli_obj_run(const struct cli_objtype *t, struct cli *cli, int argc, char **argv);
/* ls [-f k=v] [--format F] [-q] [--no-trunc]: list the collection as rows, docker's table. */
int cli_obj_ls(const struct cli_objtype *t, struct cli *cli, int argc, char **argv);
/*
 * inspect: GET each of the n names and print them as docker's inspect does
 * (cli_print_inspect). A name that is not there gets "Error: No such
 * NAME: x" and an exit code of 1; the others are still printed.
 */
int cli_obj_inspect(const struct cli_objtype *t, struct cli *cli, int n, char **names,
		    const char *format);
/* rm [-f] NAME...: DELETE each, printing the names removed; 1 if any failed. */
int cli_obj_rm(const struct cli_objtype *t, struct cli *cli, int argc, char **argv);
/*
 * prune [-f] [--filter k=v]: ask unless -f, POST .../prune and print the
 * names it deleted. *res gets the reply (caller frees), or NULL when there
 * is none (a "no", an error). Returns the exit code.
 */
int cli_obj_prune(const struct cli_objtype *t, struct cli *cli, int argc, char **argv,
		  json_t **res);
/*
 * GET path and write the body into file, or to stdout when file is NULL
 * (refused when stdout is a terminal, as docker's save and export). A
 * regular file is removed again when the download fails. Returns the exit
 * code, after printing any error.
 */
int cli_download(struct cli *cli, const char *path, const char *file);
/* save's and export's options: -o/--output FILE into *file (NULL without); -1 on another. */
int cli_output_option(int argc, char **argv, const char **file);
/*
 * Print inspect's objects: through the --format template when format is
 * set, else as an indented JSON array. Returns rc, or 1 if the format fails.
 */
int cli_print_inspect(json_t *all, const char *format, int rc);

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

/*
 * ops.c, for every prune: print docker's "Deleted TITLE:" block of a prune
 * reply's key (names, or {"Untagged"|"Deleted": id} items) and a blank line
 * after a non-empty one; returns the reply's SpaceReclaimed.
 */
int64_t cli_print_deleted(json_t *res, const char *key, const char *title);
/* "Total reclaimed space: 1.5MB" (docker's units.HumanSize) */
void cli_print_reclaimed(int64_t space);

/* run.c: --restart no|always|unless-stopped|on-failure[:N] as obj's RestartPolicy (run, update). */
int cli_set_restart(json_t *obj, const char *arg, struct hamn_error **err);

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

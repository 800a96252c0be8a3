/*
 * misc.c - smaller commands: rename, top, attach, history, image prune,
 * system df (container prune is in ops.c).
 */
#include "cli.h"

static char *rename_path(const char *container, const char *new_name)
{
	_cleanup_free_ char *a = hamn_client_urlencode(container);
	_cleanup_free_ char *b = hamn_client_urlencode(new_name);

	return xasprintf("/containers/%s/rename?name=%s", a, b);
}

int cmd_rename(struct cli *cli, int argc, char **argv)
{
	return cli_post_pair(cli, argc, argv, rename_path);
}

/* Print a {"Titles":[...],"Processes":[[...]]} reply as an aligned table. */
static int print_titled(json_t *res, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	json_t *titles = json_object_get(res, "Titles"), *procs = json_object_get(res, "Processes");
	json_t *row, *cell;
	size_t i, k;

	json_array_foreach(titles, i, cell)
		hamn_buf_printf(&b, "%s%s", i ? "\t" : "", json_string_value(cell) ?: "");
	hamn_buf_putc(&b, '\n');
	json_array_foreach(procs, k, row) {
		json_array_foreach(row, i, cell)
			hamn_buf_printf(&b, "%s%s", i ? "\t" : "", json_string_value(cell) ?: "");
		hamn_buf_putc(&b, '\n');
	}
	_cleanup_free_ char *aligned = hamn_tabwrite(b.data);
	fputs(aligned, stdout);
	return 0;
}

int cmd_top(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *res = NULL;
	_cleanup_buf_ struct hamn_buf path = HAMN_BUF_INIT;
	struct hamn_client *c;

	if (argc < 2) {
		cli_errorf("\"hamn top\" requires at least 1 argument.");
		return 1;
	}
	_cleanup_free_ char *enc = hamn_client_urlencode(argv[1]);
	hamn_buf_printf(&path, "/containers/%s/top", enc);
	if (argc > 2) {
		_cleanup_free_ char *args = strv_join(argv + 2, " ");
		_cleanup_free_ char *eargs = hamn_client_urlencode(args);
		hamn_buf_printf(&path, "?ps_args=%s", eargs);
	}
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	if (hamn_client_json(c, "GET", path.data, NULL, &res, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	return print_titled(res, &err);
}

int cmd_attach(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-stdin", no_argument, NULL, 'n' },
		{ "detach-keys", required_argument, NULL, 'k' },
		{ "sig-proxy", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *info = NULL;
	_cleanup_buf_ struct hamn_buf early = HAMN_BUF_INIT;
	_cleanup_free_ char *enc = NULL, *ipath = NULL, *apath = NULL;
	_cleanup_close_ int sock = -1;
	bool in = true, tty;
	struct hamn_client *c;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'n')
			in = false;
		else if (opt == '?')
			return 1;
	}
	if (optind + 1 != argc) {
		cli_errorf("\"hamn attach\" requires exactly 1 argument.");
		return 1;
	}
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	enc = hamn_client_urlencode(argv[optind]);
	ipath = xasprintf("/containers/%s/json", enc);
	if (hamn_client_json(c, "GET", ipath, NULL, &info, &err) < 0)
		goto fail;
	json_t *config = json_object_get(info, "Config");
	tty = json_is_true(json_object_get(config, "Tty"));
	in = in && json_is_true(json_object_get(config, "OpenStdin"));
	apath = xasprintf("/containers/%s/attach?stream=1&stdout=1&stderr=1%s",
					       enc, in ? "&stdin=1" : "");
	if (hamn_client_hijack(c, "POST", apath, NULL, &sock, &early, &err) < 0 ||
	    cli_pump(sock, &early, in, tty, NULL, &err) < 0)
		goto fail;
	return 0;
fail:
	cli_daemon_error(err);
	return 1;
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *res = NULL, *rows = json_array();
	_cleanup_json_ json_t *headers = json_pack("{s:s,s:s,s:s,s:s,s:s}", "ID", "IMAGE",
						   "CreatedSince", "CREATED", "CreatedBy",
						   "CREATED BY", "Size", "SIZE", "Comment",
						   "COMMENT");
	struct hamn_client *c;
	size_t i;
	json_t *h;

	if (argc != 2) {
		cli_errorf("\"hamn history\" requires exactly 1 argument.");
		return 1;
	}
	_cleanup_free_ char *path = xasprintf("/images/%s/history", argv[1]);
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	if (hamn_client_json(c, "GET", path, NULL, &res, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	int64_t now = hamn_now_ns() / 1000000000LL;
	json_array_foreach(res, i, h) {
		char sid[13];
		const char *id = json_string_value(json_object_get(h, "Id")) ?: "<missing>";
		int64_t created = json_integer_value(json_object_get(h, "Created"));
		_cleanup_free_ char *dur = hamn_human_duration((now - created) * 1000000000LL);
		_cleanup_free_ char *since = xasprintf("%s ago", dur);
		_cleanup_free_ char *size = xasprintf(
			"%lldB", (long long)json_integer_value(json_object_get(h, "Size")));
		const char *by = json_string_value(json_object_get(h, "CreatedBy")) ?: "";
		_cleanup_free_ char *by_short = strlen(by) > 45 ? xasprintf("%.44s…", by) : xstrdup(by);

		json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s}", "ID",
						      str_has_prefix(id, "sha256:") ? cli_short_id(id, sid) : id,
						      "CreatedSince", since, "CreatedBy", by_short,
						      "Size", size, "Comment",
						      json_string_value(json_object_get(h, "Comment")) ?: ""));
	}
	if (cli_print_rows(rows, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
			   headers, &err) < 0) {
		cli_error(err);
		return 1;
	}
	return 0;
}

/* POST /<what>/prune; print the deleted ids and the space reclaimed. */
static int prune(struct cli *cli, const char *path, const char *list_key, const char *id_key)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *res = NULL;
	struct hamn_client *c = cli_client(cli);

	if (!c)
		return CLI_EXIT_ERROR;
	if (hamn_client_json(c, "POST", path, NULL, &res, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	cli_print_reclaimed(cli_print_deleted(res, list_key, id_key));
	return 0;
}

static bool parse_prune_flags(int argc, char **argv, bool *all)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "af", opts, NULL)) != -1) {
		if (opt == 'a')
			*all = true;
		else if (opt == '?')
			return false;
	}
	return true;
}

int cmd_image_prune(struct cli *cli, int argc, char **argv)
{
	bool all = false;

	if (!parse_prune_flags(argc, argv, &all))
		return 1;
	/* -a: every unused image, not only dangling ones */
	return prune(cli, all ? "/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D"
			      : "/images/prune", "ImagesDeleted", "Images");
}

int cmd_system_df(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *res = NULL;
	struct hamn_client *c = cli_client(cli);

	if (!c)
		return CLI_EXIT_ERROR;
	if (hamn_client_json(c, "GET", "/system/df", NULL, &res, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	printf("TYPE\tTOTAL\tSIZE\n");
	printf("Images\t%zu\t%lldB\n", json_array_size(json_object_get(res, "Images")),
	       (long long)json_integer_value(json_object_get(res, "LayersSize")));
	printf("Containers\t%zu\n", json_array_size(json_object_get(res, "Containers")));
	printf("Local Volumes\t%zu\n", json_array_size(json_object_get(res, "Volumes")));
	return 0;
}

/*
 * commit.c - `hamn commit`, `hamn diff` and `hamn export`: a container's
 * filesystem as a new image, as a change list, as a tar.
 */
#include "cli.h"

/* "repo[:tag]" as ?repo=&tag= (a ':' after the last '/' starts the tag). */
static void add_ref(struct hamn_buf *q, const char *ref)
{
	const char *colon = strrchr(ref, ':');
	bool has_tag = colon && !strchr(colon, '/');
	_cleanup_free_ char *repo = has_tag ? xstrndup(ref, (size_t)(colon - ref)) : xstrdup(ref);
	_cleanup_free_ char *erepo = hamn_client_urlencode(repo);
	_cleanup_free_ char *etag = hamn_client_urlencode(has_tag ? colon + 1 : "");

	hamn_buf_printf(q, "&repo=%s&tag=%s", erepo, etag);
}

static void add_param(struct hamn_buf *q, const char *key, const char *value)
{
	_cleanup_free_ char *v = hamn_client_urlencode(value);

	hamn_buf_printf(q, "&%s=%s", key, v);
}

int cmd_commit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "author", required_argument, NULL, 'a' },
		{ "pause", optional_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_buf_ struct hamn_buf q = HAMN_BUF_INIT;
	_cleanup_json_ json_t *out = NULL;
	struct hamn_client *c;
	bool pause = true;
	int opt;

	hamn_buf_puts(&q, "/commit?");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:m:a:p", opts, NULL)) != -1) {
		if (opt == 'c')
			add_param(&q, "changes", optarg);
		else if (opt == 'm')
			add_param(&q, "comment", optarg);
		else if (opt == 'a')
			add_param(&q, "author", optarg);
		else if (opt == 'p')
			pause = !optarg || !(streq(optarg, "false") || streq(optarg, "0"));
		else
			return 1;
	}
	if (optind >= argc || optind + 2 < argc) {
		cli_errorf("\"hamn commit\" requires at least 1 and at most 2 arguments.");
		return 1;
	}
	add_param(&q, "container", argv[optind]);
	if (optind + 1 < argc)
		add_ref(&q, argv[optind + 1]);
	hamn_buf_printf(&q, "&pause=%d", pause);
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	if (hamn_client_json(c, "POST", q.data, NULL, &out, &err) < 0) {
		cli_error(err);
		return 1;
	}
	printf("%s\n", json_string_value(json_object_get(out, "Id")));
	return 0;
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *out = NULL;
	_cleanup_free_ char *id = NULL, *path = NULL;
	struct hamn_client *c;
	size_t i;
	json_t *ch;

	if (argc != 2 || argv[1][0] == '-') {
		cli_errorf("\"hamn diff\" requires exactly 1 argument.");
		return 1;
	}
	id = hamn_client_urlencode(argv[1]);
	path = xasprintf("/containers/%s/changes", id);
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	if (hamn_client_json(c, "GET", path, NULL, &out, &err) < 0) {
		cli_error(err);
		return 1;
	}
	json_array_foreach (out, i, ch) {
		json_int_t kind = json_integer_value(json_object_get(ch, "Kind"));

		printf("%c %s\n", kind == 1 ? 'A' : kind == 2 ? 'D' : 'C',
		       json_string_value(json_object_get(ch, "Path")));
	}
	return 0;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *id = NULL, *path = NULL;
	const char *file;

	if (cli_output_option(argc, argv, &file) < 0)
		return 1;
	if (optind + 1 != argc) {
		cli_errorf("\"hamn export\" requires exactly 1 argument.");
		return 1;
	}
	id = hamn_client_urlencode(argv[optind]);
	path = xasprintf("/containers/%s/export", id);
	return cli_download(cli, path, file);
}

/*
 * objcmd.c - what the object commands of the CLI share: the group plumbing of
 * `hamn network` and `hamn volume` (a table of subcommands, its usage, the
 * dispatch) and their ls, inspect, rm and prune loops, the listing options of
 * `ps` and `images`, the ?filters= of a list, the download of `save` and
 * `export`, and a few small JSON helpers.
 *
 * Not here: anything that knows what a network or a volume is; the callers
 * describe their object in a struct cli_objtype and shape their own rows.
 */
#include "cli.h"

#include <sys/stat.h>
#include <unistd.h>

void cli_daemon_error(const struct hamn_error *err)
{
	fprintf(stderr, "Error response from daemon: %s\n", err->msg);
}

void cli_add_kv(json_t *obj, const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);

	json_object_set_new(obj, key, json_string(eq ? eq + 1 : ""));
}

const char *cli_str_of(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

json_t *cli_member(json_t *obj, const char *key, bool array)
{
	json_t *v = json_object_get(obj, key);

	if (array ? !json_is_array(v) : !json_is_object(v)) {
		v = array ? json_array() : json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

char *cli_labels_text(json_t *labels)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	const char *k;
	json_t *v;

	hamn_buf_puts(&b, "");
	json_object_foreach (labels, k, v)
		hamn_buf_printf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v));
	return hamn_buf_steal(&b);
}

void cli_add_filter(json_t *filters, const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
	json_t *m = json_object_get(filters, key);

	if (!m) {
		m = json_object();
		json_object_set_new(filters, key, m);
	}
	json_object_set_new(m, eq ? eq + 1 : "", json_true());
}

char *cli_filtered_path(const char *base, json_t *filters)
{
	_cleanup_free_ char *fjson = hamn_json_dump(filters);
	_cleanup_free_ char *fenc = hamn_client_urlencode(fjson);

	return xasprintf("%s%cfilters=%s", base, strchr(base, '?') ? '&' : '?', fenc);
}

int cli_lines(struct hamn_buf *pending, const char *data, size_t len, cli_line_fn fn, void *ctx)
{
	char *nl;

	hamn_buf_append(pending, data, len);
	while (pending->len && (nl = memchr(pending->data, '\n', pending->len))) {
		size_t n = (size_t)(nl - pending->data);

		if (n && fn(ctx, pending->data, n) < 0)
			return -1;
		hamn_buf_consume(pending, n + 1);
	}
	return 0;
}

struct json_lines {
	void (*fn)(void *ctx, json_t *m);
	void *ctx;
};

static int json_line(void *ctx, const char *line, size_t n)
{
	struct json_lines *jl = ctx;
	json_t *m = json_loadb(line, n, 0, NULL);

	if (m) {
		jl->fn(jl->ctx, m);
		json_decref(m);
	}
	return 0;
}

int cli_json_lines(struct hamn_buf *pending, const char *data, size_t len,
		   void (*fn)(void *ctx, json_t *m), void *ctx)
{
	struct json_lines jl = {fn, ctx};

	return cli_lines(pending, data, len, json_line, &jl);
}

int cli_post_pair(struct cli *cli, int argc, char **argv,
		  char *(*path_of)(const char *first, const char *second))
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *path = NULL;
	struct hamn_client *c;

	if (argc != 3) {
		cli_errorf("\"hamn %s\" requires exactly 2 arguments.", argv[0]);
		return 1;
	}
	path = path_of(argv[1], argv[2]);
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	if (hamn_client_json(c, "POST", path, NULL, NULL, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	return 0;
}

bool cli_list_option(struct cli_list *l, int opt, const char *arg)
{
	switch (opt) {
	case 'a':
		l->all = true;
		return true;
	case 'f':
		cli_add_filter(l->filters, arg);
		return true;
	case 'F':
		l->format = arg;
		return true;
	case 'T':
		l->trunc = false;
		return true;
	default:
		return false;
	}
}

/* ---- a group of subcommands ---- */

/* The subcommand of t named name ("ls", or its docker alias "list"), or NULL. */
static const struct cli_command *find_sub(const struct cli_objtype *t, const char *name)
{
	size_t skip = strlen(t->name) + 1; /* "network " */

	if (streq(name, "list"))
		name = "ls";
	else if (streq(name, "remove"))
		name = "rm";
	for (const struct cli_command *s = t->subs; s->name; s++)
		if (streq(s->name + skip, name))
			return s;
	return NULL;
}

static void group_usage(const struct cli_objtype *t, FILE *to)
{
	size_t skip = strlen(t->name) + 1;

	fprintf(to, "\nUsage:  hamn %s COMMAND\n\n%s\n\nCommands:\n", t->name, t->summary);
	for (const struct cli_command *s = t->subs; s->name; s++)
		fprintf(to, "  %-*s %s\n", t->width, s->name + skip, s->summary);
	fprintf(to, "\nRun 'hamn %s COMMAND --help' for more information on a command.\n",
		t->name);
}

int cli_obj_run(const struct cli_objtype *t, struct cli *cli, int argc, char **argv)
{
	const struct cli_command *sub;

	if (argc < 2) {
		group_usage(t, stdout);
		return 0;
	}
	sub = find_sub(t, argv[1]);
	if (!sub) {
		cli_errorf("'%s' is not a hamn %s command.\nSee 'hamn %s --help'", argv[1], t->name,
			   t->name);
		return 1;
	}
	if (cli_wants_help(sub, argc - 1, argv + 1))
		return 0;
	return sub->run(cli, argc - 1, argv + 1);
}

/* ---- ls, inspect, rm, prune ---- */

/* The column titles of ls's table: an object of t->ls_headers' field/title pairs. */
static json_t *ls_headers(const struct cli_objtype *t)
{
	json_t *h = json_object();

	for (const char *const *p = t->ls_headers; p[0] && p[1]; p += 2)
		json_object_set_new(h, p[0], json_string(p[1]));
	return h;
}

/* GET the collection with the filters and make the rows; NULL after printing the error. */
static json_t *ls_rows(const struct cli_objtype *t, struct cli *cli, json_t *filters, bool trunc)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = cli_filtered_path(t->path, filters);
	struct hamn_client *c = cli_client(cli);
	json_t *rows, *obj;
	size_t i;

	if (!c)
		return NULL;
	if (hamn_client_json(c, "GET", path, NULL, &res, &err) < 0) {
		cli_daemon_error(err);
		return NULL;
	}
	rows = json_array();
	json_array_foreach (t->ls_key ? json_object_get(res, t->ls_key) : res, i, obj)
		json_array_append_new(rows, t->ls_row(obj, trunc));
	return rows;
}

int cli_obj_ls(const struct cli_objtype *t, struct cli *cli, int argc, char **argv)
{
	static const struct option all_opts[] = {
		{"no-trunc", no_argument, NULL, 'T'},
		{"filter", required_argument, NULL, 'f'},
		{"format", required_argument, NULL, 'F'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	/* --no-trunc only where the rows have something to cut */
	const struct option *opts = t->ls_no_trunc ? all_opts : all_opts + 1;
	_cleanup_json_ json_t *filters = json_object(), *rows = NULL;
	_cleanup_json_ json_t *headers = ls_headers(t);
	struct cli_list l = {.filters = filters, .format = t->ls_format, .trunc = true};
	bool quiet = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, t->options_first ? "+f:q" : "f:q", opts, NULL)) !=
	       -1) {
		if (opt == 'q')
			quiet = true;
		else if (!cli_list_option(&l, opt, optarg))
			return 1;
	}
	rows = ls_rows(t, cli, filters, l.trunc);
	if (!rows)
		return 1;
	return cli_show_rows(rows, quiet ? t->ls_quiet_format : l.format, headers);
}

int cli_print_inspect(json_t *all, const char *format, int rc)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *text = NULL;

	if (format) {
		if (cli_print_rows(all, format, NULL, &err) < 0) {
			cli_error(err);
			return 1;
		}
		return rc;
	}
	text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	return rc;
}

int cli_obj_inspect(const struct cli_objtype *t, struct cli *cli, int n, char **names,
		    const char *format)
{
	_cleanup_json_ json_t *all = json_array();
	struct hamn_client *c;
	int rc = 0;

	if (n < 1) {
		cli_errorf("\"%s inspect\" requires at least 1 argument", t->name);
		return 1;
	}
	if (!(c = cli_client(cli)))
		return 1;
	for (int i = 0; i < n; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_free_ char *enc = hamn_client_urlencode(names[i]);
		_cleanup_free_ char *path = xasprintf("%s/%s", t->path, enc);
		json_t *obj = NULL;

		if (hamn_client_json(c, "GET", path, NULL, &obj, &err) < 0) {
			if (err->errnum == ENOENT)
				fprintf(stderr, "Error: No such %s: %s\n", t->name, names[i]);
			else
				cli_daemon_error(err);
			rc = 1;
			continue;
		}
		json_array_append_new(all, obj);
	}
	return cli_print_inspect(all, format, rc);
}

/* Parse rm's and prune's options: -f/--force and (prune) --filter; 0, or -1 on a bad one. */
static int force_options(const struct cli_objtype *t, int argc, char **argv, bool *force,
			 json_t *filters)
{
	static const struct option prune_opts[] = {
		{"filter", required_argument, NULL, 'F'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	/* rm has no --filter: getopt names it as an unknown option */
	const struct option *opts = filters ? prune_opts : prune_opts + 1;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, t->options_first ? "+f" : "f", opts, NULL)) != -1) {
		if (opt == 'f')
			*force = true;
		else if (opt == 'F' && filters)
			cli_add_filter(filters, optarg);
		else
			return -1;
	}
	return 0;
}

/* DELETE one object; -f hides "no such" errors unless it goes to the daemon as ?force=. */
static int remove_one(const struct cli_objtype *t, struct hamn_client *c, const char *name,
		      bool force)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *enc = hamn_client_urlencode(name);
	_cleanup_free_ char *path = t->rm_force_query
					    ? xasprintf("%s/%s?force=%d", t->path, enc, force)
					    : xasprintf("%s/%s", t->path, enc);

	if (hamn_client_json(c, "DELETE", path, NULL, NULL, &err) == 0) {
		printf("%s\n", name);
		return 0;
	}
	if (force && !t->rm_force_query && err->errnum == ENOENT)
		return 0;
	cli_daemon_error(err);
	return 1;
}

int cli_obj_rm(const struct cli_objtype *t, struct cli *cli, int argc, char **argv)
{
	bool force = false;
	struct hamn_client *c;
	int rc = 0;

	if (force_options(t, argc, argv, &force, NULL) < 0)
		return 1;
	if (optind >= argc) {
		cli_errorf("\"%s rm\" requires at least 1 argument", t->name);
		return 1;
	}
	if (!(c = cli_client(cli)))
		return 1;
	for (int i = optind; i < argc; i++)
		if (remove_one(t, c, argv[i], force) != 0)
			rc = 1;
	return rc;
}

bool cli_confirm(const char *warning)
{
	char line[16] = "";

	printf("%s\nAre you sure you want to continue? [y/N] ", warning);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static bool confirm_prune(const struct cli_objtype *t)
{
	_cleanup_free_ char *warning = xasprintf("WARNING! This will remove %s.", t->prune_warning);

	return cli_confirm(warning);
}

int cli_obj_prune(const struct cli_objtype *t, struct cli *cli, int argc, char **argv,
		  json_t **res)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *filters = json_object();
	_cleanup_free_ char *base = xasprintf("%s/prune", t->path), *path = NULL;
	bool force = false;
	struct hamn_client *c;
	json_t *name;
	size_t i;

	*res = NULL;
	if (force_options(t, argc, argv, &force, filters) < 0)
		return 1;
	if (!force && !confirm_prune(t))
		return 0;
	if (!(c = cli_client(cli)))
		return 1;
	path = cli_filtered_path(base, filters);
	if (hamn_client_json(c, "POST", path, NULL, res, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	json_array_foreach (json_object_get(*res, t->prune_key), i, name) {
		if (i == 0)
			printf("%s\n", t->prune_title);
		printf("%s\n", json_string_value(name));
	}
	return 0;
}

/* ---- downloads (save, export) ---- */

static int write_out(void *ctx, const char *data, size_t len)
{
	struct hamn_error *err = NULL;

	if (hamn_write_all(*(int *)ctx, data, len, &err) < 0) {
		cli_error(err);
		hamn_error_free(&err);
		return -1;
	}
	return 0;
}

int cli_output_option(int argc, char **argv, const char **file)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	*file = NULL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (opt != 'o')
			return -1;
		*file = optarg;
	}
	return 0;
}

/* The output of a download: file (made or truncated) or a copy of stdout. */
static int open_output(const char *file)
{
	int fd;

	if (!file && isatty(STDOUT_FILENO)) {
		cli_errorf("cowardly refusing to save to a terminal. Use the -o flag or redirect");
		return -1;
	}
	fd = file ? open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
		  : fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		cli_errorf("open '%s': %s", file ? file : "stdout", strerror(errno));
	return fd;
}

int cli_download(struct cli *cli, const char *path, const char *file)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_close_ int fd = open_output(file);
	struct hamn_client_stream req = {
		.method = "GET", .path = path, .body_fd = -1, .on_data = write_out, .ctx = &fd,
	};
	struct hamn_client *c;
	struct stat st;
	int status = 0;

	if (fd < 0)
		return 1;
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	if (hamn_client_stream(c, &req, &status, &err) < 0) {
		cli_error(err);
		/* a cut tar must not pass for a whole one; a device (-o /dev/null) stays */
		if (file && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			unlink(file);
		return 1;
	}
	return 0;
}

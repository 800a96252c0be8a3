/*
 * images.c - image commands: images, load, save, import, tag, rmi,
 * image prune, history, and `system df`.
 */
#include "cli.h"

#include <fcntl.h>

/* ---- JSON-lines progress streams (load, import) ---- */

struct jsonlines {
	struct hamn_buf pending;
	char *error;		/* the first "error" message seen */
	char *last_status;	/* import prints the last status (the image id) */
	bool quiet;
};

static void jsonlines_message(void *ctx, json_t *m)
{
	struct jsonlines *jl = ctx;
	const char *stream = json_string_value(json_object_get(m, "stream"));
	const char *status = json_string_value(json_object_get(m, "status"));
	const char *error = json_string_value(json_object_get(m, "error"));

	if (error && !jl->error)
		jl->error = xstrdup(error);
	if (stream && !jl->quiet)
		fputs(stream, stdout);
	if (status) {
		free(jl->last_status);
		jl->last_status = xstrdup(status);
	}
}

static int jsonlines_data(void *ctx, const char *data, size_t len)
{
	struct jsonlines *jl = ctx;

	return cli_json_lines(&jl->pending, data, len, jsonlines_message, jl);
}

static void jsonlines_release(struct jsonlines *jl)
{
	hamn_buf_release(&jl->pending);
	free(jl->error);
	free(jl->last_status);
}

/* Stream fd (a tar) to METHOD path; print progress; 0 when the daemon reported no error. */
static int upload_tar(struct cli *cli, const char *path, int fd, struct jsonlines *jl)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct hamn_client *c = cli_client(cli);
	int status = 0;
	struct hamn_client_stream req = {
		.method = "POST", .path = path, .content_type = "application/x-tar",
		.body_fd = fd, .on_data = jsonlines_data, .ctx = jl,
	};

	if (!c)
		return CLI_EXIT_ERROR;
	if (hamn_client_stream(c, &req, &status, &err) < 0) {
		cli_error(err);
		return 1;
	}
	jsonlines_data(jl, "\n", 1);
	if (jl->error) {
		fprintf(stderr, "hamn: %s\n", jl->error);
		return 1;
	}
	return 0;
}

static int open_input(const char *file)
{
	int fd;

	if (!file || strcmp(file, "-") == 0)
		return dup(STDIN_FILENO);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		cli_errorf("open '%s': %s", file, strerror(errno));
	return fd;
}

int cmd_load(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct jsonlines jl = { HAMN_BUF_INIT, NULL, NULL, false };
	const char *file = NULL;
	_cleanup_close_ int fd = -1;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "i:q", opts, NULL)) != -1) {
		if (opt == 'i')
			file = optarg;
		else if (opt == 'q')
			jl.quiet = true;
		else
			return 1;
	}
	if (!file && isatty(STDIN_FILENO)) {
		cli_errorf("requested load from stdin, but stdin is empty");
		return 1;
	}
	if ((fd = open_input(file)) < 0)
		return 1;
	rc = upload_tar(cli, jl.quiet ? "/images/load?quiet=1" : "/images/load?quiet=0", fd, &jl);
	jsonlines_release(&jl);
	return rc;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "platform", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct jsonlines jl = { HAMN_BUF_INIT, NULL, NULL, true };
	_cleanup_buf_ struct hamn_buf q = HAMN_BUF_INIT;
	_cleanup_close_ int fd = -1;
	int opt, rc;

	hamn_buf_puts(&q, "/images/create?fromSrc=-");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:m:", opts, NULL)) != -1) {
		_cleanup_free_ char *v = optarg ? hamn_client_urlencode(optarg) : NULL;
		if (opt == 'c')
			hamn_buf_printf(&q, "&changes=%s", v);
		else if (opt == 'm')
			hamn_buf_printf(&q, "&message=%s", v);
		else if (opt != 'p')
			return 1;
	}
	if (optind >= argc) {
		cli_errorf("\"hamn import\" requires at least 1 argument.");
		return 1;
	}
	if (optind + 1 < argc) {
		const char *ref = argv[optind + 1];
		const char *colon = strrchr(ref, ':');
		bool has_tag = colon && !strchr(colon, '/');
		_cleanup_free_ char *repo = has_tag ? xstrndup(ref, (size_t)(colon - ref)) : xstrdup(ref);
		_cleanup_free_ char *erepo = hamn_client_urlencode(repo);
		_cleanup_free_ char *etag = hamn_client_urlencode(has_tag ? colon + 1 : "latest");
		hamn_buf_printf(&q, "&repo=%s&tag=%s", erepo, etag);
	}
	if ((fd = open_input(argv[optind])) < 0)
		return 1;
	rc = upload_tar(cli, q.data, fd, &jl);
	if (rc == 0 && jl.last_status)
		printf("%s\n", jl.last_status);
	jsonlines_release(&jl);
	return rc;
}

int cmd_save(struct cli *cli, int argc, char **argv)
{
	_cleanup_buf_ struct hamn_buf path = HAMN_BUF_INIT;
	const char *file;

	if (cli_output_option(argc, argv, &file) < 0)
		return 1;
	if (optind >= argc) {
		cli_errorf("\"hamn save\" requires at least 1 argument.");
		return 1;
	}
	hamn_buf_puts(&path, "/images/get?");
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *e = hamn_client_urlencode(argv[i]);
		hamn_buf_printf(&path, "%snames=%s", i > optind ? "&" : "", e);
	}
	return cli_download(cli, path.data, file);
}

/* ---- images ---- */

#define IMAGES_DEFAULT_FORMAT \
	"table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

static void add_image_row(json_t *rows, json_t *img, const char *repotag, bool trunc, int64_t now)
{
	char sid[13];
	const char *id = json_string_value(json_object_get(img, "Id")) ?: "";
	const char *colon = repotag ? strrchr(repotag, ':') : NULL;
	_cleanup_free_ char *repo = colon ? xstrndup(repotag, (size_t)(colon - repotag))
					  : xstrdup("<none>");
	int64_t created = json_integer_value(json_object_get(img, "Created"));
	_cleanup_free_ char *dur = hamn_human_duration((now - created) * 1000000000LL);
	_cleanup_free_ char *since = xasprintf("%s ago", dur);
	/* docker's images: units.HumanSizeWithPrecision(size, 3), "4.86MB" */
	_cleanup_free_ char *size =
		cli_human_size((double)json_integer_value(json_object_get(img, "Size")), 3);

	json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Repository", repo, "Tag",
					       colon ? colon + 1 : "<none>", "ID",
					       trunc ? cli_short_id(id, sid) : id, "CreatedSince",
					       since, "Size", size, "Digest", "<none>"));
}

int cmd_images(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_LIST_OPTIONS,
		{ "digests", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *filters = json_object(), *list = NULL, *rows = json_array();
	_cleanup_json_ json_t *headers = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Repository",
						   "REPOSITORY", "Tag", "TAG", "ID", "IMAGE ID",
						   "CreatedSince", "CREATED", "Size", "SIZE",
						   "Digest", "DIGEST");
	_cleanup_free_ char *base = NULL, *path = NULL;
	struct cli_list l = { .filters = filters, .format = IMAGES_DEFAULT_FORMAT, .trunc = true };
	struct hamn_client *c;
	int opt;
	size_t i;
	json_t *img;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "aqf:", opts, NULL)) != -1) {
		if (opt == 'q')
			l.format = "{{.ID}}";
		else if (opt != 'D' && !cli_list_option(&l, opt, optarg))
			return 1;
	}
	if (optind < argc) {
		_cleanup_free_ char *kv = xasprintf("reference=%s", argv[optind]);
		cli_add_filter(filters, kv);
	}
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	base = xasprintf("/images/json?all=%d", l.all);
	path = cli_filtered_path(base, filters);
	if (hamn_client_json(c, "GET", path, NULL, &list, &err) < 0) {
		cli_error(err);
		return 1;
	}
	int64_t now = hamn_now_ns() / 1000000000LL;
	json_array_foreach(list, i, img) {
		json_t *tags = json_object_get(img, "RepoTags");
		size_t k;
		json_t *t;

		if (json_array_size(tags) == 0)
			add_image_row(rows, img, NULL, l.trunc, now);
		json_array_foreach(tags, k, t)
			add_image_row(rows, img, json_string_value(t), l.trunc, now);
	}
	return cli_show_rows(rows, l.format, headers);
}

/* POST /images/SOURCE/tag?repo=R&tag=T for a TARGET of R[:T] (T defaults to latest). */
static char *tag_path(const char *source, const char *target)
{
	const char *colon = strrchr(target, ':');
	bool has_tag = colon && !strchr(colon, '/');
	_cleanup_free_ char *repo = has_tag ? xstrndup(target, (size_t)(colon - target))
					    : xstrdup(target);
	_cleanup_free_ char *erepo = hamn_client_urlencode(repo);
	_cleanup_free_ char *etag = hamn_client_urlencode(has_tag ? colon + 1 : "latest");

	/* the source goes into the path as it is: the daemon's route takes slashes */
	return xasprintf("/images/%s/tag?repo=%s&tag=%s", source, erepo, etag);
}

int cmd_tag(struct cli *cli, int argc, char **argv)
{
	return cli_post_pair(cli, argc, argv, tag_path);
}

int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "no-prune", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false, noprune = false;
	struct hamn_client *c;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (opt == 'f')
			force = true;
		else if (opt == 'n')
			noprune = true;
		else
			return 1;
	}
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_json_ json_t *res = NULL;
		_cleanup_free_ char *path = xasprintf("/images/%s?force=%d&noprune=%d", argv[i],
						      force, noprune);
		size_t k;
		json_t *item;

		if (hamn_client_json(c, "DELETE", path, NULL, &res, &err) < 0) {
			cli_daemon_error(err);
			rc = 1;
			continue;
		}
		json_array_foreach(res, k, item) {
			const char *u = json_string_value(json_object_get(item, "Untagged"));
			const char *d = json_string_value(json_object_get(item, "Deleted"));
			if (u)
				printf("Untagged: %s\n", u);
			if (d)
				printf("Deleted: %s\n", d);
		}
	}
	return rc;
}

/*
 * ps.c - `hamn ps` and `hamn logs`: the two read-only container listings.
 */
#include "cli.h"

#define PS_DEFAULT_FORMAT \
	"table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
#define PS_SIZE_FORMAT PS_DEFAULT_FORMAT "\t{{.Size}}"

static json_t *ps_headers(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID",
			 "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND", "CreatedAt",
			 "CREATED AT", "RunningFor", "CREATED", "Status", "STATUS", "Ports", "PORTS",
			 "Names", "NAMES", "Labels", "LABELS", "State", "STATE", "Mounts", "MOUNTS",
			 "Networks", "NETWORKS", "Size", "SIZE");
}

/* "0.0.0.0:8080->80/tcp, 443/tcp" from the Ports array. */
static char *ports_column(json_t *ports)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	size_t i;
	json_t *p;

	json_array_foreach(ports, i, p) {
		const char *ip = json_string_value(json_object_get(p, "IP"));
		json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
		json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
		const char *type = json_string_value(json_object_get(p, "Type")) ?: "tcp";

		if (i)
			hamn_buf_puts(&b, ", ");
		if (pub)
			hamn_buf_printf(&b, "%s:%lld->", ip ?: "0.0.0.0", (long long)pub);
		hamn_buf_printf(&b, "%lld/%s", (long long)priv, type);
	}
	return hamn_buf_steal(&b);
}

static char *joined_names(json_t *arr, bool strip_slash)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	size_t i;
	json_t *n;

	json_array_foreach(arr, i, n) {
		const char *s = json_string_value(n) ?: "";
		if (i)
			hamn_buf_putc(&b, ',');
		hamn_buf_puts(&b, strip_slash && s[0] == '/' ? s + 1 : s);
	}
	return hamn_buf_steal(&b);
}

static char *labels_column(json_t *labels)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	const char *k;
	json_t *v;
	bool first = true;

	json_object_foreach(labels, k, v) {
		hamn_buf_printf(&b, "%s%s=%s", first ? "" : ",", k, json_string_value(v) ?: "");
		first = false;
	}
	return hamn_buf_steal(&b);
}

/*
 * docker's Size column: "2B (virtual 1.98MB)" (units.HumanSizeWithPrecision(size, 3)),
 * or "" when the list has no sizes.
 */
static char *size_column(json_t *ctr)
{
	json_t *rw = json_object_get(ctr, "SizeRw"), *root = json_object_get(ctr, "SizeRootFs");
	_cleanup_free_ char *srw = NULL, *sv = NULL;

	if (!rw)
		return xstrdup("");
	srw = cli_human_size((double)json_integer_value(rw), 3);
	if (json_integer_value(root) <= 0)
		return steal_pointer(&srw);
	sv = cli_human_size((double)json_integer_value(root), 3);
	return xasprintf("%s (virtual %s)", srw, sv);
}

/* The object docker's ps templates see for one container. */
static json_t *ps_row(json_t *ctr, bool trunc, int64_t now)
{
	char sid[13], created[HAMN_TIME_STR_MAX];
	const char *id = json_string_value(json_object_get(ctr, "Id")) ?: "";
	const char *cmd = json_string_value(json_object_get(ctr, "Command")) ?: "";
	int64_t at = json_integer_value(json_object_get(ctr, "Created"));
	_cleanup_free_ char *dur = hamn_human_duration((now - at) * 1000000000LL);
	_cleanup_free_ char *ago = xasprintf("%s ago", dur);
	_cleanup_free_ char *names = joined_names(json_object_get(ctr, "Names"), true);
	_cleanup_free_ char *ports = ports_column(json_object_get(ctr, "Ports"));
	_cleanup_free_ char *labels = labels_column(json_object_get(ctr, "Labels"));
	_cleanup_free_ char *size = size_column(ctr);
	_cleanup_free_ char *command = trunc && strlen(cmd) > 20 ? xasprintf("\"%.19s…\"", cmd)
								 : xasprintf("\"%s\"", cmd);
	json_t *nets = json_object_get(json_object_get(ctr, "NetworkSettings"), "Networks");
	_cleanup_strv_ char **netnames = xcalloc(1, sizeof(char *));
	const char *k;
	json_t *v;

	json_object_foreach(nets, k, v)
		strv_push(&netnames, k);
	_cleanup_free_ char *networks = strv_join(netnames, ",");
	hamn_time_format(at * 1000000000LL, created);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID",
			 trunc ? cli_short_id(id, sid) : id, "Image",
			 json_string_value(json_object_get(ctr, "Image")) ?: "", "Command", command,
			 "CreatedAt", created, "RunningFor", ago, "Status",
			 json_string_value(json_object_get(ctr, "Status")) ?: "", "Ports", ports,
			 "Names", names, "Labels", labels, "State",
			 json_string_value(json_object_get(ctr, "State")) ?: "", "Mounts", "",
			 "Networks", networks, "Size", size);
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_LIST_OPTIONS,
		{ "last", required_argument, NULL, 'n' },
		{ "latest", no_argument, NULL, 'l' },
		{ "size", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *filters = json_object(), *list = NULL, *rows = json_array();
	_cleanup_json_ json_t *headers = ps_headers();
	_cleanup_free_ char *base = NULL, *path = NULL;
	struct cli_list l = { .filters = filters, .format = PS_DEFAULT_FORMAT, .trunc = true };
	bool quiet = false, size = false;
	int limit = -1, opt;
	struct hamn_client *c;
	json_t *ctr;
	size_t i;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "aqf:n:ls", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': quiet = true; break;
		case 'n': limit = atoi(optarg); l.all = true; break;
		case 'l': limit = 1; l.all = true; break;
		case 's': size = true; break;
		default:
			if (!cli_list_option(&l, opt, optarg))
				return 1;
		}
	}
	if (quiet)
		l.format = "{{.ID}}";
	else if (size && streq(l.format, PS_DEFAULT_FORMAT))
		l.format = PS_SIZE_FORMAT;
	/* as docker's CLI: a format showing .Size asks for the sizes */
	size = !quiet && (size || strstr(l.format, ".Size"));
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	base = xasprintf("/containers/json?all=%d&limit=%d&size=%d", l.all, limit, size);
	path = cli_filtered_path(base, filters);
	if (hamn_client_json(c, "GET", path, NULL, &list, &err) < 0) {
		cli_error(err);
		return 1;
	}
	int64_t now = hamn_now_ns() / 1000000000LL;
	json_array_foreach(list, i, ctr) {
		json_array_append_new(rows, ps_row(ctr, l.trunc, now));
	}
	return cli_show_rows(rows, l.format, headers);
}

static int write_stdout(void *ctx, const char *data, size_t len)
{
	struct hamn_error *err = NULL;

	/* a closed stdout (| head) ends the stream quietly */
	if (hamn_write_all(STDOUT_FILENO, data, len, &err) < 0) {
		hamn_error_free(&err);
		return -1;
	}
	return 0;
}

static int demux_frames(void *ctx, const char *data, size_t len)
{
	struct hamn_buf *pending = ctx;
	struct hamn_error *err = NULL;

	hamn_buf_append(pending, data, len);
	while (pending->len >= 8) {
		const unsigned char *h = (const unsigned char *)pending->data;
		size_t n = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];

		if (pending->len < 8 + n)
			break;
		if (hamn_write_all(h[0] == 2 ? STDERR_FILENO : STDOUT_FILENO, pending->data + 8, n,
				   &err) < 0) {
			hamn_error_free(&err);
			return -1;
		}
		hamn_buf_consume(pending, 8 + n);
	}
	return 0;
}

/* Is the container's Config.Tty set? (logs are raw with a tty, multiplexed without) */
static int container_tty(struct hamn_client *c, const char *enc, bool *tty, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("/containers/%s/json", enc);
	_cleanup_json_ json_t *info = NULL;

	if (hamn_client_json(c, "GET", path, NULL, &info, err) < 0)
		return -1;
	*tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
	return 0;
}

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "timestamps", no_argument, NULL, 't' },
		{ "tail", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_buf_ struct hamn_buf q = HAMN_BUF_INIT;
	_cleanup_buf_ struct hamn_buf pending = HAMN_BUF_INIT;
	_cleanup_free_ char *enc = NULL, *path = NULL;
	struct hamn_client *c;
	bool tty = false;
	int opt, status = 0;

	hamn_buf_puts(&q, "stdout=1&stderr=1");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "ftn:", opts, NULL)) != -1) {
		_cleanup_free_ char *v = optarg ? hamn_client_urlencode(optarg) : NULL;
		switch (opt) {
		case 'f': hamn_buf_puts(&q, "&follow=1"); break;
		case 't': hamn_buf_puts(&q, "&timestamps=1"); break;
		case 'n': hamn_buf_printf(&q, "&tail=%s", v); break;
		case 'S': hamn_buf_printf(&q, "&since=%s", v); break;
		case 'U': hamn_buf_printf(&q, "&until=%s", v); break;
		default: return 1;
		}
	}
	if (optind + 1 != argc) {
		cli_errorf("\"hamn logs\" requires exactly 1 argument.");
		return 1;
	}
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	enc = hamn_client_urlencode(argv[optind]);
	path = xasprintf("/containers/%s/logs?%s", enc, q.data);
	if (container_tty(c, enc, &tty, &err) == 0) {
		struct hamn_client_stream req = {
			.method = "GET", .path = path, .body_fd = -1,
			.on_data = tty ? write_stdout : demux_frames,
			.ctx = tty ? NULL : &pending,
		};
		if (hamn_client_stream(c, &req, &status, &err) == 0)
			return 0;
	}
	cli_daemon_error(err);
	return 1;
}

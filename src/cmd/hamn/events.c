/*
 * events.c - `hamn events`: the daemon's event stream, printed as the
 * docker CLI prints it ("<time> <type> <action> <id> (k=v, ...)") or with
 * --format. --since and --until take what docker takes (RFC 3339 times,
 * unix seconds, durations such as 10m) and are sent as unix seconds
 * computed here, so "10m" means ten minutes before this machine's now.
 */
#include "cli.h"

struct events_out {
	struct hamn_buf line;	      /* bytes of an unfinished line */
	struct hamn_template *tmpl;   /* --format, or NULL */
	bool raw_json;		      /* --format '{{json .}}': the message as sent */
	struct hamn_error *err;
};

/* docker's prettyPrintEvent. */
static void print_plain(json_t *m)
{
	json_t *actor = json_object_get(m, "Actor");
	json_t *attrs = json_object_get(actor, "Attributes");
	char when[HAMN_TIME_STR_MAX];
	const char *k, *sep = " (";
	json_t *v;

	printf("%s %s %s %s", hamn_time_format(json_integer_value(json_object_get(m, "timeNano")),
					       when),
	       json_string_value(json_object_get(m, "Type")) ?: "",
	       json_string_value(json_object_get(m, "Action")) ?: "",
	       json_string_value(json_object_get(actor, "ID")) ?: "");
	/* the daemon sends attributes sorted by key, as Go prints maps */
	json_object_foreach(attrs, k, v) {
		printf("%s%s=%s", sep, k, json_string_value(v) ?: "");
		sep = ", ";
	}
	printf("%s\n", json_object_size(attrs) ? ")" : "");
}

/* The message with the field names of Go's events.Message, for templates. */
static json_t *template_row(json_t *m)
{
	json_t *row = json_deep_copy(m);
	static const char *const names[][2] = {
		{ "status", "Status" }, { "id", "ID" },	    { "from", "From" },
		{ "scope", "Scope" },	{ "time", "Time" }, { "timeNano", "TimeNano" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *v = json_object_get(m, names[i][0]);

		json_object_set_new(row, names[i][1], v ? json_incref(v) : json_string(""));
	}
	return row;
}

static int print_event(void *ctx, const char *text, size_t len)
{
	struct events_out *o = ctx;
	_cleanup_json_ json_t *m = NULL, *row = NULL;
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;

	if (o->raw_json) {
		printf("%.*s\n", (int)len, text);
		return 0;
	}
	m = hamn_json_parse(text, len, &o->err);
	if (!m)
		return -1;
	if (!o->tmpl) {
		print_plain(m);
		return 0;
	}
	row = template_row(m);
	if (hamn_template_exec(o->tmpl, row, &out, &o->err) < 0)
		return -1;
	printf("%s\n", out.data ? out.data : "");
	return 0;
}

static int on_events(void *ctx, const char *data, size_t len)
{
	struct events_out *o = ctx;

	if (cli_lines(&o->line, data, len, print_event, o) < 0)
		return -1;
	fflush(stdout);
	return 0;
}

/* --since/--until to the "seconds.nanoseconds" the API takes. */
static int add_time(struct hamn_buf *q, const char *key, const char *v, int64_t now,
		    struct hamn_error **err)
{
	int64_t ns;

	if (hamn_time_parse_since(v, now, &ns, err) < 0)
		return hamn_error_wrap(err, "invalid value for --%s", key);
	hamn_buf_printf(q, "&%s=%lld.%09lld", key, (long long)(ns / 1000000000LL),
			(long long)(ns % 1000000000LL));
	return 0;
}

static int events_query(int argc, char **argv, struct hamn_buf *q, const char **format,
			struct hamn_error **err)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "filter", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_json_ json_t *filters = json_object();
	_cleanup_free_ char *fjson = NULL, *fenc = NULL;
	int64_t now = hamn_now_ns();
	int opt, r = 0;

	optind = 1;
	while (r == 0 && (opt = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (opt) {
		case 'S': r = add_time(q, "since", optarg, now, err); break;
		case 'U': r = add_time(q, "until", optarg, now, err); break;
		case 'f': cli_add_filter(filters, optarg); break;
		case 'F': *format = optarg; break;
		default: return hamn_error_setq(err, EINVAL, "see 'hamn events --help'");
		}
	}
	if (r < 0)
		return -1;
	if (optind < argc)
		return hamn_error_setq(err, EINVAL, "\"hamn events\" accepts no arguments.");
	if (json_object_size(filters)) {
		fjson = hamn_json_dump(filters);
		fenc = hamn_client_urlencode(fjson);
		hamn_buf_printf(q, "&filters=%s", fenc);
	}
	return 0;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_buf_ struct hamn_buf q = HAMN_BUF_INIT;
	_cleanup_free_ char *path = NULL;
	struct events_out o = { .line = HAMN_BUF_INIT };
	const char *format = NULL;
	struct hamn_client *c;
	int status = 0, rc = 0;

	if (events_query(argc, argv, &q, &format, &err) < 0) {
		cli_error(err);
		return 1;
	}
	if (format && !streq(format, "{{json .}}") &&
	    !(o.tmpl = hamn_template_parse(format, &err))) {
		cli_error(err);
		return 1;
	}
	o.raw_json = format && streq(format, "{{json .}}");
	if (!(c = cli_client(cli))) {
		if (o.tmpl)
			hamn_template_free(o.tmpl);
		return CLI_EXIT_ERROR;
	}
	path = xasprintf("/events?%s", q.len ? q.data + 1 : "");
	struct hamn_client_stream req = {
		.method = "GET", .path = path, .body_fd = -1, .on_data = on_events, .ctx = &o,
	};
	if (hamn_client_stream(c, &req, &status, &err) < 0) {
		cli_error(o.err ? o.err : err);
		rc = 1;
	}
	hamn_error_free(&o.err);
	hamn_buf_release(&o.line);
	if (o.tmpl)
		hamn_template_free(o.tmpl);
	return rc;
}

/*
 * stats.c - `hamn stats`: docker's live table of resource use
 * (CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O,
 * PIDS), computed from GET /containers/{id}/stats as the docker CLI
 * computes it.
 *
 * One thread per container reads its stats stream (each with a client of
 * its own: a client is not thread-safe); the main thread redraws the table
 * twice a second. Without names, the running containers (all with -a) are
 * listed again at each redraw, so new ones appear and removed ones go.
 * --no-stream asks every container for one sample (stream=0: the daemon
 * takes two a second apart, for the CPU %) at the same time and prints once.
 */
#include <pthread.h>
#include <time.h>

#include "cli.h"

#define DEFAULT_FORMAT                                                                     \
	"table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t" \
	"{{.BlockIO}}\t{{.PIDs}}"
#define REDRAW_MS 500

struct stats_entry {
	char *id;	   /* full container id */
	char *container;   /* as named on the command line, or the id (.Container) */
	json_t *last;	   /* latest stats object, or NULL */
	char *error;	   /* why the stream failed, or NULL */
	bool done, listed; /* the stream ended; still in the container list */
	bool joined;
	pthread_t thread;
	struct stats_run *run;
	struct hamn_buf line;
};

struct stats_run {
	const char *host;
	bool stream;
	pthread_mutex_t lock;
	struct stats_entry **v;
	size_t n;
};

/* ---- one row from a stats object (the docker CLI's arithmetic) ---- */

static double num(json_t *obj, const char *key)
{
	return (double)json_integer_value(json_object_get(obj, key));
}

static double cpu_percent(json_t *s)
{
	json_t *cpu = json_object_get(s, "cpu_stats"), *pre = json_object_get(s, "precpu_stats");
	json_t *usage = json_object_get(cpu, "cpu_usage");
	double cpu_delta = num(usage, "total_usage") - num(json_object_get(pre, "cpu_usage"),
							   "total_usage");
	double sys_delta = num(cpu, "system_cpu_usage") - num(pre, "system_cpu_usage");
	double online = num(cpu, "online_cpus");

	if (online == 0)
		online = (double)json_array_size(json_object_get(usage, "percpu_usage"));
	if (sys_delta > 0 && cpu_delta > 0)
		return cpu_delta / sys_delta * online * 100.0;
	return 0;
}

/* Memory in use without the page cache that could be dropped (v1, then v2 names). */
static double mem_used(json_t *mem)
{
	json_t *stats = json_object_get(mem, "stats");
	json_t *v1 = json_object_get(stats, "total_inactive_file");
	double usage = num(mem, "usage");
	double inactive = v1 ? (double)json_integer_value(v1) : num(stats, "inactive_file");

	return inactive < usage ? usage - inactive : usage;
}

static void io_sums(json_t *s, double *rx, double *tx, double *rd, double *wr)
{
	json_t *nets = json_object_get(s, "networks"), *v, *e;
	json_t *bio = json_object_get(json_object_get(s, "blkio_stats"),
				      "io_service_bytes_recursive");
	const char *k;
	size_t i;

	*rx = *tx = *rd = *wr = 0;
	json_object_foreach(nets, k, v) {
		*rx += num(v, "rx_bytes");
		*tx += num(v, "tx_bytes");
	}
	json_array_foreach(bio, i, e) {
		const char *op = json_string_value(json_object_get(e, "op"));

		if (op && strcasecmp(op, "read") == 0)
			*rd += num(e, "value");
		else if (op && strcasecmp(op, "write") == 0)
			*wr += num(e, "value");
	}
}

static void set_str(json_t *row, const char *key, char *value)
{
	json_object_set_new(row, key, json_string(value));
	free(value);
}

static json_t *stats_row(json_t *s, const char *container, bool trunc)
{
	json_t *mem = json_object_get(s, "memory_stats"), *row = json_object();
	const char *id = json_string_value(json_object_get(s, "id")) ?: "";
	const char *name = json_string_value(json_object_get(s, "name")) ?: "";
	double used = mem_used(mem), limit = num(mem, "limit"), rx, tx, rd, wr;
	_cleanup_free_ char *u = cli_bytes_size(used), *l = cli_bytes_size(limit);
	_cleanup_free_ char *nrx = NULL, *ntx = NULL, *brd = NULL, *bwr = NULL;

	io_sums(s, &rx, &tx, &rd, &wr);
	/* the docker CLI's units.HumanSizeWithPrecision(size, 3): "486B", "1.54kB" */
	nrx = cli_human_size(rx, 3);
	ntx = cli_human_size(tx, 3);
	brd = cli_human_size(rd, 3);
	bwr = cli_human_size(wr, 3);
	json_object_set_new(row, "Container", json_string(container));
	json_object_set_new(row, "ID", json_stringn(id, trunc && strlen(id) > 12 ? 12 : strlen(id)));
	json_object_set_new(row, "Name", json_string(strlen(name) > 1 ? name + 1 : "--"));
	set_str(row, "CPUPerc", xasprintf("%.2f%%", cpu_percent(s)));
	set_str(row, "MemUsage", xasprintf("%s / %s", u, l));
	set_str(row, "MemPerc", xasprintf("%.2f%%", limit != 0 ? used / limit * 100.0 : 0.0));
	set_str(row, "NetIO", xasprintf("%s / %s", nrx, ntx));
	set_str(row, "BlockIO", xasprintf("%s / %s", brd, bwr));
	set_str(row, "PIDs", xasprintf("%lld", (long long)num(json_object_get(s, "pids_stats"),
								"current")));
	return row;
}

/* ---- the streams ---- */

/* One stats object: the entry's latest (a line that does not parse is skipped). */
static int on_stats_line(void *ctx, const char *line, size_t len)
{
	struct stats_entry *en = ctx;
	_cleanup_error_ struct hamn_error *err = NULL;
	json_t *s = hamn_json_parse(line, len, &err);

	if (!s)
		return 0;
	pthread_mutex_lock(&en->run->lock);
	if (en->last)
		json_decref(en->last);
	en->last = s;
	pthread_mutex_unlock(&en->run->lock);
	return 0;
}

static int on_stats(void *ctx, const char *data, size_t len)
{
	struct stats_entry *en = ctx;

	return cli_lines(&en->line, data, len, on_stats_line, en);
}

static void *stats_thread(void *arg)
{
	struct stats_entry *en = arg;
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_client_ struct hamn_client *c = hamn_client_new(en->run->host, &err);
	_cleanup_free_ char *path =
		xasprintf("/containers/%s/stats?stream=%d", en->id, en->run->stream ? 1 : 0);
	int status = 0;

	if (c) {
		struct hamn_client_stream req = {
			.method = "GET", .path = path, .body_fd = -1, .on_data = on_stats, .ctx = en,
		};
		if (hamn_client_stream(c, &req, &status, &err) == 0)
			hamn_error_free(&err);
	}
	pthread_mutex_lock(&en->run->lock);
	en->done = true;
	if (err && !en->last)
		en->error = xstrdup(err->msg);
	pthread_mutex_unlock(&en->run->lock);
	return NULL;
}

static struct stats_entry *entry_find(struct stats_run *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (streq(r->v[i]->id, id))
			return r->v[i];
	return NULL;
}

static void entry_add(struct stats_run *r, const char *id, const char *container)
{
	struct stats_entry *en = xzalloc(sizeof(*en));

	en->id = xstrdup(id);
	en->container = xstrdup(container);
	en->run = r;
	en->listed = true;
	pthread_mutex_lock(&r->lock);
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = en;
	if (pthread_create(&en->thread, NULL, stats_thread, en) != 0) {
		en->done = en->joined = true;
		en->error = xstrdup("cannot start a thread");
	}
	pthread_mutex_unlock(&r->lock);
}

static void run_release(struct stats_run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct stats_entry *en = r->v[i];

		if (!en->joined)
			pthread_join(en->thread, NULL);
		if (en->last)
			json_decref(en->last);
		free(en->id);
		free(en->container);
		free(en->error);
		hamn_buf_release(&en->line);
		free(en);
	}
	free(r->v);
	pthread_mutex_destroy(&r->lock);
}

/* ---- which containers ---- */

/* The named containers: each must exist (docker fails on the first that does not). */
static int add_named(struct stats_run *r, struct hamn_client *c, char **names,
		     struct hamn_error **err)
{
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *enc = hamn_client_urlencode(names[i]);
		_cleanup_free_ char *path = xasprintf("/containers/%s/json", enc);
		_cleanup_json_ json_t *info = NULL;

		if (hamn_client_json(c, "GET", path, NULL, &info, err) < 0)
			return -1;
		entry_add(r, json_string_value(json_object_get(info, "Id")) ?: names[i], names[i]);
	}
	return 0;
}

/* Every running container (all with -a): new ones are added, missing ones hidden. */
static int refresh_list(struct stats_run *r, struct hamn_client *c, bool all,
			struct hamn_error **err)
{
	_cleanup_json_ json_t *list = NULL;
	size_t i;
	json_t *ctr;

	if (hamn_client_json(c, "GET", all ? "/containers/json?all=1" : "/containers/json",
			     NULL, &list, err) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n; i++)
		r->v[i]->listed = false;
	pthread_mutex_unlock(&r->lock);
	json_array_foreach(list, i, ctr) {
		const char *id = json_string_value(json_object_get(ctr, "Id"));
		struct stats_entry *en;

		if (!id)
			continue;
		pthread_mutex_lock(&r->lock);
		en = entry_find(r, id);
		if (en)
			en->listed = true;
		pthread_mutex_unlock(&r->lock);
		if (!en)
			entry_add(r, id, id);
	}
	return 0;
}

/* ---- output ---- */

static json_t *stats_headers(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", "CONTAINER",
			 "ID", "CONTAINER ID", "Name", "NAME", "CPUPerc", "CPU %", "MemUsage",
			 "MEM USAGE / LIMIT", "MemPerc", "MEM %", "NetIO", "NET I/O", "BlockIO",
			 "BLOCK I/O", "PIDs", "PIDS");
}

static int print_table(struct stats_run *r, const char *format, bool trunc, bool clear,
		       struct hamn_error **err)
{
	_cleanup_json_ json_t *rows = json_array(), *headers = stats_headers();

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		struct stats_entry *en = r->v[i];
		_cleanup_json_ json_t *none = NULL;

		if (!en->listed)
			continue;
		if (!en->last)
			none = json_pack("{s:s, s:s}", "id", en->id, "name", "");
		json_array_append_new(rows,
				      stats_row(en->last ? en->last : none, en->container, trunc));
	}
	pthread_mutex_unlock(&r->lock);
	if (clear)
		fputs("\033[2J\033[H", stdout);
	if (cli_print_rows(rows, format, headers, err) < 0)
		return -1;
	fflush(stdout);
	return 0;
}

/* The first error of a --no-stream run, printed as the daemon's. */
static int report_errors(struct stats_run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i]->error) {
			fprintf(stderr, "Error response from daemon: %s\n", r->v[i]->error);
			return 1;
		}
	}
	return 0;
}

static int stats_live(struct stats_run *r, struct hamn_client *c, bool named, bool all,
		      const char *format, bool trunc)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = REDRAW_MS * 1000000L };

	for (;;) {
		if (print_table(r, format, trunc, true, &err) < 0 ||
		    (!named && refresh_list(r, c, all, &err) < 0)) {
			cli_error(err);
			return 1;
		}
		/* the display's refresh rate, as docker's; the data comes from the streams */
		nanosleep(&ts, NULL);
	}
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "no-stream", no_argument, NULL, 'N' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	struct stats_run r = { .host = cli->host, .stream = true };
	const char *format = DEFAULT_FORMAT;
	bool all = false, trunc = true;
	struct hamn_client *c;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': all = true; break;
		case 'N': r.stream = false; break;
		case 'T': trunc = false; break;
		case 'F': format = optarg; break;
		default: return 1;
		}
	}
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	pthread_mutex_init(&r.lock, NULL);
	if (optind < argc ? add_named(&r, c, argv + optind, &err) < 0
			  : refresh_list(&r, c, all, &err) < 0) {
		cli_daemon_error(err);
		rc = 1;
	} else if (r.stream) {
		rc = stats_live(&r, c, optind < argc, all, format, trunc);
	} else {
		for (size_t i = 0; i < r.n; i++) {
			if (!r.v[i]->joined)
				pthread_join(r.v[i]->thread, NULL);
			r.v[i]->joined = true;
		}
		rc = report_errors(&r);
		if (print_table(&r, format, trunc, false, &err) < 0) {
			cli_error(err);
			rc = 1;
		}
	}
	run_release(&r);
	return rc;
}

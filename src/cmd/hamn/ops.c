/*
 * ops.c - pause, unpause, update, port, container prune and system prune,
 * with docker's flags, prompts and output.
 */
#include "cli.h"

#include <ctype.h>

/* POST /containers/NAME/VERB for each operand, echoing the names as docker does. */
static int post_each(struct cli *cli, int argc, char **argv, const char *verb, json_t *body)
{
	struct hamn_client *c;
	int rc = 0;

	if (argc < 2) {
		cli_errorf("\"hamn %s\" requires at least 1 argument.", verb);
		return 1;
	}
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	for (int i = 1; i < argc; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_free_ char *enc = hamn_client_urlencode(argv[i]);
		_cleanup_free_ char *path = xasprintf("/containers/%s/%s", enc, verb);

		if (hamn_client_json(c, "POST", path, body, NULL, &err) < 0) {
			cli_daemon_error(err);
			rc = 1;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

int cmd_pause(struct cli *cli, int argc, char **argv)
{
	return post_each(cli, argc, argv, "pause", NULL);
}

int cmd_unpause(struct cli *cli, int argc, char **argv)
{
	return post_each(cli, argc, argv, "unpause", NULL);
}

/* ---- update ---- */

enum {
	UPD_BLKIO = 1000,
	UPD_CPU_PERIOD,
	UPD_CPU_QUOTA,
	UPD_CPUS,
	UPD_CPUSET_CPUS,
	UPD_CPUSET_MEMS,
	UPD_MEM_RES,
	UPD_MEM_SWAP,
	UPD_PIDS,
	UPD_RESTART,
};

static int set_bytes(json_t *body, const char *key, const char *arg, struct hamn_error **err)
{
	int64_t v;

	/* -1 is "unlimited" for --memory-swap */
	if (streq(arg, "-1"))
		v = -1;
	else if (hamn_parse_size(arg, &v, err) < 0)
		return -1;
	json_object_set_new(body, key, json_integer(v));
	return 0;
}

static int set_number(json_t *body, const char *key, const char *arg, struct hamn_error **err)
{
	int64_t v;

	if (hamn_parse_int64(arg, &v, err) < 0)
		return -1;
	json_object_set_new(body, key, json_integer(v));
	return 0;
}

static int set_cpus(json_t *body, const char *arg, struct hamn_error **err)
{
	char *end = NULL;
	double cpus = strtod(arg, &end);

	if (!*arg || *end || cpus < 0)
		return hamn_error_setq(err, EINVAL, "invalid argument \"%s\" for \"--cpus\" flag",
				       arg);
	json_object_set_new(body, "NanoCpus", json_integer((json_int_t)(cpus * 1e9 + 0.5)));
	return 0;
}

static int update_option(json_t *body, int opt, const char *arg, struct hamn_error **err)
{
	switch (opt) {
	case 'm':
		return set_bytes(body, "Memory", arg, err);
	case UPD_MEM_SWAP:
		return set_bytes(body, "MemorySwap", arg, err);
	case UPD_MEM_RES:
		return set_bytes(body, "MemoryReservation", arg, err);
	case 'c':
		return set_number(body, "CpuShares", arg, err);
	case UPD_CPU_PERIOD:
		return set_number(body, "CpuPeriod", arg, err);
	case UPD_CPU_QUOTA:
		return set_number(body, "CpuQuota", arg, err);
	case UPD_BLKIO:
		return set_number(body, "BlkioWeight", arg, err);
	case UPD_PIDS:
		return set_number(body, "PidsLimit", arg, err);
	case UPD_CPUS:
		return set_cpus(body, arg, err);
	case UPD_RESTART:
		return cli_set_restart(body, arg, err);
	case UPD_CPUSET_CPUS:
		json_object_set_new(body, "CpusetCpus", json_string(arg));
		return 0;
	case UPD_CPUSET_MEMS:
		json_object_set_new(body, "CpusetMems", json_string(arg));
		return 0;
	default:
		return hamn_error_setq(err, EINVAL, "see 'hamn update --help'");
	}
}

int cmd_update(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"blkio-weight", required_argument, NULL, UPD_BLKIO},
		{"cpu-period", required_argument, NULL, UPD_CPU_PERIOD},
		{"cpu-quota", required_argument, NULL, UPD_CPU_QUOTA},
		{"cpu-shares", required_argument, NULL, 'c'},
		{"cpus", required_argument, NULL, UPD_CPUS},
		{"cpuset-cpus", required_argument, NULL, UPD_CPUSET_CPUS},
		{"cpuset-mems", required_argument, NULL, UPD_CPUSET_MEMS},
		{"memory", required_argument, NULL, 'm'},
		{"memory-reservation", required_argument, NULL, UPD_MEM_RES},
		{"memory-swap", required_argument, NULL, UPD_MEM_SWAP},
		{"pids-limit", required_argument, NULL, UPD_PIDS},
		{"restart", required_argument, NULL, UPD_RESTART},
		{NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = json_object();
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:m:", opts, NULL)) != -1) {
		_cleanup_error_ struct hamn_error *err = NULL;

		if (opt == '?')
			return 1;
		if (update_option(body, opt, optarg, &err) < 0) {
			cli_error(err);
			return 1;
		}
	}
	if (!json_object_size(body)) {
		cli_errorf("you must provide one or more flags when using this command");
		return 1;
	}
	return post_each(cli, argc - optind + 1, argv + optind - 1, "update", body);
}

/* ---- port ---- */

/* docker's sortorder.NaturalLess: digit runs compare as numbers. */
static int natural_cmp(const void *pa, const void *pb)
{
	const char *a = *(char *const *)pa, *b = *(char *const *)pb;

	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long long na = strtoull(a, &ea, 10), nb = strtoull(b, &eb, 10);

			if (na != nb)
				return na < nb ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

/* "0.0.0.0:8080", "[::]:8080" (Go's net.JoinHostPort) */
static char *host_port(json_t *binding)
{
	const char *ip = json_string_value(json_object_get(binding, "HostIp"));
	const char *port = json_string_value(json_object_get(binding, "HostPort"));

	ip = ip ? ip : "";
	port = port ? port : "";
	return strchr(ip, ':') ? xasprintf("[%s]:%s", ip, port) : xasprintf("%s:%s", ip, port);
}

/* The lines docker prints: all bindings ("80/tcp -> 0.0.0.0:8080") or those of one port. */
static char **port_lines(json_t *ports, const char *want)
{
	char **lines = NULL;
	const char *key;
	json_t *list, *b;
	size_t i;

	json_object_foreach (ports, key, list) {
		if (want && !streq(key, want))
			continue;
		json_array_foreach (list, i, b) {
			_cleanup_free_ char *hp = host_port(b);

			strv_push_take(&lines,
				       want ? steal_pointer(&hp) : xasprintf("%s -> %s", key, hp));
		}
	}
	return lines;
}

/* "80" -> "80/tcp"; NULL with a message when the port is not a number. */
static char *port_key(const char *arg)
{
	const char *slash = strchr(arg, '/');
	_cleanup_free_ char *num = slash ? xstrndup(arg, (size_t)(slash - arg)) : xstrdup(arg);
	_cleanup_error_ struct hamn_error *err = NULL;
	uint64_t n;

	if (hamn_parse_uint64(num, &n, &err) < 0 || n > 65535) {
		fprintf(stderr, "Error: invalid port (%s)\n", num);
		return NULL;
	}
	return xasprintf("%s/%s", num, slash && slash[1] ? slash + 1 : "tcp");
}

int cmd_port(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *obj = NULL;
	_cleanup_free_ char *want = NULL, *enc = NULL, *path = NULL;
	_cleanup_strv_ char **lines = NULL;
	struct hamn_client *c;
	json_t *ports;

	if (argc < 2 || argc > 3) {
		cli_errorf("\"hamn port\" requires at least 1 and at most 2 arguments.");
		return 1;
	}
	if (argc == 3 && !(want = port_key(argv[2])))
		return 1;
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	enc = hamn_client_urlencode(argv[1]);
	path = xasprintf("/containers/%s/json", enc);
	if (hamn_client_json(c, "GET", path, NULL, &obj, &err) < 0) {
		cli_daemon_error(err);
		return 1;
	}
	ports = json_object_get(json_object_get(obj, "NetworkSettings"), "Ports");
	lines = port_lines(ports, want);
	if (want && !lines) {
		fprintf(stderr, "Error: No public port '%s' published for %s\n", argv[2], argv[1]);
		return 1;
	}
	if (lines)
		qsort(lines, strv_len(lines), sizeof(*lines), natural_cmp);
	for (size_t i = 0; lines && lines[i]; i++)
		printf("%s\n", lines[i]);
	return 0;
}

/* ---- prune ---- */

struct prune_opts {
	bool all, force, volumes;
	json_t *filters; /* docker's map-of-bools shape */
};

static bool parse_prune(int argc, char **argv, bool system, struct prune_opts *o)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{"filter", required_argument, NULL, 'F'},
		{"volumes", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, system ? "+af" : "+f", opts, NULL)) != -1) {
		if (opt == 'f')
			o->force = true;
		else if (opt == 'F')
			cli_add_filter(o->filters, optarg);
		else if (system && opt == 'a')
			o->all = true;
		else if (system && opt == 'V')
			o->volumes = true;
		else
			return false;
	}
	if (optind < argc) {
		cli_errorf("\"hamn %sprune\" accepts no arguments.",
			   system ? "system " : "container ");
		return false;
	}
	return true;
}

/* POST /<what>/prune with the filters; ENOENT when the daemon has no such route. */
static json_t *prune_call(struct hamn_client *c, const char *what, json_t *filters,
			  struct hamn_error **err)
{
	_cleanup_free_ char *base = xasprintf("/%s/prune", what);
	_cleanup_free_ char *path = cli_filtered_path(base, filters);
	json_t *res = NULL;

	if (hamn_client_json(c, "POST", path, NULL, &res, err) < 0)
		return NULL;
	return res ? res : json_object();
}

int64_t cli_print_deleted(json_t *res, const char *key, const char *title)
{
	json_t *list = json_object_get(res, key), *item;
	size_t i;

	json_array_foreach (list, i, item) {
		if (i == 0)
			printf("Deleted %s:\n", title);
		if (json_is_string(item))
			printf("%s\n", json_string_value(item));
		else if (json_object_get(item, "Untagged"))
			printf("untagged: %s\n",
			       json_string_value(json_object_get(item, "Untagged")) ?: "");
		else
			printf("deleted: %s\n",
			       json_string_value(json_object_get(item, "Deleted")) ?: "");
	}
	if (json_array_size(list))
		printf("\n");
	return json_integer_value(json_object_get(res, "SpaceReclaimed"));
}

void cli_print_reclaimed(int64_t space)
{
	_cleanup_free_ char *h = cli_human_size((double)space, 4);

	printf("Total reclaimed space: %s\n", h);
}

int cmd_container_prune(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *filters = json_object(), *res = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	struct prune_opts o = {.filters = filters};
	struct hamn_client *c;

	if (!parse_prune(argc, argv, false, &o))
		return 1;
	if (!o.force && !cli_confirm("WARNING! This will remove all stopped containers."))
		return 0;
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	res = prune_call(c, "containers", filters, &err);
	if (!res) {
		cli_daemon_error(err);
		return 1;
	}
	cli_print_reclaimed(cli_print_deleted(res, "ContainersDeleted", "Containers"));
	return 0;
}

static char *system_warning(const struct prune_opts *o)
{
	return xasprintf("WARNING! This will remove:\n"
			 "  - all stopped containers\n"
			 "  - all networks not used by at least one container\n"
			 "%s"
			 "  - %s\n"
			 "  - %s\n",
			 o->volumes ? "  - all volumes not used by at least one container\n" : "",
			 o->all ? "all images without at least one container associated to them"
				: "all dangling images",
			 o->all ? "all build cache" : "all dangling build cache");
}

/* One step of system prune: call, print, add up; a missing route is skipped. */
static int system_step(struct hamn_client *c, const char *what, json_t *filters, const char *key,
		       const char *title, int64_t *space)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *res = prune_call(c, what, filters, &err);

	if (!res && err->errnum == ENOENT && strstr(err->msg, "page not found"))
		return 0; /* this daemon has no such objects (yet) */
	if (!res) {
		cli_daemon_error(err);
		return -1;
	}
	*space += cli_print_deleted(res, key, title);
	return 0;
}

int cmd_system_prune(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *filters = json_object(), *img_filters = NULL;
	_cleanup_free_ char *warning = NULL;
	struct prune_opts o = {.filters = filters};
	struct hamn_client *c;
	int64_t space = 0;

	if (!parse_prune(argc, argv, true, &o))
		return 1;
	warning = system_warning(&o);
	if (!o.force && !cli_confirm(warning))
		return 0;
	if (!(c = cli_client(cli)))
		return CLI_EXIT_ERROR;
	/* -a: every unused image, not only dangling ones (docker's dangling=false) */
	img_filters = json_deep_copy(filters);
	if (o.all)
		cli_add_filter(img_filters, "dangling=false");
	if (system_step(c, "containers", filters, "ContainersDeleted", "Containers", &space) < 0 ||
	    system_step(c, "networks", filters, "NetworksDeleted", "Networks", &space) < 0 ||
	    (o.volumes &&
	     system_step(c, "volumes", filters, "VolumesDeleted", "Volumes", &space) < 0) ||
	    system_step(c, "images", img_filters, "ImagesDeleted", "Images", &space) < 0 ||
	    system_step(c, "build", filters, "CachesDeleted", "Build Cache", &space) < 0)
		return 1;
	cli_print_reclaimed(space);
	return 0;
}

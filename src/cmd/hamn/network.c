/*
 * network.c - `hamn network create|ls|inspect|rm|prune|connect|disconnect`,
 * with docker's flags and output. One command in the table ("network") that
 * dispatches to its subcommands.
 */
#include "cli.h"

/* "k=v" into obj; a missing '=' gives an empty value, as docker's -o/--label. */
static void add_kv(json_t *obj, const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);

	json_object_set_new(obj, key, json_string(eq ? eq + 1 : ""));
}

static const char *str_of(json_t *v, const char *key)
{
	const char *s = json_string_value(json_object_get(v, key));

	return s ? s : "";
}

static void daemon_error(struct hamn_error *err)
{
	fprintf(stderr, "Error response from daemon: %s\n", err->msg);
}

/* GET/POST path with ?filters= from a CLI filters object. */
static char *filtered_path(const char *base, json_t *filters)
{
	_cleanup_free_ char *fjson = hamn_json_dump(filters);
	_cleanup_free_ char *fenc = hamn_client_urlencode(fjson);

	return xasprintf("%s?filters=%s", base, fenc);
}

/* ---- create ---- */

struct create_args {
	const char *driver, *subnet, *gateway, *ip_range, *ipam_driver;
	bool internal, attachable, ipv6;
	json_t *labels, *opts;
};

static json_t *create_body(const char *name, const struct create_args *a)
{
	json_t *cfg = json_array();

	if (a->subnet || a->gateway || a->ip_range) {
		json_t *c = json_object();

		if (a->subnet)
			json_object_set_new(c, "Subnet", json_string(a->subnet));
		if (a->gateway)
			json_object_set_new(c, "Gateway", json_string(a->gateway));
		if (a->ip_range)
			json_object_set_new(c, "IPRange", json_string(a->ip_range));
		json_array_append_new(cfg, c);
	}
	return json_pack("{s:s, s:s, s:{s:s, s:{}, s:o}, s:b, s:b, s:b, s:O, s:O, s:b}", "Name",
			 name, "Driver", a->driver, "IPAM", "Driver", a->ipam_driver, "Options",
			 "Config", cfg, "Internal", a->internal, "Attachable", a->attachable,
			 "EnableIPv6", a->ipv6, "Options", a->opts, "Labels", a->labels,
			 "CheckDuplicate", 1);
}

static int parse_create(int argc, char **argv, struct create_args *a)
{
	static const struct option opts[] = {
		{"driver", required_argument, NULL, 'd'},
		{"subnet", required_argument, NULL, 's'},
		{"gateway", required_argument, NULL, 'g'},
		{"ip-range", required_argument, NULL, 'r'},
		{"ipam-driver", required_argument, NULL, 'I'},
		{"internal", no_argument, NULL, 'n'},
		{"attachable", no_argument, NULL, 'a'},
		{"ipv6", no_argument, NULL, '6'},
		{"label", required_argument, NULL, 'l'},
		{"opt", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			a->driver = optarg;
			break;
		case 's':
			a->subnet = optarg;
			break;
		case 'g':
			a->gateway = optarg;
			break;
		case 'r':
			a->ip_range = optarg;
			break;
		case 'I':
			a->ipam_driver = optarg;
			break;
		case 'n':
			a->internal = true;
			break;
		case 'a':
			a->attachable = true;
			break;
		case '6':
			a->ipv6 = true;
			break;
		case 'l':
			add_kv(a->labels, optarg);
			break;
		case 'o':
			add_kv(a->opts, optarg);
			break;
		default:
			return -1;
		}
	}
	if (optind + 1 != argc) {
		cli_errorf("\"network create\" requires exactly 1 argument");
		return -1;
	}
	return 0;
}

static int network_create(struct cli *cli, int argc, char **argv)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *labels = json_object(), *dopts = json_object();
	_cleanup_json_ json_t *body = NULL, *res = NULL;
	struct create_args a = {
		.driver = "bridge", .ipam_driver = "default", .labels = labels, .opts = dopts};
	struct hamn_client *c;

	if (parse_create(argc, argv, &a) < 0 || !(c = cli_client(cli)))
		return 1;
	body = create_body(argv[optind], &a);
	if (hamn_client_json(c, "POST", "/networks/create", body, &res, &err) < 0) {
		daemon_error(err);
		return 1;
	}
	printf("%s\n", str_of(res, "Id"));
	return 0;
}

/* ---- ls ---- */

static json_t *network_row(json_t *n, bool trunc)
{
	const char *id = str_of(n, "Id");
	char short_id[13];
	json_t *labels = json_object_get(n, "Labels"), *v;
	struct hamn_buf b = HAMN_BUF_INIT;
	const char *k;
	json_t *row;

	hamn_buf_puts(&b, "");
	json_object_foreach (labels, k, v)
		hamn_buf_printf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v));
	row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
			trunc ? cli_short_id(id, short_id) : id, "Name", str_of(n, "Name"),
			"Driver", str_of(n, "Driver"), "Scope", str_of(n, "Scope"), "IPv6",
			json_is_true(json_object_get(n, "EnableIPv6")) ? "true" : "false",
			"Internal", json_is_true(json_object_get(n, "Internal")) ? "true" : "false",
			"Labels", b.data, "CreatedAt", str_of(n, "Created"), "Status", "");
	hamn_buf_release(&b);
	return row;
}

static int network_ls(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"filter", required_argument, NULL, 'f'},
		{"format", required_argument, NULL, 'F'},
		{"quiet", no_argument, NULL, 'q'},
		{"no-trunc", no_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *filters = json_object(), *res = NULL, *rows = json_array();
	_cleanup_json_ json_t *headers =
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "NETWORK ID", "Name",
			  "NAME", "Driver", "DRIVER", "Scope", "SCOPE", "IPv6", "IPV6", "Internal",
			  "INTERNAL", "Labels", "LABELS", "CreatedAt", "CREATED AT");
	_cleanup_free_ char *path = NULL;
	const char *format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
	bool quiet = false, trunc = true;
	struct hamn_client *c;
	json_t *n;
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			cli_add_filter(filters, optarg);
			break;
		case 'F':
			format = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'T':
			trunc = false;
			break;
		default:
			return 1;
		}
	}
	if (quiet)
		format = "{{.ID}}";
	if (!(c = cli_client(cli)))
		return 1;
	path = filtered_path("/networks", filters);
	if (hamn_client_json(c, "GET", path, NULL, &res, &err) < 0) {
		daemon_error(err);
		return 1;
	}
	json_array_foreach (res, i, n)
		json_array_append_new(rows, network_row(n, trunc));
	if (cli_print_rows(rows, format, headers, &err) < 0) {
		cli_error(err);
		return 1;
	}
	return 0;
}

/* ---- inspect ---- */

static int network_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *all = json_array();
	_cleanup_free_ char *text = NULL;
	const char *format = NULL;
	struct hamn_client *c;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:v", opts, NULL)) != -1) {
		if (opt == 'f')
			format = optarg;
		else if (opt != 'v')
			return 1;
	}
	if (optind >= argc) {
		cli_errorf("\"network inspect\" requires at least 1 argument");
		return 1;
	}
	if (!(c = cli_client(cli)))
		return 1;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *enc = hamn_client_urlencode(argv[i]);
		_cleanup_free_ char *path = xasprintf("/networks/%s", enc);
		json_t *n = NULL;

		if (hamn_client_json(c, "GET", path, NULL, &n, &err) < 0) {
			if (err->errnum == ENOENT)
				fprintf(stderr, "Error: No such network: %s\n", argv[i]);
			else
				daemon_error(err);
			hamn_error_free(&err);
			rc = 1;
			continue;
		}
		json_array_append_new(all, n);
	}
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

/* ---- rm ---- */

static int network_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	bool force = false;
	struct hamn_client *c;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (opt != 'f')
			return 1;
		force = true;
	}
	if (optind >= argc) {
		cli_errorf("\"network rm\" requires at least 1 argument");
		return 1;
	}
	if (!(c = cli_client(cli)))
		return 1;
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ struct hamn_error *err = NULL;
		_cleanup_free_ char *enc = hamn_client_urlencode(argv[i]);
		_cleanup_free_ char *path = xasprintf("/networks/%s", enc);

		if (hamn_client_json(c, "DELETE", path, NULL, NULL, &err) < 0) {
			/* -f: a network that is not there is not an error */
			if (!(force && err->errnum == ENOENT)) {
				daemon_error(err);
				rc = 1;
			}
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

/* ---- prune ---- */

/* docker asks before pruning unless -f; anything but y/Y is a no. */
static bool confirm(void)
{
	char line[16] = "";

	fputs("WARNING! This will remove all custom networks not used by at least one container.\n"
	      "Are you sure you want to continue? [y/N] ",
	      stdout);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static int network_prune(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"filter", required_argument, NULL, 'F'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_json_ json_t *filters = json_object(), *res = NULL;
	_cleanup_free_ char *path = NULL;
	bool force = false;
	struct hamn_client *c;
	json_t *name;
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		switch (opt) {
		case 'F':
			cli_add_filter(filters, optarg);
			break;
		case 'f':
			force = true;
			break;
		default:
			return 1;
		}
	}
	if (!force && !confirm())
		return 0;
	if (!(c = cli_client(cli)))
		return 1;
	path = filtered_path("/networks/prune", filters);
	if (hamn_client_json(c, "POST", path, NULL, &res, &err) < 0) {
		daemon_error(err);
		return 1;
	}
	json_array_foreach (json_object_get(res, "NetworksDeleted"), i, name) {
		if (i == 0)
			printf("Deleted Networks:\n");
		printf("%s\n", json_string_value(name));
	}
	return 0;
}

/* ---- connect and disconnect ---- */

static int post_member(struct cli *cli, const char *net, const char *what, json_t *body)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *enc = hamn_client_urlencode(net);
	_cleanup_free_ char *path = xasprintf("/networks/%s/%s", enc, what);
	struct hamn_client *c = cli_client(cli);

	if (!c)
		return 1;
	if (hamn_client_json(c, "POST", path, body, NULL, &err) < 0) {
		daemon_error(err);
		return 1;
	}
	return 0;
}

static int network_connect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"alias", required_argument, NULL, 'a'},
		{"ip", required_argument, NULL, 'i'},
		{"link", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *aliases = json_array(), *body = NULL;
	const char *ip = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			json_array_append_new(aliases, json_string(optarg));
			break;
		case 'i':
			ip = optarg;
			break;
		case 'L':
			cli_errorf("--link is not supported: use a user-defined network");
			return 1;
		default:
			return 1;
		}
	}
	if (optind + 2 != argc) {
		cli_errorf("\"network connect\" requires exactly 2 arguments");
		return 1;
	}
	body = json_pack("{s:s, s:{s:O, s:o}}", "Container", argv[optind + 1], "EndpointConfig",
			 "Aliases", aliases, "IPAMConfig",
			 ip ? json_pack("{s:s}", "IPv4Address", ip) : json_null());
	return post_member(cli, argv[optind], "connect", body);
}

static int network_disconnect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_t *body = NULL;
	bool force = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (opt != 'f')
			return 1;
		force = true;
	}
	if (optind + 2 != argc) {
		cli_errorf("\"network disconnect\" requires exactly 2 arguments");
		return 1;
	}
	body = json_pack("{s:s, s:b}", "Container", argv[optind + 1], "Force", force);
	return post_member(cli, argv[optind], "disconnect", body);
}

/* ---- the group ---- */

static const struct cli_command subcommands[] = {
	{"network connect", network_connect, "[OPTIONS] NETWORK CONTAINER",
	 "Connect a container to a network"},
	{"network create", network_create, "[OPTIONS] NETWORK", "Create a network"},
	{"network disconnect", network_disconnect, "[OPTIONS] NETWORK CONTAINER",
	 "Disconnect a container from a network"},
	{"network inspect", network_inspect, "[OPTIONS] NETWORK [NETWORK...]",
	 "Display detailed information on one or more networks"},
	{"network ls", network_ls, "[OPTIONS]", "List networks"},
	{"network prune", network_prune, "[OPTIONS]", "Remove all unused networks"},
	{"network rm", network_rm, "NETWORK [NETWORK...]", "Remove one or more networks"},
	{NULL, NULL, NULL, NULL},
};

static const struct cli_command *find_sub(const char *name)
{
	if (streq(name, "list"))
		name = "ls";
	else if (streq(name, "remove"))
		name = "rm";
	for (const struct cli_command *s = subcommands; s->name; s++)
		if (streq(s->name + strlen("network "), name))
			return s;
	return NULL;
}

static void group_usage(FILE *to)
{
	fprintf(to, "\nUsage:  hamn network COMMAND\n\nManage networks\n\nCommands:\n");
	for (const struct cli_command *s = subcommands; s->name; s++)
		fprintf(to, "  %-11s %s\n", s->name + strlen("network "), s->summary);
	fprintf(to, "\nRun 'hamn network COMMAND --help' for more information on a command.\n");
}

int cmd_network(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *sub;

	if (argc < 2) {
		group_usage(stdout);
		return 0;
	}
	sub = find_sub(argv[1]);
	if (!sub) {
		cli_errorf("'%s' is not a hamn network command.\nSee 'hamn network --help'",
			   argv[1]);
		return 1;
	}
	if (cli_wants_help(sub, argc - 1, argv + 1))
		return 0;
	return sub->run(cli, argc - 1, argv + 1);
}

/* ---- run/create options (run.c forwards them here) ---- */

static json_t *member(json_t *obj, const char *key, bool array)
{
	json_t *v = json_object_get(obj, key);

	if (array ? !json_is_array(v) : !json_is_object(v)) {
		v = array ? json_array() : json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

/* "8000-8002" -> 8000, 8002; "80" -> 80, 80. */
static int port_range(const char *s, long *lo, long *hi)
{
	char *end;

	*lo = strtol(s, &end, 10);
	*hi = *lo;
	if (end == s)
		return -1;
	if (*end == '-') {
		const char *h = end + 1;

		*hi = strtol(h, &end, 10);
		if (end == h)
			return -1;
	}
	return *end || *lo < 1 || *hi > 65535 || *hi < *lo ? -1 : 0;
}

static void bind_port(json_t *config, json_t *host, long port, const char *proto, const char *ip,
		      const char *host_port)
{
	_cleanup_free_ char *key = xasprintf("%ld/%s", port, proto);

	json_object_set_new(member(config, "ExposedPorts", false), key, json_object());
	json_array_append_new(member(member(host, "PortBindings", false), key, true),
			      json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", host_port));
}

/* docker's -p: [ip:][hostPort:]containerPort[/proto], ports or ranges. */
static int add_publish(json_t *config, json_t *host, const char *arg, struct hamn_error **err)
{
	_cleanup_free_ char *spec = xstrdup(arg);
	_cleanup_strv_ char **parts = NULL;
	char *slash = strrchr(spec, '/');
	const char *proto = slash ? slash + 1 : "tcp", *ip = "", *hp = "", *cp;
	long clo, chi, hlo = 0, hhi = 0;
	size_t n;

	if (slash)
		*slash = '\0';
	parts = str_split(spec, ':');
	n = strv_len(parts);
	if (n < 1 || n > 3 ||
	    (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp")))
		goto bad;
	cp = parts[n - 1];
	if (n >= 2)
		hp = parts[n - 2];
	if (n == 3)
		ip = parts[0];
	if (port_range(cp, &clo, &chi) < 0 || (hp[0] && port_range(hp, &hlo, &hhi) < 0))
		goto bad;
	if (hp[0] && hhi - hlo != chi - clo && clo != chi)
		return hamn_error_setq(err, EINVAL,
				       "invalid ranges specified for container and "
				       "host Ports: %s and %s",
				       cp, hp);
	for (long p = clo; p <= chi; p++) {
		_cleanup_free_ char *one =
			clo == chi || !hp[0] ? xstrdup(hp) : xasprintf("%ld", hlo + (p - clo));

		bind_port(config, host, p, proto, ip, one);
	}
	return 0;
bad:
	return hamn_error_setq(err, EINVAL, "invalid port specification: \"%s\"", arg);
}

/* The settings of the --network network, kept under "" until the end (cli_net_run_finish). */
static json_t *pending_endpoint(json_t *config)
{
	json_t *nc = member(config, "NetworkingConfig", false);

	return member(member(nc, "EndpointsConfig", false), "", false);
}

int cli_net_run_option(json_t *config, json_t *host, int opt, const char *arg,
		       struct hamn_error **err)
{
	switch (opt) {
	case 'p':
		return add_publish(config, host, arg, err);
	case 'P':
		json_object_set_new(host, "PublishAllPorts", json_true());
		return 0;
	case CLI_NET_OPT_ALIAS:
		json_array_append_new(member(pending_endpoint(config), "Aliases", true),
				      json_string(arg));
		return 0;
	case CLI_NET_OPT_IP:
		json_object_set_new(pending_endpoint(config), "IPAMConfig",
				    json_pack("{s:s}", "IPv4Address", arg));
		return 0;
	case CLI_NET_OPT_MAC:
		json_object_set_new(pending_endpoint(config), "MacAddress", json_string(arg));
		return 0;
	case CLI_NET_OPT_DNS:
	case CLI_NET_OPT_DNS_SEARCH:
	case CLI_NET_OPT_DNS_OPTION:
	case CLI_NET_OPT_ADD_HOST: {
		static const char *const keys[] = {"Dns", "DnsSearch", "DnsOptions", "ExtraHosts"};

		if (opt == CLI_NET_OPT_ADD_HOST && !strchr(arg, ':') && !strchr(arg, '='))
			return hamn_error_setq(err, EINVAL, "bad format for add-host: \"%s\"", arg);
		json_array_append_new(member(host, keys[opt - CLI_NET_OPT_DNS], true),
				      json_string(arg));
		return 0;
	}
	default:
		return hamn_error_setq(err, EINVAL, "unknown option");
	}
}

void cli_net_run_finish(json_t *config)
{
	json_t *epc =
		json_object_get(json_object_get(config, "NetworkingConfig"), "EndpointsConfig");
	json_t *pending = json_object_get(epc, "");
	const char *mode = json_string_value(
		json_object_get(json_object_get(config, "HostConfig"), "NetworkMode"));

	if (!pending)
		return;
	json_object_set(epc, mode && mode[0] ? mode : "default", pending);
	json_object_del(epc, "");
}

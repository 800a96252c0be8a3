/*
 * network.c - `hamn network create|ls|inspect|rm|prune|connect|disconnect`,
 * with docker's flags and output. One command in the table ("network") that
 * dispatches to its subcommands.
 */
#include "cli.h"

static const struct cli_objtype network_type;

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
			cli_add_kv(a->labels, optarg);
			break;
		case 'o':
			cli_add_kv(a->opts, optarg);
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
		cli_daemon_error(err);
		return 1;
	}
	printf("%s\n", cli_str_of(res, "Id"));
	return 0;
}

/* ---- ls ---- */

static json_t *network_row(json_t *n, bool trunc)
{
	const char *id = cli_str_of(n, "Id");
	char short_id[13];
	_cleanup_free_ char *labels = cli_labels_text(json_object_get(n, "Labels"));

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
			 trunc ? cli_short_id(id, short_id) : id, "Name", cli_str_of(n, "Name"),
			 "Driver", cli_str_of(n, "Driver"), "Scope", cli_str_of(n, "Scope"), "IPv6",
			 json_is_true(json_object_get(n, "EnableIPv6")) ? "true" : "false",
			 "Internal", json_is_true(json_object_get(n, "Internal")) ? "true" : "false",
			 "Labels", labels, "CreatedAt", cli_str_of(n, "Created"), "Status", "");
}

static const char *const ls_headers[] = {
	"ID", "NETWORK ID", "Name", "NAME", "Driver", "DRIVER", "Scope", "SCOPE", "IPv6", "IPV6",
	"Internal", "INTERNAL", "Labels", "LABELS", "CreatedAt", "CREATED AT", NULL,
};

static int network_ls(struct cli *cli, int argc, char **argv)
{
	return cli_obj_ls(&network_type, cli, argc, argv);
}

/* ---- inspect ---- */

static int network_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	const char *format = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:v", opts, NULL)) != -1) {
		if (opt == 'f')
			format = optarg;
		else if (opt != 'v')
			return 1;
	}
	return cli_obj_inspect(&network_type, cli, argc - optind, argv + optind, format);
}

/* ---- rm and prune ---- */

static int network_rm(struct cli *cli, int argc, char **argv)
{
	return cli_obj_rm(&network_type, cli, argc, argv);
}

static int network_prune(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *res = NULL;

	return cli_obj_prune(&network_type, cli, argc, argv, &res);
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
		cli_daemon_error(err);
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

static const struct cli_objtype network_type = {
	.name = "network",
	.path = "/networks",
	.summary = "Manage networks",
	.subs = subcommands,
	.width = 11,
	.ls_row = network_row,
	.ls_headers = ls_headers,
	.ls_format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
	.ls_quiet_format = "{{.ID}}",
	.ls_no_trunc = true,
	.prune_warning = "all custom networks not used by at least one container",
	.prune_key = "NetworksDeleted",
	.prune_title = "Deleted Networks:",
};

int cmd_network(struct cli *cli, int argc, char **argv)
{
	return cli_obj_run(&network_type, cli, argc, argv);
}

/* ---- run/create options (run.c forwards them here) ---- */

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

	json_object_set_new(cli_member(config, "ExposedPorts", false), key, json_object());
	json_array_append_new(cli_member(cli_member(host, "PortBindings", false), key, true),
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
	json_t *nc = cli_member(config, "NetworkingConfig", false);

	return cli_member(cli_member(nc, "EndpointsConfig", false), "", false);
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
		json_array_append_new(cli_member(pending_endpoint(config), "Aliases", true),
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
		json_array_append_new(cli_member(host, keys[opt - CLI_NET_OPT_DNS], true),
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

/*
 * options.c - hamnd's flags and daemon.json, with dockerd's names and rules:
 * unknown config keys are an error, and a flag wins over the file.
 */
#include "cmd/hamnd/options.h"

#include <getopt.h>
#include <limits.h>
#include <strings.h>
#include <unistd.h>

void hamnd_options_release(struct hamnd_options *o)
{
	free(o->root);
	free(o->exec_root);
	hamn_strv_free(o->hosts);
	free(o->log_level);
	free(o->log_file);
	free(o->cgroup_parent);
	free(o->init_path);
	free(o->group);
	free(o->config_file);
	free(o->pidfile);
	free(o->tls_cert);
	free(o->tls_key);
	free(o->tls_ca);
	hamn_strv_free(o->insecure_registries);
	free(o->bridge);
	free(o->bip);
	hamn_strv_free(o->pool_bases);
	free(o->pool_sizes);
	hamn_strv_free(o->registry_mirrors);
	free(o->log_driver);
	if (o->log_opts)
		json_decref(o->log_opts);
	o->log_opts = NULL;
}

void hamnd_usage(FILE *out)
{
	fprintf(out,
		"Usage: hamnd [OPTIONS]\n"
		"\n"
		"The hamn container engine daemon (Docker Engine API 1.41).\n"
		"\n"
		"Options:\n"
		"      --config-file string    configuration file (default \"%s\")\n"
		"      --data-root string      root of persistent state (default \"%s\")\n"
		"      --root string           same as --data-root\n"
		"      --exec-root string      root of run-time state (default \"%s\")\n"
		"  -H, --host list             where to listen: unix:///path or tcp://addr:port\n"
		"                              (default unix:///run/hamn/hamn.sock)\n"
		"  -G, --group string          group owning the unix sockets (default root)\n"
		"  -p, --pidfile string        pid file (default <exec-root>/hamnd.pid)\n"
		"  -l, --log-level string      debug, info, warn or error (default \"info\")\n"
		"  -D, --debug                 same as --log-level debug\n"
		"      --log-file string       write logs to this file instead of stderr\n"
		"      --cgroup-parent string  parent cgroup of all containers\n"
		"      --init-path string      the init of `run --init` (default: hamn-init\n"
		"                              beside hamnd)\n"
		"      --default-pids-limit n  pids limit for containers that set none\n"
		"      --log-driver string     default logging driver of containers:\n"
		"                              json-file (default), local or none\n"
		"      --log-opt k=v           default option of that driver (repeatable):\n"
		"                              max-size, max-file, ...\n"
		"  -b, --bridge string         the default network's bridge (default \"hamn0\";\n"
		"                              \"none\": no default network)\n"
		"      --bip string            its address and prefix (\"10.213.5.1/24\")\n"
		"      --default-address-pool base=CIDR,size=N\n"
		"                              where network subnets come from (repeatable)\n"
		"      --ip-forward            set net.ipv4.ip_forward=1 (default true)\n"
		"      --mtu n                 MTU of the default network (default 1500)\n"
		"      --insecure-registry h   a registry (host[:port] or CIDR) that may use\n"
		"                              plain HTTP (repeatable)\n"
		"      --registry-mirror url   a mirror of Docker Hub (repeatable)\n"
		"      --max-concurrent-downloads n  layers pulled at once (default 3)\n"
		"      --max-concurrent-uploads n    layers pushed at once (default 5)\n"
		"      --tlscert string        server certificate (PEM) for tcp:// hosts\n"
		"      --tlskey string         server key (PEM)\n"
		"      --tlscacert string      CA (PEM) that must sign client certificates\n"
		"      --tlsverify             verify client certificates (always on with TLS)\n"
		"      --tls=false             allow tcp:// without TLS (as --insecure-tcp)\n"
		"      --insecure-tcp          allow tcp:// without TLS: anyone who can\n"
		"                              connect is root on this host\n"
		"  -v, --version               print the version and exit\n"
		"  -h, --help                  print this help and exit\n",
		HAMND_DEFAULT_CONFIG, HAMND_DEFAULT_ROOT, HAMND_DEFAULT_EXEC_ROOT);
}

/* Go-style flag bools: "--tls" is true, "--tls=false" / "--tls=0" false. */
static int parse_flag_bool(const char *name, const char *arg, enum opt_bool *out,
			   struct hamn_error **err)
{
	if (!arg || strcasecmp(arg, "true") == 0 || strcmp(arg, "1") == 0) {
		*out = OPT_TRUE;
		return 0;
	}
	if (strcasecmp(arg, "false") == 0 || strcmp(arg, "0") == 0) {
		*out = OPT_FALSE;
		return 0;
	}
	return hamn_error_setq(err, EINVAL, "invalid value '%s' for --%s: use true or false", arg,
			       name);
}

static void set_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

enum {
	OPT_ROOT = 1000,
	OPT_EXEC_ROOT,
	OPT_CGROUP_PARENT,
	OPT_INIT_PATH,
	OPT_CONFIG_FILE,
	OPT_LOG_FILE,
	OPT_TLS,
	OPT_TLSVERIFY,
	OPT_TLSCERT,
	OPT_TLSKEY,
	OPT_TLSCACERT,
	OPT_INSECURE_TCP,
	OPT_PIDS_LIMIT,
	OPT_BIP,
	OPT_POOL,
	OPT_IP_FORWARD,
	OPT_MTU,
	OPT_INSECURE_REGISTRY,
	OPT_REGISTRY_MIRROR,
	OPT_MAX_DOWNLOADS,
	OPT_MAX_UPLOADS,
	OPT_LOG_DRIVER,
	OPT_LOG_OPT,
};

static const struct option long_opts[] = {
	{"root", required_argument, NULL, OPT_ROOT},
	{"data-root", required_argument, NULL, OPT_ROOT},
	{"exec-root", required_argument, NULL, OPT_EXEC_ROOT},
	{"host", required_argument, NULL, 'H'},
	{"group", required_argument, NULL, 'G'},
	{"pidfile", required_argument, NULL, 'p'},
	{"log-level", required_argument, NULL, 'l'},
	{"debug", optional_argument, NULL, 'D'},
	{"log-file", required_argument, NULL, OPT_LOG_FILE},
	{"cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT},
	{"init-path", required_argument, NULL, OPT_INIT_PATH},
	{"config-file", required_argument, NULL, OPT_CONFIG_FILE},
	{"default-pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
	{"bridge", required_argument, NULL, 'b'},
	{"bip", required_argument, NULL, OPT_BIP},
	{"default-address-pool", required_argument, NULL, OPT_POOL},
	{"ip-forward", optional_argument, NULL, OPT_IP_FORWARD},
	{"mtu", required_argument, NULL, OPT_MTU},
	{"insecure-registry", required_argument, NULL, OPT_INSECURE_REGISTRY},
	{"registry-mirror", required_argument, NULL, OPT_REGISTRY_MIRROR},
	{"max-concurrent-downloads", required_argument, NULL, OPT_MAX_DOWNLOADS},
	{"max-concurrent-uploads", required_argument, NULL, OPT_MAX_UPLOADS},
	{"log-driver", required_argument, NULL, OPT_LOG_DRIVER},
	{"log-opt", required_argument, NULL, OPT_LOG_OPT},
	{"tls", optional_argument, NULL, OPT_TLS},
	{"tlsverify", optional_argument, NULL, OPT_TLSVERIFY},
	{"tlscert", required_argument, NULL, OPT_TLSCERT},
	{"tlskey", required_argument, NULL, OPT_TLSKEY},
	{"tlscacert", required_argument, NULL, OPT_TLSCACERT},
	{"insecure-tcp", optional_argument, NULL, OPT_INSECURE_TCP},
	{"version", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int parse_pids_limit(const char *arg, int64_t *out, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *perr = NULL;

	if (hamn_parse_int64(arg, out, &perr) < 0 || *out < 0)
		return hamn_error_setq(err, EINVAL, "invalid --default-pids-limit '%s'", arg);
	return 0;
}

/* --log-opt k=v: one default option of the log driver. */
static int parse_log_opt(const char *arg, struct hamnd_options *o, struct hamn_error **err)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = NULL;

	if (!eq || eq == arg)
		return hamn_error_setq(err, EINVAL, "invalid --log-opt '%s': want key=value", arg);
	key = xstrndup(arg, (size_t)(eq - arg));
	if (!o->log_opts)
		o->log_opts = json_object();
	json_object_set_new(o->log_opts, key, json_string(eq + 1));
	return 0;
}

/* --max-concurrent-downloads / -uploads: a positive count. */
static int parse_count(const char *name, const char *arg, int64_t *out, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *perr = NULL;

	if (hamn_parse_int64(arg, out, &perr) < 0 || *out < 1 || *out > 1000)
		return hamn_error_setq(err, EINVAL, "invalid --%s '%s'", name, arg);
	return 0;
}

/* A default address pool "base=CIDR,size=N" (dockerd's form). */
static int add_pool(struct hamnd_options *o, const char *base, int64_t size,
		    struct hamn_error **err)
{
	if (!base || !strchr(base, '/') || size < 8 || size > 30)
		return hamn_error_setq(err, EINVAL, "invalid default address pool: want "
				       "base=CIDR,size=N (N from 8 to 30)");
	strv_push(&o->pool_bases, base);
	o->pool_sizes = xreallocarray(o->pool_sizes, o->n_pools + 1, sizeof(int));
	o->pool_sizes[o->n_pools++] = (int)size;
	return 0;
}

static int parse_pool(const char *arg, struct hamnd_options *o, struct hamn_error **err)
{
	_cleanup_strv_ char **parts = str_split(arg, ',');
	_cleanup_error_ struct hamn_error *perr = NULL;
	const char *base = NULL;
	int64_t size = -1;

	for (char **p = parts; *p; p++) {
		if (str_has_prefix(*p, "base="))
			base = *p + 5;
		else if (!str_has_prefix(*p, "size=") || hamn_parse_int64(*p + 5, &size, &perr) < 0)
			return hamn_error_setq(err, EINVAL, "invalid --default-address-pool '%s'",
					       arg);
	}
	return add_pool(o, base, size, err);
}

static int parse_mtu(const char *arg, int64_t *out, struct hamn_error **err)
{
	_cleanup_error_ struct hamn_error *perr = NULL;

	if (hamn_parse_int64(arg, out, &perr) < 0 || *out < 68 || *out > 65535)
		return hamn_error_setq(err, EINVAL, "invalid --mtu '%s'", arg);
	return 0;
}

/* Options that set a string field. */
static char **string_field(int c, struct hamnd_options *o)
{
	switch (c) {
	case OPT_ROOT:
		return &o->root;
	case OPT_EXEC_ROOT:
		return &o->exec_root;
	case 'G':
		return &o->group;
	case 'p':
		return &o->pidfile;
	case 'l':
		return &o->log_level;
	case OPT_LOG_FILE:
		return &o->log_file;
	case OPT_CGROUP_PARENT:
		return &o->cgroup_parent;
	case OPT_INIT_PATH:
		return &o->init_path;
	case OPT_CONFIG_FILE:
		return &o->config_file;
	case OPT_TLSCERT:
		return &o->tls_cert;
	case OPT_TLSKEY:
		return &o->tls_key;
	case OPT_TLSCACERT:
		return &o->tls_ca;
	case 'b':
		return &o->bridge;
	case OPT_BIP:
		return &o->bip;
	case OPT_LOG_DRIVER:
		return &o->log_driver;
	default:
		return NULL;
	}
}

static int apply_option(int c, const char *arg, struct hamnd_options *o, struct hamn_error **err)
{
	char **field = string_field(c, o);

	if (field) {
		set_string(field, arg);
		o->config_file_given |= c == OPT_CONFIG_FILE;
		return 0;
	}
	switch (c) {
	case 'H':
		strv_push(&o->hosts, arg);
		return 0;
	case 'D':
		return parse_flag_bool("debug", arg, &o->debug, err);
	case OPT_TLS:
		return parse_flag_bool("tls", arg, &o->tls, err);
	case OPT_TLSVERIFY:
		return parse_flag_bool("tlsverify", arg, &o->tlsverify, err);
	case OPT_INSECURE_TCP:
		return parse_flag_bool("insecure-tcp", arg, &o->insecure_tcp, err);
	case OPT_PIDS_LIMIT:
		return parse_pids_limit(arg, &o->default_pids_limit, err);
	case OPT_POOL:
		return parse_pool(arg, o, err);
	case OPT_IP_FORWARD:
		return parse_flag_bool("ip-forward", arg, &o->ip_forward, err);
	case OPT_MTU:
		return parse_mtu(arg, &o->mtu, err);
	case OPT_INSECURE_REGISTRY:
		strv_push(&o->insecure_registries, arg);
		return 0;
	case OPT_REGISTRY_MIRROR:
		strv_push(&o->registry_mirrors, arg);
		return 0;
	case OPT_LOG_OPT:
		return parse_log_opt(arg, o, err);
	case OPT_MAX_DOWNLOADS:
		return parse_count("max-concurrent-downloads", arg, &o->max_downloads, err);
	case OPT_MAX_UPLOADS:
		return parse_count("max-concurrent-uploads", arg, &o->max_uploads, err);
	case 'v':
		o->show_version = true;
		return 0;
	case 'h':
		o->show_help = true;
		return 0;
	default:
		return hamn_error_setq(err, EINVAL, "unknown option (see --help)");
	}
}

int hamnd_options_parse_args(int argc, char **argv, struct hamnd_options *o,
			     struct hamn_error **err)
{
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":H:G:p:l:b:Dvh", long_opts, NULL)) != -1) {
		if (c == '?')
			return hamn_error_setq(err, EINVAL, "unknown option '%s' (see --help)",
					       argv[optind - 1]);
		if (c == ':')
			return hamn_error_setq(err, EINVAL, "option '%s' needs a value",
					       argv[optind - 1]);
		if (apply_option(c, optarg, o, err) < 0)
			return -1;
	}
	if (optind < argc)
		return hamn_error_setq(err, EINVAL, "unexpected argument '%s' (see --help)",
				       argv[optind]);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* daemon.json */

static const char *const known_keys[] = {
	"hosts",
	"data-root",
	"exec-root",
	"log-level",
	"debug",
	"group",
	"cgroup-parent",
	"init-path",
	"default-pids-limit",
	"bridge",
	"bip",
	"default-address-pools",
	"ip-forward",
	"mtu",
	"pidfile",
	"tls",
	"tlsverify",
	"tlscacert",
	"tlscert",
	"tlskey",
	"insecure-registries",
	"registry-mirrors",
	"max-concurrent-downloads",
	"max-concurrent-uploads",
	"log-driver",
	"log-opts",
	NULL,
};

static int check_keys(json_t *root, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf unknown = HAMN_BUF_INIT;
	const char *key;
	json_t *v;

	json_object_foreach (root, key, v) {
		if (strv_contains((char *const *)known_keys, key))
			continue;
		hamn_buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", key);
	}
	if (unknown.len)
		return hamn_error_setq(err, EINVAL,
				       "the following directives don't match any configuration "
				       "option: %s",
				       unknown.data);
	return 0;
}

static int file_string(json_t *root, const char *key, char **field, struct hamn_error **err)
{
	const char *v = NULL;

	if (hamn_json_get_string_opt(root, key, key, &v, err) < 0)
		return -1;
	if (v)
		set_string(field, v);
	return 0;
}

static int file_bool(json_t *root, const char *key, enum opt_bool *field, struct hamn_error **err)
{
	bool v = false;

	if (!json_object_get(root, key))
		return 0;
	if (hamn_json_get_bool_opt(root, key, key, &v, err) < 0)
		return -1;
	*field = v ? OPT_TRUE : OPT_FALSE;
	return 0;
}

static int file_strings(json_t *root, struct hamnd_options *o, struct hamn_error **err)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
		{"data-root", offsetof(struct hamnd_options, root)},
		{"exec-root", offsetof(struct hamnd_options, exec_root)},
		{"log-level", offsetof(struct hamnd_options, log_level)},
		{"group", offsetof(struct hamnd_options, group)},
		{"cgroup-parent", offsetof(struct hamnd_options, cgroup_parent)},
		{"init-path", offsetof(struct hamnd_options, init_path)},
		{"pidfile", offsetof(struct hamnd_options, pidfile)},
		{"tlscacert", offsetof(struct hamnd_options, tls_ca)},
		{"tlscert", offsetof(struct hamnd_options, tls_cert)},
		{"tlskey", offsetof(struct hamnd_options, tls_key)},
		{"bridge", offsetof(struct hamnd_options, bridge)},
		{"bip", offsetof(struct hamnd_options, bip)},
		{"log-driver", offsetof(struct hamnd_options, log_driver)},
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (file_string(root, fields[i].key, (char **)((char *)o + fields[i].off), err) < 0)
			return -1;
	return 0;
}

/* The registry client's settings (docs/distribution.md). */
static int file_registry(json_t *root, struct hamnd_options *o, struct hamn_error **err)
{
	if (hamn_json_get_strv_opt(root, "insecure-registries", "insecure-registries",
				   &o->insecure_registries, err) < 0 ||
	    hamn_json_get_strv_opt(root, "registry-mirrors", "registry-mirrors",
				   &o->registry_mirrors, err) < 0 ||
	    hamn_json_get_int_opt(root, "max-concurrent-downloads", "max-concurrent-downloads",
				  &o->max_downloads, err) < 0 ||
	    hamn_json_get_int_opt(root, "max-concurrent-uploads", "max-concurrent-uploads",
				  &o->max_uploads, err) < 0)
		return -1;
	if ((json_object_get(root, "max-concurrent-downloads") && o->max_downloads < 1) ||
	    (json_object_get(root, "max-concurrent-uploads") && o->max_uploads < 1))
		return hamn_error_setq(err, EINVAL, "max-concurrent-downloads and "
				       "max-concurrent-uploads must be at least 1");
	return 0;
}

/* "log-opts": {"max-size": "10m", ...}, values strings as dockerd wants them. */
static int file_log_opts(json_t *root, struct hamnd_options *o, struct hamn_error **err)
{
	json_t *opts = json_object_get(root, "log-opts"), *v;
	const char *k;

	if (!opts)
		return 0;
	if (!json_is_object(opts))
		return hamn_error_setq(err, EINVAL, "log-opts must be an object of strings");
	json_object_foreach(opts, k, v) {
		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL, "log-opts: the value of '%s' must be "
					       "a string", k);
	}
	o->log_opts = json_deep_copy(opts);
	return 0;
}

/* "default-address-pools": [{"base": "172.30.0.0/16", "size": 24}, ...] */
static int file_pools(json_t *root, struct hamnd_options *o, struct hamn_error **err)
{
	json_t *arr = NULL, *p;
	size_t i;

	if (hamn_json_get_array_opt(root, "default-address-pools", "default-address-pools", &arr,
				    err) < 0)
		return -1;
	json_array_foreach(arr, i, p) {
		const char *base = NULL;
		int64_t size = -1;

		if (!json_is_object(p))
			return hamn_error_setq(err, EINVAL, "default-address-pools: want objects "
					       "with base and size");
		if (hamn_json_get_string_opt(p, "base", "default-address-pools.base", &base, err) < 0 ||
		    hamn_json_get_int_opt(p, "size", "default-address-pools.size", &size, err) < 0 ||
		    add_pool(o, base, size, err) < 0)
			return -1;
	}
	return 0;
}

int hamnd_options_parse_file(const char *text, size_t len, struct hamnd_options *o,
			     struct hamn_error **err)
{
	_cleanup_json_ json_t *root = hamn_json_parse(text, len, err);
	int64_t pids = -1;

	if (!root)
		return -1;
	if (!json_is_object(root))
		return hamn_error_setq(err, EINVAL, "the configuration must be a JSON object");
	if (check_keys(root, err) < 0 || file_strings(root, o, err) < 0 ||
	    hamn_json_get_strv_opt(root, "hosts", "hosts", &o->hosts, err) < 0 ||
	    file_bool(root, "debug", &o->debug, err) < 0 ||
	    file_bool(root, "tls", &o->tls, err) < 0 ||
	    file_bool(root, "tlsverify", &o->tlsverify, err) < 0 ||
	    hamn_json_get_int_opt(root, "default-pids-limit", "default-pids-limit", &pids, err) < 0 ||
	    file_bool(root, "ip-forward", &o->ip_forward, err) < 0 ||
	    hamn_json_get_int_opt(root, "mtu", "mtu", &o->mtu, err) < 0 || file_pools(root, o, err) < 0 ||
	    file_registry(root, o, err) < 0 || file_log_opts(root, o, err) < 0)
		return -1;
	if (json_object_get(root, "default-pids-limit")) {
		if (pids < 0)
			return hamn_error_setq(err, EINVAL,
					       "default-pids-limit must not be negative");
		o->default_pids_limit = pids;
	}
	return 0;
}

int hamnd_options_load_file(const char *path, struct hamnd_options *file, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	if (hamn_read_file(AT_FDCWD, path, 1 << 20, &text, &len, err) < 0)
		return -1;
	if (hamnd_options_parse_file(text, len, file, err) < 0)
		return hamn_error_wrap(err, "config file '%s'", path);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Merging and defaults */

static void take_string(char **flag, char **file)
{
	if (!*flag)
		*flag = steal_pointer(file);
}

static void take_bool(enum opt_bool *flag, enum opt_bool file)
{
	if (*flag == OPT_UNSET)
		*flag = file;
}

/* Networking: a flag wins over the file; the pools come whole from one or the other. */
static void merge_network(struct hamnd_options *o, struct hamnd_options *f)
{
	take_string(&o->bridge, &f->bridge);
	take_string(&o->bip, &f->bip);
	if (!o->n_pools) {
		o->pool_bases = steal_pointer(&f->pool_bases);
		o->pool_sizes = steal_pointer(&f->pool_sizes);
		o->n_pools = f->n_pools;
		f->n_pools = 0;
	}
	take_bool(&o->ip_forward, f->ip_forward);
	if (o->mtu < 0)
		o->mtu = f->mtu;
}

static void merge(struct hamnd_options *o, struct hamnd_options *f)
{
	take_string(&o->root, &f->root);
	take_string(&o->exec_root, &f->exec_root);
	take_string(&o->log_level, &f->log_level);
	take_string(&o->group, &f->group);
	take_string(&o->cgroup_parent, &f->cgroup_parent);
	take_string(&o->init_path, &f->init_path);
	take_string(&o->pidfile, &f->pidfile);
	take_string(&o->tls_cert, &f->tls_cert);
	take_string(&o->tls_key, &f->tls_key);
	take_string(&o->tls_ca, &f->tls_ca);
	take_string(&o->log_driver, &f->log_driver);
	/* the options come whole from the flags or from the file */
	if (!o->log_opts)
		o->log_opts = steal_pointer(&f->log_opts);
	merge_network(o, f);
	if (!o->hosts)
		o->hosts = steal_pointer(&f->hosts);
	take_bool(&o->debug, f->debug);
	take_bool(&o->tls, f->tls);
	take_bool(&o->tlsverify, f->tlsverify);
	if (o->default_pids_limit < 0)
		o->default_pids_limit = f->default_pids_limit;
	/* registries: the file's lists come after the flags' */
	for (char **p = f->insecure_registries; p && *p; p++)
		strv_push(&o->insecure_registries, *p);
	for (char **p = f->registry_mirrors; p && *p; p++)
		strv_push(&o->registry_mirrors, *p);
	if (o->max_downloads < 0)
		o->max_downloads = f->max_downloads;
	if (o->max_uploads < 0)
		o->max_uploads = f->max_uploads;
}

/* Make a relative path absolute against the working directory. */
static void absolute(char **path)
{
	char cwd[PATH_MAX];
	char *abs;

	if (!*path || **path == '/' || !getcwd(cwd, sizeof(cwd)))
		return;
	abs = xasprintf("%s/%s", cwd, *path);
	free(*path);
	*path = abs;
}

static int apply_defaults(struct hamnd_options *o, struct hamn_error **err)
{
	if (!o->root)
		o->root = xstrdup(HAMND_DEFAULT_ROOT);
	if (!o->exec_root)
		o->exec_root = xstrdup(HAMND_DEFAULT_EXEC_ROOT);
	absolute(&o->root);
	absolute(&o->exec_root);
	if (!o->pidfile)
		o->pidfile = xasprintf("%s/hamnd.pid", o->exec_root);
	absolute(&o->pidfile);
	if (!o->hosts)
		strv_push(&o->hosts, "unix:///run/hamn/hamn.sock");
	if (o->tls == OPT_FALSE) {
		/* --tls=false: plain TCP, explicitly asked for */
		o->insecure_tcp = OPT_TRUE;
		free(o->tls_cert);
		free(o->tls_key);
		free(o->tls_ca);
		o->tls_cert = o->tls_key = o->tls_ca = NULL;
	}
	if (o->tlsverify == OPT_FALSE && o->tls_cert)
		return hamn_error_setq(
			err, EINVAL,
			"--tlsverify=false is not supported: TLS hosts always verify "
			"client certificates (use --insecure-tcp for plain TCP)");
	return 0;
}

int hamnd_options_finish(struct hamnd_options *o, struct hamn_error **err)
{
	struct hamnd_options file = HAMND_OPTIONS_INIT;
	_cleanup_error_ struct hamn_error *ferr = NULL;
	int rc;

	if (!o->config_file)
		o->config_file = xstrdup(HAMND_DEFAULT_CONFIG);
	rc = hamnd_options_load_file(o->config_file, &file, &ferr);
	if (rc < 0 && (ferr->errnum != ENOENT || o->config_file_given)) {
		hamnd_options_release(&file);
		return hamn_error_propagate(err, &ferr);
	}
	merge(o, &file);
	hamnd_options_release(&file);
	return apply_defaults(o, err);
}

int hamnd_options_log_level(const char *flag_level, enum opt_bool flag_debug,
			    const struct hamnd_options *file, struct hamn_error **err)
{
	const char *name = "info";
	int level;

	if (flag_level)
		name = flag_level;
	else if (flag_debug == OPT_TRUE)
		name = "debug";
	else if (file && file->log_level)
		name = file->log_level;
	else if (file && file->debug == OPT_TRUE)
		name = "debug";
	level = hamn_log_parse_level(name);
	if (level < 0)
		return hamn_error_setq(err, EINVAL, "unknown log level '%s'", name);
	return level;
}

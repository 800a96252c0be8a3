/*
 * netctl.c - hamn-netctl, a test driver for src/network (test-only, never installed).
 *
 * The network library needs a long-lived process (the DNS thread, the port
 * reservations), so the driver is a tiny server plus a client:
 *
 *   hamn-netctl serve --sock S --state DIR --instance NAME [--bridge BR|none]
 *                     [--subnet CIDR] [--pool CIDR/SIZE]... [--upstream IP[:PORT]]...
 *                     [--resolv FILE] [--mtu N]
 *   hamn-netctl --sock S COMMAND ARGS...
 *
 * Commands (one per connection; arguments must not contain spaces):
 *   create NAME [subnet=] [gateway=] [range=] [internal] [opt=KEY=VALUE]...
 *   rm NET | inspect NET | ls | purge | quit
 *   connect NET CONTAINER NETNS_PATH [name=] [alias=]... [ip=] [mac=] [ifname=]
 *           [port=SPEC]... [dns=SERVER]...            prints the endpoint id
 *   publish EP SPEC...  |  disconnect EP
 *   endpoint EP                              settings, ports, ifname, host_ifname (JSON)
 *   reconcile [keep=NETID]... [live=EP=NETNS_PATH]...
 *   bench NET N                              N connect+disconnect cycles, mean times
 * The reply is "ok" or "err ERRNO message", then the output.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/base.h"
#include "network/network.h"

#define LINE_MAX_LEN 65536

struct server {
	struct hamn_net_ctx *ctx;
	bool quit;
};

static const char *arg_value(const char *arg, const char *key)
{
	size_t n = strlen(key);

	return strncmp(arg, key, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int open_netns(const char *path, int *fd, struct hamn_error **err)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return hamn_error_set(err, errno, "open '%s'", path);
	return 0;
}

static int cmd_create(struct server *s, char **argv, struct hamn_buf *out, struct hamn_error **err)
{
	struct hamn_net_create_opts o = {.name = argv[1]};
	_cleanup_json_ json_t *opts = json_object();
	_cleanup_free_ char *id = NULL;

	for (char **a = argv + 2; *a; a++) {
		const char *v;

		if ((v = arg_value(*a, "subnet")))
			o.subnet = v;
		else if ((v = arg_value(*a, "gateway")))
			o.gateway = v;
		else if ((v = arg_value(*a, "range")))
			o.ip_range = v;
		else if (streq(*a, "internal"))
			o.internal = true;
		else if ((v = arg_value(*a, "opt")) && strchr(v, '=')) {
			_cleanup_free_ char *k = xstrndup(v, (size_t)(strchr(v, '=') - v));
			json_object_set_new(opts, k, json_string(strchr(v, '=') + 1));
		} else
			return hamn_error_setq(err, EINVAL, "create: bad argument '%s'", *a);
	}
	o.options = opts;
	if (hamn_net_create(s->ctx, &o, &id, err) < 0)
		return -1;
	hamn_buf_printf(out, "%s\n", id);
	return 0;
}

static int parse_ports(const char *spec, struct hamn_net_port **ports, size_t *n,
		       struct hamn_error **err)
{
	_cleanup_free_ struct hamn_net_port *v = NULL;
	size_t k = 0;

	if (hamn_net_port_parse(spec, &v, &k, err) < 0)
		return -1;
	*ports = xreallocarray(*ports, *n + k, sizeof(**ports));
	memcpy(*ports + *n, v, k * sizeof(*v));
	*n += k;
	return 0;
}

static int connect_args(char **argv, struct hamn_net_endpoint_opts *o, char ***aliases, char ***dns,
			struct hamn_net_port **ports, size_t *n_ports, struct hamn_error **err)
{
	for (char **a = argv; *a; a++) {
		const char *v;

		if ((v = arg_value(*a, "name")))
			o->container_name = v;
		else if ((v = arg_value(*a, "alias")))
			strv_push(aliases, v);
		else if ((v = arg_value(*a, "ip")))
			o->ipv4 = v;
		else if ((v = arg_value(*a, "mac")))
			o->mac = v;
		else if ((v = arg_value(*a, "ifname")))
			o->ifname = v;
		else if ((v = arg_value(*a, "dns")))
			strv_push(dns, v);
		else if ((v = arg_value(*a, "port"))) {
			if (parse_ports(v, ports, n_ports, err) < 0)
				return -1;
		} else
			return hamn_error_setq(err, EINVAL, "connect: bad argument '%s'", *a);
	}
	return 0;
}

static int cmd_connect(struct server *s, char **argv, struct hamn_buf *out, struct hamn_error **err)
{
	struct hamn_net_endpoint_opts o = HAMN_NET_ENDPOINT_OPTS_INIT;
	_cleanup_strv_ char **aliases = NULL, **dns = NULL;
	_cleanup_free_ struct hamn_net_port *ports = NULL;
	_cleanup_free_ char *id = NULL;
	_cleanup_close_ int fd = -1;

	if (!argv[1] || !argv[2] || !argv[3])
		return hamn_error_setq(err, EINVAL, "usage: connect NET CONTAINER NETNS_PATH ...");
	o.network = argv[1];
	o.container_id = argv[2];
	if (open_netns(argv[3], &fd, err) < 0 ||
	    connect_args(argv + 4, &o, &aliases, &dns, &ports, &o.n_ports, err) < 0)
		return -1;
	o.netns_fd = fd;
	o.aliases = aliases;
	o.dns_servers = dns;
	o.ports = ports;
	if (hamn_net_endpoint_add(s->ctx, &o, &id, err) < 0)
		return -1;
	hamn_buf_printf(out, "%s\n", id);
	return 0;
}

static int cmd_publish(struct server *s, char **argv, struct hamn_buf *out, struct hamn_error **err)
{
	_cleanup_free_ struct hamn_net_port *ports = NULL;
	size_t n = 0;

	(void)out;
	if (!argv[1])
		return hamn_error_setq(err, EINVAL, "usage: publish EP SPEC...");
	for (char **a = argv + 2; *a; a++)
		if (parse_ports(*a, &ports, &n, err) < 0)
			return -1;
	return hamn_net_publish(s->ctx, argv[1], ports, n, err);
}

static int put_json(struct hamn_buf *out, json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	hamn_buf_printf(out, "%s\n", text ? text : "null");
	free(text);
	json_decref(j);
	return 0;
}

static int cmd_endpoint(struct server *s, char **argv, struct hamn_buf *out,
			struct hamn_error **err)
{
	struct hamn_net_endpoint_info info;
	json_t *settings, *ports;

	if (!argv[1])
		return hamn_error_setq(err, EINVAL, "usage: endpoint EP");
	settings = hamn_net_endpoint_json(s->ctx, argv[1], err);
	if (!settings)
		return -1;
	ports = hamn_net_endpoint_ports_json(s->ctx, argv[1], err);
	if (!ports) {
		json_decref(settings);
		return -1;
	}
	if (hamn_net_endpoint_get(s->ctx, argv[1], &info, err) < 0) {
		json_decref(settings);
		json_decref(ports);
		return -1;
	}
	return put_json(out, json_pack("{s:o, s:o, s:s, s:s}", "settings", settings, "ports", ports,
				       "host_ifname", info.host_ifname, "ifname", info.ifname));
}

/* A new network namespace, as an fd (made on a thread: the caller's netns stays). */
static void *new_netns_thread(void *arg)
{
	int *fd = arg;

	*fd = -1;
	if (unshare(CLONE_NEWNET) == 0)
		*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return NULL;
}

static int new_netns(int *fd, struct hamn_error **err)
{
	pthread_t t;

	if (pthread_create(&t, NULL, new_netns_thread, fd) != 0)
		return hamn_error_setq(err, EAGAIN, "cannot start a thread");
	pthread_join(t, NULL);
	if (*fd < 0)
		return hamn_error_set(err, errno, "new network namespace");
	return 0;
}

/*
 * bench NET N: N containers, each in a fresh netns as `run --rm` would have:
 * connect, disconnect, drop the netns. Prints the mean cost of each half.
 */
static int cmd_bench(struct server *s, char **argv, struct hamn_buf *out, struct hamn_error **err)
{
	struct hamn_net_endpoint_opts o = HAMN_NET_ENDPOINT_OPTS_INIT;
	int64_t add_ns = 0, rm_ns = 0, n;

	if (!argv[1] || !argv[2] || hamn_parse_int64(argv[2], &n, NULL) < 0 || n < 1)
		return hamn_error_setq(err, EINVAL, "usage: bench NET N");
	o.network = argv[1];
	o.container_id = "bench";
	for (int64_t i = 0; i < n; i++) {
		_cleanup_free_ char *id = NULL;
		_cleanup_close_ int fd = -1;
		int64_t t0, t1;

		if (new_netns(&fd, err) < 0)
			return -1;
		o.netns_fd = fd;
		t0 = hamn_monotonic_ns();
		if (hamn_net_endpoint_add(s->ctx, &o, &id, err) < 0)
			return -1;
		t1 = hamn_monotonic_ns();
		if (hamn_net_endpoint_remove(s->ctx, id, err) < 0)
			return -1;
		add_ns += t1 - t0;
		rm_ns += hamn_monotonic_ns() - t1;
	}
	hamn_buf_printf(out, "connect_us=%lld disconnect_us=%lld\n", (long long)(add_ns / n / 1000),
			(long long)(rm_ns / n / 1000));
	return 0;
}

static int cmd_reconcile(struct server *s, char **argv, struct hamn_error **err)
{
	_cleanup_strv_ char **keep = NULL, **ids = NULL;
	struct hamn_net_live_endpoint live[64];
	size_t n = 0;
	int rc;

	for (char **a = argv + 1; *a; a++) {
		const char *v, *eq;

		if ((v = arg_value(*a, "keep"))) {
			strv_push(&keep, v);
		} else if ((v = arg_value(*a, "live")) && (eq = strchr(v, '=')) && n < 64) {
			strv_push_take(&ids, xstrndup(v, (size_t)(eq - v)));
			live[n].endpoint_id = ids[n];
			live[n].netns_fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
			n++;
		} else {
			return hamn_error_setq(err, EINVAL, "reconcile: bad argument '%s'", *a);
		}
	}
	rc = hamn_net_reconcile(s->ctx, keep, live, n, err);
	for (size_t i = 0; i < n; i++)
		if (live[i].netns_fd >= 0)
			close(live[i].netns_fd);
	return rc;
}

static int run_command(struct server *s, char **argv, struct hamn_buf *out, struct hamn_error **err)
{
	const char *c = argv[0];

	if (!c)
		return hamn_error_setq(err, EINVAL, "no command");
	if (streq(c, "create") && argv[1])
		return cmd_create(s, argv, out, err);
	if (streq(c, "rm") && argv[1])
		return hamn_net_remove(s->ctx, argv[1], err);
	if (streq(c, "inspect") && argv[1]) {
		json_t *j = hamn_net_inspect_json(s->ctx, argv[1], err);
		return j ? put_json(out, j) : -1;
	}
	if (streq(c, "ls"))
		return put_json(out, hamn_net_list_json(s->ctx));
	if (streq(c, "connect"))
		return cmd_connect(s, argv, out, err);
	if (streq(c, "publish"))
		return cmd_publish(s, argv, out, err);
	if (streq(c, "disconnect") && argv[1])
		return hamn_net_endpoint_remove(s->ctx, argv[1], err);
	if (streq(c, "endpoint"))
		return cmd_endpoint(s, argv, out, err);
	if (streq(c, "reconcile"))
		return cmd_reconcile(s, argv, err);
	if (streq(c, "bench"))
		return cmd_bench(s, argv, out, err);
	if (streq(c, "purge"))
		return hamn_net_purge(s->ctx, err);
	if (streq(c, "quit")) {
		s->quit = true;
		return 0;
	}
	return hamn_error_setq(err, EINVAL, "unknown command '%s'", c);
}

/* ------------------------------------------------------------------ */
/* Transport: one line per connection                                   */
/* ------------------------------------------------------------------ */

static int unix_addr(const char *path, struct sockaddr_un *a, struct hamn_error **err)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return hamn_error_setq(err, ENAMETOOLONG, "socket path too long");
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return 0;
}

static char *read_line(int fd)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	char c;

	while (b.len < LINE_MAX_LEN && read(fd, &c, 1) == 1 && c != '\n')
		hamn_buf_putc(&b, c);
	return hamn_buf_steal(&b);
}

static void serve_one(struct server *s, int fd)
{
	_cleanup_free_ char *line = read_line(fd);
	_cleanup_strv_ char **argv = NULL;
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	_cleanup_buf_ struct hamn_buf reply = HAMN_BUF_INIT;
	struct hamn_error *err = NULL;
	char **words = str_split(line, ' ');

	for (char **w = words; w && *w; w++)
		if (**w)
			strv_push(&argv, *w);
	hamn_strv_free(words);
	if (!argv)
		argv = xcalloc(1, sizeof(char *));
	if (run_command(s, argv, &out, &err) < 0) {
		hamn_buf_printf(&reply, "err %s %s\n", hamn_errno_name(err->errnum), err->msg);
		hamn_error_free(&err);
	} else {
		hamn_buf_puts(&reply, "ok\n");
	}
	if (out.len)
		hamn_buf_append(&reply, out.data, out.len);
	if (reply.len && hamn_write_all(fd, reply.data, reply.len, &err) < 0)
		hamn_error_free(&err);
}

static int serve_loop(struct server *s, const char *path, struct hamn_error **err)
{
	struct sockaddr_un a;
	_cleanup_close_ int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (lfd < 0 || unix_addr(path, &a, err) < 0)
		return lfd < 0 ? hamn_error_set(err, errno, "socket") : -1;
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0)
		return hamn_error_set(err, errno, "listen on '%s'", path);
	while (!s->quit) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return hamn_error_set(err, errno, "accept");
		}
		serve_one(s, fd);
		close(fd);
	}
	unlink(path);
	return 0;
}

struct serve_opts {
	struct hamn_net_config cfg;
	const char *sock;
	char **upstreams;
	struct hamn_net_pool pools[8];
	char *pool_bases[8];
};

static int parse_pool(struct serve_opts *o, const char *v, struct hamn_error **err)
{
	const char *slash = strrchr(v, '/');
	int64_t size;

	if (o->cfg.n_pools >= 8 || !slash || hamn_parse_int64(slash + 1, &size, NULL) < 0)
		return hamn_error_setq(err, EINVAL, "bad --pool '%s': want CIDR/SIZE", v);
	o->pool_bases[o->cfg.n_pools] = xstrndup(v, (size_t)(slash - v));
	o->pools[o->cfg.n_pools].base = o->pool_bases[o->cfg.n_pools];
	o->pools[o->cfg.n_pools].size = (int)size;
	o->cfg.n_pools++;
	o->cfg.pools = o->pools;
	return 0;
}

static int serve_args(int argc, char **argv, struct serve_opts *o, struct hamn_error **err)
{
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return hamn_error_setq(err, EINVAL, "option '%s' needs a value", k);
		i++;
		if (streq(k, "--sock"))
			o->sock = v;
		else if (streq(k, "--state"))
			o->cfg.state_dir = v;
		else if (streq(k, "--instance"))
			o->cfg.instance = v;
		else if (streq(k, "--bridge"))
			o->cfg.default_bridge = v;
		else if (streq(k, "--subnet"))
			o->cfg.default_subnet = v;
		else if (streq(k, "--resolv"))
			o->cfg.resolv_conf = v;
		else if (streq(k, "--mtu"))
			o->cfg.mtu = atoi(v);
		else if (streq(k, "--upstream"))
			strv_push(&o->upstreams, v);
		else if (streq(k, "--pool")) {
			if (parse_pool(o, v, err) < 0)
				return -1;
		} else
			return hamn_error_setq(err, EINVAL, "unknown option '%s'", k);
	}
	if (!o->sock)
		return hamn_error_setq(err, EINVAL, "serve needs --sock");
	o->cfg.dns_upstreams = o->upstreams;
	return 0;
}

static int serve(int argc, char **argv, struct hamn_error **err)
{
	struct serve_opts o;
	struct server s = {0};
	int rc;

	memset(&o, 0, sizeof(o));
	if (serve_args(argc, argv, &o, err) < 0)
		return -1;
	s.ctx = hamn_net_ctx_new(&o.cfg, err);
	rc = s.ctx ? serve_loop(&s, o.sock, err) : -1;
	hamn_net_ctx_free(s.ctx);
	hamn_strv_free(o.upstreams);
	for (size_t i = 0; i < o.cfg.n_pools; i++)
		free(o.pool_bases[i]);
	return rc;
}

static int client(const char *sock, int argc, char **argv, struct hamn_error **err)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	_cleanup_strv_ char **words = NULL;
	_cleanup_free_ char *line = NULL, *reply = NULL;
	struct sockaddr_un a;

	if (fd < 0 || unix_addr(sock, &a, err) < 0)
		return fd < 0 ? hamn_error_set(err, errno, "socket") : -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return hamn_error_set(err, errno, "connect to '%s'", sock);
	for (int i = 0; i < argc; i++)
		strv_push(&words, argv[i]);
	line = strv_join(words, " ");
	if (hamn_write_all(fd, line, strlen(line), err) < 0 || hamn_write_all(fd, "\n", 1, err) < 0)
		return -1;
	if (hamn_read_fd(fd, 16 << 20, &reply, NULL, err) < 0)
		return -1;
	if (str_has_prefix(reply, "ok\n")) {
		fputs(reply + 3, stdout);
		return 0;
	}
	return hamn_error_setq(err, EIO, "%s", str_has_prefix(reply, "err ") ? reply + 4 : reply);
}

int main(int argc, char **argv)
{
	struct hamn_error *err = NULL;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && streq(argv[1], "serve"))
		rc = serve(argc, argv, &err);
	else if (argc >= 4 && streq(argv[1], "--sock"))
		rc = client(argv[2], argc - 3, argv + 3, &err);
	else
		rc = hamn_error_setq(&err, EINVAL,
				     "usage: hamn-netctl serve ... | hamn-netctl --sock S CMD ...");
	if (rc < 0) {
		fprintf(stderr, "hamn-netctl: %s\n", err->msg);
		hamn_error_free(&err);
		return 1;
	}
	return 0;
}

/*
 * system.c - the system endpoints every client calls first: HEAD/GET /_ping
 * (version negotiation), GET /version and GET /info.
 *
 * /info is built from host facts (hostinfo.c). What only the engine knows -
 * container and image counts, runtimes, security options - comes from the
 * info provider the engine registers (struct hamn_api_system_config.info_fn).
 */
#include "api/internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

/* There is no Go here; /version's GoVersion names the compiler instead. */
#define BUILD_TOOLCHAIN "gcc " __VERSION__
#define GIT_COMMIT "hamn-" HAMN_VERSION

struct system_ctx {
	char *root_dir;
	char *exec_root;
	char *cgroup_parent;
	bool debug;
	bool insecure_tcp;
	hamn_api_info_fn info_fn;
	void *info_ctx;
	char *id;
	char build_time[HAMN_TIME_STR_MAX];
};

static void system_ctx_free(void *p)
{
	struct system_ctx *c = p;

	free(c->root_dir);
	free(c->exec_root);
	free(c->cgroup_parent);
	free(c->id);
	free(c);
}

static int ping(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	bool head = streq(hamn_api_req_method(req), "HEAD");

	(void)ctx;
	(void)err;
	hamn_api_reply_header(req, "Cache-Control", "no-cache, no-store, must-revalidate");
	hamn_api_reply_header(req, "Pragma", "no-cache");
	/* dockerd answers HEAD with Content-Length: 0, not the length GET would have */
	return hamn_api_reply_data(req, 200, "text/plain; charset=utf-8", head ? "" : "OK",
				   head ? 0 : 2);
}

static int version(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct system_ctx *c = ctx;
	struct utsname u;
	const char *arch;
	json_t *details, *v;

	(void)err;
	uname(&u);
	arch = api_go_arch(u.machine);
	details = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion", HAMN_API_VERSION,
			    "Arch", arch, "BuildTime", c->build_time, "Experimental", "false",
			    "GitCommit", GIT_COMMIT, "GoVersion", BUILD_TOOLCHAIN, "KernelVersion",
			    u.release, "MinAPIVersion", HAMN_API_MIN_VERSION, "Os", "linux");
	v = json_pack("{s:{s:s},s:[{s:s,s:s,s:o},{s:s,s:s,s:{s:s}}],s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
		      "s:s,s:s}",
		      "Platform", "Name", "hamn " HAMN_VERSION, "Components", "Name", "Engine",
		      "Version", HAMN_API_ENGINE_VERSION, "Details", details, "Name", "hamn",
		      "Version", HAMN_VERSION, "Details", "GitCommit", GIT_COMMIT, "Version",
		      HAMN_API_ENGINE_VERSION, "ApiVersion", HAMN_API_VERSION, "MinAPIVersion",
		      HAMN_API_MIN_VERSION, "GitCommit", GIT_COMMIT, "GoVersion", BUILD_TOOLCHAIN,
		      "Os", "linux", "Arch", arch, "KernelVersion", u.release, "BuildTime",
		      c->build_time);
	return hamn_api_reply_json(req, 200, v);
}

/* OperatingSystem, OSVersion, OSType, Architecture, KernelVersion, Name. */
static void add_os(json_t *info)
{
	_cleanup_free_ char *pretty = api_os_release("PRETTY_NAME");
	_cleanup_free_ char *version_id = api_os_release("VERSION_ID");
	char host[256] = "";
	struct utsname u;

	uname(&u);
	gethostname(host, sizeof(host) - 1);
	json_object_set_new(info, "KernelVersion", json_string(u.release));
	json_object_set_new(info, "OperatingSystem", json_string(pretty ? pretty : "Linux"));
	json_object_set_new(info, "OSVersion", json_string(version_id ? version_id : ""));
	json_object_set_new(info, "OSType", json_string("linux"));
	json_object_set_new(info, "Architecture", json_string(u.machine));
	json_object_set_new(info, "Name", json_string(host));
}

static void add_resources(json_t *info, const struct system_ctx *c)
{
	char now[HAMN_TIME_STR_MAX];

	json_object_set_new(info, "NCPU", json_integer(api_ncpu()));
	json_object_set_new(info, "MemTotal", json_integer(api_mem_total()));
	json_object_set_new(info, "NFd", json_integer(api_count_fds()));
	/* the closest thing to goroutines: this daemon's threads */
	json_object_set_new(info, "NGoroutines", json_integer(api_count_threads()));
	json_object_set_new(info, "SystemTime", json_string(hamn_time_format(hamn_now_ns(), now)));
	json_object_set_new(info, "DockerRootDir", json_string(c->root_dir));
	json_object_set_new(info, "IPv4Forwarding",
			    json_boolean(api_read_flag("/proc/sys/net/ipv4/ip_forward")));
	json_object_set_new(
		info, "BridgeNfIptables",
		json_boolean(api_read_flag("/proc/sys/net/bridge/bridge-nf-call-iptables")));
	json_object_set_new(
		info, "BridgeNfIp6tables",
		json_boolean(api_read_flag("/proc/sys/net/bridge/bridge-nf-call-ip6tables")));
}

/* json_string() of a heap string, which is freed ("" if not valid UTF-8). */
static json_t *string_take(char *s)
{
	json_t *j = json_string(s);

	free(s);
	return j ? j : json_string("");
}

static void add_proxies(json_t *info)
{
	json_object_set_new(info, "HttpProxy",
			    string_take(api_proxy_env("HTTP_PROXY", "http_proxy")));
	json_object_set_new(info, "HttpsProxy",
			    string_take(api_proxy_env("HTTPS_PROXY", "https_proxy")));
	json_object_set_new(info, "NoProxy", string_take(api_proxy_env("NO_PROXY", "no_proxy")));
}

static json_t *registry_config(void)
{
	return json_pack("{s:[],s:[],s:[s],s:{s:{s:s,s:[],s:b,s:b}},s:[]}",
			 "AllowNondistributableArtifactsCIDRs",
			 "AllowNondistributableArtifactsHostnames", "InsecureRegistryCIDRs",
			 "127.0.0.0/8", "IndexConfigs", "docker.io", "Name", "docker.io", "Mirrors",
			 "Secure", 1, "Official", 1, "Mirrors");
}

static json_t *swarm_inactive(void)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:s,s:n}", "NodeID", "", "NodeAddr", "",
			 "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
			 "RemoteManagers");
}

static json_t *no_commit(void)
{
	return json_pack("{s:s,s:s}", "ID", "", "Expected", "");
}

/* Counts and capabilities: the engine's provider replaces these (zero until it exists). */
static json_t *engine_defaults(void)
{
	return json_pack("{s:i,s:i,s:i,s:i,s:i,s:{s:[s],s:[s,s,s],s:n,s:[s]},s:s,s:{s:{s:s}},"
			 "s:[]}",
			 "Containers", 0, "ContainersRunning", 0, "ContainersPaused", 0,
			 "ContainersStopped", 0, "Images", 0, "Plugins", "Volume", "local",
			 "Network", "bridge", "host", "null", "Authorization", "Log", "json-file",
			 "DefaultRuntime", "runc", "Runtimes", "runc", "path", "hamn-runtime",
			 "SecurityOptions");
}

/* What this daemon is configured to be. */
static json_t *info_skeleton(const struct system_ctx *c)
{
	json_t *v = engine_defaults();

	json_object_set_new(v, "ID", json_string(c->id));
	json_object_set_new(v, "Driver", json_string("overlay2"));
	json_object_set_new(v, "DriverStatus",
			    json_pack("[[s,s]]", "Backing Filesystem", api_fs_name(c->root_dir)));
	json_object_set_new(v, "Debug", json_boolean(c->debug));
	json_object_set_new(v, "LoggingDriver", json_string("json-file"));
	json_object_set_new(v, "CgroupDriver", json_string("cgroupfs"));
	json_object_set_new(v, "CgroupParent",
			    json_string(c->cgroup_parent ? c->cgroup_parent : ""));
	json_object_set_new(v, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
	json_object_set_new(v, "RegistryConfig", registry_config());
	json_object_set_new(v, "GenericResources", json_null());
	json_object_set_new(v, "Labels", json_array());
	json_object_set_new(v, "ExperimentalBuild", json_false());
	json_object_set_new(v, "ServerVersion", json_string(HAMN_API_ENGINE_VERSION));
	json_object_set_new(v, "Swarm", swarm_inactive());
	json_object_set_new(v, "LiveRestoreEnabled", json_false());
	json_object_set_new(v, "Isolation", json_string(""));
	json_object_set_new(v, "InitBinary", json_string(""));
	json_object_set_new(v, "ContainerdCommit", no_commit());
	json_object_set_new(v, "RuncCommit", no_commit());
	json_object_set_new(v, "InitCommit", no_commit());
	return v;
}

static int info(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	struct system_ctx *c = ctx;
	_cleanup_json_ json_t *v = info_skeleton(c);
	json_t *warnings = json_array();

	if (!v)
		hamn_bug("info skeleton does not pack");
	add_os(v);
	add_resources(v, c);
	add_proxies(v);
	api_cgroup_features(v, warnings);
	if (c->insecure_tcp)
		json_array_append_new(warnings,
				      json_string("WARNING: API is accessible over TCP "
						  "without TLS: anyone who can connect is "
						  "root on this host"));
	json_object_set_new(v, "Warnings", json_array_size(warnings) ? warnings : json_null());
	if (!json_array_size(warnings))
		json_decref(warnings);
	/* the engine's counts and capabilities; until one is attached there is nothing to count */
	if (c->info_fn && c->info_fn(v, c->info_ctx, err) < 0)
		return hamn_error_wrap(err, "system info");
	return hamn_api_reply_json(req, 200, json_incref(v));
}

static bool valid_id(const char *s, size_t len)
{
	if (len == 0 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '-' || s[i] == ':' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

/* A random UUID (version 4), dockerd's engine ID format since 23.0. */
static char *new_uuid(void)
{
	unsigned char b[16];
	char hex[33];

	hamn_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	hamn_hex(b, sizeof(b), hex);
	return xasprintf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* The daemon's stable ID: <root>/engine-id, created on first start. */
static char *load_engine_id(const char *root, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/engine-id", root);
	_cleanup_error_ struct hamn_error *rerr = NULL;
	_cleanup_close_ int dirfd = -1;
	char *text = NULL, *id;
	size_t len = 0;

	if (hamn_read_file(AT_FDCWD, path, 4096, &text, &len, &rerr) == 0) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = '\0';
		if (valid_id(text, len))
			return text;
		log_kv(HAMN_LOG_WARN, "engine ID file is damaged, making a new one", "path=%s",
		       path);
		free(text);
	} else if (rerr->errnum != ENOENT) {
		return hamn_error_propagate(err, &rerr), NULL;
	}
	dirfd = open(root, O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (dirfd < 0)
		return hamn_error_set(err, errno, "open '%s'", root), NULL;
	id = new_uuid();
	text = xasprintf("%s\n", id);
	if (hamn_write_atomic(dirfd, "engine-id", text, strlen(text), 0600, err) < 0) {
		free(text);
		free(id);
		return NULL;
	}
	free(text);
	return id;
}

/* When this binary was built, as near as we can tell: its modification time. */
static void build_time(char out[HAMN_TIME_STR_MAX])
{
	struct stat st;

	if (stat("/proc/self/exe", &st) < 0) {
		out[0] = '\0';
		return;
	}
	hamn_time_format((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, out);
}

int hamn_api_system_register(struct hamn_api_server *s, const struct hamn_api_system_config *cfg,
			     struct hamn_error **err)
{
	struct system_ctx *c = xzalloc(sizeof(*c));

	c->root_dir = xstrdup(cfg->root_dir);
	c->exec_root = cfg->exec_root ? xstrdup(cfg->exec_root) : NULL;
	c->cgroup_parent = cfg->cgroup_parent ? xstrdup(cfg->cgroup_parent) : NULL;
	c->debug = cfg->debug;
	c->insecure_tcp = cfg->insecure_tcp;
	c->info_fn = cfg->info_fn;
	c->info_ctx = cfg->info_ctx;
	build_time(c->build_time);
	c->id = load_engine_id(c->root_dir, err);
	if (!c->id) {
		system_ctx_free(c);
		return hamn_error_wrap(err, "engine ID");
	}
	hamn_api_server_on_free(s, system_ctx_free, c);
	hamn_api_route(s, "HEAD", "/_ping", ping, c);
	hamn_api_route(s, "GET", "/_ping", ping, c);
	hamn_api_route(s, "GET", "/version", version, c);
	hamn_api_route(s, "GET", "/info", info, c);
	return 0;
}

/*
 * creds.c - credentials as docker keeps and sends them: the X-Registry-Auth
 * header (base64url JSON), the client's config.json ("auths" with
 * base64(user:pass), "credsStore" / "credHelpers" naming a
 * docker-credential-<name> program), and base64 itself.
 *
 * This file links nothing but base, so the CLI can use it without libcurl.
 */
#include "distribution/distribution.h"

#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define CONFIG_MAX (4u << 20)
#define HELPER_OUT_MAX (1u << 20)

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *hamn_dist_base64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = b64_std[(v >> 18) & 63];
		out[o++] = b64_std[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_std[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_std[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int hamn_dist_base64_decode(const char *s, char **out, size_t *len_out, struct hamn_error **err)
{
	size_t n = strlen(s);
	char *buf;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	while (n && s[n - 1] == '=')
		n--;
	buf = xmalloc(n * 3 / 4 + 2);
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(s[i]);

		if (v < 0) {
			free(buf);
			return hamn_error_setq(err, EINVAL, "invalid base64 at offset %zu", i);
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6) {
		free(buf);
		return hamn_error_setq(err, EINVAL, "invalid base64 length");
	}
	buf[o] = '\0';
	*out = buf;
	if (len_out)
		*len_out = o;
	return 0;
}

/* ---- the credentials struct and X-Registry-Auth ---- */

void hamn_dist_auth_release(struct hamn_dist_auth *a)
{
	if (!a)
		return;
	free(a->username);
	free(a->password);
	free(a->identity_token);
	free(a->registry_token);
	free(a->server_address);
	memset(a, 0, sizeof(*a));
}

static bool nonempty(const char *s)
{
	return s && *s;
}

bool hamn_dist_auth_present(const struct hamn_dist_auth *a)
{
	return a && (nonempty(a->username) || nonempty(a->identity_token) ||
		     nonempty(a->registry_token));
}

static void set_opt(json_t *o, const char *key, const char *v)
{
	if (nonempty(v))
		json_object_set_new(o, key, json_string(v));
}

char *hamn_dist_auth_encode(const struct hamn_dist_auth *a)
{
	_cleanup_json_ json_t *o = json_object();
	_cleanup_free_ char *text = NULL;
	char *out;

	if (a) {
		set_opt(o, "username", a->username);
		set_opt(o, "password", a->password);
		set_opt(o, "serveraddress", a->server_address);
		set_opt(o, "identitytoken", a->identity_token);
		set_opt(o, "registrytoken", a->registry_token);
	}
	text = hamn_json_dump(o);
	out = hamn_dist_base64_encode(text, strlen(text));
	for (char *p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

/* Split "user:pass" (base64) into a. */
static int split_basic(const char *b64, struct hamn_dist_auth *a, struct hamn_error **err)
{
	_cleanup_free_ char *plain = NULL;
	char *colon;

	if (hamn_dist_base64_decode(b64, &plain, NULL, err) < 0)
		return -1;
	colon = strchr(plain, ':');
	if (!colon)
		return hamn_error_setq(err, EINVAL, "invalid auth: no ':' in user:password");
	free(a->username);
	free(a->password);
	a->username = xstrndup(plain, (size_t)(colon - plain));
	a->password = xstrdup(colon + 1);
	return 0;
}

/* Go decodes JSON field names case-insensitively; so do we. */
int hamn_dist_auth_from_json(json_t *o, struct hamn_dist_auth *out, struct hamn_error **err)
{
	const char *key;
	json_t *v;
	const char *basic = NULL;

	json_object_foreach (o, key, v) {
		const char *s = json_string_value(v);
		char **slot = NULL;

		if (!s)
			continue;
		if (strcasecmp(key, "username") == 0)
			slot = &out->username;
		else if (strcasecmp(key, "password") == 0)
			slot = &out->password;
		else if (strcasecmp(key, "serveraddress") == 0)
			slot = &out->server_address;
		else if (strcasecmp(key, "identitytoken") == 0)
			slot = &out->identity_token;
		else if (strcasecmp(key, "registrytoken") == 0)
			slot = &out->registry_token;
		else if (strcasecmp(key, "auth") == 0)
			basic = s;
		if (slot && *s) {
			free(*slot);
			*slot = xstrdup(s);
		}
	}
	if (basic && *basic && !out->username)
		return split_basic(basic, out, err);
	return 0;
}

int hamn_dist_auth_decode(const char *header, struct hamn_dist_auth *out, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *o = NULL;
	size_t len;

	if (!header || !*header)
		return 0;
	if (hamn_dist_base64_decode(header, &text, &len, err) < 0)
		return hamn_error_wrap(err, "X-Registry-Auth");
	o = hamn_json_parse(text, len, err);
	if (!o)
		return hamn_error_wrap(err, "X-Registry-Auth");
	if (!json_is_object(o))
		return hamn_error_setq(err, EINVAL, "X-Registry-Auth: not a JSON object");
	if (hamn_dist_auth_from_json(o, out, err) < 0) {
		hamn_dist_auth_release(out);
		return hamn_error_wrap(err, "X-Registry-Auth");
	}
	return 0;
}

/* ---- keys of config.json "auths" ---- */

static bool is_hub(const char *host)
{
	return !*host || streq(host, "docker.io") || streq(host, "index.docker.io") ||
	       streq(host, "registry-1.docker.io");
}

char *hamn_dist_auth_key(const char *server)
{
	const char *s = server ? server : "";
	size_t n;

	if (str_has_prefix(s, "https://"))
		s += 8;
	else if (str_has_prefix(s, "http://"))
		s += 7;
	n = strcspn(s, "/");
	_cleanup_free_ char *host = xstrndup(s, n);

	if (is_hub(host))
		return xstrdup(HAMN_DIST_HUB_AUTH_KEY);
	return steal_pointer(&host);
}

char *hamn_dist_auth_key_for_ref(const char *ref)
{
	const char *slash = strchr(ref, '/');
	_cleanup_free_ char *first = NULL;

	if (!slash)
		return xstrdup(HAMN_DIST_HUB_AUTH_KEY);
	first = xstrndup(ref, (size_t)(slash - ref));
	if (!strchr(first, '.') && !strchr(first, ':') && !streq(first, "localhost"))
		return xstrdup(HAMN_DIST_HUB_AUTH_KEY);
	return hamn_dist_auth_key(first);
}

char *hamn_dist_config_dir(struct hamn_error **err)
{
	const char *dc = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");

	if (nonempty(dc))
		return xstrdup(dc);
	if (nonempty(home))
		return xasprintf("%s/.docker", home);
	hamn_error_setq(err, ENOENT,
			"cannot find the docker config directory: "
			"neither DOCKER_CONFIG nor HOME is set");
	return NULL;
}

/* ---- config.json ---- */

static int load_config(const char *dir, json_t **out, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", dir);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	*out = NULL;
	if (hamn_read_file(AT_FDCWD, path, CONFIG_MAX, &text, &len, err) < 0) {
		if ((*err)->errnum != ENOENT)
			return -1;
		hamn_error_free(err);
		*out = json_object();
		return 0;
	}
	*out = len ? hamn_json_parse(text, len, err) : json_object();
	if (!*out)
		return hamn_error_wrap(err, "parse '%s'", path);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return hamn_error_setq(err, EINVAL, "parse '%s': not a JSON object", path);
	}
	return 0;
}

static int save_config(const char *dir, json_t *cfg, struct hamn_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", dir);
	_cleanup_free_ char *text = json_dumps(cfg, JSON_INDENT(8) | JSON_SORT_KEYS);

	if (hamn_mkdir_p(AT_FDCWD, dir, 0700, err) < 0)
		return -1;
	if (!text)
		return hamn_error_setq(err, EINVAL, "cannot serialise '%s'", path);
	if (hamn_write_atomic(AT_FDCWD, path, text, strlen(text), 0600, err) < 0)
		return hamn_error_wrap(err, "save credentials");
	return 0;
}

/* The helper for key: credHelpers[key], else credsStore; NULL for none. Borrowed. */
static const char *helper_for(json_t *cfg, const char *key)
{
	const char *h =
		json_string_value(json_object_get(json_object_get(cfg, "credHelpers"), key));

	if (nonempty(h))
		return h;
	h = json_string_value(json_object_get(cfg, "credsStore"));
	return nonempty(h) ? h : NULL;
}

/*
 * Write input to a helper that may already have exited: EPIPE instead of a
 * SIGPIPE that would kill the caller (blocked for this thread, and a pending
 * one taken back before unblocking; the caller's dispositions are untouched).
 */
static void write_input(int fd, const char *input)
{
	sigset_t pipe_set, old;
	struct timespec zero = {0, 0};
	struct hamn_error *err = NULL;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (hamn_write_all(fd, input, strlen(input), &err) < 0) {
		hamn_error_free(&err); /* a helper that does not read: its status says why */
		if (!sigismember(&old, SIGPIPE))
			while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
				;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Run docker-credential-<name> <action> with input on stdin; *out gets stdout. */
static int run_helper(const char *name, const char *action, const char *input, char **out,
		      int *status_out, struct hamn_error **err)
{
	_cleanup_free_ char *prog = xasprintf("docker-credential-%s", name);
	char *argv[] = {prog, (char *)action, NULL};
	int in[2] = {-1, -1}, outp[2] = {-1, -1};
	struct hamn_buf b = HAMN_BUF_INIT;
	pid_t pid;
	int rc = -1;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		hamn_error_set(err, errno, "credential helper: pipe");
		goto out;
	}
	struct hamn_spawn_fd fds[] = {{in[0], 0}, {outp[1], 1}, {2, 2}};
	struct hamn_spawn sp = {.argv = argv, .fds = fds, .n_fds = 3};

	if (hamn_spawn_start(&sp, &pid, err) < 0)
		goto out;
	cleanup_closep(&in[0]);
	cleanup_closep(&outp[1]);
	in[0] = outp[1] = -1;
	write_input(in[1], input);
	cleanup_closep(&in[1]);
	in[1] = -1;
	for (;;) {
		char chunk[4096];
		ssize_t n = read(outp[0], chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || b.len + (size_t)n > HELPER_OUT_MAX)
			break;
		hamn_buf_append(&b, chunk, (size_t)n);
	}
	if (hamn_spawn_wait(pid, status_out, err) < 0)
		goto out;
	*out = hamn_buf_steal(&b);
	rc = 0;
out:
	hamn_buf_release(&b);
	for (int i = 0; i < 2; i++) {
		cleanup_closep(&in[i]);
		cleanup_closep(&outp[i]);
	}
	if (rc < 0)
		hamn_error_wrap(err, "%s %s", prog, action);
	return rc;
}

static int helper_get(const char *helper, const char *key, struct hamn_dist_auth *out,
		      struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *o = NULL;
	const char *user, *secret;
	int status = 0;

	if (run_helper(helper, "get", key, &text, &status, err) < 0)
		return -1;
	if (status != 0) {
		/* "credentials not found in native keychain": not logged in, not an error */
		if (strstr(text, "not found"))
			return 0;
		return hamn_error_setq(err, EIO, "docker-credential-%s get: %s", helper,
				       *text ? text : "failed");
	}
	o = hamn_json_parse(text, strlen(text), err);
	if (!o)
		return hamn_error_wrap(err, "docker-credential-%s get", helper);
	user = json_string_value(json_object_get(o, "Username"));
	secret = json_string_value(json_object_get(o, "Secret"));
	if (!nonempty(secret))
		return 0;
	if (streq(user, "<token>")) {
		out->identity_token = xstrdup(secret);
	} else {
		out->username = xstrdup(user ? user : "");
		out->password = xstrdup(secret);
	}
	out->server_address = xstrdup(key);
	return 0;
}

/* The "auths" entry whose key normalises to key; borrowed, or NULL. */
static json_t *find_auth(json_t *cfg, const char *key, const char **found_key)
{
	json_t *auths = json_object_get(cfg, "auths"), *v;
	const char *k;

	if (!json_is_object(auths))
		return NULL;
	if ((v = json_object_get(auths, key))) {
		*found_key = key;
		return v;
	}
	json_object_foreach (auths, k, v) {
		_cleanup_free_ char *norm = hamn_dist_auth_key(k);

		if (streq(norm, key)) {
			*found_key = k;
			return v;
		}
	}
	return NULL;
}

int hamn_dist_creds_get(const char *config_dir, const char *server, struct hamn_dist_auth *out,
			struct hamn_error **err)
{
	_cleanup_json_ json_t *cfg = NULL;
	_cleanup_free_ char *key = hamn_dist_auth_key(server);
	const char *helper, *found = NULL;
	json_t *entry;

	if (load_config(config_dir, &cfg, err) < 0)
		return -1;
	helper = helper_for(cfg, key);
	if (helper)
		return helper_get(helper, key, out, err);
	entry = find_auth(cfg, key, &found);
	if (!json_is_object(entry))
		return 0;
	const char *basic = json_string_value(json_object_get(entry, "auth"));
	const char *tok = json_string_value(json_object_get(entry, "identitytoken"));

	if (nonempty(basic) && split_basic(basic, out, err) < 0)
		return hamn_error_wrap(err, "credentials for '%s' in '%s/config.json'", key,
				       config_dir);
	if (nonempty(tok))
		out->identity_token = xstrdup(tok);
	out->server_address = xstrdup(key);
	return 0;
}

static int helper_store(const char *helper, const char *key, const struct hamn_dist_auth *a,
			struct hamn_error **err)
{
	_cleanup_json_ json_t *o = json_object();
	_cleanup_free_ char *input = NULL, *text = NULL;
	bool tok = nonempty(a->identity_token);
	int status = 0;

	json_object_set_new(o, "ServerURL", json_string(key));
	json_object_set_new(o, "Username",
			    json_string(tok ? "<token>" : (a->username ? a->username : "")));
	json_object_set_new(
		o, "Secret",
		json_string(tok ? a->identity_token : (a->password ? a->password : "")));
	input = hamn_json_dump(o);
	if (run_helper(helper, "store", input, &text, &status, err) < 0)
		return -1;
	if (status != 0)
		return hamn_error_setq(err, EIO, "docker-credential-%s store: %s", helper,
				       *text ? text : "failed");
	return 0;
}

int hamn_dist_creds_store(const char *config_dir, const struct hamn_dist_auth *a,
			  struct hamn_error **err)
{
	_cleanup_json_ json_t *cfg = NULL;
	_cleanup_free_ char *key = hamn_dist_auth_key(a->server_address);
	const char *helper;
	json_t *auths, *entry = json_object();

	if (load_config(config_dir, &cfg, err) < 0) {
		json_decref(entry);
		return -1;
	}
	helper = helper_for(cfg, key);
	if (helper) {
		json_decref(entry);
		return helper_store(helper, key, a, err);
	}
	auths = json_object_get(cfg, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(cfg, "auths", auths);
	}
	if (nonempty(a->identity_token)) {
		_cleanup_free_ char *up = xasprintf("%s:", a->username ? a->username : "");
		_cleanup_free_ char *b64 = hamn_dist_base64_encode(up, strlen(up));

		json_object_set_new(entry, "auth", json_string(b64));
		json_object_set_new(entry, "identitytoken", json_string(a->identity_token));
	} else {
		_cleanup_free_ char *up = xasprintf("%s:%s", a->username ? a->username : "",
						    a->password ? a->password : "");
		_cleanup_free_ char *b64 = hamn_dist_base64_encode(up, strlen(up));

		json_object_set_new(entry, "auth", json_string(b64));
	}
	json_object_set_new(auths, key, entry);
	return save_config(config_dir, cfg, err);
}

int hamn_dist_creds_erase(const char *config_dir, const char *server, struct hamn_error **err)
{
	_cleanup_json_ json_t *cfg = NULL;
	_cleanup_free_ char *key = hamn_dist_auth_key(server);
	const char *helper, *found = NULL;
	bool had = false;

	if (load_config(config_dir, &cfg, err) < 0)
		return -1;
	helper = helper_for(cfg, key);
	if (helper) {
		_cleanup_free_ char *text = NULL;
		int status = 0;

		if (run_helper(helper, "erase", key, &text, &status, err) < 0)
			return -1;
		had = status == 0;
	}
	if (find_auth(cfg, key, &found)) {
		_cleanup_free_ char *k = xstrdup(found);

		json_object_del(json_object_get(cfg, "auths"), k);
		had = true;
		if (save_config(config_dir, cfg, err) < 0)
			return -1;
	}
	if (!had)
		return hamn_error_setq(err, ENOENT, "Not logged in to %s", key);
	return 0;
}

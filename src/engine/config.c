/*
 * config.c - the Config part of a create request: validation into struct
 * ctr_config, the merge with the image's defaults (docker's rules), and
 * docker's full Config shape for inspect.
 *
 * The same parser reads requests and stored records, so a record always
 * holds the merged Config: after the merge, the image is never consulted
 * again for these fields.
 */
#include <signal.h>

#include "engine/exec_int.h"
#include "engine/internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int check_hostname(const char *h, struct hamn_error **err)
{
	size_t n = strlen(h);

	if (n > 64)
		return hamn_error_setq(err, EINVAL, "invalid hostname format: %s", h);
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];

		if (!(ch == '-' || ch == '.' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return hamn_error_setq(err, EINVAL, "invalid hostname format: %s", h);
	}
	return 0;
}

static int parse_env(json_t *cfg, struct ctr_config *c, struct hamn_error **err)
{
	_cleanup_strv_ char **in = NULL;
	char **out = NULL;

	if (jf_strv(cfg, "Config", "Env", &in, err) < 0)
		return -1;
	for (size_t i = 0; in && in[i]; i++) {
		if (in[i][0] == '=')
			return hamn_error_setq(err, EINVAL, "invalid environment variable: %s",
					       in[i]);
		/* "K" alone means "take it from the client's environment": a client job */
		if (!strchr(in[i], '='))
			continue;
		strv_push(&out, in[i]);
	}
	c->env = out ? out : xcalloc(1, sizeof(char *));
	return 0;
}

static int parse_strings(json_t *cfg, struct ctr_config *c, struct hamn_error **err)
{
	const char *image = NULL, *host = NULL, *dom = NULL, *user = NULL, *wd = NULL;

	if (jf_string(cfg, "Config", "Image", &image, err) < 0 ||
	    jf_string(cfg, "Config", "Hostname", &host, err) < 0 ||
	    jf_string(cfg, "Config", "Domainname", &dom, err) < 0 ||
	    jf_string(cfg, "Config", "User", &user, err) < 0 ||
	    jf_string(cfg, "Config", "WorkingDir", &wd, err) < 0)
		return -1;
	if (host && check_hostname(host, err) < 0)
		return -1;
	if (wd && wd[0] && wd[0] != '/')
		return hamn_error_setq(err, EINVAL,
				       "the working directory '%s' is invalid, it needs to be an "
				       "absolute path",
				       wd);
	c->image = xstrdup(image ? image : "");
	c->hostname = xstrdup(host ? host : "");
	c->domainname = xstrdup(dom ? dom : "");
	c->user = xstrdup(user ? user : "");
	c->working_dir = xstrdup(wd ? wd : "");
	return 0;
}

static int parse_bools(json_t *cfg, struct ctr_config *c, struct hamn_error **err)
{
	if (jf_bool(cfg, "Config", "Tty", &c->tty, err) < 0 ||
	    jf_bool(cfg, "Config", "OpenStdin", &c->open_stdin, err) < 0 ||
	    jf_bool(cfg, "Config", "StdinOnce", &c->stdin_once, err) < 0 ||
	    jf_bool(cfg, "Config", "AttachStdin", &c->attach_stdin, err) < 0 ||
	    jf_bool(cfg, "Config", "AttachStdout", &c->attach_stdout, err) < 0 ||
	    jf_bool(cfg, "Config", "AttachStderr", &c->attach_stderr, err) < 0)
		return -1;
	return 0;
}

static int parse_stop(json_t *cfg, struct ctr_config *c, struct hamn_error **err)
{
	const char *sig = NULL;

	if (jf_string(cfg, "Config", "StopSignal", &sig, err) < 0)
		return -1;
	c->stop_signo = SIGTERM;
	if (sig && sig[0]) {
		c->stop_signo = hamn_engine_signal_parse(sig);
		if (c->stop_signo <= 0)
			return hamn_error_setq(err, EINVAL, "Invalid signal: %s", sig);
		c->stop_signal = xstrdup(sig);
	}
	if (jf_present(cfg, "StopTimeout")) {
		if (jf_int(cfg, "Config", "StopTimeout", &c->stop_timeout, err) < 0)
			return -1;
		c->has_stop_timeout = true;
	}
	return 0;
}

static int parse_objects(json_t *cfg, struct ctr_config *c, struct hamn_error **err)
{
	json_t *labels = NULL, *o = NULL;

	if (jf_strmap(cfg, "Config", "Labels", &labels, err) < 0)
		return -1;
	if (jf_object(cfg, "Config", "ExposedPorts", &o, err) < 0 ||
	    jf_object(cfg, "Config", "Volumes", &o, err) < 0 ||
	    jf_object(cfg, "Config", "Healthcheck", &o, err) < 0)
		return -1;
	c->labels = labels ? json_deep_copy(labels) : json_object();
	return 0;
}

int ctr_config_parse(json_t *config, json_t *host_config, const char *root, struct ctr_config *c,
		     struct hamn_error **err)
{
	memset(c, 0, sizeof(*c));
	c->memory_swappiness = -1;
	c->no_new_privs = -1;
	if (config && !json_is_object(config)) {
		hamn_error_setq(err, EINVAL, "json: cannot unmarshal %s into Go value of type "
				"container.Config", json_is_array(config) ? "array" : "value");
		goto fail;
	}
	if (parse_strings(config, c, err) < 0 || parse_bools(config, c, err) < 0 ||
	    parse_env(config, c, err) < 0 || parse_stop(config, c, err) < 0 ||
	    parse_objects(config, c, err) < 0 ||
	    jf_strslice(config, "Config", "Cmd", &c->cmd, err) < 0 ||
	    jf_strslice(config, "Config", "Entrypoint", &c->entrypoint, err) < 0)
		goto fail;
	if (host_config && !json_is_object(host_config)) {
		jf_type_error(err, host_config, "ContainerConfigWrapper", "HostConfig",
			      "container.HostConfig");
		goto fail;
	}
	if (ctr_host_config_parse(host_config, root, c, err) < 0)
		goto fail;
	return 0;
fail:
	ctr_config_release(c);
	return -1;
}

void ctr_mounts_free(struct ctr_config *c)
{
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mounts[i].source);
		free(c->mounts[i].destination);
		free(c->mounts[i].propagation);
		free(c->mounts[i].options);
		free(c->mounts[i].name);
		free(c->mounts[i].mode);
	}
	free(c->mounts);
	c->mounts = NULL;
	c->n_mounts = 0;
}

void ctr_config_release(struct ctr_config *c)
{
	free(c->image);
	free(c->hostname);
	free(c->domainname);
	free(c->user);
	free(c->working_dir);
	hamn_strv_free(c->env);
	hamn_strv_free(c->cmd);
	hamn_strv_free(c->entrypoint);
	if (c->labels)
		json_decref(c->labels);
	free(c->stop_signal);
	ctr_mounts_free(c);
	free(c->network_mode);
	free(c->cpuset_cpus);
	free(c->cpuset_mems);
	if (c->seccomp_profile)
		json_decref(c->seccomp_profile);
	for (size_t i = 0; i < c->n_ulimits; i++)
		free(c->ulimits[i].name);
	free(c->ulimits);
	if (c->sysctls)
		json_decref(c->sysctls);
	free(c->log_driver);
	hamn_strv_free(c->dns);
	hamn_strv_free(c->dns_search);
	hamn_strv_free(c->dns_options);
	hamn_strv_free(c->extra_hosts);
	hamn_strv_free(c->group_add);
	memset(c, 0, sizeof(*c));
}

/* ---- merge with the image ---- */

static size_t env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Index of kv's key in out, or the index of its NULL end. */
static size_t env_find(char *const *out, const char *kv)
{
	size_t k = env_key_len(kv), j;

	for (j = 0; out[j]; j++)
		if (env_key_len(out[j]) == k && strncmp(out[j], kv, k) == 0)
			break;
	return j;
}

/*
 * As dockerd: the container's env first (a later key replacing an earlier
 * one), then each image variable whose key the container does not set.
 */
static char **env_merge(char *const *img, char *const *ctr)
{
	char **out = xcalloc(1, sizeof(char *));
	size_t j;

	for (size_t i = 0; ctr && ctr[i]; i++) {
		j = env_find(out, ctr[i]);
		if (out[j]) {
			free(out[j]);
			out[j] = xstrdup(ctr[i]);
		} else {
			strv_push(&out, ctr[i]);
		}
	}
	for (size_t i = 0; img && img[i]; i++)
		if (!out[env_find(out, img[i])])
			strv_push(&out, img[i]);
	for (j = 0; out[j]; j++)
		if (str_has_prefix(out[j], "PATH="))
			return out;
	strv_push(&out, DEFAULT_PATH);
	return out;
}

static bool strv_empty(char *const *v)
{
	return !v || !v[0];
}

/*
 * docker's rule: a container entrypoint replaces the image's entrypoint and
 * cmd; without one, the image's cmd fills an empty cmd, and the image's
 * entrypoint applies unless the request cleared it ("Entrypoint": [] / [""]).
 */
static void merge_command(struct ctr_config *c, bool ep_given,
			  const struct hamn_oci_image_exec *img)
{
	if (c->entrypoint && c->entrypoint[0] && !c->entrypoint[0][0] && !c->entrypoint[1]) {
		hamn_strv_free(c->entrypoint);
		c->entrypoint = xcalloc(1, sizeof(char *));
	}
	if (!strv_empty(c->entrypoint))
		return;
	if (strv_empty(c->cmd) && img && img->cmd) {
		hamn_strv_free(c->cmd);
		c->cmd = strv_copy(img->cmd);
	}
	if (!ep_given && img && img->entrypoint) {
		hamn_strv_free(c->entrypoint);
		c->entrypoint = strv_copy(img->entrypoint);
	}
}

static void merge_object_keys(json_t *cfg, const char *key, char *const *img_keys)
{
	json_t *obj = json_object_get(cfg, key);

	if (strv_empty(img_keys))
		return;
	if (!json_is_object(obj)) {
		obj = json_object();
		json_object_set_new(cfg, key, obj);
	}
	for (size_t i = 0; img_keys[i]; i++)
		if (!json_object_get(obj, img_keys[i]))
			json_object_set_new(obj, img_keys[i], json_object());
}

static json_t *strv_or_null(char *const *v)
{
	return v ? hamn_json_from_strv(v) : json_null();
}

static void write_back(const struct ctr_config *c, json_t *cfg)
{
	json_object_set_new(cfg, "Env", hamn_json_from_strv(c->env));
	json_object_set_new(cfg, "Cmd", strv_empty(c->cmd) ? json_null() : strv_or_null(c->cmd));
	json_object_set_new(cfg, "Entrypoint",
			    strv_empty(c->entrypoint) ? json_null() : strv_or_null(c->entrypoint));
	json_object_set_new(cfg, "WorkingDir", json_string(c->working_dir));
	json_object_set_new(cfg, "User", json_string(c->user));
	json_object_set(cfg, "Labels", c->labels);
	if (c->stop_signal)
		json_object_set_new(cfg, "StopSignal", json_string(c->stop_signal));
	json_object_set_new(cfg, "Image", json_string(c->image));
}

int ctr_config_merge_image(struct ctr_config *c, json_t *cfg, const struct hamn_oci_image_exec *img,
			   struct hamn_error **err)
{
	bool ep_given = jf_present(cfg, "Entrypoint");
	char **env = env_merge(img ? img->env : NULL, c->env);
	const char *k;
	json_t *v;

	hamn_strv_free(c->env);
	c->env = env;
	merge_command(c, ep_given, img);
	if (strv_empty(c->entrypoint) && strv_empty(c->cmd))
		return hamn_error_setq(err, EINVAL, "No command specified");
	if (img && !c->working_dir[0] && img->working_dir) {
		free(c->working_dir);
		c->working_dir = xstrdup(img->working_dir);
	}
	if (img && !c->user[0] && img->user) {
		free(c->user);
		c->user = xstrdup(img->user);
	}
	if (img && !c->stop_signal && img->stop_signal && img->stop_signal[0]) {
		int sig = hamn_engine_signal_parse(img->stop_signal);

		if (sig > 0) {
			c->stop_signal = xstrdup(img->stop_signal);
			c->stop_signo = sig;
		}
	}
	if (img && img->labels) {
		json_object_foreach(img->labels, k, v)
			if (!json_object_get(c->labels, k))
				json_object_set(c->labels, k, v);
	}
	if (img) {
		merge_object_keys(cfg, "ExposedPorts", img->exposed_ports);
		merge_object_keys(cfg, "Volumes", img->volumes);
		engine_health_merge_image(cfg, img->healthcheck);	/* health.c */
	}
	write_back(c, cfg);
	return 0;
}

/* ---- docker's full Config shape ---- */

json_t *ctr_config_full(json_t *cfg)
{
	json_t *full = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:n,"
				 " s:s, s:n, s:n, s:o}",
				 "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0,
				 "AttachStdout", 0, "AttachStderr", 0, "Tty", 0, "OpenStdin", 0,
				 "StdinOnce", 0, "Env", "Cmd", "Image", "", "Volumes", "WorkingDir",
				 "", "Entrypoint", "OnBuild", "Labels", json_object());

	if (!full)
		hamn_bug("cannot build the Config template");
	if (json_is_object(cfg))
		json_object_update(full, cfg);
	/* the CLI sends "Volumes": {}; dockerd shows null for none */
	if (json_is_object(json_object_get(full, "Volumes")) &&
	    json_object_size(json_object_get(full, "Volumes")) == 0)
		json_object_set_new(full, "Volumes", json_null());
	return full;
}

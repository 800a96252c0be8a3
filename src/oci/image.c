/*
 * image.c - image config, descriptors, manifests and indexes: strict
 * parsing of untrusted JSON into the structs of oci/image.h, and emitting
 * the configs hamn creates itself.
 *
 * Every member is type-checked before use, so a hostile document can only
 * produce EINVAL (CVE-2021-21285). Errors name the field; the caller adds
 * which document it was.
 */
#include "oci/image.h"

#define JSON_OBJ_MAX_KEYS 10000

static int fail(struct hamn_error **err, const char *what, const char *why)
{
	return hamn_error_setq(err, EINVAL, "%s: %s", what, why);
}

/* A string member copied into *out (absent/null: *out stays NULL). */
static int get_str(json_t *obj, const char *key, const char *what, char **out,
		   struct hamn_error **err)
{
	const char *s = NULL;

	if (hamn_json_get_string_opt(obj, key, what, &s, err) < 0)
		return -1;
	*out = s ? xstrdup(s) : NULL;
	return 0;
}

/* Cmd/Entrypoint/Shell: an array of strings, or (as docker accepts) one string. */
static int get_cmd(json_t *obj, const char *key, const char *what, char ***out,
		   struct hamn_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v)) {
		*out = xcalloc(2, sizeof(char *));
		(*out)[0] = xstrdup(json_string_value(v));
		return 0;
	}
	return hamn_json_get_strv_opt(obj, key, what, out, err);
}

/* The keys of an object whose values are objects ({"80/tcp": {}}). */
static int get_keys(json_t *obj, const char *key, const char *what, char ***out,
		    struct hamn_error **err)
{
	json_t *o, *v;
	const char *k;

	*out = NULL;
	if (hamn_json_get_object_opt(obj, key, what, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	if (json_object_size(o) > JSON_OBJ_MAX_KEYS)
		return fail(err, what, "too many keys");
	*out = xcalloc(1, sizeof(char *));
	json_object_foreach(o, k, v) {
		if (!json_is_object(v) && !json_is_null(v)) {
			hamn_strv_free(steal_pointer(out));
			return hamn_error_setq(err, EINVAL, "%s.%s: must be an object", what, k);
		}
		strv_push(out, k);
	}
	return 0;
}

static int get_labels(json_t *obj, const char *key, const char *what, json_t **out,
		      struct hamn_error **err)
{
	json_t *o, *v;
	const char *k;

	*out = NULL;
	if (hamn_json_get_object_opt(obj, key, what, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	if (json_object_size(o) > JSON_OBJ_MAX_KEYS)
		return fail(err, what, "too many keys");
	json_object_foreach(o, k, v)
		if (!json_is_string(v))
			return hamn_error_setq(err, EINVAL, "%s.%s: must be a string", what, k);
	*out = json_incref(o);
	return 0;
}

static int get_duration(json_t *obj, const char *key, const char *what, int64_t *out,
			struct hamn_error **err)
{
	*out = 0;
	if (hamn_json_get_int_opt(obj, key, what, out, err) < 0)
		return -1;
	if (*out < 0)
		return fail(err, what, "must not be negative");
	return 0;
}

static int parse_healthcheck(json_t *obj, struct hamn_oci_healthcheck **out,
			     struct hamn_error **err)
{
	struct hamn_oci_healthcheck *h;
	json_t *o;

	*out = NULL;
	if (hamn_json_get_object_opt(obj, "Healthcheck", "config.Healthcheck", &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	h = xzalloc(sizeof(*h));
	*out = h;
	if (hamn_json_get_strv_opt(o, "Test", "config.Healthcheck.Test", &h->test, err) < 0 ||
	    get_duration(o, "Interval", "config.Healthcheck.Interval", &h->interval, err) < 0 ||
	    get_duration(o, "Timeout", "config.Healthcheck.Timeout", &h->timeout, err) < 0 ||
	    get_duration(o, "StartPeriod", "config.Healthcheck.StartPeriod", &h->start_period,
			 err) < 0 ||
	    get_duration(o, "StartInterval", "config.Healthcheck.StartInterval",
			 &h->start_interval, err) < 0 ||
	    get_duration(o, "Retries", "config.Healthcheck.Retries", &h->retries, err) < 0)
		return -1;
	return 0;
}

static void exec_release(struct hamn_oci_image_exec *e)
{
	free(e->user);
	hamn_strv_free(e->env);
	hamn_strv_free(e->entrypoint);
	hamn_strv_free(e->cmd);
	free(e->working_dir);
	free(e->stop_signal);
	hamn_strv_free(e->exposed_ports);
	hamn_strv_free(e->volumes);
	if (e->labels)
		json_decref(e->labels);
	hamn_strv_free(e->shell);
	hamn_strv_free(e->on_build);
	if (e->healthcheck) {
		hamn_strv_free(e->healthcheck->test);
		free(e->healthcheck);
	}
	memset(e, 0, sizeof(*e));
}

static int parse_exec(json_t *doc, struct hamn_oci_image_exec *e, struct hamn_error **err)
{
	json_t *c;

	if (hamn_json_get_object_opt(doc, "config", "config", &c, err) < 0)
		return -1;
	if (!c)
		return 0;
	if (get_str(c, "User", "config.User", &e->user, err) < 0 ||
	    hamn_json_get_strv_opt(c, "Env", "config.Env", &e->env, err) < 0 ||
	    get_cmd(c, "Entrypoint", "config.Entrypoint", &e->entrypoint, err) < 0 ||
	    get_cmd(c, "Cmd", "config.Cmd", &e->cmd, err) < 0 ||
	    get_str(c, "WorkingDir", "config.WorkingDir", &e->working_dir, err) < 0 ||
	    get_str(c, "StopSignal", "config.StopSignal", &e->stop_signal, err) < 0 ||
	    get_keys(c, "ExposedPorts", "config.ExposedPorts", &e->exposed_ports, err) < 0 ||
	    get_keys(c, "Volumes", "config.Volumes", &e->volumes, err) < 0 ||
	    get_labels(c, "Labels", "config.Labels", &e->labels, err) < 0 ||
	    get_cmd(c, "Shell", "config.Shell", &e->shell, err) < 0 ||
	    hamn_json_get_strv_opt(c, "OnBuild", "config.OnBuild", &e->on_build, err) < 0 ||
	    hamn_json_get_bool_opt(c, "ArgsEscaped", "config.ArgsEscaped", &e->args_escaped,
				   err) < 0 ||
	    parse_healthcheck(c, &e->healthcheck, err) < 0)
		return -1;
	return 0;
}

/* RFC 3339 time; docker's zero time ("0001-01-01T00:00:00Z") and absence give 0. */
static int get_time(json_t *obj, const char *key, const char *what, int64_t *out,
		    struct hamn_error **err)
{
	const char *s = NULL;
	struct hamn_error *perr = NULL;

	*out = 0;
	if (hamn_json_get_string_opt(obj, key, what, &s, err) < 0)
		return -1;
	if (!s || *s == '\0' || str_has_prefix(s, "0001-01-01"))
		return 0;
	if (hamn_time_parse(s, out, &perr) < 0) {
		hamn_error_free(&perr);
		return hamn_error_setq(err, EINVAL, "%s: not an RFC 3339 time: '%.40s'", what, s);
	}
	return 0;
}

static int parse_rootfs(json_t *doc, struct hamn_oci_image_config *c, struct hamn_error **err)
{
	json_t *r = json_object_get(doc, "rootfs"), *ids, *item;
	const char *type = NULL;
	size_t i;

	if (!json_is_object(r))
		return fail(err, "rootfs", r ? "must be an object" : "required");
	if (hamn_json_get_string(r, "type", "rootfs.type", &type, err) < 0)
		return -1;
	if (!streq(type, "layers"))
		return fail(err, "rootfs.type", "must be \"layers\"");
	ids = json_object_get(r, "diff_ids");
	if (!json_is_array(ids))
		return fail(err, "rootfs.diff_ids", ids ? "must be an array" : "required");
	if (json_array_size(ids) > HAMN_OCI_MAX_LAYERS)
		return fail(err, "rootfs.diff_ids", "too many layers");
	c->diff_ids = xcalloc(json_array_size(ids) + 1, sizeof(*c->diff_ids));
	json_array_foreach(ids, i, item) {
		if (!json_is_string(item) || !hamn_digest_valid(json_string_value(item)))
			return hamn_error_setq(err, EINVAL,
					       "rootfs.diff_ids[%zu]: must be a sha256 digest", i);
		memcpy(c->diff_ids[i].str, json_string_value(item), HAMN_DIGEST_LEN + 1);
		c->n_diff_ids++;
	}
	return 0;
}

static int parse_history_item(json_t *item, size_t i, struct hamn_oci_history *h,
			      struct hamn_error **err)
{
	_cleanup_free_ char *what = xasprintf("history[%zu]", i);
	_cleanup_free_ char *w_created = xasprintf("%s.created", what);
	_cleanup_free_ char *w_by = xasprintf("%s.created_by", what);
	_cleanup_free_ char *w_author = xasprintf("%s.author", what);
	_cleanup_free_ char *w_comment = xasprintf("%s.comment", what);
	_cleanup_free_ char *w_empty = xasprintf("%s.empty_layer", what);

	if (!json_is_object(item))
		return fail(err, what, "must be an object");
	if (get_time(item, "created", w_created, &h->created, err) < 0 ||
	    get_str(item, "created_by", w_by, &h->created_by, err) < 0 ||
	    get_str(item, "author", w_author, &h->author, err) < 0 ||
	    get_str(item, "comment", w_comment, &h->comment, err) < 0 ||
	    hamn_json_get_bool_opt(item, "empty_layer", w_empty, &h->empty_layer, err) < 0)
		return -1;
	return 0;
}

static int parse_history(json_t *doc, struct hamn_oci_image_config *c, struct hamn_error **err)
{
	json_t *arr, *item;
	size_t i;

	if (hamn_json_get_array_opt(doc, "history", "history", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	if (json_array_size(arr) > 4 * HAMN_OCI_MAX_LAYERS)
		return fail(err, "history", "too many entries");
	c->history = xcalloc(json_array_size(arr) + 1, sizeof(*c->history));
	json_array_foreach(arr, i, item) {
		c->n_history++;
		if (parse_history_item(item, i, &c->history[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_config(json_t *doc, struct hamn_oci_image_config *c, struct hamn_error **err)
{
	if (!json_is_object(doc))
		return fail(err, "document", "must be an object");
	if (get_str(doc, "architecture", "architecture", &c->architecture, err) < 0 ||
	    get_str(doc, "os", "os", &c->os, err) < 0 ||
	    get_str(doc, "variant", "variant", &c->variant, err) < 0 ||
	    get_str(doc, "author", "author", &c->author, err) < 0 ||
	    get_time(doc, "created", "created", &c->created, err) < 0 ||
	    parse_exec(doc, &c->config, err) < 0 || parse_rootfs(doc, c, err) < 0 ||
	    parse_history(doc, c, err) < 0)
		return -1;
	return 0;
}

struct hamn_oci_image_config *hamn_oci_image_config_parse(json_t *doc, struct hamn_error **err)
{
	struct hamn_oci_image_config *c = xzalloc(sizeof(*c));

	if (parse_config(doc, c, err) < 0) {
		hamn_oci_image_config_free(c);
		hamn_error_wrap(err, "image config");
		return NULL;
	}
	c->raw = json_incref(doc);
	return c;
}

struct hamn_oci_image_config *hamn_oci_image_config_parse_text(const char *text, size_t len,
							       struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = NULL;

	if (len > HAMN_OCI_JSON_MAX)
		return hamn_error_setq(err, EFBIG, "image config: larger than %d bytes",
				       HAMN_OCI_JSON_MAX),
		       NULL;
	doc = hamn_json_parse(text, len, err);
	if (!doc) {
		hamn_error_wrap(err, "image config");
		return NULL;
	}
	return hamn_oci_image_config_parse(doc, err);
}

void hamn_oci_image_config_free(struct hamn_oci_image_config *c)
{
	if (!c)
		return;
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->author);
	exec_release(&c->config);
	free(c->diff_ids);
	for (size_t i = 0; i < c->n_history; i++) {
		free(c->history[i].created_by);
		free(c->history[i].author);
		free(c->history[i].comment);
	}
	free(c->history);
	if (c->raw)
		json_decref(c->raw);
	free(c);
}

/* ---- emit ---- */

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, json_string(s));
}

static void set_strv(json_t *o, const char *key, char **v)
{
	json_object_set_new(o, key, v ? hamn_json_from_strv(v) : json_null());
}

static json_t *keys_to_json(char **v)
{
	json_t *o;

	if (!v)
		return json_null();
	o = json_object();
	for (size_t i = 0; v[i]; i++)
		json_object_set_new(o, v[i], json_object());
	return o;
}

const char *hamn_oci_time_format(int64_t ns, char buf[HAMN_TIME_STR_MAX])
{
	char *dot, *end;

	if (ns == 0) {
		snprintf(buf, HAMN_TIME_STR_MAX, "0001-01-01T00:00:00Z");
		return buf;
	}
	hamn_time_format(ns, buf);
	dot = strchr(buf, '.');
	end = dot ? strchr(dot, 'Z') : NULL;
	if (!end)
		return buf;
	while (end > dot + 1 && end[-1] == '0')
		end--;
	if (end == dot + 1)
		end = dot;	/* no fraction left: no dot either */
	memmove(end, strchr(dot, 'Z'), 2);
	return buf;
}

static json_t *time_json(int64_t ns)
{
	char buf[HAMN_TIME_STR_MAX];

	return json_string(hamn_oci_time_format(ns, buf));
}

static json_t *healthcheck_to_json(const struct hamn_oci_healthcheck *h)
{
	json_t *o = json_object();

	set_strv(o, "Test", h->test);
	if (h->interval)
		json_object_set_new(o, "Interval", json_integer(h->interval));
	if (h->timeout)
		json_object_set_new(o, "Timeout", json_integer(h->timeout));
	if (h->start_period)
		json_object_set_new(o, "StartPeriod", json_integer(h->start_period));
	if (h->start_interval)
		json_object_set_new(o, "StartInterval", json_integer(h->start_interval));
	if (h->retries)
		json_object_set_new(o, "Retries", json_integer(h->retries));
	return o;
}

json_t *hamn_oci_image_exec_to_json(const struct hamn_oci_image_exec *e)
{
	json_t *o = json_object();

	json_object_set_new(o, "User", json_string(e->user ? e->user : ""));
	json_object_set_new(o, "ExposedPorts", keys_to_json(e->exposed_ports));
	set_strv(o, "Env", e->env);
	set_strv(o, "Entrypoint", e->entrypoint);
	set_strv(o, "Cmd", e->cmd);
	if (e->healthcheck)
		json_object_set_new(o, "Healthcheck", healthcheck_to_json(e->healthcheck));
	if (e->args_escaped)
		json_object_set_new(o, "ArgsEscaped", json_true());
	json_object_set_new(o, "Volumes", keys_to_json(e->volumes));
	json_object_set_new(o, "WorkingDir", json_string(e->working_dir ? e->working_dir : ""));
	json_object_set_new(o, "Labels", e->labels ? json_deep_copy(e->labels) : json_null());
	set_str(o, "StopSignal", e->stop_signal);
	set_strv(o, "OnBuild", e->on_build);
	if (e->shell)
		set_strv(o, "Shell", e->shell);
	return o;
}

static json_t *history_to_json(const struct hamn_oci_history *h)
{
	json_t *o = json_object();

	if (h->created)
		json_object_set_new(o, "created", time_json(h->created));
	set_str(o, "created_by", h->created_by);
	set_str(o, "author", h->author);
	set_str(o, "comment", h->comment);
	if (h->empty_layer)
		json_object_set_new(o, "empty_layer", json_true());
	return o;
}

json_t *hamn_oci_image_config_to_json(const struct hamn_oci_image_config *c)
{
	json_t *o = json_object(), *rootfs = json_object(), *ids = json_array(), *hist;

	set_str(o, "architecture", c->architecture);
	set_str(o, "author", c->author);
	json_object_set_new(o, "config", hamn_oci_image_exec_to_json(&c->config));
	if (c->created)
		json_object_set_new(o, "created", time_json(c->created));
	if (c->n_history) {
		hist = json_array();
		for (size_t i = 0; i < c->n_history; i++)
			json_array_append_new(hist, history_to_json(&c->history[i]));
		json_object_set_new(o, "history", hist);
	}
	set_str(o, "os", c->os);
	set_str(o, "variant", c->variant);
	for (size_t i = 0; i < c->n_diff_ids; i++)
		json_array_append_new(ids, json_string(c->diff_ids[i].str));
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_object_set_new(rootfs, "diff_ids", ids);
	json_object_set_new(o, "rootfs", rootfs);
	return o;
}

/* ---- descriptors ---- */

static int parse_platform(json_t *d, const char *what, struct hamn_oci_platform **out,
			  struct hamn_error **err)
{
	_cleanup_free_ char *w = xasprintf("%s.platform", what);
	struct hamn_oci_platform *p;
	json_t *o;

	*out = NULL;
	if (hamn_json_get_object_opt(d, "platform", w, &o, err) < 0)
		return -1;
	if (!o)
		return 0;
	p = xzalloc(sizeof(*p));
	*out = p;
	if (get_str(o, "architecture", w, &p->architecture, err) < 0 ||
	    get_str(o, "os", w, &p->os, err) < 0 || get_str(o, "variant", w, &p->variant, err) < 0)
		return -1;
	return 0;
}

static void descriptor_release(struct hamn_oci_descriptor *d)
{
	free(d->media_type);
	if (d->annotations)
		json_decref(d->annotations);
	if (d->platform) {
		free(d->platform->architecture);
		free(d->platform->os);
		free(d->platform->variant);
		free(d->platform);
	}
	memset(d, 0, sizeof(*d));
}

static int parse_descriptor(json_t *v, const char *what, struct hamn_oci_descriptor *d,
			    struct hamn_error **err)
{
	const char *digest = NULL;
	bool has_size = json_is_integer(json_object_get(v, "size"));

	if (!json_is_object(v))
		return fail(err, what, "must be an object");
	if (get_str(v, "mediaType", what, &d->media_type, err) < 0 ||
	    hamn_json_get_string(v, "digest", what, &digest, err) < 0 ||
	    hamn_json_get_int_opt(v, "size", what, &d->size, err) < 0 ||
	    get_labels(v, "annotations", what, &d->annotations, err) < 0 ||
	    parse_platform(v, what, &d->platform, err) < 0)
		return -1;
	if (!hamn_digest_valid(digest))
		return hamn_error_setq(err, EINVAL, "%s.digest: must be a sha256 digest", what);
	memcpy(d->digest.str, digest, HAMN_DIGEST_LEN + 1);
	if (!has_size || d->size < 0)
		return hamn_error_setq(err, EINVAL, "%s.size: must be a non-negative integer", what);
	return 0;
}

static int parse_descriptors(json_t *doc, const char *key, struct hamn_oci_descriptor **out,
			     size_t *n, size_t max, struct hamn_error **err)
{
	json_t *arr = json_object_get(doc, key), *item;
	size_t i;

	if (!json_is_array(arr))
		return fail(err, key, arr ? "must be an array" : "required");
	if (json_array_size(arr) > max)
		return fail(err, key, "too many entries");
	*out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *what = xasprintf("%s[%zu]", key, i);

		(*n)++;
		if (parse_descriptor(item, what, &(*out)[i], err) < 0)
			return -1;
	}
	return 0;
}

static int check_schema(json_t *doc, struct hamn_error **err)
{
	int64_t version = 0;

	if (!json_is_object(doc))
		return fail(err, "document", "must be an object");
	if (hamn_json_get_int_opt(doc, "schemaVersion", "schemaVersion", &version, err) < 0)
		return -1;
	if (version != 2)
		return fail(err, "schemaVersion", "must be 2");
	return 0;
}

struct hamn_oci_manifest *hamn_oci_manifest_parse(json_t *doc, struct hamn_error **err)
{
	struct hamn_oci_manifest *m = xzalloc(sizeof(*m));

	if (check_schema(doc, err) < 0 ||
	    get_str(doc, "mediaType", "mediaType", &m->media_type, err) < 0 ||
	    parse_descriptor(json_object_get(doc, "config"), "config", &m->config, err) < 0 ||
	    parse_descriptors(doc, "layers", &m->layers, &m->n_layers, HAMN_OCI_MAX_LAYERS,
			      err) < 0) {
		hamn_oci_manifest_free(m);
		hamn_error_wrap(err, "image manifest");
		return NULL;
	}
	return m;
}

void hamn_oci_manifest_free(struct hamn_oci_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	free(m);
}

struct hamn_oci_index *hamn_oci_index_parse(json_t *doc, struct hamn_error **err)
{
	struct hamn_oci_index *idx = xzalloc(sizeof(*idx));

	if (check_schema(doc, err) < 0 ||
	    get_str(doc, "mediaType", "mediaType", &idx->media_type, err) < 0 ||
	    parse_descriptors(doc, "manifests", &idx->manifests, &idx->n_manifests, 10000,
			      err) < 0) {
		hamn_oci_index_free(idx);
		hamn_error_wrap(err, "image index");
		return NULL;
	}
	return idx;
}

void hamn_oci_index_free(struct hamn_oci_index *idx)
{
	if (!idx)
		return;
	free(idx->media_type);
	for (size_t i = 0; i < idx->n_manifests; i++)
		descriptor_release(&idx->manifests[i]);
	free(idx->manifests);
	free(idx);
}

const char *hamn_oci_descriptor_annotation(const struct hamn_oci_descriptor *d, const char *key)
{
	json_t *v = d->annotations ? json_object_get(d->annotations, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool hamn_oci_media_is_manifest(const char *mt)
{
	return streq(mt, HAMN_MT_OCI_MANIFEST) || streq(mt, HAMN_MT_DOCKER_MANIFEST);
}

bool hamn_oci_media_is_index(const char *mt)
{
	return streq(mt, HAMN_MT_OCI_INDEX) || streq(mt, HAMN_MT_DOCKER_LIST);
}

const char *hamn_oci_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__i386__)
	return "386";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

const char *hamn_oci_host_os(void)
{
	return "linux";
}

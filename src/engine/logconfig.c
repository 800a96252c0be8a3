/*
 * logconfig.c - HostConfig.LogConfig: a container's logging driver and its
 * options, checked as dockerd checks them, and the daemon's defaults
 * (dockerd's log-driver and log-opts) merged in at create as dockerd merges
 * them: an empty Type takes the daemon's driver, and a container on the
 * daemon's driver takes each default option it does not set itself.
 *
 * Drivers:
 *   json-file  <id>-json.log, docker's format; max-size (no limit by
 *              default), max-file (1)
 *   local      local-logs/container.log; max-size 20m and max-file 5 by
 *              default, as docker's. The records are json-file lines, not
 *              docker's protobuf frames (the format is private to the
 *              daemon in both), and rotated files are not compressed
 *   none       nothing is kept; options are ignored, as dockerd ignores them
 * Sizes are go-units' FromHumanSize: decimal ("1k" is 1000 bytes).
 */
#include <ctype.h>

#include "engine/internal.h"

#define LOCAL_MAX_SIZE (20 * 1000 * 1000)
#define LOCAL_MAX_FILE 5

/* Options every driver but none understands (dockerd's log attributes). */
static const char *const attr_opts[] = { "labels", "labels-regex", "env", "env-regex", "tag",
					 NULL };

static bool known_opt(const char *k)
{
	return streq(k, "max-size") || streq(k, "max-file") || streq(k, "compress") ||
	       strv_contains((char *const *)attr_opts, k);
}

int ctr_log_parse_size(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	const char *p = s, *u;
	double v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	v = strtod(s, &end);
	p = end;
	if (*p == ' ')
		p++;
	u = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
	if (u) {
		for (const char *x = units; x <= u; x++)
			v *= 1000.0;
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p || v >= 9.2e18)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* Go's strconv.ParseBool. */
static int parse_go_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False", NULL };

	if (strv_contains((char *const *)yes, s))
		*out = true;
	else if (strv_contains((char *const *)no, s))
		*out = false;
	else
		return -1;
	return 0;
}

/* mode and max-buffer-size, which dockerd checks for every driver. */
static int check_mode(json_t *opts, struct hamn_error **err)
{
	const char *mode = json_string_value(json_object_get(opts, "mode"));
	const char *buf = json_string_value(json_object_get(opts, "max-buffer-size"));
	int64_t n;

	if (mode && mode[0] && !streq(mode, "blocking") && !streq(mode, "non-blocking"))
		return hamn_error_setq(err, EINVAL, "logger: logging mode not supported: %s", mode);
	if (!buf)
		return 0;
	if (!mode || !streq(mode, "non-blocking"))
		return hamn_error_setq(err, EINVAL, "logger: max-buffer-size option is only "
				       "supported with 'mode=non-blocking'");
	if (ctr_log_parse_size(buf, &n) < 0)
		return hamn_error_setq(err, EINVAL, "error parsing option max-buffer-size: "
				       "invalid size: '%s'", buf);
	return 0;
}

static int json_file_opt(struct ctr_config *c, const char *k, const char *v,
			 struct hamn_error **err)
{
	if (streq(k, "max-size")) {
		if (ctr_log_parse_size(v, &c->log_max_size) < 0 || c->log_max_size <= 0)
			return hamn_error_setq(err, EINVAL, "invalid max-size: %s", v);
	} else if (streq(k, "max-file")) {
		if (hamn_parse_int64(v, &c->log_max_file, NULL) < 0 || c->log_max_file < 1)
			return hamn_error_setq(err, EINVAL, "max-file cannot be less than 1");
	}
	return 0;
}

static int local_opt(struct ctr_config *c, const char *k, const char *v, bool *compress,
		     struct hamn_error **err)
{
	if (streq(k, "max-size")) {
		if (ctr_log_parse_size(v, &c->log_max_size) < 0)
			return hamn_error_setq(err, EINVAL, "invalid value for max-size: %s", v);
	} else if (streq(k, "max-file")) {
		if (hamn_parse_int64(v, &c->log_max_file, NULL) < 0)
			return hamn_error_setq(err, EINVAL, "invalid value for max-file: %s", v);
		if (c->log_max_file < 0)
			return hamn_error_setq(err, EINVAL, "max-file must not be negative");
	} else if (streq(k, "compress")) {
		if (parse_go_bool(v, compress) < 0)
			return hamn_error_setq(err, EINVAL, "invalid boolean value for compress: "
					       "strconv.ParseBool: parsing \"%s\": invalid syntax", v);
	}
	return 0;
}

/* The options of driver type (json-file or local) into c. */
static int driver_opts(const char *type, json_t *opts, struct ctr_config *c,
		       struct hamn_error **err)
{
	bool local = streq(type, "local"), compress = true;
	const char *k;
	json_t *v;

	c->log_max_size = local ? LOCAL_MAX_SIZE : 0;
	c->log_max_file = local ? LOCAL_MAX_FILE : 1;
	json_object_foreach(opts, k, v) {
		const char *s = json_string_value(v);

		if (streq(k, "mode") || streq(k, "max-buffer-size"))
			continue;
		if (!known_opt(k))
			return local ? hamn_error_setq(err, EINVAL,
						       "unknown log opt '%s' for log driver local", k)
				     : hamn_error_setq(err, EINVAL,
						       "unknown log opt '%s' for json-file log driver",
						       k);
		if ((local ? local_opt(c, k, s, &compress, err)
			   : json_file_opt(c, k, s, err)) < 0)
			return -1;
	}
	if (local && compress && c->log_max_file <= 1)
		return hamn_error_setq(err, EINVAL,
				       "compression cannot be enabled when max file count is 1");
	if (c->log_max_file < 1)
		c->log_max_file = 1;
	return 0;
}

static int check_driver(const char *type, json_t *opts, struct ctr_config *c,
			struct hamn_error **err)
{
	if (streq(type, "none"))
		return 0;
	if (check_mode(opts, err) < 0)
		return -1;
	if (!streq(type, "json-file") && !streq(type, "local"))
		return hamn_error_setq(err, EINVAL, "logger: no log driver named '%s' is registered",
				       type);
	return driver_opts(type, opts, c, err);
}

int ctr_log_config_parse(json_t *hc, struct ctr_config *c, struct hamn_error **err)
{
	json_t *lc = NULL, *opts = NULL;
	const char *type = NULL;

	if (jf_object(hc, "HostConfig", "LogConfig", &lc, err) < 0 ||
	    jf_string(lc, "LogConfig", "Type", &type, err) < 0 ||
	    jf_strmap(lc, "LogConfig", "Config", &opts, err) < 0)
		return -1;
	if (!type || !type[0])
		type = "json-file";
	if (check_driver(type, opts, c, err) < 0)
		return -1;
	c->log_driver = xstrdup(type);
	return 0;
}

int ctr_log_defaults_check(const char *type, json_t *opts, struct hamn_error **err)
{
	struct ctr_config c = { 0 };

	if (opts && !json_is_object(opts))
		return hamn_error_setq(err, EINVAL, "log-opts must be an object of strings");
	for (void *it = json_object_iter(opts); it; it = json_object_iter_next(opts, it))
		if (!json_is_string(json_object_iter_value(it)))
			return hamn_error_setq(err, EINVAL, "log-opts must be an object of strings");
	return check_driver(type && type[0] ? type : "json-file", opts, &c, err);
}

json_t *ctr_log_merge_defaults(json_t *hc, const char *def_type, json_t *def_opts)
{
	json_t *out = json_is_object(hc) ? json_deep_copy(hc) : json_object();
	json_t *lc = json_object_get(out, "LogConfig"), *cfg, *v;
	const char *type, *k;

	if (!def_type || !def_type[0])
		def_type = "json-file";
	if (lc && !json_is_null(lc) && !json_is_object(lc))
		return out; /* a wrong type: ctr_log_config_parse says so */
	if (!json_is_object(lc)) {
		lc = json_object();
		json_object_set_new(out, "LogConfig", lc);
	}
	type = json_string_value(json_object_get(lc, "Type"));
	if (jf_present(lc, "Type") && !type)
		return out;
	if (!type || !type[0])
		json_object_set_new(lc, "Type", json_string(def_type));
	cfg = json_object_get(lc, "Config");
	if (!json_is_object(cfg)) {
		if (cfg && !json_is_null(cfg))
			return out; /* a wrong type: ctr_log_config_parse says so */
		cfg = json_object();
		json_object_set_new(lc, "Config", cfg);
	}
	if (!streq(json_string_value(json_object_get(lc, "Type")), def_type))
		return out;
	json_object_foreach(def_opts, k, v) {
		if (!json_object_get(cfg, k))
			json_object_set(cfg, k, v);
	}
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *ctr_log_config_json(const char *type, json_t *opts)
{
	size_t n = json_is_object(opts) ? json_object_size(opts) : 0, i = 0;
	_cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(*keys));
	json_t *cfg = json_object(), *v;
	const char *k;

	json_object_foreach(opts, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		json_object_set(cfg, keys[i], json_object_get(opts, keys[i]));
	return json_pack("{s:s, s:o}", "Type", type, "Config", cfg);
}

char *log_file_name(const struct ctr_config *c, const char *id)
{
	if (c->log_driver && streq(c->log_driver, "local"))
		return xstrdup("local-logs/container.log");
	return xasprintf("%s-json.log", id);
}

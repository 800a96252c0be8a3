/*
 * render.c - containers as docker shows them: the inspect object, the
 * entries of GET /containers/json (cached per container, so listing 100
 * containers touches no file and no row), the Status text, and the list
 * filters.
 *
 * Python clients index these objects and raise KeyError on a missing key,
 * so every key dockerd sends is present, with its zero value when hamn has
 * nothing to say.
 */
#include <regex.h>

#include "engine/exec_int.h"
#include "engine/internal.h"

static const char zero_time[] = "0001-01-01T00:00:00Z";

static const char *time_str(int64_t ns, char buf[HAMN_TIME_STR_MAX])
{
	return ns ? hamn_time_format(ns, buf) : zero_time;
}

char *ctr_command_string(const struct ctr_config *c)
{
	struct hamn_buf b = HAMN_BUF_INIT;
	bool first = true;
	char *const *lists[2] = { c->entrypoint, c->cmd };

	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			const char *a = lists[l][i];

			if (!first)
				hamn_buf_putc(&b, ' ');
			/* docker quotes arguments (not the path) that contain a space */
			if (!first && strchr(a, ' '))
				hamn_buf_printf(&b, "'%s'", a);
			else
				hamn_buf_puts(&b, a);
			first = false;
		}
	}
	return hamn_buf_steal(&b);
}

char *ctr_status_text(const struct ctr_state *st, int64_t now_ns)
{
	_cleanup_free_ char *d = NULL;

	switch (ctr_status_shown(st)) {	/* paused: pause.c */
	case ST_CREATED:
		return xstrdup("Created");
	case ST_RUNNING:
		d = hamn_human_duration(now_ns - st->started_ns);
		return xasprintf("Up %s", d);
	case ST_PAUSED:
		d = hamn_human_duration(now_ns - st->started_ns);
		return xasprintf("Up %s (Paused)", d);
	case ST_RESTARTING:
		d = hamn_human_duration(now_ns - st->finished_ns);
		return xasprintf("Restarting (%d) %s ago", st->exit_code, d);
	case ST_REMOVING:
		return xstrdup("Removal In Progress");
	case ST_DEAD:
		return xstrdup("Dead");
	default:
		if (!st->finished_ns)
			return xstrdup("");
		d = hamn_human_duration(now_ns - st->finished_ns);
		return xasprintf("Exited (%d) %s ago", st->exit_code, d);
	}
}

static json_t *args_json(const struct ctr_config *c)
{
	json_t *arr = json_array();
	bool skip = true;	/* the first word is Path */
	char *const *lists[2] = { c->entrypoint, c->cmd };

	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			if (skip) {
				skip = false;
				continue;
			}
			json_array_append_new(arr, json_string(lists[l][i]));
		}
	}
	return arr;
}

static json_t *state_json(const struct ctr_state *st)
{
	char a[HAMN_TIME_STR_MAX], b[HAMN_TIME_STR_MAX];
	bool running = st->status == ST_RUNNING || st->status == ST_PAUSED ||
		       st->status == ST_RESTARTING;

	return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
			 ctr_status_name(ctr_status_shown(st)), "Running", running, "Paused",
			 ctr_status_shown(st) == ST_PAUSED, "Restarting",
			 st->status == ST_RESTARTING, "OOMKilled", st->oom_killed, "Dead", st->status == ST_DEAD, "Pid",
			 st->status == ST_RUNNING ? (int)st->pid : 0, "ExitCode", st->exit_code,
			 "Error", st->error ? st->error : "", "StartedAt",
			 time_str(st->started_ns, a), "FinishedAt", time_str(st->finished_ns, b));
}

static json_t *mounts_json(const struct ctr_config *c)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct ctr_mount *m = &c->mounts[i];
		json_t *o;

		if (m->type == CM_TMPFS && m->tmpfs_map) {
			continue;	/* dockerd lists --tmpfs in HostConfig.Tmpfs only */
		} else if (m->type == CM_TMPFS) {
			o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "tmpfs", "Source", "",
				      "Destination", m->destination, "Mode", m->mode ? m->mode : "",
				      "RW", !m->readonly, "Propagation", "");
		} else if (m->type == CM_VOLUME) {
			o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume",
				      "Name", m->name, "Source", m->source, "Destination",
				      m->destination, "Driver", "local", "Mode",
				      m->mode && m->mode[0] ? m->mode : "z", "RW", !m->readonly,
				      "Propagation", "");
		} else {
			o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
				      m->source, "Destination", m->destination, "Mode",
				      m->mode ? m->mode : "", "RW", !m->readonly, "Propagation",
				      m->propagation ? m->propagation : "rprivate");
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *graph_driver_json(const char *dir, const char *lower)
{
	return json_pack("{s:{s:s, s:s, s:s, s:s}, s:s}", "Data", "LowerDir", lower ? lower : "",
			 "MergedDir", dir, "UpperDir", "", "WorkDir", "", "Name", "overlay2");
}

static void set_paths(json_t *obj, struct hamn_engine *e, const struct container *c)
{
	_cleanup_free_ char *dir = ctr_dir_path(e, c->id);
	_cleanup_free_ char *log = log_file_name(&c->cfg, c->id);
	_cleanup_free_ char *files = ctr_net_files_dir(e, c);	/* container: shares them */
	/* as dockerd: only json-file's path is shown (local's format is private) */
	bool logged = streq(c->cfg.log_driver, "json-file");
	json_t *gd;

	json_object_set_new(obj, "ResolvConfPath", json_sprintf("%s/resolv.conf", files));
	json_object_set_new(obj, "HostnamePath", json_sprintf("%s/hostname", files));
	json_object_set_new(obj, "HostsPath", json_sprintf("%s/hosts", files));
	json_object_set_new(obj, "LogPath", logged ? json_sprintf("%s/%s", dir, log)
						   : json_string(""));
	gd = json_object_get(obj, "GraphDriver");
	json_object_set_new(json_object_get(gd, "Data"), "MergedDir",
			    json_sprintf("%s/merged", dir));
	json_object_set_new(json_object_get(gd, "Data"), "UpperDir",
			    json_sprintf("%s/upper", dir));
	json_object_set_new(json_object_get(gd, "Data"), "WorkDir", json_sprintf("%s/work", dir));
}

json_t *ctr_inspect_json(struct hamn_engine *e, const struct container *c)
{
	char created[HAMN_TIME_STR_MAX];
	json_t *obj, *health;

	obj = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:n,"
			" s:o, s:o, s:o, s:o, s:o}",
			"Id", c->id, "Created", hamn_time_format(c->created_ns, created), "Path",
			c->path, "Args", args_json(&c->cfg), "State", state_json(&c->st), "Image",
			c->image_id, "Name", "", "RestartCount", (json_int_t)c->st.restart_count,
			"Driver", "overlay2", "Platform", "linux", "MountLabel", "", "ProcessLabel",
			"", "AppArmorProfile", "", "ExecIDs", "HostConfig",
			ctr_host_config_full(c->host_json), "GraphDriver",
			graph_driver_json("", NULL), "Mounts", mounts_json(&c->cfg), "Config",
			ctr_config_full(c->config_json), "NetworkSettings",
			ctr_net_settings_json(c));
	if (!obj)
		hamn_bug("cannot build the inspect object of %s", c->id);
	json_object_set_new(obj, "Name", json_sprintf("/%s", c->name));
	set_paths(obj, e, c);
	health = engine_health_json(e, c->id);	/* health.c */
	if (health)
		json_object_set_new(json_object_get(obj, "State"), "Health", health);
	if (c->cfg.has_pids_limit || e->default_pids_limit > 0)
		json_object_set_new(json_object_get(obj, "HostConfig"), "PidsLimit",
				    json_integer(c->cfg.has_pids_limit ? c->cfg.pids_limit
								       : e->default_pids_limit));
	return obj;
}

/* ---- list ---- */

static json_t *list_entry_json(const struct container *c)
{
	_cleanup_free_ char *cmd = ctr_command_string(&c->cfg);
	json_t *obj = json_pack("{s:s, s:[s+], s:s, s:s, s:s, s:I, s:[], s:O, s:{s:s},"
				" s:{}, s:o}",
				"Id", c->id, "Names", "/", c->name, "Image", c->cfg.image, "ImageID",
				c->image_id, "Command", cmd, "Created",
				(json_int_t)(c->created_ns / 1000000000LL), "Ports", "Labels",
				c->cfg.labels, "HostConfig", "NetworkMode", c->cfg.network_mode,
				"NetworkSettings", "Mounts", mounts_json(&c->cfg));

	if (!obj)
		hamn_bug("cannot build the list entry of %s", c->id);
	ctr_net_list_fill(c, obj);	/* Ports and NetworkSettings (network_json.c) */
	return obj;
}

void ctr_list_entry(struct hamn_engine *e, struct container *c, int64_t now_ns,
		    struct hamn_buf *out)
{
	_cleanup_free_ char *status = NULL;
	char health[16];

	if (!c->list_cache) {
		_cleanup_json_ json_t *obj = list_entry_json(c);
		char *text = hamn_json_dump(obj);

		/* cut the closing brace: State and Status are appended per request */
		text[strlen(text) - 1] = '\0';
		c->list_cache = text;
	}
	/* our own texts ("Up 3 seconds"): nothing in them needs JSON escaping */
	status = ctr_status_text(&c->st, now_ns);
	if (ctr_status_shown(&c->st) == ST_RUNNING && engine_health_status(e, c->id, health)) {
		char *with = xasprintf("%s (%s%s)", status, streq(health, "starting") ? "health: "
										   : "", health);

		free(status);
		status = with;
	}
	hamn_buf_puts(out, c->list_cache);
	hamn_buf_puts(out, ",\"State\":\"");
	hamn_buf_puts(out, ctr_status_name(ctr_status_shown(&c->st)));
	hamn_buf_puts(out, "\",\"Status\":\"");
	hamn_buf_puts(out, status);
	hamn_buf_puts(out, "\"}");
}

/* ---- filters ---- */

static const char *const filter_keys[] = { "status", "label", "name", "id", "ancestor",
					    "exited", "before", "since", "volume", "network",
					    "health", "is-task", "publish", "expose", NULL };

int ctr_filters_check(const struct hamn_engine_filter *f, size_t n, struct hamn_error **err)
{
	for (size_t i = 0; i < n; i++) {
		bool known = false;

		for (size_t k = 0; filter_keys[k]; k++)
			known |= streq(f[i].key, filter_keys[k]);
		if (!known)
			return hamn_error_setq(err, EINVAL, "Invalid filter '%s'", f[i].key);
		for (size_t v = 0; f[i].values[v]; v++) {
			const char *val = f[i].values[v];
			_cleanup_error_ struct hamn_error *perr = NULL;
			int64_t code;

			if (streq(f[i].key, "status") && ctr_status_parse(val) < 0)
				return hamn_error_setq(err, EINVAL, "Invalid filter 'status=%s'", val);
			if (streq(f[i].key, "exited") && hamn_parse_int64(val, &code, &perr) < 0)
				return hamn_error_setq(err, EINVAL, "invalid filter 'exited=%s'", val);
		}
	}
	return 0;
}

int ctr_filters_check_refs(struct hamn_engine *e, const struct hamn_engine_filter *f, size_t n,
			   struct hamn_error **err)
{
	int r = 0;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!streq(f[i].key, "before") && !streq(f[i].key, "since"))
			continue;
		for (size_t v = 0; f[i].values[v] && r == 0; v++)
			if (!table_find(e, f[i].values[v], NULL))
				r = hamn_error_setq(err, ENOENT, "no such container %s",
						    f[i].values[v]);
	}
	pthread_mutex_unlock(&e->lock);
	return r;
}

static bool label_matches(json_t *labels, const char *want)
{
	const char *neq = strstr(want, "!="), *eq = strchr(want, '=');
	_cleanup_free_ char *key = NULL;
	const char *have;

	if (neq) {
		key = xstrndup(want, (size_t)(neq - want));
		have = json_string_value(json_object_get(labels, key));
		return !have || !streq(have, neq + 2);
	}
	if (!eq)
		return json_object_get(labels, want) != NULL;
	key = xstrndup(want, (size_t)(eq - want));
	have = json_string_value(json_object_get(labels, key));
	return have && streq(have, eq + 1);
}

static bool regex_matches(const char *pattern, const char *s)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return strstr(s, pattern) != NULL;
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static bool value_matches(struct hamn_engine *e, const struct container *c, const char *key,
			  const char *v)
{
	if (streq(key, "status"))
		return streq(ctr_status_name(ctr_status_shown(&c->st)), v);
	if (streq(key, "name")) {
		_cleanup_free_ char *slash = xasprintf("/%s", c->name);

		return regex_matches(v, slash);
	}
	if (streq(key, "id"))
		return str_has_prefix(c->id, v);
	if (streq(key, "ancestor"))
		return streq(c->cfg.image, v) || streq(c->image_id, v) ||
		       (str_has_prefix(c->image_id, "sha256:") && str_has_prefix(c->image_id + 7, v));
	if (streq(key, "exited"))
		return c->st.status == ST_EXITED && c->st.has_been_started &&
		       c->st.exit_code == atoi(v);
	if (streq(key, "before") || streq(key, "since")) {
		struct container *o = table_find(e, v, NULL);

		if (!o)
			return false;
		return streq(key, "before") ? c->created_ns < o->created_ns
					    : c->created_ns > o->created_ns;
	}
	if (streq(key, "volume")) {
		for (size_t i = 0; i < c->cfg.n_mounts; i++)
			if (streq(c->cfg.mounts[i].destination, v) ||
			    (c->cfg.mounts[i].name && streq(c->cfg.mounts[i].name, v)))
				return true;
		return false;
	}
	if (streq(key, "network"))
		return ctr_net_filter_match(c, v);
	if (streq(key, "is-task"))
		return streq(v, "false") || streq(v, "0");
	if (streq(key, "health")) {
		char h[16];

		return engine_health_status(e, c->id, h) ? streq(h, v) : streq(v, "none");
	}
	/* publish, expose: nothing to match yet */
	return false;
}

bool ctr_filters_match(struct hamn_engine *e, const struct container *c,
		       const struct hamn_engine_filter *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool any = false, all = true;

		if (streq(f[i].key, "label")) {
			/* every label filter must hold */
			for (size_t v = 0; f[i].values[v]; v++)
				all &= label_matches(c->cfg.labels, f[i].values[v]);
			if (!all)
				return false;
			continue;
		}
		if (!f[i].values[0])
			continue;
		for (size_t v = 0; f[i].values[v] && !any; v++)
			any = value_matches(e, c, f[i].key, f[i].values[v]);
		if (!any)
			return false;
	}
	return true;
}

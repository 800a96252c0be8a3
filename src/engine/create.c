/*
 * create.c - POST /containers/create: validate, resolve the image, merge its
 * config, take the name, make the container directory, record it.
 *
 * Order for crash safety: the name is reserved in memory first (so 20
 * concurrent creates of one name give one winner and 19 409s), then the
 * directory is made, then the row is written. A crash before the row leaves
 * a directory without a row, which the next start of hamnd deletes; the row
 * is the commit point.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

char *ctr_dir_path(struct hamn_engine *e, const char *id)
{
	return xasprintf("%s/containers/%s", e->root, id);
}

static int conflict(const char *name, const char *id, struct hamn_error **err)
{
	return hamn_error_setq(err, EEXIST,
			       "Conflict. The container name \"/%s\" is already in use by container "
			       "\"%s\". You have to remove (or rename) that container to be able to "
			       "reuse that name.",
			       name, id);
}

/* The request's Config part: the body without HostConfig and NetworkingConfig. */
static json_t *split_config(json_t *body)
{
	json_t *cfg = json_deep_copy(body);

	json_object_del(cfg, "HostConfig");
	json_object_del(cfg, "NetworkingConfig");
	return cfg;
}

/* HostConfig as stored: what was asked, with defaults made explicit for inspect. */
static json_t *normalize_host_config(json_t *hc, const struct ctr_config *c)
{
	json_t *out = json_is_object(hc) ? json_deep_copy(hc) : json_object();
	json_t *lc = json_object_get(out, "LogConfig");

	json_object_set_new(out, "LogConfig",
			    ctr_log_config_json(c->log_driver, json_object_get(lc, "Config")));
	json_object_set_new(out, "RestartPolicy",
			    json_pack("{s:s, s:I}", "Name", restart_policy_name(c->restart),
				      "MaximumRetryCount", (json_int_t)c->restart_max));
	json_object_set_new(out, "NetworkMode", json_string(c->network_mode));
	json_object_set_new(out, "ShmSize", json_integer(c->shm_size > 0 ? c->shm_size
									  : HAMN_ENGINE_DEFAULT_SHM_SIZE));
	json_object_set_new(out, "Runtime", json_string("runc"));
	return out;
}

static int check_seccomp(const struct ctr_config *c, struct hamn_error **err)
{
	json_t *sc;

	if (c->seccomp != SECCOMP_PROFILE || c->privileged)
		return 0;
	sc = hamn_oci_seccomp_from_docker_profile(c->seccomp_profile, spec_caps(c), err);
	if (!sc)
		return hamn_error_wrap(err, "Decoding seccomp profile failed");
	json_decref(sc);
	return 0;
}

struct create_req {
	json_t *config_json, *host_json;
	struct ctr_config cfg;
	char *image_id;
	json_t *warnings;
};

static void create_req_release(struct create_req *r)
{
	if (r->config_json)
		json_decref(r->config_json);
	if (r->host_json)
		json_decref(r->host_json);
	ctr_config_release(&r->cfg);
	free(r->image_id);
	if (r->warnings)
		json_decref(r->warnings);
}

static int resolve_image(struct hamn_engine *e, struct create_req *r, struct hamn_error **err)
{
	_cleanup_image_config_ struct hamn_oci_image_config *ic = NULL;

	if (!r->cfg.image[0])
		return hamn_error_setq(err, EINVAL, "Config.Image is empty: no image to run");
	if (hamn_image_resolve(e->images, r->cfg.image, &r->image_id, err) < 0)
		return -1;
	ic = hamn_image_config(e->images, r->image_id, err);
	if (!ic)
		return -1;
	return ctr_config_merge_image(&r->cfg, r->config_json, &ic->config, err);
}

static int parse_request(struct hamn_engine *e, json_t *body, struct create_req *r,
			 struct hamn_error **err)
{
	json_t *hc = json_object_get(body, "HostConfig");
	_cleanup_json_ json_t *merged = NULL;

	if (!json_is_object(body))
		return hamn_error_setq(err, EINVAL, "the request body must be a JSON object");
	/* the daemon's log-driver and log-opts, as dockerd merges them (logconfig.c) */
	if (!hc || json_is_null(hc) || json_is_object(hc))
		hc = merged = ctr_log_merge_defaults(hc, e->log_driver, e->log_opts);
	r->config_json = split_config(body);
	if (ctr_config_parse(r->config_json, hc, e->root, &r->cfg, err) < 0 ||
	    check_seccomp(&r->cfg, err) < 0)
		return -1;
	r->host_json = normalize_host_config(hc, &r->cfg);
	r->warnings = json_array();
	return resolve_image(e, r, err);
}

/* Take the name (given or generated) for c; lock held. */
static int reserve_name(struct hamn_engine *e, struct container *c, const char *name,
			struct hamn_error **err)
{
	struct container *other;

	if (name) {
		other = table_find_name(e, name);
		if (other)
			return conflict(name[0] == '/' ? name + 1 : name, other->id, err);
		c->name = xstrdup(name[0] == '/' ? name + 1 : name);
		return 0;
	}
	for (int tries = 0; tries < 100; tries++) {
		uint32_t seed;
		char *n;

		hamn_random_bytes(&seed, sizeof(seed));
		n = name_generate(seed);
		if (tries >= 10) {
			/* docker's way out of a crowded namespace: a number behind the name */
			char *m = xasprintf("%s%u", n, seed % 10);

			free(n);
			n = m;
		}
		if (!table_find_name(e, n)) {
			c->name = n;
			return 0;
		}
		free(n);
	}
	return hamn_error_setq(err, EEXIST, "cannot generate a free container name");
}

static int make_dir(struct hamn_engine *e, struct container *c, struct hamn_error **err)
{
	static const char *const subdirs[] = { "upper", "work", "merged" };
	_cleanup_close_ int dfd = -1;

	if (mkdirat(e->ctrs_fd, c->id, 0710) < 0)
		return hamn_error_set(err, errno, "create the container directory");
	dfd = openat(e->ctrs_fd, c->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hamn_error_set(err, errno, "open the container directory");
	for (size_t i = 0; i < 3; i++)
		if (mkdirat(dfd, subdirs[i], 0755) < 0)
			return hamn_error_set(err, errno, "create '%s'", subdirs[i]);
	return ctr_files_write(dfd, c, err);
}

static void undo_dir(struct hamn_engine *e, const char *id)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (hamn_rm_rf(e->ctrs_fd, id, &err) < 0)
		log_warn("cannot remove the directory of container %s: %s", id, err->msg);
}

static struct container *container_from(struct create_req *r)
{
	struct container *c = ctr_new();
	char *id = hamn_random_id();

	memcpy(c->id, id, ID_LEN + 1);
	free(id);
	c->created_ns = hamn_now_ns();
	c->image_id = steal_pointer(&r->image_id);
	c->config_json = steal_pointer(&r->config_json);
	c->host_json = steal_pointer(&r->host_json);
	c->cfg = r->cfg;
	memset(&r->cfg, 0, sizeof(r->cfg));
	if (!c->cfg.hostname[0] && c->cfg.uts_mode != NS_HOST) {
		char host[256] = "";

		/* as dockerd: --network host takes the host's name */
		if (c->cfg.net_host && gethostname(host, sizeof(host) - 1) == 0 && host[0]) {
			free(c->cfg.hostname);
			c->cfg.hostname = xstrdup(host);
		} else {
			free(c->cfg.hostname);
			c->cfg.hostname = xstrndup(c->id, SHORT_ID_LEN);
		}
	}
	json_object_set_new(c->config_json, "Hostname", json_string(c->cfg.hostname));
	c->path = xstrdup(c->cfg.entrypoint && c->cfg.entrypoint[0] ? c->cfg.entrypoint[0]
			  : c->cfg.cmd && c->cfg.cmd[0]		     ? c->cfg.cmd[0]
								     : "");
	c->st.status = ST_CREATED;
	c->reserved = true;
	return c;
}

/* Record c (lock held); on success it becomes visible. */
static int commit(struct hamn_engine *e, struct container *c, struct hamn_error **err)
{
	if (store_put(e->store, c, err) < 0) {
		/* a UNIQUE violation means a name we did not see in memory: a 409 all the same */
		if ((*err)->errnum == EEXIST) {
			hamn_error_free(err);
			return conflict(c->name, "", err);
		}
		return -1;
	}
	c->reserved = false;
	c->in_table = true;
	ctr_changed(e, c);
	return 0;
}

int hamn_engine_container_create(struct hamn_engine *e, const char *name, json_t *body,
				 char **id_out, json_t **warnings_out, struct hamn_error **err)
{
	struct create_req r = { 0 };
	struct container *c = NULL;
	int ret = -1;

	if (name && name[0] && name_check(name, err) < 0)
		return -1;
	if (parse_request(e, body, &r, err) < 0)
		goto out;
	c = container_from(&r);
	pthread_mutex_lock(&e->lock);
	if (reserve_name(e, c, name && name[0] ? name : NULL, err) < 0) {
		pthread_mutex_unlock(&e->lock);
		goto out;
	}
	table_add(e, c);
	pthread_mutex_unlock(&e->lock);

	if (ctr_net_create(e, c, body, err) < 0 || ctr_volumes_resolve(e, c, err) < 0 ||
	    make_dir(e, c, err) < 0 || ctr_net_commit(e, c, err) < 0) {
		undo_dir(e, c->id);
		pthread_mutex_lock(&e->lock);
		table_del(e, c);
		pthread_mutex_unlock(&e->lock);
		goto out;
	}
	pthread_mutex_lock(&e->lock);
	if (commit(e, c, err) < 0) {
		table_del(e, c);
		pthread_mutex_unlock(&e->lock);
		undo_dir(e, c->id);
		goto out;
	}
	pthread_mutex_unlock(&e->lock);
	engine_event(e, c, "create", NULL);
	*id_out = xstrdup(c->id);
	if (warnings_out)
		*warnings_out = json_incref(r.warnings);
	ret = 0;
out:
	if (c)
		ctr_put(e, c);
	create_req_release(&r);
	return ret;
}

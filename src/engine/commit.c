/*
 * commit.c - docker commit, diff and export of a container: its upper
 * directory compared with (or merged over) its image's layers.
 *
 * Nothing is mounted: the layer directories are read directly through
 * layerfs.c, which applies overlayfs's rules itself. This works whatever
 * the container's state, leaves no mount behind when hamnd dies, and never
 * follows a link the container planted.
 *
 * Not done: pause=1 does not freeze a running container while its upper
 * directory is read (the cgroup freezer belongs to the pause code).
 */
#include <fcntl.h>
#include <unistd.h>

#include "engine/commit.h"
#include "engine/commit_int.h"

const char *const engine_runtime_mounts[] = {
	"/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", NULL,
};

/* What commit, diff and export need of a container, copied under the engine lock. */
struct snap {
	char id[ID_LEN + 1];
	char *image_id;
	json_t *config;		/* the stored (merged) Config */
	char **skip;		/* mount points */
};

static void snap_release(struct snap *s)
{
	free(s->image_id);
	if (s->config)
		json_decref(s->config);
	hamn_strv_free(s->skip);
}

static int snap_take(struct hamn_engine *e, const char *ref, struct snap *s,
		     struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);

	memset(s, 0, sizeof(*s));
	if (!c)
		return -1;
	pthread_mutex_lock(&e->lock);
	memcpy(s->id, c->id, sizeof(s->id));
	s->image_id = xstrdup(c->image_id);
	s->config = json_deep_copy(c->config_json);
	s->skip = strv_copy((char *const *)engine_runtime_mounts);
	for (size_t i = 0; i < c->cfg.n_mounts; i++)
		strv_push(&s->skip, c->cfg.mounts[i].destination);
	pthread_mutex_unlock(&e->lock);
	ctr_put(e, c);
	return 0;
}

static int open_upper(struct hamn_engine *e, const struct snap *s, struct hamn_error **err)
{
	_cleanup_free_ char *rel = xasprintf("%s/upper", s->id);
	int fd = openat(e->ctrs_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "open the upper directory of container %s",
				      s->id);
	return fd;
}

/* ---- diff ---- */

json_t *hamn_engine_container_changes(struct hamn_engine *e, const char *ref,
				      struct hamn_error **err)
{
	struct snap s;
	struct lstack lower = LSTACK_INIT;
	struct layer_diff d = { 0 };
	_cleanup_close_ int upper = -1;
	json_t *out = NULL;

	if (snap_take(e, ref, &s, err) < 0)
		return NULL;
	d.skip = s.skip;
	d.changes = json_array();
	if ((upper = open_upper(e, &s, err)) >= 0 && image_lstack(e, s.image_id, &lower, err) == 0 &&
	    layer_diff(upper, &lower, &d, err) == 0)
		out = json_incref(d.changes);
	json_decref(d.changes);
	lstack_release(&lower);
	snap_release(&s);
	return out;
}

/* ---- export ---- */

static int export_dir(struct ltar *t, const struct lstack *dir, const char *rel,
		      struct hamn_error **err)
{
	_cleanup_strv_ char **names = lstack_names(dir, err);

	if (!names)
		return -1;
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *path = rel[0] ? xasprintf("%s/%s", rel, names[i])
						   : xstrdup(names[i]);
		struct lstack child = LSTACK_INIT;
		struct lent le;
		int rc;

		if (lstack_lookup(dir, names[i], &le, err) < 0)
			return -1;
		if (le.idx < 0)
			continue;	/* gone since it was listed */
		if (ltar_add(t, dir->fds[le.idx], names[i], &le.st, path, err) < 0)
			return -1;
		if (!S_ISDIR(le.st.st_mode))
			continue;
		if (lstack_child(dir, names[i], &child, err) < 0)
			return -1;
		rc = export_dir(t, &child, path, err);
		lstack_release(&child);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int hamn_engine_container_export(struct hamn_engine *e, const char *ref, int fd,
				 struct hamn_error **err)
{
	struct snap s;
	struct lstack root = LSTACK_INIT;
	_cleanup_close_ int upper = -1;
	struct ltar *t = NULL;
	struct hamn_digest d;
	int rc = -1;

	if (snap_take(e, ref, &s, err) < 0)
		return -1;
	if ((upper = open_upper(e, &s, err)) < 0 || image_lstack(e, s.image_id, &root, err) < 0 ||
	    lstack_push_top(&root, upper, err) < 0 || !(t = ltar_new(fd, err)))
		goto out;
	if (export_dir(t, &root, "", err) < 0) {
		ltar_free(t);
		goto out;
	}
	rc = ltar_finish(t, &d, NULL, err);
out:
	lstack_release(&root);
	snap_release(&s);
	return rc < 0 ? hamn_error_wrap(err, "export container %.12s", s.id) : 0;
}

/* ---- commit: the config ---- */

/* The image-config keys of a container Config. */
static const char *const exec_keys[] = {
	"User", "Env", "Cmd", "Entrypoint", "WorkingDir", "Labels", "ExposedPorts", "Volumes",
	"StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped", NULL,
};

/* Parse the image-config part of a Config object through the OCI model. */
static struct hamn_oci_image_config *exec_parse(json_t *cfg, struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = json_pack("{s:{s:s, s:[]}, s:{}}", "rootfs", "type", "layers",
					       "diff_ids", "config");
	json_t *c = json_object_get(doc, "config"), *v;

	for (size_t i = 0; exec_keys[i]; i++)
		if (json_is_object(cfg) && (v = json_object_get(cfg, exec_keys[i])) &&
		    !json_is_null(v))
			json_object_set(c, exec_keys[i], v);
	return hamn_oci_image_config_parse(doc, err);
}

static size_t env_key(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool env_has(char *const *env, const char *kv)
{
	for (size_t i = 0; env && env[i]; i++)
		if (env_key(env[i]) == env_key(kv) && strncmp(env[i], kv, env_key(kv)) == 0)
			return true;
	return false;
}

static void union_into(char ***dst, char *const *src)
{
	for (size_t i = 0; src && src[i]; i++) {
		if (!*dst)
			*dst = xcalloc(1, sizeof(char *));
		if (!strv_contains(*dst, src[i]))
			strv_push(dst, src[i]);
	}
}

static void dup_if_empty(char **dst, const char *src)
{
	if ((!*dst || !**dst) && src) {
		free(*dst);
		*dst = xstrdup(src);
	}
}

/* docker's merge(userConf, imageConf): fill what the user left empty. */
static void exec_merge(struct hamn_oci_image_exec *u, const struct hamn_oci_image_exec *c)
{
	const char *k;
	json_t *v;

	dup_if_empty(&u->user, c->user);
	dup_if_empty(&u->working_dir, c->working_dir);
	dup_if_empty(&u->stop_signal, c->stop_signal);
	for (size_t i = 0; c->env && c->env[i]; i++)
		if (!env_has(u->env, c->env[i]))
			union_into(&u->env, (char *const[]){ c->env[i], NULL });
	if (c->labels && !u->labels)
		u->labels = json_object();
	if (c->labels)
		json_object_foreach(c->labels, k, v)
			if (!json_object_get(u->labels, k))
				json_object_set(u->labels, k, v);
	if (!u->entrypoint || !u->entrypoint[0]) {
		if ((!u->cmd || !u->cmd[0]) && c->cmd) {
			hamn_strv_free(u->cmd);
			u->cmd = strv_copy(c->cmd);
		}
		if (!u->entrypoint && c->entrypoint)
			u->entrypoint = strv_copy(c->entrypoint);
	}
	union_into(&u->exposed_ports, c->exposed_ports);
	union_into(&u->volumes, c->volumes);
	if (!u->on_build && c->on_build)
		u->on_build = strv_copy(c->on_build);
	if (!u->shell && c->shell)
		u->shell = strv_copy(c->shell);
}

static json_t *commit_config(struct hamn_engine *e, const struct snap *s,
			     const struct hamn_engine_commit_opts *o, struct hamn_error **err)
{
	_cleanup_image_config_ struct hamn_oci_image_config *user = NULL, *ctr = NULL;
	_cleanup_image_config_ struct hamn_oci_image_config *img = NULL;

	user = exec_parse(json_is_object(o->config) ? o->config : s->config, err);
	if (!user || hamn_image_apply_changes(o->changes, &user->config, err) < 0)
		return NULL;
	ctr = exec_parse(s->config, err);
	if (!ctr)
		return NULL;
	exec_merge(&user->config, &ctr->config);
	/* what a container's Config does not carry comes from its image */
	img = hamn_image_config(e->images, s->image_id, err);
	if (!img)
		return NULL;
	exec_merge(&user->config, &img->config);
	return hamn_oci_image_exec_to_json(&user->config);
}

/* docker records the container's Cmd, joined by spaces, as the step that made the layer. */
static char *commit_created_by(const struct snap *s)
{
	_cleanup_strv_ char **cmd = NULL;

	if (hamn_json_get_strv_opt(s->config, "Cmd", "Cmd", &cmd, NULL) < 0 || !cmd)
		return xstrdup("");
	return strv_join(cmd, " ");
}

/* ---- commit ---- */

/* docker's "commit" container event, with the new image's id and the comment. */
static void commit_event(struct hamn_engine *e, const char *id, const char *image_id,
			 const struct hamn_engine_commit_opts *o)
{
	struct container *c = ctr_get(e, id, NULL);
	_cleanup_json_ json_t *attrs = NULL;

	if (!c)
		return;
	attrs = json_pack("{s:s, s:s}", "comment", o->comment ? o->comment : "", "imageID",
			  image_id);
	if (o->ref && *o->ref)
		json_object_set_new(attrs, "imageRef", json_string(o->ref));
	engine_event(e, c, "commit", attrs);
	ctr_put(e, c);
}

static int commit_layer(struct hamn_engine *e, const struct snap *s, int *fd_out,
			struct hamn_digest *diff, size_t *n_out, struct hamn_error **err)
{
	struct lstack lower = LSTACK_INIT;
	_cleanup_close_ int upper = open_upper(e, s, err);
	size_t n;
	int rc;

	if (upper < 0 || image_lstack(e, s->image_id, &lower, err) < 0)
		return -1;
	rc = layer_diff_file(e, upper, &lower, s->skip, fd_out, diff, n_out ? n_out : &n, err);
	lstack_release(&lower);
	return rc;
}

int container_layer(struct hamn_engine *e, const char *ref, int *fd_out,
		    struct hamn_digest *diff, size_t *n_out, struct hamn_error **err)
{
	struct snap s;
	int rc;

	if (snap_take(e, ref, &s, err) < 0)
		return -1;
	rc = commit_layer(e, &s, fd_out, diff, n_out, err);
	snap_release(&s);
	return rc;
}

int hamn_engine_container_commit(struct hamn_engine *e, const char *ref,
				 const struct hamn_engine_commit_opts *o, char **id_out,
				 struct hamn_error **err)
{
	struct snap s;
	_cleanup_json_ json_t *cfg = NULL;
	_cleanup_free_ char *created_by = NULL, *id = NULL;
	_cleanup_close_ int layer = -1;
	struct hamn_digest diff;
	int rc = -1;

	if (snap_take(e, ref, &s, err) < 0)
		return -1;
	cfg = commit_config(e, &s, o, err);
	if (!cfg || commit_layer(e, &s, &layer, &diff, NULL, err) < 0)
		goto out;
	created_by = commit_created_by(&s);
	struct image_req r = {
		.parent = s.image_id, .config = cfg, .created_by = created_by, .author = o->author,
		.comment = o->comment, .container = s.id, .layer_fd = layer, .diff_id = &diff,
	};
	if (engine_image_new(e, &r, &id, err) < 0)
		goto out;
	if (o->ref && *o->ref && hamn_image_tag(e->images, id, o->ref, err) < 0)
		goto out;
	commit_event(e, s.id, id, o);
	*id_out = steal_pointer(&id);
	rc = 0;
out:
	snap_release(&s);
	return rc;
}

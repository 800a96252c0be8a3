/*
 * table.c - the in-memory containers: allocation and references, and the
 * table that finds them by id, name or unique id prefix (docker's order).
 * A linear scan is enough for the few thousand containers a host runs; the
 * list endpoint is served from per-container caches (render.c).
 */
#include "engine/internal.h"

struct container *ctr_new(void)
{
	struct container *c = xzalloc(sizeof(*c));

	c->refs = 1;
	c->mon_fd = -1;
	c->st.error = xstrdup("");
	c->waiters.prev = c->waiters.next = &c->waiters;
	pthread_mutex_init(&c->op_lock, NULL);
	return c;
}

static void ctr_free(struct container *c)
{
	free(c->name);
	free(c->image_id);
	free(c->path);
	if (c->config_json)
		json_decref(c->config_json);
	if (c->host_json)
		json_decref(c->host_json);
	if (c->mount_points)
		json_decref(c->mount_points);
	ctr_config_release(&c->cfg);
	free(c->st.error);
	free(c->list_cache);
	ctr_net_free(c->net);
	if (c->stats_last)
		json_decref(c->stats_last);
	pthread_mutex_destroy(&c->op_lock);
	free(c);
}

void ctr_ref(struct container *c)
{
	c->refs++;
}

void ctr_unref_locked(struct container *c)
{
	if (c && --c->refs == 0)
		ctr_free(c);
}

void ctr_put(struct hamn_engine *e, struct container *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&e->lock);
	ctr_unref_locked(c);
	pthread_mutex_unlock(&e->lock);
}

void ctr_changed(struct hamn_engine *e, struct container *c)
{
	free(c->list_cache);
	c->list_cache = NULL;
	pthread_cond_broadcast(&e->cond);
}

void table_add(struct hamn_engine *e, struct container *c)
{
	if (e->n_ctrs == e->cap_ctrs) {
		e->cap_ctrs = e->cap_ctrs ? e->cap_ctrs * 2 : 64;
		e->ctrs = xreallocarray(e->ctrs, e->cap_ctrs, sizeof(*e->ctrs));
	}
	e->ctrs[e->n_ctrs++] = c;
	ctr_ref(c);
}

void table_del(struct hamn_engine *e, struct container *c)
{
	for (size_t i = 0; i < e->n_ctrs; i++) {
		if (e->ctrs[i] != c)
			continue;
		/* keep creation order: the list is newest first */
		memmove(&e->ctrs[i], &e->ctrs[i + 1], (e->n_ctrs - i - 1) * sizeof(*e->ctrs));
		e->n_ctrs--;
		c->in_table = false;
		ctr_unref_locked(c);
		return;
	}
}

struct container *table_find_name(struct hamn_engine *e, const char *name)
{
	if (name[0] == '/')
		name++;
	for (size_t i = 0; i < e->n_ctrs; i++)
		if (streq(e->ctrs[i]->name, name))
			return e->ctrs[i];
	return NULL;
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

struct container *table_find(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	struct container *found = NULL, *c;
	size_t n = ref ? strlen(ref) : 0;

	if (!n)
		goto missing;
	for (size_t i = 0; i < e->n_ctrs; i++)
		if (e->ctrs[i]->in_table && streq(e->ctrs[i]->id, ref))
			return e->ctrs[i];
	c = table_find_name(e, ref);
	if (c && c->in_table)
		return c;
	if (n > ID_LEN || !is_hex(ref))
		goto missing;
	for (size_t i = 0; i < e->n_ctrs; i++) {
		if (!e->ctrs[i]->in_table || strncmp(e->ctrs[i]->id, ref, n) != 0)
			continue;
		if (found) {
			hamn_error_setq(err, EINVAL, "multiple IDs found with provided prefix: %s",
					ref);
			return NULL;
		}
		found = e->ctrs[i];
	}
	if (found)
		return found;
missing:
	hamn_error_setq(err, ENOENT, "No such container: %s", ref ? ref : "");
	return NULL;
}

struct container *ctr_get(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	struct container *c;

	pthread_mutex_lock(&e->lock);
	c = table_find(e, ref, err);
	if (c)
		ctr_ref(c);
	pthread_mutex_unlock(&e->lock);
	return c;
}

char *hamn_engine_container_id(struct hamn_engine *e, const char *ref, struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	char *id;

	if (!c)
		return NULL;
	id = xstrdup(c->id);
	ctr_put(e, c);
	return id;
}

struct container *ctr_from_record(const char *root, const char *id, const char *name,
				  int64_t created, const char *doc, struct hamn_error **err)
{
	_cleanup_json_ json_t *obj = hamn_json_parse(doc, strlen(doc), err);
	struct container *c;
	const char *image;

	if (!obj)
		return NULL;
	image = json_string_value(json_object_get(obj, "Image"));
	if (strlen(id) != ID_LEN || !image)
		return hamn_error_setq(err, EINVAL, "bad container record '%s'", id), NULL;
	c = ctr_new();
	memcpy(c->id, id, ID_LEN + 1);
	c->name = xstrdup(name);
	c->created_ns = created;
	c->image_id = xstrdup(image);
	c->config_json = json_incref(json_object_get(obj, "Config"));
	c->host_json = json_incref(json_object_get(obj, "HostConfig"));
	if (!json_is_object(c->config_json) || !json_is_object(c->host_json) ||
	    ctr_config_parse(c->config_json, c->host_json, root, &c->cfg, err) < 0 ||
	    ctr_volumes_load(c, obj, root, err) < 0 ||
	    ctr_state_from_json(json_object_get(obj, "State"), &c->st, err) < 0) {
		if (!err || !*err)
			hamn_error_setq(err, EINVAL, "bad container record '%s'", id);
		ctr_free(c);
		return NULL;
	}
	c->path = xstrdup(c->cfg.entrypoint && c->cfg.entrypoint[0] ? c->cfg.entrypoint[0]
			  : c->cfg.cmd && c->cfg.cmd[0]		     ? c->cfg.cmd[0]
								     : "");
	return c;
}

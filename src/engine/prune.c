/*
 * prune.c - POST /containers/prune: remove the containers that do not run.
 *
 * As dockerd: every container that is not running (created, exited, dead;
 * a paused one runs) and passes the filters is removed like a plain
 * DELETE (no force, anonymous volumes kept); one that cannot be removed is
 * skipped and logged. SpaceReclaimed is what their writable layers held.
 */
#include "engine/internal.h"

static const char *const prune_keys[] = {"until", "label", "label!", NULL};

struct prune_filter {
	int64_t until_ns;	 /* 0: no until */
	char *const *labels;	 /* every one must hold */
	char *const *not_labels; /* none may hold */
};

static int prune_filter_parse(const struct hamn_engine_filter *f, size_t n, struct prune_filter *pf,
			      struct hamn_error **err)
{
	memset(pf, 0, sizeof(*pf));
	for (size_t i = 0; i < n; i++) {
		if (!strv_contains((char *const *)prune_keys, f[i].key))
			return hamn_error_setq(err, EINVAL, "Invalid filter '%s'", f[i].key);
		if (streq(f[i].key, "label"))
			pf->labels = f[i].values;
		else if (streq(f[i].key, "label!"))
			pf->not_labels = f[i].values;
		else if (strv_len(f[i].values) > 1)
			return hamn_error_setq(err, EINVAL, "filters expect only one value");
		else if (f[i].values[0] && hamn_time_parse_since(f[i].values[0], hamn_now_ns(),
								 &pf->until_ns, err) < 0)
			return hamn_error_wrap(err, "invalid filter 'until=%s'", f[i].values[0]);
	}
	return 0;
}

/* "k" (present) or "k=v" (present with that value) against labels. */
static bool label_holds(json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
	const char *have = json_string_value(json_object_get(labels, key));

	return have && (!eq || streq(have, eq + 1));
}

static bool prune_matches(const struct prune_filter *pf, const struct container *c)
{
	if (pf->until_ns && c->created_ns >= pf->until_ns)
		return false;
	for (size_t i = 0; pf->labels && pf->labels[i]; i++)
		if (!label_holds(c->cfg.labels, pf->labels[i]))
			return false;
	for (size_t i = 0; pf->not_labels && pf->not_labels[i]; i++)
		if (label_holds(c->cfg.labels, pf->not_labels[i]))
			return false;
	return true;
}

/* The ids of the containers to prune (a new vector). */
static char **prune_candidates(struct hamn_engine *e, const struct prune_filter *pf)
{
	char **ids = NULL;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_ctrs; i++) {
		const struct container *c = e->ctrs[i];
		enum ctr_status s = c->st.status;

		if (!c->in_table || c->removed ||
		    (s != ST_CREATED && s != ST_EXITED && s != ST_DEAD))
			continue;
		if (prune_matches(pf, c))
			strv_push(&ids, c->id);
	}
	pthread_mutex_unlock(&e->lock);
	return ids;
}

int hamn_engine_container_prune(struct hamn_engine *e, const struct hamn_engine_filter *filters,
				size_t n, json_t **deleted_out, int64_t *space_out,
				struct hamn_error **err)
{
	_cleanup_strv_ char **ids = NULL;
	struct prune_filter pf;
	json_t *deleted;
	int64_t space = 0;

	if (prune_filter_parse(filters, n, &pf, err) < 0)
		return -1;
	ids = prune_candidates(e, &pf);
	deleted = json_array();
	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_error_ struct hamn_error *rerr = NULL;
		int64_t size = ctr_rw_size(e, ids[i]);

		/* started meanwhile, or removed by someone else: not ours to count */
		if (hamn_engine_container_remove(e, ids[i], false, false, &rerr) < 0) {
			log_kv(HAMN_LOG_INFO, "prune: container not removed", "id=%s error=\"%s\"",
			       ids[i], rerr->msg);
			continue;
		}
		json_array_append_new(deleted, json_string(ids[i]));
		space += size;
	}
	*deleted_out = deleted;
	*space_out = space;
	return 0;
}

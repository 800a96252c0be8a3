/*
 * list.c - GET /volumes with docker's filters, and POST /volumes/prune.
 */
#include <dirent.h>
#include <unistd.h>

#include "volume/internal.h"

static const char *const list_keys[] = {"dangling", "driver", "label", "name", NULL};
static const char *const prune_keys[] = {"label", "label!", NULL};

static bool key_allowed(const char *key, const char *const *allowed)
{
	for (size_t i = 0; allowed[i]; i++)
		if (streq(key, allowed[i]))
			return true;
	return false;
}

/* dangling=true|1 -> 1, false|0 -> 0, else -1 */
static int parse_dangling(const char *v)
{
	if (streq(v, "true") || streq(v, "1"))
		return 1;
	if (streq(v, "false") || streq(v, "0"))
		return 0;
	return -1;
}

int hamn_volume_filters_check(const struct hamn_volume_filter *f, size_t n, bool prune,
			      struct hamn_error **err)
{
	for (size_t i = 0; i < n; i++) {
		if (!key_allowed(f[i].key, prune ? prune_keys : list_keys))
			return hamn_error_setq(err, EINVAL, "Invalid filter '%s'", f[i].key);
		if (!streq(f[i].key, "dangling"))
			continue;
		for (size_t j = 0; f[i].values && f[i].values[j]; j++)
			if (parse_dangling(f[i].values[j]) < 0)
				return hamn_error_setq(err, EINVAL,
						       "Invalid filter 'dangling=[%s]'",
						       f[i].values[j]);
	}
	return 0;
}

/* "k" needs label k; "k=v" needs k with value v. */
static bool label_matches(json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
	json_t *v = labels ? json_object_get(labels, key) : NULL;

	if (!v)
		return false;
	return !eq || streq(json_string_value(v), eq + 1);
}

struct match_state {
	struct hamn_volume_store *st;
	const struct vol_meta *m;
	int in_use; /* -1: not asked yet */
};

static bool in_use(struct match_state *s)
{
	if (s->in_use < 0) {
		char **users = vol_users(s->st, s->m->name);

		s->in_use = users != NULL;
		hamn_strv_free(users);
	}
	return s->in_use;
}

/* Does the volume pass one filter? Values of one key are alternatives, except labels (all). */
static bool filter_passes(struct match_state *s, const struct hamn_volume_filter *f)
{
	char *const *v = f->values;
	bool any = false;

	if (!v || !v[0])
		return true;
	for (size_t j = 0; v[j]; j++) {
		if (streq(f->key, "label") && !label_matches(s->m->labels, v[j]))
			return false;
		if (streq(f->key, "label!") && label_matches(s->m->labels, v[j]))
			return false;
		if (streq(f->key, "name") && strstr(s->m->name, v[j]))
			any = true;
		if (streq(f->key, "driver") && streq(s->m->driver, v[j]))
			any = true;
		if (streq(f->key, "dangling") && parse_dangling(v[j]) == !in_use(s))
			any = true;
	}
	return streq(f->key, "label") || streq(f->key, "label!") || any;
}

static bool passes(struct hamn_volume_store *st, const struct vol_meta *m,
		   const struct hamn_volume_filter *f, size_t n)
{
	struct match_state s = {st, m, -1};

	for (size_t i = 0; i < n; i++)
		if (!filter_passes(&s, &f[i]))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of all volumes, sorted (new vector, never NULL). */
static char **volume_names(struct hamn_volume_store *st, struct hamn_error **err)
{
	int fd = openat(st->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
	char **names = xzalloc(sizeof(char *));
	struct dirent *de;

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		hamn_strv_free(names);
		return hamn_error_set(err, e, "read '%s'", st->dir), NULL;
	}
	while ((de = readdir(d)))
		if (hamn_volume_name_valid(de->d_name))
			strv_push(&names, de->d_name);
	qsort(names, strv_len(names), sizeof(char *), cmp_str);
	return names;
}

json_t *hamn_volume_list(struct hamn_volume_store *st, const struct hamn_volume_filter *f, size_t n,
			 bool usage, struct hamn_error **err)
{
	_cleanup_strv_ char **names = NULL;
	json_t *arr;

	if (hamn_volume_filters_check(f, n, false, err) < 0)
		return NULL;
	names = volume_names(st, err);
	if (!names)
		return NULL;
	arr = json_array();
	for (size_t i = 0; names[i]; i++) {
		_cleanup_error_ struct hamn_error *e2 = NULL;
		struct vol_meta m;

		/* removed meanwhile, or a directory that is not a volume: not listed */
		if (vol_meta_read(st, names[i], &m, &e2) < 0)
			continue;
		if (passes(st, &m, f, n)) {
			json_t *o = usage ? hamn_volume_inspect(st, names[i], true, &e2)
					  : vol_meta_json(st, &m);

			if (o)
				json_array_append_new(arr, o);
		}
		vol_meta_release(&m);
	}
	return arr;
}

/* Remove one unused volume for prune; its size is added to *space. */
static bool prune_one(struct hamn_volume_store *st, const char *name, int64_t *space)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_free_ char *data = xasprintf("%s/_data", name);
	_cleanup_close_ int dfd =
		openat(st->dirfd, data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int64_t size = dfd < 0 ? 0 : vol_tree_size(dfd);

	if (hamn_volume_remove(st, name, false, &err) < 0) {
		if (err->errnum != EBUSY && err->errnum != ENOENT)
			log_kv(HAMN_LOG_WARN, "prune: cannot remove a volume",
			       "name=%s error=\"%s\"", name, err->msg);
		return false;
	}
	*space += size > 0 ? size : 0;
	return true;
}

json_t *hamn_volume_prune(struct hamn_volume_store *st, const struct hamn_volume_filter *f,
			  size_t n, struct hamn_error **err)
{
	_cleanup_strv_ char **names = NULL;
	json_t *deleted;
	int64_t space = 0;

	if (hamn_volume_filters_check(f, n, true, err) < 0)
		return NULL;
	names = volume_names(st, err);
	if (!names)
		return NULL;
	deleted = json_array();
	for (size_t i = 0; names[i]; i++) {
		_cleanup_error_ struct hamn_error *e2 = NULL;
		struct vol_meta m;
		bool match;

		if (vol_meta_read(st, names[i], &m, &e2) < 0)
			continue;
		match = passes(st, &m, f, n);
		vol_meta_release(&m);
		/* in-use volumes are refused by remove itself */
		if (match && prune_one(st, names[i], &space))
			json_array_append_new(deleted, json_string(names[i]));
	}
	return json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed",
			 (json_int_t)space);
}

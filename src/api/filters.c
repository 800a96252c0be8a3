/*
 * filters.c - the ?filters= argument: both JSON shapes dockerd accepts turned
 * into one key -> values list, plus the label matching most list endpoints need.
 */
#include "api/internal.h"

void hamn_api_filters_free(struct hamn_api_filters *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].key);
		hamn_strv_free(f->items[i].values);
	}
	free(f->items);
	free(f);
}

/* {"container":true,"image":false} -> every key (dockerd keeps false ones too). */
static int values_from_map(json_t *map, const char *key, char ***out, struct hamn_error **err)
{
	const char *v;
	json_t *b;

	json_object_foreach (map, v, b) {
		if (!json_is_boolean(b))
			return hamn_error_setq(
				err, EINVAL, "invalid filter '%s': values must be true/false", key);
		strv_push(out, v);
	}
	return 0;
}

/* ["a=b","c"] -> the strings. */
static int values_from_list(json_t *list, const char *key, char ***out, struct hamn_error **err)
{
	size_t i;
	json_t *s;

	json_array_foreach (list, i, s) {
		if (!json_is_string(s))
			return hamn_error_setq(err, EINVAL,
					       "invalid filter '%s': values must be strings", key);
		strv_push(out, json_string_value(s));
	}
	return 0;
}

static int add_filter(struct hamn_api_filters *f, const char *key, json_t *val,
		      struct hamn_error **err)
{
	char **values = xzalloc(sizeof(char *));
	int rc = 0;

	if (json_is_object(val))
		rc = values_from_map(val, key, &values, err);
	else if (json_is_array(val))
		rc = values_from_list(val, key, &values, err);
	else if (!json_is_null(val))
		rc = hamn_error_setq(err, EINVAL, "invalid filter '%s': expected a list or a map",
				     key);
	if (rc < 0) {
		hamn_strv_free(values);
		return -1;
	}
	f->items = xreallocarray(f->items, f->n + 1, sizeof(*f->items));
	f->items[f->n].key = xstrdup(key);
	f->items[f->n].values = values;
	f->n++;
	return 0;
}

int hamn_api_filters_parse(const char *text, struct hamn_api_filters **out, struct hamn_error **err)
{
	_cleanup_json_ json_t *root = NULL;
	struct hamn_api_filters *f = xzalloc(sizeof(*f));
	const char *key;
	json_t *val;

	*out = NULL;
	if (!text || !*text) {
		*out = f;
		return 0;
	}
	root = hamn_json_parse(text, strlen(text), err);
	if (!root)
		goto fail;
	if (!json_is_object(root)) {
		hamn_error_setq(err, EINVAL, "filters must be a JSON object");
		goto fail;
	}
	json_object_foreach (root, key, val) {
		if (add_filter(f, key, val, err) < 0)
			goto fail;
	}
	*out = f;
	return 0;
fail:
	hamn_api_filters_free(f);
	return hamn_error_wrap(err, "invalid filters");
}

int hamn_api_req_filters(const struct hamn_api_req *req, struct hamn_api_filters **out,
			 struct hamn_error **err)
{
	return hamn_api_filters_parse(hamn_api_req_query(req, "filters"), out, err);
}

char *const *hamn_api_filters_get(const struct hamn_api_filters *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (streq(f->items[i].key, key))
			return f->items[i].values;
	return NULL;
}

int hamn_api_filters_validate(const struct hamn_api_filters *f, const char *const *allowed,
			      struct hamn_error **err)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strv_contains((char *const *)allowed, f->items[i].key))
			return hamn_error_setq(err, EINVAL, "Invalid filter '%s'", f->items[i].key);
	return 0;
}

/* One label condition: "k", "k=v" or "k!=v". */
static bool label_matches(const char *cond, const json_t *labels)
{
	const char *eq = strchr(cond, '=');
	_cleanup_free_ char *key = NULL;
	const char *have;
	bool negate;

	if (!eq) {
		return json_object_get(labels, cond) != NULL;
	}
	negate = eq > cond && eq[-1] == '!';
	key = xstrndup(cond, (size_t)(eq - cond) - (negate ? 1 : 0));
	have = json_string_value(json_object_get(labels, key));
	if (negate)
		return !have || !streq(have, eq + 1);
	return have && streq(have, eq + 1);
}

bool hamn_api_filters_match_labels(const struct hamn_api_filters *f, const char *key,
				   const json_t *labels)
{
	char *const *conds = hamn_api_filters_get(f, key);

	for (size_t i = 0; conds && conds[i]; i++)
		if (!label_matches(conds[i], labels))
			return false;
	return true;
}

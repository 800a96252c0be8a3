/*
 * json.c - jansson helpers: strict parsing of untrusted input and typed
 * getters whose errors name the field.
 */
#include "base/base.h"

/*
 * Depth of the deepest nesting in text, counted without parsing (strings
 * skipped), so that hostile input is refused before jansson recurses.
 */
static size_t json_depth(const char *text, size_t len)
{
	size_t depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return max;
}

json_t *hamn_json_parse(const char *text, size_t len, struct hamn_error **err)
{
	json_error_t jerr;
	json_t *v;

	if (!hamn_utf8_valid(text, len))
		return hamn_error_setq(err, EINVAL, "invalid JSON: not valid UTF-8"), NULL;
	if (json_depth(text, len) > HAMN_JSON_MAX_DEPTH)
		return hamn_error_setq(err, EINVAL, "invalid JSON: nested deeper than %d levels",
				       HAMN_JSON_MAX_DEPTH),
		       NULL;
	v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return hamn_error_setq(err, EINVAL, "invalid JSON at line %d column %d: %s", jerr.line,
				       jerr.column, jerr.text),
		       NULL;
	return v;
}

json_t *hamn_json_load_file(int dirfd, const char *path, size_t max_size, struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	json_t *v;

	if (hamn_read_file(dirfd, path, max_size, &text, &len, err) < 0)
		return NULL;
	v = hamn_json_parse(text, len, err);
	if (!v)
		hamn_error_wrap(err, "%s", path);
	return v;
}

char *hamn_json_dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!s)
		hamn_bug("json_dumps failed");
	return s;
}

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

int hamn_json_get_string_opt(json_t *obj, const char *key, const char *what, const char **out,
			     struct hamn_error **err)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return hamn_error_setq(err, EINVAL, "%s: must be a string", what);
	*out = json_string_value(v);
	return 0;
}

int hamn_json_get_string(json_t *obj, const char *key, const char *what, const char **out,
			 struct hamn_error **err)
{
	if (!member(obj, key))
		return hamn_error_setq(err, EINVAL, "%s: required", what);
	return hamn_json_get_string_opt(obj, key, what, out, err);
}

int hamn_json_get_int_opt(json_t *obj, const char *key, const char *what, int64_t *out,
			  struct hamn_error **err)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* range first: casting an out-of-range double to int64 is undefined */
		if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d)
			return hamn_error_setq(err, EINVAL, "%s: must be an integer", what);
		*out = (int64_t)d;
		return 0;
	}
	if (!json_is_integer(v))
		return hamn_error_setq(err, EINVAL, "%s: must be an integer", what);
	*out = json_integer_value(v);
	return 0;
}

int hamn_json_get_bool_opt(json_t *obj, const char *key, const char *what, bool *out,
			   struct hamn_error **err)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return hamn_error_setq(err, EINVAL, "%s: must be a boolean", what);
	*out = json_is_true(v);
	return 0;
}

int hamn_json_get_object_opt(json_t *obj, const char *key, const char *what, json_t **out,
			     struct hamn_error **err)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return hamn_error_setq(err, EINVAL, "%s: must be an object", what);
	*out = v;
	return 0;
}

int hamn_json_get_array_opt(json_t *obj, const char *key, const char *what, json_t **out,
			    struct hamn_error **err)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return hamn_error_setq(err, EINVAL, "%s: must be an array", what);
	*out = v;
	return 0;
}

int hamn_json_get_strv_opt(json_t *obj, const char *key, const char *what, char ***out,
			   struct hamn_error **err)
{
	json_t *arr, *item;
	size_t i;
	char **v;

	*out = NULL;
	if (hamn_json_get_array_opt(obj, key, what, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	json_array_foreach(arr, i, item) {
		if (!json_is_string(item)) {
			hamn_strv_free(v);
			return hamn_error_setq(err, EINVAL, "%s[%zu]: must be a string", what, i);
		}
		v[i] = xstrdup(json_string_value(item));
	}
	*out = v;
	return 0;
}

json_t *hamn_json_from_strv(char *const *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

/*
 * jsonutil.c - strict typed reads of request fields, with the messages Go's
 * encoding/json gives for a wrong type ("json: cannot unmarshal number into
 * Go struct field Config.Env of type []string"), which is what dockerd
 * answers with a 400. Absent and null members read as "not given".
 */
#include "engine/internal.h"

static const char *json_kind(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "null";
	}
}

int jf_type_error(struct hamn_error **err, json_t *v, const char *st, const char *key,
		  const char *gotype)
{
	return hamn_error_setq(err, EINVAL,
			       "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
			       json_kind(v), st, key, gotype);
}

bool jf_present(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return v && !json_is_null(v);
}

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return v && !json_is_null(v) ? v : NULL;
}

int jf_string(json_t *obj, const char *st, const char *key, const char **out,
	      struct hamn_error **err)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return jf_type_error(err, v, st, key, "string");
	*out = json_string_value(v);
	return 0;
}

int jf_bool(json_t *obj, const char *st, const char *key, bool *out, struct hamn_error **err)
{
	json_t *v = member(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return jf_type_error(err, v, st, key, "bool");
	*out = json_is_true(v);
	return 0;
}

int jf_int(json_t *obj, const char *st, const char *key, int64_t *out, struct hamn_error **err)
{
	json_t *v = member(obj, key);
	double d;

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	/* Go accepts 1e3 for an int64 field, but not 1.5 */
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d == (double)(int64_t)d) {
			*out = (int64_t)d;
			return 0;
		}
		return hamn_error_setq(err, EINVAL,
				       "json: cannot unmarshal number %g into Go struct field %s.%s"
				       " of type int64",
				       d, st, key);
	}
	return jf_type_error(err, v, st, key, "int64");
}

static int strv_from_array(json_t *arr, const char *st, const char *key, char ***out,
			   struct hamn_error **err)
{
	_cleanup_strv_ char **v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	size_t i;
	json_t *s;

	json_array_foreach(arr, i, s) {
		if (!json_is_string(s))
			return jf_type_error(err, s, st, key, "string");
		v[i] = xstrdup(json_string_value(s));
	}
	*out = steal_pointer(&v);
	return 0;
}

int jf_strv(json_t *obj, const char *st, const char *key, char ***out, struct hamn_error **err)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return jf_type_error(err, v, st, key, "[]string");
	return strv_from_array(v, st, key, out, err);
}

int jf_strslice(json_t *obj, const char *st, const char *key, char ***out,
		struct hamn_error **err)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (json_is_string(v)) {
		*out = xcalloc(2, sizeof(char *));
		(*out)[0] = xstrdup(json_string_value(v));
		return 0;
	}
	if (!json_is_array(v))
		return jf_type_error(err, v, st, key, "strslice.StrSlice");
	return strv_from_array(v, st, key, out, err);
}

int jf_strmap(json_t *obj, const char *st, const char *key, json_t **out,
	      struct hamn_error **err)
{
	json_t *v = member(obj, key), *s;
	const char *k;

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return jf_type_error(err, v, st, key, "map[string]string");
	json_object_foreach(v, k, s) {
		if (!json_is_string(s))
			return jf_type_error(err, s, st, key, "map[string]string");
	}
	*out = v;
	return 0;
}

int jf_object(json_t *obj, const char *st, const char *key, json_t **out,
	      struct hamn_error **err)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return jf_type_error(err, v, st, key, "object");
	*out = v;
	return 0;
}

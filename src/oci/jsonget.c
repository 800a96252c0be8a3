/*
 * jsonget.c - strict typed getters for the OCI parsers, with errors that
 * name the JSON path ("linux.namespaces[2].type: must be a string").
 *
 * They differ from base/json.h in two ways the runtime config needs: the
 * path is built from a parent path and a key (no string is formatted until
 * something fails), and integers carry a range, so that an overflowing uid
 * or a negative size is refused where it is read.
 */
#include <inttypes.h>

#include "oci/internal.h"

int oci_fail(struct hamn_error **err, const char *path, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	bool has_path = path && *path, has_key = key && *key;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	return hamn_error_setq(err, EINVAL, "%s%s%s%s%s", has_path ? path : "",
			       has_path && has_key ? "." : "", has_key ? key : "",
			       has_path || has_key ? ": " : "", msg);
}

char *oci_path_key(const char *path, const char *key)
{
	if (!path || !*path)
		return xstrdup(key);
	return xasprintf("%s.%s", path, key);
}

char *oci_path_index(const char *path, size_t i)
{
	return xasprintf("%s[%zu]", path ? path : "", i);
}

json_t *oci_member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

int oci_string(json_t *v, const char *path, const char *key, char **out, struct hamn_error **err)
{
	const char *s;
	size_t len;

	if (!json_is_string(v) || hamn_json_big_text(v))
		return oci_fail(err, path, key, "must be a string");
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
		return oci_fail(err, path, key, "must not contain NUL bytes");
	*out = xstrdup(s);
	return 0;
}

int oci_get_string(json_t *obj, const char *path, const char *key, bool required, char **out,
		   struct hamn_error **err)
{
	json_t *v = oci_member(obj, key);
	char *s = NULL;

	if (!v) {
		if (required)
			return oci_fail(err, path, key, "required");
		return 0;
	}
	if (oci_string(v, path, key, &s, err) < 0)
		return -1;
	free(*out);
	*out = s;
	return 0;
}

int oci_get_bool(json_t *obj, const char *path, const char *key, bool *out, struct hamn_error **err)
{
	json_t *v = oci_member(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return oci_fail(err, path, key, "must be a boolean");
	*out = json_is_true(v);
	return 0;
}

int oci_int(json_t *v, const char *path, const char *key, int64_t min, int64_t max, int64_t *out,
	    struct hamn_error **err)
{
	json_int_t n;

	if (hamn_json_big_text(v))
		return oci_fail(err, path, key, "%s is out of range [%lld, %lld]",
				hamn_json_big_text(v), (long long)min, (long long)max);
	if (!json_is_integer(v))
		return oci_fail(err, path, key, "must be an integer");
	n = json_integer_value(v);
	if (n < min || n > max)
		return oci_fail(err, path, key, "%lld is out of range [%lld, %lld]", (long long)n,
				(long long)min, (long long)max);
	*out = n;
	return 0;
}

int oci_get_int(json_t *obj, const char *path, const char *key, int64_t min, int64_t max, bool *has,
		int64_t *out, struct hamn_error **err)
{
	json_t *v = oci_member(obj, key);

	if (has)
		*has = false;
	if (!v)
		return 0;
	if (oci_int(v, path, key, min, max, out, err) < 0)
		return -1;
	if (has)
		*has = true;
	return 0;
}

int oci_get_int_req(json_t *obj, const char *path, const char *key, int64_t min, int64_t max,
		    int64_t *out, struct hamn_error **err)
{
	bool has = false;

	if (oci_get_int(obj, path, key, min, max, &has, out, err) < 0)
		return -1;
	if (!has)
		return oci_fail(err, path, key, "required");
	return 0;
}

int oci_uint(json_t *v, const char *path, const char *key, uint64_t max, uint64_t *out,
	     struct hamn_error **err)
{
	const char *big = hamn_json_big_text(v);
	uint64_t n = 0;

	if (!big && !json_is_integer(v))
		return oci_fail(err, path, key, "must be an integer");
	if (hamn_json_uint64(v, &n) && n <= max) {
		*out = n;
		return 0;
	}
	if (big)
		return oci_fail(err, path, key, "%s is out of range [0, %" PRIu64 "]", big, max);
	return oci_fail(err, path, key, "%lld is out of range [0, %" PRIu64 "]",
			(long long)json_integer_value(v), max);
}

int oci_get_uint(json_t *obj, const char *path, const char *key, uint64_t max, bool *has,
		 uint64_t *out, struct hamn_error **err)
{
	json_t *v = oci_member(obj, key);

	if (has)
		*has = false;
	if (!v)
		return 0;
	if (oci_uint(v, path, key, max, out, err) < 0)
		return -1;
	if (has)
		*has = true;
	return 0;
}

int oci_get_uint_req(json_t *obj, const char *path, const char *key, uint64_t max, uint64_t *out,
		     struct hamn_error **err)
{
	if (!oci_member(obj, key))
		return oci_fail(err, path, key, "required");
	return oci_get_uint(obj, path, key, max, NULL, out, err);
}

int oci_get_object(json_t *obj, const char *path, const char *key, json_t **out,
		   struct hamn_error **err)
{
	json_t *v = oci_member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return oci_fail(err, path, key, "must be an object");
	*out = v;
	return 0;
}

int oci_get_array(json_t *obj, const char *path, const char *key, json_t **out,
		  struct hamn_error **err)
{
	json_t *v = oci_member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return oci_fail(err, path, key, "must be an array");
	*out = v;
	return 0;
}

int oci_get_strv(json_t *obj, const char *path, const char *key, char ***out,
		 struct hamn_error **err)
{
	_cleanup_strv_ char **v = NULL;
	_cleanup_free_ char *apath = NULL;
	json_t *arr, *item;
	size_t i;

	*out = NULL;
	if (oci_get_array(obj, path, key, &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	apath = oci_path_key(path, key);
	v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	json_array_foreach(arr, i, item) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);

		if (oci_string(item, ipath, NULL, &v[i], err) < 0)
			return -1;
	}
	*out = steal_pointer(&v);
	return 0;
}

int oci_require_object(json_t *v, const char *path, struct hamn_error **err)
{
	if (!json_is_object(v))
		return oci_fail(err, path, NULL, "must be an object");
	return 0;
}

bool oci_path_has_dotdot(const char *p)
{
	const char *c = p;

	while ((c = strstr(c, "..")) != NULL) {
		bool starts = c == p || c[-1] == '/';
		bool ends = c[2] == '\0' || c[2] == '/';

		if (starts && ends)
			return true;
		c += 2;
	}
	return false;
}

int oci_check_abs_path(const char *p, const char *path, const char *key, struct hamn_error **err)
{
	if (p[0] != '/')
		return oci_fail(err, path, key, "'%s' is not an absolute path", p);
	if (strlen(p) >= OCI_PATH_MAX)
		return oci_fail(err, path, key, "longer than %d bytes", OCI_PATH_MAX - 1);
	if (oci_path_has_dotdot(p))
		return oci_fail(err, path, key, "'%s' must not contain '..'", p);
	return 0;
}

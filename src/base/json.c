/*
 * json.c - jansson helpers: strict parsing of untrusted input, big integers
 * (uint64 values jansson cannot hold) and typed getters whose errors name
 * the field.
 */
#include <inttypes.h>

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

/* The checks jansson does not make: valid UTF-8, bounded nesting. */
static int check_text(const char *text, size_t len, struct hamn_error **err)
{
	if (!hamn_utf8_valid(text, len))
		return hamn_error_setq(err, EINVAL, "invalid JSON: not valid UTF-8");
	if (json_depth(text, len) > HAMN_JSON_MAX_DEPTH)
		return hamn_error_setq(err, EINVAL, "invalid JSON: nested deeper than %d levels",
				       HAMN_JSON_MAX_DEPTH);
	return 0;
}

static json_t *parse(const char *text, size_t len, size_t flags, struct hamn_error **err)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | flags, &jerr);
	if (!v)
		return hamn_error_setq(err, EINVAL, "invalid JSON at line %d column %d: %s",
				       jerr.line, jerr.column, jerr.text),
		       NULL;
	return v;
}

json_t *hamn_json_parse(const char *text, size_t len, struct hamn_error **err)
{
	if (check_text(text, len, err) < 0)
		return NULL;
	return parse(text, len, 0, err);
}

/* ---- big integers ---- */

/* Length of the run of number characters at s, 0 when no number starts there. */
static size_t number_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	while (i < n && s[i] && strchr("0123456789+-.eE", s[i]))
		i++;
	return i;
}

/* Is the number s (n bytes) a valid JSON integer that does not fit in int64? */
static bool is_big_integer(const char *s, size_t n)
{
	bool neg = s[0] == '-';
	const char *d = s + neg;
	size_t nd = n - neg;

	/* no fraction or exponent, no leading zero (invalid: left for jansson to refuse) */
	if (nd == 0 || d[0] == '0')
		return false;
	for (size_t i = 0; i < nd; i++)
		if (d[i] < '0' || d[i] > '9')
			return false;
	if (nd != 19)
		return nd > 19;
	return memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

/*
 * Count the big integers of text and, when out is not NULL, copy text there
 * with each of them as the string "\u0000<number>". *has_nul is set when an
 * input string holds a \u0000 escape of its own.
 */
static size_t mark_big_integers(const char *text, size_t len, struct hamn_buf *out, bool *has_nul)
{
	size_t n_big = 0, i = 0, n;
	bool in_str = false;

	*has_nul = false;
	while (i < len) {
		n = 1;
		if (in_str && text[i] == '\\') {
			n = 2;
			if (len - i >= 6 && memcmp(text + i, "\\u0000", 6) == 0)
				*has_nul = true;
		} else if (text[i] == '"') {
			in_str = !in_str;
		} else if (!in_str && (n = number_len(text + i, len - i)) > 0 &&
			   is_big_integer(text + i, n)) {
			n_big++;
			if (out)
				hamn_buf_printf(out, "\"\\u0000%.*s\"", (int)n, text + i);
			i += n;
			continue;
		}
		n = n ? n : 1;
		if (n > len - i)
			n = len - i;
		if (out)
			hamn_buf_append(out, text + i, n);
		i += n;
	}
	return n_big;
}

json_t *hamn_json_parse_big(const char *text, size_t len, struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf marked = HAMN_BUF_INIT;
	bool has_nul = false;

	if (check_text(text, len, err) < 0)
		return NULL;
	/* with a \u0000 of its own the input is refused, with jansson's message */
	if (mark_big_integers(text, len, NULL, &has_nul) == 0 || has_nul)
		return parse(text, len, 0, err);
	mark_big_integers(text, len, &marked, &has_nul);
	return parse(marked.data, marked.len, JSON_ALLOW_NUL, err);
}

const char *hamn_json_big_text(const json_t *v)
{
	const char *s;

	if (!json_is_string(v) || json_string_length(v) < 2)
		return NULL;
	s = json_string_value(v);
	return s[0] == '\0' ? s + 1 : NULL;
}

bool hamn_json_uint64(const json_t *v, uint64_t *out)
{
	const char *big = hamn_json_big_text(v);
	uint64_t n = 0;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return false;
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (!big || !*big)
		return false;
	for (const char *c = big; *c; c++) {
		unsigned d = (unsigned)(*c - '0');

		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

json_t *hamn_json_uint64_new(uint64_t v)
{
	char text[24];
	int n;

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	text[0] = '\0';
	n = snprintf(text + 1, sizeof(text) - 1, "%" PRIu64, v);
	return json_stringn(text, (size_t)n + 1);
}

/* A dump with each big integer (a "\u0000<number>" string) written as the bare number. */
static char *unmark_big_integers(const char *s)
{
	struct hamn_buf out = HAMN_BUF_INIT;
	bool in_str = false;
	size_t i = 0, n;

	while (s[i]) {
		if (!in_str && s[i] == '"' && strncmp(s + i + 1, "\\u0000", 6) == 0) {
			n = strspn(s + i + 7, "-0123456789");
			if (n > 0 && s[i + 7 + n] == '"' && is_big_integer(s + i + 7, n)) {
				hamn_buf_append(&out, s + i + 7, n);
				i += n + 8;
				continue;
			}
		}
		n = in_str && s[i] == '\\' && s[i + 1] ? 2 : 1;
		if (s[i] == '"')
			in_str = !in_str;
		hamn_buf_append(&out, s + i, n);
		i += n;
	}
	return hamn_buf_steal(&out);
}

static json_t *load_file(int dirfd, const char *path, size_t max_size, bool big,
			 struct hamn_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	json_t *v;

	if (hamn_read_file(dirfd, path, max_size, &text, &len, err) < 0)
		return NULL;
	v = big ? hamn_json_parse_big(text, len, err) : hamn_json_parse(text, len, err);
	if (!v)
		hamn_error_wrap(err, "%s", path);
	return v;
}

json_t *hamn_json_load_file(int dirfd, const char *path, size_t max_size, struct hamn_error **err)
{
	return load_file(dirfd, path, max_size, false, err);
}

json_t *hamn_json_load_file_big(int dirfd, const char *path, size_t max_size,
				struct hamn_error **err)
{
	return load_file(dirfd, path, max_size, true, err);
}

char *hamn_json_dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!s)
		hamn_bug("json_dumps failed");
	return s;
}

char *hamn_json_dump_big(const json_t *v)
{
	char *s = hamn_json_dump(v);
	char *plain;

	if (!strstr(s, "\\u0000"))
		return s;
	plain = unmark_big_integers(s);
	free(s);
	return plain;
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
	if (!json_is_string(v) || hamn_json_big_text(v))
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
	if (hamn_json_big_text(v))
		return hamn_error_setq(err, EINVAL, "%s: %s is out of range for a 64-bit integer",
				       what, hamn_json_big_text(v));
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
		if (!json_is_string(item) || hamn_json_big_text(item)) {
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

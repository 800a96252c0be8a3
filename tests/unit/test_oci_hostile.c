/*
 * test_oci_hostile.c - src/oci against hostile and malformed config.json:
 * every value of a rich config replaced by every other JSON type, deep
 * nesting, invalid UTF-8, NUL bytes, empty and very long strings. Each
 * input must give a spec or EINVAL. After changing a parser, also run it as
 * valgrind --error-exitcode=1 --leak-check=full build/tests/unit/test_oci_hostile
 */
#include "oci_fixtures.h"

static const char *const type_samples[] = {
	"\"str\"",
	"\"\"",
	"-1",
	"0",
	"9223372036854775807",
	"18446744073709551615", /* a big integer: only uint64 fields take it */
	"18446744073709551616",
	"-9223372036854775809",
	"1.5",
	"[]",
	"[1, \"a\", null]",
	"{}",
	"{\"x\": {}}",
	"null",
	"true",
	"false",
};

/* Parse doc: it must give a spec or EINVAL; never anything else. */
static void must_not_crash(json_t *doc)
{
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s = hamn_oci_spec_parse(doc, &err);

	if (s) {
		json_t *j = hamn_oci_spec_to_json(s);
		struct hamn_oci_spec *again = hamn_oci_spec_parse(j, &err);

		/* whatever was accepted must survive its own round trip */
		if (!again)
			fail_msg("re-parse of an accepted config failed: %s", err->msg);
		hamn_oci_spec_free(again);
		json_decref(j);
		hamn_oci_spec_free(s);
		return;
	}
	assert_non_null(err);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

static size_t mutate_all(json_t *doc, json_t *parent, const char *key, size_t index);

/* Recurse into every member of obj (keys copied first: mutate_all re-inserts them). */
static size_t mutate_members(json_t *doc, json_t *obj)
{
	_cleanup_strv_ char **keys = NULL;
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach(obj, k, v)
		strv_push(&keys, k);
	for (size_t i = 0; keys && keys[i]; i++)
		n += mutate_all(doc, obj, keys[i], 0);
	return n;
}

/*
 * Replace the value at parent[key] (or parent[index] when key is NULL) by
 * every sample in turn and parse doc each time; then remove it; then
 * restore it and recurse into it.
 */
static size_t mutate_all(json_t *doc, json_t *parent, const char *key, size_t index)
{
	json_t *orig = key ? json_object_get(parent, key) : json_array_get(parent, index);
	size_t n = 0;

	json_incref(orig);
	for (size_t i = 0; i < sizeof(type_samples) / sizeof(type_samples[0]); i++) {
		json_t *v = load_json(type_samples[i]);

		if (key)
			json_object_set_new(parent, key, v);
		else
			json_array_set_new(parent, index, v);
		must_not_crash(doc);
		n++;
	}
	if (key) {
		json_object_del(parent, key);
		must_not_crash(doc);
		json_object_set(parent, key, orig);
	} else {
		json_array_set(parent, index, orig);
	}
	if (json_is_object(orig))
		n += mutate_members(doc, orig);
	for (size_t i = 0; json_is_array(orig) && i < json_array_size(orig); i++)
		n += mutate_all(doc, orig, NULL, i);
	json_decref(orig);
	return n;
}

static void every_leaf_with_every_type_never_crashes(void **state)
{
	_cleanup_json_ json_t *doc = load_json(rich_config);
	struct hamn_oci_spec *s = parse_ok(rich_config), *s2;
	_cleanup_json_ json_t *a = hamn_oci_spec_to_json(s);
	_cleanup_json_ json_t *b = NULL;
	size_t n = mutate_members(doc, doc);

	/* the rich config has a few hundred values: make sure the walk really ran */
	assert_true(n > 2000);
	/* and the document means the same afterwards */
	s2 = hamn_oci_spec_parse(doc, NULL);
	assert_non_null(s2);
	b = hamn_oci_spec_to_json(s2);
	assert_true(json_equal(a, b));
	hamn_oci_spec_free(s);
	hamn_oci_spec_free(s2);
}

static void top_level_of_any_type_is_einval(void **state)
{
	for (size_t i = 0; i < sizeof(type_samples) / sizeof(type_samples[0]); i++) {
		_cleanup_json_ json_t *doc = load_json(type_samples[i]);

		must_not_crash(doc);
	}
	must_not_crash(NULL);
}

static void hostile_text_is_refused(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_buf b = HAMN_BUF_INIT;
	const char bad_utf8[] = "{\"ociVersion\": \"1.0\xff\"}";
	json_t *doc;

	/* nesting far beyond the limit, in a field hamn ignores */
	hamn_buf_puts(&b, "{\"ociVersion\": \"1.0.2\", \"x\": ");
	for (int i = 0; i < 100000; i++)
		hamn_buf_putc(&b, '[');
	assert_null(hamn_json_parse(b.data, b.len, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	hamn_buf_release(&b);
	/* nesting within the limit where a string vector is expected */
	hamn_buf_puts(&b, "{\"ociVersion\": \"1.0.2\", \"process\": {\"cwd\": \"/\", \"args\": ");
	for (int i = 0; i < 60; i++)
		hamn_buf_putc(&b, '[');
	for (int i = 0; i < 60; i++)
		hamn_buf_putc(&b, ']');
	hamn_buf_puts(&b, "}}");
	doc = hamn_json_parse(b.data, b.len, &err);
	assert_non_null(doc);
	must_not_crash(doc);
	json_decref(doc);
	hamn_buf_release(&b);
	assert_null(hamn_json_parse(bad_utf8, strlen(bad_utf8), &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	/* larger than int64: jansson refuses it before hamn sees it */
	doc = hamn_json_parse("{\"a\": 99999999999999999999999}", 29, &err);
	assert_null(doc);
	hamn_error_free(&err);
}

static void strings_with_nul_are_einval(void **state)
{
	_cleanup_json_ json_t *doc = load_json(minimal_config);
	struct hamn_error *err = NULL;

	/* hamn_json_parse refuses \u0000, but a document built in memory can hold one */
	json_object_set_new(json_object_get(doc, "process"), "cwd", json_stringn("/a\0b", 4));
	assert_null(hamn_oci_spec_parse(doc, &err));
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "process.cwd: must not contain NUL bytes"));
	hamn_error_free(&err);
}

static void empty_strings_are_handled(void **state)
{
	expect_einval("linux.namespaces", "[{\"type\": \"\"}]", "unknown namespace type ''");
	expect_einval("linux.devices", "[{\"path\": \"\", \"type\": \"c\"}]",
		      "linux.devices[0].path: '' is not an absolute path");
	expect_einval("linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"\"}]",
		      "linux.devices[0].type: unknown device type ''");
	expect_einval("process.rlimits", "[{\"type\": \"\", \"soft\": 1, \"hard\": 1}]",
		      "unknown rlimit ''");
	expect_einval("hooks.prestart", "[{\"path\": \"\"}]", "hooks.prestart[0].path:");
	/* empty optional strings are fine */
	expect_ok("linux.rootfsPropagation", "\"\"");
	expect_ok("linux.mountLabel", "\"\"");
	expect_ok("process.env", "[]");
	expect_ok("linux.resources", "{\"cpu\": {\"cpus\": \"\"}, \"devices\": [{\"allow\": true, "
				     "\"type\": \"\", \"access\": \"\"}]}");
}

static void long_values_are_bounded_only_where_the_kernel_bounds_them(void **state)
{
	struct hamn_buf env = HAMN_BUF_INIT, path = HAMN_BUF_INIT;
	_cleanup_free_ char *mounts = NULL;
	_cleanup_free_ char *cwd = NULL;

	/* a 200 KB environment value (certificates, JVM options) is fine */
	hamn_buf_puts(&env, "[\"A=");
	for (int i = 0; i < 200000; i++)
		hamn_buf_putc(&env, 'x');
	hamn_buf_puts(&env, "\"]");
	expect_ok("process.env", env.data);
	/* a path longer than PATH_MAX is not */
	hamn_buf_putc(&path, '/');
	for (int i = 0; i < 5000; i++)
		hamn_buf_putc(&path, 'a');
	mounts = xasprintf("[{\"destination\": \"%s\"}]", path.data);
	expect_einval("mounts", mounts, "mounts[0].destination: longer than 4095 bytes");
	cwd = xasprintf("\"%s\"", path.data);
	expect_einval("process.cwd", cwd, "process.cwd: longer than 4095 bytes");
	hamn_buf_release(&env);
	hamn_buf_release(&path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_leaf_with_every_type_never_crashes),
		cmocka_unit_test(top_level_of_any_type_is_einval),
		cmocka_unit_test(hostile_text_is_refused),
		cmocka_unit_test(strings_with_nul_are_einval),
		cmocka_unit_test(empty_strings_are_handled),
		cmocka_unit_test(long_values_are_bounded_only_where_the_kernel_bounds_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

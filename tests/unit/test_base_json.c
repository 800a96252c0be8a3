/*
 * test_base_json.c - big integers in src/base/json.c: hamn_json_parse_big()
 * keeps integers jansson cannot hold (beyond int64) exactly, marks nothing
 * else, stays as strict as hamn_json_parse(), and hamn_json_dump_big()
 * writes them back as numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/base.h"

static json_t *parse_big_ok(const char *text)
{
	struct hamn_error *err = NULL;
	json_t *v = hamn_json_parse_big(text, strlen(text), &err);

	if (!v)
		fail_msg("%s: %s", text, err->msg);
	return v;
}

/* hamn_json_parse_big(text) fails with EINVAL and want in the message. */
static void parse_big_fails(const char *text, const char *want)
{
	struct hamn_error *err = NULL;

	assert_null(hamn_json_parse_big(text, strlen(text), &err));
	assert_int_equal(err->errnum, EINVAL);
	if (!strstr(err->msg, want))
		fail_msg("%s: message '%s' lacks '%s'", text, err->msg, want);
	hamn_error_free(&err);
}

static void integers_beyond_int64_are_kept_exactly(void **state)
{
	_cleanup_json_ json_t *v = parse_big_ok("[18446744073709551615, 9223372036854775808,"
						" 9223372036854775807, -9223372036854775808,"
						" -9223372036854775809, 18446744073709551616, -1]");
	uint64_t u = 0;

	(void)state;
	/* 2^64-1 and 2^63: big integers, read exactly as uint64 */
	assert_string_equal(hamn_json_big_text(json_array_get(v, 0)), "18446744073709551615");
	assert_true(hamn_json_uint64(json_array_get(v, 0), &u));
	assert_true(u == UINT64_MAX);
	assert_true(hamn_json_uint64(json_array_get(v, 1), &u));
	assert_true(u == 1ULL << 63);
	/* int64's own limits stay plain integers */
	assert_true(json_is_integer(json_array_get(v, 2)));
	assert_null(hamn_json_big_text(json_array_get(v, 2)));
	assert_true(json_integer_value(json_array_get(v, 3)) == INT64_MIN);
	/* beyond uint64 either way: kept as written, but no uint64 */
	assert_string_equal(hamn_json_big_text(json_array_get(v, 4)), "-9223372036854775809");
	assert_string_equal(hamn_json_big_text(json_array_get(v, 5)), "18446744073709551616");
	u = 7;
	assert_false(hamn_json_uint64(json_array_get(v, 4), &u));
	assert_false(hamn_json_uint64(json_array_get(v, 5), &u));
	assert_false(hamn_json_uint64(json_array_get(v, 6), &u));
	assert_true(u == 7);
	/* the plain parse still refuses them, as jansson does */
	assert_null(hamn_json_parse("18446744073709551615", 20, NULL));
}

static void only_integers_outside_strings_are_marked(void **state)
{
	_cleanup_json_ json_t *v = parse_big_ok(
		"{\"s\": \"18446744073709551615\", \"q\": \"a\\\"18446744073709551615\","
		" \"u\": \"\\\\u0000 is text\", \"r\": 123456789012345678901.5,"
		" \"e\": 18446744073709551615e0, \"k\": [true, null, 0, -0]}");
	uint64_t u = 0;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(v, "s")), "18446744073709551615");
	assert_string_equal(json_string_value(json_object_get(v, "q")), "a\"18446744073709551615");
	assert_string_equal(json_string_value(json_object_get(v, "u")), "\\u0000 is text");
	assert_null(hamn_json_big_text(json_object_get(v, "s")));
	/* a fraction or an exponent makes a real, as before */
	assert_true(json_is_real(json_object_get(v, "r")));
	assert_true(json_is_real(json_object_get(v, "e")));
	assert_false(hamn_json_uint64(json_object_get(v, "e"), &u));
	assert_int_equal(json_array_size(json_object_get(v, "k")), 4);
}

static void parse_big_is_as_strict_as_parse(void **state)
{
	char deep[201] = {0};

	(void)state;
	/* a NUL of the input's own would look like a big integer: refused as always */
	parse_big_fails("[\"x\\u0000y\"]", "\\u0000 is not allowed");
	parse_big_fails("[\"\\u000018446744073709551615\", 18446744073709551615]",
			"\\u0000 is not allowed");
	/* with one, the input is parsed as by hamn_json_parse(): the first fault is named */
	parse_big_fails("[18446744073709551615, \"\\u0000\"]", "too big integer");
	/* invalid numbers are left for jansson to refuse */
	parse_big_fails("018446744073709551615", "invalid JSON");
	parse_big_fails("[18446744073709551615-1]", "invalid JSON");
	parse_big_fails("[-]", "invalid JSON");
	parse_big_fails("{\"a\": 18446744073709551615, \"a\": 1}", "duplicate");
	parse_big_fails("[18446744073709551615] x", "invalid JSON");
	parse_big_fails("[\"\xff\", 18446744073709551615]", "not valid UTF-8");
	memset(deep, '[', sizeof(deep) - 1);
	parse_big_fails(deep, "nested deeper");
	/* a string cut short before a big integer stays unterminated */
	parse_big_fails("[\"abc\\", "invalid JSON");
}

static void getters_never_take_a_big_integer_for_a_string(void **state)
{
	_cleanup_json_ json_t *v = parse_big_ok("{\"n\": 18446744073709551615, \"a\": [\"x\","
						" 18446744073709551615]}");
	struct hamn_error *err = NULL;
	const char *s = NULL;
	char **strv = NULL;
	int64_t n = 0;

	(void)state;
	assert_int_equal(hamn_json_get_string(v, "n", "cfg.n", &s, &err), -1);
	assert_string_equal(err->msg, "cfg.n: must be a string");
	hamn_error_free(&err);
	assert_int_equal(hamn_json_get_strv_opt(v, "a", "cfg.a", &strv, &err), -1);
	assert_string_equal(err->msg, "cfg.a[1]: must be a string");
	hamn_error_free(&err);
	assert_int_equal(hamn_json_get_int_opt(v, "n", "cfg.n", &n, &err), -1);
	assert_string_equal(err->msg,
			    "cfg.n: 18446744073709551615 is out of range for a 64-bit integer");
	hamn_error_free(&err);
	assert_null(s);
	assert_null(strv);
}

static void dump_big_writes_big_integers_as_numbers(void **state)
{
	_cleanup_json_ json_t *v =
		json_pack("{s:o, s:o, s:o, s:s, s:s}", "max", hamn_json_uint64_new(UINT64_MAX),
			  "top", hamn_json_uint64_new(1ULL << 63), "small", hamn_json_uint64_new(5),
			  "text", "\\u0000123", "quote", "\"\\u00001\"");
	_cleanup_json_ json_t *again = NULL;
	_cleanup_free_ char *text = hamn_json_dump_big(v);
	_cleanup_free_ char *one = NULL, *plain = NULL, *nul = NULL;
	_cleanup_json_ json_t *big = hamn_json_uint64_new(UINT64_MAX);
	/* a NUL string that is no big integer (a container's log line) stays a string */
	static const char nul_12[] = {'\0', '1', '2'};
	_cleanup_json_ json_t *small = json_stringn(nul_12, sizeof(nul_12));

	(void)state;
	assert_true(json_is_integer(json_object_get(v, "small")));
	assert_string_equal(text, "{\"max\":18446744073709551615,\"top\":9223372036854775808,"
				  "\"small\":5,\"text\":\"\\\\u0000123\","
				  "\"quote\":\"\\\"\\\\u00001\\\"\"}");
	again = parse_big_ok(text);
	assert_true(json_equal(v, again));
	one = hamn_json_dump_big(big);
	assert_string_equal(one, "18446744073709551615");
	/* the plain dump writes what the node is: a string */
	plain = hamn_json_dump(big);
	assert_string_equal(plain, "\"\\u000018446744073709551615\"");
	nul = hamn_json_dump_big(small);
	assert_string_equal(nul, "\"\\u000012\"");
}

static void load_file_big_reads_a_file(void **state)
{
	char dir[] = "/tmp/test_base_json.XXXXXX";
	const char text[] = "{\"hard\": 18446744073709551615}\n";
	_cleanup_free_ char *path = NULL;
	struct hamn_error *err = NULL;
	json_t *v;
	uint64_t u = 0;
	int dirfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_int_equal(hamn_write_atomic(dirfd, "c.json", text, strlen(text), 0600, &err), 0);
	/* the plain loader refuses it and names the file */
	assert_null(hamn_json_load_file(dirfd, "c.json", 1024, &err));
	assert_non_null(strstr(err->msg, "c.json: invalid JSON"));
	hamn_error_free(&err);
	v = hamn_json_load_file_big(dirfd, "c.json", 1024, &err);
	assert_non_null(v);
	assert_true(hamn_json_uint64(json_object_get(v, "hard"), &u));
	assert_true(u == UINT64_MAX);
	json_decref(v);
	assert_null(hamn_json_load_file_big(dirfd, "c.json", 8, &err));
	assert_int_equal(err->errnum, EFBIG);
	hamn_error_free(&err);
	path = xasprintf("%s/c.json", dir);
	assert_int_equal(unlink(path), 0);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(integers_beyond_int64_are_kept_exactly),
		cmocka_unit_test(only_integers_outside_strings_are_marked),
		cmocka_unit_test(parse_big_is_as_strict_as_parse),
		cmocka_unit_test(getters_never_take_a_big_integer_for_a_string),
		cmocka_unit_test(dump_big_writes_big_integers_as_numbers),
		cmocka_unit_test(load_file_big_reads_a_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

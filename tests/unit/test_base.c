/*
 * test_base.c - errors, buffers, strings, JSON, digests and time of src/base.
 * (Filesystem and spawn have their own files: test_base_fs.c, test_base_spawn.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"

static void error_set_appends_strerror(void **state)
{
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_error_set(&err, ENOENT, "open '%s'", "x"), -1);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(err->msg, "open 'x': No such file or directory");
	hamn_error_free(&err);
	assert_null(err);
}

static void error_wrap_prefixes_context(void **state)
{
	struct hamn_error *err = NULL;

	hamn_error_setq(&err, EINVAL, "bad digest");
	assert_int_equal(hamn_error_wrap(&err, "pull '%s'", "a:b"), -1);
	assert_string_equal(err->msg, "pull 'a:b': bad digest");
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	/* NULL err: nothing recorded, still -1 */
	assert_int_equal(hamn_error_set(NULL, EIO, "x"), -1);
	assert_string_equal(hamn_errno_name(EBUSY), "EBUSY");
}

static void buf_grows_and_consumes(void **state)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;

	for (int i = 0; i < 1000; i++)
		hamn_buf_printf(&b, "%d,", i);
	assert_true(b.len > 3000);
	assert_memory_equal(b.data, "0,1,2,", 6);
	hamn_buf_consume(&b, 2);
	assert_memory_equal(b.data, "1,2,", 4);
	assert_int_equal(b.data[b.len], '\0');
	hamn_buf_reset(&b);
	assert_int_equal(b.len, 0);
	hamn_buf_puts(&b, "hi");
	_cleanup_free_ char *s = hamn_buf_steal(&b);
	assert_string_equal(s, "hi");
	assert_null(b.data);
}

static void strv_and_split(void **state)
{
	_cleanup_strv_ char **v = str_split("a::b", ':');
	_cleanup_free_ char *j = NULL;

	assert_int_equal(strv_len(v), 3);
	assert_string_equal(v[1], "");
	strv_push(&v, "c");
	assert_true(strv_contains(v, "c"));
	assert_false(strv_contains(v, "d"));
	j = strv_join(v, "/");
	assert_string_equal(j, "a//b/c");
}

static void numbers_are_strict(void **state)
{
	struct hamn_error *err = NULL;
	int64_t v = 0;
	uint64_t u = 0;

	assert_int_equal(hamn_parse_int64("-42", &v, &err), 0);
	assert_int_equal(v, -42);
	assert_int_equal(hamn_parse_int64("42x", &v, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_int_equal(hamn_parse_int64("99999999999999999999", &v, &err), -1);
	assert_int_equal(err->errnum, ERANGE);
	hamn_error_free(&err);
	assert_int_equal(hamn_parse_uint64("-1", &u, &err), -1);
	hamn_error_free(&err);
	assert_int_equal(hamn_parse_int64("", &v, &err), -1);
	hamn_error_free(&err);
}

static void sizes_follow_docker(void **state)
{
	struct hamn_error *err = NULL;
	int64_t v = 0;

	assert_int_equal(hamn_parse_size("64m", &v, &err), 0);
	assert_int_equal(v, 64LL << 20);
	assert_int_equal(hamn_parse_size("1g", &v, &err), 0);
	assert_int_equal(v, 1LL << 30);
	assert_int_equal(hamn_parse_size("512KiB", &v, &err), 0);
	assert_int_equal(v, 512LL << 10);
	assert_int_equal(hamn_parse_size("100", &v, &err), 0);
	assert_int_equal(v, 100);
	assert_int_equal(hamn_parse_size("1.5k", &v, &err), 0);
	assert_int_equal(v, 1536);
	assert_int_equal(hamn_parse_size("12q", &v, &err), -1);
	hamn_error_free(&err);
	assert_int_equal(hamn_parse_size("-1m", &v, &err), -1);
	hamn_error_free(&err);
}

static void utf8_validation(void **state)
{
	assert_true(hamn_utf8_valid("h\xc3\xa9llo", 6));
	assert_false(hamn_utf8_valid("\xc3", 1));		/* truncated */
	assert_false(hamn_utf8_valid("\xc0\xaf", 2));		/* overlong '/' */
	assert_false(hamn_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(hamn_utf8_valid("\xff", 1));
}

static void json_parse_refuses_hostile_input(void **state)
{
	struct hamn_error *err = NULL;
	char deep[200];
	json_t *v;

	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_null(hamn_json_parse(deep, sizeof(deep), &err));
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "nested"));
	hamn_error_free(&err);

	assert_null(hamn_json_parse("{\"a\":\"\xff\"}", 9, &err));
	assert_non_null(strstr(err->msg, "UTF-8"));
	hamn_error_free(&err);

	assert_null(hamn_json_parse("{\"a\":1,\"a\":2}", 13, &err));
	hamn_error_free(&err);
	assert_null(hamn_json_parse("{\"a\":1} x", 9, &err));
	hamn_error_free(&err);
	assert_null(hamn_json_parse("{\"a\":\"x\\u0000y\"}", 16, &err));
	hamn_error_free(&err);

	const char *good = "{\"s\":\"x\",\"n\":3,\"b\":true,\"a\":[\"p\",\"q\"]}";
	v = hamn_json_parse(good, strlen(good), &err);
	assert_non_null(v);
	json_decref(v);
}

static void json_getters_name_the_field(void **state)
{
	struct hamn_error *err = NULL;
	const char *s = NULL;
	int64_t n = 0;
	bool b = false;
	char **strv = NULL;
	json_t *v = json_pack("{s:s,s:i,s:b,s:[s,i],s:n}", "s", "x", "n", 7, "b", 1, "a", "p", 3,
			      "z");

	assert_int_equal(hamn_json_get_string(v, "s", "cfg.s", &s, &err), 0);
	assert_string_equal(s, "x");
	assert_int_equal(hamn_json_get_string(v, "n", "cfg.n", &s, &err), -1);
	assert_string_equal(err->msg, "cfg.n: must be a string");
	hamn_error_free(&err);
	assert_int_equal(hamn_json_get_string(v, "z", "cfg.z", &s, &err), -1);
	assert_string_equal(err->msg, "cfg.z: required");
	hamn_error_free(&err);
	assert_int_equal(hamn_json_get_int_opt(v, "n", "cfg.n", &n, &err), 0);
	assert_int_equal(n, 7);
	assert_int_equal(hamn_json_get_bool_opt(v, "b", "cfg.b", &b, &err), 0);
	assert_true(b);
	assert_int_equal(hamn_json_get_strv_opt(v, "a", "cfg.a", &strv, &err), -1);
	assert_string_equal(err->msg, "cfg.a[1]: must be a string");
	hamn_error_free(&err);
	assert_null(strv);
	json_decref(v);
}

static void digests_validate_and_hash(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_digest d;
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();

	hamn_sha256_buf("abc", 3, &d);
	assert_string_equal(d.str,
			    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(hamn_digest_valid(d.str));
	/* streaming gives the same digest */
	hamn_sha256_update(h, "a", 1);
	hamn_sha256_update(h, "bc", 2);
	struct hamn_digest d2;
	hamn_sha256_final(h, &d2);
	assert_string_equal(d.str, d2.str);

	assert_false(hamn_digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	assert_false(hamn_digest_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	assert_false(hamn_digest_valid("sha256:ba78"));
	assert_false(hamn_digest_valid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"));
	assert_false(hamn_digest_valid("sha256:../../../../etc/passwd"));
	assert_int_equal(hamn_digest_parse("sha256:xyz", &d, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

static void time_round_trips(void **state)
{
	struct hamn_error *err = NULL;
	char buf[HAMN_TIME_STR_MAX];
	int64_t ns = 0;

	assert_string_equal(hamn_time_format(1795949723123456789LL, buf),
			    "2026-11-29T10:55:23.123456789Z");
	assert_int_equal(hamn_time_parse(buf, &ns, &err), 0);
	assert_int_equal(ns, 1795949723123456789LL);
	assert_int_equal(hamn_time_parse("2026-11-29T12:55:23+02:00", &ns, &err), 0);
	assert_int_equal(ns, 1795949723000000000LL);
	assert_int_equal(hamn_time_parse("1795949723.5", &ns, &err), 0);
	assert_int_equal(ns, 1795949723500000000LL);
	assert_int_equal(hamn_time_parse("yesterday", &ns, &err), -1);
	hamn_error_free(&err);
	assert_int_equal(hamn_duration_parse("1h30m", &ns, &err), 0);
	assert_int_equal(ns, 5400LL * 1000000000LL);
	assert_int_equal(hamn_duration_parse("300ms", &ns, &err), 0);
	assert_int_equal(ns, 300000000LL);
	assert_int_equal(hamn_duration_parse("10", &ns, &err), -1);
	hamn_error_free(&err);
	assert_int_equal(hamn_time_parse_since("10m", 1000LL * 1000000000LL, &ns, &err), 0);
	assert_int_equal(ns, 400LL * 1000000000LL);
}

static void human_durations_match_docker(void **state)
{
	_cleanup_free_ char *a = hamn_human_duration(3LL * 1000000000LL);
	_cleanup_free_ char *b = hamn_human_duration(61LL * 1000000000LL);
	_cleanup_free_ char *c = hamn_human_duration(2LL * 3600 * 1000000000LL);

	assert_string_equal(a, "3 seconds");
	assert_string_equal(b, "About a minute");
	assert_string_equal(c, "2 hours");
}

static void random_ids_are_hex(void **state)
{
	_cleanup_free_ char *a = hamn_random_id();
	_cleanup_free_ char *b = hamn_random_id();

	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_set_appends_strerror),
		cmocka_unit_test(error_wrap_prefixes_context),
		cmocka_unit_test(buf_grows_and_consumes),
		cmocka_unit_test(strv_and_split),
		cmocka_unit_test(numbers_are_strict),
		cmocka_unit_test(sizes_follow_docker),
		cmocka_unit_test(utf8_validation),
		cmocka_unit_test(json_parse_refuses_hostile_input),
		cmocka_unit_test(json_getters_name_the_field),
		cmocka_unit_test(digests_validate_and_hash),
		cmocka_unit_test(time_round_trips),
		cmocka_unit_test(human_durations_match_docker),
		cmocka_unit_test(random_ids_are_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

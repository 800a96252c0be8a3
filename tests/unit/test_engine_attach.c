/*
 * test_engine_attach.c - the wire form of stdin read ahead by hamnd's HTTP
 * server (src/engine/attach.c): bytes to a launch or session request and
 * back, whatever they are, and what a bad request field does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/internal.h"

static void ahead_round_trip(void **state)
{
	/* every byte value, NUL and the detach keys' control bytes among them */
	char data[256];
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	_cleanup_json_ json_t *v = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)i;
	v = attach_ahead_json(data, sizeof(data));
	assert_non_null(v);
	assert_int_equal(json_string_length(v), 2 * sizeof(data));
	assert_true(attach_ahead_parse(v, &out));
	assert_int_equal(out.len, sizeof(data));
	assert_memory_equal(out.data, data, sizeof(data));
}

static void ahead_appends(void **state)
{
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	_cleanup_json_ json_t *v = attach_ahead_json("hi\n", 3);

	(void)state;
	hamn_buf_append(&out, "x", 1);
	assert_true(attach_ahead_parse(v, &out));
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "xhi\n", 4);
}

static void ahead_absent_is_none(void **state)
{
	_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
	_cleanup_json_ json_t *empty = attach_ahead_json("", 0);

	(void)state;
	assert_true(attach_ahead_parse(NULL, &out));
	assert_true(attach_ahead_parse(empty, &out));
	assert_int_equal(out.len, 0);
}

static void ahead_rejects_bad_fields(void **state)
{
	const char *bad[] = { "abc", "0g", "4A", " 4", "4 " };
	_cleanup_json_ json_t *num = json_integer(41);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;
		_cleanup_json_ json_t *v = json_string(bad[i]);

		assert_false(attach_ahead_parse(v, &out));
	}
	{
		_cleanup_buf_ struct hamn_buf out = HAMN_BUF_INIT;

		assert_false(attach_ahead_parse(num, &out));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ahead_round_trip),
		cmocka_unit_test(ahead_appends),
		cmocka_unit_test(ahead_absent_is_none),
		cmocka_unit_test(ahead_rejects_bad_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

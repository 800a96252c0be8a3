/*
 * test_base_signame.c - signals by name or number (src/base/signame.c), as
 * docker's table for Linux spells them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>

#include "base/base.h"
#include "base/signame.h"

/* The signal s names, or -1 (with an EINVAL "Invalid signal: s" checked). */
static int parse(const char *s)
{
	struct hamn_error *err = NULL;
	int sig = -1;

	if (hamn_signal_parse(s, &sig, &err) == 0) {
		assert_null(err);
		return sig;
	}
	assert_non_null(err);
	assert_int_equal(err->errnum, EINVAL);
	assert_true(str_has_prefix(err->msg, "Invalid signal: "));
	hamn_error_free(&err);
	return -1;
}

static void names_in_any_case_with_or_without_sig(void **state)
{
	(void)state;
	assert_int_equal(parse("KILL"), SIGKILL);
	assert_int_equal(parse("SIGTERM"), SIGTERM);
	assert_int_equal(parse("sigusr1"), SIGUSR1);
	assert_int_equal(parse("wInCh"), SIGWINCH);
	assert_int_equal(parse("CLD"), SIGCHLD);
	assert_int_equal(parse("IOT"), SIGABRT);
}

static void numbers_from_1_to_64(void **state)
{
	(void)state;
	assert_int_equal(parse("9"), 9);
	assert_int_equal(parse("64"), 64);
	assert_int_equal(parse("0"), -1);
	assert_int_equal(parse("65"), -1);
	assert_int_equal(parse("999999999999999999999"), -1);
	assert_int_equal(parse("9x"), -1);
	assert_int_equal(parse("-9"), -1);
}

static void realtime_signals_as_docker_numbers_them(void **state)
{
	(void)state;
	assert_int_equal(parse("RTMIN"), 34);
	assert_int_equal(parse("SIGRTMIN+1"), 35);
	assert_int_equal(parse("rtmin+15"), 49);
	assert_int_equal(parse("RTMAX-1"), 63);
	assert_int_equal(parse("RTMAX"), 64);
	assert_int_equal(parse("RTMIN+0"), -1);
	assert_int_equal(parse("RTMIN+16"), -1);
	assert_int_equal(parse("RTMAX-"), -1);
	assert_int_equal(parse("RTMAX-+1"), -1);
}

static void nothing_and_unknown_names_are_refused(void **state)
{
	struct hamn_error *err = NULL;
	int sig = 7;

	(void)state;
	assert_int_equal(parse(""), -1);
	assert_int_equal(parse("SIG"), -1);
	assert_int_equal(parse("bogus"), -1);
	assert_int_equal(hamn_signal_parse("NOPE", &sig, &err), -1);
	assert_string_equal(err->msg, "Invalid signal: NOPE");
	assert_int_equal(sig, 7); /* untouched on failure */
	hamn_error_free(&err);
	assert_int_equal(hamn_signal_parse(NULL, &sig, &err), -1);
	hamn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_in_any_case_with_or_without_sig),
		cmocka_unit_test(numbers_from_1_to_64),
		cmocka_unit_test(realtime_signals_as_docker_numbers_them),
		cmocka_unit_test(nothing_and_unknown_names_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

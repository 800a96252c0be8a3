/*
 * test_engine_top.c - docker top's ps_args turned into columns
 * (src/engine/top_args.c): the default and -ef, -e, aux, ax, -o lists in
 * their spellings, and the 400s for what hamn does not read from /proc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "engine/top.h"

/* The titles of ps_args' plan joined by spaces, or "ERR:<errno>". */
static char *titles(const char *ps_args)
{
	struct hamn_error *err = NULL;
	struct hamn_buf b = HAMN_BUF_INIT;
	struct top_plan p;

	if (top_plan_parse(ps_args, &p, &err) < 0) {
		char *s = xasprintf("ERR:%d", err->errnum);

		hamn_error_free(&err);
		return s;
	}
	for (size_t i = 0; i < p.n; i++)
		hamn_buf_printf(&b, "%s%s", i ? " " : "", p.cols[i].title);
	return hamn_buf_steal(&b);
}

static void check(const char *ps_args, const char *want)
{
	_cleanup_free_ char *got = titles(ps_args);

	if (!streq(got, want))
		fail_msg("ps_args '%s': got '%s', want '%s'", ps_args ? ps_args : "(null)", got,
			 want);
}

#define EF "UID PID PPID C STIME TTY TIME CMD"
#define AUX "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND"

static void default_and_full_formats(void **state)
{
	(void)state;
	check(NULL, EF);
	check("", EF);
	check("-ef", EF);
	check("-fe", EF);
	check("-e -f", EF);
	check("  -A   -f ", EF);
	check("-e", "PID TTY TIME CMD");
	check("-A", "PID TTY TIME CMD");
}

static void bsd_formats(void **state)
{
	(void)state;
	check("aux", AUX);
	check("xau", AUX);
	check("ax", "PID TTY STAT TIME COMMAND");
}

static void o_lists(void **state)
{
	(void)state;
	check("-o pid,comm", "PID COMMAND");
	check("-opid,comm", "PID COMMAND");
	check("-eo pid,ppid,user,comm,args,rss,vsz,stat,time",
	      "PID PPID USER COMMAND COMMAND RSS VSZ STAT TIME");
	check("-o pid -o cmd", "PID CMD");
	check("-o %cpu,%mem,etime,tty,uid", "%CPU %MEM ELAPSED TT UID");
	check("aux -o pid", "PID");
}

static void unsupported_args_are_400s(void **state)
{
	struct hamn_error *err = NULL;
	struct top_plan p;

	(void)state;
	check("-x", "ERR:22");
	check("-o", "ERR:22");
	check("-o ,", "ERR:22");
	check("-o pid,bogus", "ERR:22");
	check("auxww", "ERR:22");
	check("--sort=pid", "ERR:22");
	check("-", "ERR:22");
	assert_int_equal(top_plan_parse("-o pid=ID", &p, &err), -1);
	assert_non_null(strstr(err->msg, "unsupported -o field 'pid=ID'"));
	assert_non_null(strstr(err->msg, "supports -ef, -e, aux"));
	hamn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_and_full_formats),
		cmocka_unit_test(bsd_formats),
		cmocka_unit_test(o_lists),
		cmocka_unit_test(unsupported_args_are_400s),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

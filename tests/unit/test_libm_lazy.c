/*
 * test_libm_lazy.c - hamnd's libm forwarders (src/cmd/hamnd/libm_lazy.c):
 * libm is opened by the first call, and each of SQLite's math functions,
 * called through SQL, gives libm's own answer.
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct fn {
	const char *name; /* libm's and SQL's */
	int arity;
	double x, y;
};

static const struct fn fns[] = {
	{"acos", 1, 0.25, 0},  {"acosh", 1, 1.5, 0}, {"asin", 1, 0.25, 0},  {"asinh", 1, 0.5, 0},
	{"atan", 1, 0.5, 0},   {"atanh", 1, 0.5, 0}, {"cos", 1, 0.5, 0},    {"cosh", 1, 0.5, 0},
	{"exp", 1, 1.5, 0},    {"ln", 1, 3.0, 0},    {"sin", 1, 0.5, 0},    {"sinh", 1, 0.5, 0},
	{"sqrt", 1, 2.0, 0},   {"tan", 1, 0.5, 0},   {"tanh", 1, 0.5, 0},   {"trunc", 1, -2.75, 0},
	{"atan2", 2, 1.0, 2.0}, {"mod", 2, 7.5, 2.0}, {"pow", 2, 2.0, 10.5},
};

/* SQL's name -> libm's where they differ */
static const char *libm_name(const char *sql)
{
	if (strcmp(sql, "ln") == 0)
		return "log";
	if (strcmp(sql, "mod") == 0)
		return "fmod";
	return sql;
}

static double sql_eval(sqlite3 *db, const struct fn *f)
{
	char q[128];
	sqlite3_stmt *st = NULL;
	double v;

	if (f->arity == 1)
		snprintf(q, sizeof(q), "SELECT %s(%.17g)", f->name, f->x);
	else
		snprintf(q, sizeof(q), "SELECT %s(%.17g, %.17g)", f->name, f->x, f->y);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void each_function_answers_as_libm(void **state)
{
	void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
	sqlite3 *db = NULL;

	(void)state;
	assert_non_null(libm);
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		const struct fn *f = &fns[i];
		void *real = dlsym(libm, libm_name(f->name));
		double want;

		assert_non_null(real);
		want = f->arity == 1 ? ((double (*)(double))real)(f->x)
				     : ((double (*)(double, double))real)(f->x, f->y);
		if (sql_eval(db, f) != want)
			fail_msg("%s: SQL gives %.17g, libm %.17g", f->name, sql_eval(db, f), want);
	}
	sqlite3_close(db);
	dlclose(libm);
}

/*
 * The definitions linked are ours: libm is not loaded until one of them is
 * called (first test: nothing has opened libm yet), then it is.
 */
static void libm_is_opened_on_first_call(void **state)
{
	double (*volatile p)(double, double) = pow;
	Dl_info info;

	(void)state;
	assert_null(dlopen("libm.so.6", RTLD_NOW | RTLD_NOLOAD));
	assert_true(dladdr((void *)p, &info) != 0);
	assert_null(strstr(info.dli_fname, "libm.so"));
	assert_true(p(2.0, 10.0) == 1024.0);
	assert_non_null(dlopen("libm.so.6", RTLD_NOW | RTLD_NOLOAD));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(libm_is_opened_on_first_call),
		cmocka_unit_test(each_function_answers_as_libm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

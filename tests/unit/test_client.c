/*
 * test_client.c - the Go-template subset and the table writer of src/client.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "client/client.h"
#include "client/template.h"

/* Render format over the JSON text; returns a heap string or NULL with *err. */
static char *render(const char *format, const char *json, struct hamn_error **err)
{
	_cleanup_json_ json_t *v = json_loads(json, 0, NULL);
	_cleanup_template_ struct hamn_template *t = hamn_template_parse(format, err);
	struct hamn_buf out = HAMN_BUF_INIT;

	if (!t || hamn_template_exec(t, v, &out, err) < 0) {
		hamn_buf_release(&out);
		return NULL;
	}
	return hamn_buf_steal(&out);
}

static void expect(const char *format, const char *json, const char *want)
{
	struct hamn_error *err = NULL;
	char *got = render(format, json, &err);

	if (!got)
		fail_msg("'%s' failed: %s", format, err->msg);
	assert_string_equal(got, want);
	free(got);
}

static const char *ctr = "{\"Id\":\"abc\",\"State\":{\"Status\":\"running\",\"Pid\":42,"
			 "\"Running\":true},\"Config\":{\"Env\":[\"A=1\",\"B=2\"],"
			 "\"Labels\":{\"z\":\"1\",\"a\":\"2\"}},\"Mounts\":[],\"Name\":\"/web\"}";

static void fields_and_literals(void **state)
{
	expect("{{.Id}}", ctr, "abc");
	expect("{{.State.Status}} {{.State.Pid}} {{.State.Running}}", ctr, "running 42 true");
	expect("id={{.Id}}\\tname={{.Name}}\\n", ctr, "id=abc\tname=/web\n");
	expect("{{.Nope}}", ctr, "<no value>");
	expect("{{.Config.Env}}", ctr, "[A=1 B=2]");
	expect("{{.Config.Labels}}", ctr, "map[a:2 z:1]");
	expect("{{\"lit\"}} {{7}}", ctr, "lit 7");
}

static void functions(void **state)
{
	expect("{{json .State}}", ctr, "{\"Status\":\"running\",\"Pid\":42,\"Running\":true}");
	expect("{{json .Mounts}}", ctr, "[]");
	expect("{{upper .State.Status}} {{lower \"ABC\"}} {{title \"hello world\"}}", ctr,
	       "RUNNING abc Hello World");
	expect("{{len .Config.Env}}", ctr, "2");
	expect("{{index .Config.Labels \"z\"}}", ctr, "1");
	expect("{{join .Config.Env \",\"}}", ctr, "A=1,B=2");
	expect("{{printf \"%s-%d\" .Id .State.Pid}}", ctr, "abc-42");
	expect("{{println .Id}}", ctr, "abc\n");
}

static void control_flow(void **state)
{
	expect("{{if .State.Running}}up{{else}}down{{end}}", ctr, "up");
	expect("{{if .Mounts}}m{{else}}none{{end}}", ctr, "none");
	expect("{{range .Config.Env}}[{{.}}]{{end}}", ctr, "[A=1][B=2]");
	expect("{{range .Mounts}}x{{else}}empty{{end}}", ctr, "empty");
	expect("{{range .Config.Env}}{{$.Id}}{{end}}", ctr, "abcabc");
	expect("a  {{- .Id -}}  b", ctr, "aabcb");
}

static void errors_are_einval(void **state)
{
	static const char *bad[] = { "{{.Id", "{{end}}", "{{if .Id}}x", "{{nosuch .Id}}",
				     "{{\"open}}", "{{}}", "{{.Id .Name}}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hamn_error *err = NULL;
		char *got = render(bad[i], ctr, &err);
		if (got)
			fail_msg("'%s' should fail, gave '%s'", bad[i], got);
		assert_int_equal(err->errnum, EINVAL);
		hamn_error_free(&err);
	}
}

static void tables_align(void **state)
{
	_cleanup_free_ char *t = hamn_tabwrite("ID\tNAME\nabcdef\tx\n");
	_cleanup_free_ char *wide = hamn_tabwrite("CONTAINER ID\tNAME\nabc\tx\n");

	assert_true(hamn_template_is_table("table {{.ID}}"));
	assert_false(hamn_template_is_table("{{.ID}}"));
	assert_string_equal(t, "ID        NAME\nabcdef    x\n");
	assert_string_equal(wide, "CONTAINER ID   NAME\nabc            x\n");
	expect("table {{.Id}}", ctr, "abc");
}

static void urlencode_escapes_reserved(void **state)
{
	_cleanup_free_ char *e = hamn_client_urlencode("{\"a\":[1]} x/y");

	assert_string_equal(e, "%7B%22a%22%3A%5B1%5D%7D%20x%2Fy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fields_and_literals),
		cmocka_unit_test(functions),
		cmocka_unit_test(control_flow),
		cmocka_unit_test(errors_are_einval),
		cmocka_unit_test(tables_align),
		cmocka_unit_test(urlencode_escapes_reserved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

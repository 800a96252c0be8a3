/*
 * test_build.c - src/build: the Dockerfile parser, variable expansion and
 * .dockerignore.
 * The context hash, the plan, config mutation and the builder loop are in
 * test_build_loop.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "build/build.h"

/* ---- helpers ---- */

static struct hamn_build_dockerfile *parse_ok(const char *text)
{
	struct hamn_error *err = NULL;
	struct hamn_build_dockerfile *df = hamn_build_dockerfile_parse(text, strlen(text),
								       "Dockerfile", &err);

	if (!df)
		fail_msg("parse failed: %s\n--- text:\n%s", err->msg, text);
	return df;
}

static void parse_fails(const char *text, const char *msg)
{
	struct hamn_error *err = NULL;
	struct hamn_build_dockerfile *df = hamn_build_dockerfile_parse(text, strlen(text),
								       "Dockerfile", &err);

	if (df)
		fail_msg("parse should fail with '%s':\n%s", msg, text);
	assert_int_equal(err->errnum, EINVAL);
	if (strcmp(err->msg, msg) != 0)
		fail_msg("error '%s', expected '%s'", err->msg, msg);
	hamn_error_free(&err);
}

static const struct hamn_build_instr *instr_at(const struct hamn_build_dockerfile *df, size_t stage,
					       size_t i)
{
	assert_true(stage < df->n_stages);
	assert_true(i < df->stages[stage].n_instrs);
	return &df->stages[stage].instrs[i];
}

static void assert_args(char *const *args, ...)
{
	va_list ap;
	size_t i = 0;
	const char *want;

	va_start(ap, args);
	while ((want = va_arg(ap, const char *))) {
		if (!args[i])
			fail_msg("argument %zu missing, expected '%s'", i, want);
		assert_string_equal(args[i], want);
		i++;
	}
	va_end(ap);
	if (args[i])
		fail_msg("unexpected argument %zu '%s'", i, args[i]);
}

/* ==== parser ==== */

static void parse_stages_and_meta_args(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"# a comment\n"
		"ARG BASE=busybox\n"
		"FROM $BASE AS Builder\n"
		"RUN make\n"
		"\n"
		"from scratch\n"
		"COPY --from=builder /out /out\n");

	(void)state;
	assert_int_equal(df->n_meta_args, 1);
	assert_string_equal(df->meta_args[0].args[0], "BASE=busybox");
	assert_int_equal(df->n_stages, 2);
	assert_string_equal(df->stages[0].base, "$BASE");
	assert_string_equal(df->stages[0].name, "builder");
	assert_int_equal(df->stages[0].from.line, 3);
	assert_int_equal(df->stages[0].n_instrs, 1);
	assert_int_equal(instr_at(df, 0, 0)->cmd, HAMN_BUILD_RUN);
	assert_int_equal(instr_at(df, 0, 0)->line, 4);
	assert_string_equal(df->stages[1].base, "scratch");
	assert_null(df->stages[1].name);
	assert_string_equal(df->stages[1].from.text, "from scratch");
	assert_string_equal(hamn_build_instr_flag(instr_at(df, 1, 0), "from", NULL), "builder");
	assert_args(instr_at(df, 1, 0)->args, "/out", "/out", NULL);
	hamn_build_dockerfile_free(df);
}

static void parse_continuations(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"FROM busybox\n"
		"RUN echo a \\\n"
		"# a comment inside\n"
		"    && echo b \\  \n"
		"\n"
		"   \n"
		"    && echo c\n"
		"ENV A=1\n");
	const struct hamn_build_instr *run = instr_at(df, 0, 0);

	(void)state;
	assert_string_equal(run->args[0], "echo a     && echo b     && echo c");
	assert_int_equal(run->line, 2);
	assert_int_equal(run->end_line, 7);
	assert_int_equal(instr_at(df, 0, 1)->line, 8);
	assert_non_null(df->warnings[0]);
	assert_true(str_has_prefix(df->warnings[0], "[WARNING]: Empty continuation line"));
	hamn_build_dockerfile_free(df);
}

static void parse_escape_directive(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"# escape=`\n"
		"# syntax=docker/dockerfile:1\n"
		"FROM busybox\n"
		"COPY c:\\src\\x.txt `\n"
		"     c:\\dst\\\n");

	(void)state;
	assert_int_equal(df->escape, '`');
	assert_string_equal(df->syntax, "docker/dockerfile:1");
	assert_args(instr_at(df, 0, 0)->args, "c:\\src\\x.txt", "c:\\dst\\", NULL);
	hamn_build_dockerfile_free(df);
}

static void parse_directives_only_at_top(void **state)
{
	struct hamn_build_dockerfile *df;

	(void)state;
	/* after an instruction, a blank line or another comment: just comments */
	df = parse_ok("FROM busybox\n# escape=`\nRUN a \\\n b\n");
	assert_int_equal(df->escape, '\\');
	assert_string_equal(instr_at(df, 0, 0)->args[0], "a  b");
	hamn_build_dockerfile_free(df);
	df = parse_ok("\n# escape=`\nFROM busybox\n");
	assert_int_equal(df->escape, '\\');
	hamn_build_dockerfile_free(df);
	df = parse_ok("# hello\n# escape=`\nFROM busybox\n");
	assert_int_equal(df->escape, '\\');
	hamn_build_dockerfile_free(df);
	df = parse_ok("#Escape = ` \nFROM busybox\n");
	assert_int_equal(df->escape, '`');
	hamn_build_dockerfile_free(df);
	parse_fails("# escape=`\n# escape=\\\nFROM x\n",
		    "Dockerfile:2: only one escape parser directive can be used");
	parse_fails("# escape=x\nFROM x\n",
		    "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
}

static void parse_heredocs(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"FROM busybox\n"
		"RUN <<EOF\n"
		"echo $HOME\n"
		"echo two\n"
		"EOF\n"
		"RUN <<-'END' cat > /x && cat <<\"B\"\n"
		"\t\tindented $X\n"
		"\tEND\n"
		"b line\n"
		"B\n"
		"COPY <<conf /etc/app.conf\n"
		"key=$V\n"
		"conf\n"
		"ENV DONE=1\n");
	const struct hamn_build_instr *r1 = instr_at(df, 0, 0), *r2 = instr_at(df, 0, 1);
	const struct hamn_build_instr *cp = instr_at(df, 0, 2);

	(void)state;
	assert_int_equal(r1->n_heredocs, 1);
	assert_string_equal(r1->heredocs[0].name, "EOF");
	assert_string_equal(r1->heredocs[0].content, "echo $HOME\necho two\n");
	assert_true(r1->heredocs[0].expand);
	assert_int_equal(r1->end_line, 5);
	assert_int_equal(r2->n_heredocs, 2);
	assert_string_equal(r2->heredocs[0].name, "END");
	assert_true(r2->heredocs[0].chomp);
	assert_false(r2->heredocs[0].expand);
	assert_string_equal(r2->heredocs[0].content, "indented $X\n");
	assert_string_equal(r2->heredocs[1].name, "B");
	assert_string_equal(r2->heredocs[1].content, "b line\n");
	assert_int_equal(cp->n_heredocs, 1);
	assert_args(cp->args, "<<conf", "/etc/app.conf", NULL);
	assert_int_equal(instr_at(df, 0, 3)->line, 14);
	hamn_build_dockerfile_free(df);
	parse_fails("FROM x\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc");
}

static void parse_json_and_shell_forms(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"FROM busybox\n"
		"CMD [\"echo\", \"a b\"]\n"
		"CMD [ \"sh\", ]\n"
		"ENTRYPOINT echo hi\n"
		"RUN [\"a\"] trailing junk\n"
		"CMD []\n"
		"CMD\n"
		"VOLUME [\"/a\", \"/b\"]\n"
		"VOLUME /c /d\n"
		"COPY [\"a b\", \"/dst/\"]\n"
		"SHELL [\"/bin/bash\", \"-c\"]\n");

	(void)state;
	assert_true(instr_at(df, 0, 0)->json);
	assert_args(instr_at(df, 0, 0)->args, "echo", "a b", NULL);
	assert_false(instr_at(df, 0, 1)->json);
	assert_args(instr_at(df, 0, 1)->args, "[ \"sh\", ]", NULL);
	assert_false(instr_at(df, 0, 2)->json);
	assert_args(instr_at(df, 0, 2)->args, "echo hi", NULL);
	assert_true(instr_at(df, 0, 3)->json);
	assert_args(instr_at(df, 0, 3)->args, "a", NULL);
	assert_true(instr_at(df, 0, 4)->json);
	assert_args(instr_at(df, 0, 4)->args, NULL);
	assert_args(instr_at(df, 0, 5)->args, NULL);
	assert_args(instr_at(df, 0, 6)->args, "/a", "/b", NULL);
	assert_args(instr_at(df, 0, 7)->args, "/c", "/d", NULL);
	assert_args(instr_at(df, 0, 8)->args, "a b", "/dst/", NULL);
	assert_true(instr_at(df, 0, 9)->json);
	hamn_build_dockerfile_free(df);
	parse_fails("FROM x\nCMD [1, 2]\n", "Dockerfile:2: when using JSON array syntax, arrays "
		    "must be comprised of strings only");
	parse_fails("FROM x\nSHELL /bin/bash -c\n",
		    "Dockerfile:2: SHELL requires the arguments to be in JSON form");
}

static void parse_env_label_arg_forms(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"FROM busybox\n"
		"ENV A=1 B=\"two words\" C=three\\ x\n"
		"ENV OLD value with spaces\n"
		"LABEL \"com.example.k\"=\"v 1\" other=2\n"
		"ARG X Y=2 \"Z=a b\"\n"
		"EXPOSE 8080 443/udp 80\n"
		"USER app:app\n"
		"WORKDIR my dir\n");

	(void)state;
	assert_args(instr_at(df, 0, 0)->args, "A", "1", "B", "\"two words\"", "C", "three\\ x",
		    NULL);
	assert_args(instr_at(df, 0, 1)->args, "OLD", "value with spaces", NULL);
	assert_args(instr_at(df, 0, 2)->args, "\"com.example.k\"", "\"v 1\"", "other", "2", NULL);
	assert_args(instr_at(df, 0, 3)->args, "X", "Y=2", "\"Z=a b\"", NULL);
	assert_args(instr_at(df, 0, 4)->args, "443/udp", "80", "8080", NULL);
	assert_args(instr_at(df, 0, 5)->args, "app:app", NULL);
	assert_args(instr_at(df, 0, 6)->args, "my dir", NULL);
	hamn_build_dockerfile_free(df);
}

static void parse_flags(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"FROM --platform=linux/amd64 busybox AS b\n"
		"COPY --from=b --chown=\"1:2\" --link --chmod=0755 a /b\n"
		"RUN --network=none echo hi\n"
		"ADD --link=false x.tar /\n"
		"HEALTHCHECK --interval=5m --timeout=3s --retries=3 CMD curl -f http://x/\n");
	bool present;

	(void)state;
	assert_string_equal(hamn_build_instr_flag(&df->stages[0].from, "platform", NULL),
			    "linux/amd64");
	assert_string_equal(hamn_build_instr_flag(instr_at(df, 0, 0), "chown", NULL), "1:2");
	assert_string_equal(hamn_build_instr_flag(instr_at(df, 0, 0), "chmod", NULL), "0755");
	assert_non_null(hamn_build_instr_flag(instr_at(df, 0, 0), "link", &present));
	assert_true(present);
	assert_null(hamn_build_instr_flag(instr_at(df, 0, 0), "nope", &present));
	assert_false(present);
	assert_string_equal(hamn_build_instr_flag(instr_at(df, 0, 1), "network", NULL), "none");
	assert_args(instr_at(df, 0, 1)->args, "echo hi", NULL);
	assert_args(instr_at(df, 0, 3)->args, "CMD", "curl -f http://x/", NULL);
	hamn_build_dockerfile_free(df);
}

static void parse_onbuild(void **state)
{
	struct hamn_build_dockerfile *df = parse_ok(
		"FROM busybox\n"
		"ONBUILD COPY --from=x . /app\n"
		"onbuild run echo hi\n");
	struct hamn_build_instr ins;
	struct hamn_error *err = NULL;

	(void)state;
	assert_args(instr_at(df, 0, 0)->args, "COPY --from=x . /app", NULL);
	assert_int_equal(instr_at(df, 0, 0)->trigger->cmd, HAMN_BUILD_COPY);
	assert_args(instr_at(df, 0, 1)->args, "run echo hi", NULL);
	hamn_build_dockerfile_free(df);
	assert_int_equal(hamn_build_instr_parse("RUN echo from trigger", '\\', &ins, &err), 0);
	assert_int_equal(ins.cmd, HAMN_BUILD_RUN);
	hamn_build_instr_release(&ins);
	assert_int_equal(hamn_build_instr_parse("FROM x", '\\', &ins, &err), -1);
	hamn_error_free(&err);
}

struct parse_error_case {
	const char *text;
	const char *msg;
};

static void parse_error_table(void **state)
{
	static const struct parse_error_case cases[] = {
		{"FROM x\nRUN a\nFRM y\n", "Dockerfile:3: unknown instruction: FRM"},
		{"FROM x\nENV =x\n", "Dockerfile:2: ENV names can not be blank"},
		{"FROM x\nENV A\n", "Dockerfile:2: ENV must have two arguments"},
		{"FROM x\nENV A=1 B\n", "Dockerfile:2: Syntax error - can't find = in \"B\". Must "
					"be of the form: name=value"},
		{"FROM x\nENV\n", "Dockerfile:2: ENV requires at least one argument"},
		{"FROM x\nLABEL =v\n", "Dockerfile:2: LABEL names can not be blank"},
		{"FROM x\nARG\n", "Dockerfile:2: ARG requires at least one argument"},
		{"FROM x\nARG =v\n", "Dockerfile:2: ARG names can not be blank"},
		{"FROM\n", "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM a AS 1x\n", "Dockerfile:1: invalid name for build stage: \"1x\", name "
				   "can't start with a number or contain symbols"},
		{"FROM x\nCOPY a\n", "Dockerfile:2: COPY requires at least two arguments, but "
				     "only one was provided. Destination could not be determined."},
		{"FROM x\nADD\n", "Dockerfile:2: ADD requires at least two arguments"},
		{"FROM x\nCOPY --nope=1 a b\n", "Dockerfile:2: Unknown flag: nope"},
		{"FROM x\nCOPY --from=a --from=b a b\n",
		 "Dockerfile:2: Duplicate flag specified: from"},
		{"FROM x\nCOPY --from a b\n", "Dockerfile:2: Missing a value on flag: from"},
		{"FROM x\nCOPY --link=maybe a b\n",
		 "Dockerfile:2: expecting boolean value for flag link, not: maybe"},
		{"FROM x\nRUN --mount=type=cache,target=/x make\n",
		 "Dockerfile:2: RUN --mount is not supported by hamn's builder"},
		{"FROM x\nENV --x=1 A=b\n", "Dockerfile:2: Unknown flag: x"},
		{"FROM x\nWORKDIR\n", "Dockerfile:2: WORKDIR requires exactly one argument"},
		{"FROM x\nUSER\n", "Dockerfile:2: USER requires exactly one argument"},
		{"FROM x\nSTOPSIGNAL\n", "Dockerfile:2: STOPSIGNAL requires exactly one argument"},
		{"FROM x\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument"},
		{"FROM x\nVOLUME\n", "Dockerfile:2: VOLUME requires at least one argument"},
		{"FROM x\nVOLUME [\"\"]\n",
		 "Dockerfile:2: VOLUME specified can not be an empty string"},
		{"FROM x\nRUN\n", "Dockerfile:2: RUN requires at least one argument"},
		{"FROM x\nSHELL []\n", "Dockerfile:2: SHELL requires at least one argument"},
		{"FROM x\nHEALTHCHECK\n",
		 "Dockerfile:2: HEALTHCHECK requires at least one argument"},
		{"FROM x\nHEALTHCHECK NONE x\n",
		 "Dockerfile:2: HEALTHCHECK NONE takes no arguments"},
		{"FROM x\nHEALTHCHECK FOO x\n",
		 "Dockerfile:2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)"},
		{"FROM x\nHEALTHCHECK CMD\n",
		 "Dockerfile:2: Missing command after HEALTHCHECK CMD"},
		{"FROM x\nHEALTHCHECK --interval=0s CMD x\n",
		 "Dockerfile:2: Interval \"interval\" cannot be less than 1ms"},
		{"FROM x\nHEALTHCHECK --timeout=abc CMD x\n",
		 "Dockerfile:2: time: invalid duration \"abc\""},
		{"FROM x\nHEALTHCHECK --retries=0 CMD x\n",
		 "Dockerfile:2: --retries must be at least 1 (not 0)"},
		{"FROM x\nONBUILD\n", "Dockerfile:2: ONBUILD requires at least one argument"},
		{"FROM x\nONBUILD ONBUILD RUN x\n",
		 "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
		{"FROM x\nONBUILD from y\n",
		 "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"},
		{"FROM x\nONBUILD MAINTAINER me\n",
		 "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"},
		{"FROM x\nONBUILD NOPE x\n", "Dockerfile:2: unknown instruction: NOPE"},
		{"RUN x\nFROM y\n", "Dockerfile:1: no build stage in current context"},
		{"# only a comment\n\n", "Dockerfile: file with no instructions"},
		{"ARG A=1\n", "Dockerfile: no build stage in current context"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_fails(cases[i].text, cases[i].msg);
}

static void parse_limits(void **state)
{
	struct hamn_error *err = NULL;
	char nul[] = "FROM x\0RUN y\n";

	(void)state;
	assert_null(hamn_build_dockerfile_parse(nul, sizeof(nul) - 1, "Dockerfile", &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_null(hamn_build_dockerfile_parse("x", HAMN_BUILD_DOCKERFILE_MAX + 1, "Dockerfile",
						&err));
	assert_int_equal(err->errnum, EFBIG);
	hamn_error_free(&err);
	/* a BOM and CRLF line ends are fine */
	struct hamn_build_dockerfile *df = parse_ok("\xef\xbb\xbf" "FROM x\r\nRUN a \\\r\n b\r\n");
	assert_string_equal(instr_at(df, 0, 0)->args[0], "a  b");
	hamn_build_dockerfile_free(df);
}

/* ==== variable expansion ==== */

struct expand_case {
	const char *in;
	const char *out;	/* NULL: an error */
};

static char *const test_env[] = {
	"PWD=/home", "SHELL=bash", "EMPTY=", "KOREAN=\xed\x95\x9c", "SP=a b", "BARE", NULL,
};

static void expand_table(void **state)
{
	static const struct expand_case cases[] = {
		{ "hello", "hello" },
		{ "he'll'o", "hello" },
		{ "he'llo", NULL },
		{ "he\\'llo", "he'llo" },
		{ "abc\\tdef", "abctdef" },
		{ "\"abc\\tdef\"", "abc\\tdef" },
		{ "'abc\\tdef'", "abc\\tdef" },
		{ "hello\\", "hello" },
		{ "hello\\\\", "hello\\" },
		{ "\"hello", NULL },
		{ "\"hello\\\"", NULL },
		{ "\"hel'lo\"", "hel'lo" },
		{ "'hello\\'", "hello\\" },
		{ "$.", "$." },
		{ "$", "$" },
		{ "$1", "" },
		{ "he$1x", "hex" },
		{ "he$pwd.", "he." },
		{ "he$PWD", "he/home" },
		{ "he\\$PWD", "he$PWD" },
		{ "he\\\\$PWD", "he\\/home" },
		{ "\"he\\$PWD\"", "he$PWD" },
		{ "'$PWD'", "$PWD" },
		{ "\"$PWD\"", "/home" },
		{ "\"he'$PWD'\"", "he'/home'" },
		{ "${}", NULL },
		{ "\\${}", "${}" },
		{ "he${hi}xx", "hexx" },
		{ "he${PWD}", "he/home" },
		{ "he${.}", NULL },
		{ "he${PWD", NULL },
		{ "${XXX:-000}", "000" },
		{ "${PWD:-000}", "/home" },
		{ "${EMPTY:-dflt}", "dflt" },
		{ "${EMPTY-dflt}", "" },
		{ "${XXX-dflt}", "dflt" },
		{ "${BARE-dflt}", "" },
		{ "${XXX:-${PWD:-yyy}}x", "/homex" },
		{ "${XXX:-${YYY:-yyy}}", "yyy" },
		{ "${PWD:+alt}", "alt" },
		{ "${EMPTY:+alt}", "" },
		{ "${EMPTY+alt}", "alt" },
		{ "${XXX+alt}", "" },
		{ "${PWD:+${SHELL}}", "bash" },
		{ "he${XXX:YYY}", NULL },
		{ "${PWD:=000}", NULL },
		{ "${XXX:?must be set}", NULL },
		{ "${PWD:?must be set}", "/home" },
		{ "${EMPTY?x}", "" },
		{ "${aaa:-bbb}}", "bbb}" },
		{ "${aaa:-bbb {foo}", "bbb {foo" },
		{ "${aaa:-bbb ${foo}", NULL },
		{ "${:-x}", NULL },
		{ "$KOREAN!", "\xed\x95\x9c!" },
		{ "\"${SP}\"", "a b" },
		{ "a\\ b", "a b" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hamn_error *err = NULL;
		char *out = NULL;
		int r = hamn_build_expand_word(cases[i].in, test_env, '\\', &out, &err);

		if (cases[i].out == NULL) {
			if (r == 0)
				fail_msg("'%s' should fail, gave '%s'", cases[i].in, out);
			assert_int_equal(err->errnum, EINVAL);
			hamn_error_free(&err);
			continue;
		}
		if (r < 0)
			fail_msg("'%s' failed: %s", cases[i].in, err->msg);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("'%s' gave '%s', expected '%s'", cases[i].in, out, cases[i].out);
		free(out);
	}
}

static void expand_errors_worded_like_docker(void **state)
{
	struct hamn_error *err = NULL;
	char *out;

	(void)state;
	assert_int_equal(hamn_build_expand_word("${}", test_env, '\\', &out, &err), -1);
	assert_string_equal(err->msg, "syntax error: bad substitution");
	hamn_error_free(&err);
	assert_int_equal(hamn_build_expand_word("\"x", test_env, '\\', &out, &err), -1);
	assert_string_equal(err->msg, "unexpected end of statement while looking for matching "
			    "double-quote");
	hamn_error_free(&err);
	assert_int_equal(hamn_build_expand_word("${X:?}", test_env, '\\', &out, &err), -1);
	assert_string_equal(err->msg, "X: is not allowed to be unset");
	hamn_error_free(&err);
}

static void expand_words_and_backtick(void **state)
{
	struct hamn_error *err = NULL;
	char **w = NULL;
	char *out = NULL;

	(void)state;
	assert_int_equal(hamn_build_expand_words("80 $SP \"c d\" ''", test_env, '\\', &w, &err), 0);
	assert_args(w, "80", "a", "b", "c d", NULL);
	hamn_strv_free(w);
	assert_int_equal(hamn_build_expand_word("c:\\dir\\$PWD `$x", test_env, '`', &out, &err), 0);
	assert_string_equal(out, "c:\\dir\\/home $x");
	free(out);
}

/* ==== .dockerignore ==== */

struct ignore_case {
	const char *path;
	bool excluded;
};

static void ignore_read_rules(void **state)
{
	const char *text = "\xef\xbb\xbf# comment\n"
			   "  \n"
			   "/abs\n"
			   "dir/\n"
			   " ! keep.go \n"
			   "a/../b\n"
			   "  # not a comment\n"
			   "./x/./y\n";
	char **pats = hamn_build_ignore_read(text, strlen(text));

	(void)state;
	assert_args(pats, "abs", "dir", "!keep.go", "b", "# not a comment", "x/y", NULL);
	hamn_strv_free(pats);
}

static void ignore_table(void **state)
{
	const char *text = "**/*.go\n"
			   "!keep.go\n"
			   "!**/keep_all.go\n"
			   "dir/\n"
			   "/abs\n"
			   "*.md\n"
			   "!README.md\n"
			   "tmp?\n"
			   "logs/**\n"
			   "!logs/important.log\n"
			   "[ab]c\n"
			   "deep/**/x\n"
			   "esc\\*\n"
			   "node_modules\n";
	static const struct ignore_case cases[] = {
		{ "main.go", true },
		{ "src/main.go", true },
		{ "src/a/b/c.go", true },
		{ "keep.go", false },
		{ "src/keep.go", true },
		{ "src/keep_all.go", false },
		{ "keep_all.go", false },
		{ "main.c", false },
		{ "dir", true },
		{ "dir/file", true },
		{ "dir/sub/file", true },
		{ "other/dir", false },
		{ "abs", true },
		{ "abs/x", true },
		{ "x/abs", false },
		{ "notes.md", true },
		{ "README.md", false },
		{ "docs/notes.md", false },
		{ "tmp1", true },
		{ "tmp", false },
		{ "tmp12", false },
		{ "logs/a.log", true },
		{ "logs/x/y.log", true },
		{ "logs/important.log", false },
		{ "logs", false },
		{ "ac", true },
		{ "bc", true },
		{ "cc", false },
		{ "deep/x", true },
		{ "deep/a/b/x", true },
		{ "deep/a/y", false },
		{ "esc*", true },
		{ "escX", false },
		{ "node_modules/pkg/index.js", true },
		{ "Dockerfile", false },
	};
	char **pats = hamn_build_ignore_read(text, strlen(text));
	struct hamn_error *err = NULL;
	struct hamn_build_ignore *m = hamn_build_ignore_new(pats, &err);

	(void)state;
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (hamn_build_ignore_match(m, cases[i].path) != cases[i].excluded)
			fail_msg("'%s': expected %s", cases[i].path,
				 cases[i].excluded ? "excluded" : "included");
	/* docker descends into an excluded dir only for an exception that starts with it */
	assert_true(hamn_build_ignore_descend(m, "logs"));
	assert_false(hamn_build_ignore_descend(m, "dir"));
	assert_false(hamn_build_ignore_match(NULL, "x"));
	hamn_build_ignore_free(m);
	hamn_strv_free(pats);
}

static void ignore_bad_patterns(void **state)
{
	char *bang[] = { "!", NULL }, *cls[] = { "[a", NULL };
	struct hamn_error *err = NULL;

	(void)state;
	assert_null(hamn_build_ignore_new(bang, &err));
	assert_string_equal(err->msg, "illegal exclusion pattern: \"!\"");
	hamn_error_free(&err);
	assert_null(hamn_build_ignore_new(cls, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_stages_and_meta_args),
		cmocka_unit_test(parse_continuations),
		cmocka_unit_test(parse_escape_directive),
		cmocka_unit_test(parse_directives_only_at_top),
		cmocka_unit_test(parse_heredocs),
		cmocka_unit_test(parse_json_and_shell_forms),
		cmocka_unit_test(parse_env_label_arg_forms),
		cmocka_unit_test(parse_flags),
		cmocka_unit_test(parse_onbuild),
		cmocka_unit_test(parse_error_table),
		cmocka_unit_test(parse_limits),
		cmocka_unit_test(expand_table),
		cmocka_unit_test(expand_errors_worded_like_docker),
		cmocka_unit_test(expand_words_and_backtick),
		cmocka_unit_test(ignore_read_rules),
		cmocka_unit_test(ignore_table),
		cmocka_unit_test(ignore_bad_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_oci_uint64.c - the runtime spec's uint64 fields in src/oci: values up
 * to 2^64-1 (dockerd writes rlimits of 18446744073709551615 for "unlimited"),
 * -1 as RLIM_INFINITY, and EINVAL for anything beyond a field's range.
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "oci_fixtures.h"

#define U64_MAX_TEXT "18446744073709551615"
#define U64_RANGE "is out of range [0, 18446744073709551615]"

/* minimal_config with the member at path set to the JSON text value, parsed; fails on error. */
static struct hamn_oci_spec *parse_with(const char *path, const char *value)
{
	_cleanup_json_ json_t *doc = load_json(minimal_config);
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s;

	set_at(doc, path, value);
	s = hamn_oci_spec_parse(doc, &err);
	if (!s)
		fail_msg("%s = %s: %s", path, value, err->msg);
	return s;
}

/* Emit s as text (*text_out) and parse that text again, as hamn-runtime reads a bundle. */
static struct hamn_oci_spec *through_text(const struct hamn_oci_spec *s, char **text_out)
{
	_cleanup_json_ json_t *j = hamn_oci_spec_to_json(s);

	*text_out = hamn_json_dump_big(j);
	return parse_ok(*text_out);
}

static void rlimits_take_the_whole_uint64_range(void **state)
{
	_cleanup_free_ char *text = NULL;
	struct hamn_oci_spec *s, *again;
	const struct hamn_oci_rlimit *r;

	(void)state;
	/* the kernel's RLIM_INFINITY is 2^64-1: what dockerd writes for "unlimited" */
	assert_true(RLIM_INFINITY == UINT64_MAX);
	s = parse_with(
		"process.rlimits",
		"[{\"type\": \"RLIMIT_NOFILE\", \"hard\": " U64_MAX_TEXT ", \"soft\": " U64_MAX_TEXT
		"},"
		" {\"type\": \"RLIMIT_CORE\", \"soft\": 9223372036854775808,"
		"  \"hard\": 18446744073709551614},"
		" {\"type\": \"RLIMIT_CPU\", \"soft\": -1, \"hard\": -1},"
		" {\"type\": \"RLIMIT_STACK\", \"soft\": 9223372036854775807, \"hard\": -1}]");
	r = s->process->rlimits;
	assert_int_equal(s->process->n_rlimits, 4);
	assert_true(r[0].soft == RLIM_INFINITY && r[0].hard == RLIM_INFINITY);
	assert_true(r[1].soft == 1ULL << 63 && r[1].hard == UINT64_MAX - 1);
	/* -1 is RLIM_INFINITY too: the engine passes Docker's -1 through */
	assert_true(r[2].soft == RLIM_INFINITY && r[2].hard == RLIM_INFINITY);
	assert_true(r[3].soft == INT64_MAX && r[3].hard == RLIM_INFINITY);
	/* written as dockerd and runc write it, and read back the same */
	again = through_text(s, &text);
	assert_non_null(strstr(text, "\"soft\":" U64_MAX_TEXT ",\"hard\":" U64_MAX_TEXT));
	assert_non_null(strstr(text, "\"soft\":9223372036854775808,\"hard\":18446744073709551614"));
	assert_null(strstr(text, "-1"));
	assert_int_equal(again->process->n_rlimits, 4);
	assert_memory_equal(again->process->rlimits, r, 4 * sizeof(*r));
	hamn_oci_spec_free(s);
	hamn_oci_spec_free(again);
}

static void rlimits_beyond_uint64_are_einval(void **state)
{
	/* the rest of {"type": "RLIMIT_NOFILE", "soft": ...}, and the message it gets */
	const char *const bad[][2] = {
		{"1, \"hard\": 18446744073709551616", "hard: 18446744073709551616 " U64_RANGE},
		{"-2, \"hard\": 1", "soft: -2 " U64_RANGE},
		{"-9223372036854775809, \"hard\": 1", "soft: -9223372036854775809 " U64_RANGE},
		{"99999999999999999999999, \"hard\": 1",
		 "soft: 99999999999999999999999 " U64_RANGE},
		{"1, \"hard\": 1.8446744073709552e19", "hard: must be an integer"},
		{"1, \"hard\": \"" U64_MAX_TEXT "\"", "hard: must be an integer"},
		{U64_MAX_TEXT ", \"hard\": 1024", "soft: unlimited exceeds the hard limit 1024"},
		{"9223372036854775808, \"hard\": 9223372036854775807",
		 "soft: 9223372036854775808 exceeds the hard limit 9223372036854775807"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_free_ char *v =
			xasprintf("[{\"type\": \"RLIMIT_NOFILE\", \"soft\": %s}]", bad[i][0]);
		_cleanup_free_ char *want = xasprintf("process.rlimits[0].%s", bad[i][1]);

		expect_einval("process.rlimits", v, want);
	}
}

static void resources_take_uint64(void **state)
{
	_cleanup_free_ char *text = NULL;
	struct hamn_oci_spec *s, *again;
	const struct hamn_oci_resources *r;

	(void)state;
	s = parse_with("linux.resources",
		       "{\"cpu\": {\"shares\": " U64_MAX_TEXT ", \"period\": 9223372036854775808,"
		       "          \"realtimePeriod\": " U64_MAX_TEXT "},"
		       " \"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0,"
		       "                \"rate\": " U64_MAX_TEXT "}]},"
		       " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": " U64_MAX_TEXT
		       "}]}");
	r = s->linux.resources;
	assert_true(r->cpu_shares == UINT64_MAX && r->cpu_period == 1ULL << 63);
	assert_true(r->cpu_rt_period == UINT64_MAX && r->throttle_read_bps[0].rate == UINT64_MAX);
	assert_true(r->hugepage_limits[0].limit == UINT64_MAX);
	again = through_text(s, &text);
	r = again->linux.resources;
	assert_true(r->cpu_shares == UINT64_MAX && r->cpu_period == 1ULL << 63);
	assert_true(r->throttle_read_bps[0].rate == UINT64_MAX);
	assert_true(r->hugepage_limits[0].limit == UINT64_MAX);
	hamn_oci_spec_free(s);
	hamn_oci_spec_free(again);
}

static void seccomp_args_take_uint64(void **state)
{
	_cleanup_free_ char *text = NULL;
	struct hamn_oci_spec *s, *again;

	(void)state;
	s = parse_with(
		"linux.seccomp",
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
		" \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, "
		"\"value\": " U64_MAX_TEXT ", \"valueTwo\": 9223372036854775808,"
		" \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}");
	assert_true(s->linux.seccomp->rules[0].args[0].value == UINT64_MAX);
	assert_true(s->linux.seccomp->rules[0].args[0].value_two == 1ULL << 63);
	again = through_text(s, &text);
	assert_true(again->linux.seccomp->rules[0].args[0].value == UINT64_MAX);
	assert_true(again->linux.seccomp->rules[0].args[0].value_two == 1ULL << 63);
	hamn_oci_spec_free(s);
	hamn_oci_spec_free(again);
	expect_einval(
		"linux.seccomp",
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
		" \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, \"value\": -1,"
		" \"op\": \"SCMP_CMP_EQ\"}]}]}",
		"linux.seccomp.syscalls[0].args[0].value: -1 " U64_RANGE);
}

static void big_integers_elsewhere_are_einval(void **state)
{
	(void)state;
	/* int64 fields stop at 2^63-1 */
	expect_einval("linux.resources", "{\"memory\": {\"limit\": 9223372036854775808}}",
		      "linux.resources.memory.limit: 9223372036854775808 is out of range "
		      "[-1, 9223372036854775807]");
	expect_einval("linux.resources", "{\"cpu\": {\"quota\": " U64_MAX_TEXT "}}",
		      "linux.resources.cpu.quota: " U64_MAX_TEXT " is out of range");
	expect_einval("linux.resources", "{\"pids\": {\"limit\": -9223372036854775809}}",
		      "linux.resources.pids.limit: -9223372036854775809 is out of range");
	expect_einval("process.user.uid", U64_MAX_TEXT,
		      "process.user.uid: " U64_MAX_TEXT " is out of range");
	/* uint64 fields: nothing negative, nothing above 2^64-1, their own range below */
	expect_einval("linux.resources", "{\"cpu\": {\"shares\": 18446744073709551616}}",
		      "linux.resources.cpu.shares: 18446744073709551616 " U64_RANGE);
	expect_einval("linux.resources", "{\"cpu\": {\"period\": -1}}",
		      "linux.resources.cpu.period: -1 " U64_RANGE);
	expect_einval("linux.resources",
		      "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": -1}]}",
		      "linux.resources.hugepageLimits[0].limit: -1 " U64_RANGE);
	expect_einval("linux.resources", "{\"memory\": {\"swappiness\": " U64_MAX_TEXT "}}",
		      "linux.resources.memory.swappiness: " U64_MAX_TEXT
		      " is out of range [0, 100]");
	/* a big integer is never taken for a string */
	expect_einval("process.cwd", U64_MAX_TEXT, "process.cwd: must be a string");
	expect_einval("process.args", "[" U64_MAX_TEXT "]", "process.args[0]: must be a string");
	expect_einval("annotations", "{\"a\": " U64_MAX_TEXT "}",
		      "annotations.a: must be a string");
	expect_einval("linux.resources", "{\"unified\": {\"memory.max\": " U64_MAX_TEXT "}}",
		      "linux.resources.unified.memory.max: must be a string");
	/* an unknown field may hold one, as any other value */
	expect_ok("process.x-vendor", U64_MAX_TEXT);
}

/* What dockerd writes: the rlimits of 2^64-1 that jansson's plain parse refuses. */
static const char docker_config[] =
	"{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},\n"
	" \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0},\n"
	"  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 18446744073709551615,\n"
	"                \"soft\": 18446744073709551615}]}}";

static void spec_load_reads_dockerd_rlimits(void **state)
{
	char dir[] = "/tmp/test_oci_uint64.XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s;
	int dirfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_int_equal(hamn_write_atomic(dirfd, "config.json", docker_config,
					   strlen(docker_config), 0600, &err),
			 0);
	s = hamn_oci_spec_load(dir, &err);
	if (!s)
		fail_msg("load: %s", err->msg);
	assert_true(s->process->rlimits[0].soft == RLIM_INFINITY);
	assert_true(s->process->rlimits[0].hard == RLIM_INFINITY);
	hamn_oci_spec_free(s);
	path = xasprintf("%s/config.json", dir);
	assert_int_equal(unlink(path), 0);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

static void process_parse_takes_uint64(void **state)
{
	/* exec --process from dockerd carries the container's rlimits */
	_cleanup_json_ json_t *doc =
		load_json("{\"args\": [\"ls\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": "
			  "\"RLIMIT_CORE\", \"soft\": 0, \"hard\": " U64_MAX_TEXT "}]}");
	struct hamn_error *err = NULL;
	struct hamn_oci_process *p;

	(void)state;
	p = hamn_oci_process_parse(doc, &err);
	if (!p)
		fail_msg("process: %s", err->msg);
	assert_true(p->rlimits[0].soft == 0 && p->rlimits[0].hard == RLIM_INFINITY);
	hamn_oci_process_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rlimits_take_the_whole_uint64_range),
		cmocka_unit_test(rlimits_beyond_uint64_are_einval),
		cmocka_unit_test(resources_take_uint64),
		cmocka_unit_test(seccomp_args_take_uint64),
		cmocka_unit_test(big_integers_elsewhere_are_einval),
		cmocka_unit_test(spec_load_reads_dockerd_rlimits),
		cmocka_unit_test(process_parse_takes_uint64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

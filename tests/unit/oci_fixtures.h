/*
 * oci_fixtures.h - configs and helpers shared by test_oci.c and
 * test_oci_hostile.c. Included once per test program.
 */
#ifndef HAMN_TEST_OCI_FIXTURES_H
#define HAMN_TEST_OCI_FIXTURES_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "oci/oci.h"

/* A config that uses every field hamn models. */
static const char rich_config[] =
	"{"
	"\"ociVersion\": \"1.0.2\","
	"\"process\": {"
	"  \"terminal\": true,"
	"  \"consoleSize\": {\"height\": 24, \"width\": 80},"
	"  \"user\": {\"uid\": 1000, \"gid\": 1001, \"umask\": 18,"
	"            \"additionalGids\": [5, 6, 4294967294], \"username\": \"bob\"},"
	"  \"args\": [\"/bin/sh\", \"-c\", \"echo hi\"],"
	"  \"env\": [\"PATH=/bin\", \"EMPTY=\", \"X=a=b\"],"
	"  \"cwd\": \"/home/bob\","
	"  \"capabilities\": {"
	"    \"bounding\": [\"CAP_CHOWN\", \"kill\", \"Cap_Sys_Admin\", "
	"\"CAP_CHECKPOINT_RESTORE\"],"
	"    \"effective\": [\"CAP_CHOWN\"],"
	"    \"inheritable\": [],"
	"    \"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\"],"
	"    \"ambient\": [\"CAP_NET_RAW\"]},"
	"  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096},"
	"              {\"type\": \"RLIMIT_CORE\", \"soft\": 0, \"hard\": 0},"
	"              {\"type\": \"RLIMIT_MEMLOCK\", \"soft\": -1, \"hard\": -1}],"
	"  \"noNewPrivileges\": true,"
	"  \"oomScoreAdj\": -500,"
	"  \"apparmorProfile\": \"hamn-default\","
	"  \"selinuxLabel\": \"system_u:system_r:container_t:s0\","
	"  \"unknownField\": {\"ignored\": [1, 2]}"
	"},"
	"\"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	"\"hostname\": \"box\","
	"\"domainname\": \"example.org\","
	"\"mounts\": ["
	"  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\","
	"   \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"
	"  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
	"   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"
	"  {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv/data\","
	"   \"options\": [\"rbind\", \"ro\", \"rslave\"]},"
	"  {\"destination\": \"/empty\", \"type\": \"tmpfs\", \"options\": []}"
	"],"
	"\"hooks\": {"
	"  \"prestart\": [{\"path\": \"/usr/bin/hook\", \"args\": [\"hook\", \"pre\"],"
	"                \"env\": [\"A=1\"], \"timeout\": 5}],"
	"  \"createRuntime\": [{\"path\": \"/bin/true\"}],"
	"  \"poststop\": [{\"path\": \"/bin/false\", \"args\": [\"false\"]}]"
	"},"
	"\"annotations\": {\"org.example.key\": \"value\", \"empty\": \"\"},"
	"\"linux\": {"
	"  \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": "
	"\"/run/netns/x\"},"
	"                 {\"type\": \"mount\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"},"
	"                 {\"type\": \"user\"}, {\"type\": \"cgroup\"}],"
	"  \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
	"  \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536},"
	"                  {\"containerID\": 65536, \"hostID\": 5, \"size\": 1}],"
	"  \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229,"
	"                \"fileMode\": 438, \"uid\": 0, \"gid\": 0},"
	"               {\"path\": \"/dev/sda\", \"type\": \"b\", \"major\": 8, \"minor\": 0},"
	"               {\"path\": \"/dev/fifo\", \"type\": \"p\"}],"
	"  \"cgroupsPath\": \"/hamn/abc\","
	"  \"resources\": {"
	"    \"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
	"                 {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, "
	"\"access\": \"mwr\"},"
	"                 {\"allow\": true, \"type\": \"c\", \"major\": 136, \"access\": \"rw\"},"
	"                 {\"allow\": true, \"type\": \"b\"}],"
	"    \"memory\": {\"limit\": 536870912, \"reservation\": 1048576, \"swap\": -1,"
	"               \"kernel\": 0, \"swappiness\": 60, \"disableOOMKiller\": true},"
	"    \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000,"
	"            \"realtimeRuntime\": 950000, \"realtimePeriod\": 1000000,"
	"            \"cpus\": \"0-1,3\", \"mems\": \"0\"},"
	"    \"pids\": {\"limit\": 2048},"
	"    \"blockIO\": {\"weight\": 500, \"leafWeight\": 300,"
	"                \"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 100},"
	"                                  {\"major\": 8, \"minor\": 16, \"leafWeight\": 50}],"
	"                \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": "
	"1048576}],"
	"                \"throttleWriteBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 2}],"
	"                \"throttleReadIOPSDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 3}],"
	"                \"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 4}]},"
	"    \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 209715200}],"
	"    \"unified\": {\"memory.high\": \"400000000\", \"io.max\": \"8:0 rbps=1024\"}"
	"  },"
	"  \"sysctl\": {\"net.ipv4.ip_forward\": \"1\", \"kernel.shmmax\": \"68719476736\","
	"             \"net/ipv4/ip_local_port_range\": \"1024 65000\"},"
	"  \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,"
	"              \"architectures\": [\"SCMP_ARCH_X86_64\"],"
	"              \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": "
	"\"SCMP_ACT_ALLOW\"},"
	"                           {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
	"                            \"args\": [{\"index\": 0, \"value\": 8, \"op\": "
	"\"SCMP_CMP_EQ\"}]}]},"
	"  \"rootfsPropagation\": \"rslave\","
	"  \"maskedPaths\": [\"/proc/kcore\", \"/sys/firmware\"],"
	"  \"readonlyPaths\": [\"/proc/sys\"],"
	"  \"mountLabel\": \"system_u:object_r:container_file_t:s0\""
	"}"
	"}";

/* A small valid config that the error cases change one field of. */
static const char minimal_config[] =
	"{"
	"\"ociVersion\": \"1.0.2\","
	"\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}},"
	"\"root\": {\"path\": \"rootfs\"},"
	"\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}]}"
	"}";

/* Parse text as the runtime parses config.json: with big integers (uint64 fields). */
static inline json_t *load_json(const char *text)
{
	struct hamn_error *err = NULL;
	json_t *doc = hamn_json_parse_big(text, strlen(text), &err);

	if (!doc)
		fail_msg("bad test JSON: %s", err->msg);
	return doc;
}

static inline struct hamn_oci_spec *parse_text(const char *text, struct hamn_error **err)
{
	_cleanup_json_ json_t *doc = load_json(text);

	return hamn_oci_spec_parse(doc, err);
}

static inline struct hamn_oci_spec *parse_ok(const char *text)
{
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s = parse_text(text, &err);

	if (!s)
		fail_msg("parse failed: %s", err->msg);
	return s;
}

/*
 * Set the member at a dotted path ("linux.sysctl") of doc to the JSON value
 * in text, creating objects on the way; "=" as text removes the member.
 */
static inline void set_at(json_t *doc, const char *path, const char *text)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *key = copy, *dot;
	json_t *obj = doc;

	while ((dot = strchr(key, '.')) != NULL) {
		json_t *next;

		*dot = '\0';
		next = json_object_get(obj, key);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(obj, key, next);
		}
		obj = next;
		key = dot + 1;
	}
	if (strcmp(text, "=") == 0)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, load_json(text));
}

/*
 * Parse minimal_config changed by the (path, value) pairs that follow want
 * (NULL-terminated); expect EINVAL with want in the message.
 */
static inline void expect_einvalv(const char *want, ...)
{
	_cleanup_json_ json_t *doc = load_json(minimal_config);
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s;
	const char *path, *first = "(none)";
	va_list ap;

	va_start(ap, want);
	while ((path = va_arg(ap, const char *)) != NULL) {
		set_at(doc, path, va_arg(ap, const char *));
		first = path;
	}
	va_end(ap);
	s = hamn_oci_spec_parse(doc, &err);
	if (s) {
		hamn_oci_spec_free(s);
		fail_msg("%s: parsed, expected an error with '%s'", first, want);
	}
	assert_int_equal(err->errnum, EINVAL);
	if (!strstr(err->msg, want))
		fail_msg("%s: message '%s' lacks '%s'", first, err->msg, want);
	if (!str_has_prefix(err->msg, "config.json: "))
		fail_msg("message '%s' does not start with 'config.json: '", err->msg);
	hamn_error_free(&err);
}

static inline void expect_einval(const char *path, const char *value, const char *want)
{
	if (path)
		expect_einvalv(want, path, value, NULL);
	else
		expect_einvalv(want, NULL);
}

static inline void expect_ok(const char *path, const char *value)
{
	_cleanup_json_ json_t *doc = load_json(minimal_config);
	struct hamn_error *err = NULL;
	struct hamn_oci_spec *s;

	set_at(doc, path, value);
	s = hamn_oci_spec_parse(doc, &err);
	if (!s)
		fail_msg("%s = %s: %s", path, value, err->msg);
	hamn_oci_spec_free(s);
}

#endif

/*
 * test_seccomp.c - linux.seccomp parsing and emitting, the Docker profile
 * conversion, the default profile, and live filters compiled with
 * libseccomp and loaded in a forked child.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif

#include "base/syscalls.h"
#include "oci/oci.h"
#include "runtime/seccomp_bpf.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_SESSION_KEYRING ((unsigned long)-3)

/* ---- helpers ---- */

/* Test JSON is written with ' for " (no JSON here has an apostrophe). */
static json_t *load(const char *text)
{
	_cleanup_free_ char *t = xstrdup(text);
	json_error_t jerr;
	json_t *j;

	for (char *c = t; *c; c++)
		if (*c == '\'')
			*c = '"';
	j = json_loads(t, JSON_DECODE_ANY, &jerr);
	if (!j)
		fail_msg("bad test JSON: %s: %s", jerr.text, t);
	return j;
}

static struct hamn_oci_seccomp *parse_text(const char *text, struct hamn_error **err)
{
	_cleanup_json_ json_t *j = load(text);

	return hamn_oci_seccomp_parse(j, err);
}

static bool has_name(const struct hamn_oci_seccomp_rule *r, const char *name)
{
	return strv_contains(r->names, name);
}

/* Rules that name the syscall with this action; *conditional counts those with args. */
static int count_rules(const struct hamn_oci_seccomp *s, const char *name,
		       enum hamn_seccomp_action action, int *conditional)
{
	int n = 0;

	if (conditional)
		*conditional = 0;
	for (size_t i = 0; i < s->n_rules; i++) {
		if (s->rules[i].action != action || !has_name(&s->rules[i], name))
			continue;
		n++;
		if (conditional && s->rules[i].n_args > 0)
			(*conditional)++;
	}
	return n;
}

/* Is the syscall allowed without conditions? */
static bool allowed(const struct hamn_oci_seccomp *s, const char *name)
{
	int cond = 0;
	int n = count_rules(s, name, HAMN_SCMP_ACT_ALLOW, &cond);

	return n > cond;
}

/* The default profile converted for caps on a machine, parsed back into the OCI model. */
static struct hamn_oci_seccomp *default_for(uint64_t caps, const char *machine, const char *rel)
{
	_cleanup_json_ json_t *profile = hamn_oci_seccomp_default_profile();
	_cleanup_json_ json_t *oci = NULL;
	struct hamn_error *err = NULL;
	struct hamn_oci_seccomp *s;

	assert_non_null(profile);
	oci = hamn_oci_seccomp_from_docker_profile_on(profile, caps, machine, rel, &err);
	if (!oci)
		fail_msg("convert: %s", err->msg);
	s = hamn_oci_seccomp_parse(oci, &err);
	if (!s)
		fail_msg("parse converted profile: %s", err->msg);
	return s;
}

#define CAP(n) (1ULL << (n))

/* ---- parse / emit ---- */

static const char *full_config =
	"{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,"
	" 'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],"
	" 'flags': ['SECCOMP_FILTER_FLAG_LOG'],"
	" 'syscalls': ["
	"  {'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'},"
	"  {'names': ['getcwd'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 42},"
	"  {'names': ['clone'], 'action': 'SCMP_ACT_ALLOW', 'args': ["
	"    {'index': 0, 'value': 2114060288, 'valueTwo': 0, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
	"  {'names': ['socket'], 'action': 'SCMP_ACT_ALLOW', 'args': ["
	"    {'index': 0, 'value': 40, 'op': 'SCMP_CMP_NE'},"
	"    {'index': 1, 'value': 3, 'valueTwo': 7, 'op': 'SCMP_CMP_GE'}]},"
	"  {'names': ['kill'], 'action': 'SCMP_ACT_KILL_PROCESS'},"
	"  {'names': ['ptrace'], 'action': 'SCMP_ACT_TRACE', 'errnoRet': 5},"
	"  {'names': ['a'], 'action': 'SCMP_ACT_KILL'},"
	"  {'names': ['b'], 'action': 'SCMP_ACT_TRAP'},"
	"  {'names': ['c'], 'action': 'SCMP_ACT_LOG'},"
	"  {'names': ['d'], 'action': 'SCMP_ACT_NOTIFY'}"
	"]}";

static void parse_fields(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;
	struct hamn_error *err = NULL;

	(void)state;
	s = parse_text(full_config, &err);
	assert_null(err);
	assert_non_null(s);
	assert_int_equal(s->default_action, HAMN_SCMP_ACT_ERRNO);
	assert_true(s->has_default_errno_ret);
	assert_int_equal(s->default_errno_ret, 1);
	assert_int_equal(strv_len(s->architectures), 2);
	assert_string_equal(s->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	assert_int_equal(s->n_rules, 10);
	assert_string_equal(s->rules[0].names[1], "write");
	assert_true(s->rules[1].has_errno_ret);
	assert_int_equal(s->rules[1].errno_ret, 42);
	assert_int_equal(s->rules[2].args[0].op, HAMN_SCMP_CMP_MASKED_EQ);
	assert_int_equal(s->rules[2].args[0].value, 0x7E020000);
	assert_int_equal(s->rules[3].n_args, 2);
	assert_int_equal(s->rules[3].args[1].index, 1);
	assert_int_equal(s->rules[3].args[1].value_two, 7);
	assert_int_equal(s->rules[4].action, HAMN_SCMP_ACT_KILL_PROCESS);
	assert_int_equal(s->rules[9].action, HAMN_SCMP_ACT_NOTIFY);
}

static void round_trip(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL, *s2 = NULL;
	_cleanup_json_ json_t *orig = load(full_config), *emitted = NULL, *emitted2 = NULL;
	struct hamn_error *err = NULL;

	(void)state;
	s = hamn_oci_seccomp_parse(orig, &err);
	assert_non_null(s);
	emitted = hamn_oci_seccomp_to_json(s);
	/* The input is written in the canonical form, so emitting gives it back. */
	assert_true(json_equal(orig, emitted));
	s2 = hamn_oci_seccomp_parse(emitted, &err);
	assert_non_null(s2);
	emitted2 = hamn_oci_seccomp_to_json(s2);
	assert_true(json_equal(emitted, emitted2));
}

static void minimal_round_trip(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;
	_cleanup_json_ json_t *orig = load("{'defaultAction': 'SCMP_ACT_ALLOW'}");
	_cleanup_json_ json_t *emitted = NULL;
	struct hamn_error *err = NULL;

	(void)state;
	s = hamn_oci_seccomp_parse(orig, &err);
	assert_non_null(s);
	assert_null(s->architectures);
	assert_int_equal(s->n_rules, 0);
	emitted = hamn_oci_seccomp_to_json(s);
	assert_true(json_equal(orig, emitted));
}

static const struct {
	const char *json;
	const char *msg;
} bad_configs[] = {
	{ "[]", "linux.seccomp: must be an object" },
	{ "'x'", "linux.seccomp: must be an object" },
	{ "{}", "linux.seccomp.defaultAction: required" },
	{ "{'defaultAction': 3}", "linux.seccomp.defaultAction: must be a string" },
	{ "{'defaultAction': 'SCMP_ACT_NOPE'}", "unknown action 'SCMP_ACT_NOPE'" },
	{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': -1}",
	  "linux.seccomp.defaultErrnoRet" },
	{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 70000}",
	  "linux.seccomp.defaultErrnoRet" },
	{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1.5}",
	  "linux.seccomp.defaultErrnoRet" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_Z80']}",
	  "linux.seccomp.architectures: unknown architecture 'SCMP_ARCH_Z80'" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': 'SCMP_ARCH_X86'}",
	  "linux.seccomp.architectures: must be an array" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': [1]}",
	  "linux.seccomp.architectures[0]: must be a string" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'flags': ['SECCOMP_FILTER_FLAG_X']}",
	  "linux.seccomp.flags: unknown flag" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': {}}",
	  "linux.seccomp.syscalls: must be an array" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [1]}",
	  "linux.seccomp.syscalls[0]: must be an object" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'action': 'SCMP_ACT_ERRNO'}]}",
	  "linux.seccomp.syscalls[0].names: must be a non-empty array" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': [],"
	  " 'action': 'SCMP_ACT_ERRNO'}]}",
	  "linux.seccomp.syscalls[0].names: must be a non-empty array" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': [''],"
	  " 'action': 'SCMP_ACT_ERRNO'}]}",
	  "linux.seccomp.syscalls[0].names: empty syscall name" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': 'read',"
	  " 'action': 'SCMP_ACT_ERRNO'}]}",
	  "linux.seccomp.syscalls[0].names: must be an array" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
	  "{'names': ['read'], 'action': 'SCMP_ACT_ERRNO'},"
	  "{'names': ['read'], 'action': 'SCMP_ACT_ERRNO'},"
	  "{'names': ['read'], 'action': 'SCMP_ACT_ERRNO'},"
	  "{'names': ['read'], 'action': 'X'}]}",
	  "linux.seccomp.syscalls[3].action: unknown action 'X'" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read']}]}",
	  "linux.seccomp.syscalls[0].action: required" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'errnoRet': '1'}]}",
	  "linux.seccomp.syscalls[0].errnoRet: must be an integer" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': {}}]}",
	  "linux.seccomp.syscalls[0].args: must be an array" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [null]}]}",
	  "linux.seccomp.syscalls[0].args[0]: must be an object" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 6, 'value': 1,"
	  " 'op': 'SCMP_CMP_EQ'}]}]}",
	  "linux.seccomp.syscalls[0].args[0].index" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'value': -1,"
	  " 'op': 'SCMP_CMP_EQ'}]}]}",
	  "linux.seccomp.syscalls[0].args[0].value" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'op': 'SCMP_CMP_EQ'}]}]}",
	  "linux.seccomp.syscalls[0].args[0].value: required" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'value': 1,"
	  " 'op': 'SCMP_CMP_ALMOST'}]}]}",
	  "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_ALMOST'" },
	{ "{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': '0', 'value': 1,"
	  " 'op': 'SCMP_CMP_EQ'}]}]}",
	  "linux.seccomp.syscalls[0].args[0].index: must be an integer" },
};

static void parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		struct hamn_error *err = NULL;
		struct hamn_oci_seccomp *s = parse_text(bad_configs[i].json, &err);

		if (s || !err)
			fail_msg("accepted: %s", bad_configs[i].json);
		assert_int_equal(err->errnum, EINVAL);
		if (!strstr(err->msg, bad_configs[i].msg))
			fail_msg("message '%s' lacks '%s'", err->msg, bad_configs[i].msg);
		hamn_error_free(&err);
	}
}

static void parse_null_is_einval(void **state)
{
	struct hamn_error *err = NULL;

	(void)state;
	assert_null(hamn_oci_seccomp_parse(NULL, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

/* ---- the default profile and the Docker conversion ---- */

static const char *const blocked[] = {
	"mount", "umount2", "unshare", "setns", "pivot_root", "keyctl", "add_key", "request_key",
	"kexec_load", "kexec_file_load", "open_by_handle_at", "init_module", "finit_module",
	"delete_module", "reboot", "swapon", "swapoff", "userfaultfd", "bpf", "perf_event_open",
	"move_mount", "fsopen", "fsmount", "open_tree", "mount_setattr", "quotactl", "acct",
	"settimeofday", "clock_settime", "syslog", "iopl", "ioperm", "vm86", "uselib", "_sysctl",
	"ustat", "sysfs", "nfsservctl", "lookup_dcookie", "create_module", "get_kernel_syms",
	"query_module", "io_uring_setup", "io_uring_enter", "io_uring_register", "chroot",
	"vhangup", "clone", "clone3", "socket", "personality", "ptrace",
};

static void default_profile_shape(void **state)
{
	_cleanup_json_ json_t *p = hamn_oci_seccomp_default_profile();
	_cleanup_json_ json_t *p2 = hamn_oci_seccomp_default_profile();
	json_t *first, *names, *v;
	size_t i;

	(void)state;
	assert_non_null(p);
	/* A new reference to a private copy each time. */
	assert_ptr_not_equal(p, p2);
	assert_true(json_equal(p, p2));
	assert_string_equal(json_string_value(json_object_get(p, "defaultAction")),
			    "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), 1);
	first = json_array_get(json_object_get(p, "syscalls"), 0);
	assert_null(json_object_get(first, "includes"));
	assert_null(json_object_get(first, "excludes"));
	assert_null(json_object_get(first, "args"));
	names = json_object_get(first, "names");
	assert_int_equal(json_array_size(names), 361);
	json_array_foreach(names, i, v) {
		const char *n = json_string_value(v);

		for (size_t j = 0; j < sizeof(blocked) / sizeof(blocked[0]); j++)
			if (streq(n, blocked[j]))
				fail_msg("'%s' is in the unconditional allow list", n);
		assert_false(str_has_prefix(n, "io_uring"));
	}
}

static void default_caps_x86_64(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;
	int cond = 0;

	(void)state;
	s = default_for(HAMN_OCI_DEFAULT_CAPS, "x86_64", "6.1.0-18-amd64");
	assert_int_equal(s->default_action, HAMN_SCMP_ACT_ERRNO);
	assert_int_equal(s->default_errno_ret, 1);
	assert_int_equal(strv_len(s->architectures), 3);
	assert_string_equal(s->architectures[0], "SCMP_ARCH_X86_64");
	assert_string_equal(s->architectures[1], "SCMP_ARCH_X86");
	assert_string_equal(s->architectures[2], "SCMP_ARCH_X32");
	assert_true(allowed(s, "read"));
	assert_true(allowed(s, "write"));
	assert_true(allowed(s, "execve"));
	assert_true(allowed(s, "arch_prctl"));
	assert_true(allowed(s, "modify_ldt"));
	assert_true(allowed(s, "chroot"));	/* CAP_SYS_CHROOT is a default cap */
	assert_true(allowed(s, "ptrace"));	/* minKernel 4.8 */
	assert_false(allowed(s, "cacheflush"));
	for (const char *const *n = (const char *const[]){ "mount", "umount2", "unshare", "setns",
			"keyctl", "reboot", "bpf", "open_by_handle_at", "init_module",
			"settimeofday", "syslog", "iopl", "io_uring_setup", NULL }; *n; n++)
		if (count_rules(s, *n, HAMN_SCMP_ACT_ALLOW, NULL) != 0)
			fail_msg("'%s' is allowed with the default caps", *n);
	/* clone: only without CLONE_NEW* flags */
	assert_int_equal(count_rules(s, "clone", HAMN_SCMP_ACT_ALLOW, &cond), 1);
	assert_int_equal(cond, 1);
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct hamn_oci_seccomp_rule *r = &s->rules[i];

		if (!has_name(r, "clone"))
			continue;
		assert_int_equal(r->n_args, 1);
		assert_int_equal(r->args[0].index, 0);
		assert_int_equal(r->args[0].op, HAMN_SCMP_CMP_MASKED_EQ);
		assert_int_equal(r->args[0].value, 0x7E020000);
		assert_int_equal(r->args[0].value_two, 0);
	}
	/* clone3: ENOSYS so that libc falls back to clone */
	assert_int_equal(count_rules(s, "clone3", HAMN_SCMP_ACT_ALLOW, NULL), 0);
	assert_int_equal(count_rules(s, "clone3", HAMN_SCMP_ACT_ERRNO, NULL), 1);
	/* socket: all but AF_VSOCK */
	assert_int_equal(count_rules(s, "socket", HAMN_SCMP_ACT_ALLOW, &cond), 1);
	assert_int_equal(cond, 1);
	assert_int_equal(count_rules(s, "personality", HAMN_SCMP_ACT_ALLOW, &cond), 5);
	assert_int_equal(cond, 5);
}

static void clone3_rule_is_enosys(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;

	(void)state;
	s = default_for(HAMN_OCI_DEFAULT_CAPS, "x86_64", "6.1.0");
	for (size_t i = 0; i < s->n_rules; i++) {
		if (!has_name(&s->rules[i], "clone3"))
			continue;
		assert_true(s->rules[i].has_errno_ret);
		assert_int_equal(s->rules[i].errno_ret, ENOSYS);
	}
}

static void sys_admin_allows_mount(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;

	(void)state;
	s = default_for(HAMN_OCI_DEFAULT_CAPS | CAP(CAP_SYS_ADMIN), "x86_64", "6.1.0");
	assert_true(allowed(s, "mount"));
	assert_true(allowed(s, "unshare"));
	assert_true(allowed(s, "setns"));
	assert_true(allowed(s, "clone"));
	assert_true(allowed(s, "clone3"));
	assert_int_equal(count_rules(s, "clone3", HAMN_SCMP_ACT_ERRNO, NULL), 0);
	/* no conditional clone rule left */
	for (size_t i = 0; i < s->n_rules; i++)
		if (has_name(&s->rules[i], "clone"))
			assert_int_equal(s->rules[i].n_args, 0);
	/* SYS_ADMIN alone does not open keyctl or reboot */
	assert_int_equal(count_rules(s, "keyctl", HAMN_SCMP_ACT_ALLOW, NULL), 0);
	assert_int_equal(count_rules(s, "reboot", HAMN_SCMP_ACT_ALLOW, NULL), 0);
}

static void other_caps_open_their_groups(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL, *none = NULL;

	(void)state;
	s = default_for(CAP(CAP_SYS_BOOT) | CAP(CAP_SYS_MODULE) | CAP(CAP_SYS_TIME) |
				CAP(CAP_DAC_READ_SEARCH) | CAP(CAP_SYS_PTRACE),
			"x86_64", "6.1.0");
	assert_true(allowed(s, "reboot"));
	assert_true(allowed(s, "finit_module"));
	assert_true(allowed(s, "clock_settime"));
	assert_true(allowed(s, "open_by_handle_at"));
	assert_true(allowed(s, "kcmp"));
	assert_false(allowed(s, "chroot"));	/* CAP_SYS_CHROOT not given */
	assert_false(allowed(s, "mount"));
	none = default_for(0, "x86_64", "6.1.0");
	assert_false(allowed(none, "chroot"));
	assert_false(allowed(none, "kcmp"));
	assert_true(allowed(none, "read"));
}

static void arch_and_kernel_conditions(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *arm = NULL, *s390 = NULL, *old = NULL;
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *odd = NULL;

	(void)state;
	arm = default_for(HAMN_OCI_DEFAULT_CAPS, "aarch64", "6.1.0");
	assert_int_equal(strv_len(arm->architectures), 2);
	assert_string_equal(arm->architectures[0], "SCMP_ARCH_AARCH64");
	assert_string_equal(arm->architectures[1], "SCMP_ARCH_ARM");
	assert_false(allowed(arm, "arch_prctl"));
	assert_false(allowed(arm, "modify_ldt"));
	assert_true(allowed(arm, "cacheflush"));

	/* s390: clone's flags are its second argument */
	s390 = default_for(HAMN_OCI_DEFAULT_CAPS, "s390x", "6.1.0");
	assert_string_equal(s390->architectures[1], "SCMP_ARCH_S390");
	for (size_t i = 0; i < s390->n_rules; i++)
		if (has_name(&s390->rules[i], "clone"))
			assert_int_equal(s390->rules[i].args[0].index, 1);
	assert_true(allowed(s390, "s390_runtime_instr"));

	old = default_for(HAMN_OCI_DEFAULT_CAPS, "x86_64", "4.4.0-generic");
	assert_false(allowed(old, "ptrace"));
	assert_false(allowed(old, "process_vm_readv"));

	/* An unknown machine: no architectures, arch-specific rules left out. */
	odd = default_for(HAMN_OCI_DEFAULT_CAPS, "vax", "6.1.0");
	assert_null(odd->architectures);
	assert_false(allowed(odd, "arch_prctl"));
	assert_true(allowed(odd, "read"));
}

static void docker_profile_errors(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} bad[] = {
		/* checked even though it only applies on s390 */
		{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['x'],"
		  " 'action': 'SCMP_ACT_BOGUS', 'includes': {'arches': ['s390x']}}]}",
		  "seccomp profile.syscalls[0].action: unknown action 'SCMP_ACT_BOGUS'" },
		{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['x'],"
		  " 'action': 'SCMP_ACT_ALLOW', 'includes': {'minKernel': 'four'}}]}",
		  "minKernel: invalid kernel version 'four'" },
		{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['x'],"
		  " 'action': 'SCMP_ACT_ALLOW', 'includes': {'caps': 'CAP_SYS_ADMIN'}}]}",
		  "seccomp profile.syscalls[0].includes.caps: must be an array" },
		{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['x'],"
		  " 'action': 'SCMP_ACT_ALLOW', 'excludes': []}]}",
		  "seccomp profile.syscalls[0].excludes: must be an object" },
		{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'archMap': [{'architecture':"
		  " 'SCMP_ARCH_PDP11'}]}",
		  "seccomp profile.archMap[0].architecture: unknown architecture" },
		{ "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'name': 'x',"
		  " 'names': ['y'], 'action': 'SCMP_ACT_ALLOW'}]}",
		  "'name' and 'names' are both set" },
		{ "42", "seccomp profile: must be an object" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_json_ json_t *p = load(bad[i].json);
		struct hamn_error *err = NULL;
		json_t *out = hamn_oci_seccomp_from_docker_profile_on(p, 0, "x86_64", "6.1", &err);

		if (out || !err)
			fail_msg("accepted: %s", bad[i].json);
		assert_int_equal(err->errnum, EINVAL);
		if (!strstr(err->msg, bad[i].msg))
			fail_msg("message '%s' lacks '%s'", err->msg, bad[i].msg);
		hamn_error_free(&err);
	}
}

static void docker_legacy_forms(void **state)
{
	_cleanup_json_ json_t *p = load(
		"{'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': ['SCMP_ARCH_X86'],"
		" 'syscalls': [{'name': 'read', 'action': 'SCMP_ACT_ALLOW',"
		" 'comment': 'ignored', 'includes': {}, 'excludes': {}}]}");
	_cleanup_json_ json_t *out = NULL;
	_cleanup_json_ json_t *want = load(
		"{'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': ['SCMP_ARCH_X86'],"
		" 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'}]}");
	struct hamn_error *err = NULL;

	(void)state;
	out = hamn_oci_seccomp_from_docker_profile_on(p, 0, "x86_64", "6.1", &err);
	assert_non_null(out);
	assert_true(json_equal(out, want));
}

static void docker_profile_this_host(void **state)
{
	_cleanup_json_ json_t *p = hamn_oci_seccomp_default_profile();
	_cleanup_json_ json_t *out = NULL;
	struct hamn_error *err = NULL;

	(void)state;
	out = hamn_oci_seccomp_from_docker_profile(p, HAMN_OCI_DEFAULT_CAPS, &err);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "defaultAction")),
			    "SCMP_ACT_ERRNO");
}

/* ---- compiling ---- */

static struct hamn_seccomp_prog *compile_text(const char *text)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;
	struct hamn_seccomp_prog *p = NULL;
	struct hamn_error *err = NULL;

	s = parse_text(text, &err);
	if (!s)
		fail_msg("parse: %s", err->msg);
	if (hamn_seccomp_compile(s, &p, &err) < 0)
		fail_msg("compile: %s", err->msg);
	return p;
}

static void compile_errors(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;
	struct hamn_seccomp_prog *p = NULL;
	struct hamn_error *err = NULL;

	(void)state;
	s = parse_text("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': "
		       "['read'], 'action': 'SCMP_ACT_NOTIFY'}]}", &err);
	assert_non_null(s);
	assert_int_equal(hamn_seccomp_compile(s, &p, &err), -1);
	assert_null(p);
	assert_int_equal(err->errnum, EOPNOTSUPP);
	assert_non_null(strstr(err->msg, "syscalls[0]"));
	hamn_error_free(&err);
}

static void compile_skips_unknown_and_default(void **state)
{
	struct hamn_seccomp_prog *p;

	(void)state;
	/* unknown names, a rule equal to the default, repeated args on one index */
	p = compile_text("{'defaultAction': 'SCMP_ACT_ERRNO', 'architectures':"
			 " ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32',"
			 " 'SCMP_ARCH_LOONGARCH64'], 'syscalls': ["
			 "{'names': ['read', 'no_such_syscall'], 'action': 'SCMP_ACT_ALLOW'},"
			 "{'names': ['write'], 'action': 'SCMP_ACT_ERRNO'},"
			 "{'names': ['personality'], 'action': 'SCMP_ACT_ALLOW', 'args': ["
			 "{'index': 0, 'value': 0, 'op': 'SCMP_CMP_EQ'},"
			 "{'index': 0, 'value': 8, 'op': 'SCMP_CMP_EQ'}]}]}");
	hamn_seccomp_prog_free(p);
}

static void compile_default_every_cap(void **state)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;
	struct hamn_seccomp_prog *p = NULL;
	struct hamn_error *err = NULL;

	(void)state;
	/* every conditional group at once, duplicates included (syslog, bpf, ptrace) */
	s = default_for(~0ULL, "x86_64", "6.1.0");
	if (hamn_seccomp_compile(s, &p, &err) < 0)
		fail_msg("compile: %s", err->msg);
	hamn_seccomp_prog_free(p);
}

/* ---- live: load in a forked child ---- */

#define N_RESULTS 16

/* errno of a failed call, 0 on success */
static int result_of(long rc)
{
	return rc < 0 ? errno : 0;
}

typedef void (*checks_fn)(int *res);

/*
 * Valgrind runs the client's syscalls itself, and cannot live under a
 * seccomp filter (nor does it know seccomp(2)): under it the live tests
 * compile and free their filter but do not load it.
 */
static bool under_valgrind(void)
{
#if __has_include(<valgrind/valgrind.h>)
	return RUNNING_ON_VALGRIND;
#else
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "vgpreload");
#endif
}

/*
 * Fork; the child sets no_new_privs, installs p and runs checks, which fill
 * res[1..] with errnos; res[0] is hamn_seccomp_load()'s result. Only
 * allowed syscalls may be used in the child after the load: write and
 * exit_group. Frees p (so that a failed assertion leaks nothing). Returns
 * false when the test should be skipped.
 */
static bool run_in_child(struct hamn_seccomp_prog *p, checks_fn checks, int *res)
{
	int fds[2] = { -1, -1 }, status = -1;
	ssize_t n = -1;
	pid_t pid = -1;

	memset(res, 0xff, N_RESULTS * sizeof(int));
	if (under_valgrind()) {
		hamn_seccomp_prog_free(p);
		return false;
	}
	if (pipe2(fds, O_CLOEXEC) == 0)
		pid = fork();
	if (pid == 0) {
		int out[N_RESULTS] = { 0 };

		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(2);
		out[0] = hamn_seccomp_load(p);
		if (out[0] == 0)
			checks(out + 1);
		if (write(fds[1], out, sizeof(out)) != sizeof(out))
			_exit(3);
		_exit(0);
	}
	hamn_seccomp_prog_free(p);
	if (fds[1] >= 0)
		close(fds[1]);
	if (pid > 0) {
		n = read(fds[0], res, N_RESULTS * sizeof(int));
		assert_int_equal(waitpid(pid, &status, 0), pid);
	}
	if (fds[0] >= 0)
		close(fds[0]);
	assert_true(pid > 0);
	assert_int_equal(n, N_RESULTS * sizeof(int));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(res[0], 0);
	return true;
}

static int clone_child_fn(void *arg)
{
	(void)arg;
	return 0;
}

static void reap(long pid)
{
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
}

static void default_checks(int *res)
{
	static char stack[16384] __attribute__((aligned(16)));
	struct hamn_clone_args ca = { .exit_signal = SIGCHLD };
	long rc;
	int fd;

	res[0] = result_of(unshare(CLONE_NEWNS));
	/* the target does not exist: even a broken filter mounts nothing */
	res[1] = result_of(mount("none", "/nonexistent-hamn-seccomp-test", "tmpfs", 0, NULL));
	res[2] = result_of(sys_keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0));
	rc = sys_clone3(&ca);
	if (rc == 0)
		_exit(0);
	res[3] = result_of(rc);
	reap(rc);
	res[4] = result_of(getpid());
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	res[5] = result_of(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	res[6] = result_of(fd);
	if (fd >= 0)
		close(fd);
	/* fork() is clone() without namespace flags */
	rc = fork();
	if (rc == 0)
		_exit(0);
	res[7] = result_of(rc);
	reap(rc);
	rc = clone(clone_child_fn, stack + sizeof(stack), CLONE_NEWUSER | SIGCHLD, NULL);
	res[8] = result_of(rc);
	reap(rc);
	res[9] = result_of(personality(0xffffffff));
	res[10] = result_of(personality(READ_IMPLIES_EXEC));
	/* -1 is no fd: without the filter this is EBADF */
	res[11] = result_of(setns(-1, 0));
}

static struct hamn_seccomp_prog *compile_default(uint64_t caps)
{
	_cleanup_oci_seccomp_ struct hamn_oci_seccomp *s = NULL;
	_cleanup_json_ json_t *profile = hamn_oci_seccomp_default_profile();
	_cleanup_json_ json_t *oci = NULL;
	struct hamn_seccomp_prog *p = NULL;
	struct hamn_error *err = NULL;

	oci = hamn_oci_seccomp_from_docker_profile(profile, caps, &err);
	if (!oci)
		fail_msg("convert: %s", err->msg);
	s = hamn_oci_seccomp_parse(oci, &err);
	if (!s)
		fail_msg("parse: %s", err->msg);
	if (hamn_seccomp_compile(s, &p, &err) < 0)
		fail_msg("compile: %s", err->msg);
	return p;
}

static void live_default_filter(void **state)
{
	struct hamn_seccomp_prog *p = compile_default(HAMN_OCI_DEFAULT_CAPS);
	int res[N_RESULTS];

	(void)state;
	if (!run_in_child(p, default_checks, res))
		skip();
	assert_int_equal(res[1], EPERM);	/* unshare(CLONE_NEWNS) */
	assert_int_equal(res[2], EPERM);	/* mount */
	assert_int_equal(res[3], EPERM);	/* keyctl */
	assert_int_equal(res[4], ENOSYS);	/* clone3 */
	assert_int_equal(res[5], 0);		/* getpid */
	assert_int_equal(res[6], EPERM);	/* socket(AF_VSOCK) */
	assert_int_equal(res[7], 0);		/* socket(AF_UNIX) */
	assert_int_equal(res[8], 0);		/* fork */
	assert_int_equal(res[9], EPERM);	/* clone(CLONE_NEWUSER) */
	assert_int_equal(res[10], 0);		/* personality(query) */
	assert_int_equal(res[11], EPERM);	/* personality(READ_IMPLIES_EXEC) */
	assert_int_equal(res[12], EPERM);	/* setns */
}

static void getcwd_checks(int *res)
{
	char buf[256];

	res[0] = getcwd(buf, sizeof(buf)) ? 0 : errno;
	res[1] = result_of(getpid());
}

static void live_errno_ret(void **state)
{
	struct hamn_seccomp_prog *p;
	int res[N_RESULTS];

	(void)state;
	p = compile_text("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names':"
			 " ['getcwd'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 42}]}");
	if (!run_in_child(p, getcwd_checks, res))
		skip();
	assert_int_equal(res[1], 42);
	assert_int_equal(res[2], 0);
}

static void enosys_checks(int *res)
{
	struct hamn_open_how how = { .flags = O_RDONLY };
	long fd;

	res[0] = result_of(sys_openat2(AT_FDCWD, "/", &how));
	res[1] = result_of(mount("none", "/nonexistent-hamn-seccomp-test", "tmpfs", 0, NULL));
	res[2] = result_of(getpid());
	fd = sys_pidfd_open(getpid(), 0);
	res[3] = result_of(fd);
}

/*
 * A syscall numbered above every one the profile names is "newer than the
 * profile": ENOSYS, so that libc falls back. One below stays EPERM. (The
 * other names are what libc and the sanitizers need around _exit.)
 */
static void live_enosys_for_newer_syscalls(void **state)
{
	struct hamn_seccomp_prog *p;
	int res[N_RESULTS];

	(void)state;
	p = compile_text("{'defaultAction': 'SCMP_ACT_ERRNO', 'architectures':"
			 " ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], 'syscalls': ["
			 "{'names': ['write', 'exit_group', 'exit', 'getpid', 'pidfd_open',"
			 " 'read', 'close', 'mmap', 'munmap', 'mprotect', 'madvise', 'brk',"
			 " 'sigaltstack', 'rt_sigaction', 'rt_sigprocmask', 'gettid', 'tgkill',"
			 " 'futex', 'sched_yield', 'prctl'], 'action': 'SCMP_ACT_ALLOW'}]}");
	if (!run_in_child(p, enosys_checks, res))
		skip();
	assert_int_equal(res[1], ENOSYS);	/* openat2 (437 > pidfd_open 434 on x86-64) */
	assert_int_equal(res[2], EPERM);	/* mount */
	assert_int_equal(res[3], 0);		/* getpid */
	assert_int_equal(res[4], 0);		/* pidfd_open */
}

static void sys_admin_checks(int *res)
{
	res[0] = result_of(unshare(CLONE_NEWNS));
	res[1] = result_of(mount("none", "/nonexistent-hamn-seccomp-test", "tmpfs", 0, NULL));
}

static void live_sys_admin_filter(void **state)
{
	struct hamn_seccomp_prog *p;
	int res[N_RESULTS];

	(void)state;
	if (geteuid() != 0)
		skip();
	p = compile_default(HAMN_OCI_DEFAULT_CAPS | CAP(CAP_SYS_ADMIN));
	if (!run_in_child(p, sys_admin_checks, res))
		skip();
	assert_int_equal(res[1], 0);		/* unshare: the child's own mount namespace */
	assert_int_equal(res[2], ENOENT);	/* mount reaches the kernel */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_fields),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(minimal_round_trip),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(parse_null_is_einval),
		cmocka_unit_test(default_profile_shape),
		cmocka_unit_test(default_caps_x86_64),
		cmocka_unit_test(clone3_rule_is_enosys),
		cmocka_unit_test(sys_admin_allows_mount),
		cmocka_unit_test(other_caps_open_their_groups),
		cmocka_unit_test(arch_and_kernel_conditions),
		cmocka_unit_test(docker_profile_errors),
		cmocka_unit_test(docker_legacy_forms),
		cmocka_unit_test(docker_profile_this_host),
		cmocka_unit_test(compile_errors),
		cmocka_unit_test(compile_skips_unknown_and_default),
		cmocka_unit_test(compile_default_every_cap),
		cmocka_unit_test(live_default_filter),
		cmocka_unit_test(live_errno_ret),
		cmocka_unit_test(live_enosys_for_newer_syscalls),
		cmocka_unit_test(live_sys_admin_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

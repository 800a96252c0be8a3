/*
 * seccomp.h - linux.seccomp of config.json as plain data, and Docker's
 * seccomp profile format (the one `--security-opt seccomp=FILE` takes and
 * the default profile is written in). Included through oci/oci.h.
 */
#ifndef HAMN_OCI_SECCOMP_H
#define HAMN_OCI_SECCOMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/cleanup.h"
#include "base/error.h"

enum hamn_seccomp_action {
	HAMN_SCMP_ACT_KILL,		/* SCMP_ACT_KILL / SCMP_ACT_KILL_THREAD */
	HAMN_SCMP_ACT_KILL_PROCESS,
	HAMN_SCMP_ACT_TRAP,
	HAMN_SCMP_ACT_ERRNO,
	HAMN_SCMP_ACT_TRACE,
	HAMN_SCMP_ACT_ALLOW,
	HAMN_SCMP_ACT_LOG,
	HAMN_SCMP_ACT_NOTIFY,
};

enum hamn_seccomp_op {
	HAMN_SCMP_CMP_NE,
	HAMN_SCMP_CMP_LT,
	HAMN_SCMP_CMP_LE,
	HAMN_SCMP_CMP_EQ,
	HAMN_SCMP_CMP_GE,
	HAMN_SCMP_CMP_GT,
	HAMN_SCMP_CMP_MASKED_EQ,
};

struct hamn_oci_seccomp_arg {
	unsigned int index;
	uint64_t value;
	uint64_t value_two;
	enum hamn_seccomp_op op;
};

struct hamn_oci_seccomp_rule {
	char **names;
	enum hamn_seccomp_action action;
	bool has_errno_ret;
	unsigned int errno_ret;
	struct hamn_oci_seccomp_arg *args;
	size_t n_args;
};

struct hamn_oci_seccomp {
	enum hamn_seccomp_action default_action;
	bool has_default_errno_ret;
	unsigned int default_errno_ret;
	char **architectures;	/* "SCMP_ARCH_X86_64", ... */
	char **flags;		/* "SECCOMP_FILTER_FLAG_LOG", ... */
	struct hamn_oci_seccomp_rule *rules;
	size_t n_rules;
};

/*
 * Parse linux.seccomp: defaultAction, defaultErrnoRet, architectures, flags,
 * syscalls[] {names, action, errnoRet, args[] {index, value, valueTwo, op}}.
 * Strict: a wrong type, an unknown action, operator, architecture or flag,
 * empty names, an arg index above 5 or an errno above 65535 is EINVAL with
 * the JSON path in the message ("linux.seccomp.syscalls[3].action: unknown
 * action 'X'"). Syscall names are not checked (the compiler skips names it
 * does not know). Returns a new object owned by the caller. Thread-safe.
 */
struct hamn_oci_seccomp *hamn_oci_seccomp_parse(json_t *obj, struct hamn_error **err);
/*
 * Emit as linux.seccomp JSON (new reference); parse(to_json(s)) equals s.
 * "valueTwo" is written for SCMP_CMP_MASKED_EQ and when non-zero.
 */
json_t *hamn_oci_seccomp_to_json(const struct hamn_oci_seccomp *s);
void hamn_oci_seccomp_free(struct hamn_oci_seccomp *s);	/* safe on NULL */
HAMN_DEFINE_CLEANUP(hamn_oci_seccomp, hamn_oci_seccomp_free)
#define _cleanup_oci_seccomp_ _cleanup_(cleanup_hamn_oci_seccompp)

/*
 * Turn a Docker-format profile (defaultAction, archMap, syscalls with
 * includes/excludes on caps, arches and minKernel) into the linux.seccomp
 * object for a container with capability mask `caps` (bit n = capability n)
 * on this machine (uname: machine and kernel release). Returns a new
 * reference, or NULL with EINVAL naming the field ("seccomp profile:
 * syscalls[4].action: unknown action 'X'"); every rule is checked, also those
 * that do not apply here.
 *
 * Rules: includes.caps all held, includes.arches naming this machine (Go's
 * names as Docker writes them, "amd64", "arm64", or the kernel's "x86_64"),
 * includes.minKernel ("4.8") not above the running kernel, and no
 * excludes.caps held nor excludes.arches naming this machine. Unknown
 * capability names count as not held. "architectures" of the result is the
 * native arch followed by its archMap sub-arches (or the profile's older
 * top-level "architectures" list as it is). Thread-safe.
 */
json_t *hamn_oci_seccomp_from_docker_profile(json_t *profile, uint64_t caps,
					     struct hamn_error **err);
/* The same for a given uname machine ("x86_64", "s390x") and kernel release ("6.1.0-18"). */
json_t *hamn_oci_seccomp_from_docker_profile_on(json_t *profile, uint64_t caps,
						const char *machine, const char *kernel_release,
						struct hamn_error **err);

/*
 * The default profile shipped with hamn (data/seccomp-default.json, Docker's
 * format), parsed once. Returns a NEW reference to a private copy: the
 * caller owns it (json_decref) and may change it. Thread-safe.
 */
json_t *hamn_oci_seccomp_default_profile(void);

#endif

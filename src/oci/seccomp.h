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

/* Parse linux.seccomp (EINVAL with "linux.seccomp.<field>" in the message). */
struct hamn_oci_seccomp *hamn_oci_seccomp_parse(json_t *obj, struct hamn_error **err);
json_t *hamn_oci_seccomp_to_json(const struct hamn_oci_seccomp *s);
void hamn_oci_seccomp_free(struct hamn_oci_seccomp *s);

/*
 * Turn a Docker-format profile (defaultAction, archMap, syscalls with
 * includes/excludes on caps, arches and minKernel) into the linux.seccomp
 * object for a container with capability mask `caps` on this machine's
 * architecture. Returns a new reference.
 */
json_t *hamn_oci_seccomp_from_docker_profile(json_t *profile, uint64_t caps,
					     struct hamn_error **err);

/* The default profile shipped with hamn (data/seccomp-default.json), parsed once. */
json_t *hamn_oci_seccomp_default_profile(void);

#endif

/*
 * seccomp_bpf.h - compile linux.seccomp into a BPF program with libseccomp
 * (internal to src/runtime).
 *
 * The filter is compiled in the parent, before fork, so that the container's
 * init only has to load a ready program: loading is one syscall and is
 * async-signal-safe. A syscall name this libseccomp does not know is
 * skipped (as runc does); an unknown architecture or action is EINVAL.
 */
#ifndef HAMN_RUNTIME_SECCOMP_BPF_H
#define HAMN_RUNTIME_SECCOMP_BPF_H

#include "oci/oci.h"

struct hamn_seccomp_prog;

int hamn_seccomp_compile(const struct hamn_oci_seccomp *s, struct hamn_seccomp_prog **out,
			 struct hamn_error **err);
/*
 * Install the program on the calling thread (no_new_privs must already be
 * set, or the caller must have CAP_SYS_ADMIN). Async-signal-safe. Returns 0,
 * or -errno.
 */
int hamn_seccomp_load(const struct hamn_seccomp_prog *p);
void hamn_seccomp_prog_free(struct hamn_seccomp_prog *p);
HAMN_DEFINE_CLEANUP(hamn_seccomp_prog, hamn_seccomp_prog_free)

#endif

/*
 * seccomp_bpf.h - compile linux.seccomp into a BPF program with libseccomp
 * (internal to src/runtime).
 *
 * The filter is compiled in the parent, before fork, so that the container's
 * init only has to load a ready program: loading is one syscall and is
 * async-signal-safe. A syscall name this libseccomp does not know is
 * skipped (as runc does), and so is an architecture hamn's parser accepts but
 * this libseccomp cannot filter (it cannot be this machine's).
 */
#ifndef HAMN_RUNTIME_SECCOMP_BPF_H
#define HAMN_RUNTIME_SECCOMP_BPF_H

#include "oci/oci.h"

struct hamn_seccomp_prog;

/*
 * Compile s into a ready-to-load program (*out, owned by the caller; free
 * with hamn_seccomp_prog_free). Rules whose action equals the default are
 * left out (libseccomp refuses them); conditions on different arguments of a
 * rule are AND-ed, several on the same argument OR-ed (as runc does).
 * ERRNO and TRACE without errnoRet/defaultErrnoRet return EPERM. When the
 * default action denies (ERRNO, KILL*, TRAP), a syscall numbered above every
 * syscall s names (on its architecture) returns ENOSYS, so that libc falls
 * back from calls newer than the profile. "flags" are passed to seccomp(2)
 * at load time. Errors: the errno libseccomp gave when it refused a rule or
 * an architecture (message names syscalls[i] and the syscall), EOPNOTSUPP
 * (SCMP_ACT_NOTIFY), E2BIG (more than 4096 instructions). Not
 * async-signal-safe (allocates): call it before fork. libseccomp keeps
 * global state, so calls are not promised to be thread-safe.
 */
int hamn_seccomp_compile(const struct hamn_oci_seccomp *s, struct hamn_seccomp_prog **out,
			 struct hamn_error **err);
/*
 * Install the program on the calling thread (no_new_privs must already be
 * set, or the caller must have CAP_SYS_ADMIN). Async-signal-safe. Returns 0,
 * or -errno.
 */
int hamn_seccomp_load(const struct hamn_seccomp_prog *p);
void hamn_seccomp_prog_free(struct hamn_seccomp_prog *p);	/* safe on NULL */
HAMN_DEFINE_CLEANUP(hamn_seccomp_prog, hamn_seccomp_prog_free)

#endif

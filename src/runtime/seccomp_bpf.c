/*
 * seccomp_bpf.c - compile linux.seccomp into a classic BPF program with
 * libseccomp, and install it.
 *
 * Compiling happens in the parent: libseccomp allocates, so it cannot run
 * in the container's init between fork and exec. The program is exported
 * from libseccomp into a memfd and read back as an array of sock_filter, and
 * the child installs it with one seccomp(2) call.
 *
 * In front of libseccomp's program sits a short stub of our own (as runc
 * does): a syscall whose number is above every syscall the profile names
 * fails with ENOSYS instead of the default action's EPERM. Those are
 * syscalls newer than the profile (or than this libseccomp), and ENOSYS is
 * what makes glibc fall back to the older call it replaces.
 *
 * Deliberately not here: SCMP_ACT_NOTIFY listeners (EOPNOTSUPP), and the
 * libseccomp filter attributes that only matter to seccomp_load(): hamn
 * loads the exported program itself and passes the flags to seccomp(2).
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "base/syscalls.h"
#include "runtime/seccomp_bpf.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef BPF_MAXINSNS
#define BPF_MAXINSNS 4096
#endif
#define X32_SYSCALL_BIT 0x40000000U
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct hamn_seccomp_prog {
	unsigned int flags;		/* SECCOMP_FILTER_FLAG_* for seccomp(2) */
	unsigned short len;
	struct sock_filter *insns;
};

void hamn_seccomp_prog_free(struct hamn_seccomp_prog *p)
{
	if (!p)
		return;
	free(p->insns);
	free(p);
}

static const struct {
	const char *name;
	unsigned int flag;
} filter_flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

static const enum scmp_compare ops[] = {
	[HAMN_SCMP_CMP_NE] = SCMP_CMP_NE,
	[HAMN_SCMP_CMP_LT] = SCMP_CMP_LT,
	[HAMN_SCMP_CMP_LE] = SCMP_CMP_LE,
	[HAMN_SCMP_CMP_EQ] = SCMP_CMP_EQ,
	[HAMN_SCMP_CMP_GE] = SCMP_CMP_GE,
	[HAMN_SCMP_CMP_GT] = SCMP_CMP_GT,
	[HAMN_SCMP_CMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/*
 * The libseccomp action. An ERRNO or TRACE without a value returns EPERM,
 * as in runc.
 */
static int action_value(enum hamn_seccomp_action a, bool has_ret, unsigned int ret,
			uint32_t *out, struct hamn_error **err)
{
	unsigned int data = has_ret ? ret : EPERM;

	switch (a) {
	case HAMN_SCMP_ACT_KILL:
		*out = SCMP_ACT_KILL_THREAD;
		return 0;
	case HAMN_SCMP_ACT_KILL_PROCESS:
		*out = SCMP_ACT_KILL_PROCESS;
		return 0;
	case HAMN_SCMP_ACT_TRAP:
		*out = SCMP_ACT_TRAP;
		return 0;
	case HAMN_SCMP_ACT_ERRNO:
		*out = SCMP_ACT_ERRNO(data);
		return 0;
	case HAMN_SCMP_ACT_TRACE:
		*out = SCMP_ACT_TRACE(data);
		return 0;
	case HAMN_SCMP_ACT_ALLOW:
		*out = SCMP_ACT_ALLOW;
		return 0;
	case HAMN_SCMP_ACT_LOG:
		*out = SCMP_ACT_LOG;
		return 0;
	case HAMN_SCMP_ACT_NOTIFY:
		return hamn_error_setq(err, EOPNOTSUPP,
				       "SCMP_ACT_NOTIFY is not supported (no listener)");
	}
	return hamn_error_setq(err, EINVAL, "unknown action %d", (int)a);
}

static int flags_value(char *const *names, unsigned int *out, struct hamn_error **err)
{
	*out = 0;
	for (size_t i = 0; names && names[i]; i++) {
		size_t j;

		for (j = 0; j < N_ELEMS(filter_flags); j++)
			if (streq(filter_flags[j].name, names[i]))
				break;
		if (j == N_ELEMS(filter_flags))
			return hamn_error_setq(err, EINVAL, "seccomp: unknown flag '%s'", names[i]);
		*out |= filter_flags[j].flag;
	}
	return 0;
}

/* "SCMP_ARCH_X86_64" -> the token of libseccomp's "x86_64"; 0 when it does not know it. */
static uint32_t arch_token(const char *name)
{
	char lower[32];
	size_t i;

	if (str_has_prefix(name, "SCMP_ARCH_"))
		name += strlen("SCMP_ARCH_");
	for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static int add_arches(scmp_filter_ctx ctx, char *const *arches, struct hamn_error **err)
{
	for (size_t i = 0; arches && arches[i]; i++) {
		uint32_t token = arch_token(arches[i]);
		int rc;

		/*
		 * An architecture hamn accepts but this libseccomp cannot
		 * filter cannot be this machine's, nor one of its compat ABIs.
		 */
		if (token == 0) {
			log_debug("seccomp: architecture '%s' unknown to libseccomp, skipped",
				  arches[i]);
			continue;
		}
		rc = seccomp_arch_add(ctx, token);
		if (rc < 0 && rc != -EEXIST)
			return hamn_error_set(err, -rc, "seccomp: add architecture '%s'",
					      arches[i]);
	}
	return 0;
}

static void to_cmp(const struct hamn_oci_seccomp_arg *a, struct scmp_arg_cmp *c)
{
	c->arg = a->index;
	c->op = ops[a->op];
	c->datum_a = a->value;
	c->datum_b = a->value_two;
}

/*
 * Conditions on different arguments are AND-ed in one rule. Several
 * conditions on the same argument are OR-ed instead, each its own rule: that
 * is how runc reads such a profile (and what makes them satisfiable at all).
 */
static int add_syscall(scmp_filter_ctx ctx, int nr, uint32_t act,
		       const struct hamn_oci_seccomp_rule *r)
{
	struct scmp_arg_cmp cmp[6];
	unsigned int seen = 0;
	bool repeated = false;
	int rc;

	if (r->n_args > N_ELEMS(cmp))
		repeated = true;
	for (size_t i = 0; i < r->n_args && !repeated; i++) {
		if (seen & (1U << r->args[i].index))
			repeated = true;
		seen |= 1U << r->args[i].index;
		to_cmp(&r->args[i], &cmp[i]);
	}
	if (!repeated)
		return seccomp_rule_add_array(ctx, act, nr, (unsigned int)r->n_args, cmp);
	for (size_t i = 0; i < r->n_args; i++) {
		to_cmp(&r->args[i], &cmp[0]);
		rc = seccomp_rule_add_array(ctx, act, nr, 1, cmp);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t default_act,
		    const struct hamn_oci_seccomp_rule *r, size_t idx, struct hamn_error **err)
{
	uint32_t act;

	if (action_value(r->action, r->has_errno_ret, r->errno_ret, &act, err) < 0)
		return hamn_error_wrap(err, "seccomp: syscalls[%zu]", idx);
	/* libseccomp refuses a rule that does what the default does anyway. */
	if (act == default_act)
		return 0;
	for (size_t i = 0; r->names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(r->names[i]);
		int rc;

		/* A syscall this libseccomp does not know is skipped, as runc does. */
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = add_syscall(ctx, nr, act, r);
		if (rc < 0)
			return hamn_error_set(err, -rc, "seccomp: syscalls[%zu]: add rule for '%s'",
					      idx, r->names[i]);
	}
	return 0;
}

/* ---- the ENOSYS stub ---- */

/* Where a jump of the stub goes: a literal offset, or one of its two exits. */
enum { TO_LITERAL, TO_ENOSYS, TO_MAIN };

struct stub {
	struct sock_filter *insns;
	unsigned char *jt, *jf;		/* TO_* of each jump */
	size_t n;
};

static void emit(struct stub *s, struct sock_filter f, int jt, int jf)
{
	s->insns[s->n] = f;
	s->jt[s->n] = (unsigned char)jt;
	s->jf[s->n] = (unsigned char)jf;
	s->n++;
}

static void emit_jgt(struct stub *s, int max)
{
	if (max < 0)
		emit(s, (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0), TO_MAIN, TO_LITERAL);
	else
		emit(s, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max,
						     0, 0),
		     TO_ENOSYS, TO_MAIN);
}

/*
 * One block per audit arch: "if arch == T: load nr; if nr > max: ENOSYS;
 * otherwise on to libseccomp's program". x32 shares AUDIT_ARCH_X86_64 with
 * x86-64 and is told apart by the X32 bit of the number; x32 numbers as
 * libseccomp gives them carry that bit already. x32_max < 0 (x32 not
 * filtered, or no name known on it) sends them to libseccomp's program.
 */
static void emit_block(struct stub *s, uint32_t audit_arch, int max, bool x86_64, int x32_max)
{
	size_t start = s->n;

	emit(s, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, audit_arch, 0, 0),
	     TO_LITERAL, TO_LITERAL);
	emit(s, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					     offsetof(struct seccomp_data, nr)),
	     TO_LITERAL, TO_LITERAL);
	if (x86_64) {
		/* Bit set: the next insn (x32); clear: the one after it (x86-64). */
		emit(s, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT,
						     0, 1),
		     TO_LITERAL, TO_LITERAL);
		emit_jgt(s, x32_max);
	}
	emit_jgt(s, max);
	/* A different arch skips this block. */
	s->insns[start].jf = (unsigned char)(s->n - start - 1);
}

/* The highest number any of the profile's names has on an architecture; -1 if none. */
static int max_syscall(const struct hamn_oci_seccomp *s, uint32_t token)
{
	int max = -1;

	for (size_t i = 0; i < s->n_rules; i++) {
		for (size_t j = 0; s->rules[i].names[j]; j++) {
			int nr = seccomp_syscall_resolve_name_arch(token, s->rules[i].names[j]);

			if (nr > max)
				max = nr;
		}
	}
	return max;
}

/* Turn the TO_ENOSYS / TO_MAIN targets into offsets; the stub ends with its ENOSYS return. */
static void stub_resolve(struct stub *s)
{
	size_t enosys = s->n - 1, main_start = s->n;

	for (size_t i = 0; i < s->n; i++) {
		struct sock_filter *f = &s->insns[i];
		size_t t;

		if (BPF_CLASS(f->code) != BPF_JMP)
			continue;
		if (BPF_OP(f->code) == BPF_JA) {
			f->k = (uint32_t)(main_start - i - 1);
			continue;
		}
		if (s->jt[i] != TO_LITERAL) {
			t = s->jt[i] == TO_ENOSYS ? enosys : main_start;
			f->jt = (unsigned char)(t - i - 1);
		}
		if (s->jf[i] != TO_LITERAL) {
			t = s->jf[i] == TO_ENOSYS ? enosys : main_start;
			f->jf = (unsigned char)(t - i - 1);
		}
	}
}

/*
 * Build the stub for the architectures of ctx. It is at most five insns per
 * architecture plus three, so every jump fits in the 8-bit offsets.
 */
static void build_stub(const struct hamn_oci_seccomp *s, scmp_filter_ctx ctx, struct stub *st)
{
	uint32_t tokens[] = { SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM,
			      SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64,
			      SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64,
			      SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64,
			      SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X,
			      SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, SCMP_ARCH_RISCV64 };
	int x32_max = -1;
	size_t cap = 5 * N_ELEMS(tokens) + 3;

	st->insns = xcalloc(cap, sizeof(*st->insns));
	st->jt = xcalloc(cap, 1);
	st->jf = xcalloc(cap, 1);
	if (seccomp_arch_exist(ctx, SCMP_ARCH_X32) == 0)
		x32_max = max_syscall(s, SCMP_ARCH_X32);
	emit(st, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch)),
	     TO_LITERAL, TO_LITERAL);
	for (size_t i = 0; i < N_ELEMS(tokens); i++) {
		uint32_t t = tokens[i];

		if (seccomp_arch_exist(ctx, t) != 0)
			continue;
		if (t == SCMP_ARCH_X86_64)
			emit_block(st, AUDIT_ARCH_X86_64, max_syscall(s, t), true, x32_max);
		else if (t == SCMP_ARCH_X32 && seccomp_arch_exist(ctx, SCMP_ARCH_X86_64) != 0)
			emit_block(st, AUDIT_ARCH_X86_64, -1, true, x32_max);
		else if (t != SCMP_ARCH_X32 && max_syscall(s, t) >= 0)
			emit_block(st, t, max_syscall(s, t), false, -1);
	}
	/* An arch without a block: straight to libseccomp's program. */
	emit(st, (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0), TO_MAIN, TO_LITERAL);
	emit(st, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	     TO_LITERAL, TO_LITERAL);
	stub_resolve(st);
}

static void stub_release(struct stub *st)
{
	free(st->insns);
	free(st->jt);
	free(st->jf);
}

/* Only for allow lists: where the default lets a call through, ENOSYS would take it away. */
static bool wants_stub(enum hamn_seccomp_action a)
{
	return a == HAMN_SCMP_ACT_ERRNO || a == HAMN_SCMP_ACT_KILL ||
	       a == HAMN_SCMP_ACT_KILL_PROCESS || a == HAMN_SCMP_ACT_TRAP;
}

/* ---- export and assembly ---- */

/* libseccomp 2.5 only exports to an fd: go through a memfd. */
static int export_bpf(scmp_filter_ctx ctx, char **buf, size_t *len, struct hamn_error **err)
{
	_cleanup_close_ int fd = memfd_create("hamn-seccomp", MFD_CLOEXEC);
	int rc;

	if (fd < 0)
		return hamn_error_set(err, errno, "seccomp: memfd_create");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return hamn_error_set(err, -rc, "seccomp: export the filter");
	if (hamn_read_fd(fd, (BPF_MAXINSNS + 1) * sizeof(struct sock_filter), buf, len, err) < 0)
		return hamn_error_wrap(err, "seccomp: read the exported filter");
	if (*len == 0 || *len % sizeof(struct sock_filter) != 0) {
		free(*buf);
		*buf = NULL;
		return hamn_error_setq(err, EINVAL, "seccomp: exported filter has %zu bytes", *len);
	}
	return 0;
}

static int assemble(const struct hamn_oci_seccomp *s, scmp_filter_ctx ctx,
		    struct hamn_seccomp_prog *p, struct hamn_error **err)
{
	_cleanup_free_ char *main_prog = NULL;
	struct stub st = { 0 };
	size_t main_len = 0, n_main, total;

	if (export_bpf(ctx, &main_prog, &main_len, err) < 0)
		return -1;
	n_main = main_len / sizeof(struct sock_filter);
	if (wants_stub(s->default_action))
		build_stub(s, ctx, &st);
	total = st.n + n_main;
	if (total > BPF_MAXINSNS) {
		stub_release(&st);
		return hamn_error_setq(err, E2BIG,
				       "seccomp: filter has %zu instructions, the kernel takes %d",
				       total, BPF_MAXINSNS);
	}
	p->insns = xcalloc(total, sizeof(*p->insns));
	if (st.n)
		memcpy(p->insns, st.insns, st.n * sizeof(*p->insns));
	memcpy(p->insns + st.n, main_prog, main_len);
	p->len = (unsigned short)total;
	stub_release(&st);
	return 0;
}

/* ---- public ---- */

static void cleanup_ctx(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

int hamn_seccomp_compile(const struct hamn_oci_seccomp *s, struct hamn_seccomp_prog **out,
			 struct hamn_error **err)
{
	_cleanup_(cleanup_ctx) scmp_filter_ctx ctx = NULL;
	_cleanup_(cleanup_hamn_seccomp_progp) struct hamn_seccomp_prog *p = NULL;
	uint32_t default_act;

	p = xzalloc(sizeof(*p));
	if (action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
			 &default_act, err) < 0)
		return hamn_error_wrap(err, "seccomp: defaultAction");
	if (flags_value(s->flags, &p->flags, err) < 0)
		return -1;
	ctx = seccomp_init(default_act);
	if (!ctx)
		return hamn_error_setq(err, EINVAL, "seccomp: cannot create a filter");
	if (add_arches(ctx, s->architectures, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_rules; i++)
		if (add_rule(ctx, default_act, &s->rules[i], i, err) < 0)
			return -1;
	if (assemble(s, ctx, p, err) < 0)
		return -1;
	*out = steal_pointer(&p);
	return 0;
}

int hamn_seccomp_load(const struct hamn_seccomp_prog *p)
{
	struct sock_fprog fprog = { .len = p->len, .filter = p->insns };

	if (sys_seccomp(SECCOMP_SET_MODE_FILTER, p->flags, &fprog) == 0)
		return 0;
	/* Kernels before 3.17 have no seccomp(2); prctl takes no flags. */
	if (errno == ENOSYS && p->flags == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0)
		return 0;
	return -errno;
}

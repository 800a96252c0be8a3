/*
 * test_cgroup.c - cgroups: pure translations, placement, parsers, the
 * device BPF program (checked by a tiny interpreter against the rule
 * semantics), v1 and v2 file writes into fake trees (HAMN_TEST_CGROUP_ROOT),
 * and, as root on a host that has them, a live v1 lifecycle and a live
 * device program on a cgroup2 mount. Live tests clean up in their teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/syscalls.h"
#include "runtime/cgroup_internal.h"

/* ---- small helpers ---- */

static void write_text(const char *path, const char *text)
{
	char dir[4096];
	char *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0755);
			*p = '/';
		}
	}
	mkdir(dir, 0755);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The file's contents, "" when missing (static buffer). */
static const char *read_text(const char *dir, const char *file)
{
	static char buf[8192];
	char path[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return "";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- pure translations ---- */

static void shares_to_weight(void **state)
{
	(void)state;
	assert_int_equal(hamn_cgroup_shares_to_weight(0), 0);
	assert_int_equal(hamn_cgroup_shares_to_weight(1), 1);
	assert_int_equal(hamn_cgroup_shares_to_weight(2), 1);
	assert_int_equal(hamn_cgroup_shares_to_weight(512), 20);
	assert_int_equal(hamn_cgroup_shares_to_weight(1024), 39);
	assert_int_equal(hamn_cgroup_shares_to_weight(262144), 10000);
	assert_int_equal(hamn_cgroup_shares_to_weight(1000000), 10000);
}

static void blkio_to_io_weight(void **state)
{
	(void)state;
	assert_int_equal(hamn_cgroup_blkio_to_io_weight(0), 0);
	assert_int_equal(hamn_cgroup_blkio_to_io_weight(5), 1);
	assert_int_equal(hamn_cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(hamn_cgroup_blkio_to_io_weight(500), 4950);
	assert_int_equal(hamn_cgroup_blkio_to_io_weight(1000), 10000);
}

static void cpu_max_text(void **state)
{
	char buf[64];

	(void)state;
	hamn_cgroup_cpu_max(50000, 100000, buf, sizeof(buf));
	assert_string_equal(buf, "50000 100000");
	hamn_cgroup_cpu_max(-1, 0, buf, sizeof(buf));
	assert_string_equal(buf, "max 100000");
	hamn_cgroup_cpu_max(0, 250000, buf, sizeof(buf));
	assert_string_equal(buf, "max 250000");
}

static int64_t swap_of(bool has_limit, int64_t limit, bool has_swap, int64_t swap, int *errnum)
{
	struct hamn_oci_resources r = { 0 };
	struct hamn_error *err = NULL;
	int64_t out = 12345;

	r.has_memory_limit = has_limit;
	r.memory_limit = limit;
	r.has_memory_swap = has_swap;
	r.memory_swap = swap;
	*errnum = 0;
	if (hamn_cg_v2_swap_max(&r, &out, &err) < 0) {
		*errnum = err->errnum;
		hamn_error_free(&err);
	}
	return out;
}

static void v2_swap_translation(void **state)
{
	int e;

	(void)state;
	assert_int_equal(swap_of(true, 100, true, 300, &e), 200);
	assert_int_equal(e, 0);
	assert_int_equal(swap_of(true, 100, true, 100, &e), 0);
	assert_int_equal(swap_of(true, 100, true, -1, &e), -1);
	assert_int_equal(swap_of(true, 100, false, 0, &e), -2);
	assert_int_equal(swap_of(true, -1, false, 0, &e), -1);
	assert_int_equal(swap_of(false, 0, false, 0, &e), -2);
	swap_of(true, 100, true, 50, &e);
	assert_int_equal(e, EINVAL);
	swap_of(false, 0, true, 50, &e);
	assert_int_equal(e, EINVAL);
}

/* ---- placement and ids ---- */

static void placement_ok(const char *own, const char *id, const char *cp, const char *want,
			 unsigned want_depth, bool want_default)
{
	struct hamn_error *err = NULL;
	char *path = NULL;
	unsigned depth = 0;
	bool def = !want_default;

	assert_int_equal(hamn_cg_placement(own, id, cp, &path, &depth, &def, &err), 0);
	assert_string_equal(path, want);
	assert_int_equal(depth, want_depth);
	assert_int_equal(def, want_default);
	free(path);
}

static void placement_bad(const char *own, const char *id, const char *cp)
{
	struct hamn_error *err = NULL;
	char *path = NULL;
	unsigned depth;
	bool def;

	assert_int_equal(hamn_cg_placement(own, id, cp, &path, &depth, &def, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	assert_null(path);
	hamn_error_free(&err);
}

static void placement_rules(void **state)
{
	(void)state;
	placement_ok("/user.slice/s1", "c1", NULL, "/user.slice/s1/hamn/c1", 2, true);
	placement_ok("/", "c1", "", "/hamn/c1", 2, true);
	placement_ok("/own", "c1", "/test-parent/x", "/test-parent/x", 2, false);
	placement_ok("/own", "c1", "//a//b/c/", "/a/b/c", 3, false);
	placement_ok("/own", "c1", "sub/c1", "/own/sub/c1", 2, false);
	placement_ok("/", "c1", "sub", "/sub", 1, false);
	placement_bad("/own", "c1", "/");
	placement_bad("/own", "c1", "/a/../b");
	placement_bad("/own", "c1", "a/./b");
	placement_bad("/own", "c1", "system.slice:docker:c1");
	placement_bad("relative", "c1", NULL);
}

static void id_validation(void **state)
{
	struct hamn_error *err = NULL;
	static const char *const bad[] = { "", "a/b", "..", "a..b", ".", "x\ny", NULL };

	(void)state;
	assert_int_equal(hamn_cg_validate_id("4f2a-b_c.d", &err), 0);
	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(hamn_cg_validate_id(bad[i], &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		hamn_error_free(&err);
	}
	assert_null(hamn_cgroup_new("../x", NULL, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

/* ---- parsers ---- */

static const char self_text[] = "9:name=systemd:/\n"
				"4:memory:/process_api/c8\n"
				"2:cpu,cpuacct:/cpu-own\n"
				"0::/v2-own\n";

static void parse_self(void **state)
{
	struct hamn_error *err = NULL;
	char *p = NULL;

	(void)state;
	assert_int_equal(hamn_cg_parse_self(self_text, "memory", &p, &err), 0);
	assert_string_equal(p, "/process_api/c8");
	free(p);
	assert_int_equal(hamn_cg_parse_self(self_text, "cpuacct,cpu", &p, &err), 0);
	assert_string_equal(p, "/cpu-own");
	free(p);
	assert_int_equal(hamn_cg_parse_self(self_text, "name=systemd", &p, &err), 0);
	assert_string_equal(p, "/");
	free(p);
	assert_int_equal(hamn_cg_parse_self(self_text, "", &p, &err), 0);
	assert_string_equal(p, "/v2-own");
	free(p);
	assert_int_equal(hamn_cg_parse_self(self_text, "pids", &p, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
}

static const char mountinfo_text[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup "
	"rw,cpu,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:32 / /mnt/mem\\040copy rw,relatime - cgroup cgroup rw,memory\n"
	"40 31 0:37 /docker/x /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	"42 31 0:39 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,nosuid,pids\n";

static void parse_mountinfo(void **state)
{
	struct cgroup_mount *m = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(hamn_cg_parse_mountinfo(mountinfo_text, &m, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(m[0].controllers, "cpu,cpuacct");
	assert_string_equal(m[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(m[1].controllers, "memory");
	assert_string_equal(m[1].mount, "/sys/fs/cgroup/memory");
	assert_string_equal(m[2].controllers, "name=systemd");
	assert_string_equal(m[2].mount_root, "/docker/x");
	assert_string_equal(m[3].controllers, "pids");
	assert_true(hamn_cg_has_controller(m[0].controllers, "cpuacct"));
	assert_true(hamn_cg_has_controller(m[0].controllers, "cpu"));
	assert_false(hamn_cg_has_controller(m[0].controllers, "cpuset"));
	hamn_cg_mounts_free(m, n);
}

static void device_rule_text(void **state)
{
	struct hamn_oci_device_rule r1 = { true, 'c', 1, 3, "rwm" };
	struct hamn_oci_device_rule r2 = { false, 'b', -1, -1, "m" };
	struct hamn_oci_device_rule r3 = { false, 'a', -1, -1, "" };
	struct hamn_oci_device_rule r4 = { true, 'c', 136, -1, "rw" };
	char buf[64];

	(void)state;
	hamn_cg_device_rule_text(&r1, buf, sizeof(buf));
	assert_string_equal(buf, "c 1:3 rwm");
	hamn_cg_device_rule_text(&r2, buf, sizeof(buf));
	assert_string_equal(buf, "b *:* m");
	hamn_cg_device_rule_text(&r3, buf, sizeof(buf));
	assert_string_equal(buf, "a *:* rwm");
	hamn_cg_device_rule_text(&r4, buf, sizeof(buf));
	assert_string_equal(buf, "c 136:* rw");
}

/* ---- the device program ---- */

/* An interpreter for exactly the instructions the generator may emit. */
static int run_prog(const struct bpf_insn *p, size_t n, uint32_t type, uint32_t acc,
		    uint32_t major, uint32_t minor)
{
	uint32_t ctx[3] = { (acc << 16) | type, major, minor };
	uint64_t r[11] = { 0 };

	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];

		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			assert_int_equal(i->src_reg, BPF_REG_1);
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			r[i->dst_reg] = (uint32_t)r[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
		case BPF_JMP | BPF_JEQ | BPF_K:
			assert_true(i->off >= 0 && pc + (size_t)i->off + 1 < n);
			if ((r[i->dst_reg] != (uint64_t)(int64_t)i->imm) ==
			    (i->code == (BPF_JMP | BPF_JNE | BPF_K)))
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			fail_msg("unexpected opcode 0x%x at %zu", i->code, pc);
		}
	}
	fail_msg("fell off the end of the program");
	return -1;
}

/*
 * The semantics the program must have: each requested bit is decided by the
 * last rule that matches the device and names the bit; unnamed bits deny.
 */
static int reference(const struct hamn_oci_device_rule *rules, size_t n, char type,
		     uint32_t acc, uint32_t major, uint32_t minor)
{
	for (uint32_t bit = 1; bit <= 4; bit <<= 1) {
		int verdict = 0;

		if (!(acc & bit))
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct hamn_oci_device_rule *r = &rules[i];
			uint32_t mask = 0;

			for (const char *a = r->access; *a; a++)
				mask |= *a == 'r' ? 2 : *a == 'w' ? 4 : 1;
			if ((r->type == 'a' || r->type == type) &&
			    (r->major < 0 || r->major == major) &&
			    (r->minor < 0 || r->minor == minor) && (mask & bit))
				verdict = r->allow;
		}
		if (!verdict)
			return 0;
	}
	return 1;
}

static void check_program(const struct hamn_oci_device_rule *rules, size_t n)
{
	static const uint32_t majors[] = { 1, 5, 8, 10, 136 };
	static const uint32_t minors[] = { 0, 1, 3, 7, 9, 200 };
	struct hamn_error *err = NULL;
	struct bpf_insn *p = NULL;
	size_t np = 0;

	assert_int_equal(hamn_cg_bpf_devices(rules, n, &p, &np, &err), 0);
	for (int t = 0; t < 2; t++) {
		char type = t ? 'c' : 'b';
		uint32_t code = t ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;

		for (uint32_t acc = 1; acc <= 7; acc++)
			for (size_t a = 0; a < 5; a++)
				for (size_t b = 0; b < 6; b++) {
					uint32_t ma = majors[a], mi = minors[b];

					assert_int_equal(run_prog(p, np, code, acc, ma, mi),
							 reference(rules, n, type, acc, ma, mi));
				}
	}
	free(p);
}

static void bpf_program_shapes(void **state)
{
	struct hamn_oci_device_rule deny_all[] = { { false, 'a', -1, -1, "rwm" } };
	struct hamn_oci_device_rule one[] = { { false, 'a', -1, -1, "rwm" },
					      { true, 'c', 1, 3, "rwm" } };
	struct hamn_oci_device_rule part[] = { { false, 'a', -1, -1, "rwm" },
					       { true, 'b', 8, -1, "r" } };
	struct hamn_error *err = NULL;
	struct bpf_insn *p = NULL;
	size_t n = 0;

	(void)state;
	/* deny everything: the prologue, then r0 = 0; exit */
	assert_int_equal(hamn_cg_bpf_devices(deny_all, 1, &p, &n, &err), 0);
	assert_int_equal(n, 8);
	assert_int_equal(p[0].code, BPF_LDX | BPF_MEM | BPF_W);
	assert_int_equal(p[1].code, BPF_ALU | BPF_AND | BPF_K);
	assert_int_equal(p[1].imm, 0xffff);
	assert_int_equal(p[3].code, BPF_ALU | BPF_RSH | BPF_K);
	assert_int_equal(p[4].off, 4);
	assert_int_equal(p[5].off, 8);
	assert_int_equal(p[6].code, BPF_ALU64 | BPF_MOV | BPF_K);
	assert_int_equal(p[6].imm, 0);
	assert_int_equal(p[7].code, BPF_JMP | BPF_EXIT);
	free(p);

	/* allow c 1:3 after deny-all: three checks, each skipping the rest of the block */
	assert_int_equal(hamn_cg_bpf_devices(one, 2, &p, &n, &err), 0);
	assert_int_equal(n, 6 + 5 + 2);
	assert_int_equal(p[6].code, BPF_JMP | BPF_JNE | BPF_K);
	assert_int_equal(p[6].dst_reg, BPF_REG_2);
	assert_int_equal(p[6].imm, BPF_DEVCG_DEV_CHAR);
	assert_int_equal(p[6].off, 4);
	assert_int_equal(p[7].dst_reg, BPF_REG_4);
	assert_int_equal(p[7].imm, 1);
	assert_int_equal(p[7].off, 3);
	assert_int_equal(p[8].dst_reg, BPF_REG_5);
	assert_int_equal(p[8].imm, 3);
	assert_int_equal(p[8].off, 2);
	assert_int_equal(p[9].imm, 1);
	assert_int_equal(p[11].imm, 0);
	free(p);

	/* allow b 8:* r: the bits it grants are cleared from r3; allow once none is left */
	assert_int_equal(hamn_cg_bpf_devices(part, 2, &p, &n, &err), 0);
	assert_int_equal(n, 6 + 6 + 2);
	assert_int_equal(p[6].imm, BPF_DEVCG_DEV_BLOCK);
	assert_int_equal(p[6].off, 5);
	assert_int_equal(p[7].imm, 8);
	assert_int_equal(p[7].off, 4);
	assert_int_equal(p[8].code, BPF_ALU | BPF_AND | BPF_K);
	assert_int_equal(p[8].dst_reg, BPF_REG_3);
	assert_int_equal(p[8].imm, BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
	assert_int_equal(p[9].code, BPF_JMP | BPF_JNE | BPF_K);
	assert_int_equal(p[9].off, 2);
	assert_int_equal(p[10].imm, 1);
	free(p);
}

static void bpf_program_semantics(void **state)
{
	struct hamn_oci_device_rule *defaults = NULL;
	struct hamn_oci_resources res = { 0 };
	struct hamn_oci_device_rule user[] = {
		{ true, 'b', 8, -1, "r" },	 /* read any sd* */
		{ false, 'b', 8, 1, "rwm" },	 /* but not sda1 */
		{ true, 'c', 1, 9, "rwm" },	 /* urandom */
		{ false, 'c', 1, 9, "w" },	 /* but not for writing */
		{ true, 'a', 5, -1, "m" },	 /* mknod of major 5 of either type */
	};
	struct hamn_oci_device_rule allow_all_last[] = { { false, 'a', -1, -1, "rwm" },
							 { true, 'c', 1, 3, "rw" },
							 { true, 'a', -1, -1, "rwm" } };
	struct hamn_oci_device_rule split[] = { { false, 'a', -1, -1, "rwm" },
						{ true, 'c', 1, -1, "r" },
						{ true, 'c', 1, 3, "w" },
						{ false, 'c', 1, 5, "r" },
						{ true, 'a', -1, -1, "m" } };
	size_t n;

	(void)state;
	res.devices = user;
	res.n_devices = 5;
	hamn_cg_device_rules(&res, &defaults, &n);
	assert_int_equal(n, 1 + 5);
	assert_false(defaults[0].allow);
	assert_int_equal(defaults[0].type, 'a');
	check_program(defaults, n);
	check_program(user, 5);
	check_program(allow_all_last, 3);
	check_program(split, 5);
	free(defaults);
}

static void bpf_program_errors(void **state)
{
	struct hamn_oci_device_rule big[] = { { true, 'c', 1LL << 40, 0, "rwm" } };
	struct hamn_oci_device_rule type[] = { { true, 'x', 1, 0, "rwm" } };
	struct hamn_oci_device_rule acc[] = { { true, 'c', 1, 0, "rwx" } };
	struct hamn_error *err = NULL;
	struct bpf_insn *p = NULL;
	size_t n;

	(void)state;
	assert_int_equal(hamn_cg_bpf_devices(big, 1, &p, &n, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_int_equal(hamn_cg_bpf_devices(type, 1, &p, &n, &err), -1);
	hamn_error_free(&err);
	assert_int_equal(hamn_cg_bpf_devices(acc, 1, &p, &n, &err), -1);
	hamn_error_free(&err);
	assert_null(p);
}

/* ---- fake trees ---- */

static char fake_root[64];

static int fake_teardown(void **state)
{
	(void)state;
	unsetenv("HAMN_TEST_CGROUP_ROOT");
	unsetenv("HAMN_TEST_CGROUP_SELF");
	if (fake_root[0])
		rm_tree(fake_root);
	fake_root[0] = '\0';
	return 0;
}

static void fake_setup(const char *self)
{
	snprintf(fake_root, sizeof(fake_root), "/tmp/hamn-cgtest-XXXXXX");
	assert_non_null(mkdtemp(fake_root));
	setenv("HAMN_TEST_CGROUP_ROOT", fake_root, 1);
	setenv("HAMN_TEST_CGROUP_SELF", self, 1);
}

static char *fake_path(const char *rel)
{
	static char buf[32][4096];
	static int k;

	k = (k + 1) % 32;
	snprintf(buf[k], sizeof(buf[k]), "%s%s", fake_root, rel);
	return buf[k];
}

static struct hamn_oci_throttle_device read_bps[] = { { 8, 0, 1048576 } };
static char *unified_keys[] = { "memory.high" };
static char *unified_values[] = { "50M" };

static void fill_resources(struct hamn_oci_resources *r)
{
	memset(r, 0, sizeof(*r));
	r->has_memory_limit = r->has_memory_swap = r->has_memory_reservation = true;
	r->memory_limit = 64 << 20;
	r->memory_swap = 128 << 20;
	r->memory_reservation = 32 << 20;
	r->has_cpu_shares = r->has_cpu_quota = r->has_cpu_period = true;
	r->cpu_shares = 512;
	r->cpu_quota = 50000;
	r->cpu_period = 100000;
	r->cpuset_cpus = "0-1";
	r->has_pids_limit = true;
	r->pids_limit = -1;
	r->has_blkio_weight = true;
	r->blkio_weight = 500;
	r->throttle_read_bps = read_bps;
	r->n_throttle_read_bps = 1;
	r->unified_keys = unified_keys;
	r->unified_values = unified_values;
	r->n_unified = 1;
}

static void v2_fake_create(void **state)
{
	struct hamn_oci_resources res;
	struct hamn_error *err = NULL;
	struct hamn_cgroup *cg;
	const char *own, *leaf;
	const char *all = "+cpuset\n+cpu\n+io\n+memory\n+hugetlb\n+pids\n";

	(void)state;
	fake_setup("/user.slice/s1");
	own = fake_path("/user.slice/s1");
	write_text(fake_path("/cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n");
	write_text(fake_path("/user.slice/s1/cgroup.controllers"),
		   "cpuset cpu io memory hugetlb pids\n");
	write_text(fake_path("/user.slice/s1/cgroup.subtree_control"), "");
	assert_int_equal(hamn_cgroup_detect(), HAMN_CGROUP_V2);

	cg = hamn_cgroup_new("c1", NULL, &err);
	assert_non_null(cg);
	leaf = cg->h[0].dir;
	assert_string_equal(leaf, fake_path("/user.slice/s1/hamn/c1"));
	fill_resources(&res);
	assert_int_equal(hamn_cgroup_create(cg, &res, &err), 0);

	/* controllers enabled from the own cgroup down, never at the root */
	assert_string_equal(read_text(own, "cgroup.subtree_control"), all);
	assert_string_equal(read_text(fake_path("/user.slice/s1/hamn"), "cgroup.subtree_control"),
			    all);
	assert_false(exists(fake_path("/cgroup.subtree_control")));
	assert_string_equal(read_text(leaf, "memory.max"), "67108864\n");
	assert_string_equal(read_text(leaf, "memory.swap.max"), "67108864\n");
	assert_string_equal(read_text(leaf, "memory.low"), "33554432\n");
	assert_string_equal(read_text(leaf, "cpu.weight"), "20\n");
	assert_string_equal(read_text(leaf, "cpu.max"), "50000 100000\n");
	assert_string_equal(read_text(leaf, "cpuset.cpus"), "0-1\n");
	assert_string_equal(read_text(leaf, "pids.max"), "max\n");
	assert_string_equal(read_text(leaf, "io.weight"), "default 4950\n");
	assert_string_equal(read_text(leaf, "io.max"), "8:0 rbps=1048576\n");
	assert_string_equal(read_text(leaf, "memory.high"), "50M\n");
	assert_int_equal(hamn_cgroup_dirfd(cg) >= 0, 1);

	/* update writes only what it is given */
	memset(&res, 0, sizeof(res));
	res.has_pids_limit = true;
	res.pids_limit = 20;
	assert_int_equal(hamn_cgroup_update(cg, &res, &err), 0);
	assert_string_equal(read_text(leaf, "pids.max"), "max\n20\n");

	assert_int_equal(hamn_cgroup_destroy(cg, &err), 0);
	assert_false(exists(leaf));
	assert_false(exists(fake_path("/user.slice/s1/hamn")));
	assert_true(exists(own));
	hamn_cgroup_free(cg);
}

static void v2_fake_lifecycle(void **state)
{
	struct hamn_cgroup_stats st;
	struct hamn_error *err = NULL;
	struct hamn_cgroup *cg, *back;
	const char *leaf;
	pid_t *pids = NULL;
	size_t n = 0;
	bool frozen = false;
	json_t *j;

	(void)state;
	fake_setup("/");
	write_text(fake_path("/cgroup.controllers"), "memory pids\n");
	write_text(fake_path("/cgroup.subtree_control"), "memory pids\n");
	cg = hamn_cgroup_new("c2", "/test-parent/c2", &err);
	assert_non_null(cg);
	assert_int_equal(hamn_cgroup_create(cg, NULL, &err), 0);
	leaf = fake_path("/test-parent/c2");
	assert_string_equal(cg->h[0].dir, leaf);
	/* already enabled at the root: nothing written there */
	assert_string_equal(read_text(fake_root, "cgroup.subtree_control"), "memory pids\n");
	assert_string_equal(read_text(fake_path("/test-parent"), "cgroup.subtree_control"),
			    "+memory\n+pids\n");

	j = hamn_cgroup_to_json(cg);
	back = hamn_cgroup_from_json(j, &err);
	json_decref(j);
	assert_non_null(back);
	assert_string_equal(back->h[0].dir, leaf);
	assert_int_equal(back->h[0].removable, 2);

	assert_int_equal(hamn_cgroup_enter(back, 4242, &err), 0);
	assert_int_equal(hamn_cgroup_pids(back, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], 4242);
	free(pids);

	write_text(fake_path("/test-parent/c2/cgroup.events"), "populated 1\nfrozen 1\n");
	assert_int_equal(hamn_cgroup_freeze(back, true, &err), 0);
	assert_string_equal(read_text(leaf, "cgroup.freeze"), "1\n");
	assert_int_equal(hamn_cgroup_is_frozen(back, &frozen, &err), 0);
	assert_true(frozen);

	write_text(fake_path("/test-parent/c2/cpu.stat"),
		   "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\n"
		   "nr_throttled 2\nthrottled_usec 30\n");
	write_text(fake_path("/test-parent/c2/memory.current"), "4096\n");
	write_text(fake_path("/test-parent/c2/memory.max"), "max\n");
	write_text(fake_path("/test-parent/c2/memory.stat"), "anon 100\nfile 200\nanon_thp 0\n");
	write_text(fake_path("/test-parent/c2/memory.events"),
		   "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
	write_text(fake_path("/test-parent/c2/pids.max"), "20\n");
	write_text(fake_path("/test-parent/c2/io.stat"),
		   "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n");
	assert_int_equal(hamn_cgroup_stats(back, &st, &err), 0);
	assert_int_equal(st.cpu_usage_ns, 1500000);
	assert_int_equal(st.cpu_user_ns, 1000000);
	assert_int_equal(st.cpu_system_ns, 500000);
	assert_int_equal(st.cpu_throttled_periods, 2);
	assert_int_equal(st.cpu_throttled_ns, 30000);
	assert_int_equal(st.mem_usage, 4096);
	assert_int_equal(st.mem_limit, 0);
	assert_int_equal(st.mem_rss, 100);
	assert_int_equal(st.mem_cache, 200);
	assert_int_equal(st.mem_failcnt, 3);
	assert_int_equal(st.oom_kills, 1);
	assert_int_equal(st.pids_limit, 20);
	assert_int_equal(st.blkio_read_bytes, 11);
	assert_int_equal(st.blkio_write_bytes, 22);

	assert_int_equal(hamn_cgroup_destroy(back, &err), 0);
	assert_false(exists(fake_path("/test-parent")));
	hamn_cgroup_free(back);
	hamn_cgroup_free(cg);
}

static void v2_fake_refusals(void **state)
{
	struct hamn_oci_resources res = { 0 };
	struct hamn_error *err = NULL;
	struct hamn_cgroup *cg;
	char *keys[] = { "../../etc/x" }, *vals[] = { "1" };
	char *keys2[] = { "cgroup.procs" };
	json_t *j;

	(void)state;
	fake_setup("/own");
	write_text(fake_path("/cgroup.controllers"), "memory\n");
	write_text(fake_path("/own/cgroup.controllers"), "memory\n");
	cg = hamn_cgroup_new("c3", NULL, &err);
	assert_non_null(cg);
	res.unified_keys = keys;
	res.unified_values = vals;
	res.n_unified = 1;
	assert_int_equal(hamn_cgroup_create(cg, &res, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	/* nothing left behind */
	assert_false(exists(fake_path("/own/hamn")));
	res.unified_keys = keys2;
	assert_int_equal(hamn_cgroup_create(cg, &res, &err), -1);
	hamn_error_free(&err);
	hamn_cgroup_free(cg);

	/* a state file pointing outside the cgroup tree is refused */
	j = json_pack("{s:i, s:s, s:[{s:s, s:s, s:s, s:i, s:i}]}", "version", 2, "id", "c3",
		      "hierarchies", "controllers", "", "path", "/x", "dir", "/etc/x", "depth", 1,
		      "removable", 1);
	assert_null(hamn_cgroup_from_json(j, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	json_decref(j);
}

/* An explicit cgroupsPath: only the levels hamn made are removed again. */
static void v2_fake_explicit_path(void **state)
{
	struct hamn_error *err = NULL;
	struct hamn_cgroup *cg;

	(void)state;
	fake_setup("/own");
	write_text(fake_path("/cgroup.controllers"), "pids\n");
	write_text(fake_path("/own/cgroup.controllers"), "pids\n");
	write_text(fake_path("/own/existing/keep"), "");
	cg = hamn_cgroup_new("c5", "existing/new/c5", &err);
	assert_non_null(cg);
	assert_string_equal(cg->h[0].path, "/own/existing/new/c5");
	assert_int_equal(hamn_cgroup_create(cg, NULL, &err), 0);
	assert_int_equal(cg->h[0].removable, 2);
	assert_int_equal(hamn_cgroup_destroy(cg, &err), 0);
	assert_false(exists(fake_path("/own/existing/new")));
	assert_true(exists(fake_path("/own/existing/keep")));
	hamn_cgroup_free(cg);

	/* a leaf that existed before is used, and left alone */
	write_text(fake_path("/own/pre/c6/keep"), "");
	cg = hamn_cgroup_new("c6", "pre/c6", &err);
	assert_non_null(cg);
	assert_int_equal(hamn_cgroup_create(cg, NULL, &err), 0);
	assert_int_equal(cg->h[0].removable, 0);
	assert_int_equal(hamn_cgroup_destroy(cg, &err), 0);
	assert_true(exists(fake_path("/own/pre/c6/keep")));
	hamn_cgroup_free(cg);
}

static void v1_fake_create(void **state)
{
	struct hamn_oci_resources res = { 0 };
	struct hamn_oci_device_rule rules[] = { { true, 'b', 8, 0, "r" } };
	struct hamn_cgroup_stats st;
	struct hamn_error *err = NULL;
	struct hamn_cgroup *cg;
	const char *mem, *cpu, *dev;
	bool frozen = false;

	(void)state;
	fake_setup("/");
	write_text(fake_path("/cpuset/cpuset.cpus"), "0-1\n");
	write_text(fake_path("/cpuset/cpuset.mems"), "0\n");
	write_text(fake_path("/cpu,cpuacct/cgroup.procs"), "");
	write_text(fake_path("/memory/cgroup.procs"), "");
	write_text(fake_path("/pids/cgroup.procs"), "");
	write_text(fake_path("/devices/cgroup.procs"), "");
	write_text(fake_path("/freezer/cgroup.procs"), "");
	assert_int_equal(hamn_cgroup_detect(), HAMN_CGROUP_V1);

	cg = hamn_cgroup_new("c4", NULL, &err);
	assert_non_null(cg);
	assert_int_equal(hamn_cgroup_dirfd(cg), -1);
	res.has_memory_limit = res.has_memory_swap = true;
	res.memory_limit = 64 << 20;
	res.memory_swap = 128 << 20;
	res.has_pids_limit = true;
	res.pids_limit = 20;
	res.has_cpu_shares = res.has_cpu_quota = true;
	res.cpu_shares = 512;
	res.cpu_quota = 25000;
	res.devices = rules;
	res.n_devices = 1;
	res.n_hugepage_limits = 0;
	assert_int_equal(hamn_cgroup_create(cg, &res, &err), 0);

	mem = fake_path("/memory/hamn/c4");
	cpu = fake_path("/cpu,cpuacct/hamn/c4");
	dev = fake_path("/devices/hamn/c4");
	assert_string_equal(read_text(mem, "memory.limit_in_bytes"), "67108864\n");
	assert_string_equal(read_text(mem, "memory.memsw.limit_in_bytes"), "134217728\n");
	assert_string_equal(read_text(cpu, "cpu.shares"), "512\n");
	assert_string_equal(read_text(cpu, "cpu.cfs_quota_us"), "25000\n");
	assert_false(exists(fake_path("/cpu,cpuacct/hamn/c4/cpu.cfs_period_us")));
	assert_string_equal(read_text(fake_path("/pids/hamn/c4"), "pids.max"), "20\n");
	assert_string_equal(read_text(fake_path("/cpuset/hamn"), "cpuset.cpus"), "0-1\n");
	assert_string_equal(read_text(fake_path("/cpuset/hamn/c4"), "cpuset.mems"), "0\n");
	assert_string_equal(read_text(dev, "devices.deny"), "a *:* rwm\n");
	assert_string_equal(read_text(dev, "devices.allow"), "b 8:0 r\n");

	assert_int_equal(hamn_cgroup_freeze(cg, true, &err), 0);
	assert_int_equal(hamn_cgroup_is_frozen(cg, &frozen, &err), 0);
	assert_true(frozen);
	assert_int_equal(hamn_cgroup_freeze(cg, false, &err), 0);
	assert_string_equal(read_text(fake_path("/freezer/hamn/c4"), "freezer.state"),
			    "FROZEN\nTHAWED\n");

	write_text(fake_path("/cpu,cpuacct/hamn/c4/cpuacct.stat"), "user 3\nsystem 1\n");
	write_text(fake_path("/memory/hamn/c4/memory.stat"),
		   "cache 5\nrss 6\nrss_huge 0\ntotal_cache 50\ntotal_rss 60\n");
	write_text(fake_path("/memory/hamn/c4/memory.oom_control"),
		   "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	assert_int_equal(hamn_cgroup_stats(cg, &st, &err), 0);
	assert_int_equal(st.cpu_user_ns, 3 * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK)));
	assert_int_equal(st.mem_cache, 50);
	assert_int_equal(st.mem_rss, 60);
	assert_int_equal(st.oom_kills, 2);

	assert_int_equal(hamn_cgroup_destroy(cg, &err), 0);
	assert_false(exists(mem));
	assert_false(exists(fake_path("/memory/hamn")));
	assert_false(exists(fake_path("/cpuset/hamn")));
	hamn_cgroup_free(cg);
}

/* ---- live tests (root, real hierarchies) ---- */

static struct {
	struct hamn_cgroup *cg;
	pid_t child[2];
	char v2dir[4096];
	char tmp[64];
} live;

static void kill_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

static int live_teardown(void **state)
{
	struct hamn_error *err = NULL;

	(void)state;
	kill_child(&live.child[0]);
	kill_child(&live.child[1]);
	if (live.cg) {
		if (hamn_cgroup_destroy(live.cg, &err) < 0)
			print_error("cleanup: %s\n", err->msg);
		hamn_error_free(&err);
		hamn_cgroup_free(live.cg);
		live.cg = NULL;
	}
	for (int i = 0; live.v2dir[0] && i < 50 && rmdir(live.v2dir) < 0 && errno == EBUSY; i++)
		hamn_cg_backoff((unsigned)i);
	live.v2dir[0] = '\0';
	if (live.tmp[0])
		rm_tree(live.tmp);
	live.tmp[0] = '\0';
	return 0;
}

static uint64_t utime_of(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	/* after ") ": state ppid pgrp session tty tpgid flags, 4 fault counts, then utime */
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu", &ut), 1);
	return ut;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A child that waits for a byte on fd, then touches 8 MiB and spins. */
static pid_t spawn_busy(int *go_fd)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		volatile unsigned long spin = 0;
		volatile char *mem;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		/* volatile: the compiler must not drop the unused buffer */
		mem = malloc(8 << 20);
		for (size_t off = 0; mem && off < (8 << 20); off += 4096)
			mem[off] = 1;
		for (;;)
			spin++;
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

static bool live_v1_available(void)
{
	struct statfs sfs;

	return getuid() == 0 && !hamn_cg_is_fake() && hamn_cgroup_detect() == HAMN_CGROUP_V1 &&
	       statfs("/sys/fs/cgroup/freezer", &sfs) == 0;
}

static void live_v1_lifecycle(void **state)
{
	struct hamn_oci_resources res = { 0 };
	struct hamn_cgroup_stats st;
	struct hamn_error *err = NULL;
	char id[64];
	pid_t *pids = NULL;
	size_t n = 0;
	bool frozen = false, seen = false;
	uint64_t t1, v;
	int go, status, i;

	(void)state;
	if (!live_v1_available())
		skip();
	snprintf(id, sizeof(id), "hamn-unit-%d", (int)getpid());
	live.cg = hamn_cgroup_new(id, NULL, &err);
	assert_non_null(live.cg);
	res.has_memory_limit = true;
	res.memory_limit = 64 << 20;
	res.has_pids_limit = true;
	res.pids_limit = 20;
	res.has_cpu_shares = true;
	res.cpu_shares = 512;
	if (hamn_cgroup_create(live.cg, &res, &err) < 0)
		fail_msg("create: %s", err->msg);

	live.child[0] = spawn_busy(&go);
	if (hamn_cgroup_enter(live.cg, live.child[0], &err) < 0)
		fail_msg("enter: %s", err->msg);
	assert_int_equal(write(go, "x", 1), 1);
	close(go);

	assert_int_equal(hamn_cg_read_u64(hamn_cg_dir_for(live.cg, "memory"),
					  "memory.limit_in_bytes", &v, &err), 0);
	assert_int_equal(v, 64 << 20);
	assert_int_equal(hamn_cg_read_u64(hamn_cg_dir_for(live.cg, "pids"), "pids.max", &v, &err),
			 0);
	assert_int_equal(v, 20);
	assert_int_equal(hamn_cg_read_u64(hamn_cg_dir_for(live.cg, "cpu"), "cpu.shares", &v, &err),
			 0);
	assert_int_equal(v, 512);

	assert_int_equal(hamn_cgroup_pids(live.cg, &pids, &n, &err), 0);
	for (size_t k = 0; k < n; k++)
		seen |= pids[k] == live.child[0];
	free(pids);
	assert_true(seen);

	/* stats fill in as the child runs */
	for (i = 0; i < 500; i++) {
		assert_int_equal(hamn_cgroup_stats(live.cg, &st, &err), 0);
		if (st.mem_usage >= (8 << 20) && st.cpu_usage_ns > 0)
			break;
		sleep_ms(10);
	}
	if (st.mem_usage < (8 << 20) || st.cpu_usage_ns == 0)
		fail_msg("stats: mem_usage %llu cpu_usage_ns %llu",
			 (unsigned long long)st.mem_usage, (unsigned long long)st.cpu_usage_ns);
	assert_int_equal(st.mem_limit, 64 << 20);
	assert_int_equal(st.pids_current, 1);
	assert_int_equal(st.pids_limit, 20);

	/* frozen: no user time accrues; thawed: it does again */
	if (hamn_cgroup_freeze(live.cg, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_int_equal(hamn_cgroup_is_frozen(live.cg, &frozen, &err), 0);
	assert_true(frozen);
	t1 = utime_of(live.child[0]);
	sleep_ms(300);	/* 30 clock ticks: a running child would accrue some */
	assert_int_equal(utime_of(live.child[0]), t1);
	assert_int_equal(hamn_cgroup_freeze(live.cg, false, &err), 0);
	assert_int_equal(hamn_cgroup_is_frozen(live.cg, &frozen, &err), 0);
	assert_false(frozen);
	for (i = 0; i < 500 && utime_of(live.child[0]) == t1; i++)
		sleep_ms(10);
	assert_true(utime_of(live.child[0]) > t1);

	/* kill_all freezes, kills, thaws: the child dies of SIGKILL */
	assert_int_equal(hamn_cgroup_freeze(live.cg, true, &err), 0);
	assert_int_equal(hamn_cgroup_kill_all(live.cg, SIGKILL, &err), 0);
	assert_int_equal(waitpid(live.child[0], &status, 0), live.child[0]);
	live.child[0] = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	if (hamn_cgroup_destroy(live.cg, &err) < 0)
		fail_msg("destroy: %s", err->msg);
	for (size_t k = 0; k < live.cg->n_h; k++)
		assert_false(exists(live.cg->h[k].dir));
	hamn_cgroup_free(live.cg);
	live.cg = NULL;
}

static void expect_file(const char *ctl, const char *file, const char *want)
{
	const char *dir = hamn_cg_dir_for(live.cg, ctl);
	const char *got;

	assert_non_null(dir);
	got = read_text(dir, file);
	if (!strstr(got, want))
		fail_msg("%s/%s is '%s', expected '%s'", dir, file, got, want);
}

/* Every v1 limit file, and the memory/memsw order when raising and lowering. */
static void live_v1_apply_all(void **state)
{
	struct hamn_oci_throttle_device bps[] = { { 254, 0, 1048576 } };
	struct hamn_oci_device_rule rules[] = { { true, 'c', 1, 3, "rwm" } };
	struct hamn_oci_resources res = { 0 };
	struct hamn_error *err = NULL;
	__typeof__(*res.hugepage_limits) huge = { "2MB", 0 };
	char id[64];

	(void)state;
	if (!live_v1_available())
		skip();
	snprintf(id, sizeof(id), "hamn-unit-all-%d", (int)getpid());
	live.cg = hamn_cgroup_new(id, NULL, &err);
	assert_non_null(live.cg);
	res.has_memory_limit = res.has_memory_swap = res.has_memory_reservation = true;
	res.memory_limit = res.memory_swap = 64 << 20;
	res.memory_reservation = 32 << 20;
	res.has_memory_swappiness = true;
	res.memory_swappiness = 10;
	res.disable_oom_killer = true;
	res.has_cpu_shares = res.has_cpu_quota = res.has_cpu_period = true;
	res.cpu_shares = 256;
	res.cpu_quota = 50000;
	res.cpu_period = 100000;
	res.cpuset_cpus = "0";
	res.cpuset_mems = "0";
	res.has_pids_limit = true;
	res.pids_limit = 30;
	res.has_blkio_weight = true;
	res.blkio_weight = 500;
	res.throttle_read_bps = bps;
	res.n_throttle_read_bps = 1;
	res.hugepage_limits = &huge;	/* no v1 hugetlb hierarchy here: skipped */
	res.n_hugepage_limits = 1;
	res.devices = rules;
	res.n_devices = 1;
	if (hamn_cgroup_create(live.cg, &res, &err) < 0)
		fail_msg("create: %s", err->msg);
	expect_file("memory", "memory.limit_in_bytes", "67108864");
	expect_file("memory", "memory.soft_limit_in_bytes", "33554432");
	expect_file("memory", "memory.swappiness", "10");
	expect_file("memory", "memory.oom_control", "oom_kill_disable 1");
	expect_file("cpu", "cpu.shares", "256");
	expect_file("cpu", "cpu.cfs_quota_us", "50000");
	expect_file("cpu", "cpu.cfs_period_us", "100000");
	expect_file("cpuset", "cpuset.cpus", "0");
	expect_file("pids", "pids.max", "30");
	expect_file("blkio", "blkio.throttle.read_bps_device", "254:0 1048576");
	assert_string_equal(read_text(hamn_cg_dir_for(live.cg, "devices"), "devices.list"),
			    "c 1:3 rwm\n");
	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
		expect_file("memory", "memory.memsw.limit_in_bytes", "67108864");

	/* lower both, then raise both: one of the two orders is refused each time */
	memset(&res, 0, sizeof(res));
	res.has_memory_limit = res.has_memory_swap = true;
	res.memory_limit = res.memory_swap = 48 << 20;
	if (hamn_cgroup_update(live.cg, &res, &err) < 0)
		fail_msg("lower: %s", err->msg);
	expect_file("memory", "memory.limit_in_bytes", "50331648");
	res.memory_limit = res.memory_swap = 128 << 20;
	if (hamn_cgroup_update(live.cg, &res, &err) < 0)
		fail_msg("raise: %s", err->msg);
	expect_file("memory", "memory.limit_in_bytes", "134217728");
	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
		expect_file("memory", "memory.memsw.limit_in_bytes", "134217728");
	/* update without device rules leaves them alone */
	assert_string_equal(read_text(hamn_cg_dir_for(live.cg, "devices"), "devices.list"),
			    "c 1:3 rwm\n");

	if (hamn_cgroup_destroy(live.cg, &err) < 0)
		fail_msg("destroy: %s", err->msg);
	for (size_t k = 0; k < live.cg->n_h; k++)
		assert_false(exists(live.cg->h[k].dir));
}

/* Child: move into the cgroup (parent did), then report which opens work. */
static int probe_child(const char *node)
{
	int fd, r = 0;

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		r |= 1;
	else
		close(fd);
	fd = open(node, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r |= 2;
		close(fd);
	} else if (errno != EPERM) {
		r |= 4;
	}
	return r;
}

/* Run probe_child inside the cgroup; returns its exit code. */
static int probe_in_cgroup(const char *node)
{
	struct hamn_error *err = NULL;
	char pidbuf[32];
	int p[2], status;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(p[0], &c, 1) != 1)
			_exit(100);
		_exit(probe_child(node));
	}
	live.child[1] = pid;
	close(p[0]);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	if (hamn_cg_write(live.v2dir, "cgroup.procs", pidbuf, &err) < 0)
		fail_msg("move child: %s", err->msg);
	assert_int_equal(write(p[1], "x", 1), 1);
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	live.child[1] = 0;
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void live_v2_device_program(void **state)
{
	struct hamn_oci_device_rule only_null[] = { { false, 'a', -1, -1, "rwm" },
						    { true, 'c', 1, 3, "rwm" } };
	struct hamn_oci_device_rule plus_full[] = { { false, 'a', -1, -1, "rwm" },
						    { true, 'c', 1, 3, "rwm" },
						    { true, 'c', 1, 7, "r" } };
	struct hamn_oci_device_rule no_write[] = { { false, 'a', -1, -1, "rwm" },
						   { true, 'c', 1, 3, "rwm" },
						   { true, 'c', 1, 7, "rw" },
						   { false, 'c', 1, 7, "w" } };
	struct hamn_error *err = NULL;
	struct bpf_insn *prog = NULL;
	char *text = NULL, *own = NULL, node[128];
	struct statfs sfs;
	uint32_t ids[8], n_ids = 8;
	union bpf_attr a;
	size_t n;
	int fd;

	(void)state;
	if (getuid() != 0 || statfs("/sys/fs/cgroup/unified", &sfs) < 0 ||
	    sfs.f_type != 0x63677270)
		skip();
	assert_int_equal(hamn_cg_read("/proc/self", "cgroup", &text, &err), 0);
	assert_int_equal(hamn_cg_parse_self(text, "", &own, &err), 0);
	snprintf(live.v2dir, sizeof(live.v2dir), "/sys/fs/cgroup/unified%s%shamn-test-%d", own,
		 streq(own, "/") ? "" : "/", (int)getpid());
	free(text);
	free(own);
	assert_int_equal(mkdir(live.v2dir, 0755), 0);
	snprintf(live.tmp, sizeof(live.tmp), "/tmp/hamn-bpf-XXXXXX");
	assert_non_null(mkdtemp(live.tmp));
	snprintf(node, sizeof(node), "%s/full", live.tmp);
	if (mknod(node, S_IFCHR | 0666, makedev(1, 7)) < 0)
		skip();

	fd = open(live.v2dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(hamn_cg_bpf_devices(only_null, 2, &prog, &n, &err), 0);
	if (hamn_cg_bpf_attach(fd, prog, n, &err) < 0)
		fail_msg("attach: %s", err->msg);
	free(prog);
	/* /dev/null opens; the copy of /dev/full is EPERM */
	assert_int_equal(probe_in_cgroup(node), 0);

	/* replacing the program: exactly one stays attached, and it allows 1:7 */
	assert_int_equal(hamn_cg_bpf_devices(plus_full, 3, &prog, &n, &err), 0);
	if (hamn_cg_bpf_attach(fd, prog, n, &err) < 0)
		fail_msg("re-attach: %s", err->msg);
	free(prog);
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)ids;
	a.query.prog_cnt = n_ids;
	assert_int_equal(sys_bpf(BPF_PROG_QUERY, &a, sizeof(a)), 0);
	assert_int_equal(a.query.prog_cnt, 1);
	assert_int_equal(probe_in_cgroup(node), 2);

	/* a partial deny loads too: reading 1:7 stays allowed, its "w" is taken away */
	assert_int_equal(hamn_cg_bpf_devices(no_write, 4, &prog, &n, &err), 0);
	if (hamn_cg_bpf_attach(fd, prog, n, &err) < 0)
		fail_msg("attach partial deny: %s", err->msg);
	free(prog);
	assert_int_equal(probe_in_cgroup(node), 2);
	close(fd);
}

/*
 * The v2 backend on a real cgroup2 mount: the test seam pointed at
 * /sys/fs/cgroup/unified with a test-made directory as "own" cgroup (its
 * files exist, so the seam's append-writes land in the kernel's files).
 * enter, stats, freeze via cgroup.freeze + cgroup.events, the device
 * program attached by create, cgroup.kill, destroy.
 */
static char v2_self[4200];

static int live_v2_teardown(void **state)
{
	live_teardown(state);
	unsetenv("HAMN_TEST_CGROUP_ROOT");
	unsetenv("HAMN_TEST_CGROUP_SELF");
	for (int i = 0; v2_self[0] && i < 50 && rmdir(v2_self) < 0 && errno == EBUSY; i++)
		hamn_cg_backoff((unsigned)i);
	v2_self[0] = '\0';
	return 0;
}

static void live_v2_lifecycle(void **state)
{
	struct hamn_oci_device_rule rules[] = { { true, 'c', 1, 3, "rwm" } };
	struct hamn_oci_resources res = { 0 };
	struct hamn_cgroup_stats st;
	struct hamn_error *err = NULL;
	struct statfs sfs;
	bool frozen = false;
	char self[4096], node[128], hamn_dir[4300], *text = NULL, *own = NULL;
	uint64_t t1;
	int go, status, i;

	(void)state;
	if (getuid() != 0 || statfs("/sys/fs/cgroup/unified", &sfs) < 0 ||
	    sfs.f_type != CGROUP2_SUPER_MAGIC)
		skip();
	assert_int_equal(hamn_cg_read("/proc/self", "cgroup", &text, &err), 0);
	assert_int_equal(hamn_cg_parse_self(text, "", &own, &err), 0);
	snprintf(self, sizeof(self), "%s%shamn-test-v2-%d", own, streq(own, "/") ? "" : "/",
		 (int)getpid());
	free(text);
	free(own);
	snprintf(v2_self, sizeof(v2_self), "/sys/fs/cgroup/unified%s", self);
	assert_int_equal(mkdir(v2_self, 0755), 0);
	setenv("HAMN_TEST_CGROUP_ROOT", "/sys/fs/cgroup/unified", 1);
	setenv("HAMN_TEST_CGROUP_SELF", self, 1);
	assert_int_equal(hamn_cgroup_detect(), HAMN_CGROUP_V2);

	live.cg = hamn_cgroup_new("c1", NULL, &err);
	assert_non_null(live.cg);
	res.devices = rules;
	res.n_devices = 1;
	if (hamn_cgroup_create(live.cg, &res, &err) < 0)
		fail_msg("create: %s", err->msg);
	live.v2dir[0] = '\0';
	snprintf(live.v2dir, sizeof(live.v2dir), "%s", live.cg->h[0].dir);

	/* the device program came with create: /dev/null yes, a copy of /dev/full no */
	snprintf(live.tmp, sizeof(live.tmp), "/tmp/hamn-bpf-XXXXXX");
	assert_non_null(mkdtemp(live.tmp));
	snprintf(node, sizeof(node), "%s/full", live.tmp);
	assert_int_equal(mknod(node, S_IFCHR | 0666, makedev(1, 7)), 0);
	assert_int_equal(probe_in_cgroup(node), 0);

	live.child[0] = spawn_busy(&go);
	if (hamn_cgroup_enter(live.cg, live.child[0], &err) < 0)
		fail_msg("enter: %s", err->msg);
	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	for (i = 0; i < 500; i++) {
		assert_int_equal(hamn_cgroup_stats(live.cg, &st, &err), 0);
		if (st.cpu_usage_ns > 0)
			break;
		sleep_ms(10);
	}
	assert_true(st.cpu_usage_ns > 0);

	if (hamn_cgroup_freeze(live.cg, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_int_equal(hamn_cgroup_is_frozen(live.cg, &frozen, &err), 0);
	assert_true(frozen);
	t1 = utime_of(live.child[0]);
	sleep_ms(300);	/* 30 clock ticks: a running child would accrue some */
	assert_int_equal(utime_of(live.child[0]), t1);
	assert_int_equal(hamn_cgroup_freeze(live.cg, false, &err), 0);
	assert_int_equal(hamn_cgroup_is_frozen(live.cg, &frozen, &err), 0);
	assert_false(frozen);
	for (i = 0; i < 500 && utime_of(live.child[0]) == t1; i++)
		sleep_ms(10);
	assert_true(utime_of(live.child[0]) > t1);

	/* cgroup.kill takes a frozen cgroup down too */
	assert_int_equal(hamn_cgroup_freeze(live.cg, true, &err), 0);
	assert_int_equal(hamn_cgroup_kill_all(live.cg, SIGKILL, &err), 0);
	assert_int_equal(waitpid(live.child[0], &status, 0), live.child[0]);
	live.child[0] = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	if (hamn_cgroup_destroy(live.cg, &err) < 0)
		fail_msg("destroy: %s", err->msg);
	assert_false(exists(live.v2dir));
	snprintf(hamn_dir, sizeof(hamn_dir), "%s/hamn", v2_self);
	assert_false(exists(hamn_dir));
	live.v2dir[0] = '\0';
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shares_to_weight),
		cmocka_unit_test(blkio_to_io_weight),
		cmocka_unit_test(cpu_max_text),
		cmocka_unit_test(v2_swap_translation),
		cmocka_unit_test(placement_rules),
		cmocka_unit_test(id_validation),
		cmocka_unit_test(parse_self),
		cmocka_unit_test(parse_mountinfo),
		cmocka_unit_test(device_rule_text),
		cmocka_unit_test(bpf_program_shapes),
		cmocka_unit_test(bpf_program_semantics),
		cmocka_unit_test(bpf_program_errors),
		cmocka_unit_test_teardown(v2_fake_create, fake_teardown),
		cmocka_unit_test_teardown(v2_fake_lifecycle, fake_teardown),
		cmocka_unit_test_teardown(v2_fake_refusals, fake_teardown),
		cmocka_unit_test_teardown(v2_fake_explicit_path, fake_teardown),
		cmocka_unit_test_teardown(v1_fake_create, fake_teardown),
		cmocka_unit_test_teardown(live_v1_lifecycle, live_teardown),
		cmocka_unit_test_teardown(live_v1_apply_all, live_teardown),
		cmocka_unit_test_teardown(live_v2_device_program, live_teardown),
		cmocka_unit_test_teardown(live_v2_lifecycle, live_v2_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

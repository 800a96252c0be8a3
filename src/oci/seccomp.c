/*
 * seccomp.c - linux.seccomp of config.json as plain data, and Docker's
 * seccomp profile format turned into it.
 *
 * The OCI model keeps syscall names as written: whether a name exists on
 * this machine is for the compiler (src/runtime/seccomp_bpf.c) to decide,
 * and it skips the unknown ones as runc does. A Docker profile is resolved
 * here, once, for one architecture, kernel and capability set: the result is
 * an ordinary linux.seccomp object with nothing conditional left in it.
 *
 * Deliberately not here: syscall numbers, libseccomp, BPF.
 */
#include <pthread.h>
#include <sys/utsname.h>

#include "oci/internal.h"

/* Generated from data/seccomp-default.json by tools/embed.sh (data/meson.build). */
extern const char hamn_seccomp_default_json[];
extern const unsigned long hamn_seccomp_default_json_len;

/* The kernel keeps 16 bits of SECCOMP_RET_DATA for an errno. */
#define ERRNO_RET_MAX 0xffff
/* seccomp_data.args has six members. */
#define ARG_INDEX_MAX 5

static const struct {
	const char *name;
	enum hamn_seccomp_action action;
} action_names[] = {
	/* The first name of an action is the one emitted. */
	{ "SCMP_ACT_KILL", HAMN_SCMP_ACT_KILL },
	{ "SCMP_ACT_KILL_THREAD", HAMN_SCMP_ACT_KILL },
	{ "SCMP_ACT_KILL_PROCESS", HAMN_SCMP_ACT_KILL_PROCESS },
	{ "SCMP_ACT_TRAP", HAMN_SCMP_ACT_TRAP },
	{ "SCMP_ACT_ERRNO", HAMN_SCMP_ACT_ERRNO },
	{ "SCMP_ACT_TRACE", HAMN_SCMP_ACT_TRACE },
	{ "SCMP_ACT_ALLOW", HAMN_SCMP_ACT_ALLOW },
	{ "SCMP_ACT_LOG", HAMN_SCMP_ACT_LOG },
	{ "SCMP_ACT_NOTIFY", HAMN_SCMP_ACT_NOTIFY },
};

static const char *const op_names[] = {
	[HAMN_SCMP_CMP_NE] = "SCMP_CMP_NE",
	[HAMN_SCMP_CMP_LT] = "SCMP_CMP_LT",
	[HAMN_SCMP_CMP_LE] = "SCMP_CMP_LE",
	[HAMN_SCMP_CMP_EQ] = "SCMP_CMP_EQ",
	[HAMN_SCMP_CMP_GE] = "SCMP_CMP_GE",
	[HAMN_SCMP_CMP_GT] = "SCMP_CMP_GT",
	[HAMN_SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

/* The architectures of the runtime spec (config-linux.md, "seccomp"). */
static const char *const arch_names[] = {
	"SCMP_ARCH_X86",	 "SCMP_ARCH_X86_64",	"SCMP_ARCH_X32",
	"SCMP_ARCH_ARM",	 "SCMP_ARCH_AARCH64",	"SCMP_ARCH_MIPS",
	"SCMP_ARCH_MIPS64",	 "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
	"SCMP_ARCH_MIPSEL64",	 "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",	 "SCMP_ARCH_PPC64LE",	"SCMP_ARCH_S390",
	"SCMP_ARCH_S390X",	 "SCMP_ARCH_PARISC",	"SCMP_ARCH_PARISC64",
	"SCMP_ARCH_RISCV64",	 "SCMP_ARCH_LOONGARCH64",
};

static const char *const flag_names[] = {
	"SECCOMP_FILTER_FLAG_TSYNC",
	"SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool name_in(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (streq(names[i], s))
			return true;
	return false;
}

static const char *action_name(enum hamn_seccomp_action a)
{
	for (size_t i = 0; i < N_ELEMS(action_names); i++)
		if (action_names[i].action == a)
			return action_names[i].name;
	return "SCMP_ACT_KILL";	/* not reached for a parsed value */
}

/* ---- parsing linux.seccomp ---- */

static int parse_action(json_t *obj, const char *path, const char *key,
			enum hamn_seccomp_action *out, struct hamn_error **err)
{
	_cleanup_free_ char *s = NULL;

	if (oci_get_string(obj, path, key, true, &s, err) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMS(action_names); i++) {
		if (streq(action_names[i].name, s)) {
			*out = action_names[i].action;
			return 0;
		}
	}
	return oci_fail(err, path, key, "unknown action '%s'", s);
}

static int parse_errno_ret(json_t *obj, const char *path, const char *key, bool *has,
			   unsigned int *out, struct hamn_error **err)
{
	int64_t v = 0;

	if (oci_get_int(obj, path, key, 0, ERRNO_RET_MAX, has, &v, err) < 0)
		return -1;
	if (*has)
		*out = (unsigned int)v;
	return 0;
}

/* A vector of names each of which must be in the table. */
static int parse_names(json_t *obj, const char *path, const char *key, const char *const *table,
		       size_t n, const char *what, char ***out, struct hamn_error **err)
{
	_cleanup_strv_ char **v = NULL;

	if (oci_get_strv(obj, path, key, &v, err) < 0)
		return -1;
	for (size_t i = 0; v && v[i]; i++) {
		if (!name_in(table, n, v[i])) {
			_cleanup_free_ char *ipath = oci_path_key(path, key);

			return oci_fail(err, ipath, NULL, "unknown %s '%s'", what, v[i]);
		}
	}
	*out = steal_pointer(&v);
	return 0;
}

static int parse_arg(json_t *a, const char *path, struct hamn_oci_seccomp_arg *out,
		     struct hamn_error **err)
{
	_cleanup_free_ char *op = NULL;
	int64_t v = 0;

	if (oci_require_object(a, path, err) < 0)
		return -1;
	if (oci_get_int_req(a, path, "index", 0, ARG_INDEX_MAX, &v, err) < 0)
		return -1;
	out->index = (unsigned int)v;
	/* uint64: the document is parsed with big integers (base/json.h) */
	out->value_two = 0;
	if (oci_get_uint_req(a, path, "value", UINT64_MAX, &out->value, err) < 0 ||
	    oci_get_uint(a, path, "valueTwo", UINT64_MAX, NULL, &out->value_two, err) < 0)
		return -1;
	if (oci_get_string(a, path, "op", true, &op, err) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMS(op_names); i++) {
		if (streq(op_names[i], op)) {
			out->op = (enum hamn_seccomp_op)i;
			return 0;
		}
	}
	return oci_fail(err, path, "op", "unknown operator '%s'", op);
}

static int parse_args(json_t *rule, const char *path, struct hamn_oci_seccomp_rule *r,
		      struct hamn_error **err)
{
	_cleanup_free_ char *apath = oci_path_key(path, "args");
	json_t *arr, *a;
	size_t i;

	if (oci_get_array(rule, path, "args", &arr, err) < 0)
		return -1;
	if (!arr || json_array_size(arr) == 0)
		return 0;
	r->args = xcalloc(json_array_size(arr), sizeof(*r->args));
	json_array_foreach(arr, i, a) {
		_cleanup_free_ char *ipath = oci_path_index(apath, i);

		if (parse_arg(a, ipath, &r->args[i], err) < 0)
			return -1;
		r->n_args = i + 1;
	}
	return 0;
}

/*
 * One syscalls[] entry. Docker profiles may also name a single syscall with
 * "name" (their older form); OCI configs must use "names".
 */
static int parse_rule(json_t *rule, const char *path, bool docker, struct hamn_oci_seccomp_rule *r,
		      struct hamn_error **err)
{
	_cleanup_free_ char *one = NULL;

	if (oci_require_object(rule, path, err) < 0)
		return -1;
	if (oci_get_strv(rule, path, "names", &r->names, err) < 0)
		return -1;
	if (docker && oci_get_string(rule, path, "name", false, &one, err) < 0)
		return -1;
	if (one && r->names)
		return oci_fail(err, path, NULL, "'name' and 'names' are both set");
	if (one)
		strv_push(&r->names, one);
	if (!r->names || !r->names[0])
		return oci_fail(err, path, "names", "must be a non-empty array of strings");
	for (size_t i = 0; r->names[i]; i++)
		if (!r->names[i][0])
			return oci_fail(err, path, "names", "empty syscall name");
	if (parse_action(rule, path, "action", &r->action, err) < 0)
		return -1;
	if (parse_errno_ret(rule, path, "errnoRet", &r->has_errno_ret, &r->errno_ret, err) < 0)
		return -1;
	return parse_args(rule, path, r, err);
}

static void rule_release(struct hamn_oci_seccomp_rule *r)
{
	hamn_strv_free(r->names);
	free(r->args);
}

void hamn_oci_seccomp_free(struct hamn_oci_seccomp *s)
{
	if (!s)
		return;
	hamn_strv_free(s->architectures);
	hamn_strv_free(s->flags);
	for (size_t i = 0; i < s->n_rules; i++)
		rule_release(&s->rules[i]);
	free(s->rules);
	free(s);
}

/* defaultAction, defaultErrnoRet and flags: the same in both formats. */
static int parse_header(json_t *obj, const char *path, struct hamn_oci_seccomp *s,
			struct hamn_error **err)
{
	if (oci_require_object(obj, path, err) < 0)
		return -1;
	if (parse_action(obj, path, "defaultAction", &s->default_action, err) < 0)
		return -1;
	if (parse_errno_ret(obj, path, "defaultErrnoRet", &s->has_default_errno_ret,
			    &s->default_errno_ret, err) < 0)
		return -1;
	return parse_names(obj, path, "flags", flag_names, N_ELEMS(flag_names), "flag",
			   &s->flags, err);
}

static int parse_oci(json_t *obj, const char *path, struct hamn_oci_seccomp *s,
		     struct hamn_error **err)
{
	_cleanup_free_ char *spath = oci_path_key(path, "syscalls");
	json_t *arr, *rule;
	size_t i;

	if (parse_header(obj, path, s, err) < 0)
		return -1;
	if (parse_names(obj, path, "architectures", arch_names, N_ELEMS(arch_names),
			"architecture", &s->architectures, err) < 0)
		return -1;
	if (oci_get_array(obj, path, "syscalls", &arr, err) < 0)
		return -1;
	if (!arr || json_array_size(arr) == 0)
		return 0;
	s->rules = xcalloc(json_array_size(arr), sizeof(*s->rules));
	json_array_foreach(arr, i, rule) {
		_cleanup_free_ char *rpath = oci_path_index(spath, i);

		/* Count the entry first: a half-parsed rule is released with the rest. */
		s->n_rules = i + 1;
		if (parse_rule(rule, rpath, false, &s->rules[i], err) < 0)
			return -1;
	}
	return 0;
}

struct hamn_oci_seccomp *hamn_oci_seccomp_parse(json_t *obj, struct hamn_error **err)
{
	struct hamn_oci_seccomp *s = xzalloc(sizeof(*s));

	if (parse_oci(obj, "linux.seccomp", s, err) < 0) {
		hamn_oci_seccomp_free(s);
		return NULL;
	}
	return s;
}

/* ---- emitting ---- */

static json_t *arg_to_json(const struct hamn_oci_seccomp_arg *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer(a->index));
	json_object_set_new(o, "value", hamn_json_uint64_new(a->value));
	if (a->value_two || a->op == HAMN_SCMP_CMP_MASKED_EQ)
		json_object_set_new(o, "valueTwo", hamn_json_uint64_new(a->value_two));
	json_object_set_new(o, "op", json_string(op_names[a->op]));
	return o;
}

static json_t *rule_to_json(const struct hamn_oci_seccomp_rule *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "names", hamn_json_from_strv(r->names));
	json_object_set_new(o, "action", json_string(action_name(r->action)));
	if (r->has_errno_ret)
		json_object_set_new(o, "errnoRet", json_integer(r->errno_ret));
	if (r->n_args > 0) {
		json_t *args = json_array();

		for (size_t i = 0; i < r->n_args; i++)
			json_array_append_new(args, arg_to_json(&r->args[i]));
		json_object_set_new(o, "args", args);
	}
	return o;
}

json_t *hamn_oci_seccomp_to_json(const struct hamn_oci_seccomp *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "defaultAction", json_string(action_name(s->default_action)));
	if (s->has_default_errno_ret)
		json_object_set_new(o, "defaultErrnoRet", json_integer(s->default_errno_ret));
	if (s->architectures)
		json_object_set_new(o, "architectures", hamn_json_from_strv(s->architectures));
	if (s->flags)
		json_object_set_new(o, "flags", hamn_json_from_strv(s->flags));
	if (s->n_rules > 0) {
		json_t *rules = json_array();

		for (size_t i = 0; i < s->n_rules; i++)
			json_array_append_new(rules, rule_to_json(&s->rules[i]));
		json_object_set_new(o, "syscalls", rules);
	}
	return o;
}

/* ---- Docker profiles ---- */

/*
 * What a profile's conditions are matched against. `names` are the spellings
 * of the architecture in includes/excludes "arches": Docker writes Go's names
 * (amd64, arm64), older profiles and people write the kernel's.
 */
struct host {
	const char *scmp_arch;	/* NULL when hamn does not know this machine */
	const char *names[4];
	uint64_t caps;
	int kernel_major, kernel_minor;
};

static const struct {
	const char *machine;	/* uname -m, or a prefix of it ending in '*' */
	const char *scmp_arch;
	const char *names[3];
} machines[] = {
	{ "x86_64", "SCMP_ARCH_X86_64", { "amd64", "x86_64" } },
	{ "i?86", "SCMP_ARCH_X86", { "386", "x86", "i386" } },
	{ "aarch64", "SCMP_ARCH_AARCH64", { "arm64", "aarch64" } },
	{ "arm*", "SCMP_ARCH_ARM", { "arm" } },
	{ "ppc64le", "SCMP_ARCH_PPC64LE", { "ppc64le" } },
	{ "ppc64", "SCMP_ARCH_PPC64", { "ppc64" } },
	{ "ppc", "SCMP_ARCH_PPC", { "ppc" } },
	{ "s390x", "SCMP_ARCH_S390X", { "s390x" } },
	{ "s390", "SCMP_ARCH_S390", { "s390" } },
	{ "riscv64", "SCMP_ARCH_RISCV64", { "riscv64" } },
	{ "loongarch64", "SCMP_ARCH_LOONGARCH64", { "loong64", "loongarch64" } },
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{ "mips64", "SCMP_ARCH_MIPSEL64", { "mips64le", "mipsel64" } },
	{ "mips", "SCMP_ARCH_MIPSEL", { "mipsle", "mipsel" } },
#else
	{ "mips64", "SCMP_ARCH_MIPS64", { "mips64" } },
	{ "mips", "SCMP_ARCH_MIPS", { "mips" } },
#endif
	{ "parisc64", "SCMP_ARCH_PARISC64", { "parisc64" } },
	{ "parisc", "SCMP_ARCH_PARISC", { "parisc" } },
};

static bool machine_matches(const char *pattern, const char *machine)
{
	size_t n = strlen(pattern);

	if (pattern[n - 1] == '*')
		return strncmp(pattern, machine, n - 1) == 0;
	if (n == 4 && pattern[0] == 'i' && pattern[1] == '?')
		return strlen(machine) == 4 && machine[0] == 'i' && streq(machine + 2, pattern + 2);
	return streq(pattern, machine);
}

static void host_init(struct host *h, const char *machine, const char *release, uint64_t caps)
{
	memset(h, 0, sizeof(*h));
	h->caps = caps;
	h->names[0] = machine;
	for (size_t i = 0; i < N_ELEMS(machines); i++) {
		if (!machine_matches(machines[i].machine, machine))
			continue;
		h->scmp_arch = machines[i].scmp_arch;
		for (size_t j = 0; j < N_ELEMS(machines[i].names); j++)
			h->names[j + 1] = machines[i].names[j];
		break;
	}
	/* An unreadable release counts as 0.0: every minKernel rule is left out. */
	if (sscanf(release, "%d.%d", &h->kernel_major, &h->kernel_minor) != 2)
		h->kernel_major = h->kernel_minor = 0;
}

static bool host_is_arch(const struct host *h, char *const *arches)
{
	for (size_t i = 0; arches && arches[i]; i++)
		for (size_t j = 0; j < N_ELEMS(h->names); j++)
			if (streq(h->names[j], arches[i]))
				return true;
	return false;
}

/* Unknown capability names count as not held. */
static bool host_has_cap(const struct host *h, const char *name)
{
	int cap = hamn_oci_cap_from_name(name);

	return cap >= 0 && cap < 64 && (h->caps & (1ULL << cap));
}

static int parse_kernel_version(const char *s, const char *path, int *major, int *minor,
				struct hamn_error **err)
{
	char tail = 0;
	int n = sscanf(s, "%d.%d%c", major, minor, &tail);

	if (n < 2 || (n == 3 && tail != '.') || *major < 0 || *minor < 0)
		return oci_fail(err, path, "minKernel", "invalid kernel version '%s'", s);
	return 0;
}

/* Does the rule's "includes" object hold on this host? */
static int check_includes(json_t *rule, const char *path, const struct host *h, bool *ok,
			  struct hamn_error **err)
{
	_cleanup_free_ char *ipath = oci_path_key(path, "includes");
	_cleanup_strv_ char **caps = NULL, **arches = NULL;
	_cleanup_free_ char *min_kernel = NULL;
	json_t *inc;
	int major, minor;

	*ok = true;
	if (oci_get_object(rule, path, "includes", &inc, err) < 0)
		return -1;
	if (!inc)
		return 0;
	if (oci_get_strv(inc, ipath, "caps", &caps, err) < 0 ||
	    oci_get_strv(inc, ipath, "arches", &arches, err) < 0 ||
	    oci_get_string(inc, ipath, "minKernel", false, &min_kernel, err) < 0)
		return -1;
	for (size_t i = 0; caps && caps[i]; i++)
		if (!host_has_cap(h, caps[i]))
			*ok = false;
	if (arches && arches[0] && !host_is_arch(h, arches))
		*ok = false;
	if (min_kernel) {
		if (parse_kernel_version(min_kernel, ipath, &major, &minor, err) < 0)
			return -1;
		if (h->kernel_major < major ||
		    (h->kernel_major == major && h->kernel_minor < minor))
			*ok = false;
	}
	return 0;
}

/* Does the rule's "excludes" object leave it out on this host? */
static int check_excludes(json_t *rule, const char *path, const struct host *h, bool *ok,
			  struct hamn_error **err)
{
	_cleanup_free_ char *epath = oci_path_key(path, "excludes");
	_cleanup_strv_ char **caps = NULL, **arches = NULL;
	json_t *exc;

	if (oci_get_object(rule, path, "excludes", &exc, err) < 0)
		return -1;
	if (!exc)
		return 0;
	if (oci_get_strv(exc, epath, "caps", &caps, err) < 0 ||
	    oci_get_strv(exc, epath, "arches", &arches, err) < 0)
		return -1;
	for (size_t i = 0; caps && caps[i]; i++)
		if (host_has_cap(h, caps[i]))
			*ok = false;
	if (host_is_arch(h, arches))
		*ok = false;
	return 0;
}

/*
 * The architectures to filter: the native one and its sub-architectures from
 * archMap (so that a 32-bit syscall entry cannot bypass the filter), or the
 * older top-level "architectures" list as it is.
 */
static int resolve_arches(json_t *profile, const char *path, const struct host *h,
			  char ***out, struct hamn_error **err)
{
	_cleanup_free_ char *mpath = oci_path_key(path, "archMap");
	json_t *map, *entry;
	size_t i;

	if (parse_names(profile, path, "architectures", arch_names, N_ELEMS(arch_names),
			"architecture", out, err) < 0)
		return -1;
	if (oci_get_array(profile, path, "archMap", &map, err) < 0)
		return -1;
	json_array_foreach(map, i, entry) {
		_cleanup_free_ char *epath = oci_path_index(mpath, i);
		_cleanup_free_ char *arch = NULL;
		_cleanup_strv_ char **subs = NULL;

		if (oci_require_object(entry, epath, err) < 0 ||
		    oci_get_string(entry, epath, "architecture", true, &arch, err) < 0 ||
		    parse_names(entry, epath, "subArchitectures", arch_names, N_ELEMS(arch_names),
				"architecture", &subs, err) < 0)
			return -1;
		if (!name_in(arch_names, N_ELEMS(arch_names), arch))
			return oci_fail(err, epath, "architecture", "unknown architecture '%s'",
					arch);
		if (!streq(arch, h->scmp_arch) || strv_contains(*out, arch))
			continue;
		strv_push(out, arch);
		for (size_t j = 0; subs && subs[j]; j++)
			if (!strv_contains(*out, subs[j]))
				strv_push(out, subs[j]);
	}
	if (!*out && h->scmp_arch)
		strv_push(out, h->scmp_arch);
	return 0;
}

/* Parse every rule (so that a bad one fails on any host) and keep those that apply. */
static int select_rules(json_t *profile, const char *path, const struct host *h,
			struct hamn_oci_seccomp *s, struct hamn_error **err)
{
	_cleanup_free_ char *spath = oci_path_key(path, "syscalls");
	json_t *arr, *rule;
	size_t i;

	if (oci_get_array(profile, path, "syscalls", &arr, err) < 0)
		return -1;
	if (!arr || json_array_size(arr) == 0)
		return 0;
	s->rules = xcalloc(json_array_size(arr), sizeof(*s->rules));
	json_array_foreach(arr, i, rule) {
		_cleanup_free_ char *rpath = oci_path_index(spath, i);
		struct hamn_oci_seccomp_rule *r = &s->rules[s->n_rules];
		bool ok = true;

		s->n_rules++;
		if (parse_rule(rule, rpath, true, r, err) < 0 ||
		    check_includes(rule, rpath, h, &ok, err) < 0 ||
		    check_excludes(rule, rpath, h, &ok, err) < 0)
			return -1;
		if (!ok) {
			rule_release(r);
			memset(r, 0, sizeof(*r));
			s->n_rules--;
		}
	}
	return 0;
}

json_t *hamn_oci_seccomp_from_docker_profile_on(json_t *profile, uint64_t caps,
						const char *machine, const char *kernel_release,
						struct hamn_error **err)
{
	struct hamn_oci_seccomp *s = xzalloc(sizeof(*s));
	const char *path = "seccomp profile";
	struct host h;
	json_t *out = NULL;

	host_init(&h, machine, kernel_release, caps);
	if (parse_header(profile, path, s, err) == 0 &&
	    resolve_arches(profile, path, &h, &s->architectures, err) == 0 &&
	    select_rules(profile, path, &h, s, err) == 0)
		out = hamn_oci_seccomp_to_json(s);
	hamn_oci_seccomp_free(s);
	return out;
}

json_t *hamn_oci_seccomp_from_docker_profile(json_t *profile, uint64_t caps,
					     struct hamn_error **err)
{
	struct utsname u;

	if (uname(&u) < 0) {
		hamn_error_set(err, errno, "uname");
		return NULL;
	}
	return hamn_oci_seccomp_from_docker_profile_on(profile, caps, u.machine, u.release, err);
}

/* ---- the default profile ---- */

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static json_t *default_profile;

static void load_default(void)
{
	struct hamn_error *err = NULL;

	default_profile = hamn_json_parse(hamn_seccomp_default_json,
					  hamn_seccomp_default_json_len, &err);
	if (!default_profile)
		hamn_bug("embedded seccomp-default.json: %s", err->msg);
}

json_t *hamn_oci_seccomp_default_profile(void)
{
	pthread_once(&default_once, load_default);
	return json_deep_copy(default_profile);
}

/*
 * top_args.c - docker top's ps_args turned into columns (top.h). dockerd
 * runs the host's ps with these arguments; hamnd reads /proc itself, so it
 * understands the forms people use (-ef, aux, -o LIST) and refuses the
 * rest with a 400 that says what it knows, rather than guessing.
 */
#include "engine/top.h"

static const struct top_col ef_cols[] = {
	{ "UID", TOP_USER }, { "PID", TOP_PID }, { "PPID", TOP_PPID }, { "C", TOP_C },
	{ "STIME", TOP_STIME }, { "TTY", TOP_TTY }, { "TIME", TOP_TIME }, { "CMD", TOP_ARGS },
};
static const struct top_col e_cols[] = {
	{ "PID", TOP_PID }, { "TTY", TOP_TTY }, { "TIME", TOP_TIME }, { "CMD", TOP_COMM },
};
static const struct top_col aux_cols[] = {
	{ "USER", TOP_USER }, { "PID", TOP_PID }, { "%CPU", TOP_PCPU }, { "%MEM", TOP_PMEM },
	{ "VSZ", TOP_VSZ }, { "RSS", TOP_RSS }, { "TTY", TOP_TTY }, { "STAT", TOP_STAT },
	{ "START", TOP_STIME }, { "TIME", TOP_BSDTIME }, { "COMMAND", TOP_ARGS },
};
static const struct top_col ax_cols[] = {
	{ "PID", TOP_PID }, { "TTY", TOP_TTY }, { "STAT", TOP_STAT }, { "TIME", TOP_BSDTIME },
	{ "COMMAND", TOP_ARGS },
};

/* ps -o field names (procps spellings and aliases) and their headers. */
static const struct {
	const char *name;
	struct top_col col;
} o_fields[] = {
	{ "pid", { "PID", TOP_PID } },		{ "tgid", { "PID", TOP_PID } },
	{ "ppid", { "PPID", TOP_PPID } },	{ "user", { "USER", TOP_USER } },
	{ "euser", { "USER", TOP_USER } },	{ "uname", { "USER", TOP_USER } },
	{ "uid", { "UID", TOP_UID } },		{ "euid", { "UID", TOP_UID } },
	{ "comm", { "COMMAND", TOP_COMM } },	{ "ucmd", { "CMD", TOP_COMM } },
	{ "ucomm", { "COMMAND", TOP_COMM } },	{ "args", { "COMMAND", TOP_ARGS } },
	{ "command", { "COMMAND", TOP_ARGS } }, { "cmd", { "CMD", TOP_ARGS } },
	{ "rss", { "RSS", TOP_RSS } },		{ "rssize", { "RSS", TOP_RSS } },
	{ "rsz", { "RSZ", TOP_RSS } },		{ "vsz", { "VSZ", TOP_VSZ } },
	{ "vsize", { "VSZ", TOP_VSZ } },	{ "stat", { "STAT", TOP_STAT } },
	{ "time", { "TIME", TOP_TIME } },	{ "cputime", { "TIME", TOP_TIME } },
	{ "tty", { "TT", TOP_TTY } },		{ "tname", { "TTY", TOP_TTY } },
	{ "tt", { "TT", TOP_TTY } },		{ "pcpu", { "%CPU", TOP_PCPU } },
	{ "%cpu", { "%CPU", TOP_PCPU } },	{ "pmem", { "%MEM", TOP_PMEM } },
	{ "%mem", { "%MEM", TOP_PMEM } },	{ "c", { "C", TOP_C } },
	{ "stime", { "STIME", TOP_STIME } },	{ "start_time", { "START", TOP_STIME } },
	{ "etime", { "ELAPSED", TOP_ETIME } },
};

static const char supported[] = "hamn reads /proc itself and supports -ef, -e, aux, ax "
				"and -o with pid, ppid, user, uid, comm, args, cmd, rss, vsz, "
				"stat, time, tty, pcpu, pmem, c, stime, etime";

static void plan_set(struct top_plan *p, const struct top_col *cols, size_t n)
{
	memcpy(p->cols, cols, n * sizeof(*cols));
	p->n = n;
}

/* Append the fields of one -o list ("pid,comm" or "pid comm"). */
static int add_o_list(struct top_plan *p, const char *list, struct hamn_error **err)
{
	_cleanup_strv_ char **names = str_split(list, ',');
	size_t added = 0;

	for (size_t i = 0; names[i]; i++) {
		size_t k;

		if (!*names[i])
			continue;
		for (k = 0; k < sizeof(o_fields) / sizeof(o_fields[0]); k++)
			if (streq(names[i], o_fields[k].name))
				break;
		if (k == sizeof(o_fields) / sizeof(o_fields[0]))
			return hamn_error_setq(err, EINVAL,
					       "ps_args: unsupported -o field '%s' (%s)", names[i],
					       supported);
		if (p->n == TOP_MAX_COLS)
			return hamn_error_setq(err, EINVAL, "ps_args: more than %d -o fields",
					       TOP_MAX_COLS);
		p->cols[p->n++] = o_fields[k].col;
		added++;
	}
	if (!added)
		return hamn_error_setq(err, EINVAL, "ps_args: -o needs a list of fields");
	return 0;
}

/* The options seen so far. */
struct ps_opts {
	bool full, all, bsd, bsd_user, o;
};

/* One "-xyz" token; *next_is_list when its last letter is an -o wanting the next token. */
static int dash_token(struct top_plan *p, struct ps_opts *o, const char *tok, bool *next_is_list,
		      struct hamn_error **err)
{
	for (const char *c = tok + 1; *c; c++) {
		if (*c == 'e' || *c == 'A') {
			o->all = true;
		} else if (*c == 'f') {
			o->full = true;
		} else if (*c == 'o') {
			o->o = true;
			if (c[1])
				return add_o_list(p, c + 1, err);
			*next_is_list = true;
			return 0;
		} else {
			return hamn_error_setq(err, EINVAL, "ps_args: unsupported option '%s' (%s)",
					       tok, supported);
		}
	}
	if (!tok[1])
		return hamn_error_setq(err, EINVAL, "ps_args: unsupported option '-' (%s)",
				       supported);
	return 0;
}

/* aux, ax, xua...: BSD letters a, u, x only. */
static bool bsd_token(struct ps_opts *o, const char *tok)
{
	if (strspn(tok, "aux") != strlen(tok))
		return false;
	o->bsd = true;
	o->bsd_user |= strchr(tok, 'u') != NULL;
	return true;
}

int top_plan_parse(const char *ps_args, struct top_plan *p, struct hamn_error **err)
{
	_cleanup_strv_ char **toks = str_split(ps_args ? ps_args : "", ' ');
	struct ps_opts o = { 0 };
	bool want_list = false;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; toks[i]; i++) {
		const char *t = toks[i];

		if (!*t)
			continue;
		if (want_list) {
			want_list = false;
			if (add_o_list(p, t, err) < 0)
				return -1;
		} else if (t[0] == '-') {
			if (dash_token(p, &o, t, &want_list, err) < 0)
				return -1;
		} else if (!bsd_token(&o, t)) {
			return hamn_error_setq(err, EINVAL,
					       "ps_args: unsupported argument '%s' (%s)", t,
					       supported);
		}
	}
	if (want_list)
		return hamn_error_setq(err, EINVAL, "ps_args: -o needs a list of fields");
	if (o.o)
		return 0;
	if (o.bsd && o.bsd_user)
		plan_set(p, aux_cols, sizeof(aux_cols) / sizeof(aux_cols[0]));
	else if (o.bsd)
		plan_set(p, ax_cols, sizeof(ax_cols) / sizeof(ax_cols[0]));
	else if (o.all && !o.full)
		plan_set(p, e_cols, sizeof(e_cols) / sizeof(e_cols[0]));
	else
		plan_set(p, ef_cols, sizeof(ef_cols) / sizeof(ef_cols[0]));
	return 0;
}

/*
 * top.h - shared by top.c and top_args.c (and the unit tests) only: the
 * columns GET /containers/{id}/top shows for a ps_args value.
 */
#ifndef HAMN_ENGINE_TOP_H
#define HAMN_ENGINE_TOP_H

#include "base/base.h"

/* What a column shows of a process. */
enum top_field {
	TOP_USER,	/* user name (the host's), or the uid when it has none */
	TOP_UID,	/* numeric uid */
	TOP_PID,
	TOP_PPID,
	TOP_C,		/* integer cpu % over the process's life */
	TOP_PCPU,	/* the same with one decimal */
	TOP_PMEM,	/* rss / total memory, one decimal */
	TOP_VSZ,	/* virtual size, KiB */
	TOP_RSS,	/* resident set, KiB */
	TOP_TTY,	/* "pts/0", "?" */
	TOP_STAT,	/* "S", "Ss", "R+", "SNl", ... */
	TOP_STIME,	/* start: "14:03" today, "Nov28" before */
	TOP_TIME,	/* cpu time [DD-]HH:MM:SS */
	TOP_BSDTIME,	/* cpu time M:SS (aux) */
	TOP_ETIME,	/* elapsed [[DD-]HH:]MM:SS */
	TOP_COMM,	/* the command name */
	TOP_ARGS,	/* the command line ("[comm]" when it has none) */
};

#define TOP_MAX_COLS 32

struct top_col {
	const char *title;	/* static */
	enum top_field field;
};

struct top_plan {
	struct top_col cols[TOP_MAX_COLS];
	size_t n;
};

/*
 * The columns for ps_args, without running ps: NULL or "" and -ef (also
 * -f, -e -f, -A -f) give ps -ef's UID PID PPID C STIME TTY TIME CMD; -e or
 * -A alone PID TTY TIME CMD; aux (BSD letters a, u, x in any order) USER
 * PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND, and ax PID TTY STAT
 * TIME COMMAND; -o LIST (-oLIST, -eo LIST, several -o) the listed fields:
 * pid, ppid, user, uid, comm, args, cmd, command, rss, vsz, stat, time,
 * tty, pcpu/%cpu, pmem/%mem, c, stime, etime (and ps's aliases of those).
 * Anything else is EINVAL naming what is not supported. Pure.
 */
int top_plan_parse(const char *ps_args, struct top_plan *p, struct hamn_error **err);

#endif

/*
 * top.c - GET /containers/{id}/top: the container's processes as `ps`
 * with the request's ps_args would show them (-ef by default; the columns
 * come from top_args.c), read from /proc by hamnd itself (nothing is
 * executed, and certainly nothing from inside the container). The
 * processes are those of the container's cgroup, found through
 * /proc/<init>/cgroup.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/top.h"

#define MAX_PIDS 65536

static void add_procs(const char *dir, pid_t **pids, size_t *n, int depth)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t len;

	if (hamn_read_file(AT_FDCWD, procs, 4 << 20, &text, &len, &err) == 0) {
		_cleanup_strv_ char **lines = str_split(text, '\n');

		for (size_t i = 0; lines[i] && *n < MAX_PIDS; i++) {
			int p = atoi(lines[i]);

			if (p > 0) {
				*pids = xreallocarray(*pids, *n + 1, sizeof(pid_t));
				(*pids)[(*n)++] = p;
			}
		}
	}
	if (depth > 8 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		add_procs(sub, pids, n, depth + 1);
	}
}

/* The container's cgroup directory from /proc/<pid>/cgroup (pids controller, or v2). */
static char *cgroup_dir(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int)pid), *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	_cleanup_strv_ char **lines = NULL;
	char *v2 = NULL;
	size_t len;

	if (hamn_read_file(AT_FDCWD, path, 65536, &text, &len, &err) < 0)
		return NULL;
	lines = str_split(text, '\n');
	for (size_t i = 0; lines[i]; i++) {
		char *c1 = strchr(lines[i], ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (streq(c1 + 1, "pids")) {
			free(v2);
			return xasprintf("/sys/fs/cgroup/pids%s", c2 + 1);
		}
		if (!c1[1] && lines[i][0] == '0' && !v2)
			v2 = xasprintf("/sys/fs/cgroup%s", c2 + 1);
	}
	return v2;
}

struct proc_info {
	pid_t pid, ppid, pgrp, session, tpgid;
	uid_t uid;
	int tty_nr;
	char state;
	long nice, threads;
	unsigned long long utime, stime, start, vsize, rss_pages;
	char comm[64];
};

/* Fields 3 (state) to 24 (rss) of /proc/<pid>/stat, after the command name. */
static bool parse_stat_fields(const char *p, struct proc_info *pi)
{
	long long v[25] = { 0 };
	char *end;

	while (*p == ' ')
		p++;
	pi->state = *p ? *p++ : '?';
	for (int i = 4; i <= 24; i++) {
		v[i] = strtoll(p, &end, 10);
		if (end == p)
			return false;
		p = end;
	}
	pi->ppid = (pid_t)v[4];
	pi->pgrp = (pid_t)v[5];
	pi->session = (pid_t)v[6];
	pi->tty_nr = (int)v[7];
	pi->tpgid = (pid_t)v[8];
	pi->utime = (unsigned long long)v[14];
	pi->stime = (unsigned long long)v[15];
	pi->nice = (long)v[19];
	pi->threads = (long)v[20];
	pi->start = (unsigned long long)v[22];
	pi->vsize = (unsigned long long)v[23];
	pi->rss_pages = (unsigned long long)v[24];
	return true;
}

static bool read_stat(pid_t pid, struct proc_info *pi)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid), *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	char *open, *close_p;
	size_t len;

	if (hamn_read_file(AT_FDCWD, path, 4096, &text, &len, &err) < 0)
		return false;
	open = strchr(text, '(');
	close_p = strrchr(text, ')');
	if (!open || !close_p || close_p < open)
		return false;
	snprintf(pi->comm, sizeof(pi->comm), "%.*s", (int)(close_p - open - 1), open + 1);
	pi->pid = pid;
	return parse_stat_fields(close_p + 1, pi);
}

static void read_uid(struct proc_info *pi)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/status", (int)pi->pid), *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	char *u;
	size_t len;

	pi->uid = 0;
	if (hamn_read_file(AT_FDCWD, path, 65536, &text, &len, &err) < 0)
		return;
	u = strstr(text, "\nUid:");
	if (u)
		pi->uid = (uid_t)strtoul(u + 5, NULL, 10);
}

static char *cmdline(const struct proc_info *pi)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cmdline", (int)pi->pid), *text = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	size_t len;

	if (hamn_read_file(AT_FDCWD, path, 65536, &text, &len, &err) < 0 || len == 0)
		return xasprintf("[%s]", pi->comm);
	while (len > 0 && text[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	text[len] = '\0';
	return steal_pointer(&text);
}

static char *user_name(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		return xstrdup(res->pw_name);
	return xasprintf("%u", (unsigned)uid);
}

static char *tty_name(int tty_nr)
{
	int maj = (tty_nr >> 8) & 0xfff, min = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);

	if (!tty_nr)
		return xstrdup("?");
	if (maj >= 136 && maj <= 143)
		return xasprintf("pts/%d", min + (maj - 136) * 256);
	return xasprintf("tty%d", min);
}

/* What every row needs to know about the host. */
struct host_facts {
	double uptime;		/* seconds */
	long hz, page_kib;
	unsigned long long mem_kib;
	time_t boot, now;
};

/* ps's STAT: the state, then < or N (nice), s (session leader), l (threads), + (foreground). */
static char *stat_text(const struct proc_info *pi)
{
	char s[8];
	size_t n = 0;

	s[n++] = pi->state;
	if (pi->nice < 0)
		s[n++] = '<';
	else if (pi->nice > 0)
		s[n++] = 'N';
	if (pi->session == pi->pid)
		s[n++] = 's';
	if (pi->threads > 1)
		s[n++] = 'l';
	if (pi->tpgid != -1 && pi->tpgid == pi->pgrp)
		s[n++] = '+';
	s[n] = '\0';
	return xstrdup(s);
}

/* [DD-]HH:MM:SS, or with short_form [[DD-]HH:]MM:SS (etime). */
static char *dhms(unsigned long long secs, bool short_form)
{
	unsigned long long d = secs / 86400, h = (secs / 3600) % 24, m = (secs / 60) % 60;

	if (d)
		return xasprintf("%llu-%02llu:%02llu:%02llu", d, h, m, secs % 60);
	if (short_form && !h)
		return xasprintf("%02llu:%02llu", m, secs % 60);
	return xasprintf("%02llu:%02llu:%02llu", h, m, secs % 60);
}

static char *start_text(const struct proc_info *pi, const struct host_facts *h)
{
	time_t started = h->boot + (time_t)(pi->start / (unsigned long long)h->hz);
	char buf[16];
	struct tm tm;

	gmtime_r(&started, &tm);
	strftime(buf, sizeof(buf), h->now - started < 86400 ? "%H:%M" : "%b%d", &tm);
	return xstrdup(buf);
}

static char *field_text(enum top_field f, const struct proc_info *pi, const struct host_facts *h)
{
	double life = h->uptime - (double)pi->start / (double)h->hz;
	double used = (double)(pi->utime + pi->stime) / (double)h->hz;
	double pcpu = life > 0 ? 100.0 * used / life : 0;
	unsigned long long rss = pi->rss_pages * (unsigned long long)h->page_kib;
	unsigned long long cpu = (unsigned long long)used;

	switch (f) {
	case TOP_USER: return user_name(pi->uid);
	case TOP_UID: return xasprintf("%u", (unsigned)pi->uid);
	case TOP_PID: return xasprintf("%d", (int)pi->pid);
	case TOP_PPID: return xasprintf("%d", (int)pi->ppid);
	case TOP_C: return xasprintf("%d", (int)pcpu);
	case TOP_PCPU: return xasprintf("%.1f", pcpu);
	case TOP_PMEM:
		return xasprintf("%.1f", h->mem_kib ? 100.0 * (double)rss / (double)h->mem_kib : 0);
	case TOP_VSZ: return xasprintf("%llu", pi->vsize / 1024);
	case TOP_RSS: return xasprintf("%llu", rss);
	case TOP_TTY: return tty_name(pi->tty_nr);
	case TOP_STAT: return stat_text(pi);
	case TOP_STIME: return start_text(pi, h);
	case TOP_TIME: return dhms(cpu, false);
	case TOP_BSDTIME: return xasprintf("%llu:%02llu", cpu / 60, cpu % 60);
	case TOP_ETIME: return dhms(life > 0 ? (unsigned long long)life : 0, true);
	case TOP_COMM: return xstrdup(pi->comm);
	case TOP_ARGS: return cmdline(pi);
	}
	return xstrdup("");
}

static json_t *proc_row(const struct top_plan *plan, const struct proc_info *pi,
			const struct host_facts *h)
{
	json_t *row = json_array();

	for (size_t i = 0; i < plan->n; i++) {
		char *v = field_text(plan->cols[i].field, pi, h);

		json_array_append_new(row, json_string(v));
		free(v);
	}
	return row;
}

static void host_facts(struct host_facts *h)
{
	_cleanup_free_ char *up = NULL, *mem = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	long page = sysconf(_SC_PAGESIZE), hz = sysconf(_SC_CLK_TCK);
	size_t len;
	char *t;

	memset(h, 0, sizeof(*h));
	h->hz = hz > 0 ? hz : 100;
	h->page_kib = page > 0 ? page / 1024 : 4;
	if (hamn_read_file(AT_FDCWD, "/proc/uptime", 256, &up, &len, &err) == 0)
		h->uptime = strtod(up, NULL);
	hamn_error_free(&err);
	if (hamn_read_file(AT_FDCWD, "/proc/meminfo", 65536, &mem, &len, &err) == 0 &&
	    (t = strstr(mem, "MemTotal:")))
		h->mem_kib = strtoull(t + 9, NULL, 10);
	h->now = time(NULL);
	h->boot = h->now - (time_t)h->uptime;
}

static json_t *rows(const struct top_plan *plan, pid_t *pids, size_t n)
{
	struct host_facts h;
	json_t *arr = json_array();

	host_facts(&h);
	for (size_t i = 0; i < n; i++) {
		struct proc_info pi;

		if (!read_stat(pids[i], &pi))
			continue;	/* gone meanwhile */
		read_uid(&pi);
		json_array_append_new(arr, proc_row(plan, &pi, &h));
	}
	return arr;
}

static json_t *titles(const struct top_plan *plan)
{
	json_t *t = json_array();

	for (size_t i = 0; i < plan->n; i++)
		json_array_append_new(t, json_string(plan->cols[i].title));
	return t;
}

static int cmp_pid(const void *a, const void *b)
{
	return *(const pid_t *)a - *(const pid_t *)b;
}

json_t *hamn_engine_container_top(struct hamn_engine *e, const char *ref, const char *ps_args,
				  struct hamn_error **err)
{
	struct container *c = ctr_get(e, ref, err);
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	struct top_plan plan;
	size_t n = 0;
	pid_t init;

	if (!c)
		return NULL;
	if (top_plan_parse(ps_args, &plan, err) < 0) {
		ctr_put(e, c);
		return NULL;
	}
	pthread_mutex_lock(&e->lock);
	init = c->st.status == ST_RUNNING ? c->st.pid : 0;
	pthread_mutex_unlock(&e->lock);
	if (init <= 0)
		hamn_error_setq(err, EBUSY, "Container %s is not running", c->id);
	ctr_put(e, c);
	if (init <= 0)
		return NULL;
	dir = cgroup_dir(init);
	if (dir)
		add_procs(dir, &pids, &n, 0);
	if (!n) {
		pids = xmalloc(sizeof(pid_t));
		pids[n++] = init;
	}
	qsort(pids, n, sizeof(pid_t), cmp_pid);
	return json_pack("{s:o, s:o}", "Titles", titles(&plan), "Processes", rows(&plan, pids, n));
}

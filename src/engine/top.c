/*
 * top.c - GET /containers/{id}/top: the container's processes as `ps -ef`
 * would show them, read from /proc by hamnd itself (nothing is executed,
 * and certainly nothing from inside the container). The processes are
 * those of the container's cgroup, found through /proc/<init>/cgroup.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"

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
	pid_t pid, ppid;
	uid_t uid;
	int tty_nr;
	unsigned long long utime, stime, start;
	char comm[64];
};

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
	if (!open || !close_p)
		return false;
	snprintf(pi->comm, sizeof(pi->comm), "%.*s", (int)(close_p - open - 1), open + 1);
	pi->pid = pid;
	/* fields after comm: state ppid pgrp session tty_nr ... utime(14) stime(15) ... start(22) */
	return sscanf(close_p + 2,
		      "%*c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
		      "%llu",
		      &pi->ppid, &pi->tty_nr, &pi->utime, &pi->stime, &pi->start) == 5;
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

static json_t *proc_row(const struct proc_info *pi, double uptime, long hz, time_t boot)
{
	double secs = uptime - (double)pi->start / (double)hz;
	double used = (double)(pi->utime + pi->stime) / (double)hz;
	unsigned long long cpu = (unsigned long long)used;
	time_t started = boot + (time_t)(pi->start / (unsigned long long)hz);
	_cleanup_free_ char *user = user_name(pi->uid), *tty = tty_name(pi->tty_nr);
	_cleanup_free_ char *cmd = cmdline(pi);
	char stime[16], tbuf[32], pid[16], ppid[16], pct[16];
	struct tm tm;

	gmtime_r(&started, &tm);
	strftime(stime, sizeof(stime), time(NULL) - started < 86400 ? "%H:%M" : "%b%d", &tm);
	snprintf(tbuf, sizeof(tbuf), "%02llu:%02llu:%02llu", cpu / 3600, (cpu / 60) % 60,
		 cpu % 60);
	snprintf(pid, sizeof(pid), "%d", (int)pi->pid);
	snprintf(ppid, sizeof(ppid), "%d", (int)pi->ppid);
	snprintf(pct, sizeof(pct), "%d", secs > 0 ? (int)(100.0 * used / secs) : 0);
	return json_pack("[s, s, s, s, s, s, s, s]", user, pid, ppid, pct, stime, tty, tbuf, cmd);
}

static json_t *rows(pid_t *pids, size_t n)
{
	_cleanup_free_ char *up = NULL;
	_cleanup_error_ struct hamn_error *err = NULL;
	long hz = sysconf(_SC_CLK_TCK);
	json_t *arr = json_array();
	double uptime = 0;
	size_t len;
	time_t boot;

	if (hamn_read_file(AT_FDCWD, "/proc/uptime", 256, &up, &len, &err) == 0)
		uptime = strtod(up, NULL);
	boot = time(NULL) - (time_t)uptime;
	for (size_t i = 0; i < n; i++) {
		struct proc_info pi;
		json_t *row;

		if (!read_stat(pids[i], &pi))
			continue;
		read_uid(&pi);
		row = proc_row(&pi, uptime, hz > 0 ? hz : 100, boot);
		if (row)
			json_array_append_new(arr, row);
	}
	return arr;
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
	size_t n = 0;
	pid_t init;

	(void)ps_args;	/* the -ef columns are always given */
	if (!c)
		return NULL;
	pthread_mutex_lock(&e->lock);
	init = c->st.status == ST_RUNNING ? c->st.pid : 0;
	pthread_mutex_unlock(&e->lock);
	ctr_put(e, c);
	if (init <= 0)
		return hamn_error_setq(err, EBUSY, "Container %s is not running", ref), NULL;
	dir = cgroup_dir(init);
	if (dir)
		add_procs(dir, &pids, &n, 0);
	if (!n) {
		pids = xmalloc(sizeof(pid_t));
		pids[n++] = init;
	}
	qsort(pids, n, sizeof(pid_t), cmp_pid);
	return json_pack("{s:[s, s, s, s, s, s, s, s], s:o}", "Titles", "UID", "PID", "PPID", "C",
			 "STIME", "TTY", "TIME", "CMD", "Processes", rows(pids, n));
}

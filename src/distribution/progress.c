/*
 * progress.c - docker's JSON progress messages: {"status", "id",
 * "progressDetail": {"current", "total"}, "progress": "[==>  ] 1MB/2MB"},
 * serialised from the threads of a pull or push to one callback.
 */
#include "distribution/internal.h"

#include <stdarg.h>

#define BAR_WIDTH 50

void hamn_dist_human_size(int64_t n, char buf[32])
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	snprintf(buf, 32, "%.4g%s", v, units[u]);
}

char *hamn_dist_progress_bar(int64_t current, int64_t total)
{
	char cur[32], tot[32], bar[BAR_WIDTH + 4];
	int pct;

	hamn_dist_human_size(current < 0 ? 0 : current, cur);
	if (total <= 0)
		return xasprintf("%8s", cur);
	pct = (int)((double)current / (double)total * 100.0) / 2;
	if (pct > BAR_WIDTH)
		pct = BAR_WIDTH;
	if (pct < 0)
		pct = 0;
	memset(bar, '=', (size_t)pct);
	bar[pct] = '>';
	memset(bar + pct + 1, ' ', (size_t)(BAR_WIDTH - pct));
	bar[BAR_WIDTH + 1] = '\0';
	hamn_dist_human_size(total, tot);
	if (current > total)
		return xasprintf("[%s] %8s", bar, cur);
	return xasprintf("[%s] %8s/%s", bar, cur, tot);
}

void dist_progress_init(struct dist_progress *p, hamn_dist_progress_fn fn, void *ud)
{
	p->fn = fn;
	p->ud = ud;
	pthread_mutex_init(&p->lock, NULL);
}

void dist_progress_release(struct dist_progress *p)
{
	pthread_mutex_destroy(&p->lock);
}

void dist_progress_json(struct dist_progress *p, json_t *msg)
{
	if (!p || !p->fn)
		return;
	pthread_mutex_lock(&p->lock);
	p->fn(p->ud, msg);
	pthread_mutex_unlock(&p->lock);
}

void dist_progress_status(struct dist_progress *p, const char *id, bool detail, const char *fmt,
			  ...)
{
	_cleanup_json_ json_t *m = NULL;
	_cleanup_free_ char *status = NULL;
	va_list ap;

	if (!p || !p->fn)
		return;
	va_start(ap, fmt);
	status = xvasprintf(fmt, ap);
	va_end(ap);
	m = json_object();
	json_object_set_new(m, "status", json_string(status));
	if (detail)
		json_object_set_new(m, "progressDetail", json_object());
	if (id)
		json_object_set_new(m, "id", json_string(id));
	dist_progress_json(p, m);
}

void dist_progress_bytes(struct dist_progress *p, const char *id, const char *status,
			 int64_t current, int64_t total)
{
	_cleanup_json_ json_t *m = NULL;
	_cleanup_free_ char *bar = NULL;
	json_t *detail;

	if (!p || !p->fn)
		return;
	m = json_object();
	detail = json_object();
	json_object_set_new(detail, "current", json_integer(current));
	if (total > 0)
		json_object_set_new(detail, "total", json_integer(total));
	bar = hamn_dist_progress_bar(current, total);
	json_object_set_new(m, "status", json_string(status));
	json_object_set_new(m, "progressDetail", detail);
	json_object_set_new(m, "progress", json_string(bar));
	json_object_set_new(m, "id", json_string(id));
	dist_progress_json(p, m);
}

/*
 * timeutil.c - clocks, RFC 3339 timestamps, Go-style durations and docker's
 * human-readable durations ("Up 3 seconds").
 */
#include "base/base.h"

#include <ctype.h>

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t hamn_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t hamn_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

const char *hamn_time_format(int64_t ns, char buf[HAMN_TIME_STR_MAX])
{
	time_t secs = (time_t)(ns / 1000000000LL);
	long frac = (long)(ns % 1000000000LL);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000L;
		secs--;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, HAMN_TIME_STR_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return buf;
}

/* Parse the fraction after '.': up to 9 digits significant; returns ns. */
static const char *parse_fraction(const char *p, int64_t *ns)
{
	int64_t scale = 100000000;

	*ns = 0;
	while (isdigit((unsigned char)*p)) {
		*ns += (*p - '0') * scale;
		scale /= 10;
		p++;
	}
	return p;
}

static int parse_unix(const char *s, int64_t *ns_out, struct hamn_error **err)
{
	char *end;
	int64_t frac = 0;
	long long secs;

	errno = 0;
	secs = strtoll(s, &end, 10);
	if (errno || end == s)
		return hamn_error_setq(err, EINVAL, "invalid time '%s'", s);
	if (*end == '.')
		end = (char *)parse_fraction(end + 1, &frac);
	if (*end)
		return hamn_error_setq(err, EINVAL, "invalid time '%s'", s);
	*ns_out = secs * 1000000000LL + frac;
	return 0;
}

int hamn_time_parse(const char *s, int64_t *ns_out, struct hamn_error **err)
{
	struct tm tm = { 0 };
	const char *p;
	int64_t frac = 0, offset = 0;

	if (!strchr(s, '-') || !strchr(s, 'T'))
		return parse_unix(s, ns_out, err);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return hamn_error_setq(err, EINVAL, "invalid time '%s'", s);
	if (*p == '.')
		p = parse_fraction(p + 1, &frac);
	if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || strlen(p) != 6)
			return hamn_error_setq(err, EINVAL, "invalid time zone in '%s'", s);
		offset = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
	} else if (strcmp(p, "Z") != 0) {
		return hamn_error_setq(err, EINVAL, "invalid time '%s'", s);
	}
	*ns_out = ((int64_t)timegm(&tm) - offset) * 1000000000LL + frac;
	return 0;
}

int hamn_duration_parse(const char *s, int64_t *ns_out, struct hamn_error **err)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = { { "ns", 1 }, { "us", 1000 }, { "µs", 1000 }, { "ms", 1000000 },
		      { "s", 1000000000LL }, { "m", 60000000000LL }, { "h", 3600000000000LL } };
	const char *p = s;
	double total = 0;

	if (!*p)
		return hamn_error_setq(err, EINVAL, "invalid duration ''");
	if (strcmp(p, "0") == 0)
		return *ns_out = 0, 0;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		size_t best = 0, i, k = 0;

		if (end == p || v < 0)
			return hamn_error_setq(err, EINVAL, "invalid duration '%s'", s);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, l) == 0 && l > best)
				best = l, k = i;
		}
		if (!best)
			return hamn_error_setq(err, EINVAL, "invalid duration '%s': missing unit", s);
		total += v * (double)units[k].ns;
		p = end + best;
	}
	*ns_out = (int64_t)total;
	return 0;
}

int hamn_time_parse_since(const char *s, int64_t now_ns, int64_t *ns_out, struct hamn_error **err)
{
	int64_t d;

	if (s[0] && isalpha((unsigned char)s[strlen(s) - 1]) && !strchr(s, 'T')) {
		if (hamn_duration_parse(s, &d, err) < 0)
			return -1;
		*ns_out = now_ns - d;
		return 0;
	}
	return hamn_time_parse(s, ns_out, err);
}

char *hamn_human_duration(int64_t d_ns)
{
	int64_t secs = d_ns / 1000000000LL;
	int64_t mins = secs / 60, hours = secs / 3600;

	if (secs < 1)
		return xstrdup("Less than a second");
	if (secs == 1)
		return xstrdup("1 second");
	if (secs < 60)
		return xasprintf("%lld seconds", (long long)secs);
	if (mins == 1)
		return xstrdup("About a minute");
	if (mins < 60)
		return xasprintf("%lld minutes", (long long)mins);
	if (hours == 1)
		return xstrdup("About an hour");
	if (hours < 48)
		return xasprintf("%lld hours", (long long)hours);
	if (hours < 24 * 7 * 2)
		return xasprintf("%lld days", (long long)(hours / 24));
	if (hours < 24 * 30 * 2)
		return xasprintf("%lld weeks", (long long)(hours / 24 / 7));
	if (hours < 24 * 365 * 2)
		return xasprintf("%lld months", (long long)(hours / 24 / 30));
	return xasprintf("%lld years", (long long)(hours / 24 / 365));
}

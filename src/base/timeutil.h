/*
 * timeutil.h - clocks and docker's time formats.
 */
#ifndef HAMN_BASE_TIMEUTIL_H
#define HAMN_BASE_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#include "base/error.h"

/* Nanoseconds since the epoch (CLOCK_REALTIME) / since boot (CLOCK_MONOTONIC). */
int64_t hamn_now_ns(void);
int64_t hamn_monotonic_ns(void);

/* RFC 3339 with nanoseconds in UTC: "2026-11-29T10:55:10.458438688Z". buf of HAMN_TIME_STR_MAX bytes. */
#define HAMN_TIME_STR_MAX 80
const char *hamn_time_format(int64_t ns, char buf[HAMN_TIME_STR_MAX]);
/* Parse RFC 3339 (any fraction, Z or +hh:mm), or unix seconds "1700000000[.123]". */
int hamn_time_parse(const char *s, int64_t *ns_out, struct hamn_error **err);
/*
 * docker's --since/--until: an RFC 3339 time, unix seconds, or a duration
 * ("10m", "1h30m", "5s") meaning that long before now_ns.
 */
int hamn_time_parse_since(const char *s, int64_t now_ns, int64_t *ns_out, struct hamn_error **err);
/* Go-style duration "1h2m3.5s", "300ms" to nanoseconds. */
int hamn_duration_parse(const char *s, int64_t *ns_out, struct hamn_error **err);
/* "Up 3 seconds", "2 minutes", "About an hour": docker's HumanDuration of d nanoseconds. */
char *hamn_human_duration(int64_t d_ns);

#endif

/*
 * log.h - levelled key=value logging.
 *
 * Lines look like: time=... level=warn msg="cannot remove cgroup" path=/x errno=EBUSY
 * The executables choose the sink (stderr by default, or a file); library
 * code only calls log_debug/log_info/log_warn/log_error, whose arguments are
 * not evaluated when the level is off. Thread-safe: one write(2) per line.
 */
#ifndef HAMN_BASE_LOG_H
#define HAMN_BASE_LOG_H

#include <stdbool.h>

enum hamn_log_level {
	HAMN_LOG_ERROR = 0,
	HAMN_LOG_WARN = 1,
	HAMN_LOG_INFO = 2,
	HAMN_LOG_DEBUG = 3,
};

extern enum hamn_log_level hamn_log_level_current;

void hamn_log_set_level(enum hamn_log_level level);
/* Parse "debug", "info", "warn"/"warning", "error"/"fatal"; -1 on anything else. */
int hamn_log_parse_level(const char *s);
/* Send log lines to fd (not closed by the logger); -1 restores stderr. */
void hamn_log_set_fd(int fd);
/* Emit JSON lines ({"level":..,"msg":..,"time":..}) instead of key=value (runc --log-format json). */
void hamn_log_set_json(bool json);

/*
 * Write one line. `fields` is an already formatted " key=value ..." suffix
 * (or ""); msg is quoted when it contains spaces.
 */
void hamn_log_write(enum hamn_log_level level, const char *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define HAMN_LOG_AT(lvl, ...)                                    \
	do {                                                     \
		if (hamn_log_level_current >= (lvl))             \
			hamn_log_write((lvl), "", __VA_ARGS__);  \
	} while (0)

#define log_error(...) HAMN_LOG_AT(HAMN_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) HAMN_LOG_AT(HAMN_LOG_WARN, __VA_ARGS__)
#define log_info(...) HAMN_LOG_AT(HAMN_LOG_INFO, __VA_ARGS__)
#define log_debug(...) HAMN_LOG_AT(HAMN_LOG_DEBUG, __VA_ARGS__)

/*
 * With fields: log_kv(HAMN_LOG_WARN, "cannot remove cgroup", "path=%s errno=%s", p, name)
 */
void hamn_log_kv(enum hamn_log_level level, const char *msg, const char *fields_fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_kv(lvl, msg, ...)                                    \
	do {                                                     \
		if (hamn_log_level_current >= (lvl))             \
			hamn_log_kv((lvl), (msg), __VA_ARGS__);  \
	} while (0)

#endif

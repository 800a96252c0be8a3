/*
 * log.c - levelled key=value (or JSON) log lines, one write(2) per line so
 * that lines from several threads and processes never interleave.
 */
#include "base/base.h"

#include <stdarg.h>

enum hamn_log_level hamn_log_level_current = HAMN_LOG_WARN;
static int log_fd = -1;	/* -1: stderr */
static bool log_json;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void hamn_log_set_level(enum hamn_log_level level)
{
	hamn_log_level_current = level;
}

int hamn_log_parse_level(const char *s)
{
	if (!s)
		return -1;
	if (strcasecmp(s, "debug") == 0 || strcasecmp(s, "trace") == 0)
		return HAMN_LOG_DEBUG;
	if (strcasecmp(s, "info") == 0)
		return HAMN_LOG_INFO;
	if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		return HAMN_LOG_WARN;
	if (strcasecmp(s, "error") == 0 || strcasecmp(s, "fatal") == 0 || strcasecmp(s, "panic") == 0)
		return HAMN_LOG_ERROR;
	return -1;
}

void hamn_log_set_fd(int fd)
{
	log_fd = fd;
}

void hamn_log_set_json(bool json)
{
	log_json = json;
}

/* Quote v for a key=value line when it contains spaces, quotes or '='. */
static void put_value(struct hamn_buf *b, const char *v)
{
	if (*v && !strpbrk(v, " \t\"=\n")) {
		hamn_buf_puts(b, v);
		return;
	}
	hamn_buf_putc(b, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			hamn_buf_putc(b, '\\');
		if (*v == '\n')
			hamn_buf_puts(b, "\\n");
		else
			hamn_buf_putc(b, *v);
	}
	hamn_buf_putc(b, '"');
}

static void emit(enum hamn_log_level level, const char *msg, const char *fields)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	char ts[HAMN_TIME_STR_MAX];
	int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;

	hamn_time_format(hamn_now_ns(), ts);
	if (log_json) {
		_cleanup_json_ json_t *o = json_pack("{s:s,s:s,s:s}", "level", level_names[level],
						    "msg", msg, "time", ts);
		_cleanup_free_ char *s = o ? hamn_json_dump(o) : xstrdup("{}");
		hamn_buf_puts(&b, s);
	} else {
		hamn_buf_printf(&b, "time=%s level=%s msg=", ts, level_names[level]);
		put_value(&b, msg);
		hamn_buf_puts(&b, fields);
	}
	hamn_buf_putc(&b, '\n');
	if (write(fd, b.data, b.len) < 0) {
		/* a logger has nowhere to report its own failure */
	}
}

void hamn_log_write(enum hamn_log_level level, const char *fields, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	emit(level, msg, fields);
}

void hamn_log_kv(enum hamn_log_level level, const char *msg, const char *fields_fmt, ...)
{
	_cleanup_free_ char *fields = NULL;
	_cleanup_free_ char *spaced = NULL;
	va_list ap;

	va_start(ap, fields_fmt);
	fields = xvasprintf(fields_fmt, ap);
	va_end(ap);
	spaced = xasprintf(" %s", fields);
	emit(level, msg, spaced);
}

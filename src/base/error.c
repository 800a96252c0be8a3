/*
 * error.c - the hamn_error type: errno plus a message that gains context as
 * it travels up the stack. No other module formats errors itself.
 */
#include "base/base.h"

#include <stdarg.h>

int hamn_error_vset(struct hamn_error **err, int errnum, bool with_strerror, const char *fmt,
		    va_list ap)
{
	struct hamn_error *e;
	char *msg;

	if (!err)
		return -1;
	if (*err) {
		log_debug("error overwritten: %s", (*err)->msg);
		hamn_error_free(err);
	}
	msg = xvasprintf(fmt, ap);
	if (with_strerror && errnum > 0) {
		char *full = xasprintf("%s: %s", msg, strerror(errnum));
		free(msg);
		msg = full;
	}
	e = xmalloc(sizeof(*e));
	e->errnum = errnum;
	e->msg = msg;
	*err = e;
	return -1;
}

int hamn_error_set(struct hamn_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hamn_error_vset(err, errnum, true, fmt, ap);
	va_end(ap);
	return -1;
}

int hamn_error_setq(struct hamn_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hamn_error_vset(err, errnum, false, fmt, ap);
	va_end(ap);
	return -1;
}

int hamn_error_wrap(struct hamn_error **err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *msg;

	if (!err || !*err)
		return -1;
	va_start(ap, fmt);
	ctx = xvasprintf(fmt, ap);
	va_end(ap);
	msg = xasprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return -1;
}

void hamn_error_free(struct hamn_error **err)
{
	if (!err || !*err)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}

int hamn_error_propagate(struct hamn_error **to, struct hamn_error **from)
{
	if (to) {
		hamn_error_free(to);
		*to = *from;
		*from = NULL;
	} else {
		hamn_error_free(from);
	}
	return -1;
}

const char *hamn_errno_name(int errnum)
{
	static __thread char unknown[16];
	const char *name = strerrorname_np(errnum);

	if (name)
		return name;
	snprintf(unknown, sizeof(unknown), "E%d", errnum);
	return unknown;
}

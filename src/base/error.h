/*
 * error.h - the one error type of hamn.
 *
 * A function that can fail takes `struct hamn_error **err` as its last
 * parameter, returns 0 (or a pointer) on success and -1 (or NULL) on failure
 * with *err set. The message reads "outer context: inner context: cause".
 */
#ifndef HAMN_BASE_ERROR_H
#define HAMN_BASE_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

struct hamn_error {
	int errnum;	/* errno value (ENOENT, EEXIST, EINVAL, ...) or 0 */
	char *msg;	/* "outer context: inner context: cause" */
};

/*
 * Record a new error in *err and return -1. If errnum is non-zero its
 * strerror() text is appended ("open 'x': No such file or directory").
 * *err must be NULL; if it is not, the old error is freed first (a bug in
 * the caller, logged at debug level). err may be NULL: nothing is recorded.
 */
int hamn_error_set(struct hamn_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like hamn_error_set() but never appends strerror(); errnum only classifies. */
int hamn_error_setq(struct hamn_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int hamn_error_vset(struct hamn_error **err, int errnum, bool with_strerror, const char *fmt,
		    va_list ap) __attribute__((format(printf, 4, 0)));

/* Put "context: " in front of the message already in *err and return -1. */
int hamn_error_wrap(struct hamn_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Free *err (safe on NULL and on *err == NULL) and set *err = NULL. */
void hamn_error_free(struct hamn_error **err);

/* Move *from into *to (which must be NULL) and return -1. */
int hamn_error_propagate(struct hamn_error **to, struct hamn_error **from);

/* "ENOENT" for ENOENT, "E123" for unknown values; never NULL, static storage. */
const char *hamn_errno_name(int errnum);

#endif

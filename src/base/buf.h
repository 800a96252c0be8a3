/*
 * buf.h - growable byte buffer, always NUL-terminated so it can serve as a string.
 */
#ifndef HAMN_BASE_BUF_H
#define HAMN_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct hamn_buf {
	char *data;	/* NULL until the first append; then always NUL-terminated */
	size_t len;
	size_t cap;
};

#define HAMN_BUF_INIT { NULL, 0, 0 }

void hamn_buf_reserve(struct hamn_buf *b, size_t extra);
void hamn_buf_append(struct hamn_buf *b, const void *data, size_t len);
void hamn_buf_puts(struct hamn_buf *b, const char *s);
void hamn_buf_putc(struct hamn_buf *b, char c);
void hamn_buf_printf(struct hamn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hamn_buf_vprintf(struct hamn_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop the contents, keep the allocation. */
void hamn_buf_reset(struct hamn_buf *b);
/* Remove the first n bytes. */
void hamn_buf_consume(struct hamn_buf *b, size_t n);
/* Hand the (NUL-terminated, possibly empty) string to the caller; b is reset to empty. */
char *hamn_buf_steal(struct hamn_buf *b);
void hamn_buf_release(struct hamn_buf *b);

static inline void cleanup_bufp(struct hamn_buf *b)
{
	hamn_buf_release(b);
}
#define _cleanup_buf_ __attribute__((cleanup(cleanup_bufp)))

#endif

/*
 * buf.c - growable byte buffer.
 */
#include "base/base.h"

#include <stdarg.h>

void hamn_buf_reserve(struct hamn_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void hamn_buf_append(struct hamn_buf *b, const void *data, size_t len)
{
	hamn_buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void hamn_buf_puts(struct hamn_buf *b, const char *s)
{
	hamn_buf_append(b, s, strlen(s));
}

void hamn_buf_putc(struct hamn_buf *b, char c)
{
	hamn_buf_append(b, &c, 1);
}

void hamn_buf_vprintf(struct hamn_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t room;
	int n;

	/* format into the spare room first; grow and format again only when it did not fit */
	hamn_buf_reserve(b, 64);
	room = b->cap - b->len;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, room, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		hamn_bug("vsnprintf failed for format '%s'", fmt);
	if ((size_t)n >= room) {
		hamn_buf_reserve(b, (size_t)n);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void hamn_buf_printf(struct hamn_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hamn_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void hamn_buf_reset(struct hamn_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void hamn_buf_consume(struct hamn_buf *b, size_t n)
{
	if (n >= b->len) {
		hamn_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *hamn_buf_steal(struct hamn_buf *b)
{
	char *s = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void hamn_buf_release(struct hamn_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * xalloc.h - allocators that never return NULL.
 *
 * Out of memory is not an error path in hamn: these abort with a message.
 * This is deliberate (see STYLE.md section 2) so that malloc has no error path.
 */
#ifndef HAMN_BASE_XALLOC_H
#define HAMN_BASE_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xzalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t size) __attribute__((returns_nonnull));
/* Grow-by-doubling array helper: ensures room for `need` elements of `elem` bytes. */
void *xreallocarray(void *p, size_t n, size_t elem) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), malloc, returns_nonnull));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0), returns_nonnull));

/* Log "file:line: bug: msg" to stderr and abort. For programmer errors only. */
#define hamn_bug(...) hamn_bug_at(__FILE__, __LINE__, __VA_ARGS__)
void hamn_bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif

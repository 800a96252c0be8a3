/*
 * strutil.h - small string helpers: NULL-terminated string vectors, prefixes,
 * numbers parsed strictly.
 */
#ifndef HAMN_BASE_STRUTIL_H
#define HAMN_BASE_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

static inline bool str_has_prefix(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}

bool str_has_suffix(const char *s, const char *suffix);
static inline bool streq(const char *a, const char *b)
{
	return a && b && __builtin_strcmp(a, b) == 0;
}

size_t strv_len(char *const *v);
/* Append a copy of s; *v may be NULL. */
void strv_push(char ***v, const char *s);
/* Append s itself (ownership moves into the vector). */
void strv_push_take(char ***v, char *s);
char **strv_copy(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* Join with sep; returns a heap string ("" for an empty or NULL vector). */
char *strv_join(char *const *v, const char *sep);
/* Split s at each occurrence of the single character sep (empty fields kept). */
char **str_split(const char *s, char sep);

/* Parse a whole decimal integer; EINVAL on junk, ERANGE on overflow. */
int hamn_parse_int64(const char *s, int64_t *out, struct hamn_error **err);
int hamn_parse_uint64(const char *s, uint64_t *out, struct hamn_error **err);

/*
 * Parse a size like "64m", "1g", "512k", "100" (bytes), "1.5g"; units b k m g t
 * (case-insensitive, optional trailing 'b' or 'ib'), powers of 1024 as docker does.
 */
int hamn_parse_size(const char *s, int64_t *out, struct hamn_error **err);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hamn_hex(const unsigned char *in, size_t n, char *out);
/* Fill buf with n random bytes from getrandom(2); never fails (aborts if the kernel cannot). */
void hamn_random_bytes(void *buf, size_t n);
/* A new random 64-hex id (containers, execs, networks). */
char *hamn_random_id(void);

/* Is s valid UTF-8 (no overlongs, no surrogates)? */
bool hamn_utf8_valid(const char *s, size_t len);

#endif

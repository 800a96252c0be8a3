/*
 * digest.h - sha256 content digests ("sha256:" + 64 lower-case hex).
 */
#ifndef HAMN_BASE_DIGEST_H
#define HAMN_BASE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define HAMN_DIGEST_HEX_LEN 64
#define HAMN_DIGEST_LEN (7 + HAMN_DIGEST_HEX_LEN) /* "sha256:" + hex */

struct hamn_digest {
	char str[HAMN_DIGEST_LEN + 1];	/* "sha256:<hex>" */
};

/* Is s exactly "sha256:" followed by 64 lower-case hex digits? */
bool hamn_digest_valid(const char *s);
/* Validate and copy; EINVAL with the offending text on anything else. */
int hamn_digest_parse(const char *s, struct hamn_digest *out, struct hamn_error **err);
/* The hex part of a valid digest string. */
static inline const char *hamn_digest_hex(const struct hamn_digest *d)
{
	return d->str + 7;
}

struct hamn_sha256;	/* a streaming hasher (OpenSSL underneath) */

struct hamn_sha256 *hamn_sha256_new(void);
void hamn_sha256_update(struct hamn_sha256 *h, const void *data, size_t len);
/* Finish into out; h may not be updated again (free it). */
void hamn_sha256_final(struct hamn_sha256 *h, struct hamn_digest *out);
void hamn_sha256_free(struct hamn_sha256 *h);
/* One-shot. */
void hamn_sha256_buf(const void *data, size_t len, struct hamn_digest *out);
/* Hash a whole file through its fd (from its current offset). */
int hamn_sha256_fd(int fd, struct hamn_digest *out, struct hamn_error **err);

static inline void cleanup_sha256p(struct hamn_sha256 **h)
{
	if (*h)
		hamn_sha256_free(*h);
}
#define _cleanup_sha256_ __attribute__((cleanup(cleanup_sha256p)))

#endif

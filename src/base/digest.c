/*
 * digest.c - sha256 content digests on OpenSSL's SHA256 functions, streaming.
 *
 * The low-level SHA256_* calls run the same assembly (SHA-NI/AVX2) as EVP but
 * without OpenSSL 3's provider machinery: the first EVP_sha256() reads
 * openssl.cnf and initialises the default provider, which leaves ~2.5 MB of
 * code, tables and heap resident in hamnd for nothing (measured, issue 4).
 * They are deprecated in 3.0 but kept for exactly this use; if a later OpenSSL
 * drops them, go back to EVP_Digest* here (the interface does not change).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "base/base.h"

#include <openssl/sha.h>

struct hamn_sha256 {
	SHA256_CTX ctx;
};

bool hamn_digest_valid(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) != 0)
		return false;
	s += 7;
	for (int i = 0; i < HAMN_DIGEST_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[HAMN_DIGEST_HEX_LEN] == '\0';
}

int hamn_digest_parse(const char *s, struct hamn_digest *out, struct hamn_error **err)
{
	if (!hamn_digest_valid(s))
		return hamn_error_setq(err, EINVAL, "invalid digest '%.80s': want sha256:<64 hex>",
				       s ? s : "");
	memcpy(out->str, s, HAMN_DIGEST_LEN + 1);
	return 0;
}

struct hamn_sha256 *hamn_sha256_new(void)
{
	struct hamn_sha256 *h = xmalloc(sizeof(*h));

	if (SHA256_Init(&h->ctx) != 1)
		hamn_bug("cannot initialise sha256");
	return h;
}

void hamn_sha256_update(struct hamn_sha256 *h, const void *data, size_t len)
{
	if (SHA256_Update(&h->ctx, data, len) != 1)
		hamn_bug("sha256 update failed");
}

void hamn_sha256_final(struct hamn_sha256 *h, struct hamn_digest *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (SHA256_Final(md, &h->ctx) != 1)
		hamn_bug("sha256 final failed");
	memcpy(out->str, "sha256:", 7);
	hamn_hex(md, sizeof(md), out->str + 7);
}

void hamn_sha256_free(struct hamn_sha256 *h)
{
	if (!h)
		return;
	free(h);
}

void hamn_sha256_buf(const void *data, size_t len, struct hamn_digest *out)
{
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();

	hamn_sha256_update(h, data, len);
	hamn_sha256_final(h, out);
}

int hamn_sha256_fd(int fd, struct hamn_digest *out, struct hamn_error **err)
{
	_cleanup_sha256_ struct hamn_sha256 *h = hamn_sha256_new();
	_cleanup_free_ char *buf = xmalloc(1 << 16);

	for (;;) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "hash: read");
		if (n == 0)
			break;
		hamn_sha256_update(h, buf, (size_t)n);
	}
	hamn_sha256_final(h, out);
	return 0;
}

/*
 * digest.c - sha256 content digests on OpenSSL EVP, streaming.
 */
#include "base/base.h"

#include <openssl/evp.h>

struct hamn_sha256 {
	EVP_MD_CTX *ctx;
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

	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		hamn_bug("cannot initialise sha256");
	return h;
}

void hamn_sha256_update(struct hamn_sha256 *h, const void *data, size_t len)
{
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		hamn_bug("sha256 update failed");
}

void hamn_sha256_final(struct hamn_sha256 *h, struct hamn_digest *out)
{
	unsigned char md[32];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != sizeof(md))
		hamn_bug("sha256 final failed");
	memcpy(out->str, "sha256:", 7);
	hamn_hex(md, sizeof(md), out->str + 7);
}

void hamn_sha256_free(struct hamn_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
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

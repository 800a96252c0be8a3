/*
 * blob.c - content-addressed blobs under blobs/sha256/<hex>.
 *
 * A blob is written to tmp/, hashed while it is written, fsync'ed, checked
 * against the digest the caller expects, and only then renamed into
 * blobs/sha256/ (and the directory fsync'ed). So every file there holds
 * exactly the bytes its name promises.
 */
#include "image/internal.h"

#include <fcntl.h>
#include <sys/stat.h>

struct blob_writer {
	struct hamn_image_store *st;
	int fd;
	char *tmp_name;		/* in st->tmp_fd; NULL once renamed away */
	struct hamn_sha256 *hash;	/* NULL once finished */
	struct hamn_digest digest;	/* once finished */
	uint64_t size;
};

struct blob_writer *blob_writer_new(struct hamn_image_store *st, struct hamn_error **err)
{
	struct blob_writer *w = xzalloc(sizeof(*w));

	w->st = st;
	w->tmp_name = store_tmp_name("blob");
	w->fd = openat(st->tmp_fd, w->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		hamn_error_set(err, errno, "create blob 'tmp/%s'", w->tmp_name);
		free(w->tmp_name);
		free(w);
		return NULL;
	}
	w->hash = hamn_sha256_new();
	return w;
}

int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct hamn_error **err)
{
	if (hamn_write_all(w->fd, buf, len, err) < 0)
		return hamn_error_wrap(err, "write blob");
	hamn_sha256_update(w->hash, buf, len);
	w->size += len;
	return 0;
}

static int fsync_dir(int dirfd, const char *what, struct hamn_error **err)
{
	if (fsync(dirfd) < 0)
		return hamn_error_set(err, errno, "fsync '%s'", what);
	return 0;
}

/* Rename dirfd/name to blobs/sha256/<hex>; if the blob is already there, drop ours. */
static int move_into_place(struct hamn_image_store *st, int dirfd, const char *name,
			   const struct hamn_digest *d, struct hamn_error **err)
{
	const char *hex = hamn_digest_hex(d);

	if (faccessat(st->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		unlinkat(dirfd, name, 0);
		return 0;
	}
	if (renameat(dirfd, name, st->blobs_fd, hex) < 0)
		return hamn_error_set(err, errno, "store blob %s", d->str);
	return fsync_dir(st->blobs_fd, "blobs/sha256", err);
}

int blob_writer_finish(struct blob_writer *w, const char *expected, struct hamn_digest *out,
		       uint64_t *size_out, struct hamn_error **err)
{
	hamn_sha256_final(w->hash, &w->digest);
	hamn_sha256_free(w->hash);
	w->hash = NULL;
	if (expected && !streq(expected, w->digest.str))
		return hamn_error_setq(err, EINVAL, "blob digest mismatch: expected %s, got %s",
				       expected, w->digest.str);
	if (fsync(w->fd) < 0)
		return hamn_error_set(err, errno, "fsync blob");
	if (out)
		*out = w->digest;
	if (size_out)
		*size_out = w->size;
	return 0;
}

int blob_writer_publish(struct blob_writer *w, struct hamn_error **err)
{
	if (move_into_place(w->st, w->st->tmp_fd, w->tmp_name, &w->digest, err) < 0)
		return -1;
	free(w->tmp_name);
	w->tmp_name = NULL;
	return 0;
}

int blob_writer_commit(struct blob_writer *w, const char *expected, struct hamn_digest *out,
		       uint64_t *size_out, struct hamn_error **err)
{
	if (blob_writer_finish(w, expected, out, size_out, err) < 0)
		return -1;
	return blob_writer_publish(w, err);
}

void blob_writer_free(struct blob_writer *w)
{
	if (!w)
		return;
	if (w->tmp_name)
		unlinkat(w->st->tmp_fd, w->tmp_name, 0);	/* never outlives a failure */
	cleanup_closep(&w->fd);
	if (w->hash)
		hamn_sha256_free(w->hash);
	free(w->tmp_name);
	free(w);
}

int blob_sync_file(int dirfd, const char *name, struct hamn_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return hamn_error_set(err, errno, "open staged blob '%s'", name);
	if (fsync(fd) < 0)
		return hamn_error_set(err, errno, "fsync staged blob '%s'", name);
	return 0;
}

int blob_adopt(struct hamn_image_store *st, int dirfd, const char *name,
	       const struct hamn_digest *d, struct hamn_error **err)
{
	return move_into_place(st, dirfd, name, d, err);
}

int blob_put_buf(struct hamn_image_store *st, const void *buf, size_t len,
		 struct hamn_digest *out, struct hamn_error **err)
{
	_cleanup_blob_writer_ struct blob_writer *w = blob_writer_new(st, err);

	if (!w || blob_writer_write(w, buf, len, err) < 0)
		return -1;
	return blob_writer_commit(w, NULL, out, NULL, err);
}

bool blob_exists(struct hamn_image_store *st, const char *digest)
{
	struct hamn_digest d;

	if (hamn_digest_parse(digest, &d, NULL) < 0)
		return false;
	return faccessat(st->blobs_fd, hamn_digest_hex(&d), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int64_t blob_size(struct hamn_image_store *st, const char *digest)
{
	struct hamn_digest d;
	struct stat sb;

	if (hamn_digest_parse(digest, &d, NULL) < 0 ||
	    fstatat(st->blobs_fd, hamn_digest_hex(&d), &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return (int64_t)sb.st_size;
}

int hamn_image_blob_open(struct hamn_image_store *st, const char *digest,
			 struct hamn_error **err)
{
	struct hamn_digest d;
	int fd;

	if (hamn_digest_parse(digest, &d, err) < 0)
		return -1;
	fd = openat(st->blobs_fd, hamn_digest_hex(&d), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hamn_error_set(err, errno, "blob %s", d.str);
	return fd;
}

int blob_read(struct hamn_image_store *st, const char *digest, size_t max, char **out,
	      size_t *len_out, struct hamn_error **err)
{
	_cleanup_close_ int fd = hamn_image_blob_open(st, digest, err);

	if (fd < 0)
		return -1;
	if (hamn_read_fd(fd, max, out, len_out, err) < 0)
		return hamn_error_wrap(err, "read blob %s", digest);
	return 0;
}

void blob_remove(struct hamn_image_store *st, const char *digest)
{
	struct hamn_digest d;

	if (hamn_digest_parse(digest, &d, NULL) < 0)
		return;
	if (unlinkat(st->blobs_fd, hamn_digest_hex(&d), 0) < 0 && errno != ENOENT)
		log_kv(HAMN_LOG_WARN, "cannot remove blob", "digest=%s errno=%s", d.str,
		       hamn_errno_name(errno));
}

int hamn_image_blob_put(struct hamn_image_store *st, int fd, const char *expected,
			struct hamn_digest *out, struct hamn_error **err)
{
	_cleanup_blob_writer_ struct blob_writer *w = NULL;
	_cleanup_free_ char *buf = xmalloc(65536);
	int rc;

	if (expected && !hamn_digest_valid(expected))
		return hamn_error_setq(err, EINVAL, "invalid digest '%s'", expected);
	/* no lock: staging names are unique and the final rename is atomic */
	w = blob_writer_new(st, err);
	rc = w ? 0 : -1;
	while (rc == 0) {
		ssize_t n = hamn_read_all(fd, buf, 65536, err);

		if (n < 0)
			rc = -1;
		else if (n == 0)
			break;
		else
			rc = blob_writer_write(w, buf, (size_t)n, err);
	}
	if (rc == 0)
		rc = blob_writer_commit(w, expected, out, NULL, err);
	return rc;
}

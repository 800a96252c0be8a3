/*
 * apply.c - extracting a layer tar, reading the input once.
 *
 * Two libarchive readers are chained: `outer` has the decompression
 * filters and the "raw" format, so it turns the input (gzip, zstd, xz or
 * plain) into the uncompressed tar stream; `inner` parses that stream as a
 * tar. Every uncompressed byte passes through pull_tar(), which hashes it,
 * so the diff ID comes out of the same pass, including the padding after
 * the end-of-archive marker. Every input byte passes through outer_read(),
 * which hashes it and may copy it into a blob (import keeps the layer as
 * received). libarchive's own disk writer is never used: apply_entry.c
 * creates each entry relative to the layer root.
 */
#include "image/apply.h"

#include <fcntl.h>

#define APPLY_BUF (512 * 1024)

/* ---- a string set ---- */

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static size_t strset_slot(const struct strset *s, const char *key)
{
	size_t i = str_hash(key) & (s->cap - 1);

	while (s->keys[i] && !streq(s->keys[i], key))
		i = (i + 1) & (s->cap - 1);
	return i;
}

bool strset_get(const struct strset *s, const char *key, size_t *val)
{
	size_t i;

	if (s->cap == 0)
		return false;
	i = strset_slot(s, key);
	if (!s->keys[i])
		return false;
	if (val)
		*val = s->vals[i];
	return true;
}

static void strset_grow(struct strset *s)
{
	struct strset bigger = { 0 };

	bigger.cap = s->cap ? s->cap * 2 : 64;
	bigger.keys = xcalloc(bigger.cap, sizeof(char *));
	bigger.vals = xcalloc(bigger.cap, sizeof(size_t));
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->keys[i])
			continue;
		size_t j = strset_slot(&bigger, s->keys[i]);
		bigger.keys[j] = s->keys[i];
		bigger.vals[j] = s->vals[i];
	}
	bigger.n = s->n;
	free(s->keys);
	free(s->vals);
	*s = bigger;
}

void strset_put(struct strset *s, const char *key, size_t val)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap)
		strset_grow(s);
	i = strset_slot(s, key);
	if (!s->keys[i]) {
		s->keys[i] = xstrdup(key);
		s->n++;
	}
	s->vals[i] = val;
}

void strset_release(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

/* ---- directories, finished last ---- */

void apply_defer_dir(struct apply *ap, const char *path, mode_t mode,
		     const struct timespec times[2])
{
	size_t i;

	if (!strset_get(&ap->dir_index, path, &i)) {
		if (ap->n_dirs == ap->cap_dirs) {
			ap->cap_dirs = ap->cap_dirs ? ap->cap_dirs * 2 : 64;
			ap->dirs = xreallocarray(ap->dirs, ap->cap_dirs, sizeof(*ap->dirs));
		}
		i = ap->n_dirs++;
		ap->dirs[i].path = xstrdup(path);
		strset_put(&ap->dir_index, path, i);
	}
	ap->dirs[i].mode = mode;
	ap->dirs[i].times[0] = times[0];
	ap->dirs[i].times[1] = times[1];
}

static size_t depth_of(const char *p)
{
	size_t d = *p ? 1 : 0;

	for (; *p; p++)
		d += *p == '/';
	return d;
}

static int deeper_first(const void *a, const void *b)
{
	size_t da = depth_of(((const struct dir_meta *)a)->path);
	size_t db = depth_of(((const struct dir_meta *)b)->path);

	return da < db ? 1 : da > db ? -1 : 0;
}

/*
 * The path is resolved again inside the root without following a symlink
 * last: if a later entry replaced the directory with a symlink
 * (CVE-2021-32760), there is nothing to chmod and the entry is skipped.
 */
static int finish_dir(struct apply *ap, const struct dir_meta *d, struct hamn_error **err)
{
	_cleanup_close_ int fd = -1;

	fd = hamn_open_in_root(ap->rootfd, *d->path ? d->path : ".",
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
			       HAMN_RESOLVE_NO_SYMLINK_LAST, NULL);
	if (fd < 0)
		return 0;	/* replaced by a non-directory, or deleted by a whiteout */
	if (fchmod(fd, d->mode) < 0 || futimens(fd, d->times) < 0)
		return hamn_error_set(err, errno, "%s: entry '%s': set mode and times", ap->label,
				      d->path);
	return 0;
}

static int finish_dirs(struct apply *ap, struct hamn_error **err)
{
	if (ap->n_dirs > 1)
		qsort(ap->dirs, ap->n_dirs, sizeof(*ap->dirs), deeper_first);
	for (size_t i = 0; i < ap->n_dirs; i++)
		if (finish_dir(ap, &ap->dirs[i], err) < 0)
			return -1;
	return 0;
}

/* ---- the two readers ---- */

static la_ssize_t outer_read(struct archive *a, void *ud, const void **buf)
{
	struct apply *ap = ud;
	ssize_t n;

	do
		n = read(ap->src_fd, ap->inbuf, APPLY_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		hamn_error_set(&ap->cb_err, errno, "read layer stream");
		archive_set_error(a, errno, "read error");
		return -1;
	}
	if (ap->in_hash)
		hamn_sha256_update(ap->in_hash, ap->inbuf, (size_t)n);
	ap->in_size += (uint64_t)n;
	if (ap->tee && n > 0 && blob_writer_write(ap->tee, ap->inbuf, (size_t)n, &ap->cb_err) < 0) {
		archive_set_error(a, EIO, "write error");
		return -1;
	}
	*buf = ap->inbuf;
	return n;
}

/* Uncompressed bytes into buf, hashed on the way; 0 at the end, -1 on error. */
static la_ssize_t pull_tar(struct apply *ap, void *buf, size_t len)
{
	la_ssize_t n = archive_read_data(ap->outer, buf, len);

	if (n > 0) {
		if (ap->tar_hash)
			hamn_sha256_update(ap->tar_hash, buf, (size_t)n);
		ap->tar_size += (uint64_t)n;
	}
	return n;
}

static la_ssize_t inner_read(struct archive *a, void *ud, const void **buf)
{
	struct apply *ap = ud;
	la_ssize_t n = pull_tar(ap, ap->tarbuf, APPLY_BUF);

	if (n < 0) {
		archive_set_error(a, archive_errno(ap->outer), "%s",
				  archive_error_string(ap->outer) ? archive_error_string(ap->outer)
								  : "decompression failed");
		return -1;
	}
	*buf = ap->tarbuf;
	return n;
}

static int archive_fail(struct apply *ap, struct archive *a, const char *what,
			struct hamn_error **err)
{
	if (ap->cb_err) {
		hamn_error_propagate(err, &ap->cb_err);
		return hamn_error_wrap(err, "%s", ap->label);
	}
	return hamn_error_setq(err, EINVAL, "%s: %s: %s", ap->label, what,
			       archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

static int open_readers(struct apply *ap, struct hamn_error **err)
{
	struct archive_entry *e;

	ap->outer = archive_read_new();
	ap->inner = archive_read_new();
	/* only in-process decompressors: no helper programs for untrusted input */
	archive_read_support_filter_gzip(ap->outer);
	archive_read_support_filter_xz(ap->outer);
	archive_read_support_filter_zstd(ap->outer);
	archive_read_support_format_raw(ap->outer);
	if (archive_read_open(ap->outer, ap, NULL, outer_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(ap->outer, &e) != ARCHIVE_OK)
		return archive_fail(ap, ap->outer, "read stream", err);
	archive_read_support_format_tar(ap->inner);
	if (archive_read_open(ap->inner, ap, NULL, inner_read, NULL) != ARCHIVE_OK)
		return archive_fail(ap, ap->inner, "not a tar archive", err);
	return 0;
}

static int read_entries(struct apply *ap, struct hamn_error **err)
{
	struct archive_entry *e;

	for (;;) {
		int r = archive_read_next_header(ap->inner, &e);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return archive_fail(ap, ap->inner, "read tar", err);
		if (apply_entry(ap, e, err) < 0)
			return -1;
	}
}

/* Hash what follows the tar's end marker, then the rest of the raw input. */
static int drain(struct apply *ap, struct hamn_error **err)
{
	const void *unused;
	la_ssize_t n;
	ssize_t m;

	while ((n = pull_tar(ap, ap->tarbuf, APPLY_BUF)) > 0)
		;
	if (n < 0)
		return archive_fail(ap, ap->outer, "read stream", err);
	while ((m = outer_read(ap->outer, ap, &unused)) > 0)
		;
	if (m < 0)
		return archive_fail(ap, ap->outer, "read stream", err);
	return 0;
}

static const char *compression_of(struct archive *outer)
{
	switch (archive_filter_code(outer, 0)) {
	case ARCHIVE_FILTER_GZIP:
		return "gzip";
	case ARCHIVE_FILTER_ZSTD:
		return "zstd";
	case ARCHIVE_FILTER_XZ:
		return "xz";
	default:
		return NULL;
	}
}

static void apply_release(struct apply *ap)
{
	if (ap->inner)
		archive_read_free(ap->inner);
	if (ap->outer)
		archive_read_free(ap->outer);
	if (ap->in_hash)
		hamn_sha256_free(ap->in_hash);
	if (ap->tar_hash)
		hamn_sha256_free(ap->tar_hash);
	free(ap->inbuf);
	free(ap->tarbuf);
	hamn_error_free(&ap->cb_err);
	for (size_t i = 0; i < ap->n_dirs; i++)
		free(ap->dirs[i].path);
	free(ap->dirs);
	strset_release(&ap->dir_index);
	strset_release(&ap->seen);
}

int layer_apply_tee(int rootfd, int src_fd, unsigned int flags, const char *label,
		    struct blob_writer *tee, struct hamn_layer_stats *stats,
		    struct hamn_error **err)
{
	struct apply ap = { 0 };
	int rc;

	ap.rootfd = rootfd;
	ap.flags = flags;
	ap.label = label ? label : "layer";
	ap.chown = geteuid() == 0;
	ap.src_fd = src_fd;
	ap.tee = tee;
	/* the digests only go to stats: a build context has no use for them */
	if (stats) {
		ap.in_hash = hamn_sha256_new();
		ap.tar_hash = hamn_sha256_new();
	}
	ap.inbuf = xmalloc(APPLY_BUF);
	ap.tarbuf = xmalloc(APPLY_BUF);
	rc = open_readers(&ap, err);
	if (rc == 0)
		rc = read_entries(&ap, err);
	if (rc == 0)
		rc = drain(&ap, err);
	if (rc == 0)
		rc = finish_dirs(&ap, err);
	if (rc == 0 && stats) {
		hamn_sha256_final(ap.tar_hash, &stats->diff_id);
		hamn_sha256_final(ap.in_hash, &stats->input_digest);
		stats->tar_size = ap.tar_size;
		stats->unpacked_size = ap.unpacked;
		stats->input_size = ap.in_size;
		stats->compression = compression_of(ap.outer);
	}
	apply_release(&ap);
	return rc;
}

int hamn_layer_apply(int rootfd, int src_fd, unsigned int flags, const char *label,
		     struct hamn_layer_stats *stats, struct hamn_error **err)
{
	return layer_apply_tee(rootfd, src_fd, flags, label, NULL, stats, err);
}

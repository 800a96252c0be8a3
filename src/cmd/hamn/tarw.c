/*
 * tarw.c - the CLI's tar writer (see tarw.h). POSIX ustar with PAX
 * extended records ("path", "linkpath", "size") for what ustar cannot hold.
 */
#include "tarw.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 512

static int put(struct tarw *t, const void *data, size_t len, struct hamn_error **err)
{
	if (hamn_write_all(t->fd, data, len, err) < 0)
		return -1;
	t->written += len;
	return 0;
}

static int pad(struct tarw *t, uint64_t len, struct hamn_error **err)
{
	static const char zero[BLOCK];
	size_t n = (size_t)((BLOCK - len % BLOCK) % BLOCK);

	return n ? put(t, zero, n, err) : 0;
}

/* v in octal, zero-padded to width - 1 digits and a NUL (callers keep v in range). */
static void octal(char *field, size_t width, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
}

static void checksum(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void header(unsigned char *h, const char *name, char type, mode_t mode, uint64_t size,
		   int64_t mtime, const char *link)
{
	memset(h, 0, BLOCK);
	memcpy(h, name, strnlen(name, 100));
	octal((char *)h + 100, 8, mode & 07777);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, (uint64_t)(mtime > 0 ? mtime : 0));
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strnlen(link, 100));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	checksum(h);
}

/* One PAX record "<len> key=value\n"; len counts itself. */
static void pax_record(struct hamn_buf *b, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
	size_t n = body + 1;

	while (n != body + (size_t)snprintf(NULL, 0, "%zu", n))
		n = body + (size_t)snprintf(NULL, 0, "%zu", n);
	hamn_buf_printf(b, "%zu %s=%s\n", n, key, value);
}

static int put_pax(struct tarw *t, const char *path, const char *link, uint64_t size,
		   struct hamn_error **err)
{
	_cleanup_buf_ struct hamn_buf b = HAMN_BUF_INIT;
	unsigned char h[BLOCK];
	char num[24];

	if (strlen(path) > 99)
		pax_record(&b, "path", path);
	if (link && strlen(link) > 99)
		pax_record(&b, "linkpath", link);
	if (size > 077777777777ULL) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		pax_record(&b, "size", num);
	}
	if (!b.len)
		return 0;
	header(h, "././@PaxHeader", 'x', 0644, b.len, 0, NULL);
	if (put(t, h, BLOCK, err) < 0 || put(t, b.data, b.len, err) < 0)
		return -1;
	return pad(t, b.len, err);
}

/*
 * Move up to left bytes of fd into the output with splice(2) when the output
 * is a pipe (no copy through user space); *left is lowered by what moved.
 * Returns 0 when the rest must go through read and write (not a pipe, a
 * file that cannot be spliced or that shrank), -1 on a write error.
 */
static int splice_content(struct tarw *t, int fd, uint64_t *left, struct hamn_error **err)
{
	while (*left) {
		size_t want = *left < (1u << 20) ? (size_t)*left : (1u << 20);
		ssize_t n = splice(fd, NULL, t->fd, NULL, want, SPLICE_F_MOVE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS || errno == EBADF))
			return 0;
		if (n < 0)
			return hamn_error_set(err, errno, "write");
		if (n == 0)
			return 0;
		*left -= (uint64_t)n;
		t->written += (uint64_t)n;
	}
	return 0;
}

static int copy_content(struct tarw *t, int fd, uint64_t size, const char *path,
			struct hamn_error **err)
{
	char buf[65536];
	uint64_t left = size;

	if (splice_content(t, fd, &left, err) < 0)
		return -1;
	while (left) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = hamn_read_all(fd, buf, want, err);

		if (n < 0)
			return hamn_error_wrap(err, "read '%s'", path);
		if (n == 0) { /* the file shrank: keep the size the header promised */
			memset(buf, 0, want);
			n = (ssize_t)want;
		}
		if (put(t, buf, (size_t)n, err) < 0)
			return -1;
		left -= (uint64_t)n;
	}
	return pad(t, size, err);
}

int tarw_add(struct tarw *t, const char *path, const struct stat *st, int content_fd,
	     const char *link, struct hamn_error **err)
{
	unsigned char h[BLOCK];
	_cleanup_free_ char *name = S_ISDIR(st->st_mode) ? xasprintf("%s/", path) : xstrdup(path);
	uint64_t size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	char type;

	if (S_ISREG(st->st_mode))
		type = '0';
	else if (S_ISDIR(st->st_mode))
		type = '5';
	else if (S_ISLNK(st->st_mode) && link)
		type = '2';
	else
		return 0;
	if (put_pax(t, name, type == '2' ? link : NULL, size, err) < 0)
		return -1;
	header(h, name, type, st->st_mode, size > 077777777777ULL ? 0 : size,
	       st->st_mtim.tv_sec, type == '2' ? link : NULL);
	if (put(t, h, BLOCK, err) < 0)
		return -1;
	return type == '0' ? copy_content(t, content_fd, size, path, err) : 0;
}

int tarw_add_data(struct tarw *t, const char *path, const char *data, size_t len,
		  struct hamn_error **err)
{
	unsigned char h[BLOCK];

	if (put_pax(t, path, NULL, len, err) < 0)
		return -1;
	header(h, path, '0', 0644, len, time(NULL), NULL);
	if (put(t, h, BLOCK, err) < 0 || put(t, data, len, err) < 0)
		return -1;
	return pad(t, len, err);
}

int tarw_finish(struct tarw *t, struct hamn_error **err)
{
	static const char zero[2 * BLOCK];

	return put(t, zero, sizeof(zero), err);
}

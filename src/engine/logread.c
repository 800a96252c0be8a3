/*
 * logread.c - GET /containers/{id}/logs: read the json-file log (and its
 * rotated predecessors, oldest first) with tail, since, until, timestamps;
 * with follow, keep reading as the monitor writes, woken by inotify on the
 * container directory (never by a sleep), until the container stops or the
 * client goes away.
 *
 * Only complete lines are read: the monitor writes whole records with one
 * write(2), so a partial last line is still being written.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

#define CHUNK (64 * 1024)
#define MAX_ROTATED 100

struct hamn_engine_logs {
	struct hamn_engine *e;
	struct container *c;
	struct hamn_engine_logs_opts o;
	bool tty;
	int dirfd;
	char *name;
	struct hamn_engine_waiter *w;	/* follow: fires when the container stops */
};

struct reader {
	struct hamn_engine_logs *l;
	hamn_engine_log_fn fn;
	void *ctx;
	struct hamn_buf line;	/* a partial line carried between reads */
	struct hamn_buf out;
	bool until_passed;
};

struct hamn_engine_logs *hamn_engine_logs_open(struct hamn_engine *e, const char *ref,
					       const struct hamn_engine_logs_opts *o,
					       bool *tty_out, struct hamn_error **err)
{
	struct hamn_engine_logs *l;
	struct container *c = ctr_get(e, ref, err);

	if (!c)
		return NULL;
	if (streq(c->cfg.log_driver, "none")) {
		ctr_put(e, c);
		return hamn_error_setq(err, ENOTSUP,
				       "configured logging driver does not support reading"), NULL;
	}
	l = xzalloc(sizeof(*l));
	l->e = e;
	l->c = c;
	l->o = *o;
	l->tty = c->cfg.tty;
	l->name = log_file_name(&c->cfg, c->id);
	l->dirfd = openat(e->ctrs_fd, c->id, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0) {
		hamn_error_set(err, errno, "open the log directory of %s", c->id);
		hamn_engine_logs_free(l);
		return NULL;
	}
	/* registered now so that an exit between here and the end of the dump is not missed */
	if (o->follow) {
		l->w = hamn_engine_wait_new(e, c->id, HAMN_WAIT_NOT_RUNNING, err);
		if (!l->w) {
			hamn_engine_logs_free(l);
			return NULL;
		}
	}
	*tty_out = l->tty;
	return l;
}

void hamn_engine_logs_free(struct hamn_engine_logs *l)
{
	if (!l)
		return;
	hamn_engine_waiter_free(l->w);
	if (l->dirfd >= 0)
		close(l->dirfd);
	free(l->name);
	ctr_put(l->e, l->c);
	free(l);
}

/* One record: filter, format, hand over. */
static int emit_line(struct reader *r, const char *line, size_t len, struct hamn_error **err)
{
	const struct hamn_engine_logs_opts *o = &r->l->o;
	_cleanup_error_ struct hamn_error *derr = NULL;
	_cleanup_free_ char *msg = NULL;
	char ts[HAMN_TIME_STR_MAX];
	size_t mlen;
	int64_t ns;
	int stream;

	if (!len || logline_decode(line, len, &stream, &msg, &mlen, &ns, &derr) < 0)
		return 0;	/* a damaged record is skipped, as dockerd does */
	if ((stream == 1 && !o->stdout_) || (stream == 2 && !o->stderr_))
		return 0;
	if (o->since_ns && ns < o->since_ns)
		return 0;
	if (o->until_ns && ns > o->until_ns) {
		r->until_passed = true;
		return 0;
	}
	hamn_buf_reset(&r->out);
	if (o->timestamps) {
		hamn_buf_puts(&r->out, hamn_time_format(ns, ts));
		hamn_buf_putc(&r->out, ' ');
	}
	if (o->details)		/* records keep no attributes: dockerd's "" and its space */
		hamn_buf_putc(&r->out, ' ');
	hamn_buf_append(&r->out, msg, mlen);
	return r->fn(r->ctx, stream, r->out.data, r->out.len, err);
}

/* Read fd to its current end, emitting complete lines. */
static int read_lines(struct reader *r, int fd, struct hamn_error **err)
{
	char buf[CHUNK];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hamn_error_set(err, errno, "read the log");
		if (n == 0)
			return 0;
		for (size_t i = 0; i < (size_t)n; i++) {
			if (buf[i] != '\n')
				continue;
			if (r->line.len) {
				hamn_buf_append(&r->line, buf + start, i - start);
				if (emit_line(r, r->line.data, r->line.len, err) < 0)
					return -1;
				hamn_buf_reset(&r->line);
			} else if (emit_line(r, buf + start, i - start, err) < 0) {
				return -1;
			}
			start = i + 1;
			if (r->until_passed)
				return 0;
		}
		hamn_buf_append(&r->line, buf + start, (size_t)n - start);
	}
}

/* The log files, oldest first: name.N ... name.1, name (the last may be absent). */
static char **log_files(struct hamn_engine_logs *l)
{
	char **files = NULL;
	int n = 0;

	for (int i = 1; i <= MAX_ROTATED; i++) {
		_cleanup_free_ char *p = xasprintf("%s.%d", l->name, i);
		struct stat st;

		if (fstatat(l->dirfd, p, &st, 0) < 0)
			break;
		n = i;
	}
	for (int i = n; i >= 1; i--)
		strv_push_take(&files, xasprintf("%s.%d", l->name, i));
	strv_push(&files, l->name);
	return files;
}

/* Count complete lines backwards from the end of fd; *off gets where the last `want` start. */
static int64_t tail_scan(int fd, int64_t want, off_t *off)
{
	char buf[CHUNK];
	off_t end = lseek(fd, 0, SEEK_END), pos = end;
	int64_t lines = 0;
	bool first = true;

	*off = 0;
	while (pos > 0) {
		size_t n = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;

		pos -= (off_t)n;
		if (pread(fd, buf, n, pos) != (ssize_t)n)
			break;
		for (size_t i = n; i-- > 0;) {
			if (buf[i] != '\n')
				continue;
			/* the newline ending the file closes the last line, it starts nothing */
			if (first && pos + (off_t)i == end - 1) {
				first = false;
				continue;
			}
			first = false;
			if (++lines == want) {
				*off = pos + (off_t)i + 1;
				return lines;
			}
		}
	}
	/* the whole file: count its first line too (when it has one) */
	return end > 0 ? lines + 1 : 0;
}

/* Where to start for tail: index into files and an offset in that file. */
static void tail_start(struct hamn_engine_logs *l, char **files, size_t *idx, off_t *off)
{
	int64_t want = l->o.tail;
	size_t n = strv_len(files);

	*idx = 0;
	*off = 0;
	if (want < 0)
		return;
	if (want == 0) {
		_cleanup_close_ int fd = openat(l->dirfd, files[n - 1], O_RDONLY | O_CLOEXEC);

		*idx = n - 1;
		*off = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
		return;
	}
	for (size_t i = n; i-- > 0;) {
		_cleanup_close_ int fd = openat(l->dirfd, files[i], O_RDONLY | O_CLOEXEC);
		int64_t got;

		if (fd < 0)
			continue;
		got = tail_scan(fd, want, off);
		if (got >= want) {
			*idx = i;
			return;
		}
		want -= got;
	}
	*idx = 0;
	*off = 0;
}

/* Dump the stored log; returns an fd on the current file at its end (or -1). */
static int dump(struct reader *r, struct hamn_error **err)
{
	_cleanup_strv_ char **files = log_files(r->l);
	size_t idx, n = strv_len(files);
	off_t off;
	int cur = -1;

	tail_start(r->l, files, &idx, &off);
	for (size_t i = idx; i < n; i++) {
		int fd = openat(r->l->dirfd, files[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			continue;
		if (i == idx && off > 0)
			lseek(fd, off, SEEK_SET);
		hamn_buf_reset(&r->line);
		if (read_lines(r, fd, err) < 0) {
			close(fd);
			return -2;
		}
		if (i + 1 == n)
			cur = fd;
		else
			close(fd);
		if (r->until_passed)
			break;
	}
	return cur;
}

static bool rotated(struct hamn_engine_logs *l, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || fstatat(l->dirfd, l->name, &b, 0) < 0)
		return false;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* After a wake-up: read what is new, following a rotation or truncation. */
static int follow_step(struct reader *r, int *fd, struct hamn_error **err)
{
	struct stat st;

	if (*fd < 0) {
		*fd = openat(r->l->dirfd, r->l->name, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return 0;
	}
	if (fstat(*fd, &st) == 0 && st.st_size < lseek(*fd, 0, SEEK_CUR)) {
		lseek(*fd, 0, SEEK_SET);	/* max-file 1: truncated in place */
		hamn_buf_reset(&r->line);
	}
	if (read_lines(r, *fd, err) < 0)
		return -1;
	if (rotated(r->l, *fd)) {
		close(*fd);
		hamn_buf_reset(&r->line);
		*fd = openat(r->l->dirfd, r->l->name, O_RDONLY | O_CLOEXEC);
		if (*fd >= 0 && read_lines(r, *fd, err) < 0)
			return -1;
	}
	return 0;
}

static int follow(struct reader *r, int *fd, int cancel_fd, struct hamn_error **err)
{
	char path[HAMN_FD_PATH_MAX];
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	char evbuf[4096];

	if (ino < 0)
		return hamn_error_set(err, errno, "inotify_init1");
	if (inotify_add_watch(ino, hamn_fd_path(r->l->dirfd, path),
			      IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
		return hamn_error_set(err, errno, "watch the log directory");
	for (;;) {
		struct pollfd p[3] = { { .fd = ino, .events = POLLIN },
				       { .fd = hamn_engine_waiter_fd(r->l->w), .events = POLLIN },
				       { .fd = cancel_fd, .events = POLLIN } };
		int stopped;

		/* read first: data written before the watch existed must not wait */
		if (follow_step(r, fd, err) < 0 || r->until_passed)
			return r->until_passed ? 0 : -1;
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			return hamn_error_set(err, errno, "poll");
		if (p[2].revents)
			return 0;
		while (read(ino, evbuf, sizeof(evbuf)) > 0)
			;
		stopped = hamn_engine_waiter_result(r->l->w, &(int){ 0 }, NULL);
		if (stopped)
			return follow_step(r, fd, err);
	}
}

int hamn_engine_logs_run(struct hamn_engine_logs *l, int cancel_fd, hamn_engine_log_fn fn,
			 void *ctx, struct hamn_error **err)
{
	struct reader r = { .l = l, .fn = fn, .ctx = ctx };
	int fd, ret = 0;

	fd = dump(&r, err);
	if (fd == -2)
		ret = -1;
	else if (l->o.follow && !r.until_passed)
		ret = follow(&r, &fd, cancel_fd, err);
	if (fd >= 0)
		close(fd);
	hamn_buf_release(&r.line);
	hamn_buf_release(&r.out);
	return ret;
}

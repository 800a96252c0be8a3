/*
 * logfile.c - docker's json-file log format: one JSON object a line,
 * {"log":"hi\n","stream":"stdout","time":"2026-11-29T10:55:50.958160699Z"},
 * written by the monitor with rotation (max-size, max-file), read back by
 * hamnd (logread.c).
 *
 * A record is one line of output including its newline. A line longer than
 * 16 KiB is cut into records of 16 KiB (as dockerd does); the remainder of a
 * line without newline is written when the stream ends. Bytes that are not
 * UTF-8 become U+FFFD, as Go's encoder makes them.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

#define PARTIAL_MAX (16 * 1024)

static void put_escaped_ascii(struct hamn_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[7] = { '\\', 'u', '0', '0', 0, 0, 0 };

	switch (c) {
	case '"':
		hamn_buf_puts(b, "\\\"");
		return;
	case '\\':
		hamn_buf_puts(b, "\\\\");
		return;
	case '\n':
		hamn_buf_puts(b, "\\n");
		return;
	case '\r':
		hamn_buf_puts(b, "\\r");
		return;
	case '\t':
		hamn_buf_puts(b, "\\t");
		return;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f) {
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		hamn_buf_append(b, esc, 6);
		return;
	}
	hamn_buf_putc(b, (char)c);
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = s[0] & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void put_json_string(struct hamn_buf *b, const char *msg, size_t len)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t i = 0;

	hamn_buf_putc(b, '"');
	while (i < len) {
		size_t run = i;

		/* copy plain printable ASCII in one go */
		while (run < len && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		if (run > i) {
			hamn_buf_append(b, msg + i, run - i);
			i = run;
			continue;
		}
		if (s[i] < 0x80) {
			put_escaped_ascii(b, s[i++]);
			continue;
		}
		run = utf8_seq(s + i, len - i);
		if (run) {
			hamn_buf_append(b, msg + i, run);
			i += run;
		} else {
			hamn_buf_puts(b, "\\ufffd");
			i++;
		}
	}
	hamn_buf_putc(b, '"');
}

void logline_encode(struct hamn_buf *b, int stream, const char *msg, size_t len, int64_t ns)
{
	char ts[HAMN_TIME_STR_MAX];

	hamn_buf_puts(b, "{\"log\":");
	put_json_string(b, msg, len);
	hamn_buf_puts(b, stream == 2 ? ",\"stream\":\"stderr\",\"time\":\""
				     : ",\"stream\":\"stdout\",\"time\":\"");
	hamn_buf_puts(b, hamn_time_format(ns, ts));
	hamn_buf_puts(b, "\"}\n");
}

int logline_decode(const char *line, size_t len, int *stream_out, char **msg_out,
		   size_t *len_out, int64_t *ns_out, struct hamn_error **err)
{
	_cleanup_json_ json_t *obj = NULL;
	json_t *log, *stream, *time;
	json_error_t jerr;

	obj = json_loadb(line, len, JSON_ALLOW_NUL | JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(obj))
		return hamn_error_setq(err, EINVAL, "bad log record: %s", jerr.text);
	log = json_object_get(obj, "log");
	stream = json_object_get(obj, "stream");
	time = json_object_get(obj, "time");
	if (!json_is_string(log) || !json_is_string(stream) || !json_is_string(time))
		return hamn_error_setq(err, EINVAL, "bad log record: missing fields");
	if (hamn_time_parse(json_string_value(time), ns_out, err) < 0)
		return -1;
	*stream_out = streq(json_string_value(stream), "stderr") ? 2 : 1;
	*len_out = json_string_length(log);
	*msg_out = xmalloc(*len_out + 1);
	memcpy(*msg_out, json_string_value(log), *len_out);
	(*msg_out)[*len_out] = '\0';
	return 0;
}

/* ---- the writer (in the monitor) ---- */

int logw_open(struct logw *w, int dirfd, const char *name, int64_t max_size, int64_t max_file,
	      struct hamn_error **err)
{
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dirfd = dirfd;
	w->max_size = max_size;
	w->max_file = max_file < 1 ? 1 : max_file;
	if (!name)
		return 0;
	w->name = xstrdup(name);
	if (strchr(name, '/')) {
		_cleanup_free_ char *dir = xstrndup(name, (size_t)(strrchr(name, '/') - name));

		if (mkdirat(dirfd, dir, 0700) < 0 && errno != EEXIST)
			return hamn_error_set(err, errno, "create log directory '%s'", dir);
	}
	w->fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (w->fd < 0)
		return hamn_error_set(err, errno, "open log '%s'", name);
	if (fstat(w->fd, &st) == 0)
		w->size = st.st_size;
	return 0;
}

/* Shift name.N-1 -> name.N ... name -> name.1, then start an empty name. */
static int rotate(struct logw *w, struct hamn_error **err)
{
	if (w->max_file <= 1) {
		if (ftruncate(w->fd, 0) < 0)
			return hamn_error_set(err, errno, "truncate log '%s'", w->name);
		w->size = 0;
		return 0;
	}
	for (int64_t i = w->max_file - 1; i >= 1; i--) {
		_cleanup_free_ char *to = xasprintf("%s.%lld", w->name, (long long)i);
		_cleanup_free_ char *from = i == 1 ? xstrdup(w->name)
						   : xasprintf("%s.%lld", w->name, (long long)i - 1);

		if (renameat(w->dirfd, from, w->dirfd, to) < 0 && errno != ENOENT)
			return hamn_error_set(err, errno, "rotate log '%s'", from);
	}
	close(w->fd);
	w->fd = openat(w->dirfd, w->name, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC,
		       0640);
	if (w->fd < 0)
		return hamn_error_set(err, errno, "open log '%s'", w->name);
	w->size = 0;
	return 0;
}

static int emit(struct logw *w, struct hamn_error **err)
{
	int r = 0;

	if (w->out.len)
		r = hamn_write_all(w->fd, w->out.data, w->out.len, err);
	if (r == 0)
		w->size += (int64_t)w->out.len;
	hamn_buf_reset(&w->out);
	return r;
}

/* A record was appended to out: when the file is full, write what we have and rotate. */
static int after_record(struct logw *w, struct hamn_error **err)
{
	if (w->max_size <= 0 || w->size + (int64_t)w->out.len < w->max_size)
		return 0;
	if (emit(w, err) < 0)
		return -1;
	return rotate(w, err);
}

int logw_write(struct logw *w, int stream, const char *data, size_t len, int64_t now_ns,
	       struct hamn_error **err)
{
	struct hamn_buf *p = &w->partial[stream == 2 ? 2 : 1];

	if (w->fd < 0)
		return 0;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) + 1 : len;
		size_t room = PARTIAL_MAX - p->len;
		bool complete = nl != NULL;

		if (take >= room) {
			take = room;
			complete = true;
		}
		if (!complete) {
			hamn_buf_append(p, data, take);
			break;
		}
		if (p->len == 0) {
			/* a whole record straight from data: no copy */
			logline_encode(&w->out, stream, data, take, now_ns);
		} else {
			hamn_buf_append(p, data, take);
			logline_encode(&w->out, stream, p->data, p->len, now_ns);
			hamn_buf_reset(p);
		}
		if (after_record(w, err) < 0)
			return -1;
		data += take;
		len -= take;
	}
	return emit(w, err);
}

int logw_flush(struct logw *w, int64_t now_ns, struct hamn_error **err)
{
	if (w->fd < 0)
		return 0;
	for (int s = 1; s <= 2; s++) {
		if (w->partial[s].len) {
			logline_encode(&w->out, s, w->partial[s].data, w->partial[s].len, now_ns);
			hamn_buf_reset(&w->partial[s]);
			if (after_record(w, err) < 0)
				return -1;
		}
	}
	return emit(w, err);
}

void logw_close(struct logw *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->name);
	w->name = NULL;
	for (int s = 0; s < 3; s++)
		hamn_buf_release(&w->partial[s]);
	hamn_buf_release(&w->out);
}

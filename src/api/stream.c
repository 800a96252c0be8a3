/*
 * stream.c - chunked streaming replies.
 *
 * A producer (its own thread) appends to a queue; MHD's content reader, in
 * the connection thread, hands whatever is queued to MHD, which sends it as
 * one chunk right away. When the queue is empty the reader blocks in poll()
 * on three things: an eventfd the producer pokes after each write, the
 * client socket (POLLRDHUP: the client went away) and the server's stop fd.
 * Blocking there is fine because each connection has its own thread.
 *
 * Lifetime: the stream is shared by the MHD response (freed by MHD when the
 * request ends) and the producer; whoever drops the last reference frees it.
 */
#include "api/internal.h"

#include <poll.h>
#include <sys/eventfd.h>

struct hamn_api_stream {
	struct hamn_api_server *server;
	struct api_link link;
	pthread_mutex_t lock;
	pthread_cond_t space; /* writers wait here for the queue to drain */
	int data_fd;	      /* eventfd: "something to read or the end" */
	int cancel_fd;	      /* eventfd: readable once cancelled */
	int conn_fd;	      /* the client socket, polled for hang-up (not ours) */
	struct hamn_buf queue;
	unsigned flags;
	int refs;
	bool ended, failed, cancelled;
	/* hamn_api_reply_stream's producer */
	hamn_api_stream_fn fn;
	void *ctx;
	void (*ctx_free)(void *);
};

static void poke(int fd)
{
	uint64_t one = 1;

	/* an eventfd write only fails when the counter would overflow: then it is readable anyway
	 */
	(void)!write(fd, &one, sizeof(one));
}

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static void stream_unref(struct hamn_api_stream *st)
{
	bool last;

	pthread_mutex_lock(&st->lock);
	last = --st->refs == 0;
	pthread_mutex_unlock(&st->lock);
	if (!last)
		return;
	api_list_del(st->server, &st->link);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->space);
	if (st->data_fd >= 0)
		close(st->data_fd);
	if (st->cancel_fd >= 0)
		close(st->cancel_fd);
	hamn_buf_release(&st->queue);
	free(st);
}

/* Mark cancelled and wake everyone; called with st->lock held. */
static void cancel_locked(struct hamn_api_stream *st)
{
	if (st->cancelled)
		return;
	st->cancelled = true;
	poke(st->cancel_fd);
	poke(st->data_fd);
	pthread_cond_broadcast(&st->space);
}

void api_streams_cancel_all(struct hamn_api_server *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct api_link *l = s->streams.next; l != &s->streams; l = l->next) {
		struct hamn_api_stream *st = container_of(l, struct hamn_api_stream, link);

		pthread_mutex_lock(&st->lock);
		cancel_locked(st);
		pthread_mutex_unlock(&st->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Wait (without the lock) until there may be data, the end, or a reason to give up. */
static void wait_for_data(struct hamn_api_stream *st)
{
	struct pollfd pfd[3] = {
		{.fd = st->data_fd, .events = POLLIN},
		{.fd = st->conn_fd, .events = POLLRDHUP},
		{.fd = st->server->stop_fd, .events = POLLIN},
	};

	if (poll(pfd, 3, -1) < 0)
		return; /* EINTR: the caller loops */
	if (pfd[0].revents & POLLIN)
		drain(st->data_fd);
	if ((pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) || pfd[2].revents) {
		pthread_mutex_lock(&st->lock);
		cancel_locked(st);
		pthread_mutex_unlock(&st->lock);
	}
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct hamn_api_stream *st = cls;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&st->lock);
	while (st->queue.len == 0 && !st->ended && !st->cancelled) {
		pthread_mutex_unlock(&st->lock);
		wait_for_data(st);
		pthread_mutex_lock(&st->lock);
	}
	if (st->queue.len > 0 && !st->cancelled) {
		n = (ssize_t)(st->queue.len < max ? st->queue.len : max);
		memcpy(buf, st->queue.data, (size_t)n);
		hamn_buf_consume(&st->queue, (size_t)n);
		pthread_cond_broadcast(&st->space);
	} else if (st->ended && !st->failed && !st->cancelled) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		n = MHD_CONTENT_READER_END_WITH_ERROR;
	}
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* MHD is done with the response: the request ended or the client went away. */
static void stream_response_free(void *cls)
{
	struct hamn_api_stream *st = cls;

	pthread_mutex_lock(&st->lock);
	cancel_locked(st);
	pthread_mutex_unlock(&st->lock);
	stream_unref(st);
}

struct hamn_api_stream *hamn_api_reply_stream_begin(struct hamn_api_req *req, int status,
						    const char *content_type, unsigned flags)
{
	struct hamn_api_stream *st = xzalloc(sizeof(*st));
	struct MHD_Response *r;

	st->server = req->server;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->space, NULL);
	st->data_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	st->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (st->data_fd < 0 || st->cancel_fd < 0) {
		/* out of descriptors: the stream starts out cancelled, writes fail with EPIPE */
		log_kv(HAMN_LOG_ERROR, "cannot create a stream", "errno=%s",
		       hamn_errno_name(errno));
		st->cancelled = true;
	}
	st->conn_fd = api_conn_fd(req->conn);
	st->flags = flags;
	st->refs = 2; /* the response and the caller */
	api_list_add(st->server, &st->server->streams, &st->link);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, st,
					      stream_response_free);
	if (!r)
		hamn_bug("cannot create a stream response");
	if (content_type)
		MHD_add_response_header(r, "Content-Type", content_type);
	api_req_set_response(req, status, r);
	/* a wait or an events stream may be silent for hours: no idle timeout while it lasts */
	req->stream_reply = true;
	MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	return st;
}

int hamn_api_stream_write(struct hamn_api_stream *st, const void *data, size_t len,
			  struct hamn_error **err)
{
	pthread_mutex_lock(&st->lock);
	while (!st->cancelled && st->queue.len >= API_STREAM_HIGH_WATER)
		pthread_cond_wait(&st->space, &st->lock);
	if (st->cancelled) {
		pthread_mutex_unlock(&st->lock);
		return hamn_error_setq(err, EPIPE, "stream closed: the client went away");
	}
	hamn_buf_append(&st->queue, data, len);
	pthread_mutex_unlock(&st->lock);
	poke(st->data_fd);
	return 0;
}

int hamn_api_stream_json(struct hamn_api_stream *st, const json_t *msg, struct hamn_error **err)
{
	_cleanup_free_ char *text = hamn_json_dump(msg);
	_cleanup_free_ char *line = NULL;
	const char *sep = (st->flags & HAMN_API_STREAM_PROGRESS) ? "\r\n" : "\n";

	line = xasprintf("%s%s", text, sep);
	return hamn_api_stream_write(st, line, strlen(line), err);
}

int hamn_api_stream_frame(struct hamn_api_stream *st, int stream_type, const void *data, size_t len,
			  struct hamn_error **err)
{
	const char *p = data;

	do {
		uint32_t n = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		_cleanup_free_ uint8_t *frame = xmalloc(HAMN_API_MUX_HEADER_LEN + (size_t)n);

		hamn_api_mux_header(frame, stream_type, n);
		memcpy(frame + HAMN_API_MUX_HEADER_LEN, p, n);
		if (hamn_api_stream_write(st, frame, HAMN_API_MUX_HEADER_LEN + (size_t)n, err) < 0)
			return -1;
		p += n;
		len -= n;
	} while (len > 0);
	return 0;
}

int hamn_api_stream_cancel_fd(const struct hamn_api_stream *st)
{
	return st->cancel_fd;
}

bool hamn_api_stream_cancelled(struct hamn_api_stream *st)
{
	bool c;

	pthread_mutex_lock(&st->lock);
	c = st->cancelled;
	pthread_mutex_unlock(&st->lock);
	return c;
}

/* In-band error line of a progress stream (contract section 5). */
static void write_error_line(struct hamn_api_stream *st, const char *msg)
{
	_cleanup_json_ json_t *m =
		json_pack("{s:{s:s},s:s}", "errorDetail", "message", msg, "error", msg);
	_cleanup_error_ struct hamn_error *err = NULL;

	/* the client may be gone already; nothing more to do then */
	if (m)
		hamn_api_stream_json(st, m, &err);
}

void hamn_api_stream_end(struct hamn_api_stream *st, const struct hamn_error *failure)
{
	if (failure) {
		log_kv(HAMN_LOG_WARN, "stream failed", "error=\"%s\"", failure->msg);
		if (st->flags & HAMN_API_STREAM_PROGRESS)
			write_error_line(st, failure->msg);
	}
	pthread_mutex_lock(&st->lock);
	st->ended = true;
	st->failed = failure && !(st->flags & HAMN_API_STREAM_PROGRESS);
	pthread_mutex_unlock(&st->lock);
	poke(st->data_fd);
	stream_unref(st);
}

static void *producer_main(void *arg)
{
	struct hamn_api_stream *st = arg;
	struct hamn_api_server *s = st->server;
	_cleanup_error_ struct hamn_error *err = NULL;
	int rc = st->fn(st, st->ctx, &err);

	if (st->ctx_free)
		st->ctx_free(st->ctx);
	if (rc < 0 && !err)
		hamn_error_setq(&err, EIO, "stream producer failed");
	/* a write that failed because the client left is no failure worth logging */
	if (rc < 0 && err->errnum == EPIPE && hamn_api_stream_cancelled(st))
		hamn_error_free(&err);
	hamn_api_stream_end(st, rc < 0 ? err : NULL);
	api_server_thread_done(s);
	return NULL;
}

int hamn_api_reply_stream(struct hamn_api_req *req, int status, const char *content_type,
			  unsigned flags, hamn_api_stream_fn fn, void *ctx,
			  void (*ctx_free)(void *))
{
	struct hamn_api_stream *st;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	st = hamn_api_reply_stream_begin(req, status, content_type, flags);
	st->fn = fn;
	st->ctx = ctx;
	st->ctx_free = ctx_free;
	api_server_thread_started(req->server);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, producer_main, st);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return 0;
	/* no thread: end the stream as failed; the reply already has its headers set */
	api_server_thread_done(req->server);
	if (ctx_free)
		ctx_free(ctx);
	{
		struct hamn_error e = {EAGAIN, (char *)"cannot start a thread for the stream"};

		hamn_api_stream_end(st, &e);
	}
	return 0;
}

/*
 * server.c - the HTTP server of hamnd: one libmicrohttpd daemon per -H
 * endpoint, the request life cycle, and graceful shutdown.
 *
 * Threading model: MHD_USE_THREAD_PER_CONNECTION. Docker's API is full of
 * requests that wait - wait, attach, logs -f, events, pull - and docker
 * clients open a connection per concurrent request. With a thread per
 * connection a handler may simply block; a client that trickles bytes or
 * never reads only holds its own thread, never the others. A thread pool
 * with suspend/resume would save memory but force every blocking handler
 * into callbacks, and one slow handler could still starve the pool. The
 * costs are bounded: a connection limit (1024 by default), a small stack per
 * thread, and an idle timeout. Streams and hijacked connections add one
 * thread each, which the server counts so shutdown can wait for them.
 *
 * Request life cycle (access_cb is called several times per request):
 *   1. headers in: route it; stream-body routes call their handler now.
 *   2. body chunks: buffered (JSON routes, bounded) or handed to the
 *      route's body consumer.
 *   3. body complete: run the handler (or the consumer's on_done) and
 *      queue its reply. Errors found in step 1 are replied here, after the
 *      small body was read, so the connection can be kept alive.
 *
 * What it deliberately doesn't do: compression, HTTP/2, access control
 * beyond socket permissions and TLS client certificates.
 */
#include "api/internal.h"

#include <sys/eventfd.h>
#include <time.h>

#define THREAD_STACK_SIZE (2u << 20)

static void set_defaults(struct hamn_api_server_config *c)
{
	if (!c->max_connections)
		c->max_connections = HAMN_API_DEFAULT_MAX_CONNECTIONS;
	if (!c->max_body)
		c->max_body = HAMN_API_DEFAULT_MAX_BODY;
	if (!c->idle_timeout)
		c->idle_timeout = HAMN_API_DEFAULT_IDLE_TIMEOUT;
	if (!c->conn_memory)
		c->conn_memory = HAMN_API_DEFAULT_CONN_MEMORY;
}

void api_list_init(struct api_link *head)
{
	head->prev = head->next = head;
}

void api_list_add(struct hamn_api_server *s, struct api_link *head, struct api_link *node)
{
	pthread_mutex_lock(&s->lock);
	node->next = head->next;
	node->prev = head;
	head->next->prev = node;
	head->next = node;
	pthread_mutex_unlock(&s->lock);
}

void api_list_del(struct hamn_api_server *s, struct api_link *node)
{
	pthread_mutex_lock(&s->lock);
	if (node->next) {
		node->prev->next = node->next;
		node->next->prev = node->prev;
		node->next = node->prev = NULL;
	}
	pthread_mutex_unlock(&s->lock);
}

void api_server_thread_started(struct hamn_api_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->active_threads++;
	pthread_mutex_unlock(&s->lock);
}

void api_server_thread_done(struct hamn_api_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->active_threads--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

int api_conn_fd(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -1;
}

/* A tcp:// host needs TLS with client verification unless explicitly opted out. */
static int check_host_policy(const struct hamn_api_server_config *c, const char *spec,
			     struct hamn_error **err)
{
	bool tls = c->tls_cert && c->tls_key && c->tls_ca;
	struct hamn_api_host h = {0};

	if (hamn_api_parse_host(spec, tls, &h, err) < 0)
		return -1;
	hamn_api_host_release(&h);
	if (h.kind != HAMN_API_HOST_TCP || tls || c->insecure_tcp)
		return 0;
	if (c->tls_cert || c->tls_key || c->tls_ca)
		return hamn_error_setq(
			err, EINVAL,
			"refusing to listen on '%s': TLS needs --tlscert, --tlskey and "
			"--tlscacert together",
			spec);
	return hamn_error_setq(
		err, EINVAL,
		"refusing to listen on '%s' without TLS: anyone who can connect would "
		"be root on this host. Give --tlscert, --tlskey and --tlscacert "
		"(clients then need a certificate signed by that CA), or pass "
		"--insecure-tcp (or --tls=false) to accept the risk",
		spec);
}

static void server_init_sync(struct hamn_api_server *s)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	api_list_init(&s->streams);
	api_list_init(&s->hijacks);
}

struct hamn_api_server *hamn_api_server_new(const struct hamn_api_server_config *cfg,
					    struct hamn_error **err)
{
	struct hamn_api_server *s = xzalloc(sizeof(*s));

	s->cfg = *cfg;
	set_defaults(&s->cfg);
	s->hosts = strv_copy(cfg->hosts);
	if (!s->hosts || !s->hosts[0])
		strv_push(&s->hosts, "unix://" HAMN_API_DEFAULT_SOCKET);
	s->cfg.hosts = s->hosts;
	s->router = hamn_api_router_new();
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	server_init_sync(s);
	if (s->stop_fd < 0) {
		hamn_error_set(err, errno, "eventfd");
		goto fail;
	}
	for (size_t i = 0; s->hosts[i]; i++)
		if (check_host_policy(&s->cfg, s->hosts[i], err) < 0)
			goto fail;
	if (api_tls_load(s, err) < 0)
		goto fail;
	return s;
fail:
	hamn_api_server_free(s);
	return NULL;
}

void hamn_api_route_flags(struct hamn_api_server *s, const char *method, const char *pattern,
			  unsigned flags, hamn_api_handler_fn fn, void *ctx)
{
	_cleanup_error_ struct hamn_error *err = NULL;

	if (s->started)
		hamn_bug("route %s %s registered after the server started", method, pattern);
	if (hamn_api_router_add(s->router, method, pattern, flags, fn, ctx, &err) < 0)
		hamn_bug("%s", err->msg);
}

void hamn_api_route(struct hamn_api_server *s, const char *method, const char *pattern,
		    hamn_api_handler_fn fn, void *ctx)
{
	hamn_api_route_flags(s, method, pattern, 0, fn, ctx);
}

/* ---------------------------------------------------------------------------------------- */
/* Request life cycle */

static enum MHD_Result queue_reply(struct hamn_api_req *req)
{
	enum MHD_Result r;

	if (!req->response) {
		log_kv(HAMN_LOG_ERROR, "handler sent no reply", "method=%s path=%s", req->method,
		       req->raw_path);
		api_reply_error_msg(req, 500, "internal error: the handler sent no reply");
	}
	r = MHD_queue_response(req->conn, (unsigned)req->status, req->response);
	if (r != MHD_YES)
		log_kv(HAMN_LOG_WARN, "cannot queue the reply, closing the connection",
		       "method=%s path=%s status=%d", req->method, req->raw_path, req->status);
	MHD_destroy_response(req->response);
	req->response = NULL;
	req->queued = true;
	log_kv(HAMN_LOG_DEBUG, "request", "method=%s path=%s status=%d", req->method, req->raw_path,
	       req->status);
	return r;
}

/* The handler's result: keep its reply, or turn its error into one. */
static void settle(struct hamn_api_req *req, int rc, struct hamn_error *err)
{
	if (rc < 0 && req->response) {
		log_kv(HAMN_LOG_WARN, "handler failed after replying",
		       "method=%s path=%s error=\"%s\"", req->method, req->raw_path,
		       err ? err->msg : "?");
		return;
	}
	if (rc < 0)
		hamn_api_reply_error(req, err);
}

/* Reply at once, before the body was read (MHD then closes the connection). */
static enum MHD_Result reply_now(struct hamn_api_req *req, int status, const char *msg)
{
	api_reply_error_msg(req, status, msg);
	return queue_reply(req);
}

static bool body_too_large(const struct hamn_api_req *req)
{
	const char *cl = hamn_api_req_header(req, "Content-Length");
	uint64_t n = 0;
	_cleanup_error_ struct hamn_error *err = NULL;

	return cl && hamn_parse_uint64(cl, &n, &err) == 0 && n > req->server->cfg.max_body;
}

static enum MHD_Result begin_stream_body(struct hamn_api_req *req)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int rc = req->match.fn(req, req->match.ctx, &err);

	settle(req, rc, err);
	if (req->response)
		return queue_reply(req);
	if (!req->on_done)
		return reply_now(req, 500,
				 "internal error: the handler neither replied nor took the body");
	return MHD_YES;
}

static enum MHD_Result begin_request(struct api_endpoint *ep, struct hamn_api_req *req)
{
	_cleanup_free_ char *why = NULL;

	if (__atomic_load_n(&ep->server->stopping, __ATOMIC_ACQUIRE)) {
		/* kept-alive connections may still ask; they get a clear answer and a close */
		hamn_api_reply_header(req, "Connection", "close");
		return reply_now(req, 503, "the daemon is shutting down");
	}
	if (ep->tls && !api_tls_client_ok(req->conn, &why)) {
		log_kv(HAMN_LOG_WARN, "TLS client rejected", "reason=\"%s\"", why);
		hamn_api_reply_header(req, "Connection", "close");
		return reply_now(req, 403, why);
	}
	if (hamn_api_router_match(ep->server->router, req->method, req->raw_path, &req->match,
				  &req->early_err) < 0)
		return MHD_YES; /* replied after the (small, bounded) body */
	req->matched = true;
	req->path = api_strip_version(req->raw_path);
	if (req->match.flags & HAMN_API_ROUTE_STREAM_BODY)
		return begin_stream_body(req);
	if (body_too_large(req))
		return reply_now(req, 413, "request body too large");
	return MHD_YES;
}

static enum MHD_Result finish_request(struct hamn_api_req *req)
{
	_cleanup_error_ struct hamn_error *err = NULL;
	int rc = 0;

	if (req->queued)
		return MHD_YES;
	if (req->early_err)
		hamn_api_reply_error(req, req->early_err);
	else if (req->body_err)
		hamn_api_reply_error(req, req->body_err);
	else if (req->on_done)
		rc = req->on_done(req, req->body_ctx, &err);
	else
		rc = req->match.fn(req, req->match.ctx, &err);
	settle(req, rc, err);
	return queue_reply(req);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct api_endpoint *ep = cls;
	struct hamn_api_req *req = *con_cls;
	enum MHD_Result r;

	(void)version;
	if (!req) {
		req = api_req_new(ep->server, conn, method, url);
		*con_cls = req;
		pthread_mutex_lock(&ep->server->lock);
		ep->server->active_reqs++;
		pthread_mutex_unlock(&ep->server->lock);
		return begin_request(ep, req);
	}
	if (*upload_data_size > 0) {
		r = req->queued ? MHD_YES : api_req_feed(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return r;
	}
	return finish_request(req);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_endpoint *ep = cls;
	struct hamn_api_req *req = *con_cls;

	(void)toe;
	if (!req)
		return;
	*con_cls = NULL;
	if (req->stream_reply) /* back to the normal idle timeout for a kept-alive connection */
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
					  ep->server->cfg.idle_timeout);
	if (req->hijack)
		api_hijack_request_done(req->hijack);
	api_req_free(req);
	pthread_mutex_lock(&ep->server->lock);
	ep->server->active_reqs--;
	pthread_cond_broadcast(&ep->server->idle);
	pthread_mutex_unlock(&ep->server->lock);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL;
	size_t n;

	(void)cls;
	if (hamn_log_level_current < HAMN_LOG_DEBUG)
		return;
	msg = xvasprintf(fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_kv(HAMN_LOG_DEBUG, "libmicrohttpd", "detail=\"%s\"", msg);
}

/* ---------------------------------------------------------------------------------------- */
/* Start and stop */

static int start_daemon(struct api_endpoint *ep, struct hamn_error **err)
{
	struct hamn_api_server *s = ep->server;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_ALLOW_UPGRADE | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem},
		{MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca_pem},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};

	if (ep->tls)
		flags |= MHD_USE_TLS;
	ep->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, ep, MHD_OPTION_LISTEN_SOCKET,
				   ep->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
				   s->cfg.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				   s->cfg.conn_memory, MHD_OPTION_CONNECTION_TIMEOUT,
				   s->cfg.idle_timeout, MHD_OPTION_THREAD_STACK_SIZE,
				   (size_t)THREAD_STACK_SIZE, MHD_OPTION_NOTIFY_COMPLETED,
				   completed_cb, ep, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				   MHD_OPTION_ARRAY, ep->tls ? tls_opts : no_opts, MHD_OPTION_END);
	if (!ep->mhd)
		return hamn_error_setq(err, EIO,
				       "cannot start the HTTP server on '%s' (run with "
				       "--log-level debug for libmicrohttpd's reason)",
				       ep->host.path ? ep->host.path : ep->host.addr);
	return 0;
}

static int start_endpoint(struct hamn_api_server *s, struct api_endpoint *ep, const char *spec,
			  struct hamn_error **err)
{
	ep->server = s;
	ep->listen_fd = -1;
	ep->tls = s->tls_cert_pem != NULL;
	if (hamn_api_parse_host(spec, ep->tls, &ep->host, err) < 0)
		return -1;
	if (ep->host.kind != HAMN_API_HOST_TCP)
		ep->tls = false;
	if (api_listen(ep, s->cfg.socket_gid, err) < 0)
		return hamn_error_wrap(err, "listen on '%s'", spec);
	if (start_daemon(ep, err) < 0)
		return -1;
	if (ep->host.kind == HAMN_API_HOST_TCP && !ep->tls)
		log_kv(HAMN_LOG_WARN,
		       "API listening without TLS: anyone who can connect is root on "
		       "this host",
		       "host=%s", spec);
	log_kv(HAMN_LOG_INFO, "API listening", "host=%s tls=%s", spec, ep->tls ? "true" : "false");
	return 0;
}

int hamn_api_server_start(struct hamn_api_server *s, struct hamn_error **err)
{
	size_t n = strv_len(s->hosts);

	if (s->started)
		return hamn_error_setq(err, EBUSY, "the server is already started");
	if (!MHD_is_feature_supported(MHD_FEATURE_UPGRADE))
		return hamn_error_setq(err, ENOTSUP,
				       "libmicrohttpd was built without upgrade support");
	s->started = true;
	s->eps = xcalloc(n, sizeof(*s->eps));
	for (size_t i = 0; i < n; i++) {
		s->neps = i + 1;
		if (start_endpoint(s, &s->eps[i], s->hosts[i], err) < 0)
			goto fail;
	}
	return 0;
fail:
	for (size_t i = 0; i < s->neps; i++) {
		api_unlisten(&s->eps[i]);
		if (s->eps[i].mhd)
			MHD_stop_daemon(s->eps[i].mhd);
		hamn_api_host_release(&s->eps[i].host);
	}
	free(s->eps);
	s->eps = NULL;
	s->neps = 0;
	return -1;
}

/* Wait until nothing is in flight, for at most ms; true when idle. */
static bool wait_idle(struct hamn_api_server *s, unsigned ms)
{
	struct timespec deadline;
	bool idle;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->active_reqs > 0 || s->active_threads > 0) {
		if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == ETIMEDOUT)
			break;
	}
	idle = s->active_reqs == 0 && s->active_threads == 0;
	pthread_mutex_unlock(&s->lock);
	return idle;
}

int hamn_api_server_stop(struct hamn_api_server *s, unsigned grace_ms, struct hamn_error **err)
{
	uint64_t one = 1;

	__atomic_store_n(&s->stopping, true, __ATOMIC_RELEASE);
	for (size_t i = 0; i < s->neps; i++)
		api_unlisten(&s->eps[i]); /* quiesces MHD: no new connections */
	if (!wait_idle(s, grace_ms)) {
		(void)!write(s->stop_fd, &one, sizeof(one));
		api_streams_cancel_all(s);
		api_hijacks_cancel_all(s);
		if (!wait_idle(s, grace_ms))
			return hamn_error_setq(err, ETIMEDOUT,
					       "%u requests and %u stream threads still busy",
					       s->active_reqs, s->active_threads);
	}
	api_hijacks_detach_all(s);
	for (size_t i = 0; i < s->neps; i++) {
		if (s->eps[i].mhd)
			MHD_stop_daemon(s->eps[i].mhd); /* closes idle kept-alive connections */
		s->eps[i].mhd = NULL;
	}
	return 0;
}

void hamn_api_server_on_free(struct hamn_api_server *s, void (*fn)(void *), void *ctx)
{
	s->cleanups = xreallocarray(s->cleanups, s->ncleanups + 1, sizeof(*s->cleanups));
	s->cleanups[s->ncleanups].fn = fn;
	s->cleanups[s->ncleanups].ctx = ctx;
	s->ncleanups++;
}

void hamn_api_server_free(struct hamn_api_server *s)
{
	if (!s)
		return;
	api_hijacks_detach_all(s);
	for (size_t i = 0; i < s->neps; i++) {
		api_unlisten(&s->eps[i]);
		if (s->eps[i].mhd)
			MHD_stop_daemon(s->eps[i].mhd);
		hamn_api_host_release(&s->eps[i].host);
	}
	free(s->eps);
	while (s->ncleanups > 0) {
		s->ncleanups--;
		s->cleanups[s->ncleanups].fn(s->cleanups[s->ncleanups].ctx);
	}
	free(s->cleanups);
	hamn_api_router_free(s->router);
	hamn_strv_free(s->hosts);
	free(s->tls_cert_pem);
	if (s->tls_key_pem)
		explicit_bzero(s->tls_key_pem, strlen(s->tls_key_pem));
	free(s->tls_key_pem);
	free(s->tls_ca_pem);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/*
 * dist.c - the registry client object: its settings, a pool of libcurl
 * handles (each keeps its connections, so a pull's manifest, config and
 * layers reuse them), what it learnt about hosts (plain HTTP), where blobs
 * were seen (for cross-repository mounts), and which hosts are insecure.
 */
#include "distribution/internal.h"

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#define POOL_MAX 16
#define HINTS_MAX 4096

static int check_mirror(const char *m, struct hamn_error **err)
{
	if (!str_has_prefix(m, "https://") && !str_has_prefix(m, "http://"))
		return hamn_error_setq(err, EINVAL,
				       "invalid mirror '%s': must start with "
				       "http:// or https://",
				       m);
	return 0;
}

static int check_insecure(const char *s, struct hamn_error **err)
{
	if (!*s || strstr(s, "://"))
		return hamn_error_setq(err, EINVAL,
				       "invalid insecure registry '%s': use "
				       "host[:port] or a CIDR",
				       s);
	return 0;
}

struct hamn_dist *hamn_dist_new(const struct hamn_dist_config *cfg, struct hamn_error **err)
{
	static const struct hamn_dist_config none = {0};
	struct hamn_dist *d;
	const char *env = getenv("HAMN_CERTS_DIR");

	cfg = cfg ? cfg : &none;
	for (char *const *p = cfg->mirrors; p && *p; p++)
		if (check_mirror(*p, err) < 0)
			return NULL;
	for (char *const *p = cfg->insecure_registries; p && *p; p++)
		if (check_insecure(*p, err) < 0)
			return NULL;
	d = xzalloc(sizeof(*d));
	d->certs_dir = xstrdup(cfg->certs_dir ? cfg->certs_dir
					      : (env && *env ? env : HAMN_DIST_DEFAULT_CERTS_DIR));
	d->insecure = strv_copy(cfg->insecure_registries);
	for (char *const *p = cfg->mirrors; p && *p; p++) {
		char *m = xstrdup(*p);
		size_t n = strlen(m);

		while (n && m[n - 1] == '/')
			m[--n] = '\0';
		strv_push_take(&d->mirrors, m);
	}
	d->max_downloads = cfg->max_downloads ? cfg->max_downloads : HAMN_DIST_DEFAULT_DOWNLOADS;
	d->max_uploads = cfg->max_uploads ? cfg->max_uploads : HAMN_DIST_DEFAULT_UPLOADS;
	d->max_retries = cfg->max_retries ? cfg->max_retries : HAMN_DIST_DEFAULT_RETRIES;
	d->retry_delay_ms = cfg->retry_delay_ms ? cfg->retry_delay_ms : 200;
	d->stall_timeout_s = cfg->stall_timeout_s ? cfg->stall_timeout_s : 30;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->inflight_done, NULL);
	return d;
}

void hamn_dist_free(struct hamn_dist *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->npool; i++)
		curl_easy_cleanup(d->pool[i]);
	free(d->pool);
	for (size_t i = 0; i < d->nhints; i++) {
		free(d->hints[i].digest);
		free(d->hints[i].domain);
		free(d->hints[i].path);
	}
	free(d->hints);
	hamn_strv_free(d->plain_http);
	hamn_strv_free(d->insecure);
	hamn_strv_free(d->mirrors);
	free(d->certs_dir);
	pthread_cond_destroy(&d->inflight_done);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

CURL *dist_handle_get(struct hamn_dist *d)
{
	CURL *h = NULL;

	pthread_mutex_lock(&d->lock);
	if (d->npool)
		h = d->pool[--d->npool];
	pthread_mutex_unlock(&d->lock);
	if (!h)
		h = curl_easy_init();
	if (!h)
		hamn_bug("curl_easy_init failed");
	return h;
}

void dist_handle_put(struct hamn_dist *d, CURL *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&d->lock);
	if (d->npool < POOL_MAX) {
		d->pool = xreallocarray(d->pool, d->npool + 1, sizeof(*d->pool));
		d->pool[d->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&d->lock);
	if (h)
		curl_easy_cleanup(h);
}

void dist_hint_add(struct hamn_dist *d, const char *digest, const char *domain, const char *path)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->nhints; i++) {
		struct dist_hint *h = &d->hints[i];

		if (streq(h->digest, digest) && streq(h->domain, domain) && streq(h->path, path))
			goto out;
	}
	if (d->nhints == HINTS_MAX) {
		/* forget the oldest: hints only save uploads, they are never needed */
		free(d->hints[0].digest);
		free(d->hints[0].domain);
		free(d->hints[0].path);
		memmove(d->hints, d->hints + 1, (d->nhints - 1) * sizeof(*d->hints));
		d->nhints--;
	}
	d->hints = xreallocarray(d->hints, d->nhints + 1, sizeof(*d->hints));
	d->hints[d->nhints++] = (struct dist_hint){xstrdup(digest), xstrdup(domain), xstrdup(path)};
out:
	pthread_mutex_unlock(&d->lock);
}

char **dist_hint_paths(struct hamn_dist *d, const char *digest, const char *domain)
{
	char **v = NULL;

	pthread_mutex_lock(&d->lock);
	for (size_t i = d->nhints; i-- > 0;) {
		struct dist_hint *h = &d->hints[i];

		if (streq(h->digest, digest) && streq(h->domain, domain))
			strv_push(&v, h->path);
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

static bool inflight_has(struct hamn_dist *d, const char *key)
{
	for (struct dist_inflight *f = d->inflight; f; f = f->next)
		if (streq(f->key, key))
			return true;
	return false;
}

static bool stopped(int cancel_fd, const bool *abort)
{
	struct pollfd pfd = {.fd = cancel_fd, .events = POLLIN};

	if (abort && __atomic_load_n(abort, __ATOMIC_RELAXED))
		return true;
	return cancel_fd >= 0 && poll(&pfd, 1, 0) > 0;
}

bool dist_inflight_claim(struct hamn_dist *d, const char *key, int cancel_fd, const bool *abort)
{
	bool waited = false;

	pthread_mutex_lock(&d->lock);
	while (inflight_has(d, key)) {
		struct timespec until;

		waited = true;
		if (stopped(cancel_fd, abort))
			break;
		/* wake up now and then to notice a cancelled pull */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->inflight_done, &d->lock, &until);
	}
	if (!waited) {
		struct dist_inflight *f = xzalloc(sizeof(*f));

		f->key = xstrdup(key);
		f->next = d->inflight;
		d->inflight = f;
	}
	pthread_mutex_unlock(&d->lock);
	return !waited;
}

void dist_inflight_release(struct hamn_dist *d, const char *key)
{
	pthread_mutex_lock(&d->lock);
	for (struct dist_inflight **pp = &d->inflight; *pp; pp = &(*pp)->next) {
		struct dist_inflight *f = *pp;

		if (streq(f->key, key)) {
			*pp = f->next;
			free(f->key);
			free(f);
			break;
		}
	}
	pthread_cond_broadcast(&d->inflight_done);
	pthread_mutex_unlock(&d->lock);
}

bool dist_host_is_plain(struct hamn_dist *d, const char *host)
{
	bool r;

	pthread_mutex_lock(&d->lock);
	r = strv_contains(d->plain_http, host);
	pthread_mutex_unlock(&d->lock);
	return r;
}

void dist_host_set_plain(struct hamn_dist *d, const char *host)
{
	pthread_mutex_lock(&d->lock);
	if (!strv_contains(d->plain_http, host))
		strv_push(&d->plain_http, host);
	pthread_mutex_unlock(&d->lock);
}

char **dist_endpoints(struct hamn_dist *d, const char *domain)
{
	char **v = NULL;

	if (streq(domain, HAMN_REF_DEFAULT_DOMAIN)) {
		for (char **m = d->mirrors; m && *m; m++)
			strv_push(&v, *m);
		strv_push(&v, HAMN_DIST_HUB_ENDPOINT);
	} else {
		strv_push(&v, ""); /* the registry itself; the scheme is found by the ping */
	}
	return v;
}

int dist_backoff(int cancel_fd, const bool *abort, unsigned ms, struct hamn_error **err)
{
	struct pollfd pfd = {.fd = cancel_fd, .events = POLLIN};
	int64_t deadline = hamn_monotonic_ns() + (int64_t)ms * 1000000;

	for (;;) {
		int64_t left = (deadline - hamn_monotonic_ns()) / 1000000;
		int r;

		if (abort && __atomic_load_n(abort, __ATOMIC_RELAXED))
			return hamn_error_setq(err, ECANCELED, "cancelled");
		/* wake up now and then to look at *abort; a 0 ms wait still looks at cancel_fd */
		r = poll(&pfd, cancel_fd >= 0 ? 1 : 0,
			 left > 100 ? 100 : (left > 0 ? (int)left : 0));
		if (r > 0)
			return hamn_error_setq(err, ECANCELED, "cancelled");
		if (r < 0 && errno != EINTR)
			return hamn_error_set(err, errno, "poll");
		if (left <= 0)
			return 0;
	}
}

/* ---- a pool of transfer threads ---- */

struct pool {
	struct hamn_dist *d;
	size_t n, next;
	dist_job_fn job;
	void *ctx;
	bool *abort;
	pthread_mutex_t lock;
	struct hamn_error *first;
};

static void pool_fail(struct pool *p, struct hamn_error *e)
{
	pthread_mutex_lock(&p->lock);
	if (!p->first && !(e->errnum == ECANCELED && __atomic_load_n(p->abort, __ATOMIC_RELAXED)))
		p->first = steal_pointer(&e);
	__atomic_store_n(p->abort, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->lock);
	hamn_error_free(&e);
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	sigset_t set;
	CURL *h = dist_handle_get(p->d);

	/* a consumer that gave up closes its pipe: see EPIPE, not a signal */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		struct hamn_error *e = NULL;
		size_t i;

		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n || __atomic_load_n(p->abort, __ATOMIC_RELAXED))
			break;
		if (p->job(p->ctx, i, h, &e) < 0)
			pool_fail(p, e);
	}
	dist_handle_put(p->d, h);
	return NULL;
}

int dist_pool_run(struct hamn_dist *d, unsigned max, size_t n, dist_job_fn job, void *ctx,
		  bool *abort, struct hamn_error **err)
{
	struct pool p = {.d = d, .n = n, .job = job, .ctx = ctx, .abort = abort};
	size_t nthreads = n < max ? n : max, started = 0;
	pthread_t *threads = xcalloc(nthreads ? nthreads : 1, sizeof(*threads));

	pthread_mutex_init(&p.lock, NULL);
	for (; started < nthreads; started++) {
		int rc = pthread_create(&threads[started], NULL, pool_worker, &p);

		if (rc != 0) {
			if (started == 0) {
				free(threads);
				pthread_mutex_destroy(&p.lock);
				return hamn_error_set(err, rc, "start transfer thread");
			}
			break; /* fewer threads than asked: they share the work */
		}
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_destroy(&p.lock);
	if (p.first)
		return hamn_error_propagate(err, &p.first);
	return 0;
}

/* ---- insecure registries ---- */

/* host without its port and brackets, into buf. */
static void strip_port(const char *host, char *buf, size_t size)
{
	const char *end;

	if (host[0] == '[') {
		end = strchr(host, ']');
		snprintf(buf, size, "%.*s", end ? (int)(end - host - 1) : (int)strlen(host + 1),
			 host + 1);
		return;
	}
	end = strchr(host, ':');
	if (end && strchr(end + 1, ':'))
		end = NULL; /* a bare IPv6 address */
	snprintf(buf, size, "%.*s", end ? (int)(end - host) : (int)strlen(host), host);
}

/* Is the IP literal addr inside cidr ("10.0.0.0/8", "fd00::/8")? */
static bool in_cidr(const char *addr, const char *cidr)
{
	unsigned char a[16], net[16];
	char base[64];
	const char *slash = strchr(cidr, '/');
	int family, bits, maxbits;
	int64_t prefix;

	if (!slash || (size_t)(slash - cidr) >= sizeof(base))
		return false;
	snprintf(base, sizeof(base), "%.*s", (int)(slash - cidr), cidr);
	family = strchr(base, ':') ? AF_INET6 : AF_INET;
	maxbits = family == AF_INET6 ? 128 : 32;
	if (hamn_parse_int64(slash + 1, &prefix, NULL) < 0 || prefix < 0 || prefix > maxbits)
		return false;
	if (inet_pton(family, base, net) != 1 || inet_pton(family, addr, a) != 1)
		return false;
	bits = (int)prefix;
	for (int i = 0; i < bits / 8; i++)
		if (a[i] != net[i])
			return false;
	if (bits % 8) {
		unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));

		if ((a[bits / 8] & mask) != (net[bits / 8] & mask))
			return false;
	}
	return true;
}

bool hamn_dist_host_insecure(const char *host, char *const *insecure)
{
	char name[256];

	strip_port(host, name, sizeof(name));
	if (streq(name, "localhost") || streq(name, "::1") || in_cidr(name, "127.0.0.0/8"))
		return true;
	for (char *const *p = insecure; p && *p; p++) {
		if (strchr(*p, '/')) {
			if (in_cidr(name, *p))
				return true;
		} else if (streq(*p, host) || streq(*p, name)) {
			return true;
		}
	}
	return false;
}

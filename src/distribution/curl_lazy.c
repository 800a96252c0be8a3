/*
 * curl_lazy.c - libcurl, loaded when the first registry is contacted.
 *
 * hamnd starts with no registry work to do, yet libcurl with what it pulls
 * in (libssl, Kerberos, LDAP, SSH, HTTP/2, ...) and its global init (which
 * sets OpenSSL up) cost an idle daemon ~2 MB of RSS. So src/distribution
 * does not link libcurl: this file defines the few curl_* functions the
 * module calls, forwarding to libcurl.so.4, which dist_curl_load() opens and
 * initialises once (dist_repo_new calls it: every request goes through a
 * repository). Nothing else may call a curl_* function before that.
 */
#define CURL_DISABLE_TYPECHECK /* the type-checking macros would rename what we define */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>

#include "distribution/internal.h"

#define CURL_SONAME "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_reset)(CURL *h);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	curl_version_info_data *(*version_info)(CURLversion v);
} fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];

/* Resolve NAME into FIELD of fn, or say which symbol is missing. */
#define RESOLVE(h, field, name)                                                                    \
	do {                                                                                       \
		if (!(fn.field = dlsym(h, name))) {                                                \
			snprintf(load_error, sizeof(load_error),                                   \
				 "load " CURL_SONAME ": no symbol '%s'", name);                    \
			return false;                                                              \
		}                                                                                  \
	} while (0)

static bool resolve_all(void *h)
{
	RESOLVE(h, global_init, "curl_global_init");
	RESOLVE(h, easy_init, "curl_easy_init");
	RESOLVE(h, easy_setopt, "curl_easy_setopt");
	RESOLVE(h, easy_perform, "curl_easy_perform");
	RESOLVE(h, easy_getinfo, "curl_easy_getinfo");
	RESOLVE(h, easy_reset, "curl_easy_reset");
	RESOLVE(h, easy_cleanup, "curl_easy_cleanup");
	RESOLVE(h, easy_strerror, "curl_easy_strerror");
	RESOLVE(h, slist_append, "curl_slist_append");
	RESOLVE(h, slist_free_all, "curl_slist_free_all");
	RESOLVE(h, version_info, "curl_version_info");
	return true;
}

static void load(void)
{
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	CURLcode rc;

	if (!h) {
		snprintf(load_error, sizeof(load_error), "load " CURL_SONAME ": %s", dlerror());
		return;
	}
	if (!resolve_all(h)) {
		memset(&fn, 0, sizeof(fn));
		dlclose(h);
		return;
	}
	/* the handle stays open: libcurl is ours until the process ends */
	rc = fn.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(load_error, sizeof(load_error), "initialise libcurl: %s",
			 fn.easy_strerror(rc));
		fn.easy_init = NULL; /* dist_handle_get must not get a handle */
	}
}

int dist_curl_load(struct hamn_error **err)
{
	pthread_once(&load_once, load);
	if (load_error[0])
		return hamn_error_setq(err, ELIBACC, "%s", load_error);
	return 0;
}

/* The forwarders. Before a successful load there are no handles or lists to act on. */

CURL *curl_easy_init(void)
{
	return fn.easy_init ? fn.easy_init() : NULL;
}

/* The argument's type is given by the option's number (CURLOPTTYPE_* in curl.h). */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	if (!fn.easy_setopt)
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = fn.easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fn.easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = fn.easy_setopt(h, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = fn.easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = fn.easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	return fn.easy_perform ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	if (!fn.easy_getinfo)
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	rc = fn.easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_reset(CURL *h)
{
	if (fn.easy_reset)
		fn.easy_reset(h);
}

void curl_easy_cleanup(CURL *h)
{
	if (fn.easy_cleanup)
		fn.easy_cleanup(h);
}

const char *curl_easy_strerror(CURLcode rc)
{
	return fn.easy_strerror ? fn.easy_strerror(rc) : "libcurl is not loaded";
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return fn.slist_append ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (fn.slist_free_all)
		fn.slist_free_all(l);
}

curl_version_info_data *curl_version_info(CURLversion v)
{
	return fn.version_info ? fn.version_info(v) : NULL;
}

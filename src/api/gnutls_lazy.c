/*
 * gnutls_lazy.c - GnuTLS, loaded when the API first serves TLS.
 *
 * libmicrohttpd calls GnuTLS only for an HTTPS endpoint (-H tcp://... with
 * --tls*), yet linking libgnutls.so maps it with p11-kit, nettle, hogweed,
 * gmp, tasn1, idn2 and unistring: ~1.1 MB of an idle hamnd's RSS. So hamnd
 * links libmicrohttpd statically and this file defines the GnuTLS functions
 * it (and tls.c) calls: the first of them to run dlopens libgnutls.so.30 and
 * each forwards to the real one. GnuTLS initialises itself when loaded, so
 * gnutls_global_init/deinit (libmicrohttpd's constructor and destructor call
 * them in every process) do nothing here. meson.build compiles this file only
 * when libmicrohttpd is linked statically.
 */
#include <dlfcn.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "api/internal.h"

#define GNUTLS_SONAME "libgnutls.so.30"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *lib;

static void load(void)
{
	lib = dlopen(GNUTLS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		log_kv(HAMN_LOG_ERROR, "cannot load GnuTLS: TLS endpoints fail", "error=\"%s\"",
		       dlerror());
}

/* NAME in libgnutls (loaded on the first call), or NULL when it cannot be had. */
static void *resolve(const char *name)
{
	pthread_once(&load_once, load);
	return lib ? dlsym(lib, name) : NULL;
}

/* The forwarders: each looks its target up once. FAIL is the answer without GnuTLS. */
#define FWD(ret, name, params, args, fail)                                                         \
	ret name params                                                                            \
	{                                                                                          \
		static ret(*fp) params;                                                            \
		ret(*f) params = __atomic_load_n(&fp, __ATOMIC_ACQUIRE);                           \
                                                                                                   \
		if (!f) {                                                                          \
			f = (ret(*) params)resolve(#name);                                         \
			__atomic_store_n(&fp, f, __ATOMIC_RELEASE);                                \
		}                                                                                  \
		return f ? f args : fail;                                                          \
	}

#define FWD_VOID(name, params, args)                                                               \
	void name params                                                                           \
	{                                                                                          \
		static void(*fp) params;                                                           \
		void(*f) params = __atomic_load_n(&fp, __ATOMIC_ACQUIRE);                          \
                                                                                                   \
		if (!f) {                                                                          \
			f = (void(*) params)resolve(#name);                                        \
			__atomic_store_n(&fp, f, __ATOMIC_RELEASE);                                \
		}                                                                                  \
		if (f)                                                                             \
			f args;                                                                    \
	}

#define NO_LIB GNUTLS_E_INTERNAL_ERROR

int gnutls_global_init(void)
{
	return 0;
}

void gnutls_global_deinit(void)
{
}

/* GnuTLS allocates with malloc and frees with free unless told otherwise: forward anyway. */
static void *lazy_malloc(size_t n)
{
	gnutls_alloc_function *real = resolve("gnutls_malloc");

	return real ? (*real)(n) : malloc(n);
}

static void lazy_free(void *p)
{
	gnutls_free_function *real = resolve("gnutls_free");

	if (real)
		(*real)(p);
	else
		free(p);
}

gnutls_alloc_function gnutls_malloc = lazy_malloc;
gnutls_free_function gnutls_free = lazy_free;

FWD(const char *, gnutls_strerror, (int error), (error), "GnuTLS is not available")

/* sessions */
FWD(int, gnutls_init, (gnutls_session_t * session, unsigned int flags), (session, flags), NO_LIB)
FWD_VOID(gnutls_deinit, (gnutls_session_t session), (session))
FWD(int, gnutls_handshake, (gnutls_session_t session), (session), NO_LIB)
FWD(int, gnutls_bye, (gnutls_session_t session, gnutls_close_request_t how), (session, how), NO_LIB)
FWD(int, gnutls_alpn_set_protocols,
    (gnutls_session_t session, const gnutls_datum_t *protocols, unsigned protocols_size,
     unsigned flags),
    (session, protocols, protocols_size, flags), NO_LIB)
FWD(int, gnutls_credentials_set,
    (gnutls_session_t session, gnutls_credentials_type_t type, void *cred), (session, type, cred),
    NO_LIB)
FWD(int, gnutls_priority_init,
    (gnutls_priority_t * priority_cache, const char *priorities, const char **err_pos),
    (priority_cache, priorities, err_pos), NO_LIB)
FWD_VOID(gnutls_priority_deinit, (gnutls_priority_t priority_cache), (priority_cache))
FWD(int, gnutls_priority_set, (gnutls_session_t session, gnutls_priority_t priority),
    (session, priority), NO_LIB)
FWD(gnutls_cipher_algorithm_t, gnutls_cipher_get, (gnutls_session_t session), (session),
    GNUTLS_CIPHER_UNKNOWN)
FWD(gnutls_protocol_t, gnutls_protocol_get_version, (gnutls_session_t session), (session),
    GNUTLS_VERSION_UNKNOWN)
FWD(void *, gnutls_session_get_ptr, (gnutls_session_t session), (session), NULL)
FWD_VOID(gnutls_session_set_ptr, (gnutls_session_t session, void *ptr), (session, ptr))
FWD_VOID(gnutls_transport_set_int2, (gnutls_session_t session, int r, int s), (session, r, s))

/* records */
FWD(ssize_t, gnutls_record_recv, (gnutls_session_t session, void *data, size_t data_size),
    (session, data, data_size), NO_LIB)
FWD(ssize_t, gnutls_record_send, (gnutls_session_t session, const void *data, size_t data_size),
    (session, data, data_size), NO_LIB)
FWD(size_t, gnutls_record_check_pending, (gnutls_session_t session), (session), 0)
FWD(int, gnutls_record_get_direction, (gnutls_session_t session), (session), 0)

/* certificate credentials */
FWD(int, gnutls_certificate_allocate_credentials, (gnutls_certificate_credentials_t * res), (res),
    NO_LIB)
FWD_VOID(gnutls_certificate_free_credentials, (gnutls_certificate_credentials_t sc), (sc))
FWD_VOID(gnutls_certificate_server_set_request,
	 (gnutls_session_t session, gnutls_certificate_request_t req), (session, req))
FWD_VOID(gnutls_certificate_set_dh_params,
	 (gnutls_certificate_credentials_t res, gnutls_dh_params_t dh_params), (res, dh_params))
FWD_VOID(gnutls_certificate_set_retrieve_function2,
	 (gnutls_certificate_credentials_t cred, gnutls_certificate_retrieve_function2 *func),
	 (cred, func))
FWD_VOID(gnutls_certificate_set_retrieve_function3,
	 (gnutls_certificate_credentials_t cred, gnutls_certificate_retrieve_function3 *func),
	 (cred, func))
FWD(int, gnutls_certificate_set_x509_key_mem,
    (gnutls_certificate_credentials_t res, const gnutls_datum_t *cert, const gnutls_datum_t *key,
     gnutls_x509_crt_fmt_t type),
    (res, cert, key, type), NO_LIB)
FWD(int, gnutls_certificate_set_x509_key_mem2,
    (gnutls_certificate_credentials_t res, const gnutls_datum_t *cert, const gnutls_datum_t *key,
     gnutls_x509_crt_fmt_t type, const char *pass, unsigned int flags),
    (res, cert, key, type, pass, flags), NO_LIB)
FWD(int, gnutls_certificate_set_x509_trust_mem,
    (gnutls_certificate_credentials_t res, const gnutls_datum_t *ca, gnutls_x509_crt_fmt_t type),
    (res, ca, type), NO_LIB)
FWD(int, gnutls_certificate_verify_peers2, (gnutls_session_t session, unsigned int *status),
    (session, status), NO_LIB)
FWD(int, gnutls_certificate_verification_status_print,
    (unsigned int status, gnutls_certificate_type_t type, gnutls_datum_t *out, unsigned int flags),
    (status, type, out, flags), NO_LIB)

/* Diffie-Hellman parameters */
FWD(int, gnutls_dh_params_init, (gnutls_dh_params_t * dh_params), (dh_params), NO_LIB)
FWD_VOID(gnutls_dh_params_deinit, (gnutls_dh_params_t dh_params), (dh_params))
FWD(int, gnutls_dh_params_import_pkcs3,
    (gnutls_dh_params_t params, const gnutls_datum_t *pkcs3_params, gnutls_x509_crt_fmt_t format),
    (params, pkcs3_params, format), NO_LIB)

/* pre-shared keys (libmicrohttpd's MHD_OPTION_GNUTLS_PSK_CRED_HANDLER; hamnd sets none) */
FWD(int, gnutls_psk_allocate_server_credentials, (gnutls_psk_server_credentials_t * sc), (sc),
    NO_LIB)
FWD_VOID(gnutls_psk_free_server_credentials, (gnutls_psk_server_credentials_t sc), (sc))
FWD_VOID(gnutls_psk_set_server_credentials_function,
	 (gnutls_psk_server_credentials_t cred, gnutls_psk_server_credentials_function *func),
	 (cred, func))

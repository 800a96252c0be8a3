/*
 * tls.c - TLS for tcp:// endpoints: the PEM files, and the check that the
 * client presented a certificate signed by our CA.
 *
 * libmicrohttpd asks clients for a certificate when it has a trust list
 * (MHD_OPTION_HTTPS_MEM_TRUST) but lets the handshake finish without one,
 * so every request on a TLS endpoint is checked here before routing: no
 * certificate, or one our CA did not sign, gets 403 and a closed connection.
 */
#include "api/internal.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define PEM_MAX (1u << 20)

static int load_pem(const char *path, char **out, struct hamn_error **err)
{
	size_t len = 0;

	if (hamn_read_file(AT_FDCWD, path, PEM_MAX, out, &len, err) < 0)
		return hamn_error_wrap(err, "TLS");
	if (!strstr(*out, "-----BEGIN "))
		return hamn_error_setq(err, EINVAL, "TLS: '%s' is not a PEM file", path);
	return 0;
}

int api_tls_load(struct hamn_api_server *s, struct hamn_error **err)
{
	const struct hamn_api_server_config *c = &s->cfg;

	if (!c->tls_cert || !c->tls_key || !c->tls_ca)
		return 0;
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return hamn_error_setq(err, ENOTSUP, "libmicrohttpd was built without TLS support");
	if (load_pem(c->tls_cert, &s->tls_cert_pem, err) < 0 ||
	    load_pem(c->tls_key, &s->tls_key_pem, err) < 0 ||
	    load_pem(c->tls_ca, &s->tls_ca_pem, err) < 0)
		return -1;
	return 0;
}

bool api_tls_client_ok(struct MHD_Connection *conn, char **why)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session;
	gnutls_datum_t text = {NULL, 0};
	unsigned int status = 0;
	int rc;

	if (!ci || !ci->tls_session) {
		*why = xstrdup("no TLS session");
		return false;
	}
	session = (gnutls_session_t)ci->tls_session;
	rc = gnutls_certificate_verify_peers2(session, &status);
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND) {
		*why = xstrdup("a client certificate is required");
		return false;
	}
	if (rc < 0) {
		*why = xasprintf("client certificate: %s", gnutls_strerror(rc));
		return false;
	}
	if (status == 0)
		return true;
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
		*why = xasprintf("client certificate rejected: %s", (char *)text.data);
		gnutls_free(text.data);
	} else {
		*why = xstrdup("client certificate rejected");
	}
	return false;
}

/*
 * distribution.h - the registry client: pull and push images over the OCI
 * distribution API v2 (Docker schema 2 and OCI manifests, manifest lists and
 * indexes), registry authentication (anonymous, basic, bearer tokens), TLS
 * with per-registry certificates, and docker's credential store
 * (~/.docker/config.json and docker-credential-* helpers).
 *
 * A pull downloads up to max_downloads layers at once; each layer is hashed
 * while it streams and handed to the image store as it arrives, a dropped
 * connection is resumed with a Range request, and a blob whose digest or
 * size does not match is refused. The image becomes visible only when every
 * layer and the config are stored and verified (hamn_image_create), so an
 * interrupted pull never shows a half image.
 *
 * Progress goes to a callback as docker's JSON messages ({"status",
 * "progressDetail", "id", ...}), which hamnd streams to its clients unchanged.
 *
 * Threads: one struct hamn_dist may be used by several pulls and pushes at
 * once (hamnd has one); the credential functions touch only the files and
 * programs they are given and are thread-safe.
 */
#ifndef HAMN_DISTRIBUTION_DISTRIBUTION_H
#define HAMN_DISTRIBUTION_DISTRIBUTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

struct hamn_image_store; /* image/image.h */
struct hamn_oci_index;	 /* oci/image.h */
struct hamn_dist;

#define HAMN_DIST_DEFAULT_CERTS_DIR "/etc/hamn/certs.d"
#define HAMN_DIST_DEFAULT_DOWNLOADS 3 /* dockerd's max-concurrent-downloads */
#define HAMN_DIST_DEFAULT_UPLOADS 5   /* dockerd's max-concurrent-uploads */
#define HAMN_DIST_DEFAULT_RETRIES 5   /* attempts per blob after the first */
/* Blobs up to this size are uploaded in one PUT; larger ones in PATCH chunks of this size. */
#define HAMN_DIST_CHUNK_SIZE (16u << 20)
/* The key docker uses for Docker Hub in config.json "auths". */
#define HAMN_DIST_HUB_AUTH_KEY "https://index.docker.io/v1/"
#define HAMN_DIST_HUB_ENDPOINT "https://registry-1.docker.io"

struct hamn_dist_config {
	/*
	 * Per-registry TLS material, as docker's certs.d: <dir>/<host[:port]>/
	 * *.crt are extra CAs (added to the system's), client.cert + client.key
	 * a client certificate. NULL: $HAMN_CERTS_DIR, else
	 * HAMN_DIST_DEFAULT_CERTS_DIR.
	 */
	const char *certs_dir;
	/*
	 * Registries that may be reached over plain HTTP (or HTTPS without
	 * verification): "host[:port]" or a CIDR ("10.0.0.0/8"). localhost and
	 * 127.0.0.0/8 (and ::1) are always insecure, as in docker.
	 */
	char *const *insecure_registries;
	/* Mirrors tried before Docker Hub for docker.io pulls: "https://m.example:5000". */
	char *const *mirrors;
	unsigned max_downloads; /* 0: HAMN_DIST_DEFAULT_DOWNLOADS */
	unsigned max_uploads;	/* 0: HAMN_DIST_DEFAULT_UPLOADS */
	unsigned max_retries;	/* 0: HAMN_DIST_DEFAULT_RETRIES */
	/* First back-off after a failed transfer (doubles each time); 0: 200 ms. */
	unsigned retry_delay_ms;
	/* A transfer slower than 1 byte/s for this long is dropped and resumed; 0: 30 s. */
	unsigned stall_timeout_s;
};

/*
 * Make a client (initialises libcurl once per process, so call it before
 * starting threads). cfg is copied. EINVAL for a malformed insecure
 * registry or mirror. The caller frees it with hamn_dist_free.
 */
struct hamn_dist *hamn_dist_new(const struct hamn_dist_config *cfg, struct hamn_error **err);
void hamn_dist_free(struct hamn_dist *d);
HAMN_DEFINE_CLEANUP(hamn_dist, hamn_dist_free)
#define _cleanup_dist_ _cleanup_(cleanup_hamn_distp)

/* ---- credentials passed along with a request ---- */

struct hamn_dist_auth {
	char *username; /* all may be NULL */
	char *password;
	char *identity_token; /* an OAuth refresh token (docker's IdentityToken) */
	char *registry_token; /* a bearer token used as is */
	char *server_address;
};

#define HAMN_DIST_AUTH_INIT                                                                        \
	{                                                                                          \
		NULL, NULL, NULL, NULL, NULL                                                       \
	}

void hamn_dist_auth_release(struct hamn_dist_auth *a);
static inline void cleanup_hamn_dist_authp(struct hamn_dist_auth *a)
{
	hamn_dist_auth_release(a);
}
#define _cleanup_dist_auth_ __attribute__((cleanup(cleanup_hamn_dist_authp)))
/* Are there any credentials in a (a may be NULL)? */
bool hamn_dist_auth_present(const struct hamn_dist_auth *a);

/*
 * The X-Registry-Auth header value docker sends: base64url (with padding)
 * of {"username","password","serveraddress"} (plus "identitytoken" /
 * "registrytoken" when set). a NULL or empty gives "e30=" ({}). New string.
 */
char *hamn_dist_auth_encode(const struct hamn_dist_auth *a);
/*
 * Decode an X-Registry-Auth value (base64url or standard alphabet, padding
 * optional; "" and NULL give empty credentials). EINVAL for malformed input.
 * *out must be HAMN_DIST_AUTH_INIT.
 */
int hamn_dist_auth_decode(const char *header, struct hamn_dist_auth *out, struct hamn_error **err);

/*
 * Credentials from a JSON object as docker sends them (POST /auth, the
 * decoded X-Registry-Auth): "username", "password", "serveraddress",
 * "identitytoken", "registrytoken", or "auth" (base64 user:pass); keys
 * matched case-insensitively, as Go does. *out must be HAMN_DIST_AUTH_INIT.
 */
int hamn_dist_auth_from_json(json_t *o, struct hamn_dist_auth *out, struct hamn_error **err);

/* ---- progress ---- */

/*
 * Receives each progress message (borrowed; valid during the call), from
 * any of the pull's or push's threads, never two at a time.
 */
typedef void (*hamn_dist_progress_fn)(void *ud, const json_t *msg);

/* ---- pull ---- */

struct hamn_dist_pull_opts {
	const char *ref;      /* as typed: "busybox", "r:5000/x:v1", "x@sha256:..." */
	bool all_tags;	      /* pull -a: every tag of the repository (ref without tag) */
	const char *platform; /* "os/arch[/variant]"; NULL or "": the host's */
	const struct hamn_dist_auth *auth; /* NULL: anonymous */
	hamn_dist_progress_fn progress;	   /* may be NULL */
	void *progress_ud;
	int cancel_fd; /* readable: stop (the client went away); -1: none */
};

struct hamn_dist_pull;

/*
 * First half of a pull, before any progress is sent: parse the reference,
 * reach the registry, authenticate and fetch the manifest (choosing the
 * platform from a list or index), so that the errors clients expect as a
 * plain HTTP error come from here: ENOENT "manifest for X not found: ...",
 * ENOENT "pull access denied for X, repository does not exist or may
 * require 'docker login'...", EKEYREJECTED for bad credentials, EINVAL for a
 * bad reference or platform, EHOSTUNREACH/ECONNREFUSED/EPROTO for transport
 * and TLS failures (message names the URL). st is borrowed until free.
 */
struct hamn_dist_pull *hamn_dist_pull_prepare(struct hamn_dist *d, struct hamn_image_store *st,
					      const struct hamn_dist_pull_opts *o,
					      struct hamn_error **err);
/*
 * Second half: download the config and layers (concurrently), store them
 * verified, create and tag the image, report progress. A digest or size
 * mismatch is EINVAL ("... digest mismatch ..."): nothing of that layer is
 * kept and no image is created. ECANCELED when cancel_fd fired. *id_out
 * (may be NULL) gets the image ID of the (last) image pulled.
 */
int hamn_dist_pull_run(struct hamn_dist_pull *p, char **id_out, struct hamn_error **err);
/*
 * Where run's progress goes and what cancels it, when they exist only after
 * prepare (hamnd's reply stream). Replaces the options' values.
 */
void hamn_dist_pull_set_progress(struct hamn_dist_pull *p, hamn_dist_progress_fn fn, void *ud,
				 int cancel_fd);
void hamn_dist_pull_free(struct hamn_dist_pull *p);
HAMN_DEFINE_CLEANUP(hamn_dist_pull, hamn_dist_pull_free)
#define _cleanup_dist_pull_ _cleanup_(cleanup_hamn_dist_pullp)

/* prepare + run. */
int hamn_dist_pull(struct hamn_dist *d, struct hamn_image_store *st,
		   const struct hamn_dist_pull_opts *o, char **id_out, struct hamn_error **err);

/* ---- push ---- */

struct hamn_dist_push_opts {
	const char *ref; /* "r:5000/x:v1"; no tag: every local tag of that repository */
	const struct hamn_dist_auth *auth;
	hamn_dist_progress_fn progress;
	void *progress_ud;
	int cancel_fd;
};

/*
 * Push the image(s) ref names: layers the registry has are skipped (HEAD),
 * layers known to be in another repository of the same registry are
 * mounted, the rest uploaded (one PUT up to HAMN_DIST_CHUNK_SIZE, PATCH
 * chunks above, resumed after a dropped connection), up to max_uploads at
 * once; then the config and the manifest. ENOENT "An image does not exist
 * locally with the tag: X" before anything is sent; registry errors as for
 * pull. The last progress message carries {"aux":{"Tag","Digest","Size"}}.
 */
int hamn_dist_push(struct hamn_dist *d, struct hamn_image_store *st,
		   const struct hamn_dist_push_opts *o, struct hamn_error **err);

/* ---- login ---- */

/*
 * Check credentials against a registry (server: "host[:port]", a URL, or
 * NULL/"docker.io"/HAMN_DIST_HUB_AUTH_KEY for Docker Hub), as POST /auth
 * does: reach /v2/ and, for token auth, get a token with them.
 * EKEYREJECTED "... unauthorized: ..." when they are refused.
 * *identity_token_out (may be NULL) gets a refresh token when the token
 * server issued one, else NULL.
 */
int hamn_dist_login(struct hamn_dist *d, const struct hamn_dist_auth *auth,
		    char **identity_token_out, struct hamn_error **err);

/* ---- docker's client-side credential store (used by the CLI) ---- */

/* $DOCKER_CONFIG, else $HOME/.docker. New string. ENOENT when neither is set. */
char *hamn_dist_config_dir(struct hamn_error **err);

/*
 * The config.json "auths" key of a registry: HAMN_DIST_HUB_AUTH_KEY for
 * Docker Hub (docker.io, index.docker.io, registry-1.docker.io, NULL, ""),
 * else the host[:port] with any scheme and path removed. New string.
 */
char *hamn_dist_auth_key(const char *server);
/* The auths key of the registry an image reference lives on ("busybox" -> Hub). New string. */
char *hamn_dist_auth_key_for_ref(const char *ref);

/*
 * Look up the credentials for server (an auths key, see above) in
 * config_dir/config.json: a credential helper ("credHelpers" for that
 * server, else "credsStore": `docker-credential-<name> get`) or the
 * base64 "auth" of "auths". *out (HAMN_DIST_AUTH_INIT) stays empty when
 * there are none. A missing config.json is not an error; a malformed one
 * is EINVAL; a failing helper its error.
 */
int hamn_dist_creds_get(const char *config_dir, const char *server, struct hamn_dist_auth *out,
			struct hamn_error **err);
/*
 * Store credentials for a->server_address: with the credential helper when
 * one is configured (`store`), else as "auths": {key: {"auth":
 * base64(user:pass)}} (an identity token goes to "identitytoken"), keeping
 * everything else in config.json. The file is written atomically with mode
 * 0600; config_dir is created (0700) when missing.
 */
int hamn_dist_creds_store(const char *config_dir, const struct hamn_dist_auth *a,
			  struct hamn_error **err);
/* Remove the credentials of server (helper `erase` and/or "auths"). ENOENT when there were none. */
int hamn_dist_creds_erase(const char *config_dir, const char *server, struct hamn_error **err);

/* ---- pure helpers (unit-tested) ---- */

/* base64 with the standard alphabet and padding; new string. */
char *hamn_dist_base64_encode(const void *data, size_t len);
/*
 * Decode base64 in either alphabet (+/ or -_), padding optional, into a
 * new NUL-terminated buffer; *len_out (may be NULL) gets the length.
 * EINVAL on any other character.
 */
int hamn_dist_base64_decode(const char *s, char **out, size_t *len_out, struct hamn_error **err);

/* A parsed WWW-Authenticate challenge. */
struct hamn_dist_challenge {
	char *scheme; /* "basic" or "bearer" (lower case) */
	char *realm;
	char *service;
	char *scope;
	char *error; /* bearer error="insufficient_scope", ... */
};

/* Parse the first challenge of a WWW-Authenticate value. EINVAL when malformed. */
int hamn_dist_challenge_parse(const char *value, struct hamn_dist_challenge *out,
			      struct hamn_error **err);
void hamn_dist_challenge_release(struct hamn_dist_challenge *c);

struct hamn_dist_platform {
	char os[32];
	char arch[32];
	char variant[32]; /* "" when none */
};

/*
 * Parse "os/arch[/variant]" (or "arch" alone: linux) and normalise as docker
 * does: x86_64 -> amd64, aarch64 -> arm64 (variant v8 implied), armhf ->
 * arm/v7, armel -> arm/v6, i386 -> 386. NULL or "" gives the host's
 * platform. EINVAL for anything else.
 */
int hamn_dist_platform_parse(const char *s, struct hamn_dist_platform *out,
			     struct hamn_error **err);
/*
 * Choose the manifest of a list/index for platform p: same os and arch, and
 * the same variant (an absent variant matches arm64's v8 and the best
 * available arm one). Entries with an "unknown" platform (attestations) are
 * skipped. *index_out gets the position. ENOENT "no matching manifest for
 * linux/arm64 in the manifest list entries" when none fits.
 */
int hamn_dist_index_select(const struct hamn_oci_index *idx, const struct hamn_dist_platform *p,
			   size_t *index_out, struct hamn_error **err);

/*
 * docker's pre-rendered progress bar for current of total bytes:
 * "[=====>      ]  1.544MB/1.982MB" (50 columns), or just the size when the
 * total is unknown (<= 0). New string.
 */
char *hamn_dist_progress_bar(int64_t current, int64_t total);
/* docker's HumanSize: decimal units, 4 significant digits ("1.544MB", "115B"). */
void hamn_dist_human_size(int64_t n, char buf[32]);

/*
 * Does host ("h", "h:port", "1.2.3.4:5000", "[::1]:5000") match the
 * insecure list (entries "h[:port]" or CIDRs) or the always-insecure
 * loopback set?
 */
bool hamn_dist_host_insecure(const char *host, char *const *insecure);

#endif

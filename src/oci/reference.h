/*
 * reference.h - image references as docker writes them: parse, normalise,
 * print.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] component ( "/" component )*
 *   domain    := host [ ":" port ]   (a first part with "." or ":", or "localhost")
 *   component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest    := "sha256:" 64 lower-case hex
 *
 * Normalisation follows docker: a name without a domain is on docker.io,
 * and a one-component name on docker.io lives under "library/"
 * ("busybox" -> "docker.io/library/busybox"); "index.docker.io" is
 * "docker.io". The familiar form undoes that for display ("busybox:latest").
 * Parsing never touches the network or the filesystem; all functions are
 * thread-safe.
 */
#ifndef HAMN_OCI_REFERENCE_H
#define HAMN_OCI_REFERENCE_H

#include <stdbool.h>

#include "base/base.h"

#define HAMN_REF_DEFAULT_DOMAIN "docker.io"
#define HAMN_REF_DEFAULT_TAG "latest"
#define HAMN_REF_NAME_MAX 255	/* longest domain + "/" + path */

struct hamn_ref {
	char *domain;	/* "docker.io", "localhost:5000", "127.0.0.1:5000" */
	char *path;	/* "library/busybox", "x/y" */
	char *tag;	/* NULL when absent */
	char *digest;	/* "sha256:<hex>"; NULL when absent */
};

#define HAMN_REF_INIT { NULL, NULL, NULL, NULL }

/*
 * Parse and normalise s into *ref (which must be HAMN_REF_INIT or
 * released). No tag is added: use hamn_ref_default_tag() for lookups.
 * Errors (EINVAL, nothing allocated): empty text, upper case in the
 * repository ("repository name must be lowercase"), bad characters, a tag
 * or digest that does not match the grammar, a name longer than
 * HAMN_REF_NAME_MAX, a bare 64-hex string (that is an image ID).
 */
int hamn_ref_parse(const char *s, struct hamn_ref *ref, struct hamn_error **err);

/* Give ref the tag "latest" when it has neither a tag nor a digest. */
void hamn_ref_default_tag(struct hamn_ref *ref);

/* Free the strings and reset *ref to HAMN_REF_INIT. Safe on an initialised ref. */
void hamn_ref_release(struct hamn_ref *ref);

/* New strings. Full: "docker.io/library/busybox:latest", "x@sha256:..". */
char *hamn_ref_string(const struct hamn_ref *ref);
/* Repository name: "docker.io/library/busybox". */
char *hamn_ref_name(const struct hamn_ref *ref);
/* Familiar (display) forms: "busybox:latest" / "busybox", "localhost:5000/x:v1". */
char *hamn_ref_familiar(const struct hamn_ref *ref);
char *hamn_ref_familiar_name(const struct hamn_ref *ref);

/*
 * Convenience: parse s, add the default tag, return the full string
 * (what an image store keys tags by). NULL with EINVAL on a bad reference.
 */
char *hamn_ref_normalize(const char *s, struct hamn_error **err);
/* The familiar form of an already normalised full string; a copy of s if it does not parse. */
char *hamn_ref_familiarize(const char *full);

/* Is s a valid tag ("latest", "v1.2-rc_3")? */
bool hamn_ref_tag_valid(const char *s);

static inline void cleanup_hamn_refp(struct hamn_ref *r)
{
	hamn_ref_release(r);
}
#define _cleanup_ref_ __attribute__((cleanup(cleanup_hamn_refp)))

#endif

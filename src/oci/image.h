/*
 * image.h - the OCI / Docker image data model: image config, descriptors,
 * manifests and indexes (image-spec 1.x and Docker's schema 2 twins).
 *
 * Parsing is strict and never crashes on hostile input (CVE-2021-21285):
 * wrong types, "rootfs": null, a rootfs that is not an object, diff_ids
 * that are not digests, are EINVAL with the JSON path of the field in the
 * message ("image config: rootfs.diff_ids[0]: must be a sha256 digest").
 * Unknown fields are ignored (the spec requires it) but kept in `raw`, so
 * docker's inspect output can pass them through.
 *
 * All strings, vectors and JSON values in these structs are owned by the
 * struct; free with the matching _free function. Vectors are
 * NULL-terminated. Nothing here touches the filesystem; all functions are
 * thread-safe.
 */
#ifndef HAMN_OCI_IMAGE_H
#define HAMN_OCI_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

/* Largest JSON document (config, manifest, index) read from untrusted input (CVE-2023-25153). */
#define HAMN_OCI_JSON_MAX (4 * 1024 * 1024)
/* Most layers an image may have (overlayfs stacks at most 500 lowerdirs). */
#define HAMN_OCI_MAX_LAYERS 500

#define HAMN_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HAMN_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HAMN_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define HAMN_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define HAMN_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define HAMN_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define HAMN_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define HAMN_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define HAMN_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define HAMN_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define HAMN_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* ---- image config ---- */

struct hamn_oci_healthcheck {
	char **test;		/* ["CMD", ...], ["CMD-SHELL", "x"], ["NONE"]; NULL: inherit */
	int64_t interval;	/* nanoseconds; 0 = default */
	int64_t timeout;
	int64_t start_period;
	int64_t start_interval;
	int64_t retries;	/* 0 = default */
};

/* The "config" member: how to run a container from the image. */
struct hamn_oci_image_exec {
	char *user;		/* NULL when absent */
	char **env;		/* "K=V" */
	char **entrypoint;	/* NULL when absent or null */
	char **cmd;
	char *working_dir;
	char *stop_signal;
	char **exposed_ports;	/* keys of ExposedPorts: "80/tcp" */
	char **volumes;		/* keys of Volumes: "/data" */
	json_t *labels;		/* object of strings, or NULL */
	char **shell;
	char **on_build;
	bool args_escaped;
	struct hamn_oci_healthcheck *healthcheck;	/* NULL when absent */
};

struct hamn_oci_history {
	int64_t created;	/* ns since the epoch; 0 when absent */
	char *created_by;	/* NULL when absent */
	char *author;
	char *comment;
	bool empty_layer;
};

struct hamn_oci_image_config {
	char *architecture;	/* NULL when absent */
	char *os;
	char *variant;
	int64_t created;	/* ns since the epoch; 0 when absent or docker's zero time */
	char *author;
	struct hamn_oci_image_exec config;	/* all NULL when "config" is absent */
	struct hamn_digest *diff_ids;	/* rootfs.diff_ids, bottom layer first */
	size_t n_diff_ids;
	struct hamn_oci_history *history;
	size_t n_history;
	json_t *raw;		/* the whole document as parsed (owned reference) */
};

/*
 * Parse an image config document (borrowed; a reference is kept in raw).
 * rootfs is required: an object with type "layers" and diff_ids an array
 * (possibly empty) of at most HAMN_OCI_MAX_LAYERS sha256 digests. Returns a
 * new config, or NULL with EINVAL naming the field.
 */
struct hamn_oci_image_config *hamn_oci_image_config_parse(json_t *doc, struct hamn_error **err);
/* Parse from text of len bytes; more than HAMN_OCI_JSON_MAX is EFBIG. */
struct hamn_oci_image_config *hamn_oci_image_config_parse_text(const char *text, size_t len,
							       struct hamn_error **err);
void hamn_oci_image_config_free(struct hamn_oci_image_config *c);
HAMN_DEFINE_CLEANUP(hamn_oci_image_config, hamn_oci_image_config_free)
#define _cleanup_image_config_ _cleanup_(cleanup_hamn_oci_image_configp)

/*
 * Emit a config as JSON (new reference) with docker's field names:
 * architecture, os, created, author, config{...}, rootfs, history. `raw` is
 * ignored: this builds a fresh document (used when hamn creates an image).
 * parse(to_json(c)) gives back the same modelled fields.
 */
json_t *hamn_oci_image_config_to_json(const struct hamn_oci_image_config *c);
/* The "config" member alone, as docker's container config shape (new reference). */
json_t *hamn_oci_image_exec_to_json(const struct hamn_oci_image_exec *e);

/* ---- descriptors, manifests, indexes ---- */

struct hamn_oci_platform {
	char *architecture;
	char *os;
	char *variant;		/* NULL when absent */
};

struct hamn_oci_descriptor {
	char *media_type;
	struct hamn_digest digest;
	int64_t size;		/* >= 0 */
	json_t *annotations;	/* object of strings, or NULL */
	struct hamn_oci_platform *platform;	/* NULL when absent */
};

struct hamn_oci_manifest {
	char *media_type;	/* NULL when absent */
	struct hamn_oci_descriptor config;
	struct hamn_oci_descriptor *layers;
	size_t n_layers;	/* at most HAMN_OCI_MAX_LAYERS */
};

struct hamn_oci_index {
	char *media_type;
	struct hamn_oci_descriptor *manifests;
	size_t n_manifests;
};

/* Parse an image manifest (OCI or Docker schema 2); schemaVersion must be 2. EINVAL on error. */
struct hamn_oci_manifest *hamn_oci_manifest_parse(json_t *doc, struct hamn_error **err);
void hamn_oci_manifest_free(struct hamn_oci_manifest *m);
HAMN_DEFINE_CLEANUP(hamn_oci_manifest, hamn_oci_manifest_free)
#define _cleanup_oci_manifest_ _cleanup_(cleanup_hamn_oci_manifestp)

/* Parse an image index / Docker manifest list; schemaVersion must be 2. EINVAL on error. */
struct hamn_oci_index *hamn_oci_index_parse(json_t *doc, struct hamn_error **err);
void hamn_oci_index_free(struct hamn_oci_index *idx);
HAMN_DEFINE_CLEANUP(hamn_oci_index, hamn_oci_index_free)
#define _cleanup_oci_index_ _cleanup_(cleanup_hamn_oci_indexp)

/* Annotation value of a descriptor (borrowed), or NULL. */
const char *hamn_oci_descriptor_annotation(const struct hamn_oci_descriptor *d, const char *key);

/* Is this media type an image manifest / an index (OCI or Docker)? */
bool hamn_oci_media_is_manifest(const char *mt);
bool hamn_oci_media_is_index(const char *mt);

/*
 * A time as docker writes it (Go's RFC3339Nano: trailing zeros of the
 * fraction dropped, "2020-01-01T00:00:00Z"); 0 gives docker's zero time
 * "0001-01-01T00:00:00Z". Returns buf.
 */
const char *hamn_oci_time_format(int64_t ns, char buf[HAMN_TIME_STR_MAX]);

/* "amd64"/"arm64"... and "linux" for the machine we run on. Static strings. */
const char *hamn_oci_host_arch(void);
const char *hamn_oci_host_os(void);

#endif

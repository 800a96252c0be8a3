/*
 * internal.h - shared by the .c files of src/oci only; never included from outside.
 *
 * Typed getters for strict parsing. Every error is EINVAL and its message
 * starts with the JSON path of the offending field: "PATH.KEY: cause".
 * A member that is absent or JSON null counts as absent. Documents come
 * from hamn_json_parse_big(): a big integer is never taken for a string.
 */
#ifndef HAMN_OCI_INTERNAL_H
#define HAMN_OCI_INTERNAL_H

#include "oci/oci.h"

/* Largest uid/gid accepted: (uid_t)-1 means "no change" to the kernel. */
#define OCI_ID_MAX ((int64_t)UINT32_MAX - 1)
/* Longest path or string hamn accepts in a config (PATH_MAX). */
#define OCI_PATH_MAX 4096

/* Record EINVAL "PATH.KEY: message" (PATH and KEY may be NULL or "") and return -1. */
int oci_fail(struct hamn_error **err, const char *path, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "path.key" (or "key" when path is empty) / "path[i]", as new strings. */
char *oci_path_key(const char *path, const char *key);
char *oci_path_index(const char *path, size_t i);

/* obj[key], or NULL when obj is not an object or the member is absent or null. */
json_t *oci_member(json_t *obj, const char *key);

/* A string value (without NUL bytes) copied into *out. */
int oci_string(json_t *v, const char *path, const char *key, char **out, struct hamn_error **err);
/* obj[key] as a new string; absent: error when required, else *out untouched. */
int oci_get_string(json_t *obj, const char *path, const char *key, bool required, char **out,
		   struct hamn_error **err);
int oci_get_bool(json_t *obj, const char *path, const char *key, bool *out,
		 struct hamn_error **err);
/* An integer value in [min, max] (JSON reals are refused, big integers out of range). */
int oci_int(json_t *v, const char *path, const char *key, int64_t min, int64_t max, int64_t *out,
	    struct hamn_error **err);
/* obj[key] as an integer in [min, max]; *has tells whether it was present. */
int oci_get_int(json_t *obj, const char *path, const char *key, int64_t min, int64_t max, bool *has,
		int64_t *out, struct hamn_error **err);
/* Like oci_get_int() but absent is an error. */
int oci_get_int_req(json_t *obj, const char *path, const char *key, int64_t min, int64_t max,
		    int64_t *out, struct hamn_error **err);
/*
 * An unsigned integer in [0, max], for the spec's uint64 fields: a plain
 * integer or a big integer (base/json.h) up to 2^64-1. Negative values are
 * out of range.
 */
int oci_uint(json_t *v, const char *path, const char *key, uint64_t max, uint64_t *out,
	     struct hamn_error **err);
/* obj[key] as with oci_uint(); *has (when not NULL) tells whether it was present. */
int oci_get_uint(json_t *obj, const char *path, const char *key, uint64_t max, bool *has,
		 uint64_t *out, struct hamn_error **err);
/* Like oci_get_uint() but absent is an error. */
int oci_get_uint_req(json_t *obj, const char *path, const char *key, uint64_t max, uint64_t *out,
		     struct hamn_error **err);
/* Borrowed object / array member, NULL when absent. */
int oci_get_object(json_t *obj, const char *path, const char *key, json_t **out,
		   struct hamn_error **err);
int oci_get_array(json_t *obj, const char *path, const char *key, json_t **out,
		  struct hamn_error **err);
/* An array of strings as a new vector (NULL when absent; [] gives an empty vector). */
int oci_get_strv(json_t *obj, const char *path, const char *key, char ***out,
		 struct hamn_error **err);
/* The top-level value must be an object. */
int oci_require_object(json_t *v, const char *path, struct hamn_error **err);

/* Does path have a ".." component? */
bool oci_path_has_dotdot(const char *p);
/* An absolute path shorter than OCI_PATH_MAX, without ".." components. */
int oci_check_abs_path(const char *p, const char *path, const char *key, struct hamn_error **err);

/* linux section (spec_linux.c) */
int oci_linux_parse(json_t *obj, const char *path, struct hamn_oci_linux *l,
		    struct hamn_error **err);
void oci_linux_release(struct hamn_oci_linux *l);

/* rootfsPropagation: "rprivate" -> MS_PRIVATE|MS_REC; 0 when unknown. Reverse: NULL when none. */
unsigned long oci_propagation_from_name(const char *name);
const char *oci_propagation_name(unsigned long flags);
/* A capability mask as an array of "CAP_*" names, lowest number first. */
json_t *oci_caps_to_json(uint64_t mask);
/* "RLIMIT_NOFILE" for RLIMIT_NOFILE; NULL when unknown. */
/* Names of the hook kinds as in config.json ("createRuntime"). */
extern const char *const oci_hook_kind_names[HAMN_OCI_HOOK_N_KINDS];

#endif

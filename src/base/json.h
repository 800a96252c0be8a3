/*
 * json.h - helpers on jansson: strict parsing with limits, typed getters
 * that produce hamn_errors naming the offending field.
 */
#ifndef HAMN_BASE_JSON_H
#define HAMN_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/* Deepest nesting accepted from untrusted input. */
#define HAMN_JSON_MAX_DEPTH 64

/*
 * Parse untrusted JSON text of len bytes. Refuses invalid UTF-8, nesting
 * deeper than HAMN_JSON_MAX_DEPTH, and trailing garbage, with EINVAL and a
 * message that says where. Returns a new reference.
 */
json_t *hamn_json_parse(const char *text, size_t len, struct hamn_error **err);
/* Read and parse a file (at most max_size bytes; EFBIG beyond). */
json_t *hamn_json_load_file(int dirfd, const char *path, size_t max_size, struct hamn_error **err);
/* Serialise compactly (JSON_COMPACT) as a heap string. */
char *hamn_json_dump(const json_t *v);

/*
 * Big integers. jansson holds integers in int64 and refuses larger ones, but
 * some documents have uint64 fields: dockerd writes rlimits of 2^64-1
 * (RLIM_INFINITY) into config.json. hamn_json_parse_big() parses those with
 * the same checks as hamn_json_parse(), except that an integer outside int64
 * becomes a "big integer": a string node holding a NUL byte and then the
 * number as written ("-" and digits). No input string can hold a NUL (a
 * \u0000 escape is refused as ever), so only a big integer looks like this.
 * The string getters below refuse big integers ("must be a string"); the
 * integer getter calls them out of range; hamn_json_uint64() reads them and
 * hamn_json_dump_big() writes them back as numbers. A parse error after a big
 * integer on the same line reports a column 8 too far.
 */
json_t *hamn_json_parse_big(const char *text, size_t len, struct hamn_error **err);
/* hamn_json_load_file() with hamn_json_parse_big(). */
json_t *hamn_json_load_file_big(int dirfd, const char *path, size_t max_size,
				struct hamn_error **err);
/* The number of a big integer as written ("18446744073709551615"), NULL for any other value. */
const char *hamn_json_big_text(const json_t *v);
/*
 * An integer (plain or big) in [0, 2^64-1] into *out: true. False, *out
 * untouched, for anything else: a negative or larger integer, another type.
 */
bool hamn_json_uint64(const json_t *v, uint64_t *out);
/* A new node for v: a plain integer up to INT64_MAX, a big integer above. */
json_t *hamn_json_uint64_new(uint64_t v);
/*
 * hamn_json_dump() that writes big integers as the bare numbers they were
 * (hamn_json_dump() writes them as their strings): for trees from
 * hamn_json_parse_big() or hamn_json_uint64_new() only, whose strings hold
 * no NUL of their own.
 */
char *hamn_json_dump_big(const json_t *v);

/*
 * Typed getters on an object member. `what` names the field in messages
 * ("process.args"). Absent or null members: *_opt return the default /
 * leave *out untouched and return 0; the plain forms fail with EINVAL.
 * A present member of the wrong type is always EINVAL.
 */
int hamn_json_get_string(json_t *obj, const char *key, const char *what, const char **out,
			 struct hamn_error **err);
int hamn_json_get_string_opt(json_t *obj, const char *key, const char *what, const char **out,
			     struct hamn_error **err);
int hamn_json_get_int_opt(json_t *obj, const char *key, const char *what, int64_t *out,
			  struct hamn_error **err);
int hamn_json_get_bool_opt(json_t *obj, const char *key, const char *what, bool *out,
			   struct hamn_error **err);
/* Object/array members: *out is borrowed (NULL when absent or null). */
int hamn_json_get_object_opt(json_t *obj, const char *key, const char *what, json_t **out,
			     struct hamn_error **err);
int hamn_json_get_array_opt(json_t *obj, const char *key, const char *what, json_t **out,
			    struct hamn_error **err);
/* An array of strings into a new NULL-terminated vector (NULL when absent). */
int hamn_json_get_strv_opt(json_t *obj, const char *key, const char *what, char ***out,
			   struct hamn_error **err);
/* A vector of strings into a new JSON array ([] for a NULL vector). */
json_t *hamn_json_from_strv(char *const *v);

static inline void cleanup_jsonp(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(cleanup_jsonp)))

#endif

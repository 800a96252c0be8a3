/*
 * test_api.c - the pure logic of the API framework: router (params, rest
 * params with slashes and colons, version prefixes), bool and filter
 * parsing, errno to status, mux frame headers, -H parsing and the TCP policy.
 * test_api_server.c drives a real server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "api/api.h"

static int dummy(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	(void)req;
	(void)ctx;
	(void)err;
	return 0;
}

static int other(struct hamn_api_req *req, void *ctx, struct hamn_error **err)
{
	return dummy(req, ctx, err);
}

static struct hamn_api_router *test_router(void)
{
	struct hamn_api_router *r = hamn_api_router_new();
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_api_router_add(r, "GET", "/containers/{id}", 0, other, "one", &err),
			 0);
	assert_int_equal(hamn_api_router_add(r, "GET", "/containers/json", 0, dummy, "list", &err),
			 0);
	assert_int_equal(
		hamn_api_router_add(r, "GET", "/containers/{id}/json", 0, dummy, "inspect", &err),
		0);
	assert_int_equal(
		hamn_api_router_add(r, "GET", "/images/{name*}/json", 0, dummy, "image", &err), 0);
	assert_int_equal(
		hamn_api_router_add(r, "POST", "/images/{name*}/push", 0, dummy, "push", &err), 0);
	assert_int_equal(hamn_api_router_add(r, "DELETE", "/images/{name*}", 0, dummy, "rmi", &err),
			 0);
	assert_int_equal(hamn_api_router_add(r, "GET", "/version", 0, dummy, "version", &err), 0);
	assert_int_equal(
		hamn_api_router_add(r, "POST", "/exec/{eid}/resize/{x}", 0, dummy, "two", &err), 0);
	return r;
}

/* Match and return the route's ctx (a string) and the first param value, or fail. */
static const char *match(struct hamn_api_router *r, const char *method, const char *path,
			 char **param, char *version)
{
	struct hamn_api_match m;
	struct hamn_error *err = NULL;
	const char *what;

	if (hamn_api_router_match(r, method, path, &m, &err) < 0) {
		hamn_error_free(&err);
		return NULL;
	}
	what = m.ctx;
	if (param)
		*param = m.nparams ? xstrdup(m.values[0]) : NULL;
	if (version)
		snprintf(version, 16, "%s", m.version);
	hamn_api_match_release(&m);
	return what;
}

static void router_params(void **state)
{
	struct hamn_api_router *r = test_router();
	char *p = NULL;
	struct hamn_api_match m;
	struct hamn_error *err = NULL;

	(void)state;
	assert_string_equal(match(r, "GET", "/containers/abc123/json", &p, NULL), "inspect");
	assert_string_equal(p, "abc123");
	free(p);
	assert_int_equal(hamn_api_router_match(r, "POST", "/exec/e1/resize/x2", &m, &err), 0);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.names[0], "eid");
	assert_string_equal(m.values[0], "e1");
	assert_string_equal(m.names[1], "x");
	assert_string_equal(m.values[1], "x2");
	hamn_api_match_release(&m);
	hamn_api_router_free(r);
}

static void router_literal_beats_param(void **state)
{
	struct hamn_api_router *r = test_router();
	char *p = NULL;

	(void)state;
	/* "/containers/{id}" was registered first, but the literal route wins */
	assert_string_equal(match(r, "GET", "/containers/json", NULL, NULL), "list");
	assert_string_equal(match(r, "GET", "/containers/x", &p, NULL), "one");
	assert_string_equal(p, "x");
	free(p);
	hamn_api_router_free(r);
}

static void router_rest_param(void **state)
{
	struct hamn_api_router *r = test_router();
	char *p = NULL;

	(void)state;
	assert_string_equal(match(r, "GET", "/images/127.0.0.1:5000/busy/box:v1/json", &p, NULL),
			    "image");
	assert_string_equal(p, "127.0.0.1:5000/busy/box:v1");
	free(p);
	assert_string_equal(match(r, "GET", "/images/sha256:abcd/json", &p, NULL), "image");
	assert_string_equal(p, "sha256:abcd");
	free(p);
	/* the final /json is the route's, even when the name has a json component */
	assert_string_equal(match(r, "GET", "/images/json/json", &p, NULL), "image");
	assert_string_equal(p, "json");
	free(p);
	assert_string_equal(match(r, "POST", "/v1.41/images/127.0.0.1:5000/busybox/push", &p, NULL),
			    "push");
	assert_string_equal(p, "127.0.0.1:5000/busybox");
	free(p);
	assert_string_equal(match(r, "DELETE", "/images/127.0.0.1:5000/busybox:v1", &p, NULL),
			    "rmi");
	assert_string_equal(p, "127.0.0.1:5000/busybox:v1");
	free(p);
	/* a rest param needs at least one non-empty segment */
	assert_null(match(r, "GET", "/images/json", NULL, NULL));
	assert_null(match(r, "GET", "/images//json", NULL, NULL));
	hamn_api_router_free(r);
}

static void router_misses(void **state)
{
	struct hamn_api_router *r = test_router();
	struct hamn_api_match m;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_api_router_match(r, "GET", "/nope", &m, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(err->msg, "page not found");
	hamn_error_free(&err);
	/* a wrong method is a miss, as in dockerd */
	assert_null(match(r, "POST", "/version", NULL, NULL));
	assert_null(match(r, "HEAD", "/version", NULL, NULL));
	assert_null(match(r, "GET", "/version/", NULL, NULL));
	assert_null(match(r, "GET", "/containers//json", NULL, NULL));
	assert_null(match(r, "GET", "", NULL, NULL));
	hamn_api_router_free(r);
}

static void router_versions(void **state)
{
	struct hamn_api_router *r = test_router();
	struct hamn_api_match m;
	struct hamn_error *err = NULL;
	char v[16];

	(void)state;
	assert_string_equal(match(r, "GET", "/version", NULL, v), "version");
	assert_string_equal(v, "1.41");
	assert_string_equal(match(r, "GET", "/v1.41/version", NULL, v), "version");
	assert_string_equal(v, "1.41");
	assert_string_equal(match(r, "GET", "/v1.24/version", NULL, v), "version");
	assert_string_equal(v, "1.24");
	assert_int_equal(hamn_api_router_match(r, "GET", "/v1.99/version", &m, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	assert_string_equal(
		err->msg, "client version 1.99 is too new. Maximum supported API version is 1.41");
	hamn_error_free(&err);
	assert_int_equal(hamn_api_router_match(r, "GET", "/v1.5/version", &m, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "client version 1.5 is too old"));
	hamn_error_free(&err);
	/* an unknown route is 404 whatever the version (dockerd's catch-all) */
	assert_int_equal(hamn_api_router_match(r, "GET", "/v1.99/nope", &m, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	assert_null(match(r, "GET", "/vfoo/version", NULL, NULL));
	assert_null(match(r, "GET", "/v1.41", NULL, NULL));
	hamn_api_router_free(r);
}

static void router_bad_patterns(void **state)
{
	struct hamn_api_router *r = hamn_api_router_new();
	struct hamn_error *err = NULL;
	const char *bad[] = {"",	"x",	 "/a//b",
			     "/a/{",	"/a/{}", "/a/{*}",
			     "/a/b{c}", "/a/",	 "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hamn_api_router_add(r, "GET", bad[i], 0, dummy, NULL, &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		hamn_error_free(&err);
	}
	hamn_api_router_free(r);
}

static void version_compare(void **state)
{
	(void)state;
	assert_true(hamn_api_version_compare("1.9", "1.41") < 0);
	assert_true(hamn_api_version_compare("1.41", "1.41") == 0);
	assert_true(hamn_api_version_compare("1.41.0", "1.41") == 0);
	assert_true(hamn_api_version_compare("2.0", "1.41") > 0);
	assert_true(hamn_api_version_compare("1.12", "1.5") > 0);
}

static void bool_rules(void **state)
{
	const char *falsy[] = {"",	"0",	 "no",	 "NO",	    "false",
			       "False", "FALSE", "none", " false ", NULL};
	const char *truthy[] = {"1", "true", "True", "yes", "on", "2", "anything", NULL};

	(void)state;
	for (size_t i = 0; falsy[i]; i++)
		assert_false(hamn_api_parse_bool(falsy[i]));
	for (size_t i = 0; truthy[i]; i++)
		assert_true(hamn_api_parse_bool(truthy[i]));
	assert_false(hamn_api_parse_bool(NULL));
}

static void filters_map_shape(void **state)
{
	struct hamn_api_filters *f = NULL;
	struct hamn_error *err = NULL;
	char *const *v;

	(void)state;
	assert_int_equal(
		hamn_api_filters_parse("{\"type\":{\"container\":true,\"image\":false}}", &f, &err),
		0);
	v = hamn_api_filters_get(f, "type");
	assert_non_null(v);
	assert_int_equal(strv_len(v), 2); /* dockerd keeps false keys too */
	assert_true(strv_contains(v, "container"));
	assert_true(strv_contains(v, "image"));
	assert_null(hamn_api_filters_get(f, "label"));
	hamn_api_filters_free(f);
}

static void filters_list_shape(void **state)
{
	struct hamn_api_filters *f = NULL;
	struct hamn_error *err = NULL;
	const char *allowed[] = {"label", "status", NULL};
	const char *only_label[] = {"label", NULL};
	char *const *v;

	(void)state;
	assert_int_equal(hamn_api_filters_parse("{\"label\":[\"com.docker.compose.project=cproj\","
						"\"com.docker.compose.oneoff=False\"],"
						"\"status\":[\"created\",\"exited\"]}",
						&f, &err),
			 0);
	v = hamn_api_filters_get(f, "label");
	assert_int_equal(strv_len(v), 2);
	assert_string_equal(v[0], "com.docker.compose.project=cproj");
	assert_int_equal(strv_len(hamn_api_filters_get(f, "status")), 2);
	assert_int_equal(hamn_api_filters_validate(f, allowed, &err), 0);
	assert_int_equal(hamn_api_filters_validate(f, only_label, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	assert_string_equal(err->msg, "Invalid filter 'status'");
	hamn_error_free(&err);
	hamn_api_filters_free(f);
}

static void filters_empty_and_bad(void **state)
{
	struct hamn_api_filters *f = NULL;
	struct hamn_error *err = NULL;
	const char *bad[] = {"{",
			     "[]",
			     "\"x\"",
			     "{\"a\":1}",
			     "{\"a\":[1]}",
			     "{\"a\":{\"b\":1}}",
			     "{\"a\":[\"x\"]} junk"};

	(void)state;
	assert_int_equal(hamn_api_filters_parse(NULL, &f, &err), 0);
	assert_int_equal(f->n, 0);
	hamn_api_filters_free(f);
	assert_int_equal(hamn_api_filters_parse("", &f, &err), 0);
	hamn_api_filters_free(f);
	assert_int_equal(hamn_api_filters_parse("{}", &f, &err), 0);
	assert_int_equal(f->n, 0);
	hamn_api_filters_free(f);
	assert_int_equal(hamn_api_filters_parse("{\"label\":null}", &f, &err), 0);
	assert_int_equal(strv_len(hamn_api_filters_get(f, "label")), 0);
	hamn_api_filters_free(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = NULL;
		assert_int_equal(hamn_api_filters_parse(bad[i], &f, &err), -1);
		assert_null(f);
		assert_int_equal(err->errnum, EINVAL);
		assert_non_null(strstr(err->msg, "invalid filters"));
		hamn_error_free(&err);
	}
}

static void filters_labels(void **state)
{
	struct hamn_api_filters *f = NULL;
	struct hamn_error *err = NULL;
	json_t *labels =
		json_pack("{s:s,s:s}", "com.docker.compose.project", "cproj", "tier", "web");

	(void)state;
	assert_int_equal(hamn_api_filters_parse("{\"label\":[\"com.docker.compose.project=cproj\","
						"\"tier\"]}",
						&f, &err),
			 0);
	assert_true(hamn_api_filters_match_labels(f, "label", labels));
	assert_false(hamn_api_filters_match_labels(f, "label", NULL));
	hamn_api_filters_free(f);
	assert_int_equal(
		hamn_api_filters_parse("{\"label\":{\"com.docker.compose.project=other\":true}}",
				       &f, &err),
		0);
	assert_false(hamn_api_filters_match_labels(f, "label", labels));
	hamn_api_filters_free(f);
	assert_int_equal(hamn_api_filters_parse("{\"label\":[\"tier!=db\"]}", &f, &err), 0);
	assert_true(hamn_api_filters_match_labels(f, "label", labels));
	hamn_api_filters_free(f);
	assert_int_equal(hamn_api_filters_parse("{\"label\":[\"tier!=web\"]}", &f, &err), 0);
	assert_false(hamn_api_filters_match_labels(f, "label", labels));
	hamn_api_filters_free(f);
	json_decref(labels);
}

static void errno_status(void **state)
{
	(void)state;
	assert_int_equal(hamn_api_status_for_errno(ENOENT), 404);
	assert_int_equal(hamn_api_status_for_errno(EEXIST), 409);
	assert_int_equal(hamn_api_status_for_errno(EBUSY), 409);
	assert_int_equal(hamn_api_status_for_errno(EINVAL), 400);
	assert_int_equal(hamn_api_status_for_errno(EPERM), 403);
	assert_int_equal(hamn_api_status_for_errno(EACCES), 403);
	assert_int_equal(hamn_api_status_for_errno(HAMN_API_ENOTMODIFIED), 304);
	assert_int_equal(hamn_api_status_for_errno(ENOTSUP), 501);
	assert_int_equal(hamn_api_status_for_errno(EIO), 500);
	assert_int_equal(hamn_api_status_for_errno(0), 500);
}

static void mux_header(void **state)
{
	uint8_t h[HAMN_API_MUX_HEADER_LEN];
	const uint8_t want_out[] = {1, 0, 0, 0, 0, 0, 0, 3};
	const uint8_t want_err[] = {2, 0, 0, 0, 0x12, 0x34, 0x56, 0x78};

	(void)state;
	hamn_api_mux_header(h, HAMN_API_STDOUT, 3);
	assert_memory_equal(h, want_out, sizeof(h));
	hamn_api_mux_header(h, HAMN_API_STDERR, 0x12345678);
	assert_memory_equal(h, want_err, sizeof(h));
}

static void parse_hosts(void **state)
{
	struct hamn_api_host h;
	struct hamn_error *err = NULL;
	const char *bad[] = {"fd://",		"ssh://x",    "/run/x.sock",
			     "unix://rel.sock", "tcp://h:0",  "tcp://h:70000",
			     "tcp://h:x",	"tcp://[::1", "tcp://h:1/path"};

	(void)state;
	assert_int_equal(hamn_api_parse_host("unix:///run/x.sock", false, &h, &err), 0);
	assert_int_equal(h.kind, HAMN_API_HOST_UNIX);
	assert_string_equal(h.path, "/run/x.sock");
	hamn_api_host_release(&h);
	assert_int_equal(hamn_api_parse_host("unix://", false, &h, &err), 0);
	assert_string_equal(h.path, HAMN_API_DEFAULT_SOCKET);
	hamn_api_host_release(&h);
	assert_int_equal(hamn_api_parse_host("tcp://127.0.0.1:2376", true, &h, &err), 0);
	assert_int_equal(h.kind, HAMN_API_HOST_TCP);
	assert_string_equal(h.addr, "127.0.0.1");
	assert_int_equal(h.port, 2376);
	hamn_api_host_release(&h);
	assert_int_equal(hamn_api_parse_host("tcp://[::1]:99", true, &h, &err), 0);
	assert_string_equal(h.addr, "::1");
	assert_int_equal(h.port, 99);
	hamn_api_host_release(&h);
	assert_int_equal(hamn_api_parse_host("tcp://:5", true, &h, &err), 0);
	assert_string_equal(h.addr, "");
	hamn_api_host_release(&h);
	assert_int_equal(hamn_api_parse_host("tcp://example", false, &h, &err), 0);
	assert_int_equal(h.port, 2375);
	hamn_api_host_release(&h);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hamn_api_parse_host(bad[i], true, &h, &err), -1);
		hamn_error_free(&err);
	}
}

static void tcp_needs_tls(void **state)
{
	char *hosts[] = {"tcp://127.0.0.1:1", NULL};
	struct hamn_api_server_config cfg = {.hosts = hosts};
	struct hamn_error *err = NULL;
	struct hamn_api_server *s;

	(void)state;
	assert_null(hamn_api_server_new(&cfg, &err));
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, "without TLS"));
	hamn_error_free(&err);
	cfg.insecure_tcp = true;
	s = hamn_api_server_new(&cfg, &err);
	assert_non_null(s);
	hamn_api_server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(router_params),
		cmocka_unit_test(router_literal_beats_param),
		cmocka_unit_test(router_rest_param),
		cmocka_unit_test(router_misses),
		cmocka_unit_test(router_versions),
		cmocka_unit_test(router_bad_patterns),
		cmocka_unit_test(version_compare),
		cmocka_unit_test(bool_rules),
		cmocka_unit_test(filters_map_shape),
		cmocka_unit_test(filters_list_shape),
		cmocka_unit_test(filters_empty_and_bad),
		cmocka_unit_test(filters_labels),
		cmocka_unit_test(errno_status),
		cmocka_unit_test(mux_header),
		cmocka_unit_test(parse_hosts),
		cmocka_unit_test(tcp_needs_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

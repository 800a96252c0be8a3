/*
 * test_distribution.c - the registry client's pure logic: base64 and
 * X-Registry-Auth, config.json credentials (and a credential helper),
 * WWW-Authenticate challenges, platforms and index selection, docker's
 * progress bars, insecure-registry matching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "distribution/distribution.h"
#include "oci/image.h"

/* ---- base64 and X-Registry-Auth ---- */

static void base64_round_trip(void **state)
{
	const char *samples[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "a:b\xff\xfe"};
	struct hamn_error *err = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char *enc = hamn_dist_base64_encode(samples[i], strlen(samples[i]));
		char *dec = NULL;
		size_t len = 0;

		assert_int_equal(hamn_dist_base64_decode(enc, &dec, &len, &err), 0);
		assert_int_equal(len, strlen(samples[i]));
		assert_memory_equal(dec, samples[i], len);
		free(enc);
		free(dec);
	}
	char *e = hamn_dist_base64_encode("foobar", 6);
	assert_string_equal(e, "Zm9vYmFy");
	free(e);
}

static void base64_rejects_junk(void **state)
{
	struct hamn_error *err = NULL;
	char *out = NULL;

	(void)state;
	assert_int_equal(hamn_dist_base64_decode("ab$d", &out, NULL, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_int_equal(hamn_dist_base64_decode("a", &out, NULL, &err), -1);
	hamn_error_free(&err);
}

static void auth_encode_empty_is_e30(void **state)
{
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT;
	char *s;

	(void)state;
	s = hamn_dist_auth_encode(NULL);
	assert_string_equal(s, "e30=");
	free(s);
	s = hamn_dist_auth_encode(&a);
	assert_string_equal(s, "e30=");
	free(s);
	assert_false(hamn_dist_auth_present(&a));
}

/* The header the docker CLI sent in the pull capture. */
static void auth_decode_docker_header(void **state)
{
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(
		hamn_dist_auth_decode("eyJ1c2VybmFtZSI6ImZvbyIsInBhc3N3b3JkIjoieCIsInNlcnZlc"
				      "mFkZHJlc3MiOiIxMjcuMC4wLjE6NTAwMCJ9",
				      &a, &err),
		0);
	assert_string_equal(a.username, "foo");
	assert_string_equal(a.password, "x");
	assert_string_equal(a.server_address, "127.0.0.1:5000");
	assert_true(hamn_dist_auth_present(&a));
	hamn_dist_auth_release(&a);
	assert_int_equal(hamn_dist_auth_decode("e30=", &a, &err), 0);
	assert_false(hamn_dist_auth_present(&a));
	assert_int_equal(hamn_dist_auth_decode(NULL, &a, &err), 0);
}

static void auth_round_trip_url_alphabet(void **state)
{
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT, b = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;
	char *enc;

	(void)state;
	/* bytes that give '+' and '/' in the standard alphabet */
	a.username = strdup("?>?user\xc3\xa9");
	a.password = strdup("p@ss:w?rd~~~");
	a.server_address = strdup("r.example:5000");
	enc = hamn_dist_auth_encode(&a);
	assert_null(strchr(enc, '+'));
	assert_null(strchr(enc, '/'));
	assert_int_equal(hamn_dist_auth_decode(enc, &b, &err), 0);
	assert_string_equal(b.username, a.username);
	assert_string_equal(b.password, a.password);
	assert_string_equal(b.server_address, a.server_address);
	free(enc);
	hamn_dist_auth_release(&a);
	hamn_dist_auth_release(&b);
}

static void auth_json_keys_case_insensitive(void **state)
{
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;
	json_t *o = json_pack("{s:s, s:s, s:s}", "Username", "u", "PASSWORD", "p", "ServerAddress",
			      "h");

	(void)state;
	assert_int_equal(hamn_dist_auth_from_json(o, &a, &err), 0);
	assert_string_equal(a.username, "u");
	assert_string_equal(a.password, "p");
	assert_string_equal(a.server_address, "h");
	hamn_dist_auth_release(&a);
	json_decref(o);
	/* "auth": base64(user:pass) alone */
	o = json_pack("{s:s}", "auth", "dTE6cDE6eA==");
	assert_int_equal(hamn_dist_auth_from_json(o, &a, &err), 0);
	assert_string_equal(a.username, "u1");
	assert_string_equal(a.password, "p1:x");
	hamn_dist_auth_release(&a);
	json_decref(o);
}

static void auth_decode_malformed(void **state)
{
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_dist_auth_decode("!!!", &a, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	/* "[1]" is valid JSON but not an object */
	assert_int_equal(hamn_dist_auth_decode("WzFd", &a, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
}

/* ---- config.json keys ---- */

static void auth_keys(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{NULL, HAMN_DIST_HUB_AUTH_KEY},
		{"", HAMN_DIST_HUB_AUTH_KEY},
		{"docker.io", HAMN_DIST_HUB_AUTH_KEY},
		{"index.docker.io", HAMN_DIST_HUB_AUTH_KEY},
		{"https://index.docker.io/v1/", HAMN_DIST_HUB_AUTH_KEY},
		{"registry-1.docker.io", HAMN_DIST_HUB_AUTH_KEY},
		{"127.0.0.1:5000", "127.0.0.1:5000"},
		{"https://r.example:5000/v2/", "r.example:5000"},
		{"http://localhost:5000", "localhost:5000"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *k = hamn_dist_auth_key(cases[i].in);

		assert_string_equal(k, cases[i].want);
		free(k);
	}
	static const struct {
		const char *ref, *want;
	} refs[] = {
		{"busybox", HAMN_DIST_HUB_AUTH_KEY},
		{"library/busybox:1", HAMN_DIST_HUB_AUTH_KEY},
		{"user/repo", HAMN_DIST_HUB_AUTH_KEY},
		{"docker.io/library/busybox", HAMN_DIST_HUB_AUTH_KEY},
		{"127.0.0.1:5000/busybox:v1", "127.0.0.1:5000"},
		{"localhost/x", "localhost"},
		{"r.example/a/b@sha256:00", "r.example"},
	};
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		char *k = hamn_dist_auth_key_for_ref(refs[i].ref);

		assert_string_equal(k, refs[i].want);
		free(k);
	}
}

/* ---- config.json credentials ---- */

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/hamn-test-dist-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static void rm_tree(const char *dir)
{
	struct hamn_error *err = NULL;

	assert_int_equal(hamn_rm_rf(AT_FDCWD, dir, &err), 0);
}

static void creds_store_get_erase(void **state)
{
	char *dir = make_tmpdir();
	char *cfgdir = NULL, *path = NULL, *text = NULL;
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT, got = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;
	struct stat sb;
	json_t *cfg;

	(void)state;
	assert_true(asprintf(&cfgdir, "%s/.docker", dir) > 0);
	assert_true(asprintf(&path, "%s/config.json", cfgdir) > 0);
	/* nothing stored: empty, not an error */
	assert_int_equal(hamn_dist_creds_get(cfgdir, "127.0.0.1:5000", &got, &err), 0);
	assert_false(hamn_dist_auth_present(&got));
	a.username = strdup("user");
	a.password = strdup("pa:ss");
	a.server_address = strdup("http://127.0.0.1:5000/v2/");
	assert_int_equal(hamn_dist_creds_store(cfgdir, &a, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	cfg = json_load_file(path, 0, NULL);
	assert_non_null(cfg);
	/* docker's shape: auths -> host -> auth = base64(user:pass) */
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(cfg, "auths"), "127.0.0.1:5000"), "auth")),
		"dXNlcjpwYTpzcw==");
	json_decref(cfg);
	assert_int_equal(hamn_dist_creds_get(cfgdir, "127.0.0.1:5000", &got, &err), 0);
	assert_string_equal(got.username, "user");
	assert_string_equal(got.password, "pa:ss");
	hamn_dist_auth_release(&got);
	assert_int_equal(hamn_dist_creds_erase(cfgdir, "127.0.0.1:5000", &err), 0);
	assert_int_equal(hamn_dist_creds_erase(cfgdir, "127.0.0.1:5000", &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	hamn_error_free(&err);
	hamn_dist_auth_release(&a);
	free(text);
	free(path);
	free(cfgdir);
	rm_tree(dir);
	free(dir);
}

/* Other keys of config.json (and other registries) survive a store. */
static void creds_keep_other_keys(void **state)
{
	char *dir = make_tmpdir();
	char *path = NULL;
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT, got = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;
	FILE *f;
	json_t *cfg;

	(void)state;
	assert_true(asprintf(&path, "%s/config.json", dir) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"psFormat\":\"x\",\"auths\":{\"https://index.docker.io/v1/\":"
	      "{\"auth\":\"aHViOnB3\"}}}",
	      f);
	fclose(f);
	a.username = strdup("u");
	a.password = strdup("p");
	a.server_address = strdup("r.example:5000");
	assert_int_equal(hamn_dist_creds_store(dir, &a, &err), 0);
	cfg = json_load_file(path, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(cfg, "psFormat")), "x");
	assert_int_equal(json_object_size(json_object_get(cfg, "auths")), 2);
	json_decref(cfg);
	assert_int_equal(hamn_dist_creds_get(dir, "docker.io", &got, &err), 0);
	assert_string_equal(got.username, "hub");
	assert_string_equal(got.password, "pw");
	hamn_dist_auth_release(&got);
	hamn_dist_auth_release(&a);
	free(path);
	rm_tree(dir);
	free(dir);
}

static void creds_malformed_config(void **state)
{
	char *dir = make_tmpdir();
	char *path = NULL;
	struct hamn_dist_auth got = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;
	FILE *f;

	(void)state;
	assert_true(asprintf(&path, "%s/config.json", dir) > 0);
	f = fopen(path, "w");
	fputs("{\"auths\": [", f);
	fclose(f);
	assert_int_equal(hamn_dist_creds_get(dir, "x", &got, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	free(path);
	rm_tree(dir);
	free(dir);
}

/* A docker-credential-<name> helper on PATH that keeps one secret in a file. */
static void write_helper(const char *bindir, const char *store)
{
	char *path = NULL;
	FILE *f;

	assert_true(asprintf(&path, "%s/docker-credential-hamntest", bindir) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\n"
		"S=%s\n"
		"case $1 in\n"
		"get) read -r url; [ -f \"$S\" ] || { echo 'credentials not found in native "
		"keychain'; exit 1; }\n"
		"     printf '{\"ServerURL\":\"%%s\",\"Username\":\"hu\",\"Secret\":\"%%s\"}' "
		"\"$url\" \"$(cat $S)\" ;;\n"
		"store) cat > $S.json; echo stored-secret > $S ;;\n"
		"erase) read -r url; rm -f $S ;;\n"
		"esac\n",
		store);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	free(path);
}

static void creds_helper(void **state)
{
	char *dir = make_tmpdir();
	char *path = NULL, *store = NULL, *newpath = NULL;
	const char *oldpath = getenv("PATH");
	struct hamn_dist_auth a = HAMN_DIST_AUTH_INIT, got = HAMN_DIST_AUTH_INIT;
	struct hamn_error *err = NULL;
	FILE *f;

	(void)state;
	assert_true(asprintf(&path, "%s/config.json", dir) > 0);
	assert_true(asprintf(&store, "%s/secret", dir) > 0);
	assert_true(asprintf(&newpath, "%s:%s", dir, oldpath ? oldpath : "/usr/bin:/bin") > 0);
	write_helper(dir, store);
	setenv("PATH", newpath, 1);
	f = fopen(path, "w");
	fputs("{\"credsStore\":\"hamntest\"}", f);
	fclose(f);
	/* the helper says "not found": not logged in, not an error */
	assert_int_equal(hamn_dist_creds_get(dir, "r.example", &got, &err), 0);
	assert_false(hamn_dist_auth_present(&got));
	a.username = strdup("hu");
	a.password = strdup("ignored");
	a.server_address = strdup("r.example");
	assert_int_equal(hamn_dist_creds_store(dir, &a, &err), 0);
	assert_int_equal(hamn_dist_creds_get(dir, "r.example", &got, &err), 0);
	assert_string_equal(got.username, "hu");
	assert_string_equal(got.password, "stored-secret");
	hamn_dist_auth_release(&got);
	assert_int_equal(hamn_dist_creds_erase(dir, "r.example", &err), 0);
	assert_int_equal(access(store, F_OK), -1);
	setenv("PATH", oldpath ? oldpath : "/usr/bin:/bin", 1);
	hamn_dist_auth_release(&a);
	free(path);
	free(store);
	free(newpath);
	rm_tree(dir);
	free(dir);
}

/* ---- challenges ---- */

static void challenge_bearer(void **state)
{
	struct hamn_dist_challenge c;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_dist_challenge_parse(
				 "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
				 "docker.io\",scope=\"repository:library/busybox:pull\"",
				 &c, &err),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/busybox:pull");
	assert_null(c.error);
	hamn_dist_challenge_release(&c);
	assert_int_equal(hamn_dist_challenge_parse(
				 "bearer realm=\"http://h/t?a=b\" , error=insufficient_scope, "
				 "scope=\"x\\\"y\"",
				 &c, &err),
			 0);
	assert_string_equal(c.realm, "http://h/t?a=b");
	assert_string_equal(c.error, "insufficient_scope");
	assert_string_equal(c.scope, "x\"y");
	hamn_dist_challenge_release(&c);
}

static void challenge_basic_and_bad(void **state)
{
	struct hamn_dist_challenge c;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_dist_challenge_parse("Basic realm=\"Registry Realm\"", &c, &err), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "Registry Realm");
	hamn_dist_challenge_release(&c);
	assert_int_equal(hamn_dist_challenge_parse("Bearer realm=\"unterminated", &c, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_int_equal(hamn_dist_challenge_parse("", &c, &err), -1);
	hamn_error_free(&err);
}

/* ---- platforms ---- */

static void platform_parse(void **state)
{
	struct hamn_dist_platform p;
	struct hamn_error *err = NULL;

	(void)state;
	assert_int_equal(hamn_dist_platform_parse(NULL, &p, &err), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.arch, hamn_oci_host_arch());
	assert_int_equal(hamn_dist_platform_parse("linux/arm64/v8", &p, &err), 0);
	assert_string_equal(p.arch, "arm64");
	assert_string_equal(p.variant, "");
	assert_int_equal(hamn_dist_platform_parse("aarch64", &p, &err), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.arch, "arm64");
	assert_int_equal(hamn_dist_platform_parse("linux/arm", &p, &err), 0);
	assert_string_equal(p.variant, "v7");
	assert_int_equal(hamn_dist_platform_parse("Linux/X86_64", &p, &err), 0);
	assert_string_equal(p.arch, "amd64");
	assert_int_equal(hamn_dist_platform_parse("linux/armhf", &p, &err), 0);
	assert_string_equal(p.arch, "arm");
	assert_string_equal(p.variant, "v7");
	assert_int_equal(hamn_dist_platform_parse("a/b/c/d", &p, &err), -1);
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	assert_int_equal(hamn_dist_platform_parse("linux//", &p, &err), -1);
	hamn_error_free(&err);
}

static struct hamn_oci_index *test_index(void)
{
	static const char *doc =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
		"\"manifests\":["
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,"
		"\"digest\":\"sha256:"
		"1111111111111111111111111111111111111111111111111111111111111111\","
		"\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,"
		"\"digest\":\"sha256:"
		"2222222222222222222222222222222222222222222222222222222222222222\","
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,"
		"\"digest\":\"sha256:"
		"3333333333333333333333333333333333333333333333333333333333333333\","
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,"
		"\"digest\":\"sha256:"
		"4444444444444444444444444444444444444444444444444444444444444444\","
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,"
		"\"digest\":\"sha256:"
		"5555555555555555555555555555555555555555555555555555555555555555\","
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v5\"}}]}";
	struct hamn_error *err = NULL;
	json_t *j = json_loads(doc, 0, NULL);
	struct hamn_oci_index *idx = hamn_oci_index_parse(j, &err);

	json_decref(j);
	assert_non_null(idx);
	return idx;
}

static size_t pick(struct hamn_oci_index *idx, const char *platform, int *errnum)
{
	struct hamn_dist_platform p;
	struct hamn_error *err = NULL;
	size_t i = 99;

	assert_int_equal(hamn_dist_platform_parse(platform, &p, &err), 0);
	*errnum = 0;
	if (hamn_dist_index_select(idx, &p, &i, &err) < 0) {
		*errnum = err->errnum;
		hamn_error_free(&err);
	}
	return i;
}

static void index_select(void **state)
{
	struct hamn_oci_index *idx = test_index();
	int e;

	(void)state;
	assert_int_equal(pick(idx, "linux/amd64", &e), 1);
	assert_int_equal(pick(idx, "linux/arm64", &e), 2);
	assert_int_equal(pick(idx, "linux/arm64/v8", &e), 2);
	assert_int_equal(pick(idx, "linux/arm/v6", &e), 3);
	/* v7 asked, v6 and v5 offered: v6 runs on v7 and is the closest */
	assert_int_equal(pick(idx, "linux/arm/v7", &e), 3);
	pick(idx, "linux/s390x", &e);
	assert_int_equal(e, ENOENT);
	pick(idx, "windows/amd64", &e);
	assert_int_equal(e, ENOENT);
	hamn_oci_index_free(idx);
}

/* ---- progress bars, as in the observed docker streams ---- */

static void progress_bars(void **state)
{
	char buf[32];
	char *s;

	(void)state;
	s = hamn_dist_progress_bar(115, 115);
	assert_string_equal(s,
			    "[==================================================>]     115B/115B");
	free(s);
	s = hamn_dist_progress_bar(36864, 1982361);
	assert_string_equal(
		s, "[>                                                  ]  36.86kB/1.982MB");
	free(s);
	s = hamn_dist_progress_bar(1544192, 1982361);
	assert_string_equal(
		s, "[======================================>            ]  1.544MB/1.982MB");
	free(s);
	s = hamn_dist_progress_bar(1996800, 1982361);
	assert_string_equal(s, "[==================================================>]  1.997MB");
	free(s);
	s = hamn_dist_progress_bar(1000, 0);
	assert_string_equal(s, "     1kB");
	free(s);
	hamn_dist_human_size(0, buf);
	assert_string_equal(buf, "0B");
	hamn_dist_human_size(104857600, buf);
	assert_string_equal(buf, "104.9MB");
}

/* ---- insecure registries ---- */

static void insecure_hosts(void **state)
{
	char *list[] = {"myreg:5000", "10.0.0.0/8", "fd00::/8", "plain.example", NULL};

	(void)state;
	assert_true(hamn_dist_host_insecure("localhost:5000", NULL));
	assert_true(hamn_dist_host_insecure("127.0.0.1:5000", NULL));
	assert_true(hamn_dist_host_insecure("127.5.5.5", NULL));
	assert_true(hamn_dist_host_insecure("[::1]:5000", NULL));
	assert_false(hamn_dist_host_insecure("128.0.0.1:5000", NULL));
	assert_false(hamn_dist_host_insecure("registry.example", NULL));
	assert_true(hamn_dist_host_insecure("myreg:5000", list));
	assert_false(hamn_dist_host_insecure("myreg:5001", list));
	assert_true(hamn_dist_host_insecure("10.1.2.3:5000", list));
	assert_false(hamn_dist_host_insecure("11.1.2.3:5000", list));
	assert_true(hamn_dist_host_insecure("[fd12::1]:443", list));
	assert_true(hamn_dist_host_insecure("plain.example:5000", list));
}

static void bad_config_refused(void **state)
{
	char *mirrors[] = {"mirror.example", NULL};
	char *insecure[] = {"http://x", NULL};
	struct hamn_dist_config cfg = {.mirrors = mirrors};
	struct hamn_error *err = NULL;

	(void)state;
	assert_null(hamn_dist_new(&cfg, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	cfg.mirrors = NULL;
	cfg.insecure_registries = insecure;
	assert_null(hamn_dist_new(&cfg, &err));
	assert_int_equal(err->errnum, EINVAL);
	hamn_error_free(&err);
	cfg.insecure_registries = NULL;
	struct hamn_dist *d = hamn_dist_new(&cfg, &err);
	assert_non_null(d);
	hamn_dist_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_round_trip),
		cmocka_unit_test(base64_rejects_junk),
		cmocka_unit_test(auth_encode_empty_is_e30),
		cmocka_unit_test(auth_decode_docker_header),
		cmocka_unit_test(auth_round_trip_url_alphabet),
		cmocka_unit_test(auth_json_keys_case_insensitive),
		cmocka_unit_test(auth_decode_malformed),
		cmocka_unit_test(auth_keys),
		cmocka_unit_test(creds_store_get_erase),
		cmocka_unit_test(creds_keep_other_keys),
		cmocka_unit_test(creds_malformed_config),
		cmocka_unit_test(creds_helper),
		cmocka_unit_test(challenge_bearer),
		cmocka_unit_test(challenge_basic_and_bad),
		cmocka_unit_test(platform_parse),
		cmocka_unit_test(index_select),
		cmocka_unit_test(progress_bars),
		cmocka_unit_test(insecure_hosts),
		cmocka_unit_test(bad_config_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

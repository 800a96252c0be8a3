/*
 * test_api_images.c - the pure helpers of the image endpoints (src/api/images.c).
 * The endpoints themselves are tested end to end in tests/system/045-images.bats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "api/images.h"

static void ref_ok(const char *repo, const char *tag, const char *want)
{
	struct hamn_error *err = NULL;
	char *got = hamn_api_images_ref(repo, tag, &err);

	assert_null(err);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void ref_einval(const char *repo, const char *tag, const char *msg_part)
{
	struct hamn_error *err = NULL;

	assert_null(hamn_api_images_ref(repo, tag, &err));
	assert_non_null(err);
	assert_int_equal(err->errnum, EINVAL);
	assert_non_null(strstr(err->msg, msg_part));
	hamn_error_free(&err);
}

static void repo_alone_is_kept_as_given(void **state)
{
	(void)state;
	ref_ok("busybox", NULL, "busybox");
	ref_ok("busybox", "", "busybox");
	ref_ok("busybox:1.36", "", "busybox:1.36");
}

static void tag_is_added_or_replaces_the_repos_own(void **state)
{
	(void)state;
	ref_ok("busybox", "v1", "docker.io/library/busybox:v1");
	ref_ok("127.0.0.1:5000/x/y:old", "new", "127.0.0.1:5000/x/y:new");
}

static void bad_pairs_are_einval(void **state)
{
	(void)state;
	ref_einval("", "v1", "repository name must have at least one component");
	ref_einval(NULL, NULL, "repository name must have at least one component");
	ref_einval("x", "bad:tag", "invalid tag format");
	ref_einval("x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		   "v1", "digest");
	ref_einval("Upper", "v1", "lowercase");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(repo_alone_is_kept_as_given),
		cmocka_unit_test(tag_is_added_or_replaces_the_repos_own),
		cmocka_unit_test(bad_pairs_are_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

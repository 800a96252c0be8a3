# build-helpers.bash - shared by the files that build and commit images
# (086-commit, 087-polish, 090-build), after container-helpers: a daemon
# with the fixture image loaded through `hamn load`, and a build context
# of each test's own in $CTX.

# build_setup_file: start this file's hamnd and load the test image.
build_setup_file() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	ensure_fixtures
	start_hamnd
	run_hamn load -i "$HAMN_FIXTURES/docker.tar"
}

# build_setup: an empty build context directory in $CTX.
build_setup() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	CTX="$BATS_TEST_TMPDIR/ctx"
	mkdir -p "$CTX"
}

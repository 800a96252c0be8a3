# helpers.bash - shared set-up for the bats system tests.
#
# Every file gets its own scratch directory under $BATS_FILE_TMPDIR; tests
# that start a daemon use start_hamnd/stop_hamnd so several files never share
# state. Nothing here sleeps for a fixed time: wait_for polls a condition
# until a deadline.

export LC_ALL=C TZ=UTC
: "${HAMN_BUILD:=$(cd "$BATS_TEST_DIRNAME/../../build" && pwd)}"
HAMN_TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HAMN_RUNTIME="$HAMN_BUILD/hamn-runtime"
HAMN_BIN="$HAMN_BUILD/hamn"
HAMND_BIN="$HAMN_BUILD/hamnd"

# The fixture image is made once per build directory and reused by all files.
HAMN_FIXTURES="$HAMN_BUILD/fixtures"

# ensure_fixtures: build the busybox test image if it is not there yet.
ensure_fixtures() {
	if [ ! -f "$HAMN_FIXTURES/.done" ]; then
		"$HAMN_TOP/tests/fixtures/mkimage.sh" "$HAMN_FIXTURES" >&2 ||
			{ echo "cannot build fixtures" >&2; return 1; }
	fi
}

# require_root: skip (visibly) when not root; fails instead under HAMN_TEST_STRICT=1.
require_root() {
	if [ "$(id -u)" != 0 ]; then
		[ "${HAMN_TEST_STRICT:-0}" = 1 ] && { echo "strict: need root" >&2; return 1; }
		skip "needs root"
	fi
}

# wait_for SECONDS CMD...: run CMD until it succeeds or the deadline passes.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; return 1; }
		sleep 0.05
	done
}

# run_cmd [expected_rc] CMD...: run CMD under a timeout, echo it and its output,
# check its exit code (default 0). Output is in $output as with bats' run.
run_cmd() {
	local want=0
	if [[ "$1" =~ ^[0-9]+$ ]]; then
		want=$1
		shift
	fi
	echo "\$ $*"
	run timeout 60 "$@"
	echo "$output"
	if [ "$status" -ne "$want" ]; then
		echo "exit code $status, expected $want" >&2
		return 1
	fi
}

# run_hamn [expected_rc] args...: the hamn CLI against this file's daemon.
run_hamn() {
	local want=0
	if [[ "$1" =~ ^[0-9]+$ ]]; then
		want=$1
		shift
	fi
	run_cmd "$want" "$HAMN_BIN" -H "unix://$HAMN_SOCK" "$@"
}

# run_runtime [expected_rc] args...: hamn-runtime with this file's state root.
run_runtime() {
	local want=0
	if [[ "$1" =~ ^[0-9]+$ ]]; then
		want=$1
		shift
	fi
	run_cmd "$want" "$HAMN_RUNTIME" --root "$BATS_FILE_TMPDIR/runtime-state" "$@"
}

# unique_name PREFIX: a name no other test (or earlier run) uses.
unique_name() {
	echo "$1-$$-$BATS_TEST_NUMBER-$RANDOM"
}

# helpers.bash - shared set-up for the bats system tests.
#
# Every file gets its own scratch directory under $BATS_FILE_TMPDIR; tests
# that start a daemon use start_hamnd/stop_hamnd so several files never share
# state. Nothing here sleeps for a fixed time: wait_for polls a condition
# until a deadline. An assertion that a command fails is written
# `! cmd || false`: bash's errexit ignores a bare `! cmd`, so it would not
# fail the test (000-layout.bats refuses such lines).

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

# hamnd_answers SOCK: does a daemon answer GET /_ping on the unix socket SOCK?
hamnd_answers() {
	curl -sf -m 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1
}

# start_hamnd [hamnd args...]: start this file's daemon with its own root, exec
# root, socket, config file and log under $BATS_FILE_TMPDIR, and wait (10 s
# deadline) until /_ping answers. Exports HAMN_SOCK, HAMND_PID, HAMND_ROOT,
# HAMND_EXEC_ROOT, HAMND_CONFIG and HAMND_LOG. Fails with the log shown when
# the daemon exits or never answers.
start_hamnd() {
	export HAMND_ROOT="$BATS_FILE_TMPDIR/hamnd-root"
	export HAMND_EXEC_ROOT="$BATS_FILE_TMPDIR/hamnd-run"
	export HAMN_SOCK="$HAMND_EXEC_ROOT/hamn.sock"
	export HAMND_CONFIG="$BATS_FILE_TMPDIR/daemon.json"
	export HAMND_LOG="$BATS_FILE_TMPDIR/hamnd.log"
	[ -f "$HAMND_CONFIG" ] || echo '{}' >"$HAMND_CONFIG"
	HAMND_LOG_START=$(stat -c %s "$HAMND_LOG" 2>/dev/null || echo 0)
	export HAMND_LOG_START
	# no default bridge (and no host-wide ip_forward) unless the test asks: daemons of
	# several test files must never share a bridge (tests/system/060-networks.bats)
	local net=(--bridge none --ip-forward=false)
	case " $* " in *" --bridge"* | *" -b "*) net=() ;; esac
	# a sanitizer build (make asan): ASan/LSan reports of hamnd and of everything it forks
	# (monitors have no stderr) go to $BATS_FILE_TMPDIR/asan.<pid>; stop_hamnd fails on them
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$BATS_FILE_TMPDIR/asan" \
		"$HAMND_BIN" --root "$HAMND_ROOT" --exec-root "$HAMND_EXEC_ROOT" -H "unix://$HAMN_SOCK" \
		--config-file "$HAMND_CONFIG" "${net[@]}" "$@" >>"$HAMND_LOG" 2>&1 3>&- &
	export HAMND_PID=$!
	local deadline=$((SECONDS + 10))
	until hamnd_answers "$HAMN_SOCK"; do
		if ! kill -0 "$HAMND_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			echo "hamnd did not start; its log:" >&2
			cat "$HAMND_LOG" >&2
			stop_hamnd
			return 1
		fi
		sleep 0.05
	done
}

# sanitizer_check: fail, showing them, when a sanitizer build reported an error or a leak
# since the daemon started (ASan/LSan files of start_hamnd, UBSan lines in $HAMND_LOG).
# Each report fails one check: its file is renamed *.seen.
sanitizer_check() {
	local f bad=0 re='Sanitizer|: runtime error: '

	for f in "$BATS_FILE_TMPDIR"/asan.*; do
		[ -f "$f" ] && [ "${f%.seen}" = "$f" ] || continue
		echo "sanitizer report $f:" >&2
		cat "$f" >&2
		mv "$f" "$f.seen"
		bad=1
	done
	if [ -f "${HAMND_LOG:-}" ] &&
		tail -c "+$((${HAMND_LOG_START:-0} + 1))" "$HAMND_LOG" | grep -qE "$re"; then
		echo "sanitizer reports in $HAMND_LOG:" >&2
		tail -c "+$((${HAMND_LOG_START:-0} + 1))" "$HAMND_LOG" | grep -E -A30 "$re" >&2
		bad=1
	fi
	return "$bad"
}

# stop_hamnd: SIGTERM this file's daemon and wait (10 s, then SIGKILL) until it is gone;
# fails when a sanitizer build reported something (sanitizer_check).
stop_hamnd() {
	[ -n "${HAMND_PID:-}" ] || return 0
	kill -TERM "$HAMND_PID" 2>/dev/null
	local deadline=$((SECONDS + 10))
	while kill -0 "$HAMND_PID" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "hamnd $HAMND_PID ignored SIGTERM; killing it" >&2
			kill -KILL "$HAMND_PID" 2>/dev/null
		fi
		sleep 0.05
	done
	HAMND_PID=
	sanitizer_check
}

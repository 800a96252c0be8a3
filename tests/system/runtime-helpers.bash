# runtime-helpers.bash - shared by the hamn-runtime system tests (01x-*.bats).
#
# Each test gets a bundle in $BATS_TEST_TMPDIR/bundle whose config.json is the
# fixture's, with root.path pointing at the fixture's read-only rootfs (shared,
# never written) unless the test asks for its own copy. Containers live under
# this file's state root; teardown deletes them and checks that no cgroup,
# mount or process of theirs is left behind.

load helpers

RT_ROOT=""

rt_setup_file() {
	require_root
	ensure_fixtures
	[ -x "$HAMN_RUNTIME" ] || { echo "no $HAMN_RUNTIME: build first" >&2; return 1; }
}

rt_setup() {
	RT_ROOT="$BATS_FILE_TMPDIR/runtime-state"
	BUNDLE="$BATS_TEST_TMPDIR/bundle"
	mkdir -p "$BUNDLE"
	jq --arg r "$HAMN_FIXTURES/bundle/rootfs" '.root.path = $r' \
		"$HAMN_FIXTURES/bundle/config.json" >"$BUNDLE/config.json"
	RT_IDS=()
}

# rt_own_rootfs: give this test a writable copy of the rootfs (root.readonly false).
rt_own_rootfs() {
	cp -a "$HAMN_FIXTURES/bundle/rootfs" "$BUNDLE/rootfs"
	cfg '.root.path = "rootfs" | .root.readonly = false'
}

# cfg JQ-FILTER [jq args...]: edit this test's config.json in place.
cfg() {
	local filter=$1
	shift
	jq "$@" "$filter" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" &&
		mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# args ARG...: set process.args.
args() {
	local arr
	arr=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")
	cfg '.process.args = $a' --argjson a "$arr"
}

# new_id [VAR]: set VAR (default: id) to a container id unique to this test and
# remember it for teardown (not in a subshell: the list must survive).
new_id() {
	local _new
	_new=$(unique_name ctr)
	RT_IDS+=("$_new")
	printf -v "${1:-id}" '%s' "$_new"
}

rt() {
	"$HAMN_RUNTIME" --root "$RT_ROOT" "$@"
}

# rt_run [expected_rc] ARGS...: run_cmd of hamn-runtime with this file's root.
rt_run() {
	run_runtime "$@"
}

# rt_detached [expected_rc] ARGS...: for commands whose container outlives them (create,
# run -d, exec -d): stdio goes to $BATS_TEST_TMPDIR/ctr.log instead of bats' pipe, which
# the container would otherwise hold open. $output is the log.
rt_detached() {
	local want=0 rc=0
	if [[ "$1" =~ ^[0-9]+$ ]]; then
		want=$1
		shift
	fi
	echo "\$ hamn-runtime $*"
	timeout 60 "$HAMN_RUNTIME" --root "$RT_ROOT" "$@" </dev/null \
		>>"$BATS_TEST_TMPDIR/ctr.log" 2>&1 || rc=$?
	output=$(cat "$BATS_TEST_TMPDIR/ctr.log")
	echo "$output"
	if [ "$rc" -ne "$want" ]; then
		echo "exit code $rc, expected $want" >&2
		return 1
	fi
}

rt_status() {
	rt state "$1" | jq -r .status
}

rt_pid() {
	rt state "$1" | jq -r .pid
}

# The directories of container $1's cgroup, in every hierarchy.
cgroup_dirs_of() {
	find /sys/fs/cgroup -type d -name "$1" 2>/dev/null
}

# Fail when anything of container $1 is left: state dir, cgroup, process, mount.
assert_clean() {
	local id=$1 pid=${2:-}
	[ ! -e "$RT_ROOT/$id" ] || { echo "state dir of $id left" >&2; return 1; }
	[ -z "$(cgroup_dirs_of "$id")" ] || { echo "cgroup of $id left: $(cgroup_dirs_of "$id")" >&2; return 1; }
	if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -e "/proc/$pid" ]; then
		local st
		st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
		[ "$st" = Z ] || [ -z "$st" ] || { echo "process $pid of $id left" >&2; return 1; }
	fi
	! grep -q "$BATS_TEST_TMPDIR" /proc/self/mountinfo || { echo "mount left" >&2; return 1; }
}

rt_teardown() {
	local id
	for id in "${RT_IDS[@]}"; do
		"$HAMN_RUNTIME" --root "$RT_ROOT" delete --force "$id" >/dev/null 2>&1 || true
	done
	for id in "${RT_IDS[@]}"; do
		assert_clean "$id" || return 1
	done
}

status_is() {
	[ "$(rt_status "$1" 2>/dev/null)" = "$2" ]
}

# wait_status ID STATUS: poll until the container has that status (10 s).
wait_status() {
	wait_for 10 status_is "$1" "$2"
}

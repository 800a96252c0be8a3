# container-helpers.bash - shared by the 04x-*.bats container tests: a daemon
# with the fixture image loaded, the API through curl, the real docker CLI
# (DOCKER_HOST pointing at hamnd), and a teardown that checks that nothing
# of the daemon's is left: no container, monitor, mount or cgroup.

load helpers

DOCKER_CLI=${DOCKER_CLI:-/usr/local/bin/docker}

# containers_setup_file [hamnd args...]: start hamnd and load the test image.
containers_setup_file() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	ensure_fixtures
	start_hamnd "$@"
	load_test_image
}

# containers_teardown_file: remove every container, stop hamnd, check the leftovers.
containers_teardown_file() {
	local ids leftovers

	if [ -n "${HAMND_PID:-}" ] && hamnd_answers "$HAMN_SOCK"; then
		ids=$(curl -s --unix-socket "$HAMN_SOCK" 'http://d/containers/json?all=1' | jq -r '.[].Id')
		for id in $ids; do
			curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" \
				"http://d/containers/$id?force=1"
		done
	fi
	# a test may have restarted the daemon: its pid file knows the current one
	if [ -f "$HAMND_EXEC_ROOT/hamnd.pid" ]; then
		HAMND_PID=$(cat "$HAMND_EXEC_ROOT/hamnd.pid")
	fi
	stop_hamnd
	check_no_leftovers
}

# check_no_leftovers: no process forked from this file's hamnd (monitors keep its
# command line), no mount and no container cgroup under its root.
check_no_leftovers() {
	local root=${HAMND_ROOT:-/nonexistent}

	wait_for 10 not pgrep -f -- "--root $root " || {
		echo "processes of this daemon are left:" >&2
		pgrep -af -- "--root $root " >&2
		return 1
	}
	if grep -F "$root" /proc/self/mountinfo >&2; then
		echo "mounts are left under $root" >&2
		return 1
	fi
}

# alive PID: is the process there? (quietly, for wait_for)
alive() {
	kill -0 "$1" 2>/dev/null
}

# not CMD...: succeed only when CMD fails.
not() {
	if "$@"; then
		return 1
	fi
}

# load_test_image: POST the fixture's docker.tar to /images/load.
load_test_image() {
	local out

	out=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/x-tar' \
		--data-binary "@$HAMN_FIXTURES/docker.tar" --unix-socket "$HAMN_SOCK" \
		'http://d/images/load?quiet=1')
	if [ "${out##*$'\n'}" != 200 ]; then
		echo "cannot load the test image: $out" >&2
		return 1
	fi
}

# api METHOD PATH [curl args...]: prints the body, then the status on its own line.
api() {
	local method=$1 path=$2
	shift 2
	curl -s -m 60 -X "$method" -w '\n%{http_code}' --unix-socket "$HAMN_SOCK" "$@" \
		"http://d$path"
}

# api_status METHOD PATH [curl args...]: the status only.
api_status() {
	local method=$1 path=$2
	shift 2
	curl -s -m 60 -X "$method" -o /dev/null -w '%{http_code}' --unix-socket "$HAMN_SOCK" "$@" \
		"http://d$path"
}

# api_json METHOD PATH JSON: a JSON request.
api_json() {
	api "$1" "$2" -H 'Content-Type: application/json' -d "$3"
}

# body / status of an api() output in $output.
body() {
	echo "${output%$'\n'*}"
}
status_of() {
	echo "${output##*$'\n'}"
}

# dk ARGS...: the real docker CLI against hamnd (run under run_cmd for checks).
dk() {
	DOCKER_HOST="unix://$HAMN_SOCK" "$DOCKER_CLI" "$@"
}

# run_dk [expected_rc] ARGS...: the docker CLI under run_cmd.
run_dk() {
	local want=0
	if [[ "$1" =~ ^[0-9]+$ ]]; then
		want=$1
		shift
	fi
	DOCKER_HOST="unix://$HAMN_SOCK" run_cmd "$want" "$DOCKER_CLI" "$@"
}

# require_docker_cli: skip (visibly) without the docker CLI.
require_docker_cli() {
	[ -x "$DOCKER_CLI" ] || skip "no docker CLI at $DOCKER_CLI"
}

# state NAME: the container's State.Status.
state() {
	dk inspect -f '{{.State.Status}}' "$1" 2>/dev/null
}

# is_state NAME STATUS: for wait_for.
is_state() {
	[ "$(state "$1")" = "$2" ]
}

# log_has NAME TEXT: the container's log contains TEXT (for wait_for).
log_has() {
	dk logs "$1" 2>&1 | grep -qF -- "$2"
}

# monitor_pid ID: the pid of the container's monitor (the parent of its init).
monitor_pid() {
	local pid
	pid=$(dk inspect -f '{{.State.Pid}}' "$1")
	awk '{print $4}' "/proc/$pid/stat"
}

#!/usr/bin/env bats
# Containers outlive hamnd: kill -9 of the daemon leaves them running under
# their monitors, a restarted daemon finds every one again, and containers
# that exited meanwhile show their real exit code. Crashes in the middle of
# create and start leave nothing behind.

load container-helpers

setup_file() {
	containers_setup_file
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	require_docker_cli
	# a previous test may have left the daemon down
	if ! hamnd_answers "$HAMN_SOCK"; then
		start_hamnd
	fi
}

# crash_hamnd: SIGKILL the daemon (its zygote follows), wait until it is gone.
# (A test restarts the daemon in its own subshell: its pid file knows the current one.)
crash_hamnd() {
	HAMND_PID=$(cat "$HAMND_EXEC_ROOT/hamnd.pid")
	kill -KILL "$HAMND_PID"
	wait_for 10 not alive "$HAMND_PID"
	HAMND_PID=
}

@test "kill -9 of hamnd leaves the container running; a new hamnd serves it" {
	local n pid mon
	n=$(unique_name live)
	run_dk run -d --name "$n" hamn-test sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done'
	wait_for 10 log_has "$n" tick2
	pid=$(dk inspect -f '{{.State.Pid}}' "$n")
	mon=$(monitor_pid "$n")
	crash_hamnd
	kill -0 "$pid"
	kill -0 "$mon"
	start_hamnd
	run_dk inspect -f '{{.State.Status}} {{.State.Pid}}' "$n"
	[ "$output" = "running $pid" ]
	run_dk logs --tail 2 "$n"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == tick* ]]
	# output keeps flowing into the log after the reconnect
	local before after
	before=$(dk logs "$n" | wc -l)
	wait_for 10 bash -c "[ \$(DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI logs $n | wc -l) -gt $before ]"
	run_dk stop -t 1 "$n"
	run_dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$n"
	[ "$output" = "exited 137" ]
	wait_for 10 not alive "$mon"
	run_dk rm "$n"
}

@test "a container that exits while hamnd is down shows its real exit code" {
	local n id
	n=$(unique_name gone)
	run_dk run -d --name "$n" hamn-test sh -c 'sleep 1; exit 42'
	id=$output
	crash_hamnd
	# the monitor records the exit and goes
	wait_for 20 test -f "$HAMND_ROOT/containers/$id/exit.json"
	wait_for 20 not pgrep -f -- "--root $HAMND_ROOT "
	start_hamnd
	run_dk inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' "$n"
	[ "$output" = "exited 42 " ]
	run_dk rm "$n"
}

@test "attach and wait work on a container found again after a restart" {
	local n
	n=$(unique_name att)
	run_dk run -d -i --name "$n" hamn-test sh -c 'while read l; do echo "got $l"; [ "$l" = quit ] && exit 6; done'
	crash_hamnd
	start_hamnd
	run bash -c "printf 'one\nquit\n' | DOCKER_HOST=unix://$HAMN_SOCK timeout 30 $DOCKER_CLI attach $n"
	[[ "$output" == *"got one"* ]]
	run_dk wait "$n"
	[ "$output" = 6 ]
	run_dk rm "$n"
}

@test "AutoRemove and restart policies apply to exits seen after a restart" {
	local rm_n rs_n
	rm_n=$(unique_name arm)
	rs_n=$(unique_name ars)
	run_dk run -d --rm --name "$rm_n" hamn-test sh -c 'sleep 0.5; exit 1'
	run_dk run -d --restart always --name "$rs_n" hamn-test sh -c 'sleep 0.5; exit 1'
	crash_hamnd
	wait_for 20 not pgrep -f -- "--root $HAMND_ROOT "
	start_hamnd
	wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket $HAMN_SOCK http://d/containers/$rm_n/json)\" = 404 ]"
	wait_for 20 bash -c "[ \"\$(DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI inspect -f '{{.RestartCount}}' $rs_n)\" -ge 1 ]"
	run_dk rm -f "$rs_n"
}

@test "a killed monitor is noticed: its container is stopped and marked exited" {
	local n pid mon
	n=$(unique_name mon)
	run_dk run -d --name "$n" hamn-test sleep 1000
	pid=$(dk inspect -f '{{.State.Pid}}' "$n")
	mon=$(monitor_pid "$n")
	kill -KILL "$mon"
	wait_for 10 is_state "$n" exited
	wait_for 10 not alive "$pid"
	run_dk inspect -f '{{.State.ExitCode}} {{.State.Error}}' "$n"
	[[ "$output" == "255 the container's monitor exited unexpectedly"* ]]
	run_dk rm "$n"
}

@test "kill -9 during creates and starts leaves no directory, mount or monitor behind" {
	local base i
	base=$(unique_name crash)
	for i in $(seq 12); do
		dk run -d --name "$base-$i" hamn-test sleep 1000 >/dev/null 2>&1 &
	done
	# let some be half-way, then crash
	wait_for 10 bash -c "ls $HAMND_ROOT/containers | grep -q ."
	crash_hamnd
	wait
	start_hamnd
	# every directory has a record, every running record has a live monitor
	for d in "$HAMND_ROOT"/containers/*; do
		[ -e "$d" ] || continue
		[ "$(api_status GET "/containers/$(basename "$d")/json")" = 200 ]
	done
	for id in $(api GET '/containers/json' | head -n -1 | jq -r '.[].Id'); do
		run_dk top "$id"
		[[ "$output" == *"sleep 1000"* ]]
	done
	if grep -F "$HAMND_ROOT" /proc/self/mountinfo; then
		return 1
	fi
	for i in $(seq 12); do
		dk rm -f "$base-$i" >/dev/null 2>&1 || true
	done
	[ -z "$(ls "$HAMND_ROOT/containers")" ] || {
		for d in "$HAMND_ROOT"/containers/*; do api GET "/containers/$(basename "$d")/json"; done
		return 1
	}
}

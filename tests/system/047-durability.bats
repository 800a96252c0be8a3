#!/usr/bin/env bats
# What hamnd keeps across its own restart (kill -9 or SIGTERM) and a crash
# of the host: exec records (exec inspect, ExecIDs) with the exit codes of
# execs that ended while hamnd was away, health states (and their probes
# going on), exit.json and the /etc files written durably (fsync of the
# file and of its directory), and an image store that stays whole while
# the same image is loaded and removed at once.

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
	# a test that failed half-way may have left the daemon down
	if ! hamnd_answers "$HAMN_SOCK"; then
		start_hamnd
	fi
}

teardown() {
	local n
	for n in ${TEST_CTRS:-}; do
		dk rm -f "$n" >/dev/null 2>&1 || true
	done
	if [ -n "${STRACE_PID:-}" ]; then
		kill "$STRACE_PID" 2>/dev/null || true
		wait "$STRACE_PID" 2>/dev/null || true
	fi
}

# ---- helpers ----

current_hamnd() {
	cat "$HAMND_EXEC_ROOT/hamnd.pid"
}

# crash_hamnd: SIGKILL the daemon (its monitors and their exec sessions live on).
crash_hamnd() {
	HAMND_PID=$(current_hamnd)
	kill -KILL "$HAMND_PID"
	wait_for 10 not alive "$HAMND_PID"
	HAMND_PID=
}

# restart_hamnd: SIGTERM the daemon and start it again.
restart_hamnd() {
	HAMND_PID=$(current_hamnd)
	stop_hamnd
	start_hamnd
}

# exec_create CTR CMD-JSON: a new exec instance; prints its id.
exec_create() {
	curl -s -m 30 -X POST -H 'Content-Type: application/json' -d "{\"Cmd\":$2}" \
		--unix-socket "$HAMN_SOCK" "http://d/containers/$1/exec" | jq -r .Id
}

# exec_detach ID: start it detached.
exec_detach() {
	run api_json POST "/exec/$1/start" '{"Detach":true}'
	[ "$(status_of)" = 200 ]
}

# exec_field ID JQ: a field of GET /exec/ID/json.
exec_field() {
	curl -s -m 30 --unix-socket "$HAMN_SOCK" "http://d/exec/$1/json" | jq -c "$2"
}

exec_running() {
	[ "$(exec_field "$1" .Running)" = true ]
}

# exec_ids CTR: ExecIDs of the container, sorted, on one line ("null" when none).
exec_ids() {
	dk inspect -f '{{json .ExecIDs}}' "$1" | jq -c 'if . == null then null else sort end'
}

# session_of ID: the pid of the exec's session process (the parent of its process).
session_of() {
	awk '{print $4}' "/proc/$(exec_field "$1" .Pid)/stat"
}

# release PID NAME: create /tmp/NAME in the container whose init is PID (from the host,
# so it works while hamnd is down).
release() {
	touch "/proc/$1/root/tmp/$2"
}

health_of() {
	dk inspect -f '{{.State.Health.Status}}' "$1"
}

is_health() {
	[ "$(health_of "$1")" = "$2" ]
}

# traced PID: strace is attached to every thread of PID.
traced() {
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(awk '/^TracerPid:/ {print $2}' "$t/status")" != 0 ] || return 1
	done
}

# strace_start PID OUT: trace fsync and renames of PID (all its threads) into OUT.
strace_start() {
	command -v strace >/dev/null || skip "strace is needed to see the fsync calls"
	strace -f -qq -y -e trace=fsync,fdatasync,rename,renameat,renameat2 -o "$2" -p "$1" &
	STRACE_PID=$!
	wait_for 10 traced "$1"
}

strace_stop() {
	kill "$STRACE_PID" 2>/dev/null || true
	wait "$STRACE_PID" 2>/dev/null || true
	STRACE_PID=
}

# synced_rename OUT DIR NAME: OUT shows NAME's temp file fsync'ed, renamed to NAME in
# DIR, and DIR fsync'ed after the rename.
synced_rename() {
	local out=$1 dir=$2 name=$3
	awk -v dir="$dir" -v name="$name" '
		index($0, "fsync(") && index($0, dir "/." name ".tmp") { synced = 1 }
		synced && index($0, "rename") && index($0, "\"" name "\")") { renamed = 1; next }
		renamed && index($0, "fsync(") && index($0, "<" dir ">") { ok = 1 }
		END { exit !ok }' "$out"
}

# ---- exec records ----

@test "exec records survive kill -9 of hamnd, with exits that happened meanwhile" {
	local n done_id running_id created_id lost_id lost_pid lost_sess ran sess init
	n=$(unique_name ex)
	TEST_CTRS=$n
	run_dk run -d --name "$n" hamn-test sleep 100000
	init=$(dk inspect -f '{{.State.Pid}}' "$n")
	# ended before the crash
	done_id=$(exec_create "$n" '["sh","-c","exit 7"]')
	exec_detach "$done_id"
	wait_for 10 not exec_running "$done_id"
	# running at the crash, ends while hamnd is down
	ran=$(exec_create "$n" '["sh","-c","while [ ! -e /tmp/go1 ]; do sleep 0.05; done; exit 9"]')
	exec_detach "$ran"
	# running at the crash, still running after it
	running_id=$(exec_create "$n" '["sh","-c","while [ ! -e /tmp/go2 ]; do sleep 0.05; done; exit 4"]')
	exec_detach "$running_id"
	# never started
	created_id=$(exec_create "$n" '["sh","-c","exit 3"]')
	# its session is killed while hamnd is down: nobody knows its exit code
	lost_id=$(exec_create "$n" '["sleep","100000"]')
	exec_detach "$lost_id"
	wait_for 10 exec_running "$ran"
	wait_for 10 exec_running "$running_id"
	wait_for 10 exec_running "$lost_id"
	[ "$(exec_ids "$n")" = "$(echo "[\"$ran\",\"$running_id\",\"$created_id\",\"$lost_id\"]" | jq -c sort)" ]
	sess=$(session_of "$ran")
	lost_pid=$(exec_field "$lost_id" .Pid)
	lost_sess=$(session_of "$lost_id")

	crash_hamnd
	release "$init" go1
	wait_for 10 not alive "$sess"
	kill -KILL "$lost_sess" "$lost_pid"
	wait_for 10 not alive "$lost_sess"
	start_hamnd

	[ "$(exec_field "$done_id" '[.Running, .ExitCode]')" = '[false,7]' ]
	[ "$(exec_field "$ran" '[.Running, .ExitCode]')" = '[false,9]' ]
	[ "$(exec_field "$running_id" '[.Running, .ExitCode]')" = '[true,null]' ]
	[ "$(exec_field "$created_id" '[.Running, .ExitCode]')" = '[false,null]' ]
	[ "$(exec_field "$lost_id" '[.Running, .ExitCode]')" = '[false,null]' ]
	[ "$(exec_field "$ran" .ContainerID)" = "\"$(dk inspect -f '{{.Id}}' "$n")\"" ]
	[ "$(exec_field "$ran" .ProcessConfig.entrypoint)" = '"sh"' ]
	[ "$(exec_ids "$n")" = "$(echo "[\"$running_id\",\"$created_id\"]" | jq -c sort)" ]
	# the running one ends under the new daemon, which has no thread waiting for it
	release "$init" go2
	wait_for 10 not exec_running "$running_id"
	[ "$(exec_field "$running_id" .ExitCode)" = 4 ]
	# the one never started can be started now, and only once
	exec_detach "$created_id"
	wait_for 10 bash -c "[ \"\$(curl -s --unix-socket $HAMN_SOCK http://d/exec/$created_id/json | jq .ExitCode)\" = 3 ]"
	run api_json POST "/exec/$created_id/start" '{"Detach":true}'
	[ "$(status_of)" = 409 ]
	[ "$(exec_ids "$n")" = null ]
	run api_json POST "/exec/$done_id/start" '{"Detach":true}'
	[ "$(status_of)" = 409 ]
	# the session files are gone once the exits are recorded
	run bash -c "ls $HAMND_EXEC_ROOT/containers/*/ | grep -c '^exec-'"
	[ "$output" = 0 ]
	# exec after the restart works as before
	run_dk 5 exec "$n" sh -c 'exit 5'
}

@test "a running exec survives a SIGTERM restart of hamnd and its exit is recorded" {
	local n id init
	n=$(unique_name term)
	TEST_CTRS=$n
	run_dk run -d --name "$n" hamn-test sleep 100000
	init=$(dk inspect -f '{{.State.Pid}}' "$n")
	id=$(exec_create "$n" '["sh","-c","while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 6"]')
	exec_detach "$id"
	wait_for 10 exec_running "$id"
	restart_hamnd
	# a stop of hamnd is not the end of the exec
	[ "$(exec_field "$id" '[.Running, .ExitCode]')" = '[true,null]' ]
	[ "$(exec_ids "$n")" = "[\"$id\"]" ]
	release "$init" go
	wait_for 10 not exec_running "$id"
	[ "$(exec_field "$id" .ExitCode)" = 6 ]
	run_dk inspect -f '{{json .ExecIDs}}' "$n"
	[ "$output" = null ]
}

@test "exec records go with their container" {
	local n id
	n=$(unique_name gone)
	run_dk run -d --name "$n" hamn-test sleep 100000
	id=$(exec_create "$n" '["true"]')
	run_dk rm -f "$n"
	crash_hamnd
	start_hamnd
	run curl -s -o /dev/null -w '%{http_code}' --unix-socket "$HAMN_SOCK" "http://d/exec/$id/json"
	[ "$output" = 404 ]
}

# ---- health ----

@test "a healthy container is still healthy after kill -9 of hamnd, and probes go on" {
	local n init
	n=$(unique_name hc)
	TEST_CTRS=$n
	# retries 20: after the restart every probe fails, and it takes 2 s to turn unhealthy
	run_dk run -d --name "$n" --health-cmd 'test ! -e /tmp/sick' --health-interval 100ms \
		--health-retries 20 hamn-test sleep 100000
	init=$(dk inspect -f '{{.State.Pid}}' "$n")
	wait_for 15 is_health "$n" healthy
	crash_hamnd
	release "$init" sick
	start_hamnd
	# what was stored: a daemon that starts over says "starting" and never "healthy" again
	run_dk inspect -f '{{.State.Health.Status}} {{len .State.Health.Log}}' "$n"
	[[ "$output" == "healthy "[1-5] ]]
	run_dk ps --filter "name=$n" --format '{{.Status}}'
	[[ "$output" == "Up "*" (healthy)" ]]
	# the probes go on: they fail now, and pass again once the file is gone
	wait_for 15 bash -c "[ \$(DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI inspect -f '{{.State.Health.FailingStreak}}' $n) -gt 0 ]"
	rm "/proc/$init/root/tmp/sick"
	wait_for 15 bash -c "[ \$(DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI inspect -f '{{.State.Health.FailingStreak}}' $n) = 0 ]"
	[ "$(health_of "$n")" = healthy ]
}

@test "an unhealthy container stays unhealthy across a SIGTERM restart; a stopped one keeps its health" {
	local n streak
	n=$(unique_name sick)
	TEST_CTRS=$n
	run_dk run -d --name "$n" --health-cmd 'exit 1' --health-interval 100ms --health-retries 2 \
		hamn-test sleep 100000
	wait_for 15 is_health "$n" unhealthy
	restart_hamnd
	[ "$(health_of "$n")" = unhealthy ]
	streak=$(dk inspect -f '{{.State.Health.FailingStreak}}' "$n")
	[ "$streak" -ge 2 ]
	wait_for 15 bash -c "[ \$(DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI inspect -f '{{.State.Health.FailingStreak}}' $n) -gt $streak ]"
	run_dk stop -t 1 "$n"
	crash_hamnd
	start_hamnd
	run_dk inspect -f '{{.State.Status}} {{.State.Health.Status}}' "$n"
	[ "$output" = "exited unhealthy" ]
}

# ---- fsync ----

@test "the monitor writes exit.json durably (fsync of the file, rename, fsync of the directory)" {
	local n id mon out
	n=$(unique_name fs)
	TEST_CTRS=$n
	run_dk run -d --name "$n" hamn-test sleep 100000
	id=$(dk inspect -f '{{.Id}}' "$n")
	mon=$(monitor_pid "$n")
	out="$BATS_TEST_TMPDIR/monitor.strace"
	strace_start "$mon" "$out"
	run_dk kill "$n"
	wait_for 10 not alive "$mon"
	strace_stop
	cat "$out"
	synced_rename "$out" "$HAMND_ROOT/containers/$id" exit.json
	run_dk inspect -f '{{.State.ExitCode}}' "$n"
	[ "$output" = 137 ]
}

@test "create writes hosts, hostname and resolv.conf durably" {
	local n id out name
	n=$(unique_name etc)
	TEST_CTRS=$n
	out="$BATS_TEST_TMPDIR/hamnd.strace"
	strace_start "$(current_hamnd)" "$out"
	run_dk create --name "$n" --add-host durable.test:10.1.2.3 hamn-test true
	id=$output
	strace_stop
	for name in hosts hostname resolv.conf; do
		synced_rename "$out" "$HAMND_ROOT/containers/$id" "$name" || {
			cat "$out"
			false
		}
	done
	grep -q durable.test "$HAMND_ROOT/containers/$id/hosts"
}

# ---- the image store ----

@test "loading an image while it is being removed: every load succeeds, the store stays whole" {
	local i out rc listed ls
	run_dk ps -aq
	[ -z "$output" ] || skip "needs no container using hamn-test"
	for i in $(seq 1 50); do
		"$HAMN_BIN" -H "unix://$HAMN_SOCK" rmi hamn-test >/dev/null 2>&1 &
		ls=$!
		out=$("$HAMN_BIN" -H "unix://$HAMN_SOCK" load -q -i "$HAMN_FIXTURES/docker.tar" 2>&1) || {
			echo "round $i: load failed: $out" >&2
			false
		}
		wait "$ls" || true
		# listed iff inspect works, and then its layers are there to run it
		listed=$("$HAMN_BIN" -H "unix://$HAMN_SOCK" images -q hamn-test)
		if [ -n "$listed" ]; then
			run_hamn run --rm hamn-test true
		else
			run_hamn 1 image inspect hamn-test
			# nothing of it is left on disk
			[ -z "$(ls -A "$HAMND_ROOT/layers")" ]
			load_test_image
		fi
	done
	# the last op was a load: the image is whole
	load_test_image
	run_hamn run --rm hamn-test true
	run_hamn rmi hamn-test
	[ -z "$(ls -A "$HAMND_ROOT/layers")" ]
	[ -z "$("$HAMN_BIN" -H "unix://$HAMN_SOCK" images -q)" ]
	load_test_image
}

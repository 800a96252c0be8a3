#!/usr/bin/env bats
# Containers through the Docker Engine API: the lifecycle with the real docker
# CLI and with curl, attach before start, logs, wait conditions, errors with
# dockerd's statuses and messages, names under concurrency.

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
}

@test "docker run --rm prints the output and returns the exit code" {
	run_dk run --rm hamn-test echo hello from hamn
	[ "$output" = "hello from hamn" ]
	run_dk 3 run --rm hamn-test sh -c 'echo out; echo err >&2; exit 3'
	[[ "$output" == *out* ]]
	[[ "$output" == *err* ]]
	# --rm removed it
	run_dk ps -aq --filter ancestor=hamn-test
	[ -z "$output" ]
}

@test "hamn run --rm prints the output and returns the exit code" {
	run_hamn run --rm hamn-test echo hi
	[ "$output" = hi ]
	run_hamn 4 run --rm hamn-test sh -c 'exit 4'
}

@test "attach before start loses no output" {
	run_dk run --rm hamn-test seq 1 3000
	[ "$(echo "$output" | wc -l)" -eq 3000 ]
	[ "$(echo "$output" | head -1)" = 1 ]
	[ "$(echo "$output" | tail -1)" = 3000 ]
}

@test "stdin reaches the container and a tty works" {
	run bash -c "echo 'hello stdin' | DOCKER_HOST=unix://$HAMN_SOCK timeout 30 $DOCKER_CLI run -i --rm hamn-test cat"
	[ "$status" -eq 0 ]
	[ "$output" = "hello stdin" ]
	run bash -c "printf 'echo typed-\$((40+2))\nexit 3\n' | DOCKER_HOST=unix://$HAMN_SOCK timeout 30 script -qec '$DOCKER_CLI run -it --rm hamn-test sh' /dev/null"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *typed-42* ]]
}

@test "run -d, logs -f and stop" {
	local n
	n=$(unique_name d)
	run_dk run -d --name "$n" hamn-test sh -c 'echo out1; echo err1 >&2; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done'
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	wait_for 10 log_has "$n" tick3
	run_dk logs --tail 1 -t "$n"
	[[ "$output" =~ ^20[0-9-]+T[0-9:.]+Z\ tick[0-9]+$ ]]
	# --since and --until cut on the records' times
	run_dk logs --until "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" "$n"
	[ -z "$output" ]
	run_dk logs --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" "$n"
	[ -z "$output" ]
	# stdout and stderr stay apart
	run bash -c "DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI logs $n 2>/dev/null | head -1"
	[ "$output" = out1 ]
	run bash -c "DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI logs $n 2>&1 >/dev/null | head -1"
	[ "$output" = err1 ]
	# logs -f ends when the container stops; sh as pid 1 ignores TERM: killed after -t
	dk logs -f "$n" >"$BATS_TEST_TMPDIR/follow" 2>&1 &
	local follower=$!
	run_dk stop -t 1 "$n"
	wait_for 10 not alive "$follower"
	grep -q tick "$BATS_TEST_TMPDIR/follow"
	run_dk inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}' "$n"
	[ "$output" = "exited 137 false" ]
	run_dk rm "$n"
}

@test "stop with a StopSignal the process handles exits cleanly" {
	local n
	n=$(unique_name sig)
	run_dk run -d --name "$n" --stop-signal USR1 hamn-test sh -c 'trap "exit 0" USR1; echo ready; while true; do sleep 0.1; done'
	wait_for 10 log_has "$n" ready
	run_dk stop "$n"
	[ "$(dk inspect -f '{{.State.ExitCode}}' "$n")" = 0 ]
	run_dk rm "$n"
}

@test "ps, inspect and the list filters" {
	local n
	n=$(unique_name ps)
	run_dk run -d --name "$n" --label team=blue hamn-test sleep 100
	run_dk ps --format '{{.Names}} {{.Status}} {{.Command}}'
	[[ "$output" == *"$n Up "*'"sleep 100"'* ]]
	run_dk ps -q --filter label=team=blue
	[ "${#output}" -eq 12 ]
	run_dk ps -q --filter label=team=red
	[ -z "$output" ]
	run_dk ps -q --filter "name=^/$n\$" --filter status=running
	[ -n "$output" ]
	run_dk inspect -f '{{.Name}} {{.Config.Image}} {{.HostConfig.NetworkMode}} {{.Driver}} {{.RestartCount}}' "$n"
	[ "$output" = "/$n hamn-test default overlay2 0" ]
	run api GET "/containers/$n/json"
	[ "$(status_of)" = 200 ]
	# every key docker-py and compose index
	body | jq -e '.Id, .Created, .Path, .Args, .State.Pid, .State.StartedAt, .Image, .Name,
		.HostConfig.LogConfig, .Mounts, .Config.Labels, .Config.Tty, .NetworkSettings.Ports,
		.NetworkSettings.Networks, .GraphDriver, .LogPath, .ResolvConfPath' >/dev/null
	[ "$(body | jq -r .Config.Labels.team)" = blue ]
	[ "$(body | jq -r .Config.Hostname)" = "$(body | jq -r '.Id[:12]')" ]
	run api GET '/containers/json?filters=%7B%22status%22%3A%5B%22bogus%22%5D%7D'
	[ "$(status_of)" = 400 ]
	run_dk rm -f "$n"
}

@test "top lists the container's processes without running anything in it" {
	local n
	n=$(unique_name top)
	run_dk run -d --name "$n" hamn-test sh -c 'sleep 200 & sleep 300'
	wait_for 10 bash -c "DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI top $n | grep -q 'sleep 200'"
	run_dk top "$n"
	[[ "${lines[0]}" == UID*PID*PPID*CMD ]]
	[[ "$output" == *"sleep 300"* ]]
	run_dk rm -f "$n"
	run api GET "/containers/$n/top"
	[ "$(status_of)" = 404 ]
}

@test "rm refuses a running container (409), rm -f removes it" {
	local n id
	n=$(unique_name rm)
	run_dk run -d --name "$n" hamn-test sleep 1000
	id=$output
	run api DELETE "/containers/$n"
	[ "$(status_of)" = 409 ]
	[ "$(body | jq -r .message)" = "You cannot remove a running container $id. Stop the container before attempting removal or force remove" ]
	run_dk rm -f "$n"
	run api GET "/containers/$id/json"
	[ "$(status_of)" = 404 ]
	[ ! -e "$HAMND_ROOT/containers/$id" ]
	[ ! -e "$HAMND_EXEC_ROOT/containers/$id" ]
}

@test "names: 409 on conflict, 400 when invalid, generated when absent, rename" {
	local n id gen
	n=$(unique_name dup)
	run api_json POST "/containers/create?name=$n" '{"Image":"hamn-test","Cmd":["true"]}'
	[ "$(status_of)" = 201 ]
	id=$(body | jq -r .Id)
	run api_json POST "/containers/create?name=$n" '{"Image":"hamn-test","Cmd":["true"]}'
	[ "$(status_of)" = 409 ]
	[ "$(body | jq -r .message)" = "Conflict. The container name \"/$n\" is already in use by container \"$id\". You have to remove (or rename) that container to be able to reuse that name." ]
	run api_json POST "/containers/create?name=x" '{"Image":"hamn-test","Cmd":["true"]}'
	[ "$(status_of)" = 400 ]
	[ "$(body | jq -r .message)" = "Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" ]
	run api_json POST "/containers/create" '{"Image":"hamn-test","Cmd":["true"]}'
	[ "$(status_of)" = 201 ]
	gen=$(body | jq -r .Id)
	run_dk inspect -f '{{.Name}}' "$gen"
	[[ "$output" =~ ^/[a-z]+_[a-z]+[0-9]?$ ]]
	run_dk rm "$gen"
	run_dk rename "$n" "$n-new"
	run_dk inspect -f '{{.Name}}' "$id"
	[ "$output" = "/$n-new" ]
	run_dk rm "$id"
}

@test "unknown ids are 404, malformed JSON and wrong types are 400" {
	run api GET /containers/nosuchthing/json
	[ "$(status_of)" = 404 ]
	[ "$(body | jq -r .message)" = "No such container: nosuchthing" ]
	for ep in start stop kill restart wait; do
		[ "$(api_status POST "/containers/nosuchthing/$ep")" = 404 ]
	done
	[ "$(api_status DELETE /containers/nosuchthing)" = 404 ]
	[ "$(api_status GET '/containers/nosuchthing/logs?stdout=1')" = 404 ]
	run api_json POST /containers/create '{"Image": "hamn-test", bad}'
	[ "$(status_of)" = 400 ]
	run api_json POST /containers/create '{"Image":"hamn-test","Env":"A=1"}'
	[ "$(status_of)" = 400 ]
	[[ "$(body | jq -r .message)" == *"cannot unmarshal string into Go struct field Config.Env of type []string"* ]]
	run api_json POST /containers/create '{"Image":"hamn-test","HostConfig":{"Memory":"lots"}}'
	[ "$(status_of)" = 400 ]
	run api_json POST /containers/create '{"Image":"hamn-test","HostConfig":{"Sysctls":{"kernel.core_pattern":"|/tmp/x"}}}'
	[ "$(status_of)" = 400 ]
	run api_json POST /containers/create '{"Image":"no-such-image:v9"}'
	[ "$(status_of)" = 404 ]
}

@test "start of a running container and stop of a stopped one are 304" {
	local n
	n=$(unique_name nm)
	run_dk run -d --name "$n" hamn-test sleep 1000
	[ "$(api_status POST "/containers/$n/start")" = 304 ]
	[ "$(api_status POST "/containers/$n/stop?t=0")" = 204 ]
	[ "$(api_status POST "/containers/$n/stop")" = 304 ]
	[ "$(api_status POST "/containers/$n/kill")" = 409 ]
	run_dk rm "$n"
}

@test "wait: next-exit on a created container, not-running, removed" {
	local n
	n=$(unique_name wait)
	run_dk create --name "$n" hamn-test sh -c 'exit 5'
	# next-exit: the headers come at once, the body at the exit
	api POST "/containers/$n/wait?condition=next-exit" >"$BATS_TEST_TMPDIR/w1" &
	local w1=$!
	api POST "/containers/$n/wait?condition=removed" >"$BATS_TEST_TMPDIR/w2" &
	local w2=$!
	run_dk start "$n"
	wait "$w1"
	[ "$(head -1 "$BATS_TEST_TMPDIR/w1")" = '{"Error":null,"StatusCode":5}' ]
	# not-running on an exited container answers at once
	run api POST "/containers/$n/wait"
	[ "$(body)" = '{"Error":null,"StatusCode":5}' ]
	run_dk wait "$n"
	[ "$output" = 5 ]
	kill -0 "$w2"
	run_dk rm "$n"
	wait "$w2"
	[ "$(head -1 "$BATS_TEST_TMPDIR/w2")" = '{"Error":null,"StatusCode":5}' ]
}

@test "a command that does not exist is a 400 and exit code 127" {
	local id
	# (run -127: bats would otherwise take 127 for "command not found")
	DOCKER_HOST="unix://$HAMN_SOCK" run -127 timeout 60 "$DOCKER_CLI" run --rm hamn-test /no/such/command
	[[ "$output" == *"/no/such/command"* ]]
	DOCKER_HOST="unix://$HAMN_SOCK" run -127 timeout 60 "$DOCKER_CLI" run --rm hamn-test nosuchcommand
	[[ "$output" == *'exec: "nosuchcommand": executable file not found in $PATH'* ]]
	run api_json POST /containers/create '{"Image":"hamn-test","Cmd":["nosuchcommand"]}'
	id=$(body | jq -r .Id)
	[ "$(api_status POST "/containers/$id/start")" = 400 ]
	run_dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id"
	[ "$output" = "created 127" ]
	run_dk rm "$id"
	run_dk ps -aq --filter ancestor=hamn-test
	[ -z "$output" ]
}

@test "restart policy on-failure:2 restarts twice and keeps the exit code" {
	local n
	n=$(unique_name rp)
	run_dk run -d --name "$n" --restart on-failure:2 hamn-test sh -c 'echo run; exit 9'
	wait_for 20 bash -c "[ \"\$(DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI inspect -f '{{.RestartCount}} {{.State.Status}}' $n)\" = '2 exited' ]"
	[ "$(dk inspect -f '{{.State.ExitCode}}' "$n")" = 9 ]
	[ "$(dk logs "$n" | grep -c run)" = 3 ]
	run_dk rm "$n"
}

@test "restart policy always comes back until stopped" {
	local n
	n=$(unique_name always)
	run_dk run -d --name "$n" --restart always hamn-test sh -c 'sleep 0.2; exit 0'
	wait_for 20 bash -c "[ \"\$(DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI inspect -f '{{.RestartCount}}' $n)\" -ge 2 ]"
	run_dk stop -t 1 "$n"
	run_dk inspect -f '{{.State.Status}}' "$n"
	[ "$output" = exited ]
	run_dk rm "$n"
}

@test "20 concurrent create, start and rm of the same names leave a consistent state" {
	local base i k
	base=$(unique_name race)
	for i in $(seq 20); do
		(
			k=$((i % 4))
			dk run -d --name "$base-$k" hamn-test sleep 100 >/dev/null 2>&1
			dk rm -f "$base-$k" >/dev/null 2>&1
			dk run -d --name "$base-$k" hamn-test sleep 100 >/dev/null 2>&1
		) &
	done
	wait
	# every name is held by at most one container, and every listed container is real
	run api GET '/containers/json?all=1'
	body | jq -r '.[].Names[0]' | grep -- "/$base-" | sort | uniq -d >"$BATS_TEST_TMPDIR/dups"
	[ ! -s "$BATS_TEST_TMPDIR/dups" ]
	for id in $(body | jq -r --arg b "/$base-" '.[] | select(.Names[0] | startswith($b)) | .Id'); do
		[ -d "$HAMND_ROOT/containers/$id" ]
		[ "$(api_status GET "/containers/$id/json")" = 200 ]
	done
	# and no directory without a container
	for d in "$HAMND_ROOT"/containers/*; do
		[ "$(api_status GET "/containers/$(basename "$d")/json")" = 200 ]
	done
	for i in 0 1 2 3; do
		dk rm -f "$base-$i" >/dev/null 2>&1 || true
	done
}

@test "docker kill sends signals by name; WINCH does not kill" {
	local n
	n=$(unique_name kill)
	run_dk run -d --name "$n" hamn-test sh -c 'trap "echo got-usr1" USR1; while true; do sleep 0.1; done'
	run_dk kill -s WINCH "$n"
	run_dk kill -s SIGUSR1 "$n"
	wait_for 10 log_has "$n" got-usr1
	[ "$(state "$n")" = running ]
	[ "$(api_status POST "/containers/$n/kill?signal=NOPE")" = 400 ]
	run_dk kill "$n"
	wait_for 10 is_state "$n" exited
	[ "$(dk inspect -f '{{.State.ExitCode}}' "$n")" = 137 ]
	run_dk rm "$n"
}

#!/usr/bin/env bats
# docker exec against hamnd: exit codes, streams, -it through a pty with
# resize, env/workdir/user, --privileged, refusals for stopped and paused
# containers, no fd of the daemon in the exec'd process, the exec API
# objects, and CVE-2019-5736 (no container process can write the host
# binaries through /proc/PID/exe while execs come and go).

load container-helpers

setup_file() {
	containers_setup_file
	export EXEC_CTR="exec-$$"
	dk run -d --name "$EXEC_CTR" hamn-test sleep 100000 >/dev/null
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	require_docker_cli
}

teardown() {
	local n
	for n in ${TEST_CTRS:-}; do
		dk rm -f "$n" >/dev/null 2>&1 || true
	done
}

@test "exec returns the command's exit code and both streams (docker CLI)" {
	run_dk 5 exec "$EXEC_CTR" sh -c 'echo ex-out; echo ex-err >&2; exit 5'
	[[ "$output" == *ex-out* ]]
	[[ "$output" == *ex-err* ]]
	# stderr really is stderr
	run bash -c "DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI exec $EXEC_CTR sh -c 'echo o; echo e >&2' 2>/dev/null"
	[ "$output" = o ]
	run_dk exec "$EXEC_CTR" true
}

@test "hamn exec returns the exit code" {
	run_hamn 3 exec "$EXEC_CTR" sh -c 'echo hi; exit 3'
	[[ "$output" == *hi* ]]
	run_hamn exec "$EXEC_CTR" true
}

@test "a missing binary: docker's message and exit code 126" {
	run_dk 126 exec "$EXEC_CTR" nosuchcmd
	[[ "$output" == *'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH'* ]]
	run_dk 126 exec "$EXEC_CTR" /no/such
	[[ "$output" == *'stat /no/such: no such file or directory'* ]]
	run_hamn 126 exec "$EXEC_CTR" nosuchcmd
}

@test "stdin reaches an exec (-i) and is closed at its end" {
	run bash -c "printf 'one\ntwo\n' | DOCKER_HOST=unix://$HAMN_SOCK timeout 30 $DOCKER_CLI exec -i $EXEC_CTR sh -c 'wc -l'"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = 2 ]
}

@test "exec -it through a pty follows window resizes" {
	command -v python3 >/dev/null || skip "python3 is needed for the pty helper"
	DOCKER_HOST="unix://$HAMN_SOCK" run_cmd python3 "$BATS_TEST_DIRNAME/pty-resize.py" \
		"$DOCKER_CLI" exec -it "$EXEC_CTR" sh
	[[ "$output" == *"sizes seen"* ]]
}

@test "hamn exec -it and run -it follow window resizes" {
	command -v python3 >/dev/null || skip "python3 is needed for the pty helper"
	run_cmd python3 "$BATS_TEST_DIRNAME/pty-resize.py" \
		"$HAMN_BIN" -H "unix://$HAMN_SOCK" exec -it "$EXEC_CTR" sh
	[[ "$output" == *"sizes seen"* ]]
	run_cmd python3 "$BATS_TEST_DIRNAME/pty-resize.py" \
		"$HAMN_BIN" -H "unix://$HAMN_SOCK" run -it --rm hamn-test sh
	[[ "$output" == *"sizes seen"* ]]
}

@test "hamn exec -it works in a pty" {
	run bash -c "printf 'echo typed-\$((40+2))\nexit 4\n' | timeout 30 script -qec '$HAMN_BIN -H unix://$HAMN_SOCK exec -it $EXEC_CTR sh' /dev/null"
	echo "$output"
	[ "$status" -eq 4 ]
	[[ "$output" == *typed-42* ]]
}

@test "env, workdir and user" {
	run_dk exec -e A=1 -e HOME=/x -w /tmp "$EXEC_CTR" sh -c 'echo "$A $HOME $(pwd) $(id -u)"'
	[ "$output" = "1 /x /tmp 0" ]
	run_dk exec -u nobody "$EXEC_CTR" sh -c 'echo "$(id -u):$(id -g) $HOME"'
	[ "$output" = "65534:65534 /home" ]
	run_dk exec -u 123:45 "$EXEC_CTR" id
	[[ "$output" == "uid=123 gid=45"* ]]
	run_hamn exec -e B=2 -w /etc -u nobody "$EXEC_CTR" sh -c 'echo "$B $(pwd) $(id -un)"'
	[ "$output" = "2 /etc nobody" ]
	run_dk 126 exec -u nosuchuser "$EXEC_CTR" true
	[[ "$output" == *"unable to find user nosuchuser"* ]]
}

@test "an exec gets the container's caps, no_new_privs and seccomp; --privileged all caps" {
	run_dk exec "$EXEC_CTR" grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
	[[ "$output" == *"CapEff:	00000000a80425fb"* ]]
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
	# the container's cgroup and namespaces
	local pid
	pid=$(dk inspect -f '{{.State.Pid}}' "$EXEC_CTR")
	run_dk exec "$EXEC_CTR" cat /proc/self/cgroup
	[ "$output" = "$(cat /proc/$pid/cgroup)" ]
	run_dk exec "$EXEC_CTR" sh -c 'for n in pid mnt net ipc uts; do readlink /proc/self/ns/$n; done'
	[ "$output" = "$(for n in pid mnt net ipc uts; do readlink /proc/$pid/ns/$n; done)" ]
	run_dk exec --privileged "$EXEC_CTR" grep -E '^(CapEff|Seccomp):' /proc/self/status
	[[ "$output" == *"Seccomp:	0"* ]]
	[[ "$output" != *"CapEff:	00000000a80425fb"* ]]
}

@test "no fd of hamnd reaches the exec'd process (CVE-2016-9962)" {
	run_dk exec "$EXEC_CTR" sh -c 'cd /proc/self/fd && echo *'
	# the shell's own directory fd for the glob is 3 at most
	[[ "$output" =~ ^"0 1 2"( 3)?$ ]]
	run_dk exec -t "$EXEC_CTR" sh -c 'cd /proc/self/fd && echo *'
	[[ "$output" =~ ^"0 1 2"( 3)?$'\r'?$ ]]
}

@test "exec into a stopped or paused container is refused (409)" {
	local n id
	n=$(unique_name stopped)
	TEST_CTRS=$n
	id=$(dk create --name "$n" hamn-test true)
	run_dk 1 exec "$n" true
	[[ "$output" == *"Container $id is not running"* ]]
	run api_status POST "/containers/$n/exec" -H 'Content-Type: application/json' -d '{"Cmd":["true"]}'
	[ "$output" = 409 ]
	run_dk pause "$EXEC_CTR"
	run_dk 1 exec "$EXEC_CTR" true
	[[ "$output" == *"is paused, unpause the container before exec"* ]]
	run_dk unpause "$EXEC_CTR"
	run_dk 1 exec nosuchctr true
	[[ "$output" == *"No such container: nosuchctr"* ]]
}

@test "the exec API: create, start detached, inspect, resize, second start" {
	local eid
	run api_json POST "/containers/$EXEC_CTR/exec" '{"Cmd":["sh","-c","exit 9"],"AttachStdout":true}'
	[ "$(status_of)" = 201 ]
	eid=$(body | jq -r .Id)
	[[ "$eid" =~ ^[0-9a-f]{64}$ ]]
	run api GET "/exec/$eid/json"
	[ "$(body | jq -c '[.Running, .ExitCode, .ProcessConfig.entrypoint, .ProcessConfig.arguments]')" = '[false,null,"sh",["-c","exit 9"]]' ]
	run api_json POST "/exec/$eid/start" '{"Detach":true}'
	[ "$(status_of)" = 200 ]
	wait_for 10 exec_exited "$eid"
	run api GET "/exec/$eid/json"
	[ "$(body | jq -c '[.Running, .ExitCode]')" = '[false,9]' ]
	[ "$(body | jq -r .ContainerID)" = "$(dk inspect -f '{{.Id}}' "$EXEC_CTR")" ]
	run api_json POST "/exec/$eid/start" '{"Detach":true}'
	[ "$(status_of)" = 409 ]
	run api_status POST "/exec/$eid/resize?h=10&w=20"
	[ "$output" = 200 ]
	# sizes out of 0..65535 or not numbers: 400, for an exec as for a container
	run api_status POST "/exec/$eid/resize?h=70000&w=20"
	[ "$output" = 400 ]
	run api_status POST "/containers/$EXEC_CTR/resize?h=-1&w=20"
	[ "$output" = 400 ]
	run api_status POST "/containers/$EXEC_CTR/resize?h=x&w=20"
	[ "$output" = 400 ]
	run api_status GET /exec/nosuchexec/json
	[ "$output" = 404 ]
	run api_json POST "/containers/$EXEC_CTR/exec" '{"Cmd":[]}'
	[ "$(status_of)" = 400 ]
}

exec_exited() {
	[ "$(curl -s --unix-socket "$HAMN_SOCK" "http://d/exec/$1/json" | jq -r .Running)" = false ]
}

@test "exec events: exec_create, exec_start, exec_die with the exit code" {
	local since
	since=$(date +%s)
	run_dk 2 exec "$EXEC_CTR" sh -c 'exit 2'
	run_dk events --since "$since" --until "$(($(date +%s) + 1))" --filter "container=$EXEC_CTR" \
		--format '{{.Action}} {{index .Actor.Attributes "exitCode"}}'
	[[ "$output" == *"exec_create: sh -c exit 2"* ]]
	[[ "$output" == *"exec_start: sh -c exit 2"* ]]
	[[ "$output" == *"exec_die 2"* ]]
}

@test "50 execs into a container that tries to write /proc/PID/exe: host binaries unchanged (CVE-2019-5736)" {
	local n before after i mon zyg
	n=$(unique_name evil)
	TEST_CTRS=$n
	run_dk run -d --name "$n" hamn-test sh -c \
		'while :; do for p in /proc/[0-9]*; do if echo x 2>/dev/null >>$p/exe; then echo WROTE $p; fi; done; done'
	# the files the monitor and the zygote run (a rebuild of build/ meanwhile does not matter)
	mon=$(monitor_pid "$n")
	zyg=$(awk '{print $4}' "/proc/$mon/stat")
	before=$(sha256sum "/proc/$mon/exe" "/proc/$zyg/exe" | cut -d' ' -f1)
	for i in $(seq 50); do
		dk exec "$n" true || { echo "exec $i failed" >&2; return 1; }
	done
	after=$(sha256sum "/proc/$mon/exe" "/proc/$zyg/exe" | cut -d' ' -f1)
	[ "$before" = "$after" ]
	run_dk logs "$n"
	[[ "$output" != *WROTE* ]]
	# the monitor runs from a read-only mount of its program: once it exits (no more
	# ETXTBSY) a reopen for writing still fails
	run python3 -c 'import os, sys; sys.exit(0 if os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY else 1)' \
		"/proc/$mon/exe"
	[ "$status" -eq 0 ]
}

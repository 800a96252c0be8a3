#!/usr/bin/env bats
# hamn-runtime as the OCI runtime of Debian's dockerd (docker.io: dockerd 20.10,
# containerd 1.6, containerd-shim-runc-v2), which calls it exactly as it calls
# runc: `dockerd --add-runtime hamn=build/hamn-runtime`, `docker run --runtime hamn`.
#
# docker.io is not one of hamn's dependencies (tools/deps.sh): without it the
# dockerd tests skip, saying so. The file starts its own dockerd (own data root,
# exec root, socket, pid file, cgroup parent and a bridge of its own; no
# iptables, no ip_forward) and stops it by pid; the host's docker daemon, if
# one runs, is never touched. Containers use --network none except in the one
# test of the bridge (nothing leaves the host).
#
# The first tests drive hamn-runtime directly with the inputs containerd's shim
# parses (error wording, the JSON log, state); they need no dockerd.

load runtime-helpers
bats_require_minimum_version 1.5.0

DOCKER_CLI=${DOCKER_CLI:-/usr/local/bin/docker}
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=/usr/bin/docker

# Why this machine cannot run the dockerd tests ("" when it can).
dockerd_missing() {
	local t
	for t in dockerd containerd containerd-shim-runc-v2; do
		command -v "$t" >/dev/null || { echo "$t is not installed (Debian's docker.io)"; return; }
	done
	[ -x "$DOCKER_CLI" ] || echo "no docker CLI ($DOCKER_CLI)"
}

# A /24 in 10.254.0.0/16 that no interface or route of the host uses.
free_subnet() {
	local i n
	for i in $(seq 1 50); do
		n=$(((RANDOM % 200) + 20))
		if ! ip -4 route show | grep -q "^10\.254\.$n\." &&
			! ip -4 addr show | grep -q " 10\.254\.$n\."; then
			echo "10.254.$n"
			return 0
		fi
	done
	return 1
}

dk() {
	"$DOCKER_CLI" "$@"
}

# run_dk [expected_rc] ARGS...: the docker CLI against this file's dockerd, as run_cmd.
run_dk() {
	local want=0
	if [[ "$1" =~ ^[0-9]+$ ]]; then
		want=$1
		shift
	fi
	run_cmd "$want" "$DOCKER_CLI" "$@"
}

dockerd_answers() {
	curl -sf -m 2 --unix-socket "$DK_SOCK" http://d/_ping >/dev/null 2>&1
}

start_dockerd() {
	DK_EXEC=$(mktemp -d /tmp/hamn-dkr.XXXXXX) # short: containerd's socket paths live here
	DK_DATA="$BATS_FILE_TMPDIR/dockerd-data"
	DK_SOCK="$DK_EXEC/docker.sock"
	DK_LOG="$BATS_FILE_TMPDIR/dockerd.log"
	DK_BRIDGE="hdk$$"
	DK_CGPARENT="hamn-dkr-$$"
	DK_STATE="$DK_EXEC/runtime-runc/moby" # the shim's --root for hamn-runtime
	export DK_EXEC DK_DATA DK_SOCK DK_LOG DK_BRIDGE DK_CGPARENT DK_STATE
	export DOCKER_HOST="unix://$DK_SOCK" DOCKER_CONFIG="$BATS_FILE_TMPDIR/docker-config"
	local net
	net=$(free_subnet) || { echo "no free 10.254.x.0/24 for the bridge" >&2; return 1; }
	# dockerd needs a bridge (never --bridge=none: peers.md); one of our own, removed at the end
	ip link add name "$DK_BRIDGE" type bridge || return 1
	ip addr add "$net.1/24" dev "$DK_BRIDGE" && ip link set "$DK_BRIDGE" up || return 1
	# not the host's /etc/docker/daemon.json, and its key.json here, not in /etc/docker
	jq -n --arg k "$BATS_FILE_TMPDIR/key.json" '{"deprecated-key-path": $k}' \
		>"$BATS_FILE_TMPDIR/daemon.json"
	# a relative --cgroup-parent: containers go below our own cgroup, never at a root
	dockerd --data-root "$DK_DATA" --exec-root "$DK_EXEC" -H "unix://$DK_SOCK" \
		--pidfile "$DK_EXEC/dockerd.pid" --config-file "$BATS_FILE_TMPDIR/daemon.json" --bridge "$DK_BRIDGE" \
		--iptables=false --ip-masq=false --ip-forward=false --cgroup-parent "$DK_CGPARENT" \
		--add-runtime "hamn=$HAMN_RUNTIME" >"$DK_LOG" 2>&1 3>&- &
	export DK_PID=$!
	local deadline=$((SECONDS + 30))
	until dockerd_answers; do
		if ! kill -0 "$DK_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			echo "dockerd did not start; its log:" >&2
			cat "$DK_LOG" >&2
			return 1
		fi
		sleep 0.1
	done
	dk load -i "$HAMN_FIXTURES/docker.tar" >/dev/null
	[ -s "$BATS_FILE_TMPDIR/key.json" ] # (set -e: fails setup_file otherwise)
}

# Remove every container of our dockerd, stop it by pid, then what it left.
stop_dockerd() {
	local ids pid deadline
	if [ -n "${DK_PID:-}" ] && kill -0 "$DK_PID" 2>/dev/null; then
		ids=$(timeout 30 "$DOCKER_CLI" ps -aq 2>/dev/null || true)
		[ -z "$ids" ] || timeout 60 "$DOCKER_CLI" rm -f $ids >/dev/null 2>&1 || true
		pid=$(cat "$DK_EXEC/containerd/containerd.pid" 2>/dev/null || true)
		kill -TERM "$DK_PID"
		deadline=$((SECONDS + 30))
		while kill -0 "$DK_PID" 2>/dev/null; do
			[ "$SECONDS" -lt "$deadline" ] || kill -KILL "$DK_PID" 2>/dev/null
			sleep 0.1
		done
		wait "$DK_PID" 2>/dev/null || true
		# dockerd stops its containerd; make sure, by the pid it wrote
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = containerd ]; then
			kill -TERM "$pid" 2>/dev/null || true
			wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
		fi
	fi
	DK_PID=
	if [ -n "${DK_EXEC:-}" ]; then
		# netns bind mounts and the like, deepest first
		grep -F -e " $DK_EXEC" -e " $DK_DATA" /proc/self/mountinfo | awk '{print $5}' |
			sort -r | xargs -r -n1 umount -l 2>/dev/null || true
		rm -rf "$DK_EXEC"
	fi
	[ -z "${DK_BRIDGE:-}" ] || ip link del "$DK_BRIDGE" 2>/dev/null || true
	# the cgroup parent: hamn-runtime removes it with the last container; runc would not
	find /sys/fs/cgroup -depth -type d -name "$DK_CGPARENT" -exec rmdir {} \; 2>/dev/null || true
}

setup_file() {
	rt_setup_file
	export PATH="$PATH:/usr/sbin:/sbin" # dockerd lives in /usr/sbin
	export DK_MISSING
	DK_MISSING=$(dockerd_missing)
	[ -z "$DK_MISSING" ] || return 0
	start_dockerd || { stop_dockerd; return 1; }
}

teardown_file() {
	[ -n "${DK_MISSING:-}" ] || stop_dockerd
	if [ -n "${DK_CGPARENT:-}" ] && [ -n "$(find /sys/fs/cgroup -type d -name "$DK_CGPARENT")" ]; then
		echo "cgroups left: $(find /sys/fs/cgroup -type d -path "*/$DK_CGPARENT*")" >&2
		return 1
	fi
}

setup() {
	rt_setup
}

teardown() {
	rt_teardown || return 1
	[ -z "${DK_MISSING:-}" ] || return 0
	local ids
	ids=$(dk ps -aq)
	[ -z "$ids" ] || timeout 60 "$DOCKER_CLI" rm -f $ids >/dev/null 2>&1
	assert_dockerd_clean
}

need_dockerd() {
	if [ -n "$DK_MISSING" ]; then
		[ "${HAMN_TEST_STRICT:-0}" = 1 ] && { echo "strict: $DK_MISSING" >&2; return 1; }
		skip "$DK_MISSING"
	fi
}

# No state directory, cgroup or mount of a removed container is left.
assert_dockerd_clean() {
	local left
	left=$(ls -A "$DK_STATE" 2>/dev/null || true)
	[ -z "$left" ] || { echo "runtime state left: $left" >&2; return 1; }
	left=$(find /sys/fs/cgroup -mindepth 1 -type d -path "*/$DK_CGPARENT/*" 2>/dev/null)
	[ -z "$left" ] || { echo "container cgroups left: $left" >&2; return 1; }
	! grep -q "$DK_DATA/overlay2/.*/merged" /proc/self/mountinfo ||
		{ echo "rootfs mount left" >&2; return 1; }
}

# hamn-runtime's view of a container that dockerd runs.
hamn_status() {
	"$HAMN_RUNTIME" --root "$DK_STATE" state "$1" | jq -r .status
}

hamn_status_is() {
	[ "$(hamn_status "$1" 2>/dev/null)" = "$2" ]
}

# ---- the runtime's answers to containerd's shim, without dockerd ----

@test "shim contract: kill of an exited init says 'container not running', delete still works" {
	args /bin/true
	new_id
	rt_detached create --bundle "$BUNDLE" "$id"
	rt_run start "$id"
	wait_status "$id" stopped
	rt_run 1 --log "$BATS_TEST_TMPDIR/log.json" --log-format json kill "$id" KILL
	[[ "$output" == *"container not running"* ]]
	# the shim reads the last {"level":"error","msg":...} line of the log
	jq -e -s '.[-1] | .level == "error" and (.msg | test("container not running"))' \
		"$BATS_TEST_TMPDIR/log.json"
	rt_run kill --all "$id" KILL
	rt_run delete "$id"
	rt_run 1 delete "$id"
	[[ "$output" == *"does not exist"* ]]
	rt_run delete --force "$id"
}

@test "shim contract: a program that cannot run fails create, in runc's words" {
	new_id a
	args /no/such/program
	rt_detached 1 create --bundle "$BUNDLE" "$a"
	[[ "$output" == *'exec: "/no/such/program": stat /no/such/program: no such file or directory'* ]]
	new_id b
	args nosuchprogram
	rt_detached 1 create --bundle "$BUNDLE" "$b"
	[[ "$output" == *'exec: "nosuchprogram": executable file not found in $PATH'* ]]
	new_id c
	args /etc
	rt_detached 1 create --bundle "$BUNDLE" "$c"
	[[ "$output" == *'exec: "/etc": permission denied'* ]]
	for id in "$a" "$b" "$c"; do
		assert_clean "$id"
	done
}

@test "shim contract: a terminal's create returns while the init waits, holding none of its stdio" {
	args /bin/sh -c 'tty'
	cfg '.process.terminal = true'
	new_id
	python3 "$BATS_TEST_DIRNAME/console-recv.py" "$BATS_TEST_TMPDIR/console.sock" \
		>"$BATS_TEST_TMPDIR/console.out" 2>&1 &
	local recv=$!
	wait_for 10 test -S "$BATS_TEST_TMPDIR/console.sock"
	# like the shim: read create's stdout and stderr to their end
	run timeout 20 sh -c '"$@" 2>&1 | cat' sh "$HAMN_RUNTIME" --root "$RT_ROOT" create \
		--bundle "$BUNDLE" --console-socket "$BATS_TEST_TMPDIR/console.sock" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(rt_status "$id")" = created ]
	rt_run start "$id"
	wait "$recv"
	grep -q /dev/pts/0 "$BATS_TEST_TMPDIR/console.out"
	wait_status "$id" stopped
	rt_run delete "$id"
}

@test "shim contract: the systemd cgroup form is refused with a clear error" {
	args /bin/true
	cfg '.linux.cgroupsPath = "system.slice:docker:x"'
	new_id
	rt_detached 1 --systemd-cgroup create --bundle "$BUNDLE" "$id"
	[[ "$output" == *"systemd cgroup driver is not supported"* ]]
	assert_clean "$id"
}

# ---- dockerd ----

@test "docker run --rm: output, stderr and exit code; nothing left behind" {
	need_dockerd
	run_dk 3 run --rm --network none --runtime hamn hamn-test \
		sh -c 'echo out; echo err >&2; exit 3'
	# stdout and stderr reach the CLI through two pipes: their order is not fixed
	[ "${#lines[@]}" -eq 2 ]
	[[ " ${lines[*]} " == *" out "* ]]
	[[ " ${lines[*]} " == *" err "* ]]
}

@test "docker run: a missing program is 127, a directory 126, with the runtime's message" {
	need_dockerd
	# (run -N: bats would otherwise take 127 for "command not found")
	run -127 timeout 60 "$DOCKER_CLI" run --rm --network none --runtime hamn hamn-test /nope
	echo "$output"
	[[ "$output" == *'exec: "/nope": stat /nope: no such file or directory'* ]]
	run -127 timeout 60 "$DOCKER_CLI" run --rm --network none --runtime hamn hamn-test nope
	echo "$output"
	[[ "$output" == *'executable file not found in $PATH'* ]]
	run -126 timeout 60 "$DOCKER_CLI" run --rm --network none --runtime hamn hamn-test /etc
	echo "$output"
	[[ "$output" == *'permission denied'* ]]
}

@test "docker run -d, exec (exit code, stdin, user, -d), top, stop" {
	need_dockerd
	local id
	run_dk run -d --network none --runtime hamn hamn-test \
		sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
	id=$output
	[ "$(dk inspect -f '{{.HostConfig.Runtime}}' "$id")" = hamn ]
	[ "$(hamn_status "$id")" = running ]
	run_dk 5 exec "$id" sh -c 'echo in-exec; exit 5'
	[ "$output" = in-exec ]
	run_cmd sh -c 'echo hello | "$1" exec -i "$2" sh -c "read l; echo got:\$l"' sh "$DOCKER_CLI" "$id"
	[ "$output" = got:hello ]
	run_dk exec -u 1000:1000 "$id" id -u
	[ "$output" = 1000 ]
	run_dk exec -d "$id" sh -c 'echo detached >/tmp/exec-d'
	wait_for 10 dk exec "$id" test -s /tmp/exec-d
	run_dk 126 exec "$id" nope
	[[ "$output" == *'executable file not found in $PATH'* ]]
	run_dk top "$id"
	[[ "$output" == *"sleep"* ]] || [[ "$output" == *"sh -c"* ]]
	run_dk stop -t 30 "$id"
	[ "$(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")" = "exited 0" ]
	run_dk start "$id"
	wait_for 10 hamn_status_is "$id" running
	run_dk kill "$id"
	[ "$(dk inspect -f '{{.State.ExitCode}}' "$id")" = 137 ]
	run_dk rm "$id"
}

@test "docker run -it and exec -it: a terminal through the console socket" {
	need_dockerd
	command -v script >/dev/null || skip "no script(1)"
	local id
	run_cmd 4 script -qec "$DOCKER_CLI run --rm -it --network none --runtime hamn hamn-test \
		sh -c 'tty; test -t 0 && echo stdin-tty; exit 4'" /dev/null
	[[ "$output" == *"/dev/pts/0"* ]]
	[[ "$output" == *"stdin-tty"* ]]
	run_dk run -d -t --network none --runtime hamn hamn-test sh -c 'while :; do sleep 1; done'
	id=$output
	run_cmd 6 script -qec "$DOCKER_CLI exec -it $id sh -c 'tty; exit 6'" /dev/null
	[[ "$output" == *"/dev/pts/"* ]]
	run_dk rm -f "$id"
}

@test "docker pause/unpause, update --memory and stats read the container's cgroup" {
	need_dockerd
	local id
	run_dk run -d --network none --runtime hamn -m 32m hamn-test \
		sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
	id=$output
	run_dk stats --no-stream --format '{{.MemUsage}}' "$id"
	[[ "$output" == *"/ 32MiB" ]]
	run_dk pause "$id"
	[ "$(hamn_status "$id")" = paused ]
	[ "$(dk inspect -f '{{.State.Paused}}' "$id")" = true ]
	run_dk unpause "$id"
	[ "$(hamn_status "$id")" = running ]
	run_dk update --memory 64m --memory-swap 128m --pids-limit 50 "$id"
	run_dk stats --no-stream --format '{{.MemUsage}}' "$id"
	[[ "$output" == *"/ 64MiB" ]]
	run_dk stop "$id"
	run_dk rm "$id"
}

@test "docker run -m: the OOM kill is seen by dockerd (OOMKilled, 137)" {
	need_dockerd
	run_dk 137 run --name "oom-$$" --network none --runtime hamn -m 16m --memory-swap 16m \
		hamn-test sh -c 'a=x; while :; do a="$a$a"; done'
	[ "$(dk inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' "oom-$$")" = "true 137" ]
	run_dk rm "oom-$$"
}

@test "docker run on the bridge: dockerd's prestart hook gives the container its eth0" {
	need_dockerd
	local net
	net=$(ip -4 -o addr show dev "$DK_BRIDGE" | awk '{print $4}' | cut -d. -f1-3)
	run_dk run --rm --runtime hamn hamn-test sh -c 'grep -c eth0: /proc/net/dev; tail -1 /etc/hosts'
	[ "${lines[0]}" = 1 ]
	[[ "${lines[1]}" == "$net".* ]]
}

@test "docker run --pid host and --init: kill --all at exit, docker-init as pid 1" {
	need_dockerd
	run_dk run --rm --network none --runtime hamn --pid host -e "HOSTPID=$$" hamn-test \
		sh -c 'test -d /proc/$HOSTPID && echo host-pids'
	[ "$output" = host-pids ]
	[ -x /usr/sbin/docker-init ] || [ -x /usr/bin/docker-init ] || skip "no docker-init"
	run_dk run --rm --network none --runtime hamn --init hamn-test ps -o comm
	[[ "${lines[1]}" == docker-init* ]]
}

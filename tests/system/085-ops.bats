#!/usr/bin/env bats
# Container operations: run --init (hamn-init as pid 1: zombies reaped,
# signals forwarded), pause/unpause (the freezer), update (limits of a
# running container's cgroup), port, container prune and system prune;
# with the hamn CLI, the docker CLI and curl.

load container-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	ensure_fixtures
	start_hamnd
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" load -i "$HAMN_FIXTURES/docker.tar" >/dev/null
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	require_docker_cli
}

# every test leaves no container behind (paused ones included: rm -f thaws them), and
# no fake daemon
teardown() {
	local id
	if [ -f "$BATS_TEST_TMPDIR/fake.pid" ]; then
		kill "$(cat "$BATS_TEST_TMPDIR/fake.pid")" 2>/dev/null || true
	fi
	[ -n "${HAMN_SOCK:-}" ] && hamnd_answers "$HAMN_SOCK" || return 0
	for id in $(curl -s --unix-socket "$HAMN_SOCK" 'http://d/containers/json?all=1' |
		jq -r '.[].Id'); do
		curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" \
			"http://d/containers/$id?force=1"
	done
}

# hamn_q ARGS...: the hamn CLI, quietly (for command substitution and wait_for).
hamn_q() {
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" "$@" 2>/dev/null
}

# init_pid NAME: the host pid of the container's pid 1.
init_pid() {
	hamn_q inspect -f '{{.State.Pid}}' "$1"
}

# proc_table: "pid state ppid" of every process, one a line (comm may hold spaces).
proc_table() {
	local f line state ppid rest
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		read -r state ppid rest <<<"${line##*) }"
		echo "${line%% *} $state $ppid"
	done
}

# children_of PID: the pids whose parent is PID, one a line (zombies included).
children_of() {
	proc_table | awk -v p="$1" '$3 == p {print $1}'
}

# zombies_of PID: how many zombie children PID has now.
zombies_of() {
	proc_table | awk -v p="$1" '$3 == p && $2 == "Z" {n++} END {print n + 0}'
}

# has_zombies PID N: PID has at least N zombie children (for wait_for).
has_zombies() {
	[ "$(zombies_of "$1")" -ge "$2" ]
}

# only_child PID: PID has exactly one child left, and it is no zombie (for wait_for).
only_child() {
	[ "$(children_of "$1" | wc -l)" -eq 1 ] && [ "$(zombies_of "$1")" -eq 0 ]
}

# cgroup_file PID CONTROLLER FILE: the path of FILE in PID's cgroup of CONTROLLER
# (v1: /sys/fs/cgroup/CONTROLLER/...; v2: the unified directory).
cgroup_file() {
	local line path
	line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup")
	if [ -n "$line" ]; then
		path=${line#*:*:}
		echo "/sys/fs/cgroup/$2$path/$3"
	else
		path=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
		echo "/sys/fs/cgroup$path/$3"
	fi
}

# counter FILE: the number in FILE (0 while it is missing or being rewritten).
counter() {
	local v
	v=$(cat "$1" 2>/dev/null)
	echo "${v:-0}"
}

# counter_above FILE N: FILE's counter is above N (for wait_for).
counter_above() {
	[ "$(counter "$1")" -gt "$2" ]
}

# ---- --init ----

# in_ctr PID FILE: FILE exists in the root of the container whose process PID is (for wait_for).
in_ctr() {
	[ -e "/proc/$1/root$2" ]
}

@test "--init: hamn-init is pid 1 and reaps the zombies a plain pid 1 leaves" {
	local plain init pid
	plain=$(unique_name plain)
	init=$(unique_name init)
	# two orphans (their subshells exit at once, so pid 1 inherits them); each leaves a
	# file just before it exits
	local script='(sh -c "sleep 0.2; echo >/tmp/z1" &); (sh -c "sleep 0.2; echo >/tmp/z2" &)
exec sleep 1000'

	# without --init, pid 1 is `sleep`, which never waits: the orphans stay zombies
	run_hamn run -d --name "$plain" hamn-test sh -c "$script"
	pid=$(init_pid "$plain")
	wait_for 10 has_zombies "$pid" 2

	run_hamn run -d --init --name "$init" hamn-test sh -c "$script"
	pid=$(init_pid "$init")
	[ "$(cat "/proc/$pid/comm")" = hamn-init ]
	run_hamn inspect -f '{{.HostConfig.Init}} {{.Path}}' "$init"
	[ "$output" = "true sh" ]
	# once both orphans are done, they are reaped: only the command (exec'd sleep) is left
	wait_for 10 in_ctr "$pid" /tmp/z1
	wait_for 10 in_ctr "$pid" /tmp/z2
	wait_for 10 only_child "$pid"
	[ "$(cat "/proc/$(children_of "$pid")/comm")" = sleep ]
}

@test "--init: a stop's SIGTERM reaches the command at once (exit 143)" {
	local plain init start
	plain=$(unique_name plain)
	init=$(unique_name init)
	run_hamn run -d --init --name "$init" hamn-test sh -c 'sleep 1000; echo never'
	start=$SECONDS
	run_hamn stop -t 30 "$init"
	[ $((SECONDS - start)) -lt 10 ]
	run_hamn inspect -f '{{.State.ExitCode}}' "$init"
	[ "$output" = 143 ]

	# without it, sh is pid 1 and ignores SIGTERM: only the KILL after -t ends it
	run_hamn run -d --name "$plain" hamn-test sh -c 'sleep 1000; echo never'
	run_hamn stop -t 1 "$plain"
	run_hamn inspect -f '{{.State.ExitCode}}' "$plain"
	[ "$output" = 137 ]
}

@test "--init passes the exit code through and its binary is read-only" {
	run_hamn 7 run --rm --init hamn-test sh -c 'exit 7'
	run_dk run --rm --init hamn-test cat /proc/1/comm
	[ "$output" = hamn-init ]
	run_hamn 1 run --rm --init hamn-test sh -c 'echo x >/sbin/hamn-init'
	[[ "$output" == *"Read-only file system"* ]]
	run_hamn 127 run --rm --init hamn-test nosuchcommand
	[[ "$output" == *"exec nosuchcommand: No such file or directory"* ]]
}

# ---- pause / unpause ----

@test "pause stops a container's processes and unpause resumes them" {
	local n clock dir before
	n=$(unique_name paused)
	clock=$(unique_name clock)
	dir=$BATS_TEST_TMPDIR/data
	mkdir -p "$dir"
	local loop='i=0; while true; do i=$((i+1)); echo $i >/data/$0.tmp; mv /data/$0.tmp /data/$0; sleep 0.02; done'
	run_hamn run -d --name "$n" -v "$dir:/data" hamn-test sh -c "$loop" c
	run_hamn run -d --name "$clock" -v "$dir:/data" hamn-test sh -c "$loop" clock
	wait_for 10 counter_above "$dir/c" 3

	run_hamn pause "$n"
	[ "$output" = "$n" ]
	run_hamn inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' "$n"
	[ "$output" = "paused true true" ]
	run_hamn ps --filter "name=$n" --format '{{.Status}}'
	[[ "$output" == Up*"(Paused)" ]]
	run_hamn ps -q --filter status=paused
	[ "$output" = "$(hamn_q inspect -f '{{.Id}}' "$n" | cut -c1-12)" ]
	before=$(counter "$dir/c")
	# the other container's counter is the clock: 25 of its steps later, ours has not moved
	local mark
	mark=$(counter "$dir/clock")
	wait_for 20 counter_above "$dir/clock" $((mark + 25))
	[ "$(counter "$dir/c")" = "$before" ]
	run_hamn 1 pause "$n"
	[[ "$output" == *"is already paused"* ]]

	run_dk unpause "$n"
	wait_for 10 counter_above "$dir/c" "$before"
	run_hamn inspect -f '{{.State.Status}} {{.State.Paused}}' "$n"
	[ "$output" = "running false" ]
	run_hamn 1 unpause "$n"
	[[ "$output" == *"is not paused"* ]]
}

@test "a paused container can be stopped, killed and force-removed, not plainly removed" {
	local a b c
	a=$(unique_name pa)
	b=$(unique_name pb)
	c=$(unique_name pc)
	for x in "$a" "$b" "$c"; do
		run_hamn run -d --name "$x" hamn-test sleep 1000
		run_dk pause "$x"
	done
	# sleep is pid 1 and ignores TERM: the KILL after the timeout must reach a thawed process
	run_hamn stop -t 1 "$a"
	run_hamn inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Paused}}' "$a"
	[ "$output" = "exited 137 false" ]
	run_hamn kill "$b"
	wait_for 10 is_state "$b" exited
	run_hamn 1 rm "$c"
	[[ "$output" == *"You cannot remove a paused container"* ]]
	run_hamn rm -f "$c"
	run_hamn 1 inspect "$c"
	# pausing what does not run is a conflict
	run_hamn 1 pause "$a"
	[[ "$output" == *"is not running"* ]]
	run api POST "/containers/$a/pause"
	[ "$(status_of)" = 409 ]
}

# ---- update ----

@test "update changes the limits of a running container's cgroup" {
	local n pid mem
	n=$(unique_name upd)
	run_hamn run -d --name "$n" -m 64m hamn-test sleep 1000
	pid=$(init_pid "$n")
	mem=$(cgroup_file "$pid" memory memory.limit_in_bytes)
	[ -f "$mem" ] || skip "no memory controller at $mem"
	[ "$(cat "$mem")" = 67108864 ]

	run_hamn update -m 96m --pids-limit 50 --cpus 0.5 --restart on-failure:3 "$n"
	[ "$output" = "$n" ]
	[ "$(cat "$mem")" = 100663296 ]
	[ "$(cat "$(cgroup_file "$pid" pids pids.max)")" = 50 ]
	[ "$(cat "$(cgroup_file "$pid" cpu cpu.cfs_quota_us)")" = 50000 ]
	run_hamn inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}' "$n"
	[ "$output" = "100663296 134217728 50 500000000 on-failure:3" ]

	# above the memory+swap limit without a new swap limit: docker's refusal
	run_hamn 1 update -m 512m "$n"
	[[ "$output" == *"Cannot update container"*"update the memoryswap at the same time"* ]]
	[ "$(cat "$mem")" = 100663296 ]
	run_dk update --memory 256m --memory-swap 512m "$n"
	[ "$(cat "$mem")" = 268435456 ]

	# the API answers docker's shape; bad values are 400
	run api_json POST "/containers/$n/update" '{"CpuShares": 512}'
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c .)" = '{"Warnings":[]}' ]
	[ "$(cat "$(cgroup_file "$pid" cpu cpu.shares)")" = 512 ]
	run api_json POST "/containers/$n/update" '{"Memory": 1024}'
	[ "$(status_of)" = 400 ]
	[[ "$(body)" == *"Minimum memory limit allowed is 6MB"* ]]
	run api_json POST "/containers/nosuch-$n/update" '{"CpuShares": 512}'
	[ "$(status_of)" = 404 ]
}

@test "update of a stopped container applies at its next start" {
	local n pid
	n=$(unique_name upds)
	run_hamn create --name "$n" hamn-test sleep 1000
	run_hamn update --memory 80m --memory-swap 160m --pids-limit 30 "$n"
	run_hamn start "$n"
	pid=$(init_pid "$n")
	[ -f "$(cgroup_file "$pid" memory memory.limit_in_bytes)" ] || skip "no memory controller"
	[ "$(cat "$(cgroup_file "$pid" memory memory.limit_in_bytes)")" = 83886080 ]
	[ "$(cat "$(cgroup_file "$pid" pids pids.max)")" = 30 ]
	run_hamn 1 update "$n"
	[[ "$output" == *"provide one or more flags"* ]]
}

# ---- port ----

# fake_inspect SOCK: serve a canned inspect object (for the port CLI) on the unix socket
# SOCK until the test ends; prints when it listens. The daemon of this file runs without
# a bridge, so the CLI is checked against the inspect shape docker's daemon sends.
fake_inspect() {
	python3 - "$1" <<'PY' &
import json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler

PORTS = {
    "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
    "443/tcp": None,
    "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
    "9000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "19000"}],
}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "unix"

    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.reply(200, None)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            return self.reply(200, None)
        if path.endswith("/containers/web/json"):
            return self.reply(200, {"Id": "f" * 64, "Name": "/web",
                                    "NetworkSettings": {"Ports": PORTS}})
        self.reply(404, {"message": "No such container: " + path.split("/")[-2]})

class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

srv = S(sys.argv[1], H)
print("listening", flush=True)
srv.serve_forever()
PY
	echo $! >"$BATS_TEST_TMPDIR/fake.pid"
	wait_for 10 test -S "$1"
}

@test "port prints what docker port prints for the same inspect object" {
	local sock=$BATS_TEST_TMPDIR/fake.sock want
	fake_inspect "$sock"
	run_cmd "$DOCKER_CLI" -H "unix://$sock" port web
	want=$output
	[ "$want" = "53/udp -> 127.0.0.1:5353
80/tcp -> 0.0.0.0:8080
80/tcp -> [::]:8080
9000/tcp -> 0.0.0.0:19000" ]
	run_cmd "$HAMN_BIN" -H "unix://$sock" port web
	[ "$output" = "$want" ]
	for p in 80 80/tcp 53/udp 9000; do
		run_cmd "$DOCKER_CLI" -H "unix://$sock" port web "$p"
		want=$output
		run_cmd "$HAMN_BIN" -H "unix://$sock" port web "$p"
		[ "$output" = "$want" ]
	done
	run_cmd 1 "$HAMN_BIN" -H "unix://$sock" port web 443
	[ "$output" = "Error: No public port '443' published for web" ]
	run_cmd 1 "$HAMN_BIN" -H "unix://$sock" port web 81/udp
	[ "$output" = "Error: No public port '81/udp' published for web" ]
	run_cmd 1 "$HAMN_BIN" -H "unix://$sock" port web http
	[[ "$output" == *"invalid port"* ]]
	run_cmd 1 "$HAMN_BIN" -H "unix://$sock" port nosuch
	[[ "$output" == *"No such container: nosuch"* ]]
}

@test "port of a container without published ports prints nothing" {
	local n
	n=$(unique_name noport)
	run_hamn run -d --name "$n" hamn-test sleep 1000
	run_hamn port "$n"
	[ -z "$output" ]
	run_hamn 1 port "$n" 80
	[ "$output" = "Error: No public port '80' published for $n" ]
}

# ---- prune ----

@test "container prune removes only the containers that do not run" {
	local run exited created labelled big id
	run=$(unique_name running)
	exited=$(unique_name exited)
	created=$(unique_name created)
	labelled=$(unique_name labelled)
	big=$(unique_name big)
	run_hamn run -d --name "$run" hamn-test sleep 1000
	run_hamn run --name "$exited" hamn-test true
	run_hamn create --name "$created" hamn-test true
	run_hamn run --name "$labelled" --label grp=a hamn-test true
	run_hamn run --name "$big" --label grp=b hamn-test dd if=/dev/zero of=/fill bs=1k count=100

	# the prompt: anything but y keeps everything
	run bash -c "echo n | '$HAMN_BIN' -H 'unix://$HAMN_SOCK' container prune"
	[[ "$output" == *"WARNING! This will remove all stopped containers."* ]]
	[[ "$output" == *"Are you sure you want to continue? [y/N]"* ]]
	[ "$(hamn_q ps -aq | wc -l)" -eq 5 ]

	# filters: label, label!, until
	id=$(hamn_q inspect -f '{{.Id}}' "$labelled")
	run_hamn container prune -f --filter label=grp=a
	[ "$(echo "$output" | head -3)" = "Deleted Containers:
$id" ]
	[ -z "$(echo "$output" | sed -n 3p)" ]
	[[ "$(echo "$output" | sed -n 4p)" =~ ^Total\ reclaimed\ space:\ [0-9.]+k?B$ ]]
	run api POST /containers/prune -G --data-urlencode \
		'filters={"until":["2000-01-01T00:00:00Z"]}'
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c .ContainersDeleted)" = '[]' ]
	run api POST /containers/prune -G --data-urlencode 'filters={"label!":["grp"]}'
	[ "$(body | jq '.ContainersDeleted | length')" = 2 ]
	# the one with a 100 kB file in its writable layer
	run api POST /containers/prune -G --data-urlencode 'filters={"label":["grp=b"]}'
	[ "$(body | jq '.ContainersDeleted | length')" = 1 ]
	[ "$(body | jq .SpaceReclaimed)" -ge 102400 ]
	run api POST /containers/prune -G --data-urlencode 'filters={"nosuch":["x"]}'
	[ "$(status_of)" = 400 ]

	run_dk container prune -f
	run_hamn ps -a --format '{{.Names}}'
	[ "$output" = "$run" ]
}

@test "system prune -f removes stopped containers and unused volumes, keeps what runs" {
	local run exited vol id
	run=$(unique_name running)
	exited=$(unique_name exited)
	vol=$(unique_name vol)
	run_hamn run -d --name "$run" hamn-test sleep 1000
	run_hamn run --name "$exited" hamn-test true
	id=$(hamn_q inspect -f '{{.Id}}' "$exited")
	run_hamn volume create "$vol"

	run bash -c "echo n | '$HAMN_BIN' -H 'unix://$HAMN_SOCK' system prune --volumes"
	[[ "$output" == *"WARNING! This will remove:"* ]]
	[[ "$output" == *"  - all stopped containers"* ]]
	[[ "$output" == *"  - all volumes not used by at least one container"* ]]
	[[ "$output" == *"  - all dangling images"* ]]
	[ "$(hamn_q ps -aq | wc -l)" -eq 2 ]

	# without --volumes the volume stays
	run_hamn system prune -f
	[[ "$output" == *"Deleted Containers:"$'\n'"$id"$'\n'* ]]
	[[ "$output" == *"Total reclaimed space:"* ]]
	[ "$(hamn_q ps -a --format '{{.Names}}')" = "$run" ]
	run_hamn volume inspect "$vol"
	# the test image is in use by the running container: still there
	run_hamn inspect hamn-test

	run_hamn system prune -f --volumes
	[[ "$output" == *"Deleted Volumes:"*"$vol"* ]]
	run_hamn 1 volume inspect "$vol"
	[ "$(hamn_q ps -a --format '{{.Names}}')" = "$run" ]
}

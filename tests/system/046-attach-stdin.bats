#!/usr/bin/env bats
# Attach and exec stdin against hamnd: bytes a client writes right behind
# its request (in the same send(), before it read the 101, as `echo hi |
# docker run -i` can) reach the container, first and whole; `start -a -i`
# re-run on an exited container prints its output every time (hamn and
# docker CLIs); and a start waits for the previous run's monitor, which
# may still be flushing a slow client, instead of taking its place.

load container-helpers

setup_file() {
	containers_setup_file
	export RAW_CLIENT="$BATS_FILE_TMPDIR/raw-attach.py"
	# A raw hijack client: the request and DATA ("@FILE": its contents) go out in ONE
	# send(); then the 101 and the stream are read to EOF (stdout frames to stdout).
	# ATTACH_STATUS=FILE: write "upgraded" there once the 101 is read.
	# ATTACH_HOLD=FILE: after the 101, read nothing until FILE exists (a slow client).
	# Exit 0 at EOF, 2 for a reply other than 101, 3 when nothing ends in 30 s.
	cat >"$RAW_CLIENT" <<'EOF'
import os, socket, sys, time

sock_path, path, data = sys.argv[1], sys.argv[2], sys.argv[3]
body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
data = open(data[1:], "rb").read() if data.startswith("@") else data.encode()
head = "POST %s HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n" % path
if body:
    head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock_path)
s.sendall(head.encode() + b"\r\n" + body + data)
s.settimeout(30)
buf = b""
try:
    while b"\r\n\r\n" not in buf:
        d = s.recv(1)
        if not d:
            break
        buf += d
    status, _, rest = buf.partition(b"\r\n\r\n")
    if not status.startswith(b"HTTP/1.1 101"):
        print("reply: %r" % status, file=sys.stderr)
        sys.exit(2)
    if os.environ.get("ATTACH_STATUS"):
        open(os.environ["ATTACH_STATUS"], "w").write("upgraded\n")
    hold = os.environ.get("ATTACH_HOLD")
    deadline = time.monotonic() + 30
    while hold and not os.path.exists(hold) and time.monotonic() < deadline:
        time.sleep(0.05)
    while True:
        d = s.recv(65536)
        if not d:
            break
        rest += d
except socket.timeout:
    print("timed out; got %r" % buf[-200:], file=sys.stderr)
    sys.exit(3)
out = b""
while len(rest) >= 8:
    n = int.from_bytes(rest[4:8], "big")
    if rest[0] == 1:
        out += rest[8:8 + n]
    rest = rest[8 + n:]
sys.stdout.write(out.decode(errors="replace"))
EOF
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
}

teardown() {
	local n
	if [ -n "${RAW_PID:-}" ]; then
		kill "$RAW_PID" 2>/dev/null || true
		wait "$RAW_PID" 2>/dev/null || true
	fi
	for n in ${TEST_CTRS:-}; do
		hamn_cli rm -f "$n" >/dev/null 2>&1 || true
	done
}

# hamn_cli ARGS...: the hamn CLI against this file's daemon (no checks).
hamn_cli() {
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" "$@"
}

# exited NAME: is the container's State.Status "exited"? (for wait_for)
exited() {
	[ "$(hamn_cli inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = exited ]
}

# wait_raw: wait for the raw client started in the background; its exit code in $status.
wait_raw() {
	status=0
	wait "$RAW_PID" || status=$?
	RAW_PID=
}

# new_ctr NAME CREATE-ARGS...: create a container (removed by teardown).
new_ctr() {
	local name=$1
	shift
	TEST_CTRS="${TEST_CTRS:-} $name"
	run_hamn create --name "$name" "$@"
}

# raw PATH DATA [BODY]: the raw client against this file's daemon, under run_cmd.
raw() {
	run_cmd python3 "$RAW_CLIENT" "$HAMN_SOCK" "$@"
}

# hamnd_dead_monitor_conns: hamnd's SOCK_SEQPACKET sockets whose peer is gone.
hamnd_dead_monitor_conns() {
	ss -x -a -p | awk -v p="pid=$HAMND_PID," '$1 == "u_seq" && index($0, p) && $8 == 0'
}

# no_dead_monitor_conns: for wait_for.
no_dead_monitor_conns() {
	[ -z "$(hamnd_dead_monitor_conns)" ]
}

@test "stdin sent with the attach request reaches a running container" {
	local name
	name=$(unique_name stdin-run)
	new_ctr "$name" -i hamn-test sh -c 'read l; echo got:$l'
	run_hamn start "$name"
	raw "/containers/$name/attach?stream=1&stdin=1&stdout=1&stderr=1" $'hello\n'
	[ "$output" = got:hello ]
}

@test "stdin sent with the attach request reaches a container started after it" {
	local name
	name=$(unique_name stdin-created)
	new_ctr "$name" -i hamn-test sh -c 'read l; echo got:$l'
	ATTACH_STATUS="$BATS_TEST_TMPDIR/status" python3 "$RAW_CLIENT" "$HAMN_SOCK" \
		"/containers/$name/attach?stream=1&stdin=1&stdout=1" $'early\n' \
		>"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	RAW_PID=$!
	# the client is attached (and its stdin on the way) before the start
	wait_for 20 test -s "$BATS_TEST_TMPDIR/status"
	run_hamn start "$name"
	wait_raw
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = got:early ]
}

@test "a big stdin burst with the request arrives whole and in order" {
	local name want
	name=$(unique_name stdin-big)
	# more than the server reads with the request: the rest comes from the socket
	python3 -c 'import os, sys; sys.stdout.write(os.urandom(150000).hex())' \
		>"$BATS_TEST_TMPDIR/data"
	want=$(md5sum <"$BATS_TEST_TMPDIR/data" | cut -d' ' -f1)
	new_ctr "$name" -i hamn-test sh -c 'head -c 300000 | md5sum'
	run_hamn start "$name"
	raw "/containers/$name/attach?stream=1&stdin=1&stdout=1" "@$BATS_TEST_TMPDIR/data"
	[ "${output%% *}" = "$want" ]
}

@test "stdin sent with the exec start request reaches the process" {
	local name eid
	name=$(unique_name stdin-exec)
	new_ctr "$name" hamn-test sleep 100000
	run_hamn start "$name"
	run api_json POST "/containers/$name/exec" \
		'{"AttachStdin":true,"AttachStdout":true,"Cmd":["sh","-c","read l; echo exec:$l"]}'
	[ "$(status_of)" = 201 ]
	eid=$(body | jq -r .Id)
	raw "/exec/$eid/start" $'piped\n' '{"Detach":false,"Tty":false}'
	[ "$output" = exec:piped ]
	run api GET "/exec/$eid/json"
	[ "$(body | jq -c '[.Running, .ExitCode]')" = '[false,0]' ]
}

@test "echo hi | hamn start -a -i, 30 times on the same container" {
	local name i
	name=$(unique_name rerun)
	new_ctr "$name" -i hamn-test sh -c 'cat; echo done'
	for i in $(seq 30); do
		run_cmd bash -c "echo hi | '$HAMN_BIN' -H 'unix://$HAMN_SOCK' start -a -i '$name'"
		[ "$output" = $'hi\ndone' ] || {
			echo "run $i printed '$output'" >&2
			return 1
		}
	done
}

@test "echo hi | docker start -a -i, 30 times on the same container (docker CLI)" {
	local name i
	require_docker_cli
	name=$(unique_name rerun-dk)
	new_ctr "$name" -i hamn-test sh -c 'cat; echo done'
	for i in $(seq 30); do
		run_cmd bash -c "echo hi | DOCKER_HOST='unix://$HAMN_SOCK' '$DOCKER_CLI' start -a -i '$name'"
		[ "$output" = $'hi\ndone' ] || {
			echo "run $i printed '$output'" >&2
			return 1
		}
	done
}

@test "a start waits for the previous run's monitor to finish with a slow client" {
	local name
	command -v ss >/dev/null || skip "no ss (iproute2)"
	name=$(unique_name linger)
	# the first run writes a lot, the next ones echo a line of stdin
	new_ctr "$name" -i hamn-test sh -c \
		'if [ -e /ran ]; then read x; echo got:$x; else touch /ran; head -c 600000 /dev/zero; fi'
	# run 1: a client that does not read the output, so that the monitor still
	# spends its flush time on it after the exit
	ATTACH_STATUS="$BATS_TEST_TMPDIR/status" ATTACH_HOLD="$BATS_TEST_TMPDIR/go" \
		python3 "$RAW_CLIENT" "$HAMN_SOCK" "/containers/$name/attach?stream=1&stdout=1" "" \
		>/dev/null 2>"$BATS_TEST_TMPDIR/held.err" 3>&- &
	RAW_PID=$!
	wait_for 20 test -s "$BATS_TEST_TMPDIR/status"
	run_hamn start "$name"
	wait_for 20 exited "$name"
	# run 2 comes while that monitor still flushes: it must not take its place
	run_cmd bash -c "echo hi | '$HAMN_BIN' -H 'unix://$HAMN_SOCK' start -a -i '$name'"
	[ "$output" = got:hi ]
	# the held client is let go with EOF, not forgotten
	touch "$BATS_TEST_TMPDIR/go"
	wait_raw
	cat "$BATS_TEST_TMPDIR/held.err"
	[ "$status" -eq 0 ]
	run_cmd bash -c "echo again | '$HAMN_BIN' -H 'unix://$HAMN_SOCK' start -a -i '$name'"
	[ "$output" = got:again ]
	# and hamnd closed its connection to every monitor that went away
	wait_for 10 no_dead_monitor_conns || {
		hamnd_dead_monitor_conns >&2
		return 1
	}
}

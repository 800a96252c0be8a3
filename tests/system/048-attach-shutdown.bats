#!/usr/bin/env bats
# hamnd stops while attach clients are still connected: one handed to the
# monitor of a running container, one waiting for a container to start,
# and one whose container was removed while its monitor still flushes
# output to it. The daemon lets go of each (the monitors keep theirs) and
# stops at once; in a sanitizer build (make asan) stop_hamnd fails on any
# leak, as it did for the removed container, its client and the hijacked
# connection, all three never freed.

load container-helpers

setup_file() {
	containers_setup_file
	export STALL_CLIENT="$BATS_FILE_TMPDIR/stall-attach.py"
	# A hijack client that stops reading: it attaches to the output of CTR,
	# writes "upgraded" to STATUS once the 101 is in, then reads nothing until
	# HOLD exists (60 s at most), then reads to EOF. Exits 2 for another reply.
	cat >"$STALL_CLIENT" <<'EOF'
import os, socket, sys, time

sock_path, ctr, status, hold = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sock_path)
s.sendall(("POST /containers/%s/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
           "Host: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % ctr).encode())
head = b""
while b"\r\n\r\n" not in head:
    d = s.recv(1)
    if not d:
        break
    head += d
if not head.startswith(b"HTTP/1.1 101"):
    print("reply: %r" % head, file=sys.stderr)
    sys.exit(2)
open(status, "w").write("upgraded\n")
deadline = time.monotonic() + 60
while not os.path.exists(hold) and time.monotonic() < deadline:
    time.sleep(0.05)
while s.recv(65536):
    pass
EOF
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	# a test that failed half-way may have left the daemon down
	if ! hamnd_answers "$HAMN_SOCK"; then
		start_hamnd
	fi
}

teardown() {
	local n
	[ -z "${HOLD:-}" ] || touch "$HOLD"
	if [ -n "${CLIENT_PID:-}" ]; then
		kill "$CLIENT_PID" 2>/dev/null || true
		wait "$CLIENT_PID" 2>/dev/null || true
	fi
	hamnd_answers "$HAMN_SOCK" || start_hamnd
	for n in ${TEST_CTRS:-}; do
		"$HAMN_BIN" -H "unix://$HAMN_SOCK" rm -f "$n" >/dev/null 2>&1 || true
	done
}

# stop_daemon: stop_hamnd for the daemon running now (a test may have restarted it).
stop_daemon() {
	HAMND_PID=$(cat "$HAMND_EXEC_ROOT/hamnd.pid")
	stop_hamnd
}

# flood NAME: a running container that writes output as fast as it can.
flood() {
	TEST_CTRS="${TEST_CTRS:-} $1"
	run_hamn run -d --name "$1" hamn-test \
		sh -c 'while :; do echo 0123456789012345678901234567890123456789; done'
}

# stall_attach NAME: attach the stalling client to NAME (CLIENT_PID, HOLD).
stall_attach() {
	HOLD="$BATS_TEST_TMPDIR/hold"
	python3 "$STALL_CLIENT" "$HAMN_SOCK" "$1" "$BATS_TEST_TMPDIR/status" "$HOLD" 3>&- &
	CLIENT_PID=$!
	wait_for 20 test -s "$BATS_TEST_TMPDIR/status"
}

# release_client: let the client read to EOF; its exit code in $status.
release_client() {
	touch "$HOLD"
	status=0
	wait "$CLIENT_PID" || status=$?
	CLIENT_PID=
}

# pid_of NAME: the container's init (for monitor_of).
pid_of() {
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" inspect -f '{{.State.Pid}}' "$1"
}

# monitor_of PID: the parent of the container's init, its monitor.
monitor_of() {
	awk '{print $4}' "/proc/$1/stat"
}

@test "hamnd stops while a removed container's monitor still flushes to a client" {
	local name mon
	name=$(unique_name flush)
	flood "$name"
	stall_attach "$name"
	mon=$(monitor_of "$(pid_of "$name")")
	run_hamn rm -f "$name"
	# the monitor waits for the client: hamnd's connection to it is still open
	kill -0 "$mon"
	stop_daemon
	release_client
	[ "$status" -eq 0 ]
	wait_for 10 not alive "$mon"
	start_hamnd
	run_hamn 1 inspect "$name"
}

@test "hamnd stops while a client is attached to a running container" {
	local name
	name=$(unique_name running)
	flood "$name"
	stall_attach "$name"
	stop_daemon
	start_hamnd
	run_hamn inspect -f '{{.State.Status}}' "$name"
	[ "$output" = running ]
	# the client was the monitor's all along: it reads on until the container goes
	run_hamn rm -f "$name"
	release_client
	[ "$status" -eq 0 ]
}

@test "hamnd stops while a client waits for a container to start" {
	local name
	name=$(unique_name created)
	TEST_CTRS=$name
	run_hamn create --name "$name" hamn-test echo hi
	stall_attach "$name"
	stop_daemon
	# nobody holds the connection any more: the client sees its end
	release_client
	[ "$status" -eq 0 ]
	start_hamnd
	run_hamn inspect -f '{{.State.Status}}' "$name"
	[ "$output" = created ]
}

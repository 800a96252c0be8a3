#!/usr/bin/env bats
# hamnd on its own: the API transport and the system endpoints (/_ping,
# /version, /info), its directories and socket, TCP/TLS policy, signals,
# restarts after a crash, and many slow clients.

load helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root (it chowns its socket)"
	start_hamnd
}

teardown_file() {
	local pid=${HAMND_PID:-}

	stop_hamnd
	# nothing of ours may still be listening, and no daemon of ours may be left
	if ss -xlp | grep -F "$BATS_FILE_TMPDIR"; then
		echo "a socket under $BATS_FILE_TMPDIR is still listening" >&2
		return 1
	fi
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		echo "hamnd $pid is still running" >&2
		return 1
	fi
}

# not_listening PORT: nothing listens on 127.0.0.1:PORT.
not_listening() {
	! ss -tln | grep -q "127.0.0.1:$1 " || false
}

setup() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root (it chowns its socket)"
}

# api METHOD PATH [curl args...]: one request to this file's daemon; prints
# "<status>\n<body>" so tests can check both.
api() {
	local method=$1 path=$2
	shift 2
	curl -s -m 10 -X "$method" -w '\n%{http_code}' --unix-socket "$HAMN_SOCK" "$@" \
		"http://d$path"
}

# json EXPR: evaluate a jq expression on stdin.
json() {
	jq -r "$1"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_private NAME [args...]: a second daemon with its own dirs under
# $BATS_TEST_TMPDIR/NAME; sets PRIV_PID, PRIV_SOCK, PRIV_ROOT, PRIV_RUN, PRIV_LOG.
start_private() {
	local name=$1
	shift
	PRIV_ROOT="$BATS_TEST_TMPDIR/$name/root"
	PRIV_RUN="$BATS_TEST_TMPDIR/$name/run"
	PRIV_SOCK="$PRIV_RUN/hamn.sock"
	PRIV_LOG="$BATS_TEST_TMPDIR/$name/log"
	mkdir -p "$BATS_TEST_TMPDIR/$name"
	[ -f "$BATS_TEST_TMPDIR/$name/daemon.json" ] || echo '{}' >"$BATS_TEST_TMPDIR/$name/daemon.json"
	"$HAMND_BIN" --root "$PRIV_ROOT" --exec-root "$PRIV_RUN" -H "unix://$PRIV_SOCK" \
		--config-file "$BATS_TEST_TMPDIR/$name/daemon.json" --bridge none --ip-forward=false \
		"$@" >>"$PRIV_LOG" 2>&1 3>&- &
	PRIV_PID=$!
	wait_for 10 hamnd_answers "$PRIV_SOCK" || { cat "$PRIV_LOG"; return 1; }
}

@test "hamnd --version, --help and a bad flag" {
	run_cmd "$HAMND_BIN" --version
	[[ "$output" == "hamnd version "*"(Docker Engine API 1.41)" ]]
	run_cmd "$HAMND_BIN" --help
	[[ "$output" == *"--data-root"* ]]
	[[ "$output" == *"--tlscacert"* ]]
	run_cmd 1 "$HAMND_BIN" --no-such-flag
	[[ "$output" == *"unknown option '--no-such-flag'"* ]]
}

@test "HEAD /_ping has the headers of the contract" {
	run curl -sI -m 5 --unix-socket "$HAMN_SOCK" http://d/_ping
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "HTTP/1.1 200 OK"* ]]
	[[ "$output" == *$'Api-Version: 1.41\r'* ]]
	[[ "$output" == *$'Cache-Control: no-cache, no-store, must-revalidate\r'* ]]
	[[ "$output" == *$'Pragma: no-cache\r'* ]]
	[[ "$output" == *$'Content-Type: text/plain; charset=utf-8\r'* ]]
	[[ "$output" == *$'Content-Length: 0\r'* ]]
	[[ "$output" == *$'Docker-Experimental: false\r'* ]]
	[[ "$output" == *$'Ostype: linux\r'* ]]
	[[ "$output" == *$'Server: Docker/20.10.24'* ]]
	[[ "$output" != *"Builder-Version"* ]]
}

@test "GET /_ping answers OK" {
	run curl -si -m 5 --unix-socket "$HAMN_SOCK" http://d/_ping
	echo "$output"
	[[ "$output" == *$'Content-Length: 2\r'* ]]
	[[ "$output" == *$'\r\n\r\nOK' ]]
}

@test "/version and /v1.41/version describe this daemon" {
	for path in /version /v1.41/version; do
		run api GET "$path"
		echo "$output"
		[ "${lines[-1]}" = 200 ]
		body=${lines[0]}
		[ "$(json .ApiVersion <<<"$body")" = 1.41 ]
		[ "$(json .MinAPIVersion <<<"$body")" = 1.12 ]
		[ "$(json .Os <<<"$body")" = linux ]
		[ "$(json .Version <<<"$body")" = 20.10.24 ]
		[ "$(json .KernelVersion <<<"$body")" = "$(uname -r)" ]
		case "$(uname -m)" in
		x86_64) [ "$(json .Arch <<<"$body")" = amd64 ] ;;
		aarch64) [ "$(json .Arch <<<"$body")" = arm64 ] ;;
		esac
		[ "$(json '.Components[0].Name' <<<"$body")" = Engine ]
		[ "$(json '.Components[0].Details.ApiVersion' <<<"$body")" = 1.41 ]
	done
}

@test "a too new API version is a 400 with dockerd's message" {
	run api GET /v1.99/version
	echo "$output"
	[ "${lines[-1]}" = 400 ]
	[ "${lines[0]}" = '{"message":"client version 1.99 is too new. Maximum supported API version is 1.41"}' ]
}

@test "unknown paths and wrong methods are 404 page not found" {
	for req in "GET /nope" "GET /v1.41/containers/x/nope" "POST /version" "DELETE /_ping"; do
		run api $req
		echo "$req -> $output"
		[ "${lines[-1]}" = 404 ]
		[ "${lines[0]}" = '{"message":"page not found"}' ]
	done
}

@test "/info reports real host values" {
	run api GET /v1.41/info
	[ "${lines[-1]}" = 200 ]
	body=${lines[0]}
	echo "$body" | jq .
	[ "$(json .NCPU <<<"$body")" = "$(nproc)" ]
	mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
	[ "$(json .MemTotal <<<"$body")" = $((mem_kb * 1024)) ]
	[ "$(json .KernelVersion <<<"$body")" = "$(uname -r)" ]
	[ "$(json .Architecture <<<"$body")" = "$(uname -m)" ]
	[ "$(json .Name <<<"$body")" = "$(hostname)" ]
	[ "$(json .OperatingSystem <<<"$body")" = "$(. /etc/os-release && echo "$PRETTY_NAME")" ]
	[ "$(json .DockerRootDir <<<"$body")" = "$HAMND_ROOT" ]
	[ "$(json .Driver <<<"$body")" = overlay2 ]
	[ "$(json .LoggingDriver <<<"$body")" = json-file ]
	[ "$(json .CgroupDriver <<<"$body")" = cgroupfs ]
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then want=2; else want=1; fi
	[ "$(json .CgroupVersion <<<"$body")" = "$want" ]
	[ "$(json .Swarm.LocalNodeState <<<"$body")" = inactive ]
	[ "$(json .IndexServerAddress <<<"$body")" = https://index.docker.io/v1/ ]
	[ "$(json .ID <<<"$body")" = "$(cat "$HAMND_ROOT/engine-id")" ]
	[ "$(json .Containers <<<"$body")" = 0 ]
	[ "$(json .SystemTime <<<"$body")" != null ]
}

@test "socket is 0660 root:root, data root 0700, exec root 0711" {
	[ "$(stat -c '%a %U:%G %F' "$HAMN_SOCK")" = "660 root:root socket" ]
	[ "$(stat -c %a "$HAMND_ROOT")" = 700 ]
	[ "$(stat -c %a "$HAMND_EXEC_ROOT")" = 711 ]
	[ "$(cat "$HAMND_EXEC_ROOT/hamnd.pid")" = "$HAMND_PID" ]
}

@test "--group widens the socket's group" {
	start_private grp --group 1
	[ "$(stat -c '%a %u:%g' "$PRIV_SOCK")" = "660 0:1" ]
	kill -TERM "$PRIV_PID"
	wait "$PRIV_PID"
}

@test "several -H at once, and --log-file" {
	start_private multi -H "unix://$BATS_TEST_TMPDIR/second.sock" \
		--log-file "$BATS_TEST_TMPDIR/multi.log"
	hamnd_answers "$BATS_TEST_TMPDIR/second.sock"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/second.sock")" = 660 ]
	grep -q "msg=\"API listening\" host=unix://$BATS_TEST_TMPDIR/second.sock" \
		"$BATS_TEST_TMPDIR/multi.log"
	kill -TERM "$PRIV_PID"
	wait "$PRIV_PID"
	[ ! -e "$BATS_TEST_TMPDIR/second.sock" ]
	[ ! -e "$PRIV_SOCK" ]
}

@test "docker version talks to hamnd at API 1.41" {
	DOCKER_HOST="unix://$HAMN_SOCK" run_cmd /usr/local/bin/docker version
	[[ "$output" == *"Server: hamn"* ]]
	[[ "$output" == *"Engine:"*"Version:"*"20.10.24"* ]]
	[[ "$output" == *"API version:      1.41"* ]]
}

@test "docker info works" {
	DOCKER_HOST="unix://$HAMN_SOCK" run_cmd /usr/local/bin/docker info
	[[ "$output" == *"Docker Root Dir: $HAMND_ROOT"* ]]
	[[ "$output" == *"CPUs: $(nproc)"* ]]
}

@test "tcp:// without TLS refuses to start and says why" {
	port=$(free_port)
	echo '{}' >"$BATS_TEST_TMPDIR/daemon.json"
	run_cmd 1 "$HAMND_BIN" --root "$BATS_TEST_TMPDIR/r" --exec-root "$BATS_TEST_TMPDIR/x" \
		--config-file "$BATS_TEST_TMPDIR/daemon.json" -H "tcp://127.0.0.1:$port"
	[[ "$output" == *"refusing to listen on 'tcp://127.0.0.1:$port' without TLS"* ]]
	[[ "$output" == *"--insecure-tcp"* ]]
	not_listening "$port"
}

@test "--insecure-tcp is an explicit opt-out, with a warning in /info" {
	port=$(free_port)
	start_private tcp -H "tcp://127.0.0.1:$port" --insecure-tcp
	run curl -s -m 5 "http://127.0.0.1:$port/_ping"
	[ "$output" = OK ]
	run curl -s -m 5 "http://127.0.0.1:$port/info"
	[[ "$output" == *"without TLS"* ]]
	grep -q 'API listening without TLS' "$PRIV_LOG"
	kill -TERM "$PRIV_PID"
	wait "$PRIV_PID"
	not_listening "$port"
}

# make_certs DIR: a CA, a server cert for 127.0.0.1, a client cert, and a client
# cert from another CA (for docker: ca.pem, cert.pem, key.pem).
make_certs() {
	local d=$1
	mkdir -p "$d/other"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
			-keyout ca-key.pem -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server-key.pem \
			-out server.csr
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-days 2 -extfile server.ext -out server-cert.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout key.pem -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-days 2 -extfile client.ext -out cert.pem
		cd other || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=evil-client \
			-keyout key.pem -out cert.pem
	) >/dev/null 2>&1
}

@test "tcp:// with TLS requires a client certificate signed by our CA" {
	certs="$BATS_TEST_TMPDIR/certs"
	make_certs "$certs"
	port=$(free_port)
	start_private tls -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$certs/ca.pem" \
		--tlscert "$certs/server-cert.pem" --tlskey "$certs/server-key.pem"
	url="https://127.0.0.1:$port/_ping"
	run curl -s -m 5 --cacert "$certs/ca.pem" --cert "$certs/cert.pem" --key "$certs/key.pem" "$url"
	[ "$output" = OK ]
	# no client certificate: refused
	run curl -s -m 5 -o /dev/null -w '%{http_code}' --cacert "$certs/ca.pem" "$url"
	echo "no cert: $output"
	[ "$output" = 403 ]
	# a certificate from another CA: refused
	run curl -s -m 5 -o /dev/null -w '%{http_code}' --cacert "$certs/ca.pem" \
		--cert "$certs/other/cert.pem" --key "$certs/other/key.pem" "$url"
	echo "other CA: $output"
	[ "$output" = 403 ]
	# plain HTTP on the TLS port gets nothing useful
	run curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/_ping"
	[ "$output" != 200 ]
	DOCKER_HOST="tcp://127.0.0.1:$port" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$certs" \
		run_cmd /usr/local/bin/docker version
	[[ "$output" == *"API version:      1.41"* ]]
	kill -TERM "$PRIV_PID"
	wait "$PRIV_PID"
}

@test "SIGTERM stops the daemon with exit 0 and removes its socket and pid file" {
	start_private term
	[ -S "$PRIV_SOCK" ]
	[ -f "$PRIV_RUN/hamnd.pid" ]
	kill -TERM "$PRIV_PID"
	rc=0
	wait "$PRIV_PID" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -e "$PRIV_SOCK" ]
	[ ! -e "$PRIV_RUN/hamnd.pid" ]
	grep -q 'msg="hamnd stopped"' "$PRIV_LOG"
}

@test "after kill -9 the daemon restarts at the first try, with the same ID" {
	start_private crash
	id=$(curl -s -m 5 --unix-socket "$PRIV_SOCK" http://d/info | jq -r .ID)
	kill -KILL "$PRIV_PID"
	wait "$PRIV_PID" || true
	# the socket and pid file are left behind, stale
	[ -S "$PRIV_SOCK" ]
	[ "$(cat "$PRIV_RUN/hamnd.pid")" = "$PRIV_PID" ]
	# a recycled pid (a live process that is not hamnd) must not block the start either
	echo 1 >"$PRIV_RUN/hamnd.pid"
	start_private crash
	grep -q 'removing stale socket' "$PRIV_LOG"
	[ "$(curl -s -m 5 --unix-socket "$PRIV_SOCK" http://d/info | jq -r .ID)" = "$id" ]
	[ "$(cat "$PRIV_RUN/hamnd.pid")" = "$PRIV_PID" ]
	kill -TERM "$PRIV_PID"
	wait "$PRIV_PID"
}

@test "a second daemon on the same socket or pid file refuses to start" {
	echo '{}' >"$BATS_TEST_TMPDIR/daemon.json"
	run_cmd 1 "$HAMND_BIN" --root "$BATS_TEST_TMPDIR/r2" --exec-root "$BATS_TEST_TMPDIR/x2" \
		--config-file "$BATS_TEST_TMPDIR/daemon.json" -H "unix://$HAMN_SOCK" --bridge none
	[[ "$output" == *"another daemon is listening on '$HAMN_SOCK'"* ]]
	run_cmd 1 "$HAMND_BIN" --root "$HAMND_ROOT" --exec-root "$HAMND_EXEC_ROOT" \
		--config-file "$BATS_TEST_TMPDIR/daemon.json" -H "unix://$BATS_TEST_TMPDIR/other.sock"
	[[ "$output" == *"hamnd is already running (pid $HAMND_PID"* ]]
	# the running daemon is unharmed
	hamnd_answers "$HAMN_SOCK"
}

@test "daemon.json: unknown keys are an error, and flags win over the file" {
	echo '{"hosts": ["unix:///nowhere.sock"], "bogus": 1, "also-bogus": true}' \
		>"$BATS_TEST_TMPDIR/bad.json"
	run_cmd 1 "$HAMND_BIN" --config-file "$BATS_TEST_TMPDIR/bad.json"
	[[ "$output" == *"the following directives don't match any configuration option: bogus, also-bogus"* ]]
	run_cmd 1 "$HAMND_BIN" --config-file "$BATS_TEST_TMPDIR/missing.json"
	[[ "$output" == *"missing.json"* ]]
	mkdir -p "$BATS_TEST_TMPDIR/file"
	echo "{\"data-root\": \"$BATS_TEST_TMPDIR/from-file\", \"log-level\": \"debug\"}" \
		>"$BATS_TEST_TMPDIR/file/daemon.json"
	start_private file
	[ "$(curl -s -m 5 --unix-socket "$PRIV_SOCK" http://d/info | jq -r .DockerRootDir)" = "$PRIV_ROOT" ]
	[ ! -e "$BATS_TEST_TMPDIR/from-file" ]
	grep -q 'level=debug' "$PRIV_LOG"
	kill -TERM "$PRIV_PID"
	wait "$PRIV_PID"
}

@test "SIGHUP reloads the log level from the config file" {
	echo '{"log-level": "debug"}' >"$HAMND_CONFIG"
	kill -HUP "$HAMND_PID"
	wait_for 10 grep -q 'msg="configuration reloaded" log_level=debug' "$HAMND_LOG"
	hamnd_answers "$HAMN_SOCK"
	wait_for 10 grep -q 'msg=request method=GET path=/_ping status=200' "$HAMND_LOG"
	echo '{}' >"$HAMND_CONFIG"
	kill -HUP "$HAMND_PID"
	wait_for 10 grep -q 'msg="configuration reloaded" log_level=info' "$HAMND_LOG"
}

@test "400 slow or stuck connections do not block /_ping" {
	cat >"$BATS_TEST_TMPDIR/slow.py" <<'PY'
import signal, socket, sys
path, ready = sys.argv[1], sys.argv[2]
conns = []
for i in range(400):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    if i % 2:
        # trickle: half a request line, never finished
        s.sendall(b"GET /_pi")
    else:
        # stuck: many requests whose answers are never read
        s.setblocking(False)
        try:
            s.sendall(b"GET /info HTTP/1.1\r\nHost: d\r\n\r\n" * 200)
        except BlockingIOError:
            pass
    conns.append(s)
open(ready, "w").write("ready\n")
signal.sigwait([signal.SIGTERM])
PY
	python3 "$BATS_TEST_TMPDIR/slow.py" "$HAMN_SOCK" "$BATS_TEST_TMPDIR/ready" 3>&- &
	slow=$!
	wait_for 30 test -f "$BATS_TEST_TMPDIR/ready"
	run curl -s -m 5 --unix-socket "$HAMN_SOCK" http://d/_ping
	status_ping=$status
	out_ping=$output
	DOCKER_HOST="unix://$HAMN_SOCK" run timeout 10 /usr/local/bin/docker version
	status_docker=$status
	kill -TERM "$slow"
	wait "$slow" || true
	[ "$status_ping" -eq 0 ]
	[ "$out_ping" = OK ]
	[ "$status_docker" -eq 0 ]
	# and the daemon is still fine afterwards
	hamnd_answers "$HAMN_SOCK"
}

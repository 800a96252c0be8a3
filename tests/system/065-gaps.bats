#!/usr/bin/env bats
# Small gaps closed in hamnd: logging drivers (json-file with rotation, local,
# none; the daemon's log-driver and log-opts), ports of a running container on
# a network connected after its start, --network container: sharing the other
# container's /etc/hosts, /etc/hostname and /etc/resolv.conf, and
# stats?stream=0 answering at once from the last sample kept.
#
# This file's daemon gets a bridge named after its pid and a 10.213.X.0/22 of
# its own (one that overlaps no route of the host): X is the default bridge,
# X+1 and X+2 the networks made here. Its daemon.json sets log-opts
# {"max-file": "3"}. Traffic goes only to loopback and this file's containers.

load container-helpers
load net-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	mkdir -p "$BATS_FILE_TMPDIR"
	echo '{"log-opts": {"max-file": "3"}}' >"$BATS_FILE_TMPDIR/daemon.json"
	net_daemon_setup_file hgp
}

teardown_file() {
	net_daemon_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

teardown() {
	net_teardown
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# cdir NAME: the container's directory under the daemon's root.
cdir() {
	echo "$HAMND_ROOT/containers/$(hamn inspect -f '{{.Id}}' "$1")"
}

# lines N: a shell command printing "line 1" .. "line N", one a line.
lines_cmd() {
	echo "i=1; while [ \$i -le $1 ]; do echo \"line \$i of the log\"; i=\$((i+1)); done"
}

# restart_hamnd [hamnd args...]: this file's daemon again, with other options.
restart_hamnd() {
	stop_hamnd
	# shellcheck disable=SC2086
	start_hamnd $HAMND_NET_ARGS "$@"
}

# ---------------------------------------------------------------------------
# Logging drivers
# ---------------------------------------------------------------------------

@test "log driver none: no log file, logs answers docker's error" {
	local c dir
	c=$(ctr lognone)
	run_hamn run -d --name "$c" --log-driver none hamn-test sh -c 'echo hello; echo oops >&2'
	wait_for 10 is_state "$c" exited
	dir=$(cdir "$c")
	[ -z "$(find "$dir" -maxdepth 2 -name '*.log*')" ]
	[ ! -e "$dir/local-logs" ]
	[ "$(cjq "$c" .LogPath)" = "" ]
	[ "$(cjq "$c" .HostConfig.LogConfig.Type)" = none ]
	# the daemon's log-opts are for its own driver (json-file) only
	[ "$(cjq "$c" '.HostConfig.LogConfig.Config | length')" = 0 ]
	run_hamn 1 logs "$c"
	[[ "$output" == *"configured logging driver does not support reading"* ]]
	run api GET "/containers/$c/logs?stdout=1"
	[ "$(status_of)" = 501 ]
	[ "$(body | jq -r .message)" = "configured logging driver does not support reading" ]
	if [ -x "$DOCKER_CLI" ]; then
		run_dk 1 logs "$c"
		[[ "$output" == *"configured logging driver does not support reading"* ]]
	fi
	# dockerd takes any option for none
	run_hamn create --log-driver none --log-opt whatever=1 hamn-test true
	echo "$output" >>"$BATS_TEST_TMPDIR/ctrs"
}

@test "an unknown log driver or option is a 400 naming it" {
	run api_json POST /containers/create \
		'{"Image":"hamn-test","HostConfig":{"LogConfig":{"Type":"syslogz","Config":{}}}}'
	[ "$(status_of)" = 400 ]
	[ "$(body | jq -r .message)" = "logger: no log driver named 'syslogz' is registered" ]
	run_hamn 125 run --rm --log-driver syslogz hamn-test true
	[[ "$output" == *"logger: no log driver named 'syslogz' is registered"* ]]
	run_hamn 125 run --rm --log-opt foo=bar hamn-test true
	[[ "$output" == *"unknown log opt 'foo' for json-file log driver"* ]]
	run_hamn 125 run --rm --log-driver local --log-opt foo=bar hamn-test true
	[[ "$output" == *"unknown log opt 'foo' for log driver local"* ]]
	run_hamn 125 run --rm --log-opt max-file=0 hamn-test true
	[[ "$output" == *"max-file cannot be less than 1"* ]]
	run_hamn 125 run --rm --log-opt mode=sometimes hamn-test true
	[[ "$output" == *"logger: logging mode not supported: sometimes"* ]]
	# docker's local driver compresses by default, which needs a second file
	run_hamn 125 run --rm --log-driver local --log-opt max-file=1 hamn-test true
	[[ "$output" == *"compression cannot be enabled when max file count is 1"* ]]
}

@test "json-file rotation: --log-opt max-size=1k --log-opt max-file=2" {
	local c dir id n1 n0 last
	c=$(ctr logrot)
	run_hamn run -d --name "$c" --log-opt max-size=1k --log-opt max-file=2 hamn-test \
		sh -c "$(lines_cmd 300)"
	wait_for 20 is_state "$c" exited
	id=$(hamn inspect -f '{{.Id}}' "$c")
	dir=$(cdir "$c")
	# the container's options win; the daemon's max-file (3) fills nothing here
	[ "$(cjq "$c" '.HostConfig.LogConfig | tojson')" = \
		'{"Type":"json-file","Config":{"max-file":"2","max-size":"1k"}}' ]
	[ "$(cjq "$c" .LogPath)" = "$dir/$id-json.log" ]
	run ls "$dir"
	echo "$output"
	[ "$(grep -c -- '-json.log' <<<"$output")" = 2 ]
	[ -f "$dir/$id-json.log" ] && [ -f "$dir/$id-json.log.1" ]
	# docker's units: 1k is 1000 bytes; a file is rotated once it reaches it, so the
	# rotated one holds at least 1000 bytes and less than 1000 plus one record
	n1=$(stat -c %s "$dir/$id-json.log.1")
	n0=$(stat -c %s "$dir/$id-json.log")
	echo "sizes: .1 $n1, current $n0"
	[ "$n1" -ge 1000 ] && [ "$n1" -lt 1200 ]
	[ "$n0" -lt 1200 ]
	# logs reads the rotated file first: the newest lines, in order, ending with the last
	run_hamn logs "$c"
	last=$(tail -1 <<<"$output")
	[ "$last" = "line 300 of the log" ]
	[ "$(wc -l <<<"$output")" -ge 10 ]
	[ "$(wc -l <<<"$output")" -lt 300 ]
	awk '{ n = $2 + 0; if (NR > 1 && n != prev + 1) exit 1; prev = n }' <<<"$output"
}

@test "the daemon's log-opts are defaults for its driver; local keeps its own files" {
	local c l dir
	c=$(ctr logdef)
	run_hamn run -d --name "$c" hamn-test echo hi
	[ "$(cjq "$c" '.HostConfig.LogConfig | tojson')" = \
		'{"Type":"json-file","Config":{"max-file":"3"}}' ]
	l=$(ctr loglocal)
	run_hamn run -d --name "$l" --log-driver local --log-opt max-size=1k \
		--log-opt max-file=2 --log-opt compress=false hamn-test sh -c "$(lines_cmd 300)"
	wait_for 20 is_state "$l" exited
	dir=$(cdir "$l")
	[ "$(cjq "$l" '.HostConfig.LogConfig | tojson')" = \
		'{"Type":"local","Config":{"compress":"false","max-file":"2","max-size":"1k"}}' ]
	# as dockerd: the path of local's files is not shown
	[ "$(cjq "$l" .LogPath)" = "" ]
	run ls "$dir/local-logs"
	echo "$output"
	[ "$output" = "$(printf 'container.log\ncontainer.log.1')" ]
	[ -z "$(find "$dir" -maxdepth 1 -name '*-json.log*')" ]
	[ "$(stat -c %s "$dir/local-logs/container.log.1")" -ge 1000 ]
	run_hamn logs --tail 2 "$l"
	[ "$output" = "$(printf 'line 299 of the log\nline 300 of the log')" ]
	run api GET /info
	[ "$(body | jq -r .LoggingDriver)" = json-file ]
	[ "$(body | jq -c .Plugins.Log)" = '["json-file","local"]' ]
}

@test "hamnd --log-driver and --log-opt: new containers' defaults; an unknown driver stops it" {
	local c d
	restart_hamnd --log-driver local --log-opt max-size=2k
	run api GET /info
	[ "$(body | jq -r .LoggingDriver)" = local ]
	c=$(ctr logflag)
	run_hamn run -d --name "$c" hamn-test sh -c 'echo from local'
	wait_for 10 is_state "$c" exited
	# the flags' log-opts replace the file's whole (no max-file 3 here)
	[ "$(cjq "$c" '.HostConfig.LogConfig | tojson')" = \
		'{"Type":"local","Config":{"max-size":"2k"}}' ]
	[ -f "$(cdir "$c")/local-logs/container.log" ]
	run_hamn logs "$c"
	[ "$output" = "from local" ]
	# a container asking for json-file gets none of local's defaults
	c=$(ctr logjf)
	run_hamn create --name "$c" --log-driver json-file hamn-test true
	[ "$(cjq "$c" '.HostConfig.LogConfig | tojson')" = '{"Type":"json-file","Config":{}}' ]
	restart_hamnd
	# a driver hamnd does not have: it refuses to start, saying which
	d="$BATS_TEST_TMPDIR/bad"
	mkdir -p "$d"
	echo '{}' >"$d/daemon.json"
	run timeout 20 "$HAMND_BIN" --root "$d/root" --exec-root "$d/run" -H "unix://$d/s" \
		--config-file "$d/daemon.json" --bridge none --ip-forward=false --log-driver nope
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"logger: no log driver named 'nope' is registered"* ]]
	echo '{"log-driver": "json-file", "log-opts": {"max-size": 5}}' >"$d/daemon.json"
	run timeout 20 "$HAMND_BIN" --root "$d/root" --exec-root "$d/run" -H "unix://$d/s" \
		--config-file "$d/daemon.json" --bridge none --ip-forward=false
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"log-opts"* ]]
}

# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------

@test "a running container's ports are published on a network connected after its start" {
	local w ni np port other
	ni=$(net gin)
	np=$(net gpub)
	run_hamn network create --internal --subnet "10.213.$((X + 1)).0/24" "$ni"
	run_hamn network create --subnet "10.213.$((X + 2)).0/24" "$np"
	w=$(ctr web)
	port=$(free_port)
	# on an internal network only: nothing can publish its port yet
	run_hamn run -d --name "$w" --network "$ni" -p "127.0.0.1:$port:80" hamn-test sh -c \
		"mkdir -p /www && echo hello $w >/www/index.html && exec httpd -f -p 80 -h /www"
	[ "$(cjq "$w" '.NetworkSettings.Ports | tojson')" = '{"80/tcp":null}' ]
	! answers "http://127.0.0.1:$port/" "hello $w" || false
	# docker publishes them with the first endpoint that can, also one connected later
	run_hamn network connect "$np" "$w"
	[ "$(cjq "$w" '.NetworkSettings.Ports | tojson')" = \
		"{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$port\"}]}" ]
	wait_for 10 answers "http://127.0.0.1:$port/" "hello $w"
	run_hamn port "$w" 80
	[ "$output" = "127.0.0.1:$port" ]
	# a network connected while they are published does not publish them again
	other=$(net gother)
	run_hamn network create "$other"
	run_hamn network connect "$other" "$w"
	[ "$(cjq "$w" '.NetworkSettings.Ports["80/tcp"] | length')" = 1 ]
	answers "http://127.0.0.1:$port/" "hello $w"
	# and they go with the endpoint that had them
	run_hamn network disconnect "$np" "$w"
	[ "$(cjq "$w" '.NetworkSettings.Ports | tojson')" = '{"80/tcp":null}' ]
}

@test "--network container: shares the other's /etc/hosts, /etc/hostname and /etc/resolv.conf" {
	local base j np extra
	np=$(net gshare)
	run_hamn network create --subnet "10.213.$((X + 2)).0/24" "$np"
	base=$(ctr base)
	run_hamn run -d --name "$base" --hostname "h-$TAG" --network "$np" \
		--add-host "db.example:10.9.9.9" --dns-search "s$TAG.example" hamn-test sleep 1000
	j=$(ctr joiner)
	run_hamn run -d --name "$j" --network "container:$base" hamn-test sleep 1000
	for f in /etc/hosts /etc/hostname /etc/resolv.conf; do
		[ "$(hamn exec "$j" cat "$f")" = "$(hamn exec "$base" cat "$f")" ]
	done
	hamn exec "$j" cat /etc/hosts | grep -qF "10.9.9.9	db.example"
	hamn exec "$j" cat /etc/resolv.conf | grep -qF "s$TAG.example"
	[ "$(hamn exec "$j" hostname)" = "h-$TAG" ]
	[ "$(cjq "$j" .HostsPath)" = "$(cjq "$base" .HostsPath)" ]
	[ "$(cjq "$j" .ResolvConfPath)" = "$(cjq "$base" .ResolvConfPath)" ]
	[ "$(cjq "$j" .HostnamePath)" = "$(cjq "$base" .HostnamePath)" ]
	# the same files: a change of the base's /etc/hosts (a network connected) shows in both
	extra=$(net gextra)
	run_hamn network create "$extra"
	run_hamn network connect "$extra" "$base"
	[ "$(hamn exec "$j" cat /etc/hosts)" = "$(hamn exec "$base" cat /etc/hosts)" ]
	[ "$(hamn exec "$j" cat /etc/hosts | grep -c "h-$TAG")" = 2 ]
	# what would contradict the shared files is refused, with docker's words
	run_hamn 125 run --rm --network "container:$base" --hostname x hamn-test true
	[[ "$output" == *"conflicting options: hostname and the network mode"* ]]
	run_hamn 125 run --rm --network "container:$base" --dns 10.1.1.1 hamn-test true
	[[ "$output" == *"conflicting options: dns and the network mode"* ]]
	run_hamn 125 run --rm --network "container:$base" --add-host a:10.1.1.1 hamn-test true
	[[ "$output" == *"conflicting options: custom host-to-IP mapping and the network mode"* ]]
}

# ---------------------------------------------------------------------------
# stats?stream=0
# ---------------------------------------------------------------------------

# clock_past T: is the host's clock past the RFC 3339 time T plus 0.3 s? (for wait_for)
clock_past() {
	python3 -c '
import datetime, sys
t = datetime.datetime.fromisoformat(sys.argv[1][:26].rstrip("Z"))
now = datetime.datetime.utcnow()
sys.exit(0 if (now - t).total_seconds() > 0.3 else 1)' "$1"
}

# stats_timed NAME QUERY: the stats object in $output, the time it took (s) in $took.
stats_timed() {
	local t0 t1
	t0=$(date +%s.%N)
	run curl -s -m 30 --unix-socket "$HAMN_SOCK" "http://d/containers/$1/stats?$2"
	t1=$(date +%s.%N)
	took=$(echo "$t1 - $t0" | bc)
	echo "took $took s: $output" | cut -c1-300
}

@test "stats stream=0 answers at once with the kept sample as precpu" {
	local c started
	c=$(ctr busy)
	run_hamn run -d --name "$c" hamn-test sh -c 'while :; do :; done'
	started=$(cjq "$c" .State.StartedAt)
	# the sample taken at the start must be old enough (100 ms) to serve
	wait_for 10 clock_past "$started"
	stats_timed "$c" 'stream=0'
	[ "$(echo "$took < 0.9" | bc)" = 1 ]
	echo "$output" | jq -e '
		(.preread | test("^[0-9-]{10}T")) and .preread < .read and
		.precpu_stats.system_cpu_usage > 0 and
		.cpu_stats.system_cpu_usage > .precpu_stats.system_cpu_usage and
		.cpu_stats.cpu_usage.total_usage > .precpu_stats.cpu_usage.total_usage'
	# right after: the sample before the last one still serves
	stats_timed "$c" 'stream=0'
	[ "$(echo "$took < 0.9" | bc)" = 1 ]
	echo "$output" | jq -e '.preread < .read and
		.cpu_stats.cpu_usage.total_usage > .precpu_stats.cpu_usage.total_usage'
	# one-shot is unchanged: no precpu
	stats_timed "$c" 'stream=0&one-shot=1'
	echo "$output" | jq -e '.preread == "0001-01-01T00:00:00Z" and
		.precpu_stats.cpu_usage.total_usage == 0'
	if [ -x "$DOCKER_CLI" ]; then
		run_dk stats --no-stream --format '{{.Name}} {{.CPUPerc}}' "$c"
		[[ "$output" == "$c "*% ]]
	fi
}

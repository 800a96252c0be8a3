#!/usr/bin/env bats
# Events and stats: GET /events (live, since/until replays, filters in both
# JSON shapes, container/network/volume/image/daemon events in docker's
# order, history across a crash of hamnd) and GET /containers/{id}/stats
# (one-shot, stream=0 with precpu, streams, memory that grows), through
# curl, the hamn CLI and the docker CLI.

load container-helpers

setup_file() {
	containers_setup_file
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	# a test restarts the daemon: the pid file knows the current one
	if ! hamnd_answers "$HAMN_SOCK"; then
		start_hamnd
	fi
}

# every test leaves no container, volume, network or extra tag behind
teardown() {
	local id
	[ -n "${EV_PID:-}" ] && kill "$EV_PID" 2>/dev/null && wait "$EV_PID" 2>/dev/null
	EV_PID=
	[ -n "${HAMN_SOCK:-}" ] && hamnd_answers "$HAMN_SOCK" || return 0
	for id in $(curl -s --unix-socket "$HAMN_SOCK" 'http://d/containers/json?all=1' |
		jq -r '.[].Id'); do
		curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" \
			"http://d/containers/$id?force=1&v=1"
	done
	for id in $(curl -s --unix-socket "$HAMN_SOCK" http://d/volumes | jq -r '.Volumes[].Name'); do
		curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" "http://d/volumes/$id"
	done
	for id in $(curl -s --unix-socket "$HAMN_SOCK" http://d/networks |
		jq -r '.[].Name | select(startswith("evnet"))'); do
		curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" "http://d/networks/$id"
	done
	curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" "http://d/images/evimg:v1"
}

# now: the time as unix seconds with nanoseconds, what --since/--until take.
now() {
	date +%s.%N
}

# events_since T0 [hamn events args...]: the events from T0 until now (the stream closes).
events_since() {
	local t0=$1
	shift
	run_hamn events --since "$t0" --until "$(now)" "$@"
}

# has_line FILE TEXT: FILE has a line equal to TEXT (for wait_for).
has_line() {
	grep -qxF -- "$2" "$1"
}

@test "a container's events come live, in docker's order" {
	local n t0 out id
	n=$(unique_name evc)
	out=$BATS_TEST_TMPDIR/live
	t0=$(now)
	# --since makes the replay cover what happens before the stream is subscribed
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" events --since "$t0" --filter "container=$n" \
		--format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}' >"$out" 2>&1 &
	EV_PID=$!
	run_hamn run --rm --name "$n" hamn-test true
	wait_for 10 has_line "$out" "container destroy $n"
	run cat "$out"
	echo "$output"
	[ "$output" = "container create $n
container attach $n
container start $n
container die $n
container destroy $n" ]
	# the network events sit where docker puts them: connect before start, disconnect after die
	id=$(curl -s --unix-socket "$HAMN_SOCK" "http://d/events?since=$t0&until=$(now)" |
		jq -r "select(.Actor.Attributes.name == \"$n\") | .id" | head -1)
	events_since "$t0" --format '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.container}}'
	run bash -c "grep -e ' $id' <<<\"\$0\" | cut -d' ' -f1,2" "$output"
	echo "$output"
	[ "$output" = "container create
container attach
network connect
container start
container die
network disconnect
container destroy" ]
}

@test "since and until replay a window, and the stream ends at until" {
	local a b t1 t2 t3 t4
	a=$(unique_name eva)
	b=$(unique_name evb)
	run_hamn volume create "$a"
	t1=$(now)
	run_hamn volume create "$b"
	run_hamn volume rm "$b"
	t2=$(now)
	run_hamn volume rm "$a"
	run_hamn events --since "$t1" --until "$t2" --filter type=volume \
		--format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}'
	[ "$output" = "create $b local
destroy $b local" ]
	# an until in the future: the stream stays open until then, and closes by itself
	t4=$(now)
	t3=$(($(date +%s) + 2))
	run_hamn volume create "$b"
	run_hamn events --since "$t4" --until "$t3" --filter type=volume --format '{{.Action}} {{.Actor.ID}}'
	[ "$output" = "create $b" ]
	[ "$(date +%s)" -ge "$t3" ]
	# since after until is refused
	run curl -s -w '\n%{http_code}' --unix-socket "$HAMN_SOCK" "http://d/events?since=$t2&until=$t1"
	[ "$(status_of)" = 400 ]
	[[ "$(body)" == *'cannot be after `until` time'* ]]
}

@test "filters in both JSON shapes, labels as compose sends them" {
	local t0 n m f out
	n=$(unique_name evl)
	m=$(unique_name evm)
	t0=$(now)
	run_hamn create --name "$n" --label evtest=yes --label project=p1 hamn-test true
	run_hamn create --name "$m" --label evtest=no hamn-test true
	run_hamn volume create "$n"
	run_hamn rm "$n" "$m"
	# the CLI's map of bools
	f=$(jq -rn --arg v '{"type":{"volume":true}}' '$v|@uri')
	out=$(curl -s --unix-socket "$HAMN_SOCK" "http://d/events?since=$t0&until=$(now)&filters=$f" |
		jq -r '.Type + " " + .Action')
	[ "$out" = "volume create" ]
	# compose's lists: every label must match
	f=$(jq -rn --arg v '{"label":["evtest=yes","project"]}' '$v|@uri')
	out=$(curl -s --unix-socket "$HAMN_SOCK" "http://d/events?since=$t0&until=$(now)&filters=$f" |
		jq -r '.Action + " " + .Actor.Attributes.name')
	[ "$out" = "create $n
destroy $n" ]
	# container by name prefix, event by action
	events_since "$t0" --filter "container=${m:0:8}" --filter event=destroy --format '{{.Actor.Attributes.name}}'
	[ "$output" = "$m" ]
	run curl -s -w '\n%{http_code}' --unix-socket "$HAMN_SOCK" \
		'http://d/events?since=1&until=2&filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D'
	[ "$(status_of)" = 400 ]
	[[ "$(body)" == *"Invalid filter 'bogus'"* ]]
}

@test "the docker CLI reads the events" {
	local t0 v
	require_docker_cli
	v=$(unique_name evd)
	t0=$(now)
	run_dk volume create "$v"
	run_dk volume rm "$v"
	run_dk events --since "$t0" --until "$(now)" --filter type=volume
	[[ "${lines[0]}" =~ ^[0-9-]{10}T[0-9:.]{18}Z\ volume\ create\ $v\ \(driver=local\)$ ]]
	[[ "${lines[1]}" == *" volume destroy $v (driver=local)" ]]
	run_dk events --since "$t0" --until "$(now)" --filter "volume=$v" --format '{{json .}}'
	[ "$(echo "${lines[0]}" | jq -r '.Type + " " + .Action + " " + .Actor.ID + " " + .scope')" = \
		"volume create $v local" ]
	[ "$(echo "${lines[0]}" | jq -r '.time == (.timeNano / 1000000000 | floor)')" = true ]
}

@test "image and network events" {
	local t0 id net n
	net=$(unique_name evnet)
	n=$(unique_name evn)
	t0=$(now)
	run_hamn load -i "$HAMN_FIXTURES/docker.tar"
	run_hamn tag hamn-test evimg:v1
	run_hamn rmi evimg:v1
	id=$(curl -s --unix-socket "$HAMN_SOCK" http://d/images/hamn-test/json | jq -r .Id)
	events_since "$t0" --filter type=image --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'
	[ "$output" = "load $id $id
tag $id evimg:v1
untag $id $id" ]
	run_hamn network create "$net"
	run_hamn run --rm --name "$n" --network "$net" hamn-test true
	run_hamn network rm "$net"
	events_since "$t0" --filter type=network --filter "network=$net" \
		--format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}'
	[ "$output" = "create $net bridge
connect $net bridge
disconnect $net bridge
destroy $net bridge" ]
}

@test "events outlive a crash of hamnd; a reload is an event too" {
	local t0 v
	v=$(unique_name evr)
	t0=$(now)
	run_hamn volume create "$v"
	HAMND_PID=$(cat "$HAMND_EXEC_ROOT/hamnd.pid")
	kill -KILL "$HAMND_PID"
	wait_for 10 not alive "$HAMND_PID"
	wait_for 10 not pgrep -f -- "--root $HAMND_ROOT "
	start_hamnd
	events_since "$t0" --format '{{.Type}} {{.Action}} {{.Actor.ID}}'
	[ "$output" = "volume create $v" ]
	kill -HUP "$HAMND_PID"
	wait_for 10 bash -c "'$HAMN_BIN' -H unix://$HAMN_SOCK events --since $t0 --until \$(date +%s.%N) --filter type=daemon | grep -q ' daemon reload '"
	events_since "$t0" --filter type=daemon --format '{{.Action}} {{.Actor.ID}}'
	[ "$output" = "reload $(cat "$HAMND_ROOT/engine-id")" ]
}

# ---- stats ----

# stats REF QUERY: GET /containers/REF/stats?QUERY into $output.
stats() {
	run curl -s -m 30 --unix-socket "$HAMN_SOCK" "http://d/containers/$1/stats?$2"
}

@test "one-shot and stream=0 stats carry docker's fields" {
	local n net
	n=$(unique_name evs)
	net=$(unique_name evnet)
	# test daemons have no default bridge: a network of its own gives the container an eth0
	run_hamn network create "$net"
	run_hamn run -d --name "$n" --network "$net" hamn-test sleep 1000
	stats "$n" 'stream=0&one-shot=1'
	echo "$output" | jq -e --arg n "/$n" '
		.name == $n and (.id | length) == 64 and
		.preread == "0001-01-01T00:00:00Z" and (.read | test("^[0-9-]{10}T")) and
		.cpu_stats.cpu_usage.total_usage > 0 and .cpu_stats.system_cpu_usage > 0 and
		.cpu_stats.online_cpus >= 1 and (.cpu_stats.throttling_data | has("periods")) and
		.precpu_stats.cpu_usage.total_usage == 0 and
		.memory_stats.usage > 0 and .memory_stats.limit > 0 and
		(.memory_stats.stats | length) > 0 and
		.pids_stats.current == 1 and
		(.blkio_stats | has("io_service_bytes_recursive")) and
		.networks.eth0.rx_bytes >= 0 and .networks.eth0.tx_packets >= 0 and
		(.networks | has("lo") | not)'
	# stream=0: a second sample a second after the first, the first as precpu_stats
	stats "$n" 'stream=0'
	echo "$output" | jq -e '
		.precpu_stats.system_cpu_usage > 0 and
		.cpu_stats.system_cpu_usage > .precpu_stats.system_cpu_usage and
		.cpu_stats.cpu_usage.total_usage >= .precpu_stats.cpu_usage.total_usage and
		(.preread | test("^[0-9-]{10}T")) and .preread < .read'
}

@test "memory_stats.usage grows when the container fills /dev/shm" {
	local n pid before after
	n=$(unique_name evmem)
	run_hamn run -d --name "$n" hamn-test \
		sh -c 'while [ ! -e /tmp/go ]; do sleep 0.05; done; head -c 48m /dev/zero >/dev/shm/x; echo filled; sleep 1000'
	stats "$n" 'stream=0&one-shot=1'
	before=$(echo "$output" | jq .memory_stats.usage)
	# no interface but lo (no network given, no default bridge): no "networks", as docker
	echo "$output" | jq -e 'has("networks") | not'
	pid=$(dk inspect -f '{{.State.Pid}}' "$n")
	touch "/proc/$pid/root/tmp/go"
	wait_for 20 log_has "$n" filled
	stats "$n" 'stream=0&one-shot=1'
	after=$(echo "$output" | jq .memory_stats.usage)
	echo "before=$before after=$after"
	[ "$after" -ge $((before + 40 * 1024 * 1024)) ]
	run_hamn stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$n"
	[[ "$output" =~ ^$n\ (4[89]|5[0-9])\.?[0-9]*MiB\ /\  ]]
}

@test "a stats stream sends a sample a second, each with the one before as precpu" {
	local n
	n=$(unique_name evst)
	run_hamn run -d --name "$n" hamn-test sleep 1000
	run bash -c "curl -sN -m 30 --unix-socket $HAMN_SOCK http://d/containers/$n/stats | head -2"
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | jq .precpu_stats.cpu_usage.total_usage)" = 0 ]
	[ "$(echo "${lines[1]}" | jq -c .precpu_stats)" = "$(echo "${lines[0]}" | jq -c .cpu_stats)" ]
	[ "$(echo "${lines[1]}" | jq -r .preread)" = "$(echo "${lines[0]}" | jq -r .read)" ]
}

@test "hamn stats and docker stats --no-stream print docker's table" {
	local n m
	require_docker_cli
	n=$(unique_name evt)
	m=$(unique_name evu)
	run_hamn run -d --name "$n" hamn-test sleep 1000
	run_hamn create --name "$m" hamn-test true
	run_hamn stats --no-stream
	[[ "${lines[0]}" =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ /\ LIMIT\ +MEM\ %\ +NET\ I/O\ +BLOCK\ I/O\ +PIDS$ ]]
	[[ "$output" =~ [0-9a-f]{12}\ +$n\ +[0-9.]+%\ +[0-9.]+[KMG]?i?B\ /\ [0-9.]+[KMG]?i?B\ +[0-9.]+%\ +.*\ 1$ ]]
	[[ "$output" != *"$m"* ]]
	run_hamn stats --no-stream -a --format '{{.Name}} {{.PIDs}}'
	[[ "$output" == *"$n 1"* ]]
	[[ "$output" == *"$m 0"* ]]
	run_dk stats --no-stream
	[[ "${lines[0]}" =~ ^CONTAINER\ ID\ +NAME\ +CPU\ % ]]
	[[ "$output" =~ \ $n\ +[0-9.]+%\ +[0-9.]+[KMG]?i?B\ / ]]
	run_dk stats --no-stream --format '{{.Name}} {{.PIDs}}' "$n"
	[ "$output" = "$n 1" ]
	# the live table redraws until interrupted
	run timeout 2 "$HAMN_BIN" -H "unix://$HAMN_SOCK" stats "$n"
	[ "$status" = 124 ]
	[[ "$output" == *$'\e[2J\e[H'* ]]
	[[ "$output" =~ \ $n\ +[0-9.]+% ]]
}

@test "stats of a stopped or unknown container" {
	local n
	n=$(unique_name evx)
	run_hamn create --name "$n" hamn-test true
	stats "$n" 'stream=0'
	echo "$output" | jq -e --arg n "/$n" '.name == $n and .read == "0001-01-01T00:00:00Z" and
		.memory_stats == {} and .cpu_stats.cpu_usage.total_usage == 0'
	run curl -s -w '\n%{http_code}' --unix-socket "$HAMN_SOCK" "http://d/containers/nope-$n/stats?stream=0"
	[ "$(status_of)" = 404 ]
	run curl -s -w '\n%{http_code}' --unix-socket "$HAMN_SOCK" "http://d/containers/$n/stats?stream=1&one-shot=1"
	[ "$(status_of)" = 400 ]
	run_hamn 1 stats --no-stream "nope-$n"
	[[ "$output" == *"No such container: nope-$n"* ]]
}

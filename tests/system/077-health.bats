#!/usr/bin/env bats
# Health checks: --health-* options and the image's HEALTHCHECK, probes run
# through exec, State.Health in inspect, "(healthy)" in ps, health_status
# events, retries, start period, timeout, --no-healthcheck, and no restart
# of an unhealthy container.

load container-helpers

setup_file() {
	containers_setup_file
	local ctx="$BATS_FILE_TMPDIR/hc-ctx"
	mkdir -p "$ctx"
	printf 'FROM hamn-test\nHEALTHCHECK --interval=100ms --retries=2 CMD test -e /etc/passwd\n' \
		>"$ctx/Dockerfile"
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" build -q -t hamn-hc "$ctx" >/dev/null
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

health() {
	dk inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1"
}

is_health() {
	[ "$(health "$1")" = "$2" ]
}

@test "a passing check makes the container healthy (inspect, ps, events)" {
	local n since
	n=$(unique_name ok)
	TEST_CTRS=$n
	since=$(date +%s)
	run_hamn run -d --name "$n" --health-cmd 'true' --health-interval 100ms hamn-test sleep 1000
	[ "$(health "$n")" = starting ] || [ "$(health "$n")" = healthy ]
	wait_for 15 is_health "$n" healthy
	run_dk inspect -f '{{json .State.Health}}' "$n"
	[ "$(echo "$output" | jq -r '.FailingStreak')" = 0 ]
	[ "$(echo "$output" | jq -r '.Log[-1].ExitCode')" = 0 ]
	run_hamn ps --filter "name=$n" --format '{{.Status}}'
	[[ "$output" == "Up "*" (healthy)" ]]
	run_dk ps --filter "name=$n" --format '{{.Status}}'
	[[ "$output" == "Up "*" (healthy)" ]]
	run_dk ps -q --filter health=healthy --filter "name=$n"
	[ -n "$output" ]
	run_dk events --since "$since" --until "$(($(date +%s) + 1))" --filter "container=$n" \
		--format '{{.Action}}'
	[[ "$output" == *"health_status: healthy"* ]]
}

@test "a failing check turns unhealthy after the retries, and nothing restarts it" {
	local n out
	n=$(unique_name bad)
	TEST_CTRS=$n
	# each probe leaves a line, so the count of probes is known
	run_hamn run -d --name "$n" --restart always --health-interval 100ms --health-retries 3 \
		--health-cmd 'echo p >>/tmp/probes; echo failing; exit 1' hamn-test sleep 1000
	wait_for 15 is_health "$n" unhealthy
	run_dk exec "$n" sh -c 'wc -l </tmp/probes'
	[ "$output" -ge 3 ]
	out=$(dk inspect -f '{{json .State.Health}}' "$n")
	[ "$(echo "$out" | jq '.FailingStreak >= 3')" = true ]
	[ "$(echo "$out" | jq -r '.Log[-1].Output')" = failing ]
	[ "$(echo "$out" | jq -r '.Log[-1].ExitCode')" = 1 ]
	[ "$(echo "$out" | jq '.Log | length <= 5')" = true ]
	# docker records the status only: the container goes on running
	[ "$(dk inspect -f '{{.State.Running}} {{.RestartCount}}' "$n")" = "true 0" ]
	run_dk ps --filter "name=$n" --format '{{.Status}}'
	[[ "$output" == *"(unhealthy)" ]]
	# and it recovers
	run_dk exec "$n" sh -c 'exit 0'
}

@test "retries are honoured: the first failures leave it starting" {
	local n
	n=$(unique_name retries)
	TEST_CTRS=$n
	run_hamn run -d --name "$n" --health-interval 100ms --health-retries 1000 \
		--health-cmd 'false' hamn-test sleep 1000
	wait_for 15 probes_at_least "$n" 3
	[ "$(health "$n")" = starting ]
	[ "$(dk inspect -f '{{.State.Health.FailingStreak}}' "$n")" -ge 3 ]
}

probes_at_least() {
	[ "$(dk inspect -f '{{len .State.Health.Log}}' "$1")" -ge "$2" ]
}

@test "the start period: failures inside it do not count" {
	local n out
	n=$(unique_name period)
	TEST_CTRS=$n
	run_hamn run -d --name "$n" --health-interval 100ms --health-retries 1 \
		--health-start-period 5s --health-cmd 'false' hamn-test sleep 1000
	wait_for 15 probes_at_least "$n" 3
	out=$(dk inspect -f '{{json .State}}' "$n")
	# every probe so far started within the period: the status must still be starting
	if [ "$(echo "$out" | jq '[.Health.Log[].Start | sub("\\.[0-9]+Z$"; "Z") | fromdate] | max')" -lt \
		"$(( $(echo "$out" | jq '.StartedAt | sub("\\.[0-9]+Z$"; "Z") | fromdate') + 4 ))" ]; then
		[ "$(echo "$out" | jq -r .Health.Status)" = starting ]
		[ "$(echo "$out" | jq -r .Health.FailingStreak)" = 0 ]
	fi
	# after it, one failure is enough (retries 1)
	wait_for 20 is_health "$n" unhealthy
}

@test "a probe over its timeout is killed and counts as a failure" {
	local n
	n=$(unique_name timeout)
	TEST_CTRS=$n
	run_hamn run -d --name "$n" --health-interval 100ms --health-timeout 200ms \
		--health-retries 1 --health-cmd 'sleep 30' hamn-test sleep 1000
	wait_for 20 is_health "$n" unhealthy
	run_dk inspect -f '{{json .State.Health.Log}}' "$n"
	[ "$(echo "$output" | jq -r '.[-1].ExitCode')" = -1 ]
	[ "$(echo "$output" | jq -r '.[-1].Output')" = "Health check exceeded timeout (200ms)" ]
	# the killed probe is gone from the container
	run_dk exec "$n" ps -o comm
	[[ "$output" != *"sleep 30"* ]] || [ "$(echo "$output" | grep -c sleep)" -le 1 ]
}

@test "a probe that cannot run fails with the exec error" {
	local n
	n=$(unique_name nocmd)
	TEST_CTRS=$n
	run_dk run -d --name "$n" --health-cmd 'x' --health-interval 100ms --health-retries 1 \
		--entrypoint sleep hamn-test 1000
	run_dk exec "$n" rm /bin/sh
	wait_for 20 is_health "$n" unhealthy
	run_dk inspect -f '{{json .State.Health.Log}}' "$n"
	[[ "$(echo "$output" | jq -r '.[-1].Output')" == *"/bin/sh"* ]]
}

@test "the image's HEALTHCHECK applies, --no-healthcheck turns it off" {
	local n m
	n=$(unique_name img)
	m=$(unique_name nohc)
	TEST_CTRS="$n $m"
	run_dk inspect -f '{{json .Config.Healthcheck}}' hamn-hc
	[[ "$output" == *CMD-SHELL* ]]
	run_hamn run -d --name "$n" hamn-hc sleep 1000
	run_dk inspect -f '{{json .Config.Healthcheck.Test}}' "$n"
	[ "$output" = '["CMD-SHELL","test -e /etc/passwd"]' ]
	wait_for 15 is_health "$n" healthy
	run_hamn run -d --name "$m" --no-healthcheck hamn-hc sleep 1000
	run_dk inspect -f '{{json .Config.Healthcheck.Test}}' "$m"
	[ "$output" = '["NONE"]' ]
	# a few intervals later there is still no health state
	run_dk exec "$m" sleep 0.5
	[ "$(health "$m")" = none ]
	run_dk ps --filter "name=$m" --format '{{.Status}}'
	[[ "$output" != *"health"* ]]
	run_hamn 125 run --no-healthcheck --health-cmd true hamn-test true
	[[ "$output" == *"conflicts with --health-* options"* ]]
}

@test "a stopped container keeps its last health; a start begins again at starting" {
	local n
	n=$(unique_name restart)
	TEST_CTRS=$n
	run_hamn run -d --name "$n" --health-cmd true --health-interval 100ms hamn-test sleep 1000
	wait_for 15 is_health "$n" healthy
	run_dk stop -t 0 "$n"
	[ "$(health "$n")" = healthy ]
	run_dk start "$n"
	[ "$(health "$n")" = starting ] || [ "$(health "$n")" = healthy ]
	wait_for 15 is_health "$n" healthy
}

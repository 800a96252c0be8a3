#!/usr/bin/env bats
# What a container gets by default and what HostConfig changes: capabilities,
# seccomp, no-new-privileges, the pids limit, memory and OOM (the monitor
# survives), users, mounts, ulimits, sysctls, files in /etc, log rotation.

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

# status_field TEXT FIELD: the value of a /proc/self/status field in TEXT.
status_field() {
	echo "$1" | awk -v f="$2:" '$1 == f {print $2}'
}

# cgroup_of PID CONTROLLER: the v1 cgroup path of PID for CONTROLLER.
cgroup_of() {
	awk -F: -v c="$2" '$2 == c {print $3}' "/proc/$1/cgroup"
}

@test "defaults: 14 capabilities, seccomp, no-new-privileges, no inheritable caps" {
	run_dk run --rm hamn-test cat /proc/self/status
	[ "$(status_field "$output" CapEff)" = 00000000a80425fb ]
	[ "$(status_field "$output" CapBnd)" = 00000000a80425fb ]
	[ "$(status_field "$output" CapInh)" = 0000000000000000 ]
	[ "$(status_field "$output" CapAmb)" = 0000000000000000 ]
	[ "$(status_field "$output" Seccomp)" = 2 ]
	[ "$(status_field "$output" NoNewPrivs)" = 1 ]
	# the filter is docker's: unshare and mount are refused
	run_dk 1 run --rm hamn-test unshare -m true
	run_dk run --rm hamn-test sh -c 'mount -t tmpfs t /mnt 2>&1; echo rc=$?'
	[[ "$output" == *"rc="[1-9]* ]]
}

@test "--privileged, --cap-drop ALL, seccomp=unconfined and no-new-privileges=false" {
	run_dk run --rm --privileged hamn-test cat /proc/self/status
	[ "$(status_field "$output" Seccomp)" = 0 ]
	[ "$(status_field "$output" CapEff)" != 00000000a80425fb ]
	run_dk run --rm --cap-drop ALL --cap-add CHOWN hamn-test cat /proc/self/status
	[ "$(status_field "$output" CapEff)" = 0000000000000001 ]
	run_dk run --rm --security-opt seccomp=unconfined hamn-test cat /proc/self/status
	[ "$(status_field "$output" Seccomp)" = 0 ]
	run_dk run --rm --security-opt no-new-privileges=false hamn-test cat /proc/self/status
	[ "$(status_field "$output" NoNewPrivs)" = 0 ]
	run_dk 125 run --rm --cap-add NOT_A_CAP hamn-test true
	[[ "$output" == *'unknown capability: "CAP_NOT_A_CAP"'* ]]
}

@test "a custom seccomp profile (--security-opt seccomp=FILE) is applied" {
	local prof="$BATS_TEST_TMPDIR/profile.json"
	echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' >"$prof"
	run_dk run --rm --security-opt "seccomp=$prof" hamn-test sh -c 'mkdir /tmp/x 2>&1; echo rc=$?; grep Seccomp: /proc/self/status'
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *"Seccomp:"*2* ]]
	echo '{"defaultAction":"SCMP_ACT_NOPE"}' >"$prof"
	run_dk 125 run --rm --security-opt "seccomp=$prof" hamn-test true
	[[ "$output" == *"seccomp"* ]]
}

@test "every container gets a pids limit; --pids-limit changes it" {
	local n pid
	n=$(unique_name pids)
	run_dk run -d --name "$n" hamn-test sleep 100
	pid=$(dk inspect -f '{{.State.Pid}}' "$n")
	[ "$(cat "/sys/fs/cgroup/pids$(cgroup_of "$pid" pids)/pids.max")" = 4096 ]
	[ "$(dk inspect -f '{{.HostConfig.PidsLimit}}' "$n")" = 4096 ]
	run_dk rm -f "$n"
	run_dk run -d --name "$n" --pids-limit 10 hamn-test sleep 100
	pid=$(dk inspect -f '{{.State.Pid}}' "$n")
	[ "$(cat "/sys/fs/cgroup/pids$(cgroup_of "$pid" pids)/pids.max")" = 10 ]
	run_dk rm -f "$n"
	# a fork bomb hits the limit, not the host
	run_dk 2 run --rm --pids-limit 8 hamn-test sh -c 'for i in $(seq 20); do sleep 5 & done'
	[[ "$output" == *"can't fork"* ]]
}

@test "OOM: the container is killed, its monitor survives and records OOMKilled and 137" {
	local n pid mon
	n=$(unique_name oom)
	run_dk run -d -i --name "$n" --memory 16m --memory-swap 16m hamn-test sh -c 'read x; tail /dev/zero'
	pid=$(dk inspect -f '{{.State.Pid}}' "$n")
	mon=$(monitor_pid "$n")
	# the monitor is not in the container's memory cgroup (cri-o CVE-2019-14891)
	[ "$(cgroup_of "$mon" memory)" != "$(cgroup_of "$pid" memory)" ]
	[ "$(cat "/sys/fs/cgroup/memory$(cgroup_of "$pid" memory)/memory.limit_in_bytes")" = 16777216 ]
	echo go | dk attach "$n" >/dev/null 2>&1 || true
	wait_for 30 is_state "$n" exited
	run_dk inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' "$n"
	[ "$output" = "true 137" ]
	run_dk rm "$n"
}

@test "users: names and numbers resolved in the container, HOME set" {
	run_dk run --rm --user nobody hamn-test sh -c 'id -u; id -g; echo $HOME'
	[ "${lines[0]}" = 65534 ]
	[ "${lines[1]}" = 65534 ]
	[ "${lines[2]}" = /home ]
	run_dk run --rm --user 1234:5678 hamn-test sh -c 'id -u; id -g'
	[ "$output" = $'1234\n5678' ]
	run_dk run --rm hamn-test sh -c 'id -u; echo $HOME'
	[ "$output" = $'0\n/root' ]
	run_dk 125 run --rm --user ghost hamn-test true
	[[ "$output" == *"unable to find user ghost"* ]]
}

@test "working dir, env, hostname and the files in /etc" {
	run_dk run --rm -w /new/dir -e A=1 --hostname myhost hamn-test sh -c 'pwd; echo $A; hostname; cat /etc/hostname; grep -c localhost /etc/hosts; test -s /etc/resolv.conf && echo resolv'
	[ "$output" = $'/new/dir\n1\nmyhost\nmyhost\n2\nresolv' ]
	run_dk run --rm --add-host db:10.1.2.3 hamn-test grep db /etc/hosts
	[[ "$output" == 10.1.2.3*db ]]
	# network none: only the loopback
	run_dk run --rm hamn-test ls /sys/class/net
	[ "$output" = lo ]
}

@test "bind mounts, tmpfs, read-only rootfs, ulimits and sysctls" {
	local d="$BATS_TEST_TMPDIR/data"
	mkdir -p "$d"
	echo host-data >"$d/f"
	run_dk run --rm -v "$d:/data:ro" hamn-test sh -c 'cat /data/f; touch /data/g 2>&1 || echo ro'
	[ "${lines[0]}" = host-data ]
	[ "${lines[-1]}" = ro ]
	run_dk run --rm -v "$d:/data" hamn-test sh -c 'echo from-ctr > /data/g'
	[ "$(cat "$d/g")" = from-ctr ]
	run_dk run --rm --mount "type=tmpfs,target=/scratch" hamn-test sh -c 'grep " /scratch " /proc/mounts'
	[[ "$output" == tmpfs* ]]
	run_dk 125 run --rm --mount "type=bind,source=$d/nope,target=/x" hamn-test true
	[[ "$output" == *"bind source path does not exist"* ]]
	run_dk 1 run --rm --read-only hamn-test touch /etc/x
	run_dk run --rm --ulimit nofile=100:200 hamn-test sh -c 'ulimit -n; ulimit -Hn'
	[ "$output" = $'100\n200' ]
	run_dk run --rm --sysctl net.ipv4.ip_forward=1 hamn-test cat /proc/sys/net/ipv4/ip_forward
	[ "$output" = 1 ]
	run_dk 125 run --rm --sysctl kernel.core_pattern=x hamn-test true
}

@test "json-file logs rotate with max-size and max-file" {
	local n id
	n=$(unique_name rot)
	run_dk run -d --name "$n" --log-opt max-size=2k --log-opt max-file=3 hamn-test sh -c 'seq 1 2000'
	id=$output
	run_dk wait "$n"
	ls "$HAMND_ROOT/containers/$id/"
	[ -f "$HAMND_ROOT/containers/$id/$id-json.log" ]
	[ -f "$HAMND_ROOT/containers/$id/$id-json.log.2" ]
	[ ! -e "$HAMND_ROOT/containers/$id/$id-json.log.3" ]
	# the newest lines are still there, the oldest went with the rotation
	run_dk logs --tail 1 "$n"
	[ "$output" = 2000 ]
	run_dk logs "$n"
	[ "${lines[0]}" != 1 ]
	head -1 "$HAMND_ROOT/containers/$id/$id-json.log" | jq -e '.log and .stream == "stdout" and .time' >/dev/null
	run_dk rm "$n"
}

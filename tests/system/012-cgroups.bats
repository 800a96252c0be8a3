#!/usr/bin/env bats
# Cgroup limits through hamn-runtime: memory (OOM kill), pids, devices, and
# the cgroup directories hamn makes below its own cgroup and removes again.
# Works on cgroup v1 (and the hybrid layout) and on v2; every cgroup made
# here lives below this shell's own cgroup, in <own>/hamn/<id> or in a
# relative cgroupsPath under a test-specific parent.

load runtime-helpers

setup_file() {
	rt_setup_file
}

setup() {
	rt_setup
}

teardown() {
	rt_teardown || return 1
	# Nothing of these containers may remain in any hierarchy.
	local d id
	for id in "${RT_IDS[@]}"; do
		for d in $(cg_dirs hamn/"$id") $(cg_dirs "hamn-bats-$$"); do
			if [ -d "$d" ]; then
				echo "cgroup left behind: $d" >&2
				return 1
			fi
		done
	done
}

# is_v2: is /sys/fs/cgroup a cgroup2 mount (then hamn drives v2)?
is_v2() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
}

# own_path CONTROLLER: this shell's cgroup in the hierarchy holding CONTROLLER ("" = v2).
own_path() {
	local want=$1 id list path
	while IFS=: read -r id list path; do
		if [ -z "$want" ]; then
			[ "$id" = 0 ] && [ -z "$list" ] && { echo "$path"; return 0; }
		elif [[ ",$list," == *",$want,"* ]]; then
			echo "$path"
			return 0
		fi
	done </proc/self/cgroup
	return 1
}

# cg_dir CONTROLLER REL: the directory of <own>/REL in the hierarchy of CONTROLLER.
cg_dir() {
	local own mnt
	if is_v2; then
		own=$(own_path "")
		mnt=/sys/fs/cgroup
	else
		own=$(own_path "$1") || return 1
		mnt=$(findmnt -n -t cgroup -o TARGET,OPTIONS | awk -v c="$1" \
			'{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }')
		[ -n "$mnt" ] || return 1
	fi
	echo "$mnt${own%/}/$2"
}

# cg_dirs REL: <own>/REL in every hierarchy that is mounted.
cg_dirs() {
	local c
	if is_v2; then
		cg_dir "" "$1"
		return
	fi
	for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
		cg_dir "$c" "$1" 2>/dev/null || true
	done
}

# set_args SHELL-COMMAND: the container runs /bin/sh -c SHELL-COMMAND.
set_args() {
	cfg '.process.args = ["/bin/sh", "-c", $s]' --arg s "$1"
}

# use_id: set $id to a fresh container id that teardown deletes and checks.
# (Not in a $(...) subshell, so RT_IDS really grows.)
use_id() {
	id=$(unique_name cg)
	RT_IDS+=("$id")
}

# not_running ID: the container is stopped (or gone).
not_running() {
	local s
	s=$(rt state "$1" 2>/dev/null | jq -r .status) || return 0
	[ "$s" = stopped ] || [ -z "$s" ]
}

@test "a process above the memory limit is OOM-killed: exit 137" {
	use_id
	cfg '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	# The shell keeps 200 MB of output in memory: far above 32 MiB.
	set_args 'x=$(yes 0123456789abcdef | head -c 200000000); echo survived ${#x}'
	rt_run 137 run --bundle "$BUNDLE" "$id"
	[[ "$output" != *survived* ]]
}

@test "the OOM kill is counted in the container's own memory cgroup" {
	local mem kills
	use_id
	cfg '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	set_args 'x=$(yes 0123456789abcdef | head -c 200000000); echo survived ${#x}'
	rt create --bundle "$BUNDLE" "$id" </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 ||
		{ cat "$BATS_TEST_TMPDIR/out"; return 1; }
	rt_run start "$id"
	wait_for 30 not_running "$id"
	if is_v2; then
		mem=$(cg_dir "" "hamn/$id")
		kills=$(awk '$1 == "oom_kill" { print $2 }' "$mem/memory.events")
	else
		mem=$(cg_dir memory "hamn/$id")
		kills=$(awk '$1 == "oom_kill" { print $2 }' "$mem/memory.oom_control")
	fi
	echo "oom_kill=$kills"
	[ "$kills" -ge 1 ]
	rt_run delete "$id"
	[ ! -d "$mem" ]
}

@test "the pids limit makes fork fail with EAGAIN inside the container" {
	use_id
	cfg '.linux.resources.pids = {"limit": 20}'
	# busybox sh gives up on a failed fork: let a subshell take that.
	set_args '(for i in $(seq 40); do sleep 60 & done); echo after-loop'
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"can't fork: Resource temporarily unavailable"* ]]
	[[ "$output" == *after-loop* ]]
}

@test "devices: a block node made with mknod inside cannot be opened" {
	use_id
	set_args 'echo hi >/dev/null && echo null-ok
		mknod /dev/xsda b 8 0 && echo mknod-ok
		head -c 1 /dev/xsda >/dev/null; echo read-rc=$?'
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *null-ok* ]]
	[[ "$output" == *mknod-ok* ]]
	[[ "$output" == *"/dev/xsda: Operation not permitted"* ]]
	[[ "$output" == *read-rc=1* ]]
}

@test "the cgroup sits at <own>/hamn/<id> with the limits; pause, ps, delete" {
	local mem pids cpu frz pid n
	use_id
	cfg '.linux.resources.memory = {"limit": 67108864}
		| .linux.resources.pids = {"limit": 20}
		| .linux.resources.cpu = {"shares": 512}'
	set_args 'sleep 600 & sleep 600 & wait'
	# create leaves the init holding its stdio: keep it off bats' pipes
	rt create --bundle "$BUNDLE" "$id" </dev/null >"$BATS_TEST_TMPDIR/create.out" 2>&1 ||
		{ cat "$BATS_TEST_TMPDIR/create.out"; return 1; }
	rt_run start "$id"
	if is_v2; then
		mem=$(cg_dir "" "hamn/$id")
		[ "$(cat "$mem/memory.max")" = 67108864 ]
		[ "$(cat "$mem/pids.max")" = 20 ]
		[ "$(cat "$mem/cpu.weight")" = 20 ]
		pids=$mem frz=$mem
	else
		mem=$(cg_dir memory "hamn/$id")
		pids=$(cg_dir pids "hamn/$id")
		cpu=$(cg_dir cpu "hamn/$id")
		frz=$(cg_dir freezer "hamn/$id")
		[ "$(cat "$mem/memory.limit_in_bytes")" = 67108864 ]
		[ "$(cat "$pids/pids.max")" = 20 ]
		[ "$(cat "$cpu/cpu.shares")" = 512 ]
	fi
	pid=$(rt_pid "$id")
	grep -qx "$pid" "$pids/cgroup.procs"
	# the init and its two sleeps, from the cgroup
	wait_for 10 eval "[ \$(rt ps --format json $id | jq length) -eq 3 ]"
	rt_run pause "$id"
	[ "$(rt_status "$id")" = paused ]
	if is_v2; then
		grep -qx 'frozen 1' "$frz/cgroup.events"
	else
		[ "$(cat "$frz/freezer.state")" = FROZEN ]
	fi
	rt_run resume "$id"
	[ "$(rt_status "$id")" = running ]
	rt_run kill "$id" KILL
	wait_for 10 not_running "$id"
	rt_run delete "$id"
	[ ! -d "$mem" ]
	[ ! -d "$pids" ]
	[ ! -d "$frz" ]
}

@test "a relative cgroupsPath is placed below the own cgroup, and removed with its parent" {
	local dir want
	use_id
	cfg ".linux.cgroupsPath = \"hamn-bats-$$/$id\" | .linux.resources.pids = {\"limit\": 7}"
	if is_v2; then
		dir=$(cg_dir "" "hamn-bats-$$/$id")
		want="0::${dir#/sys/fs/cgroup}"
	else
		dir=$(cg_dir pids "hamn-bats-$$/$id")
		want="pids:${dir#/sys/fs/cgroup/pids}"
	fi
	set_args 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null; cat /proc/self/cgroup'
	rt_run run --bundle "$BUNDLE" "$id"
	# the container ran in that cgroup (no cgroup namespace in the fixture)
	[[ "$output" == *":$want"* ]]
	# gone again after run, parent included
	[ ! -d "$dir" ]
	[ ! -d "${dir%/*}" ]
}

@test "an invalid cgroupsPath is refused and leaves nothing behind" {
	local d
	use_id
	cfg '.linux.cgroupsPath = "../escape"'
	set_args 'true'
	rt_run 1 run --bundle "$BUNDLE" "$id"
	[[ "$output" == *cgroupsPath* ]]
	for d in $(cg_dirs ../escape); do
		[ ! -d "$d" ]
	done
}

#!/usr/bin/env bats
# Cgroup limits through hamn-runtime: memory (OOM kill), pids, devices, and
# the cgroup directories hamn makes below its own cgroup and removes again.
# Works on cgroup v1 (and the hybrid layout) and on v2; every cgroup made
# here lives below this shell's own cgroup, in <own>/hamn/<id> or in a
# relative cgroupsPath under a test-specific parent.

load helpers

setup_file() {
	require_root
	ensure_fixtures
	[ -x "$HAMN_RUNTIME" ] || { echo "no $HAMN_RUNTIME: build it first" >&2; return 1; }
}

setup() {
	require_root
	ID=$(unique_name cg)
	BUNDLE="$BATS_TEST_TMPDIR/bundle"
	cp -a "$HAMN_FIXTURES/bundle" "$BUNDLE"
}

teardown() {
	"$HAMN_RUNTIME" --root "$BATS_FILE_TMPDIR/runtime-state" delete -f "$ID" >/dev/null 2>&1 || true
	# Nothing of this container may remain in any hierarchy.
	local d
	for d in $(cg_dirs hamn/"$ID") $(cg_dirs "hamn-bats-$$/$ID") $(cg_dirs "hamn-bats-$$"); do
		if [ -d "$d" ]; then
			echo "cgroup left behind: $d" >&2
			return 1
		fi
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

# set_config JQ-FILTER: edit the bundle's config.json in place.
set_config() {
	jq "$1" "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args SHELL-COMMAND: the container runs /bin/sh -c SHELL-COMMAND.
set_args() {
	set_config ".process.args = [\"/bin/sh\", \"-c\", $(jq -Rn --arg s "$1" '$s')]"
}

@test "a process above the memory limit is OOM-killed: exit 137" {
	set_config '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	# The shell keeps 200 MB of output in memory: far above 32 MiB.
	set_args 'x=$(yes 0123456789abcdef | head -c 200000000); echo survived ${#x}'
	run_runtime 137 run --bundle "$BUNDLE" "$ID"
	[[ "$output" != *survived* ]]
}

@test "the pids limit makes fork fail with EAGAIN inside the container" {
	set_config '.linux.resources.pids = {"limit": 20}'
	set_args 'n=0; for i in $(seq 40); do sleep 60 & n=$((n + 1)); done; echo started $n'
	run_runtime run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *"Resource temporarily unavailable"* ]]
}

@test "devices: a block node made with mknod inside cannot be opened" {
	set_args 'echo hi >/dev/null && echo null-ok
		mknod /dev/xsda b 8 0 && echo mknod-ok
		head -c 1 /dev/xsda >/dev/null; echo read-rc=$?'
	run_runtime run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *null-ok* ]]
	[[ "$output" == *mknod-ok* ]]
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *read-rc=1* ]]
}

@test "the cgroup sits at <own>/hamn/<id> with the limits, and delete removes it" {
	local mem pids cpu
	set_config '.linux.resources.memory = {"limit": 67108864}
		| .linux.resources.pids = {"limit": 20}
		| .linux.resources.cpu = {"shares": 512}'
	set_args 'sleep 600'
	run_runtime create --bundle "$BUNDLE" "$ID"
	run_runtime start "$ID"
	if is_v2; then
		mem=$(cg_dir "" "hamn/$ID")
		[ "$(cat "$mem/memory.max")" = 67108864 ]
		[ "$(cat "$mem/pids.max")" = 20 ]
		[ "$(cat "$mem/cpu.weight")" = 20 ]
		pids=$mem
	else
		mem=$(cg_dir memory "hamn/$ID")
		pids=$(cg_dir pids "hamn/$ID")
		cpu=$(cg_dir cpu "hamn/$ID")
		[ "$(cat "$mem/memory.limit_in_bytes")" = 67108864 ]
		[ "$(cat "$pids/pids.max")" = 20 ]
		[ "$(cat "$cpu/cpu.shares")" = 512 ]
	fi
	# the container's init is in the cgroup
	run_runtime state "$ID"
	local pid
	pid=$(jq -r .pid <<<"$output")
	grep -qx "$pid" "$pids/cgroup.procs"
	run_runtime kill "$ID" KILL
	wait_for 10 not_running "$ID"
	run_runtime delete "$ID"
	[ ! -d "$mem" ]
	[ ! -d "$pids" ]
}

@test "a relative cgroupsPath is placed below the own cgroup, and removed with its parent" {
	local dir
	set_config ".linux.cgroupsPath = \"hamn-bats-$$/$ID\" | .linux.resources.pids = {\"limit\": 7}"
	set_args 'cat /proc/self/cgroup'
	run_runtime run --bundle "$BUNDLE" "$ID"
	if is_v2; then
		dir=$(cg_dir "" "hamn-bats-$$/$ID")
	else
		dir=$(cg_dir pids "hamn-bats-$$/$ID")
	fi
	# gone again after run, parent included
	[ ! -d "$dir" ]
	[ ! -d "${dir%/*}" ]
}

@test "an invalid cgroupsPath is refused and leaves nothing behind" {
	set_config '.linux.cgroupsPath = "../escape"'
	set_args 'true'
	run_runtime 1 run --bundle "$BUNDLE" "$ID"
	[[ "$output" == *cgroupsPath* ]]
	local d
	for d in $(cg_dirs ../escape); do
		[ ! -d "$d" ]
	done
}

# not_running ID: the container's state is "stopped" (or it is gone).
not_running() {
	local s
	s=$("$HAMN_RUNTIME" --root "$BATS_FILE_TMPDIR/runtime-state" state "$1" 2>/dev/null |
		jq -r .status) || return 0
	[ "$s" = stopped ] || [ -z "$s" ]
}

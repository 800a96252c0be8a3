#!/usr/bin/env bats
# hamn-runtime with config.json values beyond int64. dockerd writes rlimits of
# 18446744073709551615 (2^64-1, RLIM_INFINITY) for "unlimited", which jansson
# alone refuses ("too big integer"); the spec's uint64 fields take them.

load runtime-helpers

setup_file() {
	rt_setup_file
}

setup() {
	rt_setup
}

teardown() {
	rt_teardown
}

# rlimits JSON: set process.rlimits to JSON as written (jq would make 2^64-1 a double).
rlimits() {
	python3 -c 'import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["rlimits"] = json.loads(sys.argv[2])
json.dump(c, open(p, "w"))' "$BUNDLE/config.json" "$1"
}

# Raising a hard limit needs CAP_SYS_RESOURCE, which some test hosts lack: the
# RLIMIT_CORE tests need the runtime's own hard limit to be unlimited already.
need_core_unlimited() {
	[ "$(ulimit -Hc)" = unlimited ] || skip "the hard RLIMIT_CORE here is $(ulimit -Hc)"
}

@test "rlimits: 2^64-1, dockerd's unlimited, is RLIM_INFINITY" {
	need_core_unlimited
	args /bin/sh -c 'ulimit -c; ulimit -Hc'
	rlimits '[{"type": "RLIMIT_CORE", "hard": 18446744073709551615,
		   "soft": 18446744073709551615}]'
	grep -q '"hard": 18446744073709551615' "$BUNDLE/config.json"
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = unlimited ]
	[ "${lines[1]}" = unlimited ]
	assert_clean "$id"
}

@test "rlimits: values between 2^63 and 2^64-1 reach the kernel exactly" {
	need_core_unlimited
	args /bin/sh -c 'grep "core file size" /proc/self/limits'
	rlimits '[{"type": "RLIMIT_CORE", "soft": 9223372036854775808,
		   "hard": 18446744073709551614}]'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" =~ "Max core file size"\ +9223372036854775808\ +18446744073709551614\ +bytes ]]
}

@test "rlimits: -1 still means unlimited (the engine writes Docker's -1)" {
	need_core_unlimited
	args /bin/sh -c 'ulimit -c; ulimit -Hc'
	rlimits '[{"type": "RLIMIT_CORE", "hard": -1, "soft": -1}]'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = unlimited ]
	[ "${lines[1]}" = unlimited ]
}

@test "rlimits: NOFILE of 2^64-1 is read; the kernel refuses it above nr_open, as with runc" {
	hard=$(ulimit -Hn)
	args /bin/sh -c 'ulimit -n; ulimit -Hn'
	rlimits "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": $hard, \"soft\": $hard}]"
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = "$hard" ]
	[ "${lines[1]}" = "$hard" ]
	# 2^64-1 is RLIM_INFINITY, more than /proc/sys/fs/nr_open: setrlimit fails
	# with EPERM (runc's "error setting rlimit type 7"), in the process's
	# set-up and not in config.json. A kernel that took it would show the cap.
	rlimits '[{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615,
		   "soft": 18446744073709551615}]'
	new_id id2
	run timeout 60 "$HAMN_RUNTIME" --root "$RT_ROOT" run --bundle "$BUNDLE" "$id2"
	echo "$output"
	if [ "$status" -eq 0 ]; then
		[ "${lines[0]}" = unlimited ] || [ "${lines[0]}" = "$(cat /proc/sys/fs/nr_open)" ]
	else
		[[ "$output" == *"setrlimit RLIMIT_NOFILE soft=unlimited hard=unlimited"*"not permitted"* ]]
		[[ "$output" != *config.json* ]]
	fi
	assert_clean "$id2"
}

@test "rlimits: above 2^64-1 or below 0 is refused, naming the field" {
	args /bin/true
	rlimits '[{"type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551616}]'
	new_id
	rt_run 1 run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"config.json: process.rlimits[0].hard: 18446744073709551616 is out of range [0, 18446744073709551615]"* ]]
	assert_clean "$id"
	rlimits '[{"type": "RLIMIT_CORE", "soft": -2, "hard": 0}]'
	rt_run 1 run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"process.rlimits[0].soft: -2 is out of range"* ]]
	assert_clean "$id"
}

@test "exec: the container's config and --process take rlimits of 2^64-1" {
	need_core_unlimited
	args /bin/sleep 60
	rlimits '[{"type": "RLIMIT_CORE", "hard": 18446744073709551615,
		   "soft": 18446744073709551615}]'
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	# without --process, exec reads the config.json kept in the state directory
	rt_run exec "$id" /bin/sh -c 'ulimit -c'
	[ "${lines[0]}" = unlimited ]
	python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))["process"]
p["args"] = ["/bin/sh", "-c", "ulimit -Hc; ulimit -c"]
p["rlimits"] = [{"type": "RLIMIT_CORE", "hard": 2**64 - 1, "soft": 2**63}]
json.dump(p, open(sys.argv[2], "w"))' "$BUNDLE/config.json" "$BATS_TEST_TMPDIR/process.json"
	grep -q '"soft": 9223372036854775808' "$BATS_TEST_TMPDIR/process.json"
	rt_run exec --process "$BATS_TEST_TMPDIR/process.json" "$id"
	[ "${lines[0]}" = unlimited ]
	# busybox shows the soft limit in 512-byte blocks: 2^63 / 512
	[ "${lines[1]}" = 18014398509481984 ]
}

@test "update --resources reads values beyond int64" {
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	echo '{"pids": {"limit": 44}, "x-vendor": 18446744073709551615}' >"$BATS_TEST_TMPDIR/res.json"
	rt_run update --resources "$BATS_TEST_TMPDIR/res.json" "$id"
	rt_run exec "$id" /bin/sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'
	[ "${lines[0]}" = 44 ]
	echo '{"memory": {"swappiness": 18446744073709551615}}' >"$BATS_TEST_TMPDIR/bad.json"
	rt_run 1 update --resources "$BATS_TEST_TMPDIR/bad.json" "$id"
	[[ "$output" == *"linux.resources.memory.swappiness: 18446744073709551615 is out of range [0, 100]"* ]]
}

#!/usr/bin/env bats
# hamn-runtime: the runc-compatible OCI runtime on the busybox fixture bundle.

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

@test "run: /bin/true exits 0 and leaves nothing behind" {
	args /bin/true
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	assert_clean "$id"
}

@test "run: the exit code of the process is the exit code of run" {
	args /bin/sh -c 'exit 42'
	new_id
	rt_run 42 run --bundle "$BUNDLE" "$id"
	assert_clean "$id"
}

@test "run: a process killed by SIGKILL gives 128+9" {
	args /bin/sleep 60
	new_id
	rt run --bundle "$BUNDLE" "$id" &
	runpid=$!
	wait_status "$id" running
	rt kill "$id" KILL
	rc=0
	wait "$runpid" || rc=$?
	[ "$rc" -eq 137 ]
	assert_clean "$id"
}

@test "run: signals sent to the runtime reach the container's init" {
	args /bin/sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done'
	new_id
	"$HAMN_RUNTIME" --root "$RT_ROOT" run --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/out" &
	runpid=$!
	wait_for 10 grep -q ready "$BATS_TEST_TMPDIR/out"
	kill -TERM "$runpid"
	rc=0
	wait "$runpid" || rc=$?
	[ "$rc" -eq 7 ]
}

@test "run: a missing program is an error naming it" {
	args /no/such/program
	new_id
	rt_run 1 run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"/no/such/program"* ]]
	[[ "$output" == *"no such file"* ]]
	assert_clean "$id"
}

@test "isolation: own hostname, pid 1, no host process visible" {
	args /bin/sh -c 'hostname; echo pid=$$; ps -o pid | wc -l'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = "hamn-test" ]
	[ "${lines[1]}" = "pid=1" ]
	# header + sh + ps (+ wc) at most: nothing of the host
	[ "${lines[2]}" -le 4 ]
}

@test "capabilities: the default set, nothing inheritable or ambient" {
	args /bin/sh -c 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"CapEff:	00000000a80425fb"* ]]
	[[ "$output" == *"CapPrm:	00000000a80425fb"* ]]
	[[ "$output" == *"CapBnd:	00000000a80425fb"* ]]
	[[ "$output" == *"CapInh:	0000000000000000"* ]]
	[[ "$output" == *"CapAmb:	0000000000000000"* ]]
}

@test "capabilities: a non-root user has no effective capabilities" {
	cfg '.process.user = {uid: 1000, gid: 1000, additionalGids: [5]}'
	args /bin/sh -c 'id; grep CapEff /proc/self/status'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"uid=1000 gid=1000 groups=5"* ]]
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
}

@test "masked paths: /proc/keys and /proc/timer_list read as empty, /sys/firmware is empty" {
	args /bin/sh -c 'stat -c "%F %t:%T" /proc/keys /proc/timer_list; cat /proc/keys /proc/timer_list | wc -c; ls /sys/firmware | wc -l'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = "character special file 1:3" ]
	[ "${lines[1]}" = "character special file 1:3" ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = 0 ]
}

@test "read-only paths and root: writes are refused" {
	args /bin/sh -c 'echo x > /proc/sys/kernel/core_pattern; echo rc=$?; touch /newfile; echo rc=$?; echo 1 > /proc/sysrq-trigger; echo rc=$?'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"core_pattern: Read-only file system"* ]]
	[[ "$output" == *"/newfile: Read-only file system"* ]]
	[ "$(grep -c 'rc=0' <<<"$output")" -eq 0 ]
}

@test "default devices: nodes, links and ptmx" {
	args /bin/sh -c 'stat -c "%n %F %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done; test -d /dev/shm && echo shm'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"/dev/null character special file 1:3 666"* ]]
	[[ "$output" == *"/dev/urandom character special file 1:9 666"* ]]
	[[ "$output" == *"/dev/tty character special file 5:0 666"* ]]
	[[ "$output" == *"pts/ptmx"* ]]
	[[ "$output" == *"/proc/self/fd/2"* ]]
	[[ "$output" == *"shm"* ]]
}

@test "devices from config.json are created, and the device cgroup allows them" {
	cfg '.linux.devices = [{path: "/dev/myfull", type: "c", major: 1, minor: 7, fileMode: 432, uid: 0, gid: 0}]'
	args /bin/sh -c 'stat -c "%F %t:%T %a" /dev/myfull; head -c 4 /dev/myfull | wc -c; mknod /dev/mem c 1 1 && head -c1 /dev/mem; echo rc=$?'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = "character special file 1:7 660" ]
	[ "${lines[1]}" = 4 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "lifecycle: create, state, start, kill, delete" {
	args /bin/sleep 60
	new_id
	rt_detached create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$id"
	rt_run state "$id"
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .id <<<"$output")" = "$id" ]
	[ "$(jq -r .ociVersion <<<"$output")" = 1.0.2 ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	[ "$(jq -r .pid <<<"$output")" = "$(cat "$BATS_TEST_TMPDIR/pid")" ]
	jq -e '.created | test("^[0-9]{4}-")' <<<"$output"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	# the init waits in the runtime until start
	[ "$(readlink /proc/"$pid"/exe)" != /bin/busybox ]
	rt_run start "$id"
	[ "$(rt_status "$id")" = running ]
	rt_run 1 start "$id"
	rt_run 1 delete "$id"
	[[ "$output" == *"not stopped"* ]]
	rt_run kill "$id" SIGKILL
	wait_status "$id" stopped
	[ "$(rt_pid "$id")" = 0 ]
	rt_run delete "$id"
	assert_clean "$id" "$pid"
	rt_run 1 state "$id"
	[[ "$output" == *"does not exist"* ]]
}

@test "lifecycle: delete --force kills a running container; kill --all signals every process" {
	args /bin/sh -c 'sleep 60 & sleep 60 & wait'
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	pid=$(rt_pid "$id")
	wait_for 10 eval "[ \$(rt ps --format json $id | jq length) -eq 3 ]"
	rt_run kill --all "$id" KILL
	wait_status "$id" stopped
	rt_run delete "$id"
	assert_clean "$id" "$pid"

	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	pid=$(rt_pid "$id")
	rt_run delete --force "$id"
	assert_clean "$id" "$pid"
}

@test "kill accepts signal names and numbers; unknown signals are refused" {
	args /bin/sh -c 'trap "echo got-usr1" USR1; while :; do sleep 0.05; done'
	new_id
	rt run --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/out" &
	runpid=$!
	wait_status "$id" running
	rt_run kill "$id" USR1
	wait_for 10 grep -q got-usr1 "$BATS_TEST_TMPDIR/out"
	rt_run 1 kill "$id" NOSUCHSIG
	rt_run kill "$id" 9
	rc=0
	wait "$runpid" || rc=$?
	[ "$rc" -eq 137 ]
}

@test "pause and resume freeze and thaw the container" {
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	pid=$(rt_pid "$id")
	rt_run pause "$id"
	[ "$(rt_status "$id")" = paused ]
	rt_run 1 exec "$id" true
	rt_run resume "$id"
	[ "$(rt_status "$id")" = running ]
	rt_run 1 resume "$id"
	rt_run delete --force "$id"
	assert_clean "$id" "$pid"
}

@test "ps and list show the container" {
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	pid=$(rt_pid "$id")
	rt_run ps --format json "$id"
	[ "$output" = "[$pid]" ]
	rt_run ps "$id"
	[[ "${lines[0]}" == *PID* ]]
	[[ "$output" == *"sleep 60"* ]]
	rt_run list --format json
	[ "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .status' <<<"$output")" = running ]
	rt_run list -q
	[[ "$output" == *"$id"* ]]
}

@test "exec: joins the container's namespaces, keeps its caps, returns the exit code" {
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	pid=$(rt_pid "$id")
	rt_run exec "$id" /bin/sh -c 'hostname; ps -o pid,comm | grep -c sleep; grep CapEff /proc/self/status; echo $HOSTNAME_X'
	[ "${lines[0]}" = hamn-test ]
	[ "${lines[1]}" = 1 ]
	[[ "$output" == *"00000000a80425fb"* ]]
	[ "$(readlink /proc/"$pid"/ns/net)" != "$(readlink /proc/self/ns/net)" ]
	rt_run 5 exec "$id" /bin/sh -c 'exit 5'
	rt_run exec --env HAMN_X=42 --cwd /etc --user 1000:1000 "$id" /bin/sh -c 'echo $HAMN_X $(pwd) $(id -u)'
	[ "${lines[0]}" = "42 /etc 1000" ]
	rt_detached exec -d --pid-file "$BATS_TEST_TMPDIR/epid" "$id" /bin/sleep 30
	epid=$(cat "$BATS_TEST_TMPDIR/epid")
	grep -q "^$epid$" <(rt ps --format json "$id" | jq '.[]')
	rt_run 1 exec "$id" /no/such/cmd
}

@test "exec --process runs a process.json" {
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	jq '.process | .args = ["/bin/sh", "-c", "echo from-process-json"]' "$BUNDLE/config.json" \
		>"$BATS_TEST_TMPDIR/process.json"
	rt_run exec --process "$BATS_TEST_TMPDIR/process.json" "$id"
	[[ "$output" == *from-process-json* ]]
}

@test "terminal: the pty master goes to --console-socket" {
	cfg '.process.terminal = true | .process.consoleSize = {height: 33, width: 101}'
	args /bin/sh -c 'tty; stty size; test -c /dev/console && echo console'
	new_id
	sock="$BATS_TEST_TMPDIR/console.sock"
	python3 "$BATS_TEST_DIRNAME/console-recv.py" "$sock" >"$BATS_TEST_TMPDIR/tty.out" \
		2>"$BATS_TEST_TMPDIR/tty.err" &
	recv=$!
	wait_for 10 test -S "$sock"
	rt_detached create --bundle "$BUNDLE" --console-socket "$sock" "$id"
	rt_run start "$id"
	wait "$recv"
	cat "$BATS_TEST_TMPDIR/tty.out"
	grep -q '^/dev/pts/0' "$BATS_TEST_TMPDIR/tty.out"
	grep -q '^33 101' "$BATS_TEST_TMPDIR/tty.out"
	grep -q '^console' "$BATS_TEST_TMPDIR/tty.out"
}

@test "terminal: create refuses a tty without a console socket" {
	cfg '.process.terminal = true'
	new_id
	rt_run 1 create --bundle "$BUNDLE" "$id"
	[[ "$output" == *"console-socket"* ]]
	assert_clean "$id"
}

@test "terminal: exec --tty sends a new pty to the console socket" {
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	sock="$BATS_TEST_TMPDIR/exec.sock"
	python3 "$BATS_TEST_DIRNAME/console-recv.py" "$sock" >"$BATS_TEST_TMPDIR/tty.out" \
		2>/dev/null &
	recv=$!
	wait_for 10 test -S "$sock"
	rt_run exec --tty --console-socket "$sock" "$id" /bin/sh -c 'tty; echo exec-tty'
	wait "$recv"
	grep -q '^/dev/pts/' "$BATS_TEST_TMPDIR/tty.out"
	grep -q 'exec-tty' "$BATS_TEST_TMPDIR/tty.out"
}

@test "user namespace: root in the container is an unprivileged host uid" {
	rt_own_rootfs
	# as with runc, the mapped root must be able to reach the rootfs
	chmod 0711 "$BATS_RUN_TMPDIR" "$BATS_RUN_TMPDIR/test" "$BATS_TEST_TMPDIR" "$BUNDLE"
	cfg '.linux.namespaces += [{type: "user"}] |
		.linux.uidMappings = [{containerID: 0, hostID: 200000, size: 65536}] |
		.linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]'
	args /bin/sh -c 'id -u; cat /proc/self/uid_map; head -c 3 /dev/zero | wc -c; echo hi > /tmp/f && stat -c %u /tmp/f'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = 0 ]
	[[ "${lines[1]}" == *"0"*"200000"*"65536"* ]]
	[ "${lines[2]}" = 3 ]
	[ "$(stat -c %u "$BUNDLE/rootfs/tmp/f")" = 200000 ]
}

@test "namespaces: joining another container's network namespace by path" {
	args /bin/sleep 60
	new_id a
	rt_detached run -d --bundle "$BUNDLE" "$a"
	apid=$(rt_pid "$a")
	cfg '.hostname = null | .linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/proc/$apid/ns/net"
	args /bin/sh -c 'readlink /proc/self/ns/net'
	new_id b
	rt_run run --bundle "$BUNDLE" "$b"
	[ "${lines[0]}" = "$(readlink /proc/"$apid"/ns/net)" ]
}

@test "hooks: each kind runs with the state on stdin" {
	log="$BATS_TEST_TMPDIR/hooks.log"
	for k in prestart createRuntime createContainer poststart poststop; do
		cfg '.hooks[$k] = [{path: "/bin/sh", args: ["sh", "-c", "echo \($k) $(cat) >> \($log)"]}]' \
			--arg k "$k" --arg log "$log"
	done
	# startContainer runs inside the container, where the log's path does not exist
	cfg '.hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "echo startContainer $(cat)"]}]'
	args /bin/true
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	grep '^startContainer ' <<<"$output" >>"$log"
	cat "$log"
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		line=$(grep "^$k " "$log")
		[ "$(cut -d' ' -f2- <<<"$line" | jq -r .id)" = "$id" ]
		[ "$(cut -d' ' -f2- <<<"$line" | jq -r .pid)" -gt 0 ] || [ "$k" = poststop ]
	done
}

@test "hooks: a failing createRuntime hook fails create and cleans up" {
	cfg '.hooks.createRuntime = [{path: "/bin/false"}]'
	new_id
	rt_run 1 create --bundle "$BUNDLE" "$id"
	[[ "$output" == *"hook '/bin/false' exited with status 1"* ]]
	assert_clean "$id"
}

@test "sysctls: namespaced ones are written inside the container" {
	cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "4000"}'
	args /bin/sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = 4000 ]
}

@test "rlimits, umask, oom_score_adj and no_new_privs are applied" {
	cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 123, hard: 456}] |
		.process.user.umask = 63 | .process.oomScoreAdj = 100 | .process.noNewPrivileges = true'
	args /bin/sh -c 'ulimit -n; ulimit -Hn; umask; cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = 123 ]
	[ "${lines[1]}" = 456 ]
	[ "${lines[2]}" = 0077 ]
	[ "${lines[3]}" = 100 ]
	[[ "${lines[4]}" == *1 ]]
}

@test "spec writes a default config that runs, and refuses to overwrite it" {
	d="$BATS_TEST_TMPDIR/specb"
	mkdir -p "$d"
	rt_run spec --bundle "$d"
	rt_run 1 spec --bundle "$d"
	[[ "$output" == *exists* ]]
	jq --arg r "$HAMN_FIXTURES/bundle/rootfs" '.root.path = $r | .process.terminal = false |
		.process.args = ["/bin/sh", "-c", "grep Seccomp: /proc/self/status"]' \
		"$d/config.json" >"$BUNDLE/config.json"
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"Seccomp:	2"* ]]
}

@test "features, --version and --help" {
	rt_run features
	[ "$(jq -r .ociVersionMax <<<"$output")" = 1.1.0 ]
	jq -e '.linux.namespaces | index("user")' <<<"$output"
	rt_run --version
	[[ "$output" == *"hamn-runtime version"* ]]
	rt_run --help
	[[ "$output" == *"create"* ]]
	rt_run create --help
	[[ "$output" == *"--bundle"* ]]
	rt_run 1 nosuchcommand
}

@test "errors go to the --log file as JSON lines" {
	log="$BATS_TEST_TMPDIR/log.json"
	run_cmd 1 "$HAMN_RUNTIME" --root "$RT_ROOT" --log "$log" --log-format json state nosuch
	jq -e 'select(.level == "error") | .msg | test("does not exist")' "$log"
}

@test "update changes the limits of a running container" {
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	rt_run update --pids-limit 42 "$id"
	rt_run exec "$id" /bin/sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'
	[ "${lines[0]}" = 42 ]
}

@test "cgroup: the container sees its own cgroup read-only" {
	args /bin/sh -c 'grep -c hamn /proc/self/cgroup; touch /sys/fs/cgroup/x; echo rc=$?'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" != *"rc=0"* ]]
}

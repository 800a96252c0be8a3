#!/usr/bin/env bats
# hamn-runtime: container escapes that runc and others had must not work here
# (see shared/docs/secure-defaults.md, section 2).

load runtime-helpers

setup_file() {
	rt_setup_file
	gcc -static -O2 -o "$BATS_FILE_TMPDIR/probe" "$BATS_TEST_DIRNAME/runtime-probe.c" ||
		{ echo "cannot build runtime-probe (gcc, libc6-dev)" >&2; return 1; }
}

setup() {
	rt_setup
}

teardown() {
	rt_teardown
}

# with_probe: a tmpfs on /tmp holding the probe program at /tmp/probe.
with_probe() {
	cfg '.mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"]},
		{destination: "/tmp/probe", type: "bind", source: $p, options: ["bind", "ro"]}]' \
		--arg p "$BATS_FILE_TMPDIR/probe"
}

# the default config of `hamn-runtime spec` (Docker's defaults) on the fixture rootfs
default_spec() {
	local d="$BATS_TEST_TMPDIR/spec"
	mkdir -p "$d"
	rt spec --bundle "$d"
	jq --arg r "$HAMN_FIXTURES/bundle/rootfs" '.root.path = $r | .process.terminal = false' \
		"$d/config.json" >"$BUNDLE/config.json"
}

@test "CVE-2019-5736: the runtime binary cannot be reopened for writing through /proc/PID/exe" {
	args /bin/true
	new_id
	rt_detached create --bundle "$BUNDLE" "$id"
	pid=$(rt_pid "$id")
	before=$(sha256sum "$HAMN_RUNTIME" | cut -d' ' -f1)
	# hold the init's exe open (it still runs the runtime), let it die, then try to write
	run python3 - "$pid" "$HAMN_RUNTIME" "$RT_ROOT" "$id" <<-'EOF'
		import errno, os, subprocess, sys
		pid, rt, root, cid = sys.argv[1:]
		fd = os.open("/proc/%s/exe" % pid, os.O_RDONLY)
		subprocess.run([rt, "--root", root, "delete", "--force", cid], check=True)
		for flags in (os.O_WRONLY | os.O_APPEND, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
		    try:
		        os.close(os.open("/proc/self/fd/%d" % fd, flags))
		        print("WRITABLE")
		    except OSError as e:
		        print(errno.errorcode[e.errno])
	EOF
	echo "$output"
	[ "$status" -eq 0 ]
	# every reopen fails; with O_TRUNC the kernel checks the mount first, so it must be EROFS
	# (the others may see ETXTBSY first while another process runs the same binary)
	[[ "${lines[0]}" == EROFS || "${lines[0]}" == ETXTBSY ]]
	[[ "${lines[1]}" == EROFS || "${lines[1]}" == ETXTBSY ]]
	[ "${lines[2]}" = EROFS ]
	[ "$(sha256sum "$HAMN_RUNTIME" | cut -d' ' -f1)" = "$before" ]
}

@test "CVE-2019-5736: a #!/proc/self/exe entrypoint and exec races leave the binary intact" {
	rt_own_rootfs
	printf '#!/proc/self/exe\n' >"$BUNDLE/rootfs/evil"
	chmod 755 "$BUNDLE/rootfs/evil"
	# the attacker holds any non-busybox exe it sees and writes through it once it is gone
	cat >"$BUNDLE/rootfs/attack.sh" <<-'EOF'
		while :; do
			for d in /proc/[0-9]*; do
				e=$(readlink $d/exe 2>/dev/null) || continue
				[ "$e" = /bin/busybox ] && continue
				# a subshell: a failed redirection on exec would end this shell
				(
					exec 3<$d/exe || exit
					while [ -e $d ]; do :; done
					if echo pwned >>/proc/self/fd/3; then echo WROTE; else echo BLOCKED; fi
				) 2>/dev/null
			done
		done
	EOF
	args /bin/sh /attack.sh
	new_id
	before=$(sha256sum "$HAMN_RUNTIME" | cut -d' ' -f1)
	rt_detached run -d --bundle "$BUNDLE" "$id"
	for i in $(seq 20); do
		rt exec "$id" /evil >/dev/null 2>&1 || true
		rt exec "$id" /bin/true
	done
	rt delete --force "$id"
	cat "$BATS_TEST_TMPDIR/ctr.log"
	! grep -q WROTE "$BATS_TEST_TMPDIR/ctr.log" || false
	[ "$(sha256sum "$HAMN_RUNTIME" | cut -d' ' -f1)" = "$before" ]
}

@test "CVE-2024-21626: no runtime fd reaches the process; a cwd through /proc/self/fd is refused" {
	with_probe
	args /tmp/probe fds cwd
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = "fds done" ]
	[ "${lines[1]}" = "cwd /" ]
	for n in $(seq 3 20); do
		cfg '.process.cwd = $c' --arg c "/proc/self/fd/$n"
		new_id
		rt_run 1 run --bundle "$BUNDLE" "$id"
		[[ "$output" == *"working directory"* ]]
		assert_clean "$id"
	done
}

@test "CVE-2024-21626: exec --cwd /proc/self/fd/N is refused and exec leaks no fd" {
	with_probe
	args /bin/sleep 60
	new_id
	rt_detached run -d --bundle "$BUNDLE" "$id"
	rt_run exec "$id" /tmp/probe fds
	[ "${lines[0]}" = "fds done" ]
	for n in $(seq 3 20); do
		rt_run 1 exec --cwd "/proc/self/fd/$n" "$id" /bin/ls ../../../..
		[[ "$output" == *"working directory"* ]]
	done
}

@test "CVE-2019-19921: /proc as a symlink in the image is refused" {
	rt_own_rootfs
	rmdir "$BUNDLE/rootfs/proc"
	ln -s /tmp "$BUNDLE/rootfs/proc"
	args /bin/true
	new_id
	rt_run 1 run --bundle "$BUNDLE" "$id"
	[[ "$output" == *"'/proc'"*"symbolic links"* ]]
}

@test "CVE-2021-30465: a mount destination symlinked out of the root lands inside it" {
	rt_own_rootfs
	host="$BATS_TEST_TMPDIR/host-target"
	host2="$BATS_TEST_TMPDIR/host-target2"
	src="$BATS_TEST_TMPDIR/volume"
	mkdir -p "$host" "$host2" "$src"
	echo data >"$src/file"
	ln -s "../../../../../../../..$host" "$BUNDLE/rootfs/mnt"
	ln -s "$host2" "$BUNDLE/rootfs/abs"
	cfg '.mounts += [{destination: "/mnt", type: "bind", source: $s, options: ["rbind"]},
		{destination: "/abs", type: "tmpfs", source: "tmpfs"}]' --arg s "$src"
	args /bin/sh -c 'cat /mnt/file; touch /abs/x && echo ok'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = data ]
	[ "${lines[1]}" = ok ]
	# the host directory was never mounted on or written to
	[ -z "$(ls -A "$host")" ]
	[ -z "$(ls -A "$host2")" ]
	[ -d "$BUNDLE/rootfs$host" ]
	[ -d "$BUNDLE/rootfs$host2" ]
}

@test "CVE-2025-31133: masking binds a verified /dev/null, never a symlink the image placed" {
	rt_own_rootfs
	# no /dev tmpfs: the image's /dev is used, and its null points at core_pattern
	cfg '.mounts |= map(select(.destination | startswith("/dev") | not))'
	rm -f "$BUNDLE/rootfs/dev/null"
	ln -s /proc/sys/kernel/core_pattern "$BUNDLE/rootfs/dev/null"
	before=$(cat /proc/sys/kernel/core_pattern)
	args /bin/sh -c 'stat -c "%F %t:%T" /proc/keys /proc/timer_list; echo "|/tmp/x" > /proc/keys; echo x > /proc/sys/kernel/core_pattern; echo rc=$?'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[ "${lines[0]}" = "character special file 1:3" ]
	[ "${lines[1]}" = "character special file 1:3" ]
	[[ "$output" == *"Read-only file system"* ]]
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$before" ]
}

@test "CVE-2022-0811: only namespaced sysctls are accepted" {
	before=$(cat /proc/sys/kernel/core_pattern)
	args /bin/true
	for s in '{"kernel.core_pattern": "|/tmp/x"}' '{"kernel.shmmax": "1\nkernel.core_pattern=|/x"}' \
		'{"vm.overcommit_memory": "1"}' '{"kernel.shm_rmid_forced": "1+kernel.core_pattern=x"}'; do
		cfg '.linux.sysctl = $s' --argjson s "$s"
		new_id
		rt_run 1 run --bundle "$BUNDLE" "$id"
		assert_clean "$id"
	done
	# net.* needs the container's own network namespace
	cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1"} | .linux.namespaces |= map(select(.type != "network"))'
	new_id
	rt_run 1 run --bundle "$BUNDLE" "$id"
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$before" ]
}

@test "default profile: no mount, modules, reboot, clock, keyctl, unshare or ptrace" {
	default_spec
	with_probe
	# plain ptrace stays allowed inside the container on kernels >= 4.8, as in Docker's
	# profile; what reaches other processes' memory without CAP_SYS_PTRACE is refused
	probes="mount unshare unshare-mnt keyctl add_key reboot finit_module init_module settime kexec
		open_by_handle kcmp pidfd_getfd"
	args /tmp/probe $probes
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	for what in $probes; do
		grep -qx "$what EPERM" <<<"$output"
	done
}

@test "CVE-2016-9962: the runtime's processes in a container cannot be ptraced" {
	default_spec
	with_probe
	args /bin/sleep 60
	new_id
	# created: the init is still the runtime, waiting for start
	rt_detached create --bundle "$BUNDLE" "$id"
	rt_run exec "$id" /tmp/probe attach1
	[ "$output" = "attach1 EPERM" ]
}

@test "default profile: busybox sees EPERM for mount, unshare, hostname, date, reboot" {
	default_spec
	args /bin/sh -c 'mount -t tmpfs t /mnt; echo mount=$?; unshare -m true; echo unshare=$?; hostname x; echo hostname=$?; date -s 2000-01-01 >/dev/null; echo date=$?; grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	for what in mount unshare hostname; do
		grep -qx "$what=1" <<<"$output"
	done
	[[ "$output" == *"can't set date: Operation not permitted"* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
	[[ "$output" == *"CapEff:	00000000a80425fb"* ]]
}

@test "CVE-2022-0492: cgroupfs is read-only and cannot be mounted" {
	default_spec
	args /bin/sh -c 'for f in /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/*/notify_on_release /sys/fs/cgroup/release_agent; do [ -e $f ] && { echo x > $f && echo WROTE $f; }; done; mkdir /sys/fs/cgroup/pids/x && echo MKDIR; mount -t cgroup -o rdma cgroup /mnt && echo MOUNTED; echo done'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *done* ]]
	[[ "$output" != *WROTE* ]]
	[[ "$output" != *MKDIR* ]]
	[[ "$output" != *MOUNTED* ]]
}

@test "device cgroup: a node made with CAP_MKNOD cannot be opened" {
	default_spec
	args /bin/sh -c 'mknod /dev/sda b 8 0 && echo made; head -c1 /dev/sda; echo rc=$?'
	new_id
	rt_run run --bundle "$BUNDLE" "$id"
	[[ "$output" == *made* ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "--no-pivot (MS_MOVE + chroot) keeps the host out of reach" {
	args /bin/sh -c 'ls / | wc -l; cat /proc/1/mountinfo | wc -l; cd /..; ls | grep -c bin'
	new_id
	rt_run run --no-pivot --bundle "$BUNDLE" "$id"
	[ "$(ls "$HAMN_FIXTURES/bundle/rootfs" | wc -l)" = "${lines[0]}" ]
	[ "${lines[2]}" = 1 ]
}

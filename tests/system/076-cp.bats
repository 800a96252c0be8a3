#!/usr/bin/env bats
# docker cp against hamnd: HEAD/GET/PUT /containers/{id}/archive, hamn cp
# and docker cp both ways (files, directories, new names, "/." contents,
# "-" tar streams, -a, -L), stopped containers, 404s, and the escapes:
# a symlink swapped in while copies run (CVE-2018-15664), a parent that is a
# dangling symlink to a host directory (CVE-2021-41089), a trojan NSS
# library in the container (CVE-2019-14271).

load container-helpers

setup_file() {
	containers_setup_file
	export CP_CTR="cp-$$"
	dk run -d --name "$CP_CTR" hamn-test sh -c \
		'mkdir -p /data/sub && echo hello >/data/f && echo y >/data/sub/y && ln -s /data/f /data/link && exec sleep 100000' >/dev/null
	wait_for 10 dk exec "$CP_CTR" test -L /data/link
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	require_docker_cli
	WORK="$BATS_TEST_TMPDIR/w"
	mkdir -p "$WORK"
}

teardown() {
	local n
	for n in ${TEST_CTRS:-}; do
		dk rm -f "$n" >/dev/null 2>&1 || true
	done
	rm -rf "${HOST_MARKS:-/nonexistent-hamn}"
}

# stat_header PATH: the decoded X-Docker-Container-Path-Stat of HEAD PATH in CP_CTR.
stat_header() {
	curl -s -I --unix-socket "$HAMN_SOCK" "http://d/containers/$CP_CTR/archive?path=$1" |
		sed -n 's/^X-Docker-Container-Path-Stat: //ip' | tr -d '\r' | base64 -d
}

@test "HEAD and GET carry docker's path stat; a missing path is a 404" {
	run stat_header /data/f
	[ "$(echo "$output" | jq -c '[.name, .size, .mode, .linkTarget]')" = '["f",6,420,""]' ]
	run stat_header /data/
	[ "$(echo "$output" | jq -c '[.name, .mode]')" = '["data",2147484141]' ]
	run stat_header /data/link
	[ "$(echo "$output" | jq -c '[.name, .mode, .linkTarget]')" = '["link",134218239,"/data/f"]' ]
	run api GET "/containers/$CP_CTR/archive?path=/nonexist"
	[ "$(status_of)" = 404 ]
	[ "$(body | jq -r .message)" = "Could not find the file /nonexist in container $CP_CTR" ]
	run api_status HEAD "/containers/$CP_CTR/archive?path=/nonexist" -I
	[ "$output" = 404 ]
	run api_status GET "/containers/nosuchctr/archive?path=/"
	[ "$output" = 404 ]
	run bash -c "curl -s --unix-socket $HAMN_SOCK 'http://d/containers/$CP_CTR/archive?path=/data' | tar tf - | sort"
	[ "$output" = "$(printf 'data/\ndata/f\ndata/link\ndata/sub/\ndata/sub/y')" ]
}

@test "docker cp both ways: a file, a directory, new names, contents" {
	echo content >"$WORK/in.txt"
	mkdir -p "$WORK/indir/a" && echo 1 >"$WORK/indir/a/b"
	run_dk cp "$WORK/in.txt" "$CP_CTR:/data/in.txt"
	run_dk cp "$WORK/in.txt" "$CP_CTR:/data/"
	run_dk cp "$WORK/indir" "$CP_CTR:/data/"
	run_dk cp "$WORK/indir" "$CP_CTR:/data/renamed"
	run_dk exec "$CP_CTR" sh -c 'cat /data/in.txt /data/indir/a/b /data/renamed/a/b'
	[ "$output" = "$(printf 'content\n1\n1')" ]
	run_dk cp "$CP_CTR:/data/f" "$WORK/out.txt"
	[ "$(cat "$WORK/out.txt")" = hello ]
	run_dk cp "$CP_CTR:/data" "$WORK/"
	[ "$(cat "$WORK/data/sub/y")" = y ]
	[ "$(readlink "$WORK/data/link")" = /data/f ]
	run_dk cp "$CP_CTR:/data/." "$WORK/contents"
	[ -f "$WORK/contents/f" ] && [ -d "$WORK/contents/sub" ]
	run_dk 1 cp "$WORK/in.txt" "$CP_CTR:/nonexist/x"
	[[ "$output" == *"Could not find the file /nonexist in container $CP_CTR"* ]]
	run_dk 1 cp "$CP_CTR:/nonexist" "$WORK/"
	[[ "$output" == *"Could not find the file /nonexist in container $CP_CTR"* ]]
}

@test "hamn cp both ways, with -L, and '-' tar streams" {
	echo hc >"$WORK/h.txt"
	mkdir -p "$WORK/hdir/x" && echo z >"$WORK/hdir/x/z"
	run_hamn cp "$WORK/h.txt" "$CP_CTR:/data/h.txt"
	run_hamn cp "$WORK/hdir" "$CP_CTR:/data/"
	run_hamn cp "$WORK/hdir/." "$CP_CTR:/data/hcontents"
	run_dk exec "$CP_CTR" sh -c 'cat /data/h.txt /data/hdir/x/z /data/hcontents/x/z'
	[ "$output" = "$(printf 'hc\nz\nz')" ]
	run_hamn cp "$CP_CTR:/data" "$WORK/out"
	[ "$(cat "$WORK/out/sub/y")" = y ]
	run_hamn cp "$CP_CTR:/data/link" "$WORK/lnk"
	[ -L "$WORK/lnk" ]
	run_hamn cp -L "$CP_CTR:/data/link" "$WORK/followed"
	[ ! -L "$WORK/followed" ] && [ "$(cat "$WORK/followed")" = hello ]
	run bash -c "$HAMN_BIN -H unix://$HAMN_SOCK cp $CP_CTR:/data/sub - | tar tf - | sort"
	[ "$output" = "$(printf 'sub/\nsub/y')" ]
	tar cf "$WORK/t.tar" -C "$WORK" h.txt
	run bash -c "$HAMN_BIN -H unix://$HAMN_SOCK cp - $CP_CTR:/tmp <$WORK/t.tar"
	[ "$status" -eq 0 ]
	run_dk exec "$CP_CTR" cat /tmp/h.txt
	[ "$output" = hc ]
	run bash -c "DOCKER_HOST=unix://$HAMN_SOCK $DOCKER_CLI cp $CP_CTR:/data/f - | tar xOf -"
	[ "$output" = hello ]
	run_hamn 1 cp "$CP_CTR:/nonexist" "$WORK/"
	[[ "$output" == *"Could not find the file /nonexist"* ]]
}

@test "cp -a gives the files to the container's user; without it the archive's owner" {
	local n
	n=$(unique_name owner)
	TEST_CTRS=$n
	run_dk run -d --name "$n" -u nobody hamn-test sleep 1000
	echo x >"$WORK/o.txt"
	run_hamn cp -a "$WORK/o.txt" "$n:/tmp/a.txt"
	run_hamn cp "$WORK/o.txt" "$n:/tmp/b.txt"
	run_dk exec "$n" stat -c '%u:%g' /tmp/a.txt /tmp/b.txt
	[ "$output" = "$(printf '65534:65534\n0:0')" ]
}

@test "cp works on a stopped container, and leaves no mount" {
	local n
	n=$(unique_name stopped)
	TEST_CTRS=$n
	run_dk create --name "$n" hamn-test cat /tmp/in
	echo stopped-in >"$WORK/in"
	run_hamn cp "$WORK/in" "$n:/tmp/in"
	run_hamn cp "$n:/tmp/in" "$WORK/back"
	[ "$(cat "$WORK/back")" = stopped-in ]
	run_dk cp "$n:/etc/passwd" "$WORK/passwd"
	grep -q '^root:' "$WORK/passwd"
	run_hamn 1 cp "$n:/nonexist" "$WORK/"
	# what was copied into the stopped container is there when it runs
	run_dk start -a "$n"
	[ "$output" = stopped-in ]
	run grep -F "$HAMND_ROOT" /proc/self/mountinfo
	[ "$status" -ne 0 ]
}

@test "a symlink swapped in while cp runs never reaches the host (CVE-2018-15664)" {
	local n i marks
	n=$(unique_name race)
	TEST_CTRS=$n
	marks=$(mktemp -d /tmp/hamn-cp-race.XXXXXX)
	HOST_MARKS=$marks
	echo HOST-SECRET-$$ >"$marks/secret"
	mkdir "$marks/target"
	# the container swaps /w/dir for a symlink to / and back, as fast as it can; its own
	# copy of the marker directory exists, so a write that is contained still succeeds
	run_dk run -d --name "$n" hamn-test sh -c "mkdir -p /w/dir$marks/target; \
		while :; do mv /w/dir /w/dir.bak; ln -sfn / /w/dir; rm /w/dir; mv /w/dir.bak /w/dir; done"
	echo in >"$WORK/x"
	for i in $(seq 60); do
		dk cp "$n:/w/dir$marks/secret" - 2>/dev/null >>"$WORK/read.tar" || true
		dk cp "$WORK/x" "$n:/w/dir$marks/target/x$i" 2>/dev/null || true
		"$HAMN_BIN" -H "unix://$HAMN_SOCK" cp "$n:/w/dir$marks/secret" - 2>/dev/null \
			>>"$WORK/read.tar" || true
		"$HAMN_BIN" -H "unix://$HAMN_SOCK" cp "$WORK/x" "$n:/w/dir$marks/target/y$i" \
			2>/dev/null || true
	done
	# nothing of the host was read, nothing was written on it
	run grep -c "HOST-SECRET" "$WORK/read.tar"
	[ "$output" = 0 ]
	run ls -A "$marks/target"
	[ -z "$output" ]
	[ "$(cat "$marks/secret")" = "HOST-SECRET-$$" ]
	# the same copies work once the container stops swapping
	run_dk exec "$n" sh -c 'kill 1'
	run_dk rm -f "$n"
	run_dk run -d --name "$n" hamn-test sh -c "mkdir -p /w/dir$marks/target; exec sleep 1000"
	wait_for 10 dk exec "$n" test -d "/w/dir$marks/target"
	run_hamn cp "$WORK/x" "$n:/w/dir$marks/target/ok"
	run_dk exec "$n" cat "/w/dir$marks/target/ok"
	[ "$output" = in ]
}

@test "cp into a path whose parent is a dangling symlink to a host dir (CVE-2021-41089)" {
	local n marks before
	n=$(unique_name dangle)
	TEST_CTRS=$n
	marks=$(mktemp -d /tmp/hamn-cp-41089.XXXXXX)
	HOST_MARKS=$marks
	chmod 0700 "$marks"
	before=$(stat -c '%a %u %g' "$marks")
	run_dk run -d --name "$n" hamn-test sh -c "ln -s $marks /dangling; exec sleep 1000"
	wait_for 10 dk exec "$n" test -L /dangling
	echo x >"$WORK/f"
	run_dk 1 cp "$WORK/f" "$n:/dangling/f"
	run_hamn 1 cp "$WORK/f" "$n:/dangling/f"
	mkdir -p "$WORK/d"
	run_dk 1 cp "$WORK/d" "$n:/dangling/sub"
	[ "$(stat -c '%a %u %g' "$marks")" = "$before" ]
	run ls -A "$marks"
	[ -z "$output" ]
}

@test "a trojan NSS library in the container is never loaded by cp (CVE-2019-14271)" {
	command -v cc >/dev/null || skip "no C compiler to build the trojan library"
	local n marks lib
	n=$(unique_name nss)
	TEST_CTRS=$n
	marks=$(mktemp -d /tmp/hamn-cp-nss.XXXXXX)
	HOST_MARKS=$marks
	printf '#include <stdio.h>\n__attribute__((constructor)) static void f(void) { FILE *o = fopen("%s/pwned", "w"); if (o) fclose(o); }\n' \
		"$marks" >"$WORK/trojan.c"
	cc -shared -fPIC -o "$WORK/libnss_files.so.2" "$WORK/trojan.c"
	run_dk create --name "$n" -u nobody hamn-test sleep 1000
	for lib in /lib/x86_64-linux-gnu /lib64 /lib /usr/lib; do
		run_hamn cp "$WORK/libnss_files.so.2" "$n:$lib/libnss_files.so.2" || true
	done
	run_dk start "$n"
	run_hamn cp "$n:/etc/passwd" "$WORK/p"
	echo f >"$WORK/f"
	run_hamn cp -a "$WORK/f" "$n:/tmp/"
	run_dk cp "$n:/etc/group" "$WORK/g"
	[ ! -e "$marks/pwned" ]
}

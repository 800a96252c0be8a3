#!/usr/bin/env bats
# A container's filesystem as an image, a change list and a tar
# (src/engine/commit.c, layerdiff.c, layerfs.c; src/api/containers_fs.c):
# docker commit / diff / export with the hamn CLI, the real docker CLI and
# curl, including overlay whiteouts (deleted files, replaced directories)
# and an export -> import round trip.

load container-helpers
load build-helpers

setup_file() { build_setup_file; }
teardown_file() { containers_teardown_file; }

setup() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
}

teardown() {
	local ids
	ids=$(curl -s --unix-socket "$HAMN_SOCK" 'http://d/containers/json?all=1' | jq -r '.[].Id')
	for id in $ids; do
		curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" "http://d/containers/$id?force=1"
	done
}

# make_changes NAME: a stopped container that added, changed and deleted files.
make_changes() {
	run_hamn run --name "$1" hamn-test sh -c '
		echo added > /added.txt
		mkdir -p /newdir/sub && echo deep > /newdir/sub/f
		echo changed >> /etc/passwd
		rm /bin/wc'
}

@test "diff lists added, changed and deleted paths as docker does" {
	local n
	n=$(unique_name diff)
	make_changes "$n"
	run_hamn diff "$n"
	[[ "$output" == *"A /added.txt"* ]]
	[[ "$output" == *"A /newdir"* ]]
	[[ "$output" == *"A /newdir/sub/f"* ]]
	[[ "$output" == *"C /etc"* ]]
	[[ "$output" == *"C /etc/passwd"* ]]
	[[ "$output" == *"C /bin"* ]]
	[[ "$output" == *"D /bin/wc"* ]]
	# mount points the runtime made (/etc/hosts, /proc, ...) are not changes
	! grep -E ' /(proc|sys|dev)$| /etc/(hosts|hostname|resolv.conf)$' <<<"$output" || false
	# the API shape: Kind 0 changed, 1 added, 2 deleted
	run curl -s --unix-socket "$HAMN_SOCK" "http://d/containers/$n/changes"
	[ "$(jq -r '.[] | select(.Path == "/bin/wc") | .Kind' <<<"$output")" = 2 ]
	[ "$(jq -r '.[] | select(.Path == "/added.txt") | .Kind' <<<"$output")" = 1 ]
	[ "$(jq -r '.[] | select(.Path == "/etc/passwd") | .Kind' <<<"$output")" = 0 ]
}

@test "an untouched container has no changes" {
	local n
	n=$(unique_name clean)
	run_hamn run --name "$n" hamn-test true
	run curl -s --unix-socket "$HAMN_SOCK" "http://d/containers/$n/changes"
	[ "$output" = "[]" ]
}

@test "commit makes a runnable image with the container's changes" {
	local n img t0
	n=$(unique_name commit)
	img=$(unique_name committed)
	make_changes "$n"
	t0=$(date +%s.%N)
	run_hamn commit -c 'CMD ["cat", "/added.txt"]' -m "my change" -a "Tester <t@x>" "$n" "$img:v1"
	[[ "$output" == sha256:* ]]
	# docker's "commit" container event names the new image
	run curl -s -G --unix-socket "$HAMN_SOCK" http://d/events --data-urlencode "since=$t0" \
		--data-urlencode "until=$(date +%s.%N)" --data-urlencode 'filters={"event":["commit"]}'
	[ "$(jq -r .Actor.Attributes.comment <<<"$output")" = "my change" ]
	[[ "$(jq -r .Actor.Attributes.imageID <<<"$output")" == sha256:* ]]
	run_hamn run --rm "$img:v1"
	[ "$output" = added ]
	run_hamn run --rm "$img:v1" sh -c 'cat /newdir/sub/f; tail -n1 /etc/passwd; ls /bin/wc 2>&1 || echo gone'
	[[ "$output" == *deep* ]]
	[[ "$output" == *changed* ]]
	[[ "$output" == *gone* ]]
	run_hamn inspect -f '{{.Author}} {{.Comment}}' "$img:v1"
	[[ "$output" == *"Tester <t@x>"* ]]
	run_hamn history "$img:v1"
	[[ "$output" == *"my change"* ]]
	# the new image is the container's image plus one layer
	[ "$(dk inspect -f '{{len .RootFS.Layers}}' "$img:v1")" = \
		"$(($(dk inspect -f '{{len .RootFS.Layers}}' hamn-test) + 1))" ]
}

@test "commit keeps the container's command and env unless changed" {
	local n img
	n=$(unique_name keep)
	img=$(unique_name kept)
	run_hamn run --name "$n" -e FOO=bar hamn-test sh -c 'echo $FOO > /foo'
	run_hamn commit "$n" "$img"
	run_hamn inspect -f '{{json .Config.Cmd}} {{json .Config.Env}}' "$img"
	[[ "$output" == *'["sh","-c","echo $FOO \u003e /foo"]'* || "$output" == *'["sh","-c","echo $FOO > /foo"]'* ]]
	[[ "$output" == *FOO=bar* ]]
	run_hamn run --rm "$img" cat /foo
	[ "$output" = bar ]
}

@test "a replaced directory hides the old contents in the committed image" {
	local a b img1 img2
	a=$(unique_name opq-a)
	b=$(unique_name opq-b)
	img1=$(unique_name opq1)
	img2=$(unique_name opq2)
	run_hamn run --name "$a" hamn-test sh -c 'mkdir /data && echo 1 > /data/old1 && echo 2 > /data/old2'
	run_hamn commit "$a" "$img1"
	# removed and made again: overlay marks the new directory opaque
	run_hamn run --name "$b" "$img1" sh -c 'rm -rf /data && mkdir /data && echo new > /data/only'
	run_hamn diff "$b"
	[[ "$output" == *"C /data"* ]]
	[[ "$output" == *"A /data/only"* ]]
	run_hamn commit "$b" "$img2"
	run_hamn run --rm "$img2" ls /data
	[ "$output" = only ]
	run_hamn run --rm "$img1" ls /data
	[[ "$output" == *old1*old2* ]]
}

@test "export then import gives the container's filesystem back" {
	local n img
	n=$(unique_name export)
	img=$(unique_name imported)
	make_changes "$n"
	run_hamn export -o "$BATS_TEST_TMPDIR/fs.tar" "$n"
	tar -tf "$BATS_TEST_TMPDIR/fs.tar" >"$BATS_TEST_TMPDIR/list"
	grep -qx 'added.txt' "$BATS_TEST_TMPDIR/list"
	grep -qx 'bin/busybox' "$BATS_TEST_TMPDIR/list"
	! grep -q '^bin/wc$' "$BATS_TEST_TMPDIR/list" || false
	! grep -q '\.wh\.' "$BATS_TEST_TMPDIR/list" || false
	run_hamn import "$BATS_TEST_TMPDIR/fs.tar" "$img"
	run_hamn run --rm "$img" sh -c 'cat /added.txt /newdir/sub/f; ls /bin/wc 2>&1 || echo gone'
	[[ "$output" == *added*deep*gone* ]]
}

@test "export streams to stdout and refuses an unknown container" {
	local n
	n=$(unique_name stdout)
	run_hamn run --name "$n" hamn-test sh -c 'echo x > /x'
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" export "$n" | tar -t | grep -qx x
	run_hamn 1 export -o /dev/null nosuch-container
	[[ "$output" == *"No such container"* ]]
	[ "$(api_status GET /containers/nosuch/export)" = 404 ]
	[ "$(api_status GET /containers/nosuch/changes)" = 404 ]
	[ "$(api_status POST '/commit?container=nosuch')" = 404 ]
}

@test "the docker CLI commits, diffs and exports through hamnd" {
	require_docker_cli
	local n img
	n=$(unique_name dk)
	img=$(unique_name dkimg)
	run_dk run --name "$n" hamn-test sh -c 'echo via-docker > /d.txt'
	run_dk diff "$n"
	[[ "$output" == *"A /d.txt"* ]]
	run_dk commit --change 'ENV MARK=1' "$n" "$img:t"
	run_dk run --rm "$img:t" sh -c 'cat /d.txt; echo $MARK'
	[[ "$output" == *via-docker*1* ]]
	dk export "$n" | tar -t | grep -qx d.txt
}

@test "commit refuses a bad reference or change before making anything" {
	local n before
	n=$(unique_name bad)
	run_hamn run --name "$n" hamn-test true
	before=$(curl -s --unix-socket "$HAMN_SOCK" 'http://d/images/json?all=1' | jq length)
	[ "$(api_status POST "/commit?container=$n&repo=Bad_Upper")" = 400 ]
	[ "$(api_status POST "/commit?container=$n&changes=FROM%20x")" = 400 ]
	[ "$(curl -s --unix-socket "$HAMN_SOCK" 'http://d/images/json?all=1' | jq length)" = "$before" ]
}

@test "a running container can be committed and diffed" {
	local n img
	n=$(unique_name live)
	img=$(unique_name liveimg)
	run_hamn run -d --name "$n" hamn-test sh -c 'echo live > /live; sleep 1000'
	wait_for 10 log_or_file "$n"
	run_hamn commit "$n" "$img"
	run_hamn run --rm "$img" cat /live
	[ "$output" = live ]
	run_hamn rm -f "$n"
}

# log_or_file NAME: the running container has written /live.
log_or_file() {
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" diff "$1" 2>/dev/null | grep -q 'A /live'
}

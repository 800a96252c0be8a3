#!/usr/bin/env bats
# Small gaps closed together, each checked against the real docker CLI where
# docker's behaviour is the reference: build steps and commits record their
# parent image (intermediate images are hidden like docker's, prune keeps
# them, rmi of a child takes them along), POST /build/prune and docker
# system prune, hamn start -a -i, top with ps_args, inspect/ps sizes, and
# start of a paused container.

load container-helpers
load build-helpers

setup_file() { build_setup_file; }
teardown_file() { containers_teardown_file; }
setup() { build_setup; }

teardown() {
	local ids
	[ -n "${HAMN_SOCK:-}" ] || return 0
	ids=$(curl -s --unix-socket "$HAMN_SOCK" 'http://d/containers/json?all=1' | jq -r '.[].Id')
	for id in $ids; do
		curl -s -o /dev/null -X DELETE --unix-socket "$HAMN_SOCK" "http://d/containers/$id?force=1"
	done
}

# ids [ARGS...]: the full IDs `docker images ARGS` lists, sorted, one a line.
ids() {
	dk images --no-trunc -q "$@" | sort -u
}

# image_exists REF: does hamnd know the image?
image_exists() {
	[ "$(api_status GET "/images/$1/json")" = 200 ]
}

# three_steps TAG: build a Dockerfile of three steps (two intermediate images) as TAG;
# the steps depend on TAG's repository, so no other test's build is a cache hit.
three_steps() {
	cat >"$CTX/Dockerfile" <<EOF
FROM hamn-test
RUN echo ${1%%:*} > /one
ENV POLISH=1
RUN echo two > /two
EOF
	run_hamn build -t "$1" "$CTX"
}

# cache_entries: the build cache's entries on disk.
cache_entries() {
	find "$HAMND_ROOT/builder/cache" -maxdepth 1 -type f 2>/dev/null | wc -l
}

@test "build steps are intermediate images: hidden without -a, not dangling, kept by prune" {
	require_docker_cli
	local img top parent grand base
	img=$(unique_name inter)
	base=$(dk image inspect -f '{{.Id}}' hamn-test)
	three_steps "$img:1"
	top=$(dk image inspect -f '{{.Id}}' "$img:1")
	parent=$(dk image inspect -f '{{.Parent}}' "$img:1")
	grand=$(dk image inspect -f '{{.Parent}}' "$parent")
	[[ "$parent" == sha256:* && "$grand" == sha256:* ]]
	[ "$(dk image inspect -f '{{.Parent}}' "$grand")" = "$base" ]
	[ "$(dk image inspect -f '{{.Parent}}' hamn-test)" = "" ]
	# docker images hides them, -a shows them, and they are not dangling
	run ids
	[[ "$output" != *"$parent"* && "$output" == *"$top"* ]]
	run ids -a
	[[ "$output" == *"$parent"* && "$output" == *"$grand"* ]]
	[ -z "$(ids -f dangling=true)" ]
	[ -z "$(ids -a -f dangling=true)" ]
	run_hamn images -a --no-trunc
	[[ "$output" == *"$parent"* ]]
	run_hamn images --no-trunc
	[[ "$output" != *"$parent"* ]]
	# ParentId in the list, as docker-py reads it
	run api GET '/images/json?all=1'
	[ "$(body | jq -r --arg id "$top" '.[] | select(.Id == $id) | .ParentId')" = "$parent" ]
	# prune keeps them: the cache's entries still name images, so a rebuild is all hits
	run_dk image prune -f
	image_exists "$parent" && image_exists "$grand"
	three_steps "$img:1"
	[ "$(grep -c 'Using cache' <<<"$output")" = 3 ]
	[ "$(dk image inspect -f '{{.Id}}' "$img:1")" = "$top" ]
	# history names every step's image
	run_dk history -q --no-trunc "$img:1"
	[ "$(sed -n 2,3p <<<"$output" | tr '\n' ' ')" = "$parent $grand " ]
	run_dk rmi "$img:1"
	! image_exists "$grand" || false
}

@test "rmi: a parent by ID is a conflict; a child takes its untagged parents along" {
	require_docker_cli
	local img top parent grand
	img=$(unique_name rmi)
	three_steps "$img:1"
	top=$(dk image inspect -f '{{.Id}}' "$img:1")
	parent=$(dk image inspect -f '{{.Parent}}' "$img:1")
	grand=$(dk image inspect -f '{{.Parent}}' "$parent")
	run_dk 1 rmi -f "$parent"
	[[ "$output" == *"conflict: unable to delete ${parent:7:12} (cannot be forced) - image has dependent child images"* ]]
	run api DELETE "/images/$grand"
	[ "$(status_of)" = 409 ]
	# a second tag on the top, then --no-prune keeps the parents
	run_dk tag "$img:1" "$img:2"
	run_dk rmi "$img:1"
	[ "$output" = "Untagged: $img:1" ]
	run_dk rmi --no-prune "$img:2"
	[[ "$output" == *"Deleted: $top"* ]]
	[[ "$output" != *"Deleted: $parent"* ]]
	image_exists "$parent"
	# now $parent is dangling; rmi of it takes $grand along, and hamn-test stays
	[ "$(ids -f dangling=true)" = "$parent" ]
	run_hamn rmi "$parent"
	[[ "$output" == *"Deleted: $parent"* && "$output" == *"Deleted: $grand"* ]]
	! image_exists "$grand" || false
	image_exists hamn-test
	# the same through a tag: rmi of the tagged top deletes the whole chain
	three_steps "$img:3"
	parent=$(dk image inspect -f '{{.Parent}}' "$img:3")
	run_dk rmi "$img:3"
	[ "$(grep -c '^Deleted: sha256:' <<<"$output")" -ge 3 ]
	! image_exists "$parent" || false
}

@test "commit records the container's image as the parent" {
	require_docker_cli
	local n img base
	n=$(unique_name commit)
	img=$(unique_name committed)
	base=$(dk image inspect -f '{{.Id}}' hamn-test)
	run_dk run --name "$n" hamn-test sh -c 'echo x > /x'
	run_dk commit "$n" "$img:1"
	[ "$(dk image inspect -f '{{.Parent}}' "$img:1")" = "$base" ]
	# the tagged base is no intermediate: it keeps its tag and is listed
	run ids
	[[ "$output" == *"$base"* ]]
	run_dk rm "$n"
	run_dk rmi "$img:1"
	image_exists hamn-test
}

@test "docker builder prune and system prune empty the build cache (POST /build/prune)" {
	require_docker_cli
	local img
	img=$(unique_name cache)
	three_steps "$img:1"
	[ "$(cache_entries)" -ge 3 ]
	# until= in the past keeps everything; an unknown filter is a 400
	run api POST '/build/prune?filters=%7B%22until%22%3A%7B%221000h%22%3Atrue%7D%7D'
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c .)" = '{"CachesDeleted":[],"SpaceReclaimed":0}' ]
	run api POST '/build/prune?filters=%7B%22inuse%22%3A%7B%22true%22%3Atrue%7D%7D'
	[ "$(status_of)" = 400 ]
	[[ "$(body)" == *"Invalid filter 'inuse'"* ]]
	run_dk builder prune -f
	[[ "$output" == *"Deleted build cache objects:"* ]]
	[[ "$output" == *"Total reclaimed space:"* ]]
	[ "$(cache_entries)" = 0 ]
	# the next build runs every step again, and fills the cache
	three_steps "$img:1"
	[ "$(grep -c 'Using cache' <<<"$output")" = 0 ]
	[ "$(cache_entries)" -ge 3 ]
	run api POST '/build/prune'
	[ "$(status_of)" = 200 ]
	[ "$(body | jq '.CachesDeleted | length')" -ge 3 ]
	[ "$(body | jq '.SpaceReclaimed')" -gt 0 ]
	three_steps "$img:1"
	run_dk system prune -f
	[ "$(cache_entries)" = 0 ]
	# the tagged image and its steps survive system prune (not dangling)
	image_exists "$img:1"
	image_exists "$(dk image inspect -f '{{.Parent}}' "$img:1")"
	# hamn's system prune empties the cache too
	three_steps "$img:2"
	run_hamn system prune -f
	[[ "$output" == *"Deleted Build Cache:"* ]]
	[ "$(cache_entries)" = 0 ]
	run_dk rmi "$img:1" "$img:2"
}

@test "hamn start -a streams the output and exits with the container's code; -i feeds stdin" {
	local n m
	n=$(unique_name start-a)
	m=$(unique_name start-i)
	run_hamn create --name "$n" hamn-test sh -c 'echo out; echo err >&2; exit 3'
	run_hamn 3 start -a "$n"
	[[ "$output" == *out* && "$output" == *err* ]]
	# again: a second start -a shows the new run only
	run_hamn 3 start -a "$n"
	[ "$(grep -c '^out$' <<<"$output")" = 1 ]
	run_hamn create -i --name "$m" hamn-test sh -c 'read a; read b; echo "got $a $b"; exit 4'
	run_cmd 4 bash -c "printf 'x\ny\n' | '$HAMN_BIN' -H 'unix://$HAMN_SOCK' start -a -i '$m'"
	[ "$output" = "got x y" ]
	# -i alone attaches too (as docker's start -i)
	run_hamn create -i --name "$m-2" hamn-test sh -c 'read a; read b; echo "got $a $b"; exit 4'
	run_cmd 4 bash -c "printf 'p\nq\n' | '$HAMN_BIN' -H 'unix://$HAMN_SOCK' start -i '$m-2'"
	[ "$output" = "got p q" ]
	run_hamn 1 start -a "$n" "$m"
	[[ "$output" == *"cannot start and attach multiple containers at once"* ]]
	# as docker's CLI: a tty container's stdin must be a terminal
	run_hamn create -t -i --name "$m-tty" hamn-test true
	run_cmd 1 bash -c "'$HAMN_BIN' -H 'unix://$HAMN_SOCK' start -a -i '$m-tty' </dev/null"
	[[ "$output" == *"the input device is not a TTY"* ]]
	[ "$(state "$m-tty")" = created ]
	run_hamn 1 start -a nosuch-container
	[[ "$output" == *"No such container"* ]]
	# a --rm container is waited for until it is gone
	run_hamn create --rm --name "$n-rm" hamn-test sh -c 'exit 6'
	run_hamn 6 start -a "$n-rm"
	[ "$(api_status GET "/containers/$n-rm/json")" = 404 ]
}

@test "top honours ps_args: -ef, aux, -o lists; anything else is a 400" {
	require_docker_cli
	local n pid
	n=$(unique_name top)
	run_dk run -d --name "$n" hamn-test sh -c 'sleep 1001 & exec sleep 1002'
	wait_for 10 is_state "$n" running
	pid=$(dk inspect -f '{{.State.Pid}}' "$n")
	wait_for 10 eval '[ "$(dk top "$n" -o pid | wc -l)" = 3 ]'
	run_dk top "$n"
	[[ "$(head -1 <<<"$output")" =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$ ]]
	[[ "$output" == *"sleep 1002"* && "$output" == *"sleep 1001"* ]]
	run_dk top "$n" aux
	[[ "$(head -1 <<<"$output")" =~ ^USER\ +PID\ +%CPU\ +%MEM\ +VSZ\ +RSS\ +TTY\ +STAT\ +START\ +TIME\ +COMMAND$ ]]
	# the init is a session leader (Ss); RSS and VSZ are KiB, as ps gives them
	run api GET "/containers/$n/top?ps_args=aux"
	[ "$(body | jq -r --arg p "$pid" '.Processes[] | select(.[1] == $p) | .[7]')" = Ss ]
	[ "$(body | jq -r --arg p "$pid" '.Processes[] | select(.[1] == $p) | .[5]')" -gt 0 ]
	run_dk top "$n" -o pid,comm
	[ "$(head -1 <<<"$output" | tr -s ' ')" = "PID COMMAND" ]
	[[ "$output" =~ $pid\ +sleep ]]
	run api GET "/containers/$n/top?ps_args=-o%20pid,ppid,user,comm,args,rss,vsz,stat,time"
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c .Titles)" = '["PID","PPID","USER","COMMAND","COMMAND","RSS","VSZ","STAT","TIME"]' ]
	[ "$(body | jq -r --arg p "$pid" '.Processes[] | select(.[0] == $p) | .[4]')" = "sleep 1002" ]
	[ "$(body | jq -r --arg p "$pid" '.Processes[] | select(.[0] == $p) | .[2]')" = root ]
	[ "$(body | jq -r --arg p "$pid" '.Processes[] | select(.[0] == $p) | .[8]')" = 00:00:00 ]
	# the host's ps agrees on the numbers it can see (pid, ppid, vsz)
	[ "$(body | jq -r --arg p "$pid" '.Processes[] | select(.[0] == $p) | "\(.[1]) \(.[6])"')" = \
		"$(ps -o ppid=,vsz= -p "$pid" | tr -s ' ' | sed 's/^ //')" ]
	run api GET "/containers/$n/top?ps_args=-o%20pid,bogus"
	[ "$(status_of)" = 400 ]
	[[ "$(body)" == *"unsupported -o field 'bogus'"* ]]
	run_dk 1 top "$n" -L
	[[ "$output" == *"unsupported option '-L'"* ]]
	run_hamn top "$n" -o pid,stat
	[[ "$output" == *STAT* ]]
}

@test "inspect --size and ps --size report the writable layer and the root filesystem" {
	require_docker_cli
	local n image_size
	n=$(unique_name size)
	image_size=$(dk image inspect -f '{{.Size}}' hamn-test)
	run_dk run --name "$n" hamn-test sh -c 'head -c 12345 /dev/zero > /blob'
	run_dk inspect -s -f '{{.SizeRw}} {{.SizeRootFs}}' "$n"
	[ "$output" = "12345 $((image_size + 12345))" ]
	run api GET "/containers/$n/json"
	[ "$(body | jq 'has("SizeRw")')" = false ]
	run api GET "/containers/$n/json?size=1"
	[ "$(body | jq .SizeRw)" = 12345 ]
	run api GET '/containers/json?all=1&size=1'
	[ "$(body | jq --arg n "/$n" '.[] | select(.Names[0] == $n) | .SizeRootFs')" = \
		"$((image_size + 12345))" ]
	run api GET '/containers/json?all=1'
	[ "$(body | jq '.[0] | has("SizeRw")')" = false ]
	run_dk ps -a -s --filter "name=$n"
	[[ "$(head -1 <<<"$output")" == *SIZE ]]
	[[ "$output" == *"12.3kB (virtual "* ]]
	run_hamn ps -a -s --filter "name=$n"
	[[ "$(head -1 <<<"$output")" == *SIZE ]]
	[[ "$output" == *"12.3kB (virtual "* ]]
	run_hamn ps -a --filter "name=$n" --format '{{.Names}} {{.Size}}'
	[[ "$output" == "$n 12.3kB (virtual "* ]]
	run_hamn inspect -s -f '{{.SizeRw}}' "$n"
	[ "$output" = 12345 ]
}

@test "start of a paused container is a 409 that says to unpause" {
	require_docker_cli
	local n
	n=$(unique_name paused)
	run_dk run -d --name "$n" hamn-test sleep 1000
	run_dk pause "$n"
	run_dk 1 start "$n"
	[[ "$output" == *"cannot start a paused container, try unpause instead"* ]]
	[ "$(api_status POST "/containers/$n/start")" = 409 ]
	run_hamn 1 start "$n"
	[[ "$output" == *"cannot start a paused container, try unpause instead"* ]]
	[ "$(state "$n")" = paused ]
	run_dk unpause "$n"
	[ "$(state "$n")" = running ]
	# a running one is a 304, as before
	[ "$(api_status POST "/containers/$n/start")" = 304 ]
	# a paused --rm container is not removed by a refused start
	run_dk run -d --rm --name "$n-rm" hamn-test sleep 1000
	run_dk pause "$n-rm"
	[ "$(api_status POST "/containers/$n-rm/start")" = 409 ]
	[ "$(state "$n-rm")" = paused ]
}

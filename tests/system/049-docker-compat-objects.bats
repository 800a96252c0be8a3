#!/usr/bin/env bats
# The docker CLI against hamnd where a differential sweep against dockerd
# 20.10 (API 1.41) found hamnd answering differently, for images, volumes,
# networks and the system commands: exit codes, what is printed and the
# wording of the errors scripts match on. Each test pins dockerd's behaviour
# as observed; none needs a dockerd.
#
# The daemon gets a default bridge named after this file's pid in a
# 10.213.X.0/22 that overlaps no route of the host (net-helpers.bash); the
# user networks made here live in 10.213.X+1.0/24 and X+2.

load container-helpers
load net-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	net_daemon_setup_file hco
}

teardown_file() {
	net_daemon_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	require_docker_cli
}

teardown() {
	local t
	net_teardown
	if [ -f "$BATS_TEST_TMPDIR/tags" ]; then
		while read -r t; do dk rmi -f "$t" >/dev/null 2>&1 || true; done \
			<"$BATS_TEST_TMPDIR/tags"
	fi
	dk image prune -f >/dev/null 2>&1 || true
}

# tagged NAME: tag hamn-test as a name of this test (removed by teardown); prints it.
tagged() {
	local n
	n=$(unique_name "$1"):t
	echo "$n" >>"$BATS_TEST_TMPDIR/tags"
	dk tag hamn-test "$n"
	echo "$n"
}

# err_is TEXT...: the last command's output ends with the line TEXT (the words joined by a space).
err_is() {
	[ "$(printf '%s\n' "$output" | tail -n 1)" = "$*" ] || {
		echo "expected the last line to be: $*" >&2
		return 1
	}
}

# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------

@test "images --filter reference lists only the matching tags of an image" {
	local a b
	a=$(tagged refa)
	b=$(tagged refb)
	run_dk images --format '{{.Repository}}:{{.Tag}}' --filter "reference=${a%:t}"
	[ "$output" = "$a" ]
	# an image argument is a reference filter too
	run_dk images --format '{{.Repository}}:{{.Tag}}' "${b%:t}"
	[ "$output" = "$b" ]
	# several patterns: each matching tag once, the others not at all
	run_dk images --format '{{.Repository}}:{{.Tag}}' --filter "reference=${a%:t}" \
		--filter "reference=${b%:t}"
	[ "$(sort <<<"$output")" = "$(printf '%s\n' "$a" "$b" | sort)" ]
	run api GET "/images/json?filters=$(jq -rn --arg r "${a%:t}" '{reference:[$r]}|@uri')"
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c '[.[].RepoTags]')" = "[[\"$a\"]]" ]
}

@test "an untagged image is listed with dockerd's <none> placeholders" {
	local id
	id=$(dk import "$HAMN_FIXTURES/rootfs.tar")
	run api GET '/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D'
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c --arg id "$id" '.[] | select(.Id == $id) | [.RepoTags, .RepoDigests]')" = \
		'[["<none>:<none>"],["<none>@<none>"]]' ]
	run api GET /system/df
	[ "$(body | jq -c --arg id "$id" '.Images[] | select(.Id == $id) | .RepoTags')" = \
		'["<none>:<none>"]' ]
	# inspect keeps the empty lists, as dockerd's
	run_dk image inspect -f '{{json .RepoTags}} {{json .RepoDigests}}' "$id"
	[ "$output" = '[] []' ]
	run_dk images --filter dangling=true --format '{{.Repository}}:{{.Tag}} {{.ID}}'
	[[ "$output" == *"<none>:<none> ${id:7:12}"* ]]
}

@test "an image's size counts its symlinks' targets, as dockerd's" {
	local root=$HAMN_FIXTURES/rootfs files links
	# regular files once per inode, plus the length of each symlink's target
	files=$(find "$root" -type f -printf '%i %s\n' | sort -u -k1,1 | awk '{s += $2} END {print s}')
	links=$(find "$root" -type l -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	[ "$links" -gt 0 ]
	run_dk image inspect -f '{{.Size}}' hamn-test
	[ "$output" = "$((files + links))" ]
	run_dk history -H=false --format '{{.Size}}' hamn-test
	[ "$output" = "$((files + links))" ]
}

@test "system df shares a layer only among listed images, not a build's intermediates" {
	local ctx=$BATS_TEST_TMPDIR/ctx t base
	t=$(unique_name dfb):t
	echo "$t" >>"$BATS_TEST_TMPDIR/tags"
	mkdir -p "$ctx"
	printf 'FROM hamn-test\nRUN echo abcde > /f\nLABEL step=two\n' >"$ctx/Dockerfile"
	DOCKER_BUILDKIT=0 run_dk build -q -t "$t" "$ctx"
	base=$(dk image inspect -f '{{.Size}}' hamn-test)
	# the RUN layer (6 bytes) is under the intermediate image too, yet only t lists it
	run api GET /system/df
	[ "$(body | jq -c --arg t "$t" '.Images[] | select(.RepoTags[0] == $t) |
		[.Size, .SharedSize]')" = "[$((base + 6)),$base]" ]
	run_dk system df -v --format '{{range .Images}}{{.Repository}}:{{.Tag}} {{.UniqueSize}};{{end}}'
	[[ "$output" == *"$t 6B;"* ]]
}

@test "image prune with a label filter takes the untagged parents along, as dockerd" {
	local ctx=$BATS_TEST_TMPDIR/ctx t before
	t=$(unique_name prl):t
	echo "$t" >>"$BATS_TEST_TMPDIR/tags"
	mkdir -p "$ctx"
	# the ARG step's image has no label: it must go with the labelled ones
	printf 'FROM hamn-test\nARG X=1\nLABEL prune.me=yes\nRUN echo hi > /f\n' >"$ctx/Dockerfile"
	before=$(dk images -a -q --no-trunc | sort)
	DOCKER_BUILDKIT=0 run_dk build -q -t "$t" "$ctx"
	[ "$(dk images -a -q | wc -l)" -eq "$(($(wc -l <<<"$before") + 3))" ]
	run_dk image prune -a -f --filter label=prune.me=yes
	[[ "$output" == *"untagged: $t"* ]]
	[ "$(dk images -a -q --no-trunc | sort)" = "$before" ]
}

@test "unknown and bad filters get dockerd's Invalid filter wording" {
	run_dk 1 images --filter colour=red
	err_is "Error response from daemon: Invalid filter 'colour'"
	run_dk 1 images --filter dangling=maybe
	err_is "Error response from daemon: Invalid filter 'dangling=[maybe]'"
	run_dk 1 image prune -f --filter colour=red
	err_is "Error response from daemon: Invalid filter 'colour'"
	run_dk 1 volume ls --filter colour=red
	err_is "Error response from daemon: Invalid filter 'colour'"
	run_dk 1 volume ls --filter dangling=maybe
	err_is "Error response from daemon: Invalid filter 'dangling=[maybe]'"
	run_dk 1 volume prune -f --filter until=1h
	err_is "Error response from daemon: Invalid filter 'until'"
	run_dk 1 network ls --filter colour=red
	err_is "Error response from daemon: Invalid filter 'colour'"
	run_dk 1 network ls --filter type=bogus
	err_is "Error response from daemon: invalid filter: 'type'='bogus'"
	run_dk network ls -q --filter type=builtin
	[ "$(wc -l <<<"$output")" = 3 ]
}

@test "prune with a bad until says it cannot parse it, as dockerd" {
	run_dk 1 image prune -f --filter until=xyz
	err_is 'Error response from daemon: failed to parse value as time or duration: "xyz"'
	run_dk 1 network prune -f --filter until=xyz
	err_is 'Error response from daemon: failed to parse value as time or duration: "xyz"'
}

@test "save of an unknown image names it as given" {
	run_dk 1 save -o "$BATS_TEST_TMPDIR/x.tar" nosuch
	err_is "Error response from daemon: No such image: nosuch"
	[ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
	run api GET '/images/get?names=hamn-test&names=nosuch:2'
	[ "$(status_of)" = 404 ]
	[ "$(body | jq -r .message)" = "No such image: nosuch:2" ]
}

@test "load says which image it takes a tag from, as dockerd" {
	local ctx=$BATS_TEST_TMPDIR/ctx t other
	t=$(tagged mv)
	run_dk save -o "$BATS_TEST_TMPDIR/t.tar" "$t"
	mkdir -p "$ctx"
	printf 'FROM hamn-test\nLABEL moved=yes\n' >"$ctx/Dockerfile"
	DOCKER_BUILDKIT=0 run_dk build -q -t "$t" "$ctx"
	other=$(dk image inspect -f '{{.Id}}' "$t")
	run_dk load -i "$BATS_TEST_TMPDIR/t.tar"
	[ "$output" = "The image $t already exists, renaming the old one with ID $other to empty string
Loaded image: $t" ]
	[ "$(dk image inspect -f '{{.Id}}' "$t")" = "$(dk image inspect -f '{{.Id}}' hamn-test)" ]
	# again: nothing moves
	run_dk load -q -i "$BATS_TEST_TMPDIR/t.tar"
	[ "$output" = "Loaded image: $t" ]
}

# ---------------------------------------------------------------------------
# volumes
# ---------------------------------------------------------------------------

@test "volume create refusals say which create failed, in dockerd's words" {
	local v
	v=$(unique_name vc)
	run_dk 1 volume create -o bogus=1 "$v"
	err_is "Error response from daemon: create $v: invalid option: \"bogus\""
	run_dk 1 volume create -o type=nfs "$v"
	err_is "Error response from daemon: create $v: missing required option: \"device\""
	run_dk 1 volume create -d nosuch "$v"
	err_is "Error response from daemon: create $v: error looking up volume plugin nosuch:" \
		'plugin "nosuch" not found'
	# an anonymous one is named before it is refused
	run_dk 1 volume create -o bogus=1
	[[ "$(printf '%s\n' "$output" | tail -n 1)" =~ \
		^"Error response from daemon: create "[0-9a-f]{64}": invalid option: \"bogus\""$ ]]
	run_dk volume ls -q --filter "name=$v"
	[ -z "$output" ]
}

# ---------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------

@test "network create refusals carry dockerd's messages, without a prefix" {
	local n
	n=$(net dup)
	run_dk network create --subnet "10.213.$((X + 1)).0/24" "$n"
	run_dk 1 network create "$n"
	err_is "Error response from daemon: network with name $n already exists"
	run_dk 1 network create --driver nosuch "$(net drv)"
	err_is 'Error response from daemon: plugin "nosuch" not found'
	run_dk 1 network create --subnet "10.213.$((X + 1)).128/25" "$(net ov)"
	err_is "Error response from daemon: Pool overlaps with other one on this address space"
	run_dk 1 network create --subnet nonsense "$(net bad)"
	err_is "Error response from daemon: Invalid subnet nonsense : invalid CIDR address: nonsense"
	# a user network's IPAM options are an empty map, the predefined ones' null
	run_dk network inspect -f '{{json .IPAM.Options}}' "$n"
	[ "$output" = '{}' ]
	run_dk network inspect -f '{{json .IPAM.Options}}' bridge
	[ "$output" = null ]
	run_dk network inspect -f '{{json .IPAM.Options}}' none
	[ "$output" = null ]
}

@test "network connect and disconnect of created and running containers, as dockerd" {
	local n c none
	n=$(net cd)
	c=$(ctr cd)
	none=$(ctr none)
	run_dk network create --subnet "10.213.$((X + 2)).0/24" "$n"
	run_dk create --name "$none" --network none hamn-test sleep 1000
	run_dk 1 network connect "$n" "$none"
	err_is "Error response from daemon: container cannot be connected to multiple networks" \
"with one of the networks in private (none) mode"
	run_dk create --name "$c" --network "$n" hamn-test sleep 1000
	# connecting a created container again changes nothing
	run_dk network connect "$n" "$c"
	[ "$(dk inspect -f '{{len .NetworkSettings.Networks}}' "$c")" = 1 ]
	run_dk network disconnect "$n" "$c"
	run_dk 1 network disconnect "$n" "$c"
	err_is "Error response from daemon: container $(dk inspect -f '{{.Id}}' "$c") is not" \
"connected to the network $n"
	# a running container's wording has no "the"
	run_dk start "$c"
	run_dk 1 network disconnect "$n" "$c"
	err_is "Error response from daemon: container $(dk inspect -f '{{.Id}}' "$c") is not" \
"connected to network $n"
	run_dk network connect "$n" "$c"
	run_dk 1 network connect "$n" "$c"
	err_is "Error response from daemon: endpoint with name $c already exists in network $n"
}

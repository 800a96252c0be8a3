#!/usr/bin/env bats
# libnftables is opened only when hamnd has a bridge to guard (src/network/nft.c):
# a --bridge none daemon never maps it and never makes a table; the first user
# bridge makes the table and the marker file nft-table in the network state
# directory; removing the last bridge deletes both; a restart with a marker
# left behind (the table from an earlier run) deletes the stale table.
# The network made here is --internal in a 10.213.X.0/22 that overlaps no
# route of the host: no traffic leaves loopback.

load container-helpers
load net-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	containers_setup_file
	export INST X
	INST=hamn_$(printf %s "$HAMND_EXEC_ROOT" | sha256sum | cut -c1-8)
	X=$(pick_block) || { echo "no free 10.213.X.0/22 on this host" >&2; return 1; }
}

teardown_file() {
	local n
	if [ -n "${HAMND_PID:-}" ] && hamnd_answers "$HAMN_SOCK"; then
		for n in $(hamn network ls -q --filter type=custom); do
			hamn network rm "$n" >/dev/null 2>&1 || true
		done
	fi
	containers_teardown_file
	nft delete table ip "$INST" 2>/dev/null || true
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# maps_nft: does the running hamnd map libnftables?
maps_nft() {
	grep -q libnftables "/proc/$HAMND_PID/maps"
}

has_table() {
	nft list tables | grep -qxF "table ip $INST"
}

@test "a daemon without bridges never loads libnftables nor makes a table" {
	! maps_nft || false
	! has_table || false
	[ ! -e "$HAMND_ROOT/network/nft-table" ]
	# containers without a network do not change that
	hamn run --rm --network none hamn-test true
	! maps_nft || false
}

@test "the first bridge makes the table and the marker; removing the last deletes both" {
	hamn network create --internal --subnet "10.213.$X.0/24" "lazy-$$" >/dev/null
	maps_nft
	has_table
	[ -f "$HAMND_ROOT/network/nft-table" ]
	hamn network rm "lazy-$$" >/dev/null
	! has_table || false
	[ ! -e "$HAMND_ROOT/network/nft-table" ]
}

@test "a table left by an earlier run is deleted at start, and only then is the library loaded" {
	local id l
	id=$(hamn network create --internal --subnet "10.213.$X.0/24" "lazy-$$")
	has_table
	# the daemon dies with its bridge in place; while it is down the network goes
	# (as if another run had removed it), its table and marker stay
	kill -9 "$HAMND_PID"
	wait_for 10 not kill -0 "$HAMND_PID"
	rm "$HAMND_ROOT/network/$id.json"
	for l in $(ip -o link show | grep -F "alias hamn:$INST:" | awk -F': ' '{print $2}'); do
		ip link del "${l%@*}"
	done
	has_table
	[ -f "$HAMND_ROOT/network/nft-table" ]
	start_hamnd
	maps_nft
	! has_table || false
	[ ! -e "$HAMND_ROOT/network/nft-table" ]
	# the next start of the same daemon has nothing to clean and loads nothing
	stop_hamnd
	start_hamnd
	! maps_nft || false
}

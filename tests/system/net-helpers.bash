# net-helpers.bash - shared by the networking tests (050-network-lib,
# 060-networks, 065-gaps): a 10.213.X.0/22 of the file's own that overlaps
# no route of the host, and (for the files that run hamnd, after
# container-helpers) a daemon whose default bridge is named after the file's
# pid and lives in that block, the clean-up of what such a daemon leaves by
# design, and small helpers their tests share. Traffic goes only to
# loopback, the file's own bridges and its containers.

# pick_block: an X (multiple of 4) such that 10.213.X.0/22 overlaps no route of any table.
pick_block() {
	ip -4 -o route show table all | python3 -c '
import ipaddress, random, sys
nets = []
for line in sys.stdin:
    for tok in line.split():
        try:
            nets.append(ipaddress.ip_network(tok, strict=False))
            break
        except ValueError:
            continue
cands = list(range(16, 240, 4))
random.shuffle(cands)
for x in cands:
    block = ipaddress.ip_network("10.213.%d.0/22" % x)
    if not any(block.overlaps(n) for n in nets if n.prefixlen > 0):
        print(x)
        sys.exit(0)
sys.exit(1)'
}

# net_daemon_setup_file PREFIX: start this file's hamnd (containers_setup_file)
# with the default bridge PREFIX<pid> on 10.213.X.1/24 and the pool
# 10.213.X+3.0/24 for networks made without a subnet; X+1 and X+2 are left
# to the file's own networks. Exports TAG, BR, X, HAMND_NET_ARGS (for a
# restart) and INST (the daemon's nft table and link alias).
net_daemon_setup_file() {
	export TAG="$$" BR="$1$$"
	export X
	X=$(pick_block) || { echo "no free 10.213.X.0/22 on this host" >&2; return 1; }
	export HAMND_NET_ARGS="--bridge $BR --bip 10.213.$X.1/24 --ip-forward=false"
	HAMND_NET_ARGS+=" --default-address-pool base=10.213.$((X + 3)).0/24,size=28"
	# shellcheck disable=SC2086
	containers_setup_file $HAMND_NET_ARGS
	export INST
	INST=hamn_$(printf %s "$HAMND_EXEC_ROOT" | sha256sum | cut -c1-8)
}

# net_daemon_teardown_file: remove the containers and custom networks, stop
# hamnd (checking its leftovers), then the default bridge, the links and the
# nft table, which outlive a daemon by design.
net_daemon_teardown_file() {
	local n l
	[ -n "${TAG:-}" ] || return 0
	if [ -n "${HAMND_PID:-}" ] && hamnd_answers "$HAMN_SOCK"; then
		for n in $(hamn ps -aq); do hamn rm -f "$n" >/dev/null 2>&1 || true; done
		for n in $(hamn network ls -q --filter type=custom); do
			hamn network rm "$n" >/dev/null 2>&1 || true
		done
	fi
	containers_teardown_file
	ip link del "$BR" 2>/dev/null || true
	for l in $(ip -o link show | grep -F "alias hamn:$INST:" | awk -F': ' '{print $2}'); do
		ip link del "${l%@*}" 2>/dev/null || true
	done
	nft delete table ip "$INST" 2>/dev/null || true
}

# net_teardown: remove the containers (ctr) and networks (net) of this test.
net_teardown() {
	local n
	if [ -f "$BATS_TEST_TMPDIR/ctrs" ]; then
		while read -r n; do hamn rm -f "$n" >/dev/null 2>&1 || true; done \
			<"$BATS_TEST_TMPDIR/ctrs"
	fi
	if [ -f "$BATS_TEST_TMPDIR/nets" ]; then
		while read -r n; do hamn network rm "$n" >/dev/null 2>&1 || true; done \
			<"$BATS_TEST_TMPDIR/nets"
	fi
}

hamn() {
	timeout 60 "$HAMN_BIN" -H "unix://$HAMN_SOCK" "$@"
}

# ctr NAME / net NAME: a name for this test, removed by net_teardown.
ctr() {
	local n
	n=$(unique_name "$1")
	echo "$n" >>"$BATS_TEST_TMPDIR/ctrs"
	echo "$n"
}
net() {
	local n
	n=$(unique_name "$1")
	echo "$n" >>"$BATS_TEST_TMPDIR/nets"
	echo "$n"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cjq NAME FILTER: jq FILTER over the container's inspect object.
cjq() {
	hamn inspect "$1" | jq -r ".[0] | $2"
}

# answers URL TEXT: curl from the host gets TEXT (for wait_for).
answers() {
	curl -s -m 2 "$1" 2>/dev/null | grep -qF -- "$2"
}

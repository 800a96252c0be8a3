#!/usr/bin/env bats
# src/network on the real kernel, through its test driver
# (build/tests/helpers/hamn-netctl, a tiny server holding one hamn_net_ctx):
# bridges, veths, IPAM, embedded DNS, published ports, isolation, --internal,
# restart, reconcile and clean-up.
#
# Everything here is named after this file's pid (instance, bridge, netns,
# nft table) and uses a 10.213.X.0/22 pool clear of the host's routes.
# Traffic only ever goes to loopback and to this file's own bridges and
# netns; "upstream" DNS is a fake server on 127.0.0.1. The containers are
# plain netns made with `ip netns add` (the library itself never runs ip).

load helpers
load net-helpers

NETCTL="$HAMN_BUILD/tests/helpers/hamn-netctl"

setup_file() {
	require_root
	[ -x "$NETCTL" ] || { echo "missing $NETCTL" >&2; return 1; }
	export TAG="$$"
	export INST="hamnt_$TAG" BR="hbt$TAG" NS="hnt$TAG"
	export SOCK="$BATS_FILE_TMPDIR/netctl.sock" STATE="$BATS_FILE_TMPDIR/state"
	export X
	X=$(pick_block) || { echo "no free 10.213.X.0/22 on this host" >&2; return 1; }
	export POOL="10.213.$X.0/22"
	start_fake_dns
	start_server
	netctl reconcile
}

teardown_file() {
	[ -n "${INST:-}" ] || return 0
	if [ -S "$SOCK" ]; then
		netctl purge || true
		stop_server || true
	fi
	[ -f "$BATS_FILE_TMPDIR/fakedns.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/fakedns.pid")" 2>/dev/null
	# safety net if the driver died: whatever carries this file's names
	local l
	for l in $(ip -o link show | grep -F "alias hamn:$INST:" | awk -F': ' '{print $2}'); do
		ip link del "${l%@*}" 2>/dev/null || true
	done
	ip link del "$BR" 2>/dev/null || true
	nft delete table ip "$INST" 2>/dev/null || true
	for l in $(ip netns list | awk '{print $1}' | grep "^$NS-"); do
		ip netns del "$l" || true
	done
}

setup() {
	require_root
}

teardown() {
	local x
	if [ -f "$BATS_TEST_TMPDIR/eps" ]; then
		while read -r x; do netctl disconnect "$x" 2>/dev/null || true; done <"$BATS_TEST_TMPDIR/eps"
	fi
	if [ -f "$BATS_TEST_TMPDIR/nets" ]; then
		while read -r x; do netctl rm "$x" 2>/dev/null || true; done <"$BATS_TEST_TMPDIR/nets"
	fi
	if [ -f "$BATS_TEST_TMPDIR/netns" ]; then
		while read -r x; do ip netns del "$x" 2>/dev/null || true; done <"$BATS_TEST_TMPDIR/netns"
	fi
	if [ -f "$BATS_TEST_TMPDIR/links" ]; then
		while read -r x; do ip link del "$x" 2>/dev/null || true; done <"$BATS_TEST_TMPDIR/links"
	fi
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# refute CMD...: CMD must fail. (A bare "! cmd" never fails a bats test.)
refute() {
	if "$@"; then
		echo "unexpectedly succeeded: $*" >&2
		return 1
	fi
}

# start_fake_dns: answers A queries for *.test with 192.0.2.77, other types of
# *.test with nothing, and NXDOMAIN for everything else.
start_fake_dns() {
	cat >"$BATS_FILE_TMPDIR/fakedns.py" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    data, addr = s.recvfrom(4096)
    i, labels = 12, []
    while i < len(data) and data[i]:
        labels.append(data[i + 1:i + 1 + data[i]].decode("latin1"))
        i += 1 + data[i]
    qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
    q = data[12:i + 5]
    if ".".join(labels).lower().endswith(".test") and qtype == 1:
        resp = data[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + q + \
            struct.pack(">HHHIH", 0xc00c, 1, 1, 60, 4) + bytes([192, 0, 2, 77])
    elif ".".join(labels).lower().endswith(".test"):
        resp = data[:2] + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + q
    else:
        resp = data[:2] + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + q
    s.sendto(resp, addr)
EOF
	python3 "$BATS_FILE_TMPDIR/fakedns.py" "$BATS_FILE_TMPDIR/fakedns.port" \
		>"$BATS_FILE_TMPDIR/fakedns.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/fakedns.pid"
	wait_for 10 test -s "$BATS_FILE_TMPDIR/fakedns.port"
	export DNS_PORT
	DNS_PORT=$(cat "$BATS_FILE_TMPDIR/fakedns.port")
}

start_server() {
	rm -f "$SOCK"
	"$NETCTL" serve --sock "$SOCK" --state "$STATE" --instance "$INST" --bridge "$BR" \
		--pool "$POOL/24" --upstream "127.0.0.1:$DNS_PORT" --resolv /dev/null \
		>>"$BATS_FILE_TMPDIR/server.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/server.pid"
	wait_for 10 test -S "$SOCK"
}

stop_server() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/server.pid")
	netctl quit
	wait_for 10 eval "! kill -0 $pid 2>/dev/null"
}

netctl() {
	"$NETCTL" --sock "$SOCK" "$@"
}

# mkns NAME: a netns "$NS-NAME", deleted in teardown.
mkns() {
	ip netns add "$NS-$1"
	echo "$NS-$1" >>"$BATS_TEST_TMPDIR/netns"
}

# mknet NAME ARGS...: create a network, removed in teardown; prints its id.
mknet() {
	local id
	id=$(netctl create "$@") || return 1
	echo "$1" >>"$BATS_TEST_TMPDIR/nets"
	echo "$id"
}

# attach NET CONTAINER NETNS ARGS...: connect, disconnected in teardown; prints the endpoint id.
attach() {
	local ep
	ep=$(netctl connect "$1" "$2" "/run/netns/$NS-$3" "${@:4}") || return 1
	echo "$ep" >>"$BATS_TEST_TMPDIR/eps"
	echo "$ep"
}

# ep_field EP JQ: a field of the driver's endpoint JSON.
ep_field() {
	netctl endpoint "$1" | jq -r "$2"
}

# in_ns NAME CMD...: run CMD inside "$NS-NAME".
in_ns() {
	local n=$1
	shift
	ip netns exec "$NS-$n" "$@"
}

# listen_once NETNS PORT FILE: a TCP listener in the netns writing what it gets to FILE.
listen_once() {
	in_ns "$1" timeout 20 busybox nc -l -p "$2" >"$3" 2>/dev/null 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/listener.pid"
	wait_for 10 eval "in_ns $1 ss -Hltn 'sport = :$2' | grep -q LISTEN"
}

# expect_received FILE TEXT: the listener finished and got TEXT.
expect_received() {
	wait "$(cat "$BATS_TEST_TMPDIR/listener.pid")" || true
	grep -qx "$2" "$1" || { echo "listener got: $(cat "$1")" >&2; return 1; }
}

# dns NETNS NAME [TYPE]: busybox nslookup against the embedded server.
dns() {
	local t=${3:+-type=$3}
	run in_ns "$1" timeout 10 busybox nslookup $t "$2" 127.0.0.11
	echo "$output"
}

# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

@test "the default bridge and new networks get subnets from the pool, clear of each other" {
	netctl inspect bridge >"$BATS_TEST_TMPDIR/bridge.json"
	[ "$(jq -r '.IPAM.Config[0].Subnet' "$BATS_TEST_TMPDIR/bridge.json")" = "10.213.$X.0/24" ]
	[ "$(jq -r '.IPAM.Config[0].Gateway' "$BATS_TEST_TMPDIR/bridge.json")" = "10.213.$X.1" ]
	ip -br addr show "$BR" | grep -q "10.213.$X.1/24"
	ip -o link show "$BR" | grep -q "alias hamn:$INST:"

	id=$(mknet "auto-$TAG")
	[ "$(netctl inspect "auto-$TAG" | jq -r '.IPAM.Config[0].Subnet')" = "10.213.$((X + 1)).0/24" ]
	ip -br addr show "br-${id:0:12}" | grep -q "10.213.$((X + 1)).1/24"
	# a subnet that overlaps an existing network is refused
	run netctl create "clash-$TAG" "subnet=10.213.$X.128/25"
	[ "$status" -ne 0 ]
	[[ "$output" == *EEXIST*overlaps* ]]
}

@test "containers on one network reach each other by address and by name" {
	mkns a
	mkns b
	mknet "one-$TAG" "subnet=10.213.$((X + 2)).0/24" >/dev/null
	a=$(attach "one-$TAG" ca a name=alpha alias=web)
	b=$(attach "one-$TAG" cb b name=beta)
	ip_a=$(ep_field "$a" .settings.IPAddress)
	ip_b=$(ep_field "$b" .settings.IPAddress)
	[ "$ip_a" = "10.213.$((X + 2)).2" ]
	[ "$ip_b" = "10.213.$((X + 2)).3" ]
	[ "$(ep_field "$a" .ifname)" = eth0 ]

	# inside: eth0 with the address and docker's MAC, lo up, default route via the gateway
	in_ns a ip -br addr show eth0 | grep -q "$ip_a/24"
	in_ns a ip link show eth0 | grep -q "link/ether 02:42:0a:d5:"
	in_ns a ip -br link show lo | grep -qw UP
	in_ns a ip route | grep -q "default via 10.213.$((X + 2)).1 dev eth0"
	run_cmd ip netns exec "$NS-a" busybox ping -c1 -W5 "$ip_b"

	dns a beta
	[ "$status" -eq 0 ]
	[[ "$output" == *"Address: $ip_b"* ]]
	dns b web
	[[ "$output" == *"Address: $ip_a"* ]]
	dns b ALPHA
	[[ "$output" == *"Address: $ip_a"* ]]
	# AAAA of a known name: an empty answer, not an error
	dns b alpha aaaa
	[ "$status" -eq 0 ]
	refute grep -q '^Address: ' <<<"$output"
	dns b "$(echo "$ip_a" | awk -F. '{print $4"."$3"."$2"."$1}').in-addr.arpa" ptr
	[[ "$output" == *"name = alpha"* ]]
}

@test "other names are forwarded to the host's resolvers" {
	mkns a
	mknet "fwd-$TAG" >/dev/null
	attach "fwd-$TAG" ca a name=alpha >/dev/null
	dns a www.example.test
	[ "$status" -eq 0 ]
	[[ "$output" == *"Address: 192.0.2.77"* ]]
	dns a nosuch.invalid
	[ "$status" -ne 0 ]
	[[ "$output" == *NXDOMAIN* ]]
}

@test "the embedded DNS answers within a millisecond" {
	mkns a
	mknet "fast-$TAG" >/dev/null
	attach "fast-$TAG" ca a name=speedy >/dev/null
	run in_ns a python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
q = struct.pack(">HHHHHH", 1, 0x100, 1, 0, 0, 0) + b"\x06speedy\x00" + struct.pack(">HH", 1, 1)
times = []
for i in range(300):
    t = time.perf_counter()
    s.sendto(q, ("127.0.0.11", 53))
    r = s.recv(512)
    times.append(time.perf_counter() - t)
    assert r[3] & 15 == 0 and r[7] == 1, r
times.sort()
print("median_us=%d p99_us=%d" % (times[150] * 1e6, times[297] * 1e6))
assert times[150] < 0.001, times[150]'
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the embedded DNS serves TCP too, local and forwarded names on one connection" {
	mkns a
	mknet "tcp-$TAG" >/dev/null
	a=$(attach "tcp-$TAG" ca a name=tcpname)
	ip_a=$(ep_field "$a" .settings.IPAddress)
	run in_ns a python3 -c '
import socket, struct, sys
def query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)
s = socket.create_connection(("127.0.0.11", 53), timeout=5)
for qid, name in ((1, "tcpname"), (2, "www.example.test")):
    q = query(qid, name)
    s.sendall(struct.pack(">H", len(q)) + q)
f = s.makefile("rb")
for want in (1, 2):
    n = struct.unpack(">H", f.read(2))[0]
    r = f.read(n)
    qid, flags, qd, an = struct.unpack(">HHHH", r[:8])
    assert qid == want and flags & 0x8000 and flags & 15 == 0 and an == 1, r
    print(".".join(str(b) for b in r[-4:]))'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$ip_a" ]
	[ "${lines[1]}" = 192.0.2.77 ]
}

@test "published ports: from the host on 127.0.0.1 and its addresses, and from containers" {
	mkns a
	mkns b
	id=$(mknet "pub-$TAG")
	a=$(attach "pub-$TAG" ca a name=web port=127.0.0.1::80 port=80)
	attach "pub-$TAG" cb b name=client >/dev/null
	netctl endpoint "$a" >"$BATS_TEST_TMPDIR/a.json"
	cat "$BATS_TEST_TMPDIR/a.json"
	lo_port=$(jq -r '.ports["80/tcp"][] | select(.HostIp == "127.0.0.1") | .HostPort' "$BATS_TEST_TMPDIR/a.json")
	any_port=$(jq -r '.ports["80/tcp"][] | select(.HostIp == "0.0.0.0") | .HostPort' "$BATS_TEST_TMPDIR/a.json")
	gw=$(jq -r .settings.Gateway "$BATS_TEST_TMPDIR/a.json")
	[ "$lo_port" -gt 0 ] && [ "$any_port" -gt 0 ]

	listen_once a 80 "$BATS_TEST_TMPDIR/got"
	echo from-host | timeout 10 busybox nc 127.0.0.1 "$lo_port"
	expect_received "$BATS_TEST_TMPDIR/got" from-host

	listen_once a 80 "$BATS_TEST_TMPDIR/got"
	echo from-host-any | timeout 10 busybox nc 127.0.0.1 "$any_port"
	expect_received "$BATS_TEST_TMPDIR/got" from-host-any

	# hairpin: another container, and the container itself, through the gateway address
	listen_once a 80 "$BATS_TEST_TMPDIR/got"
	echo from-b | in_ns b timeout 10 busybox nc "$gw" "$any_port"
	expect_received "$BATS_TEST_TMPDIR/got" from-b
	listen_once a 80 "$BATS_TEST_TMPDIR/got"
	echo from-self | in_ns a timeout 10 busybox nc "$gw" "$any_port"
	expect_received "$BATS_TEST_TMPDIR/got" from-self

	# the host port is held: nobody else gets it
	mkns c
	run netctl connect "pub-$TAG" cc "/run/netns/$NS-c" "port=127.0.0.1:$lo_port:80"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already allocated"* ]]
	run python3 -c "import socket; socket.socket().bind(('127.0.0.1', $lo_port))"
	[ "$status" -ne 0 ]
	# and the failed connect left no veth behind on the bridge
	[ "$(ip -o link show master "br-${id:0:12}" | wc -l)" -eq 2 ]
}

@test "publishing UDP and a port range" {
	mkns a
	mknet "udp-$TAG" >/dev/null
	a=$(attach "udp-$TAG" ca a name=u)
	# (not 53: the embedded DNS holds 127.0.0.11:53 in the container)
	netctl publish "$a" 127.0.0.1::5353/udp 127.0.0.1::7000-7002
	netctl endpoint "$a" | jq -e '.ports["5353/udp"][0].HostIp == "127.0.0.1"'
	netctl endpoint "$a" | jq -e '.ports | has("7000/tcp") and has("7001/tcp") and has("7002/tcp")'
	udp_port=$(ep_field "$a" '.ports["5353/udp"][0].HostPort')
	nft list table ip "$INST" | grep -q "ip daddr 127.0.0.1 udp dport $udp_port dnat to"
	in_ns a timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
data, peer = s.recvfrom(100)
open(sys.argv[1], "wb").write(data)
s.sendto(b"pong", peer)' "$BATS_TEST_TMPDIR/got" 3>&- &
	pid=$!
	wait_for 10 eval "in_ns a ss -Hlun 'sport = :5353' | grep -q 5353"
	run python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"udp-hello", ("127.0.0.1", int(sys.argv[1])))
print(s.recv(100).decode())' "$udp_port"
	wait "$pid"
	[ "$output" = pong ]
	grep -qx udp-hello "$BATS_TEST_TMPDIR/got"
}

@test "containers on different networks cannot reach each other" {
	mkns a
	mkns c
	mknet "iso1-$TAG" >/dev/null
	id2=$(mknet "iso2-$TAG")
	a=$(attach "iso1-$TAG" ca a name=isolated-a)
	attach "iso2-$TAG" cc c name=isolated-c >/dev/null
	ip_a=$(ep_field "$a" .settings.IPAddress)
	br2="br-${id2:0:12}"

	run in_ns c busybox ping -c1 -W1 "$ip_a"
	[ "$status" -ne 0 ]
	# it was our isolation rule that dropped it (not, say, a missing route)
	nft list table ip "$INST" | grep -E "iifname \"$br2\" oifname != \"$br2\" oifname @bridges counter packets [1-9]"
	# and names do not leak across networks either
	dns c isolated-a
	[[ "$output" != *"$ip_a"* ]]
}

@test "an internal network has no way out" {
	mkns d
	mkns e
	id=$(mknet "int-$TAG" internal)
	attach "int-$TAG" cd d name=inside >/dev/null
	e=$(attach "int-$TAG" ce e name=inside2)
	br="br-${id:0:12}"
	refute eval "in_ns d ip route | grep -q default"
	run in_ns d busybox ping -c1 -W1 "10.213.$X.1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unreachable"* ]]
	nft list table ip "$INST" | grep -q "iifname \"$br\" oifname != \"$br\" counter"
	nft list table ip "$INST" | grep -q "oifname \"$br\" iifname != \"$br\" counter"
	refute eval "nft list table ip $INST | grep -q 'oifname != \"$br\" ip saddr .* masquerade'"
	[ "$(cat "/proc/sys/net/ipv4/conf/$br/forwarding")" = 0 ]
	# inside the network all is well, names included
	run_cmd ip netns exec "$NS-d" busybox ping -c1 -W5 "$(ep_field "$e" .settings.IPAddress)"
	dns d inside2
	[ "$status" -eq 0 ]
	# outside names are not even asked for
	dns d www.example.test
	[[ "$output" == *NXDOMAIN* ]]
	# and no port can be published there
	run netctl publish "$e" 80
	[ "$status" -ne 0 ]
}

@test "addresses: static, released, never handed out twice across a restart" {
	mkns a
	mkns b
	mkns c
	mknet "keep-$TAG" "subnet=10.213.$((X + 3)).0/24" >/dev/null
	a=$(attach "keep-$TAG" ca a name=keeper "ip=10.213.$((X + 3)).50" port=127.0.0.1::80)
	[ "$(ep_field "$a" .settings.IPAMConfig.IPv4Address)" = "10.213.$((X + 3)).50" ]
	lo_port=$(ep_field "$a" '.ports["80/tcp"][0].HostPort')
	run netctl connect "keep-$TAG" cb "/run/netns/$NS-b" "ip=10.213.$((X + 3)).50"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already in use"* ]]
	b=$(attach "keep-$TAG" cb b name=brief)
	ip_b=$(ep_field "$b" .settings.IPAddress)
	veth_b=$(ep_field "$b" .host_ifname)
	netctl disconnect "$b"
	wait_for 10 eval "! ip link show $veth_b >/dev/null 2>&1"
	refute in_ns b ip link show eth0

	stop_server
	start_server
	netctl reconcile "live=$a=/run/netns/$NS-a"
	# the survivor still resolves, its port is still held
	dns a keeper
	[[ "$output" == *"Address: 10.213.$((X + 3)).50"* ]]
	run netctl connect "keep-$TAG" cb "/run/netns/$NS-b" "port=127.0.0.1:$lo_port:80"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already allocated"* ]]
	# a newcomer gets neither the address in use nor the one just released
	c=$(attach "keep-$TAG" cc c name=newcomer)
	ip_c=$(ep_field "$c" .settings.IPAddress)
	[ "$ip_c" != "10.213.$((X + 3)).50" ]
	[ "$ip_c" != "$ip_b" ]
}

@test "reconcile removes what the daemon no longer believes in" {
	mkns a
	mkns b
	mkns c
	keep=$(mknet "alive-$TAG")
	stale=$(mknet "stale-$TAG")
	a=$(attach "alive-$TAG" ca a name=alive)
	gone=$(attach "alive-$TAG" cg b name=gone)
	attach "stale-$TAG" cs c name=stale >/dev/null
	veth_gone=$(ep_field "$gone" .host_ifname)
	# a stranger plugged into our bridge, a link tagged as ours, and one that is not ours
	ip link add "hnv$TAG" type veth peer name "hnw$TAG"
	echo "hnv$TAG" >>"$BATS_TEST_TMPDIR/links"
	ip link set "hnv$TAG" master "br-${keep:0:12}"
	ip link add "hnx$TAG" type bridge
	echo "hnx$TAG" >>"$BATS_TEST_TMPDIR/links"
	ip link set "hnx$TAG" alias "hamn:$INST:0123456789abcdef"
	ip link add "hnu$TAG" type bridge
	echo "hnu$TAG" >>"$BATS_TEST_TMPDIR/links"

	netctl reconcile "keep=$keep" "live=$a=/run/netns/$NS-a"

	refute ip link show "br-${stale:0:12}"
	refute ip link show "$veth_gone"
	refute ip link show "hnv$TAG"
	refute ip link show "hnx$TAG"
	ip link show "hnu$TAG" >/dev/null
	run netctl inspect "stale-$TAG"
	[ "$status" -ne 0 ]
	[ ! -e "$STATE/$stale.json" ]
	[ "$(netctl inspect "alive-$TAG" | jq '.Containers | length')" = 1 ]
	dns a alive
	[ "$status" -eq 0 ]
}

@test "connect and disconnect on the default bridge take a few milliseconds" {
	run_cmd "$NETCTL" --sock "$SOCK" bench bridge 50
	us_in=$(echo "$output" | sed -n 's/.*connect_us=\([0-9]*\).*/\1/p')
	us_out=$(echo "$output" | sed -n 's/.*disconnect_us=\([0-9]*\).*/\1/p')
	# generous bounds: the point is "no exec, few round trips", not this machine's speed
	[ "$us_in" -lt 20000 ]
	[ "$us_out" -lt 20000 ]
}

@test "disconnect, network rm and purge leave nothing behind" {
	mkns a
	id=$(mknet "last-$TAG")
	br="br-${id:0:12}"
	a=$(attach "last-$TAG" ca a name=last port=80)
	veth=$(ep_field "$a" .host_ifname)
	port=$(ep_field "$a" '.ports["80/tcp"][0].HostPort')
	nft list table ip "$INST" | grep -q "tcp dport $port dnat"

	netctl disconnect "$a"
	wait_for 10 eval "! ip link show $veth >/dev/null 2>&1"
	refute eval "nft list table ip $INST | grep -q 'tcp dport $port dnat'"
	python3 -c "import socket; socket.socket().bind(('0.0.0.0', $port))"

	netctl rm "last-$TAG"
	refute ip link show "$br"
	refute eval "nft list table ip $INST | grep -q '$br'"
	[ ! -e "$STATE/$id.json" ]

	netctl purge
	refute ip link show "$BR"
	refute eval "nft list tables | grep -qw $INST"
	refute eval "ip -o link show | grep -qF 'alias hamn:$INST:'"
	[ -z "$(ls "$STATE")" ]
}

#!/usr/bin/env bats
# Container networking through hamnd: the default bridge, user networks with
# their embedded DNS, published ports (TCP, UDP, -P), isolation, --internal,
# connect/disconnect of running containers, host/none/container: modes, a
# restart (and a kill -9) of hamnd, docker-compose, and that nothing is left.
#
# This file's daemon gets a default bridge named after its pid and subnets
# from a 10.213.X.0/22 that overlaps no route of the host: 10.213.X.0/24 is
# the default bridge, X+1 and X+2 are the user networks made here, X+3 the
# pool for networks made without a subnet (compose's). Traffic goes only to
# loopback, this file's bridges and its containers.

load container-helpers
load net-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "networking needs root"
	net_daemon_setup_file hbn
	export NET_A="10.213.$((X + 1)).0/24" NET_B="10.213.$((X + 2)).0/24"
	hamn network create --subnet "$NET_A" "na-$TAG" >/dev/null
	hamn network create --subnet "$NET_B" "nb-$TAG" >/dev/null
}

teardown_file() {
	net_daemon_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "networking needs root"
}

teardown() {
	net_teardown
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# web NAME [run options...]: a busybox httpd on port 80 answering "hello NAME".
web() {
	local name=$1
	shift
	hamn run -d --name "$name" "$@" hamn-test sh -c \
		"mkdir -p /www && echo hello $name >/www/index.html && exec httpd -f -p 80 -h /www" \
		>/dev/null
}

# njq NETWORK FILTER: jq FILTER over the network's inspect object.
njq() {
	hamn network inspect "$1" | jq -r ".[0] | $2"
}

# ip_of NAME NETWORK: the container's address on NETWORK.
ip_of() {
	cjq "$1" ".NetworkSettings.Networks[\"$2\"].IPAddress"
}

pid_of() {
	hamn inspect -f '{{.State.Pid}}' "$1"
}

# in_netns NAME CMD...: a host program in the container's network namespace.
in_netns() {
	local pid
	pid=$(pid_of "$1")
	shift
	nsenter -t "$pid" -n "$@"
}

# nft_rules: this daemon's table (empty when there is none).
nft_rules() {
	nft list table ip "$INST" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------

@test "the predefined networks exist and the default bridge is this daemon's" {
	run_hamn network ls
	for n in bridge host none "na-$TAG" "nb-$TAG"; do
		grep -qE "^[0-9a-f]{12} +$n +" <<<"$output"
	done
	[ "$(njq bridge '.Options["com.docker.network.bridge.name"]')" = "$BR" ]
	[ "$(njq bridge '.IPAM.Config[0].Subnet')" = "10.213.$X.0/24" ]
	ip -4 -o addr show dev "$BR" | grep -qF "10.213.$X.1/24"
	run_hamn network ls -q --filter type=custom
	[ "$(wc -l <<<"$output")" = 2 ]
}

@test "network errors: docker's statuses and messages" {
	run api GET /networks/nosuch-$TAG
	[ "$(status_of)" = 404 ]
	[ "$(body)" = "{\"message\":\"network nosuch-$TAG not found\"}" ]
	[ "$(api_status DELETE /networks/nosuch-$TAG)" = 404 ]
	[ "$(api_status DELETE /networks/bridge)" = 403 ]
	run api_json POST /networks/create "{\"Name\":\"na-$TAG\"}"
	[ "$(status_of)" = 409 ]
	run api_json POST /networks/create '{"Name":"v6","EnableIPv6":true}'
	[ "$(status_of)" = 400 ]
	run_hamn 1 network rm "nosuch-$TAG"
	run_hamn 1 network inspect "nosuch-$TAG"
	[[ "$output" == *"No such network: nosuch-$TAG"* ]]
}

@test "create with compose's body, inspect, filters, rm" {
	local n=c-$TAG id
	run api_json POST /networks/create "{\"Name\":\"$n\",\"CheckDuplicate\":true,\"Labels\":{\"com.docker.compose.project\":\"p$TAG\"},\"Attachable\":true}"
	[ "$(status_of)" = 201 ]
	id=$(body | jq -r .Id)
	[ "$(body | jq -r .Warning)" = "" ]
	run_hamn network inspect "$n"
	[ "$(jq -r '.[0].Driver' <<<"$output")" = bridge ]
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$id" ]
	# from the pool: 10.213.(X+3).0/24 by /28
	[[ "$(jq -r '.[0].IPAM.Config[0].Subnet' <<<"$output")" == "10.213.$((X + 3))."*"/28" ]]
	run_hamn network ls -q --filter "label=com.docker.compose.project=p$TAG"
	[ "$output" = "${id:0:12}" ]
	run_hamn network ls --format '{{.Name}}' --filter driver=null
	[ "$output" = none ]
	run_hamn network ls --format '{{.Name}}' --filter "name=c-$TAG"
	[ "$output" = "$n" ]
	ip -o link show | grep -qF "alias hamn:$INST:$id"
	run_hamn network rm "$n"
	[ "$output" = "$n" ]
	! ip -o link show | grep -qF "alias hamn:$INST:$id" || false
}

@test "network prune removes the unused user networks only" {
	local used=pu-$TAG unused=px-$TAG c
	c=$(ctr pr)
	run_hamn network create "$used"
	run_hamn network create "$unused"
	run_hamn run -d --name "$c" --network "$used" hamn-test sleep 1000
	run_hamn network prune -f
	[[ "$output" == *"Deleted Networks:"*"$unused"* ]]
	[[ "$output" != *"$used"* ]]
	run_hamn network inspect "$used"
	run_hamn 1 network inspect "$unused"
	hamn rm -f "$c" >/dev/null
	run_hamn network rm "$used"
	# the networks of this file were pruned too (no container on them): make them again
	hamn network inspect "na-$TAG" >/dev/null 2>&1 ||
		hamn network create --subnet "$NET_A" "na-$TAG" >/dev/null
	hamn network inspect "nb-$TAG" >/dev/null 2>&1 ||
		hamn network create --subnet "$NET_B" "nb-$TAG" >/dev/null
}

# ---------------------------------------------------------------------------
# The default bridge and the network modes
# ---------------------------------------------------------------------------

@test "default bridge: eth0, the gateway, /etc/hosts, /etc/hostname, resolv.conf" {
	run_hamn run --rm --hostname h-$TAG --add-host "extra.test:192.0.2.9" --dns 192.0.2.53 \
		hamn-test sh -c 'ip -4 -o addr show eth0; ip route; cat /etc/hosts /etc/hostname /etc/resolv.conf'
	[[ "$output" == *"inet 10.213.$X."*"/24"* ]]
	[[ "$output" == *"default via 10.213.$X.1 dev eth0"* ]]
	grep -qE "^10\.213\.$X\.[0-9]+	h-$TAG\$" <<<"$output"
	grep -qE "^192\.0\.2\.9	extra\.test\$" <<<"$output"
	grep -qx "h-$TAG" <<<"$output"
	grep -qx "nameserver 192.0.2.53" <<<"$output"
	! grep -q 127.0.0.11 <<<"$output" || false
}

@test "default bridge: no name resolution, as docker's" {
	local w
	w=$(ctr bw)
	run_hamn run -d --name "$w" hamn-test sleep 1000
	run_hamn run --rm hamn-test cat /etc/hosts
	[[ "$output" != *"$w"* ]]
	# no embedded DNS server listens there
	run_hamn 1 run --rm hamn-test nslookup "$w" 127.0.0.11
	[ "$(njq bridge '.Containers | length')" = 1 ]
}

@test "--network none has lo only, up; host sees the host; container: shares a netns" {
	local base ip
	run_hamn run --rm --network none hamn-test ip -o link
	[ "$(wc -l <<<"$output")" = 1 ]
	[[ "$output" == *"lo: <LOOPBACK,UP,LOWER_UP>"* ]]
	run_hamn run --rm --network host hamn-test ip -o link show "$BR"
	[[ "$output" == *"$BR:"* ]]
	base=$(ctr base)
	run_hamn run -d --name "$base" --network "na-$TAG" hamn-test sleep 1000
	ip=$(ip_of "$base" "na-$TAG")
	run_hamn run --rm --network "container:$base" hamn-test ip -4 -o addr show eth0
	[[ "$output" == *"inet $ip/24"* ]]
	run_hamn 125 run --rm --network "container:nosuch-$TAG" hamn-test true
	run_hamn 125 run --rm --network "nosuch-$TAG" hamn-test true
	[[ "$output" == *"network nosuch-$TAG not found"* ]]
}

# ---------------------------------------------------------------------------
# User networks
# ---------------------------------------------------------------------------

@test "two containers on a user network: by name and by alias" {
	local w ip
	w=$(ctr web)
	web "$w" --network "na-$TAG" --network-alias "alias-$TAG"
	ip=$(ip_of "$w" "na-$TAG")
	[[ "$ip" == "10.213.$((X + 1))."* ]]
	wait_for 10 answers "http://$ip/" "hello $w"
	run_hamn run --rm --network "na-$TAG" hamn-test sh -c \
		"cat /etc/resolv.conf; wget -q -O- http://$w/; wget -q -O- http://alias-$TAG/"
	grep -qx "nameserver 127.0.0.11" <<<"$output"
	[ "$(grep -c "hello $w" <<<"$output")" = 2 ]
	[[ "$(cjq "$w" ".NetworkSettings.Networks[\"na-$TAG\"].Aliases | join(\",\")")" == *"alias-$TAG"* ]]
	[ "$(njq "na-$TAG" ".Containers[] | select(.Name == \"$w\") | .IPv4Address")" = "$ip/24" ]
}

@test "containers on two user networks cannot reach each other" {
	local w ip
	w=$(ctr web)
	web "$w" --network "na-$TAG"
	ip=$(ip_of "$w" "na-$TAG")
	wait_for 10 answers "http://$ip/" "hello $w"
	# (busybox 1.35's wget -T crashes: busybox timeout bounds it instead)
	run_hamn run --rm --network "nb-$TAG" hamn-test sh -c \
		"busybox timeout 3 wget -q -O- http://$ip/ || echo UNREACHABLE"
	[[ "$output" == *UNREACHABLE* && "$output" != *"hello $w"* ]]
	# not in its networks' DNS either (--dns 127.0.0.1: an unknown name goes nowhere)
	run_hamn 1 run --rm --network "nb-$TAG" --dns 127.0.0.1 hamn-test nslookup "$w" 127.0.0.11
	# the drop rule counted it
	nft_rules | grep -E "iifname \"br-[0-9a-f]+\" oifname != .* @bridges counter packets [1-9]" >/dev/null
}

@test "an --internal network has no way out" {
	local n=in-$TAG
	run_hamn network create --internal "$n"
	run_hamn run --rm --network "$n" hamn-test sh -c \
		"ip route; busybox timeout 3 wget -q -O- http://10.213.$X.1/ && echo LEAK; true"
	! grep -q default <<<"$output" || false
	! grep -q LEAK <<<"$output" || false
	run_hamn network rm "$n"
}

@test "connect and disconnect a running container" {
	local w c ip cip
	w=$(ctr web)
	c=$(ctr cc)
	web "$w" --network "na-$TAG"
	ip=$(ip_of "$w" "na-$TAG")
	run_hamn run -d --name "$c" --network "nb-$TAG" hamn-test sleep 1000
	! in_netns "$c" curl -s -m 2 "http://$ip/" || false
	run_hamn network connect --alias "extra-$TAG" "na-$TAG" "$c"
	cip=$(ip_of "$c" "na-$TAG")
	[[ "$cip" == "10.213.$((X + 1))."* ]]
	in_netns "$c" ip -4 -o addr show eth1 | grep -qF "inet $cip/24"
	wait_for 10 in_netns "$c" curl -sf -m 2 "http://$ip/"
	in_netns "$c" busybox nslookup "$w" 127.0.0.11 | grep -qF "$ip"
	in_netns "$w" busybox nslookup "extra-$TAG" 127.0.0.11 | grep -qF "$cip"
	grep -qF "$cip" "$HAMND_ROOT/containers/$(hamn inspect -f '{{.Id}}' "$c")/hosts"
	run_hamn 1 network connect "na-$TAG" "$c"
	[[ "$output" == *"already exists"* ]]
	run_hamn network disconnect "na-$TAG" "$c"
	! in_netns "$c" ip -o link show eth1 || false
	[[ "$(njq "na-$TAG" '.Containers | tostring')" != *"$c"* ]]
	[ "$(cjq "$c" '.NetworkSettings.Networks | length')" = 1 ]
}

@test "connect and disconnect a stopped container: at its next start" {
	local c
	c=$(ctr cs)
	run_hamn create --name "$c" --network "nb-$TAG" hamn-test ip -4 -o addr
	run_hamn network disconnect "nb-$TAG" "$c"
	run_hamn network connect --alias "a-$TAG" "na-$TAG" "$c"
	run_hamn start "$c"
	wait_for 10 is_state "$c" exited
	run_hamn logs "$c"
	[[ "$output" == *"inet 10.213.$((X + 1))."* ]]
	[[ "$output" != *"inet 10.213.$((X + 2))."* ]]
}

# ---------------------------------------------------------------------------
# Published ports
# ---------------------------------------------------------------------------

@test "a published port answers on 127.0.0.1, on the host's address and from another container" {
	local w port hostip gw
	w=$(ctr web)
	port=$(free_port)
	web "$w" --network "na-$TAG" -p "$port:80"
	wait_for 10 answers "http://127.0.0.1:$port/" "hello $w"
	hostip=$(ip -4 -o addr show scope global | grep -vE " (br-|$BR)" |
		awk '{print $4}' | cut -d/ -f1 | head -1)
	if [ -n "$hostip" ]; then
		answers "http://$hostip:$port/" "hello $w"
	fi
	run_hamn ps --filter "name=$w" --format '{{.Ports}}'
	[ "$output" = "0.0.0.0:$port->80/tcp" ]
	run_hamn inspect -f '{{json .NetworkSettings.Ports}}' "$w"
	[ "$output" = "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$port\"}]}" ]
	# from a container of another network, through its gateway
	gw=$(njq "nb-$TAG" '.IPAM.Config[0].Gateway')
	run_hamn run --rm --network "nb-$TAG" hamn-test busybox timeout 5 wget -q -O- "http://$gw:$port/"
	[[ "$output" == *"hello $w"* ]]
	# and the port is taken while it is published
	run_hamn 125 run --rm -p "$port:80" hamn-test true
	[[ "$output" == *"already"* ]]
}

@test "-p with an address and a range, -P for the exposed ports" {
	local w p1 port
	w=$(ctr web)
	p1=$(free_port)
	web "$w" -p "127.0.0.1:$p1:80" -P --expose 8080
	wait_for 10 answers "http://127.0.0.1:$p1/" "hello $w"
	port=$(cjq "$w" '.NetworkSettings.Ports["8080/tcp"][0].HostPort')
	[ -n "$port" ] && [ "$port" -gt 0 ]
	nft_rules | grep -qE "tcp dport $port dnat to 10\.213\.$X\.[0-9]+:8080"
	nft_rules | grep -qE "ip daddr 127\.0\.0\.1 tcp dport $p1 dnat"
}

@test "a published UDP port" {
	local c port pid
	c=$(ctr udp)
	port=$(free_port)
	run_hamn run -d --name "$c" --network "na-$TAG" -p "127.0.0.1:$port:5353/udp" hamn-test sleep 1000
	pid=$(pid_of "$c")
	# the server is a host program inside the container's netns (busybox has no UDP server)
	nsenter -t "$pid" -n python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
s.settimeout(20)
d, a = s.recvfrom(100)
s.sendto(b"echo:" + d, a)' 3>&- &
	run python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
for i in range(50):
    s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode()); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' "$port"
	wait
	[ "$output" = "echo:ping" ]
}

# ---------------------------------------------------------------------------
# Restarts of hamnd
# ---------------------------------------------------------------------------

@test "a restart of hamnd keeps addresses, names and published ports" {
	local w ip port
	w=$(ctr web)
	port=$(free_port)
	web "$w" --network "na-$TAG" --network-alias "ra-$TAG" -p "127.0.0.1:$port:80"
	ip=$(ip_of "$w" "na-$TAG")
	wait_for 10 answers "http://127.0.0.1:$port/" "hello $w"
	HAMND_PID=$(cat "$HAMND_EXEC_ROOT/hamnd.pid") stop_hamnd
	# kernel NAT: the port answers while no daemon runs
	answers "http://127.0.0.1:$port/" "hello $w"
	# shellcheck disable=SC2086
	start_hamnd $HAMND_NET_ARGS
	[ "$(ip_of "$w" "na-$TAG")" = "$ip" ]
	answers "http://127.0.0.1:$port/" "hello $w"
	run_hamn run --rm --network "na-$TAG" hamn-test wget -q -O- "http://ra-$TAG/"
	[[ "$output" == *"hello $w"* ]]
	# a new container gets another address, never the one in use
	run_hamn run --rm --network "na-$TAG" hamn-test ip -4 -o addr show eth0
	[[ "$output" != *"inet $ip/"* ]]
}

@test "kill -9 of hamnd: a container that exits meanwhile loses its endpoint at the restart" {
	local a b port ida ipb pa hpid
	a=$(ctr ka)
	b=$(ctr kb)
	port=$(free_port)
	web "$a" --network "na-$TAG" -p "127.0.0.1:$port:80"
	run_hamn run -d --name "$b" --network "na-$TAG" hamn-test sleep 1000
	ida=$(hamn inspect -f '{{.Id}}' "$a")
	ipb=$(ip_of "$b" "na-$TAG")
	pa=$(pid_of "$a")
	wait_for 10 answers "http://127.0.0.1:$port/" "hello $a"
	hpid=$(cat "$HAMND_EXEC_ROOT/hamnd.pid")
	kill -KILL "$hpid"
	wait_for 10 not alive "$hpid"
	kill -KILL "$pa"
	wait_for 10 not alive "$pa"
	# shellcheck disable=SC2086
	start_hamnd $HAMND_NET_ARGS
	wait_for 10 is_state "$a" exited
	! nft_rules | grep -q "dport $port " || false
	[[ "$(njq "na-$TAG" '.Containers | tostring')" != *"$ida"* ]]
	[[ "$(njq "na-$TAG" '.Containers | tostring')" == *"$ipb/24"* ]]
	! grep -q "$ida" "$HAMND_ROOT"/network/*.json || false
	# and it comes back with networking
	run_hamn start "$a"
	wait_for 10 answers "http://127.0.0.1:$port/" "hello $a"
}

# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

@test "the docker CLI: network create, inspect, connect, disconnect, rm" {
	require_docker_cli
	local n=dk-$TAG c
	c=$(ctr dk)
	run_dk network create "$n"
	run_dk run -d --name "$c" --network "$n" --network-alias "dka-$TAG" hamn-test sleep 1000
	run_dk inspect -f "{{json (index .NetworkSettings.Networks \"$n\").Aliases}}" "$c"
	[[ "$output" == *"dka-$TAG"* ]]
	run_dk network inspect -f '{{range .Containers}}{{.Name}}{{end}}' "$n"
	[ "$output" = "$c" ]
	run_dk network connect "na-$TAG" "$c"
	run_dk network disconnect "na-$TAG" "$c"
	run_dk 1 network rm "$n"
	[[ "$output" == *"has active endpoints"* ]]
	dk rm -f "$c" >/dev/null
	run_dk network rm "$n"
	run_dk 1 network inspect "$n"
}

@test "docker-compose 1.29: two services, a user network and a named volume" {
	command -v docker-compose >/dev/null || skip "docker-compose is not installed (tools/deps.sh)"
	local dir=$BATS_TEST_TMPDIR/proj p=cp$TAG port
	port=$(free_port)
	mkdir -p "$dir"
	cat >"$dir/docker-compose.yml" <<EOF
version: "3.7"
services:
  web:
    image: hamn-test
    command: ["sh", "-c", "echo hello-compose >/www/index.html && exec httpd -f -p 80 -h /www"]
    volumes: ["webdata:/www"]
    ports: ["127.0.0.1:$port:80"]
    networks: [appnet]
  client:
    image: hamn-test
    command: ["sh", "-c", "while true; do wget -q -O- http://web/ && echo polled; sleep 0.2; done"]
    depends_on: [web]
    networks: [appnet]
networks:
  appnet: {}
volumes:
  webdata: {}
EOF
	export DOCKER_HOST="unix://$HAMN_SOCK"
	run_cmd docker-compose -f "$dir/docker-compose.yml" -p "$p" up -d
	wait_for 20 answers "http://127.0.0.1:$port/" hello-compose
	wait_for 20 log_has "${p}_client_1" hello-compose
	[ "$(njq "${p}_appnet" '.Containers | length')" = 2 ]
	run_cmd docker-compose -f "$dir/docker-compose.yml" -p "$p" down -v
	run_hamn 1 network inspect "${p}_appnet"
	run_hamn 1 volume inspect "${p}_webdata"
}

# ---------------------------------------------------------------------------
# Nothing left
# ---------------------------------------------------------------------------

@test "after everything is removed: no veth, no user bridge, no rule, no address" {
	local n
	for n in $(hamn ps -aq); do hamn rm -f "$n" >/dev/null; done
	for n in $(hamn network ls -q --filter type=custom); do hamn network rm "$n" >/dev/null; done
	# no port of any of our bridges is left (the janitor deletes veths in the background)
	wait_for 10 not bash -c "ip -o link show master $BR | grep -q ."
	! ip -o link show | grep -F "alias hamn:$INST:" | grep -vF " $BR:" | grep -q . || false
	run nft_rules
	! grep -q "dnat to" <<<"$output" || false
	! grep -q "br-" <<<"$output" || false
	# the IPAM state: the predefined networks and no endpoint (and the marker of the nft
	# table, which the default bridge still needs)
	[ "$(ls "$HAMND_ROOT/network" | wc -l)" = 4 ]
	[ -f "$HAMND_ROOT/network/nft-table" ]
	for f in "$HAMND_ROOT"/network/*.json; do
		[ "$(jq '.endpoints | length' "$f")" = 0 ]
	done
	# and once the daemon is gone and its bridge deleted, nothing of hamn's is left
	HAMND_PID=$(cat "$HAMND_EXEC_ROOT/hamnd.pid") stop_hamnd
	ip link del "$BR"
	nft delete table ip "$INST"
	! ip -o link show | grep -qF "hamn:$INST:" || false
	! nft list tables | grep -qF "$INST" || false
	# shellcheck disable=SC2086
	start_hamnd $HAMND_NET_ARGS
}

#!/usr/bin/env bats
# The docker CLI against hamnd behaves as against dockerd (20.10, API 1.41) for
# containers: each test pins a difference found by running the same commands
# against both daemons (exit codes, the messages scripts match, inspect fields).

load container-helpers

setup_file() {
	containers_setup_file
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	require_docker_cli
}

@test "Config.Env: the container's variables first, then the image's" {
	local n
	n=$(unique_name env)
	run_dk create --name "$n" -e X=1 -e PATH=/mine hamn-test true
	run_dk inspect -f '{{json .Config.Env}}' "$n"
	[ "$output" = '["X=1","PATH=/mine"]' ]
	run_dk rm "$n"
	run_dk create --name "$n" -e X=1 hamn-test true
	run_dk inspect -f '{{index .Config.Env 0}} {{len .Config.Env}}' "$n"
	[ "$output" = "X=1 2" ]
	run_dk inspect -f '{{index .Config.Env 1}}' "$n"
	[[ "$output" == PATH=* ]]
	run_dk rm "$n"
}

@test "the primary group is a supplementary group too (run and exec)" {
	local n
	run_dk run --rm -u 1000:1000 hamn-test id
	[ "$output" = "uid=1000 gid=1000 groups=1000" ]
	run_dk run --rm -u nobody --group-add 5 hamn-test id
	[ "$output" = "uid=65534(nobody) gid=65534(nogroup) groups=5(tty),65534(nogroup)" ]
	run_dk run --rm hamn-test id
	[ "$output" = "uid=0(root) gid=0(root) groups=0(root)" ]
	n=$(unique_name grp)
	run_dk run -d --name "$n" hamn-test sleep 300
	run_dk exec -u 1000 "$n" id
	[ "$output" = "uid=1000 gid=0(root) groups=0(root)" ]
	run_dk rm -f "$n"
}

@test "an unknown user: dockerd's message, without the runtime's words" {
	local n
	run_dk 125 run --rm -u nosuchuser hamn-test true
	[[ "$output" == *"Error response from daemon: unable to find user nosuchuser: no matching entries in passwd file"* ]]
	[[ "$output" != *"failed to create task"* ]]
	run_dk 125 run --rm -u 0:nosuchgroup hamn-test true
	[[ "$output" == *"Error response from daemon: unable to find group nosuchgroup: no matching entries in group file"* ]]
	n=$(unique_name xu)
	run_dk run -d --name "$n" hamn-test sleep 300
	run_dk 126 exec -u nosuch "$n" true
	# the CLI ends the line with "\r\n", as with dockerd
	[ "${output%$'\r'}" = "unable to find user nosuch: no matching entries in passwd file" ]
	run_dk 126 exec -w /nonexist "$n" pwd
	[[ "$output" == *'chdir to cwd ("/nonexist") set in config.json failed: no such file or directory'* ]]
	run_dk rm -f "$n"
}

@test "kill: errors name the container as dockerd's do, a bad signal as is" {
	local n id
	run_dk 1 kill nope
	[ "$output" = "Error response from daemon: Cannot kill container: nope: No such container: nope" ]
	n=$(unique_name kl)
	run_dk create --name "$n" hamn-test true
	id=$output
	run_dk 1 kill "$n"
	[ "$output" = "Error response from daemon: Cannot kill container: $n: Container $id is not running" ]
	run_dk 1 kill -s BOGUS "$n"
	[ "$output" = "Error response from daemon: Invalid signal: BOGUS" ]
	run_dk rm "$n"
}

@test "top of a container that is not running names its full id" {
	local n id
	n=$(unique_name top)
	run_dk create --name "$n" hamn-test true
	id=$output
	run_dk 1 top "$n"
	[ "$output" = "Error response from daemon: Container $id is not running" ]
	run_dk rm "$n"
}

@test "rename: the container is looked up first; name errors say 'Error when allocating new name'" {
	local a b ida
	a=$(unique_name ra)
	b=$(unique_name rb)
	run_dk 1 rename nope 'bad/x'
	[[ "$output" == *"Error response from daemon: No such container: nope"* ]]
	run_dk create --name "$a" hamn-test true
	ida=$output
	run_dk create --name "$b" hamn-test true
	run_dk 1 rename "$b" "$a"
	[[ "$output" == *"Error response from daemon: Error when allocating new name: Conflict. The container name \"/$a\" is already in use by container \"$ida\"."* ]]
	run_dk 1 rename "$b" 'bad/x'
	[[ "$output" == *"Error response from daemon: Error when allocating new name: Invalid container name (/bad/x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"* ]]
	run_dk rm "$a" "$b"
}

@test "unpause of a container that is not paused: 'is not paused', running or not" {
	local n id
	n=$(unique_name up)
	run_dk run -d --name "$n" hamn-test sleep 300
	id=$output
	run_dk 1 unpause "$n"
	[ "$output" = "Error response from daemon: Container $id is not paused" ]
	run_dk stop -t 0 "$n"
	run_dk 1 unpause "$n"
	[ "$output" = "Error response from daemon: Container $id is not paused" ]
	run_dk 1 pause "$n"
	[ "$output" = "Error response from daemon: Container $id is not running" ]
	run_dk rm "$n"
}

@test "logs --details puts dockerd's (empty) attributes and a space before each line" {
	local n
	n=$(unique_name det)
	run_dk run --name "$n" hamn-test sh -c 'echo a; echo b'
	[ "$(dk logs --details "$n")" = "$(printf ' a\n b')" ]
	[[ "$(dk logs --details -t "$n" | head -1)" =~ ^[0-9T:.-]+Z\ \ a$ ]]
	[ "$(dk logs "$n")" = "$(printf 'a\nb')" ]
	run_dk rm "$n"
}

@test "commit -m sets the image's Comment, -a its Author" {
	local n
	n=$(unique_name cm)
	run_dk run --name "$n" hamn-test true
	run_dk commit -m 'a message' -a 'an author' "$n" "$n:c"
	run_dk image inspect -f '{{.Comment}}|{{.Author}}' "$n:c"
	[ "$output" = "a message|an author" ]
	run_dk rmi "$n:c"
	run_dk rm "$n"
}

@test "an unknown network: create succeeds, start fails with 'network X not found' (no pull)" {
	local n
	n=$(unique_name nb)
	run_dk 125 run --name "$n" --network bogus-net hamn-test true
	[[ "$output" == *"Error response from daemon: network bogus-net not found"* ]]
	[[ "$output" != *"Unable to find image"* ]]
	[[ "$output" != *"start container"* ]]
	[ "$(state "$n")" = created ]
	run_dk 1 start "$n"
	[[ "$output" == *"Error response from daemon: network bogus-net not found"* ]]
	run_dk rm "$n"
	run_dk 125 run --rm --network bogus-net hamn-test true
	[[ "$output" == *"network bogus-net not found"* ]]
	run_dk ps -aq --filter network=bogus-net
	[ -z "$output" ]
}

@test "--network host takes the host's name" {
	local n
	n=$(unique_name nh)
	run_dk run --name "$n" --network host hamn-test hostname
	[ "$output" = "$(hostname)" ]
	run_dk inspect -f '{{.Config.Hostname}}' "$n"
	[ "$output" = "$(hostname)" ]
	run_dk rm "$n"
}

@test "ps --filter before/since of an unknown container is an error" {
	run_dk 1 ps -a --filter since=nope
	[ "$output" = "Error response from daemon: no such container nope" ]
	run_dk 1 ps -a --filter before=nope
	[ "$output" = "Error response from daemon: no such container nope" ]
}

@test "an unknown capability: 'invalid CapAdd' / 'invalid CapDrop'" {
	run_dk 125 run --rm --cap-add BOGUS hamn-test true
	[[ "$output" == *'Error response from daemon: invalid CapAdd: unknown capability: "CAP_BOGUS"'* ]]
	run_dk 125 run --rm --cap-drop bogus hamn-test true
	[[ "$output" == *'Error response from daemon: invalid CapDrop: unknown capability: "CAP_BOGUS"'* ]]
}

@test "inspect: --tmpfs is in HostConfig.Tmpfs only, --mount type=tmpfs in Mounts" {
	local n
	n=$(unique_name tm)
	run_dk create --name "$n" --tmpfs /t1 --mount type=tmpfs,dst=/t2 hamn-test true
	run_dk inspect -f '{{range .Mounts}}{{.Type}}:{{.Destination}};{{end}}' "$n"
	[ "$output" = "tmpfs:/t2;" ]
	run_dk inspect -f '{{json .HostConfig.Tmpfs}}' "$n"
	[ "$output" = '{"/t1":""}' ]
	run_dk rm "$n"
}

@test "inspect: the defaults dockerd fills in for what the client left unset" {
	local n
	n=$(unique_name hc)
	run_dk create --name "$n" -m 64m hamn-test true
	run_dk inspect -f '{{.HostConfig.IpcMode}}|{{.HostConfig.MemorySwap}}|{{.HostConfig.MemorySwappiness}}' "$n"
	[ "$output" = "private|134217728|<nil>" ]
	run_dk inspect -f '{{.HostConfig.CgroupnsMode}}' "$n"
	[ -n "$output" ]
	run_dk inspect -f '{{index .HostConfig.MaskedPaths 0}} {{index .HostConfig.ReadonlyPaths 0}}' "$n"
	[ "$output" = "/proc/asound /proc/bus" ]
	run_dk rm "$n"
	run_dk create --name "$n" --privileged hamn-test true
	run_dk inspect -f '{{.HostConfig.MaskedPaths}} {{.HostConfig.ReadonlyPaths}}' "$n"
	[ "$output" = "[] []" ]
	run_dk rm "$n"
}

@test "--uts host runs (the hosts file names the short id) with the host's name" {
	local n
	n=$(unique_name uh)
	run_dk run --name "$n" --uts host hamn-test hostname
	[ "$output" = "$(hostname)" ]
	run_dk rm "$n"
}

@test "exec into a paused container: 'is paused' names it as given" {
	local n
	n=$(unique_name px)
	run_dk run -d --name "$n" hamn-test sleep 300
	run_dk pause "$n"
	run_dk 1 exec "$n" true
	[ "$output" = "Error response from daemon: Container $n is paused, unpause the container before exec" ]
	run_dk rm -f "$n"
}

@test "inspect: Config.Volumes is null when there are none" {
	local n
	n=$(unique_name vn)
	run_dk create --name "$n" hamn-test true
	run_dk inspect -f '{{json .Config.Volumes}}' "$n"
	[ "$output" = null ]
	run_dk rm "$n"
	run_dk create --name "$n" -v /data hamn-test true
	run_dk inspect -f '{{json .Config.Volumes}}' "$n"
	[ "$output" = '{"/data":{}}' ]
	run_dk rm -v "$n"
}

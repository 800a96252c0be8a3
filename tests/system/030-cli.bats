#!/usr/bin/env bats
# The hamn CLI on its own: help, unknown commands, a daemon that is not there.

load helpers

@test "hamn --help lists the commands" {
	run_cmd "$HAMN_BIN" --help
	[[ "$output" == *"Usage:  hamn [OPTIONS] COMMAND"* ]]
	[[ "$output" == *"run "* ]]
	[[ "$output" == *"images "* ]]
}

@test "every command has --help" {
	for c in run create start stop kill restart rm wait logs ps inspect images load save \
		import tag rmi exec rename top attach history version info; do
		run_cmd "$HAMN_BIN" "$c" --help
		[[ "$output" == *"Usage:  hamn $c"* ]]
	done
}

@test "an unknown command exits 125 and says so" {
	run_cmd 125 "$HAMN_BIN" frobnicate
	[[ "$output" == *"'frobnicate' is not a hamn command"* ]]
}

@test "a missing daemon is a clear error naming the socket" {
	run_cmd 1 "$HAMN_BIN" -H "unix://$BATS_TEST_TMPDIR/none.sock" ps
	[[ "$output" == *"$BATS_TEST_TMPDIR/none.sock"* ]]
	[[ "$output" == *"is hamnd running?"* ]]
}

@test "run against a missing daemon exits 125" {
	run_cmd 125 "$HAMN_BIN" -H "unix://$BATS_TEST_TMPDIR/none.sock" run hamn-test true
}

@test "DOCKER_HOST is honoured when HAMN_HOST is not set" {
	DOCKER_HOST="unix://$BATS_TEST_TMPDIR/docker.sock" run_cmd 1 "$HAMN_BIN" ps
	[[ "$output" == *"$BATS_TEST_TMPDIR/docker.sock"* ]]
	HAMN_HOST="unix://$BATS_TEST_TMPDIR/hamn.sock" DOCKER_HOST="unix://x" run_cmd 1 "$HAMN_BIN" ps
	[[ "$output" == *"$BATS_TEST_TMPDIR/hamn.sock"* ]]
}

@test "image and container groups resolve to commands" {
	run_cmd "$HAMN_BIN" image ls --help
	[[ "$output" == *"Usage:  hamn images"* ]]
	run_cmd "$HAMN_BIN" container rm --help
	[[ "$output" == *"Usage:  hamn rm"* ]]
}

#!/bin/bash
# engine-burst.sh N IMAGE CLI... - start N detached containers in parallel
# (`CLI run -d --network none --name burst-PID-I IMAGE sleep 300`), wait for all
# of them, then remove them in parallel (one `CLI rm -f NAME` each) and wait.
# Timed as a whole by engine.bench; CLI is a client with its -H, e.g.
# `build/hamn -H unix:///tmp/x/sock` or `docker -H unix:///tmp/y/sock`.
# Exits non-zero when any run or rm failed (what was started is still removed).
set -u
n=$1 image=$2
shift 2
prefix=burst-$$
fail=0
pids=()
for ((i = 0; i < n; i++)); do
	"$@" run -d --network none --name "$prefix-$i" "$image" sleep 300 >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail=1
done
pids=()
for ((i = 0; i < n; i++)); do
	"$@" rm -f "$prefix-$i" >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail=1
done
exit $fail

#!/bin/bash
# hot-order.sh [BUILD]: remake data/hamnd.ld and data/hamn-monitor.ld, the
# linker scripts that put the code hamnd and its zygote run from start to idle
# in front of .text (meson option hot_order; docs/engine.md, "Memory").
# Run it after changes to what hamnd does at start: a stale script still links
# (names that are gone match nothing), it only keeps less of the startup code
# together. Needs root, valgrind, python3, cc; takes about a minute.
#   hamnd:        callgrind from start, through `load` of the test image, to
#                 idle (dumped there, before the stop path runs).
#   hamn-monitor: tools/steptrace.c (valgrind cannot run it: open_tree), the
#                 zygote from exec to waiting for its first request.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
for t in valgrind callgrind_control python3 cc; do
	command -v "$t" >/dev/null || { echo "hot-order: $t is not installed" >&2; exit 1; }
done
ninja -C "$build" hamnd hamn-monitor hamn >/dev/null
[ -f "$build/fixtures/.done" ] || "$top/tests/fixtures/mkimage.sh" "$build/fixtures" >&2
tmp=$(mktemp -d /tmp/hot-order.XXXXXX)
pid=''
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || :
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT

# hamnd under callgrind (its zygote runs natively: no --trace-children)
sock=$tmp/run/hamn.sock
echo '{}' >"$tmp/daemon.json"
valgrind --tool=callgrind --callgrind-out-file="$tmp/hamnd.cg" "$build/hamnd" \
	--root "$tmp/root" --exec-root "$tmp/run" -H "unix://$sock" \
	--config-file "$tmp/daemon.json" --bridge none --ip-forward=false \
	--log-level warn >"$tmp/hamnd.log" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -S "$sock" ] && break; sleep 0.1; done
"$build/hamn" -H "unix://$sock" load -i "$build/fixtures/docker.tar" >/dev/null
sleep 2 # the trim that follows work (src/cmd/hamnd/main.c) is part of idle
callgrind_control -d "$pid" >/dev/null
kill "$pid"
wait "$pid" 2>/dev/null || :
pid=''
dump=$(ls "$tmp"/hamnd.cg.* | head -n 1)

# the zygote under steptrace, fed by a socketpair it reads requests from
cc -O2 -o "$tmp/steptrace" "$top/tools/steptrace.c"
mkdir -p "$tmp/zroot" "$tmp/zrun"
python3 - "$tmp" "$build/hamn-monitor" <<'PY'
import os, socket, subprocess, sys, time
tmp, mon = sys.argv[1], sys.argv[2]
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
fd = theirs.fileno()
p = subprocess.Popen([tmp + '/steptrace', tmp + '/zygote.addrs', mon, '--zygote', '3',
                      '--root', tmp + '/zroot', '--exec-root', tmp + '/zrun'],
                     pass_fds=(fd,), preexec_fn=lambda: os.dup2(fd, 3))
theirs.close()
time.sleep(5)  # single-stepped, its start takes well under a second
ours.close()   # end of requests: the zygote exits
sys.exit(p.wait())
PY

python3 "$top/tools/hot-order.py" "$build/hamnd.map" "$dump" "$build/hamnd" "$top/data/hamnd.ld"
python3 "$top/tools/hot-order.py" "$build/hamn-monitor.map" "$tmp/zygote.addrs" \
	"$build/hamn-monitor" "$top/data/hamn-monitor.ld"

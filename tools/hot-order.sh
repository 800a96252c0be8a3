#!/bin/bash
# hot-order.sh [BUILD]: remake data/hamnd.ld and data/hamn-monitor.ld, the
# linker scripts that put the code hamnd and its zygote run from start to idle
# in front of .text (meson option hot_order; docs/engine.md, "Memory").
# Run it after changes to what hamnd does at start: a stale script still links
# (names that are gone match nothing), it only keeps less of the startup code
# together. Needs root, valgrind, python3, cc; takes about a minute.
# Both programs are traced as linked in the default order (a copy in a scratch
# directory, with its own map): names and input sections are the same in
# either order, and valgrind names no function outside .text.
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
	[ -n "${HOT_ORDER_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# link_plain PROG: PROG linked again into $tmp as the build links it, but in
# the default order (no -T script: valgrind names no function outside .text),
# with its map in $tmp/PROG.map.
link_plain() {
	local cmd
	cmd=$(ninja -C "$build" -t commands "$1" | tail -n 1)
	cmd=$(sed -E "s/ -Wl,-T,[^ ]+//; s/ -Wl,-Map=[^ ]+//; s| -o $1 | -o $tmp/$1 |" <<<"$cmd")
	(cd "$build" && eval "$cmd -Wl,-Map=$tmp/$1.map") 2>/dev/null
}
link_plain hamnd
link_plain hamn-monitor

# hamnd under callgrind (its zygote runs natively: no --trace-children)
sock=$tmp/run/hamn.sock
echo '{}' >"$tmp/daemon.json"
valgrind --tool=callgrind --callgrind-out-file="$tmp/hamnd.cg" "$tmp/hamnd" \
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
python3 - "$tmp" "$tmp/hamn-monitor" <<'PY'
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

python3 "$top/tools/hot-order.py" "$tmp/hamnd.map" "$dump" "$tmp/hamnd" "$top/data/hamnd.ld"
python3 "$top/tools/hot-order.py" "$tmp/hamn-monitor.map" "$tmp/zygote.addrs" \
	"$tmp/hamn-monitor" "$top/data/hamn-monitor.ld"

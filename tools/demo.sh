#!/bin/bash
# demo.sh BUILD_DIR: start hamnd with its embedded defaults (no config file, no
# etcd) in a scratch directory, load the locally made busybox image, and run a
# first container through the daemon. Everything it starts is stopped at the end.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
IMG="$BUILD/fixtures"

if [ "$(id -u)" != 0 ]; then
	echo "demo: containers need root here; run 'sudo make demo'" >&2
	exit 1
fi

[ -f "$IMG/.done" ] || "$TOP/tests/fixtures/mkimage.sh" "$IMG"

dir=$(mktemp -d /tmp/hamn-demo.XXXXXX)
sock="$dir/hamn.sock"
hamnd_pid=
cleanup() {
	if [ -n "$hamnd_pid" ]; then
		"$BUILD/hamn" -H "unix://$sock" rm -f demo-web >/dev/null 2>&1 || true
		kill "$hamnd_pid" 2>/dev/null && wait "$hamnd_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

echo "{}" >"$dir/daemon.json"	# embedded defaults: an empty config
# --bridge none: the demo leaves no bridge or nftables table behind when it stops
"$BUILD/hamnd" --root "$dir/root" --exec-root "$dir/run" -H "unix://$sock" --bridge none \
	--config-file "$dir/daemon.json" --log-file "$dir/hamnd.log" &
hamnd_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && "$BUILD/hamn" -H "unix://$sock" version >/dev/null 2>&1 && break
	sleep 0.05
done

hamn() {
	echo "+ hamn $*"
	"$BUILD/hamn" -H "unix://$sock" "$@"
}

hamn load -i "$IMG/docker.tar"
hamn images
hamn run --rm hamn-test sh -c 'echo "hello from a hamn container: $(hostname), pid $$"; id'
hamn run -d --name demo-web hamn-test sh -c 'while :; do date; sleep 1; done' >/dev/null
hamn ps
hamn exec demo-web cat /proc/self/status | grep -E '^(CapEff|Seccomp|NoNewPrivs):' || true
hamn rm -f demo-web

cat <<EOF2

hamnd ran from $dir (removed now). To keep one running:
  $BUILD/hamnd --root /var/lib/hamn --exec-root /run/hamn &     # defaults: unix:///run/hamn/hamn.sock
  $BUILD/hamn load -i $IMG/docker.tar
  $BUILD/hamn run -it --rm hamn-test sh
  DOCKER_HOST=unix:///run/hamn/hamn.sock docker ps            # the docker CLI works too
The OCI runtime alone:  cd $IMG/bundle && $BUILD/hamn-runtime run demo
Tests: make check       Benchmarks: make bench
EOF2

#!/bin/sh
# install-peers.sh - install from Debian the peers that bench/engine.bench (and
# registry.bench, build.bench) compare hamn with and that tools/deps.sh leaves
# out because no test needs them: docker.io (dockerd, containerd, the shim),
# podman and conmon. Idempotent and quick when they are present. Not part of
# `make check`; `BENCH_INSTALL_PEERS=1 make bench` (or bench/run.sh) runs it.
# Where an init system runs, installing docker.io may start the host's own
# dockerd; the benchmarks never use it: they start private ones (see
# /work/shared/docs/peers.md).
set -eu

PACKAGES="docker.io podman conmon"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-peers: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "install-peers: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one package a word
apt-get install -y -qq --no-install-recommends $missing >/dev/null

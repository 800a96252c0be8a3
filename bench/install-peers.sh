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

exec "$(dirname "$0")/../tools/deps.sh" docker.io podman conmon

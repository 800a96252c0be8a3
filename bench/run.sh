#!/bin/bash
# run.sh BUILD_DIR [name...] - run bench/*.bench (or the named ones) and print,
# per benchmark, a table: benchmark | tool | median | hamn/tool.
#
# Every .bench file is sourced in its own subshell with bench/lib.sh loaded
# (see lib.sh for the helpers and variables). Figures move with the machine's
# load: compare the ratios of one run, never absolute times across runs.
set -uo pipefail
export LC_ALL=C TZ=UTC

die() {
	echo "bench: $*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: bench/run.sh BUILD_DIR [name...]"
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
BENCH_TOP=$(cd "$BENCH_DIR/.." && pwd)
[ -d "$1" ] || die "no build directory $1"
BENCH_BUILD=$(cd "$1" && pwd)
shift
export BENCH_DIR BENCH_TOP BENCH_BUILD

# BENCH_INSTALL_PEERS=1: first apt-install the peers tools/deps.sh leaves out
if [ "${BENCH_INSTALL_PEERS:-0}" = 1 ]; then
	"$BENCH_DIR/install-peers.sh" || die "install-peers.sh failed"
fi

for t in hyperfine jq awk; do
	command -v "$t" >/dev/null || die "$t is missing (run tools/deps.sh)"
done

files=()
if [ $# -eq 0 ]; then
	files=("$BENCH_DIR"/*.bench)
else
	for n in "$@"; do
		n=${n%.bench}
		[ -f "$BENCH_DIR/$n.bench" ] || die "no benchmark $n (bench/$n.bench)"
		files+=("$BENCH_DIR/$n.bench")
	done
fi

BENCH_TMP=$(mktemp -d /tmp/hamn-bench.XXXXXX)
trap 'rm -rf "$BENCH_TMP"' EXIT

echo "machine: $(nproc) cpus, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"$(hyperfine --version), runs ${BENCH_RUNS:-20} (+${BENCH_WARMUP:-3} warm-up)"

status=0
for f in "${files[@]}"; do
	bname=$(basename "$f" .bench)
	echo
	echo "== $bname"
	mkdir "$BENCH_TMP/$bname"
	# The subshell must not be the left side of || or &&: bash would ignore set -e
	# in it. The clean-up and the table (of what was recorded) come even when a
	# command of the .bench file fails.
	# shellcheck disable=SC2034 # BENCH_* are used by lib.sh and the .bench files
	(
		set -e
		BENCH_NAME=$bname
		BENCH_SCRATCH=$BENCH_TMP/$bname
		BENCH_RESULTS=$BENCH_TMP/$bname/results.tsv
		: >"$BENCH_RESULTS"
		# shellcheck source=bench/lib.sh
		. "$BENCH_DIR/lib.sh"
		trap 'bench_finish; echo; report' EXIT
		# say where set -e stopped the file
		trap 'echo "bench: $BENCH_NAME: status $? at line $LINENO of ${BASH_SOURCE[0]##*/}" >&2' ERR
		# shellcheck disable=SC1090
		. "$f"
	)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "bench: $bname failed (exit status $rc)"
		status=1
	fi
	# A tool that was there but failed makes the whole run fail.
	if grep -q "$(printf '\t')failed\$" "$BENCH_TMP/$bname/results.tsv" 2>/dev/null; then
		status=1
	fi
done
exit $status

#!/bin/bash
# run-tests.sh [--unit|--system] BUILD_DIR
#
# Runs the cmocka unit tests and the bats system tests against the binaries
# in BUILD_DIR, shows their TAP output, and ends with one line:
#   N passed, N failed[, N skipped]
# Exit status is non-zero when anything failed (or nothing ran).
set -uo pipefail

which=all
case "${1:-}" in
--unit) which=unit; shift ;;
--system) which=system; shift ;;
esac
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
export HAMN_BUILD=$BUILD LC_ALL=C TZ=UTC

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

run_unit() {
	local t
	for t in "$BUILD"/tests/unit/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		echo "# unit: $(basename "$t")"
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1 | tee -a "$log" || status=1
	done
}

run_system() {
	local files=("$TOP"/tests/system/*.bats)
	[ -e "${files[0]}" ] || return 0
	echo "# system: ${#files[@]} files"
	bats --tap "${files[@]}" 2>&1 | tee -a "$log" || status=1
}

[ "$which" = system ] || run_unit
[ "$which" = unit ] || run_system

passed=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
skipped=$(grep -ciE '^ok [0-9]+.*# skip' "$log" | tr -d ' ')
failed=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
passed=$((passed - skipped))

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo
echo "$summary"

if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
	exit 1
fi
[ "$passed" -gt 0 ] || { echo "no test ran" >&2; exit 1; }
exit 0

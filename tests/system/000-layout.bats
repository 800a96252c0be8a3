#!/usr/bin/env bats
# The shape of the tree: includes point downward, no raw syscall() outside
# base/syscalls.h, no banned functions.

load helpers

@test "every include points downward along the module graph" {
	run_cmd "$HAMN_TOP/tools/check-deps.sh"
}

@test "check-deps notices an upward include" {
	local tmp="$BATS_TEST_TMPDIR/src"
	mkdir -p "$tmp/tools" "$tmp/src/base"
	cp "$HAMN_TOP/tools/check-deps.sh" "$tmp/tools/"
	printf '#include "engine/engine.h"\n' >"$tmp/src/base/x.c"
	run_cmd 1 "$tmp/tools/check-deps.sh"
	[[ "$output" == *"base/x.c includes engine/"* ]]
}

@test "raw syscall() only in base/syscalls.h" {
	run grep -rn --include='*.[ch]' -E '(^|[^_a-z])syscall\(' "$HAMN_TOP/src"
	echo "$output"
	local other
	other=$(echo "$output" | grep -v '^$' | grep -v 'src/base/syscalls.h:' || true)
	[ -z "$other" ]
}

@test "no bare '! cmd' line in a bats test: errexit ignores it (write '! cmd || false')" {
	run grep -nE '^[[:space:]]*! ' "$HAMN_TOP"/tests/system/*.bats
	local bare
	bare=$(echo "$output" | grep -v '^$' | grep -vE '(\|\| false|\\|then|\|\||&&|\|)[[:space:]]*$' || true)
	echo "$bare"
	[ -z "$bare" ]
}

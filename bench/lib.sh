# lib.sh - helpers for bench/*.bench, sourced by bench/run.sh (bash).
#
# run.sh sets, before sourcing a .bench file:
#   BENCH_TOP      the repository's top directory
#   BENCH_DIR      bench/
#   BENCH_BUILD    the build directory (absolute)
#   BENCH_NAME     the .bench file's name without .bench
#   BENCH_SCRATCH  an empty directory for this benchmark, removed afterwards
#   BENCH_RESULTS  the file bench_cmd/bench_skip append rows to
# Tunables (environment): BENCH_RUNS (default 20), BENCH_WARMUP (default 3),
# BENCH_VERBOSE=1 to show hyperfine's own output.
#
# A row is: benchmark <TAB> tool <TAB> figure or "-" <TAB> note [<TAB> unit].
# The unit is "s" when absent (hyperfine's median in seconds); bench_record
# writes others ("MB", "req/s"). The hamn figure of a benchmark is the row
# whose tool starts with "hamn". Targets (bench_target) go to
# $BENCH_RESULTS.targets: benchmark <TAB> tool <TAB> "<=" or ">=" <TAB> ratio.

: "${BENCH_RUNS:=20}"
: "${BENCH_WARMUP:=3}"
: "${BENCH_VERBOSE:=0}"
BENCH_EXIT_CMDS=()

# have TOOL: true when TOOL can be benchmarked: a hamn* tool must be built in
# BENCH_BUILD, any other must be on PATH.
have() {
	case $1 in
	hamn*) [ -x "$BENCH_BUILD/$1" ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

# tool_path TOOL: where TOOL's binary is (see have).
tool_path() {
	case $1 in
	hamn*) echo "$BENCH_BUILD/$1" ;;
	*) command -v "$1" ;;
	esac
}

# bench_skip NAME TOOL WHY: record that TOOL has no figure for NAME, and say why.
bench_skip() {
	echo "$2: $3"
	printf '%s\t%s\t-\t%s\n' "$1" "$2" "$3" >>"$BENCH_RESULTS"
}

# bench_need NAME TOOL: bench_skip with "not built"/"not installed" unless have TOOL.
bench_need() {
	have "$2" && return 0
	case $2 in
	hamn*) bench_skip "$1" "$2" "not built" ;;
	*) bench_skip "$1" "$2" "not installed" ;;
	esac
	return 1
}

# bench_cmd NAME TOOL COMMAND...: time COMMAND with hyperfine (no shell between,
# BENCH_WARMUP warm-up runs, BENCH_RUNS timed runs) and record its median as
# TOOL's figure for NAME. COMMAND is first run once on its own; if that fails
# its output is shown and the row says "failed". Returns 0 either way.
bench_cmd() {
	local name=$1 tool=$2 slug json log cmd median
	shift 2
	slug=$(printf '%s-%s' "$name" "$tool" | tr -c 'A-Za-z0-9_.-' '_')
	json="$BENCH_SCRATCH/$slug.json"
	log="$BENCH_SCRATCH/$slug.log"
	if ! "$@" >"$log" 2>&1; then
		echo "$tool: failed: $*"
		tail -n 5 "$log" | sed 's/^/    /'
		printf '%s\t%s\t-\tfailed\n' "$name" "$tool" >>"$BENCH_RESULTS"
		return 0
	fi
	cmd=$(printf '%q ' "$@")
	if ! hyperfine -N --style basic --warmup "$BENCH_WARMUP" --runs "$BENCH_RUNS" \
		--export-json "$json" --command-name "$tool" -- "$cmd" >"$log" 2>&1; then
		echo "$tool: hyperfine failed"
		tail -n 5 "$log" | sed 's/^/    /'
		printf '%s\t%s\t-\tfailed\n' "$name" "$tool" >>"$BENCH_RESULTS"
		return 0
	fi
	if [ "$BENCH_VERBOSE" = 1 ]; then cat "$log"; fi
	median=$(jq -r '.results[0].median' "$json")
	printf '%s\t%s\t%s\t%s runs\n' "$name" "$tool" "$median" "$BENCH_RUNS" >>"$BENCH_RESULTS"
}

# bench_record NAME TOOL VALUE UNIT [NOTE]: record a figure measured without
# hyperfine: VALUE in UNIT ("s", "MB", "req/s" or any other, e.g. "ms CPU/MiB",
# printed as "VALUE UNIT"; "-" for no figure).
bench_record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${5:-}" "$4" >>"$BENCH_RESULTS"
}

# bench_target NAME TOOL OP RATIO: the report checks that hamn's figure divided
# by TOOL's for NAME is OP ("<=" or ">=") RATIO and says "met" or "MISSED" in
# the note. A missed target does not fail the run (figures move with load).
bench_target() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_RESULTS.targets"
}

# bench_on_exit CMD: run CMD (with eval) when the benchmark ends, even on error.
bench_on_exit() {
	BENCH_EXIT_CMDS+=("$1")
}

# bench_finish: run the bench_on_exit commands, last registered first.
bench_finish() {
	local i
	for ((i = ${#BENCH_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${BENCH_EXIT_CMDS[i]}" || :
	done
	BENCH_EXIT_CMDS=()
}

# report: print the rows recorded so far as a table. The ratio column is
# hamn's figure divided by the tool's: for times and memory above 1.00 hamn is
# slower or bigger, for req/s above 1.00 hamn is faster.
report() {
	[ -s "$BENCH_RESULTS" ] || { echo "(no results)"; return 0; }
	[ -f "$BENCH_RESULTS.targets" ] || : >"$BENCH_RESULTS.targets"
	awk -F'\t' -v tf="$BENCH_RESULTS.targets" '
	function fig(v, u) {
		if (v == "-") return "-"
		if (u == "MB") return sprintf("%.1f MB", v)
		if (u == "req/s") return sprintf("%.0f req/s", v)
		if (u != "s") return sprintf("%.2f %s", v, u)
		return sprintf("%.2f ms", v * 1000)
	}
	BEGIN {
		while ((getline line < tf) > 0) {
			split(line, a, "\t")
			op[a[1] SUBSEP a[2]] = a[3]
			lim[a[1] SUBSEP a[2]] = a[4]
		}
	}
	{ n++; b[n] = $1; t[n] = $2; m[n] = $3; note[n] = $4; u[n] = NF >= 5 ? $5 : "s"
	  if ($2 ~ /^hamn/ && $3 != "-") h[$1] = $3 }
	END {
		fmt = "%-24s | %-14s | %12s | %-9s | %s\n"
		printf fmt, "benchmark", "tool", "figure", "hamn/tool", "note"
		printf fmt, "------------------------", "--------------", "------------",
			"---------", "----"
		for (i = 1; i <= n; i++) {
			r = "-"
			k = b[i] SUBSEP t[i]
			if (m[i] != "-" && (b[i] in h) && m[i] > 0) {
				q = h[b[i]] / m[i]
				r = sprintf("%.2f", q)
				if (k in op) {
					if (op[k] == "<=")
						ok = (q <= lim[k] + 0)
					else
						ok = (q >= lim[k] + 0)
					note[i] = note[i] (note[i] == "" ? "" : ", ") "target " op[k] " " \
						lim[k] (ok ? ": met" : ": MISSED")
				}
			} else if (k in op) {
				note[i] = note[i] (note[i] == "" ? "" : ", ") "target " op[k] " " lim[k] \
					": no figure"
			}
			printf fmt, b[i], t[i], fig(m[i], u[i]), r, note[i]
		}
	}' "$BENCH_RESULTS"
}

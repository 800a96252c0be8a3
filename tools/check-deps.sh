#!/bin/bash
# check-deps.sh: every #include "module/..." in src/ must point downward along
# the dependency direction of docs/architecture.md. Prints each violation and
# exits 1 when there is one.
set -uo pipefail
cd "$(dirname "$0")/../src"

# module: the modules it may include (besides itself)
declare -A allowed=(
	[base]=""
	[oci]="base"
	[runtime]="oci base"
	[image]="oci base"
	[volume]="oci base"
	[network]="oci base"
	[distribution]="image oci base"
	[build]="image oci base"
	[engine]="image runtime network volume distribution build oci base"
	[api]="engine image network volume distribution build oci base"
	[client]="base"
	[compose]="client oci base"
	[cluster]="engine image runtime network volume distribution oci base"
	[hub]="distribution image oci base"
	[cmd]="api client compose cluster hub engine image runtime network volume distribution build oci base cmd"
)

bad=0
for dir in */; do
	mod=${dir%/}
	if [ -z "${allowed[$mod]+set}" ]; then
		echo "check-deps: module '$mod' is not in the table of tools/check-deps.sh"
		bad=1
		continue
	fi
	while IFS=: read -r file _ inc; do
		dep=${inc#*\"}
		dep=${dep%%/*}
		[ "$dep" = "$mod" ] && continue
		case " ${allowed[$mod]} " in
		*" $dep "*) ;;
		*) echo "check-deps: $file includes $dep/ (upward or sideways from $mod/)"; bad=1 ;;
		esac
	done < <(grep -n '^#include "[a-z-]*/' -r "$mod" --include='*.[ch]')
done
exit $bad

#!/bin/bash
# demo.sh BUILD_DIR: make the local busybox test image and run a first container.
# It grows with the project: today it runs the OCI bundle through hamn-runtime.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
IMG="$BUILD/fixtures"

if [ "$(id -u)" != 0 ]; then
	echo "demo: containers need root here; run 'sudo make demo'" >&2
	exit 1
fi

[ -f "$IMG/.done" ] || "$TOP/tests/fixtures/mkimage.sh" "$IMG"

state=$(mktemp -d /tmp/hamn-demo.XXXXXX)
bundle="$state/bundle"
trap 'rm -rf "$state"' EXIT
cp -a "$IMG/bundle" "$bundle"
# The fixture bundle runs /bin/sh; make it say hello instead.
jq '.process.args = ["/bin/sh", "-c", "echo hello from a hamn container: $(hostname), pid $$; id"]
    | .hostname = "hamn-demo"' "$IMG/bundle/config.json" >"$bundle/config.json"

echo "+ hamn-runtime run --bundle $bundle demo-$$"
"$BUILD/hamn-runtime" --root "$state/run" run --bundle "$bundle" "demo-$$"

cat <<EOF2

What to try next:
  $BUILD/hamn-runtime spec                      # a default config.json with secure defaults
  cd $IMG/bundle && $BUILD/hamn-runtime run x   # an interactive busybox shell (terminal: set in config.json)
  make check                                    # every test
  make bench                                    # hamn against crun and runc
EOF2

#!/bin/sh
# runtime-run.sh RUNTIME STATE_ROOT BUNDLE - one `RUNTIME run` of BUNDLE with a
# fresh container id, timed by runtime.bench.
#
# Every runtime runs in a private mount namespace where the cgroup2 mount at
# /sys/fs/cgroup/unified is hidden (crun 1.8 refuses the hybrid layout, see
# /work/shared/docs/peers.md); all of them are run this way so they see the
# same system. `run` (not detached) deletes the container when it exits.
# The id is unique among live processes; runtime.bench's clean-up deletes any
# container left behind by a failed run.
exec unshare -m --propagation private sh -c \
	'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
	"$1" --root "$2" run --bundle "$3" "bench-$$"

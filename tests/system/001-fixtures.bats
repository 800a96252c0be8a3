#!/usr/bin/env bats
# The test fixtures: tests/fixtures/mkimage.sh (the busybox test image) and
# tests/fixtures/mkhostile.sh (hostile image tars). Everything else relies on
# these, so they are checked first.

load helpers

FIXTURES_SRC="$BATS_TEST_DIRNAME/../fixtures"

setup_file() {
	export FX1="$BATS_FILE_TMPDIR/fx1" FX2="$BATS_FILE_TMPDIR/fx2"
	"$FIXTURES_SRC/mkimage.sh" "$FX1" >&2
	"$FIXTURES_SRC/mkimage.sh" "$FX2" >&2
}

teardown_file() {
	rm -rf "$BATS_FILE_TMPDIR/fx1" "$BATS_FILE_TMPDIR/fx2" "$BATS_FILE_TMPDIR/hostile" \
		"$BATS_FILE_TMPDIR/nobusybox" "$BATS_FILE_TMPDIR/rebuild"
}

# sha FILE: the hex sha256 of FILE.
sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# blob_ok DIR DIGEST SIZE: the OCI blob exists, hashes to DIGEST and has SIZE bytes.
blob_ok() {
	local f="$1/blobs/sha256/${2#sha256:}"
	[[ "$2" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "bad digest '$2'" >&2; return 1; }
	[ -f "$f" ] || { echo "missing blob $2" >&2; return 1; }
	[ "sha256:$(sha "$f")" = "$2" ] || { echo "blob $2 does not match" >&2; return 1; }
	[ "$(stat -c %s "$f")" = "$3" ] || { echo "blob $2: size is not $3" >&2; return 1; }
}

# not CMD...: succeed only when CMD fails (a bare "! CMD" never fails a bats test).
not() {
	if "$@"; then
		return 1
	fi
}

# tar_names TAR: every member name, verbatim (GNU tar would rewrite hostile ones).
tar_names() {
	python3 -c 'import sys, tarfile; print("\n".join(tarfile.open(sys.argv[1]).getnames()))' "$1"
}

@test "mkimage.sh is reproducible: two runs give the same digests and bytes" {
	[ -f "$FX1/.done" ]
	[ -f "$FX2/.done" ]
	[ "$(wc -l <"$FX1/digests.txt")" -eq 7 ]
	diff "$FX1/digests.txt" "$FX2/digests.txt"
	cmp "$FX1/oci.tar" "$FX2/oci.tar"
	cmp "$FX1/docker.tar" "$FX2/docker.tar"
	cmp "$FX1/rootfs.tar" "$FX2/rootfs.tar"
	cmp "$FX1/bundle/config.json" "$FX2/bundle/config.json"
	diff -r --no-dereference "$FX1/rootfs" "$FX2/rootfs"
}

@test "digests.txt lists every artefact with its real digest" {
	local name
	for name in layer.tar layer.tar.gz config manifest oci.tar docker.tar rootfs.tar; do
		grep -Eq "^$name sha256:[0-9a-f]{64}\$" "$FX1/digests.txt"
	done
	for name in oci.tar docker.tar rootfs.tar; do
		grep -qx "$name sha256:$(sha "$FX1/$name")" "$FX1/digests.txt"
	done
	grep -qx "layer.tar sha256:$(sha "$FX1/rootfs.tar")" "$FX1/digests.txt"
}

@test "the rootfs has a working static busybox and its applets" {
	local r="$FX1/rootfs" a d
	[ -f "$r/bin/busybox" ]
	[ -x "$r/bin/busybox" ]
	run "$r/bin/busybox" echo ok
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	run "$r/bin/sh" -c 'echo $((6 * 7))'
	[ "$status" -eq 0 ]
	[ "$output" = 42 ]
	for a in sh ls cat echo true false sleep id hostname mount ps env grep head dd wc httpd nc \
		wget mkdir rm ln mv touch chmod stat readlink sed awk top kill seq yes printf test; do
		[ "$(readlink "$r/bin/$a")" = busybox ] || { echo "no applet $a" >&2; return 1; }
	done
	for d in bin dev etc proc sys tmp root var run home; do
		[ -d "$r/$d" ]
		[ ! -L "$r/$d" ]
	done
	[ "$(stat -c %a "$r/tmp")" = 1777 ]
	grep -qx 'root:x:0:0:root:/root:/bin/sh' "$r/etc/passwd"
	grep -q '^nobody:x:65534:65534:' "$r/etc/passwd"
	grep -qx 'root:x:0:' "$r/etc/group"
	grep -qx 'tty:x:5:' "$r/etc/group"
	grep -q '^nogroup:x:65534:' "$r/etc/group"
}

@test "rootfs.tar holds the rootfs with uid 0 and fixed times, no ./ prefix" {
	run tar -tvf "$FX1/rootfs.tar"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q ' bin/busybox$'
	echo "$output" | grep -q ' bin/sh -> busybox$'
	echo "$output" | grep -q ' etc/passwd$'
	not grep -q ' \./' <<<"$output"
	not grep -qv ' 0/0 ' <<<"$output"
	not grep -qv ' 2000-01-01 00:00 ' <<<"$output"
}

@test "oci.tar is an internally consistent OCI image layout" {
	local d="$BATS_TEST_TMPDIR/oci" idx man cfg m_dig m_size f
	mkdir "$d"
	tar -xf "$FX1/oci.tar" -C "$d"
	[ "$(jq -r .imageLayoutVersion "$d/oci-layout")" = 1.0.0 ]
	idx="$d/index.json"
	[ "$(jq -r '.manifests | length' "$idx")" = 1 ]
	[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$idx")" = latest ]
	[ "$(jq -r '.manifests[0].mediaType' "$idx")" = application/vnd.oci.image.manifest.v1+json ]
	m_dig=$(jq -r '.manifests[0].digest' "$idx")
	m_size=$(jq -r '.manifests[0].size' "$idx")
	blob_ok "$d" "$m_dig" "$m_size"
	grep -qx "manifest $m_dig" "$FX1/digests.txt"

	man="$d/blobs/sha256/${m_dig#sha256:}"
	[ "$(jq -r .schemaVersion "$man")" = 2 ]
	blob_ok "$d" "$(jq -r .config.digest "$man")" "$(jq -r .config.size "$man")"
	[ "$(jq -r '.layers | length' "$man")" = 1 ]
	[ "$(jq -r '.layers[0].mediaType' "$man")" = application/vnd.oci.image.layer.v1.tar+gzip ]
	blob_ok "$d" "$(jq -r '.layers[0].digest' "$man")" "$(jq -r '.layers[0].size' "$man")"
	grep -qx "config $(jq -r .config.digest "$man")" "$FX1/digests.txt"
	grep -qx "layer.tar.gz $(jq -r '.layers[0].digest' "$man")" "$FX1/digests.txt"

	cfg="$d/blobs/sha256/$(jq -r '.config.digest | ltrimstr("sha256:")' "$man")"
	[ "$(jq -r .architecture "$cfg")" = amd64 ]
	[ "$(jq -r .os "$cfg")" = linux ]
	[ "$(jq -c .config.Cmd "$cfg")" = '["sh"]' ]
	jq -e '.config.Env | index("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")' \
		"$cfg" >/dev/null
	[ "$(jq -r '.history | length' "$cfg")" -ge 1 ]
	[ "$(jq -r .rootfs.type "$cfg")" = layers ]
	f="$d/blobs/sha256/$(jq -r '.layers[0].digest | ltrimstr("sha256:")' "$man")"
	[ "$(jq -r '.rootfs.diff_ids[0]' "$cfg")" = "sha256:$(gzip -dc "$f" | sha256sum | cut -d' ' -f1)" ]
	gzip -dc "$f" | cmp - "$FX1/rootfs.tar"
	for f in "$d"/blobs/sha256/*; do
		[ "$(sha "$f")" = "$(basename "$f")" ]
	done
}

@test "docker.tar is a docker save tar whose manifest references files it holds" {
	local d="$BATS_TEST_TMPDIR/docker" cfg layer dir
	mkdir "$d"
	tar -xf "$FX1/docker.tar" -C "$d"
	[ "$(jq -r 'length' "$d/manifest.json")" = 1 ]
	[ "$(jq -c '.[0].RepoTags' "$d/manifest.json")" = '["hamn-test:latest"]' ]
	cfg=$(jq -r '.[0].Config' "$d/manifest.json")
	[ -f "$d/$cfg" ]
	[ "$(sha "$d/$cfg").json" = "$cfg" ]
	grep -qx "config sha256:${cfg%.json}" "$FX1/digests.txt"
	[ "$(jq -r '.[0].Layers | length' "$d/manifest.json")" = 1 ]
	layer=$(jq -r '.[0].Layers[0]' "$d/manifest.json")
	[ -f "$d/$layer" ]
	[ "$(jq -r '.rootfs.diff_ids[0]' "$d/$cfg")" = "sha256:$(sha "$d/$layer")" ]
	cmp "$d/$layer" "$FX1/rootfs.tar"
	dir=$(dirname "$layer")
	[ "$(cat "$d/$dir/VERSION")" = 1.0 ]
	jq -e . "$d/$dir/json" >/dev/null
	[ "$(jq -r '.["hamn-test"].latest' "$d/repositories")" = "$dir" ]
}

@test "the bundle's config.json is a runtime-spec config with the expected defaults" {
	local c="$FX1/bundle/config.json" caps
	[ -d "$FX1/bundle/rootfs" ]
	[ ! -L "$FX1/bundle/rootfs" ]
	[ -x "$FX1/bundle/rootfs/bin/busybox" ]
	jq -e . "$c" >/dev/null
	[ "$(jq -r .ociVersion "$c")" = 1.0.2 ]
	[ "$(jq -r .process.terminal "$c")" = false ]
	[ "$(jq -c .process.args "$c")" = '["/bin/sh"]' ]
	[ "$(jq -c .process.env "$c")" = \
		'["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' ]
	[ "$(jq -r .process.cwd "$c")" = / ]
	[ "$(jq -r .root.path "$c")" = rootfs ]
	[ "$(jq -c '[.mounts[].destination]' "$c")" = \
		'["/proc","/dev","/dev/pts","/dev/shm","/dev/mqueue","/sys","/sys/fs/cgroup"]' ]
	jq -e '.mounts[] | select(.destination == "/sys") | .options | index("ro")' "$c" >/dev/null
	jq -e '.mounts[] | select(.destination == "/sys/fs/cgroup") | .options | index("ro")' \
		"$c" >/dev/null
	[ "$(jq -c '[.linux.namespaces[].type] | sort' "$c")" = \
		'["ipc","mount","network","pid","uts"]' ]
	caps=$(jq -c '.process.capabilities.bounding | sort' "$c")
	[ "$(jq -r '.process.capabilities.bounding | length' "$c")" = 14 ]
	[ "$(jq -c '.process.capabilities.effective | sort' "$c")" = "$caps" ]
	[ "$(jq -c '.process.capabilities.permitted | sort' "$c")" = "$caps" ]
	jq -e '.process.capabilities.bounding | index("CAP_NET_BIND_SERVICE")' "$c" >/dev/null
	not jq -e '.process.capabilities.bounding | index("CAP_SYS_ADMIN")' "$c" >/dev/null
	[ "$(jq -c '.process.rlimits' "$c")" = '[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]' ]
	jq -e '.linux.maskedPaths | index("/proc/keys")' "$c" >/dev/null
	jq -e '.linux.readonlyPaths | index("/proc/sys")' "$c" >/dev/null
	[ "$(jq -r '.linux.seccomp' "$c")" = null ]
}

@test "mkimage.sh fails loudly without busybox-static and leaves nothing behind" {
	local out="$BATS_FILE_TMPDIR/nobusybox"
	HAMN_BUSYBOX=/nonexistent/busybox run "$FIXTURES_SRC/mkimage.sh" "$out"
	[ "$status" -ne 0 ]
	[[ "$output" == *busybox-static* ]]
	[ ! -e "$out" ]
}

@test "mkimage.sh rebuilds an existing directory in place without leftovers" {
	local out="$BATS_FILE_TMPDIR/rebuild"
	mkdir -p "$out"
	touch "$out/stale"
	run "$FIXTURES_SRC/mkimage.sh" "$out"
	[ "$status" -eq 0 ]
	[ -f "$out/.done" ]
	[ ! -e "$out/stale" ]
	diff "$out/digests.txt" "$FX1/digests.txt"
	not ls -d "$BATS_FILE_TMPDIR"/.mkimage.* 2>/dev/null
}

@test "ensure_fixtures makes the shared fixture image" {
	ensure_fixtures
	[ -f "$HAMN_FIXTURES/.done" ]
	[ -f "$HAMN_FIXTURES/bundle/config.json" ]
	[ -x "$HAMN_FIXTURES/rootfs/bin/busybox" ]
}

@test "mkhostile.sh makes every hostile tar with its attack entry" {
	local h="$BATS_FILE_TMPDIR/hostile" t layer
	run "$FIXTURES_SRC/mkhostile.sh" "$h"
	[ "$status" -eq 0 ]
	[ -f "$h/.done" ]
	declare -A want=(
		[hostile-dotdot.tar]='../../escape'
		[hostile-abs.tar]='/tmp/hamn-escape-abs'
		[hostile-symlink.tar]='link/hamn-escape-sym'
		[hostile-symlink-rel.tar]='a/tmp/x'
		[hostile-hardlink-dotdot.tar]='passwd'
		[hostile-hardlink-abs.tar]='shadow'
		[hostile-chardev.tar]='mem'
		[hostile-symlink-dir.tar]='x'
		[whiteout.tar]='.wh.file'
		[malformed-manifest.tar]='hello'
		[null-rootfs.tar]='hello'
		[huge-manifest.tar]='hello'
	)
	for t in "${!want[@]}"; do
		[ -f "$h/$t" ] || { echo "missing $t" >&2; return 1; }
		tar_names "$h/$t" | grep -qx manifest.json
		tar -xOf "$h/$t" manifest.json >"$BATS_TEST_TMPDIR/m.json"
		case $t in
		malformed-manifest.tar)
			not jq -e . "$BATS_TEST_TMPDIR/m.json" >/dev/null 2>&1
			continue
			;;
		huge-manifest.tar)
			[ "$(stat -c %s "$BATS_TEST_TMPDIR/m.json")" -ge $((64 << 20)) ]
			;;
		esac
		layer=$(jq -r '.[0].Layers[-1]' "$BATS_TEST_TMPDIR/m.json")
		tar -xOf "$h/$t" "$layer" >"$BATS_TEST_TMPDIR/layer.tar"
		tar_names "$BATS_TEST_TMPDIR/layer.tar" | grep -qxF "${want[$t]}" ||
			{ echo "$t has no entry ${want[$t]}" >&2; return 1; }
	done
	[ "$(tar -xOf "$h/null-rootfs.tar" "$(tar_names "$h/null-rootfs.tar" | grep -E '^[0-9a-f]{64}\.json$')" |
		jq -r .rootfs)" = null ]
	rm -f "$BATS_TEST_TMPDIR/m.json" "$BATS_TEST_TMPDIR/layer.tar"
}

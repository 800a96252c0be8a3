#!/usr/bin/env bats
# Images through the Docker Engine API (src/api/images.c, images_io.c): load
# (docker-save and OCI tars, gzip'd or not), list, inspect, save into a second
# daemon, import, tag and rmi, prune, history and system df, with the hamn CLI,
# the real docker CLI, curl and docker-py. Then what must not hurt: hostile and
# broken archives, a client that leaves in the middle of an upload, and hamnd
# killed with SIGKILL while it loads a 200 MiB layer.

load container-helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	ensure_fixtures
	export HOSTILE="$BATS_FILE_TMPDIR/hostile"
	"$HAMN_TOP/tests/fixtures/mkhostile.sh" "$HOSTILE" >&2
	write_genbig "$BATS_FILE_TMPDIR/genbig.py"
	start_hamnd
}

teardown_file() {
	stop_second
	# a test restarts hamnd: stop the daemon that runs now
	[ ! -f "$BATS_FILE_TMPDIR/hamnd.pid" ] || HAMND_PID=$(cat "$BATS_FILE_TMPDIR/hamnd.pid")
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	require_docker_cli
	load_test_image
}

# ---- helpers ----

# fixture_digest NAME: a digest from the fixtures' digests.txt (config, layer.tar, ...).
fixture_digest() {
	awk -v n="$1" '$1 == n { print $2 }' "$HAMN_FIXTURES/digests.txt"
}

# image_id REF [SOCK]: the image's Id, or nothing when the daemon does not know REF.
image_id() {
	curl -s --unix-socket "${2:-$HAMN_SOCK}" "http://d/images/$1/json" | jq -r '.Id // empty'
}

# listed REF: does `docker images` show REF (repo:tag)?
listed() {
	dk images --format '{{.Repository}}:{{.Tag}}' | grep -qxF -- "$1"
}

# tmp_empty: the store's staging directory holds nothing.
tmp_empty() {
	[ -z "$(ls -A "$HAMND_ROOT/tmp")" ]
}

# staged_at_least BYTES: the files under the store's tmp/ hold at least BYTES.
staged_at_least() {
	local n
	n=$(find "$HAMND_ROOT/tmp" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
	[ "$n" -ge "$1" ]
}

# upload PATH FILE [SOCK]: POST FILE as a chunked tar body; prints the body then the status.
upload() {
	curl -s -m 120 -X POST -H 'Content-Type: application/x-tar' -T - -w '\n%{http_code}' \
		--unix-socket "${3:-$HAMN_SOCK}" "http://d$1" <"$2"
}

# import_unique TAG: import the fixture rootfs as TAG (a new ID each time); prints the ID.
import_unique() {
	dk import --change "LABEL unique=$RANDOM$RANDOM" "$HAMN_FIXTURES/rootfs.tar" "$1"
}

# start_second [env...]: a second hamnd with its own root and socket (SECOND_*).
start_second() {
	local d="$BATS_FILE_TMPDIR/second"
	mkdir -p "$d"
	echo '{}' >"$d/daemon.json"
	SECOND_ROOT="$d/root"
	SECOND_SOCK="$d/run/hamn.sock"
	env "$@" "$HAMND_BIN" --root "$SECOND_ROOT" --exec-root "$d/run" -H "unix://$SECOND_SOCK" \
		--config-file "$d/daemon.json" --bridge none --ip-forward=false >>"$d/log" 2>&1 3>&- &
	SECOND_PID=$!
	echo "$SECOND_PID" >"$d/pid"
	wait_for 10 hamnd_answers "$SECOND_SOCK" || { cat "$d/log" >&2; return 1; }
}

# stop_second: stop the second daemon (if one runs) and remove its directories.
stop_second() {
	local d="$BATS_FILE_TMPDIR/second" pid
	[ -f "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	kill -TERM "$pid" 2>/dev/null || true
	wait_for 10 not kill -0 "$pid" || kill -KILL "$pid"
	rm -f "$d/pid"
	rm -rf "$d"
}

# dk2 ARGS...: the docker CLI against the second daemon.
dk2() {
	DOCKER_HOST="unix://$SECOND_SOCK" "$DOCKER_CLI" "$@"
}

# write_genbig FILE: a python script that writes a docker-save tar to stdout whose
# one layer is a file of MIB MiB of random bytes, made and hashed on the fly
# (nothing big is held in memory or written to disk):
#   genbig.py MIB TAG [STALL_MIB GO_FILE]
# With STALL_MIB, it stops after that many MiB of the layer until GO_FILE exists.
write_genbig() {
	cat >"$1" <<'EOF'
import hashlib, io, json, os, sys, tarfile, time

mib, tag = int(sys.argv[1]), sys.argv[2]
stall = int(sys.argv[3]) << 20 if len(sys.argv) > 3 else None
go = sys.argv[4] if len(sys.argv) > 4 else None
size = mib << 20
inner = tarfile.TarInfo('random.bin')
inner.size, inner.mode = size, 0o644
head = inner.tobuf(tarfile.GNU_FORMAT)


class Layer:
    """The layer tar (header, random bytes, end blocks), hashed as it is read."""
    def __init__(self):
        self.h, self.buf, self.left, self.tail = hashlib.sha256(), head, size, b'\0' * 1024

    def more(self):
        if stall is not None and size - self.left >= stall:
            deadline = time.monotonic() + 300
            while not os.path.exists(go) and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.left:
            b = os.urandom(min(self.left, 1 << 20))
            self.left -= len(b)
            return b
        b, self.tail = self.tail, b''
        return b

    def read(self, n):
        while len(self.buf) < n and (self.left or self.tail):
            self.buf += self.more()
        b, self.buf = self.buf[:n], self.buf[n:]
        self.h.update(b)
        return b


out = tarfile.open(fileobj=sys.stdout.buffer, mode='w|', format=tarfile.GNU_FORMAT)
layer = Layer()
ti = tarfile.TarInfo('layer/layer.tar')
ti.size = len(head) + size + 1024
out.addfile(ti, layer)
cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'created': '2020-01-01T00:00:00Z',
                  'config': {'Cmd': ['sh']},
                  'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + layer.h.hexdigest()]}})
cfg_name = hashlib.sha256(cfg.encode()).hexdigest() + '.json'
man = json.dumps([{'Config': cfg_name, 'RepoTags': [tag], 'Layers': ['layer/layer.tar']}])
for name, text in ((cfg_name, cfg), ('manifest.json', man)):
    ti = tarfile.TarInfo(name)
    ti.size = len(text.encode())
    out.addfile(ti, io.BytesIO(text.encode()))
out.close()
EOF
}

# ---- load, list, inspect ----

@test "docker load: docker-save and OCI tars, plain and gzip'd, give the same image" {
	local config tar
	config=$(fixture_digest config)
	gzip -c "$HAMN_FIXTURES/docker.tar" >"$BATS_TEST_TMPDIR/docker.tar.gz"
	gzip -c "$HAMN_FIXTURES/oci.tar" >"$BATS_TEST_TMPDIR/oci.tar.gz"
	for tar in "$HAMN_FIXTURES/docker.tar" "$HAMN_FIXTURES/oci.tar" \
		"$BATS_TEST_TMPDIR/docker.tar.gz" "$BATS_TEST_TMPDIR/oci.tar.gz"; do
		run_dk rmi hamn-test
		not listed hamn-test:latest
		run_dk load -i "$tar"
		[ "$output" = "Loaded image: hamn-test:latest" ]
		[ "$(image_id hamn-test)" = "$config" ]
	done
}

@test "hamn load from a file and from stdin; the reply is docker's JSON-lines" {
	run_hamn rmi hamn-test
	run_hamn load -i "$HAMN_FIXTURES/oci.tar"
	[ "$output" = "Loaded image: hamn-test:latest" ]
	run_hamn rmi hamn-test
	run bash -c "'$HAMN_BIN' -H 'unix://$HAMN_SOCK' load <'$HAMN_FIXTURES/docker.tar'"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: hamn-test:latest" ]
	# the wire format: one {"stream"} object per line, "\r\n" after each
	run upload /images/load?quiet=1 "$HAMN_FIXTURES/docker.tar"
	[ "$(status_of)" = 200 ]
	[ "$(body)" = $'{"stream":"Loaded image: hamn-test:latest\\n"}\r' ]
}

@test "an untagged image is reported by its ID" {
	local id tar="$BATS_TEST_TMPDIR/untagged.tar"
	id=$(import_unique untagged-src:1)
	dk save -o "$tar" "$id"
	run_dk rmi untagged-src:1
	[ -z "$(image_id "$id")" ]
	run_dk load -i "$tar"
	[ "$output" = "Loaded image ID: $id" ]
	run_dk rmi "$id"
}

@test "images lists hamn-test (docker, hamn, curl) and applies filters" {
	run_dk images
	[[ "$output" == *"hamn-test "*" latest "* ]]
	run_dk images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
	[[ "$output" == *"hamn-test:latest $(fixture_digest config | cut -c8-19)"* ]]
	run_hamn images
	[[ "$output" == *hamn-test*latest* ]]
	run api GET /images/json
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -r '.[] | select(.RepoTags | index("hamn-test:latest")) | .Id')" = \
		"$(fixture_digest config)" ]
	# reference globs, dangling, label
	run_dk images -q --filter 'reference=hamn-t*'
	[ -n "$output" ]
	run_dk images -q --filter 'reference=nomatch*'
	[ -z "$output" ]
	run_dk images -q --filter dangling=true --filter 'reference=hamn-test'
	[ -z "$output" ]
	run_dk images -q --filter label=no.such.label
	[ -z "$output" ]
	# an unknown filter is a 400 with dockerd's message
	run api GET '/images/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D'
	[ "$(status_of)" = 400 ]
	[[ "$(body)" == *"Invalid filter 'colour'"* ]]
}

@test "images --filter before/since compare creation times" {
	local newer
	newer=$(import_unique since-test:1)
	run_dk images -q --no-trunc --filter since=hamn-test
	[[ "$output" == *"$newer"* ]]
	[[ "$output" != *"$(fixture_digest config)"* ]]
	run_dk images -q --no-trunc --filter before=since-test:1
	[[ "$output" == *"$(fixture_digest config)"* ]]
	[[ "$output" != *"$newer"* ]]
	run_dk rmi since-test:1
}

@test "inspect shows Id, RepoTags, Config.Cmd and RootFS.Layers; unknown is 404" {
	run_dk inspect --format '{{.Id}}|{{json .RepoTags}}|{{json .Config.Cmd}}|{{json .RootFS.Layers}}' hamn-test
	[ "$output" = "$(fixture_digest config)|[\"hamn-test:latest\"]|[\"sh\"]|[\"$(fixture_digest layer.tar)\"]" ]
	run api GET /images/hamn-test:latest/json
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c .RootFS)" = "{\"Type\":\"layers\",\"Layers\":[\"$(fixture_digest layer.tar)\"]}" ]
	[ "$(body | jq -r .Os)" = linux ]
	# by full ID and by short ID too (docker-py uses the sha256: form)
	[ "$(image_id "$(fixture_digest config)")" = "$(fixture_digest config)" ]
	[ "$(image_id "$(fixture_digest config | cut -c8-19)")" = "$(fixture_digest config)" ]
	run api GET /images/nosuch/json
	[ "$(status_of)" = 404 ]
	[ "$(body | jq -r .message)" = "no such image: nosuch: No such image: nosuch:latest" ]
	# a name that could be an ID prefix is named as a tag too when nothing matches
	run api GET /images/abc123/json
	[ "$(status_of)" = 404 ]
	[ "$(body | jq -r .message)" = "no such image: abc123: No such image: abc123:latest" ]
	run_dk 1 image inspect nosuch:v2
	[[ "$output" == *"No such image: nosuch:v2"* ]]
}

# ---- save, import, tag, rmi ----

@test "save several images into one tar; a second daemon loads them with the same IDs" {
	local tar="$BATS_TEST_TMPDIR/two.tar" imported
	imported=$(import_unique save-test:1)
	run_dk save -o "$tar" hamn-test save-test:1
	[ "$(tar -xOf "$tar" manifest.json | jq length)" = 2 ]
	[ "$(tar -xOf "$tar" manifest.json | jq -r '.[].RepoTags[]' | sort | tr '\n' ' ')" = \
		"hamn-test:latest save-test:1 " ]
	start_second
	DOCKER_HOST="unix://$SECOND_SOCK" run_cmd "$DOCKER_CLI" load -i "$tar"
	[[ "$output" == *"Loaded image: hamn-test:latest"* ]]
	[[ "$output" == *"Loaded image: save-test:1"* ]]
	[ "$(image_id hamn-test "$SECOND_SOCK")" = "$(fixture_digest config)" ]
	[ "$(image_id save-test:1 "$SECOND_SOCK")" = "$imported" ]
	# GET /images/{name}/get and hamn save give a loadable tar too
	curl -sf --unix-socket "$HAMN_SOCK" -o "$BATS_TEST_TMPDIR/one.tar" \
		http://d/images/save-test:1/get
	run_hamn save -o "$BATS_TEST_TMPDIR/hamn.tar" hamn-test
	dk2 rmi save-test:1 hamn-test
	run_cmd "$HAMN_BIN" -H "unix://$SECOND_SOCK" load -i "$BATS_TEST_TMPDIR/one.tar"
	[ "$output" = "Loaded image: save-test:1" ]
	run_cmd "$HAMN_BIN" -H "unix://$SECOND_SOCK" load -i "$BATS_TEST_TMPDIR/hamn.tar"
	[ "$(image_id hamn-test "$SECOND_SOCK")" = "$(fixture_digest config)" ]
	stop_second
	run_dk rmi save-test:1
}

@test "saving an unknown image is a 404, not a broken tar" {
	run api GET '/images/get?names=hamn-test&names=nosuch'
	[ "$(status_of)" = 404 ]
	[ "$(body | jq -r .message)" = "No such image: nosuch" ]
	run_dk 1 save -o "$BATS_TEST_TMPDIR/x.tar" nosuch
	run_hamn 1 save -o "$BATS_TEST_TMPDIR/y.tar" nosuch
	[ ! -e "$BATS_TEST_TMPDIR/y.tar" ]
}

@test "import a rootfs tar with --change and a tag (docker and hamn)" {
	local id
	run_dk import --change 'CMD ["sh"]' --change 'ENV A=1' "$HAMN_FIXTURES/rootfs.tar" imp-docker:v1
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=$output
	[ "$(image_id imp-docker:v1)" = "$id" ]
	run_dk inspect --format '{{json .Config.Cmd}}|{{json .Config.Env}}|{{.Comment}}|{{json .RootFS.Layers}}' imp-docker:v1
	[ "$output" = "[\"sh\"]|[\"A=1\"]|Imported from -|[\"$(fixture_digest layer.tar)\"]" ]
	run_hamn import --change 'CMD ["echo","hi"]' -m 'from hamn' "$HAMN_FIXTURES/rootfs.tar" imp-hamn
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	run_dk inspect --format '{{json .Config.Cmd}}|{{.Comment}}' imp-hamn:latest
	[ "$output" = '["echo","hi"]|from hamn' ]
	# the wire format: {"status":"sha256:..."}
	run upload '/images/create?fromSrc=-&repo=imp-curl&tag=t1' "$HAMN_FIXTURES/rootfs.tar"
	[ "$(status_of)" = 200 ]
	[ "$(body | tr -d '\r' | jq -r .status)" = "$(image_id imp-curl:t1)" ]
	run_dk rmi imp-docker:v1 imp-hamn imp-curl:t1
}

@test "import refuses URLs, bad changes and bad names with a 400" {
	run api POST '/images/create?fromSrc=http%3A%2F%2F127.0.0.1%3A1%2Fx.tar'
	[ "$(status_of)" = 400 ]
	[[ "$(body | jq -r .message)" == *"does not download URLs"* ]]
	run upload '/images/create?fromSrc=-&changes=FROM%20x' "$HAMN_FIXTURES/rootfs.tar"
	[ "$(status_of)" = 400 ]
	[[ "$(body | jq -r .message)" == *"FROM is not supported"* ]]
	run upload '/images/create?fromSrc=-&repo=x&tag=bad%3Atag' "$HAMN_FIXTURES/rootfs.tar"
	[ "$(status_of)" = 400 ]
	run_dk 1 import --change 'RUN true' "$HAMN_FIXTURES/rootfs.tar" imp-bad:1
	not listed imp-bad:1
}

@test "tag, then rmi untags until the last tag, which deletes" {
	local id
	run_dk tag hamn-test tagged:a
	run_hamn tag hamn-test 127.0.0.1:5000/tagged/b:v1
	[ "$(image_id tagged:a)" = "$(fixture_digest config)" ]
	[ "$(image_id 127.0.0.1:5000/tagged/b:v1)" = "$(fixture_digest config)" ]
	run api POST '/images/hamn-test/tag?repo=tagged&tag=c'
	[ "$(status_of)" = 201 ]
	[ "$(body)" = "" ]
	run_dk rmi tagged:a tagged:c
	[ "$output" = $'Untagged: tagged:a\nUntagged: tagged:c' ]
	run_hamn rmi 127.0.0.1:5000/tagged/b:v1
	[ "$output" = "Untagged: 127.0.0.1:5000/tagged/b:v1" ]
	listed hamn-test:latest
	# the last tag of an image: untagged, then deleted
	id=$(import_unique last-tag:1)
	run api DELETE /images/last-tag:1
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c '.[0]')" = '{"Untagged":"last-tag:1"}' ]
	[ "$(body | jq -r '.[] | .Deleted // empty' | head -1)" = "$id" ]
	[ -z "$(image_id "$id")" ]
}

@test "rmi and tag of unknown images are 404s with docker's message" {
	run api DELETE /images/nosuch:tag
	[ "$(status_of)" = 404 ]
	[ "$(body | jq -r .message)" = "No such image: nosuch:tag" ]
	run_dk 1 rmi nosuch:tag
	[[ "$output" == *"No such image: nosuch:tag"* ]]
	run api POST '/images/nosuch/tag?repo=x&tag=y'
	[ "$(status_of)" = 404 ]
	run api POST '/images/hamn-test/tag?repo=Upper&tag=y'
	[ "$(status_of)" = 400 ]
	run api POST '/images/hamn-test/tag?repo=&tag=y'
	[ "$(status_of)" = 400 ]
}

@test "rmi of an image a container uses is a 409 naming the container" {
	local n cid out
	n=$(unique_name rmi-used)
	out=$(dk create --name "$n" hamn-test true 2>&1) ||
		skip "container create does not work yet, so an image cannot be in use: $out"
	cid=$(dk inspect -f '{{.Id}}' "$n")
	run api DELETE /images/hamn-test
	[ "$(status_of)" = 409 ]
	[ "$(body | jq -r .message)" = "conflict: unable to remove repository reference \"hamn-test\" (must force) - container ${cid:0:12} is using its referenced image $(fixture_digest config | cut -c8-19)" ]
	run_dk 1 rmi "$(fixture_digest config)"
	[[ "$output" == *"image is being used by stopped container ${cid:0:12}"* ]]
	# prune -a keeps it too
	run_dk image prune -a -f
	listed hamn-test:latest
	run_dk rm "$n"
}

@test "image prune removes dangling images; -a with filters removes unused ones" {
	local dangling labelled kept
	dangling=$(dk import "$HAMN_FIXTURES/rootfs.tar")
	run_dk image prune -f
	[[ "$output" == *"deleted: $dangling"* ]]
	[ -z "$(image_id "$dangling")" ]
	listed hamn-test:latest
	# hamn's CLI does the same
	dangling=$(dk import "$HAMN_FIXTURES/rootfs.tar")
	run_hamn image prune
	[[ "$output" == *"deleted: $dangling"* ]]
	# -a with a label filter: only the labelled unused image goes
	labelled=$(dk import --change 'LABEL prune.me=yes' "$HAMN_FIXTURES/rootfs.tar" pl:1)
	kept=$(import_unique pk:1)
	run_dk image prune -a -f --filter label=prune.me=yes
	[[ "$output" == *"untagged: pl:1"* ]]
	[[ "$output" == *"deleted: $labelled"* ]]
	[ -n "$(image_id pk:1)" ]
	# label!=: every unused image without the label goes (hamn-test), pk:1 stays
	run_dk image prune -a -f --filter 'label!=unique'
	[[ "$output" == *"untagged: hamn-test:latest"* ]]
	[ -n "$(image_id pk:1)" ]
	run_dk rmi pk:1
	load_test_image
	# the API with docker-py's shape: dangling=false prunes every unused image
	run api POST '/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D'
	[ "$(status_of)" = 200 ]
	[[ "$(body | jq -c .ImagesDeleted)" == *'{"Untagged":"hamn-test:latest"}'* ]]
	[ "$(body | jq -r .SpaceReclaimed)" -gt 0 ]
	not listed hamn-test:latest
	run api POST /images/prune
	[ "$(body | jq -c .)" = '{"ImagesDeleted":null,"SpaceReclaimed":0}' ]
	run api POST '/images/prune?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D'
	[ "$(status_of)" = 400 ]
}

@test "history (docker, hamn, curl)" {
	run_dk history hamn-test
	[[ "$output" == *"tests/fixtures/mkimage.sh"* ]]
	run_hamn history hamn-test
	[[ "$output" == *"tests/fixtures/mkimage.sh"* ]]
	run api GET /images/hamn-test/history
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -r '.[0].CreatedBy')" = "tests/fixtures/mkimage.sh: busybox-static rootfs" ]
	[ "$(body | jq -r '.[0].Tags[0]')" = "hamn-test:latest" ]
	run api GET /images/nosuch/history
	[ "$(status_of)" = 404 ]
}

@test "system df (docker, hamn, curl) counts images, layers and containers" {
	local size total
	run_dk system df
	[[ "$output" == *Images* ]]
	run_dk system df -v
	[[ "$output" == *hamn-test* ]]
	run_hamn system df
	[[ "$output" == *Images* ]]
	run api GET /system/df
	[ "$(status_of)" = 200 ]
	[ "$(body | jq -c 'keys')" = '["BuildCache","BuilderSize","Containers","Images","LayersSize","Volumes"]' ]
	size=$(body | jq -r '.Images[] | select(.RepoTags | index("hamn-test:latest")) | .Size')
	[ "$size" -gt 0 ]
	[ "$(body | jq -r .LayersSize)" -ge "$size" ]
	[ "$(body | jq -r '.Images[] | select(.RepoTags | index("hamn-test:latest")) | .Containers')" = 0 ]
	# /info counts the same images
	[ "$(api GET /info | head -n -1 | jq .Images)" = "$(body | jq '.Images | length')" ]
	total=$(body | jq -r .LayersSize)
	# a second image on the same layer shares all of it: the layers take no more room
	import_unique df-share:1 >/dev/null
	run api GET /system/df
	[ "$(body | jq -r '.Images[] | select(.RepoTags | index("df-share:1")) | .SharedSize')" = "$size" ]
	[ "$(body | jq -r .LayersSize)" = "$total" ]
	run_dk rmi df-share:1
}

@test "docker-py: images.list() and images.get()" {
	/usr/bin/python3 -c 'import docker' 2>/dev/null ||
		skip "python3-docker is not installed (tools/deps.sh)"
	run_cmd /usr/bin/python3 - "$HAMN_SOCK" "$(fixture_digest config)" <<'EOF'
import sys, docker
c = docker.DockerClient(base_url='unix://' + sys.argv[1])
imgs = c.images.list()
assert any('hamn-test:latest' in i.tags for i in imgs), imgs
img = c.images.get('hamn-test')
assert img.id == sys.argv[2], img.id
assert img.attrs['Config']['Cmd'] == ['sh'], img.attrs['Config']
try:
    c.images.get('nosuch')
    raise SystemExit('no error for nosuch')
except docker.errors.ImageNotFound:
    pass
print('ok')
EOF
	[ "$output" = ok ]
}

# ---- what must not hurt ----

@test "hostile tars: refused or contained, nothing written outside the store" {
	local shadow_mode passwd_sum tmpx_before name dir
	shadow_mode=$(stat -c %a /etc/shadow)
	passwd_sum=$(sha256sum </etc/passwd)
	tmpx_before=$(stat -c %Y /tmp/x 2>/dev/null || echo none)
	for name in dotdot abs symlink hardlink-dotdot hardlink-abs; do
		run upload /images/load "$HOSTILE/hostile-$name.tar"
		[ "$(status_of)" = 400 ]
		[[ "$(body | jq -r .message)" == *"layer sha256:"* ]]
		not listed "hamn-hostile:$name"
		run_dk 1 load -i "$HOSTILE/hostile-$name.tar"
		[[ "$output" == *"Error response from daemon: layer sha256:"* ]]
	done
	# these load, with the attack neutralised inside the layer
	for name in symlink-rel chardev symlink-dir; do
		run_dk load -i "$HOSTILE/hostile-$name.tar"
		[ "$output" = "Loaded image: hamn-hostile:$name" ]
	done
	dir=$(dk inspect -f '{{.GraphDriver.Data.UpperDir}}' hamn-hostile:symlink-rel)
	[ "$(cat "$dir/tmp/x")" = "escaped via ../ link" ]
	dir=$(dk inspect -f '{{.GraphDriver.Data.UpperDir}}' hamn-hostile:chardev)
	[ ! -e "$dir/mem" ]
	dir=$(dk inspect -f '{{.GraphDriver.Data.UpperDir}}' hamn-hostile:symlink-dir)
	[ -d "$dir/x" ]
	[ ! -L "$dir/x" ]
	# nothing outside
	not compgen -G '/tmp/hamn-escape-*'
	[ "$(stat -c %Y /tmp/x 2>/dev/null || echo none)" = "$tmpx_before" ]
	[ "$(stat -c %a /etc/shadow)" = "$shadow_mode" ]
	[ "$(sha256sum </etc/passwd)" = "$passwd_sum" ]
	[ -z "$(find "$BATS_FILE_TMPDIR" \( -name escape -o -name 'hamn-escape-*' \) -print)" ]
	hamnd_answers "$HAMN_SOCK"
	wait_for 10 tmp_empty
	run_dk rmi hamn-hostile:symlink-rel hamn-hostile:chardev hamn-hostile:symlink-dir
}

@test "broken archives: malformed manifest, null rootfs, 64 MiB manifest are 400s" {
	run upload /images/load "$HOSTILE/malformed-manifest.tar"
	[ "$(status_of)" = 400 ]
	[[ "$(body | jq -r .message)" == *"manifest.json"*"invalid JSON"* ]]
	run upload /images/load "$HOSTILE/null-rootfs.tar"
	[ "$(status_of)" = 400 ]
	[[ "$(body | jq -r .message)" == *"rootfs"* ]]
	run upload /images/load "$HOSTILE/huge-manifest.tar"
	[ "$(status_of)" = 400 ]
	[[ "$(body | jq -r .message)" == *"'manifest.json' is larger than"* ]]
	run upload /images/load "$HAMN_FIXTURES/rootfs.tar"
	[ "$(status_of)" = 400 ]
	[[ "$(body | jq -r .message)" == *"neither manifest.json nor index.json"* ]]
	hamnd_answers "$HAMN_SOCK"
	run_dk images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" != *hamn-hostile* ]]
	wait_for 10 tmp_empty
}

@test "a client that leaves mid-upload loads nothing, even at a member boundary" {
	local tar="$BATS_TEST_TMPDIR/cut.tar" cut="$BATS_TEST_TMPDIR/cut-body" staged
	dk tag hamn-test cut-test:1
	dk save -o "$tar" cut-test:1
	dk rmi cut-test:1
	# everything up to the last member ("repositories"): a complete image
	staged=$(python3 - "$tar" "$cut" <<'EOF'
import sys, tarfile
data = open(sys.argv[1], 'rb').read()
with tarfile.open(sys.argv[1]) as t:
    names = [m.name for m in t.getmembers()]
    assert names[-1] == 'repositories' and names[-2] == 'manifest.json', names
    off = t.getmember('repositories').offset
    staged = sum(m.size for m in t.getmembers() if m.isreg() and m.offset < off)
open(sys.argv[2], 'wb').write(data[:off])
print(staged)
EOF
)
	# sent without the last chunk, then the connection is closed
	run_cmd python3 - "$HAMN_SOCK" "$cut" "$HAMND_ROOT/tmp" "$staged" <<'EOF'
import os, socket, sys, time
sock, path, tmp, want = sys.argv[1:]
want = int(want)
body = open(path, 'rb').read()
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.sendall(b'POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-tar\r\n'
          b'Transfer-Encoding: chunked\r\n\r\n' + b'%x\r\n' % len(body) + body + b'\r\n')
# wait until the daemon staged every member (it has read the whole body), then leave
deadline = time.monotonic() + 30
def staged():
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp) for f in fs)
while staged() < want and time.monotonic() < deadline:
    time.sleep(0.02)
assert staged() >= want, 'the daemon staged %d of %d bytes' % (staged(), want)
s.close()
EOF
	wait_for 10 tmp_empty
	hamnd_answers "$HAMN_SOCK"
	not listed cut-test:1
	# the same bytes as a whole request do load: the cut was a complete image
	run upload /images/load "$cut"
	[ "$(status_of)" = 200 ]
	listed cut-test:1
	run_dk rmi cut-test:1
}

@test "a load that outlasts the reply's wait reports in-band (second daemon)" {
	# with a wait of 0 the reply always starts before the store is done
	start_second HAMN_TEST_UPLOAD_SYNC_MS=0
	for name in hostile-dotdot null-rootfs; do
		run upload /images/load "$HOSTILE/$name.tar" "$SECOND_SOCK"
		[ "$(status_of)" = 200 ]
		[ "$(body | tr -d '\r' | jq -r .error)" = "$(body | tr -d '\r' | jq -r .errorDetail.message)" ]
		[[ "$(body | tr -d '\r' | jq -r .error)" == *layer*"escapes the root"* ||
			"$(body | tr -d '\r' | jq -r .error)" == *"rootfs"* ]]
	done
	DOCKER_HOST="unix://$SECOND_SOCK" run_cmd 1 "$DOCKER_CLI" load -i "$HOSTILE/null-rootfs.tar"
	[[ "$output" == *rootfs* ]]
	DOCKER_HOST="unix://$SECOND_SOCK" run_cmd "$DOCKER_CLI" load -i "$HAMN_FIXTURES/docker.tar"
	[ "$output" = "Loaded image: hamn-test:latest" ]
	run upload /images/load "$HAMN_FIXTURES/oci.tar" "$SECOND_SOCK"
	[ "$(status_of)" = 200 ]
	[ "$(body | tr -d '\r' | jq -r .stream)" = "Loaded image: hamn-test:latest" ]
	[ "$(dk2 images --format '{{.Repository}}:{{.Tag}}')" = hamn-test:latest ]
	stop_second
}

@test "hamnd killed during the load of a 200 MiB layer: after a restart nothing is left" {
	local go="$BATS_TEST_TMPDIR/go" layers_before pipe pid
	dk ps -aq | grep -q . && skip "a container is left by an earlier test"
	layers_before=$(ls "$HAMND_ROOT/layers" | sort)
	(python3 "$BATS_FILE_TMPDIR/genbig.py" 200 big-kill:1 120 "$go" |
		curl -s -X POST -H 'Content-Type: application/x-tar' -T - -o /dev/null \
			--unix-socket "$HAMN_SOCK" http://d/images/load) 3>&- &
	pipe=$!
	wait_for 60 staged_at_least $((100 << 20))
	pid=$HAMND_PID
	kill -KILL "$pid"
	wait_for 10 not kill -0 "$pid"
	touch "$go" # let the generator run into the closed pipe
	wait "$pipe" || true
	HAMND_PID=
	start_hamnd
	echo "$HAMND_PID" >"$BATS_FILE_TMPDIR/hamnd.pid"
	not listed big-kill:1
	tmp_empty
	[ "$(ls "$HAMND_ROOT/layers" | sort)" = "$layers_before" ]
	[ -z "$(find "$HAMND_ROOT/blobs" -type f -size +100M)" ]
}

@test "a 200 MiB layer streams in and loads; rmi removes its layer" {
	local layers_before
	layers_before=$(ls "$HAMND_ROOT/layers" | sort)
	run bash -c "python3 '$BATS_FILE_TMPDIR/genbig.py' 200 big-ok:1 |
		DOCKER_HOST='unix://$HAMN_SOCK' timeout 120 '$DOCKER_CLI' load"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: big-ok:1" ]
	[ "$(dk inspect -f '{{.Size}}' big-ok:1)" -ge $((200 << 20)) ]
	run_dk rmi big-ok:1
	[[ "$output" == *"Deleted: sha256:"* ]]
	[ "$(ls "$HAMND_ROOT/layers" | sort)" = "$layers_before" ]
	tmp_empty
}

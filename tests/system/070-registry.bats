#!/usr/bin/env bats
# The registry client (issue 7): hamn push/pull against Debian's
# docker-registry on 127.0.0.1 (plain; TLS with a CA made here and htpasswd
# basic auth; TLS with client certificates; bearer tokens from
# token-server.py), by tag, by digest and -a; interoperability with skopeo;
# platform choice from an index; a proxy that corrupts a layer, one that
# cuts the connection half-way, one that is slow enough to kill hamnd
# mid-pull; login/logout in a docker config.json; registry mirrors; the
# docker CLI against hamnd.
#
# Every registry, proxy and token server is started here on a free loopback
# port with its config and storage under $BATS_FILE_TMPDIR, and stopped by
# its pid in teardown_file.

load helpers

REG_USER=hamn
REG_PASS=s3cret

# need TOOL...: skip (visibly; a failure under HAMN_TEST_STRICT=1) without them.
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null && continue
		[ "${HAMN_TEST_STRICT:-0}" = 1 ] && { echo "strict: $t is missing" >&2; return 1; }
		skip "$t is not installed (tools/deps.sh)"
	done
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# remember PID: stopped (by pid) in teardown_file.
remember() {
	echo "$1" >>"$REG_DIR/pids"
}

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() {
	bash -c "exec 5<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# start_registry NAME PORT EXTRA_YAML: docker-registry with storage under $REG_DIR/NAME.
start_registry() {
	local name=$1 port=$2 extra dir=$REG_DIR/$1
	# the YAML below is written indented with tabs for bats; YAML wants spaces
	extra=$(printf '%s\n' "$3" | sed 's/^\t*//')
	mkdir -p "$dir/data"
	cat >"$dir/config.yml" <<-EOF
	version: 0.1
	log:
	  level: warn
	storage:
	  filesystem:
	    rootdirectory: $dir/data
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$port
	$extra
	EOF
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 3>&- &
	remember $!
	wait_for 20 listening "$port"
}

# start_py NAME SCRIPT ARGS...: a helper script of ours; sets PY_PORT.
start_py() {
	local name=$1 script=$2
	shift 2
	rm -f "$REG_DIR/$name.port"
	python3 "$BATS_TEST_DIRNAME/$script" "$@" --port-file "$REG_DIR/$name.port" \
		2>"$REG_DIR/$name.log" 3>&- &
	remember $!
	wait_for 20 test -s "$REG_DIR/$name.port"
	PY_PORT=$(cat "$REG_DIR/$name.port")
}

make_tls() {
	local d=$REG_DIR/tls
	mkdir -p "$d"
	(
		cd "$d"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
			-subj /CN=hamn-test-ca
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
			-subj /CN=127.0.0.1
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out server.crt -days 2 -extfile ext
		openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
			-subj /CN=hamn-client
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out client.cert -days 2
		openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 \
			-subj /CN=some-other-ca
		openssl req -x509 -newkey rsa:2048 -nodes -keyout token.key -out token.crt -days 2 \
			-subj /CN=hamn-token
		htpasswd -Bbn "$REG_USER" "$REG_PASS" >htpasswd
	) >/dev/null 2>&1
}

setup_file() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	need docker-registry skopeo htpasswd openssl python3 jq curl
	ensure_fixtures
	export REG_DIR=$BATS_FILE_TMPDIR/reg
	mkdir -p "$REG_DIR"
	: >"$REG_DIR/pids"
	make_tls
	local tls=$REG_DIR/tls
	export PLAIN=127.0.0.1:$(free_port)
	start_registry plain "${PLAIN#*:}" ""
	export SECURE=127.0.0.1:$(free_port)
	start_registry secure "${SECURE#*:}" "  tls:
	    certificate: $tls/server.crt
	    key: $tls/server.key
	auth:
	  htpasswd:
	    realm: hamn-test
	    path: $tls/htpasswd"
	export MTLS=127.0.0.1:$(free_port)
	start_registry mtls "${MTLS#*:}" "  tls:
	    certificate: $tls/server.crt
	    key: $tls/server.key
	    clientcas:
	      - $tls/ca.crt"
	start_py token token-server.py --key "$tls/token.key" --cert "$tls/token.crt" \
		--issuer hamn-issuer --service hamn-registry --user "$REG_USER:$REG_PASS" \
		--first-expired
	export TOKEN=127.0.0.1:$(free_port)
	start_registry token "${TOKEN#*:}" "auth:
	  token:
	    realm: http://127.0.0.1:$PY_PORT/token
	    service: hamn-registry
	    issuer: hamn-issuer
	    rootcertbundle: $tls/token.crt"
	export HAMN_CERTS_DIR=$BATS_FILE_TMPDIR/certs.d
	mkdir -p "$HAMN_CERTS_DIR/$SECURE" "$HAMN_CERTS_DIR/$MTLS"
	cp "$tls/ca.crt" "$HAMN_CERTS_DIR/$SECURE/ca.crt"
	cp "$tls/ca.crt" "$HAMN_CERTS_DIR/$MTLS/ca.crt"
	export DOCKER_CONFIG=$BATS_FILE_TMPDIR/docker-config
	start_hamnd
	echo "$HAMND_PID" >"$REG_DIR/hamnd.pid"
	run_hamn load -i "$HAMN_FIXTURES/docker.tar"
}

# restart_hamnd: stop this file's hamnd (whichever test started it) and start it again.
restart_hamnd() {
	HAMND_PID=$(cat "$REG_DIR/hamnd.pid")
	stop_hamnd || :
	start_hamnd || return 1
	echo "$HAMND_PID" >"$REG_DIR/hamnd.pid"
}

teardown_file() {
	local pid
	[ -f "${REG_DIR:-/nonexistent}/hamnd.pid" ] && HAMND_PID=$(cat "$REG_DIR/hamnd.pid")
	stop_hamnd
	if [ -f "${REG_DIR:-/nonexistent}/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null || :
		done <"$REG_DIR/pids"
		while read -r pid; do
			wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || :
		done <"$REG_DIR/pids"
	fi
}

setup() {
	[ "$(id -u)" = 0 ] || skip "hamnd needs root"
	export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker-config
}

# image_id REF: the local image ID of REF.
image_id() {
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" inspect --format '{{.Id}}' "$1"
}

# no_image REF: REF is not a local image.
no_image() {
	! "$HAMN_BIN" -H "unix://$HAMN_SOCK" inspect --format '{{.Id}}' "$1" >/dev/null 2>&1 || false
}

# skopeo_push OCIDIR TAG DEST [more skopeo args]: copy an OCI layout into a registry.
skopeo_push() {
	local src=$1 tag=$2 dst=$3
	shift 3
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$src:$tag" "docker://$dst"
}

# random_image NAME BYTES [mkoci args]: a new image with a random layer on the fixture
# layer, as an OCI layout in $BATS_TEST_TMPDIR/NAME; its summary in $BATS_TEST_TMPDIR/NAME.json.
random_image() {
	local name=$1 bytes=$2
	shift 2
	python3 "$BATS_TEST_DIRNAME/mkoci.py" "$BATS_TEST_TMPDIR/$name" --tag t \
		--base "$HAMN_FIXTURES/rootfs.tar" --random "$bytes" "$@" >"$BATS_TEST_TMPDIR/$name.json"
}

summary() {
	jq -r "$2" "$BATS_TEST_TMPDIR/$1.json"
}

@test "push the fixture image and pull it back by tag" {
	local ref=$PLAIN/fixture:v1 id
	id=$(image_id hamn-test:latest)
	run_hamn tag hamn-test:latest "$ref"
	run_hamn push "$ref"
	[[ "$output" == *"The push refers to repository [$PLAIN/fixture]"* ]]
	[[ "$output" == *"v1: digest: sha256:"* ]]
	echo "$output" | sed -n 's/.*v1: digest: \(sha256:[0-9a-f]*\) size.*/\1/p' >"$REG_DIR/fixture.digest"
	[ -s "$REG_DIR/fixture.digest" ]
	# the image must be gone locally for the pull to mean anything
	run_hamn rmi "$ref" hamn-test:latest
	no_image "$id"
	run_hamn pull "$ref"
	[[ "$output" == *"Pull complete"* ]]
	[[ "$output" == *"Status: Downloaded newer image for $ref"* ]]
	[ "$(image_id "$ref")" = "$id" ]
	run_hamn tag "$ref" hamn-test:latest
	run_hamn run --rm "$ref" cat /etc/passwd
	[[ "$output" == *root:x:0:0* ]]
	# a second pull has everything
	run_hamn pull "$ref"
	[[ "$output" == *"Image is up to date for $ref"* ]]
}

@test "pull by digest" {
	local digest ref id
	digest=$(cat "$REG_DIR/fixture.digest")
	ref=$PLAIN/fixture@$digest
	id=$(image_id hamn-test:latest)
	run_hamn pull "$ref"
	[[ "$output" == *"Digest: $digest"* ]]
	[ "$(image_id "$ref")" = "$id" ]
	run_hamn inspect "$id"
	[[ "$output" == *"$PLAIN/fixture@$digest"* ]]
	# a digest nobody has is a 404 before any progress
	run_hamn 1 pull "$PLAIN/fixture@sha256:$(printf '%064d' 0)"
	[[ "$output" == *"not found"* ]]
}

@test "pull -a pulls every tag of a repository" {
	run_hamn tag hamn-test:latest "$PLAIN/alltags:a"
	run_hamn tag hamn-test:latest "$PLAIN/alltags:b"
	run_hamn push -a "$PLAIN/alltags"
	run_hamn rmi "$PLAIN/alltags:a" "$PLAIN/alltags:b"
	run_hamn pull -a "$PLAIN/alltags"
	image_id "$PLAIN/alltags:a"
	image_id "$PLAIN/alltags:b"
	run_hamn 1 pull -a "$PLAIN/alltags:a"
}

@test "push mounts a layer the registry has in another repository" {
	run_hamn tag hamn-test:latest "$PLAIN/mnt:v1"
	run_hamn push "$PLAIN/mnt:v1"
	[[ "$output" == *"Mounted from "* ]]
	run_hamn push "$PLAIN/mnt:v1"
	[[ "$output" == *"Layer already exists"* ]]
}

@test "a missing manifest is a 404 with docker's message" {
	run_hamn 1 pull "$PLAIN/nope:v1"
	[[ "$output" == *"manifest for $PLAIN/nope:v1 not found: manifest unknown"* ]]
	run curl -s -o /dev/null -w '%{http_code}' -X POST --unix-socket "$HAMN_SOCK" \
		"http://d/images/create?fromImage=$PLAIN/nope&tag=v1"
	[ "$output" = 404 ]
}

@test "pull what skopeo pushed" {
	random_image sk 12345
	skopeo_push "$BATS_TEST_TMPDIR/sk" t "$PLAIN/skopeo:v1"
	run_hamn pull "$PLAIN/skopeo:v1"
	[ "$(image_id "$PLAIN/skopeo:v1")" = "$(summary sk '.images["linux/amd64"].config')" ]
	run_hamn run --rm "$PLAIN/skopeo:v1" wc -c /data/random
	[[ "$output" == *12345* ]]
}

@test "skopeo pulls and checks what hamn pushed" {
	local id dir=$BATS_TEST_TMPDIR/fromhamn cfg
	id=$(image_id hamn-test:latest)
	run_hamn tag hamn-test:latest "$PLAIN/fromhamn:v1"
	run_hamn push "$PLAIN/fromhamn:v1"
	# skopeo verifies every blob digest while it copies
	run_cmd skopeo copy --src-tls-verify=false "docker://$PLAIN/fromhamn:v1" "dir:$dir"
	run_cmd skopeo inspect --tls-verify=false --raw "docker://$PLAIN/fromhamn:v1"
	cfg=$(echo "$output" | jq -r .config.digest)
	[ "$cfg" = "$id" ]
	# the layer unpacks to the diff ID the config promises
	local layer diff
	layer=$(echo "$output" | jq -r '.layers[0].digest')
	diff=$(skopeo inspect --tls-verify=false --config "docker://$PLAIN/fromhamn:v1" |
		jq -r '.rootfs.diff_ids[0]')
	[ "sha256:$(gzip -dcf <"$dir/${layer#sha256:}" | sha256sum | cut -c1-64)" = "$diff" ]
}

@test "an OCI index with two platforms: the host's is chosen, --platform picks another" {
	random_image multi 2000 --platform linux/amd64 --platform linux/arm64/v8
	skopeo_push "$BATS_TEST_TMPDIR/multi" t "$PLAIN/multi:v1" --all
	run_hamn pull "$PLAIN/multi:v1"
	[ "$(image_id "$PLAIN/multi:v1")" = "$(summary multi '.images["linux/amd64"].config')" ]
	run_hamn image inspect --format '{{.Architecture}}' "$PLAIN/multi:v1"
	[ "$output" = amd64 ]
	run_hamn pull --platform linux/arm64 "$PLAIN/multi:v1"
	[ "$(image_id "$PLAIN/multi:v1")" = "$(summary multi '.images["linux/arm64/v8"].config')" ]
	run_hamn 1 pull --platform linux/s390x "$PLAIN/multi:v1"
	[[ "$output" == *"no matching manifest for linux/s390x"* ]]
}

@test "login: a wrong password is a clear error, the right one is kept in config.json" {
	run_hamn 1 login -u "$REG_USER" -p wrong "$SECURE"
	[[ "$output" == *unauthorized* ]]
	[ ! -e "$DOCKER_CONFIG/config.json" ] ||
		! jq -e --arg k "$SECURE" '.auths[$k]' "$DOCKER_CONFIG/config.json" || false
	run_hamn login -u "$REG_USER" --password-stdin "$SECURE" <<<"$REG_PASS"
	[[ "$output" == *"Login Succeeded"* ]]
	[ "$(stat -c %a "$DOCKER_CONFIG/config.json")" = 600 ]
	[ "$(jq -r --arg k "$SECURE" '.auths[$k].auth' "$DOCKER_CONFIG/config.json")" = \
		"$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64)" ]
	# TLS verified with certs.d/<host>/ca.crt, credentials from config.json
	run_hamn tag hamn-test:latest "$SECURE/sec:v1"
	run_hamn push "$SECURE/sec:v1"
	run_hamn rmi "$SECURE/sec:v1"
	run_hamn pull "$SECURE/sec:v1"
	run_hamn logout "$SECURE"
	[[ "$output" == *"Removing login credentials for $SECURE"* ]]
	run_hamn 1 pull "$SECURE/sec:v1"
	[[ "$output" == *"unauthorized"* ]]
	run_hamn logout "$SECURE"
	[[ "$output" == *"Not logged in to $SECURE"* ]]
}

@test "TLS: a registry whose certificate the certs.d CA did not sign is refused" {
	local ca=$HAMN_CERTS_DIR/$SECURE/ca.crt
	run_hamn login -u "$REG_USER" -p "$REG_PASS" "$SECURE"
	cp "$REG_DIR/tls/other.crt" "$ca"
	run_hamn 1 pull "$SECURE/sec:v1"
	cp "$REG_DIR/tls/ca.crt" "$ca"
	[[ "$output" == *certificate* ]]
	run_hamn pull "$SECURE/sec:v1"
}

@test "TLS client certificates come from certs.d" {
	run_hamn tag hamn-test:latest "$MTLS/mtls:v1"
	run_hamn 1 push "$MTLS/mtls:v1"
	cp "$REG_DIR/tls/client.cert" "$REG_DIR/tls/client.key" "$HAMN_CERTS_DIR/$MTLS/"
	run_hamn push "$MTLS/mtls:v1"
	rm "$HAMN_CERTS_DIR/$MTLS/client.cert" "$HAMN_CERTS_DIR/$MTLS/client.key"
}

@test "bearer tokens: one token serves many blobs, an expired one is replaced after the 401" {
	random_image tok 3000
	skopeo_push "$BATS_TEST_TMPDIR/tok" t "$PLAIN/tok:v1"
	run_hamn pull "$PLAIN/tok:v1"
	run_hamn tag "$PLAIN/tok:v1" "$TOKEN/tok:v1"
	run_hamn 1 push "$TOKEN/tok:v1"
	[[ "$output" == *"unauthorized"* || "$output" == *"denied"* ]]
	run_hamn login -u "$REG_USER" -p "$REG_PASS" "$TOKEN"
	run_hamn push "$TOKEN/tok:v1"
	# the first token was expired: refused with a 401, replaced; then one token
	# serves two layers, a config and a manifest
	grep -q "user=$REG_USER .*expired=True" "$REG_DIR/token.log"
	[ "$(grep -c "user=$REG_USER" "$REG_DIR/token.log")" -le 3 ]
	run_hamn rmi "$TOKEN/tok:v1" "$PLAIN/tok:v1"
	run_hamn pull "$TOKEN/tok:v1"
	[ "$(image_id "$TOKEN/tok:v1")" = "$(summary tok '.images["linux/amd64"].config')" ]
}

@test "a proxy that corrupts a layer: the pull fails with a digest error, nothing is stored" {
	local layer config
	random_image bad 200000
	skopeo_push "$BATS_TEST_TMPDIR/bad" t "$PLAIN/bad:v1"
	start_py corrupt registry-proxy.py --upstream "$PLAIN" --corrupt
	run_hamn 1 pull "127.0.0.1:$PY_PORT/bad:v1"
	[[ "$output" == *"digest mismatch"* ]]
	no_image "127.0.0.1:$PY_PORT/bad:v1"
	layer=$(summary bad '.images["linux/amd64"].layers[1]')
	config=$(summary bad '.images["linux/amd64"].config')
	[ ! -e "$HAMND_ROOT/blobs/sha256/${layer#sha256:}" ]
	[ ! -e "$HAMND_ROOT/blobs/sha256/${config#sha256:}" ]
	[ -z "$(ls "$HAMND_ROOT/tmp")" ]
	! ls "$HAMND_ROOT/layers" | grep -q '^tmp' || false

}

@test "a manifest that does not hash to its digest is refused" {
	local digest
	digest=$(cat "$REG_DIR/fixture.digest")
	start_py tamper registry-proxy.py --upstream "$PLAIN" --tamper-manifest
	run_hamn 1 pull "127.0.0.1:$PY_PORT/fixture@$digest"
	[[ "$output" == *"digest mismatch"* ]]
	# by tag: the body no longer matches the registry's Docker-Content-Digest
	run_hamn 1 pull "127.0.0.1:$PY_PORT/fixture:v1"
	[[ "$output" == *"digest mismatch"* ]]
	no_image "127.0.0.1:$PY_PORT/fixture:v1"
}

@test "on a terminal the CLI redraws one line per layer" {
	random_image tty 100000
	skopeo_push "$BATS_TEST_TMPDIR/tty" t "$PLAIN/tty:v1"
	run_cmd script -qec "$HAMN_BIN -H unix://$HAMN_SOCK pull $PLAIN/tty:v1" /dev/null
	[[ "$output" == *$'\033['*A* ]]
	[[ "$output" == *"Pull complete"* ]]
	image_id "$PLAIN/tty:v1"
}

@test "a proxy that cuts the connection half-way: the pull resumes and succeeds" {
	random_image cut 300000
	skopeo_push "$BATS_TEST_TMPDIR/cut" t "$PLAIN/cut:v1"
	start_py cut registry-proxy.py --upstream "$PLAIN" --cut
	run_hamn pull "127.0.0.1:$PY_PORT/cut:v1"
	grep -q "^proxy: cut " "$REG_DIR/cut.log"
	grep -q "range=bytes=" "$REG_DIR/cut.log"
	[ "$(image_id "127.0.0.1:$PY_PORT/cut:v1")" = "$(summary cut '.images["linux/amd64"].config')" ]
}

@test "two pulls of the same image at once download each layer once" {
	local ref layer p1 p2
	random_image share 2000000
	skopeo_push "$BATS_TEST_TMPDIR/share" t "$PLAIN/share:v1"
	start_py share registry-proxy.py --upstream "$PLAIN" --slow 20 --min 100000
	ref=127.0.0.1:$PY_PORT/share:v1
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" pull "$ref" >"$BATS_TEST_TMPDIR/p1.out" 2>&1 3>&- &
	p1=$!
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" pull "$ref" >"$BATS_TEST_TMPDIR/p2.out" 2>&1 3>&- &
	p2=$!
	wait "$p1"
	wait "$p2"
	layer=$(summary share '.images["linux/amd64"].layers[1]')
	[ "$(grep -c "GET /v2/share/blobs/$layer 200" "$REG_DIR/share.log")" = 1 ]
	[ "$(image_id "$ref")" = "$(summary share '.images["linux/amd64"].config')" ]
}

@test "hamnd killed mid-pull: no image is visible, the next pull reuses what was verified" {
	local small=$BATS_TEST_TMPDIR/small diff pid ref
	mkdir -p "$small/f"
	head -c 3000 /dev/urandom >"$small/f/small"
	tar -C "$small/f" -cf "$small/small.tar" small
	diff=$(sha256sum "$small/small.tar" | cut -c1-64)
	# a small new layer that arrives at once, and a big one through a slow proxy
	python3 "$BATS_TEST_DIRNAME/mkoci.py" "$BATS_TEST_TMPDIR/slow" --tag t \
		--base "$small/small.tar" --random 4000000 >/dev/null
	skopeo_push "$BATS_TEST_TMPDIR/slow" t "$PLAIN/slow:v1"
	start_py slow registry-proxy.py --upstream "$PLAIN" --slow 40 --min 100000
	ref=127.0.0.1:$PY_PORT/slow:v1
	"$HAMN_BIN" -H "unix://$HAMN_SOCK" pull "$ref" >"$BATS_TEST_TMPDIR/pull.out" 2>&1 3>&- &
	pid=$!
	wait_for 20 test -d "$HAMND_ROOT/layers/$diff"
	HAMND_PID=$(cat "$REG_DIR/hamnd.pid")
	kill -KILL "$HAMND_PID"
	wait_for 10 sh -c "! kill -0 $HAMND_PID 2>/dev/null"
	run wait "$pid"
	[ "$status" -ne 0 ]
	start_hamnd
	echo "$HAMND_PID" >"$REG_DIR/hamnd.pid"
	no_image "$ref"
	run_hamn pull "$PLAIN/slow:v1"
	[[ "$output" == *"Already exists"* ]]
	image_id "$PLAIN/slow:v1"
}

@test "registry-mirrors: docker.io pulls are served by the mirror" {
	skopeo copy -q --dest-tls-verify=false "oci-archive:$HAMN_FIXTURES/oci.tar" \
		"docker://$PLAIN/library/hamnmirror:v1"
	cp "$HAMND_CONFIG" "$BATS_TEST_TMPDIR/daemon.json.saved"
	echo "{\"registry-mirrors\": [\"http://$PLAIN\"]}" >"$HAMND_CONFIG"
	if ! restart_hamnd; then
		cp "$BATS_TEST_TMPDIR/daemon.json.saved" "$HAMND_CONFIG"
		restart_hamnd
		skip "hamnd does not take registry-mirrors yet"
	fi
	cp "$BATS_TEST_TMPDIR/daemon.json.saved" "$HAMND_CONFIG"
	run_hamn pull hamnmirror:v1
	[[ "$output" == *"Downloaded newer image for hamnmirror:v1"* ]]
	image_id hamnmirror:v1
	restart_hamnd
}

@test "docker pull and docker push against hamnd show progress and work" {
	need docker
	local ref=$PLAIN/bydocker:v1
	run_hamn tag hamn-test:latest "$ref"
	DOCKER_HOST=unix://$HAMN_SOCK run_cmd docker push "$ref"
	[[ "$output" == *"Mounted from"* || "$output" == *"Layer already exists"* ]]
	[[ "$output" == *"v1: digest: sha256:"* ]]
	run_hamn rmi "$ref"
	random_image dk 5000
	skopeo_push "$BATS_TEST_TMPDIR/dk" t "$PLAIN/bydocker:v2"
	DOCKER_HOST=unix://$HAMN_SOCK run_cmd docker pull "$PLAIN/bydocker:v2"
	[[ "$output" == *"Pull complete"* ]]
	[[ "$output" == *"Downloaded newer image for $PLAIN/bydocker:v2"* ]]
	[ "$(image_id "$PLAIN/bydocker:v2")" = "$(summary dk '.images["linux/amd64"].config')" ]
	DOCKER_HOST=unix://$HAMN_SOCK run_cmd docker login -u "$REG_USER" -p "$REG_PASS" "$SECURE"
	[[ "$output" == *"Login Succeeded"* ]]
	# the docker CLI's X-Registry-Auth: TLS and basic auth through hamnd
	run_hamn tag hamn-test:latest "$SECURE/bydocker:v1"
	DOCKER_HOST=unix://$HAMN_SOCK run_cmd docker push "$SECURE/bydocker:v1"
	run_hamn rmi "$SECURE/bydocker:v1"
	DOCKER_HOST=unix://$HAMN_SOCK run_cmd docker pull "$SECURE/bydocker:v1"
	image_id "$SECURE/bydocker:v1"
}

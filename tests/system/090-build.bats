#!/usr/bin/env bats
# docker build end to end (src/api/build.c, src/engine/build_ops.c,
# build_copy.c, src/cmd/hamn/build.c over src/build's loop): multi-stage
# builds, the cache (hits, invalidation from a changed COPY on, a restart),
# .dockerignore, ARG/ENV, errors with line numbers, the real docker CLI's
# classic builder, symlinks pointing out of the context, and failed RUN
# steps that must leave no container behind.

load container-helpers
load build-helpers

setup_file() { build_setup_file; }
teardown_file() { containers_teardown_file; }
setup() { build_setup; }

# hb ARGS...: hamn build under run_cmd (expected rc first, as run_hamn).
hb() {
	run_hamn "$@"
}

# n_containers: every container hamnd knows, running or not.
n_containers() {
	curl -s --unix-socket "$HAMN_SOCK" 'http://d/containers/json?all=1' | jq length
}

# creates_since T: container "create" events since the unix time T (until now).
creates_since() {
	local f='{"type":["container"],"event":["create"]}'
	curl -s -G --unix-socket "$HAMN_SOCK" "http://d/events" --data-urlencode "since=$1" \
		--data-urlencode "until=$(date +%s.%N)" --data-urlencode "filters=$f" |
		jq -s length
}

# steps_cached OUTPUT: "Step N:cache" or "Step N:built" per step that is not a FROM/ARG-only step.
step_states() {
	awk '/^Step [0-9]+\/[0-9]+ : / { if (s != "") print s ":" st; split($2, a, "/"); s = a[1];
		st = ($4 == "FROM") ? "from" : "built" }
	     / ---> Using cache/ { st = "cache" }
	     END { if (s != "") print s ":" st }' <<<"$1"
}

# no_workspaces: every build removed its workspace under <root>/builder.
no_workspaces() {
	[ -z "$(find "$HAMND_ROOT/builder" -maxdepth 1 -name 'ws-*' 2>/dev/null)" ]
}

@test "a multi-stage build copies files made by shell commands, with env, cmd and user" {
	local img
	img=$(unique_name multi)
	mkdir -p "$CTX/src/sub"
	echo one >"$CTX/src/a.txt"
	echo two >"$CTX/src/sub/b.txt"
	cat >"$CTX/Dockerfile" <<'EOF'
FROM hamn-test AS maker
WORKDIR /work
RUN mkdir -p out/deep && echo made > out/made.txt && echo deeper > out/deep/d.txt \
    && chmod 0750 out/deep
FROM hamn-test
ENV GREETING="hello world" APP=/app
COPY --from=maker /work/out /app/
COPY src/ /app/src/
COPY --chown=1000:1000 src/a.txt /app/owned.txt
USER 1000
WORKDIR /app
CMD ["sh", "-c", "echo $GREETING; cat made.txt deep/d.txt src/sub/b.txt"]
EOF
	hb build -t "$img" "$CTX"
	[[ "$output" == *"Successfully built "* ]]
	[[ "$output" == *"Successfully tagged $img:latest"* ]]
	run_hamn run --rm "$img"
	[ "$output" = "hello world
made
deeper
two" ]
	run_hamn inspect -f '{{.Config.User}}|{{.Config.WorkingDir}}|{{json .Config.Cmd}}' "$img"
	[ "$output" = '1000|/app|["sh","-c","echo $GREETING; cat made.txt deep/d.txt src/sub/b.txt"]' ]
	run_hamn inspect -f '{{json .Config.Env}}' "$img"
	[[ "$output" == *'"GREETING=hello world"'* ]]
	[[ "$output" == *'"APP=/app"'* ]]
	[[ "$output" == *'"PATH='* ]]
	run_hamn run --rm "$img" sh -c 'id -u; stat -c "%u:%g %a" /app/owned.txt /app/made.txt /app/deep'
	[ "$output" = "1000
1000:1000 644
0:0 644
0:0 750" ]
	wait_for 10 no_workspaces
}

@test "a rebuild is all cache hits and creates no container" {
	local img t0 states
	img=$(unique_name cached)
	echo data >"$CTX/f.txt"
	cat >"$CTX/Dockerfile" <<'EOF'
FROM hamn-test
RUN echo first > /first
COPY f.txt /f.txt
RUN cat /f.txt > /copy
ENV X=1
CMD ["cat", "/copy"]
EOF
	hb build -t "$img" "$CTX"
	[[ "$output" == *"Running in"* ]]
	t0=$(date +%s.%N)
	hb build -t "$img" "$CTX"
	[[ "$output" != *"Running in"* ]]
	states=$(step_states "$output")
	[ "$(grep -c ':cache$' <<<"$states")" = 5 ]
	! grep -q ':built$' <<<"$states" || false
	[ "$(creates_since "$t0")" = 0 ]
	run_hamn run --rm "$img"
	[ "$output" = data ]
}

@test "a changed source invalidates only the steps from its COPY on" {
	local img states
	img=$(unique_name invalidate)
	echo a >"$CTX/a.txt"
	echo b >"$CTX/b.txt"
	cat >"$CTX/Dockerfile" <<'EOF'
FROM hamn-test
RUN echo start > /start
COPY a.txt /a.txt
RUN cat /a.txt > /a.copy
COPY b.txt /b.txt
RUN cat /a.copy /b.txt > /both
CMD ["cat", "/both"]
EOF
	hb build -t "$img" "$CTX"
	echo B >"$CTX/b.txt"
	hb build -t "$img" "$CTX"
	states=$(step_states "$output")
	[ "$states" = "1:from
2:cache
3:cache
4:cache
5:built
6:built
7:built" ]
	run_hamn run --rm "$img"
	[ "$output" = "a
B" ]
	# an mtime alone changes nothing
	touch -d '2001-01-01' "$CTX/a.txt"
	hb build -t "$img" "$CTX"
	[ "$(step_states "$output" | grep -c ':cache$')" = 6 ]
}

@test "the cache survives a daemon restart and --no-cache builds again" {
	local img
	img=$(unique_name restart)
	printf 'FROM hamn-test\nRUN echo once > /once\n' >"$CTX/Dockerfile"
	hb build -t "$img" "$CTX"
	stop_hamnd
	start_hamnd
	hb build -t "$img" "$CTX"
	[[ "$output" == *"Using cache"* ]]
	[[ "$output" != *"Running in"* ]]
	hb build --no-cache -t "$img" "$CTX"
	[[ "$output" == *"Running in"* ]]
	[[ "$output" != *"Using cache"* ]]
}

@test ".dockerignore excludes, and an exception brings a file back" {
	local img
	img=$(unique_name ignore)
	mkdir -p "$CTX/logs" "$CTX/src"
	echo keep >"$CTX/logs/keep.log"
	echo drop >"$CTX/logs/drop.log"
	echo code >"$CTX/src/main.c"
	echo secret >"$CTX/secret.txt"
	echo tmp >"$CTX/src/x.tmp"
	printf '# comment\nsecret.txt\nlogs\n!logs/keep.log\n**/*.tmp\n' >"$CTX/.dockerignore"
	printf 'FROM hamn-test\nCOPY . /ctx\nCOPY logs /logs\n' >"$CTX/Dockerfile"
	hb build -t "$img" "$CTX"
	run_hamn run --rm "$img" sh -c 'cd /ctx && find . -type f | sort; ls /logs'
	[ "$output" = "./.dockerignore
./Dockerfile
./logs/keep.log
./src/main.c
keep.log" ]
	# an excluded file named by COPY is an error
	printf 'FROM hamn-test\nCOPY secret.txt /s\n' >"$CTX/Dockerfile"
	hb 1 build "$CTX"
	[[ "$output" == *"secret.txt"* ]]
	[[ "$output" == *"excluded by .dockerignore"* ]]
}

@test "ARG and ENV substitution" {
	local img
	img=$(unique_name args)
	mkdir -p "$CTX/files"
	echo f >"$CTX/files/f"
	cat >"$CTX/Dockerfile" <<'EOF'
ARG BASE=hamn-test
FROM ${BASE}
ARG WHO=world
ARG DIR=/opt/app
ARG UNSET
ENV GREET="hello $WHO" WHERE=${DIR}/files DEF=${UNSET:-fallback} ALT=${WHO:+set}
ENV WHO=env-wins
WORKDIR $DIR
COPY files/ $WHERE/
RUN echo "$GREET|$WHO|$DEF|$ALT|$(pwd)" > /out
CMD ["cat", "/out"]
EOF
	hb build --build-arg WHO=bob -t "$img" "$CTX"
	run_hamn run --rm "$img"
	[ "$output" = "hello bob|env-wins|fallback|set|/opt/app" ]
	run_hamn run --rm "$img" cat /opt/app/files/f
	[ "$output" = f ]
	# defaults without --build-arg; an unused --build-arg is a warning
	hb build --build-arg NOPE=1 -t "$img" "$CTX"
	[[ "$output" == *"[Warning] One or more build-args [NOPE] were not consumed"* ]]
	run_hamn run --rm "$img"
	[ "$output" = "hello world|env-wins|fallback|set|/opt/app" ]
}

@test "syntax errors name the Dockerfile line" {
	printf 'FROM hamn-test\nRUN true\n\nFRM x\n' >"$CTX/Dockerfile"
	hb 1 build "$CTX"
	[[ "$output" == *"Dockerfile:4: unknown instruction: FRM"* ]]
	printf 'FROM hamn-test\nENV\n' >"$CTX/Dockerfile"
	hb 1 build "$CTX"
	[[ "$output" == *"Dockerfile:2:"* ]]
	hb 1 build -f "$CTX/nosuch" "$CTX"
}

@test "a failed RUN exits with its code and leaves no container behind" {
	local before
	before=$(n_containers)
	printf 'FROM hamn-test\nRUN echo before\nRUN echo failing; exit 7\nRUN echo never\n' \
		>"$CTX/Dockerfile"
	hb 7 build "$CTX"
	[[ "$output" == *"failing"* ]]
	[[ "$output" == *"The command '/bin/sh -c echo failing; exit 7' returned a non-zero code: 7"* ]]
	[[ "$output" != *never* ]]
	[ "$(n_containers)" = "$before" ]
	wait_for 10 no_workspaces
}

@test "the docker CLI's classic builder builds against hamnd" {
	require_docker_cli
	local img
	img=$(unique_name dkbuild)
	echo payload >"$CTX/f.txt"
	cat >"$CTX/Dockerfile" <<'EOF'
FROM hamn-test
ENV GREETING=hello
RUN echo built > /built.txt
COPY f.txt /f.txt
CMD ["sh","-c","echo $GREETING; cat /built.txt /f.txt"]
EOF
	DOCKER_BUILDKIT=0 run_dk build -t "$img:v1" "$CTX"
	[[ "$output" == *"Step 5/5 : CMD"* ]]
	[[ "$output" == *"Successfully tagged $img:v1"* ]]
	run_dk run --rm "$img:v1"
	[ "$output" = "hello
built
payload" ]
	# a failure exits with the RUN's code; no container is left
	printf 'FROM hamn-test\nRUN exit 7\n' >"$CTX/Dockerfile"
	DOCKER_BUILDKIT=0 run_dk 7 build "$CTX"
	run_dk ps -aq
	[ -z "$output" ]
	# -f outside the context (the CLI sends it under a random name) and -q
	printf 'FROM hamn-test\nCOPY . /c\nRUN ls -a /c > /list\n' >"$BATS_TEST_TMPDIR/Outside"
	DOCKER_BUILDKIT=0 run_dk build -q -f "$BATS_TEST_TMPDIR/Outside" -t "$img:v2" "$CTX"
	[[ "$output" == *sha256:* ]]
	run_dk run --rm "$img:v2" cat /list
	[[ "$output" != *.dockerfile.* ]]
	[[ "$output" == *f.txt* ]]
}

@test "symlinks pointing out of the context never copy host files" {
	local img outside
	img=$(unique_name links)
	outside="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$outside"
	echo TOPSECRET >"$outside/secret"
	ln -s "$outside/secret" "$CTX/abs-link"
	ln -s ../outside/secret "$CTX/rel-link"
	ln -s "$outside" "$CTX/dir-link"
	printf 'FROM hamn-test\nCOPY . /c\nCOPY abs-link rel-link /l/\n' >"$CTX/Dockerfile"
	hb build -t "$img" "$CTX"
	run_hamn run --rm "$img" sh -c 'readlink /c/abs-link; readlink /l/rel-link
		cat /c/abs-link /l/rel-link /c/dir-link/secret 2>&1; true'
	[[ "$output" != *TOPSECRET* ]]
	[[ "$output" == *"$outside/secret"* ]]
	[[ "$output" == *"../outside/secret"* ]]
	# a path through a link to the outside is resolved inside the context: not found
	printf 'FROM hamn-test\nCOPY dir-link/secret /s\n' >"$CTX/Dockerfile"
	hb 1 build "$CTX"
	[[ "$output" != *TOPSECRET* ]]
	run_hamn images
	[[ "$output" != *TOPSECRET* ]]
}

@test "a .dockerignore that is a symlink never reads a host file" {
	local outside img
	img=$(unique_name ignlink)
	outside="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$outside"
	echo keep.txt >"$outside/patterns"
	echo k >"$CTX/keep.txt"
	ln -s "$outside/patterns" "$CTX/.dockerignore"
	printf 'FROM hamn-test\nCOPY keep.txt /k\n' >"$CTX/Dockerfile"
	# sent by hand: hamn's CLI would read the link on the client's side, as it may
	tar -C "$CTX" -cf "$BATS_TEST_TMPDIR/ctx.tar" Dockerfile keep.txt .dockerignore
	curl -s -m 60 -X POST -H 'Content-Type: application/x-tar' \
		--data-binary @"$BATS_TEST_TMPDIR/ctx.tar" --unix-socket "$HAMN_SOCK" \
		"http://d/build?version=1&t=$img" >"$BATS_TEST_TMPDIR/out"
	cat "$BATS_TEST_TMPDIR/out"
	grep -q "Successfully tagged $img" "$BATS_TEST_TMPDIR/out"
	run_hamn run --rm "$img" cat /k
	[ "$output" = k ]
}

@test "ADD unpacks a local tar archive, COPY does not" {
	local img
	img=$(unique_name add)
	mkdir -p "$BATS_TEST_TMPDIR/arch/d"
	echo inside >"$BATS_TEST_TMPDIR/arch/d/in.txt"
	tar -czf "$CTX/a.tgz" -C "$BATS_TEST_TMPDIR/arch" .
	printf 'FROM hamn-test\nADD a.tgz /x/\nCOPY a.tgz /y/\n' >"$CTX/Dockerfile"
	hb build -t "$img" "$CTX"
	run_hamn run --rm "$img" sh -c 'cat /x/d/in.txt; ls /y'
	[ "$output" = "inside
a.tgz" ]
}

@test "quiet builds print only the id, --iidfile gets it, -f - reads stdin" {
	local id
	printf 'FROM hamn-test\nRUN echo quiet\n' >"$CTX/Dockerfile"
	hb build -q --iidfile "$BATS_TEST_TMPDIR/iid" "$CTX"
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(cat "$BATS_TEST_TMPDIR/iid")" = "$output" ]
	id=$(printf 'FROM hamn-test\nLABEL from=stdin\n' |
		"$HAMN_BIN" -H "unix://$HAMN_SOCK" build -q -f - "$CTX")
	run_hamn inspect -f '{{.Config.Labels.from}}' "$id"
	[ "$output" = stdin ]
}

@test "--target stops at a stage and --label labels the image" {
	local img
	img=$(unique_name target)
	cat >"$CTX/Dockerfile" <<'EOF'
FROM hamn-test AS first
RUN echo first > /stage
FROM first AS second
RUN echo second > /stage
EOF
	hb build --target first --label team=core -t "$img" "$CTX"
	run_hamn run --rm "$img" cat /stage
	[ "$output" = first ]
	run_hamn inspect -f '{{.Config.Labels.team}}' "$img"
	[ "$output" = core ]
}

@test "a client that goes away stops the build and removes its RUN container" {
	local before
	before=$(n_containers)
	printf 'FROM hamn-test\nRUN echo started; sleep 1000\n' >"$CTX/Dockerfile"
	tar -C "$CTX" -cf "$BATS_TEST_TMPDIR/ctx.tar" Dockerfile
	curl -s -m 3 -X POST -H 'Content-Type: application/x-tar' \
		--data-binary @"$BATS_TEST_TMPDIR/ctx.tar" --unix-socket "$HAMN_SOCK" \
		'http://d/build?version=1' >"$BATS_TEST_TMPDIR/out" || true
	grep -q started "$BATS_TEST_TMPDIR/out"
	wait_for 15 n_containers_is "$before"
	wait_for 10 no_workspaces
}

# n_containers_is N: for wait_for.
n_containers_is() {
	[ "$(n_containers)" = "$1" ]
}

@test "the build endpoint refuses BuildKit and a broken context" {
	run curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/x-tar' \
		--data-binary 'not a tar at all' --unix-socket "$HAMN_SOCK" 'http://d/build?version=1'
	[ "$(status_of)" = 400 ]
	run curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '' \
		--unix-socket "$HAMN_SOCK" 'http://d/build?version=2'
	[ "$output" = 501 ]
	wait_for 10 no_workspaces
}

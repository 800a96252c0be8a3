#!/usr/bin/env bats
# docker-py (Debian's python3-docker) against hamnd: the calls compose and
# scripts make. docker-py indexes reply dicts, so a missing key fails here.

load container-helpers

setup_file() {
	containers_setup_file
}

teardown_file() {
	containers_teardown_file
}

setup() {
	[ "$(id -u)" = 0 ] || skip "containers need root"
	/usr/bin/python3 -c 'import docker' 2>/dev/null || {
		[ "${HAMN_TEST_STRICT:-0}" = 1 ] && return 1
		skip "python3-docker is not installed"
	}
}

@test "docker-py runs, waits for, reads the logs of and removes a container" {
	run_cmd /usr/bin/python3 - "$HAMN_SOCK" <<'EOF2'
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
assert c.version()["ApiVersion"] == "1.41"
ctr = c.containers.run("hamn-test", ["sh", "-c", "echo out; echo err >&2; exit 4"],
                       detach=True, labels={"suite": "dockerpy"})
res = ctr.wait(timeout=30)
assert res["StatusCode"] == 4, res
logs = ctr.logs(stdout=True, stderr=True).decode()
assert "out" in logs and "err" in logs, logs
ctr.reload()
assert ctr.status == "exited", ctr.status
assert ctr.attrs["State"]["ExitCode"] == 4
assert [x.id for x in c.containers.list(all=True, filters={"label": "suite=dockerpy"})] == [ctr.id]
ctr.remove()
try:
    c.containers.get(ctr.id)
    raise SystemExit("container still there after remove")
except docker.errors.NotFound:
    pass
print("ok")
EOF2
	[ "${lines[-1]}" = ok ]
}

@test "docker-py run without detach returns the output and removes with remove=True" {
	run_cmd /usr/bin/python3 - "$HAMN_SOCK" <<'EOF2'
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
out = c.containers.run("hamn-test", ["echo", "hello from docker-py"], remove=True)
assert out == b"hello from docker-py\n", out
try:
    c.containers.run("hamn-test", ["sh", "-c", "exit 3"], remove=True)
    raise SystemExit("no ContainerError for exit 3")
except docker.errors.ContainerError as e:
    assert e.exit_status == 3
left = c.containers.list(all=True, filters={"ancestor": "hamn-test"})
assert left == [], left
print("ok")
EOF2
	[ "${lines[-1]}" = ok ]
}

@test "docker-py maps daemon errors to its exception types" {
	run_cmd /usr/bin/python3 - "$HAMN_SOCK" <<'EOF2'
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
for call in (lambda: c.containers.get("no-such-container"), lambda: c.images.get("nosuch:tag")):
    try:
        call()
        raise SystemExit("expected NotFound")
    except docker.errors.NotFound:
        pass
try:
    c.containers.create("hamn-test", name="x")
    raise SystemExit("a one-character name was accepted")
except docker.errors.APIError as e:
    assert e.status_code == 400, e
print("ok")
EOF2
	[ "${lines[-1]}" = ok ]
}

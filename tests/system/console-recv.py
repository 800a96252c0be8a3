#!/usr/bin/env python3
"""console-recv.py SOCKET [INPUT]: a tiny --console-socket receiver for the tests.

Listens on the unix socket SOCKET, accepts one connection, receives the pty
master sent with SCM_RIGHTS (as runc's recvtty does), writes INPUT to it if
given, then copies everything the container writes to stdout until the pty
closes. Prints "console-recv: ready" on stderr once listening. Gives up after
30 seconds so a broken runtime cannot hang a test.
"""
import array
import os
import select
import socket
import sys
import time

path = sys.argv[1]
data = sys.argv[2].encode() if len(sys.argv) > 2 else None
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("console-recv: ready", file=sys.stderr, flush=True)
deadline = time.monotonic() + 30
srv.settimeout(30)
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(64, socket.CMSG_LEN(fds.itemsize))
for level, kind, payload in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
if not fds:
    print("console-recv: no fd received", file=sys.stderr)
    sys.exit(2)
master = fds[0]
print("console-recv: got %s" % msg.decode(errors="replace"), file=sys.stderr, flush=True)
if data is not None:
    os.write(master, data)
while time.monotonic() < deadline:
    r, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
    if not r:
        break
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
    sys.stdout.flush()

#!/usr/bin/env python3
"""pty-resize.py CMD...: run an interactive `exec -it ... sh` client in a pty.

The pty starts at 30x100. Once the shell prompts, `stty size` must show
"30 100"; then the pty is resized to 40x120 (the kernel sends SIGWINCH to the
client, which must pass the new size on) and `stty size` is asked until it
shows "40 120"; then `exit 7`. Prints what the session showed and exits 0
only if both sizes were seen and the client exited 7. Gives up after 30 s.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

DEADLINE = time.monotonic() + 30


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def read_until(fd, buf, want, resend=None):
    """Read into buf until want is in it; resend (bytes) every 0.5 s meanwhile."""
    last = 0.0
    while want not in buf[0]:
        now = time.monotonic()
        if now > DEADLINE:
            return False
        if resend and now - last > 0.5:
            os.write(fd, resend)
            last = now
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return want in buf[0]
            if not data:
                return want in buf[0]
            buf[0] += data
    return True


def main():
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    set_size(fd, 30, 100)
    buf = [b""]
    ok = read_until(fd, buf, b"# ")
    # the client sends its size right after the start: ask until the shell sees it
    ok = ok and read_until(fd, buf, b"30 100", resend=b"stty size\n")
    mark = len(buf[0])
    set_size(fd, 40, 120)
    ok = ok and read_until(fd, buf, b"40 120", resend=b"stty size\n")
    ok = ok and b"40 120" in buf[0][mark:]
    os.write(fd, b"exit 7\n")
    read_until(fd, buf, b"\xff")  # to EOF or the deadline
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(buf[0].decode("utf-8", "replace"))
    code = os.waitstatus_to_exitcode(status)
    print("\npty-resize: sizes %s, client exit %d" % ("seen" if ok else "NOT seen", code))
    sys.exit(0 if ok and code == 7 else 1)


main()

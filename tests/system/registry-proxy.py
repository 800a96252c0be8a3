#!/usr/bin/env python3
"""registry-proxy.py - a loopback HTTP proxy in front of a registry, for tests.

    registry-proxy.py --upstream 127.0.0.1:5000 --port-file F [--corrupt | --cut] [--slow MS]

It listens on 127.0.0.1 (a free port, written to --port-file once it
listens) and forwards every request to the upstream registry. Blob
downloads (GET /v2/<name>/blobs/sha256:...) of at least --min bytes can be
damaged:

  --corrupt  flip one byte in the middle of every such blob
  --cut      send the headers and half of the body of the first download of
             each blob, then drop the connection (later requests, such as a
             Range request that resumes it, pass through untouched)
  --slow MS  sleep MS milliseconds between 64 KiB pieces of a blob body
  --tamper-manifest  add a space to every manifest body (same JSON, another
             digest; Docker-Content-Digest still names the original)

It logs one line per request to stderr ("GET /v2/... 206 range=bytes=N-").
Loopback only; it never contacts anything but --upstream.
"""
import argparse
import http.client
import http.server
import re
import socketserver
import sys
import threading
import time

BLOB = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")
MANIFEST = re.compile(r"^/v2/.+/manifests/[^/]+$")
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}


class State:
    lock = threading.Lock()
    cut_done = set()


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--corrupt", action="store_true")
    p.add_argument("--cut", action="store_true")
    p.add_argument("--slow", type=int, default=0)
    p.add_argument("--tamper-manifest", action="store_true")
    p.add_argument("--min", type=int, default=4096)
    return p.parse_args()


ARGS = parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("proxy: " + (fmt % args) + "\n")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def forward(self):
        up = http.client.HTTPConnection(ARGS.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        up.request(self.command, self.path, body=self.body(), headers=headers)
        resp = up.getresponse()
        return up, resp

    def damaged_blob(self, resp):
        length = resp.getheader("Content-Length")
        return (self.command == "GET" and BLOB.match(self.path.split("?")[0]) and
                resp.status in (200, 206) and length is not None and
                int(length) >= ARGS.min)

    def send_head(self, resp):
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.end_headers()

    def send_tampered(self, resp):
        data = resp.read() + b" "
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def pump(self, resp, length, corrupt_at=-1, stop_at=-1):
        sent = 0
        while sent < length:
            if stop_at >= 0 and sent >= stop_at:
                return False
            want = 65536 if stop_at < 0 else min(65536, stop_at - sent)
            chunk = resp.read(min(want, length - sent))
            if not chunk:
                return False
            if 0 <= corrupt_at - sent < len(chunk):
                i = corrupt_at - sent
                chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1:]
            self.wfile.write(chunk)
            sent += len(chunk)
            if ARGS.slow:
                time.sleep(ARGS.slow / 1000.0)
        return True

    def handle_any(self):
        up, resp = self.forward()
        try:
            self.log_message("%s %s %d range=%s", self.command, self.path, resp.status,
                             self.headers.get("Range", "-"))
            if ARGS.tamper_manifest and self.command == "GET" and resp.status == 200 and \
                    MANIFEST.match(self.path.split("?")[0]):
                self.send_tampered(resp)
                return
            if not self.damaged_blob(resp):
                self.send_head(resp)
                data = resp.read() if self.command != "HEAD" else b""
                if data:
                    self.wfile.write(data)
                return
            length = int(resp.getheader("Content-Length"))
            key = self.path
            cut = False
            if ARGS.cut and resp.status == 200:
                with State.lock:
                    cut = key not in State.cut_done
                    State.cut_done.add(key)
            self.send_head(resp)
            corrupt_at = length // 2 if ARGS.corrupt else -1
            if cut:
                self.pump(resp, length, stop_at=length // 2)
                self.log_message("cut %s after %d of %d bytes", key, length // 2, length)
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.pump(resp, length, corrupt_at=corrupt_at)
        finally:
            up.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()

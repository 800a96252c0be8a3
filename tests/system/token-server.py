#!/usr/bin/env python3
"""token-server.py - a docker registry token server for tests (loopback only).

    token-server.py --key K --cert C --issuer I --service S --user U:P --port-file F
                    [--first-expired]

Answers GET /token?service=S&scope=repository:NAME:ACTIONS... with a JWT
(RS256, signed with `openssl dgst` using key K; its certificate C goes in the
x5c header, and is what the registry's auth.token.rootcertbundle trusts).
Basic credentials U:P get every action they ask for; anonymous requests get
none. --first-expired makes the first token given to the user already
expired, so a client must notice the registry's 401 and fetch a new one. Each token request is
logged to stderr as "token N user=U scopes=...".
"""
import argparse
import base64
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse

ap = argparse.ArgumentParser()
for opt in ("--key", "--cert", "--issuer", "--service", "--user", "--port-file"):
    ap.add_argument(opt, required=True)
ap.add_argument("--first-expired", action="store_true")
ARGS = ap.parse_args()
LOCK = threading.Lock()
COUNT = [0]
USER_TOKENS = [0]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der():
    out = subprocess.run(["openssl", "x509", "-in", ARGS.cert, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(out).decode()


X5C = cert_der()


def sign(data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", ARGS.key], input=data,
                          check=True, capture_output=True).stdout


def make_token(user, access, expired):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [X5C]}
    claims = {"iss": ARGS.issuer, "sub": user, "aud": ARGS.service,
              "exp": now - 60 if expired else now + 300, "nbf": now - 120,
              "iat": now - 120, "jti": b64url(os.urandom(12)), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    return signing_input.decode() + "." + b64url(sign(signing_input))


def who(headers):
    auth = headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None
    try:
        user_pass = base64.b64decode(auth[6:]).decode()
    except ValueError:
        return False
    return user_pass.split(":", 1)[0] if user_pass == ARGS.user else False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        user = who(self.headers)
        if url.path != "/token" or user is False:
            self.reply(401, {"details": "incorrect username or password"})
            return
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) == 3 and parts[0] == "repository" and user:
                access.append({"type": "repository", "name": parts[1],
                               "actions": parts[2].split(",")})
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
            if user:
                USER_TOKENS[0] += 1
            expired = ARGS.first_expired and user and USER_TOKENS[0] == 1
        sys.stderr.write("token %d user=%s scopes=%s expired=%s\n" %
                         (n, user or "-", ",".join(q.get("scope", [])), expired))
        sys.stderr.flush()
        tok = make_token(user or "", access, expired)
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": 300})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()

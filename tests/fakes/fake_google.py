#!/usr/bin/python3
"""A local stand-in for Google's OAuth token endpoint and the GCE metadata server.

It speaks the documented shapes and checks what Google checks: the JWT's RS256 signature
(with the service account's public key, through the openssl CLI), iss, aud, scope, iat/exp.
Tokens expire after --ttl seconds. GET /_stats answers how many tokens were issued.
The first line on stdout is the port it listens on.

  fake_google.py --public-key PUB.pem --email SA@PROJECT.iam.gserviceaccount.com [--ttl 3600]
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALLOWED_SCOPES = {"https://www.googleapis.com/auth/bigquery",
                  "https://www.googleapis.com/auth/spreadsheets",
                  "https://www.googleapis.com/auth/cloud-platform"}


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.issued = 0
        self.port = 0

    def issue(self):
        with self.lock:
            self.issued += 1
            n = self.issued
        return {"access_token": f"tok-{n}", "expires_in": self.args.ttl, "token_type": "Bearer"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        state = self.server.state
        path = urllib.parse.urlparse(self.path).path
        if path == "/_stats":
            return self.answer(200, {"issued": state.issued})
        if path == "/metadata/token":
            if self.headers.get("Metadata-Flavor") != "Google":
                return self.answer(403, {"error": "missing Metadata-Flavor: Google"})
            return self.answer(200, state.issue())
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        state = self.server.state
        if urllib.parse.urlparse(self.path).path != "/token":
            return self.answer(404, {"error": "not found"})
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self.answer(400, {"error": "unsupported_grant_type"})
        try:
            header_b64, claims_b64, sig_b64 = form["assertion"][0].split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
        except (KeyError, ValueError):
            return self.answer(400, {"error": "invalid_grant", "error_description": "malformed JWT"})
        if header.get("alg") != "RS256":
            return self.answer(400, {"error": "invalid_grant", "error_description": "alg must be RS256"})
        with tempfile.NamedTemporaryFile() as data, tempfile.NamedTemporaryFile() as sig:
            data.write(f"{header_b64}.{claims_b64}".encode())
            data.flush()
            sig.write(b64url_decode(sig_b64))
            sig.flush()
            ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", state.args.public_key,
                                 "-signature", sig.name, data.name], capture_output=True).returncode == 0
        if not ok:
            return self.answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        now = time.time()
        expected_aud = f"http://127.0.0.1:{state.port}/token"
        problems = []
        if claims.get("iss") != state.args.email:
            problems.append("iss")
        if claims.get("aud") != expected_aud:
            problems.append("aud")
        if not (claims.get("iat", 0) <= now + 60 and 0 < claims.get("exp", 0) - claims.get("iat", 0) <= 3600
                and claims.get("exp", 0) > now):
            problems.append("iat/exp")
        if problems:
            return self.answer(400, {"error": "invalid_grant", "error_description": "bad claims: " + ",".join(problems)})
        scopes = set(claims.get("scope", "").split())
        if not scopes or not scopes <= ALLOWED_SCOPES:
            return self.answer(400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope"})
        self.answer(200, state.issue())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--public-key", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--ttl", type=int, default=3600)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.state = State(args)
    server.state.port = server.server_address[1]
    print(server.state.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

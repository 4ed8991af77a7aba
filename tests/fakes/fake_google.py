#!/usr/bin/python3
"""A local stand-in for Google's OAuth token endpoint, the GCE metadata server and BigQuery.

It speaks the documented shapes and checks what Google checks: the JWT's RS256 signature
(with the service account's public key, through the openssl CLI), iss, aud, scope, iat/exp.
Tokens expire after --ttl seconds. GET /_stats answers how many tokens were issued.

BigQuery (/bigquery/v2/projects/P/datasets/D/tables[/T[/insertAll]]): tables.get, insert,
patch (additive only) and tabledata.insertAll with insertId de-duplication; every call needs
a valid, unexpired bearer token. insertAll checks each row against the schema (unknown
field, REQUIRED missing, INTEGER not an integer → "invalid"); with skipInvalidRows false the
other rows of the request are "stopped" and nothing is stored, as BigQuery does.
POST /_inject {"fail_next": N, "status": 500|429, "retry_after": S} fails the next N calls;
POST /_inject {"outage_seconds": S} answers every BigQuery call 503 for the next S seconds;
GET /_tables dumps every table (schema, timePartitioning, rows).
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
        self.tokens = {}  # token -> expiry
        self.tables = {}  # name -> {"schema": [...], "timePartitioning": ..., "rows": [...], "ids": set()}
        self.fail_next = 0
        self.fail_status = 500
        self.retry_after = None
        self.outage_until = 0.0
        self.insert_calls = 0
        self.last_query = None

    def issue(self):
        with self.lock:
            self.issued += 1
            n = self.issued
            self.tokens[f"tok-{n}"] = time.time() + self.args.ttl
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

    def authorized(self):
        state = self.server.state
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        if state.tokens.get(token, 0) < time.time():
            self.answer(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials."}})
            return False
        return True

    def injected_failure(self):
        state = self.server.state
        with state.lock:
            if time.time() < state.outage_until:
                status = 503
            elif state.fail_next > 0:
                state.fail_next -= 1
                status = state.fail_status
            else:
                return False
        body = json.dumps({"error": {"code": status, "message": "injected failure"}}).encode()
        self.send_response(status)
        if state.retry_after is not None:
            self.send_header("Retry-After", str(state.retry_after))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def query(self):
        """jobs.query: standard SQL with named parameters, evaluated on the stored rows."""
        state = self.server.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        sql = body["query"]
        params = {p["name"]: p["parameterValue"]["value"] for p in body.get("queryParameters", [])}
        state.last_query = body
        if body.get("useLegacySql", True) or body.get("parameterMode") != "NAMED":
            return self.answer(400, {"error": {"code": 400, "message": "expected standard SQL, NAMED parameters"}})
        if any(v and v in sql for k, v in params.items()):
            return self.answer(400, {"error": {"code": 400, "message": "a parameter value appears in the SQL text"}})
        import re
        table = re.search(r"FROM `[^.`]+\.[^.`]+\.([^`]+)`", sql).group(1)
        key_column = re.search(r"`(\w+)` = @key", sql).group(1)
        with state.lock:
            if table.endswith("*"):
                names = [n for n in state.tables if n.startswith(table[:-1])
                         and n[len(table) - 1:] >= params.get("since_day", "")]
            else:
                names = [table] if table in state.tables else []
            if not names:
                return self.answer(404, {"error": {"code": 404, "message": f"Not found: Table {table}"}})
            schema = state.tables[names[0]]["schema"]
            rows = [r for n in names for r in state.tables[n]["rows"]
                    if r.get(key_column) == params["key"] and r.get("dt", "") >= params["since"]]
        rows.sort(key=lambda r: r["dt"], reverse=True)
        rows = rows[:int(params["limit"])]
        cells = [{"f": [{"v": None if r.get(f["name"]) is None else str(r[f["name"]])} for f in schema]} for r in rows]
        self.answer(200, {"kind": "bigquery#queryResponse", "jobComplete": True, "schema": {"fields": schema},
                          "rows": cells, "totalRows": str(len(cells))})

    def bigquery(self, method):
        state = self.server.state
        parts = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).split("/")
        if method == "POST" and len(parts) == 6 and parts[5] == "queries":
            if self.authorized() and not self.injected_failure():
                self.query()
            return
        # ['', 'bigquery', 'v2', 'projects', P, 'datasets', D, 'tables', T?, 'insertAll'?]
        if len(parts) < 8 or parts[1:4] != ["bigquery", "v2", "projects"] or parts[7] != "tables":
            return self.answer(404, {"error": {"code": 404, "message": "no such endpoint"}})
        if not self.authorized() or self.injected_failure():
            return
        length = int(self.headers.get("Content-Length", 0) or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        name = parts[8] if len(parts) > 8 else None
        with state.lock:
            if method == "POST" and name is None:
                table_id = body["tableReference"]["tableId"]
                if table_id in state.tables:
                    return self.answer(409, {"error": {"code": 409, "message": "Already Exists"}})
                state.tables[table_id] = {"schema": body["schema"]["fields"],
                                          "timePartitioning": body.get("timePartitioning"),
                                          "rows": [], "ids": set()}
                return self.answer(200, {"tableReference": body["tableReference"]})
            table = state.tables.get(name)
            if table is None:
                return self.answer(404, {"error": {"code": 404, "message": f"Not found: Table {name}"}})
            if method == "GET":
                return self.answer(200, {"schema": {"fields": table["schema"]}})
            if method == "PATCH":
                old = {f["name"]: f for f in table["schema"]}
                new = {f["name"]: f for f in body["schema"]["fields"]}
                if any(n not in new or new[n]["type"] != f["type"] for n, f in old.items()):
                    return self.answer(400, {"error": {"code": 400, "message": "Provided Schema does not match"}})
                table["schema"] = body["schema"]["fields"]
                return self.answer(200, {"schema": {"fields": table["schema"]}})
            if method == "POST" and len(parts) > 9 and parts[9] == "insertAll":
                state.insert_calls += 1
                fields = {f["name"]: f for f in table["schema"]}
                errors = []
                for i, row in enumerate(body["rows"]):
                    problems = [k for k in row["json"] if k not in fields]
                    problems += [n for n, f in fields.items() if f.get("mode") == "REQUIRED" and n not in row["json"]]
                    problems += [k for k, v in row["json"].items() if k in fields and fields[k]["type"] == "INTEGER"
                                 and not (isinstance(v, int) or (isinstance(v, str) and v.lstrip("-").isdigit()))]
                    if problems:
                        errors.append({"index": i, "errors": [{"reason": "invalid", "location": problems[0],
                                                               "message": f"Invalid value for field {problems[0]}"}]})
                if errors and not body.get("skipInvalidRows"):
                    bad = {e["index"] for e in errors}
                    errors += [{"index": i, "errors": [{"reason": "stopped", "message": ""}]}
                               for i in range(len(body["rows"])) if i not in bad]
                    return self.answer(200, {"kind": "bigquery#tableDataInsertAllResponse", "insertErrors": errors})
                for row in body["rows"]:
                    if row.get("insertId") in table["ids"]:
                        continue  # best-effort de-duplication, as BigQuery's
                    table["ids"].add(row.get("insertId"))
                    table["rows"].append(row["json"])
                return self.answer(200, {"kind": "bigquery#tableDataInsertAllResponse"})
        self.answer(404, {"error": {"code": 404, "message": "no such endpoint"}})

    def do_PATCH(self):
        self.bigquery("PATCH")

    def do_GET(self):
        state = self.server.state
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/bigquery/"):
            return self.bigquery("GET")
        if path == "/_stats":
            return self.answer(200, {"issued": state.issued, "insert_calls": state.insert_calls,
                                     "last_query": state.last_query})
        if path == "/_tables":
            with state.lock:
                return self.answer(200, {n: {k: v for k, v in t.items() if k != "ids"} for n, t in state.tables.items()})
        if path == "/metadata/token":
            if self.headers.get("Metadata-Flavor") != "Google":
                return self.answer(403, {"error": "missing Metadata-Flavor: Google"})
            return self.answer(200, state.issue())
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        state = self.server.state
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/bigquery/"):
            return self.bigquery("POST")
        if path == "/_inject":
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with state.lock:
                state.fail_next = body.get("fail_next", 0)
                state.fail_status = body.get("status", 500)
                state.retry_after = body.get("retry_after")
                if "outage_seconds" in body:
                    state.outage_until = time.time() + body["outage_seconds"]
            return self.answer(200, {})
        if path != "/token":
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

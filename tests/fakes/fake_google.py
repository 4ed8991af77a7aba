#!/usr/bin/python3
"""A local stand-in for Google's OAuth token endpoint, the GCE metadata server, BigQuery and
Google Sheets API v4.

It speaks the documented shapes and checks what Google checks: the JWT's RS256 signature
(with the service account's public key, through the openssl CLI), iss, aud, scope, iat/exp.
Tokens expire after --ttl seconds. GET /_stats answers how many tokens were issued. The metadata server's
/computeMetadata/v1/project/project-id answers the project of --email.

BigQuery (/bigquery/v2/projects/P/datasets/D/tables[/T[/insertAll]]): tables.get, insert,
patch (additive only) and tabledata.insertAll with insertId de-duplication; every call needs
a valid, unexpired bearer token. insertAll checks each row against the schema (unknown
field, REQUIRED missing, INTEGER not an integer → "invalid"); with skipInvalidRows false the
other rows of the request are "stopped" and nothing is stored, as BigQuery does.
POST /_inject {"fail_next": N, "status": 500|429, "retry_after": S} fails the next N calls;
POST /_inject {"outage_seconds": S} answers every BigQuery call 503 for the next S seconds;
GET /_tables dumps every table (schema, timePartitioning, rows). tables.list (GET .../tables)
answers two tables a page, with nextPageToken. jobs.query also takes the erasure's statements,
`DELETE FROM` / `SELECT COUNT(*) FROM` `P.D.T` `WHERE CAST(`col` AS STRING) = @value`, and any
SELECT with GROUP BY (the admin overview's) over named tables, run in an in-memory SQLite.

Sheets (/v4/spreadsheets/ID...): spreadsheets.get, batchUpdate with addSheet requests, and
values.append, in the documented REST shapes. Every call needs a valid, unexpired bearer token
(401 UNAUTHENTICATED otherwise) whose scopes include .../auth/spreadsheets (403
PERMISSION_DENIED otherwise, as Google answers a token minted for BigQuery only); metadata
server tokens carry the scopes asked for in ?scopes=, or any scope when none were asked for.
Errors have Google's shape {"error": {"code", "message", "status"}}:
  - unknown spreadsheet → 404 NOT_FOUND. Without --strict-sheets any id exists: it is created,
    with one worksheet "Sheet1" (sheetId 0) as Google's new spreadsheets have, on first use.
    With --strict-sheets only those made by POST /_sheets/create exist.
  - addSheet of a title that exists (compared case-insensitively, as Sheets does) → 400 "...A
    sheet with the name "T" already exists. Please enter another name."
  - append to a worksheet that does not exist → 400 "Unable to parse range: <range>", which is
    what Google answers then; missing or bad valueInputOption → 400; a cell that is an object
    or a list → 400 "Invalid values[i][j]: ...".
  Worksheet titles in ranges are matched case-insensitively; a range without "!" is a title,
  or plain cells (A1, A:Z) of the first worksheet. Appended rows are stored as sent (RAW and
  USER_ENTERED alike: the fake does not parse user input).
POST /_sheets/create {"spreadsheetId": ID, "sheets": ["T", ...]} makes a spreadsheet (default
one worksheet "Sheet1"); 409 if it exists.
GET /_sheets dumps {"spreadsheets": {ID: {title: [rows...]}}, "calls": {"get", "batchUpdate",
"addSheet", "append", "unauthorized"}}: the counters count every authorised call that reached the
endpoint, injected failures and 4xx answers included ("addSheet" counts addSheet requests),
so that tests can count attempts; "unauthorized" counts 401/403 answers.
Failure injection for Sheets is separate from BigQuery's: the same /_inject bodies with
"target": "sheets" ({"target": "sheets", "fail_next": N, "status": S, "retry_after": R} or
{"target": "sheets", "outage_seconds": S}); without "target" (or "target": "bigquery") they
apply to BigQuery only, as before.

The BigQuery Storage Write API, over gRPC on a port of its own, sharing these tables: see
fake_storage_write.py (POST /_inject {"target": "storage_write", ...}, GET /_storage_write).

The first line on stdout is the port it listens on; the second, "storage_write <port>", the
gRPC port.

  fake_google.py --public-key PUB.pem --email SA@PROJECT.iam.gserviceaccount.com [--ttl 3600]
                 [--strict-sheets]
"""
import argparse
import base64
import json
import os
import re
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
# Scopes that let a token call the Sheets API (cloud-platform does not).
SHEETS_SCOPES = {"https://www.googleapis.com/auth/spreadsheets",
                 "https://www.googleapis.com/auth/drive",
                 "https://www.googleapis.com/auth/drive.file"}
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED",
                 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


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
        self.insert_bytes = 0  # request bodies of insertAll, as sent
        self.insert_rows = 0
        self.last_query = None
        self.streaming_buffer_until = {}  # table -> time before which DML DELETE is refused
        self.dml_deletes = 0
        self.token_scopes = {}  # token -> set of scopes, None for any
        self.spreadsheets = {}  # id -> {"sheets": [{"sheetId", "title", "rows"}], "next_id": int}
        self.sheets_calls = {"get": 0, "batchUpdate": 0, "addSheet": 0, "append": 0, "unauthorized": 0}
        # Sheets' own injected failures, so that a test can fail one API and not the other.
        self.sheets_faults = {"fail_next": 0, "status": 500, "retry_after": None, "outage_until": 0.0}

    def issue(self, scopes=None):
        with self.lock:
            self.issued += 1
            n = self.issued
            self.tokens[f"tok-{n}"] = time.time() + self.args.ttl
            self.token_scopes[f"tok-{n}"] = scopes
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
        types = {p["name"]: p["parameterType"]["type"] for p in body.get("queryParameters", [])}
        # A number of one or two digits is part of any SQL text; strings and times are not.
        if any(v and types.get(k) != "INT64" and v in sql for k, v in params.items()):
            return self.answer(400, {"error": {"code": 400, "message": "a parameter value appears in the SQL text"}})
        import re
        table = re.search(r"FROM `[^.`]+\.[^.`]+\.([^`]+)`", sql).group(1)
        erase = re.fullmatch(r"(DELETE|SELECT COUNT\(\*\)) FROM `[^`]+` WHERE CAST\(`(\w+)` AS STRING\) = @value", sql)
        if erase:
            return self.erase_query(table, erase.group(1) == "DELETE", erase.group(2), params["value"])
        if " GROUP BY " in sql:
            return self.sql_query(sql, params, types)
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

    def sql_query(self, sql, params, types):
        """Any other SELECT (the overview's GROUP BY queries) is run for real: the tables it
        names (`P.D.T`, no wildcards) are copied into an in-memory SQLite database with their
        schema's columns, @name parameters become :name, and the answer has jobs.query's shape
        (every cell a string, as BigQuery's JSON has them). TIMESTAMP values compare as the text
        the fake stores ("YYYY-MM-DD HH:MM:SS.ffffff", UTC), which sorts as time."""
        import re
        import sqlite3
        state = self.server.state
        named = r"`[^.`]+\.[^.`]+\.([^`]+)`"
        db = sqlite3.connect(":memory:")
        quote = lambda name: '"' + name.replace('"', '""') + '"'
        with state.lock:
            for name in set(re.findall(named, sql)):
                t = state.tables.get(name)
                if t is None or name.endswith("*"):
                    return self.answer(404, {"error": {"code": 404, "message": f"Not found: Table {name}"}})
                columns = [f["name"] for f in t["schema"]]
                db.execute(f"CREATE TABLE {quote(name)} ({', '.join(map(quote, columns))})")
                db.executemany(f"INSERT INTO {quote(name)} VALUES ({', '.join('?' * len(columns))})",
                               [[r.get(c) for c in columns] for r in t["rows"]])
        translated = re.sub(r"@(\w+)", r":\1", re.sub(named, lambda m: quote(m.group(1)), sql))
        values = {k: int(v) if types.get(k) == "INT64" else v for k, v in params.items()}
        try:
            cursor = db.execute(translated, values)
        except sqlite3.Error as e:
            return self.answer(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": f"fake: {e}"}})
        fields = [{"name": d[0], "type": "STRING"} for d in cursor.description]
        cells = [{"f": [{"v": None if v is None else str(v)} for v in row]} for row in cursor.fetchall()]
        self.answer(200, {"kind": "bigquery#queryResponse", "jobComplete": True, "schema": {"fields": fields},
                          "rows": cells, "totalRows": str(len(cells))})

    def erase_query(self, table, delete, column, value):
        """DML DELETE (numDmlAffectedRows) or SELECT COUNT(*) of the rows whose column, as a
        string, equals the parameter; while /_inject {"streaming_buffer": T, "seconds": S} holds,
        a DELETE that would touch rows of T is refused as BigQuery refuses DML over rows in
        its streaming buffer."""
        state = self.server.state
        with state.lock:
            t = state.tables.get(table)
            if t is None:
                return self.answer(404, {"error": {"code": 404, "message": f"Not found: Table {table}"}})
            as_text = lambda v: None if v is None else ("true" if v is True else "false" if v is False else str(v))
            hit = [r for r in t["rows"] if as_text(r.get(column)) == value]
            if not delete:
                return self.answer(200, {"kind": "bigquery#queryResponse", "jobComplete": True,
                                         "schema": {"fields": [{"name": "f0_", "type": "INTEGER"}]},
                                         "rows": [{"f": [{"v": str(len(hit))}]}], "totalRows": "1"})
            if hit and state.streaming_buffer_until.get(table, 0) > time.time():
                return self.answer(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                    f"UPDATE or DELETE statement over table {table} would affect rows in the streaming buffer, which is not supported"}})
            t["rows"] = [r for r in t["rows"] if as_text(r.get(column)) != value]
            state.dml_deletes += 1
        self.answer(200, {"kind": "bigquery#queryResponse", "jobComplete": True,
                          "numDmlAffectedRows": str(len(hit))})

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
            if method == "GET" and name is None:  # tables.list, two per page to exercise paging
                names = sorted(state.tables)
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                start = int(query.get("pageToken", ["0"])[0])
                page = {"kind": "bigquery#tableList", "totalItems": len(names),
                        "tables": [{"tableReference": {"tableId": n}} for n in names[start:start + 2]]}
                if start + 2 < len(names):
                    page["nextPageToken"] = str(start + 2)
                return self.answer(200, page)
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
                state.insert_bytes += length
                state.insert_rows += len(body["rows"])
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

    # --- Sheets API v4 ------------------------------------------------------------------
    def google_error(self, status, message, headers=()):
        body = json.dumps({"error": {"code": status, "message": message,
                                     "status": GOOGLE_STATUS.get(status, "UNKNOWN")}}).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def sheets_authorized(self):
        state = self.server.state
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        with state.lock:
            expiry = state.tokens.get(token, 0)
            scopes = state.token_scopes.get(token)
            if expiry < time.time() or (scopes is not None and not scopes & SHEETS_SCOPES):
                state.sheets_calls["unauthorized"] += 1
        if expiry < time.time():
            self.google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                   "token, login cookie or other valid authentication credential.",
                              [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"')])
            return False
        if scopes is not None and not scopes & SHEETS_SCOPES:
            self.google_error(403, "Request had insufficient authentication scopes.")
            return False
        return True

    def sheets_injected_failure(self):
        faults = self.server.state.sheets_faults
        with self.server.state.lock:
            if time.time() < faults["outage_until"]:
                status = 503
            elif faults["fail_next"] > 0:
                faults["fail_next"] -= 1
                status = faults["status"]
            else:
                return False
            retry_after = faults["retry_after"]
        message = {429: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per "
                        "minute per user' of service 'sheets.googleapis.com'.",
                   503: "The service is currently unavailable."}.get(status, "injected failure")
        self.google_error(status, message, [("Retry-After", str(retry_after))] if retry_after is not None else [])
        return True

    def spreadsheet(self, sid):
        """The spreadsheet with this id (state.lock held), made on first use unless --strict-sheets."""
        state = self.server.state
        book = state.spreadsheets.get(sid)
        if book is None and not state.args.strict_sheets:
            book = state.spreadsheets[sid] = new_spreadsheet(["Sheet1"])
        return book

    def sheets(self, method):
        state = self.server.state
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        # The id and the range are URL-encoded path segments: split before decoding, so that an
        # encoded "/" or ":" in a worksheet title stays part of it.
        raw = parsed.path[len("/v4/spreadsheets/"):]
        rng = None
        if "/" in raw:
            sid, rest = raw.split("/", 1)
            if method != "POST" or not rest.startswith("values/") or not rest.endswith(":append"):
                return self.google_error(404, "Method not found.")
            op, rng = "append", urllib.parse.unquote(rest[len("values/"):-len(":append")])
        elif method == "POST" and raw.endswith(":batchUpdate"):
            op, sid = "batchUpdate", raw[:-len(":batchUpdate")]
        elif method == "GET" and ":" not in raw:
            op, sid = "get", raw
        else:
            return self.google_error(404, "Method not found.")
        sid = urllib.parse.unquote(sid)
        if not self.sheets_authorized():
            return
        body = {}
        if method == "POST":
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0) or 0)) or b"{}")
            except ValueError:
                body = None
        with state.lock:
            state.sheets_calls[op] += 1
            if op == "batchUpdate" and isinstance(body, dict) and isinstance(body.get("requests"), list):
                state.sheets_calls["addSheet"] += sum(1 for r in body["requests"]
                                                      if isinstance(r, dict) and "addSheet" in r)
        if self.sheets_injected_failure():
            return
        if not isinstance(body, dict):
            return self.google_error(400, "Invalid JSON payload received.")
        with state.lock:
            book = self.spreadsheet(sid)
            if book is None:
                return self.google_error(404, "Requested entity was not found.")
            if op == "get":
                return self.answer(200, {
                    "spreadsheetId": sid, "properties": {"title": sid, "locale": "en_US", "timeZone": "Etc/GMT"},
                    "sheets": [{"properties": sheet_properties(book, s)} for s in book["sheets"]],
                    "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{sid}/edit"})
            if op == "batchUpdate":
                return self.batch_update(sid, book, body)
            return self.append(sid, book, rng, query, body)

    def batch_update(self, sid, book, body):
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            return self.google_error(400, "Must specify at least one request.")
        # Check every request first: a batchUpdate applies all of its requests or none.
        titles = {s["title"].lower() for s in book["sheets"]}
        ids = {s["sheetId"] for s in book["sheets"]}
        added = []
        for i, request in enumerate(requests):
            if not isinstance(request, dict) or list(request) != ["addSheet"]:
                return self.google_error(400, f"Invalid requests[{i}]: fake_google.py supports only addSheet requests.")
            props = dict((request["addSheet"] or {}).get("properties") or {})
            title = props.get("title")
            if not title:
                n = len(book["sheets"]) + len(added) + 1
                while f"sheet{n}" in titles:
                    n += 1
                title = f"Sheet{n}"
            if not isinstance(title, str):
                return self.google_error(400, f"Invalid requests[{i}].addSheet: title must be a string.")
            if title.lower() in titles:
                return self.google_error(400, f"Invalid requests[{i}].addSheet: A sheet with the name \"{title}\" "
                                              "already exists. Please enter another name.")
            sheet_id = props.get("sheetId")
            if sheet_id is None:
                sheet_id = book["next_id"]
                while sheet_id in ids:
                    sheet_id += 1
                book["next_id"] = sheet_id + 1
            elif sheet_id in ids:
                return self.google_error(400, f"Invalid requests[{i}].addSheet: A sheet with the id {sheet_id} "
                                              "already exists.")
            titles.add(title.lower())
            ids.add(sheet_id)
            added.append({"sheetId": sheet_id, "title": title, "rows": []})
        replies = []
        for sheet in added:
            book["sheets"].append(sheet)
            replies.append({"addSheet": {"properties": sheet_properties(book, sheet)}})
        return self.answer(200, {"spreadsheetId": sid, "replies": replies})

    def append(self, sid, book, rng, query, body):
        option = query.get("valueInputOption", [None])[0]
        if option is None:
            return self.google_error(400, "'valueInputOption' is required but not specified")
        if option not in ("RAW", "USER_ENTERED"):
            return self.google_error(400, "Invalid value at 'value_input_option' (type.googleapis.com/"
                                          f"google.apps.sheets.v4.ValueInputOption), \"{option}\"")
        insert = query.get("insertDataOption", ["OVERWRITE"])[0]
        if insert not in ("OVERWRITE", "INSERT_ROWS"):
            return self.google_error(400, "Invalid value at 'insert_data_option' (type.googleapis.com/"
                                          f"google.apps.sheets.v4.InsertDataOption), \"{insert}\"")
        sheet, first_column = find_sheet(book, rng)
        if sheet is None:
            return self.google_error(400, f"Unable to parse range: {rng}")
        values = body.get("values", [])
        if not isinstance(values, list):
            return self.google_error(400, "Invalid value at 'data.values' (type.googleapis.com/"
                                          f"google.protobuf.ListValue), {json.dumps(values)}")
        for i, row in enumerate(values):
            if not isinstance(row, list):
                return self.google_error(400, f"Invalid value at 'data.values[{i}]' (type.googleapis.com/"
                                              f"google.protobuf.ListValue), {json.dumps(row)}")
            for j, cell in enumerate(row):
                if isinstance(cell, (dict, list)):
                    kind = "struct_value" if isinstance(cell, dict) else "list_value"
                    return self.google_error(400, f"Invalid values[{i}][{j}]: {kind} {json.dumps(cell)}")
        dimension = body.get("majorDimension", "ROWS")
        if dimension == "COLUMNS":
            width = max((len(c) for c in values), default=0)
            values = [[c[r] if r < len(c) else "" for c in values] for r in range(width)]
        elif dimension != "ROWS":
            return self.google_error(400, "Invalid value at 'data.major_dimension' (type.googleapis.com/"
                                          f"google.apps.sheets.v4.Dimension), \"{dimension}\"")
        rows = sheet["rows"]
        title = a1_title(sheet["title"])
        out = {"spreadsheetId": sid}
        if rows:
            out["tableRange"] = f"{title}!A1:{column_name(max(len(r) for r in rows) or 1)}{len(rows)}"
        columns = max((len(r) for r in values), default=0)
        updates = {"spreadsheetId": sid, "updatedRows": len(values), "updatedColumns": columns,
                   "updatedCells": sum(len(r) for r in values)}
        if values:
            updates["updatedRange"] = (f"{title}!{column_name(first_column)}{len(rows) + 1}:"
                                       f"{column_name(first_column + max(columns, 1) - 1)}{len(rows) + len(values)}")
        rows.extend(list(r) for r in values)
        out["updates"] = updates
        return self.answer(200, out)

    def do_PATCH(self):
        self.bigquery("PATCH")

    def do_GET(self):
        state = self.server.state
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/bigquery/"):
            return self.bigquery("GET")
        if path.startswith("/v4/spreadsheets/"):
            return self.sheets("GET")
        if path == "/_sheets":
            with state.lock:
                return self.answer(200, {
                    "spreadsheets": {sid: {s["title"]: s["rows"] for s in book["sheets"]}
                                     for sid, book in state.spreadsheets.items()},
                    "calls": state.sheets_calls})
        if path == "/_stats":
            return self.answer(200, {"issued": state.issued, "insert_calls": state.insert_calls,
                                     "insert_bytes": state.insert_bytes, "insert_rows": state.insert_rows, "dml_deletes": state.dml_deletes,
                                     "last_query": state.last_query})
        if path == "/_storage_write":
            return self.answer(200, self.server.storage_write.dump())
        if path == "/_tables":
            with state.lock:
                return self.answer(200, {n: {k: v for k, v in t.items() if k != "ids"} for n, t in state.tables.items()})
        if path == "/computeMetadata/v1/project/project-id":
            # The project the instance runs in: the one of the service account's e-mail (text).
            if self.headers.get("Metadata-Flavor") != "Google":
                return self.answer(403, {"error": "missing Metadata-Flavor: Google"})
            body = state.args.email.split("@", 1)[1].split(".", 1)[0].encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/text")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if path == "/metadata/token":
            if self.headers.get("Metadata-Flavor") != "Google":
                return self.answer(403, {"error": "missing Metadata-Flavor: Google"})
            asked = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("scopes")
            scopes = {s for a in asked for s in a.split(",") if s} if asked else None
            return self.answer(200, state.issue(scopes))
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        state = self.server.state
        path = urllib.parse.urlparse(self.path).path
        if path.startswith("/bigquery/"):
            return self.bigquery("POST")
        if path.startswith("/v4/spreadsheets/"):
            return self.sheets("POST")
        if path == "/_sheets/create":
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with state.lock:
                if body["spreadsheetId"] in state.spreadsheets:
                    return self.answer(409, {"error": "exists"})
                state.spreadsheets[body["spreadsheetId"]] = new_spreadsheet(body.get("sheets") or ["Sheet1"])
            return self.answer(200, {"spreadsheetId": body["spreadsheetId"]})
        if path == "/_inject":
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if body.get("target", "bigquery") == "sheets":
                with state.lock:
                    faults = state.sheets_faults
                    faults["fail_next"] = body.get("fail_next", 0)
                    faults["status"] = body.get("status", 500)
                    faults["retry_after"] = body.get("retry_after")
                    if "outage_seconds" in body:
                        faults["outage_until"] = time.time() + body["outage_seconds"]
                return self.answer(200, {})
            if body.get("target") == "storage_write":
                self.server.storage_write.inject(body)
                return self.answer(200, {})
            if body.get("target", "bigquery") != "bigquery":
                return self.answer(400, {"error": "target must be bigquery, storage_write or sheets"})
            with state.lock:
                if "streaming_buffer" in body:  # {"streaming_buffer": TABLE, "seconds": S}
                    state.streaming_buffer_until[body["streaming_buffer"]] = time.time() + body["seconds"]
                    return self.answer(200, {})
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
        self.answer(200, state.issue(scopes))


def new_spreadsheet(titles):
    return {"sheets": [{"sheetId": i, "title": t, "rows": []} for i, t in enumerate(titles)],
            "next_id": len(titles)}


def sheet_properties(book, sheet):
    return {"sheetId": sheet["sheetId"], "title": sheet["title"], "index": book["sheets"].index(sheet),
            "sheetType": "GRID", "gridProperties": {"rowCount": max(1000, len(sheet["rows"])), "columnCount": 26}}


# A1 cells: A1, A1:C9, A1:C, A:Z, 3:5 (a bare column "A" is not a range to Sheets).
CELLS = re.compile(r"\$?([A-Za-z]{1,3})\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d*)?|\$?([A-Za-z]{1,3}):\$?[A-Za-z]{1,3}\$?\d*"
                   r"|\d+:\d+")


def find_sheet(book, rng):
    """(worksheet, first column number) that an A1 range names, or (None, 0).

    'It''s'!A1 and Sheet1!A:Z name a worksheet; a range without "!" is a worksheet title or,
    when no worksheet has that title, cells of the first worksheet (as Sheets reads it)."""
    if rng.startswith("'"):
        title, i = "", 1
        while True:
            j = rng.find("'", i)
            if j < 0:
                return None, 0
            title += rng[i:j]
            if rng[j + 1:j + 2] == "'":  # '' is a quote inside the title
                title += "'"
                i = j + 2
                continue
            rest = rng[j + 1:]
            break
        if rest and not rest.startswith("!"):
            return None, 0
        cells = rest[1:] if rest else None
    elif "!" in rng:
        title, cells = rng.split("!", 1)
    else:
        title, cells = rng, None
    by_title = {s["title"].lower(): s for s in book["sheets"]}
    if cells is None:
        if title.lower() in by_title:
            return by_title[title.lower()], 1
        match = CELLS.fullmatch(title)
        if match and book["sheets"]:
            return book["sheets"][0], column_number(match.group(1) or match.group(2) or "")
        return None, 0
    match = CELLS.fullmatch(cells)
    if not match or title.lower() not in by_title:
        return None, 0
    return by_title[title.lower()], column_number(match.group(1) or match.group(2) or "")


def column_number(letters):
    n = 0
    for c in letters.upper():
        n = n * 26 + ord(c) - ord("A") + 1
    return n or 1


def column_name(n):
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def a1_title(title):
    """A worksheet title as Sheets writes it in a range: quoted unless it is a plain name."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--public-key", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--ttl", type=int, default=3600)
    p.add_argument("--strict-sheets", action="store_true",
                   help="only spreadsheets made by POST /_sheets/create exist")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.state = State(args)
    server.state.port = server.server_address[1]
    from fake_storage_write import StorageWrite  # here: it generates its protobuf modules
    server.storage_write = StorageWrite(server.state)
    grpc_server, grpc_port = server.storage_write.serve()
    print(server.state.port, flush=True)
    print(f"storage_write {grpc_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

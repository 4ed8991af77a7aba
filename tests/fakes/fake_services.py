#!/usr/bin/python3
"""One local HTTP server standing in for the services oceanus' actions call: Slack incoming
webhooks, SendGrid's v3 mail send, and any webhook receiver. It answers the way the real
services answer and records every request, so that tests can check what was sent and count
attempts (failed ones included).

  POST /slack/<anything>   a Slack incoming webhook (e.g. /slack/services/T000/B000/XXXX).
                           The body is JSON, or a form with payload=<JSON> (Slack takes both);
                           200 "ok" (text/plain); 400 "invalid_payload" if it is not a JSON
                           object; 400 "no_text" if it has neither text nor blocks; 400
                           "invalid_blocks" if blocks is not a list of objects with a type.
  POST /v3/mail/send       SendGrid. Authorization must be "Bearer <--sendgrid-key>" (default
                           SG.test-key), else 401. The body is checked as SendGrid does
                           (personalizations[].to[].email, from.email, subject in the body or
                           in every personalization, content[] of {type, value} with
                           text/plain before text/html, no address twice in one
                           personalization); 202 with an empty body and X-Message-Id, or 400
                           {"errors": [{"message", "field", "help"}]} listing every problem.
  <any method> /hook/<anything>
                           a generic webhook receiver: 200 {"ok": true}.

Control endpoints (not recorded):
  POST /_inject {"path_prefix": P, "fail_next": N, "status": 500, "retry_after": S}
      the next N requests whose path starts with P answer `status` (default 500; with
      retry_after a Retry-After: S header is sent, as Slack and SendGrid do with 429).
  POST /_inject {"path_prefix": P, "delay_ms": D, "delay_next": N}
      requests under P are answered after D ms (the request is recorded on arrival); only the
      next N of them when delay_next is given, else until delay_ms 0 or /_reset.
      Both kinds can be set in one body; a later /_inject for the same prefix replaces the
      kind(s) it names. A request takes the fault of the longest matching prefix.
  GET /_received[?path_prefix=P]
      a JSON list, in arrival order, of {"time": unix time of arrival, "method", "path" (with
      the query string), "headers": {lower-cased name: value}, "body": text, "json": parsed
      body or null, "status": what was (or will be, when delayed) answered, "delayed_ms": how
      long the answer was held by an injected delay, 0 for none}.
  POST /_reset   forgets everything received and every injected fault.

The first line on stdout is the port it listens on.

  fake_services.py [--port 0] [--sendgrid-key SG.test-key] [--exit-with-parent]
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SENDGRID_AUTH_ERROR = {"errors": [{"message": "The provided authorization grant is invalid, expired, or revoked",
                                   "field": None, "help": None}]}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.received = []
        self.faults = {}  # path prefix -> {"fail_next", "status", "retry_after", "delay_ms", "delay_next"}

    def take_fault(self, path):
        """(status to force or None, retry_after, delay in seconds) for a request to path."""
        with self.lock:
            prefixes = sorted((p for p in self.faults if path.startswith(p)), key=len, reverse=True)
            if not prefixes:
                return None, None, 0.0
            fault = self.faults[prefixes[0]]
            status = retry_after = None
            if fault.get("fail_next", 0) > 0:
                fault["fail_next"] -= 1
                status, retry_after = fault.get("status", 500), fault.get("retry_after")
            delay = 0.0
            if fault.get("delay_ms") and fault.get("delay_next", 1) > 0:
                delay = fault["delay_ms"] / 1000.0
                if "delay_next" in fault:
                    fault["delay_next"] -= 1
            return status, retry_after, delay


def sendgrid_problems(body):
    """SendGrid's v3 /mail/send checks, as [(message, field)]."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    problems = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(("The personalizations field is required and must have at least one personalization.",
                         "personalizations"))
        personalizations = []
    for i, p in enumerate(personalizations):
        if not isinstance(p, dict):
            problems.append(("Invalid type. Expected: object, given: " + type(p).__name__ + ".",
                             f"personalizations.{i}"))
            continue
        to = p.get("to")
        if not isinstance(to, list) or not to:
            problems.append(("The to array is required for all personalization objects, and must have at least "
                             "one email object with a valid email address.", f"personalizations.{i}.to"))
        seen = set()
        for kind in ("to", "cc", "bcc"):
            addresses = p.get(kind) or []
            if not isinstance(addresses, list):
                problems.append(("Invalid type. Expected: array.", f"personalizations.{i}.{kind}"))
                continue
            for j, a in enumerate(addresses):
                email = a.get("email") if isinstance(a, dict) else None
                if not isinstance(email, str) or not EMAIL.fullmatch(email):
                    problems.append(("Does not contain a valid address.", f"personalizations.{i}.{kind}.{j}.email"))
                elif email.lower() in seen:
                    problems.append(("Each email address in the personalization block should be unique between "
                                     "to, cc, and bcc. We found the first duplicate instance of [" + email +
                                     "] in the personalizations." + kind + " field.",
                                     f"personalizations.{i}.{kind}"))
                else:
                    seen.add(email.lower())
    sender = body.get("from")
    if not isinstance(sender, dict) or "email" not in sender:
        problems.append(("The from object must be provided for every email send. It is an object that requires "
                         "the email parameter, but may also contain a name parameter.", "from"))
    elif not isinstance(sender["email"], str) or not EMAIL.fullmatch(sender["email"]):
        problems.append(("The from email does not contain a valid address.", "from.email"))
    subject = body.get("subject")
    if subject is not None and not isinstance(subject, str):
        problems.append(("Invalid type. Expected: string.", "subject"))
    elif not subject and not body.get("template_id") and not (personalizations and all(
            isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"] for p in personalizations)):
        problems.append(("The subject is required. You can get around this requirement if you use a template "
                         "with a subject defined or if every personalization has a subject defined.", "subject"))
    content = body.get("content")
    if content is None and not body.get("template_id"):
        problems.append(("Unless a valid template_id is provided, the content parameter is required. There must "
                         "be at least one defined content block. We typically suggest both text/plain and "
                         "text/html blocks are included, but only one block is required.", "content"))
    elif content is not None:
        if not isinstance(content, list) or not content:
            problems.append(("The content parameter must be an array with at least one content block.", "content"))
            content = []
        types = []
        for i, c in enumerate(content):
            if not isinstance(c, dict) or not isinstance(c.get("type"), str) or not c["type"]:
                problems.append(("The content type is required and must be a string.", f"content.{i}.type"))
                continue
            types.append(c["type"])
            if not isinstance(c.get("value"), str) or not c["value"]:
                problems.append(("The content value must be a string at least one character in length.",
                                 f"content.{i}.value"))
        wanted = [t for t in ("text/plain", "text/html") if t in types]
        if types[:len(wanted)] != wanted:
            problems.append(("If present, text/plain and text/html may only be provided in this order, and must "
                             "be the first indices of the content array.", "content"))
        if len(types) != len(set(types)):
            problems.append(("Each content type may only be used once.", "content"))
    return problems


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length", 0) or 0)
        return self.rfile.read(length) if length else b""

    def control(self, method, parsed):
        state = self.server.state
        if method == "GET" and parsed.path == "/_received":
            prefix = urllib.parse.parse_qs(parsed.query).get("path_prefix", [""])[0]
            with state.lock:
                return self.reply(200, [r for r in state.received if r["path"].startswith(prefix)])
        if method == "POST" and parsed.path == "/_reset":
            self.read_body()
            with state.lock:
                state.received.clear()
                state.faults.clear()
            return self.reply(200, {})
        if method == "POST" and parsed.path == "/_inject":
            body = json.loads(self.read_body())
            with state.lock:
                fault = state.faults.setdefault(body.get("path_prefix", "/"), {})
                if "fail_next" in body:
                    fault.update(fail_next=body["fail_next"], status=body.get("status", 500),
                                 retry_after=body.get("retry_after"))
                if "delay_ms" in body:
                    fault.pop("delay_next", None)
                    fault["delay_ms"] = body["delay_ms"]
                    if body.get("delay_next") is not None:
                        fault["delay_next"] = body["delay_next"]
            return self.reply(200, {})
        return self.reply(404, {"error": "no such control endpoint"})

    def handle_any(self, method):
        state = self.server.state
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path.startswith("/_"):
            return self.control(method, parsed)
        raw = self.read_body()
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed_json = json.loads(text) if text else None
        except ValueError:
            parsed_json = None
        record = {"time": time.time(), "method": method, "path": self.path,
                  "headers": {}, "body": text, "json": parsed_json, "status": None}
        for name, value in self.headers.items():
            name = name.lower()
            record["headers"][name] = record["headers"][name] + ", " + value if name in record["headers"] else value
        forced, retry_after, delay = state.take_fault(parsed.path)
        if forced is not None:
            answer = self.injected(parsed.path, forced, retry_after)
        elif parsed.path.startswith("/slack/") and method == "POST":
            answer = self.slack(record)
        elif parsed.path == "/v3/mail/send" and method == "POST":
            answer = self.sendgrid(record)
        elif parsed.path.startswith("/hook/"):
            answer = (200, {"ok": True}, "application/json", ())
        else:
            answer = (404, "not found", "text/plain", ())
        record["status"] = answer[0]
        record["delayed_ms"] = int(delay * 1000)
        with state.lock:
            state.received.append(record)
        if delay:
            time.sleep(delay)  # latency injected on purpose: the caller's timeout is under test
        try:
            self.reply(*answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (its timeout): that is what a delay test wants

    def injected(self, path, status, retry_after):
        headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
        if path.startswith("/slack/"):
            return status, "rate_limited" if status == 429 else "injected failure", "text/plain", headers
        return status, {"errors": [{"message": "injected failure", "field": None, "help": None}]}, \
            "application/json", headers

    def slack(self, record):
        payload = record["json"]
        # Slack reads a form's payload= field; a JSON body sent as a form (curl -d) works too.
        if payload is None and "payload=" in record["body"]:
            form = urllib.parse.parse_qs(record["body"])
            try:
                payload = record["json"] = json.loads(form["payload"][0])
            except (KeyError, ValueError):
                payload = None
        if not isinstance(payload, dict):
            return 400, "invalid_payload", "text/plain", ()
        blocks = payload.get("blocks")
        if blocks is not None and (not isinstance(blocks, list) or
                                   not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks)):
            return 400, "invalid_blocks", "text/plain", ()
        if not payload.get("text") and not blocks:
            return 400, "no_text", "text/plain", ()
        return 200, "ok", "text/plain", ()

    def sendgrid(self, record):
        if record["headers"].get("authorization") != "Bearer " + self.server.state.args.sendgrid_key:
            return 401, SENDGRID_AUTH_ERROR, "application/json", ()
        if record["json"] is None:
            problems = [("Bad Request", None)]
        else:
            problems = sendgrid_problems(record["json"])
        if problems:
            return 400, {"errors": [{"message": m, "field": f, "help": None} for m, f in problems]}, \
                "application/json", ()
        return 202, b"", "application/json", [("X-Message-Id", uuid.uuid4().hex[:22])]

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


def exit_with_parent():
    """With --exit-with-parent the harness holds our stdin open; its EOF means the test process
    is gone (even killed with SIGKILL), and a fake must not outlive it."""
    def watch():
        sys.stdin.buffer.read()
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--sendgrid-key", default="SG.test-key")
    p.add_argument("--exit-with-parent", action="store_true", help="exit when stdin is closed")
    args = p.parse_args()
    if args.exit_with_parent:
        exit_with_parent()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A real SMTP server for the mail tests, built on Debian's python3-aiosmtpd (1.4.3): it speaks
ESMTP, STARTTLS and AUTH PLAIN/LOGIN as a mail relay would, and keeps every message it
accepts, so that a test can read what oceanus sent.

Every accepted message is one JSON line in DIR/messages.jsonl:
  {"time", "mail_from", "rcpt_tos", "data": the full RFC 5322 text, "subject": the decoded
   Subject, "text": the decoded text/plain part or "", "html": the decoded text/html part or ""
   (both with LF line ends),
   "auth_user": the user who authenticated or null, "tls": whether STARTTLS was used}
written, flushed and fsynced before the 250 answer, so that what the client saw accepted is on
disk. Every DATA, accepted or not, is also one line in DIR/attempts.jsonl ({"time",
"mail_from", "rcpt_tos", "status"}), so that tests can count retries.

  --auth USER:PASSWORD   AUTH (PLAIN or LOGIN) with these credentials is required before MAIL.
  --tls-cert C --tls-key K
                         STARTTLS is offered and required before anything but EHLO/NOOP/QUIT
                         (and so before AUTH); without them AUTH is allowed in clear text.
  --fail-next N          the first N DATA commands are answered 451 4.3.0 temporary failure
                         (injected), after the message was sent, and nothing is kept.
  A running sink takes more: write {"fail_next": N} to DIR/inject.json (atomically: write
  another name, then rename); the next DATA reads it, removes it and fails N more.

The first line on stdout is the port, once it is listening (--port 0, the default, picks a
free one).

  /usr/bin/python3 smtp_sink.py --dir D [--port P] [--auth user:password]
                                [--tls-cert C --tls-key K] [--fail-next N] [--exit-with-parent]
"""
import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import ssl
import sys
import threading
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    """The aiosmtpd handler: DATA is where a message is kept or refused."""

    def __init__(self, directory, fail_next):
        self.inject_path = os.path.join(directory, "inject.json")
        self.messages = open(os.path.join(directory, "messages.jsonl"), "a", encoding="utf-8")
        self.attempts = open(os.path.join(directory, "attempts.jsonl"), "a", encoding="utf-8")
        self.fail_next = fail_next

    @staticmethod
    def write(f, record):
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        try:
            with open(self.inject_path) as f:
                self.fail_next += json.load(f).get("fail_next", 0)
            os.remove(self.inject_path)
        except FileNotFoundError:
            pass
        if self.fail_next > 0:
            self.fail_next -= 1
            status = "451 4.3.0 temporary failure (injected)"
        else:
            status = "250 2.0.0 OK queued"
        self.write(self.attempts, {"time": now, "mail_from": envelope.mail_from,
                                   "rcpt_tos": list(envelope.rcpt_tos), "status": status})
        if not status.startswith("250"):
            return status
        data = envelope.original_content
        message = email.message_from_bytes(data, policy=email.policy.default)

        def part(subtype):
            body = message.get_body(preferencelist=(subtype,))
            if body is None or body.get_content_type() != "text/" + subtype:
                return ""
            # Line ends as a reader sees them: SMTP's CRLF (or one inside base64) becomes \n.
            return body.get_content().replace("\r\n", "\n")

        self.write(self.messages, {
            "time": now, "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
            "data": data.decode("utf-8", errors="replace"), "subject": str(message.get("Subject", "")),
            "text": part("plain"), "html": part("html"),
            "auth_user": session.auth_data if session.authenticated else None,
            "tls": session.ssl is not None})
        return status


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        # auth_data becomes session.auth_data: the user name for messages.jsonl.
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
    return authenticator


async def serve(args):
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    kwargs = {}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(authenticator=make_authenticator(user, password), auth_required=True,
                      # AUTH in clear text only when there is no TLS to ask for.
                      auth_require_tls=tls_context is not None)
    sink = Sink(args.dir, args.fail_next)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="localhost", tls_context=tls_context,
                     require_starttls=tls_context is not None, loop=loop, **kwargs),
        host="127.0.0.1", port=args.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


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
    p.add_argument("--dir", required=True)
    p.add_argument("--auth", help="USER:PASSWORD")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--fail-next", type=int, default=0)
    p.add_argument("--exit-with-parent", action="store_true", help="exit when stdin is closed")
    args = p.parse_args()
    if args.exit_with_parent:
        exit_with_parent()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    # aiosmtpd logs to "mail.log"; warnings (e.g. AUTH without TLS) go to stderr.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd 1.4 itself sets the deprecated Session.login_data on every AUTH: not our news.
    logging.getLogger("mail.log").addFilter(lambda r: "login_data is deprecated" not in r.getMessage())
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()

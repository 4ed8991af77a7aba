"""Security properties of a running oceanus: who may set the client address, who sees debug
detail, who may use the admin listener, and that no secret reaches the logs.

Connections from 127.0.0.2 stand in for an untrusted client: Linux routes all of 127/8 to the
loopback interface, and the example config trusts (and treats as internal) only 127.0.0.1.
"""
import http.client
import json
import os
import re
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import (BIN, Oceanus, Redis, SmtpSink, example_config, free_port, send_beacons,
                     wait_for)
from test_react import Fixtures

UNTRUSTED = "127.0.0.2"


def request_from(source, port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class ClientAddressAndDebugTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.o = Oceanus().start()  # examples/oceanus.yaml: trusted and internal = 127.0.0.1/32

    @classmethod
    def tearDownClass(cls):
        assert cls.o.stop() == 0, cls.o.read_log()

    def beacon(self, source, url, xff=None):
        headers = {"X-Forwarded-For": xff} if xff else {}
        status, _ = request_from(source, self.o.port, "GET",
                                 "/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=" + url, headers)
        self.assertEqual(status, 200)
        [row] = self.o.wait_rows("samplesite", 1, "url = ?", (url,))
        return row["rad"]

    def test_forwarding_headers_from_an_untrusted_peer_are_ignored(self):
        self.assertEqual(self.beacon(UNTRUSTED, "spoof-1", "6.6.6.6"), UNTRUSTED)
        # Not even a chain that ends in a trusted proxy: the peer itself is not trusted.
        self.assertEqual(self.beacon(UNTRUSTED, "spoof-2", "6.6.6.6, 127.0.0.1"), UNTRUSTED)

    def test_a_trusted_proxy_names_the_nearest_untrusted_hop(self):
        # The client may prepend anything; only what our proxy appended counts.
        self.assertEqual(self.beacon("127.0.0.1", "chain-1", "6.6.6.6, 198.51.100.7"),
                         "198.51.100.7")
        self.assertEqual(self.beacon("127.0.0.1", "chain-2", "203.0.113.9, 127.0.0.1"),
                         "203.0.113.9")
        # A header that is not an address list: the proxy itself is the client.
        self.assertEqual(self.beacon("127.0.0.1", "chain-3", "<script>, not-an-ip"), "127.0.0.1")

    def test_debug_detail_only_for_internal_networks(self):
        path = "/swallow/samplesite?oid=2&sid=&evt=pageview&url=debug-probe&debug=1"
        status, body = request_from("127.0.0.1", self.o.port, "GET", path)
        self.assertEqual(status, 400)
        self.assertIn(b'evt = "pageview"', body)  # the parsed event, for the site's own staff
        status, body = request_from(UNTRUSTED, self.o.port, "GET", path)
        self.assertEqual((status, body), (400, b"sid: required\n"))  # the reason, nothing more
        status, body = request_from(UNTRUSTED, self.o.port, "GET", path.replace("sid=&", "sid=ab&"))
        self.assertEqual(status, 200)
        self.assertNotIn(b"stored", body)


    def test_repeated_forwarded_for_lines_are_combined_in_order(self):
        # The client forged a first line; our proxy (127.0.0.1) added its own line, as HAProxy's
        # `option forwardfor` does, rather than extending the client's.
        conn = http.client.HTTPConnection("127.0.0.1", self.o.port, timeout=15,
                                          source_address=("127.0.0.1", 0))
        try:
            conn.putrequest("GET", "/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=two-lines")
            conn.putheader("X-Forwarded-For", "6.6.6.6")
            conn.putheader("X-Forwarded-For", "198.51.100.7")
            conn.endheaders()
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
        finally:
            conn.close()
        [row] = self.o.wait_rows("samplesite", 1, "url = ?", ("two-lines",))
        self.assertEqual(row["rad"], "198.51.100.7")

    def test_debug_is_gated_on_the_client_behind_the_proxy(self):
        # 127.0.0.1 is both our proxy and internal; the visitor it forwards for is neither.
        path = "/swallow/samplesite?oid=2&sid=&evt=pageview&url=debug-via-proxy&debug=1"
        status, body = request_from("127.0.0.1", self.o.port, "GET", path,
                                    {"X-Forwarded-For": "203.0.113.9"})
        self.assertEqual((status, body), (400, b"sid: required\n"))
        status, body = request_from("127.0.0.1", self.o.port, "GET", path,
                                    {"X-Forwarded-For": "127.0.0.1"})
        self.assertEqual(status, 400)
        self.assertIn(b'evt = "pageview"', body)


class SecondInstanceTest(unittest.TestCase):
    def test_a_second_oceanus_on_a_taken_port_refuses_to_start(self):
        first = Oceanus().start()
        try:
            second = Oceanus(port=first.port)
            log = open(second.log_path, "ab")
            proc = subprocess.Popen([BIN, "run", "--config", second.config, "--data-dir",
                                     second.data_dir, "--admin-listen", "off",
                                     "--listen", f"127.0.0.1:{first.port}"],
                                    stdout=log, stderr=subprocess.STDOUT)
            log.close()
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
            self.assertIsNotNone(code, "the second oceanus started on a port already in use:\n"
                                 + second.read_log())
            self.assertNotEqual(code, 0)
            self.assertIn(f"listen 127.0.0.1:{first.port}: address already in use by another "
                          "process", second.read_log())
            # Every event goes to the first one's warehouse.
            uids = [f"only-first-{i}" for i in range(40)]
            self.assertEqual(send_beacons(first.port, uids), uids)
            first.wait_rows("samplesite", 40, "uid LIKE 'only-first-%'")
        finally:
            self.assertEqual(first.stop(), 0, first.read_log())


class AdminListenerTest(unittest.TestCase):
    def test_default_is_loopback(self):
        out = subprocess.run([BIN, "check", "--config", example_config(tempfile.mkdtemp())],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"admin: 127\.0\.0\.1:\d+")

    def test_off_loopback_without_a_token_is_refused(self):
        port = free_port()
        o = Oceanus(admin_port=None)
        out = subprocess.run([BIN, "run", "--config", o.config, "--data-dir", o.data_dir,
                              "--listen", f"127.0.0.1:{free_port()}",
                              "--admin-listen", f"0.0.0.0:{port}"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("is not a loopback address: set admin.token", out.stderr)

    def test_a_token_is_required_and_checked(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-admin-")
        port = free_port()
        config = example_config(tmp, [("queue:\n", f"admin: {{listen: '0.0.0.0:{port}', "
                                                   "token: admin-s3cret-token}\nqueue:\n")])
        o = Oceanus(config=config)
        o.admin_port = None
        # harness passes --admin-listen off when admin_port is None; start by hand instead.
        log = open(o.log_path, "ab")
        o.log = log
        o.proc = subprocess.Popen([BIN, "run", "--config", config, "--data-dir", o.data_dir,
                                   "--listen", f"127.0.0.1:{o.port}"], stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            wait_for(o._healthy, timeout=30, what="oceanus /hc")

            def get(headers):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                try:
                    conn.request("GET", "/rstatus", headers=headers)
                    resp = conn.getresponse()
                    return resp.status, resp.read()
                finally:
                    conn.close()

            def refused_without_token():
                try:
                    return get({})[0] == 401
                except ConnectionRefusedError:  # not listening yet
                    return False

            wait_for(refused_without_token, timeout=10, what="admin listener")
            self.assertEqual(get({"Authorization": "Bearer wrong-guess"})[0], 401)
            self.assertEqual(get({"Authorization": "Bearer admin-s3cret-tokenX"})[0], 401)
            self.assertEqual(get({"Authorization": "admin-s3cret-token"})[0], 401)
            # Probes need no token: /hc says nothing but "ok".
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            conn.request("GET", "/hc")
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, b"ok\n"))
            conn.close()
            status, body = get({"Authorization": "Bearer admin-s3cret-token"})
            self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())
        self.assertNotIn("admin-s3cret-token", o.read_log())


class SqlValuesTest(unittest.TestCase):
    def test_values_that_look_like_sql_are_stored_verbatim(self):
        o = Oceanus().start()
        try:
            nasty = "x'); DROP TABLE samplesite; --\" \\ %' OR '1'='1"
            params = {"oid": "2", "sid": "ab", "evt": "pageview", "url": "sql-probe", "uid": nasty,
                      "tit": nasty, "jsn": json.dumps({"k": nasty})}
            status, _, _ = o.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params))
            self.assertEqual(status, 200)
            [row] = o.wait_rows("samplesite", 1, "url = 'sql-probe'")
            self.assertEqual(row["uid"], nasty)
            self.assertEqual(row["tit"], nasty)
            self.assertEqual(json.loads(row["jsn"]), {"k": nasty})
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())


class SecretsInLogsTest(Fixtures, unittest.TestCase):
    """A full run at log level debug with every kind of secret configured and every kind of
    failure that gets logged; then no secret may appear in anything oceanus wrote."""
    TASKS = "local"

    SECRETS = {
        "slack": "xoxb-slack-s3cret-path",
        "smtp": "smtp-s3cret-pw",
        "sendgrid": "SG.sendgrid-s3cret-key",
        "redis": "redis-s3cret-pw",
        "admin": "admin-s3cret-token",
        "rabbitmq": "rabbit-s3cret-pw",
    }

    def assert_no_secrets(self, text, where):
        leaked = [name for name, secret in self.SECRETS.items() if secret in text]
        self.assertEqual(leaked, [], f"secrets in {where}:\n{text[-3000:]}")
        # The Google service-account key and the access tokens the fake issued.
        with open(self.google.key_file) as f:
            key = json.load(f)["private_key"]
        lines = [l for l in key.splitlines() if len(l) > 40 and "PRIVATE KEY" not in l]
        self.assertTrue(lines)
        self.assertFalse(any(l in text for l in lines), f"private key in {where}")
        self.assertIsNone(re.search(r"\btok-\d+\b", text), f"access token in {where}")

    def test_no_secret_appears_in_the_logs_of_a_full_run(self):
        redis = Redis(password=self.SECRETS["redis"]).start()
        smtp = SmtpSink(auth="mailer:" + self.SECRETS["smtp"], tls=True)
        try:
            self._full_run(redis, smtp)
        finally:
            smtp.stop()
            redis.stop()

    def _full_run(self, redis, smtp):
        admin_port = free_port()
        config = self.config([
            ("log_level: info", "log_level: debug"),
            ("  type: spool\n", f"  type: redis\n  redis: {{address: \"{redis.address}\", "
                                f"password: \"${{OCEANUS_REDIS_PASSWORD}}\"}}\n"),
            ("queue:\n", f"admin: {{listen: '127.0.0.1:{admin_port}', "
                         f"token: \"${{OCEANUS_ADMIN_TOKEN}}\"}}\nqueue:\n"),
        ])
        slack_path = f"/slack/T000/B000/{self.SECRETS['slack']}"
        env = self.env(
            OCEANUS_SLACK_WEBHOOK_URL=self.services.url(slack_path),
            OCEANUS_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}", OCEANUS_SMTP_USER="mailer",
            OCEANUS_SMTP_PASSWORD=self.SECRETS["smtp"], OCEANUS_SMTP_TLS="require",
            OCEANUS_SMTP_CA_FILE=smtp.cert, OCEANUS_REPORT_DELAY="100ms",
            OCEANUS_SENDGRID_ENDPOINT=self.services.url(""),
            OCEANUS_SENDGRID_API_KEY=self.SECRETS["sendgrid"],
            OCEANUS_REDIS_PASSWORD=self.SECRETS["redis"],
            OCEANUS_ADMIN_TOKEN=self.SECRETS["admin"])
        p = Oceanus(config=config, env=env, admin_port=admin_port).start()
        self.procs.append(p)

        # Failures on every path that logs: Slack and Sheets answer 500 before succeeding, the
        # SMTP server refuses the first message, Redis goes away and comes back.
        self.services.inject("/slack/", fail_next=2, status=500)
        self.google.inject_sheets(fail_next=1, status=500)
        smtp.inject(1)
        self.beacon(p, evt="paid", uid="u-secret", jsn={"price": 10, "title": "t", "id": "1"})
        self.beacon(p, evt="search_not_found", uid="u-nf", jsn={"kwd": "k", "cat": "c"})
        self.form(p, sid="5ec7e7", name="Secret")
        self.services.wait_received("/slack/", 3)
        smtp.wait_messages(1, timeout=60)
        redis.stop()
        self.beacon(p, evt="pageview", uid="during-outage")  # spooled locally, logged
        redis.start()
        p.wait_rows("samplesite", 1, "uid = 'during-outage'", timeout=60)
        # Admin requests with a wrong and with the right token.
        for token in ("wrong-guess", self.SECRETS["admin"]):
            conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=15)
            conn.request("GET", "/tasks", headers={"Authorization": f"Bearer {token}"})
            conn.getresponse().read()
            conn.close()
        self.assertEqual(p.stop(), 0, p.read_log())

        # The report through SendGrid, which refuses the first call.
        self.services.inject("/v3/mail/send", fail_next=1, status=500)
        p2 = Oceanus(config=config, env=dict(env, OCEANUS_REPORT_MAILER="sendgrid"),
                     admin_port=free_port()).start()
        self.procs.append(p2)
        self.form(p2, sid="5ec7e8", name="Secret2")
        self.services.wait_received("/v3/mail/send", 2, timeout=60)
        self.assertEqual(p2.stop(), 0, p2.read_log())

        # A task queue it cannot reach, with a password in its URL.
        bad_rabbit = self.config([
            ("log_level: info", "log_level: debug"),
            ("  type: local                  # SQLite in <data_dir>/tasks.db; or rabbitmq (see examples/redis.yaml)",
             f"  type: rabbitmq\n  rabbitmq: {{url: \"amqp://oceanus:{self.SECRETS['rabbitmq']}@"
             f"127.0.0.1:{free_port()}/\", connect_timeout: 1s}}")])
        r = subprocess.run([BIN, "run", "--config", bad_rabbit, "--data-dir",
                            os.path.join(self.tmp, "rabbit"), "--listen", f"127.0.0.1:{free_port()}",
                            "--admin-listen", "off"], env=dict(os.environ, **env),
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("127.0.0.1", r.stdout + r.stderr)  # it did say what failed
        check = subprocess.run([BIN, "check", "--config", config], env=dict(os.environ, **env),
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stderr)

        logs = {"run": p.read_log(), "run (sendgrid)": p2.read_log(),
                "unreachable rabbitmq": r.stdout + r.stderr,
                "check": check.stdout + check.stderr}
        # The logs are not empty: they talk about every failure injected above.
        self.assertIn("500", logs["run"])
        self.assertRegex(logs["run"], r"(?i)redis")
        for where, text in logs.items():
            self.assert_no_secrets(text, where)
        for name in os.listdir(p.data_dir):  # nothing written beside the data either
            path = os.path.join(p.data_dir, name)
            if name.endswith(".log") and os.path.isfile(path):
                with open(path, errors="replace") as f:
                    self.assert_no_secrets(f.read(), name)


if __name__ == "__main__":
    unittest.main()

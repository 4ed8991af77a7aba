"""The rejected-events store end to end: every kind of refusal kept once with its site and
reason (the metrics agree), secrets redacted, the bound holding under 100,000 refusals with
the process's memory flat, the capped stream per site with the redis queue, and
`oceanus replay --since/--until/--reason` sending back only the window asked for."""
import base64
import datetime
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, REDIS_EXAMPLE, Oceanus, Redis, example_config, free_port, wait_for
from test_operations import dead_records, scrape, total, value

KEY = "wk_rejected_test"


def rejected(o, query=""):
    status, body = o.admin("/api/rejected?limit=1000" + ("&" + query if query else ""))
    assert status == 200, body
    return json.loads(body)


def raw(port, data):
    """Sends bytes as they are and returns the status of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ")[1])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class RejectedStoreTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-rejected-")
        self.config = example_config(self.tmp, [("sites:\n", "rejected:\n  max_per_site: 500\n  log_every: 1s\n\nsites:\n")])
        self.o = Oceanus(config=self.config, admin_port=free_port(),
                         env={"OCEANUS_SEGMENT_WRITE_KEY": KEY}).start()

    def tearDown(self):
        self.assertEqual(self.o.stop(), 0, self.o.read_log())

    def test_each_refusal_is_kept_once_with_its_site_and_reason(self):
        o = self.o
        secret = {"Cookie": "session=cookie-secret", "X-Forwarded-For": "203.0.113.77"}
        auth = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
        sent = [
            (o.request("GET", "/swallow/samplesite?oid=2&evt=pageview", headers=secret)[0], 400),
            (o.request("GET", "/swallow/samplesite?oid=%zz")[0], 400),
            # A HEAD stores nothing; refused, it is kept and counted like the GET it stands for.
            (o.request("HEAD", "/swallow/samplesite?oid=2&evt=pageview")[0], 400),
            (o.request("HEAD", "/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=u")[0], 200),
            (o.request("POST", "/pirate/sampleform", "{}", {"Content-Type": "application/json"})[0], 415),
            (o.request("POST", "/swallow/samplesite", "x" * 70000, {"Content-Type": "text/plain"})[0], 413),
            (raw(o.port, b"GET /swallow/samplesite?oid=2 HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"), 431),
            (raw(o.port, b"GET /swallow/samplesite?oid=2 HTTP/1.1\nHost: x\n\n"), 400),
            (o.request("GET", "/swallow/nosuchsite")[0], 404),
            (o.request("DELETE", "/swallow/samplesite")[0], 405),
            (o.request("POST", "/v1/track", json.dumps({"event": "x", "userId": "u"}),
                       {"Content-Type": "application/json", "Authorization": "Basic d3Jvbmc6"})[0], 401),
            (o.request("POST", "/v1/batch", json.dumps({"batch": [
                {"type": "track", "event": "ok", "userId": "u1"},
                {"type": "track", "userId": "u2"}]}),
                {"Content-Type": "application/json", "Authorization": auth})[0], 200),
            (o.request("GET", "/nowhere")[0], 404),  # not an event path: not kept
        ]
        for got, want in sent:
            self.assertEqual(got, want)
        expected = {
            ("samplesite", "request", "invalid"), ("samplesite", "request", "malformed"),
            ("sampleform", "request", "media_type"), ("samplesite", "request", "too_large"),
            ("samplesite", "request", "headers_too_large"), ("", "request", "unknown_site"),
            ("samplesite", "request", "method"), ("", "request", "unauthorized"),
            ("sampleapp", "message", "missing_event"),
        }
        # malformed twice: the bad percent-encoding and the bare-LF request line; invalid twice:
        # the GET and the HEAD.
        wait_for(lambda: sum(c["count"] for c in rejected(o)["counts"]) == len(expected) + 2,
                 what="every refusal in the store")
        data = rejected(o)
        counts = {(c["site"], c["kind"], c["reason"]): c["count"] for c in data["counts"]}
        self.assertEqual(set(counts), expected)
        self.assertEqual(counts[("samplesite", "request", "malformed")], 2)
        self.assertEqual(counts[("samplesite", "request", "invalid")], 2)

        # The metrics count the same refusals under the same site and reason.
        m = scrape(o)
        for (site, kind, reason), n in counts.items():
            if kind == "request" and site and reason not in ("method",):
                self.assertEqual(value(m, "oceanus_events_rejected_total", site=site, reason=reason), n,
                                 (site, reason))
            if kind == "message":
                self.assertEqual(value(m, "oceanus_messages_rejected_total", site=site, reason=reason), n)
            self.assertEqual(value(m, "oceanus_rejected_stored_total", site=site, kind=kind, reason=reason), n)
        # 413 and 431 count under the site the path named, not under no site.
        self.assertEqual(value(m, "oceanus_requests_total", site="samplesite", endpoint="swallow", status="413"), 1)
        self.assertEqual(value(m, "oceanus_requests_total", site="samplesite", endpoint="swallow", status="431"), 1)
        self.assertEqual(value(m, "oceanus_events_received_total", site="samplesite"),
                         total(m, "oceanus_events_rejected_total", site="samplesite")
                         + value(m, "oceanus_events_queued_total", site="samplesite"))

        # Explained and redacted: the reasons per field, the request, no secret.
        entries = {(e["site"], e["reason"]): e for e in data["entries"] if e["payload"][:4] != "HEAD"}
        invalid = entries[("samplesite", "invalid")]
        self.assertIn("sid: required", invalid["detail"])
        self.assertTrue(invalid["payload"].startswith("GET /swallow/samplesite?oid=2&evt=pageview HTTP/1.1"))
        self.assertIn("Cookie: [redacted]", invalid["payload"])
        text = json.dumps(data)
        for secret_value in ("cookie-secret", "203.0.113.77", KEY, "d3Jvbmc6"):
            self.assertNotIn(secret_value, text)
        self.assertLessEqual(len(entries[("samplesite", "headers_too_large")]["payload"]), 4096 + 3)
        message = entries[("sampleapp", "missing_event")]
        self.assertIn('"userId":"u2"', message["payload"].replace(" ", ""))
        # Filters.
        only = rejected(o, "site=samplesite&reason=invalid")["entries"]
        self.assertEqual([(e["site"], e["reason"]) for e in only], [("samplesite", "invalid")] * 2)
        # And the logs say so, once per site and interval.
        wait_for(lambda: "for site samplesite:" in o.read_log(), what="the summary warn line")
        self.assertRegex(o.read_log(), r"rejected \d+ in the last \d+ s for site samplesite: .*invalid \d")

    def test_version_and_build_info_name_the_same_commit(self):
        out = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        match = re.fullmatch(r"oceanus (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n",
                             out.stdout)
        self.assertIsNotNone(match, out.stdout)
        m = scrape(self.o)
        self.assertEqual(value(m, "oceanus_build_info", version=match[1], commit=match[2]), 1)

    def test_the_bound_holds_under_100000_refusals_with_memory_flat(self):
        o = self.o
        request = b"GET /swallow/samplesite?oid=2&evt=pageview HTTP/1.1\r\nHost: x\r\n\r\n"

        def refuse(n):
            with socket.create_connection(("127.0.0.1", o.port), timeout=30) as s:
                for start in range(0, n, 500):
                    k = min(500, n - start)
                    s.sendall(request * k)
                    got = 0
                    buffer = b""
                    while got < k:
                        chunk = s.recv(65536)
                        self.assertTrue(chunk, "connection closed")
                        buffer += chunk
                        got = buffer.count(b"HTTP/1.1 400")
        def accounted():
            """Refusals either kept (and perhaps dropped later by the bound) or counted as not
            kept: a lane that overflows while the machine is busy drops the newest, counted."""
            m = scrape(o)
            return (value(m, "oceanus_rejected_stored_total", site="samplesite", kind="request",
                          reason="invalid")
                    + value(m, "oceanus_rejected_dropped_total", cause="overflow"))
        refuse(20000)
        wait_for(lambda: accounted() == 20000, timeout=60, what="20,000 accounted for")
        before = rss_kib(o.proc.pid)
        refuse(80000)
        wait_for(lambda: accounted() == 100000, timeout=120, what="100,000 accounted for")
        after = rss_kib(o.proc.pid)
        m = scrape(o)
        self.assertEqual(value(m, "oceanus_events_rejected_total", site="samplesite", reason="invalid"), 100000)
        self.assertEqual(value(m, "oceanus_rejected_dropped_total", cause="error"), 0)
        stored = value(m, "oceanus_rejected_stored_total", site="samplesite", kind="request", reason="invalid")
        self.assertGreater(stored, 500)
        # The store holds max_per_site; the rest was dropped oldest first, and counted.
        counts = {(c["site"], c["reason"]): c["count"] for c in rejected(o)["counts"]}
        self.assertEqual(counts[("samplesite", "invalid")], 500)
        self.assertEqual(value(m, "oceanus_rejected_dropped_total", cause="bound"), stored - 500)
        print(f"\n100,000 refusals: {stored:.0f} kept then bounded, "
              f"{value(m, 'oceanus_rejected_dropped_total', cause='overflow'):.0f} overflowed; "
              f"RSS {before} -> {after} KiB", flush=True)
        self.assertLess(after - before, 8 * 1024, f"RSS grew from {before} to {after} KiB")
        self.assertLess(os.path.getsize(os.path.join(o.data_dir, "rejected.db")), 8 << 20)


class RedisRejectedTest(unittest.TestCase):
    def test_a_capped_stream_per_site(self):
        redis = Redis().start()
        tmp = tempfile.mkdtemp(prefix="oceanus-rejected-redis-")
        config = example_config(tmp, [
            ("127.0.0.1:6379", f"127.0.0.1:{redis.port}"),
            ("sites:\n", "rejected:\n  max_per_site: 50\n\nsites:\n")], base=REDIS_EXAMPLE)
        o = Oceanus(config=config, admin_port=free_port()).start()
        try:
            for i in range(120):
                self.assertEqual(o.request("GET", f"/swallow/samplesite?oid=2&evt=pageview&uid=r{i}")[0], 400)
            self.assertEqual(o.request("GET", "/swallow/nosuchsite")[0], 404)
            wait_for(lambda: value(scrape(o), "oceanus_rejected_stored_total", site="samplesite",
                                   kind="request", reason="invalid") == 120, what="120 kept")
            self.assertEqual(int(redis.raw("XLEN", "samplesite:rejected")), 50)
            self.assertEqual(int(redis.raw("XLEN", ":rejected")), 1)
            self.assertEqual(value(scrape(o), "oceanus_rejected_dropped_total", cause="bound"), 70)
            entries = rejected(o, "site=samplesite")["entries"]
            self.assertEqual(len(entries), 50)
            # Newest first: the last request sent is the first entry, the oldest 70 are gone.
            self.assertIn("uid=r119", entries[0]["payload"])
            self.assertIn("uid=r70 ", entries[-1]["payload"] + " ")
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())
            redis.stop()


class ReplayWindowTest(unittest.TestCase):
    def test_since_until_and_reason_send_back_only_that_window(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-replay-window-")
        config = example_config(tmp)
        data = os.path.join(tmp, "data")
        os.makedirs(os.path.join(data, "deadletter"))
        path = os.path.join(data, "deadletter", "samplesite.jsonl")
        early, inside, wrong, late = (dead_records(p, 5) for p in ("early", "inside", "wrong", "late"))
        with open(path, "w") as f:
            for at, reason, records in (("2026-11-25 09:00:00.000000", "no such column", early),
                                        ("2026-11-25 10:30:00.000000", "no such column", inside),
                                        ("2026-11-25 10:40:00.000000", "value too long", wrong),
                                        ("2026-11-25 12:00:00.000000", "no such column", late)):
                for r in records:
                    f.write(json.dumps({"at": at, "reason": reason, "record": r}) + "\n")

        def replay(*args):
            r = subprocess.run([BIN, "replay", "--config", config, "--data-dir", data, *args],
                               capture_output=True, text=True, timeout=120)
            return r.returncode, r.stderr

        code, out = replay("--since", "2026-11-25 10:00", "--until", "2026-11-25T11:00:00Z",
                           "--reason", "column", "--dry-run")
        self.assertEqual(code, 0, out)
        self.assertIn("would replay 5 record(s)", out)
        code, out = replay("--since", "2026-11-25 10:00", "--until", "2026-11-25T11:00:00Z",
                           "--reason", "column")
        self.assertEqual(code, 0, out)
        self.assertIn("replayed 5 record(s)", out)
        # What was not asked for stays in the dead-letter, in its order.
        with open(path) as f:
            left = [json.loads(json.loads(line)["record"])["uid"] for line in f]
        self.assertEqual(left, [json.loads(r)["uid"] for r in early + wrong + late])
        code, out = replay("--since", "yesterday")
        self.assertEqual(code, 2)
        self.assertIn("neither a UTC time", out)

        o = Oceanus(config=config, data_dir=data).start()
        try:
            rows = o.wait_rows("samplesite", 5, "uid LIKE 'inside%'")
            self.assertEqual(len(rows), 5)
            self.assertEqual(o.rows("samplesite", "uid NOT LIKE 'inside%'"), [])
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())


    def test_the_admin_replay_sends_a_window_back_into_the_running_spool(self):
        token = "t0ken-for-replay"
        tmp = tempfile.mkdtemp(prefix="oceanus-replay-live-")
        config = example_config(tmp, [("log_level: info\n",
                                       f"log_level: info\nadmin: {{token: {token}}}\n")])
        data = os.path.join(tmp, "data")
        os.makedirs(os.path.join(data, "deadletter"))
        path = os.path.join(data, "deadletter", "samplesite.jsonl")
        early, inside, late = (dead_records(p, 5) for p in ("early", "inside", "late"))
        with open(path, "w") as f:
            for at, records in (("2026-11-25 09:00:00.000000", early),
                                ("2026-11-25 10:30:00.000000", inside + ["{not json"]),
                                ("2026-11-25 12:00:00.000000", late)):
                for r in records:
                    f.write(json.dumps({"at": at, "reason": "no such column", "record": r}) + "\n")
        o = Oceanus(config=config, data_dir=data, admin_port=free_port()).start()
        try:
            micros = lambda text: int(datetime.datetime.fromisoformat(text + "+00:00").timestamp() * 1e6)
            body = json.dumps({"site": "samplesite", "since": micros("2026-11-25 10:00:00"),
                               "until": micros("2026-11-25 11:00:00")})
            conn = http.client.HTTPConnection("127.0.0.1", o.admin_port, timeout=30)
            conn.request("POST", "/api/replay", body=body,
                         headers={"Content-Type": "application/json",
                                  "Authorization": "Bearer " + token})
            resp = conn.getresponse()
            answer = json.loads(resp.read())
            conn.close()
            self.assertEqual(resp.status, 200, answer)
            self.assertEqual(answer["replayed"], 6, answer)
            rows = o.wait_rows("samplesite", 5, "uid LIKE 'inside%'")
            self.assertEqual(len(rows), 5)
            self.assertEqual(o.rows("samplesite", "uid NOT LIKE 'inside%'"), [])

            def left():
                with open(path) as f:
                    return [json.loads(line) for line in f]
            # The unreadable record goes back to the dead-letter, after the window left it;
            # the entries outside the window stay, in their order.
            wait_for(lambda: any(e["record"] == "{not json" for e in left()),
                     what="the unreadable record dead-lettered again")
            uids = [json.loads(e["record"])["uid"] for e in left() if e["record"] != "{not json"]
            self.assertEqual(uids, [json.loads(r)["uid"] for r in early + late])
            [again] = [e for e in left() if e["record"] == "{not json"]
            self.assertNotEqual(again["at"], "2026-11-25 10:30:00.000000")
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())


class DeadRowTest(unittest.TestCase):
    def test_a_row_that_cannot_be_loaded_is_kept_with_its_reason(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-rejected-row-")
        config = example_config(tmp)
        data = os.path.join(tmp, "data")
        os.makedirs(os.path.join(data, "deadletter"))
        # A record the loader cannot read, sent back into the queue by a replay.
        with open(os.path.join(data, "deadletter", "samplesite.jsonl"), "w") as f:
            f.write(json.dumps({"at": "2026-11-25 09:00:00.000000", "reason": "test",
                                "record": "{not json"}) + "\n")
        r = subprocess.run([BIN, "replay", "--config", config, "--data-dir", data],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        o = Oceanus(config=config, data_dir=data, admin_port=free_port()).start()
        try:
            wait_for(lambda: rejected(o, "kind=row")["entries"], what="the row in the store")
            [entry] = rejected(o, "kind=row")["entries"]
            self.assertEqual((entry["site"], entry["reason"], entry["payload"]),
                             ("samplesite", "unreadable", "{not json"))
            self.assertTrue(entry["detail"])
            m = scrape(o)
            self.assertEqual(value(m, "oceanus_events_dead_lettered_total", site="samplesite"), 1)
            self.assertEqual(value(m, "oceanus_rejected_stored_total", site="samplesite", kind="row",
                                   reason="unreadable"), 1)
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())


if __name__ == "__main__":
    unittest.main()

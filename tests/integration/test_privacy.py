"""Privacy at the collector, end to end (docs/PRIVACY.md): oceanus run on the example config
with a privacy block on samplesite; what reaches the SQLite warehouse, what /metrics counts,
and what `oceanus check` refuses."""
import base64
import json
import os
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import (BIN, CHROME_WINDOWS, REDIS_EXAMPLE, Oceanus, Redis, example_config, free_port,
                     wait_for)
from test_operations import scrape, value

PRIVACY = ("    tables: daily              # samplesite_YYYYMMDD (date in time_zone)\n",
           "    tables: daily\n"
           "    privacy: {ip: truncate, user_agent: device_only, bots: drop,\n"
           "              bot_patterns: ['(?i)uptime-?kuma'],\n"
           "              consent: {param: consent, without: reduce}, without_consent: [uid]}\n")
VISITOR = ("      - {name: vie, max_length: 16, description: \"viewport WxH\"}\n",
           "      - {name: vie, max_length: 16, description: \"viewport WxH\"}\n"
           "      - {name: vid, from: visitor_hash}\n")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


class PrivacyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-privacy-")
        self.config = example_config(self.tmp, [PRIVACY, VISITOR])
        self.o = Oceanus(config=self.config, admin_port=free_port()).start()

    def tearDown(self):
        self.assertEqual(self.o.stop(), 0, self.o.read_log())

    def beacon(self, uid, ua=CHROME_WINDOWS, xff="203.0.113.77", **extra):
        params = dict(oid="2", sid="ab", evt="pageview", url="https://example.jp/", uid=uid, **extra)
        status, _, _ = self.o.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params),
                                      headers={"User-Agent": ua, "X-Forwarded-For": xff})
        self.assertEqual(status, 200)

    def test_what_the_warehouse_holds_is_what_the_privacy_block_keeps(self):
        self.beacon("m-consented", consent="1")
        self.beacon("m-declined")
        self.beacon("m-bot", ua=GOOGLEBOT, consent="1")
        self.beacon("m-kuma", ua="Uptime-Kuma/1.23.0", consent="1")
        self.beacon("m-v6", xff="2001:db8:1234:5678::9", consent="yes")
        rows = self.o.wait_rows("samplesite", 3)
        wait_for(lambda: value(scrape(self.o), "oceanus_events_queued_total", site="samplesite") == 3,
                 what="three events queued")
        rows = self.o.rows("samplesite")
        self.assertEqual(len(rows), 3, rows)
        by_uid = {r["uid"]: r for r in rows}
        self.assertEqual(sorted(by_uid, key=str), sorted([None, "m-consented", "m-v6"], key=str))
        self.assertEqual(by_uid["m-consented"]["rad"], "203.0.113.0")
        self.assertEqual(by_uid["m-v6"]["rad"], "2001:db8:1234::")
        declined = by_uid[None]  # uid removed without consent, address truncated as well
        self.assertEqual(declined["rad"], "203.0.113.0")
        for r in rows:
            self.assertIsNone(r["ua"])
            self.assertEqual(r["dev"], "pc")
            self.assertEqual(len(r["vid"]), 32)
        # The same browser and network, the same day: one visitor id.
        self.assertEqual(by_uid["m-consented"]["vid"], declined["vid"])
        self.assertNotEqual(by_uid["m-consented"]["vid"], by_uid["m-v6"]["vid"])
        m = scrape(self.o)
        self.assertEqual(value(m, "oceanus_events_withheld_total", site="samplesite", reason="bot"), 2)
        self.assertEqual(value(m, "oceanus_events_received_total", site="samplesite"), 5)
        with open(self.o.db_path, "rb") as f:
            stored = f.read()
        self.assertNotIn(b"203.0.113.77", stored)
        self.assertNotIn(b"m-declined", stored)
        self.assertNotIn(b"Chrome/120", stored)


class SegmentPrivacyTest(unittest.TestCase):
    """A segment message carries the address and User-Agent in its context too: under
    privacy.ip truncate and user_agent device_only the stored context has neither."""

    def test_the_context_column_loses_the_address_and_user_agent(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-privacy-segment-")
        keys = '    write_keys: ["${OCEANUS_SEGMENT_WRITE_KEY:-}"]\n'
        config = example_config(tmp, [(keys, keys + "    privacy: {ip: truncate, user_agent: device_only}\n")])
        o = Oceanus(config=config, admin_port=free_port(), env={"OCEANUS_SEGMENT_WRITE_KEY": "k"}).start()
        try:
            context = {"ip": "198.51.100.23", "userAgent": CHROME_WINDOWS,
                       "userAgentData": {"platform": "Windows", "mobile": False},
                       "library": {"name": "analytics-node", "version": "2.1.0"}}
            batch = {"context": context, "batch": [
                {"type": "track", "event": "A", "userId": "u-batch-context", "messageId": "m1"},
                {"type": "track", "event": "B", "userId": "u-own-context", "messageId": "m2",
                 "context": {"ip": "198.51.100.24", "userAgent": CHROME_WINDOWS, "locale": "ja-JP"}}]}
            status, _, _ = o.request("POST", "/v1/batch", body=json.dumps(batch).encode(), headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(b"k:").decode()})
            self.assertEqual(status, 200)
            rows = {r["user_id"]: r for r in o.wait_rows("sampleapp", 2)}
            first = json.loads(rows["u-batch-context"]["context"])
            self.assertEqual(first, {"library": {"name": "analytics-node", "version": "2.1.0"}})
            second = json.loads(rows["u-own-context"]["context"])
            self.assertEqual(second, {"library": {"name": "analytics-node", "version": "2.1.0"},
                                      "locale": "ja-JP"})
            for r in rows.values():
                self.assertIsNone(r["ua"])
                self.assertEqual(r["dev"], "pc")
                self.assertNotIn(r["rad"], ("198.51.100.23", "198.51.100.24", "127.0.0.1"), r)
            with open(o.db_path, "rb") as f:
                stored = f.read()
            self.assertNotIn(b"198.51.100.2", stored)
            self.assertNotIn(b"Chrome/120", stored)
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())


class SeparateBotsTest(unittest.TestCase):
    """privacy.bots separate: a bot's page views go to samplesite_bots_YYYYMMDD, the people's
    stay in samplesite_YYYYMMDD, and an erasure reaches the bots table too."""

    def test_bots_go_to_their_own_table(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-privacy-bots-")
        config = example_config(tmp, [(PRIVACY[0], "    tables: daily\n    privacy: {bots: separate}\n")])
        o = Oceanus(config=config, admin_port=free_port()).start()
        try:
            for uid, ua in (("person", CHROME_WINDOWS), ("crawler", GOOGLEBOT)):
                params = dict(oid="2", sid="ab", evt="pageview", url="https://example.jp/", uid=uid)
                status, _, _ = o.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params),
                                         headers={"User-Agent": ua})
                self.assertEqual(status, 200)
            bots = o.wait_rows("samplesite_bots", 1)
            self.assertEqual([(r["uid"], r["dev"]) for r in bots], [("crawler", "bot")])
            people = o.wait_rows("samplesite", 1)
            self.assertEqual([(r["uid"], r["dev"]) for r in people], [("person", "pc")])
            out = subprocess.run([BIN, "erase", "--config", config, "--data-dir", o.data_dir,
                                  "--field", "uid", "--value", "crawler"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("erased 1 row(s)", out.stdout)
            self.assertEqual(o.rows("samplesite_bots"), [])
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())


class SharedSaltTest(unittest.TestCase):
    """With the redis queue, two collectors give one visitor the same visitor id (the day's
    salt is shared through Redis, and expires there after its day)."""

    def test_two_collectors_agree_on_the_visitor_id(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-privacy-salt-")
        redis = Redis().start()
        db = os.path.join(tmp, "warehouse.db")
        env = {"OCEANUS_REDIS": redis.address, "OCEANUS_SQLITE_PATH": db}
        config = example_config(tmp, [VISITOR], base=REDIS_EXAMPLE)
        procs = []
        try:
            for role in ("collect", "collect", "load"):
                procs.append(Oceanus(config=config, role=role, env=env, db_path=db).start())
            for i, c in enumerate(procs[:2]):
                params = dict(oid="2", sid="ab", evt="pageview", url="https://example.jp/", uid=f"via{i}")
                status, _, _ = c.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params),
                                         headers={"User-Agent": CHROME_WINDOWS, "X-Forwarded-For": "203.0.113.9"})
                self.assertEqual(status, 200)
            rows = procs[2].wait_rows("samplesite", 2)
            vids = {r["uid"]: r["vid"] for r in rows}
            self.assertEqual(len(vids["via0"]), 32)
            self.assertEqual(vids["via0"], vids["via1"])
            keys = redis.raw("KEYS", "salt:*").split()
            self.assertEqual(len(keys), 2, keys)  # today's and tomorrow's
            self.assertGreater(int(redis.raw("TTL", keys[0])), 0)
            for p in procs:
                self.assertEqual(p.stop(), 0, p.read_log())
        finally:
            for p in procs:
                if p.proc and p.proc.poll() is None:
                    p.kill9()
            redis.stop()


class PrivacyCheckTest(unittest.TestCase):
    def test_check_refuses_a_hash_without_its_key_and_names_the_line(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-privacy-check-")
        config = example_config(tmp, [(PRIVACY[0], "    tables: daily\n    privacy: {ip: hash}\n")])
        env = {k: v for k, v in os.environ.items() if k != "OCEANUS_IP_HASH_KEY"}
        out = subprocess.run([BIN, "check", "--config", config], capture_output=True, text=True, env=env)
        self.assertNotEqual(out.returncode, 0)
        self.assertRegex(out.stderr + out.stdout,
                         r"oceanus\.yaml:\d+:\d+: privacy\.ip hash needs a secret of at least 16 "
                         r"characters in the environment variable OCEANUS_IP_HASH_KEY")
        env["OCEANUS_IP_HASH_KEY"] = "a-secret-of-sufficient-length"
        out = subprocess.run([BIN, "check", "--config", config], capture_output=True, text=True, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("a-secret-of-sufficient-length", out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()

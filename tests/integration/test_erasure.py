"""Erasure on request (docs/PRIVACY.md): `oceanus erase` against a running `oceanus run` on
the embedded default. The person's rows leave every table of every site with the field, their
dead-letter records go, their new events are withheld (and counted), the others stay, and
neither the audit file nor the SQLite file keeps the value."""
import http.client
import json
import os
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import BIN, REDIS_EXAMPLE, Oceanus, Redis, example_config, free_port, wait_for
from test_operations import scrape, value

PERSON = "erase-me-3f9c"
OTHER = "keep-me-77a1"


class ErasureTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-erasure-")
        self.config = example_config(self.tmp)
        self.o = Oceanus(config=self.config, admin_port=free_port()).start()
        self.data = self.o.data_dir

    def tearDown(self):
        self.assertEqual(self.o.stop(), 0, self.o.read_log())

    def beacon(self, uid):
        params = dict(oid="2", sid="ab", evt="pageview", url="https://example.jp/", uid=uid)
        status, _, _ = self.o.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params))
        self.assertEqual(status, 200)

    def form(self, uid):
        status, _, _ = self.o.request("POST", "/pirate/sampleform",
                                      body=f"sid=ab&uid={uid}&email=a%40b.jp",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertLess(status, 400)

    def erase(self, *args):
        proc = subprocess.run([BIN, "erase", "--config", self.config, "--data-dir", self.data, *args],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout + proc.stderr

    def uids(self, site):
        return sorted(r["uid"] for r in self.o.rows(site))

    def dead_letter(self, *records):
        os.makedirs(os.path.join(self.data, "deadletter"), exist_ok=True)
        with open(os.path.join(self.data, "deadletter", "samplesite.jsonl"), "a") as f:
            for r in records:
                f.write(json.dumps({"at": "2026-12-03 01:00:00.000000", "reason": "no such column",
                                    "record": json.dumps(r)}) + "\n")

    def test_erase_removes_the_person_everywhere_and_withholds_their_new_events(self):
        for uid in (PERSON, OTHER, PERSON, OTHER, PERSON):
            self.beacon(uid)
        self.form(PERSON)
        self.form(OTHER)
        self.o.wait_rows("samplesite", 5)
        self.o.wait_rows("sampleform", 2)
        self.dead_letter({"eid": "d1", "uid": PERSON}, {"eid": "d2", "uid": OTHER})
        # Refused requests of both (no sid): kept in the rejected-events store with their line.
        for uid in (PERSON, OTHER):
            status, _, _ = self.o.request("GET", f"/swallow/samplesite?oid=2&evt=pageview&uid={uid}")
            self.assertEqual(status, 400)
        wait_for(lambda: value(scrape(self.o), "oceanus_rejected_stored_total", site="samplesite",
                               kind="request", reason="invalid") == 2, what="two refusals kept")

        code, out = self.erase("--field", "uid", "--value", PERSON, "--dry-run")
        self.assertEqual(code, 0, out)
        self.assertIn("would erase 4 row(s)", out)
        self.assertIn("and 1 dead-letter record(s) by uid", out)
        self.assertEqual(self.uids("samplesite").count(PERSON), 3, "a dry run deletes nothing")
        self.assertFalse(os.path.exists(os.path.join(self.data, "suppressed")))

        code, out = self.erase("--field", "uid", "--value", PERSON)
        self.assertEqual(code, 0, out)
        self.assertIn("erased 4 row(s)", out)
        self.assertEqual(self.uids("samplesite"), [OTHER, OTHER])
        self.assertEqual(self.uids("sampleform"), [OTHER])
        with open(os.path.join(self.data, "deadletter", "samplesite.jsonl")) as f:
            dead = f.read()
        self.assertNotIn(PERSON, dead)
        self.assertIn(OTHER, dead)
        self.assertIn("1 rejected-event entr(ies) showing it", out)
        _, body = self.o.admin("/api/rejected?site=samplesite")
        kept = [e["payload"] for e in json.loads(body)["entries"]]
        self.assertEqual(len(kept), 1)
        self.assertIn(f"uid={OTHER}", kept[0])

        # New events of the person are answered as usual, not stored, and counted.
        self.beacon(PERSON)
        self.beacon(OTHER)  # stored after it: once this row is there, the other was decided
        self.o.wait_rows("samplesite", 3)
        self.assertEqual(self.uids("samplesite"), [OTHER, OTHER, OTHER])
        m = scrape(self.o)
        self.assertEqual(value(m, "oceanus_events_withheld_total", site="samplesite",
                               reason="suppressed"), 1)

        with open(os.path.join(self.data, "erasures.jsonl")) as f:
            audit = [json.loads(line) for line in f]
        self.assertEqual([a["dry_run"] for a in audit], [True, False])
        real = audit[1]
        self.assertEqual(real["field"], "uid")
        self.assertTrue(real["suppressed"])
        self.assertEqual(real["dead_letter"]["samplesite"], 1)
        self.assertEqual(real["rejected"], 1)
        self.assertEqual(sum(real["tables"].values()), 4)
        self.assertEqual(real["tables"]["sampleform"], 1)
        for name in ("erasures.jsonl", "suppressed", "oceanus.db", "oceanus.db-wal", "rejected.db",
                     "rejected.db-wal"):
            path = os.path.join(self.data, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(PERSON.encode(), f.read(), name)

    def test_a_field_no_site_has_or_an_unknown_site_is_refused(self):
        code, out = self.erase("--field", "nope", "--value", "x")
        self.assertEqual(code, 2, out)
        self.assertIn("no site has a field 'nope'", out)
        code, out = self.erase("--field", "uid", "--value", "x", "--site", "nosuch")
        self.assertEqual(code, 2, out)
        self.assertIn("no site 'nosuch'", out)
        code, out = self.erase("--field", "uid", "--value", "")
        self.assertEqual(code, 2, out)
        # Without admin.token the admin listener does not erase, even on loopback.
        conn = http.client.HTTPConnection("127.0.0.1", self.o.admin_port, timeout=15)
        conn.request("POST", "/api/erase", body='{"field":"uid","value":"x"}',
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 403)
        self.assertIn(b"set admin.token", resp.read())
        conn.close()
        self.assertFalse(os.path.exists(os.path.join(self.data, "erasures.jsonl")))


class AdminEraseTest(unittest.TestCase):
    """POST /api/erase, for a back office: only with the admin token, only POST with JSON."""

    TOKEN = "t0ken-for-erasure"

    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-erasure-admin-")
        config = example_config(tmp, [("log_level: info\n",
                                       f"log_level: info\nadmin: {{token: {self.TOKEN}}}\n")])
        self.o = Oceanus(config=config, admin_port=free_port()).start()

    def tearDown(self):
        self.assertEqual(self.o.stop(), 0, self.o.read_log())

    def call(self, method, body, token=TOKEN, content_type="application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", self.o.admin_port, timeout=30)
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = "Bearer " + token
        try:
            conn.request(method, "/api/erase", body=json.dumps(body) if isinstance(body, dict) else body,
                         headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def test_the_erase_call_deletes_and_answers_the_audit_line(self):
        for uid in (PERSON, OTHER, PERSON):
            params = dict(oid="2", sid="ab", evt="pageview", url="https://example.jp/", uid=uid)
            self.assertEqual(self.o.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params))[0], 200)
        self.o.wait_rows("samplesite", 3)
        body = {"field": "uid", "value": PERSON, "site": "samplesite"}
        self.assertEqual(self.call("POST", body, token=None)[0], 401)
        self.assertEqual(self.call("POST", body, token="wrong")[0], 401)
        self.assertEqual(self.call("GET", "")[0], 405)
        self.assertEqual(self.call("POST", "field=uid", content_type="application/x-www-form-urlencoded")[0], 415)
        status, answer = self.call("POST", {"field": "uid", "value": PERSON, "sitee": "x"})
        self.assertEqual(status, 400, answer)
        self.assertIn("unknown member 'sitee'", answer)
        self.assertEqual(len(self.o.rows("samplesite")), 3, "nothing erased by refused calls")

        status, answer = self.call("POST", dict(body, dry_run=True))
        self.assertEqual(status, 200, answer)
        self.assertEqual(sum(json.loads(answer)["tables"].values()), 2)
        self.assertEqual(len(self.o.rows("samplesite")), 3)
        status, answer = self.call("POST", body)
        self.assertEqual(status, 200, answer)
        line = json.loads(answer)
        self.assertEqual((line["sites"], line["suppressed"], line["dry_run"]), (["samplesite"], True, False))
        self.assertEqual(sum(line["tables"].values()), 2)
        self.assertNotIn(PERSON, answer)
        self.assertEqual([r["uid"] for r in self.o.rows("samplesite")], [OTHER])


class RedisQueueErasureTest(unittest.TestCase):
    """With the redis queue: the suppression list is in Redis, so a collector and a loader with
    data dirs of their own withhold the person; events queued before the erasure and not yet
    loaded are dropped by the loader (counted in oceanus_events_suppressed_total), and the
    dead-letter stream loses the person's entries."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-erasure-redis-")
        self.redis = Redis().start()
        self.db = os.path.join(self.tmp, "warehouse.db")
        self.data = os.path.join(self.tmp, "data")
        self.env = {"OCEANUS_REDIS": self.redis.address, "OCEANUS_SQLITE_PATH": self.db}
        self.config = example_config(self.tmp, base=REDIS_EXAMPLE)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                p.kill9()
        self.redis.stop()

    def start(self, role, **kw):
        p = Oceanus(config=self.config, role=role, env=self.env, db_path=self.db, **kw).start()
        self.procs.append(p)
        return p

    def test_queued_events_of_an_erased_person_are_not_loaded(self):
        collector = self.start("collect", admin_port=free_port())
        for uid in (PERSON, OTHER, PERSON):
            params = dict(oid="2", sid="ab", evt="pageview", url="https://example.jp/", uid=uid)
            status, _, _ = collector.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params))
            self.assertEqual(status, 200)
        self.assertEqual(int(self.redis.raw("XLEN", "samplesite")), 3)
        for uid in (PERSON, OTHER):
            self.redis.raw("XADD", "samplesite:dead", "*", "d", json.dumps({"eid": "d-" + uid, "uid": uid}),
                           "reason", "refused")
            status, _, _ = collector.request("GET", f"/swallow/samplesite?oid=2&evt=pageview&uid={uid}")
            self.assertEqual(status, 400)
        wait_for(lambda: int(self.redis.raw("XLEN", "samplesite:rejected")) == 2, what="two refusals kept")

        proc = subprocess.run([BIN, "erase", "--config", self.config, "--data-dir", self.data,
                               "--field", "uid", "--value", PERSON],
                              capture_output=True, text=True, timeout=60, env=dict(os.environ, **self.env))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("erased 0 row(s)", proc.stdout)
        self.assertIn("and 1 dead-letter record(s)", proc.stdout)
        dead = self.redis.raw("XRANGE", "samplesite:dead", "-", "+")
        self.assertNotIn(PERSON, dead)
        self.assertIn(OTHER, dead)
        self.assertIn("1 rejected-event entr(ies) showing it", proc.stdout)
        _, body = collector.admin("/api/rejected?site=samplesite")
        kept = [e["payload"] for e in json.loads(body)["entries"]]
        self.assertEqual(len(kept), 1)
        self.assertIn(f"uid={OTHER}", kept[0])
        # The list is in Redis, where every process of the deployment reads it, hashed.
        self.assertFalse(os.path.exists(os.path.join(self.data, "suppressed")))
        listed = self.redis.raw("LRANGE", "suppressed", "0", "-1")
        self.assertIn("samplesite uid ", listed)
        self.assertNotIn(PERSON, listed)

        # A loader with a data dir of its own, and the running collector, both withhold.
        loader = self.start("load", admin_port=free_port())
        loader.wait_rows("samplesite", 1)
        wait_for(lambda: value(scrape(loader), "oceanus_events_suppressed_total", site="samplesite") == 2,
                 what="two queued events suppressed")
        self.assertEqual([r["uid"] for r in loader.rows("samplesite")], [OTHER])
        for uid in (PERSON, OTHER):
            params = dict(oid="2", sid="ab", evt="pageview", url="https://example.jp/", uid=uid)
            status, _, _ = collector.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params))
            self.assertEqual(status, 200)
        loader.wait_rows("samplesite", 2)
        self.assertEqual([r["uid"] for r in loader.rows("samplesite")], [OTHER, OTHER])
        self.assertEqual(value(scrape(collector), "oceanus_events_withheld_total", site="samplesite",
                               reason="suppressed"), 1)
        self.assertEqual(loader.stop(), 0, loader.read_log())
        self.assertEqual(collector.stop(), 0, collector.read_log())


if __name__ == "__main__":
    unittest.main()

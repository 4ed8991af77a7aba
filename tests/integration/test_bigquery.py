"""BigQuery end to end: collectors → Redis → `oceanus load` → the local fake of BigQuery
(real RS256 tokens; tables over REST; rows through the Storage Write API over gRPC, and
through insertAll in InsertAllTest), with injected failures."""
import collections
import os
import re
import subprocess
import tempfile
import unittest

from harness import BIGQUERY_EXAMPLE, BIN, FakeGoogle, Oceanus, Redis, erase, example_config, send_beacons, wait_for


class BigQueryTest(unittest.TestCase):
    API = "storage_write"
    # How the dead-letter names BigQuery's refusal of a row without its REQUIRED dt.
    MISSING_DT = "BigQuery: "

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-bq-it-")
        self.redis = Redis().start()
        self.google = FakeGoogle()
        self.env = dict(self.google.env(), OCEANUS_REDIS=self.redis.address, OCEANUS_BIGQUERY_API=self.API)
        self.config = example_config(self.tmp, [("max_wait: 1s", "max_wait: 100ms"),
                                                ("claim_idle: 30s", "claim_idle: 2s")], base=BIGQUERY_EXAMPLE)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                p.kill9()
        self.google.stop()
        self.redis.stop()

    def start(self, role):
        p = Oceanus(config=self.config, role=role, env=self.env).start()
        self.procs.append(p)
        return p

    def test_events_reach_bigquery_exactly_once_through_outages_and_rate_limits(self):
        collector = self.start("collect")
        loader = self.start("load")
        self.google.inject(3, status=503)  # the first calls fail: tables and inserts retry
        acked = send_beacons(collector.port, [f"b{i}" for i in range(300)])
        self.assertEqual(len(acked), 300)
        wait_for(lambda: len(self.google.rows("samplesite")) >= 300, timeout=60, what="300 rows in BigQuery")
        self.google.inject(2, status=429, retry_after=1)
        self.google.inject_storage(fail_next=2, code="RESOURCE_EXHAUSTED")
        acked += send_beacons(collector.port, [f"c{i}" for i in range(100)])
        wait_for(lambda: len(self.google.rows("samplesite")) >= 400, timeout=60, what="400 rows in BigQuery")
        # An outage of 8 s while events keep coming: they wait in the queue, then drain.
        self.google.outage(8)
        acked += send_beacons(collector.port, [f"o{i}" for i in range(200)])
        wait_for(lambda: len(self.google.rows("samplesite")) >= 600, timeout=90, what="600 rows after the outage")
        # A form post: its single, DAY-partitioned table is created on demand.
        status, _, _ = collector.request("POST", "/pirate/sampleform", body="sid=ab&email=a%40b.jp",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        wait_for(lambda: len(self.google.rows("sampleform")) == 1, what="the form row")
        self.assertEqual(loader.stop(), 0, loader.read_log())
        self.assertEqual(collector.stop(), 0)
        uids = collections.Counter(r.get("uid") for r in self.google.rows("samplesite"))
        self.assertEqual(sorted(uids), sorted(acked))
        dups = [u for u, n in uids.items() if n > 1]
        self.assertEqual(max(uids.values()), 1, [r for r in self.google.rows("samplesite") if r.get("uid") in dups[:2]] + [self.google.storage_write(), loader.read_log()[-3000:]])
        tables = self.google.tables()
        daily = [n for n in tables if re.fullmatch(r"samplesite_\d{8}", n)]
        self.assertTrue(daily)
        schema = tables[daily[0]]["schema"]
        self.assertEqual([f["name"] for f in schema][:4], ["dt", "eid", "oid", "sid"])
        self.assertEqual(schema[0], {"name": "dt", "type": "TIMESTAMP", "mode": "REQUIRED",
                                     "description": "received at, UTC"})
        self.assertIn("retrying", loader.read_log())
        self.assertGreaterEqual(self.google.stats()["issued"], 1)
        self.assertEqual(tables["sampleform"]["timePartitioning"], {"type": "DAY", "field": "dt"})
        # Erasure: a DML DELETE with the value as a query parameter; the others stay.
        code, out = erase(self.config, loader.data_dir, "uid", acked[0], self.env)
        self.assertEqual(code, 0, out)
        self.assertIn("erased 1 row(s)", out)
        self.assertEqual(sorted(r.get("uid") for r in self.google.rows("samplesite")), sorted(acked[1:]))

    def test_a_row_bigquery_rejects_goes_to_the_dead_letter_with_its_reason(self):
        collector = self.start("collect")
        loader = self.start("load")
        # A record without dt (REQUIRED in the table): BigQuery calls it invalid.
        self.redis.cli("XADD", "samplesite", "*", "d", '{"eid":"no-dt","oid":"2","sid":"ab","evt":"x","url":"u"}')
        acked = send_beacons(collector.port, [f"d{i}" for i in range(20)])
        wait_for(lambda: self.redis.raw("XLEN", "samplesite:dead").strip() == "1", timeout=60,
                 what="the rejected row in the dead-letter stream")
        dead = self.redis.raw("XRANGE", "samplesite:dead", "-", "+")
        self.assertIn(self.MISSING_DT, dead)
        self.assertIn("dt", dead[dead.index(self.MISSING_DT):])
        self.assertIn('"eid":"no-dt"', dead)
        wait_for(lambda: len(self.google.rows("samplesite")) >= 20, what="the valid rows")
        self.assertEqual(sorted(r["uid"] for r in self.google.rows("samplesite")), sorted(acked))
        self.assertEqual(loader.stop(), 0)
        self.assertEqual(collector.stop(), 0)


class InsertAllTest(BigQueryTest):
    """The same through tabledata.insertAll (api: insert_all)."""
    API = "insert_all"
    MISSING_DT = "BigQuery invalid at dt"


class BigQueryProjectTest(unittest.TestCase):
    """Without OCEANUS_BIGQUERY_PROJECT the project is found as Google's libraries find it: the
    key's project_id, else the metadata server's (issue 12 item 16)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-bq-project-it-")
        self.google = FakeGoogle()
        self.env = dict(self.google.env())
        del self.env["OCEANUS_BIGQUERY_PROJECT"]
        os.environ.pop("OCEANUS_BIGQUERY_PROJECT", None)

    def tearDown(self):
        self.google.stop()

    def check(self, config, env):
        p = subprocess.run([BIN, "check", "--config", config], capture_output=True, text=True,
                           env=dict(os.environ, **env), timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_the_project_comes_from_the_key_file(self):
        code, out, err = self.check(BIGQUERY_EXAMPLE, self.env)
        self.assertEqual(code, 0, err)
        self.assertIn(f"sink: bigquery project oceanus-test (from the project_id of the key file "
                      f"{self.google.key_file}), dataset events", out)

    def test_the_project_comes_from_the_metadata_server_without_a_key(self):
        config = example_config(self.tmp, [("    max_rows: 500", "    max_rows: 500\n    metadata_endpoint: "
                                            + self.google.base + "/metadata/token")], base=BIGQUERY_EXAMPLE)
        env = dict(self.env, GOOGLE_APPLICATION_CREDENTIALS="")
        code, out, err = self.check(config, env)
        self.assertEqual(code, 0, err)
        self.assertIn("sink: bigquery project oceanus-test (from the metadata server (" + self.google.base
                      + "/computeMetadata/v1/project/project-id)), dataset events", out)

    def test_events_load_into_the_keys_project(self):
        redis = Redis().start()
        self.addCleanup(redis.stop)
        env = dict(self.env, OCEANUS_REDIS=redis.address)
        config = example_config(self.tmp, [("max_wait: 1s", "max_wait: 100ms")], base=BIGQUERY_EXAMPLE)
        collector = Oceanus(config=config, role="collect", env=env).start()
        loader = Oceanus(config=config, role="load", env=env).start()
        try:
            acked = send_beacons(collector.port, [f"p{i}" for i in range(20)])
            wait_for(lambda: len(self.google.rows("samplesite")) >= 20, timeout=60, what="20 rows in BigQuery")
            self.assertEqual(loader.stop(), 0)
            self.assertEqual(collector.stop(), 0)
        finally:
            for p in (collector, loader):
                if p.proc.poll() is None:
                    p.kill9()
        self.assertEqual(sorted(r["uid"] for r in self.google.rows("samplesite")), sorted(acked))


if __name__ == "__main__":
    unittest.main()

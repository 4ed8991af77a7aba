"""BigQuery end to end: collectors → Redis → `oceanus load` → the local fake of BigQuery's
REST API (real RS256 tokens, insertAll, tables), with injected failures."""
import collections
import re
import tempfile
import unittest

from harness import BIGQUERY_EXAMPLE, FakeGoogle, Oceanus, Redis, example_config, send_beacons, wait_for


class BigQueryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-bq-it-")
        self.redis = Redis().start()
        self.google = FakeGoogle()
        self.env = dict(self.google.env(), OCEANUS_REDIS=self.redis.address)
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
        self.assertEqual(max(uids.values()), 1)
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

    def test_a_row_bigquery_rejects_goes_to_the_dead_letter_with_its_reason(self):
        collector = self.start("collect")
        loader = self.start("load")
        # A record without dt (REQUIRED in the table): BigQuery calls it invalid.
        self.redis.cli("XADD", "samplesite", "*", "d", '{"eid":"no-dt","oid":"2","sid":"ab","evt":"x","url":"u"}')
        acked = send_beacons(collector.port, [f"d{i}" for i in range(20)])
        wait_for(lambda: self.redis.raw("XLEN", "samplesite:dead").strip() == "1", timeout=60,
                 what="the rejected row in the dead-letter stream")
        dead = self.redis.raw("XRANGE", "samplesite:dead", "-", "+")
        self.assertIn("BigQuery invalid at dt", dead)
        self.assertIn('"eid":"no-dt"', dead)
        wait_for(lambda: len(self.google.rows("samplesite")) >= 20, what="the valid rows")
        self.assertEqual(sorted(r["uid"] for r in self.google.rows("samplesite")), sorted(acked))
        self.assertEqual(loader.stop(), 0)
        self.assertEqual(collector.stop(), 0)


if __name__ == "__main__":
    unittest.main()

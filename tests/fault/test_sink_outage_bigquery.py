"""Scenario 5b: BigQuery is down for five minutes while ingest continues.

Redis topology (`collect` + `load`) with the BigQuery sink (examples/bigquery.yaml: the Storage
Write API, exactly once) against tests/fakes/fake_google.py, which answers every REST call 503
and every Storage Write call UNAVAILABLE for OCEANUS_FAULT_OUTAGE_SECONDS (default 300, the
issue's five minutes). The loader keeps its
batch and retries it with exponential backoff (200 ms doubling to 30 s, with jitter) while the
stream in Redis grows; the collector is not affected. When BigQuery answers again the loader
catches up.

Every event has its slot (stream, offset) in the ledger before its append is sent, and is
appended there again after the outage: an offset is stored once (docs/bigquery.md). The
fake's Storage Write API does not de-duplicate by eid, so a duplicate would show.

Guarantee: no 503 to clients, nothing stored during the outage, retries back off, and
afterwards every event answered 2xx is in BigQuery exactly once.
"""
import os
import re
import time
import unittest

from scenario import (BIGQUERY_EXAMPLE, FakeGoogle, FaultScenario, Redis, Sender, bigquery_rows,
                      wait_all_stored, wait_for)

OUTAGE_SECONDS = float(os.environ.get("OCEANUS_FAULT_OUTAGE_SECONDS", "300"))


class BigQuerySinkOutageTest(FaultScenario):
    def test_bigquery_503_for_the_outage_loader_backs_off_and_catches_up(self):
        redis = self.fixture(Redis().start())
        google = self.fixture(FakeGoogle())
        env = dict(google.env(), OCEANUS_REDIS=redis.address)
        cfg = self.config([("max_wait: 1s", "max_wait: 100ms"), ("claim_idle: 30s", "claim_idle: 2s")],
                          base=BIGQUERY_EXAMPLE)
        c = self.start("collect", cfg, env, data_dir=os.path.join(self.tmp, "collector"))
        loader = self.start("load", cfg, env, data_dir=os.path.join(self.tmp, "loader"))
        rows = lambda: bigquery_rows(google)  # noqa: E731
        self.sender = Sender(c.port, "bq").start()
        self.sender.wait_acked(1000, "before")
        wait_for(lambda: len(rows()) >= 500, timeout=60, what="rows in BigQuery before the outage")

        self.sender.phase = "during"
        google.outage(OUTAGE_SECONDS)
        began = time.monotonic()
        log_at_outage = len(loader.read_log())
        rows_at_outage = len(rows())
        while time.monotonic() - began < OUTAGE_SECONDS - 1:
            for p in (c, loader):
                self.assertIsNone(p.proc.poll(), f"{p.role} exited during the outage:\n{p.read_log()[-3000:]}")
            time.sleep(1)  # holding the outage for its duration (the fake ends it by itself)
        rows_at_end = len(rows())
        wait_for(lambda: time.monotonic() - began >= OUTAGE_SECONDS, timeout=10, what="the end of the outage")
        ended_at = time.monotonic()
        outage_log = loader.read_log()[log_at_outage:]
        backoffs = [int(ms) for ms in re.findall(r"not stored \(.*?\); retrying in (\d+) ms", outage_log)]

        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), rows, timeout=300, interval=5)
        caught_up_s = round(time.monotonic() - ended_at, 1) if settle is not None else None
        codes = [c.stop(), loader.stop(timeout=120)]
        during = self.sender.summary()["phases"]["during"]
        self.finish(f"sink_bigquery_503_{OUTAGE_SECONDS:g}s", self.sender, rows(), settle,
                    outage_s=OUTAGE_SECONDS, rows_written_during_outage=rows_at_end - rows_at_outage,
                    loader_retries=len(backoffs), max_backoff_ms=max(backoffs, default=0),
                    caught_up_after_outage_s=caught_up_s)
        self.assertEqual(codes, [0, 0], self.logs())
        self.assertEqual(during["answered_503"] + during["other"], 0, f"ingest suffered from the sink outage: {during}")
        self.assertEqual(rows_at_end, rows_at_outage, "rows were stored during the outage")
        self.assertGreater(len(backoffs), 0, "the loader never reported a retry")
        self.assertLess(len(backoffs), OUTAGE_SECONDS / 5 + 10, f"too many retries: {backoffs}")
        if OUTAGE_SECONDS >= 120:
            self.assertGreaterEqual(max(backoffs), 15000, f"the backoff did not grow: {backoffs}")


if __name__ == "__main__":
    unittest.main()

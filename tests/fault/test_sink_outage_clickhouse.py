"""Scenario 5c: the ClickHouse server is stopped for 60 s while events arrive, then started.

Redis topology (`collect` + `load`) with the clickhouse sink against a real clickhouse-server
(tests/integration/clickhouse_server.py), stopped with SIGTERM for
OCEANUS_FAULT_CH_OUTAGE_SECONDS (default 60) and started again on the same data and port.
Meanwhile every INSERT fails to connect (kUnavailable): the loader keeps its batch and retries
with exponential backoff while the stream in Redis grows; the collector is not affected.

Guarantee: no 503 to clients, every event answered 2xx is stored once (distinct eids and the
de-duplicated row count equal the acknowledged set), nothing in the dead-letter.
"""
import os
import re
import time
import unittest

from clickhouse_fault import ClickHouse, clickhouse_redis_base, clickhouse_rows, raw_row_count
from scenario import FaultScenario, Redis, Sender, wait_all_stored, wait_for

OUTAGE_SECONDS = float(os.environ.get("OCEANUS_FAULT_CH_OUTAGE_SECONDS", "60"))


class ClickHouseSinkOutageTest(FaultScenario):
    def test_clickhouse_stopped_for_the_outage_loader_backs_off_and_catches_up(self):
        redis = self.fixture(Redis().start())
        ch = self.fixture(ClickHouse().start())
        self.addCleanup(ch.cleanup)  # after tearDown has stopped it: its data dir goes too
        env = {"OCEANUS_REDIS": redis.address, "OCEANUS_CLICKHOUSE_URL": ch.url}
        cfg = self.config([("max_wait: 1s", "max_wait: 100ms"), ("claim_idle: 30s", "claim_idle: 2s")],
                          base=clickhouse_redis_base(self.tmp))
        c = self.start("collect", cfg, env, data_dir=os.path.join(self.tmp, "collector"))
        loader = self.start("load", cfg, env, data_dir=os.path.join(self.tmp, "loader"))
        rows = lambda: clickhouse_rows(ch)  # noqa: E731
        self.sender = Sender(c.port, "cho").start()
        self.sender.wait_acked(1000, "before")
        wait_for(lambda: len(rows()) >= 500, timeout=60, what="rows in ClickHouse before the outage")

        self.sender.phase = "during"
        log_at_stop = len(loader.read_log())
        ch.stop()
        stopped_at = time.monotonic()
        while time.monotonic() - stopped_at < OUTAGE_SECONDS:
            self.assertIsNone(loader.proc.poll(), f"the loader exited during the outage:\n{loader.read_log()[-3000:]}")
            time.sleep(1)  # holding the outage for its duration
        ch.start()
        started_at = time.monotonic()
        backoffs = [int(ms) for ms in re.findall(r"not stored \(.*?\); retrying in (\d+) ms",
                                                 loader.read_log()[log_at_stop:])]

        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), rows, timeout=300, interval=1)
        caught_up_s = round(time.monotonic() - started_at, 1) if settle is not None else None
        codes = [c.stop(), loader.stop(timeout=120)]
        dead = int(redis.raw("XLEN", "samplesite:dead").strip())
        stored = rows()
        during = self.sender.summary()["phases"]["during"]
        self.finish(f"sink_clickhouse_stopped_{OUTAGE_SECONDS:g}s", self.sender, stored, settle,
                    outage_s=round(started_at - stopped_at, 1), loader_retries=len(backoffs),
                    max_backoff_ms=max(backoffs, default=0), caught_up_after_start_s=caught_up_s,
                    rows_before_merges=raw_row_count(ch), dead_lettered=dead,
                    distinct_eids=len({e for e, _ in stored}))
        self.assertEqual(codes, [0, 0], self.logs())
        self.assertEqual(during["answered_503"] + during["other"], 0, f"ingest suffered from the outage: {during}")
        self.assertGreater(len(backoffs), 0, "the loader never reported a retry")
        self.assertEqual(dead, 0, "events in the dead-letter")
        self.assertEqual(len({e for e, _ in stored}), len(stored))
        self.assertEqual(len(stored), len(self.sender.acked()))


if __name__ == "__main__":
    unittest.main()

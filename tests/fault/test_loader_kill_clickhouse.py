"""Scenario 2c: kill -9 of the loader mid-batch with the ClickHouse sink, and a restart.

Redis topology (one collector, one loader) writing into a real clickhouse-server
(tests/integration/clickhouse_server.py). 10,000 events are sent; while the loader holds
entries it has read but not acknowledged (its pending list in the group is not empty), it is
killed with SIGKILL and started again. The restarted loader claims the dead consumer's
entries after `claim_idle` (2 s) and writes them; a batch the killed loader had already
INSERTed is INSERTed again, and the ReplacingMergeTree table keeps one row per eid.

Guarantee: every event answered 2xx is stored once — distinct eids and the de-duplicated
(FINAL) row count both equal the acknowledged set — and nothing is in the dead-letter.
"""
import json
import os
import socket
import time
import unittest

from clickhouse_fault import ClickHouse, clickhouse_redis_base, clickhouse_rows, raw_row_count
from scenario import REDIS_FAST, FaultScenario, Redis, Sender, wait_all_stored, wait_for

SMALL_BATCHES = [("batch_rows: 100", "batch_rows: 50"), ("max_wait: 100ms", "max_wait: 50ms")]
EVENTS = int(os.environ.get("OCEANUS_FAULT_EVENTS", "10000"))


class ClickHouseLoaderKillTest(FaultScenario):
    def test_kill9_loader_mid_batch_restart_stores_every_event_once(self):
        redis = self.fixture(Redis().start())
        ch = self.fixture(ClickHouse().start())
        self.addCleanup(ch.cleanup)  # after tearDown has stopped it: its data dir goes too
        env = {"OCEANUS_REDIS": redis.address, "OCEANUS_CLICKHOUSE_URL": ch.url}
        cfg = self.config(REDIS_FAST + SMALL_BATCHES, base=clickhouse_redis_base(self.tmp))
        c = self.start("collect", cfg, env, data_dir=os.path.join(self.tmp, "collector"))
        loader = self.start("load", cfg, env, data_dir=os.path.join(self.tmp, "loader1"))
        rows = lambda: clickhouse_rows(ch)  # noqa: E731
        self.sender = Sender(c.port, "chk").start()
        self.sender.wait_acked(1000, "before")
        wait_for(lambda: len(rows()) >= 500, timeout=60, what="rows in ClickHouse before the kill")

        self.sender.phase = "during"
        consumer = f"{socket.gethostname()}-{loader.proc.pid}"

        def pending_ids():
            out = redis.raw("XPENDING", "samplesite", "load", "-", "+", "100000", consumer)
            return [line for line in out.splitlines() if line.strip()][0::4]  # id, consumer, idle, deliveries

        def pending():
            return len(pending_ids())

        def eid_of(entry_id):
            out = redis.raw("XRANGE", "samplesite", entry_id, entry_id)
            return json.loads(next(line for line in out.splitlines() if line.startswith("{")))["eid"]

        wait_for(lambda: pending() > 0, timeout=60, interval=0.005, what="the loader to hold entries")
        loader.kill9()
        pending_at_kill = pending()
        self.assertGreater(pending_at_kill, 0, "the kill did not land mid-batch")
        # Were some already INSERTed (the batch stored, the acknowledgement never sent)?
        stored_now = {eid for eid, _ in rows()}
        pending_already_stored = sum(1 for i in pending_ids() if eid_of(i) in stored_now)
        restarted = self.start("load", cfg, env, data_dir=os.path.join(self.tmp, "loader2"))
        killed_at = time.monotonic()
        wait_for(lambda: pending() == 0, timeout=60, interval=0.2, what="the dead loader's entries to be claimed")
        claim_s = round(time.monotonic() - killed_at, 1)

        self.sender.phase = "after"
        self.sender.wait_acked(max(1000, EVENTS - self.sender.count()), "after", timeout=300)
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), rows, timeout=180, interval=1)
        codes = [c.stop(), restarted.stop()]
        dead = int(redis.raw("XLEN", "samplesite:dead").strip())
        stored = rows()
        line, _ = self.finish("loader_kill9_clickhouse", self.sender, stored, settle,
                              pending_at_kill=pending_at_kill, pending_already_stored=pending_already_stored,
                              claimed_after_s=claim_s,
                              rows_before_merges=raw_row_count(ch), dead_lettered=dead,
                              distinct_eids=len({e for e, _ in stored}))
        self.assertEqual(codes, [0, 0], self.logs())
        self.assertGreaterEqual(self.sender.count(), EVENTS)
        self.assertEqual(dead, 0, "events in the dead-letter")
        self.assertEqual(len({e for e, _ in stored}), len(stored))
        self.assertEqual(len(stored), len(self.sender.acked()))


if __name__ == "__main__":
    unittest.main()

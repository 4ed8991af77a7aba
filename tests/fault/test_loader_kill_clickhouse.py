"""Scenario 2c: kill -9 of the loader mid-batch with the ClickHouse sink, and a restart.

Redis topology (one collector, one loader) writing into a real clickhouse-server
(tests/integration/clickhouse_server.py). 10,000 events are sent; while the loader holds
entries it has read but not acknowledged (its pending list in the group is not empty), it is
killed with SIGKILL and started again — up to 8 times, until a kill lands after an INSERT
reached ClickHouse and before its acknowledgement. The restarted loader claims the dead consumer's
entries after `claim_idle` (2 s) and writes them; a batch the killed loader had already
INSERTed is INSERTed again, and the ReplacingMergeTree table keeps one row per eid.

Guarantee: every event answered 2xx is stored once — distinct eids and the de-duplicated
(FINAL) row count both equal the acknowledged set — and nothing is in the dead-letter.
"""
import json
import os
import random
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

        def pending_ids(consumer):
            out = redis.raw("XPENDING", "samplesite", "load", "-", "+", "100000", consumer)
            return [line for line in out.splitlines() if line.strip()][0::4]  # id, consumer, idle, deliveries

        def eid_of(entry_id):
            out = redis.raw("XRANGE", "samplesite", entry_id, entry_id)
            return json.loads(next(line for line in out.splitlines() if line.startswith("{")))["eid"]

        # Kill the loader while it holds entries; again (the restarted one, up to 8 times) until
        # a kill lands after an INSERT reached ClickHouse and before the XACK, so that the
        # restarted loader writes rows that are already stored.
        kills = []
        for attempt in range(8):
            consumer = f"{socket.gethostname()}-{loader.proc.pid}"
            wait_for(lambda: pending_ids(consumer), timeout=60, interval=0.005, what="the loader to hold entries")
            time.sleep(random.uniform(0, 0.03))  # fault injection: somewhere inside the batch
            loader.kill9()
            ids = pending_ids(consumer)
            stored_now = {eid for eid, _ in rows()}
            kills.append((consumer, len(ids), sum(1 for i in ids if eid_of(i) in stored_now)))
            loader = self.start("load", cfg, env, data_dir=os.path.join(self.tmp, f"loader{attempt + 2}"))
            if kills[-1][2] > 0:
                break
        killed_at = time.monotonic()
        wait_for(lambda: not any(pending_ids(k[0]) for k in kills), timeout=60, interval=0.2,
                 what="the dead loaders' entries to be claimed")
        claim_s = round(time.monotonic() - killed_at, 1)
        pending_at_kill = sum(k[1] for k in kills)
        pending_already_stored = sum(k[2] for k in kills)
        self.assertGreater(pending_at_kill, 0, f"no kill landed mid-batch: {kills}")
        restarted = loader

        self.sender.phase = "after"
        self.sender.wait_acked(max(1000, EVENTS - self.sender.count()), "after", timeout=300)
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), rows, timeout=180, interval=1)
        codes = [c.stop(), restarted.stop()]
        dead = int(redis.raw("XLEN", "samplesite:dead").strip())
        stored = rows()
        line, _ = self.finish("loader_kill9_clickhouse", self.sender, stored, settle,
                              kills=len(kills), pending_at_kill=pending_at_kill,
                              pending_already_stored=pending_already_stored,
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

"""Scenario 2: kill -9 of a loader mid-batch.

Redis topology: one collector, two loaders sharing the consumer group `load`, small batches
(20 rows, written within 50 ms) so that a loader nearly always holds entries it has read but
not yet acknowledged. One loader is killed with SIGKILL while it holds such entries (its
pending list in the group is not empty); the other claims them after `claim_idle` (2 s
here), and the killed one is restarted as a third consumer.

Guarantee: every event answered 2xx is stored exactly once; the dead consumer's pending
entries are all claimed (none is stranded), and a batch written before the kill but not
acknowledged is written again harmlessly (the eid primary key).
"""
import json
import os
import socket
import time
import unittest

from scenario import REDIS_FAST, FaultScenario, Redis, Sender, sqlite_rows, wait_all_stored, wait_for

SMALL_BATCHES = [("batch_rows: 100", "batch_rows: 20"), ("max_wait: 100ms", "max_wait: 50ms")]


class LoaderKillTest(FaultScenario):
    def setUp(self):
        super().setUp()
        self.redis = self.fixture(Redis().start())
        self.db = os.path.join(self.tmp, "warehouse.db")
        self.env = {"OCEANUS_REDIS": self.redis.address, "OCEANUS_SQLITE_PATH": self.db}
        self.cfg = self.config(REDIS_FAST + SMALL_BATCHES)

    def rows(self):
        return sqlite_rows(self.db)

    def pending_ids(self, consumer):
        """Entries the group `load` delivered to `consumer` and has not seen acknowledged."""
        out = self.redis.raw("XPENDING", "samplesite", "load", "-", "+", "100000", consumer)
        lines = [line for line in out.splitlines() if line.strip()]
        return lines[0::4]  # id, consumer, idle, deliveries

    def pending_of(self, consumer):
        return len(self.pending_ids(consumer))

    def eid_of(self, entry_id):
        out = self.redis.raw("XRANGE", "samplesite", entry_id, entry_id)
        record = next(line for line in out.splitlines() if line.startswith("{"))
        return json.loads(record)["eid"]

    def loader(self, n):
        return self.start("load", self.cfg, self.env, data_dir=os.path.join(self.tmp, f"loader{n}"))

    def test_kill9_loader_mid_batch_its_entries_are_claimed(self):
        c = self.start("collect", self.cfg, self.env, data_dir=os.path.join(self.tmp, "collector"))
        survivor = self.loader(1)
        self.sender = Sender(c.port, "lk").start()
        self.sender.wait_acked(1000, "before")

        # Kill a loader while it holds delivered, unacknowledged entries. If a kill happens to
        # land between batches (nothing pending), start another loader and try again.
        self.sender.phase = "during"
        host = socket.gethostname()
        killed = []
        for attempt in range(5):
            doomed = self.loader(10 + attempt)
            consumer = f"{host}-{doomed.proc.pid}"
            wait_for(lambda: self.pending_of(consumer) > 0, timeout=60, interval=0.01,
                     what="the doomed loader to hold entries")
            doomed.kill9()
            ids = self.pending_ids(consumer)
            pending = len(ids)
            killed.append((consumer, pending))
            if pending > 0:
                break
        consumer, pending_at_kill = killed[-1]
        self.assertGreater(pending_at_kill, 0, f"no kill landed mid-batch: {killed}")
        # Were some of them already written (the batch committed, the acknowledgement not sent)?
        stored_now = {eid for eid, _ in self.rows()}
        pending_already_stored = sum(1 for i in ids if self.eid_of(i) in stored_now)
        restarted = self.loader(2)
        # The survivor (or the restarted loader) claims the dead consumer's entries after claim_idle.
        claimed_at = time.monotonic()
        wait_for(lambda: self.pending_of(consumer) == 0, timeout=60, interval=0.2,
                 what="the dead loader's pending entries to be claimed")
        claim_s = round(time.monotonic() - claimed_at, 1)
        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()

        settle = wait_all_stored(self.sender.acked(), self.rows, timeout=120)
        codes = [c.stop(), survivor.stop(), restarted.stop()]
        self.finish("loader_kill9", self.sender, self.rows(), settle, kills=len(killed),
                    pending_at_kill=pending_at_kill,
                    pending_already_stored=pending_already_stored, claimed_after_s=claim_s)
        self.assertEqual(codes, [0, 0, 0], self.logs())


if __name__ == "__main__":
    unittest.main()

"""Scenario 2p: kill -9 of the loader mid-batch, PostgreSQL warehouse, 10,000 events.

Redis topology (examples/postgres.yaml on the redis queue): one collector, one loader writing
batches of 100 rows (within 100 ms) into a real PostgreSQL 15. While 10,000 events arrive,
the loader is killed with SIGKILL while it holds entries it has read but not acknowledged
(its pending list in the group is not empty) and a new loader is started; it claims the dead
consumer's entries after `claim_idle` (2 s) and writes them again.

A kill seldom lands in the instant between a batch's COMMIT and its XACK, so the scenario
makes that case itself: before the new loader starts, the dead loader's pending entries are
written into PostgreSQL with psql, as if its last batch had been committed and the
acknowledgement lost. The new loader's batch then meets rows stored before: its COPY into the
table is refused (duplicate key) and the batch goes through the staging table with
INSERT … ON CONFLICT (eid) DO NOTHING — each row stored once, none dead-lettered.

Guarantee: every event answered 2xx is stored exactly once (rows == distinct eid == acked),
and nothing is in the dead-letter stream.
"""
import datetime
import json
import os
import socket
import unittest

from scenario import FaultScenario, Redis, Sender, wait_all_stored, wait_for
from postgres_server import Postgres, postgres_config  # noqa: E402 (on the path scenario sets)

EVENTS = int(os.environ.get("OCEANUS_FAULT_EVENTS", "10000"))


class PostgresLoaderKillTest(FaultScenario):
    def setUp(self):
        super().setUp()
        self.redis = self.fixture(Redis().start())
        self.pg = self.fixture(Postgres().start())
        self.env = {"OCEANUS_REDIS": self.redis.address, "OCEANUS_POSTGRES_URL": self.pg.url()}
        self.cfg = postgres_config(self.tmp, redis=True,
                                   replacements=[("batch_rows: 5000", "batch_rows: 100"),
                                                 ("max_wait: 1s", "max_wait: 100ms")])

    def rows(self):
        return [(eid, uid) for eid, uid in self.pg.rows("samplesite", "eid, uid")]

    def pending_of(self, consumer):
        out = self.redis.raw("XPENDING", "samplesite", "load", "-", "+", "100000", consumer)
        return len([line for line in out.splitlines() if line.strip()]) // 4

    def pending_ids(self, consumer):
        out = self.redis.raw("XPENDING", "samplesite", "load", "-", "+", "100000", consumer)
        return [line for line in out.splitlines() if line.strip()][0::4]

    def store_as_committed(self, ids):
        """Writes the entries' rows as the dead loader's COMMIT would have (dt's date in
        Asia/Tokyo, UTC+9, names the daily table, as the example's time_zone says)."""
        values = {}
        for entry_id in ids:
            out = self.redis.raw("XRANGE", "samplesite", entry_id, entry_id)
            r = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
            dt = datetime.datetime.strptime(r["dt"][:19], "%Y-%m-%d %H:%M:%S")
            table = "samplesite_" + (dt + datetime.timedelta(hours=9)).strftime("%Y%m%d")
            r["dt"] += "+00"  # UTC, whatever the session's TimeZone
            row = ", ".join("'" + str(r[k]).replace("'", "''") + "'" for k in ("dt", "eid", "oid", "sid", "uid", "evt", "url"))
            values.setdefault(table, []).append(f"({row})")
        for table, rows in values.items():
            self.pg.psql(f'INSERT INTO "{table}" (dt, eid, oid, sid, uid, evt, url) VALUES ' + ", ".join(rows))
        return sum(len(v) for v in values.values())

    def loader(self, n):
        return self.start("load", self.cfg, self.env, data_dir=os.path.join(self.tmp, f"loader{n}"))

    def test_kill9_loader_mid_batch_every_event_stored_once(self):
        c = self.start("collect", self.cfg, self.env, data_dir=os.path.join(self.tmp, "collector"))
        self.sender = Sender(c.port, "pk").start()
        host = socket.gethostname()
        kills = []
        doomed = self.loader(1)
        self.sender.wait_acked(EVENTS // 3, "before")
        self.sender.phase = "during"
        # The kill must land while the loader holds delivered, unacknowledged entries.
        for attempt in range(5):
            consumer = f"{host}-{doomed.proc.pid}"
            wait_for(lambda: self.pending_of(consumer) > 0, timeout=60, interval=0.005,
                     what="the loader to hold entries")
            doomed.kill9()
            pending = self.pending_of(consumer)
            kills.append(pending)
            if pending > 0:
                break
            doomed = self.loader(10 + attempt)
        self.assertGreater(kills[-1], 0, f"no kill landed mid-batch: {kills}")
        stored_at_kill = len(self.rows())
        stored = {eid for eid, _ in self.rows()}
        ids = self.pending_ids(consumer)
        pending_already_stored = sum(1 for i in ids if json.loads(next(
            line for line in self.redis.raw("XRANGE", "samplesite", i, i).splitlines()
            if line.startswith("{")))["eid"] in stored)
        committed_by_test = self.store_as_committed(ids) if pending_already_stored == 0 else 0
        restarted = self.loader(2)
        wait_for(lambda: self.pending_of(consumer) == 0, timeout=60, interval=0.2,
                 what="the dead loader's entries to be claimed")
        self.sender.phase = "after"
        wait_for(lambda: self.sender.count() >= EVENTS, timeout=600, interval=0.2,
                 what=f"{EVENTS} events sent")
        self.sender.stop()

        settle = wait_all_stored(self.sender.acked(), self.rows, timeout=120)
        dead = self.redis.raw("XLEN", "samplesite:dead").strip()
        count = int(self.pg.scalar("SELECT count(*) FROM (SELECT eid FROM "
                                   + " UNION ALL SELECT eid FROM ".join(f'"{t}"' for t in self.pg.tables("samplesite"))
                                   + ") r"))
        distinct = int(self.pg.scalar("SELECT count(DISTINCT eid) FROM (SELECT eid FROM "
                                      + " UNION ALL SELECT eid FROM ".join(f'"{t}"' for t in self.pg.tables("samplesite"))
                                      + ") r"))
        codes = [c.stop(), restarted.stop()]
        self.finish("loader_kill9_postgres", self.sender, self.rows(), settle, kills=len(kills),
                    pending_at_kill=kills[-1], stored_at_kill=stored_at_kill,
                    pending_already_stored=pending_already_stored, written_as_committed=committed_by_test,
                    pg_count=count,
                    pg_distinct_eid=distinct, dead_letter=int(dead))
        self.assertEqual(codes, [0, 0], self.logs())
        self.assertEqual(dead, "0")
        self.assertEqual((count, distinct), (len(self.sender.acked()), len(self.sender.acked())))


if __name__ == "__main__":
    unittest.main()

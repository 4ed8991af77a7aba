"""Scenario 5p: PostgreSQL stopped for a minute while events arrive.

The embedded topology (`oceanus run`: local spool + a real PostgreSQL 15). The server is
stopped with a fast shutdown (SIGINT: its backends end with 57P01, the loader's connection
breaks, possibly mid-batch) and kept down for OCEANUS_FAULT_PG_OUTAGE_SECONDS (default 60).
Every write meanwhile fails as Unavailable (connection refused) and the loader retries with
backoff while the collector keeps answering 2xx and the spool grows; then the server is
started on the same data directory and port, the sink reconnects and the loader catches up.

Guarantee: no 503 to clients, every acknowledged event
stored once (rows == distinct eid == acked), nothing in the dead-letter.
"""
import os
import re
import time
import unittest

from scenario import FaultScenario, Sender, wait_all_stored, wait_for
from postgres_server import Postgres, postgres_config  # noqa: E402 (on the path scenario sets)

OUTAGE_SECONDS = float(os.environ.get("OCEANUS_FAULT_PG_OUTAGE_SECONDS", "60"))


class PostgresSinkOutageTest(FaultScenario):
    def test_postgres_down_for_the_outage_loader_backs_off_and_catches_up(self):
        pg = self.fixture(Postgres().start())
        o = self.start("run", postgres_config(self.tmp), {"OCEANUS_POSTGRES_URL": pg.url()})
        rows = lambda: pg.rows("samplesite", "eid, uid") if pg.proc.poll() is None else []  # noqa: E731
        self.sender = Sender(o.port, "po").start()
        self.sender.wait_acked(1000, "before")
        wait_for(lambda: pg.tables("samplesite") and pg.count("samplesite") >= 500, timeout=60,
                 what="rows in PostgreSQL before the outage")

        self.sender.phase = "during"
        log_at_stop = len(o.read_log())
        pg.stop()
        stopped_at = time.monotonic()
        while time.monotonic() - stopped_at < OUTAGE_SECONDS:
            self.assertIsNone(o.proc.poll(), f"oceanus exited during the outage:\n{o.read_log()[-3000:]}")
            time.sleep(1)  # holding the outage for its duration
        pg.start()
        started_at = time.monotonic()
        outage_log = o.read_log()[log_at_stop:]
        backoffs = [int(ms) for ms in re.findall(r"not stored \(.*?\); retrying in (\d+) ms", outage_log)]

        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), rows, timeout=300, interval=1)
        caught_up_s = round(time.monotonic() - started_at, 1) if settle is not None else None
        code = o.stop(timeout=120)
        dead = os.path.join(o.data_dir, "deadletter", "samplesite.jsonl")
        dead_lines = sum(1 for _ in open(dead)) if os.path.exists(dead) else 0
        stored = rows()
        during = self.sender.summary()["phases"]["during"]
        self.finish(f"sink_postgres_down_{OUTAGE_SECONDS:g}s", self.sender, stored, settle,
                    outage_s=round(started_at - stopped_at, 1),
                    loader_retries=len(backoffs), max_backoff_ms=max(backoffs, default=0),
                    caught_up_after_start_s=caught_up_s, pg_count=len(stored),
                    pg_distinct_eid=len({e for e, _ in stored}), dead_letter=dead_lines)
        self.assertEqual(code, 0, self.logs())
        self.assertEqual(during["answered_503"] + during["other"], 0, f"ingest suffered from the outage: {during}")
        self.assertEqual(dead_lines, 0, "records went to the dead-letter")
        self.assertGreater(len(backoffs), 0, "the loader never reported a retry")
        self.assertLess(len(backoffs), OUTAGE_SECONDS / 2 + 10, f"too many retries: {backoffs}")
        acked = len(self.sender.acked())
        self.assertEqual((len(stored), len({e for e, _ in stored})), (acked, acked))


if __name__ == "__main__":
    unittest.main()

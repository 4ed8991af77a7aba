"""Scenario 5a: the SQLite warehouse is unavailable for five minutes while ingest continues.

The embedded default (`oceanus run`: local spool + SQLite). The test takes the warehouse's
write lock itself (`BEGIN EXCLUSIVE` from Python's sqlite3) and holds it for
OCEANUS_FAULT_OUTAGE_SECONDS (default 300, the issue's five minutes). Every batch the loader
tries meanwhile fails with SQLITE_BUSY after the sink's busy timeout; it keeps the batch and
retries with exponential backoff (200 ms doubling to 30 s, with jitter) while the collector
keeps answering 2xx and the spool grows. When the lock goes, the loader catches up.

Guarantee: ingest is not affected by the sink (no 503), nothing is written while the lock is
held, the retries back off (a handful per minute, not a tight loop), and afterwards every
event answered 2xx is stored exactly once.
"""
import os
import re
import sqlite3
import time
import unittest

from scenario import EXAMPLE, FaultScenario, Sender, sqlite_rows, wait_all_stored, wait_for

OUTAGE_SECONDS = float(os.environ.get("OCEANUS_FAULT_OUTAGE_SECONDS", "300"))


class SqliteSinkOutageTest(FaultScenario):
    def test_warehouse_locked_for_the_outage_loader_backs_off_and_catches_up(self):
        cfg = self.config(base=EXAMPLE)
        o = self.start("run", cfg, {})
        rows = lambda: sqlite_rows(o.db_path)  # noqa: E731
        self.sender = Sender(o.port, "sq").start()
        self.sender.wait_acked(1000, "before")
        wait_for(lambda: len(rows()) >= 500, timeout=60, what="rows in the warehouse before the outage")

        # The outage: our own connection holds the write lock (WAL: readers still read).
        self.sender.phase = "during"
        lock = sqlite3.connect(o.db_path, isolation_level=None, timeout=60)
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        log_at_lock = len(o.read_log())
        rows_at_lock = len(rows())
        while time.monotonic() - locked_at < OUTAGE_SECONDS:
            self.assertIsNone(o.proc.poll(), f"oceanus exited during the outage:\n{o.read_log()[-3000:]}")
            time.sleep(1)  # holding the outage for its duration
        rows_at_release = len(rows())
        lock.execute("ROLLBACK")
        lock.close()
        released_at = time.monotonic()
        outage_log = o.read_log()[log_at_lock:]
        backoffs = [int(ms) for ms in re.findall(r"not stored \(.*?\); retrying in (\d+) ms", outage_log)]

        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), rows, timeout=300, interval=1)
        caught_up_s = round(time.monotonic() - released_at, 1) if settle is not None else None
        code = o.stop(timeout=120)
        during = self.sender.summary()["phases"]["during"]
        self.finish(f"sink_sqlite_locked_{OUTAGE_SECONDS:g}s", self.sender, rows(), settle,
                    outage_s=round(released_at - locked_at, 1), rows_written_during_outage=rows_at_release - rows_at_lock,
                    loader_retries=len(backoffs), max_backoff_ms=max(backoffs, default=0),
                    caught_up_after_release_s=caught_up_s)
        self.assertEqual(code, 0, self.logs())
        self.assertEqual(during["answered_503"] + during["other"], 0, f"ingest suffered from the sink outage: {during}")
        self.assertEqual(rows_at_release, rows_at_lock, "rows were written while the lock was held")
        self.assertGreater(len(backoffs), 0, "the loader never reported a retry")
        # Backoff, not a loop: with a 30 s cap and 5 s busy waits, a few per minute at most.
        self.assertLess(len(backoffs), OUTAGE_SECONDS / 5 + 10, f"too many retries: {backoffs}")
        if OUTAGE_SECONDS >= 120:
            self.assertGreaterEqual(max(backoffs), 15000, f"the backoff did not grow: {backoffs}")


if __name__ == "__main__":
    unittest.main()

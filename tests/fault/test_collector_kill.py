"""Scenario 1: kill -9 of the collector under load.

Redis topology: `oceanus collect` and `oceanus load` as separate processes, a real
redis-server. The collector is killed with SIGKILL while events arrive at a steady rate, and
restarted on the same data dir and port; requests sent while it is down are refused (never
acknowledged). A second case kills it while Redis is down, so that acknowledged events sit
only in its local spool: the restarted collector must recover that spool and forward it.

Guarantee: every event answered 2xx is stored exactly once; events in flight at the kill may
be stored without having been acknowledged (counted as stored_unacked).
"""
import os
import time
import unittest

from scenario import REDIS_FAST, FaultScenario, Redis, Sender, sqlite_rows, wait_all_stored, wait_for


def spool_files(data_dir, site="samplesite"):
    """Segments of the collector's local spool that still hold records (more than the magic)."""
    d = os.path.join(data_dir, "spool", site)
    if not os.path.isdir(d):
        return []
    return [f for f in os.listdir(d) if f.endswith(".seg") and os.path.getsize(os.path.join(d, f)) > 8]


class CollectorKillTest(FaultScenario):
    def setUp(self):
        super().setUp()
        self.redis = self.fixture(Redis().start())
        self.db = os.path.join(self.tmp, "warehouse.db")
        self.env = {"OCEANUS_REDIS": self.redis.address, "OCEANUS_SQLITE_PATH": self.db}
        self.cfg = self.config(REDIS_FAST)
        self.data = os.path.join(self.tmp, "collector")

    def rows(self):
        return sqlite_rows(self.db)

    def test_kill9_collector_under_load_then_restart(self):
        c = self.start("collect", self.cfg, self.env, data_dir=self.data)
        loader = self.start("load", self.cfg, self.env, data_dir=os.path.join(self.tmp, "loader"))
        self.sender = Sender(c.port, "ck").start()
        self.sender.wait_acked(1000, "before")
        self.sender.phase = "during"
        killed_at = time.monotonic()
        c.kill9()
        c2 = self.start("collect", self.cfg, self.env, data_dir=self.data, port=c.port)
        down_s = round(time.monotonic() - killed_at, 2)
        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()

        settle = wait_all_stored(self.sender.acked(), self.rows, timeout=120)
        codes = [c2.stop(), loader.stop()]  # the collector first: the loader drains what it sent
        self.finish("collector_kill9", self.sender, self.rows(), settle, down_s=down_s)
        self.assertEqual(codes, [0, 0], self.logs())

    def test_kill9_collector_while_redis_is_down_then_forward_its_spool(self):
        c = self.start("collect", self.cfg, self.env, data_dir=self.data)
        loader = self.start("load", self.cfg, self.env, data_dir=os.path.join(self.tmp, "loader"))
        self.sender = Sender(c.port, "cs").start()
        self.sender.wait_acked(1000, "before")
        # Redis goes away: the collector answers from its local spool.
        self.sender.phase = "during"
        self.redis.stop()
        self.sender.wait_acked(750, "during")
        wait_for(lambda: spool_files(self.data), what="events in the local spool")
        c.kill9()  # the acknowledged events of the outage are only in this spool now
        spooled_at_kill = len(spool_files(self.data))
        c2 = self.start("collect", self.cfg, self.env, data_dir=self.data, port=c.port)
        self.sender.wait_acked(1500, "during")
        self.redis.start()  # the same port and directory: its AOF is loaded
        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()

        settle = wait_all_stored(self.sender.acked(), self.rows, timeout=180)
        codes = [c2.stop(), loader.stop()]
        left = spool_files(self.data)
        self.finish("collector_kill9_while_spooling", self.sender, self.rows(), settle,
                    spool_segments_at_kill=spooled_at_kill, spool_segments_left=len(left))
        self.assertEqual(codes, [0, 0], self.logs())
        self.assertEqual(left, [], "the spool was not forwarded completely")


if __name__ == "__main__":
    unittest.main()

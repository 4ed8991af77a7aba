"""Scenario 4: Redis down for a minute while ingest continues.

Redis topology (`collect` + `load`). redis-server is stopped for OCEANUS_FAULT_REDIS_DOWN_SECONDS
(default 60) while events keep arriving at a steady rate, then started again on the same port
and directory. Meanwhile the collector keeps answering 2xx from its local spool (a 503 would
mean it could not write the spool either), and its forwarder moves the spool into Redis,
oldest first, once Redis is back; the loader reconnects by itself.

Guarantee: no request is refused during the outage, every event answered 2xx is stored
exactly once, and the spool is empty (forwarded and deleted) afterwards.
"""
import os
import re
import time
import unittest

from scenario import REDIS_FAST, DurableRedis, FaultScenario, Sender, sqlite_rows, wait_all_stored, wait_for

DOWN_SECONDS = float(os.environ.get("OCEANUS_FAULT_REDIS_DOWN_SECONDS", "60"))


def spool_files(data_dir, site="samplesite"):
    d = os.path.join(data_dir, "spool", site)
    return [f for f in os.listdir(d) if f.endswith(".seg") and os.path.getsize(os.path.join(d, f)) > 8]


class RedisOutageTest(FaultScenario):
    def test_redis_down_for_a_minute_collector_spools_then_forwards(self):
        self.redis = self.fixture(DurableRedis("everysec").start())
        db = os.path.join(self.tmp, "warehouse.db")
        env = {"OCEANUS_REDIS": self.redis.address, "OCEANUS_SQLITE_PATH": db}
        cfg = self.config(REDIS_FAST)
        data = os.path.join(self.tmp, "collector")
        c = self.start("collect", cfg, env, data_dir=data)
        loader = self.start("load", cfg, env, data_dir=os.path.join(self.tmp, "loader"))
        self.sender = Sender(c.port, "ro").start()
        self.sender.wait_acked(1000, "before")

        self.sender.phase = "during"
        self.redis.stop()
        down_at = time.monotonic()
        wait_for(lambda: spool_files(data), timeout=30, what="events in the local spool")
        time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_at)))  # the outage's length
        spool_bytes = sum(os.path.getsize(os.path.join(data, "spool", "samplesite", f)) for f in spool_files(data))
        forwarded = lambda: len(re.findall(r"site samplesite: \d+ spooled event\(s\) forwarded to Redis",  # noqa: E731
                                           c.read_log()))
        forwarded_before = forwarded()
        self.redis.start()
        back_at = time.monotonic()
        self.sender.phase = "after"
        # The spool drains into Redis (the forwarder), and the site writes directly again.
        wait_for(lambda: forwarded() > forwarded_before, timeout=120, interval=0.2,
                 what="the spool to be forwarded")
        forwarded_s = round(time.monotonic() - back_at, 1)
        self.sender.wait_acked(1000, "after")
        self.sender.stop()

        rows = lambda: sqlite_rows(db)  # noqa: E731
        settle = wait_all_stored(self.sender.acked(), rows, timeout=180)
        codes = [c.stop(), loader.stop()]
        left = spool_files(data)  # the writers' last segments are sealed, and deleted, on stop
        during = self.sender.summary()["phases"]["during"]
        self.finish(f"redis_down_{DOWN_SECONDS:g}s", self.sender, rows(), settle, outage_s=round(back_at - down_at, 1),
                    spool_bytes_at_end_of_outage=spool_bytes, spool_forwarded_s=forwarded_s)
        self.assertEqual(codes, [0, 0], self.logs())
        self.assertEqual(left, [], "the spool was not forwarded completely")
        self.assertEqual(during["answered_503"] + during["other"], 0,
                         f"requests not acknowledged while Redis was down: {during}")
        self.assertGreater(during["acked"], DOWN_SECONDS * self.sender.rate * 0.5)


if __name__ == "__main__":
    unittest.main()

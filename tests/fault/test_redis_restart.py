"""Scenario 3: Redis restarts under load.

Redis topology (`collect` + `load`). redis-server runs with AOF on (`appendonly yes`) and is
restarted on the same port and directory while events arrive at a steady rate:

  - graceful: SIGTERM (redis-server writes and fsyncs its AOF before it exits), with the
    harness's `appendfsync everysec`;
  - crash: SIGKILL, with `appendfsync always`.

The collector answers 2xx only after Redis has replied to its XADD (or, when Redis does not
answer, after the event is in its local spool, which it forwards once Redis is back). What an
XADD reply promises depends on appendfsync: with `always` Redis fsyncs the AOF before it
replies, so an acknowledged event survives a crash of Redis and of the machine; with
`everysec` it normally write()s the AOF before replying (so a crash of the redis-server
process alone loses nothing), but it may postpone that write by up to 2 s while a slow
background fsync runs, and the machine losing power loses up to the last ~2 s. So a crash
(SIGKILL) is only tested with `always`; see docs/RELIABILITY.md.

Redis is given a million unrelated keys first, so that, like a production Redis, it spends
about a second loading after the restart and answers -LOADING meanwhile: the collector spools
(and its forwarder must retry what Redis refused), the loader retries.

Guarantee: every event answered 2xx is stored exactly once; the consumer group and its
pending entries survive the restart.
"""
import os
import unittest

from scenario import REDIS_FAST, DurableRedis, FaultScenario, Sender, sqlite_rows, wait_all_stored

BALLAST_KEYS = 1_000_000


class RedisRestartTest(FaultScenario):
    def run_restart(self, scenario, appendfsync, crash):
        self.redis = self.fixture(DurableRedis(appendfsync).start())
        # Data of its own, as a production Redis has: the restart then spends about a second
        # loading, answering -LOADING to the collector, its forwarder and the loader.
        self.redis.ballast(BALLAST_KEYS)
        db = os.path.join(self.tmp, "warehouse.db")
        env = {"OCEANUS_REDIS": self.redis.address, "OCEANUS_SQLITE_PATH": db}
        cfg = self.config(REDIS_FAST)
        c = self.start("collect", cfg, env, data_dir=os.path.join(self.tmp, "collector"))
        loader = self.start("load", cfg, env, data_dir=os.path.join(self.tmp, "loader"))
        self.sender = Sender(c.port, "rr").start()
        self.sender.wait_acked(1500, "before")

        self.sender.phase = "during"
        if crash:
            self.redis.kill9()
        else:
            self.redis.stop()
        self.redis.start()  # same port, same directory: the AOF is loaded
        groups = self.redis.raw("XINFO", "GROUPS", "samplesite")
        self.sender.phase = "after"
        self.sender.wait_acked(1500, "after")
        self.sender.stop()

        rows = lambda: sqlite_rows(db)  # noqa: E731
        settle = wait_all_stored(self.sender.acked(), rows, timeout=120)
        codes = [c.stop(), loader.stop()]
        self.finish(scenario, self.sender, rows(), settle, appendfsync=appendfsync,
                    redis_stop="SIGKILL" if crash else "SIGTERM",
                    redis_loading_s=self.redis.load_seconds(),
                    collector_used_spool="local spool" in c.read_log(),
                    forwarder_retried="spool forwarding stopped" in c.read_log(),
                    loader_reconnected="reachable again" in loader.read_log())
        self.assertIn("load", groups.split(), "the consumer group did not survive the restart")
        self.assertEqual(codes, [0, 0], self.logs())

    def test_graceful_restart_appendfsync_everysec(self):
        self.run_restart("redis_restart_sigterm_everysec", "everysec", crash=False)

    def test_crash_restart_appendfsync_always(self):
        self.run_restart("redis_restart_kill9_always", "always", crash=True)


if __name__ == "__main__":
    unittest.main()

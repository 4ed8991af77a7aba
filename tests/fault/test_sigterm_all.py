"""Scenario 6: SIGTERM to every role at once, under load (a deploy or a node drain).

Redis topology with all four roles as processes: `collect`, `load`, `react` and `work`, the
local (SQLite) task queue shared by react and work, and a rule that turns every tenth event
(evt=order) into a webhook task delivered to tests/fakes/fake_services.py. While events
arrive at a steady rate every process gets SIGTERM at the same moment; each must drain
(the collector answers what is in flight and stops accepting, the loader writes what it has
read, the reactor finishes its batch, the worker lets running actions finish and hands back
the rest) and exit 0. Then every role is started again on the same data.

Guarantee: every process exits 0; every event answered 2xx is stored exactly once; every
acknowledged order event's task is delivered, and — the stop being graceful — exactly once.
"""
import os
import time
import unittest

from scenario import (REDIS_FAST, FakeServices, FaultScenario, Redis, Sender, every_tenth_an_order,
                      hook_rule_yaml, sqlite_rows, task_audit, wait_all_stored, wait_tasks_delivered)

ROLES = ("load", "react", "work", "collect")  # started in the order the data flows back


class SigtermAllTest(FaultScenario):
    def test_sigterm_every_role_under_load_each_exits_0_and_nothing_is_lost(self):
        redis = self.fixture(Redis().start())
        services = self.fixture(FakeServices())
        db = os.path.join(self.tmp, "warehouse.db")
        env = {"OCEANUS_REDIS": redis.address, "OCEANUS_SQLITE_PATH": db}
        tasks = f"  type: local\n  path: {os.path.join(self.tmp, 'tasks.db')}"
        cfg = self.config(REDIS_FAST, append=hook_rule_yaml(tasks, services.url("/hook/order")))
        port = None

        def start_all():
            procs = {}
            for role in ROLES:
                procs[role] = self.start(role, cfg, env, data_dir=os.path.join(self.tmp, role), port=port)
            return procs

        procs = start_all()
        port = procs["collect"].port
        self.sender = Sender(port, "st", evt=every_tenth_an_order).start()
        self.sender.wait_acked(1500, "before")
        services.wait_received("/hook/", 50, timeout=60)

        self.sender.phase = "during"
        began = time.monotonic()
        codes = {p.role: code for p, code in self.terminate_all(list(procs.values())).items()}
        drain_s = round(time.monotonic() - began, 1)
        procs = start_all()
        self.sender.phase = "after"
        self.sender.wait_acked(1500, "after")
        self.sender.stop()

        rows = lambda: sqlite_rows(db)  # noqa: E731
        settle = wait_all_stored(self.sender.acked(), rows, timeout=120)
        orders = self.sender.acked(evt="order")
        tasks_settle = wait_tasks_delivered(services, orders, timeout=120)
        final = [procs[r].stop(timeout=60) for r in ("collect", "load", "react", "work")]
        t = task_audit(orders, services.received("/hook/"))
        self.finish("sigterm_all_roles", self.sender, rows(), settle, exit_codes=codes, drain_s=drain_s,
                    tasks_settle_s=tasks_settle, **t)
        self.assertEqual(codes, {r: 0 for r in ROLES}, self.logs())
        self.assertEqual(final, [0, 0, 0, 0], self.logs())
        self.assertEqual(t["tasks_lost"], 0, f"tasks of acknowledged events never delivered: {t}")
        self.assertEqual(t["task_duplicates"], 0, f"a graceful stop delivered tasks twice: {t}")


if __name__ == "__main__":
    unittest.main()

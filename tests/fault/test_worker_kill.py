"""Scenario 8: kill -9 of the task worker while actions are in flight.

Redis topology with all four roles as processes (`collect`, `load`, `react`, `work`) and a
rule that turns every tenth event (evt=order) into a webhook task posting {"eid", "uid"} to
tests/fakes/fake_services.py. Under steady load the receiver is told to hold its answers
(4 s), and once the worker has `concurrency` (4) requests out, the `work` process is killed
with SIGKILL: those actions have reached the receiver but the worker never learns their
outcome. While it is down the reactor keeps queueing tasks; then it is started again.

Run on both task queues: local (SQLite; the new worker sees the owner process is gone and
queues its tasks again at once) and RabbitMQ (the broker redelivers the unacknowledged
deliveries of the dead connection).

Guarantee: every acknowledged order event's task is delivered at least once (none lost);
deliveries beyond the first are bounded by what was in flight at the kill — at most
`concurrency`, each a task whose first delivery reached the receiver before the kill — and
every task in flight is delivered again (at-least-once, not at-most-once).
"""
import os
import time
import unittest

from scenario import (REDIS_FAST, FakeServices, FaultScenario, RabbitMq, Redis, Sender, every_tenth_an_order,
                      hook_rule_yaml, sqlite_rows, task_audit, wait_all_stored, wait_for, wait_tasks_delivered)

CONCURRENCY = 4
HOLD_MS = 4000


class WorkerKillTest(FaultScenario):
    def run_kill(self, scenario, tasks_yaml_for):
        redis = self.fixture(Redis().start())
        services = self.fixture(FakeServices())
        db = os.path.join(self.tmp, "warehouse.db")
        env = {"OCEANUS_REDIS": redis.address, "OCEANUS_SQLITE_PATH": db}
        cfg = self.config(REDIS_FAST, append=hook_rule_yaml(tasks_yaml_for(self), services.url("/hook/order"),
                                                             concurrency=CONCURRENCY))
        procs = {role: self.start(role, cfg, env, data_dir=os.path.join(self.tmp, role))
                 for role in ("load", "react", "work", "collect")}
        self.sender = Sender(procs["collect"].port, "wk", evt=every_tenth_an_order).start()
        self.sender.wait_acked(1000, "before")
        services.wait_received("/hook/", 50, timeout=60)

        # Hold the receiver's answers, let the worker fill its slots, and kill it.
        self.sender.phase = "during"
        held_from = len(services.received("/hook/"))
        services.delay("/hook/", HOLD_MS)
        # Requests that arrived just before the delay took effect were answered at once: wait
        # for ones the receiver is really holding (recorded on arrival, before the hold).
        held = lambda: sum(1 for r in services.received("/hook/")[held_from:] if r["delayed_ms"])  # noqa: E731
        wait_for(lambda: held() >= CONCURRENCY, timeout=60, what=f"{CONCURRENCY} actions in flight")
        procs["work"].kill9()
        killed_at = time.time()  # the receiver records unix times
        services.delay("/hook/", 0)
        received = services.received("/hook/")
        # Only requests the receiver really held: one that arrived just before the delay took
        # effect was answered at once and may well have completed before the kill.
        in_flight = {r["json"]["eid"] for r in received[held_from:]
                     if r["delayed_ms"] and r["time"] + r["delayed_ms"] / 1000 > killed_at}
        first_seen = {}
        for r in received:
            first_seen.setdefault(r["json"]["eid"], r["time"])
        # Tasks pile up while no worker runs (the reactor keeps queueing them).
        down_until = time.monotonic() + 3
        self.sender.wait_acked(300, "during")
        time.sleep(max(0.0, down_until - time.monotonic()))  # the worker stays down this long
        procs["work"] = self.start("work", cfg, env, data_dir=os.path.join(self.tmp, "work"))
        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()

        rows = lambda: sqlite_rows(db)  # noqa: E731
        settle = wait_all_stored(self.sender.acked(), rows, timeout=120)
        orders = self.sender.acked(evt="order")
        tasks_settle = wait_tasks_delivered(services, orders, timeout=120)
        # Let the in-flight ones come a second time before counting (they are due at once).
        wait_for(lambda: in_flight <= {e for e, n in self.delivery_counts(services).items() if n >= 2},
                 timeout=60, what="the tasks in flight at the kill to be delivered again")
        codes = [procs[r].stop(timeout=60) for r in ("collect", "load", "react", "work")]
        t = task_audit(orders, services.received("/hook/"))
        unexpected = [e for e in t["duplicate_eids"] if e not in in_flight and first_seen.get(e, killed_at) >= killed_at]
        self.finish(scenario, self.sender, rows(), settle, in_flight_at_kill=len(in_flight),
                    tasks_settle_s=tasks_settle, **t)
        self.assertEqual(codes, [0, 0, 0, 0], self.logs())
        self.assertGreaterEqual(len(in_flight), 1, "no action was in flight at the kill")
        self.assertEqual(t["tasks_lost"], 0, f"tasks of acknowledged events never delivered: {t}")
        self.assertLessEqual(t["task_duplicates"], CONCURRENCY, f"more repeats than actions in flight: {t}")
        self.assertEqual(unexpected, [], "a task delivered twice that was not in flight at the kill")

    @staticmethod
    def delivery_counts(services):
        counts = {}
        for r in services.received("/hook/"):
            e = (r.get("json") or {}).get("eid")
            counts[e] = counts.get(e, 0) + 1
        return counts

    def test_kill9_worker_with_actions_in_flight_local_task_queue(self):
        self.run_kill("worker_kill9_local_tasks",
                      lambda t: f"  type: local\n  path: {os.path.join(t.tmp, 'tasks.db')}")

    def test_kill9_worker_with_actions_in_flight_rabbitmq(self):
        rabbit = self.fixture(RabbitMq())
        self.run_kill("worker_kill9_rabbitmq",
                      lambda t: f"  type: rabbitmq\n  rabbitmq: {{url: \"{rabbit.url}\", queue: fault.tasks}}")


if __name__ == "__main__":
    unittest.main()

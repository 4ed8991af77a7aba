"""Scenario 2b: exactly once into BigQuery (Storage Write API) where insertAll is not.

Redis topology: one collector and loaders of the BigQuery sink (examples/bigquery.yaml, api
storage_write, delivery exactly_once) against tests/fakes/fake_google.py, whose Storage Write
API stores an offset once and does not de-duplicate by eid (a duplicate would show).

1. An append is stored but never answered (the fake's store_then_hang); the loader that sent
   it is killed with SIGKILL while it waits; a second loader claims its pending entries after
   `claim_idle`, finds their slots (stream, offset) in the ledger beside the consumer group,
   appends them there, is told ALREADY_EXISTS, and acknowledges them.
2. The same, with max_deliveries 1: the claiming loader moves the entries to the dead-letter
   instead (they were delivered twice), although their rows are in BigQuery; `oceanus
   replay` puts them back in the queue, the loader finds their slots (never erased: they
   were never acknowledged), and they are stored once.

Guarantee: every event answered 2xx is in BigQuery exactly once (count and distinct eid equal
the acknowledged set).
"""
import json
import os
import socket
import subprocess
import unittest

from scenario import (BIGQUERY_EXAMPLE, BIN, REDIS_FAST, FakeGoogle, FaultScenario, Redis, Sender,
                      bigquery_rows, wait_all_stored, wait_for)

# Appends wait at most 5 s for their answer, so the hung one ends while the test watches.
TIMEOUT = [("    max_rows: 500", "    max_rows: 500\n    timeout: 5s")]


class BigQueryLoaderKillTest(FaultScenario):
    def setUp(self):
        super().setUp()
        self.redis = self.fixture(Redis().start())
        self.google = self.fixture(FakeGoogle())
        self.env = dict(self.google.env(), OCEANUS_REDIS=self.redis.address)

    def rows(self):
        return bigquery_rows(self.google)

    def calls(self):
        return self.google.storage_write()["calls"]

    def pending_of(self, consumer):
        out = self.redis.raw("XPENDING", "samplesite", "load", "-", "+", "100000", consumer)
        return len([line for line in out.splitlines() if line.strip()]) // 4

    def kill_while_an_append_hangs(self, cfg):
        """Starts a loader, makes its next append stored but unanswered, kills it while it
        waits; returns its consumer name and the number of entries it left pending."""
        doomed = self.start("load", cfg, self.env, data_dir=os.path.join(self.tmp, "doomed"))
        consumer = f"{socket.gethostname()}-{doomed.proc.pid}"
        wait_for(lambda: len(self.rows()) >= 200, timeout=60, what="rows before the fault")
        injected = self.calls()["injected"]
        self.google.inject_storage(store_then_hang=1)
        wait_for(lambda: self.calls()["injected"] > injected, timeout=30, interval=0.01,
                 what="an append stored and left unanswered")
        doomed.kill9()
        pending = self.pending_of(consumer)
        self.assertGreater(pending, 0, "the killed loader held no entries")
        return consumer, pending

    def test_stored_but_unanswered_then_claimed_is_stored_once(self):
        cfg = self.config(REDIS_FAST + TIMEOUT, base=BIGQUERY_EXAMPLE)
        c = self.start("collect", cfg, self.env, data_dir=os.path.join(self.tmp, "collector"))
        self.sender = Sender(c.port, "bqk").start()
        self.sender.wait_acked(1000, "before")
        self.sender.phase = "during"
        already_exists = self.calls()["already_exists"]
        _, pending = self.kill_while_an_append_hangs(cfg)
        survivor = self.start("load", cfg, self.env, data_dir=os.path.join(self.tmp, "survivor"))
        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), self.rows, timeout=120)
        codes = [c.stop(), survivor.stop()]
        calls = self.calls()
        self.finish("loader_kill9_bigquery_storage_write", self.sender, self.rows(), settle,
                    pending_at_kill=pending, already_exists=calls["already_exists"] - already_exists,
                    out_of_range=calls["out_of_range"])
        self.assertEqual(codes, [0, 0], self.logs())
        # The claimed entries were stored by the dead loader's append: BigQuery said so.
        self.assertGreater(calls["already_exists"], already_exists)

    def test_replay_of_a_dead_letter_whose_rows_were_stored_stores_them_once(self):
        cfg = self.config(REDIS_FAST + TIMEOUT + [("max_deliveries: 5", "max_deliveries: 1")],
                          base=BIGQUERY_EXAMPLE)
        c = self.start("collect", cfg, self.env, data_dir=os.path.join(self.tmp, "collector"))
        self.sender = Sender(c.port, "bqr").start()
        self.sender.wait_acked(1000, "before")
        self.sender.phase = "during"
        doomed, pending = self.kill_while_an_append_hangs(cfg)
        survivor = self.start("load", cfg, self.env, data_dir=os.path.join(self.tmp, "survivor"))
        # Every entry the dead loader held is claimed and, delivered twice, dead-lettered.
        wait_for(lambda: self.pending_of(doomed) == 0, timeout=60,
                 what="the dead loader's entries claimed and dead-lettered")
        dead = int(self.redis.raw("XLEN", "samplesite:dead").strip())
        stored = {eid for eid, _ in self.rows()}
        records = [json.loads(line) for line in self.redis.raw("XRANGE", "samplesite:dead", "-", "+").splitlines()
                   if line.startswith("{")]
        dead_and_stored = sum(1 for r in records if r["eid"] in stored)
        self.assertGreater(dead_and_stored, 0, "no dead-lettered event had been stored")
        replay = subprocess.run([BIN, "replay", "--config", cfg, "--data-dir", os.path.join(self.tmp, "replay")],
                                capture_output=True, text=True, env=dict(os.environ, **self.env), timeout=120)
        self.assertEqual(replay.returncode, 0, replay.stdout + replay.stderr)
        self.assertIn(f"replayed {len(records)} record(s)", replay.stderr)
        self.sender.phase = "after"
        self.sender.wait_acked(1000, "after")
        self.sender.stop()
        settle = wait_all_stored(self.sender.acked(), self.rows, timeout=120)
        codes = [c.stop(), survivor.stop()]
        self.finish("replay_bigquery_storage_write", self.sender, self.rows(), settle,
                    pending_at_kill=pending, dead_lettered=dead,
                    dead_lettered_and_stored=dead_and_stored,
                    already_exists=self.calls()["already_exists"])
        self.assertEqual(codes, [0, 0], self.logs())


if __name__ == "__main__":
    unittest.main()

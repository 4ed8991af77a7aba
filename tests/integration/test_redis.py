"""The redis queue with a real redis-server: roles as processes, claiming, outages,
dead-letter and retention. Every acknowledged event must be stored exactly once."""
import collections
import concurrent.futures
import json
import os
import re
import tempfile
import time
import unittest

from harness import (REDIS_EXAMPLE, Oceanus, Redis, check_metrics_text, example_config, free_port,
                     send_beacons, wait_for)

FAST = [
    ("claim_idle: 30s", "claim_idle: 2s"),
    ("trim_every: 5s", "trim_every: 200ms"),
    ("batch_rows: 500", "batch_rows: 100"),
    ("max_wait: 1s", "max_wait: 100ms"),
]


def send(port, uids):
    return send_beacons(port, uids)


def metrics(proc):
    """/metrics of `proc`, checked strictly (harness.check_metrics_text)."""
    status, body = proc.admin("/metrics")
    assert status == 200, body
    return check_metrics_text(body.decode())


class RedisQueueTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-redis-it-")
        self.redis = Redis().start()
        self.db = os.path.join(self.tmp, "warehouse.db")
        self.env = {"OCEANUS_REDIS": self.redis.address, "OCEANUS_SQLITE_PATH": self.db}
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                p.kill9()
        self.redis.stop()

    def config(self, extra=()):
        return example_config(self.tmp, FAST + list(extra), base=REDIS_EXAMPLE)

    def start(self, role, config, admin_port=None):
        p = Oceanus(config=config, role=role, env=self.env, db_path=self.db, admin_port=admin_port).start()
        self.procs.append(p)
        return p

    def stored(self, any_proc):
        return collections.Counter(r["uid"] for r in any_proc.rows("samplesite"))

    def assert_exactly_once(self, acked, holder):
        stored = self.stored(holder)
        missing = [u for u in acked if stored[u] == 0]
        self.assertEqual(missing[:5], [], f"{len(missing)} acknowledged events lost")
        twice = [u for u, n in stored.items() if n > 1]
        self.assertEqual(twice[:5], [], f"{len(twice)} events stored twice")

    def test_two_collectors_two_loaders_store_10k_events_once(self):
        config = self.config()
        c1, c2 = self.start("collect", config), self.start("collect", config)
        l1, l2 = self.start("load", config), self.start("load", config)
        uids = [f"u{i}" for i in range(10000)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            parts = [pool.submit(send, port, uids[i::4]) for i, port in
                     enumerate([c1.port, c2.port, c1.port, c2.port])]
            acked = [u for f in parts for u in f.result()]
        self.assertEqual(len(acked), 10000)
        l1.wait_rows("samplesite", 10000, timeout=120)
        for p in (c1, c2, l1, l2):
            self.assertEqual(p.stop(), 0, p.read_log())
        self.assert_exactly_once(acked, l1)
        self.assertEqual(sum(self.stored(l1).values()), 10000)
        # Both loaders took part (consumer group shares the work).
        self.assertIn("rows loaded", l1.read_log())
        self.assertIn("rows loaded", l2.read_log())

    def pending(self):
        """Entries of the group `load` delivered to a consumer and not acknowledged."""
        first = (self.redis.raw("XPENDING", "samplesite", "load").split() or ["0"])[0]
        return int(first) if first.isdigit() else 0  # NOGROUP: no loader has read yet

    def test_killed_loaders_pending_entries_are_claimed_and_stored_once(self):
        config = self.config([("batch_rows: 100", "batch_rows: 20")])
        c = self.start("collect", config)
        pending = 0
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            sending = pool.submit(send, c.port, [f"k{i}" for i in range(3000)])
            # A kill -9 leaves entries pending only when it lands mid-batch: while events keep
            # arriving, start a loader, kill it once it holds some, and try again if the kill
            # came just after an acknowledgement.
            while pending == 0 and not sending.done():
                doomed = self.start("load", config)
                wait_for(lambda: self.pending() > 0 or sending.done(), timeout=60, interval=0.005,
                         what="a batch delivered to the loader")
                doomed.kill9()
                pending = self.pending()
            acked = sending.result()
        self.assertEqual(len(acked), 3000)
        self.assertGreater(pending, 0, "no kill landed while the loader held entries")
        survivor = self.start("load", config)
        survivor.wait_rows("samplesite", 3000, timeout=120)
        # Entries a dead loader stored but never acknowledged are claimed and acknowledged too.
        wait_for(lambda: self.pending() == 0, timeout=60, what="the dead loaders' entries claimed")
        self.assertEqual(survivor.stop(), 0, survivor.read_log())
        self.assertEqual(c.stop(), 0)
        self.assert_exactly_once(acked, survivor)

    def test_redis_outage_spools_and_forwards_every_event_once(self):
        config = self.config()
        c = self.start("collect", config)
        loader = self.start("load", config)
        acked = send(c.port, [f"before{i}" for i in range(200)])
        # The Redis that comes back below is a new, empty one (its data lost as well), so what
        # was in the old one must be loaded first; on a busy CI machine the loader could still
        # be behind when it stopped, and those rows were then missing at the end.
        loader.wait_rows("samplesite", len(acked), timeout=60)
        self.redis.stop()
        outage_start = time.monotonic()
        during = []
        # The 30 s outage, at a steady 500 events/s: as fast as possible sent 200k
        # events on a quiet machine, and loading them raced the timeout when CI was busy.
        batch_at = outage_start
        while time.monotonic() - outage_start < 30:
            during += send(c.port, [f"during{len(during) + i}" for i in range(50)])
            batch_at += 0.1
            time.sleep(max(0.0, batch_at - time.monotonic()))  # pacing, not synchronisation
        self.assertGreater(len(during), 0)
        self.assertEqual(len([u for u in during]), len(set(during)))
        spool_dir = os.path.join(c.data_dir, "spool", "samplesite")
        self.assertTrue(any(f.endswith(".seg") for f in os.listdir(spool_dir)))
        self.redis = Redis(port=self.redis.port)
        self.redis.start()
        acked += during
        acked += send(c.port, [f"after{i}" for i in range(200)])
        loader.wait_rows("samplesite", len(acked), timeout=120)
        self.assertEqual(c.stop(), 0, c.read_log())
        self.assertEqual(loader.stop(), 0, loader.read_log())
        self.assert_exactly_once(acked, loader)
        # The spool was forwarded and consumed: only empty, sealed-and-deleted segments remain.
        leftover = [f for f in os.listdir(spool_dir) if f.endswith(".seg") and
                    os.path.getsize(os.path.join(spool_dir, f)) > 8]
        self.assertEqual(leftover, [])

    def test_unreadable_entry_goes_to_the_dead_letter_stream_and_the_rest_flow(self):
        config = self.config()
        c = self.start("collect", config)
        loader = self.start("load", config)
        self.redis.cli("XADD", "samplesite", "*", "d", "this is not json")
        acked = send(c.port, [f"ok{i}" for i in range(50)])
        loader.wait_rows("samplesite", 50)
        wait_for(lambda: self.redis.raw("XLEN", "samplesite:dead").strip() == "1", what="a dead-letter entry")
        dead = self.redis.raw("XRANGE", "samplesite:dead", "-", "+")
        self.assertIn("this is not json", dead)
        self.assertIn("unreadable record", dead)
        self.assert_exactly_once(acked, loader)
        self.assertEqual(loader.stop(), 0)
        self.assertEqual(c.stop(), 0)

    def test_publish_also_sends_each_record_on_the_site_channel(self):
        import subprocess
        config = self.config([("publish: false", "publish: true")])
        c = self.start("collect", config)
        sub = subprocess.Popen(["redis-cli", "-p", str(self.redis.port), "--raw", "SUBSCRIBE", "samplesite"],
                               stdout=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: self.redis.raw("PUBSUB", "NUMSUB", "samplesite").split()[-1] == "1",
                     what="the subscriber")
            self.assertEqual(send(c.port, ["pub1"]), ["pub1"])
            lines = []
            wait_for(lambda: lines.append(sub.stdout.readline().strip()) or any('"uid":"pub1"' in l for l in lines),
                     what="the published record")
            record = next(l for l in lines if '"uid":"pub1"' in l)
            self.assertTrue(record.startswith('{"dev":'), record)  # the queued JSON, keys sorted
            self.assertIn(record, self.redis.raw("XRANGE", "samplesite", "-", "+"))
        finally:
            sub.kill()
            sub.wait()
        self.assertEqual(c.stop(), 0)

    def test_entry_delivered_too_often_goes_to_the_dead_letter_stream(self):
        config = self.config([("max_deliveries: 5", "max_deliveries: 1")])
        # A consumer that reads an entry and dies before acknowledging it (delivery 1).
        # Three of them: claimed together, so the pipelined replies of one claim must not be
        # mistaken for the answers to the dead-letter writes in between.
        self.redis.cli("XGROUP", "CREATE", "samplesite", "load", "0", "MKSTREAM")
        for i in range(3):
            self.redis.cli("XADD", "samplesite", "*", "d",
                           f'{{"dt":"2026-11-25 00:00:00","eid":"x{i}","uid":"ghost{i}"}}')
        self.redis.raw("XREADGROUP", "GROUP", "load", "ghost", "COUNT", "3", "STREAMS", "samplesite", ">")
        loader = self.start("load", config)
        # After claim_idle the loader claims them: delivery 2 > max_deliveries 1 → dead-letter.
        wait_for(lambda: self.redis.raw("XLEN", "samplesite:dead").strip() == "3", timeout=30,
                 what="the entries in the dead-letter stream")
        dead = self.redis.raw("XRANGE", "samplesite:dead", "-", "+")
        self.assertEqual(dead.count("delivered 2 times to group load without being acknowledged"), 3)
        for i in range(3):
            self.assertIn(f'"uid":"ghost{i}"', dead)
        self.assertEqual(loader.rows("samplesite"), [])
        self.assertIn("0", self.redis.raw("XPENDING", "samplesite", "load").split()[0])
        self.assertEqual(loader.stop(), 0)

    def test_streams_are_trimmed_only_below_what_every_group_has_read(self):
        # With a react group configured that nobody reads, nothing it needs may be trimmed.
        lagging = self.config([("groups: [load]", "groups: [load, react]")])
        c = self.start("collect", lagging)
        loader = self.start("load", lagging)
        send(c.port, [f"r{i}" for i in range(300)])
        loader.wait_rows("samplesite", 300)
        self.assertEqual(int(self.redis.raw("XLEN", "samplesite")), 300)
        # Let react have read the first 100: the trimmer may then remove those (both groups
        # are past them) and nothing else. Trimming runs after an acknowledgement, so markers
        # keep the loader acknowledging until the trim is seen: the positive sign that the
        # trimmer has run since every entry was loaded.
        ids = self.redis.raw("XRANGE", "samplesite", "-", "+").split()
        ids = [t for t in ids if re.fullmatch(r"\d+-\d+", t)]
        self.assertEqual(len(ids), 300)
        self.redis.cli("XGROUP", "SETID", "samplesite", "react", ids[99])
        markers = []

        def trimmed():
            markers.extend(send(c.port, [f"marker{len(markers)}"]))
            first = self.redis.raw("XRANGE", "samplesite", "-", "+", "COUNT", "1").split()[0]
            return first != ids[0] and first
        first = wait_for(trimmed, timeout=20, interval=0.3, what="a trim pass")
        self.assertEqual(first, ids[100], "the trim removed an entry group react still needs")
        self.assertEqual(int(self.redis.raw("XLEN", "samplesite")), 200 + len(markers))
        self.assertEqual(loader.stop(), 0)
        # With load as the only group, acknowledged entries are trimmed.
        only_load = example_config(tempfile.mkdtemp(), FAST, base=REDIS_EXAMPLE)
        self.redis.cli("XGROUP", "DESTROY", "samplesite", "react")
        loader2 = self.start("load", only_load)
        send(c.port, [f"s{i}" for i in range(100)])
        loader2.wait_rows("samplesite", 400 + len(markers))
        wait_for(lambda: int(self.redis.raw("XLEN", "samplesite")) < 50, timeout=20,
                 what="the stream to be trimmed")
        self.assertEqual(loader2.stop(), 0)
        self.assertEqual(c.stop(), 0)

    def test_the_last_acknowledgement_before_a_quiet_spell_is_trimmed(self):
        # Trimming is due at most every trim_every; an acknowledgement that comes sooner after
        # the previous trim leaves its entries for the next chance, which must come even when
        # no further acknowledgement does.
        cfg = self.config([("trim_every: 200ms", "trim_every: 1500ms")])
        c = self.start("collect", cfg)
        loader = self.start("load", cfg)
        send(c.port, ["first"])
        loader.wait_rows("samplesite", 1)
        wait_for(lambda: int(self.redis.raw("XLEN", "samplesite")) == 0, timeout=20,
                 what="the first entry trimmed")
        send(c.port, [f"q{i}" for i in range(100)])
        loader.wait_rows("samplesite", 101)
        wait_for(lambda: int(self.redis.raw("XLEN", "samplesite")) == 0, timeout=20,
                 what="the entries of the last acknowledgement trimmed")
        self.assertEqual(loader.stop(), 0)
        self.assertEqual(c.stop(), 0)

    def test_forwarded_outage_leaves_no_unconsumed_spool(self):
        c = self.start("collect", self.config(), admin_port=free_port())
        m = metrics(c)
        self.assertEqual(m[("oceanus_spool_unconsumed_bytes", frozenset({("site", "samplesite")}))], 0)
        self.redis.stop()
        spooled = send(c.port, [f"o{i}" for i in range(300)])
        self.assertEqual(len(spooled), 300)
        m = metrics(c)
        self.assertGreater(m[("oceanus_spool_unconsumed_bytes", frozenset({("site", "samplesite")}))], 300 * 100)
        self.redis = Redis(port=self.redis.port).start()
        wait_for(lambda: int(self.redis.raw("XLEN", "samplesite") or 0) >= 300, timeout=30,
                 what="the spool forwarded")
        # The OceanusCollectorSpooling alert watches this gauge: it must come back to 0 (the
        # segment the writer still holds stays on disk, in oceanus_spool_bytes).
        wait_for(lambda: metrics(c)[("oceanus_spool_unconsumed_bytes", frozenset({("site", "samplesite")}))] == 0,
                 timeout=20, what="oceanus_spool_unconsumed_bytes 0")
        self.assertEqual(int(self.redis.raw("XLEN", "samplesite")), 300)
        self.assertEqual(c.stop(), 0, c.read_log())
        # Said once, after the outage, with the count; never on the clean start.
        lines = [l for l in c.read_log().splitlines() if "writing to Redis directly again" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("300 spooled event(s) forwarded", lines[0])

    def test_metrics_of_collect_and_load_are_well_formed(self):
        config = self.config()
        c = self.start("collect", config, admin_port=free_port())
        loader = self.start("load", config, admin_port=free_port())
        send(c.port, [f"w{i}" for i in range(20)])
        loader.wait_rows("samplesite", 20)
        wait_for(lambda: metrics(loader).get(("oceanus_events_loaded_total",
                                              frozenset({("site", "samplesite")}))) == 20,
                 what="loaded = 20")
        for proc, family in ((c, "oceanus_events_rejected_total"), (loader, "oceanus_sink_write_seconds_count")):
            m = metrics(proc)
            self.assertTrue(any(name == family for name, _ in m), family)
            self.assertEqual(m[("oceanus_redis_up", frozenset())], 1)
        self.assertEqual(loader.stop(), 0)
        self.assertEqual(c.stop(), 0)

    def test_rstatus_reports_streams_groups_spool_and_reachability(self):
        config = self.config([("groups: [load]", "groups: [load, react]")])
        c = self.start("collect", config, admin_port=free_port())
        loader = self.start("load", config)
        send(c.port, [f"st{i}" for i in range(120)])
        loader.wait_rows("samplesite", 120)

        def status():
            code, body = c.admin("/rstatus")
            self.assertEqual(code, 200)
            return json.loads(body)

        s = wait_for(lambda: (lambda s: s if s["sites"]["samplesite"]["groups"]["load"]["lag"] == 0
                              and s["sites"]["samplesite"]["groups"]["load"]["pending"] == 0 else None)(status()),
                     what="the load group to catch up")
        site = s["sites"]["samplesite"]
        self.assertTrue(s["redis"]["reachable"])
        self.assertEqual(site["stream_length"], 120)  # react lags: nothing trimmed
        self.assertEqual(site["groups"]["react"]["lag"], 120)
        self.assertEqual(site["dead_letter_length"], 0)
        self.assertIn("spool_bytes", site)
        self.redis.stop()
        s = status()
        self.assertFalse(s["redis"]["reachable"])
        self.assertIn("error", s["redis"])
        self.assertEqual(c.admin("/nope")[0], 404)
        self.assertEqual(loader.stop(), 0)
        self.assertEqual(c.stop(), 0)


if __name__ == "__main__":
    unittest.main()

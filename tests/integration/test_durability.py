"""Nothing acknowledged is lost, nothing is stored twice: kill -9 and SIGTERM mid-stream."""
import collections
import concurrent.futures
import signal
import tempfile
import unittest

from harness import Oceanus, example_config, send_beacons, wait_for


def send_events(port, uids):
    """Stops at the first connection error: the server went away."""
    return send_beacons(port, uids, stop_on_error=True)


class DurabilityTest(unittest.TestCase):
    def test_kill9_mid_load_then_restart_stores_every_acknowledged_event_once(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-kill-")
        # Small batches so that the kill lands between many loader commits.
        config = example_config(tmp, [("batch_rows: 500", "batch_rows: 50"),
                                      ("max_wait: 1s", "max_wait: 50ms")])
        o = Oceanus(config=config).start()
        uids = [f"k{i}" for i in range(6000)]
        chunks = [uids[i::4] for i in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(send_events, o.port, chunk) for chunk in chunks]
            # Kill once the loader has committed some rows and requests are still coming.
            wait_for(lambda: len(o.rows("samplesite", "uid LIKE 'k%'")) >= 500, timeout=60,
                     what="some rows loaded before the kill")
            o.kill9()
            acked = [uid for f in futures for uid in f.result()]
        self.assertGreater(len(acked), 500)
        self.assertLess(len(acked), len(uids), "the kill should land while requests are still coming")

        # Restart on the same data dir: the spool is recovered and loading resumes.
        o2 = Oceanus(config=config, data_dir=o.data_dir).start()
        acked += send_events(o2.port, [f"after{i}" for i in range(100)])
        rows = o2.wait_rows("samplesite", len(acked), timeout=60)
        self.assertEqual(o2.stop(), 0, o2.read_log())

        stored = collections.Counter(r["uid"] for r in o2.rows("samplesite"))
        missing = [u for u in acked if stored[u] == 0]
        self.assertEqual(missing, [], f"{len(missing)} acknowledged events were lost")
        twice = [u for u, n in stored.items() if n > 1]
        self.assertEqual(twice, [], "events stored twice")
        self.assertEqual(len(set(r["eid"] for r in rows)), len(rows))
        self.assertTrue(all(s.startswith("k") or s.startswith("after") for s in stored))
        print(f"\nkill -9: {len(acked)} acknowledged, {len(stored)} stored, "
              f"{sum(1 for u in stored if u.startswith('k')) - len([u for u in acked if u.startswith('k')])} "
              f"unacknowledged in-flight events also stored", flush=True)

    def test_sigterm_answers_in_flight_flushes_the_loader_and_exits_0(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-term-")
        # A long max_wait: without the shutdown flush these rows would still be waiting.
        config = example_config(tmp, [("max_wait: 1s", "max_wait: 10m")])
        o = Oceanus(config=config).start()
        acked = send_events(o.port, [f"t{i}" for i in range(300)])
        self.assertEqual(len(acked), 300)
        self.assertEqual(o.stop(signal.SIGTERM), 0, o.read_log())
        stored = [r["uid"] for r in o.rows("samplesite")]
        self.assertEqual(sorted(stored), sorted(acked))
        # Every segment was consumed and the loader's position is durable: a restart loads nothing new.
        o2 = Oceanus(config=config, data_dir=o.data_dir).start()
        self.assertEqual(o2.stop(), 0)
        self.assertEqual(len(o2.rows("samplesite")), 300)


if __name__ == "__main__":
    unittest.main()

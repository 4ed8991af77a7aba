"""Timeouts, the connection cap, many /gaze delays at once, and fsync durability."""
import concurrent.futures
import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import FAKES, Oceanus, example_config, read_until_closed


def raw_connection(port, payload=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if payload:
        s.sendall(payload)
    return s


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = tempfile.mkdtemp(prefix="oceanus-limits-")
        config = example_config(tmp, [
            ("threads: 0 ", "threads: 1 "),
            ("read_timeout: 10s", "read_timeout: 500ms"),
            ("idle_timeout: 60s", "idle_timeout: 1s"),
            ("max_connections: 10000", "max_connections: 300"),
            ("gaze_delays: [2s, 4s, 4s]", "gaze_delays: [1s, 1s, 1s]"),
        ])
        cls.o = Oceanus(config=config).start()

    @classmethod
    def tearDownClass(cls):
        assert cls.o.stop() == 0, cls.o.read_log()

    def test_slow_request_is_closed_at_the_read_timeout(self):
        s = raw_connection(self.o.port, b"GET /hc HTTP/1.1\r\nHost: x\r\n")  # never finished
        start = time.monotonic()
        self.assertEqual(read_until_closed(s), b"")
        self.assertLess(time.monotonic() - start, 5)
        s.close()
        self.assertEqual(self.o.request("GET", "/hc")[0], 200)

    def test_idle_connection_is_closed(self):
        s = raw_connection(self.o.port)
        self.assertEqual(read_until_closed(s), b"")
        s.close()

    def test_malformed_request_line_gets_400(self):
        s = raw_connection(self.o.port, b"THIS IS NOT HTTP\r\n\r\n")
        self.assertTrue(read_until_closed(s).startswith(b"HTTP/1.1 400"))
        s.close()

    def test_many_mail_opens_wait_on_timers_not_threads(self):
        # One I/O thread, 200 opens each delayed 1 s: on timers they all finish in about 1 s;
        # a thread per wait would take 200 s.
        def open_mail(i):
            status, headers, _ = self.o.request("GET", f"/gaze/samplemail?evt=open&uid=m{i}", timeout=60)
            return status, headers.get("location", "")

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(200) as pool:
            results = list(pool.map(open_mail, range(200)))
        elapsed = time.monotonic() - start
        self.assertEqual([r[0] for r in results], [302] * 200)
        self.assertTrue(all("evt=see" in r[1] for r in results))
        self.assertLess(elapsed, 30, "the delays ran one after another")
        self.o.wait_rows("samplemail", 200, "evt = 'open'")


class ConnectionCapTest(unittest.TestCase):
    def test_connections_over_the_cap_get_503(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-cap-")
        config = example_config(tmp, [("threads: 0 ", "threads: 1 "),
                                      ("max_connections: 10000", "max_connections: 4")])
        o = Oceanus(config=config).start()
        try:
            held = []
            for _ in range(4):
                s = raw_connection(o.port, b"GET /hc HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200"))  # accepted and counted
                held.append(s)
            extra = raw_connection(o.port)
            self.assertTrue(read_until_closed(extra).startswith(b"HTTP/1.1 503"))
            held.pop().close()
            # A slot is free again once the server has seen the close.
            deadline = time.monotonic() + 10
            while True:
                s = raw_connection(o.port, b"GET /hc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                try:
                    answer = read_until_closed(s)
                except ConnectionResetError:
                    # Still over the cap: the 503 closes without reading our request, and the
                    # unread bytes make the kernel reset the connection.
                    answer = b""
                s.close()
                if answer.startswith(b"HTTP/1.1 200"):
                    break
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())


SLOW_SYNC_MS = 300


def slow_sync_shim(tmp):
    """tests/fakes/slow_sync.c built into tmp: fdatasync of files under OCEANUS_SLOW_SYNC_DIR
    takes SLOW_SYNC_MS longer."""
    lib = os.path.join(tmp, "slow_sync.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, os.path.join(FAKES, "slow_sync.c"), "-ldl"],
                   check=True, capture_output=True)
    return lib


class FsyncDurabilityTest(unittest.TestCase):
    def test_fsync_mode_answers_after_group_commit_and_stores_everything(self):
        # Every spool fdatasync takes 300 ms longer: with `durability: fsync` no answer may
        # come before that (it waits for the sync that covers its record); with `os` they
        # come at once.
        tmp = tempfile.mkdtemp(prefix="oceanus-fsync-")
        config = example_config(tmp, [("durability: os ", "durability: fsync ")])
        data_dir = os.path.join(tmp, "data")
        synced = os.path.join(tmp, "syncs.log")
        o = Oceanus(config=config, data_dir=data_dir, env={
            "LD_PRELOAD": slow_sync_shim(tmp), "OCEANUS_SLOW_SYNC_DIR": os.path.join(data_dir, "spool"),
            "OCEANUS_SLOW_SYNC_MS": str(SLOW_SYNC_MS), "OCEANUS_SLOW_SYNC_LOG": synced}).start()

        def send(i):
            started = time.monotonic()
            status = o.request("GET", f"/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=u&uid=f{i}")[0]
            return status, time.monotonic() - started

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(send, range(200)))
        self.assertEqual([status for status, _ in answers], [200] * 200)
        o.wait_rows("samplesite", 200, "uid LIKE 'f%'")
        self.assertEqual(o.stop(), 0, o.read_log())
        # The loader's cursor is synced in any mode: the shim must have seen that at least.
        if not os.path.exists(synced) and os.environ.get("OCEANUS_SANITIZER"):
            self.skipTest("the sanitizer's own fdatasync interceptor hides the shim")
        self.assertTrue(os.path.exists(synced), "the slow-sync shim was not in effect")
        fastest = min(seconds for _, seconds in answers)
        self.assertGreaterEqual(fastest, SLOW_SYNC_MS / 1000 * 0.95,
                                f"an answer came after {fastest * 1000:.0f} ms, before its sync")


if __name__ == "__main__":
    unittest.main()

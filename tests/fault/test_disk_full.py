"""Scenario 7: the spool's disk fills up, then space comes back.

The embedded default (`oceanus run`) with its data dir — the spool — on a small tmpfs of its
own (`mount -t tmpfs`; the test needs root, and is skipped with the reason when the mount is
not allowed). The warehouse and the task queue live elsewhere, so only the spool is short of
space. Under steady load a filler file takes every free byte and keeps taking what the
loader frees (consumed segments are deleted) for OCEANUS_FAULT_DISK_FULL_SECONDS (default
10); then it is deleted.

Guarantee: while the disk is full the collector answers 503 for events it cannot write —
never 2xx for an event it did not keep — and stays up; when space returns it answers 2xx
again by itself; every event answered 2xx, before, during and after, is stored exactly once,
and nothing in the spool is damaged (no .corrupt files).
"""
import errno
import os
import sqlite3
import subprocess
import threading
import time
import unittest

from scenario import EXAMPLE, FaultScenario, Sender, sqlite_rows, wait_all_stored, wait_for

FULL_SECONDS = float(os.environ.get("OCEANUS_FAULT_DISK_FULL_SECONDS", "10"))
TMPFS_SIZE = "16m"
SMALL_TMPFS_SIZE = "2m"  # the spool fills it in under a minute at 250 events/s


class Filler:
    """Takes every free byte of a filesystem with one file, and (top_up) keeps taking what is
    freed, from a thread, until stop()."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "wb", buffering=0)
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = None

    def fill(self):
        for size in (1 << 20, 64 << 10, 4096, 512, 1):
            chunk = b"\0" * size
            while True:
                try:
                    written = self.f.write(chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
                self.bytes += written or 0
                if not written or written < size:
                    break
        return self.bytes

    def top_up(self):
        def run():
            while not self._stop.wait(0.01):
                self.fill()
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.f.close()
        os.unlink(self.path)


class DiskFullTest(FaultScenario):
    def mount_tmpfs(self, path, size):
        os.makedirs(path)
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {r.stderr.strip() or r.returncode}")
        # Cleanups run after tearDown, which has stopped the processes using it.
        self.addCleanup(subprocess.run, ["umount", path], capture_output=True)

    def start_on_tmpfs(self, size):
        """`oceanus run` with its data dir (the spool) on a tmpfs of `size`; the warehouse and
        the task queue elsewhere. Returns the process and the warehouse's path."""
        self.data = os.path.join(self.tmp, "data")
        self.mount_tmpfs(self.data, size)
        warehouse = os.path.join(self.tmp, "warehouse.db")
        cfg = self.config([
            ("  type: sqlite                 # file: <data_dir>/oceanus.db",
             f"  type: sqlite\n  path: {warehouse}"),
            ("  type: local                  # SQLite in <data_dir>/tasks.db; or rabbitmq (see examples/redis.yaml)",
             f"  type: local\n  path: {os.path.join(self.tmp, 'tasks.db')}"),
        ], base=EXAMPLE)
        return self.start("run", cfg, {}, data_dir=self.data), warehouse

    def corrupt_files(self):
        return [f for _, _, fs in os.walk(os.path.join(self.data, "spool")) for f in fs if f.endswith(".corrupt")]

    def test_spool_disk_full_answers_503_never_200_then_recovers(self):
        o, warehouse = self.start_on_tmpfs(TMPFS_SIZE)
        data = self.data
        rows = lambda: sqlite_rows(warehouse)  # noqa: E731
        self.sender = Sender(o.port, "df").start()
        self.sender.wait_acked(1000, "before")

        # The disk fills up and stays full.
        self.sender.phase = "during"
        filler = Filler(os.path.join(data, "filler"))
        filled = filler.fill()
        full_at = time.monotonic()
        filler.top_up()
        try:
            while time.monotonic() - full_at < FULL_SECONDS:
                self.assertIsNone(o.proc.poll(), f"oceanus exited on a full disk:\n{o.read_log()[-3000:]}")
                time.sleep(0.5)  # holding the fault for its duration
        finally:
            filler.stop()  # space comes back
        freed_at = time.monotonic()
        settled_full = full_at + 1.0  # by then the spool's last free pages are gone too
        refused = self.sender.count("during", since=settled_full, what="503")
        sent_full = self.sender.count("during", since=settled_full, what="sent")
        acked_full = self.sender.count("during", since=settled_full, what="acked")

        self.sender.phase = "after"
        wait_for(lambda: self.sender.count("after", what="acked") > 0, timeout=60,
                 what="the collector to answer 2xx again")
        recovered_s = round(time.monotonic() - freed_at, 1)
        self.sender.wait_acked(1000, "after")
        self.sender.stop()

        settle = wait_all_stored(self.sender.acked(), rows, timeout=120)
        code = o.stop(timeout=60)
        corrupt = self.corrupt_files()
        self.finish("spool_disk_full", self.sender, rows(), settle, tmpfs=TMPFS_SIZE, filler_bytes=filled,
                    full_s=round(freed_at - full_at, 1), sent_while_full=sent_full, refused_while_full=refused,
                    acked_while_full=acked_full, recovered_after_s=recovered_s, corrupt_files=len(corrupt))
        self.assertEqual(code, 0, self.logs())
        self.assertGreater(refused, 0, "no 503 while the disk was full")
        # Not all: pages the loader frees by deleting consumed segments go to whoever writes
        # first, the filler or the spool (those events are kept and answered 2xx).
        self.assertGreaterEqual(refused, sent_full * 0.5, "the full disk did not refuse most events")
        self.assertEqual(corrupt, [], "spool segments were damaged")

    def test_spool_fills_its_own_disk_while_the_sink_is_down_then_recovers(self):
        """The way a disk really fills: the warehouse is unavailable, the spool grows until the
        disk is full, then the warehouse comes back. The loader must be able to acknowledge
        (write its cursor) and free the consumed segments on a full disk, or it never frees
        space and the collector answers 503 for ever."""
        o, warehouse = self.start_on_tmpfs(SMALL_TMPFS_SIZE)
        rows = lambda: sqlite_rows(warehouse)  # noqa: E731
        self.sender = Sender(o.port, "dg").start()
        self.sender.wait_acked(1000, "before")
        wait_for(lambda: len(rows()) >= 500, timeout=60, what="rows in the warehouse")

        # The warehouse goes away; the spool grows until the tmpfs is full (503s).
        self.sender.phase = "during"
        lock = sqlite3.connect(warehouse, isolation_level=None, timeout=60)
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        try:
            wait_for(lambda: self.sender.count("during", what="503") >= 250, timeout=300, interval=0.5,
                     what="the spool to fill its disk (503s)")
        finally:
            lock.execute("ROLLBACK")  # the warehouse is back
            lock.close()
        full_after_s = round(time.monotonic() - locked_at, 1)
        released_at = time.monotonic()
        self.sender.phase = "after"
        recovered = True
        try:
            wait_for(lambda: self.sender.count("after", what="acked") > 0, timeout=120, interval=0.5,
                     what="the collector to answer 2xx again once the warehouse was back")
        except AssertionError:
            recovered = False
        recovered_s = round(time.monotonic() - released_at, 1) if recovered else None
        if recovered:
            self.sender.wait_acked(1000, "after")
        self.sender.stop()

        settle = wait_all_stored(self.sender.acked(), rows, timeout=120)
        code = o.stop(timeout=60)
        corrupt = self.corrupt_files()
        self.finish("spool_fills_disk_sink_down", self.sender, rows(), settle, tmpfs=SMALL_TMPFS_SIZE,
                    disk_full_after_s=full_after_s, recovered_after_s=recovered_s, corrupt_files=len(corrupt),
                    failed=not recovered)
        self.assertTrue(recovered, "the spool never freed its disk after the warehouse came back:\n"
                        + o.read_log()[-3000:])
        self.assertEqual(code, 0, self.logs())
        self.assertEqual(corrupt, [], "spool segments were damaged")


if __name__ == "__main__":
    unittest.main()

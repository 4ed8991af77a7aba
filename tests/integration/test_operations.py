"""What operators use: /metrics and its accounting identities, log formats."""
import collections
import http.client
import json
import os
import pty
import re
import signal
import shutil
import subprocess
import uuid
import tempfile
import threading
import unittest
import urllib.parse
import zlib

from harness import (BIN, REDIS_EXAMPLE, Oceanus, Redis, example_config, free_port, send_beacons,
                     wait_for)

SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def scrape(o):
    """/metrics as {(name, frozenset(labels)): value}; checks the text format as it goes."""
    status, body = o.admin("/metrics")
    assert status == 200, body
    samples = {}
    declared = set()
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in declared, f"{name} declared twice"
            declared.add(name)
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in declared or family in declared, f"{name} has no TYPE line"
        key = (name, frozenset(LABEL.findall(labels or "")))
        assert key not in samples, f"duplicate sample {line}"
        samples[key] = float(value)
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name, **labels):
    """Sum over every sample of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


class MetricsTest(unittest.TestCase):
    def send(self, o, path, method="GET", body=None, headers=None):
        return o.request(method, path, body=body, headers=headers)[0]

    def traffic(self, o):
        """Known traffic: 20 good beacons, 5 invalid, 3 malformed; 4 good forms, 2 of the
        wrong media type; 2 unknown paths. Returns nothing; the counts are asserted."""
        for i in range(20):
            self.assertEqual(self.send(o, f"/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=u&uid=m{i}"), 200)
        for i in range(5):
            self.assertEqual(self.send(o, f"/swallow/samplesite?oid=2&evt=pageview&url=u&uid=bad{i}"), 400)
        for i in range(3):
            self.assertEqual(self.send(o, "/swallow/samplesite?oid=2&sid=ab&evt=x&url=%zz"), 400)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for i in range(4):
            body = urllib.parse.urlencode({"sid": "ab", "name": f"n{i}", "url": "u"})
            self.assertEqual(self.send(o, "/pirate/sampleform", "POST", body, form), 200)
        for i in range(2):
            self.assertEqual(self.send(o, "/pirate/sampleform", "POST", "{}",
                                       {"Content-Type": "application/json"}), 415)
        for i in range(2):
            self.assertEqual(self.send(o, "/nowhere"), 404)

    def check_collector(self, m):
        self.assertEqual(value(m, "oceanus_requests_total", site="samplesite", endpoint="swallow", status="200"), 20)
        self.assertEqual(value(m, "oceanus_requests_total", site="samplesite", endpoint="swallow", status="400"), 8)
        self.assertEqual(value(m, "oceanus_requests_total", site="sampleform", endpoint="pirate", status="200"), 4)
        self.assertEqual(value(m, "oceanus_requests_total", site="sampleform", endpoint="pirate", status="415"), 2)
        self.assertEqual(value(m, "oceanus_requests_total", site="", endpoint="other", status="404"), 2)
        self.assertEqual(value(m, "oceanus_events_rejected_total", site="samplesite", reason="invalid"), 5)
        self.assertEqual(value(m, "oceanus_events_rejected_total", site="samplesite", reason="malformed"), 3)
        self.assertEqual(value(m, "oceanus_events_rejected_total", site="sampleform", reason="media_type"), 2)
        self.assertEqual(value(m, "oceanus_validation_failures_total", site="samplesite", field="sid", reason="required"), 5)
        self.assertEqual(value(m, "oceanus_events_queued_total", site="samplesite"), 20)
        self.assertEqual(value(m, "oceanus_events_queued_total", site="sampleform"), 4)
        # The identity, per site: received = rejected (by reason) + queued.
        for site in ("samplesite", "sampleform", "samplemail", "sampleserver"):
            received = value(m, "oceanus_events_received_total", site=site)
            rejected = total(m, "oceanus_events_rejected_total", site=site)
            queued = value(m, "oceanus_events_queued_total", site=site)
            self.assertEqual(received, rejected + queued, site)

    def test_one_process_accounts_for_every_request(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-metrics-")
        o = Oceanus(config=example_config(tmp), admin_port=free_port()).start()
        try:
            self.traffic(o)
            o.wait_rows("samplesite", 20, "uid LIKE 'm%'")
            o.wait_rows("sampleform", 4)
            # Loaded is counted when a batch is acknowledged, just after the rows commit.
            wait_for(lambda: value(scrape(o), "oceanus_events_loaded_total", site="samplesite") == 20,
                     what="loaded = 20")
            m = scrape(o)
            self.check_collector(m)
            # queued = loaded + dead-lettered + in flight, and nothing is in flight now.
            for site in ("samplesite", "sampleform"):
                self.assertEqual(value(m, "oceanus_events_queued_total", site=site),
                                 value(m, "oceanus_events_loaded_total", site=site)
                                 + value(m, "oceanus_events_dead_lettered_total", site=site), site)
            self.assertEqual(value(m, "oceanus_up", role="run"), 1)
            self.assertGreaterEqual(total(m, "oceanus_loader_batches_total"), 2)
            self.assertEqual(total(m, "oceanus_loader_errors_total"), 0)
            self.assertEqual(value(m, "oceanus_sink_write_seconds_count", site="samplesite"),
                             value(m, "oceanus_sink_write_seconds_bucket", site="samplesite", le="+Inf"))
            self.assertGreaterEqual(value(m, "oceanus_sink_write_seconds_count", site="samplesite"), 1)
            self.assertGreater(value(m, "oceanus_spool_bytes", site="samplesite"), 0)
            self.assertIn(("oceanus_tasks", frozenset({("state", "dead")})), m)
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())

    def test_split_roles_on_redis_account_across_processes(self):
        redis = Redis().start()
        try:
            tmp = tempfile.mkdtemp(prefix="oceanus-metrics-redis-")
            config = example_config(tmp, [("127.0.0.1:6379", redis.address)], base=REDIS_EXAMPLE)
            data = os.path.join(tmp, "data")
            collector = Oceanus(config=config, role="collect", data_dir=data, admin_port=free_port()).start()
            self.traffic(collector)
            # No loader yet: everything queued is in flight, in the stream.
            m = scrape(collector)
            self.check_collector(m)
            self.assertEqual(value(m, "oceanus_redis_up"), 1)
            self.assertEqual(value(m, "oceanus_queue_lag", site="samplesite", group="load"), 20)
            self.assertGreater(value(m, "oceanus_queue_lag_seconds", site="samplesite", group="load"), 0)
            loader = Oceanus(config=config, role="load", data_dir=data, admin_port=free_port()).start()
            try:
                def settled():
                    # Every site loaded, not just the first: the sites are read independently.
                    c, l = scrape(collector), scrape(loader)
                    done = all(value(l, "oceanus_events_loaded_total", site=site)
                               + value(l, "oceanus_events_dead_lettered_total", site=site)
                               == value(c, "oceanus_events_queued_total", site=site)
                               for site in ("samplesite", "sampleform"))
                    return (c, l) if done else None
                c, l = wait_for(settled, what="the loader to load what every site queued")
                self.assertEqual(value(l, "oceanus_events_loaded_total", site="samplesite"), 20)
                for site in ("samplesite", "sampleform"):
                    queued = value(c, "oceanus_events_queued_total", site=site)
                    in_flight = (value(l, "oceanus_queue_lag", site=site, group="load")
                                 + value(l, "oceanus_queue_pending", site=site, group="load"))
                    self.assertEqual(queued, value(l, "oceanus_events_loaded_total", site=site)
                                     + value(l, "oceanus_events_dead_lettered_total", site=site)
                                     + in_flight, site)
                    self.assertEqual(in_flight, 0)
                self.assertEqual(value(l, "oceanus_queue_lag_seconds", site="samplesite", group="load"), 0)
                self.assertEqual(value(l, "oceanus_up", role="load"), 1)
            finally:
                self.assertEqual(loader.stop(), 0, loader.read_log())
                self.assertEqual(collector.stop(), 0, collector.read_log())
        finally:
            redis.stop()


class LogFormatTest(unittest.TestCase):
    def test_json_log_format_writes_one_object_per_line(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-logs-")
        config = example_config(tmp)
        data_dir = os.path.join(tmp, "data")
        log_path = os.path.join(tmp, "oceanus.log")
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([BIN, "run", "--log-format", "json", "--config", config,
                                     "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}",
                                     "--admin-listen", "off"], stdout=log, stderr=subprocess.STDOUT)
            o = Oceanus(config=config, data_dir=data_dir, port=port)
            o.proc = proc
            o.log_path = log_path
            try:
                wait_for(o._healthy, timeout=30, what="oceanus /hc")
                self.assertEqual(send_beacons(port, ["json-log"]), ["json-log"])
                o.wait_rows("samplesite", 1, "uid = 'json-log'")
            finally:
                proc.terminate()
                self.assertEqual(proc.wait(timeout=30), 0)
        with open(log_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        self.assertGreater(len(records), 3)
        for r in records:
            self.assertEqual(sorted(r), ["level", "msg", "thread", "time"])
            self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(r["level"], ("trace", "debug", "info", "warning", "error", "critical"))
        msgs = [r["msg"] for r in records]
        self.assertTrue(any(m.startswith("listening on 127.0.0.1:") for m in msgs), msgs)
        self.assertIn("bye", msgs)

    def test_unknown_log_format_is_refused(self):
        out = subprocess.run([BIN, "--log-format", "xml", "check", "--config",
                              example_config(tempfile.mkdtemp())], capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("xml not in {text,json}", out.stderr)


def spool_record(payload):
    """One framed spool record (docs/spool_format.md): u32 length, u32 CRC-32 of both, payload."""
    data = payload.encode()
    length = len(data).to_bytes(4, "little")
    return length + zlib.crc32(length + data).to_bytes(4, "little") + data


def dead_records(prefix, n):
    """Records as the collector queued them (sorted keys, a fresh eid each)."""
    return [json.dumps({"dt": "2026-11-25 01:00:00.000000", "eid": str(uuid.uuid4()),
                        "evt": "pageview", "oid": "2", "sid": "ab", "uid": f"{prefix}{i}",
                        "url": "u"}, separators=(",", ":"), sort_keys=True) for i in range(n)]


class ReplayTest(unittest.TestCase):
    def replay(self, config, data_dir, *args, tty=False):
        cmd = [BIN, "replay", "--config", config, "--data-dir", data_dir, *args]
        if not tty:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            return r.returncode, r.stderr
        controller, terminal = pty.openpty()  # stderr is a terminal: the progress bar draws
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        out = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(controller)
        return proc.wait(timeout=120), out.decode(errors="replace")

    def test_dead_letter_file_is_replayed_once_with_a_progress_bar(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-replay-")
        config = example_config(tmp)
        data = os.path.join(tmp, "data")
        os.makedirs(os.path.join(data, "deadletter"))
        records = dead_records("r", 300)
        path = os.path.join(data, "deadletter", "samplesite.jsonl")
        with open(path, "w") as f:
            for r in records:
                f.write(json.dumps({"at": "2026-11-25 01:00:01.000000", "reason": "no such column",
                                    "record": r}) + "\n")
            f.write("not json at all\n")

        code, out = self.replay(config, data, "--dry-run")
        self.assertEqual(code, 0, out)
        # 300 records and 1 unreadable line: the unreadable one is not counted as a record.
        self.assertIn("would replay 300 record(s); 1 unreadable", out)
        self.assertNotIn("[#", out, "no progress bar when stderr is not a terminal")
        self.assertTrue(os.path.exists(path))

        code, out = self.replay(config, data, tty=True)
        self.assertEqual(code, 0, out)
        self.assertIn("\r", out)
        self.assertRegex(out, r"samplesite \[#{30}\] 100%  301/301 records")
        self.assertIn("replayed 300 record(s); 1 unreadable dead-letter entr(ies) left in the "
                      "dead-letter", out)
        with open(path) as f:  # what could not be read stays where it was, alone
            self.assertEqual(f.read(), "not json at all\n")
        [done] = [n for n in os.listdir(os.path.join(data, "deadletter"))
                  if n.startswith("samplesite.jsonl.replayed-")]
        with open(os.path.join(data, "deadletter", done)) as f:
            self.assertEqual([json.loads(line)["record"] for line in f], records)

        o = Oceanus(config=config, data_dir=data).start()
        try:
            rows = o.wait_rows("samplesite", 300, "uid LIKE 'r%'")
            self.assertEqual(sorted(r["eid"] for r in rows),
                             sorted(json.loads(r)["eid"] for r in records))
            # While oceanus runs, the spool is its own: replay says where to replay from
            # instead and changes nothing.
            shutil.copy(os.path.join(data, "deadletter", done), path)
            code, out = self.replay(config, data)
            self.assertNotEqual(code, 0)
            self.assertIn("replay from the admin page of the running oceanus, or stop it first",
                          out)
            self.assertTrue(os.path.exists(path))
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())

        # Replaying the same records again stores none of them twice.
        code, out = self.replay(config, data)
        self.assertEqual(code, 0, out)
        self.assertIn("replayed 300 record(s)", out)
        o = Oceanus(config=config, data_dir=data).start()
        try:
            self.assertEqual(send_beacons(o.port, ["marker"]), ["marker"])
            o.wait_rows("samplesite", 1, "uid = 'marker'")  # loaded after the replayed ones
            self.assertEqual(len(o.rows("samplesite", "uid LIKE 'r%'")), 300)
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())

    def test_counts_are_exact_and_an_empty_dead_letter_file_is_removed(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-replay-count-")
        config = example_config(tmp)
        data = os.path.join(tmp, "data")
        dead = os.path.join(data, "deadletter")
        os.makedirs(dead)
        path = os.path.join(dead, "samplesite.jsonl")
        with open(path, "w") as f:
            for r in dead_records("c", 2):
                f.write(json.dumps({"at": "2026-11-25 01:00:01.000000", "reason": "x",
                                    "record": r}) + "\n")
            f.write("\n")  # a trailing empty line is no entry
        code, out = self.replay(config, data, "--dry-run")
        self.assertEqual(code, 0, out)
        self.assertEqual(out.strip(), "would replay 2 record(s)")
        code, out = self.replay(config, data)
        self.assertEqual(code, 0, out)
        self.assertEqual(out.strip(), "replayed 2 record(s)")

        open(path, "w").close()  # a dead-letter file with no entry at all
        code, out = self.replay(config, data)
        self.assertEqual(code, 0, out)
        self.assertIn("replayed 0 record(s)", out)
        self.assertFalse(os.path.exists(path))
        left = os.listdir(dead)  # removed, not renamed: only the first replay's file is left
        self.assertEqual(len(left), 1, left)
        self.assertTrue(left[0].startswith("samplesite.jsonl.replayed-"), left)

    def test_corrupt_files_are_resynchronised_and_their_valid_records_replayed(self):
        tmp = tempfile.mkdtemp(prefix="oceanus-replay-corrupt-")
        config = example_config(tmp)
        data = os.path.join(tmp, "data")
        site = os.path.join(data, "spool", "samplesite")
        os.makedirs(site)
        records = dead_records("k", 40)
        # Two damaged regions as the spool sets them aside: a record whose length field was
        # hit, followed by intact ones; then a record with a flipped payload byte.
        first = bytearray(spool_record(records[0]))
        first[2] ^= 0x01
        second = bytearray(spool_record(records[30]))
        second[20] ^= 0x01
        blob = (bytes(first) + b"".join(spool_record(r) for r in records[1:30]) + bytes(second)
                + b"".join(spool_record(r) for r in records[31:]))
        path = os.path.join(site, "w000-0000000001.seg.corrupt")
        with open(path, "wb") as f:
            f.write(blob)
        unreadable = len(first) + len(second)

        code, out = self.replay(config, data, "--corrupt", "--dry-run")
        self.assertEqual(code, 0, out)
        self.assertIn(f"would replay 38 record(s); {unreadable} unreadable byte(s) in 1 .corrupt "
                      "file(s)", out)
        self.assertTrue(os.path.exists(path))
        code, out = self.replay(config, data, "--corrupt")
        self.assertEqual(code, 0, out)
        self.assertIn(f"replayed 38 record(s); {unreadable} unreadable byte(s)", out)
        self.assertFalse(os.path.exists(path))
        [done] = [n for n in os.listdir(site) if ".corrupt.replayed-" in n]
        code, out = self.replay(config, data, "--corrupt")
        self.assertIn("replayed 0 record(s)", out)  # renamed: not sent twice

        o = Oceanus(config=config, data_dir=data).start()
        try:
            rows = o.wait_rows("samplesite", 38, "uid LIKE 'k%'")
            self.assertEqual(sorted(r["uid"] for r in rows),
                             sorted(json.loads(r)["uid"] for r in records[1:30] + records[31:]))
        finally:
            self.assertEqual(o.stop(), 0, o.read_log())

    def test_redis_dead_letter_stream_is_replayed_and_emptied(self):
        redis = Redis().start()
        try:
            tmp = tempfile.mkdtemp(prefix="oceanus-replay-redis-")
            config = example_config(tmp, [("127.0.0.1:6379", redis.address)], base=REDIS_EXAMPLE)
            data = os.path.join(tmp, "data")
            records = dead_records("s", 1200)
            for r in records:
                redis.cli("XADD", "samplesite:dead", "*", "d", r, "reason", "test")
            self.assertEqual(redis.cli("XLEN", "samplesite:dead"), "(integer) 1200")
            loader = Oceanus(config=config, role="load", data_dir=data).start()
            try:
                code, out = self.replay(config, data, "--site", "samplesite")
                self.assertEqual(code, 0, out)
                self.assertIn("replayed 1200 record(s)", out)
                self.assertNotIn("[#", out, "no progress bar when stderr is not a terminal")
                self.assertEqual(redis.cli("EXISTS", "samplesite:dead"), "(integer) 0",
                                 "the emptied stream is removed")
                rows = loader.wait_rows("samplesite", 1200, "uid LIKE 's%'", timeout=60)
                self.assertEqual(len({r["eid"] for r in rows}), 1200)
            finally:
                self.assertEqual(loader.stop(), 0, loader.read_log())
        finally:
            redis.stop()

    def test_a_collectors_leftover_spool_is_forwarded_into_redis(self):
        redis = Redis().start()
        try:
            tmp = tempfile.mkdtemp(prefix="oceanus-replay-spool-")
            config = example_config(tmp, [("127.0.0.1:6379", redis.address)], base=REDIS_EXAMPLE)
            data = os.path.join(tmp, "collector")
            collector = Oceanus(config=config, role="collect", data_dir=data).start()
            redis.stop()  # the collector spools locally from now on
            acked = send_beacons(collector.port, [f"left{i}" for i in range(50)])
            self.assertEqual(len(acked), 50)
            collector.kill9()  # and never comes back to forward them
            redis.start()
            code, out = self.replay(config, data, "--spool", os.path.join(data, "spool"))
            self.assertEqual(code, 0, out)
            self.assertIn("replayed 50 record(s)", out)
            code, out = self.replay(config, data, "--spool", os.path.join(data, "spool"))
            self.assertIn("replayed 0 record(s)", out)  # acknowledged: not sent twice
            loader = Oceanus(config=config, role="load", data_dir=os.path.join(tmp, "loader")).start()
            try:
                rows = loader.wait_rows("samplesite", 50, "uid LIKE 'left%'", timeout=60)
                self.assertEqual(sorted(r["uid"] for r in rows), sorted(acked))
            finally:
                self.assertEqual(loader.stop(), 0, loader.read_log())
        finally:
            redis.stop()


if __name__ == "__main__":
    unittest.main()


class UsableCoresTest(unittest.TestCase):
    """`server.threads: 0` starts one I/O thread per core the process may use: the affinity
    mask (taskset) and the cgroup CPU quota (a container's CPU limit), not the machine's cores."""

    def start_with(self, preexec):
        tmp = tempfile.mkdtemp(prefix="oceanus-cores-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        log_path = os.path.join(tmp, "oceanus.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [BIN, "run", "--config", example_config(tmp), "--data-dir",
                 os.path.join(tmp, "data"), "--listen", f"127.0.0.1:{free_port()}",
                 "--admin-listen", "off"],
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec)
        self.addCleanup(lambda: proc.poll() is None and (proc.terminate(), proc.wait(30)))

        def threads():
            if proc.poll() is not None:
                raise AssertionError(f"oceanus exited with {proc.returncode}")
            with open(log_path, "rb") as f:
                m = re.search(rb"with (\d+) I/O thread", f.read())
            return m and int(m.group(1))
        return wait_for(threads, timeout=30, what="the listening line")

    def test_an_affinity_mask_of_one_core_gives_one_io_thread(self):
        self.assertEqual(self.start_with(lambda: os.sched_setaffinity(0, {0})), 1)

    def test_a_cgroup_cpu_quota_of_one_core_gives_one_io_thread(self):
        # cgroup v1 here (the cpu controller); v2's cpu.max is covered by the unit test's parser.
        root = "/sys/fs/cgroup/cpu"
        if os.cpu_count() < 2 or not os.access(root, os.W_OK) or not os.path.exists(
                os.path.join(root, "cpu.cfs_quota_us")):
            self.skipTest("needs 2+ cores and a writable cgroup v1 cpu hierarchy")
        group = os.path.join(root, f"oceanus-test-{uuid.uuid4().hex[:8]}")
        os.mkdir(group)
        self.addCleanup(os.rmdir, group)  # after the process has exited (cleanups run LIFO)
        with open(os.path.join(group, "cpu.cfs_period_us"), "w") as f:
            f.write("100000")
        with open(os.path.join(group, "cpu.cfs_quota_us"), "w") as f:
            f.write("100000")  # one core's worth per period: `limits.cpu: 1`

        def enter():
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        self.assertEqual(self.start_with(enter), 1)
        # Unconfined, the same start uses every core: the quota is what made the difference.
        self.assertEqual(self.start_with(None), os.cpu_count())


class SignalsTest(unittest.TestCase):
    """SIGHUP (no reload) stops every role like SIGTERM; each role's last line says what it was."""

    def test_sighup_drains_run_and_exits_0(self):
        o = Oceanus().start()
        acked = []
        sender = threading.Thread(
            target=lambda: acked.extend(send_beacons(o.port, [f"h{i}" for i in range(5000)],
                                                     stop_on_error=True)))
        sender.start()
        # Events in flight: some answered, more still coming, when the signal arrives.
        wait_for(lambda: o.rows("samplesite", "uid LIKE 'h%'"), timeout=30,
                 what="the first stored beacons")
        self.assertEqual(o.stop(signal.SIGHUP), 0, o.read_log()[-3000:])
        sender.join(timeout=60)
        log = o.read_log()
        self.assertIn("SIGHUP: stopping (reload is not supported; restart to apply a new config)", log)
        self.assertIn("bye", log)
        self.assertGreater(len(acked), 0)
        stored = {r["uid"] for r in o.rows("samplesite", "uid LIKE 'h%'")}
        self.assertEqual(set(acked) - stored, set(), "acknowledged beacons missing after SIGHUP")

    def test_the_tables_role_says_it_is_the_table_manager(self):
        redis = Redis().start()
        self.addCleanup(redis.stop)
        tmp = tempfile.mkdtemp(prefix="oceanus-tables-it-")
        config = example_config(tmp, [("check_every: 30s", "check_every: 1s")], base=REDIS_EXAMPLE)
        o = Oceanus(config=config, role="tables", env={"OCEANUS_REDIS": redis.address}).start()
        wait_for(lambda: o.tables("samplesite"), timeout=30, what="today's samplesite table")
        self.assertEqual(o.stop(signal.SIGHUP), 0, o.read_log())
        log = o.read_log()
        self.assertIn("table manager stopped", log)
        self.assertNotIn("loader stopped", log)

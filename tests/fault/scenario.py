"""What every fault scenario shares: a paced sender that records each answer by its eid, the
warehouse audit (lost / duplicated / stored but never acknowledged), one JSON line of figures
per scenario, and a Redis whose persistence the scenario chooses.

Stdlib only (Debian's /usr/bin/python3). The integration harness (tests/integration/harness.py)
starts the real processes; this module puts it on sys.path so that `from scenario import ...`
is all a scenario file needs.

Environment:
  OCEANUS_FAULT_RATE      events per second the sender keeps to (default 250)
  OCEANUS_FAULT_RESULTS   the JSON-lines file the figures go to (default <build>/fault-results.jsonl)
"""
import collections
import datetime
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from harness import (BIGQUERY_EXAMPLE, BIN, EXAMPLE, REDIS_EXAMPLE, FakeGoogle, FakeServices,  # noqa: E402,F401
                     Oceanus, RabbitMq, Redis, example_config, free_port, wait_for)

RATE = float(os.environ.get("OCEANUS_FAULT_RATE", "250"))
RESULTS = os.environ.get("OCEANUS_FAULT_RESULTS") or os.path.join(
    os.path.dirname(os.path.abspath(BIN)), "fault-results.jsonl")

# Short timers for the redis topology, as tests/integration/test_redis.py uses them: a dead
# loader's entries are claimed after 2 s, batches are small and written within 100 ms.
REDIS_FAST = [
    ("claim_idle: 30s", "claim_idle: 2s"),
    ("trim_every: 5s", "trim_every: 200ms"),
    ("batch_rows: 500", "batch_rows: 100"),
    ("max_wait: 1s", "max_wait: 100ms"),
]


# ---------------------------------------------------------------------------------------
# The sender

Answer = collections.namedtuple("Answer", "uid evt phase status eid at")


class Sender:
    """Page-view beacons at a steady `rate` per second from `threads` threads (each with its
    own keep-alive connection and rate/threads of the load), until stop().

    Every request carries a unique uid (`<tag>-<thread>-<n>`) and is recorded once with the
    phase it was sent in (`self.phase`, set by the scenario), its status (an int, or "error"
    when no answer came: refused, reset, timed out) and the X-Oceanus-Eid of a 2xx answer. A
    request is never retried: a retry would be a second event. The pace is a schedule, not a
    loop as fast as possible; a thread that falls more than a second behind skips ahead rather
    than bursting."""

    def __init__(self, port, tag, rate=RATE, threads=2, evt=None, site="samplesite", timeout=10):
        self.port = port
        self.tag = tag
        self.rate = rate
        self.threads = threads
        self.evt = evt or (lambda n: "pageview")
        self.site = site
        self.timeout = timeout
        self.phase = "before"
        self._answers = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = []

    def start(self):
        for t in range(self.threads):
            w = threading.Thread(target=self._run, args=(t,), daemon=True, name=f"sender-{t}")
            w.start()
            self._workers.append(w)
        return self

    def stop(self):
        self._stop.set()
        for w in self._workers:
            w.join(timeout=self.timeout + 5)
        self._workers = []

    def _run(self, thread):
        per_thread = self.rate / self.threads
        conn = None
        n = 0
        began = time.monotonic() + thread / self.rate  # threads interleave
        while not self._stop.is_set():
            due = began + n / per_thread
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)  # pacing, not synchronisation
            elif now - due > 1.0:
                began = now - n / per_thread  # behind by a second: skip ahead, never burst
            uid = f"{self.tag}-{thread}-{n}"
            evt = self.evt(n * self.threads + thread)
            phase = self.phase
            sent_at = time.monotonic()
            status, eid = None, None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                conn.request("GET", f"/swallow/{self.site}?oid=2&sid=ab&evt={evt}&url=u&uid={uid}")
                resp = conn.getresponse()
                resp.read()
                status, eid = resp.status, resp.getheader("X-Oceanus-Eid")
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                status = "error"
                if conn is not None:
                    conn.close()
                conn = None
            with self._lock:
                self._answers.append(Answer(uid, evt, phase, status, eid, sent_at))
            n += 1
        if conn is not None:
            conn.close()

    def answers(self):
        with self._lock:
            return list(self._answers)

    @staticmethod
    def ok(a):
        return isinstance(a.status, int) and 200 <= a.status < 300

    def acked(self, evt=None):
        """{eid: uid} of every 2xx answer (to events of type `evt`, if given)."""
        return {a.eid: a.uid for a in self.answers() if self.ok(a) and a.eid and evt in (None, a.evt)}

    def count(self, phase=None, since=None, what="acked"):
        """Answers of a phase (or all) that were acknowledged ("acked"), 503 ("503") or any
        ("sent"), sent at or after `since` (a time.monotonic() value) if given."""
        n = 0
        for a in self.answers():
            if (phase is None or a.phase == phase) and (since is None or a.at >= since):
                if what == "sent" or (what == "acked" and self.ok(a)) or (what == "503" and a.status == 503):
                    n += 1
        return n

    def wait_acked(self, n, phase=None, timeout=120, since=None):
        """Polls until `n` answers of `phase` were acknowledged (the scenario's 'enough load')."""
        return wait_for(lambda: self.count(phase, since) >= n, timeout=timeout, interval=0.1,
                        what=f"{n} acknowledged events in phase {phase}")

    def summary(self):
        answers = self.answers()
        out = {"sent": len(answers), "acked": 0, "answered_503": 0, "answered_other": 0,
               "no_answer": 0, "acked_without_eid": 0}
        phases = collections.OrderedDict()
        for a in answers:
            p = phases.setdefault(a.phase, {"sent": 0, "acked": 0, "answered_503": 0, "other": 0})
            p["sent"] += 1
            if self.ok(a):
                out["acked"] += 1
                p["acked"] += 1
                if not a.eid:
                    out["acked_without_eid"] += 1
            elif a.status == 503:
                out["answered_503"] += 1
                p["answered_503"] += 1
            else:
                out["answered_other"] += 1
                p["other"] += 1
                if a.status == "error":
                    out["no_answer"] += 1
        out["phases"] = phases
        return out


# ---------------------------------------------------------------------------------------
# The warehouse

def sqlite_rows(db_path, site="samplesite"):
    """[(eid, uid)] of every row of the site's tables (daily or single) in an SQLite warehouse."""
    if not os.path.exists(db_path):
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = []
        for t in names:
            if t == site or (t.startswith(site + "_") and t[len(site) + 1:].isdigit()):
                rows += db.execute(f'SELECT eid, uid FROM "{t}"').fetchall()
        return rows
    finally:
        db.close()


def bigquery_rows(google, site="samplesite"):
    return [(r.get("eid"), r.get("uid")) for r in google.rows(site)]


def audit(acked, rows):
    """Compares what was acknowledged ({eid: uid}) with what is stored ([(eid, uid)])."""
    per_eid = collections.Counter(eid for eid, _ in rows)
    eids_per_uid = collections.defaultdict(set)
    uid_of = {}
    for eid, uid in rows:
        eids_per_uid[uid].add(eid)
        uid_of[eid] = uid
    lost = [eid for eid in acked if eid not in per_eid]
    return {
        "stored": len(per_eid),
        "rows": len(rows),
        # the same event stored twice (rows per eid beyond the first)
        "duplicated": sum(n - 1 for n in per_eid.values()),
        # one request stored as two events (two eids for one uid): would mean a double append
        "uid_duplicated": sum(len(e) - 1 for e in eids_per_uid.values()),
        "lost": len(lost),
        "lost_sample": lost[:5],
        "stored_unacked": sum(1 for eid in per_eid if eid not in acked),
        "wrong_uid": sum(1 for eid, uid in acked.items() if eid in uid_of and uid_of[eid] != uid),
    }


def wait_all_stored(acked, read_rows, timeout, interval=0.5):
    """Polls the warehouse until every acknowledged eid is stored; returns the seconds it took,
    or None when the timeout passed first (the audit then reports what is missing)."""
    began = time.monotonic()
    wanted = set(acked)
    while True:
        stored = {eid for eid, _ in read_rows()}
        if wanted <= stored:
            return round(time.monotonic() - began, 1)
        if time.monotonic() - began > timeout:
            return None
        time.sleep(interval)


# ---------------------------------------------------------------------------------------
# Rules → tasks → a webhook

def hook_rule_yaml(tasks_yaml, hook_url, concurrency=4):
    """The tasks, actions and rules sections for a config without them (examples/redis.yaml):
    every `order` event of samplesite becomes one task (id order/<eid>/0) that POSTs
    {"eid", "uid"} to `hook_url`. `tasks_yaml` is the task queue's type and its settings."""
    return f"""
tasks:
{tasks_yaml}
  concurrency: {concurrency}
  max_attempts: 10
  backoff: 200ms
  max_backoff: 2s
actions:
  hook:
    type: webhook
    url: "{hook_url}"
    timeout: 20s
rules:
  - name: order
    site: samplesite
    when: {{evt: order}}
    do:
      - action: hook
        args: {{eid: "{{{{eid}}}}", uid: "{{{{uid}}}}"}}
"""


def every_tenth_an_order(n):
    return "order" if n % 10 == 0 else "pageview"


def task_audit(expected_eids, received):
    """Deliveries the webhook receiver recorded ([{"json": {"eid", ...}, "time", ...}]) against
    the events that must each have been delivered at least once."""
    per = collections.Counter((r.get("json") or {}).get("eid") for r in received)
    return {
        "tasks_expected": len(expected_eids),
        "tasks_delivered": sum(1 for e in expected_eids if per[e] > 0),
        "tasks_lost": sum(1 for e in expected_eids if per[e] == 0),
        "task_deliveries": sum(per.values()),
        "task_duplicates": sum(n - 1 for n in per.values() if n > 1),
        "duplicate_eids": sorted(e for e, n in per.items() if n > 1),
    }


def wait_tasks_delivered(services, expected_eids, timeout):
    """Polls the receiver until every expected eid was delivered; the seconds it took or None."""
    began = time.monotonic()
    while True:
        got = {(r.get("json") or {}).get("eid") for r in services.received("/hook/")}
        if set(expected_eids) <= got:
            return round(time.monotonic() - began, 1)
        if time.monotonic() - began > timeout:
            return None
        time.sleep(0.5)


# ---------------------------------------------------------------------------------------
# Redis with the persistence a scenario asks for

class DurableRedis(Redis):
    """The harness's redis-server (AOF on) with a chosen appendfsync, restartable on the same
    port and directory (its AOF), and killable with SIGKILL (a crash)."""

    def __init__(self, appendfsync="everysec", port=None):
        super().__init__(port=port)
        self.appendfsync = appendfsync

    def start(self):
        self.log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "",
             "--protected-mode", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ping() or self.proc.poll() is not None, timeout=30, what="redis-server")
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.proc.returncode}")
        return self

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()

    def ballast(self, keys, value_bytes=100):
        """Fills Redis with `keys` unrelated keys and rewrites the AOF, so that a restart spends
        a while (about a second per million keys here) answering -LOADING, as a Redis holding
        real data does. Without it a test restart loads in milliseconds."""
        value = "x" * value_bytes
        proto = "".join(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n${value_bytes}\r\n{value}\r\n"
                        for k in (f"ballast:{i}" for i in range(keys)))
        subprocess.run(["redis-cli", "-p", str(self.port), "--pipe"], input=proto.encode(),
                       capture_output=True, timeout=120, check=True)
        self.cli("BGREWRITEAOF")
        wait_for(lambda: "aof_rewrite_in_progress:0" in self.raw("INFO", "persistence")
                 and "aof_rewrite_scheduled:0" in self.raw("INFO", "persistence"),
                 timeout=120, interval=0.1, what="the AOF rewrite")

    def load_seconds(self):
        """How long the last start spent loading its AOF, from redis-server's log."""
        with open(os.path.join(self.dir, "redis.log"), "rb") as f:
            found = re.findall(rb"DB loaded from append only file: ([0-9.]+) seconds", f.read())
        return float(found[-1]) if found else None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        if not self.log.closed:
            self.log.close()


# ---------------------------------------------------------------------------------------
# The test case base

def tail(path, lines=25):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class FaultScenario(unittest.TestCase):
    """Keeps the processes and fixtures a scenario starts, stops whatever is left at the end
    (processes by their own PID), and writes the scenario's figures."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-fault-")
        self.procs = []
        self.fixtures = []
        self.sender = None
        self.began = time.monotonic()

    def tearDown(self):
        if self.sender is not None:
            self.sender.stop()
        for p in self.procs:
            if p.proc is not None and p.proc.poll() is None:
                p.kill9()
        for f in reversed(self.fixtures):
            try:
                f.stop()
            except Exception:  # the others must still be stopped
                pass

    def fixture(self, f):
        self.fixtures.append(f)
        return f

    def start(self, role, config, env, **kw):
        p = Oceanus(config=config, role=role, env=env, **kw).start()
        self.procs.append(p)
        return p

    def config(self, replacements=(), base=REDIS_EXAMPLE, name="config", append=""):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        path = example_config(d, list(replacements), base=base)
        if append:
            with open(path, "a") as f:
                f.write(append)
        return path

    def terminate_all(self, procs, timeout=60):
        """SIGTERM to every process at once (a deploy, a node drain); {role: exit code}."""
        for p in procs:
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        codes = {}
        for p in procs:
            codes[p] = p.stop(timeout=timeout)
            if not p.log.closed:  # stop() closes it only when the process was still running
                p.log.close()
        return codes

    def logs(self):
        return "\n".join(f"--- {p.role} (pid {p.proc.pid}) {p.log_path}\n{tail(p.log_path)}"
                         for p in self.procs if p.proc is not None)

    def finish(self, scenario, sender, rows, settle_seconds, **extra):
        """Audits, writes the figures line (also when the audit fails), then asserts: nothing
        acknowledged lost, nothing stored twice, every 2xx named its eid, and a run with real
        load on both sides of the fault."""
        s = sender.summary()
        a = audit(sender.acked(), rows)
        line = {
            "scenario": scenario,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rate": sender.rate,
            "sent": s["sent"], "acked": s["acked"], "answered_503": s["answered_503"],
            "answered_other": s["answered_other"], "no_answer": s["no_answer"],
            "stored": a["stored"], "duplicated": a["duplicated"] + a["uid_duplicated"],
            "stored_unacked": a["stored_unacked"], "lost": a["lost"],
            "settle_s": settle_seconds,
            "duration_s": round(time.monotonic() - self.began, 1),
            "phases": s["phases"],
        }
        line.update(extra)
        ok = (a["lost"] == 0 and a["duplicated"] == 0 and a["uid_duplicated"] == 0 and a["wrong_uid"] == 0
              and s["acked_without_eid"] == 0 and settle_seconds is not None)
        line["ok"] = ok and not extra.get("failed")
        with open(RESULTS, "a") as f:
            f.write(json.dumps(line) + "\n")
        print(f"\n{scenario}: " + json.dumps(line), flush=True)
        self.assertEqual(s["acked_without_eid"], 0, "a 2xx answer without X-Oceanus-Eid")
        self.assertEqual(a["lost"], 0, f"{a['lost']} acknowledged events lost, e.g. {a['lost_sample']}\n"
                                       f"{self.logs()}")
        self.assertIsNotNone(settle_seconds, "the pipeline did not settle in time")
        self.assertEqual(a["duplicated"], 0, "events stored twice (rows per eid)")
        self.assertEqual(a["uid_duplicated"], 0, "one request stored as two events")
        self.assertEqual(a["wrong_uid"], 0, "an eid stored with another request's uid")
        phases = s["phases"]
        self.assertGreaterEqual(phases.get("before", {}).get("acked", 0), 500, "too little load before the fault")
        self.assertGreaterEqual(phases.get("after", {}).get("acked", 0), 500, "too little load after the fault")
        return line, a

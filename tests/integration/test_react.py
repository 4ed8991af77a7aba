"""Rules on the live stream, the task queue and the actions, end to end.

Real `oceanus run` processes with the shipped examples/oceanus.yaml (the original's hooks),
a real SMTP server (aiosmtpd), real RabbitMQ for the rabbitmq backend, and local fakes for
Slack, SendGrid and Google Sheets that record what they receive. Every scenario runs on both
task-queue backends (LocalTasksTest, RabbitMqTasksTest).
"""
import datetime
import json
import os
import shutil
import sqlite3
import tempfile
import time
import unittest
import urllib.parse

from harness import (BIN, SOURCE_DIR, Oceanus, FakeGoogle, FakeServices, Redis, SmtpSink, RabbitMq,
                     check_metrics_text, example_config, free_port, wait_for)
import subprocess

JST = datetime.timezone(datetime.timedelta(hours=9))


def jst(dt):
    """The stored UTC dt as the rules render dt_local (Asia/Tokyo)."""
    t = datetime.datetime.strptime(dt, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def jst_date(dt):
    t = datetime.datetime.strptime(dt, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(JST).strftime("%Y%m%d")


class Fixtures:
    """Fakes and servers shared by a test class; subclasses choose the task-queue backend
    (TASKS) and whether the roles run as separate processes on the redis queue (ROLES)."""

    TASKS = None
    ROLES = False
    rabbit = None
    redis = None

    @classmethod
    def setUpClass(cls):
        cls.services = FakeServices()
        cls.google = FakeGoogle()
        cls.smtp = SmtpSink()
        if cls.TASKS == "rabbitmq":
            cls.rabbit = RabbitMq()
        if cls.ROLES:
            cls.redis = Redis().start()

    @classmethod
    def tearDownClass(cls):
        for f in (cls.services, cls.google, cls.smtp, cls.rabbit, cls.redis):
            if f is not None:
                f.stop()

    def setUp(self):
        self.services.reset()
        self.tmp = tempfile.mkdtemp(prefix="oceanus-react-")
        # The report template sits next to the config, as in examples/.
        shutil.copy(os.path.join(SOURCE_DIR, "examples", "history_report.html"), self.tmp)
        self.procs = []
        self.queue_name = f"oceanus.tasks.{self.id().rsplit('.', 1)[-1]}"
        # One spreadsheet per test: worksheets are per day, and tests share the fake.
        self.spreadsheet = f"{type(self).__name__}.{self.id().rsplit('.', 1)[-1]}"

    def tearDown(self):
        for p in self.procs:
            p.stop()

    # --- set-up -----------------------------------------------------------------------
    def config(self, replacements=()):
        replacements = list(replacements)
        if self.ROLES:
            prefix = self.id().rsplit(".", 1)[-1][:20]
            replacements.append(("  type: spool\n",
                                 f"  type: redis\n  redis: {{address: \"{self.redis.address}\", "
                                 f"prefix: \"{prefix}:\"}}\n"))
        if self.TASKS == "rabbitmq":
            replacements.append((
                "  type: local                  # SQLite in <data_dir>/tasks.db; or rabbitmq (see examples/redis.yaml)",
                f"  type: rabbitmq\n  rabbitmq: {{url: \"{self.rabbit.url}\", queue: {self.queue_name}}}"))
        return example_config(self.tmp, replacements)

    def env(self, **overrides):
        env = {
            "OCEANUS_SLACK_WEBHOOK_URL": self.services.url("/slack/T000/B000/secret-token"),
            "OCEANUS_SMTP_URL": f"smtp://127.0.0.1:{self.smtp.port}",
            "OCEANUS_MAIL_FROM": "oceanus@example.com",
            "OCEANUS_MAIL_TO": "sales@example.com, boss@example.com",
            "OCEANUS_SHEETS_ENDPOINT": self.google.base,
            "OCEANUS_SPREADSHEET_ID": self.spreadsheet,
            "GOOGLE_APPLICATION_CREDENTIALS": self.google.key_file,
            "OCEANUS_GOOGLE_TOKEN_URI": self.google.base + "/token",
            "OCEANUS_REPORT_DELAY": "2s",
            "OCEANUS_TASK_BACKOFF": "200ms",
        }
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def start(self, config=None, env=None, data_dir=None):
        """`oceanus run`, or (ROLES) collect + load + react + work as four processes sharing a
        data dir; returns the one that serves HTTP and whose data dir holds the warehouse."""
        config = config or self.config()
        env = env or self.env()
        if not self.ROLES:
            p = Oceanus(config=config, env=env, data_dir=data_dir, admin_port=free_port()).start()
            self.procs.append(p)
            return p
        data_dir = data_dir or os.path.join(self.tmp, "data")
        front = None
        for role in ("load", "work", "react", "collect"):
            p = Oceanus(config=config, env=env, data_dir=data_dir, role=role,
                        admin_port=free_port()).start()
            self.procs.append(p)
            front = p
        return front

    # --- observations -------------------------------------------------------------------
    def sheet(self, title):
        return self.google.sheet_rows(self.spreadsheet, title)

    def wait_sheet(self, title, n, timeout=20):
        return wait_for(lambda: (lambda r: r if len(r) >= n else None)(self.sheet(title)),
                        timeout=timeout, what=f"{n} rows in worksheet {title}")

    def slack(self, ok_only=True):
        return [r for r in self.services.received("/slack/") if not ok_only or r["status"] == 200]

    def beacon(self, p, **params):
        params = dict({"oid": "2", "sid": "abc123", "url": "https://example.com/p"}, **params)
        if isinstance(params.get("jsn"), dict):
            params["jsn"] = json.dumps(params["jsn"], ensure_ascii=False)
        status, _, _ = p.request("GET", "/swallow/samplesite?" + urllib.parse.urlencode(params))
        self.assertEqual(status, 200)

    def form(self, p, ip="203.0.113.7", **fields):
        body = urllib.parse.urlencode(dict({"sid": "abc123", "name": "Taro", "cname": "ACME",
                                            "email": "taro@example.com", "url": "https://example.com/form"},
                                           **fields))
        status, _, _ = p.request("POST", "/pirate/sampleform", body=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded",
                                          "X-Forwarded-For": ip})
        self.assertEqual(status, 200)

    def stored(self, p, site, evt):
        rows = p.wait_rows(site, 1, "evt = ?", (evt,)) if evt else p.wait_rows(site, 1)
        return rows[0]

    def dead_tasks(self, p):
        out = []
        r = subprocess.run([BIN, "dead-tasks", "--config", p.config, "--data-dir", p.data_dir],
                           env=p.env, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            out.append(json.loads(line))
        return out

    def retry_tasks(self, p, *args):
        """`oceanus retry-tasks` against p's config and data dir, as an operator runs it."""
        return subprocess.run([BIN, "retry-tasks", "--config", p.config, "--data-dir", p.data_dir,
                               *args], env=p.env, capture_output=True, text=True, timeout=30)

    def task_runs(self, action):
        """oceanus_task_runs_total of `action` by outcome, summed over the running processes."""
        runs = {}
        for proc in self.procs:
            if proc.proc.poll() is not None:
                continue
            status, body = proc.admin("/metrics")
            if status != 200:
                continue
            for (name, labels), value in check_metrics_text(body.decode()).items():
                labels = dict(labels)
                if name == "oceanus_task_runs_total" and labels.get("action") == action:
                    runs[labels["outcome"]] = runs.get(labels["outcome"], 0) + value
        return runs


    def tasks_status(self, p=None):
        """/tasks of every running process, the reactor and worker counters summed."""
        merged = {"reactor": {}, "worker": {}}
        for proc in self.procs:
            if proc.proc.poll() is not None:
                continue
            status, body = proc.admin("/tasks")
            if status != 200:
                continue
            for part in ("reactor", "worker"):
                for k, v in json.loads(body).get(part, {}).items():
                    merged[part][k] = merged[part].get(k, 0) + v
        return merged


class CoreScenarios(Fixtures):
    """What every backend and process layout must do."""

    def test_original_hooks_write_the_exact_rows_and_slack_message(self):
        p = self.start()
        self.beacon(p, evt="search_not_found", uid="u1", jsn={"kwd": "請求書 テンプレート", "cat": "docs"})
        self.beacon(p, evt="paid", uid="u2", tit="Shop", url="https://example.com/buy",
                    jsn={"price": 1200, "title": "Guide <A&B>", "id": "D-42"})
        self.beacon(p, evt="js_error", uid="u3", ref="https://example.com/ref")
        self.beacon(p, evt="pageview", uid="u4")  # matches no rule

        nf = self.stored(p, "samplesite", "search_not_found")
        rows = self.wait_sheet(f"not_found_{jst_date(nf['dt'])}", 1)
        self.assertEqual(rows, [[jst(nf["dt"]), "請求書 テンプレート", "docs", "u1", "abc123",
                                 "https://example.com/p"]])
        paid = self.stored(p, "samplesite", "paid")
        rows = self.wait_sheet(f"paid_{jst_date(paid['dt'])}", 1)
        self.assertEqual(rows, [[jst(paid["dt"]), "Shop", "1200", "Guide <A&B>",
                                 "https://example.com/buy", "D-42", "u2"]])
        err = self.stored(p, "samplesite", "js_error")
        rows = self.wait_sheet(f"error_{jst_date(err['dt'])}", 1)
        self.assertEqual(rows, [[jst(err["dt"]), "js_error", "https://example.com/p",
                                 "https://example.com/ref", "abc123", "u3", err["ua"] or "", err["rad"]]])
        msgs = wait_for(self.slack, what="the slack message")
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["json"],
                         {"text": f"Paid: Guide <A&B> (1200) by u2 at {jst(paid['dt'])}"})
        # The webhook URL is a secret: it never reaches the log.
        self.assertNotIn("secret-token", p.read_log())

    def test_document_request_mails_the_history_after_its_delay(self):
        p = self.start()
        self.beacon(p, evt="pageview", sid="feed01", url="https://example.com/first", tit="First")
        self.beacon(p, evt="pageview", sid="feed01", url="https://example.com/second", tit="Second")
        self.beacon(p, evt="pageview", sid="0a0b", url="https://example.com/other", tit="Other")
        p.wait_rows("samplesite", 3)
        before = len(self.smtp.messages())
        sent_at = time.time()
        self.form(p, sid="feed01", name="Taro <Yamada>", cname="ACME & Co")
        form_row = self.stored(p, "sampleform", None)
        # The sheet row is immediate; the report waits for its 2 s delay.
        rows = self.wait_sheet(f"docreq_{jst_date(form_row['dt'])}", 1)
        self.assertEqual(rows, [[jst(form_row["dt"]), "Taro <Yamada>", "ACME & Co", "taro@example.com",
                                 "", "feed01", "https://example.com/form", "203.0.113.7"]])
        msgs = wait_for(lambda: self.smtp.messages()[before:] or None, timeout=30, what="the report mail")
        self.assertEqual(len(msgs), 1)
        mail = msgs[0]
        self.assertGreaterEqual(mail["time"] - sent_at, 2.0, "the report ran before its delay")
        self.assertEqual(mail["subject"], "Document request: Taro <Yamada> (ACME & Co)")
        self.assertEqual(mail["mail_from"], "oceanus@example.com")
        self.assertEqual(sorted(mail["rcpt_tos"]), ["boss@example.com", "sales@example.com"])
        html = mail["html"]
        self.assertIn("Taro &lt;Yamada&gt;", html)
        self.assertIn("ACME &amp; Co", html)
        self.assertIn(jst(form_row["dt"]), html)
        self.assertIn("2 events", html)
        self.assertLess(html.index("https://example.com/second"), html.index("https://example.com/first"))
        self.assertNotIn("https://example.com/other", html)

    def test_guards_dedup_per_ip_and_total(self):
        config = self.config([("per_ip: {max: 6, window: 60s}", "per_ip: {max: 2, window: 60s}"),
                              ("total: {max: 6, window: 60s}", "total: {max: 5, window: 60s}")])
        p = self.start(config=config, env=self.env(OCEANUS_REPORT_DELAY="1h"))
        self.form(p, sid="aa01", ip="198.51.100.1")
        self.form(p, sid="aa01", ip="198.51.100.2")  # same sid within 60 s: once
        self.form(p, sid="aa02", ip="198.51.100.1")
        self.form(p, sid="aa03", ip="198.51.100.1")  # third from that IP: over per_ip
        for i in range(4, 9):                           # 3 of these pass, then total is used up
            self.form(p, sid=f"aa0{i}", ip=f"198.51.100.{i}")
        p.wait_rows("sampleform", 9)
        title = f"docreq_{jst_date(self.stored(p, 'sampleform', None)['dt'])}"

        def settled():
            # Every form matched the rule once; each either passed (two tasks: report and
            # row) or was suppressed; every row task ran.
            s = self.tasks_status(p)
            r, w = s.get("reactor", {}), s.get("worker", {})
            return (r.get("matched") == 9 and r.get("suppressed", 0) + r.get("tasks", 0) // 2 == 9
                    and w.get("succeeded", 0) >= r.get("tasks", 0) // 2)
        wait_for(settled, what="the reactor and worker to settle")
        self.assertEqual(self.tasks_status(p)["reactor"]["suppressed"], 4)
        # Events from different connections may reach the rules in either order (each I/O
        # thread has its own spool), so which of them pass depends on that order; the limits
        # do not: 5 in total, one per session, at most 2 from one address.
        rows = self.sheet(title)
        self.assertEqual(len(rows), 5, rows)
        sids = [r[5] for r in rows]
        self.assertEqual(len(set(sids)), 5, rows)
        self.assertLessEqual(sum(1 for r in rows if r[7] == "198.51.100.1"), 2, rows)
        # Nothing more may arrive. Every task is accounted for: 9 forms read, 4 suppressed,
        # 5 passed with two tasks each, of which the 5 row tasks ran (the reports wait 1 h).
        s = self.tasks_status(p)
        self.assertEqual((s["reactor"]["matched"], s["reactor"]["tasks"], s["worker"]["succeeded"]),
                         (9, 10, 5), s)
        # And a later event's task is delivered, so the worker has moved past the forms' tasks.
        self.beacon(p, evt="paid", uid="marker", jsn={"price": 1, "title": "t", "id": "m"})
        wait_for(lambda: any("marker" in json.dumps(m) for m in self.slack()), what="the marker's slack message")
        self.assertEqual(len(self.sheet(title)), 5)

    def test_failing_twice_then_succeeding_delivers_once(self):
        p = self.start()
        self.services.inject("/slack/", fail_next=2, status=500)
        self.beacon(p, evt="paid", uid="u9", jsn={"price": 1, "title": "t", "id": "x"})
        ok = wait_for(self.slack, what="a delivered slack message")
        attempts = self.slack(ok_only=False)
        self.assertEqual([a["status"] for a in attempts], [500, 500, 200])
        self.assertEqual(len(ok), 1)
        # Backoff 200 ms, then 400 ms.
        self.assertGreaterEqual(attempts[1]["time"] - attempts[0]["time"], 0.19)
        self.assertGreaterEqual(attempts[2]["time"] - attempts[1]["time"], 0.39)

    def test_task_past_its_retries_lands_in_the_dead_letter(self):
        p = self.start()
        self.services.inject("/slack/", fail_next=100, status=503)
        self.beacon(p, evt="paid", uid="u10", jsn={"price": 1, "title": "t", "id": "x"})
        wait_for(lambda: len(self.slack(ok_only=False)) >= 4, timeout=30, what="four attempts")
        dead = wait_for(lambda: self.dead_tasks(p) or None, timeout=20, what="a dead task")
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["action"], "slack")
        self.assertEqual(dead[0]["attempts"], 4)
        self.assertIn("503", dead[0]["last_error"])
        self.assertNotIn("secret-token", dead[0]["last_error"])
        self.assertTrue(dead[0]["id"].startswith("paid/"))
        self.assertEqual(len(self.slack(ok_only=False)), 4)

    def test_dead_task_retried_after_the_fix_is_delivered_once(self):
        p = self.start()
        self.services.inject("/slack/", fail_next=1000, status=500)  # down until told otherwise
        self.beacon(p, evt="paid", uid="u12", jsn={"price": 1, "title": "t", "id": "x"})
        dead = wait_for(lambda: self.dead_tasks(p) or None, timeout=30, what="a dead task")
        self.assertEqual(len(dead), 1)
        task_id = dead[0]["id"]
        self.assertEqual(len(self.slack(ok_only=False)), 4)

        unknown = self.retry_tasks(p, "--action", "no_such_action")
        self.assertEqual(unknown.returncode, 2, unknown.stderr)
        self.assertIn("--action no_such_action: no such action in the config", unknown.stderr)
        dry = self.retry_tasks(p, "--id", task_id, "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertEqual(dry.stdout, f"would put 1 dead task(s) back (id {task_id})\n")
        self.assertEqual([t["id"] for t in self.dead_tasks(p)], [task_id])

        # Fixed, but for one more failure: the revived task has its attempts again, so it is
        # retried rather than buried at once.
        self.services.inject("/slack/", fail_next=1, status=500)
        r = self.retry_tasks(p, "--id", task_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"put 1 dead task(s) back (id {task_id})\n")
        delivered = self.services.wait_received("/slack/", 1, status=200)
        # Once the worker has recorded it done, and runs no other slack task, nothing can
        # deliver it again.
        def done():
            runs = self.task_runs("slack")
            finished = runs.get("succeeded", 0) + runs.get("retried", 0) + runs.get("buried", 0)
            return runs if runs.get("succeeded") and runs["started"] == finished else None
        runs = wait_for(done, timeout=20, what="the revived slack task done")
        self.assertEqual(runs, {"started": 6, "succeeded": 1, "retried": 4, "buried": 1})
        self.assertEqual(self.dead_tasks(p), [])
        again = self.retry_tasks(p, "--id", task_id)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, f"put 0 dead task(s) back (id {task_id})\n")
        self.assertEqual(len(self.slack()), 1)
        self.assertEqual(delivered[0]["json"], self.slack()[0]["json"])
        self.assertEqual([a["status"] for a in self.slack(ok_only=False)], [500] * 5 + [200])

    def test_rate_limit_holds(self):
        config = self.config([("    url: ${OCEANUS_SLACK_WEBHOOK_URL:-}\n    rate_limit: 15/m",
                               "    url: ${OCEANUS_SLACK_WEBHOOK_URL:-}\n    rate_limit: 2/1s")])
        p = self.start(config=config)
        started = time.time()  # no task can start before its event exists
        for i in range(6):
            self.beacon(p, evt="paid", uid=f"r{i}", jsn={"price": i, "title": "t", "id": str(i)})
        msgs = wait_for(lambda: (lambda m: m if len(m) >= 6 else None)(self.slack()), timeout=30,
                        what="six slack messages")
        times = sorted(m["time"] for m in msgs)
        # 2 per second: the 3rd start is at least 1 s after the 1st, the 5th 2 s after it. A
        # message arrives after its start, however late, so bounds from `started` hold on a
        # loaded machine (pairwise gaps between arrivals do not: a late 1st arrival shrinks
        # them) and fail at once without the limit (all six within milliseconds).
        self.assertGreaterEqual(times[2] - started, 1.0, "3 starts within the first second")
        self.assertGreaterEqual(times[4] - started, 2.0, "5 starts within two seconds")

    def test_unconfigured_action_is_reported_once_and_skipped(self):
        p = self.start(env=self.env(OCEANUS_SLACK_WEBHOOK_URL=None))
        self.beacon(p, evt="paid", uid="u12", jsn={"price": 5, "title": "t", "id": "x"})
        paid = self.stored(p, "samplesite", "paid")
        self.wait_sheet(f"paid_{jst_date(paid['dt'])}", 1)
        # Once, by the process that runs the rules.
        logs = "".join(proc.read_log() for proc in self.procs)
        self.assertEqual(logs.count("action 'slack' (slack) has no address configured"), 1, logs)
        self.assertEqual(self.services.received("/slack/"), [])

    def test_sendgrid_mails_the_report(self):
        env = self.env(OCEANUS_REPORT_MAILER="sendgrid", OCEANUS_SENDGRID_API_KEY="SG.test-key",
                       OCEANUS_SENDGRID_ENDPOINT=self.services.url(""), OCEANUS_REPORT_DELAY="100ms")
        p = self.start(env=env)
        self.form(p, sid="5e6d", name="Hanako")
        calls = wait_for(lambda: [c for c in self.services.received("/v3/mail/send") if c["status"] == 202]
                         or None, timeout=20, what="a SendGrid call")
        body = calls[0]["json"]
        self.assertEqual(body["personalizations"][0]["to"],
                         [{"email": "sales@example.com"}, {"email": "boss@example.com"}])
        self.assertEqual(body["subject"], "Document request: Hanako (ACME)")
        self.assertEqual(body["content"][0]["type"], "text/html")
        self.assertIn("Hanako", body["content"][0]["value"])
        self.assertEqual(calls[0]["headers"]["authorization"], "Bearer SG.test-key")

class RestartScenarios(Fixtures):
    """Crashes of the one-process layout (`oceanus run`), on either task queue."""

    def test_worker_killed_mid_task_redelivers_it(self):
        data_dir = os.path.join(self.tmp, "data")
        p = self.start(data_dir=data_dir)
        self.services.delay("/slack/", 3000)
        self.beacon(p, evt="paid", uid="u11", jsn={"price": 1, "title": "t", "id": "x"})
        # The worker has started the action (its call is held for 3 s by the fake): kill it.
        wait_for(lambda: self.tasks_status(p).get("worker", {}).get("started", 0) >= 1,
                 what="the action to start")
        killed_at = time.time()
        p.kill9()
        self.procs.remove(p)
        self.services.delay("/slack/", 0)
        self.start(config=p.config, data_dir=data_dir)
        # The held call of the dead worker may still be answered by the fake after its delay;
        # the redelivered one is the call that arrives after the restart.
        msgs = wait_for(lambda: [m for m in self.slack() if m["time"] > killed_at] or None,
                        timeout=30, what="the redelivered slack message")
        self.assertEqual(msgs[0]["json"]["text"].split(" at ")[0], "Paid: t (1) by u11")

    def test_restart_neither_misses_nor_repeats(self):
        data_dir = os.path.join(self.tmp, "data")
        p = self.start(data_dir=data_dir)
        self.beacon(p, evt="paid", uid="first", jsn={"price": 1, "title": "a", "id": "1"})
        # Delivered and recorded as done (a kill between the two would rightly run it again).
        # (two tasks: the sheet row and the Slack message)
        wait_for(lambda: self.tasks_status()["worker"].get("succeeded") == 2, what="the first tasks")
        self.beacon(p, evt="paid", uid="second", jsn={"price": 2, "title": "b", "id": "2"})
        p.kill9()  # maybe before the reactor saw it, maybe after it enqueued it
        self.procs.remove(p)
        p2 = self.start(config=p.config, data_dir=data_dir)
        self.beacon(p2, evt="paid", uid="third", jsn={"price": 3, "title": "c", "id": "3"})
        wait_for(lambda: any("by third" in m["json"]["text"] for m in self.slack()), timeout=30,
                 what="the third message")
        wait_for(lambda: any("by second" in m["json"]["text"] for m in self.slack()), timeout=30,
                 what="the second message")
        texts = [m["json"]["text"].split(" at ")[0] for m in self.slack()]
        self.assertEqual(sorted(texts), ["Paid: a (1) by first", "Paid: b (2) by second",
                                         "Paid: c (3) by third"])



class ActionTransportsTest(Fixtures, unittest.TestCase):
    """Delivery details that do not depend on the task queue."""
    TASKS = "local"

    def test_smtp_with_starttls_and_auth(self):
        sink = SmtpSink(auth="mailer:s3cret-pw", tls=True)
        try:
            env = self.env(OCEANUS_SMTP_URL=f"smtp://127.0.0.1:{sink.port}", OCEANUS_SMTP_USER="mailer",
                           OCEANUS_SMTP_PASSWORD="s3cret-pw", OCEANUS_SMTP_TLS="require",
                           OCEANUS_SMTP_CA_FILE=sink.cert, OCEANUS_REPORT_DELAY="100ms")
            p = self.start(env=env)
            self.form(p, sid="c0ffee", name="Jiro")
            msgs = sink.wait_messages(1, timeout=20)
            self.assertTrue(msgs[0]["tls"], msgs[0])
            self.assertEqual(msgs[0]["auth_user"], "mailer")
            self.assertEqual(msgs[0]["subject"], "Document request: Jiro (ACME)")
            self.assertIn("Jiro", msgs[0]["html"])
            self.assertNotIn("s3cret-pw", p.read_log())
        finally:
            sink.stop()

    def test_webhook_posts_the_rendered_args_as_json_with_headers(self):
        config = self.config([
            ("actions:\n", "actions:\n  audit:\n    type: webhook\n    url: ${OCEANUS_AUDIT_URL}\n"
                           "    headers: {X-Token: abc}\n"),
            ("rules:\n", "rules:\n  - name: audit\n    site: samplesite\n"
                         "    when: {evt: {in: [paid, refund]}}\n"
                         "    do: [{action: audit, args: {event: \"{{evt}}\", user: \"{{uid}}\", "
                         "price: \"{{jsn.price}}\", tags: [\"{{site}}\", \"{{rule}}\"]}}]\n")])
        p = self.start(config=config, env=self.env(OCEANUS_AUDIT_URL=self.services.url("/hook/audit")))
        self.beacon(p, evt="refund", uid="u7", jsn={"price": 980})
        calls = self.services.wait_received("/hook/", 1)
        self.assertEqual(calls[0]["method"], "POST")
        self.assertEqual(calls[0]["headers"]["x-token"], "abc")
        self.assertTrue(calls[0]["headers"]["content-type"].startswith("application/json"))
        self.assertEqual(calls[0]["json"], {"event": "refund", "user": "u7", "price": "980",
                                            "tags": ["samplesite", "audit"]})


    def test_metrics_of_run_are_well_formed(self):
        # `run` writes every stage's families (collector, loader, queue, tasks, reactor,
        # worker) into one /metrics: each family must stay in one piece.
        p = self.start()
        self.beacon(p, evt="paid", uid="u8", jsn={"price": 1, "title": "t", "id": "x"})
        wait_for(self.slack, what="a delivered slack message")
        status, body = p.admin("/metrics")
        self.assertEqual(status, 200)
        m = check_metrics_text(body.decode())
        for name in ("oceanus_events_received_total", "oceanus_events_loaded_total",
                     "oceanus_spool_unconsumed_bytes", "oceanus_reactor_events_total",
                     "oceanus_task_runs_total", "oceanus_tasks"):
            self.assertTrue(any(n == name for n, _ in m), name)


class LocalTasksTest(CoreScenarios, RestartScenarios, unittest.TestCase):
    TASKS = "local"


class RabbitMqTasksTest(CoreScenarios, RestartScenarios, unittest.TestCase):
    TASKS = "rabbitmq"


class RedisRolesTest(CoreScenarios, unittest.TestCase):
    """The redis queue with each role in its own process: the react consumer group, guards
    in Redis, RabbitMQ between react and work."""
    TASKS = "rabbitmq"
    ROLES = True


if __name__ == "__main__":
    unittest.main()

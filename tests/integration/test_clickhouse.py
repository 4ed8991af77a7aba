"""ClickHouse end to end, with a real clickhouse-server (clickhouse_server.py): `oceanus run`
and the Redis roles load beacons into ClickHouse exactly once, a field added to the schema
widens the tables, a wrongly typed row alone goes to the dead-letter, and `oceanus check`
accepts examples/clickhouse.yaml and refuses what `run` would."""
import collections
import json
import os
import subprocess
import tempfile
import unittest
import urllib.parse

from clickhouse_server import ClickHouse
from harness import BIN, REDIS_EXAMPLE, SOURCE_DIR, Oceanus, Redis, erase, example_config, free_port, send_beacons, wait_for

CLICKHOUSE_EXAMPLE = os.path.join(SOURCE_DIR, "examples", "clickhouse.yaml")
FAST = [("max_wait: 1s", "max_wait: 100ms")]
SINK = """sink:
  type: clickhouse
  clickhouse:
    url: ${OCEANUS_CLICKHOUSE_URL}
"""


class ClickHouseTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-ch-it-")
        self.ch = ClickHouse().start()
        self.addCleanup(self.ch.cleanup)
        self.env = {"OCEANUS_CLICKHOUSE_URL": self.ch.url}
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                p.kill9()

    def start(self, config, role="run", env=None, admin_port=None):
        p = Oceanus(config=config, role=role, env=dict(self.env, **(env or {})), admin_port=admin_port).start()
        self.procs.append(p)
        return p

    def wait_uids(self, site, n, timeout=60):
        return wait_for(lambda: (lambda u: u if len(u) >= n else None)(self.ch.column(site, "uid")),
                        timeout=timeout, what=f"{n} rows of {site} in ClickHouse")

    def assert_exactly_once(self, acked, site="samplesite"):
        stored = collections.Counter(self.ch.column(site, "uid"))
        self.assertEqual(sorted(stored), sorted(acked))
        self.assertEqual(max(stored.values()), 1)
        eids = self.ch.column(site, "eid")
        self.assertEqual(len(set(eids)), len(acked))

    def test_run_loads_beacons_and_forms_into_partitioned_tables(self):
        config = example_config(self.tmp, FAST, base=CLICKHOUSE_EXAMPLE)
        run = self.start(config)
        acked = send_beacons(run.port, [f"r{i}" for i in range(300)])
        self.assertEqual(len(acked), 300)
        status, _, _ = run.request("POST", "/pirate/sampleform", body="sid=ab&email=a%40b.jp&jsn=%7B%22k%22%3A%22v%22%7D",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.wait_uids("samplesite", 300)
        wait_for(lambda: self.ch.column("sampleform", "email") == ["a@b.jp"], what="the form row")
        self.assertEqual(run.stop(), 0, run.read_log())
        self.assert_exactly_once(acked)
        daily = self.ch.site_tables("samplesite")
        self.assertTrue(all(len(t) == len("samplesite_20261201") for t in daily), daily)
        created = self.ch.query("SHOW CREATE TABLE oceanus.sampleform FORMAT TSVRaw")
        self.assertIn("ReplacingMergeTree PARTITION BY toYYYYMMDD(dt) ORDER BY (toStartOfHour(dt), sid, eid)", created)
        self.assertEqual(self.ch.scalar("SELECT visitParamExtractString(jsn, 'k') FROM oceanus.sampleform"), "v")
        # samplemail's sid is optional: in the sorting key through ifNull (18.16 has no
        # nullable keys); its daily table was made ahead by the tables role, with no event yet.
        mail = self.ch.site_tables("samplemail")
        self.assertTrue(mail)
        created = self.ch.query(f"SHOW CREATE TABLE oceanus.{mail[0]} FORMAT TSVRaw")
        self.assertIn("ORDER BY (toStartOfHour(dt), ifNull(sid, ''), eid)", created)
        self.assertIn("`sid` Nullable(String)", created.replace("sid Nullable", "`sid` Nullable"))
        # dt keeps its microseconds in dt_us; the seconds are a DateTime for time queries.
        dt, us = self.ch.rows("SELECT toString(dt), dt_us FROM oceanus.sampleform")[0]
        self.assertRegex(dt, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        self.assertTrue(0 <= int(us) < 1_000_000)
        # Erasure: ALTER TABLE … DELETE, done before the command returns; the others stay.
        code, out = erase(config, run.data_dir, "uid", acked[0], self.env)
        self.assertEqual(code, 0, out)
        self.assertIn("erased 1 row(s)", out)
        self.assertEqual(sorted(self.ch.column("samplesite", "uid")), sorted(acked[1:]))

    def test_the_admin_visitor_timeline_reads_hostile_keys_from_clickhouse(self):
        config = example_config(self.tmp, FAST, base=CLICKHOUSE_EXAMPLE)
        run = self.start(config, admin_port=free_port())
        hostile = ["plain", "it's", "back\\slash", "' OR 1=1 --", "\\' OR '1'='1", "new\nline", "`x`"]
        for i, uid in enumerate(hostile):
            for n in range(i + 1):  # a different number of events per uid
                status, _, _ = run.request("GET", "/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=u%d&uid=%s"
                                           % (n, urllib.parse.quote(uid)))
                self.assertEqual(status, 200)
        total = len(hostile) * (len(hostile) + 1) // 2
        self.wait_uids("samplesite", total)
        for i, uid in enumerate(hostile):
            status, body = run.admin("/api/visitor?site=samplesite&uid=" + urllib.parse.quote(uid))
            self.assertEqual(status, 200, body)
            rows = json.loads(body)["rows"]
            self.assertEqual(len(rows), i + 1, (uid, rows))
            self.assertEqual({r["uid"] for r in rows}, {uid})
            self.assertRegex(rows[0]["dt"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
            self.assertNotIn("dt_us", rows[0])
            self.assertGreaterEqual(rows[0]["dt"], rows[-1]["dt"])  # newest first
        self.assertEqual(run.stop(), 0, run.read_log())

    def redis_config(self, extra=()):
        with open(REDIS_EXAMPLE) as f:
            text = f.read()
        old = "sink:\n  type: sqlite\n  path: ${OCEANUS_SQLITE_PATH:-./data/oceanus.db}\n"
        self.assertIn(old, text)
        path = os.path.join(self.tmp, "redis-base.yaml")
        with open(path, "w") as f:
            f.write(text.replace(old, SINK))
        return example_config(self.tmp, FAST + [("claim_idle: 30s", "claim_idle: 2s")] + list(extra), base=path)

    def test_redis_roles_load_into_clickhouse_and_a_wrongly_typed_row_alone_is_dead_lettered(self):
        redis = Redis().start()
        self.addCleanup(redis.stop)
        env = {"OCEANUS_REDIS": redis.address}
        config = self.redis_config()
        collector = self.start(config, "collect", env)
        loader = self.start(config, "load", env)
        # A record whose dt is not a timestamp (no collector writes it): only it is refused.
        redis.cli("XADD", "samplesite", "*", "d",
                  '{"dt":"yesterday","eid":"bad-dt","oid":"2","sid":"ab","evt":"x","url":"u","uid":"bad"}')
        acked = send_beacons(collector.port, [f"q{i}" for i in range(200)])
        self.assertEqual(len(acked), 200)
        wait_for(lambda: redis.raw("XLEN", "samplesite:dead").strip() == "1", timeout=60,
                 what="the wrongly typed row in the dead-letter stream")
        dead = redis.raw("XRANGE", "samplesite:dead", "-", "+")
        self.assertIn("column dt: 'yesterday' is not a timestamp", dead)
        self.assertIn('"eid":"bad-dt"', dead)
        self.wait_uids("samplesite", 200)
        self.assertEqual(loader.stop(), 0, loader.read_log())
        self.assertEqual(collector.stop(), 0)
        self.assert_exactly_once(acked)

    def test_a_field_added_to_the_schema_adds_the_column_old_rows_null(self):
        config = example_config(self.tmp, FAST, base=CLICKHOUSE_EXAMPLE)
        run = self.start(config)
        before = send_beacons(run.port, [f"old{i}" for i in range(20)])
        self.wait_uids("samplesite", 20)
        self.assertEqual(run.stop(), 0)
        widened = example_config(self.tmp, FAST + [
            ('      - {name: vie, max_length: 16, description: "viewport WxH"}\n',
             '      - {name: vie, max_length: 16, description: "viewport WxH"}\n'
             '      - {name: lang, max_length: 8, description: "page language"}\n'
             '      - {name: depth, from: param, type: integer}\n')], base=CLICKHOUSE_EXAMPLE)
        run = self.start(widened)
        conn_uids = [f"new{i}" for i in range(20)]
        for uid in conn_uids:
            status, _, _ = run.request("GET", f"/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=u&uid={uid}&lang=ja&depth=3")
            self.assertEqual(status, 200)
        self.wait_uids("samplesite", 40)
        self.assertEqual(run.stop(), 0, run.read_log())
        table = self.ch.site_tables("samplesite")[-1]
        types = dict(self.ch.rows(f"SELECT name, type FROM system.columns WHERE database = 'oceanus' AND table = '{table}'"))
        self.assertEqual(types["lang"], "Nullable(String)")
        self.assertEqual(types["depth"], "Nullable(Int64)")
        rows = {}
        for t in self.ch.site_tables("samplesite"):
            for uid, lang, depth in self.ch.rows(f"SELECT uid, lang, depth FROM oceanus.{t} FINAL"):
                rows[uid] = (lang, depth)
        self.assertEqual({rows[u] for u in before}, {(None, None)})
        self.assertEqual({rows[u] for u in conn_uids}, {("ja", "3")})

    def check(self, config, **env):
        p = subprocess.run([BIN, "check", "--config", config], capture_output=True, text=True,
                           env={**os.environ, **self.env, **env}, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_check_accepts_the_example_and_refuses_what_run_would(self):
        code, out, err = self.check(CLICKHOUSE_EXAMPLE, OCEANUS_CLICKHOUSE_PASSWORD="hunter2")
        self.assertEqual(code, 0, err)
        self.assertIn(f"sink: clickhouse {self.ch.url}, database oceanus\n", out)
        self.assertIn("  password: (set)\n", out)
        self.assertNotIn("hunter2", out + err)
        code, out, err = self.check(CLICKHOUSE_EXAMPLE, OCEANUS_CLICKHOUSE_URL="ftp://127.0.0.1:1")
        self.assertNotEqual(code, 0)
        self.assertRegex(err, r"clickhouse\.yaml:\d+:\d+: clickhouse url 'ftp://127.0.0.1:1' must be http\(s\)://host:port")
        code, out, err = self.check(CLICKHOUSE_EXAMPLE, OCEANUS_CLICKHOUSE_DATABASE="no-dashes")
        self.assertNotEqual(code, 0)
        self.assertRegex(err, r"clickhouse\.yaml:\d+:\d+: clickhouse database 'no-dashes' must match")
        code, out, err = self.check(CLICKHOUSE_EXAMPLE, OCEANUS_CLICKHOUSE_CA_FILE="/nonexistent/ca.pem")
        self.assertNotEqual(code, 0)
        self.assertIn("sink.clickhouse.ca_file: cannot read /nonexistent/ca.pem", err)
        # `run` refuses the same at start, before serving anything.
        p = subprocess.run([BIN, "run", "--config", CLICKHOUSE_EXAMPLE, "--data-dir", self.tmp + "/d",
                            "--listen", "127.0.0.1:0", "--admin-listen", "off"], capture_output=True, text=True,
                           env=dict(os.environ, **self.env, OCEANUS_CLICKHOUSE_CA_FILE="/nonexistent/ca.pem"), timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("sink.clickhouse.ca_file: cannot read /nonexistent/ca.pem", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()

"""PostgreSQL end to end, against a real PostgreSQL 15 (postgres_server.py): beacons through
`oceanus run` and through the Redis roles (collect + load) into tables and partitions, a
loader started while the database is down, schema evolution across a restart, wrongly typed
rows dead-lettered alone, and what `oceanus check` prints and refuses."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, Oceanus, Redis, erase, example_config, send_beacons, wait_for
from postgres_server import POSTGRES_EXAMPLE, Postgres, postgres_config

class PostgresTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-pg-it-")
        self.pg = Postgres()
        self.env = {"OCEANUS_POSTGRES_URL": self.pg.url()}
        self.procs = []
        self.redis = None

    def tearDown(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                p.kill9()
        if self.redis:
            self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, config, role="run", data_dir=None):
        p = Oceanus(config=config, role=role, env=self.env, data_dir=data_dir).start()
        self.procs.append(p)
        return p

    def test_run_starts_while_postgres_is_down_and_loads_every_event_once(self):
        oceanus = self.start(postgres_config(self.tmp))  # nothing listens on the URL's port yet
        acked = send_beacons(oceanus.port, [f"u{i}" for i in range(200)])
        self.assertEqual(len(acked), 200)
        wait_for(lambda: "postgres: cannot connect" in oceanus.read_log(), what="a connect failure")
        self.pg.start()
        wait_for(lambda: self.pg.tables("samplesite") and self.pg.count("samplesite") >= 200,
                 timeout=60, what="200 rows in PostgreSQL")
        status, _, _ = oceanus.request("POST", "/pirate/sampleform", body="sid=ab&email=a%40b.jp&jsn=%7B%22k%22%3A1%7D",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        wait_for(lambda: self.pg.tables("sampleform") and self.pg.count("sampleform") == 1,
                 timeout=30, what="the form row")
        self.assertEqual(oceanus.stop(), 0, oceanus.read_log())

        rows = self.pg.rows("samplesite", "uid, eid")
        self.assertEqual(sorted(r[0] for r in rows), sorted(acked))
        self.assertEqual(len({r[1] for r in rows}), 200)
        table = self.pg.tables("samplesite")[0]
        types = dict(self.pg.psql("SELECT column_name, data_type FROM information_schema.columns "
                                  f"WHERE table_name = '{table}'"))
        self.assertEqual((types["dt"], types["eid"], types["jsn"]),
                         ("timestamp with time zone", "text", "jsonb"))
        self.assertEqual(self.pg.scalar(f"SELECT col_description('\"{table}\"'::regclass, 1)"),
                         "received at, UTC")
        # The form's single table: partitioned by day, today's and tomorrow's made ahead.
        self.assertEqual(self.pg.scalar("SELECT relkind FROM pg_class WHERE relname = 'sampleform'"), "p")
        parts = [r[0] for r in self.pg.psql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'sampleform'::regclass ORDER BY 1")]
        self.assertGreaterEqual(len(parts), 2, parts)
        self.assertEqual(self.pg.psql("SELECT email, jsn->>'k' FROM sampleform"), [["a@b.jp", "1"]])
        # Erasure: that person's row leaves the daily table, the 199 others stay.
        code, out = erase(oceanus.config, oceanus.data_dir, "uid", acked[0], self.env)
        self.assertEqual(code, 0, out)
        self.assertIn("erased 1 row(s)", out)
        self.assertEqual(sorted(r[0] for r in self.pg.rows("samplesite", "uid")), sorted(acked[1:]))

    def test_redis_roles_collect_and_load_into_postgres(self):
        self.pg.start()
        self.redis = Redis().start()
        self.env["OCEANUS_REDIS"] = self.redis.address
        config = postgres_config(self.tmp, redis=True)
        collector = self.start(config, role="collect")
        loader = self.start(config, role="load")
        acked = send_beacons(collector.port, [f"r{i}" for i in range(300)])
        wait_for(lambda: self.pg.tables("samplesite") and self.pg.count("samplesite") >= 300,
                 timeout=60, what="300 rows")
        # The loader is killed and another one started: the rewrite of what it had not acked
        # stores nothing twice.
        loader.kill9()
        acked += send_beacons(collector.port, [f"s{i}" for i in range(100)])
        loader = self.start(config, role="load")
        wait_for(lambda: self.pg.count("samplesite") >= 400, timeout=60, what="400 rows")
        self.assertEqual(loader.stop(), 0, loader.read_log())
        self.assertEqual(collector.stop(), 0)
        rows = self.pg.rows("samplesite", "uid")
        self.assertEqual(sorted(r[0] for r in rows), sorted(acked))
        self.assertEqual(self.redis.raw("XLEN", "samplesite:dead").strip(), "0")

    def test_a_field_added_to_the_schema_adds_the_column_after_a_restart(self):
        self.pg.start()
        config = postgres_config(self.tmp)
        data = os.path.join(self.tmp, "data")
        oceanus = self.start(config, data_dir=data)
        send_beacons(oceanus.port, [f"old{i}" for i in range(10)])
        wait_for(lambda: self.pg.tables("samplesite") and self.pg.count("samplesite") == 10,
                 timeout=30, what="10 rows")
        self.assertEqual(oceanus.stop(), 0)
        with open(config) as f:
            text = f.read()
        text = text.replace('      - {name: vie, max_length: 16, description: "viewport WxH"}\n',
                            '      - {name: vie, max_length: 16, description: "viewport WxH"}\n'
                            '      - {name: lang, max_length: 8, description: "browser language"}\n', 1)
        with open(config, "w") as f:
            f.write(text)
        oceanus = self.start(config, data_dir=data)
        status, _, _ = oceanus.request("GET", "/swallow/samplesite?oid=2&sid=ab&evt=pageview&url=u&uid=new1&lang=ja")
        self.assertEqual(status, 200)
        wait_for(lambda: self.pg.count("samplesite") == 11, timeout=30, what="the new row")
        self.assertEqual(oceanus.stop(), 0)
        rows = sorted(self.pg.rows("samplesite", "uid, lang"))
        self.assertEqual(rows[-1], ["old9", None])
        self.assertEqual([r for r in rows if r[1] is not None], [["new1", "ja"]])
        table = self.pg.tables("samplesite")[0]
        self.assertEqual(self.pg.scalar(
            f"SELECT col_description('\"{table}\"'::regclass, (SELECT attnum FROM pg_attribute "
            f"WHERE attrelid = '\"{table}\"'::regclass AND attname = 'lang'))"), "browser language")

    def test_wrongly_typed_rows_alone_go_to_the_dead_letter(self):
        self.pg.start()
        self.redis = Redis().start()
        self.env["OCEANUS_REDIS"] = self.redis.address
        config = postgres_config(self.tmp, redis=True)
        collector = self.start(config, role="collect")
        # Written straight into the queue, past the collector's checks: a dt that is no time
        # (we refuse it) and a NUL character in text (only PostgreSQL refuses it).
        self.redis.cli("XADD", "samplesite", "*", "d",
                       '{"dt":"not a time","eid":"bad-dt","oid":"2","sid":"ab","evt":"x","url":"u"}')
        self.redis.cli("XADD", "samplesite", "*", "d",
                       '{"dt":"2026-12-01 10:00:00.000000","eid":"bad-nul","oid":"2","sid":"ab",'
                       '"evt":"x","url":"u","tit":"a\\u0000b"}')
        acked = send_beacons(collector.port, [f"d{i}" for i in range(20)])
        loader = self.start(config, role="load")
        wait_for(lambda: self.redis.raw("XLEN", "samplesite:dead").strip() == "2", timeout=60,
                 what="two rows in the dead-letter stream")
        wait_for(lambda: self.pg.tables("samplesite") and self.pg.count("samplesite") >= 20,
                 timeout=30, what="the good rows")
        self.assertEqual(loader.stop(), 0, loader.read_log())
        dead = self.redis.raw("XRANGE", "samplesite:dead", "-", "+")
        self.assertIn("column dt: 'not a time' is not a timestamp", dead)
        self.assertIn("rejected by postgres: invalid byte sequence", dead)
        self.assertIn("bad-nul", dead)
        self.assertEqual(sorted(r[0] for r in self.pg.rows("samplesite", "uid")), sorted(acked))

    def check(self, config, **env):
        base = {k: v for k, v in os.environ.items() if not k.startswith("OCEANUS_") and k != "PGPASSWORD"}
        base["OCEANUS_DATA_DIR"] = os.path.join(self.tmp, "data")
        p = subprocess.run([BIN, "check", "--config", config], capture_output=True, text=True,
                           env=dict(base, **env), timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_check_prints_the_target_without_the_password_and_refuses_mistakes(self):
        code, out, err = self.check(POSTGRES_EXAMPLE,
                                    OCEANUS_POSTGRES_URL="postgresql://loader:s3cret@db.example:6543/events?sslmode=require",
                                    OCEANUS_POSTGRES_PASSWORD="other-secret")
        self.assertEqual(code, 0, err)
        self.assertIn("sink: postgres loader@db.example:6543/events\n", out)
        self.assertIn("  url: user=loader password=(hidden) dbname=events host=db.example port=6543 sslmode=require\n", out)
        self.assertIn("  password: (set, hidden)\n", out)
        self.assertNotIn("s3cret", out + err)
        self.assertNotIn("other-secret", out + err)

        code, out, err = self.check(POSTGRES_EXAMPLE)
        self.assertEqual(code, 2, out)
        self.assertIn("OCEANUS_POSTGRES_URL", err)

        code, out, err = self.check(POSTGRES_EXAMPLE, OCEANUS_POSTGRES_URL="postgresql://h/db?sslmode")
        self.assertEqual(code, 2, out)
        with open(POSTGRES_EXAMPLE) as f:
            lines = f.read().split("\n")
        line = next(i for i, t in enumerate(lines, 1) if "url: ${OCEANUS_POSTGRES_URL}" in t)
        self.assertTrue(err.startswith(f"{POSTGRES_EXAMPLE}:{line}:10: sink.postgres.url is not a libpq"), err)

        config = example_config(self.tmp, [("    connect_timeout: 10s\n", "    connect_timeout: 10s\n    sslmode: require\n")],
                                base=POSTGRES_EXAMPLE)
        code, out, err = self.check(config, OCEANUS_POSTGRES_URL="host=h")
        self.assertEqual(code, 2, out)
        self.assertIn("sslmode", err)


if __name__ == "__main__":
    unittest.main()

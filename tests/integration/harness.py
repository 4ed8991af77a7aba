"""Starts build/oceanus as a real process for integration tests, and reads what it stored.

Stdlib only (Debian's /usr/bin/python3): subprocess for the server, http.client for
requests, sqlite3 for the warehouse. Every wait polls a condition with a deadline; nothing
sleeps in place of synchronisation.
"""
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

BIN = os.environ.get("OCEANUS_BIN", os.path.join(os.path.dirname(__file__), "../../build/oceanus"))
SOURCE_DIR = os.environ.get("OCEANUS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "oceanus.yaml")
REDIS_EXAMPLE = os.path.join(SOURCE_DIR, "examples", "redis.yaml")
BIGQUERY_EXAMPLE = os.path.join(SOURCE_DIR, "examples", "bigquery.yaml")

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")


def send_beacons(port, uids, site="samplesite", stop_on_error=False):
    """One page-view beacon per uid on a keep-alive connection; returns the uids answered 200.

    On a connection error it reconnects and goes on, or (stop_on_error) stops: then the rest
    were never acknowledged."""
    acked = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    for uid in uids:
        try:
            conn.request("GET", f"/swallow/{site}?oid=2&sid=ab&evt=pageview&url=u&uid={uid}")
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                acked.append(uid)
        except (OSError, http.client.HTTPException):
            conn.close()
            if stop_on_error:
                break
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.close()
    return acked


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout=20.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def example_config(tmpdir, replacements=(), base=None):
    """An example config (default examples/oceanus.yaml) with textual replacements, in tmpdir."""
    with open(base or EXAMPLE) as f:
        text = f.read()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = os.path.join(tmpdir, "oceanus.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Oceanus:
    """One `oceanus run` process on a free loopback port with its own data dir."""

    def __init__(self, config=None, data_dir=None, port=None, role="run", env=None, db_path=None,
                 admin_port=None):
        self.tmp = tempfile.mkdtemp(prefix="oceanus-it-")
        self.config = config or EXAMPLE
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port = port or free_port()
        self.role = role
        self.env = dict(os.environ, **(env or {}))
        self._db_path = db_path
        self.admin_port = admin_port
        self.proc = None
        self.log_path = os.path.join(self.tmp, "oceanus.log")

    @property
    def db_path(self):
        return self._db_path or os.path.join(self.data_dir, "oceanus.db")

    def start(self):
        self.log = open(self.log_path, "ab")
        args = [BIN, self.role, "--config", self.config, "--data-dir", self.data_dir,
                "--admin-listen", f"127.0.0.1:{self.admin_port}" if self.admin_port else "off"]
        if self.role in ("run", "collect"):
            args += ["--listen", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        if self.role in ("run", "collect"):
            wait_for(self._healthy, timeout=30, what="oceanus /hc")
        else:
            wait_for(lambda: "running" in self.read_log() or self.proc.poll() is not None,
                     timeout=30, what=f"oceanus {self.role} to start")
            if self.proc.poll() is not None:
                raise AssertionError(f"oceanus {self.role} exited:\n{self.read_log()}")
        return self

    def _healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"oceanus exited with {self.proc.returncode}:\n{self.read_log()}")
        try:
            return self.request("GET", "/hc")[0] == 200
        except OSError:
            return False

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()

    def admin(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=15)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def request(self, method, path, body=None, headers=None, timeout=15, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    # --- the warehouse -------------------------------------------------------------------
    def tables(self, site):
        if not os.path.exists(self.db_path):
            return []
        with sqlite3.connect(self.db_path) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return sorted(n for n in names if n == site or re.fullmatch(site + r"_\d{8}", n))

    def rows(self, site, where="1=1", params=()):
        out = []
        with sqlite3.connect(self.db_path) as db:
            db.row_factory = sqlite3.Row
            for t in self.tables(site):
                out += [dict(r) for r in db.execute(f'SELECT * FROM "{t}" WHERE {where}', params)]
        return out

    def wait_rows(self, site, count, where="1=1", params=(), timeout=20):
        return wait_for(lambda: (lambda r: r if len(r) >= count else None)(
            self.rows(site, where, params)), timeout=timeout, what=f"{count} rows in {site}")


class Redis:
    """A real redis-server with AOF on, on a free loopback port, in a temp dir."""

    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="oceanus-redis-")
        self.port = port or free_port()
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--protected-mode", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ping(), timeout=20, what="redis-server")
        return self

    def ping(self):
        try:
            return self.cli("PING") == "PONG"
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--no-raw", *args],
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip().strip('"') if "\n" not in out.stdout.strip() else out.stdout

    def raw(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args],
                              capture_output=True, text=True, timeout=10, check=True).stdout

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.log.close()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


class FakeGoogle:
    """tests/fakes/fake_google.py with a fresh service-account key pair and key file."""

    EMAIL = "loader@oceanus-test.iam.gserviceaccount.com"

    def __init__(self, ttl=3600):
        self.dir = tempfile.mkdtemp(prefix="oceanus-google-")
        self.key = os.path.join(self.dir, "key.pem")
        self.pub = os.path.join(self.dir, "pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", self.key], check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-out", self.pub], check=True)
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(SOURCE_DIR, "tests", "fakes", "fake_google.py"),
             "--public-key", self.pub, "--email", self.EMAIL, "--ttl", str(ttl)],
            stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"
        self.key_file = os.path.join(self.dir, "sa.json")
        with open(self.key) as f, open(self.key_file, "w") as out:
            json.dump({"type": "service_account", "project_id": "oceanus-test", "private_key_id": "k1",
                       "private_key": f.read(), "client_email": self.EMAIL,
                       "token_uri": self.base + "/token"}, out)

    def env(self):
        return {"GOOGLE_APPLICATION_CREDENTIALS": self.key_file, "OCEANUS_BIGQUERY_PROJECT": "oceanus-test",
                "OCEANUS_BIGQUERY_DATASET": "events", "OCEANUS_BIGQUERY_ENDPOINT": self.base,
                "OCEANUS_GOOGLE_TOKEN_URI": self.base + "/token"}

    def _call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
            return json.loads(conn.getresponse().read() or b"{}")
        finally:
            conn.close()

    def tables(self):
        return self._call("GET", "/_tables")

    def stats(self):
        return self._call("GET", "/_stats")

    def inject(self, fail_next, status=500, retry_after=None):
        body = {"fail_next": fail_next, "status": status}
        if retry_after is not None:
            body["retry_after"] = retry_after
        self._call("POST", "/_inject", body)

    def outage(self, seconds):
        self._call("POST", "/_inject", {"outage_seconds": seconds})

    def rows(self, site):
        return [r for name, t in self.tables().items() if name == site or name.startswith(site + "_")
                for r in t["rows"]]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

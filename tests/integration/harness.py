"""Starts build/oceanus as a real process for integration tests, and reads what it stored.

Stdlib only (Debian's /usr/bin/python3): subprocess for the server, http.client for
requests, sqlite3 for the warehouse. Every wait polls a condition with a deadline; nothing
sleeps in place of synchronisation.
"""
import atexit
import http.client
import json
import os
import pwd
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

BIN = os.environ.get("OCEANUS_BIN", os.path.join(os.path.dirname(__file__), "../../build/oceanus"))
SOURCE_DIR = os.environ.get("OCEANUS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
FAKES = os.path.join(SOURCE_DIR, "tests", "fakes")
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "oceanus.yaml")
REDIS_EXAMPLE = os.path.join(SOURCE_DIR, "examples", "redis.yaml")
BIGQUERY_EXAMPLE = os.path.join(SOURCE_DIR, "examples", "bigquery.yaml")

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")


def erase(config, data_dir, field, value, env=None, *extra):
    """`oceanus erase` of one value; (exit code, stdout + stderr)."""
    proc = subprocess.run([BIN, "erase", "--config", config, "--data-dir", data_dir,
                           "--field", field, "--value", value, *extra],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))
    return proc.returncode, proc.stdout + proc.stderr


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


# Fixtures whose processes run: stopped at exit when a test failed before its own stop(), so
# that no broker or fake outlives the test run.
_RUNNING = []


@atexit.register
def _stop_leftovers():
    for fixture in list(_RUNNING):
        try:
            fixture.stop()
        except Exception:  # the others must still be stopped
            pass


def _running(fixture, on):
    if on and fixture not in _RUNNING:
        _RUNNING.append(fixture)
    elif not on and fixture in _RUNNING:
        _RUNNING.remove(fixture)


def _call_json(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read() or b"{}")
    finally:
        conn.close()


def _start_fake(args, log_path):
    """A fake from tests/fakes that prints its port first; its stdin is ours (--exit-with-parent),
    so it also ends when this process dies without cleaning up."""
    log = open(log_path, "ab")
    proc = subprocess.Popen(["/usr/bin/python3", *args, "--exit-with-parent"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    log.close()
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        proc.wait(timeout=10)
        with open(log_path, "rb") as f:
            raise AssertionError(f"{args[0]} did not start:\n{f.read().decode(errors='replace')}")
    return proc, int(line)


def _end(proc, timeout=10):
    """SIGTERM, then SIGKILL if it does not go within timeout; then close our pipes to it."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None and not pipe.closed:
            pipe.close()


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
        if self.admin_port:
            # The admin listener starts after the stages: ready only once it answers too.
            wait_for(self._admin_healthy, timeout=30, what="oceanus admin /hc")
        return self

    def _admin_healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"oceanus exited with {self.proc.returncode}:\n{self.read_log()}")
        try:
            return self.admin("/hc")[0] == 200
        except OSError:
            return False

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
        seen = [0]

        def enough():
            rows = self.rows(site, where, params)
            seen[0] = len(rows)
            return rows if len(rows) >= count else None
        try:
            return wait_for(enough, timeout=timeout, what=f"{count} rows in {site}")
        except AssertionError as e:
            # How far it got tells a slow pipeline (close) from a stuck or lossy one.
            raise AssertionError(f"{e} (last seen: {seen[0]}); log:\n{self.read_log()[-3000:]}")


class Redis:
    """A real redis-server with AOF on, on a free loopback port, in a temp dir."""

    def __init__(self, port=None, password=None):
        self.dir = tempfile.mkdtemp(prefix="oceanus-redis-")
        self.port = port or free_port()
        self.password = password  # requirepass; redis-cli gets it from REDISCLI_AUTH
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--protected-mode", "no"] + (["--requirepass", self.password] if self.password else []),
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ping(), timeout=20, what="redis-server")
        return self

    def ping(self):
        try:
            return self.cli("PING") == "PONG"
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False

    def _env(self):
        return dict(os.environ, REDISCLI_AUTH=self.password) if self.password else None

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--no-raw", *args],
                             capture_output=True, text=True, timeout=10, check=True, env=self._env())
        return out.stdout.strip().strip('"') if "\n" not in out.stdout.strip() else out.stdout

    def raw(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args],
                              capture_output=True, text=True, timeout=10, check=True,
                              env=self._env()).stdout

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

    def __init__(self, ttl=3600, strict_sheets=False):
        self.dir = tempfile.mkdtemp(prefix="oceanus-google-")
        self.key = os.path.join(self.dir, "key.pem")
        self.pub = os.path.join(self.dir, "pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", self.key], check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-out", self.pub], check=True)
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(SOURCE_DIR, "tests", "fakes", "fake_google.py"),
             "--public-key", self.pub, "--email", self.EMAIL, "--ttl", str(ttl)]
            + (["--strict-sheets"] if strict_sheets else []),
            stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"
        # Second line: "storage_write <port>", the gRPC Storage Write API fake.
        self.storage_port = int(self.proc.stdout.readline().split()[1])
        self.storage_endpoint = f"127.0.0.1:{self.storage_port}"
        self.key_file = os.path.join(self.dir, "sa.json")
        with open(self.key) as f, open(self.key_file, "w") as out:
            json.dump({"type": "service_account", "project_id": "oceanus-test", "private_key_id": "k1",
                       "private_key": f.read(), "client_email": self.EMAIL,
                       "token_uri": self.base + "/token"}, out)

    def env(self):
        return {"GOOGLE_APPLICATION_CREDENTIALS": self.key_file, "OCEANUS_BIGQUERY_PROJECT": "oceanus-test",
                "OCEANUS_BIGQUERY_DATASET": "events", "OCEANUS_BIGQUERY_ENDPOINT": self.base,
                "OCEANUS_BIGQUERY_STORAGE_ENDPOINT": self.storage_endpoint,
                "OCEANUS_GOOGLE_TOKEN_URI": self.base + "/token"}

    def _call(self, method, path, body=None):
        return _call_json(self.port, method, path, body)

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
        """Both APIs: BigQuery's REST calls answer 503, the Storage Write API UNAVAILABLE."""
        self._call("POST", "/_inject", {"outage_seconds": seconds})
        self.inject_storage(outage_seconds=seconds)

    def inject_storage(self, **members):
        """POST /_inject {"target": "storage_write", **members} (tests/fakes/fake_storage_write.py)."""
        self._call("POST", "/_inject", dict(members, target="storage_write"))

    def storage_write(self):
        """GET /_storage_write: {"streams": {...}, "calls": {...}, "request_bytes", "rows_appended"}."""
        return self._call("GET", "/_storage_write")

    def rows(self, site):
        return [r for name, t in self.tables().items() if name == site or name.startswith(site + "_")
                for r in t["rows"]]

    # --- Sheets ----------------------------------------------------------------------------
    def sheets_env(self, spreadsheet_id):
        return {"OCEANUS_SHEETS_ENDPOINT": self.base, "OCEANUS_SPREADSHEET_ID": spreadsheet_id,
                "GOOGLE_APPLICATION_CREDENTIALS": self.key_file, "OCEANUS_GOOGLE_TOKEN_URI": self.base + "/token"}

    def sheets(self):
        """{"spreadsheets": {id: {worksheet title: [rows]}}, "calls": {"get", "batchUpdate",
        "addSheet", "append", "unauthorized"}}"""
        return self._call("GET", "/_sheets")

    def sheet_rows(self, spreadsheet_id, title):
        return self.sheets()["spreadsheets"].get(spreadsheet_id, {}).get(title, [])

    def create_spreadsheet(self, spreadsheet_id, titles=("Sheet1",)):
        """Needed only with strict_sheets=True; otherwise every id exists on first use."""
        self._call("POST", "/_sheets/create", {"spreadsheetId": spreadsheet_id, "sheets": list(titles)})

    def inject_sheets(self, fail_next, status=500, retry_after=None):
        """The next fail_next Sheets calls answer status (BigQuery's are not affected)."""
        body = {"target": "sheets", "fail_next": fail_next, "status": status}
        if retry_after is not None:
            body["retry_after"] = retry_after
        self._call("POST", "/_inject", body)

    def sheets_outage(self, seconds):
        self._call("POST", "/_inject", {"target": "sheets", "outage_seconds": seconds})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class FakeServices:
    """tests/fakes/fake_services.py: Slack incoming webhooks (/slack/...), SendGrid
    (/v3/mail/send) and a generic webhook receiver (/hook/...), recording what they receive."""

    def __init__(self, sendgrid_key="SG.test-key"):
        self.dir = tempfile.mkdtemp(prefix="oceanus-services-")
        self.sendgrid_key = sendgrid_key
        self.proc, self.port = _start_fake(
            [os.path.join(FAKES, "fake_services.py"), "--sendgrid-key", sendgrid_key],
            os.path.join(self.dir, "fake_services.log"))
        _running(self, True)
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, path):
        """e.g. url("/slack/T000/B000/XXXX"); url("") is the base, as a SendGrid endpoint."""
        return self.base + path

    def received(self, prefix=""):
        """What arrived under prefix, oldest first: [{"time", "method", "path", "headers",
        "body", "json", "status"}], answered-with-failure ones included."""
        return _call_json(self.port, "GET", "/_received?" + urllib.parse.urlencode({"path_prefix": prefix}))

    def wait_received(self, prefix, n, timeout=20, status=None):
        """At least n requests under prefix (only those answered status, if given)."""
        def enough():
            got = [r for r in self.received(prefix) if status is None or r["status"] == status]
            return got if len(got) >= n else None
        return wait_for(enough, timeout=timeout, what=f"{n} requests to {prefix}")

    def inject(self, prefix, fail_next, status=500, retry_after=None):
        body = {"path_prefix": prefix, "fail_next": fail_next, "status": status}
        if retry_after is not None:
            body["retry_after"] = retry_after
        _call_json(self.port, "POST", "/_inject", body)

    def delay(self, prefix, ms, count=None):
        """Answer requests under prefix after ms milliseconds (the next count ones, or all until
        delay(prefix, 0))."""
        body = {"path_prefix": prefix, "delay_ms": ms}
        if count is not None:
            body["delay_next"] = count
        _call_json(self.port, "POST", "/_inject", body)

    def reset(self):
        _call_json(self.port, "POST", "/_reset")

    def stop(self):
        _end(self.proc)
        _running(self, False)


class SmtpSink:
    """tests/fakes/smtp_sink.py (a real aiosmtpd server) on a free port with its own directory.

    auth: "user:password" (or a pair) makes AUTH required; tls=True offers and requires STARTTLS
    with a fresh self-signed certificate for localhost and 127.0.0.1 (self.cert, which is also
    the CA file a client needs); fail_next: the first N DATA answer 451."""

    def __init__(self, auth=None, tls=False, fail_next=0):
        self.dir = tempfile.mkdtemp(prefix="oceanus-smtp-")
        if isinstance(auth, (tuple, list)):
            auth = ":".join(auth)
        self.auth = auth
        self.user, _, self.password = (auth or "").partition(":")
        args = [os.path.join(FAKES, "smtp_sink.py"), "--dir", self.dir, "--port", "0",
                "--fail-next", str(fail_next)]
        if auth:
            args += ["--auth", auth]
        self.cert = self.key = None
        if tls:
            self.cert = os.path.join(self.dir, "cert.pem")
            self.key = os.path.join(self.dir, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                            "-keyout", self.key, "-out", self.cert], check=True, capture_output=True)
            args += ["--tls-cert", self.cert, "--tls-key", self.key]
        self.proc, self.port = _start_fake(args, os.path.join(self.dir, "smtp_sink.log"))
        _running(self, True)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def _lines(self, name):
        try:
            with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                # A line is whole once it ends in a newline: a message being written is not yet one.
                return [json.loads(line) for line in f if line.endswith("\n")]
        except FileNotFoundError:
            return []

    def messages(self):
        """Accepted messages, oldest first: {"time", "mail_from", "rcpt_tos", "data", "subject",
        "text", "html", "auth_user", "tls"}."""
        return self._lines("messages.jsonl")

    def attempts(self):
        """Every DATA, accepted or refused: {"time", "mail_from", "rcpt_tos", "status"}."""
        return self._lines("attempts.jsonl")

    def wait_messages(self, n, timeout=20):
        return wait_for(lambda: (lambda m: m if len(m) >= n else None)(self.messages()),
                        timeout=timeout, what=f"{n} mails in the SMTP sink")

    def inject(self, fail_next):
        """The next fail_next DATA (from now on) answer 451 4.3.0."""
        tmp = os.path.join(self.dir, "inject.json.tmp")
        with open(tmp, "w") as f:
            json.dump({"fail_next": fail_next}, f)
        os.replace(tmp, os.path.join(self.dir, "inject.json"))  # the sink never reads half a file

    def stop(self):
        _end(self.proc)
        _running(self, False)


class RabbitMq:
    """A real RabbitMQ broker (Debian's 3.10) as a plain process on free loopback ports, with
    its own node name, data, logs and epmd in a temp dir; started by the constructor.

    It runs as the rabbitmq user (when we are root), as ../shared/PLATFORM_NOTES.md says:
    /usr/lib/rabbitmq/bin/rabbitmq-server directly, because the /usr/sbin wrapper forces /var
    paths. Ready (about 5 s here; self.startup_seconds) when the AMQP port answers the protocol
    header with Connection.Start. stop() then start() (or restart()) brings the same node back
    on the same ports with its data, for durability tests; kill() is a crash (SIGKILL)."""

    SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
    START_TIMEOUT = 60

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="oceanus-rabbitmq-")
        ports = []
        while len(ports) < 3:  # free_port() may answer the same port twice
            port = free_port()
            if port not in ports:
                ports.append(port)
        self.port, self.dist_port, self.epmd_port = ports
        self.nodename = f"rabbit-{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.proc = self.epmd = None
        self.startup_seconds = None
        for name in ("mnesia", "log", "home"):
            os.makedirs(os.path.join(self.dir, name))
        # Our own files, so that nothing in /etc/rabbitmq applies; the disk alarm is lowered
        # so that a nearly full test disk does not block publishers.
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        open(os.path.join(self.dir, "rabbitmq-env.conf"), "w").close()
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write("disk_free_limit.absolute = 1MB\n")
        self.as_rabbitmq = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("rabbitmq")
            for root, dirs, files in os.walk(self.dir):
                for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                    os.chown(name, user.pw_uid, user.pw_gid)
            self.as_rabbitmq = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",  # the CLI (Elixir) wants UTF-8
            "HOME": os.path.join(self.dir, "home"),  # .erlang.cookie, shared by the CLI
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.dir, "log"),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.dir, "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.dir, "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.dir, "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(self.dir, "advanced.config"),
        }
        self.start()

    def start(self):
        """Start the broker (if it is not running) and wait until it answers AMQP."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        began = time.monotonic()
        _running(self, True)
        try:
            # Our own epmd, as our child: the broker finds it on ERL_EPMD_PORT instead of
            # daemonising one, and stop() ends it by its PID.
            if self.epmd is None or self.epmd.poll() is not None:  # kill() leaves it running
                self.epmd = subprocess.Popen(
                    self.as_rabbitmq + ["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                    env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            wait_for(lambda: self._connects(self.epmd_port) or self._exited(self.epmd, "epmd"),
                     timeout=10, what="epmd")
            log = open(os.path.join(self.dir, "rabbitmq-server.out"), "ab")
            # A session of its own: stop() signals the whole group (erl, beam, its helpers).
            self.proc = subprocess.Popen(self.as_rabbitmq + [self.SERVER], env=self.env, cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            log.close()
            wait_for(lambda: self._amqp_ready() or self._exited(self.proc, "rabbitmq-server"),
                     timeout=self.START_TIMEOUT, interval=0.1, what="RabbitMQ to answer AMQP")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _exited(self, proc, what):
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{self.read_log()}")
        return False

    @staticmethod
    def _connects(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def _amqp_ready(self):
        """The AMQP 0-9-1 handshake: after the protocol header the broker sends Connection.Start,
        a method frame (type 1). The port alone opens before the broker can serve."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                return s.recv(1)[:1] == b"\x01"
        except OSError:
            return False

    def read_log(self):
        out = ""
        for name in ["rabbitmq-server.out"] + sorted(os.listdir(os.path.join(self.dir, "log"))):
            path = os.path.join(self.dir, name) if name.endswith(".out") else os.path.join(self.dir, "log", name)
            try:
                with open(path, "rb") as f:
                    out += f"--- {name}\n" + f.read().decode(errors="replace")[-20000:]
            except OSError:
                pass
        return out

    def ctl(self, *args, timeout=60):
        """rabbitmqctl -n <our node> ARGS, as the broker's user with its env (cookie, epmd port)."""
        return subprocess.run(self.as_rabbitmq + [self.CTL, "-n", self.nodename, *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=True).stdout

    def queue_lengths(self):
        """{queue name: messages ready + unacknowledged} on the default vhost."""
        out = self.ctl("list_queues", "name", "messages", "--formatter", "json", "--quiet")
        return {q["name"]: q["messages"] for q in json.loads(out or "[]")}

    def kill(self):
        """A crash: SIGKILL to the broker's process group (epmd stays, as it would)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self):
        self.stop()
        return self.start()

    def stop(self, timeout=30):
        """SIGTERM to the broker's process group (a clean shutdown), SIGKILL if it lingers;
        then its epmd."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            try:  # helpers left in the group (erl_child_setup, inet_gethost) go too
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self.epmd is not None:
            _end(self.epmd)
        # An epmd the node daemonised itself (if ours was not up in time) is found by its port;
        # the port is this instance's own, so it is ours to end.
        for pid in self._stray_epmds():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _running(self, False)

    def _stray_epmds(self):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if not argv or not os.path.basename(argv[0]).startswith(b"epmd"):
                    continue
                with open(f"/proc/{entry}/environ", "rb") as f:
                    environ = f.read().split(b"\0")
            except OSError:
                continue
            port = str(self.epmd_port).encode()
            if b"ERL_EPMD_PORT=" + port in environ or (b"-port" in argv and port in argv):
                pids.append(int(entry))
        return pids


# --- Prometheus text format (0.0.4), checked strictly ------------------------------------
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?\Z")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|\Z)')
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _family_of(name, types):
    """The family a sample belongs to: itself, or the histogram/summary it is a part of."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check_metrics_text(text):
    """Parses /metrics strictly; returns {(name, frozenset(labels)): value} or raises
    AssertionError naming the line. Beyond what Prometheus's own parser checks (it is
    lenient): each family's HELP and TYPE at most once and before its samples, a family's
    lines contiguous (none after another family started), no series twice, valid names,
    label syntax and values, and a final newline."""
    assert text.endswith("\n"), "the text does not end with a newline"
    types, helped, finished, samples = {}, set(), set(), {}
    current = None

    def enter(family, where):
        nonlocal current
        if family != current:
            assert family not in finished, f"{where}: family {family} continues after another family"
            if current is not None:
                finished.add(current)
            current = family

    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {number} {line!r}"
        assert line, f"{where}: empty line"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert len(parts) >= 3 and parts[1] in ("HELP", "TYPE"), f"{where}: not HELP or TYPE"
            name = parts[2]
            assert _METRIC_NAME.match(name), f"{where}: bad metric name"
            enter(name, where)
            if parts[1] == "HELP":
                assert name not in helped, f"{where}: second HELP for {name}"
                assert len(parts) == 4 and parts[3].strip(), f"{where}: empty HELP"
                helped.add(name)
            else:
                assert name not in types, f"{where}: second TYPE for {name}"
                assert len(parts) == 4 and parts[3] in _TYPES, f"{where}: bad TYPE"
                assert not any(n == name for n, _ in samples), f"{where}: TYPE after samples"
                types[name] = parts[3]
            continue
        m = _SAMPLE.match(line)
        assert m, f"{where}: not a sample line"
        name, _, label_text, value, _ = m.groups()
        family = _family_of(name, types)
        enter(family, where)
        labels = {}
        if label_text:
            pos = 0
            while pos < len(label_text):
                lm = _LABEL.match(label_text, pos)
                assert lm, f"{where}: bad labels at {label_text[pos:]!r}"
                key = lm.group(1)
                assert _LABEL_NAME.match(key) and not key.startswith("__"), f"{where}: bad label {key}"
                assert key not in labels, f"{where}: label {key} twice"
                labels[key] = lm.group(2)
                pos = lm.end()
        if value not in ("+Inf", "-Inf", "NaN"):
            try:
                float(value)
            except ValueError:
                raise AssertionError(f"{where}: bad value {value!r}")
        if types.get(family) == "histogram" and name.endswith("_bucket"):
            assert "le" in labels, f"{where}: bucket without le"
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"{where}: series written twice"
        samples[key] = float(value)
    return samples


def read_until_closed(sock):
    """Everything a server sends on `sock` until it closes the connection."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk

"""A real clickhouse-server for integration and fault tests (Debian's package, run as a plain
process as the `clickhouse` user): /etc/clickhouse-server/config.xml copied into a temp dir with
every path rewritten to it, the HTTP port a free loopback one, the native and interserver ports
left out. Started with a parent-death signal and stopped by PID. Stdlib only.
"""
import ctypes
import http.client
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import urllib.parse

from harness import _running, free_port, wait_for

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ClickHouse:
    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="oceanus-clickhouse-")
        self.port = port or free_port()
        self.proc = None
        self._write_config()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _write_config(self):
        with open("/etc/clickhouse-server/config.xml") as f:
            config = f.read()
        with open("/etc/clickhouse-server/users.xml") as f:
            users = f.read()
        config = (config.replace("/var/log/clickhouse-server/", self.dir + "/log/")
                  .replace("/var/lib/clickhouse/", self.dir + "/data/")
                  .replace("<http_port>8123</http_port>", f"<http_port>{self.port}</http_port>"))
        drop = ("<tcp_port>9000</tcp_port>", "<interserver_http_port>", "<listen_host>::1</listen_host>")
        config = "\n".join(line for line in config.split("\n") if not any(d in line for d in drop))
        assert self.dir + "/data/" in config and str(self.port) in config
        users = users.replace("<users>", "<users><oceanus><password>secret</password><networks><ip>127.0.0.1</ip>"
                              "</networks><profile>default</profile><quota>default</quota></oceanus>", 1)
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(config)
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(users)
        os.makedirs(os.path.join(self.dir, "log"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)

    def start(self, timeout=30):
        pw = pwd.getpwnam("clickhouse")
        for root, dirs, files in os.walk(self.dir):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, pw.pw_uid, pw.pw_gid)
        self.log = open(os.path.join(self.dir, "server.out"), "ab")
        self.proc = subprocess.Popen(
            ["/usr/sbin/clickhouse-server", f"--config-file={self.dir}/config.xml"],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "HOME": self.dir}, user=pw.pw_uid, group=pw.pw_gid,
            extra_groups=[], preexec_fn=_die_with_parent)
        _running(self, True)
        wait_for(self._ready, timeout=timeout, what="clickhouse-server /ping")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"clickhouse-server exited:\n{self.logs()}")
        try:
            return self._http("GET", "/ping")[0] == 200
        except OSError:
            return False

    def logs(self):
        out = ""
        for name in ("server.out", "log/clickhouse-server.err.log"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    out += f.read().decode(errors="replace")[-3000:]
            except OSError:
                pass
        return out

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.log.close()
        _running(self, False)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _http(self, method, path, body=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        finally:
            conn.close()

    def query(self, sql):
        """The answer's text; an AssertionError with ClickHouse's message on an error."""
        status, body = self._http("POST", "/", sql.encode())
        if status != 200:
            raise AssertionError(f"clickhouse: {sql}: {body}")
        return body

    def rows(self, sql):
        """SELECT … as a list of tuples of strings (TabSeparated, \\N → None)."""
        text = self.query(sql + " FORMAT TabSeparated")
        return [tuple(None if v == "\\N" else v for v in line.split("\t")) for line in text.splitlines()]

    def scalar(self, sql):
        return self.query(sql + " FORMAT TabSeparated").strip()

    def tables(self, database="oceanus"):
        if self.scalar(f"SELECT count() FROM system.databases WHERE name = '{database}'") == "0":
            return []
        return [r[0] for r in self.rows(f"SELECT name FROM system.tables WHERE database = '{database}' ORDER BY name")]

    def site_tables(self, site, database="oceanus"):
        """The tables of `site`: its daily tables, or its one table."""
        return [t for t in self.tables(database)
                if t == site or (t.startswith(site + "_") and t[len(site) + 1:].isdigit())]

    def column(self, site, name, final=True, database="oceanus"):
        """Every value of column `name` in the tables of `site`, de-duplicated by FINAL unless
        final=False (then a row stored twice before a merge shows twice)."""
        values = []
        for t in self.site_tables(site, database):
            values += [r[0] for r in self.rows(f"SELECT {name} FROM {database}.{t}{' FINAL' if final else ''}")]
        return values

    def insert_json_each_row(self, table, body):
        """clickhouse-client-free INSERT … FORMAT JSONEachRow of `body` (bytes), for tests."""
        path = "/?query=" + urllib.parse.quote(f"INSERT INTO {table} FORMAT JSONEachRow")
        status, text = self._http("POST", path, body)
        if status != 200:
            raise AssertionError(text)

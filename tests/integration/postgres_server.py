"""A real PostgreSQL 15 for integration and fault tests: initdb into a temp dir and `postgres`
run as a plain process, as the `postgres` user, on a free loopback port with its socket in the
temp dir (never a system-wide server). Started with a parent-death signal so that a test that
dies leaves no server behind; stopped by PID (fast shutdown, SIGINT; SIGKILL as a last resort).

Queries go through psql (Debian's postgresql-client-15), so the tests read the warehouse with
the same tool a person would.
"""
import ctypes
import os
import pwd
import re
import signal
import subprocess
import tempfile

from harness import SOURCE_DIR, _running, example_config, free_port, wait_for

BIN = "/usr/lib/postgresql/15/bin"
SEP = "\x1f"
POSTGRES_EXAMPLE = os.path.join(SOURCE_DIR, "examples", "postgres.yaml")
REDIS_QUEUE = """queue:
  type: redis
  groups: [load]
  redis:
    address: ${OCEANUS_REDIS}
    claim_idle: 2s
    max_deliveries: 5
"""


def postgres_config(tmp, redis=False, replacements=(("max_wait: 1s", "max_wait: 100ms"),)):
    """examples/postgres.yaml in `tmp` with `replacements`; with `redis`, on the redis queue
    (group load only: its rules, which would need a react group, are left out)."""
    path = example_config(tmp, list(replacements), base=POSTGRES_EXAMPLE)
    if redis:
        with open(path) as f:
            text = f.read()
        # Each block up to the next top-level key.
        text = re.sub(r"(?ms)^queue:\n.*?(?=^\S)", REDIS_QUEUE + "\n", text, count=1)
        text = re.sub(r"(?ms)^rules:\n.*?(?=^\S)", "", text, count=1)
        with open(path, "w") as f:
            f.write(text)
    return path


def _die_with_parent():
    # PR_SET_PDEATHSIG (1); subprocess changes the uid before it calls this, so it sticks.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGINT)


class Postgres:
    """One server: start() (initdb on the first call), stop(), kill9(), psql()."""

    def __init__(self, port=None, fsync=True):
        self.dir = tempfile.mkdtemp(prefix="oceanus-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = port or free_port()
        self.fsync = fsync  # off only where a crash of the server is not part of the test
        self.proc = None
        pw = pwd.getpwnam("postgres")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.chown(self.dir, self.uid, self.gid)

    def url(self, db="postgres", user="postgres"):
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def _popen(self, args, log):
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                                user=self.uid, group=self.gid, extra_groups=[],
                                env={"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": self.dir},
                                preexec_fn=_die_with_parent, start_new_session=True)

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            return self
        log = open(os.path.join(self.dir, "postgres.log"), "ab")
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            init = self._popen([f"{BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                                "-E", "UTF8", "--locale=C", "--no-sync"], log)
            if init.wait(timeout=120) != 0:
                raise AssertionError(f"initdb failed:\n{self.read_log()}")
        args = [f"{BIN}/postgres", "-D", self.data, "-k", self.dir, "-h", "127.0.0.1",
                "-p", str(self.port), "-c", "max_connections=50"]
        if not self.fsync:
            args += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        self.proc = self._popen(args, log)
        log.close()
        _running(self, True)
        wait_for(self._ready, timeout=60, what="postgres to accept connections")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"postgres exited:\n{self.read_log()}")
        return subprocess.run([f"{BIN}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                              timeout=10).returncode == 0

    def read_log(self):
        with open(os.path.join(self.dir, "postgres.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self, timeout=30):
        """Fast shutdown: clients are disconnected, the data stays for the next start()."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        _running(self, False)

    def kill9(self):
        """The postmaster killed without warning; its backends notice and exit on their own."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def psql(self, sql, db="postgres"):
        """Rows of `sql` as lists of strings (NULL as None); raises on an error."""
        out = subprocess.run([f"{BIN}/psql", "-X", "-q", "-A", "-t", "-F", SEP, "-P", "null=\x01",
                              "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", "postgres", "-d", db, "-c", sql],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"psql failed: {out.stderr}")
        return [[None if v == "\x01" else v for v in line.split(SEP)]
                for line in out.stdout.splitlines() if line != ""]

    def scalar(self, sql, db="postgres"):
        rows = self.psql(sql, db)
        return rows[0][0] if rows else None

    def tables(self, site):
        """The site's tables (daily ones, or the single table; partitions not counted)."""
        return [r[0] for r in self.psql(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
            f"AND (c.relname = '{site}' OR c.relname ~ '^{site}_[0-9]{{8}}$') ORDER BY 1")]

    def rows(self, site, columns="*", where="true"):
        out = []
        for t in self.tables(site):
            out += self.psql(f'SELECT {columns} FROM "{t}" WHERE {where}')
        return out

    def count(self, site):
        return sum(int(self.scalar(f'SELECT count(*) FROM "{t}"')) for t in self.tables(site))

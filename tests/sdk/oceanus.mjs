// What the SDK tests share: a real `oceanus run` on examples/oceanus.yaml (its sampleapp
// site, write key from OCEANUS_SEGMENT_WRITE_KEY) on a free port, and its SQLite rows.
//
//   OCEANUS_BIN         the binary (default build/oceanus)
//   OCEANUS_SOURCE_DIR  the source tree (default ../..)
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.OCEANUS_SOURCE_DIR || path.join(here, '..', '..');
export const BIN = process.env.OCEANUS_BIN || path.join(SOURCE_DIR, 'build', 'oceanus');
export const SITE = 'sampleapp';
export const WRITE_KEY = 'sdk-test-write-key';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function get(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

export class Oceanus {
  constructor() {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oceanus-sdk-'));
    this.db = path.join(this.tmp, 'data', 'oceanus.db');
  }

  log() {
    const file = path.join(this.tmp, 'oceanus.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  async start() {
    if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: build first`);
    this.port = await freePort();
    const logFd = fs.openSync(path.join(this.tmp, 'oceanus.log'), 'a');
    // Through a shell that holds our pipe as its stdin: when this process ends, however it
    // ends, the pipe closes and oceanus is stopped with it.
    this.proc = spawn(
      'bash',
      ['-c', 'exec 3<&0; "$@" </dev/null & pid=$!; { cat <&3 >/dev/null; kill -TERM $pid; } & wait $pid', 'lifeline', BIN,
        'run', '--config', path.join(SOURCE_DIR, 'examples', 'oceanus.yaml'),
        '--data-dir', path.join(this.tmp, 'data'), '--admin-listen', 'off',
        '--listen', `127.0.0.1:${this.port}`],
      { stdio: ['pipe', logFd, logFd], env: { ...process.env, OCEANUS_SEGMENT_WRITE_KEY: WRITE_KEY } });
    fs.closeSync(logFd);
    await this.waitFor(async () => {
      if (this.proc.exitCode !== null) throw new Error(`oceanus exited with ${this.proc.exitCode}:\n${this.log()}`);
      return (await get(this.port, '/hc')) === 200;
    }, 'oceanus /hc', 30000);
    return this;
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.stdin.end();
      await this.waitFor(() => this.proc.exitCode !== null, 'oceanus to stop', 30000);
    }
    if (!process.exitCode) fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  // Every row of sampleapp_YYYYMMDD, oldest first.
  rows() {
    if (!fs.existsSync(this.db)) return [];
    const query = (sql) => {
      const out = execFileSync('sqlite3', ['-json', this.db, sql], { encoding: 'utf8', timeout: 10000 });
      return out.trim() ? JSON.parse(out) : [];
    };
    try {
      const tables = query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB '${SITE}_[0-9]*'`);
      return tables.flatMap((t) => query(`SELECT * FROM "${t.name}"`)).sort((a, b) => (a.dt < b.dt ? -1 : 1));
    } catch (e) {
      return []; // a table being created, or the database busy: poll again
    }
  }

  // Polls condition() until it returns something truthy; fails after timeout ms.
  async waitFor(condition, what, timeout = 20000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await condition();
      if (value) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeout} ms waiting for ${what}; rows: ${JSON.stringify(this.rows())}\n` +
          `oceanus log:\n${this.log()}`);
      await sleep(50);
    }
  }

  // Waits until rows matching `filter` are `count` (and none more arrive in settle ms).
  async waitRows(filter, count, what, settle = 1500) {
    await this.waitFor(() => this.rows().filter(filter).length >= count, what);
    await sleep(settle);
    return this.rows().filter(filter);
  }
}

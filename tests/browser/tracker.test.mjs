// web/oceanus.js in a real browser against a real oceanus: Debian's Chromium (headless, through
// playwright-core) loads a page from a second origin, as on a customer's site; the tracker
// comes from the collector's /static/js/oceanus.js and its events must reach the SQLite
// warehouse with every field the original's tracker set. Run by run.sh (CTest browser.pages).
//
//   OCEANUS_BIN         the binary (default build/oceanus)
//   OCEANUS_SOURCE_DIR  the source tree (default ../..): examples/oceanus.yaml
//   OCEANUS_CHROMIUM    the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = process.env.OCEANUS_SOURCE_DIR || path.join(here, '..', '..');
const BIN = process.env.OCEANUS_BIN || path.join(SOURCE_DIR, 'build', 'oceanus');
const CHROMIUM = process.env.OCEANUS_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(path.dirname(BIN), 'artifacts');
const SITE = 'samplesite';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oceanus-browser-'));
const dataDir = path.join(tmp, 'data');
const db = path.join(dataDir, 'oceanus.db');
let collectorPort, pagePort, oceanus, pageServer, browser;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls condition() until it returns something truthy; fails after timeout ms.
async function waitFor(condition, what, timeout = 20000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; rows: ${JSON.stringify(rows())}\n` +
        `oceanus log:\n${fs.existsSync(path.join(tmp, 'oceanus.log')) ? log() : ''}`);
    await sleep(50);
  }
}

function get(port, urlPath, headers = {}) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, timeout: 2000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

const log = () => fs.readFileSync(path.join(tmp, 'oceanus.log'), 'utf8');

// Every row of samplesite_YYYYMMDD (one table a day; a run near midnight JST spans two).
function rows() {
  if (!fs.existsSync(db)) return [];
  const query = (sql) => {
    const out = execFileSync('sqlite3', ['-json', db, sql], { encoding: 'utf8', timeout: 10000 });
    return out.trim() ? JSON.parse(out) : [];
  };
  try {
    const tables = query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB '${SITE}_[0-9]*'`);
    return tables.flatMap((t) => query(`SELECT * FROM "${t.name}"`)).sort((a, b) => (a.dt < b.dt ? -1 : 1));
  } catch (e) {
    return []; // a table being created, or the database busy: poll again
  }
}

// A page as a customer would have it: the original's snippet with calls queued before load.
function page(title, { queued = [], clicks = true, auto = true, body = '' } = {}) {
  const calls = queued.map((c) => `oceanus.q.push(${JSON.stringify(c)});`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<script>window.oceanus=window.oceanus||{q:[]};${calls}</script>
<script async src="http://127.0.0.1:${collectorPort}/static/js/oceanus.js" data-site="${SITE}"${clicks ? ' data-clicks="true"' : ''}${auto ? '' : ' data-auto="false"'}></script>
<style>body{font:16px sans-serif;margin:2em}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;
}

const SIGNUP = { evt: 'signup', uid: 'u-77', jsn: { plan: 'pro' } };

before(async () => {
  assert.ok(fs.existsSync(BIN), `${BIN} is missing: build first (cmake --build build)`);
  collectorPort = await freePort();
  pagePort = await freePort();
  const logFd = fs.openSync(path.join(tmp, 'oceanus.log'), 'a');
  // Through a shell that holds our pipe as its stdin: when this process ends, however it ends
  // (a CTest timeout, Ctrl-C, a crash), the pipe closes and oceanus is stopped with it. The
  // shell ends when oceanus does, with its exit code.
  oceanus = spawn(
    'bash',
    ['-c', 'exec 3<&0; "$@" </dev/null & pid=$!; { cat <&3 >/dev/null; kill -TERM $pid; } & wait $pid', 'lifeline', BIN,
      'run', '--config', path.join(SOURCE_DIR, 'examples', 'oceanus.yaml'), '--data-dir', dataDir,
      '--admin-listen', 'off', '--listen', `127.0.0.1:${collectorPort}`],
    { stdio: ['pipe', logFd, logFd] });
  fs.closeSync(logFd);
  await waitFor(async () => {
    if (oceanus.exitCode !== null) throw new Error(`oceanus exited with ${oceanus.exitCode}:\n${log()}`);
    const r = await get(collectorPort, '/hc');
    return r && r.status === 200;
  }, 'oceanus /hc', 30000);

  const pages = {
    '/index.html': page('Tracker test page', {
      queued: [{ evt: 'pageview' }, SIGNUP],
      body: '<p><a id="next" href="/next.html"><span>Go to the next page</span></a></p>',
    }),
    '/next.html': page('Next page'),
    '/plain.html': page('Fallback page', { clicks: false }),
    '/quiet.html': page('Quiet page', { auto: false }),
  };
  pageServer = http.createServer((req, res) => {
    const html = pages[req.url];
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html || 'not found');
  });
  await new Promise((r) => pageServer.listen(pagePort, '127.0.0.1', r));

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (pageServer) pageServer.close();
  if (oceanus && oceanus.exitCode === null) {
    oceanus.stdin.end();
    await waitFor(() => oceanus.exitCode !== null, 'oceanus to stop', 30000);
  }
  if (!process.exitCode) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the collector serves the script', async () => {
  const r = await get(collectorPort, '/static/js/oceanus.js');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/javascript; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'public, max-age=3600');
  assert.match(r.headers.etag, /^"[0-9a-f]{16}"$/);
  assert.equal(r.body.toString(), fs.readFileSync(path.join(SOURCE_DIR, 'web', 'oceanus.js'), 'utf8'),
    'the built-in script is web/oceanus.js as it is now (rebuild?)');
  const cached = await get(collectorPort, '/static/js/oceanus.js', { 'If-None-Match': r.headers.etag });
  assert.equal(cached.status, 304);
  assert.equal(cached.body.length, 0);
  assert.equal((await get(collectorPort, '/static/js/other.js')).status, 404);
});

test('page views, queued and live events and link clicks reach the warehouse', async () => {
  const context = await browser.newContext();
  const beacons = [];
  context.on('request', (req) => {
    if (req.url().includes(`/swallow/${SITE}`))
      beacons.push({ method: req.method(), url: req.url(), body: req.postData() || '', type: req.resourceType() });
  });
  const origin = `http://127.0.0.1:${pagePort}`;
  const tab = await context.newPage();
  await tab.goto(`${origin}/index.html`, { referer: 'http://referrer.example/landing?q=1' });
  await tab.waitForFunction(() => window.oceanus && window.oceanus.loaded && !Array.isArray(window.oceanus.q));
  const referrer = await tab.evaluate(() => document.referrer);
  assert.ok(referrer.startsWith('http://referrer.example/'), referrer);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await tab.screenshot({ path: path.join(ARTIFACTS, 'tracker.png'), fullPage: true });

  // After load, push sends at once.
  await tab.evaluate((e) => window.oceanus.q.push(e), SIGNUP);
  await waitFor(() => beacons.length >= 3, 'three beacons from the first page');
  // A click on a link (on a child of the <a>) is sent and the navigation goes on.
  await Promise.all([tab.waitForURL(`${origin}/next.html`), tab.click('#next span')]);
  await tab.waitForFunction(() => window.oceanus && window.oceanus.loaded);

  const stored = await waitFor(() => {
    const r = rows();
    return r.length >= 5 && r;
  }, '5 rows in the warehouse');
  if (process.env.OCEANUS_BROWSER_DEBUG) console.log(JSON.stringify({ stored, beacons }, null, 1));
  const cookies = await context.cookies(origin);
  const cookie = cookies.find((c) => c.name === 'oceanus_sid');
  assert.ok(cookie, JSON.stringify(cookies));
  assert.match(cookie.value, /^[0-9a-f]{16}$/);
  assert.equal(cookie.path, '/');
  assert.equal(cookie.sameSite, 'Lax');

  const index = `${origin}/index.html`;
  const next = `${origin}/next.html`;
  assert.deepEqual(stored.map((r) => [r.evt, r.url]).sort(), [
    ['click', index], ['pageview', index], ['pageview', next], ['signup', index], ['signup', index],
  ]);
  for (const r of stored) {
    assert.equal(r.sid, cookie.value, 'one session key, the cookie\'s');
    assert.equal(r.oid, '2');
    assert.equal(r.enc, 'UTF-8');
    assert.equal(r.dev, 'pc', r.ua);
    assert.match(r.scr, /^\d+x\d+$/);
    assert.match(r.vie, /^\d+x\d+$/);
    assert.equal(r.rad, '127.0.0.1');
    if (r.url === index) {
      assert.equal(r.tit, 'Tracker test page');
      assert.equal(r.ref, referrer);
    } else {
      assert.equal(r.tit, 'Next page');
      assert.equal(r.ref, index, 'the next page was reached from the first');
    }
  }
  const signups = stored.filter((r) => r.evt === 'signup');
  for (const r of signups) {
    assert.equal(r.uid, 'u-77');
    assert.equal(r.jsn, '{"plan":"pro"}');
  }
  assert.equal(stored.find((r) => r.evt === 'click').jsn, JSON.stringify({ href: next }));
  for (const r of stored.filter((r) => r.evt !== 'signup')) assert.equal(r.uid, null);

  // All of them went as sendBeacon POSTs (text/plain body = the query), none as an image.
  assert.equal(beacons.length, 5, JSON.stringify(beacons));
  for (const b of beacons) {
    assert.equal(b.method, 'POST', JSON.stringify(b));
    assert.equal(b.type, 'ping', 'sent by navigator.sendBeacon');
    assert.equal(b.url, `http://127.0.0.1:${collectorPort}/swallow/${SITE}`);
    assert.match(b.body, /(^|&)sid=[0-9a-f]{16}(&|$)/);
  }
  await context.close();
});

test('without sendBeacon the events go as image requests', async () => {
  const before = rows().length;
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete Navigator.prototype.sendBeacon;
    delete navigator.sendBeacon;
  });
  const beacons = [];
  context.on('request', (req) => {
    if (req.url().includes(`/swallow/${SITE}`)) beacons.push({ method: req.method(), url: req.url(), type: req.resourceType() });
  });
  const tab = await context.newPage();
  const url = `http://127.0.0.1:${pagePort}/plain.html`;
  await tab.goto(url);
  assert.equal(await tab.evaluate(() => typeof navigator.sendBeacon), 'undefined');
  await tab.waitForFunction(() => window.oceanus && window.oceanus.loaded);
  await tab.evaluate(() => window.oceanus.q.push({ evt: 'fallback', jsn: { b: 2, a: [1, 'x'] } }));

  const stored = await waitFor(() => {
    const r = rows();
    return r.length >= before + 2 && r.slice(before);
  }, '2 more rows in the warehouse');
  const cookie = (await context.cookies(url)).find((c) => c.name === 'oceanus_sid');
  assert.deepEqual(stored.map((r) => r.evt).sort(), ['fallback', 'pageview']);
  for (const r of stored) {
    assert.equal(r.url, url);
    assert.equal(r.tit, 'Fallback page');
    assert.equal(r.sid, cookie.value);
    assert.match(r.scr, /^\d+x\d+$/);
  }
  assert.equal(stored.find((r) => r.evt === 'fallback').jsn, '{"a":[1,"x"],"b":2}');
  assert.equal(beacons.length, 2, JSON.stringify(beacons));
  for (const b of beacons) {
    assert.equal(b.method, 'GET');
    assert.equal(b.type, 'image');
    assert.match(b.url, /\?oid=2&evt=(pageview|fallback)&/);
  }
  await context.close();
});

test('data-auto="false" sends no page view', async () => {
  const context = await browser.newContext();
  const beacons = [];
  context.on('request', (req) => {
    if (req.url().includes(`/swallow/${SITE}`)) beacons.push(req.postData() || req.url());
  });
  const tab = await context.newPage();
  const url = `http://127.0.0.1:${pagePort}/quiet.html`;
  await tab.goto(url);
  await tab.waitForFunction(() => window.oceanus && window.oceanus.loaded);
  await tab.evaluate(() => window.oceanus.q.push({ evt: 'quiet' }));
  const stored = await waitFor(() => {
    const r = rows().filter((row) => row.url === url);
    return r.length && r;
  }, 'the quiet page\'s event');
  assert.deepEqual(stored.map((r) => r.evt), ['quiet']);
  assert.equal(beacons.length, 1, JSON.stringify(beacons));
  await context.close();
});

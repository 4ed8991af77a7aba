// @segment/analytics-next (analytics.js, the official browser library, package-lock.json) in
// Debian's headless Chromium against a real oceanus. A test page on a second origin loads the
// library's own UMD bundle (node_modules/@segment/analytics-next/dist/umd/index.js, served as
// a customer would host it) and points its Segment.io destination at oceanus with the
// library's documented settings (apiHost, protocol) given inline as cdnSettings, so nothing
// is fetched from Segment's CDN. Its calls (cross-origin POSTs with Authorization, so each
// path gets a CORS preflight) must arrive once each with the browser's columns.
//
//   OCEANUS_CHROMIUM    the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Oceanus, WRITE_KEY, freePort } from './oceanus.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const UMD = path.join(here, 'node_modules', '@segment', 'analytics-next', 'dist', 'umd');
const CHROMIUM = process.env.OCEANUS_CHROMIUM || '/usr/bin/chromium';

let oceanus, pageServer, pagePort, browser;

// A shop page that loads analytics.js and makes its calls; `options` are the load options
// (the batching delivery strategy, say).
function page(title, calls, integration = {}) {
  const settings = {
    integrations: {
      'Segment.io': { apiKey: WRITE_KEY, apiHost: `127.0.0.1:${oceanus.port}/v1`, protocol: 'http', ...integration },
    },
  };
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<script src="/ajs/index.js"></script></head><body><h1>${title}</h1><script>
window.analytics = AnalyticsNext.AnalyticsBrowser.load({ writeKey: ${JSON.stringify(WRITE_KEY)},
  cdnSettings: ${JSON.stringify(settings)} });
${calls}
</script></body></html>`;
}

before(async () => {
  oceanus = await new Oceanus().start();
  pagePort = await freePort();
  const pages = {
    '/shop.html': () => page('Shop', `
      analytics.page('Home', { section: 'top' });
      analytics.track('Order Completed', { revenue: 12.5, currency: 'JPY' });
      analytics.identify('browser-u1', { email: 'b@example.com' });
      analytics.group('browser-g1', { name: 'ACME' });
      analytics.alias('browser-u2');`),
    '/batched.html': () => page('Batched', `
      analytics.identify('batch-u1');
      analytics.track('First', { n: 1 });
      analytics.track('Second', { n: 2 });
      analytics.track('Third', { n: 3 });`, { deliveryStrategy: { strategy: 'batching', config: { size: 4, timeout: 500 } } }),
  };
  pageServer = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    if (url.startsWith('/ajs/')) {
      const file = path.join(UMD, path.basename(url));
      if (fs.existsSync(file)) {
        res.writeHead(200, { 'Content-Type': 'application/javascript' });
        return res.end(fs.readFileSync(file));
      }
    }
    const html = pages[url];
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html ? html() : 'not found');
  });
  await new Promise((r) => pageServer.listen(pagePort, '127.0.0.1', r));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (pageServer) pageServer.close();
  if (oceanus) await oceanus.stop();
});

test('analytics.js page, track, identify, group and alias arrive once with the browser columns', async () => {
  const context = await browser.newContext();
  const sent = [];
  const bodies = {};
  const failed = [];
  context.on('request', (r) => {
    if (!r.url().includes(`:${oceanus.port}/`)) return;
    const p = new URL(r.url()).pathname;
    sent.push(`${r.method()} ${p}`);
    if (r.method() === 'POST') bodies[p] = JSON.parse(r.postData());
  });
  context.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
  const tab = await context.newPage();
  const userAgent = await tab.evaluate(() => navigator.userAgent);
  await tab.goto(`http://127.0.0.1:${pagePort}/shop.html`);

  const shop = `http://127.0.0.1:${pagePort}/shop.html`;
  const isOurs = (r) => JSON.parse(r.context || '{}').page?.url === shop;
  const rows = await oceanus.waitRows(isOurs, 5, '5 rows from analytics.js');
  assert.deepEqual(failed, []);
  assert.equal(rows.length, 5, JSON.stringify(rows));
  // The short paths, each after a preflight (Authorization is not a simple header).
  for (const p of ['/v1/p', '/v1/t', '/v1/i', '/v1/g', '/v1/a']) assert.ok(sent.includes(`POST ${p}`), sent.join(', '));
  const byType = Object.fromEntries(rows.map((r) => [r.type, r]));
  assert.deepEqual(Object.keys(byType).sort(), ['alias', 'group', 'identify', 'page', 'track']);

  const anonymous = byType.page.anonymous_id;
  assert.match(anonymous, /^[0-9a-f-]{36}$/);
  for (const r of rows) {
    assert.equal(r.anonymous_id, anonymous, 'one anonymous id for the visitor');
    assert.equal(r.ua, userAgent);
    assert.equal(r.dev, 'pc');
    assert.equal(r.rad, '127.0.0.1');
    assert.match(r.message_id, /^ajs-next-/);
    const context = JSON.parse(r.context);
    assert.equal(context.library.name, 'analytics.js');
    assert.equal(context.page.url, shop);
    assert.ok(r.sent_at && r.original_timestamp && r.timestamp <= r.dt, JSON.stringify(r));
  }
  assert.equal(byType.page.name, 'Home');
  assert.equal(JSON.parse(byType.page.properties).section, 'top');
  assert.equal(byType.track.event, 'Order Completed');
  assert.equal(byType.track.revenue, 12.5);
  assert.deepEqual(JSON.parse(byType.track.properties), { revenue: 12.5, currency: 'JPY' });
  assert.equal(byType.identify.user_id, 'browser-u1');
  assert.deepEqual(JSON.parse(byType.identify.traits), { email: 'b@example.com' });
  assert.equal(byType.group.group_id, 'browser-g1');
  // Each row holds what the library sent: its alias names the current user as previousId (and
  // analytics-next 1.84 sends the current user as userId too).
  assert.equal(byType.alias.previous_id, 'browser-u1');
  assert.equal(byType.alias.user_id, bodies['/v1/a'].userId);
  for (const [p, type] of [['/v1/p', 'page'], ['/v1/t', 'track'], ['/v1/i', 'identify'], ['/v1/g', 'group'], ['/v1/a', 'alias']]) {
    assert.equal(byType[type].message_id, bodies[p].messageId, p);
    assert.equal(bodies[p].writeKey, WRITE_KEY, p);
  }
  await context.close();
});

test('the batching delivery strategy posts to /v1/b and every message arrives once', async () => {
  const context = await browser.newContext();
  const sent = [];
  context.on('request', (r) => { if (r.url().includes(`:${oceanus.port}/`)) sent.push(new URL(r.url()).pathname); });
  const tab = await context.newPage();
  await tab.goto(`http://127.0.0.1:${pagePort}/batched.html`);
  const rows = await oceanus.waitRows((r) => r.user_id === 'batch-u1', 4, '4 batched rows');
  assert.equal(rows.length, 4, JSON.stringify(rows));
  assert.deepEqual(rows.map((r) => r.event || r.type).sort(), ['First', 'Second', 'Third', 'identify']);
  assert.ok(sent.includes('/v1/b'), sent.join(', '));
  await context.close();
});

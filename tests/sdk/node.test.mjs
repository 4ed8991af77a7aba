// @segment/analytics-node (the official Node library, package-lock.json) against a real
// oceanus: host pointed at it, write key of the example's sampleapp site. Every call is
// flushed and must arrive once with its columns; a batch whose first attempt is cut off
// before the answer is retried by the library and still stored once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Analytics } from '@segment/analytics-node';
import { Oceanus, WRITE_KEY, freePort } from './oceanus.mjs';

let oceanus;

before(async () => {
  oceanus = await new Oceanus().start();
});

after(async () => {
  if (oceanus) await oceanus.stop();
});

test('track, page, screen, identify, group and alias arrive once with their columns', async () => {
  const analytics = new Analytics({ writeKey: WRITE_KEY, host: `http://127.0.0.1:${oceanus.port}`, flushAt: 20 });
  const errors = [];
  analytics.on('error', (e) => errors.push(e));
  analytics.track({ userId: 'node-u1', event: 'Order Completed', properties: { revenue: 42.5, sku: 'A-1' } });
  analytics.page({ anonymousId: 'node-a1', name: 'Home', properties: { url: 'https://shop.example/' } });
  analytics.screen({ userId: 'node-u1', name: 'Cart' });
  analytics.identify({ userId: 'node-u1', traits: { email: 'n@example.com', plan: 'pro' } });
  analytics.group({ userId: 'node-u1', groupId: 'node-g1', traits: { name: 'ACME' } });
  analytics.alias({ userId: 'node-u2', previousId: 'node-u1' });
  await analytics.closeAndFlush();
  assert.deepEqual(errors, []);

  const rows = await oceanus.waitRows((r) => (r.user_id || r.anonymous_id || '').startsWith('node-'), 6, '6 node rows');
  assert.equal(rows.length, 6, JSON.stringify(rows));
  const byType = Object.fromEntries(rows.map((r) => [r.type, r]));
  assert.deepEqual(Object.keys(byType).sort(), ['alias', 'group', 'identify', 'page', 'screen', 'track']);

  const track = byType.track;
  assert.equal(track.event, 'Order Completed');
  assert.equal(track.user_id, 'node-u1');
  assert.deepEqual(JSON.parse(track.properties), { revenue: 42.5, sku: 'A-1' });
  assert.equal(track.revenue, 42.5);
  assert.match(track.message_id, /^node-next-/);
  assert.match(track.eid, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(JSON.parse(track.context).library.name, '@segment/analytics-node');
  // The library sends no context.userAgent: the header is the ua, and it is no browser.
  assert.equal(track.ua, 'analytics-node-next/latest');
  assert.equal(track.rad, '127.0.0.1');
  // It sends the batch's sentAt and each message's timestamp: corrected, never in the future.
  assert.ok(track.sent_at && track.original_timestamp && track.timestamp, JSON.stringify(track));
  assert.ok(track.timestamp <= track.dt, JSON.stringify(track));

  assert.equal(byType.page.anonymous_id, 'node-a1');
  assert.equal(byType.page.name, 'Home');
  assert.deepEqual(JSON.parse(byType.page.properties), { url: 'https://shop.example/' });
  assert.equal(byType.screen.name, 'Cart');
  assert.deepEqual(JSON.parse(byType.identify.traits), { email: 'n@example.com', plan: 'pro' });
  assert.equal(byType.group.group_id, 'node-g1');
  assert.deepEqual(JSON.parse(byType.group.traits), { name: 'ACME' });
  assert.equal(byType.alias.user_id, 'node-u2');
  assert.equal(byType.alias.previous_id, 'node-u1');
  for (const r of rows) assert.equal(r.dev, track.dev);
});

// A proxy that forwards the first request to oceanus but closes the client's connection
// before oceanus's answer reaches it (as a timeout or a dropped connection would); every
// later connection is passed through.
async function cuttingProxy(target) {
  const port = await freePort();
  let connections = 0;
  const server = net.createServer((client) => {
    const first = connections++ === 0;
    const upstream = net.connect(target, '127.0.0.1');
    client.on('data', (d) => upstream.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('data', (d) => (first ? client.destroy() : client.write(d)));
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { port, server, attempts: () => connections };
}

test('a batch whose first attempt is cut off before the answer is stored once', async () => {
  const proxy = await cuttingProxy(oceanus.port);
  const analytics = new Analytics({
    writeKey: WRITE_KEY, host: `http://127.0.0.1:${proxy.port}`, flushAt: 10, maxRetries: 3,
  });
  for (let i = 0; i < 10; i++) analytics.track({ userId: 'retry-u', event: `Retried ${i}` });
  await analytics.closeAndFlush();
  proxy.server.close();
  assert.ok(proxy.attempts() >= 2, `the library retried (${proxy.attempts()} connections)`);
  const rows = await oceanus.waitRows((r) => r.user_id === 'retry-u', 10, '10 retried rows');
  assert.equal(rows.length, 10, JSON.stringify(rows.map((r) => r.event)));
  assert.equal(new Set(rows.map((r) => r.message_id)).size, 10);
});

test('a wrong write key is refused and nothing is stored', async () => {
  const analytics = new Analytics({ writeKey: 'not-the-key', host: `http://127.0.0.1:${oceanus.port}`, maxRetries: 0 });
  const errors = [];
  analytics.on('error', (e) => errors.push(e));
  analytics.track({ userId: 'wrong-key-u', event: 'Nope' });
  await analytics.closeAndFlush();
  assert.equal(errors.length, 1);
  assert.match(String(errors[0].reason || errors[0]), /401/);
  assert.equal(oceanus.rows().filter((r) => r.user_id === 'wrong-key-u').length, 0);
});

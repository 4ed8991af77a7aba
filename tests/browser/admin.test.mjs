// The admin page end to end: a real `oceanus run`, events sent over HTTP, and the page in
// headless Chromium (Debian's, driven by playwright-core). Events the test sends must show
// in the live tail and the site table, the invalid one in the Rejected view, and the
// visitor timeline must list one visitor's events from the warehouse, newest first.
// A second test, with an admin token: the rates chart full on a fresh load, a dead task re-run
// from its button (the webhook sees one delivery), the site overview checked against the
// SQLite warehouse, times in the configured zone, and dead-lettered rows of a window (read in
// that zone) replayed into the running spool. Screenshots in build/artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(process.env.OCEANUS_SOURCE_DIR ?? join(import.meta.dirname, "../.."));
const bin = process.env.OCEANUS_BIN ?? join(root, "build/oceanus");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitFor(what, condition, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("the admin page shows live events, refusals, and a visitor's timeline", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "oceanus-admin-"));
  const [port, adminPort] = [await freePort(), await freePort()];
  const log = [];
  const proc = spawn(bin, ["run", "--config", join(root, "examples/oceanus.yaml"), "--data-dir",
    join(dir, "data"), "--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`]);
  proc.stdout.on("data", (d) => log.push(String(d)));
  proc.stderr.on("data", (d) => log.push(String(d)));
  const exited = new Promise((r) => proc.once("exit", (code) => r(code)));
  t.after(() => proc.exitCode === null && proc.kill("SIGKILL"));
  const base = `http://127.0.0.1:${port}`;
  await waitFor("oceanus /hc", async () => (await fetch(`${base}/hc`)).ok);

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${adminPort}/admin`);
  await waitFor("the page's first scrape", async () =>
    (await page.textContent("#status")).includes("role run"));

  // Events arrive while the page is open: two visitors, then one invalid request.
  const send = (params) => fetch(`${base}/swallow/samplesite?${new URLSearchParams(params)}`);
  for (let i = 0; i < 6; i++) {
    const visitor = i % 2 ? "b0b" : "a11ce";
    const r = await send({ oid: "2", sid: visitor, uid: `user-${visitor}`, evt: i === 4 ? "paid" : "pageview",
      url: `https://shop.example/${visitor}/${i}`, tit: `page ${i}` });
    assert.equal(r.status, 200);
    await new Promise((r) => setTimeout(r, 30));  // distinct, ordered dt values
  }
  assert.equal((await send({ oid: "2", evt: "pageview", url: "https://shop.example/nosid" })).status, 400);

  // The live tail: all six, newest first, with their fields.
  const tailRows = await waitFor("six events in the live tail", async () => {
    const rows = await page.$$eval("#tail tbody tr", (trs) => trs.map((tr) =>
      [...tr.children].map((td) => td.textContent)));
    return rows.length >= 6 ? rows : null;
  });
  assert.deepEqual(tailRows.slice(0, 6).map((r) => r[3]), ["b0b", "a11ce", "b0b", "a11ce", "b0b", "a11ce"]);
  assert.equal(tailRows[1][2], "paid");
  assert.equal(tailRows[0][5], "https://shop.example/b0b/5");

  // The refusal, kept in the rejected-events store with its reason and request.
  const error = await waitFor("the refusal in the Rejected view", async () => {
    await page.click("#rejected-form button[type=submit]");
    const rows = await page.$$eval("#rejected tbody tr", (trs) => trs.map((tr) => tr.textContent));
    return rows.find((r) => r.includes("sid: required"));
  });
  assert.match(error, /samplesite.*request.*invalid.*400/);
  assert.match(error, /GET \/swallow\/samplesite\?oid=2&evt=pageview/);

  // The site table and the chart's legend.
  await waitFor("samplesite counted as queued 6, rejected 1", async () => {
    const row = await page.$$eval("#sites tbody tr", (trs) => trs.map((tr) =>
      [...tr.children].map((td) => td.textContent)).find((r) => r[0] === "samplesite"));
    return row && row[2] === "6" && row[3] === "1";
  });
  assert.match(await page.textContent("#legend"), /samplesite/);

  // Filtering the tail by sid.
  await page.fill("#tail-sid", "a11ce");
  await page.click("#tail-form button");
  const filtered = await waitFor("the filtered tail", async () => {
    const sids = await page.$$eval("#tail tbody tr", (trs) => trs.map((tr) => tr.children[3].textContent));
    return sids.length === 3 ? sids : null;
  });
  assert.deepEqual(filtered, ["a11ce", "a11ce", "a11ce"]);

  // The visitor timeline, from the warehouse once the loader has committed.
  await page.selectOption("#visitor-site", "samplesite");
  await page.selectOption("#visitor-key", "uid");
  await page.fill("#visitor-value", "user-b0b");
  const timeline = await waitFor("b0b's three events in the timeline", async () => {
    await page.click("#visitor-form button");
    await page.waitForFunction(() => !document.querySelector("#visitor-status").textContent.includes("…"));
    const rows = await page.$$eval("#visitor-rows tr", (trs) => trs.map((tr) =>
      [...tr.children].map((td) => td.textContent)));
    return rows.length === 3 ? rows : null;
  });
  const headers = await page.$$eval("#visitor thead th", (ths) => ths.map((th) => th.textContent));
  const col = (name) => headers.indexOf(name);
  assert.deepEqual(timeline.map((r) => r[col("url")]),
    ["https://shop.example/b0b/5", "https://shop.example/b0b/3", "https://shop.example/b0b/1"]);
  assert.ok(timeline[0][col("dt")] > timeline[1][col("dt")], "newest first");
  assert.match(await page.textContent("#visitor-status"), /3 event\(s\)/);

  const artifacts = join(root, "build/artifacts");
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "admin.png"), fullPage: true });
  assert.ok(readFileSync(join(artifacts, "admin.png")).length > 10000);
  assert.deepEqual(pageErrors, []);

  proc.kill("SIGTERM");
  assert.equal(await exited, 0, log.join(""));
});

test("rates on load, a dead task re-run from the page, the site overview, a replay", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "oceanus-admin2-"));
  const [port, adminPort, hookPort] = [await freePort(), await freePort(), await freePort()];
  const token = "browser-test-token";
  const example = readFileSync(join(root, "examples/oceanus.yaml"), "utf8");
  const config = join(dir, "oceanus.yaml");
  writeFileSync(config, example.replace("max_attempts: 4", "max_attempts: 1")
    .replace("\nsites:\n", `\nadmin:\n  token: ${token}\n\nsites:\n`)
    .replace("template: history_report.html", `template: ${join(root, "examples/history_report.html")}`));
  // Two rows an earlier run set aside, at 10:00 and 12:00 in Tokyo, for the replay below.
  const deadRecord = (uid) => JSON.stringify({ dt: "2026-11-25 01:00:00.000000", eid: randomUUID(),
    evt: "pageview", oid: "2", sid: "zz", uid, url: "https://shop.example/old" });
  mkdirSync(join(dir, "data/deadletter"), { recursive: true });
  writeFileSync(join(dir, "data/deadletter/samplesite.jsonl"),
    [["2026-11-25 01:00:00.000000", "in-window"], ["2026-11-25 03:00:00.000000", "after-window"]]
      .map(([at, uid]) => JSON.stringify({ at, reason: "no such column", record: deadRecord(uid) }) + "\n").join(""));
  const log = [];
  // Slack's webhook is a loopback port nobody listens on yet: the paid event's task dies.
  const proc = spawn(bin, ["run", "--config", config, "--data-dir", join(dir, "data"), "--listen",
    `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`],
  { env: { ...process.env, OCEANUS_SLACK_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/hook` } });
  proc.stdout.on("data", (d) => log.push(String(d)));
  proc.stderr.on("data", (d) => log.push(String(d)));
  const exited = new Promise((r) => proc.once("exit", (code) => r(code)));
  t.after(() => proc.exitCode === null && proc.kill("SIGKILL"));
  const base = `http://127.0.0.1:${port}`;
  await waitFor("oceanus /hc", async () => (await fetch(`${base}/hc`)).ok);
  const api = (path) => fetch(`http://127.0.0.1:${adminPort}${path}`,
    { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());

  const send = (params) => fetch(`${base}/swallow/samplesite?${new URLSearchParams(params)}`);
  for (let i = 0; i < 9; i++) {
    const sid = ["a1", "b2", "c3"][i % 3];
    const params = { oid: "2", sid, uid: `u-${sid}`, evt: i === 8 ? "paid" : "pageview",
      url: `https://shop.example/p${i % 2}`, tit: "t" };
    if (i < 4) params.ref = "https://search.example/";
    const r = await send(params);
    assert.equal(r.status, 200, await r.text());
  }
  await waitFor("the dead task", async () => (await api("/api/dead-tasks")).count === 1, 30000);
  const db = join(dir, "data/oceanus.db");
  const sql = (q) => execFileSync("sqlite3", ["-json", db, q], { encoding: "utf8" });
  const tables = () => JSON.parse(sql("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'samplesite_2%'") || "[]");
  await waitFor("nine rows in the warehouse", async () => {
    const [{ name }] = tables();
    return JSON.parse(sql(`SELECT COUNT(*) AS n FROM ${name}`))[0].n === 9;
  });

  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1300, height: 2200 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    return d.type() === "prompt" ? d.accept(token) : d.accept();
  });
  // A fresh load: the chart's first data are the server's, the nine events already in them.
  const firstRates = page.waitForResponse((r) => r.url().endsWith("/api/rates") && r.status() === 200);
  await page.goto(`http://127.0.0.1:${adminPort}/admin`);
  const rates = await (await firstRates).json();
  const k = rates.sites.indexOf("samplesite");
  assert.equal(rates.seconds.counts.reduce((a, c) => a + c[k], 0), 9);
  assert.ok(dialogs.some((d) => d.startsWith("prompt: admin token")), dialogs.join());
  await waitFor("the status line", async () => (await page.textContent("#status")).includes("times in Asia/Tokyo"));
  assert.match(await page.textContent("#status"), /oceanus 0\.\d+\.\d+ \(/);
  assert.match(await page.textContent("h2 .tz"), /Asia\/Tokyo/);
  const artifacts = join(root, "build/artifacts");
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "admin-rates.png"), clip: { x: 0, y: 0, width: 1300, height: 700 } });

  // The dead task, re-run from its button once the webhook answers.
  const deliveries = [];
  const hook = createHttpServer((req, res) => {
    req.resume();
    req.on("end", () => { deliveries.push(req.url); res.end("ok"); });
  });
  await new Promise((r) => hook.listen(hookPort, "127.0.0.1", r));
  t.after(() => hook.close());
  const deadRow = await waitFor("the dead task's row", async () => {
    await page.click("#tasks-form button[type=submit]");
    const rows = await page.$$eval("#tasks tbody tr", (trs) => trs.map((tr) => tr.textContent));
    return rows.length === 1 ? rows[0] : null;
  });
  assert.match(deadRow, /slack/);
  await page.screenshot({ path: join(artifacts, "admin-dead-tasks.png"), fullPage: true });
  await page.click("#tasks button.retry");
  await waitFor("the answer", async () => (await page.textContent("#tasks-status")).includes("1 task(s) put back"));
  assert.ok(dialogs.some((d) => d.startsWith("confirm: Put task")), dialogs.join());
  await waitFor("one delivery", async () => deliveries.length === 1, 30000);
  await waitFor("no dead task left", async () => (await api("/api/dead-tasks")).count === 0);
  assert.deepEqual(deliveries, ["/hook"]);

  // The overview of today (in Tokyo), against the warehouse's own counts.
  await page.selectOption("#overview-site", "samplesite");
  await page.click("#overview-form button");
  await waitFor("the overview", async () => (await page.textContent("#overview-status")).includes("Asia/Tokyo"));
  const [{ name }] = tables();
  const want = (col) => JSON.parse(sql(`SELECT ${col} AS value, COUNT(*) AS count FROM ${name} ` +
    `WHERE ${col} IS NOT NULL AND ${col} <> '' GROUP BY ${col} ORDER BY count DESC, value`));
  const shown = (id) => page.$$eval(`#${id} tbody tr`, (trs) => trs.map((tr) =>
    ({ value: tr.children[0].textContent, count: Number(tr.children[1].textContent) })));
  assert.deepEqual(await shown("overview-events"), want("evt"));
  assert.deepEqual(await shown("overview-pages"), want("url"));
  assert.deepEqual(await shown("overview-referrers"), want("ref"));
  const bars = await page.$$eval("#overview-hours div", (ds) => ds.map((d) => Number(d.dataset.events)));
  assert.equal(bars.length, 24);
  const hourOf = JSON.parse(sql(`SELECT (CAST(strftime('%H', dt) AS INTEGER) + 9) % 24 AS h, COUNT(*) AS n FROM ${name} GROUP BY h`));
  for (const { h, n } of hourOf) assert.equal(bars[h], n, `hour ${h}`);
  assert.equal(bars.reduce((a, b) => a + b, 0), 9);
  assert.match(await page.textContent("#overview-totals"), /^9 event\(s\)/);
  await page.locator("#overview-form").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, "admin-overview.png"), fullPage: true });

  // The dead-lettered rows set aside from 09:30 to 11:00 Tokyo time, back into the running
  // spool: one row; the other stays in the dead-letter.
  await page.selectOption("#rejected-site", "samplesite");
  await page.fill("#replay-since", "2026-11-25T09:30");
  await page.fill("#replay-until", "2026-11-25T11:00");
  await page.click("#replay-button");
  await waitFor("the replay's answer", async () => (await page.textContent("#rejected-status")).includes("1 row(s) sent back"));
  assert.ok(dialogs.some((d) => d.startsWith("confirm: Send the dead-lettered rows of samplesite set aside from " +
    "2026-11-25 09:30 until 2026-11-25 11:00 (Asia/Tokyo)")), dialogs.join());
  const old = () => tables().map((r) => r.name).find((n) => n.includes("20261125"));
  await waitFor("the replayed row", async () => old() && JSON.parse(sql(`SELECT uid FROM ${old()}`) || "[]").length === 1);
  assert.deepEqual(JSON.parse(sql(`SELECT uid FROM ${old()}`)), [{ uid: "in-window" }]);
  const left = readFileSync(join(dir, "data/deadletter/samplesite.jsonl"), "utf8").trim().split("\n");
  assert.deepEqual(left.map((l) => JSON.parse(JSON.parse(l).record).uid), ["after-window"]);
  await page.locator("section:has(#rejected-form)").screenshot({ path: join(artifacts, "admin-replay.png") });
  assert.deepEqual(pageErrors, []);

  proc.kill("SIGTERM");
  assert.equal(await exited, 0, log.join(""));
});

// The admin page end to end: a real `oceanus run`, events sent over HTTP, and the page in
// headless Chromium (Debian's, driven by playwright-core). Events the test sends must show
// in the live tail and the site table, the invalid one in the validation errors, and the
// visitor timeline must list one visitor's events from the warehouse, newest first.
// Leaves a screenshot in build/artifacts/admin.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
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

test("the admin page shows live events, errors, and a visitor's timeline", async (t) => {
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

  // The validation error, with its reason and request.
  const error = await waitFor("the validation error", async () => {
    const rows = await page.$$eval("#errors tbody tr", (trs) => trs.map((tr) => tr.textContent));
    return rows.find((r) => r.includes("sid: required"));
  });
  assert.match(error, /\/swallow\/samplesite\?oid=2&evt=pageview/);

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

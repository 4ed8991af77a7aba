"""The Segment-compatible API (docs/segment.md) through `oceanus run` into SQLite: each
endpoint and each error of /v1/…, the rows they store, retries stored once, the metrics of
refused messages, the live tail, the visitor timeline, and a rule on a segment event."""
import base64
import datetime
import gzip
import json
import socket
import tempfile
import unittest

from harness import FakeServices, IPHONE, Oceanus, example_config, free_port, wait_for

KEY = "it-write-key"
SITE = "sampleapp"


def basic(key=KEY):
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


class SegmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.services = FakeServices()
        tmp = tempfile.mkdtemp(prefix="oceanus-segment-")
        config = example_config(tmp, [
            ("actions:\n", "actions:\n  audit:\n    type: webhook\n    url: ${OCEANUS_AUDIT_URL}\n"),
            ("rules:\n", "rules:\n  - name: big_order\n    site: sampleapp\n"
                         "    when: {event: \"Order Completed\"}\n"
                         "    do: [{action: audit, args: {user: \"{{user_id}}\", "
                         "revenue: \"{{properties.revenue}}\", plan: \"{{context.traits.plan}}\"}}]\n")])
        cls.o = Oceanus(config=config, admin_port=free_port(), env={
            "OCEANUS_SEGMENT_WRITE_KEY": KEY,
            "OCEANUS_AUDIT_URL": cls.services.url("/hook/audit")}).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.o.stop()
        cls.services.stop()
        assert code == 0, cls.o.read_log()

    def post(self, path, body, key=KEY, headers=None, raw=False):
        h = {"Content-Type": "application/json"}
        if key is not None:
            h["Authorization"] = basic(key)
        h.update(headers or {})
        data = body if raw else json.dumps(body).encode()
        status, head, answer = self.o.request("POST", path, body=data, headers=h)
        return status, head, json.loads(answer) if answer else None

    def rows(self, where="1=1", params=()):
        return self.o.rows(SITE, where, params)

    def assert_up(self):
        self.assertEqual(self.o.request("GET", "/hc")[0], 200)

    def metric(self, name, **labels):
        status, text = self.o.admin("/metrics")
        self.assertEqual(status, 200)
        want = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
        for line in text.decode().splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return 0.0

    # --- every endpoint ---------------------------------------------------------------
    def test_each_call_on_its_long_and_short_path_is_stored_with_its_columns(self):
        calls = [
            ("/v1/track", {"userId": "u-track", "event": "Signed Up", "properties": {"b": 2, "a": 1}}),
            ("/v1/t", {"anonymousId": "a-t", "event": "Clicked"}),
            ("/v1/page", {"userId": "u-page", "name": "Home", "properties": {"url": "https://x/"}}),
            ("/v1/p", {"anonymousId": "a-p", "name": "Pricing"}),
            ("/v1/screen", {"userId": "u-screen", "name": "Main"}),
            ("/v1/s", {"userId": "u-s", "name": "Settings"}),
            ("/v1/identify", {"userId": "u-identify", "traits": {"email": "x@example.com"}}),
            ("/v1/i", {"anonymousId": "a-i", "traits": {"plan": "free"}}),
            ("/v1/group", {"userId": "u-group", "groupId": "g-1", "traits": {"name": "ACME"}}),
            ("/v1/g", {"userId": "u-g", "groupId": "g-2"}),
            ("/v1/alias", {"userId": "u-alias", "previousId": "a-old"}),
            ("/v1/a", {"userId": "u-a", "previousId": "a-older"}),
        ]
        for path, body in calls:
            body = dict(body, messageId="each-" + path)
            status, head, answer = self.post(path, body)
            self.assertEqual((status, answer), (200, {"success": True}), path)
            self.assertEqual(head["content-type"], "application/json")
            self.assertEqual(head["access-control-allow-origin"], "*")
        rows = self.o.wait_rows(SITE, len(calls), "message_id LIKE 'each-%'")
        by_id = {r["message_id"]: r for r in rows}
        types = {"track": "track", "t": "track", "page": "page", "p": "page", "screen": "screen",
                 "s": "screen", "identify": "identify", "i": "identify", "group": "group",
                 "g": "group", "alias": "alias", "a": "alias"}
        for path, body in calls:
            row = by_id["each-" + path]
            self.assertEqual(row["type"], types[path.rsplit("/", 1)[1]], path)
            self.assertEqual(row["user_id"], body.get("userId"), path)
            self.assertEqual(row["anonymous_id"], body.get("anonymousId"), path)
            self.assertEqual(row["event"], body.get("event"), path)
            self.assertEqual(row["name"], body.get("name"), path)
            self.assertEqual(row["group_id"], body.get("groupId"), path)
            self.assertEqual(row["previous_id"], body.get("previousId"), path)
            self.assertRegex(row["eid"], r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            self.assertEqual(row["rad"], "127.0.0.1")
        self.assertEqual(by_id["each-/v1/track"]["properties"], '{"a":1,"b":2}')
        self.assertEqual(by_id["each-/v1/identify"]["traits"], '{"email":"x@example.com"}')
        self.assertEqual(by_id["each-/v1/group"]["traits"], '{"name":"ACME"}')

    def test_a_track_call_keeps_its_times_context_and_device(self):
        status, head, _ = self.post("/v1/track", {
            "userId": "u-times", "event": "Order Completed", "messageId": "times-1",
            "properties": {"revenue": 19.99, "currency": "JPY"},
            # The phone's clock is a day behind; it says the call was 10 s before sending.
            "timestamp": "2020-01-01T00:00:00.000Z", "sentAt": "2020-01-01T00:00:10.000Z",
            "context": {"userAgent": IPHONE, "traits": {"plan": "gold"}, "ip": "203.0.113.5"}},
            headers={"User-Agent": "curl/8"})
        self.assertEqual(status, 200)
        [row] = self.o.wait_rows(SITE, 1, "message_id = ?", ("times-1",))
        self.assertEqual(head["x-oceanus-eid"], row["eid"])
        self.assertEqual(row["ua"], IPHONE)          # context.userAgent over the header
        self.assertEqual(row["dev"], "mobile")
        self.assertEqual(row["rad"], "127.0.0.1")    # context.ip only from a trusted sender
        self.assertEqual(row["revenue"], 19.99)      # promoted from properties.revenue
        self.assertEqual(row["original_timestamp"], "2020-01-01 00:00:00.000000")
        self.assertEqual(row["sent_at"], "2020-01-01 00:00:10.000000")
        dt = datetime.datetime.strptime(row["dt"], "%Y-%m-%d %H:%M:%S.%f")
        ts = datetime.datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
        self.assertAlmostEqual((dt - ts).total_seconds(), 10.0, delta=0.01)
        self.assertEqual(json.loads(row["context"])["traits"], {"plan": "gold"})
        # The rule saw the event: when: {event: …}, {{properties.revenue}} in its args.
        calls = self.services.wait_received("/hook/audit", 1)
        self.assertIn({"user": "u-times", "revenue": "19.99", "plan": "gold"},
                      [c["json"] for c in calls])
        # The timeline and the live tail find it by user_id.
        status, body = self.o.admin(f"/api/visitor?site={SITE}&user_id=u-times")
        self.assertEqual(status, 200, body)
        self.assertEqual([r["message_id"] for r in json.loads(body)["rows"]], ["times-1"])
        status, body = self.o.admin("/api/tail?user_id=u-times")
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["events"]), 1)

    # --- batches ----------------------------------------------------------------------
    def test_a_batch_stores_its_valid_messages_and_counts_the_rest(self):
        before = self.metric("oceanus_messages_rejected_total", site=SITE, reason="missing_id")
        batch = {"batch": [
            {"type": "track", "event": "A", "userId": "u-batch", "messageId": "batch-1"},
            {"type": "track", "event": "B", "messageId": "batch-2"},                  # no ids
            {"type": "page", "name": "P", "anonymousId": "a-batch", "messageId": "batch-3"},
            {"type": "track", "userId": "u-batch", "messageId": "batch-4"},          # no event
            {"type": "jump", "userId": "u-batch", "messageId": "batch-5"},           # type
        ], "sentAt": "2026-01-01T00:00:00Z", "context": {"library": {"name": "it"}}}
        for path in ("/v1/batch", "/v1/import", "/v1/b"):
            status, _, answer = self.post(path, batch)
            self.assertEqual(status, 200)
            self.assertEqual((answer["success"], answer["stored"], answer["rejected"]), (True, 2, 3))
            self.assertEqual([e["reason"] for e in answer["errors"]],
                             ["missing_id", "missing_event", "unknown_type"])
        # Three times the same messages: stored once each.
        rows = self.o.wait_rows(SITE, 2, "message_id LIKE 'batch-%'")
        self.assertEqual(sorted(r["message_id"] for r in rows), ["batch-1", "batch-3"])
        self.assertEqual(json.loads(rows[0]["context"]), {"library": {"name": "it"}})
        self.assertEqual(self.metric("oceanus_messages_rejected_total", site=SITE,
                                     reason="missing_id") - before, 3)
        # The refused ones are in the live tail of rejections, with their text.
        status, body = self.o.admin(f"/api/tail?site={SITE}")
        texts = [r["text"] for r in json.loads(body)["rejections"]]
        self.assertTrue(any("unknown_type" in t and "batch-5" in t for t in texts), texts)

    def test_a_batch_whose_answer_was_cut_off_is_stored_once_when_sent_again(self):
        body = json.dumps({"writeKey": KEY, "batch": [
            {"type": "track", "event": "Retried", "userId": "u-retry", "messageId": f"retry-{i}"}
            for i in range(50)]}).encode()
        queued = self.metric("oceanus_events_queued_total", site=SITE)
        # The first attempt: the whole request, then the connection closed before the answer.
        with socket.create_connection(("127.0.0.1", self.o.port)) as s:
            s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            s.shutdown(socket.SHUT_WR)
            s.close()
        status, _, answer = self.post("/v1/batch", body, key=None, raw=True)
        self.assertEqual((status, answer), (200, {"success": True}))
        self.o.wait_rows(SITE, 50, "message_id LIKE 'retry-%'")
        # Both attempts queued (100 records) and everything queued loaded: still 50 rows.
        wait_for(lambda: self.metric("oceanus_events_queued_total", site=SITE) >= queued + 100,
                 what="both attempts queued")
        wait_for(lambda: self.metric("oceanus_loader_rows_total", site=SITE)
                 >= self.metric("oceanus_events_queued_total", site=SITE), what="all loaded")
        self.assertEqual(len(self.rows("message_id LIKE 'retry-%'")), 50)

    def test_gzip_bodies_are_accepted(self):
        body = gzip.compress(json.dumps({"batch": [
            {"type": "identify", "userId": "u-gzip", "messageId": "gzip-1"}]}).encode())
        status, _, answer = self.post("/v1/batch", body, raw=True, headers={"Content-Encoding": "gzip"})
        self.assertEqual((status, answer), (200, {"success": True}))
        self.o.wait_rows(SITE, 1, "message_id = ?", ("gzip-1",))

    # --- errors -----------------------------------------------------------------------
    def test_bad_requests_get_the_documented_answers_and_store_nothing(self):
        track = {"userId": "u-bad", "event": "E", "messageId": "bad-1"}
        cases = [
            ("wrong key", "/v1/track", track, dict(key="nope"), 401),
            ("no key", "/v1/track", track, dict(key=None), 401),
            ("body key wrong", "/v1/track", dict(track, writeKey="nope"), dict(key=None), 401),
            ("invalid JSON", "/v1/track", b"{not json", dict(raw=True), 400),
            ("not an object", "/v1/track", [track], {}, 400),
            ("form body", "/v1/track", b"a=1", dict(raw=True, headers={
                "Content-Type": "application/x-www-form-urlencoded"}), 415),
            ("brotli", "/v1/track", track, dict(headers={"Content-Encoding": "br"}), 415),
            ("broken gzip", "/v1/track", b"\x1f\x8b junk", dict(raw=True, headers={
                "Content-Encoding": "gzip"}), 400),
            ("missing ids", "/v1/track", {"event": "E", "messageId": "bad-1"}, {}, 400),
            ("track without event", "/v1/track", {"userId": "u", "messageId": "bad-1"}, {}, 400),
            ("message over 32 KB", "/v1/track", dict(track, properties={"x": "y" * 33000}), {}, 413),
            ("gzip bomb", "/v1/batch", gzip.compress(b'{"batch":[' + b" " * 50_000_000 + b"]}"),
             dict(raw=True, headers={"Content-Encoding": "gzip"}), 413),
            ("empty batch", "/v1/batch", {"batch": []}, {}, 400),
            ("unknown path", "/v1/nothing", track, {}, 404),
        ]
        for name, path, body, kwargs, want in cases:
            status, head, answer = self.post(path, body, **kwargs)
            self.assertEqual(status, want, name)
            self.assertEqual(head["content-type"], "application/json", name)
            self.assertFalse(answer["success"], name)
            self.assert_up()
        # A body over 500 KB is refused from its Content-Length, before it is read.
        with socket.create_connection(("127.0.0.1", self.o.port), timeout=15) as s:
            s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Authorization: " + basic().encode() + b"\r\nContent-Length: 600000\r\n\r\n")
            answer = b""
            while b"}" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 413 "), head)
        self.assertIn(b"Content-Type: application/json", head)
        self.assertIn(b"max_batch_bytes", body)
        self.assert_up()
        self.assertEqual(self.post("/v1/track", track, key="nope")[2]["message"], "unknown write key")
        big = dict(track, properties={"x": "y" * 33000})
        self.assertIn("max_message_bytes", self.post("/v1/track", big)[2]["message"])
        status, head, _ = self.o.request("GET", "/v1/track")
        self.assertEqual((status, head["allow"]), (405, "POST, OPTIONS"))
        self.assertEqual(self.rows("message_id = 'bad-1'"), [])

    def test_preflight_allows_what_the_browser_library_sends(self):
        status, head, body = self.o.request("OPTIONS", "/v1/t", headers={
            "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-retry-count"})
        self.assertEqual(status, 204)
        self.assertEqual(head["access-control-allow-origin"], "*")
        self.assertEqual(head["access-control-allow-headers"], "authorization,content-type,x-retry-count")
        self.assertIn("POST", head["access-control-allow-methods"])
        # Without a list asked for, the fixed one.
        status, head, _ = self.o.request("OPTIONS", "/v1/batch")
        self.assertIn("Authorization", head["access-control-allow-headers"])


if __name__ == "__main__":
    unittest.main()

"""The collector's answers and the exact rows they store: oceanus run on the example config."""
import json
import os
import re
import socket
import subprocess
import time
import unittest
import urllib.parse

from harness import BIN, CHROME_WINDOWS, IPHONE, EXAMPLE, Oceanus, example_config

GIF = (b"GIF89a\x01\x00\x01\x00\x80\x01\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00"
       b"\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")


def q(**params):
    return urllib.parse.urlencode(params)


class CollectTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        tmp = tempfile.mkdtemp(prefix="oceanus-collect-")
        # Short /gaze delays so that the whole chain runs in about a second.
        config = example_config(tmp, [("gaze_delays: [2s, 4s, 4s]", "gaze_delays: [300ms, 300ms, 300ms]")])
        cls.o = Oceanus(config=config).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.o.stop()
        assert code == 0, cls.o.read_log()

    def swallow(self, path="/swallow/samplesite", headers=None, **params):
        base = dict(oid="2", sid="0123456789ABCDEF", evt="PageView", url="https://example.jp/a")
        base.update(params)
        h = {"User-Agent": CHROME_WINDOWS}
        h.update(headers or {})
        return self.o.request("GET", path + "?" + q(**base), headers=h)

    def test_pageview_is_answered_with_the_gif_and_stored_exactly(self):
        status, headers, body = self.swallow(
            uid="member-1", tit="資料ダウンロード", ref="https://ref.example/", enc="shift_jis/x",
            scr="1920x1080", vie="1280x720", jsn='{"b": 2, "a": {"y": 1, "x": [1, 0.5]}}',
            url="https://example.jp/one")
        self.assertEqual(status, 200)
        self.assertEqual(body, GIF)
        self.assertEqual(headers["content-type"], "image/gif")
        self.assertEqual(headers["cache-control"], "no-cache, no-store, must-revalidate")
        self.assertEqual(headers["pragma"], "no-cache")
        self.assertIn("1970", headers["expires"])
        self.assertEqual(headers["access-control-allow-origin"], "*")

        [row] = self.o.wait_rows("samplesite", 1, "url = ?", ("https://example.jp/one",))
        self.assertEqual(headers["x-oceanus-eid"], row["eid"])  # the caller learns the stored id
        self.assertEqual(row["oid"], "2")
        self.assertEqual(row["sid"], "0123456789abcdef")      # lower-cased
        self.assertEqual(row["evt"], "pageview")              # lower-cased
        self.assertEqual(row["uid"], "member-1")
        self.assertEqual(row["tit"], "資料ダウンロード")
        self.assertEqual(row["ref"], "https://ref.example/")
        self.assertEqual(row["enc"], "SHIFT_JISX")           # upper-cased, "/" removed
        self.assertEqual(row["scr"], "1920x1080")
        self.assertEqual(row["vie"], "1280x720")
        self.assertEqual(row["jsn"], '{"a":{"x":[1,0.5],"y":1},"b":2}')
        self.assertEqual(row["rad"], "127.0.0.1")
        self.assertEqual(row["ua"], CHROME_WINDOWS)
        self.assertEqual(row["dev"], "pc")
        self.assertRegex(row["dt"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
        self.assertRegex(row["eid"], r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        # In the daily table named by the JST date of its dt.
        import datetime
        utc = datetime.datetime.strptime(row["dt"], "%Y-%m-%d %H:%M:%S.%f")
        jst_date = (utc + datetime.timedelta(hours=9)).strftime("%Y%m%d")
        import sqlite3
        with sqlite3.connect(self.o.db_path) as db:
            found = db.execute(f'SELECT count(*) FROM "samplesite_{jst_date}" WHERE eid = ?',
                               (row["eid"],)).fetchone()[0]
        self.assertEqual(found, 1)

    def test_bare_swallow_goes_to_the_default_site_and_mobile_is_detected(self):
        status, _, _ = self.swallow(path="/swallow", url="https://example.jp/bare",
                                    headers={"User-Agent": IPHONE})
        self.assertEqual(status, 200)
        [row] = self.o.wait_rows("samplesite", 1, "url = ?", ("https://example.jp/bare",))
        self.assertEqual(row["dev"], "mobile")

    def test_send_beacon_post_with_text_body(self):
        body = q(oid="2", sid="abc", evt="unload", url="https://example.jp/beacon")
        status, _, _ = self.o.request("POST", "/swallow/samplesite", body=body,
                                      headers={"Content-Type": "text/plain;charset=UTF-8"})
        self.assertEqual(status, 200)
        self.o.wait_rows("samplesite", 1, "url = ?", ("https://example.jp/beacon",))

    def test_form_post_to_pirate(self):
        body = q(sid="feed", name="山田 太郎", cname="Example KK", email="t@example.jp",
                 tel="03-0000-0000", jsn='{"doc":"whitepaper"}', url="https://example.jp/form")
        status, headers, data = self.o.request(
            "POST", "/pirate/sampleform", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": IPHONE})
        self.assertEqual((status, data), (200, b""))
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        [row] = self.o.wait_rows("sampleform", 1, "email = ?", ("t@example.jp",))
        self.assertEqual(row["name"], "山田 太郎")
        self.assertEqual(row["cname"], "Example KK")
        self.assertEqual(row["jsn"], '{"doc":"whitepaper"}')
        self.assertEqual(row["dev"], "mobile")
        self.assertEqual(self.o.tables("sampleform"), ["sampleform"])  # tables: single

    def test_pierce_takes_rad_and_ua_from_parameters(self):
        status, _, body = self.o.request("GET", "/pierce/sampleserver?" + q(
            oid="s", sid="ab", evt="redirect", url="https://example.jp/short", rad="2001:DB8::1",
            ua=IPHONE))
        self.assertEqual((status, body), (200, b"ok\n"))
        [row] = self.o.wait_rows("sampleserver", 1, "url = ?", ("https://example.jp/short",))
        self.assertEqual(row["rad"], "2001:db8::1")
        self.assertEqual(row["dev"], "mobile")
        status, _, body = self.o.request("GET", "/pierce/sampleserver?" + q(
            oid="s", sid="ab", evt="redirect", url="https://example.jp/x", rad="not-an-ip"))
        self.assertEqual(status, 400)
        self.assertIn(b"rad: not an IP address", body)

    def test_gaze_chain_redirects_open_see_read_done(self):
        path = "/gaze/samplemail?" + q(uid="rcpt-9", evt="open", sid="ab")
        seen = []
        for expected_next in ("see", "read", "done", None):
            start = time.monotonic()
            status, headers, body = self.o.request("GET", path)
            if expected_next is None:
                self.assertEqual((status, body), (200, GIF))
                break
            self.assertEqual(status, 302)
            self.assertGreaterEqual(time.monotonic() - start, 0.29)  # answered after the delay
            self.assertIn("evt=" + expected_next, headers["location"])
            self.assertIn("uid=rcpt-9", headers["location"])
            path = headers["location"]
            seen.append(expected_next)
        rows = self.o.wait_rows("samplemail", 4, "uid = ?", ("rcpt-9",))
        self.assertEqual(sorted(r["evt"] for r in rows), ["done", "open", "read", "see"])

    def test_forwarded_for_is_believed_only_from_trusted_proxies(self):
        # 127.0.0.1 is a trusted proxy in the example: the nearest untrusted hop is the client.
        self.swallow(url="https://example.jp/xff",
                     headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
        [row] = self.o.wait_rows("samplesite", 1, "url = ?", ("https://example.jp/xff",))
        self.assertEqual(row["rad"], "198.51.100.7")

    def test_invalid_events_get_400_with_reasons_and_are_not_stored(self):
        cases = [
            (dict(sid=""), b"sid: required"),
            (dict(sid="xyz!"), b"sid: does not match"),
            (dict(jsn="{broken"), b"jsn: not valid JSON"),
            (dict(evt="x" * 17), b"evt: longer than 16 characters"),
            (dict(oid="a" * 17, evt="y" * 17), b"oid: longer than 16"),
        ]
        for params, reason in cases:
            status, _, body = self.swallow(url="https://example.jp/invalid", **params)
            self.assertEqual(status, 400, params)
            self.assertIn(reason, body, params)
        status, _, body = self.o.request(
            "GET", "/swallow/samplesite?oid=2&sid=ab&evt=x&url=u&tit=%FF%FE")
        self.assertEqual((status, body), (400, b"tit: not valid UTF-8\n"))
        status, _, body = self.o.request("GET", "/swallow/samplesite?oid=2&sid=ab&evt=x&url=%zz")
        self.assertEqual(status, 400)
        self.assertIn(b"malformed percent-encoding in parameter 'url'", body)
        # A valid marker event after the invalid ones: once it is stored, the others would be too.
        self.swallow(url="https://example.jp/after-invalid")
        self.o.wait_rows("samplesite", 1, "url = ?", ("https://example.jp/after-invalid",))
        self.assertEqual(self.o.rows("samplesite", "url = ?", ("https://example.jp/invalid",)), [])

    def test_long_title_is_truncated_not_rejected(self):
        # As a POST body (sendBeacon): 1500 such characters make a URL over the header limit.
        body = q(oid="2", sid="ab", evt="pageview", url="https://example.jp/long", tit="あ" * 1500)
        status, _, _ = self.o.request("POST", "/swallow/samplesite", body=body,
                                      headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 200)
        [row] = self.o.wait_rows("samplesite", 1, "url = ?", ("https://example.jp/long",))
        self.assertEqual(row["tit"], "あ" * 1024)

    def test_debug_shows_the_parsed_event_to_internal_clients(self):
        status, _, body = self.swallow(url="https://example.jp/debug", debug="1", sid="")
        self.assertEqual(status, 400)
        self.assertIn(b"sid: required", body)
        self.assertIn(b'evt = "pageview"', body)

    def test_routing_and_methods(self):
        self.assertEqual(self.o.request("GET", "/swallow/nosuchsite?a=1")[0], 404)
        self.assertEqual(self.o.request("GET", "/swallow/sampleform?a=1")[0], 404)  # not its endpoint
        status, headers, _ = self.o.request("GET", "/pirate/sampleform")
        self.assertEqual((status, headers.get("allow")), (405, "POST, OPTIONS"))
        status, headers, _ = self.o.request("DELETE", "/swallow/samplesite")
        self.assertEqual((status, headers.get("allow")), (405, "GET, HEAD, POST, OPTIONS"))
        # HEAD /hc (load balancers probe with it): the headers only, Content-Length of the body.
        with socket.create_connection(("127.0.0.1", self.o.port), timeout=10) as s:
            s.sendall(b"HEAD /hc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw = b""
            while chunk := s.recv(4096):
                raw += chunk
        self.assertTrue(raw.startswith(b"HTTP/1.1 200"), raw)
        self.assertIn(b"Content-Length: 3\r\n", raw)
        self.assertTrue(raw.endswith(b"\r\n\r\n"), raw)
        self.assertEqual(self.o.request("GET", "/nowhere")[0], 404)
        status, _, _ = self.o.request("POST", "/pirate/sampleform", body="{}",
                                      headers={"Content-Type": "application/json"})
        self.assertEqual(status, 415)
        for path in ("/hc", "/lb"):
            self.assertEqual(self.o.request("GET", path)[:3:2], (200, b"ok\n"))
        status, _, body = self.o.request("GET", "/robots.txt")
        self.assertEqual(status, 200)
        self.assertIn(b"User-agent", body)
        self.assertEqual(self.o.request("GET", "/favicon.ico")[0], 204)

    def test_cors_preflight(self):
        status, headers, _ = self.o.request("OPTIONS", "/pirate/sampleform", headers={
            "Origin": "https://example.jp", "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertEqual(headers["access-control-allow-origin"], "*")
        self.assertIn("POST", headers["access-control-allow-methods"])

    def test_limits_answer_431_and_413(self):
        status, _, _ = self.o.request("GET", "/hc", headers={"X-Big": "a" * 9000})
        self.assertEqual(status, 431)
        status, _, _ = self.o.request("POST", "/pirate/sampleform", body="a=" + "b" * 70000,
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 413)
        self.assertEqual(self.o.request("GET", "/hc")[0], 200)  # still serving


class CheckCommandTest(unittest.TestCase):
    def test_check_prints_the_resolved_config(self):
        out = subprocess.run([BIN, "check", "--config", EXAMPLE], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("site samplesite", out.stdout)
        self.assertIn("endpoint: /pirate/sampleform", out.stdout)
        self.assertRegex(out.stdout, r"due now: samplesite_\d{8}")
        self.assertIn("sid: string from param, required, pattern [0-9a-f]{1,32}", out.stdout)

    def test_check_reports_file_line_column(self):
        import tempfile
        path = os.path.join(tempfile.mkdtemp(), "bad.yaml")
        with open(path, "w") as f:
            f.write("sites:\n  s:\n    endpoint: swallow\n    schema:\n      - {name: x, max_length: ten}\n")
        out = subprocess.run([BIN, "check", "--config", path], capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)
        self.assertEqual(out.stderr.strip(),
                         f"{path}:5:31: expected a non-negative integer, got 'ten'")


if __name__ == "__main__":
    unittest.main()

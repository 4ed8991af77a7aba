#!/usr/bin/env python3
"""Bytes on the wire per event into BigQuery, on both APIs, for the page view of bench/lib.sh.

For each api (storage_write, insert_all) it starts Redis, the local fake of Google
(tests/fakes/fake_google.py) and `oceanus run` with examples/bigquery.yaml, sends N page
views (the query and User-Agent of bench/lib.sh), waits until all are rows in the fake, and
divides what the fake received by the rows: for the Storage Write API the serialized
AppendRowsRequest messages (protobuf, before gRPC framing and HTTP/2), for insertAll the
JSON request bodies (before HTTP headers). Prints one JSON line per api.

    python3 bench/bigquery_bytes.py [--events 5000]     # needs build/oceanus
"""
import argparse
import http.client
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import BIGQUERY_EXAMPLE, FakeGoogle, Oceanus, Redis, example_config, wait_for  # noqa: E402

QUERY = ("oid=2&sid=0123456789abcdef&evt=pageview&url=https%3A%2F%2Fexample.jp%2Fproducts%2F42"
         "&tit=Product%2042&ref=https%3A%2F%2Fwww.google.com%2F&scr=1920x1080&vie=1280x720")
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36")


def send(port, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    for _ in range(n):
        conn.request("GET", f"/swallow/samplesite?{QUERY}", headers={"User-Agent": UA})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"beacon answered {resp.status}")
    conn.close()


def measure(api, events):
    tmp = tempfile.mkdtemp(prefix="oceanus-bq-bytes-")
    redis, google = Redis().start(), FakeGoogle()
    env = dict(google.env(), OCEANUS_REDIS=redis.address, OCEANUS_BIGQUERY_API=api)
    config = example_config(tmp, [("max_wait: 1s", "max_wait: 100ms")], base=BIGQUERY_EXAMPLE)
    node = Oceanus(config=config, role="run", env=env).start()
    try:
        send(node.port, events)
        wait_for(lambda: len(google.rows("samplesite")) >= events, timeout=120, what="every row in BigQuery")
        if api == "storage_write":
            s = google.storage_write()
            sent, rows, calls = s["request_bytes"], s["rows_appended"], s["calls"].get("append_requests", 0)
        else:
            s = google.stats()
            sent, rows, calls = s["insert_bytes"], s["insert_rows"], s["insert_calls"]
        return {"api": api, "events": events, "rows_sent": rows, "requests": calls, "bytes": sent,
                "bytes_per_event": round(sent / events, 1)}
    finally:
        node.stop()
        google.stop()
        redis.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    for api in ("storage_write", "insert_all"):
        print(json.dumps(measure(api, args.events)), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Polls an oceanus SQLite warehouse and reports how long rows took to become visible.

lag = (time the row was first seen) - (its dt, the moment the collector received it).
Polls every 20 ms, so each figure is at most 20 ms late. Usage: lag.py DB SECONDS
"""
import datetime
import sqlite3
import sys
import time

db_path, seconds = sys.argv[1], float(sys.argv[2])
seen = {}  # table -> max rowid
lags = []
end = time.time() + seconds
while time.time() < end:
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'samplesite%'")]
        for t in tables:
            last = seen.get(t, 0)
            for rowid, dt in db.execute(f'SELECT rowid, dt FROM "{t}" WHERE rowid > ? AND uid LIKE \'lag%\'', (last,)):
                lags.append((now - datetime.datetime.strptime(dt, "%Y-%m-%d %H:%M:%S.%f")).total_seconds())
                last = max(last, rowid)
            seen[t] = max(seen.get(t, 0), last if last else db.execute(f'SELECT max(rowid) FROM "{t}"').fetchone()[0] or 0)
        db.close()
    except sqlite3.Error:
        pass
    time.sleep(0.02)
lags.sort()
if not lags:
    print("no rows seen")
    sys.exit(1)
pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
print(f"rows {len(lags)}  lag p50 {pick(0.50)*1000:.0f} ms  p99 {pick(0.99)*1000:.0f} ms  max {lags[-1]*1000:.0f} ms")

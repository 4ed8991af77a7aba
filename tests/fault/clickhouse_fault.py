"""What the two ClickHouse fault scenarios share: the Redis topology's config with the
clickhouse sink (examples/redis.yaml, its sink section replaced), and the warehouse read back
for the audit — de-duplicated (FINAL) as every read of these tables must be, and raw."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from clickhouse_server import ClickHouse  # noqa: E402,F401
from scenario import REDIS_EXAMPLE  # noqa: E402

SQLITE_SINK = "sink:\n  type: sqlite\n  path: ${OCEANUS_SQLITE_PATH:-./data/oceanus.db}\n"
CLICKHOUSE_SINK = "sink:\n  type: clickhouse\n  clickhouse:\n    url: ${OCEANUS_CLICKHOUSE_URL}\n    timeout: 5s\n"


def clickhouse_redis_base(tmp):
    """examples/redis.yaml with the clickhouse sink, written into `tmp`; its path."""
    with open(REDIS_EXAMPLE) as f:
        text = f.read()
    assert SQLITE_SINK in text
    path = os.path.join(tmp, "redis-clickhouse.yaml")
    with open(path, "w") as f:
        f.write(text.replace(SQLITE_SINK, CLICKHOUSE_SINK))
    return path


def clickhouse_rows(ch, site="samplesite"):
    """[(eid, uid)] of the site's tables read with FINAL (a row written twice is one row)."""
    rows = []
    for t in ch.site_tables(site):
        rows += [(eid, uid) for eid, uid in ch.rows(f"SELECT eid, uid FROM oceanus.{t} FINAL")]
    return rows


def raw_row_count(ch, site="samplesite"):
    """Rows as stored, before ReplacingMergeTree's merges remove the duplicates."""
    return sum(int(ch.scalar(f"SELECT count() FROM oceanus.{t}")) for t in ch.site_tables(site))

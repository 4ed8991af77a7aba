#!/usr/bin/env bash
# The clickhouse sink's numbers, all in one run (see docs/BENCHMARKS.md):
#  1. `oceanus collect` (queue redis) fills the stream for DURATION seconds (wrk);
#  2. `oceanus load` drains that stream into ClickHouse (sink type clickhouse, batches of
#     BATCH_ROWS): rows/s until count() of the samplesite tables equals the stream length;
#  3. the same rows, exported from ClickHouse as JSONEachRow, loaded by
#     `clickhouse-client --query 'INSERT … FORMAT JSONEachRow'` into an empty table of the same
#     structure, three times: ClickHouse's own bulk path, rows/s of the median run; the ratio
#     (2)/(3) is printed.
# clickhouse-server runs as the clickhouse user from a copy of /etc/clickhouse-server/config.xml
# with its paths in a temp dir. Each side has the whole machine (oceanus, ClickHouse and Redis
# while loading; clickhouse-client and ClickHouse for the reference); OCEANUS_BENCH_PIN=1 pins
# ClickHouse, Redis and wrk to core 1, oceanus and clickhouse-client to core 0.
# OCEANUS_BENCH_WRITERS=N sets load.writers (default: the sink's, 2).
# OCEANUS_BENCH_QUEUE=spool: the embedded queue instead of Redis (examples/clickhouse.yaml,
# its rules left out): `oceanus run` fills its spool while the sink points at a closed port,
# and a second `oceanus run` on that data dir is timed until its /metrics count every queued
# event as loaded (bench/lib.sh: spool_fill, spool_load).
# Usage: bench/clickhouse_load.sh [DURATION_SECONDS=10] [BATCH_ROWS=20000 (the example's)]
set -euo pipefail
cd "$(dirname "$0")/.."
queue="${OCEANUS_BENCH_QUEUE:-redis}"
duration="${1:-10}"
batch_rows="${2:-20000}"
work=$(mktemp -d /tmp/oceanus-clickhouse-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
source bench/lib.sh

# ClickHouse on free HTTP and native ports (clickhouse-client speaks the native protocol).
ch_http=$(free_port)
ch_tcp=$(free_port)
chmod 755 "$work"  # mktemp makes it 0700: the clickhouse user must reach its dir
mkdir -p "$work/ch/log" "$work/ch/data"
sed -e "s#/var/log/clickhouse-server/#$work/ch/log/#g; s#/var/lib/clickhouse/#$work/ch/data/#g" \
  -e "s#<http_port>8123</http_port>#<http_port>$ch_http</http_port>#" \
  -e "s#<tcp_port>9000</tcp_port>#<tcp_port>$ch_tcp</tcp_port>#" \
  -e '/<interserver_http_port>/d' -e '/<listen_host>::1<\/listen_host>/d' \
  /etc/clickhouse-server/config.xml >"$work/ch/config.xml"
cp /etc/clickhouse-server/users.xml "$work/ch/users.xml"
chown -R clickhouse:clickhouse "$work/ch"
$(pin 1) setpriv --reuid clickhouse --regid clickhouse --init-groups \
  /usr/sbin/clickhouse-server --config-file="$work/ch/config.xml" >"$work/ch/server.out" 2>&1 &
pids+=($!)
wait_port "$ch_http" ping
ch() { curl -sS --fail-with-body "http://127.0.0.1:$ch_http/" --data-binary "$1"; }

if [ "$queue" = spool ]; then
  /usr/bin/python3 - "$batch_rows" "${OCEANUS_BENCH_WRITERS:-2}" >"$work/clickhouse.yaml" <<'PY'
import re, sys
text = open("examples/clickhouse.yaml").read()
text = re.sub(r"(?ms)^rules:\n.*?(?=^\S)", "", text, count=1)
text = re.sub(r"batch_rows: \d+", f"batch_rows: {sys.argv[1]}", text)
text = re.sub(r"batch_bytes: \d+MiB", f"batch_bytes: 64MiB\n  writers: {sys.argv[2]}", text)
text = text.replace("    timeout: 30s", "    compress: ${OCEANUS_BENCH_COMPRESS:-true}\n    timeout: 30s")
print(text.replace("threads: 0 ", "threads: 1 "), end="")
PY
  spool_fill "$work/clickhouse.yaml" OCEANUS_CLICKHOUSE_URL "http://127.0.0.1:$(free_port)"
  spool_load "http://127.0.0.1:$ch_http"
  stream_entries=$stream_len  # the spool holds one event to an entry
else
redis_port=$(free_port)
$(pin 1) redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes \
  --appendfsync everysec --save '' >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export OCEANUS_REDIS="127.0.0.1:$redis_port" OCEANUS_CLICKHOUSE_URL="http://127.0.0.1:$ch_http"

/usr/bin/python3 - "$batch_rows" "${OCEANUS_BENCH_WRITERS:-2}" >"$work/clickhouse.yaml" <<'PY'
import sys
text = open("examples/redis.yaml").read()
old = "sink:\n  type: sqlite\n  path: ${OCEANUS_SQLITE_PATH:-./data/oceanus.db}\n"
assert old in text
text = text.replace(old, "sink:\n  type: clickhouse\n  clickhouse:\n    url: ${OCEANUS_CLICKHOUSE_URL}\n    compress: ${OCEANUS_BENCH_COMPRESS:-true}\n")
text = text.replace("batch_rows: 500", f"batch_rows: {sys.argv[1]}").replace(
    "batch_bytes: 1MiB", f"batch_bytes: 64MiB\n  writers: {sys.argv[2]}")
print(text.replace("threads: 0 ", "threads: 1 "), end="")
PY

collect_port=$(free_port)
$(pin 0) ./build/oceanus collect --config "$work/clickhouse.yaml" --listen "127.0.0.1:$collect_port" \
  --data-dir "$work/collect" --admin-listen off >"$work/collect.log" 2>&1 & pids+=($!)
wait_port "$collect_port" hc
$(pin 1) wrk -t1 -c50 -d"${duration}s" -H "User-Agent: $ua" "http://127.0.0.1:$collect_port/swallow/samplesite?$query" >"$work/wrk-collect.txt"
stream_len=$(redis_events "$redis_port" samplesite)
stream_entries=$(redis-cli -p "$redis_port" xlen samplesite)

# Done when the group `load` has read and acknowledged every entry (bench/lib.sh); the
# distinct eids stored are counted at the end.
start=$(date +%s.%N)
load_admin=$(free_port)
$(pin 0) ./build/oceanus load --config "$work/clickhouse.yaml" --data-dir "$work/load" --admin-listen "127.0.0.1:$load_admin" \
  >"$work/load.log" 2>&1 & pids+=($!)
load_pid=$!
# OCEANUS_BENCH_PERF=FILE: a system-wide profile of the first 5 s of the load (both cores).
if [ -n "${OCEANUS_BENCH_PERF:-}" ]; then
  perf record -a -g -F 499 -o "$OCEANUS_BENCH_PERF" -- sleep 5 >/dev/null 2>&1 &
fi
# Redis is asked only once the loader counts every event loaded.
until progress_sample "$load_admin"; [ "${loaded:-0}" -ge "$stream_len" ] &&
  redis_drained "$redis_port" "$stream_entries"; do sleep 0.1; done
load_seconds=$(echo "$(date +%s.%N) - $start" | bc)
curl -s "http://127.0.0.1:$load_admin/metrics" >"$work/load-metrics.txt"
fi
load_rps=$(echo "$stream_len / $load_seconds" | bc)
distinct=$(ch "SELECT uniqExact(eid) FROM merge('oceanus', '^samplesite_')")
[ "$distinct" -eq "$stream_len" ] || { echo "stored $distinct distinct rows of $stream_len" >&2; exit 1; }
# The loader's own account of where the time went: seconds inside Sink::Write, per batch.
write_sum=$(awk '/^oceanus_sink_write_seconds_sum\{site="samplesite"/ {print $2}' "$work/load-metrics.txt")
write_count=$(awk '/^oceanus_sink_write_seconds_count\{site="samplesite"/ {print $2}' "$work/load-metrics.txt")

# The same rows through ClickHouse's own bulk path, into an empty table of the same structure.
first=$(ch "SELECT name FROM system.tables WHERE database = 'oceanus' AND name LIKE 'samplesite_%' ORDER BY name LIMIT 1")
ch "SELECT * FROM merge('oceanus', '^samplesite_') FORMAT JSONEachRow" >"$work/rows.json"
# Three loads into a fresh table each; the median counts (the reference moved by half
# between single runs).
ref_runs=()
for n in 1 2 3; do
  ch "CREATE TABLE oceanus.bench_reference$n AS oceanus.$first"
  ref_start=$(date +%s.%N)
  $(pin 0) clickhouse-client --port "$ch_tcp" --query "INSERT INTO oceanus.bench_reference$n FORMAT JSONEachRow" <"$work/rows.json"
  ref_runs+=("$(echo "$(date +%s.%N) - $ref_start" | bc)")
  ref_rows=$(ch "SELECT count() FROM oceanus.bench_reference$n")
  [ "$ref_rows" -eq "$stream_len" ] || { echo "reference loaded $ref_rows rows of $stream_len" >&2; exit 1; }
done
ref_seconds=$(printf '%s\n' "${ref_runs[@]}" | sort -n | sed -n 2p)
ref_rps=$(echo "$ref_rows / $ref_seconds" | bc)

echo "rows in the stream                         : $stream_len in $stream_entries entries ($(du -k "$work/rows.json" | cut -f1) KiB as JSONEachRow)"
echo "oceanus load $queue → ClickHouse (batch $batch_rows, ${OCEANUS_BENCH_WRITERS:-2} writers) : $stream_len rows in ${load_seconds}s = $load_rps rows/s (distinct eids $distinct)"
echo "  of which inside Sink::Write           : ${write_sum:-?}s in ${write_count:-?} batches"
echo "clickhouse-client INSERT … JSONEachRow     : $ref_rows rows in ${ref_seconds}s = $ref_rps rows/s (median of ${ref_runs[*]} s)"
steady=$(steady_rate "$stream_len")
echo "  steady (10% to 90% loaded)            : $steady rows/s"
echo "ratio loader / clickhouse-client           : $(awk -v a="$load_rps" -v b="$ref_rps" 'BEGIN{printf "%.2f", a/b}') (steady: $(awk -v a="$steady" -v b="$ref_rps" 'BEGIN{printf "%.2f", a/b}'))"

#!/usr/bin/env bash
# The postgres sink's loading speed against PostgreSQL's own bulk path, in one run (see
# docs/BENCHMARKS.md):
#  1. `oceanus collect` (queue redis) fills the samplesite stream for DURATION seconds (wrk);
#  2. `oceanus load` drains it into a real PostgreSQL 15 (defaults: fsync and synchronous
#     commit on): rows/s from its start until the last row is visible;
#  3. the same rows, dumped to a file with `\copy … TO`, loaded into an empty copy of the table
#     with `psql -c '\copy … FROM'`: PostgreSQL's own bulk load, rows/s.
# The ratio (2)/(3) is the figure of issue 14 (target ≥ 0.5). Each side has the whole
# machine: oceanus, PostgreSQL and Redis while loading, psql and PostgreSQL for the \copy.
# OCEANUS_BENCH_PIN=1 pins instead: oceanus to core 0; PostgreSQL, Redis, wrk and psql to
# core 1 (the loader's side then has one core more than the reference's).
# OCEANUS_BENCH_WRITERS=N sets load.writers (default: the sink's, 2).
# Usage: bench/postgres_load.sh [DURATION=10] [BATCH_ROWS=5000 (load.batch_rows)] [LOADERS=1] [BATCH_BYTES=16MiB]
# (LOADERS `oceanus load` processes share the consumer group, all on core 0.)
# OCEANUS_BENCH_QUEUE=spool: the embedded queue instead (no Redis; LOADERS is 1): (1) is
# `oceanus run` filling its spool while its sink points at a closed port, and (2) a second
# `oceanus run` on that data dir with the real URL, timed until its /metrics count every
# queued event as loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
batch_rows="${2:-5000}"
loaders="${3:-1}"
batch_bytes="${4:-16MiB}"
work=$(mktemp -d /tmp/oceanus-pg-bench.XXXXXX)
pids=()
pg_bin=/usr/lib/postgresql/15/bin
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh

# PostgreSQL as the postgres user, data and socket in $work.
chown postgres: "$work"
pg_port=$(free_port)
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C >"$work/initdb.log"
$(pin 1) runuser -u postgres -- "$pg_bin/postgres" -D "$work/pg" -k "$work" -h 127.0.0.1 -p "$pg_port" \
  >"$work/postgres.log" 2>&1 & pids+=($!)
for _ in $(seq 200); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.05; done
psql_() { $(pin 1) "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres "$@"; }

count() {
  local q
  q=$(psql_ -c "SELECT string_agg(format('SELECT count(*) AS n FROM %I', relname), ' UNION ALL ') FROM pg_class WHERE relkind = 'r' AND relname ~ '^samplesite_[0-9]{8}$'")
  if [ -z "$q" ]; then echo 0; else psql_ -c "SELECT sum(n) FROM ($q) t"; fi
}

queue="${OCEANUS_BENCH_QUEUE:-redis}"
if [ "$queue" = spool ]; then
  config=$(/usr/bin/python3 -c "import sys; sys.path.insert(0, 'tests/integration')
from postgres_server import postgres_config; print(postgres_config('$work', replacements=[]))")
  # Its rules would run on the loader's core too; the redis variant leaves them out as well.
  /usr/bin/python3 - "$config" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r"(?ms)^rules:\n.*?(?=^\S)", "", text, count=1))
PY
  sed -i -e 's/threads: 0 .*/threads: 1/' -e "s/batch_rows: [0-9]*/batch_rows: $batch_rows/" \
    -e "s/batch_bytes: [0-9]*MiB/batch_bytes: $batch_bytes\n  writers: ${OCEANUS_BENCH_WRITERS:-2}/" "$config"
  spool_fill "$config" OCEANUS_POSTGRES_URL "postgresql://postgres@127.0.0.1:$(free_port)/postgres"
  spool_load "postgresql://postgres@127.0.0.1:$pg_port/postgres"
  loaders=1
fi

if [ "$queue" = redis ]; then
redis_port=$(free_port)
$(pin 1) redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes \
  --appendfsync everysec --save '' >"$work/redis.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export OCEANUS_REDIS="127.0.0.1:$redis_port" OCEANUS_POSTGRES_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"

# examples/postgres.yaml on the redis queue (tests/integration/postgres_server.py builds it).
config=$(/usr/bin/python3 -c "import sys; sys.path.insert(0, 'tests/integration')
from postgres_server import postgres_config; print(postgres_config('$work', redis=True, replacements=[]))")
sed -i -e 's/threads: 0 .*/threads: 1/' -e "s/batch_rows: [0-9]*/batch_rows: $batch_rows/" \
  -e "s/batch_bytes: [0-9]*MiB/batch_bytes: $batch_bytes\n  writers: ${OCEANUS_BENCH_WRITERS:-2}/" "$config"

collect_port=$(free_port)
$(pin 0) ./build/oceanus collect --config "$config" --listen "127.0.0.1:$collect_port" \
  --data-dir "$work/collect" --admin-listen off >"$work/collect.log" 2>&1 & pids+=($!)
collect_pid=$!
wait_port "$collect_port" hc
$(pin 1) wrk -t1 -c50 -d"${duration}s" -H "User-Agent: $ua" "http://127.0.0.1:$collect_port/swallow/samplesite?$query" >/dev/null
kill "$collect_pid"; wait "$collect_pid" 2>/dev/null || true
stream_len=$(redis_events "$redis_port" samplesite)
stream_entries=$(redis-cli -p "$redis_port" xlen samplesite)

# Done when the group `load` has read and acknowledged every entry (bench/lib.sh); the rows
# are counted once at the end.
start=$(date +%s.%N)
load_pids=()
for n in $(seq "$loaders"); do
  $(pin 0) ./build/oceanus load --config "$config" --data-dir "$work/load$n" --admin-listen off \
    >"$work/load$n.log" 2>&1 & pids+=($!)
  load_pids+=($!)
done
# OCEANUS_BENCH_PERF=FILE: a system-wide perf profile of the first 5 s of loading.
if [ -n "${OCEANUS_BENCH_PERF:-}" ]; then perf record -q -a -g -o "$OCEANUS_BENCH_PERF" -- sleep 5 >/dev/null 2>&1 & fi
until redis_drained "$redis_port" "$stream_entries"; do sleep 0.2; done
load_seconds=$(echo "$(date +%s.%N) - $start" | bc)
kill "${load_pids[@]}"; wait "${load_pids[@]}" 2>/dev/null || true
fi
loaded=$(count)
[ "$loaded" -eq "$stream_len" ] || { echo "stored $loaded rows of $stream_len" >&2; exit 1; }
load_rps=$(echo "$stream_len / $load_seconds" | bc)

# PostgreSQL's own bulk path for the same rows (one daily table, or several around midnight).
tables=$(psql_ -c "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^samplesite_[0-9]{8}$' ORDER BY 1")
first=$(echo "$tables" | head -1)
: >"$work/rows.copy"
chmod 666 "$work/rows.copy"
for t in $tables; do psql_ -c "\\copy \"$t\" TO STDOUT" >>"$work/rows.copy"; done
psql_ -c "CREATE TABLE bulk_reference (LIKE \"$first\" INCLUDING ALL)"
start=$(date +%s.%N)
psql_ -c "\\copy bulk_reference FROM '$work/rows.copy'"
copy_seconds=$(echo "$(date +%s.%N) - $start" | bc)
copied=$(psql_ -c "SELECT count(*) FROM bulk_reference")
copy_rps=$(echo "$copied / $copy_seconds" | bc)

echo "machine                                 : $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), $(nproc) cores"
echo "queue filled by oceanus $( [ "$queue" = spool ] && echo "run    " || echo collect)       : $stream_len events in ${duration}s"
echo "oceanus load $queue → PostgreSQL          : $loaders loader(s) × ${OCEANUS_BENCH_WRITERS:-2} writers, batches $batch_rows rows / $batch_bytes, $stream_len rows in ${load_seconds}s = $load_rps rows/s"
echo "psql \\copy of the same rows            : $copied rows in ${copy_seconds}s = $copy_rps rows/s"
echo "ratio loader / \\copy                     : $(awk -v a="$load_rps" -v b="$copy_rps" 'BEGIN{printf "%.2f", a/b}')"

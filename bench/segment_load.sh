#!/usr/bin/env bash
# The segment API's /v1/batch under wrk, every message queued (see docs/BENCHMARKS.md):
#  1. the reference, in the same run on the same core: BM_SegmentBatchParseOnly, a RapidJSON
#     DOM parse of the same 100-message body and nothing else (bench/segment_bench.cpp);
#  2. oceanus with one I/O thread on core 0 takes POST /v1/batch bodies of 100
#     `track` messages of ~300 bytes (bench/segment_batch.lua, a messageId of its own for
#     every message) from wrk on core 1 for DURATION seconds, answering each batch only once
#     its messages are queued. Queue: the embedded spool (durability os; `oceanus run`, its
#     loader pointed at a closed port and its rules left out), or with
#     OCEANUS_BENCH_QUEUE=redis `oceanus collect` and a Redis on core 1 (AOF, everysec).
# Prints events/s and batches/s, oceanus's CPU seconds and events per CPU second (the
# "per core" figure, whether or not the core was saturated), the ratio to the parse-only
# rate, and fails unless every message of every answered batch is in the queue.
#
#   bench/segment_load.sh [DURATION_SECONDS=10] [CONNECTIONS=8]
#   OCEANUS_BENCH_PERF=/tmp/seg.perf …   # + a 5 s perf profile of oceanus
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-8}"
mode="${OCEANUS_BENCH_QUEUE:-spool}"
work=$(mktemp -d /tmp/oceanus-segment-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${OCEANUS_BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh

# cpu_seconds PID: user + system CPU time the process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

# --- the reference: parse only, same body, same core ------------------------------------
parse_eps=$(taskset -c 0 ./build/bench/oceanus_bench --benchmark_filter='^BM_SegmentBatchParseOnly$' \
  --benchmark_min_time=2 --benchmark_format=json 2>/dev/null |
  python3 -c 'import json,sys; print(int(json.load(sys.stdin)["benchmarks"][0]["items_per_second"]))')

# --- oceanus collect ----------------------------------------------------------------------
export OCEANUS_SEGMENT_WRITE_KEY=bench-key
port=$(free_port) admin=$(free_port)
if [ "$mode" = redis ]; then
  redis_port=$(free_port)
  taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes \
    --appendfsync everysec --save '' >"$work/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  export OCEANUS_REDIS="127.0.0.1:$redis_port"
  sed -e 's/threads: 0 .*/threads: 1/' examples/redis.yaml >"$work/oceanus.yaml"
  role=collect
else
  # The spool lives inside `oceanus run`: its loader points at a closed port (it backs off and
  # loads nothing) and its rules are left out, so the core does what `collect` would.
  /usr/bin/python3 - >"$work/oceanus.yaml" <<'PY'
import re
text = open("examples/postgres.yaml").read()
text = re.sub(r"(?ms)^rules:\n.*?(?=^\S)", "", text, count=1)
print(text.replace("threads: 0 ", "threads: 1 "), end="")
PY
  export OCEANUS_POSTGRES_URL="postgresql://postgres@127.0.0.1:$(free_port)/postgres"
  role=run
fi
taskset -c 0 ./build/oceanus "$role" --config "$work/oceanus.yaml" --listen "127.0.0.1:$port" \
  --data-dir "$work/data" --admin-listen "127.0.0.1:$admin" >"$work/oceanus.log" 2>&1 &
pids+=($!)
oceanus_pid=$!
wait_port "$port" hc
cpu_before=$(cpu_seconds "$oceanus_pid")
if [ -n "${OCEANUS_BENCH_PERF:-}" ]; then
  perf record -q -g -p "$oceanus_pid" -o "$OCEANUS_BENCH_PERF" -- sleep 5 >/dev/null 2>&1 &
fi
OCEANUS_BENCH_AUTH="Basic $(printf 'bench-key:' | base64)" taskset -c 1 wrk -t1 -c"$connections" \
  -d"${duration}s" -s bench/segment_batch.lua "http://127.0.0.1:$port/" >"$work/wrk.txt"
cpu_after=$(cpu_seconds "$oceanus_pid")

batches_ps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
answered=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt"); non2xx=${non2xx:-0}
if [ "$mode" = redis ]; then
  queued=$(redis_events "$redis_port" sampleapp)
else
  queued=$(curl -s "http://127.0.0.1:$admin/metrics" |
    awk '$1 == "oceanus_events_queued_total{site=\"sampleapp\"}" {print $2}')
fi
cpu=$(echo "$cpu_after - $cpu_before" | bc)
events=$((answered * 100))
eps=$(echo "$batches_ps * 100 / 1" | bc)
per_cpu=$(echo "$events / $cpu" | bc)

echo "machine                                : $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) cores"
echo "reference: RapidJSON parse of the body : $parse_eps messages/s (core 0)"
echo "oceanus $role, queue $mode (core 0)$( [ "$role" = run ] && echo "    " || echo "") : $batches_ps batches/s = $eps events/s (non-2xx: $non2xx)"
echo "oceanus CPU                            : ${cpu}s for $events events = $per_cpu events per CPU second"
echo "ratio to the parse-only reference      : $(awk -v a="$eps" -v b="$parse_eps" 'BEGIN{printf "%.3f", a/b}')"
echo "answered $answered batches = $events messages, queued $queued"
# wrk counts the batches it saw answered; those it cut off at the end may be queued too.
[ "$non2xx" = 0 ] && [ "$queued" -ge "$events" ] && [ "$queued" -le $((events + connections * 100)) ] ||
  { echo "NOT EVERY ANSWERED MESSAGE WAS QUEUED (or more than were sent)" >&2; exit 1; }

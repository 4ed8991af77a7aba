#!/usr/bin/env bash
# The redis queue's numbers, all in one run (see docs/BENCHMARKS.md):
#  1. redis-benchmark -P 64 XADD of a 400-byte record: the bound Redis itself sets;
#  2. nginx empty_gif and `oceanus collect` (queue redis) with wrk, both pinned to core 0;
#  3. `oceanus load` draining the stream that (2) filled into SQLite: rows/s;
#  4. end-to-end lag (collector received → row visible in SQLite) at a fixed 5,000 events/s
#     with collect and load running and default batching.
# Redis and wrk share core 1.  Usage: bench/redis_load.sh [DURATION_SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
work=$(mktemp -d /tmp/oceanus-redis-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
source bench/lib.sh
prefault_free_memory

redis_port=$(free_port)
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes \
  --appendfsync everysec --save '' >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export OCEANUS_REDIS="127.0.0.1:$redis_port" OCEANUS_SQLITE_PATH="$work/warehouse.db"

payload=$(head -c 400 /dev/zero | tr '\0' 'x')
xadd_rps=$(taskset -c 1 redis-benchmark -p "$redis_port" -P 64 -n 500000 -q xadd benchstream '*' d "$payload" |
  awk '{for (i=1;i<=NF;i++) if ($i ~ /^[0-9.]+$/ && $(i+1) ~ /requests/) print $i}' | tail -1)
redis-cli -p "$redis_port" del benchstream >/dev/null

busy() {  # ticks → share of one core over the run
  awk -v t="$1" -v d="$duration" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%d%%", t / hz / d * 100}'
}

start_nginx 0
nginx_worker=$(pgrep -P "${pids[-1]}" | head -1)
before=$(cpu_ticks "$nginx_worker")
taskset -c 1 wrk -t1 -c50 -d"${duration}s" -H "User-Agent: $ua" "http://127.0.0.1:$nginx_port/swallow/samplesite?$query" >"$work/wrk-nginx.txt"
nginx_ticks=$(( $(cpu_ticks "$nginx_worker") - before ))
nginx_rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-nginx.txt")
nginx_cpu=$(per_million "$nginx_ticks" "$(awk '/requests in/ {print $1}' "$work/wrk-nginx.txt")")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

sed -e 's/threads: 0 .*/threads: 1/' examples/redis.yaml >"$work/redis.yaml"
collect_port=$(free_port)
taskset -c 0 ./build/oceanus collect --config "$work/redis.yaml" --listen "127.0.0.1:$collect_port" \
  --data-dir "$work/collect" --admin-listen off >"$work/collect.log" 2>&1 & pids+=($!)
collect_pid=$!
wait_port "$collect_port" hc
before=$(cpu_ticks "$collect_pid")
# OCEANUS_BENCH_PERF=FILE: a perf profile (call graphs) of the collector for 5 s of its run.
if [ -n "${OCEANUS_BENCH_PERF:-}" ]; then
  (sleep 2; perf record -q -g -p "$collect_pid" -o "$OCEANUS_BENCH_PERF" -- sleep 5 >/dev/null 2>&1) &
fi
taskset -c 1 wrk -t1 -c50 -d"${duration}s" -H "User-Agent: $ua" "http://127.0.0.1:$collect_port/swallow/samplesite?$query" >"$work/wrk-collect.txt"
collect_rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-collect.txt")
answered=$(awk '/requests in/ {print $1}' "$work/wrk-collect.txt")
stream_len=$(redis_events "$redis_port" samplesite)
collect_ticks=$(( $(cpu_ticks "$collect_pid") - before ))
collect_cpu=$(per_million "$collect_ticks" "$answered")

start=$(date +%s.%N)
taskset -c 0 ./build/oceanus load --config "$work/redis.yaml" --data-dir "$work/load" --admin-listen off \
  >"$work/load.log" 2>&1 & pids+=($!)
load_pid=$!
while [ "$(count_rows "$work/warehouse.db")" -lt "$stream_len" ]; do sleep 0.2; done
load_seconds=$(echo "$(date +%s.%N) - $start" | bc)
load_rps=$(echo "$stream_len / $load_seconds" | bc)

# Lag at a fixed rate, collect and load both running.
lag_seconds=20
/usr/bin/python3 bench/lag.py "$work/warehouse.db" $((lag_seconds + 3)) >"$work/lag.txt" &
lag_pid=$!
OCEANUS_BENCH_INTERVAL_MS=10 taskset -c 1 wrk -t1 -c56 -d"${lag_seconds}s" -s bench/fixed_rate.lua \
  "http://127.0.0.1:$collect_port/" >"$work/wrk-rate.txt"
wait "$lag_pid"
rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-rate.txt")

echo "redis-benchmark -P 64 XADD (400 B)     : $xadd_rps req/s"
echo "nginx empty_gif + access_log (core 0)  : $nginx_rps req/s"
echo "oceanus collect → redis (core 0)       : $collect_rps req/s  ratio to nginx $(awk -v a="$collect_rps" -v b="$nginx_rps" 'BEGIN{printf "%.2f", a/b}')"
echo "answered $answered, stream length $stream_len"
echo "CPU-seconds per million requests      : nginx $nginx_cpu ($(busy "$nginx_ticks") of core 0), collect $collect_cpu ($(busy "$collect_ticks") of core 0)"
echo "oceanus load redis → SQLite            : $stream_len rows in ${load_seconds}s = $load_rps rows/s"
echo "lag at $rate events/s offered          : $(cat "$work/lag.txt")"

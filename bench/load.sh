#!/usr/bin/env bash
# Beacon throughput: oceanus (embedded default: spool + SQLite) against nginx serving a GIF
# with empty_gif and an access log, both pinned to the same core, wrk pinned to the other.
# Prints both rates, their ratio, and checks that every answered beacon was stored.
#
#   bench/load.sh [DURATION_SECONDS=10] [CONNECTIONS=50]
#   OCEANUS_BENCH_PERF=/tmp/load.perf bench/load.sh   # + a 5 s perf profile of oceanus
#   OCEANUS_BENCH_DURABILITY=fsync bench/load.sh      # answers after fdatasync (group commit)
#   OCEANUS_BENCH_BACKGROUND=idle bench/load.sh       # server.background_priority: idle
#   OCEANUS_BENCH_RATE_SHARE=0.25 bench/load.sh       # the fixed rate: a quarter of nginx's peak
#
# Then the latency at half nginx's peak rate (or OCEANUS_BENCH_RATE_SHARE of it), for both,
# from build/bench/open_loop.
#
# Needs: build/oceanus, build/bench/open_loop, nginx (nginx-light), wrk, sqlite3 (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-50}"
server_core=0
client_core=1

work=$(mktemp -d /tmp/oceanus-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

source bench/lib.sh
prefault_free_memory

# fixed_rate PORT NAME: half nginx's peak rate (OCEANUS_BENCH_RATE_SHARE) offered by build/bench/open_loop (evenly
# spaced, latency from when each request was due, 64 connections); prints the p99 latency,
# full output in $work/fixed-NAME.txt.
fixed_rate() {
  sync  # the dirty pages of the run before are written back now, not during this one
  local rate=$(awk -v r="$nginx_rps" -v f="${OCEANUS_BENCH_RATE_SHARE:-0.5}" 'BEGIN {printf "%d", r * f}')
  taskset -c "$client_core" ./build/bench/open_loop "$1" "$rate" "$duration" 64 \
    "/swallow/samplesite?$query" "$ua" >"$work/fixed-$2.txt" || true
  awk '{for (i = 1; i < NF; i++) if ($i == "p99") print $(i + 1)}' "$work/fixed-$2.txt"
}
fixed_rps() { awk '{for (i = 1; i < NF; i++) if ($i == "rate") print $(i + 1)}' "$work/fixed-$1.txt"; }

run_wrk() {  # url → requests/s on stdout, full output in $work/wrk-$2.txt
  taskset -c "$client_core" wrk -t1 -c"$connections" -d"${duration}s" -H "User-Agent: $ua" "$1" >"$work/wrk-$2.txt"
  awk '/Requests\/sec/ {print $2}' "$work/wrk-$2.txt"
}

# --- nginx: empty_gif with an access log, one worker on the server core -------------------
start_nginx "$server_core"
nginx_worker=$(pgrep -P "${pids[-1]}" | head -1)
before=$(cpu_ticks "$nginx_worker")
sync  # what earlier runs wrote is on disk before measuring starts (writeback takes a core)
nginx_rps=$(run_wrk "http://127.0.0.1:$nginx_port/swallow/samplesite?$query" nginx)
nginx_cpu=$(per_million $(( $(cpu_ticks "$nginx_worker") - before )) \
  "$(awk '/requests in/ {print $1}' "$work/wrk-nginx.txt")")
nginx_p99=$(fixed_rate "$nginx_port" nginx)
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# --- oceanus: one I/O thread, loader included, all on the server core --------------------
oceanus_port=$(free_port)
durability="${OCEANUS_BENCH_DURABILITY:-os}"
background="${OCEANUS_BENCH_BACKGROUND:-nice}"
sed -e "s/threads: 0 .*/threads: 1\n  background_priority: $background/" \
  -e "s/durability: os /durability: $durability /" \
  examples/oceanus.yaml >"$work/oceanus.yaml"
taskset -c "$server_core" ./build/oceanus run --config "$work/oceanus.yaml" \
  --listen "127.0.0.1:$oceanus_port" --data-dir "$work/data" >"$work/oceanus.log" 2>&1 &
pids+=($!)
wait_port "$oceanus_port" hc
# OCEANUS_BENCH_PERF=FILE: a perf profile (call graphs) of oceanus for 5 s of the run.
if [ -n "${OCEANUS_BENCH_PERF:-}" ]; then
  (sleep 2; perf record -q -g -p "${pids[-1]}" -o "$OCEANUS_BENCH_PERF" -- sleep 5 >/dev/null 2>&1) &
fi
sync
before=$(cpu_ticks "${pids[-1]}")
oceanus_rps=$(run_wrk "http://127.0.0.1:$oceanus_port/swallow/samplesite?$query" oceanus)
answered=$(awk '/requests in/ {print $1}' "$work/wrk-oceanus.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk-oceanus.txt"); non2xx=${non2xx:-0}

# Every answered beacon must end up stored: wait for the loader to catch up.
start=$(date +%s)
stored=0
while :; do
  stored=$(count_rows "$work/data/oceanus.db")
  [ "$stored" -ge "$answered" ] && break
  [ $(( $(date +%s) - start )) -gt 120 ] && break
  sleep 0.5
done
catch_up=$(( $(date +%s) - start ))
# Every event stored: the CPU of answering, queueing and loading them all.
oceanus_cpu=$(per_million $(( $(cpu_ticks "${pids[-1]}") - before )) "$stored")
oceanus_p99=$(fixed_rate "$oceanus_port" oceanus)
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" || true

ratio=$(awk -v a="$oceanus_rps" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a/b}')
echo "wrk -t1 -c$connections -d${duration}s, server on core $server_core, wrk on core $client_core"
echo "nginx empty_gif + access_log : $nginx_rps req/s"
echo "oceanus /swallow (spool+SQLite, durability $durability): $oceanus_rps req/s  (non-2xx: $non2xx)"
echo "ratio oceanus/nginx           : $ratio"
echo "answered $answered, stored $stored (loader caught up ${catch_up}s after wrk ended)"
echo "CPU-seconds per million: nginx $nginx_cpu (requests), oceanus $oceanus_cpu (stored events)"
echo "p99 latency at ${OCEANUS_BENCH_RATE_SHARE:-0.5} of nginx's peak: nginx $nginx_p99 ($(fixed_rps nginx) req/s), oceanus $oceanus_p99 ($(fixed_rps oceanus) req/s)"
[ "$stored" -ge "$answered" ] || { echo "NOT ALL ANSWERED EVENTS WERE STORED" >&2; exit 1; }

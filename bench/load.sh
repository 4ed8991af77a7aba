#!/usr/bin/env bash
# Beacon throughput: oceanus (embedded default: spool + SQLite) against nginx serving a GIF
# with empty_gif and an access log, both pinned to the same core, wrk pinned to the other.
# Prints both rates, their ratio, and checks that every answered beacon was stored.
#
#   bench/load.sh [DURATION_SECONDS=10] [CONNECTIONS=50]
#   OCEANUS_BENCH_PERF=/tmp/load.perf bench/load.sh   # + a 5 s perf profile of oceanus
#
# Needs: build/oceanus, nginx (nginx-light), wrk, sqlite3 (scripts/install-deps.sh).
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

run_wrk() {  # url → requests/s on stdout, full output in $work/wrk-$2.txt
  taskset -c "$client_core" wrk -t1 -c"$connections" -d"${duration}s" -H "User-Agent: $ua" "$1" >"$work/wrk-$2.txt"
  awk '/Requests\/sec/ {print $2}' "$work/wrk-$2.txt"
}

# --- nginx: empty_gif with an access log, one worker on the server core -------------------
start_nginx "$server_core"
nginx_rps=$(run_wrk "http://127.0.0.1:$nginx_port/swallow/samplesite?$query" nginx)
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# --- oceanus: one I/O thread, loader included, all on the server core --------------------
oceanus_port=$(free_port)
sed -e 's/threads: 0 .*/threads: 1/' examples/oceanus.yaml >"$work/oceanus.yaml"
taskset -c "$server_core" ./build/oceanus run --config "$work/oceanus.yaml" \
  --listen "127.0.0.1:$oceanus_port" --data-dir "$work/data" >"$work/oceanus.log" 2>&1 &
pids+=($!)
wait_port "$oceanus_port" hc
# OCEANUS_BENCH_PERF=FILE: a perf profile (call graphs) of oceanus for 5 s of the run.
if [ -n "${OCEANUS_BENCH_PERF:-}" ]; then
  (sleep 2; perf record -q -g -p "${pids[-1]}" -o "$OCEANUS_BENCH_PERF" -- sleep 5 >/dev/null 2>&1) &
fi
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
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" || true

ratio=$(awk -v a="$oceanus_rps" -v b="$nginx_rps" 'BEGIN {printf "%.2f", a/b}')
echo "wrk -t1 -c$connections -d${duration}s, server on core $server_core, wrk on core $client_core"
echo "nginx empty_gif + access_log : $nginx_rps req/s"
echo "oceanus /swallow (spool+SQLite): $oceanus_rps req/s  (non-2xx: $non2xx)"
echo "ratio oceanus/nginx           : $ratio"
echo "answered $answered, stored $stored (loader caught up ${catch_up}s after wrk ended)"
[ "$stored" -ge "$answered" ] || { echo "NOT ALL ANSWERED EVENTS WERE STORED" >&2; exit 1; }

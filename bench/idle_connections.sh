#!/usr/bin/env bash
# Memory per idle keep-alive connection: oceanus `run` (embedded default, one I/O thread)
# against nginx (one worker) serving empty_gif with an access log. For each server: its RSS
# after one warm-up request (the base), then with N connections open that have each sent one
# beacon, had it answered, and sit idle. Prints both RSS figures and the bytes per
# connection above the base.
#
#   bench/idle_connections.sh [CONNECTIONS=10000]
#
# Needs: build/oceanus, nginx, python3; root (or a hard open-files limit above N) since the
# client and both servers hold N descriptors.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
ulimit -Hn $((count + 1024)) 2>/dev/null || true
if ! ulimit -n $((count + 1024)) 2>/dev/null; then
  echo "the open-files hard limit is $(ulimit -Hn) and cannot be raised here (no CAP_SYS_RESOURCE):" \
    "at most $(( $(ulimit -Hn) - 1024 )) connections can be measured" >&2
  exit 2
fi

work=$(mktemp -d /tmp/oceanus-idle.XXXXXX)
pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
source bench/lib.sh

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# hold PORT PID: base RSS, RSS with $count idle connections; sets base and loaded (KiB).
hold() {
  curl -s -o /dev/null -A "$ua" "http://127.0.0.1:$1/swallow/samplesite?$query"
  base=$(rss_kb "$2")
  rm -f "$work/fifo"; mkfifo "$work/fifo"
  python3 bench/idle_clients.py "$1" "$count" "/swallow/samplesite?$query" "$ua" \
    <"$work/fifo" >"$work/clients.out" &
  local client=$!
  exec 3>"$work/fifo"
  while ! grep -q ready "$work/clients.out" 2>/dev/null; do
    kill -0 "$client" 2>/dev/null || { echo "client failed: $(cat "$work/clients.out")" >&2; exit 1; }
    sleep 0.2
  done
  # Idle connections give their buffers back after a second or two, and the allocator returns
  # freed pages to the kernel over some seconds more: the RSS once it has stopped falling
  # (three samples a second apart within 1 %), 30 s at most.
  loaded=$(rss_kb "$2")
  local steady=0
  for _ in $(seq 30); do
    sleep 1
    local now=$(rss_kb "$2")
    if [ $((now * 100)) -ge $((loaded * 99)) ]; then steady=$((steady + 1)); else steady=0; fi
    [ "$now" -lt "$loaded" ] && loaded=$now
    [ "$steady" -ge 3 ] && break
  done
  answered=$(awk '{print $4}' "$work/clients.out")
  exec 3>&-
  wait "$client"
}

# --- nginx --------------------------------------------------------------------------------
NGINX_CONNECTIONS=$((count + 512)) start_nginx 0
nginx_worker=$(pgrep -P "${pids[-1]}" | head -1)
hold "$nginx_port" "$nginx_worker"
nginx_base=$base nginx_loaded=$loaded nginx_answered=$answered
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# --- oceanus --------------------------------------------------------------------------------
port=$(free_port)
sed -e 's/threads: 0 .*/threads: 1/' -e "s/max_connections: .*/max_connections: $((count + 100))/" \
  -e 's/idle_timeout: .*/idle_timeout: 600s/' examples/oceanus.yaml >"$work/oceanus.yaml"
taskset -c 0 ./build/oceanus run --config "$work/oceanus.yaml" --listen "127.0.0.1:$port" \
  --data-dir "$work/data" >"$work/oceanus.log" 2>&1 &
pids+=($!)
wait_port "$port" hc
hold "$port" "${pids[-1]}"
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" || true

per() { awk -v a="$1" -v b="$2" -v n="$count" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}'; }
echo "$count idle keep-alive connections, one beacon answered on each"
echo "nginx   : RSS $((nginx_base / 1024)) MiB base, $((nginx_loaded / 1024)) MiB loaded, $(per "$nginx_base" "$nginx_loaded") bytes/connection (answered $nginx_answered)"
echo "oceanus : RSS $((base / 1024)) MiB base, $((loaded / 1024)) MiB loaded, $(per "$base" "$loaded") bytes/connection (answered $answered)"

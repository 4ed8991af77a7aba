# Shared pieces of the load scripts: ports, the beacon request, and the nginx reference.
# Sourced by the bench/*.sh scripts; expects $work and the pids array.

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/$2" && return 0; sleep 0.05; done; echo "port $1 never answered" >&2; return 1; }

# prefault_free_memory: touches (and frees) most of the free memory once, in one pass.
# On a virtual machine whose memory the host backs lazily (these Firecracker machines), the
# first touch of every guest page traps to the host: a freshly booted machine then bills the
# page cache's fresh pages (the spool, SQLite, nginx's log) at ~15 µs each, 13 % of oceanus's
# samples in one run and none once the memory had been touched (docs/BENCHMARKS.md). A
# long-running server pays that once; a benchmark should not measure it. 4 GiB: more than one
# run writes, and what is freed is what the kernel hands out next.
# OCEANUS_BENCH_PREFAULT=0 skips it.
prefault_free_memory() {
  [ "${OCEANUS_BENCH_PREFAULT:-1}" = 0 ] && return 0
  /usr/bin/python3 - <<'PY'
import mmap
free_kib = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemAvailable:"):
        free_kib = int(line.split()[1])
size = min(free_kib * 1024 - (2 << 30), 4 << 30) // 4096 * 4096
if size > 0:
    mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE).close()
PY
}

# The original's page-view beacon, as the tracker sends it.
query='oid=2&sid=0123456789abcdef&evt=pageview&url=https%3A%2F%2Fexample.jp%2Fproducts%2F42&tit=Product%2042&ref=https%3A%2F%2Fwww.google.com%2F&scr=1920x1080&vie=1280x720'
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

# start_nginx CORE: nginx (one worker, pinned) serving empty_gif with an access log — the
# reference every ratio is quoted against. Sets nginx_port; the pid goes into pids.
# NGINX_CONNECTIONS: its worker_connections (4096 unless set).
start_nginx() {
  nginx_port=$(free_port)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile ${NGINX_CONNECTIONS:-4096};
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections ${NGINX_CONNECTIONS:-4096}; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nginx_port; location / { empty_gif; } }
}
CONF
  taskset -c "$1" nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
  pids+=($!)
  wait_port "$nginx_port" swallow
}

# count_rows DB: rows in all samplesite tables.
count_rows() {
  sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'samplesite_%'" 2>/dev/null |
    while read -r t; do sqlite3 "$1" "SELECT count(*) FROM \"$t\""; done | awk '{s+=$1} END {print s+0}'
}

# The embedded queue filled, then drained (the sink benchmarks' OCEANUS_BENCH_QUEUE=spool).
# spool_fill CONFIG URL_VAR DEAD_URL: `oceanus run` on CONFIG takes wrk's beacons for
# $duration seconds into its spool while its sink (URL from the environment variable URL_VAR)
# points at DEAD_URL, a closed port, so nothing is loaded; sets stream_len (events queued).
# spool_load URL: a second `oceanus run` on that data dir with the real URL; sets
# load_seconds once its /metrics count every queued event as loaded. Uses $(pin N) when set.
# Through bash's /dev/tcp rather than curl: polled every 0.2 s, curl's start-up alone took
# several percent of the CPU the measured processes share.
spool_metric() {
  local line
  { exec 9<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0  # not listening yet
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&9
  # Read in bash itself: no process started per poll.
  while IFS= read -r line <&9; do
    # As an integer: the exposition format may write 300000 as 3e+05.
    if [[ $line == "$2{site=\"samplesite\"} "* ]]; then printf '%.0f\n' "${line##* }"; fi
  done
  exec 9<&-
}
spool_run() {
  spool_admin=$(free_port)
  env "$spool_url_var=$1" $(pin 0) ./build/oceanus run --config "$spool_config" \
    --listen "127.0.0.1:$spool_port" --data-dir "$work/run" --admin-listen "127.0.0.1:$spool_admin" \
    >>"$work/run.log" 2>&1 & pids+=($!)
  spool_pid=$!
}
spool_fill() {
  spool_config=$1 spool_url_var=$2 spool_port=$(free_port)
  spool_run "$3"
  wait_port "$spool_port" hc
  $(pin 1) wrk -t1 -c50 -d"${duration}s" -H "User-Agent: $ua" "http://127.0.0.1:$spool_port/swallow/samplesite?$query" >/dev/null
  # Requests wrk had in flight when it stopped may still be counted: wait until the count holds.
  local again
  stream_len=$(spool_metric "$spool_admin" oceanus_events_queued_total)
  while sleep 0.3; again=$(spool_metric "$spool_admin" oceanus_events_queued_total)
    [ "$again" != "$stream_len" ]; do stream_len=$again; done
  kill "$spool_pid"; wait "$spool_pid" 2>/dev/null || true
}
spool_load() {
  local start
  start=$(date +%s.%N)
  spool_run "$1"
  if [ -n "${OCEANUS_BENCH_PERF:-}" ]; then perf record -q -a -g -o "$OCEANUS_BENCH_PERF" -- sleep 5 >/dev/null 2>&1 & fi
  local loaded
  until progress_sample "$spool_admin"; [ "${loaded:-0}" -ge "$stream_len" ]; do sleep 0.1; done
  load_seconds=$(echo "$(date +%s.%N) - $start" | bc)
  curl -s "http://127.0.0.1:$spool_admin/metrics" >"$work/load-metrics.txt"
  kill "$spool_pid"; wait "$spool_pid" 2>/dev/null || true
}
# progress_sample ADMIN_PORT: sets $loaded (the loader's oceanus_events_loaded_total for
# samplesite) and appends "<time> <loaded>" to $work/progress.txt.
progress_sample() {
  loaded=$(spool_metric "$1" oceanus_events_loaded_total)
  echo "$EPOCHREALTIME $loaded" >>"$work/progress.txt"
}
# steady_rate TOTAL: events/s from the first sample with at least 10% of TOTAL loaded to the
# last with at most 90%: the loader's rate without its start (tables, connections) and
# without the last, partial batch, which waits load.max_wait for events that do not come.
steady_rate() {
  awk -v total="$1" '$2 == "" {next}
    $2 >= 0.1 * total && !seen {seen = 1; t0 = $1; n0 = $2}
    seen && $2 <= 0.9 * total {t1 = $1; n1 = $2}
    END {if (t1 > t0) printf "%d", (n1 - n0) / (t1 - t0); else print 0}' "$work/progress.txt"
}
# pin CORE: the taskset prefix of the pinned layout (OCEANUS_BENCH_PIN=1), nothing otherwise.
pin() { if [ "${OCEANUS_BENCH_PIN:-0}" = 1 ]; then echo taskset -c "$1"; fi; }

# redis_events PORT KEY: the events in stream KEY. A collector packs the events it sends
# together into one entry (a "d" field each), so XLEN counts entries, not events.
redis_events() {
  redis-cli -p "$1" eval "
    local n, from = 0, '-'
    while true do
      local batch = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 10000)
      if #batch == 0 then return n end
      for _, e in ipairs(batch) do
        for i = 1, #e[2], 2 do if e[2][i] == 'd' then n = n + 1 end end
      end
      from = '(' .. batch[#batch][1]
    end" 1 "$2"
}

# redis_drained PORT LENGTH: whether the group `load` has read all LENGTH entries of the
# samplesite stream and acknowledged every one (a loader acknowledges only what the sink
# stored). Asking Redis costs the database nothing, where counting rows would share its CPU.
redis_drained() {
  redis-cli -p "$1" xinfo groups samplesite | awk -v want="$2" '
    prev == "pending" {p = $1} prev == "entries-read" {r = $1} {prev = $1}
    END {exit !(r == want && p == 0)}'
}

# CPU time a process (all its threads) has used, in clock ticks; and ticks over N requests as
# CPU-seconds per million.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
per_million() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz / n * 1e6}'
}

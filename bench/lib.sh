# Shared pieces of the load scripts: ports, the beacon request, and the nginx reference.
# Sourced by bench/load.sh and bench/redis_load.sh; expects $work and the pids array.

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/$2" && return 0; sleep 0.05; done; echo "port $1 never answered" >&2; return 1; }

# The original's page-view beacon, as the tracker sends it.
query='oid=2&sid=0123456789abcdef&evt=pageview&url=https%3A%2F%2Fexample.jp%2Fproducts%2F42&tit=Product%2042&ref=https%3A%2F%2Fwww.google.com%2F&scr=1920x1080&vie=1280x720'
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

# start_nginx CORE: nginx (one worker, pinned) serving empty_gif with an access log — the
# reference every ratio is quoted against. Sets nginx_port; the pid goes into pids.
start_nginx() {
  nginx_port=$(free_port)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
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

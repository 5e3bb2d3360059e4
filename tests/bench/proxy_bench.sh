#!/bin/bash
# Proxy throughput and latency: gaetwaed vs HAProxy vs nginx, measured in the same run.
#
# One nginx backend ("return 200") on three ports. Each proxy runs one worker pinned to CPU 0;
# the backend and wrk share CPU 1, identically for every proxy. Prints rps and p50/p99 per proxy
# and the gaetwaed/HAProxy and gaetwaed/nginx ratios.
#
# Rounds interleave the proxies (haproxy, nginx, gaetwaed, haproxy, ...) and the summary takes
# the median of each, so a noisy moment on a shared machine hits every proxy alike.
#
# Usage: tests/bench/proxy_bench.sh [build-dir]     (env: DURATION=5s CONNECTIONS=50 ROUNDS=5)
# Needs: wrk, haproxy, nginx, taskset (installer/deps.sh installs them). Loopback only.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=bench_common.sh
source "$ROOT/tests/bench/bench_common.sh"
BUILD="${1:-$ROOT/build}"
GAETWAED="$BUILD/engine/gaetwaed"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-50}"
ROUNDS="${ROUNDS:-5}"
BACKEND_PORTS=(18081 18082 18083)
HAPROXY_PORT=18090
NGINX_PORT=18091
GAETWAED_PORT=18092

bench_require wrk haproxy nginx taskset
[ -x "$GAETWAED" ] || { echo "no gaetwaed at $GAETWAED: build first" >&2; exit 1; }
bench_workdir gaetwae-bench

# ---- backend
{
    echo "worker_processes 1; daemon off; pid $WORK/backend.pid; error_log $WORK/backend.err;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; keepalive_requests 100000;"
    for p in "${BACKEND_PORTS[@]}"; do
        echo "  server { listen 127.0.0.1:$p; location / { return 200 \"ok\n\"; } }"
    done
    echo "}"
} > "$WORK/backend.conf"
taskset -c 1 nginx -c "$WORK/backend.conf" -p "$WORK" &
PIDS+=($!)

# ---- HAProxy
{
    echo "global"
    echo "  nbthread 1"
    echo "  maxconn 4000"
    echo "defaults"
    echo "  mode http"
    echo "  timeout connect 5s"
    echo "  timeout client 60s"
    echo "  timeout server 60s"
    echo "  http-reuse always"
    echo "frontend fe"
    echo "  bind 127.0.0.1:$HAPROXY_PORT"
    echo "  default_backend be"
    echo "backend be"
    echo "  balance roundrobin"
    for i in "${!BACKEND_PORTS[@]}"; do echo "  server s$i 127.0.0.1:${BACKEND_PORTS[$i]}"; done
} > "$WORK/haproxy.cfg"
taskset -c 0 haproxy -f "$WORK/haproxy.cfg" -db &
PIDS+=($!)
HAPROXY_PID=$!

# ---- nginx as proxy
{
    echo "worker_processes 1; daemon off; pid $WORK/proxy.pid; error_log $WORK/proxy.err;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; keepalive_requests 100000;"
    echo "  upstream be { keepalive 128;"
    for p in "${BACKEND_PORTS[@]}"; do echo "    server 127.0.0.1:$p;"; done
    echo "  }"
    echo "  server { listen 127.0.0.1:$NGINX_PORT;"
    echo "    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
    echo "  }"
    echo "}"
} > "$WORK/proxy.conf"
taskset -c 0 nginx -c "$WORK/proxy.conf" -p "$WORK" &
PIDS+=($!)
NGINX_MASTER=$!

# ---- gaetwaed
{
    echo "workers: 1"
    echo "listeners: [{address: \"127.0.0.1:$GAETWAED_PORT\"}]"
    echo "access_log: {enabled: false}"
    echo "routes: [{name: all, match: {path_prefix: /}, pool: be}]"
    echo "pools:"
    echo "  - name: be"
    echo "    instances:"
    for i in "${!BACKEND_PORTS[@]}"; do echo "      - {id: s$i, address: \"127.0.0.1:${BACKEND_PORTS[$i]}\"}"; done
} > "$WORK/gaetwae.yaml"
taskset -c 0 "$GAETWAED" --log-level warn "$WORK/gaetwae.yaml" &
PIDS+=($!)
GAETWAED_PID=$!

for p in "${BACKEND_PORTS[@]}" $HAPROXY_PORT $NGINX_PORT $GAETWAED_PORT; do wait_port "$p"; done
NGINX_PID=$(pgrep -P "$NGINX_MASTER" | head -1) # the worker does the proxying

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime, all threads

# Prints "rps p50_ms p99_ms cpu_us_per_request" for one wrk run against the proxy on `port`
# whose process is `pid`.
measure() {
    local port=$1 pid=$2 out before after
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$port/" >/dev/null # warm-up
    before=$(cpu_ticks "$pid")
    out="$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/")"
    after=$(cpu_ticks "$pid")
    if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx responses on port $port" >&2; echo "$out" >&2; exit 1; fi
    local rps p50 p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    local requests hz
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    hz=$(getconf CLK_TCK)
    echo "$rps $(to_ms "$p50") $(to_ms "$p99") $(awk -v t=$((after - before)) -v n="$requests" -v hz="$hz" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
}
to_ms() { # wrk prints 1.23ms, 456.00us or 1.02s
    awk -v v="$1" 'BEGIN { if (v ~ /ms$/) { sub(/ms$/, "", v); print v }
                           else if (v ~ /us$/) { sub(/us$/, "", v); print v/1000 }
                           else if (v ~ /s$/) { sub(/s$/, "", v); print v*1000 } }'
}

RESULTS="$WORK/results"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    for name in haproxy nginx gaetwaed; do
        case $name in
            haproxy) port=$HAPROXY_PORT pid=$HAPROXY_PID ;;
            nginx) port=$NGINX_PORT pid=$NGINX_PID ;;
            gaetwaed) port=$GAETWAED_PORT pid=$GAETWAED_PID ;;
        esac
        read -r rps p50 p99 cpu < <(measure "$port" "$pid")
        echo "round $round  $name  rps=$rps  p50=${p50}ms  p99=${p99}ms  cpu/request=${cpu}us"
        echo "$name $rps $p50 $p99 $cpu" >> "$RESULTS"
    done
done

median() { # median of column $2 for proxy $1
    awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$RESULTS" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "median of $ROUNDS rounds ($CONNECTIONS connections, $DURATION each, proxy alone on CPU 0)"
printf "%-9s  %-9s  %-8s  %-8s  %s\n" proxy rps "p50(ms)" "p99(ms)" "cpu/request(us)"
for name in haproxy nginx gaetwaed; do
    printf "%-9s  %-9.0f  %-8.3f  %-8.3f  %.2f\n" "$name" "$(median $name 2)" "$(median $name 3)" "$(median $name 4)" "$(median $name 5)"
done
awk -v g="$(median gaetwaed 2)" -v h="$(median haproxy 2)" -v n="$(median nginx 2)" \
    -v gp="$(median gaetwaed 4)" -v hp="$(median haproxy 4)" -v np="$(median nginx 4)" \
    -v gc="$(median gaetwaed 5)" -v hc="$(median haproxy 5)" -v nc="$(median nginx 5)" \
    'BEGIN { printf "\nrps ratio          gaetwaed/haproxy = %.2f   gaetwaed/nginx = %.2f   (higher is better)\n", g/h, g/n;
             printf "p99 ratio          gaetwaed/haproxy = %.2f   gaetwaed/nginx = %.2f   (lower is better)\n", gp/hp, gp/np;
             printf "cpu/request ratio  gaetwaed/haproxy = %.2f   gaetwaed/nginx = %.2f   (lower is better)\n", gc/hc, gc/nc }'

#!/bin/bash
# Load generator throughput: gaetwae-load vs wrk, closed model, against the same nginx backend,
# measured in the same run. nginx (one worker) runs alone on CPU 0; each generator in turn runs
# on CPU 1 with one thread and the same connections. Rounds interleave the two and the summary
# takes medians. Prints requests/s of each and the ratio gaetwae-load/wrk (issue 6 target:
# within 10%, i.e. >= 0.90).
#
# Usage: tests/bench/loadgen_bench.sh [build-dir]   (env: DURATION=5s CONNECTIONS=50 ROUNDS=5)
# Needs: wrk, nginx, taskset (installer/deps.sh installs them). Loopback only.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=bench_common.sh
source "$ROOT/tests/bench/bench_common.sh"
BUILD="${1:-$ROOT/build}"
LOAD="$BUILD/engine/loadgen/gaetwae-load"
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-50}"
ROUNDS="${ROUNDS:-5}"
PORT=18181

bench_require wrk nginx taskset
[ -x "$LOAD" ] || { echo "no gaetwae-load at $LOAD: build first" >&2; exit 1; }
bench_workdir gaetwae-loadbench

cat > "$WORK/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx.pid; error_log $WORK/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } } }
CONF
taskset -c 0 nginx -c "$WORK/nginx.conf" -p "$WORK" &
PIDS+=($!)
wait_port "$PORT"

URL="http://127.0.0.1:$PORT/"
wrk_rps=()
load_rps=()
for round in $(seq 1 "$ROUNDS"); do
    w=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$URL" | awk '/Requests\/sec/ {print $2}')
    l=$(taskset -c 1 "$LOAD" -t 1 -c "$CONNECTIONS" -d "$DURATION" "$URL" | awk '/req\/s achieved/ {for (i=1;i<=NF;i++) if ($i=="req/s") print $(i-1)}')
    echo "round $round  wrk=$w  gaetwae-load=$l"
    wrk_rps+=("$w")
    load_rps+=("$l")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
W=$(median "${wrk_rps[@]}")
L=$(median "${load_rps[@]}")
echo
echo "median of $ROUNDS rounds ($CONNECTIONS connections, $DURATION each, one thread on CPU 1, nginx on CPU 0)"
printf 'wrk           %10.0f req/s\n' "$W"
printf 'gaetwae-load  %10.0f req/s\n' "$L"
awk -v l="$L" -v w="$W" 'BEGIN {printf "ratio gaetwae-load/wrk = %.2f (target >= 0.90)\n", l / w}'

# Shared by the benchmark scripts (sourced, not run): tool checks, a work directory whose
# background processes are stopped on exit, and waiting for a port to open.

# bench_require TOOL...: exits with a hint when one is missing.
bench_require() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing $tool: run installer/deps.sh" >&2; exit 1; }
    done
}

# bench_workdir NAME: sets WORK (a fresh directory) and PIDS (append "$!" of background
# processes); on exit every PID is stopped and WORK removed.
bench_workdir() {
    WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
    PIDS=()
    trap bench_cleanup EXIT
}
bench_cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (5 s at most).
wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "port $1 did not open" >&2
    return 1
}

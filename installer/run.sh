#!/bin/sh
# Installs everything needed, builds, and runs the gateway on the built-in demo configuration
# with its three demo backends (http://127.0.0.1:8080). When a display is available the desktop
# console opens too. Ctrl+C stops everything.
set -eu
cd "$(dirname "$0")/.."

./installer/build.sh gaetwaed gaetwae-console gaetwae-load

CONSOLE_PID=""
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    # Connected to the demo engine below (its token file appears at its first start).
    ./build/gui/gaetwae-console --engine local=ws://127.0.0.1:9901/admin &
    CONSOLE_PID=$!
fi
cleanup() {
    if [ -n "$CONSOLE_PID" ]; then kill "$CONSOLE_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

echo "gaetwae: try  curl -i http://127.0.0.1:8080/hello   and   build/engine/gaetwaed ctl status   (Ctrl+C to stop)"
./build/engine/gaetwaed --demo

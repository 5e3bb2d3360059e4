#!/bin/sh
# Console frame time with a day of 1 Hz data for 4 pools x 10 instances (issue: desktop console).
# Builds the benchmark and runs it offscreen. Usage: tests/bench/console_bench.sh
set -eu
cd "$(dirname "$0")/../.."
cmake --build build -j2 --target console_frame_bench >/dev/null
QT_QPA_PLATFORM=offscreen ./build/tests/console_frame_bench

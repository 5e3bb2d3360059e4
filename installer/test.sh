#!/bin/sh
# Installs everything needed, builds everything and runs every test suite under CTest.
set -eu
cd "$(dirname "$0")/.."

./installer/build.sh
cd build
ctest --output-on-failure --timeout 600

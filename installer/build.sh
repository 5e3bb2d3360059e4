#!/bin/sh
# Installs the dependencies and builds gaetwae into ./build (Release, Ninja, ccache when present).
# Usage: installer/build.sh [target...]   (no target: everything, tests included)
set -eu
cd "$(dirname "$0")/.."

./installer/deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGAETWAE_WERROR=ON
if [ "$#" -eq 0 ]; then
    cmake --build build -j2
else
    for target in "$@"; do
        cmake --build build -j2 --target "$target"
    done
fi

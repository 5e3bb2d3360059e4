#!/bin/sh
# Installs every build, run, test and benchmark dependency of gaetwae on Debian 12.
# Idempotent: packages already present are left alone, so re-running is cheap.
set -eu

PACKAGES="
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev
  libssl-dev zlib1g-dev libbrotli-dev libsqlite3-dev sqlite3 libhiredis-dev redis-server
  libpcre2-dev
  qt6-base-dev qt6-base-dev-tools qt6-charts-dev qt6-websockets-dev libqt6opengl6-dev libxkbcommon-dev
  libqt6sql6-sqlite qt6-qpa-plugins libgl-dev
  wrk haproxy nginx procps util-linux
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "deps.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# The distribution packages enable services we only run on demand (benchmarks, tests: the
# distributed rate-limit tests start their own redis-server on a free loopback port).
for svc in nginx haproxy redis-server; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled "$svc" >/dev/null 2>&1; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
done
exit 0

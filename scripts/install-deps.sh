#!/usr/bin/env bash
# Installs every Debian package oceanus needs to build, test and benchmark, and nothing that
# is already there. Safe to run repeatedly; used by the README's quick start and by .ci/run.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  libboost-dev libyaml-cpp-dev libre2-dev rapidjson-dev libspdlog-dev libfmt-dev
  libcli11-dev libsqlite3-dev sqlite3 uap-core zlib1g-dev libjemalloc-dev
  libhiredis-dev libcurl4-openssl-dev libssl-dev libpq-dev librabbitmq-dev
  libsodium-dev                  # the privacy pseudonyms' keyed hash (SipHash-2-4)
  libgtest-dev libgmock-dev libbenchmark-dev
  curl nginx-light wrk python3 redis-server redis-tools bc openssl
  rabbitmq-server python3-aiosmtpd
  postgresql-15 postgresql-client-15   # the postgres sink: a real server in the tests
  clickhouse-server clickhouse-client  # the clickhouse sink: likewise
  chromium                       # tests/browser: the tracker in a real browser
  clang libclang-rt-14-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # BigQuery Storage Write API
  python3-grpcio python3-protobuf   # tests: the fake Storage Write API server
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  # policy-rc.d keeps Debian from starting system-wide nginx/redis on install: the tests and
  # benchmarks start their own instances on free ports.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod +x /usr/sbin/policy-rc.d
    trap '$sudo_cmd rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

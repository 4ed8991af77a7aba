#!/usr/bin/env bash
# Configures and builds oceanus into build/ with both cores (and ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
build_type="${OCEANUS_BUILD_TYPE:-RelWithDebInfo}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build build -j"$(nproc)"

#!/usr/bin/env bash
# Install what is missing, build, check formatting, and run every test (unit + integration).
# This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

echo "== clang-format"
git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror

echo "== tests"
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900

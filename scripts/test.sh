#!/usr/bin/env bash
# Install what is missing, build, check formatting, and run every test. This is what CI runs
# (.ci/run):
#   1. unit + integration tests against the normal build;
#   2. the fault scenarios (tests/fault, label `fault`: minutes of outages, mostly waiting) in
#      the background, while
#   3. scripts/sanitize.sh builds and runs the suite under ASan+UBSan, the fuzz targets for a
#      bounded time, and the concurrency tests under TSan.
# OCEANUS_QUICK=1 stops after step 1 (for a quick local check; CI never sets it).
set -euo pipefail
# Each stage is announced with the seconds since the script started (where CI time goes).
stage() { echo "== $* (at ${SECONDS} s)"; }
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
stage "build"
bash scripts/build.sh

stage "clang-format"
git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror
stage "layers"
bash scripts/check_layers.sh >/dev/null || { bash scripts/check_layers.sh; exit 1; }

stage "unit and integration tests"
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900 -L 'unit|integration'
[ "${OCEANUS_QUICK:-0}" = 1 ] && exit 0

stage "fault scenarios (background; log in build/fault.log)"
ctest --test-dir build --output-on-failure -j4 --timeout 1200 -L fault >build/fault.log 2>&1 &
fault_pid=$!
trap 'kill -- "$fault_pid" 2>/dev/null || true' EXIT

sanitize_rc=0
bash scripts/sanitize.sh || sanitize_rc=$?

fault_rc=0
wait "$fault_pid" || fault_rc=$?
trap - EXIT
stage "fault scenarios"
cat build/fault.log
echo "sanitizers: exit ${sanitize_rc}; fault scenarios: exit ${fault_rc}; ${SECONDS} s in all"
((sanitize_rc == 0 && fault_rc == 0))

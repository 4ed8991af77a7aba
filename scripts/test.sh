#!/usr/bin/env bash
# Install what is missing, build, check formatting, and run every test. This is what CI runs
# (.ci/run):
#   1. the fault scenarios (tests/fault, label `fault`: minutes of outages, mostly waiting) in
#      the background, while
#   2. unit + integration tests run against the normal build, and then
#   3. scripts/sanitize.sh builds and runs the unit suite and the hostile-input integration
#      tests under ASan+UBSan, the fuzz targets for a bounded time, and the concurrency tests
#      under TSan.
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

if [ "${OCEANUS_QUICK:-0}" = 1 ]; then
  stage "unit and integration tests"
  exec ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900 -L 'unit|integration'
fi

# The fault scenarios mostly wait (outages of a minute or more), so they run beside the other
# tests rather than beside the sanitizer builds, which want both cores.
stage "fault scenarios (background; log in build/fault.log)"
ctest --test-dir build --output-on-failure -j4 --timeout 1200 -L fault >build/fault.log 2>&1 &
fault_pid=$!
trap 'kill -- "$fault_pid" 2>/dev/null || true' EXIT

stage "unit and integration tests"
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900 -L 'unit|integration'

sanitize_rc=0
OCEANUS_STAGE_OFFSET=$SECONDS bash scripts/sanitize.sh || sanitize_rc=$?

fault_rc=0
wait "$fault_pid" || fault_rc=$?
trap - EXIT
stage "fault scenarios"
cat build/fault.log
echo "sanitizers: exit ${sanitize_rc}; fault scenarios: exit ${fault_rc}; ${SECONDS} s in all"
((sanitize_rc == 0 && fault_rc == 0))

#!/usr/bin/env bash
# Sanitizer runs, as CI does them (scripts/test.sh calls this after the normal suite):
#
#   asan  clang build of everything with AddressSanitizer + UndefinedBehaviorSanitizer (and
#         libFuzzer coverage, so the same tree links the fuzz targets) into build-asan/; runs
#         the unit suite and the hostile-input integration tests against it, then every fuzz
#         target for OCEANUS_FUZZ_SECONDS (default 12) each.
#   tsan  clang build with ThreadSanitizer into build-tsan/; runs the tests whose code shares
#         data between threads: the unit suites of the spool, loader, task queue, worker,
#         guards and id generator, the Redis writer (I/O thread → sender thread) and
#         forwarder, and the integration suites whose server runs several I/O threads beside
#         the loader, reactor and worker (collect, durability, abuse, operations: the admin
#         thread reading the I/O threads' counters and tail; redis: writers, forwarder and
#         readers against a real redis-server).
#
# Usage: scripts/sanitize.sh [asan|tsan]... (default: both). Any finding fails the run.
set -euo pipefail
# Each stage is announced with the seconds since the script started (where CI time goes).
stage() { echo "== $* (at ${SECONDS} s)"; }
SECONDS="${OCEANUS_STAGE_OFFSET:-0}"  # test.sh's clock, when it runs this
cd "$(dirname "$0")/.."
root="$(pwd)"

jobs="$(nproc)"
modes=("$@")
((${#modes[@]})) || modes=(asan tsan)

configure() {  # dir, sanitizers, extra cmake args...
  local dir="$1" sanitizers="$2"
  shift 2
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DOCEANUS_SANITIZE="$sanitizers" \
    -DOCEANUS_BENCH=OFF "$@" >/dev/null
}

# Recoverable UBSan + halt_on_error: suppressions (third-party headers only) work, and any
# other finding still ends the process with an error.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/sanitizers/tsan.supp"

# Under ASan: every unit test (gtest suites and the fuzz corpus replays), and the integration tests that send hostile or malformed
# input through the request path (the others, which drive Redis, PostgreSQL, ClickHouse, the
# BigQuery fake, the reactor's timers and the browsers, run in the normal suite; the fuzz
# targets cover the parsers). OCEANUS_ASAN_TESTS overrides the ctest -R regex.
asan_tests="${OCEANUS_ASAN_TESTS:-^[A-Z][A-Za-z0-9_]*\.|^fuzz\.replay\.|^integration\.test_(abuse|collect|config_check|durability|limits|security|segment)$}"

for mode in "${modes[@]}"; do
  case "$mode" in
    asan)
      stage "AddressSanitizer + UndefinedBehaviorSanitizer (build-asan)"
      configure build-asan address,undefined -DOCEANUS_FUZZ=ON
      cmake --build build-asan -j"$jobs"
      # The integration tests read this to skip the one check ASan invalidates (flat RSS:
      # its quarantine keeps freed memory); LeakSanitizer checks leaks at exit instead.
      OCEANUS_SANITIZER=address ctest --test-dir build-asan --output-on-failure -j"$jobs" \
        -R "$asan_tests" --timeout 900
      stage "fuzz targets"
      OCEANUS_FUZZ_BUILD_DIR=build-asan bash scripts/fuzz.sh "${OCEANUS_FUZZ_SECONDS:-12}"
      ;;
    tsan)
      stage "ThreadSanitizer (build-tsan)"
      configure build-tsan thread
      cmake --build build-tsan -j"$jobs" --target oceanus oceanus_unit_tests
      OCEANUS_SANITIZER=thread ctest --test-dir build-tsan --output-on-failure -j"$jobs" \
        --timeout 900 \
        -R '^(SpoolTest|SpoolCursorFileTest|LoaderTest|LocalTaskQueueTest|WorkerTest|GuardTest|EventIdTest|DeviceCacheTest|AuthTest|RedisForwarderTest|RedisWriterTest)\.|^integration\.test_(collect|durability|abuse|operations|redis)$'
      ;;
    *)
      echo "unknown mode '$mode' (asan | tsan)" >&2
      exit 2
      ;;
  esac
done

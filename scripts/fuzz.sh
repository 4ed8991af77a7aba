#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) and runs each for a bounded
# time. Exits non-zero when any target finds a crash, a leak, a UBSan report, an out-of-memory
# or a timeout, and prints where the reproducer is.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]          default 30
#   scripts/fuzz.sh --build-dir DIR [SECONDS]     use an already configured fuzz tree
#
# Environment:
#   OCEANUS_FUZZ_BUILD_DIR=DIR   same as --build-dir (scripts/sanitize.sh passes its ASan tree;
#                                it must be configured with -DOCEANUS_FUZZ=ON)
#   OCEANUS_FUZZ_TARGETS="params event"   run only these targets (default: all)
#
# The repository's corpus (tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/) is
# copied into <build dir>/fuzz-corpus/<name>/ first, and the fuzzer adds to that copy, so it
# never writes into the repository and a later run starts from what earlier runs found.
# Findings go to <build dir>/artifacts/<name>/, the fuzzer's output to
# <build dir>/artifacts/<name>.log.
# Reproduce one with `<build dir>/tests/fuzz/fuzz_<name> <file>`; once fixed, add the file to
# tests/fuzz/regressions/<name>/ so that ctest's fuzz.replay.<name> keeps running it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

seconds=30
build_dir="${OCEANUS_FUZZ_BUILD_DIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --build-dir=*) build_dir="${1#--build-dir=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *[!0-9]*|'') echo "fuzz.sh: unexpected argument '$1'" >&2; usage >&2; exit 2 ;;
    *) seconds="$1"; shift ;;
  esac
done

all_targets="params client_ip event config spool_recovery template clickhouse_sql segment http_request"
targets="${OCEANUS_FUZZ_TARGETS:-$all_targets}"

if [ -n "$build_dir" ]; then
  case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
  if ! grep -q '^OCEANUS_FUZZ:BOOL=ON$' "$build_dir/CMakeCache.txt" 2>/dev/null; then
    echo "fuzz.sh: $build_dir is not a build tree configured with -DOCEANUS_FUZZ=ON" >&2
    exit 2
  fi
else
  build_dir="$root/build-fuzz"
  generator=()
  if [ ! -f "$build_dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then
    generator=(-G Ninja)
  fi
  # ccache is picked up by CMakeLists.txt when it is installed.
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" "${generator[@]}" \
    -DOCEANUS_FUZZ=ON -DOCEANUS_SANITIZE=address,undefined -DOCEANUS_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
fi

build_targets=()
for t in $targets; do build_targets+=(--target "fuzz_$t"); done
echo "== building ${targets} in $build_dir"
cmake --build "$build_dir" -j2 "${build_targets[@]}"

# As scripts/sanitize.sh sets them (it exports its own when it calls this): UBSan findings end
# the run, except those tests/sanitizers/*.supp allow inside third-party headers.
supp="$root/tests/sanitizers"
ubsan="halt_on_error=1:print_stacktrace=1"
if [ -f "$supp/ubsan.supp" ]; then ubsan="$ubsan:suppressions=$supp/ubsan.supp"; fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-$ubsan}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
if [ -z "${LSAN_OPTIONS:-}" ] && [ -f "$supp/lsan.supp" ]; then
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp"
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/oceanus-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

failed=()
summary=()
for t in $targets; do
  binary="$build_dir/tests/fuzz/fuzz_$t"
  corpus="$build_dir/fuzz-corpus/$t"
  artifacts="$build_dir/artifacts/$t"
  log="$build_dir/artifacts/$t.log"
  mkdir -p "$corpus" "$artifacts"
  cp -R "tests/fuzz/corpus/$t/." "$corpus/"
  if [ -d "tests/fuzz/regressions/$t" ]; then cp -R "tests/fuzz/regressions/$t/." "$corpus/"; fi
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$artifacts/")
  if [ -f "tests/fuzz/$t.dict" ]; then args+=(-dict="tests/fuzz/$t.dict"); fi

  echo "== fuzz_$t for ${seconds}s"
  marker="$scratch/.started-$t"
  touch "$marker"
  status=0
  "$binary" "${args[@]}" "$corpus" >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  summary+=("$(printf '%-16s %8s runs  %s' "$t" "${runs:-?}" "$([ $status -eq 0 ] && echo ok || echo FAILED)")")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz_$t FAILED (exit $status); the end of $log:" >&2
    tail -n 40 "$log" >&2
    for f in $(find "$artifacts" -type f -newer "$marker" \
                 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \)); do
      echo "reproducer: $f" >&2
      echo "  run it:   $binary $f" >&2
    done
  fi
done

echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi

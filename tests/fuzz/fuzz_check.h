// Invariant checks for the fuzz targets: a failed check prints what was expected and aborts,
// so that libFuzzer saves the input as a crash and the replay test fails (also in a gcc build
// without sanitizers, where a plain assert could be compiled out).
#pragma once

#include "util/log.h"

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, ...)                                                               \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n  ", __FILE__, __LINE__, #condition); \
      std::fprintf(stderr, __VA_ARGS__);                                                         \
      std::fprintf(stderr, "\n");                                                                \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)

// Logging off, once per process: what the code under test logs about each bad input would
// flood the fuzzer's output and slow it down.
inline void SilenceLogsOnce() {
  static const bool silenced = (spdlog::set_level(spdlog::level::off), true);
  (void)silenced;
}

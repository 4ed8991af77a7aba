// Event ids: UUIDv7 text (RFC 9562), unique across threads and processes, ordered by time.
//
// One generator per I/O thread, no shared state: the 48-bit millisecond clock comes first,
// then a 12-bit counter that keeps ids from one generator strictly increasing within a
// millisecond (RFC 9562 method 1), then 62 random bits drawn per id from a generator seeded
// from the OS. Two threads can only collide if they draw the same 62 random bits in the same
// millisecond.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace oceanus::event {

class EventIdGenerator {
 public:
  EventIdGenerator();
  // Writes 36 characters ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b") to `out`.
  void Next(std::chrono::system_clock::time_point now, char* out);

 private:
  std::mt19937_64 random_;
  std::uint64_t last_ms_ = 0;
  std::uint16_t counter_ = 0;
};

}  // namespace oceanus::event

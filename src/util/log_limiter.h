// LogLimiter: lets a repeated log line through at most once per interval and counts the ones
// held back, so that a failure hit by every request (a full disk) writes one line a second
// that says how many it stands for, instead of one line per request.
//
// Not synchronised on purpose: each thread keeps its own (an I/O thread's Worker holds one),
// so the hot path takes no lock shared with other threads.
#pragma once

#include <chrono>
#include <cstdint>

namespace oceanus {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogLimiter(Clock::duration interval = std::chrono::seconds(1)) : interval_(interval) {}

  // True when a line may be written at `now`; `suppressed` is then the number of calls that
  // were refused since the last line that was let through. False counts this call as refused.
  bool Allow(Clock::time_point now, std::uint64_t& suppressed) {
    if (allowed_once_ && now - last_ < interval_) {
      ++refused_;
      return false;
    }
    allowed_once_ = true;
    last_ = now;
    suppressed = refused_;
    refused_ = 0;
    return true;
  }

 private:
  Clock::duration interval_;
  Clock::time_point last_{};
  bool allowed_once_ = false;
  std::uint64_t refused_ = 0;
};

}  // namespace oceanus

// The admin page's rates chart, filled on load: events queued per site, per second for the
// last five minutes and per minute for the last hour, sampled from the collector's counters
// once a second (app/ runs the sampler on a thread of its own, never an I/O thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace oceanus::collect {

class RateHistory {
 public:
  static constexpr std::size_t kSeconds = 300;
  static constexpr std::size_t kMinutes = 60;

  explicit RateHistory(std::vector<std::string> sites) : sites_(std::move(sites)) {}

  // The running totals of events queued per site (in the order of the constructor's sites)
  // at `now`; the first call only sets the baseline.
  void Sample(std::chrono::system_clock::time_point now, const std::vector<std::uint64_t>& totals);

  // {"sites":[…],"seconds":{"end":<ms>,"step":1,"counts":[[per site]…]},"minutes":{…}}: oldest
  // first; `end` is the end of the last interval (ms since the epoch).
  std::string Json() const;

 private:
  struct Series {
    std::int64_t end_ms = 0;
    std::deque<std::vector<std::uint64_t>> counts;
  };
  static void AppendSeries(std::string& out, const Series& s, int step_seconds);

  std::vector<std::string> sites_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> last_totals_;
  bool have_baseline_ = false;
  Series seconds_;
  Series minutes_;
  std::vector<std::uint64_t> minute_sum_;
  std::int64_t minute_ = -1;  // the minute minute_sum_ adds up
};

}  // namespace oceanus::collect

// The last events and rejections of one I/O thread, for the admin page's live tail.
//
// A fixed ring of slots whose strings keep their capacity, so that after warm-up recording
// an event copies bytes but allocates nothing. The lock is this thread's own: only the
// admin thread, when someone watches the tail, ever contends for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace oceanus::collect {

struct RecentEntry {
  std::int64_t at_micros = 0;  // server time, UTC
  std::size_t site = 0;        // index in config.sites
  std::string text;            // events: the record JSON; rejections: reasons + request target
};

class RecentLog {
 public:
  explicit RecentLog(std::size_t capacity);
  void Add(std::chrono::system_clock::time_point at, std::size_t site, std::string_view text,
           std::string_view more = {});
  // Entries newer than `since_micros` whose text contains every non-empty needle.
  void CopySince(std::int64_t since_micros, const std::vector<std::string>& needles,
                 std::vector<RecentEntry>& out) const;

 private:
  mutable std::mutex mu_;
  std::vector<RecentEntry> slots_;
  std::size_t next_ = 0;
  std::size_t used_ = 0;
};

// One per I/O thread: accepted events and rejected requests.
struct RecentActivity {
  RecentLog events{256};
  RecentLog rejections{64};
};

}  // namespace oceanus::collect

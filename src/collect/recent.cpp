// RecentLog; see recent.h.
#include "collect/recent.h"

namespace oceanus::collect {

RecentLog::RecentLog(std::size_t capacity) : slots_(capacity) {}

void RecentLog::Add(std::chrono::system_clock::time_point at, std::size_t site,
                    std::string_view text, std::string_view more) {
  std::lock_guard lock(mu_);
  RecentEntry& slot = slots_[next_];
  slot.at_micros =
      std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  slot.site = site;
  slot.text.assign(text);  // reuses the slot's capacity
  slot.text.append(more);
  next_ = (next_ + 1) % slots_.size();
  if (used_ < slots_.size()) ++used_;
}

void RecentLog::CopySince(std::int64_t since_micros, const std::vector<std::string>& needles,
                          std::vector<RecentEntry>& out) const {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < used_; ++i) {
    const RecentEntry& e = slots_[(next_ + slots_.size() - used_ + i) % slots_.size()];
    if (e.at_micros <= since_micros) continue;
    bool match = true;
    for (const auto& n : needles)
      match = match && (n.empty() || e.text.find(n) != std::string::npos);
    if (match) out.push_back(e);
  }
}

}  // namespace oceanus::collect

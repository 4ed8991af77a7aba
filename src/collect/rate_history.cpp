// RateHistory; see rate_history.h.
#include "collect/rate_history.h"

#include "util/json.h"

namespace oceanus::collect {

void RateHistory::Sample(std::chrono::system_clock::time_point now,
                         const std::vector<std::uint64_t>& totals) {
  std::lock_guard lock(mu_);
  const std::int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  if (!have_baseline_ || totals.size() != sites_.size()) {
    last_totals_ = totals;
    have_baseline_ = totals.size() == sites_.size();
    return;
  }
  std::vector<std::uint64_t> delta(totals.size());
  for (std::size_t i = 0; i < totals.size(); ++i)
    delta[i] = totals[i] >= last_totals_[i] ? totals[i] - last_totals_[i] : 0;
  last_totals_ = totals;
  seconds_.counts.push_back(delta);
  seconds_.end_ms = ms;
  if (seconds_.counts.size() > kSeconds) seconds_.counts.pop_front();
  const std::int64_t minute = ms / 60000;
  if (minute != minute_) {
    if (minute_ >= 0) {
      minutes_.counts.push_back(minute_sum_);
      minutes_.end_ms = minute * 60000;
      if (minutes_.counts.size() > kMinutes) minutes_.counts.pop_front();
    }
    minute_ = minute;
    minute_sum_.assign(totals.size(), 0);
  }
  for (std::size_t i = 0; i < delta.size(); ++i) minute_sum_[i] += delta[i];
}

void RateHistory::AppendSeries(std::string& out, const Series& s, int step_seconds) {
  out += "{\"end\":" + std::to_string(s.end_ms) + ",\"step\":" + std::to_string(step_seconds) +
         ",\"counts\":[";
  for (std::size_t i = 0; i < s.counts.size(); ++i) {
    out += i ? ",[" : "[";
    for (std::size_t k = 0; k < s.counts[i].size(); ++k)
      out += (k ? "," : "") + std::to_string(s.counts[i][k]);
    out += "]";
  }
  out += "]}";
}

std::string RateHistory::Json() const {
  std::lock_guard lock(mu_);
  std::string out = "{\"sites\":[";
  for (std::size_t i = 0; i < sites_.size(); ++i) {
    if (i) out += ",";
    AppendJsonStringLossy(out, sites_[i]);
  }
  out += "],\"seconds\":";
  AppendSeries(out, seconds_, 1);
  out += ",\"minutes\":";
  AppendSeries(out, minutes_, 60);
  return out + "}\n";
}

}  // namespace oceanus::collect

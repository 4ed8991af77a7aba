// Prometheus text exposition (format 0.0.4) for /metrics: a writer, and the two kinds of
// value the stages keep.
//
// Stages own their counters (plain relaxed atomics, most of them written by a single
// thread) and write them out when scraped; there is no global registry to lock. A family's
// HELP and TYPE lines are written once, before its first sample.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oceanus {

using Label = std::pair<std::string_view, std::string_view>;

class MetricsWriter {
 public:
  // Declares a family ("counter", "gauge" or "histogram"); repeated calls are ignored.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void Sample(std::string_view name, const std::vector<Label>& labels, double value);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
  std::set<std::string, std::less<>> declared_;
};

// Adds one to a counter that only one thread writes: a plain load and store, without the
// locked read-modify-write that fetch_add costs; readers on other threads see whole values.
inline void Bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

// A histogram with fixed upper bounds (seconds). Observe may be called from any thread.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Writes <name>_bucket{...,le=...}, <name>_sum and <name>_count.
  void Write(MetricsWriter& out, std::string_view name, std::initializer_list<Label> labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> sum_micros_{0};
};

// Bounds for write latencies: 1 ms to 60 s.
std::vector<double> LatencyBuckets();

}  // namespace oceanus

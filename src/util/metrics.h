// Prometheus text exposition (format 0.0.4) for /metrics: a writer, and the two kinds of
// value the stages keep.
//
// Stages own their counters (plain relaxed atomics, most of them written by a single
// thread) and write them out when scraped; there is no global registry to lock.
//
// The text format requires all samples of a family to follow its HELP and TYPE lines without
// another family in between. Stages write site by site, several families at a time, so the
// writer keeps each family's lines apart and joins them in text(): families in the order
// they were first declared, each HELP, TYPE, then all its samples in the order written.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oceanus {

using Label = std::pair<std::string_view, std::string_view>;

class MetricsWriter {
 public:
  // Declares a family ("counter", "gauge" or "histogram"); repeated calls are ignored. Declare
  // a histogram before its samples: <name>_bucket, _sum and _count then join its family.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // A sample of an undeclared family is written in a family of its own, without HELP/TYPE.
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void Sample(std::string_view name, const std::vector<Label>& labels, double value);
  std::string text() const;

 private:
  struct FamilyText {
    std::string type;
    std::string header;   // HELP and TYPE lines
    std::string samples;  // sample lines, in order
  };
  std::string& SamplesOf(std::string_view sample_name);

  std::vector<FamilyText> families_;                       // in order of first appearance
  std::map<std::string, std::size_t, std::less<>> index_;  // family name → families_ index
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

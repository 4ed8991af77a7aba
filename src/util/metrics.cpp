// Prometheus text format; see metrics.h.
#include "util/metrics.h"

#include <charconv>
#include <cmath>

namespace oceanus {
namespace {

// Label values escape backslash, double quote and newline (the exposition format's rule).
void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void AppendValue(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

template <typename Labels>
void AppendSample(std::string& out, std::string_view name, const Labels& labels, double value) {
  out += name;
  if (labels.size() != 0) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      AppendLabelValue(out, v);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

}  // namespace

void MetricsWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  auto [it, added] = index_.emplace(std::string(name), families_.size());
  if (added) families_.emplace_back();
  FamilyText& family = families_[it->second];
  if (!family.header.empty()) return;
  family.type = type;
  family.header = "# HELP " + std::string(name) + ' ' + std::string(help) + "\n# TYPE " +
                  std::string(name) + ' ' + std::string(type) + '\n';
}

std::string& MetricsWriter::SamplesOf(std::string_view sample_name) {
  if (auto it = index_.find(sample_name); it != index_.end()) return families_[it->second].samples;
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (!sample_name.ends_with(suffix)) continue;
    auto it = index_.find(sample_name.substr(0, sample_name.size() - suffix.size()));
    if (it != index_.end() && families_[it->second].type == "histogram")
      return families_[it->second].samples;
  }
  index_.emplace(std::string(sample_name), families_.size());
  return families_.emplace_back().samples;
}

void MetricsWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                           double value) {
  AppendSample(SamplesOf(name), name, labels, value);
}

void MetricsWriter::Sample(std::string_view name, const std::vector<Label>& labels, double value) {
  AppendSample(SamplesOf(name), name, labels, value);
}

std::string MetricsWriter::text() const {
  std::string out;
  for (const auto& family : families_) {
    out += family.header;
    out += family.samples;
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {}

void Histogram::Observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, value) * 1e6),
                        std::memory_order_relaxed);
}

void Histogram::Write(MetricsWriter& out, std::string_view name,
                      std::initializer_list<Label> labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  char le[32];
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string_view le_text = "+Inf";
    if (i < bounds_.size()) {
      le_text = std::string_view(le, std::to_chars(le, le + sizeof le, bounds_[i]).ptr - le);
    }
    std::vector<Label> with_le(labels);
    with_le.emplace_back("le", le_text);
    out.Sample(bucket, with_le, static_cast<double>(cumulative));
  }
  out.Sample(std::string(name) + "_sum", labels,
             static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  // The count is the +Inf bucket, read once: a scrape never sees count and buckets disagree.
  out.Sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace oceanus

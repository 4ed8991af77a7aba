// RejectedRecorder and the request redaction; see rejected.h.
#include "queue/rejected.h"

#include <algorithm>
#include <array>

#include "util/ascii.h"
#include "util/log.h"

namespace oceanus::queue {
namespace {

// Entries whose strings a lane, and the batch, keep between flushes: enough for a steady
// stream of refusals without allocating; a flood's extra is freed after it.
constexpr std::size_t kKeptSlots = 128;

// Fields whose values are secrets or point at the person behind the request.
constexpr std::array<std::string_view, 8> kRedactedFields = {
    "authorization",   "proxy-authorization", "cookie",    "set-cookie",
    "x-forwarded-for", "x-real-ip",           "forwarded", "true-client-ip"};
constexpr std::array<std::string_view, 4> kSecretWords = {"token", "secret", "key", "auth"};

bool Redacted(std::string_view name) {
  for (auto f : kRedactedFields)
    if (AsciiIEquals(name, f)) return true;
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (auto w : kSecretWords)
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

void AppendBounded(std::string& out, std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) {
    out.append(text);
    return;
  }
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  out.append(text.substr(0, cut));
  out.append("…");
}

void AppendRedactedRequest(std::string& out, std::string_view method, std::string_view target,
                           const std::vector<HeaderLine>& fields, std::size_t max_bytes) {
  const std::size_t start = out.size();
  out.append(method).append(" ").append(target).append(" HTTP/1.1");
  for (const auto& f : fields) {
    if (out.size() - start >= max_bytes) break;
    out.append("\n").append(f.name).append(": ");
    out.append(Redacted(f.name) ? std::string_view("[redacted]") : f.value);
  }
  if (out.size() - start > max_bytes) {
    std::string whole = out.substr(start);
    out.resize(start);
    AppendBounded(out, whole, max_bytes);
  }
}

RejectedRecorder::RejectedRecorder(std::unique_ptr<RejectedStore> store, Options options)
    : store_(std::move(store)),
      options_(options),
      summary_since_(std::chrono::steady_clock::now()) {}

RejectedRecorder::~RejectedRecorder() { Stop(); }

RejectedRecorder::Lane& RejectedRecorder::NewLane() {
  std::lock_guard lock(lanes_mu_);
  lanes_.push_back(std::make_unique<Lane>(options_.lane_capacity, this));
  return *lanes_.back();
}

void RejectedRecorder::Start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

void RejectedRecorder::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    wake_.notify_all();
    thread_.join();
  }
  Flush();
  LogSummary();
}

void RejectedRecorder::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(wake_mu_);
      wake_.wait_for(lock, stop, options_.flush_every, [this] { return wake_pending_; });
      wake_pending_ = false;
    }
    Flush();
    if (options_.log_every.count() > 0 &&
        std::chrono::steady_clock::now() - summary_since_ >= options_.log_every)
      LogSummary();
  }
}

// The lanes' slots and the batch's entries trade places, so that the strings of both keep
// their capacity: after warm-up neither side allocates.
void RejectedRecorder::Wake() {
  {
    std::lock_guard lock(wake_mu_);
    wake_pending_ = true;
  }
  wake_.notify_one();
}

void RejectedRecorder::Collect() {
  batch_used_ = 0;
  std::lock_guard lanes_lock(lanes_mu_);
  for (auto& lane : lanes_) {
    std::lock_guard lock(lane->mu_);
    for (std::size_t i = 0; i < lane->used_; ++i) {
      if (batch_used_ == batch_.size()) batch_.emplace_back();
      std::swap(batch_[batch_used_++], lane->slots_[i]);
    }
    lane->used_ = 0;
    // A flood grew the lane: what it holds beyond the usual goes back to the allocator.
    if (lane->slots_.size() > kKeptSlots) lane->slots_.resize(kKeptSlots);
  }
}

void RejectedRecorder::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  Collect();
  if (batch_used_ == 0) return;
  // In time order, so that the store's order (its ids) is the order of the events across
  // lanes too, and the bound drops the oldest first.
  std::stable_sort(
      batch_.begin(), batch_.begin() + static_cast<std::ptrdiff_t>(batch_used_),
      [](const Rejection& a, const Rejection& b) { return a.at_micros < b.at_micros; });
  const std::span<const Rejection> batch(batch_.data(), batch_used_);
  Summarise(batch);
  Result<std::uint64_t> added =
      store_ ? store_->Add(batch) : Result<std::uint64_t>(Status::Unavailable("no store"));
  std::lock_guard lock(counts_mu_);
  if (!added.ok()) {
    dropped_error_ += batch.size();
    std::uint64_t held_back = 0;
    if (store_failures_.Allow(LogLimiter::Clock::now(), held_back))
      spdlog::warn(
          "rejected-events store: {} entries not kept: {} ({} more failed writes since the "
          "last line)",
          batch.size(), added.status().ToString(), held_back);
    return;
  }
  dropped_bound_ += *added;
  for (const auto& r : batch) ++stored_[{r.site, r.kind, r.reason}];
  if (batch_.size() > kKeptSlots) batch_.resize(kKeptSlots);
}

void RejectedRecorder::Summarise(std::span<const Rejection> batch) {
  if (options_.log_every.count() == 0) return;
  for (const auto& r : batch) {
    auto& s = summary_[r.site];
    ++s.reasons[r.kind == "request" || r.kind == "message" ? r.reason : r.kind + ":" + r.reason];
    s.last_detail = r.detail.substr(0, 200);
  }
}

// One warn line per site that refused anything since the last one: how many, why, and the
// last reason in words, so that a misconfigured page shows in the logs without flooding them.
void RejectedRecorder::LogSummary() {
  const auto now = std::chrono::steady_clock::now();
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now - summary_since_).count();
  summary_since_ = now;
  for (const auto& [site, s] : summary_) {
    std::uint64_t total = 0;
    std::string reasons;
    for (const auto& [reason, n] : s.reasons) {
      total += n;
      reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(n);
    }
    std::string detail = s.last_detail;
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    spdlog::warn("rejected {} in the last {} s for site {}: {} (last: {})", total,
                 std::max<long long>(seconds, 1), site.empty() ? "(none)" : site, reasons, detail);
  }
  summary_.clear();
}

void RejectedRecorder::WriteMetrics(MetricsWriter& out) const {
  std::uint64_t overflowed = 0;
  {
    std::lock_guard lock(lanes_mu_);
    for (const auto& lane : lanes_) overflowed += lane->overflowed_.load(std::memory_order_relaxed);
  }
  std::lock_guard lock(counts_mu_);
  out.Family("oceanus_rejected_stored_total", "counter",
             "Entries written to the rejected-events store, by site, kind and reason.");
  for (const auto& [key, n] : stored_) {
    const auto& [site, kind, reason] = key;
    out.Sample("oceanus_rejected_stored_total",
               {{"site", site}, {"kind", kind}, {"reason", reason}}, static_cast<double>(n));
  }
  out.Family("oceanus_rejected_dropped_total", "counter",
             "Entries the rejected-events store did not keep: bound (the oldest, beyond "
             "max_per_site or max_age), overflow (more waiting than a lane holds), error (the "
             "store failed).");
  out.Sample("oceanus_rejected_dropped_total", {{"cause", "bound"}},
             static_cast<double>(dropped_bound_));
  out.Sample("oceanus_rejected_dropped_total", {{"cause", "overflow"}},
             static_cast<double>(overflowed));
  out.Sample("oceanus_rejected_dropped_total", {{"cause", "error"}},
             static_cast<double>(dropped_error_));
}

}  // namespace oceanus::queue

// What did not become a row, kept a while and explained: every request the collector refused
// (a 4xx of an event endpoint, or a 503 when the queue could not take it), every message of a
// batch it refused, every row a warehouse refused (also in the dead-letter, which is what
// `oceanus replay` sends back) and every task that used up its attempts. The admin page's
// "Rejected" view and `GET /api/rejected` read it.
//
// Like the dead-letter it lives with the queue, because each queue keeps it next to its own
// data: the local spool a SQLite table in the data dir (queue/spool/sqlite_rejected.h), Redis a
// capped stream per site (queue/redis/redis_rejected.h). It is bounded per site, by count and
// by age, dropping the oldest first; what the bound drops is counted, never silently lost.
//
// Producers never touch the store: they hand entries to a RejectedRecorder lane (one per
// thread, a lock only the recorder's own thread contends for), and the recorder's thread
// writes them in batches, keeps the counts and logs the rate-limited summaries.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "util/log_limiter.h"
#include "util/metrics.h"
#include "util/status.h"

namespace oceanus::queue {

struct Rejection {
  std::int64_t at_micros = 0;  // when, UTC
  std::string site;            // "" when the request named no known site
  std::string kind;            // "request", "message", "row" or "task"
  // Why, as a short name: the reason label of oceanus_events_rejected_total for requests
  // ("invalid", "malformed", "media_type", "too_large", "headers_too_large", "unavailable"),
  // "unknown_site", "unauthorized", "method", …; a message's reason ("missing_id", …); "sink"
  // for a row; the action's name for a task.
  std::string reason;
  int status = 0;       // the HTTP status answered; 0 for rows and tasks
  std::string detail;   // the reasons in words: the answer's text, the warehouse's error
  std::string payload;  // the request line and headers (secrets redacted), the record, the task
};

struct RejectedQuery {
  std::string site;    // empty: every site
  std::string kind;    // empty: every kind
  std::string reason;  // empty: every reason
  std::int64_t since_micros = 0;
  std::int64_t until_micros = INT64_MAX;
  std::size_t limit = 100;
};

// Entries by site, kind and reason.
using RejectedCounts = std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t>;

class RejectedStore {
 public:
  virtual ~RejectedStore() = default;
  // Stores `batch` durably, then drops each site's entries beyond max_per_site and those older
  // than max_age, oldest first; returns how many the bound dropped. Called from one thread.
  virtual Result<std::uint64_t> Add(std::span<const Rejection> batch) = 0;
  // The entries `query` picks, newest first. Thread-safe (its own connection per call).
  virtual Result<std::vector<Rejection>> List(const RejectedQuery& query) = 0;
  // How many entries of each site, kind and reason the store holds now. Thread-safe.
  virtual Result<RejectedCounts> Count() = 0;
  // Erasure (`oceanus erase`): removes the entries of `site` whose payload or detail `matches`
  // picks and returns how many; with `count_only` only counts them.
  using TextMatcher = std::function<bool(std::string_view text)>;
  virtual Result<long long> Erase(const std::string& site, const TextMatcher& matches,
                                  bool count_only) = 0;
};

struct RejectedBound {
  std::size_t max_per_site = 10000;
  std::chrono::milliseconds max_age = std::chrono::hours(24 * 7);
};

// The thread between the producers and the store.
class RejectedRecorder {
 public:
  // One producer's queue of entries: Add never blocks on the store and never allocates once
  // its slots have grown; when `capacity` entries wait, the newest is dropped and counted.
  // Half full, it wakes the recorder's thread at once instead of waiting for its timer.
  class Lane {
   public:
    Lane(std::size_t capacity, RejectedRecorder* owner) : capacity_(capacity), owner_(owner) {}
    // Fills the next slot through `fill(Rejection&)` (whose strings keep their capacity).
    template <class Fill>
    void Add(Fill&& fill) {
      std::lock_guard lock(mu_);
      if (used_ == capacity_) {
        overflowed_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (used_ == slots_.size()) slots_.emplace_back();
      fill(slots_[used_++]);
      if (used_ == capacity_ / 2 && owner_) owner_->Wake();
    }

   private:
    friend class RejectedRecorder;
    std::mutex mu_;
    std::vector<Rejection> slots_;
    std::size_t used_ = 0;
    std::size_t capacity_;
    RejectedRecorder* owner_;
    std::atomic<std::uint64_t> overflowed_{0};
  };

  struct Options {
    std::chrono::milliseconds log_every{10000};  // summary warn lines; 0: none
    std::chrono::milliseconds flush_every{100};
    std::size_t lane_capacity = 4096;
  };

  // `store` may be null (no store could be opened): entries are then counted as dropped.
  RejectedRecorder(std::unique_ptr<RejectedStore> store, Options options);
  ~RejectedRecorder();
  RejectedRecorder(const RejectedRecorder&) = delete;
  RejectedRecorder& operator=(const RejectedRecorder&) = delete;

  // A lane for one producer thread, valid as long as the recorder. Thread-safe.
  Lane& NewLane();
  // Starts the writer thread; Stop writes what waits and joins it (the destructor stops too).
  void Start();
  void Stop();
  // Writes what waits now, on the caller's thread (tests, and Stop).
  void Flush();

  RejectedStore* store() const { return store_.get(); }
  // oceanus_rejected_stored_total{site,kind,reason}, oceanus_rejected_dropped_total{cause}.
  void WriteMetrics(MetricsWriter& out) const;

 private:
  void Run(std::stop_token stop);
  void Wake();
  // Takes every lane's entries into `batch` (swapping slots, so both keep their capacity).
  void Collect();
  void Summarise(std::span<const Rejection> batch);
  void LogSummary();

  std::unique_ptr<RejectedStore> store_;
  Options options_;
  mutable std::mutex lanes_mu_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex flush_mu_;           // one Flush at a time (the thread's, or Stop's)
  std::vector<Rejection> batch_;  // its first batch_used_ entries are the batch
  std::size_t batch_used_ = 0;
  // Since the last summary line: refusals per site, then reason, and the last one's words.
  struct SiteSummary {
    std::map<std::string, std::uint64_t> reasons;
    std::string last_detail;
  };
  std::map<std::string, SiteSummary> summary_;
  std::chrono::steady_clock::time_point summary_since_;
  mutable std::mutex counts_mu_;
  RejectedCounts stored_;
  std::uint64_t dropped_bound_ = 0;
  std::uint64_t dropped_error_ = 0;
  LogLimiter store_failures_{std::chrono::seconds(10)};  // "not kept": a line per 10 s at most
  std::mutex wake_mu_;
  bool wake_pending_ = false;  // under wake_mu_
  std::condition_variable_any wake_;
  std::jthread thread_;
};

// "GET /swallow/site?a=1 HTTP/1.1\nHost: …\nCookie: [redacted]\n…": a request as the store
// keeps it, cut at `max_bytes`. The values of fields that carry secrets or identify the client
// (Authorization, Cookie, X-Forwarded-For, …; any name with "token", "secret", "key" or
// "auth") are replaced by "[redacted]".
struct HeaderLine {
  std::string_view name;
  std::string_view value;
};
void AppendRedactedRequest(std::string& out, std::string_view method, std::string_view target,
                           const std::vector<HeaderLine>& fields, std::size_t max_bytes);

// Appends `text` cut at `max_bytes` (at a UTF-8 boundary), with "…" when it was cut.
void AppendBounded(std::string& out, std::string_view text, std::size_t max_bytes);

}  // namespace oceanus::queue

// The loader: queue → batches → sink, one loop for all sites of a process.
//
// Per site it gathers entries until a batch is full (rows or bytes) or its oldest entry has
// waited `max_wait`, writes the batch (one sink transaction per table it touches: a batch
// spans two daily tables only around midnight), and acknowledges it only after the sink has
// committed and the dead-letter has synced. A retryable failure keeps the batch and retries
// it with exponential backoff and jitter; the queue simply grows meanwhile. Rows the sink
// will never accept, and records that do not parse, go to the dead-letter.
//
// The same loop keeps the tables ahead of time (today, and tomorrow past noon) every
// `tables.check_every`; a table is also ensured before its first write, so no row ever waits
// for that timer.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "load/load_config.h"
#include "queue/dead_letter.h"
#include "queue/queue.h"
#include "sink/sink.h"
#include "tables/tables_config.h"
#include "util/metrics.h"
#include "util/time.h"

namespace oceanus::load {

// Per site. Rows count once their batch is acknowledged, so a retried batch is not counted
// twice: queued = loaded + dead-lettered + still in the queue.
struct SiteLoadStats {
  std::atomic<std::uint64_t> rows_loaded{0};
  std::atomic<std::uint64_t> rows_dead_lettered{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> errors{0};       // failed batch writes (sink, dead-letter or ack)
  std::atomic<std::uint64_t> retries{0};      // of those, the ones retried after a backoff
  Histogram write_seconds{LatencyBuckets()};  // one sink write (one table's rows)
};

struct LoaderStats {
  explicit LoaderStats(std::size_t sites) : sites(sites) {}
  std::deque<SiteLoadStats> sites;  // by index in config.sites (a deque: never moves them)
  std::uint64_t Total(std::atomic<std::uint64_t> SiteLoadStats::*counter) const;
};

class Loader {
 public:
  // `readers[i]` reads shared.sites[i]; `shared` outlives the loader. Batches are cut as
  // `load` says, tables named with `table_prefix` in `tz` and ensured every
  // `tables.check_every`.
  Loader(const config::Config& shared, const LoadConfig& load, const tables::TablesConfig& tables,
         std::string table_prefix, TimeZone tz, sink::Sink& sink, queue::DeadLetter& dead_letter,
         std::vector<std::unique_ptr<queue::QueueReader>> readers);

  // Loads until `stop` is requested, then loads whatever is already queued and returns.
  // A retryable failure during that final drain leaves the rest in the queue (it is
  // acknowledged only once stored) and returns.
  void Run(std::stop_token stop);

  // Ensures the tables due now exist (also called by Run on its timer).
  Status EnsureDueTables(std::chrono::system_clock::time_point now);

  const LoaderStats& stats() const { return stats_; }
  // oceanus_loader_* and oceanus_events_loaded/dead_lettered_total.
  void WriteMetrics(MetricsWriter& out) const;

 private:
  struct SiteState {
    const config::Site* site;
    SiteLoadStats* stats;
    std::unique_ptr<queue::QueueReader> reader;
    std::vector<queue::Entry> pending;
    std::size_t pending_bytes = 0;
    std::chrono::steady_clock::time_point first_pending;
    std::chrono::milliseconds backoff{0};
    std::chrono::steady_clock::time_point retry_at;
    std::chrono::milliseconds retry_after_hint{0};
    std::unordered_map<std::string, std::size_t> columns;  // field name → column index
    std::size_t column_count = 0;
    std::int64_t table_bucket = 0;  // 15-minute bucket of the last dt seen, and its table
    std::string bucket_table;
  };
  // Reads what is available; returns the number of entries read.
  std::size_t Fill(SiteState& s, std::chrono::milliseconds wait);
  bool Due(const SiteState& s, std::chrono::steady_clock::time_point now) const;
  // Writes and acknowledges s.pending. A failure leaves it pending (with backoff).
  Status Flush(SiteState& s);
  Status EnsureTable(const config::Site& site, const std::string& table);
  const sink::TableSpec& Spec(const config::Site& site, const std::string& table);

  const config::Config& shared_;
  const LoadConfig load_;
  const tables::TablesConfig tables_;
  const std::string table_prefix_;
  TimeZone tz_;
  sink::Sink& sink_;
  queue::DeadLetter& dead_letter_;
  std::vector<SiteState> sites_;
  std::map<std::string, sink::TableSpec> specs_;
  std::set<std::string> ensured_;
  LoaderStats stats_;
};

}  // namespace oceanus::load

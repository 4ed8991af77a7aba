// The loader: queue → batches → sink, one loop for all sites of a process.
//
// Per site it gathers entries until a batch is full (rows or bytes) or its oldest entry has
// waited `max_wait`, writes the batch (one sink transaction per table it touches: a batch
// spans two daily tables only around midnight), and acknowledges it only after the sink has
// committed and the dead-letter has synced. A retryable failure keeps the batch and retries
// it with exponential backoff and jitter; the queue simply grows meanwhile. Rows the sink
// will never accept, and records that do not parse, go to the dead-letter.
//
// Reading and writing overlap. Each writer is a thread with a sink of its own (`load.writers`
// of them, as many as the sink takes at once); it parses a batch and writes it (sink, then
// dead-letter) while this loop reads the next batches from the queue and hands them to the
// other writers. Batches are acknowledged here, per site in queue order, each once it and
// every batch before it are stored: an acknowledgement covers every entry read up to it. So a
// batch stored after an earlier one failed waits, unacknowledged, and a failed batch is
// retried before its site cuts another; sinks are idempotent by `eid`, so what was stored
// around a failure and is written again is stored once. The queue readers are used only by
// this loop, each sink by one thread at a time.
//
// The same loop keeps the tables ahead of time (today, and tomorrow past noon) every
// `tables.check_every`, while the writers are idle; a table is also ensured before its first
// write, so no row ever waits for that timer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "event/suppression.h"
#include "load/load_config.h"
#include "queue/dead_letter.h"
#include "queue/queue.h"
#include "queue/rejected.h"
#include "sink/sink.h"
#include "tables/tables_config.h"
#include "util/cpu.h"
#include "util/metrics.h"
#include "util/thread_pool.h"
#include "util/time.h"

namespace oceanus::load {

// Per site. Rows count once their batch is acknowledged, so a retried batch is not counted
// twice: queued = loaded + dead-lettered + suppressed + still in the queue.
struct SiteLoadStats {
  std::atomic<std::uint64_t> rows_loaded{0};
  std::atomic<std::uint64_t> rows_dead_lettered{0};
  std::atomic<std::uint64_t> rows_suppressed{0};  // an erased person's, queued before the erasure
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
  // `tables.check_every`. One writer per sink in `sinks` (at least one; they outlive the
  // loader, and each is used by one thread at a time).
  Loader(const config::Config& shared, const LoadConfig& load, const tables::TablesConfig& tables,
         std::string table_prefix, TimeZone tz, std::vector<sink::Sink*> sinks,
         queue::DeadLetter& dead_letter, std::vector<std::unique_ptr<queue::QueueReader>> readers);

  // Loads until `stop` is requested, then loads whatever is already queued and returns.
  // A retryable failure during that final drain leaves the rest in the queue (it is
  // acknowledged only once stored) and returns.
  void Run(std::stop_token stop);

  // Ensures the tables due now exist (also called by Run on its timer), through the first
  // sink. Not while Run is running on another thread: a sink is used by one thread at a time.
  Status EnsureDueTables(std::chrono::system_clock::time_point now);

  // The ledger the sinks keep their notes in (sink.h: LedgerName): the key of every row of a
  // batch is erased from it once the batch is acknowledged. Before Run.
  void ForgetAcknowledgedIn(std::shared_ptr<queue::Ledger> ledger) { ledger_ = std::move(ledger); }
  // The erased people (`oceanus erase`): their events still in the queue are acknowledged
  // without being written. Before Run.
  void Suppress(std::shared_ptr<const event::SuppressionList> list) {
    suppressed_ = std::move(list);
  }

  // Where every dead-lettered row is also shown, with its reason (queue/rejected.h), cut at
  // `max_payload_bytes`. Before Run.
  void KeepRejected(queue::RejectedRecorder::Lane* lane, std::size_t max_payload_bytes) {
    rejected_ = lane;
    max_payload_bytes_ = max_payload_bytes;
  }

  const LoaderStats& stats() const { return stats_; }
  // oceanus_loader_* and oceanus_events_loaded/dead_lettered_total.
  void WriteMetrics(MetricsWriter& out) const;

 private:
  // What writing one batch came to.
  struct Written {
    Status status;  // not OK: nothing is acknowledged, the batch is retried whole
    std::size_t loaded = 0;
    std::size_t dead_lettered = 0;
    std::size_t suppressed = 0;
    std::chrono::milliseconds retry_after{0};  // a server's Retry-After, with a failure
    std::vector<std::string> keys;             // with a ledger: the rows' key values
  };
  // Entries cut from a site's queue, kept until acknowledged so that a failed batch is
  // retried as it was.
  struct Batch {
    enum class State { kReady, kWriting, kStored };
    std::vector<queue::Entry> entries;
    State state = State::kReady;
    int failures = 0;
    Written written;  // once stored
  };
  struct SiteState {
    const config::Site* site;
    SiteLoadStats* stats;
    std::unique_ptr<queue::QueueReader> reader;
    std::vector<queue::Entry> pending;  // read, not yet cut into a batch
    std::size_t pending_bytes = 0;
    std::chrono::steady_clock::time_point first_pending;
    std::deque<Batch> batches;  // oldest first; a deque: a batch being written never moves
    std::chrono::milliseconds backoff{0};  // non-zero while a batch of the site fails
    std::chrono::steady_clock::time_point retry_at;
    std::unordered_map<std::string, std::size_t> columns;  // field name → column index
    std::size_t column_count = 0;
    // privacy.bots separate: the device column whose "bot" sends a row to the bots table.
    std::size_t bots_column = static_cast<std::size_t>(-1);
  };
  // A thread and the sink only it uses, with what it keeps between batches.
  struct Writer {
    Writer(sink::Sink* s, BackgroundPriority priority) : sink(s), thread(1, priority) {}
    sink::Sink* sink;
    std::map<std::string, sink::TableSpec> specs;
    std::set<std::string> ensured;
    const SiteState* bucket_site = nullptr;  // the 15-minute bucket of the last dt named,
    std::int64_t table_bucket = 0;           // and its table
    std::string bucket_table;
    event::SuppressionList::Snapshot suppressed;
    SiteState* site = nullptr;  // with the batch it writes; null when idle
    Batch* batch = nullptr;
    bool done = false;  // guarded by Loader::mu_, with `result`
    Written result;
    ThreadPool thread;  // yields to the I/O threads (util/cpu.h)
  };
  // Reads what is available; returns the number of entries read.
  std::size_t Fill(SiteState& s, std::chrono::milliseconds wait);
  // Whether `pending` should become a batch.
  bool Due(const SiteState& s, std::chrono::steady_clock::time_point now) const;
  // The batch of `s` to write now, cut from `pending` if needed; null when none is ready.
  Batch* NextBatch(SiteState& s, std::chrono::steady_clock::time_point now);
  // Parses a batch, writes it table by table through `w` and puts what was refused in the
  // dead-letter. Acknowledges nothing; touches only `w` and the batch.
  Written WriteBatch(Writer& w, const SiteState& s, const Batch& b);
  void StartWrite(Writer& w, SiteState& s, Batch& b);
  // Takes the results of finished writes, waiting up to `wait` for one if none has.
  void Collect(std::chrono::milliseconds wait);
  // Records what writing `b` came to and acknowledges what is stored, in order. False when
  // the write or an acknowledgement failed (that batch is then retried after a backoff).
  bool Finish(SiteState& s, Batch& b, Written written);
  bool AcknowledgeStored(SiteState& s);
  // Hands the dead-lettered rows of a batch to the rejected-events store (the first
  // `unreadable` could not be read; the rest the warehouse refused).
  void RecordDead(const config::Site& site, const std::vector<queue::DeadLetter::Item>& dead,
                  std::size_t unreadable) const;
  void Backoff(SiteState& s, const Status& why, std::chrono::milliseconds retry_after,
               std::size_t rows);
  bool Busy() const;
  void Drain();
  Status EnsureTable(Writer& w, const config::Site& site, const std::string& table);
  const sink::TableSpec& Spec(Writer& w, const config::Site& site, const std::string& table);
  // Whether the row has a value the suppression list holds for its site.
  bool Suppressed(Writer& w, const SiteState& s, const sink::Row& row) const;

  const config::Config& shared_;
  const LoadConfig load_;
  const tables::TablesConfig tables_;
  const std::string table_prefix_;
  TimeZone tz_;
  queue::DeadLetter& dead_letter_;
  std::shared_ptr<queue::Ledger> ledger_;
  std::shared_ptr<const event::SuppressionList> suppressed_;
  queue::RejectedRecorder::Lane* rejected_ = nullptr;
  std::size_t max_payload_bytes_ = 4096;
  std::mutex dead_letter_mu_;  // writers put into the one dead-letter
  std::vector<SiteState> sites_;
  LoaderStats stats_;
  std::size_t next_site_ = 0;  // where the search for the next batch starts: sites take turns
  std::mt19937 jitter_{std::random_device{}()};
  std::mutex mu_;
  std::condition_variable written_;  // a writer is done
  std::deque<Writer> writers_;       // last: joined before the state their jobs use goes
};

}  // namespace oceanus::load

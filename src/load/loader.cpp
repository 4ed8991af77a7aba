// Loader: batching, writing, acknowledging; see loader.h for the contract.
#include "load/loader.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include "util/log.h"

#include <thread>
#include <unordered_map>

#include "tables/table_names.h"

namespace oceanus::load {
namespace {

constexpr std::chrono::milliseconds kIdlePoll{20};
constexpr std::chrono::milliseconds kFirstBackoff{200};
constexpr std::chrono::milliseconds kMaxBackoff{30'000};

// One queued record turned into the table it belongs to and its row.
struct ParsedRecord {
  std::string table;
  sink::Row row;
};

// Reads one record (a flat JSON object) straight into a row, in one pass: no DOM, and each
// key found through the site's column index instead of a search per column.
class RowHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, RowHandler> {
 public:
  RowHandler(const std::unordered_map<std::string, std::size_t>& columns, sink::Row& row)
      : columns_(columns), row_(row) {}
  std::string error;

  bool StartObject() {
    if (depth_++ == 0) return true;
    return Fail("field " + key_ + " is not a scalar");
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() {
    return depth_ == 0 ? Fail("not a JSON object") : Fail("field " + key_ + " is not a scalar");
  }
  bool EndArray(rapidjson::SizeType) { return true; }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_.assign(s, n);
    auto it = columns_.find(key_);
    column_ = it == columns_.end() ? kNone : it->second;  // unknown keys are ignored
    return true;
  }
  bool Null() { return Scalar(nullptr, 0, false); }
  bool Bool(bool b) { return Scalar(b ? "true" : "false", b ? 4 : 5, true); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return Scalar(s, n, true); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return Scalar(s, n, true); }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  bool Fail(std::string why) {
    error = std::move(why);
    return false;
  }
  bool Scalar(const char* s, std::size_t n, bool present) {
    if (depth_ == 0) return Fail("not a JSON object");
    if (column_ != kNone && present) row_[column_].emplace(s, n);
    return true;
  }
  const std::unordered_map<std::string, std::size_t>& columns_;
  sink::Row& row_;
  std::string key_;
  std::size_t column_ = kNone;
  int depth_ = 0;
};

// Reads `payload` into `row` (sized to the columns); the dead-letter reason when it cannot.
std::string ReadRow(const std::string& payload,
                    const std::unordered_map<std::string, std::size_t>& columns, sink::Row& row) {
  RowHandler handler(columns, row);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(payload.data(), payload.size());
  const auto result = reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, handler);
  if (!handler.error.empty()) return "unreadable record: " + handler.error;
  if (result.IsError())
    return std::string("unreadable record: ") + rapidjson::GetParseError_En(result.Code());
  return {};
}

}  // namespace

Loader::Loader(const config::Config& shared, const LoadConfig& load,
               const tables::TablesConfig& tables, std::string table_prefix, TimeZone tz,
               std::vector<sink::Sink*> sinks, queue::DeadLetter& dead_letter,
               std::vector<std::unique_ptr<queue::QueueReader>> readers)
    : shared_(shared),
      load_(load),
      tables_(tables),
      table_prefix_(std::move(table_prefix)),
      tz_(std::move(tz)),
      dead_letter_(dead_letter),
      stats_(readers.size()) {
  for (std::size_t i = 0; i < readers.size(); ++i) {
    SiteState s;
    s.site = &shared_.sites[i];
    s.stats = &stats_.sites[i];
    s.reader = std::move(readers[i]);
    for (const auto& f : s.site->schema) {
      if (f.from == config::FieldSource::kDevice && s.bots_column == static_cast<std::size_t>(-1) &&
          s.site->privacy.bots == config::BotPolicy::kSeparate)
        s.bots_column = s.columns.size();
      s.columns.emplace(f.name, s.columns.size());
    }
    s.column_count = s.site->schema.size();
    sites_.push_back(std::move(s));
  }
  for (sink::Sink* sink : sinks) writers_.emplace_back(sink, shared.server.background_priority);
}

bool Loader::Suppressed(Writer& w, const SiteState& s, const sink::Row& row) const {
  const event::SuppressionList::Entries& entries = suppressed_->Current(w.suppressed);
  for (const auto& [site, field] : entries.fields) {
    if (site != s.site->name) continue;
    const auto column = s.columns.find(field);
    if (column != s.columns.end() && row[column->second] &&
        event::SuppressionList::Contains(entries, site, field, *row[column->second]))
      return true;
  }
  return false;
}

const sink::TableSpec& Loader::Spec(Writer& w, const config::Site& site, const std::string& table) {
  auto it = w.specs.find(table);
  if (it == w.specs.end()) it = w.specs.emplace(table, tables::TableSpecFor(site, table)).first;
  return it->second;
}

Status Loader::EnsureTable(Writer& w, const config::Site& site, const std::string& table) {
  if (w.ensured.count(table)) return Status::Ok();
  Status s = w.sink->EnsureTable(Spec(w, site, table));
  if (s.ok()) w.ensured.insert(table);
  return s;
}

Status Loader::EnsureDueTables(std::chrono::system_clock::time_point now) {
  Writer& w = writers_.front();
  for (const auto& site : shared_.sites) {
    for (const auto& table : tables::TablesDueAt(site, table_prefix_, now, tz_)) {
      // Asked of the sink every time, past the writer's own cache: a partitioned table has
      // new days due (sink.h: EnsureTable is cheap when nothing changes).
      Status s = w.sink->EnsureTable(Spec(w, site, table));
      if (!s.ok()) return s;
      w.ensured.insert(table);
    }
  }
  return Status::Ok();
}

namespace {

// max_wait bounds an event's wait from its arrival: one that waited in a backlog (a sink
// outage, a loader started late) is not held back again. The queue tells when it was appended
// when it knows; else the wait counts from now, the read.
std::chrono::steady_clock::time_point FirstWaitedSince(const queue::Entry& first) {
  const auto now = std::chrono::steady_clock::now();
  if (first.appended_ms <= 0) return now;
  const auto appended =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(first.appended_ms));
  const auto waited = std::chrono::system_clock::now() - appended;
  return waited > std::chrono::system_clock::duration::zero()
             ? now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(waited)
             : now;
}

}  // namespace

std::size_t Loader::Fill(SiteState& s, std::chrono::milliseconds wait) {
  const std::size_t rows = load_.batch_rows;
  const std::size_t bytes = load_.batch_bytes;
  if (s.pending.size() >= rows || s.pending_bytes >= bytes) return 0;
  auto read = s.reader->Read(rows - s.pending.size(), bytes - s.pending_bytes, wait);
  if (!read.ok()) {
    spdlog::error("site {}: reading the queue failed: {}", s.site->name, read.status().ToString());
    return 0;
  }
  if (read->empty()) return 0;
  if (s.pending.empty()) s.first_pending = FirstWaitedSince(read->front());
  for (auto& e : *read) {
    s.pending_bytes += e.payload.size();
    s.pending.push_back(std::move(e));
  }
  return read->size();
}

bool Loader::Due(const SiteState& s, std::chrono::steady_clock::time_point now) const {
  if (s.pending.empty()) return false;
  return s.pending.size() >= load_.batch_rows || s.pending_bytes >= load_.batch_bytes ||
         now - s.first_pending >= load_.max_wait;
}

Loader::Batch* Loader::NextBatch(SiteState& s, std::chrono::steady_clock::time_point now) {
  Batch* ready = nullptr;
  bool writing = false;
  for (Batch& b : s.batches) {
    writing = writing || b.state == Batch::State::kWriting;
    if (!ready && b.state == Batch::State::kReady) ready = &b;
  }
  // A batch that failed is tried again after its backoff, alone: the site's next batches
  // wait for it, as a server that is down is not sent more meanwhile.
  if (ready) return ready->failures == 0 || (now >= s.retry_at && !writing) ? ready : nullptr;
  if (s.backoff.count() != 0 || s.batches.size() >= writers_.size() || !Due(s, now)) return nullptr;
  Batch& b = s.batches.emplace_back();
  b.entries.swap(s.pending);
  s.pending_bytes = 0;
  return &b;
}

Loader::Written Loader::WriteBatch(Writer& w, const SiteState& s, const Batch& b) {
  const config::Site& site = *s.site;
  std::map<std::string, std::vector<std::size_t>> by_table;  // table → indices into the batch
  std::vector<sink::Row> rows(b.entries.size());
  std::vector<queue::DeadLetter::Item> dead;
  std::size_t unreadable = 0;  // dead[0, unreadable): records that could not be read

  const std::size_t dt_column =
      s.columns.count("dt") ? s.columns.at("dt") : static_cast<std::size_t>(-1);
  Written out;
  for (std::size_t i = 0; i < b.entries.size(); ++i) {
    const std::string& payload = b.entries[i].payload;
    sink::Row& row = rows[i];
    row.assign(s.column_count, std::nullopt);
    std::string reason = ReadRow(payload, s.columns, row);
    if (!reason.empty()) {
      dead.push_back({payload, std::move(reason)});
      ++unreadable;
      continue;
    }
    if (suppressed_ && Suppressed(w, s, row)) {
      ++out.suppressed;
      continue;
    }
    Result<std::chrono::system_clock::time_point> when = Status::InvalidArgument("no dt");
    if (dt_column < row.size() && row[dt_column]) when = ParseUtcMicros(*row[dt_column]);
    // Records without a usable dt still load: into the table of the time they are loaded.
    const auto dt = when.ok() ? *when : std::chrono::system_clock::now();
    // Every UTC offset in use is a multiple of 15 minutes, so the local date (and with it the
    // table) cannot change within a 15-minute bucket: name the table once per bucket.
    const auto bucket =
        std::chrono::floor<std::chrono::minutes>(dt).time_since_epoch().count() / 15;
    if (bucket != w.table_bucket || w.bucket_site != &s) {
      w.bucket_site = &s;
      w.table_bucket = bucket;
      w.bucket_table = tables::TableFor(site, table_prefix_, dt, tz_);
    }
    const bool bot = s.bots_column < row.size() && row[s.bots_column] == "bot";
    by_table[bot ? tables::BotsTableOf(site, w.bucket_table) : w.bucket_table].push_back(i);
  }

  for (const auto& [table, indices] : by_table) {
    out.status = EnsureTable(w, site, table);
    if (!out.status.ok()) return out;
    std::vector<sink::Row> table_rows;
    table_rows.reserve(indices.size());
    for (std::size_t i : indices) table_rows.push_back(std::move(rows[i]));
    if (ledger_) {
      const std::size_t key = Spec(w, site, table).KeyIndex();
      for (const auto& row : table_rows)
        if (key < row.size() && row[key]) out.keys.push_back(*row[key]);
    }
    const auto started = std::chrono::steady_clock::now();
    sink::WriteResult written = w.sink->Write(Spec(w, site, table), table_rows);
    s.stats->write_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!written.status.ok()) {
      out.status = written.status;
      out.retry_after = written.retry_after;
      return out;  // the whole batch is retried
    }
    for (const auto& rejected : written.rejected) {
      dead.push_back({b.entries[indices[rejected.index]].payload, rejected.reason});
    }
    out.loaded += indices.size() - written.rejected.size();
  }
  {
    std::lock_guard lock(dead_letter_mu_);
    out.status = dead_letter_.Put(site.name, dead);
  }
  if (out.status.ok()) RecordDead(site, dead, unreadable);
  if (out.status.ok() && !dead.empty()) {
    spdlog::warn("site {}: {} record(s) set aside in the dead-letter, first reason: {}", site.name,
                 dead.size(), dead.front().reason);
  }
  out.dead_lettered = dead.size();
  return out;
}

void Loader::RecordDead(const config::Site& site, const std::vector<queue::DeadLetter::Item>& dead,
                        std::size_t unreadable) const {
  if (rejected_ == nullptr) return;
  const auto now = MicrosSinceEpoch(std::chrono::system_clock::now());
  for (std::size_t i = 0; i < dead.size(); ++i) {
    rejected_->Add([&](queue::Rejection& r) {
      r.at_micros = now;
      r.site.assign(site.name);
      r.kind.assign("row");
      r.reason.assign(i < unreadable ? "unreadable" : "sink");
      r.status = 0;
      r.detail.clear();
      queue::AppendBounded(r.detail, dead[i].reason, max_payload_bytes_);
      r.payload.clear();
      queue::AppendBounded(r.payload, dead[i].record, max_payload_bytes_);
    });
  }
}

void Loader::Backoff(SiteState& s, const Status& why, std::chrono::milliseconds retry_after,
                     std::size_t rows) {
  s.stats->errors.fetch_add(1, std::memory_order_relaxed);
  s.backoff = std::min(kMaxBackoff, s.backoff.count() == 0 ? kFirstBackoff : s.backoff * 2);
  // A server that says how long to wait (Retry-After) is believed, up to the cap.
  s.backoff = std::max(s.backoff, std::min(kMaxBackoff, retry_after));
  const auto wait = s.backoff / 2 + std::chrono::milliseconds(std::uniform_int_distribution<long>(
                                        0, s.backoff.count() / 2)(jitter_));
  s.retry_at = std::chrono::steady_clock::now() + wait;
  s.stats->retries.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("site {}: batch of {} not stored ({}); retrying in {} ms", s.site->name, rows,
               why.ToString(), wait.count());
}

bool Loader::Finish(SiteState& s, Batch& b, Written written) {
  if (!written.status.ok()) {
    b.state = Batch::State::kReady;
    ++b.failures;
    Backoff(s, written.status, written.retry_after, b.entries.size());
    return false;
  }
  b.state = Batch::State::kStored;
  b.written = std::move(written);
  return AcknowledgeStored(s);  // `b` with them, unless an earlier batch is not stored yet
}

bool Loader::AcknowledgeStored(SiteState& s) {
  while (!s.batches.empty() && s.batches.front().state == Batch::State::kStored) {
    Batch& b = s.batches.front();
    Status acked = s.reader->Ack(b.entries.back().id);
    if (!acked.ok()) {  // written again (stored once: sinks are idempotent), then acknowledged
      b.state = Batch::State::kReady;
      ++b.failures;
      Backoff(s, acked, std::chrono::milliseconds(0), b.entries.size());
      return false;
    }
    if (ledger_ && !b.written.keys.empty()) {
      // Not durable, and need not be (queue/ledger.h): a key back after a crash is still true.
      if (Status forgot = ledger_->Erase(b.written.keys); !forgot.ok())
        spdlog::warn("site {}: forgetting {} ledger key(s): {}", s.site->name,
                     b.written.keys.size(), forgot.ToString());
    }
    s.stats->rows_loaded.fetch_add(b.written.loaded, std::memory_order_relaxed);
    s.stats->rows_dead_lettered.fetch_add(b.written.dead_lettered, std::memory_order_relaxed);
    s.stats->rows_suppressed.fetch_add(b.written.suppressed, std::memory_order_relaxed);
    s.stats->batches.fetch_add(1, std::memory_order_relaxed);
    if (b.failures > 0) s.backoff = std::chrono::milliseconds(0);
    s.batches.pop_front();
  }
  return true;
}

void Loader::StartWrite(Writer& w, SiteState& s, Batch& b) {
  b.state = Batch::State::kWriting;
  w.site = &s;
  w.batch = &b;
  w.thread.Submit([this, &w, &s, &b] {
    Written result = WriteBatch(w, s, b);
    std::lock_guard lock(mu_);
    w.result = std::move(result);
    w.done = true;
    written_.notify_one();
  });
}

bool Loader::Busy() const {
  for (const Writer& w : writers_)
    if (w.site) return true;
  return false;
}

void Loader::Collect(std::chrono::milliseconds wait) {
  std::vector<Writer*> done;
  {
    std::unique_lock lock(mu_);
    auto any_done = [&] {
      for (Writer& w : writers_)
        if (w.done) return true;
      return false;
    };
    if (wait.count() > 0) written_.wait_for(lock, wait, any_done);
    for (Writer& w : writers_) {
      if (!w.done) continue;
      w.done = false;
      done.push_back(&w);
    }
  }
  for (Writer* w : done) {
    SiteState& s = *w->site;
    Batch& b = *w->batch;
    w->site = nullptr;
    w->batch = nullptr;
    Finish(s, b, std::move(w->result));
  }
}

void Loader::Drain() {
  while (Busy()) Collect(kIdlePoll);
  Writer& w = writers_.front();
  for (auto& s : sites_) {
    while (true) {
      if (s.batches.empty()) {
        Fill(s, std::chrono::milliseconds(0));
        if (s.pending.empty()) break;
        s.batches.emplace_back().entries.swap(s.pending);
        s.pending_bytes = 0;
      }
      Batch& b = s.batches.front();  // every batch left is ready: none is being written
      if (!Finish(s, b, WriteBatch(w, s, b))) {
        std::size_t left = s.pending.size();
        for (const Batch& kept : s.batches) left += kept.entries.size();
        spdlog::warn("site {}: {} event(s) stay queued for the next start", s.site->name, left);
        break;
      }
    }
  }
}

void Loader::Run(std::stop_token stop) {
  auto next_table_check = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    Collect(std::chrono::milliseconds(0));
    // The tables are checked while no writer uses the first sink, so writing pauses for it.
    const bool tables_due = std::chrono::steady_clock::now() >= next_table_check;
    if (tables_due && !Busy()) {
      Status s = EnsureDueTables(std::chrono::system_clock::now());
      if (!s.ok()) spdlog::warn("table manager: {}", s.ToString());
      next_table_check = std::chrono::steady_clock::now() + tables_.check_every;
      continue;
    }
    // Read while the writers write: up to a full batch, or what is there. What is held
    // (read, being written or waiting for a retry) is kept from other consumers' claims.
    for (auto& s : sites_) {
      while (Fill(s, std::chrono::milliseconds(0)) > 0) {
      }
      if (Status kept = s.reader->KeepHeld(); !kept.ok())
        spdlog::warn("site {}: keeping held entries from being claimed: {}", s.site->name,
                     kept.ToString());
    }
    bool started = false;
    const auto now = std::chrono::steady_clock::now();
    for (Writer& w : writers_) {
      if (w.site || tables_due) continue;
      for (std::size_t k = 0; k < sites_.size() && !w.site; ++k) {
        SiteState& s = sites_[(next_site_ + k) % sites_.size()];
        if (Batch* b = NextBatch(s, now)) {
          StartWrite(w, s, *b);
          next_site_ = (next_site_ + k + 1) % sites_.size();
          started = true;
        }
      }
    }
    // Between batches, let events accumulate rather than re-reading the queue in a tight
    // loop: a round costs the same whether it finds 1 event or 1,000. A write that ends
    // meanwhile ends the wait.
    if (!started) Collect(kIdlePoll);
  }
  Drain();  // everything already queued is written before the process exits
  spdlog::info("loader stopped: {} rows loaded in {} batches, {} dead-lettered, {} retries",
               stats_.Total(&SiteLoadStats::rows_loaded), stats_.Total(&SiteLoadStats::batches),
               stats_.Total(&SiteLoadStats::rows_dead_lettered),
               stats_.Total(&SiteLoadStats::retries));
}

std::uint64_t LoaderStats::Total(std::atomic<std::uint64_t> SiteLoadStats::*counter) const {
  std::uint64_t total = 0;
  for (const auto& s : sites) total += (s.*counter).load(std::memory_order_relaxed);
  return total;
}

void Loader::WriteMetrics(MetricsWriter& out) const {
  struct Counter {
    const char* name;
    std::atomic<std::uint64_t> SiteLoadStats::*field;
    const char* help;
  };
  static constexpr Counter kCounters[] = {
      {"oceanus_events_loaded_total", &SiteLoadStats::rows_loaded,
       "Events stored in the warehouse (counted when their batch is acknowledged)."},
      {"oceanus_events_dead_lettered_total", &SiteLoadStats::rows_dead_lettered,
       "Events the warehouse refused or that did not parse, set aside in the dead-letter."},
      {"oceanus_events_suppressed_total", &SiteLoadStats::rows_suppressed,
       "Queued events of people erased since, acknowledged without being stored."},
      {"oceanus_loader_batches_total", &SiteLoadStats::batches,
       "Batches written and acknowledged."},
      {"oceanus_loader_errors_total", &SiteLoadStats::errors,
       "Batch writes that failed (sink, dead-letter or acknowledgement)."},
      {"oceanus_sink_retries_total", &SiteLoadStats::retries,
       "Failed batches scheduled again after a backoff."},
  };
  for (const auto& c : kCounters) {
    out.Family(c.name, "counter", c.help);
    for (std::size_t i = 0; i < sites_.size(); ++i)
      out.Sample(c.name, {{"site", sites_[i].site->name}},
                 static_cast<double>((stats_.sites[i].*c.field).load(std::memory_order_relaxed)));
  }
  out.Family("oceanus_loader_rows_total", "counter",
             "Rows loaded (as oceanus_events_loaded_total).");
  for (std::size_t i = 0; i < sites_.size(); ++i)
    out.Sample("oceanus_loader_rows_total", {{"site", sites_[i].site->name}},
               static_cast<double>(stats_.sites[i].rows_loaded.load(std::memory_order_relaxed)));
  out.Family("oceanus_sink_write_seconds", "histogram", "Time of one sink write (one table).");
  for (std::size_t i = 0; i < sites_.size(); ++i)
    stats_.sites[i].write_seconds.Write(out, "oceanus_sink_write_seconds",
                                        {{"site", sites_[i].site->name}});
}

}  // namespace oceanus::load

// Loader: batching, writing, acknowledging; see loader.h for the contract.
#include "load/loader.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <spdlog/spdlog.h>

#include <random>
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
               sink::Sink& sink, queue::DeadLetter& dead_letter,
               std::vector<std::unique_ptr<queue::QueueReader>> readers)
    : shared_(shared),
      load_(load),
      tables_(tables),
      table_prefix_(std::move(table_prefix)),
      tz_(std::move(tz)),
      sink_(sink),
      dead_letter_(dead_letter),
      stats_(readers.size()) {
  for (std::size_t i = 0; i < readers.size(); ++i) {
    SiteState s;
    s.site = &shared_.sites[i];
    s.stats = &stats_.sites[i];
    s.reader = std::move(readers[i]);
    for (const auto& f : s.site->schema) s.columns.emplace(f.name, s.columns.size());
    s.column_count = s.site->schema.size();
    sites_.push_back(std::move(s));
  }
}

const sink::TableSpec& Loader::Spec(const config::Site& site, const std::string& table) {
  auto it = specs_.find(table);
  if (it == specs_.end()) it = specs_.emplace(table, tables::TableSpecFor(site, table)).first;
  return it->second;
}

Status Loader::EnsureTable(const config::Site& site, const std::string& table) {
  if (ensured_.count(table)) return Status::Ok();
  Status s = sink_.EnsureTable(Spec(site, table));
  if (s.ok()) ensured_.insert(table);
  return s;
}

Status Loader::EnsureDueTables(std::chrono::system_clock::time_point now) {
  for (const auto& site : shared_.sites) {
    for (const auto& table : tables::TablesDueAt(site, table_prefix_, now, tz_)) {
      // Asked of the sink every time, past the loader's own cache: a partitioned table has
      // new days due (sink.h: EnsureTable is cheap when nothing changes).
      Status s = sink_.EnsureTable(Spec(site, table));
      if (!s.ok()) return s;
      ensured_.insert(table);
    }
  }
  return Status::Ok();
}

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
  if (s.pending.empty()) s.first_pending = std::chrono::steady_clock::now();
  for (auto& e : *read) {
    s.pending_bytes += e.payload.size();
    s.pending.push_back(std::move(e));
  }
  return read->size();
}

bool Loader::Due(const SiteState& s, std::chrono::steady_clock::time_point now) const {
  if (s.pending.empty() || now < s.retry_at) return false;
  return s.pending.size() >= load_.batch_rows || s.pending_bytes >= load_.batch_bytes ||
         now - s.first_pending >= load_.max_wait;
}

Status Loader::Flush(SiteState& s) {
  const config::Site& site = *s.site;
  std::map<std::string, std::vector<std::size_t>> by_table;  // table → indices into pending
  std::vector<ParsedRecord> parsed(s.pending.size());
  std::vector<queue::DeadLetter::Item> dead;

  const std::size_t dt_column =
      s.columns.count("dt") ? s.columns.at("dt") : static_cast<std::size_t>(-1);
  for (std::size_t i = 0; i < s.pending.size(); ++i) {
    const std::string& payload = s.pending[i].payload;
    sink::Row& row = parsed[i].row;
    row.assign(s.column_count, std::nullopt);
    std::string reason = ReadRow(payload, s.columns, row);
    if (!reason.empty()) {
      dead.push_back({payload, std::move(reason)});
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
    if (bucket != s.table_bucket || s.bucket_table.empty()) {
      s.table_bucket = bucket;
      s.bucket_table = tables::TableFor(site, table_prefix_, dt, tz_);
    }
    parsed[i].table = s.bucket_table;
    by_table[parsed[i].table].push_back(i);
  }

  std::size_t loaded = 0;
  for (const auto& [table, indices] : by_table) {
    Status ensured = EnsureTable(site, table);
    if (!ensured.ok()) return ensured;
    std::vector<sink::Row> rows;
    rows.reserve(indices.size());
    for (std::size_t i : indices) rows.push_back(std::move(parsed[i].row));
    const auto started = std::chrono::steady_clock::now();
    sink::WriteResult written = sink_.Write(Spec(site, table), rows);
    s.stats->write_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!written.status.ok()) {
      s.retry_after_hint = written.retry_after;
      return written.status;  // the whole batch is retried
    }
    for (const auto& rejected : written.rejected) {
      dead.push_back({s.pending[indices[rejected.index]].payload, rejected.reason});
    }
    loaded += indices.size() - written.rejected.size();
  }
  Status put = dead_letter_.Put(site.name, dead);
  if (!put.ok()) return put;
  if (!dead.empty()) {
    spdlog::warn("site {}: {} record(s) set aside in the dead-letter, first reason: {}", site.name,
                 dead.size(), dead.front().reason);
  }
  Status acked = s.reader->Ack(s.pending.back().id);
  if (!acked.ok()) return acked;
  s.stats->rows_loaded.fetch_add(loaded, std::memory_order_relaxed);
  s.stats->rows_dead_lettered.fetch_add(dead.size(), std::memory_order_relaxed);
  s.stats->batches.fetch_add(1, std::memory_order_relaxed);
  s.pending.clear();
  s.pending_bytes = 0;
  s.backoff = std::chrono::milliseconds(0);
  return Status::Ok();
}

void Loader::Run(std::stop_token stop) {
  std::mt19937 jitter(std::random_device{}());
  auto next_table_check = std::chrono::steady_clock::now();
  auto flush_or_back_off = [&](SiteState& s) {
    Status st = Flush(s);
    if (st.ok()) return true;
    s.stats->errors.fetch_add(1, std::memory_order_relaxed);
    s.backoff = std::min(kMaxBackoff, s.backoff.count() == 0 ? kFirstBackoff : s.backoff * 2);
    // A server that says how long to wait (Retry-After) is believed, up to the cap.
    s.backoff = std::max(s.backoff, std::min(kMaxBackoff, s.retry_after_hint));
    s.retry_after_hint = std::chrono::milliseconds(0);
    const auto wait = s.backoff / 2 + std::chrono::milliseconds(std::uniform_int_distribution<long>(
                                          0, s.backoff.count() / 2)(jitter));
    s.retry_at = std::chrono::steady_clock::now() + wait;
    s.stats->retries.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("site {}: batch of {} not stored ({}); retrying in {} ms", s.site->name,
                 s.pending.size(), st.ToString(), wait.count());
    return false;
  };

  while (!stop.stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_table_check) {
      Status s = EnsureDueTables(std::chrono::system_clock::now());
      if (!s.ok()) spdlog::warn("table manager: {}", s.ToString());
      next_table_check = now + tables_.check_every;
    }
    bool flushed = false;
    for (auto& s : sites_) {
      Fill(s, std::chrono::milliseconds(0));
      if (Due(s, std::chrono::steady_clock::now())) flushed = flush_or_back_off(s) || flushed;
    }
    // Between batches, let events accumulate rather than re-reading the queue in a tight
    // loop: a round costs the same whether it finds 1 event or 1,000.
    if (!flushed) std::this_thread::sleep_for(kIdlePoll);
  }

  // Final drain: everything already queued is written before the process exits.
  for (auto& s : sites_) {
    while (true) {
      Fill(s, std::chrono::milliseconds(0));
      if (s.pending.empty()) break;
      if (!flush_or_back_off(s)) {
        spdlog::warn("site {}: {} event(s) stay queued for the next start", s.site->name,
                     s.pending.size());
        break;
      }
    }
  }
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

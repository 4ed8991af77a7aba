// Loader: batching, writing, acknowledging; see loader.h for the contract.
#include "load/loader.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <spdlog/spdlog.h>

#include <random>
#include <thread>

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

}  // namespace

Loader::Loader(const config::Config& config, TimeZone tz, sink::Sink& sink, DeadLetter& dead_letter,
               std::vector<std::unique_ptr<queue::QueueReader>> readers)
    : config_(config), tz_(std::move(tz)), sink_(sink), dead_letter_(dead_letter) {
  for (std::size_t i = 0; i < readers.size(); ++i) {
    SiteState s;
    s.site = &config_.sites[i];
    s.reader = std::move(readers[i]);
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
  for (const auto& site : config_.sites) {
    for (const auto& table : tables::TablesDueAt(site, config_.sink.table_prefix, now, tz_)) {
      Status s = EnsureTable(site, table);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

std::size_t Loader::Fill(SiteState& s, std::chrono::milliseconds wait) {
  const std::size_t rows = config_.load.batch_rows;
  const std::size_t bytes = config_.load.batch_bytes;
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
  return s.pending.size() >= config_.load.batch_rows ||
         s.pending_bytes >= config_.load.batch_bytes ||
         now - s.first_pending >= config_.load.max_wait;
}

Status Loader::Flush(SiteState& s) {
  const config::Site& site = *s.site;
  std::map<std::string, std::vector<std::size_t>> by_table;  // table → indices into pending
  std::vector<ParsedRecord> parsed(s.pending.size());
  std::vector<DeadLetter::Item> dead;
  std::vector<std::size_t> dead_index;

  for (std::size_t i = 0; i < s.pending.size(); ++i) {
    const std::string& payload = s.pending[i].payload;
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(payload.data(), payload.size());
    std::string reason;
    if (doc.HasParseError()) {
      reason =
          std::string("unreadable record: ") + rapidjson::GetParseError_En(doc.GetParseError());
    } else if (!doc.IsObject()) {
      reason = "unreadable record: not a JSON object";
    }
    std::chrono::system_clock::time_point dt;
    if (reason.empty()) {
      auto it = doc.FindMember("dt");
      auto when =
          it != doc.MemberEnd() && it->value.IsString()
              ? ParseUtcMicros(std::string_view(it->value.GetString(), it->value.GetStringLength()))
              : Result<std::chrono::system_clock::time_point>(Status::InvalidArgument("no dt"));
      // Records without a usable dt still load: into the table of the time they are loaded.
      dt = when.ok() ? *when : std::chrono::system_clock::now();
      parsed[i].table = tables::TableFor(site, config_.sink.table_prefix, dt, tz_);
      const sink::TableSpec& spec = Spec(site, parsed[i].table);
      parsed[i].row.resize(spec.columns.size());
      for (std::size_t c = 0; c < spec.columns.size() && reason.empty(); ++c) {
        auto m = doc.FindMember(spec.columns[c].name.c_str());
        if (m == doc.MemberEnd() || m->value.IsNull()) continue;
        const auto& v = m->value;
        if (v.IsString()) {
          parsed[i].row[c].emplace(v.GetString(), v.GetStringLength());
        } else if (v.IsBool()) {
          parsed[i].row[c] = v.GetBool() ? "true" : "false";
        } else {
          reason = "field " + spec.columns[c].name + " is not a scalar";
        }
      }
    }
    if (!reason.empty()) {
      dead.push_back({payload, std::move(reason)});
      dead_index.push_back(i);
      continue;
    }
    by_table[parsed[i].table].push_back(i);
  }

  for (const auto& [table, indices] : by_table) {
    Status ensured = EnsureTable(site, table);
    if (!ensured.ok()) return ensured;
    std::vector<sink::Row> rows;
    rows.reserve(indices.size());
    for (std::size_t i : indices) rows.push_back(std::move(parsed[i].row));
    sink::WriteResult written = sink_.Write(Spec(site, table), rows);
    if (!written.status.ok()) {
      // Put the rows back: the whole batch is retried.
      for (std::size_t k = 0; k < indices.size(); ++k) parsed[indices[k]].row = std::move(rows[k]);
      return written.status;
    }
    for (const auto& rejected : written.rejected) {
      dead.push_back({s.pending[indices[rejected.index]].payload, rejected.reason});
    }
    stats_.rows_loaded += indices.size() - written.rejected.size();
  }
  Status put = dead_letter_.Put(site.name, dead);
  if (!put.ok()) return put;
  if (!dead.empty()) {
    spdlog::warn("site {}: {} record(s) set aside in the dead-letter, first reason: {}", site.name,
                 dead.size(), dead.front().reason);
    stats_.rows_dead_lettered += dead.size();
  }
  Status acked = s.reader->Ack(s.pending.back().id);
  if (!acked.ok()) return acked;
  ++stats_.batches;
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
    s.backoff = std::min(kMaxBackoff, s.backoff.count() == 0 ? kFirstBackoff : s.backoff * 2);
    const auto wait = s.backoff / 2 + std::chrono::milliseconds(std::uniform_int_distribution<long>(
                                          0, s.backoff.count() / 2)(jitter));
    s.retry_at = std::chrono::steady_clock::now() + wait;
    ++stats_.retries;
    spdlog::warn("site {}: batch of {} not stored ({}); retrying in {} ms", s.site->name,
                 s.pending.size(), st.ToString(), wait.count());
    return false;
  };

  while (!stop.stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_table_check) {
      Status s = EnsureDueTables(std::chrono::system_clock::now());
      if (!s.ok()) spdlog::warn("table manager: {}", s.ToString());
      next_table_check = now + config_.tables.check_every;
    }
    std::size_t read = 0;
    for (auto& s : sites_) {
      read += Fill(s, std::chrono::milliseconds(0));
      if (Due(s, std::chrono::steady_clock::now())) flush_or_back_off(s);
    }
    if (read == 0) std::this_thread::sleep_for(kIdlePoll);
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
               stats_.rows_loaded.load(), stats_.batches.load(), stats_.rows_dead_lettered.load(),
               stats_.retries.load());
}

}  // namespace oceanus::load

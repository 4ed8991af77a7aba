// The erasure's steps in order, and its audit line; see erasure.h.
#include "load/erasure.h"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "event/suppression.h"
#include "queue/redis/redis_config.h"
#include "queue/redis/redis_dead_letter.h"
#include "queue/redis/redis_rejected.h"
#include "queue/spool/file_dead_letter.h"
#include "queue/spool/sqlite_rejected.h"
#include "tables/table_names.h"
#include "util/fd.h"
#include "util/http_client.h"
#include "util/json.h"
#include "util/time.h"

namespace oceanus::load {
namespace {

bool HasField(const config::Site& site, const std::string& field) {
  return std::any_of(site.schema.begin(), site.schema.end(),
                     [&](const config::Field& f) { return f.name == field; });
}

// Whether a queued record (a flat JSON object) has `field` equal to `value`: a string by its
// text, a number or a boolean by its JSON spelling, as the warehouse columns compare.
bool RecordHas(std::string_view record, const std::string& field, const std::string& value) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(record.data(), record.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto it = doc.FindMember(field.c_str());
  if (it == doc.MemberEnd()) return false;
  if (it->value.IsString())
    return std::string_view(it->value.GetString(), it->value.GetStringLength()) == value;
  if (it->value.IsBool()) return value == (it->value.GetBool() ? "true" : "false");
  return false;
}

// `message` with every occurrence of `value` replaced: a server's error may quote it.
std::string Redacted(std::string message, const std::string& value) {
  for (auto at = message.find(value); at != std::string::npos; at = message.find(value, at + 7))
    message.replace(at, value.size(), "<value>");
  return message;
}

Status AppendAudit(const std::string& data_dir, const std::string& line) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  const std::string path = data_dir + "/erasures.jsonl";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  const std::string text = line + "\n";
  if (!fd.valid() ||
      ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fdatasync(fd.get()) != 0)
    return Status::IoError(path + ": " + std::strerror(errno));
  return Status::Ok();
}

// Steps 1-3 of erasure.h for the chosen sites, into `report`; stops at the first failure.
Status RunSteps(const config::Config& config, const std::string& table_prefix, sink::Sink& sink,
                event::SuppressionList::Store& suppressed, queue::DeadLetter& dead_letter,
                queue::RejectedStore* rejected, const ErasureRequest& request,
                std::chrono::milliseconds settle, ErasureReport& report) {
  if (!request.dry_run) {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    for (const auto& site : report.sites) {
      Status s = event::SuppressionList::Add(suppressed, site, request.field, request.value);
      if (!s.ok()) return s.WithContext("the suppression list");
    }
    report.suppressed = true;
    std::this_thread::sleep_for(settle);  // running collectors and loaders re-read the list
  }
  auto tables = sink.ListTables();
  if (!tables.ok()) return tables.status();
  std::sort(tables->begin(), tables->end());
  for (const auto& name : report.sites) {
    const config::Site& site = *config.FindSite(name);
    for (const auto& table : *tables) {
      if (!tables::IsTableOf(site, table_prefix, table)) continue;
      auto rows = sink.EraseRows(table, request.field, request.value, request.dry_run);
      if (!rows.ok()) return rows.status().WithContext(table);
      report.tables.push_back({name, table, *rows});
    }
  }
  const auto matches = [&](std::string_view record) {
    return RecordHas(record, request.field, request.value);
  };
  for (const auto& name : report.sites) {
    auto n = dead_letter.Erase(name, matches, request.dry_run);
    if (!n.ok()) return n.status().WithContext("dead-letter of " + name);
    report.dead.emplace_back(name, *n);
  }
  if (rejected == nullptr) return Status::Ok();
  const auto shows = [&](std::string_view text) { return TextShowsValue(text, request.value); };
  for (const auto& name : report.sites) {
    auto n = rejected->Erase(name, shows, request.dry_run);
    if (!n.ok()) return n.status().WithContext("rejected events of " + name);
    report.rejected += *n;
  }
  return Status::Ok();
}

}  // namespace

long long ErasureReport::Rows() const {
  long long n = 0;
  for (const auto& t : tables) n += t.rows;
  return n;
}

long long ErasureReport::DeadRecords() const {
  long long n = 0;
  for (const auto& [site, records] : dead) n += records;
  return n;
}

Result<std::vector<std::string>> SitesToErase(const config::Config& config,
                                              const ErasureRequest& request) {
  if (request.field.empty()) return Status::InvalidArgument("erase: --field is required");
  if (request.value.empty()) return Status::InvalidArgument("erase: --value must not be empty");
  std::vector<std::string> sites;
  if (!request.site.empty()) {
    const config::Site* site = config.FindSite(request.site);
    if (!site) return Status::InvalidArgument("erase: no site '" + request.site + "'");
    if (!HasField(*site, request.field))
      return Status::InvalidArgument("erase: site '" + request.site + "' has no field '" +
                                     request.field + "'");
    sites.push_back(site->name);
    return sites;
  }
  for (const auto& site : config.sites)
    if (HasField(site, request.field)) sites.push_back(site.name);
  if (sites.empty())
    return Status::InvalidArgument("erase: no site has a field '" + request.field + "'");
  return sites;
}

Result<ErasureReport> Erase(const config::Config& config, const std::string& table_prefix,
                            sink::Sink& sink, event::SuppressionList::Store& suppressed,
                            queue::DeadLetter& dead_letter, const ErasureRequest& request,
                            std::chrono::milliseconds settle, queue::RejectedStore* rejected) {
  auto sites = SitesToErase(config, request);
  if (!sites.ok()) return sites.status();
  ErasureReport report;
  report.sites = std::move(sites).value();
  const auto at = std::chrono::system_clock::now();
  const Status done = RunSteps(config, table_prefix, sink, suppressed, dead_letter, rejected,
                               request, settle, report);
  if (!done.ok()) report.error = Redacted(done.message(), request.value);
  const Status audited = AppendAudit(config.data_dir, AuditLine(request, report, at));
  if (!done.ok()) return done;
  if (!audited.ok()) return audited.WithContext("the audit line");
  return report;
}

namespace {

// Whether `text` has `needle` ending where a value ends (the text's end, '&', '"', a space,
// a line break, ',' or '}').
bool HasBounded(std::string_view text, const std::string& needle) {
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    const std::size_t end = at + needle.size();
    if (end == text.size() ||
        std::string_view("&\" \n\r,}").find(text[end]) != std::string_view::npos)
      return true;
  }
  return false;
}

}  // namespace

bool TextShowsValue(std::string_view text, const std::string& value) {
  std::string json;
  AppendJsonString(json, value);  // "value", escaped as a record has it
  return HasBounded(text, "=" + value) || HasBounded(text, "=" + FormEncode(value)) ||
         text.find(json) != std::string_view::npos;
}

std::unique_ptr<queue::DeadLetter> OpenDeadLetter(const config::Config& shared,
                                                  const queue::QueueConfig& queue) {
  if (const auto* redis = queue::redis::RedisConfigOf(queue))
    return std::make_unique<queue::redis::RedisDeadLetter>(*redis);
  return std::make_unique<queue::FileDeadLetter>(shared.data_dir + "/deadletter");
}

std::unique_ptr<queue::RejectedStore> OpenRejectedStore(const config::Config& shared,
                                                        const queue::QueueConfig& queue) {
  const queue::RejectedBound bound{shared.rejected.max_per_site, shared.rejected.max_age};
  if (const auto* redis = queue::redis::RedisConfigOf(queue)) {
    std::vector<std::string> sites;
    for (const auto& s : shared.sites) sites.push_back(s.name);
    return std::make_unique<queue::redis::RedisRejectedStore>(*redis, std::move(sites), bound);
  }
  return std::make_unique<queue::SqliteRejectedStore>(shared.data_dir + "/rejected.db", bound);
}

std::string Describe(const ErasureRequest& request, const ErasureReport& report) {
  std::string sites;
  for (const auto& s : report.sites) sites += (sites.empty() ? "" : ", ") + s;
  std::string out = std::string(request.dry_run ? "would erase " : "erased ") +
                    std::to_string(report.Rows()) + " row(s) in " +
                    std::to_string(report.tables.size()) + " table(s) and " +
                    std::to_string(report.DeadRecords()) + " dead-letter record(s) by " +
                    request.field + " on " + sites;
  if (report.rejected > 0)
    out += "; " + std::to_string(report.rejected) + " rejected-event entr(ies) showing it";
  if (report.suppressed) out += "; new events with this " + request.field + " are not stored";
  for (const auto& t : report.tables)
    if (t.rows > 0) out += "\n  " + t.table + ": " + std::to_string(t.rows);
  return out;
}

std::string AuditLine(const ErasureRequest& request, const ErasureReport& report,
                      std::chrono::system_clock::time_point at) {
  char when[32];
  std::string out = "{\"at\":";
  AppendJsonString(out, std::string_view(when, FormatUtcMicros(at, when)));
  out += ",\"field\":";
  AppendJsonString(out, request.field);
  out += ",\"dry_run\":";
  out += request.dry_run ? "true" : "false";
  out += ",\"sites\":[";
  for (std::size_t i = 0; i < report.sites.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, report.sites[i]);
  }
  out += "],\"tables\":{";
  for (std::size_t i = 0; i < report.tables.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, report.tables[i].table);
    out += ':' + std::to_string(report.tables[i].rows);
  }
  out += "},\"dead_letter\":{";
  for (std::size_t i = 0; i < report.dead.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, report.dead[i].first);
    out += ':' + std::to_string(report.dead[i].second);
  }
  out += "},\"rejected\":" + std::to_string(report.rejected) + ",\"suppressed\":";
  out += report.suppressed ? "true" : "false";
  if (!report.error.empty()) {
    out += ",\"error\":";
    AppendJsonStringLossy(out, report.error);
  }
  out += '}';
  return out;
}

}  // namespace oceanus::load

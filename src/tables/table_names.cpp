/* Table naming: which table an event goes to, and which tables must exist ahead of time.
 *
 * Daily tables are named by the *local* date of the event's dt in the configured zone (the
 * original used JST), so a replayed or late event still lands in the table of the day it
 * happened, and a day's table holds exactly that local day. The table manager creates
 * today's table and, from local noon on, tomorrow's, so the first rows after midnight never
 * wait for a create (or, on BigQuery, for a new table to become writable).
 *
 * "Tomorrow" is the next calendar date, not now + 24 hours: on the day clocks spring forward
 * the local day has 23 hours, and 23:30 + 24h would already be the day after tomorrow.
 */
#include "tables/table_names.h"

#include <algorithm>
#include <utility>

namespace oceanus::tables {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::seconds;
using std::chrono::sys_days;

// The local civil date and time of `t` in `tz`, as a sys_seconds that holds wall-clock time.
std::chrono::sys_seconds LocalWallTime(std::chrono::system_clock::time_point t,
                                       const TimeZone& tz) {
  return floor<seconds>(t) + tz.OffsetAt(t);
}

std::string DailyName(const config::Site& site, const std::string& prefix, sys_days local_day) {
  // LocalDateCompact of local midnight read in UTC is that same date.
  return prefix + site.name + "_" + LocalDateCompact(local_day, TimeZone());
}

}  // namespace

std::string TableFor(const config::Site& site, const std::string& prefix,
                     std::chrono::system_clock::time_point dt, const TimeZone& tz) {
  if (site.tables == config::TableLayout::kSingle) return prefix + site.name;
  return prefix + site.name + "_" + LocalDateCompact(dt, tz);
}

std::vector<std::string> TablesDueAt(const config::Site& site, const std::string& prefix,
                                     std::chrono::system_clock::time_point now,
                                     const TimeZone& tz) {
  if (site.tables == config::TableLayout::kSingle) return {prefix + site.name};
  const auto local = LocalWallTime(now, tz);
  const sys_days today = floor<days>(local);
  std::vector<std::string> out{DailyName(site, prefix, today)};
  if (local - today >= std::chrono::hours(12))
    out.push_back(DailyName(site, prefix, today + days(1)));
  return out;
}

std::string BotsTableOf(const config::Site& site, const std::string& table) {
  if (site.tables == config::TableLayout::kSingle) return table + "_bots";
  // "<base>_YYYYMMDD" → "<base>_bots_YYYYMMDD"
  std::string out = table;
  out.insert(out.size() - 8, "bots_");
  return out;
}

bool IsTableOf(const config::Site& site, const std::string& prefix, std::string_view table) {
  for (const std::string base : {prefix + site.name, prefix + site.name + "_bots"}) {
    if (site.tables == config::TableLayout::kSingle) {
      if (table == base) return true;
      continue;
    }
    if (table.size() != base.size() + 9 || !table.starts_with(base) || table[base.size()] != '_')
      continue;
    const std::string_view date = table.substr(base.size() + 1);
    if (std::all_of(date.begin(), date.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return true;
  }
  return false;
}

TableSpec TableSpecFor(const config::Site& site, std::string table_name) {
  TableSpec spec;
  spec.name = std::move(table_name);
  spec.columns.reserve(site.schema.size());
  for (const auto& f : site.schema)
    spec.columns.push_back({f.name, f.type, f.mode, f.description, f.json});
  spec.key_column = "eid";
  if (site.tables == config::TableLayout::kSingle) {
    for (const auto& f : site.schema)
      if (f.name == "dt" && f.type == config::FieldType::kTimestamp)
        spec.time_partition_field = "dt";
  }
  return spec;
}

std::vector<std::string> TablesSince(const config::Site& site, const std::string& prefix,
                                     std::chrono::system_clock::time_point since,
                                     std::chrono::system_clock::time_point now,
                                     const TimeZone& tz) {
  std::vector<std::string> tables;
  for (auto t = since;; t += std::chrono::hours(24)) {
    std::string name = TableFor(site, prefix, std::min(t, now), tz);
    if (tables.empty() || tables.back() != name) tables.push_back(std::move(name));
    if (t >= now) break;
  }
  return tables;
}

}  // namespace oceanus::tables

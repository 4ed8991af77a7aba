// A site's day in numbers, read back from the warehouse for the admin page's overview
// (HistorySource::Overview): events and visitors per local hour, and the top pages, referrers,
// device classes and event names.
//
// Every sink answers it with the same two query shapes, built here from a small dialect
// (how the warehouse quotes names and spells a parameter): one GROUP BY over the day's rows
// for the hours, and one GROUP BY … ORDER BY count for each list. The local hour of a row is
// decided by comparing its UTC `dt` with the UTC instants at which the zone's local hours
// begin (LocalHours, computed with oceanus's own TimeZone), so that every warehouse — SQLite
// has no time zones at all — counts a row in the same hour, DST days and half-hour zones
// included, and the instants travel as parameters like any other value.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "util/status.h"
#include "util/time.h"

namespace oceanus::sink {

struct OverviewRequest {
  std::chrono::year_month_day day;  // a civil date in `zone`
  TimeZone zone;                    // the configured time_zone: hours are its local hours
  std::size_t top = 10;             // entries of each list, at most
};

struct CountedValue {
  std::string value;
  long long count = 0;
  bool operator==(const CountedValue&) const = default;
};

struct HourCount {
  long long events = 0;
  long long visitors = 0;  // distinct values of the visitor column within that hour
  bool operator==(const HourCount&) const = default;
};

struct SiteOverview {
  std::string time_zone;              // the zone's name, as configured
  std::array<HourCount, 24> hours{};  // by local hour; the hour DST repeats holds both passes
  // Most frequent first; equal counts in byte order of the value. NULLs are left out, and
  // empty referrers (direct visits) too.
  std::vector<CountedValue> pages, referrers, devices, events;
  std::vector<std::string> notes;  // each section the site has no column for, and why
};

// The columns the overview reads, chosen from the site's schema (string fields only); empty
// when the site has none: visitor sid or anonymous_id (Segment), page url or
// context_page_url, referrer ref or context_page_referrer, device dev, event evt or event.
struct OverviewColumns {
  std::string visitor, page, referrer, device, event;
};
OverviewColumns OverviewColumnsOf(const config::Site& site);
// A note for each section OverviewColumnsOf leaves without a column.
std::vector<std::string> MissingColumnNotes(const config::Site& site, const OverviewColumns& c);

// One local hour of a day as the UTC instants it spans: [begin, end).
struct HourSlot {
  int hour = 0;
  std::chrono::system_clock::time_point begin, end;
};
// The local hours of `day` in `zone`, in time order and back to back: 24 of them, 23 on the day
// clocks spring forward, and on the day they fall back the repeated hour as one longer slot.
// Instants are whole seconds (zone offsets are).
std::vector<HourSlot> LocalHours(std::chrono::year_month_day day, const TimeZone& zone);
// "YYYY-MM-DD" → the date, or an InvalidArgument saying what is wrong.
Result<std::chrono::year_month_day> ParseCivilDate(const std::string& text);
// The civil date of `t` in `zone`.
std::chrono::year_month_day LocalDate(std::chrono::system_clock::time_point t,
                                      const TimeZone& zone);

// How one warehouse spells the overview's SQL.
struct OverviewDialect {
  std::string (*quote)(const std::string& name) = nullptr;  // an identifier
  // A column's value as text in a union branch (e.g. toNullable(toString(c))), and a missing
  // column's (NULL); `quote(c)` and "NULL" when left empty.
  std::string (*value)(const std::string& quoted) = nullptr;
  std::string missing = "NULL";
  std::string after_table;  // e.g. " FINAL"
  std::string count_distinct = "COUNT(DISTINCT v)";
  std::string order_value = "v";  // the tie-break: byte order of the value
};

// One table (or wildcard table) a query reads, its FROM text already quoted, an extra WHERE
// condition (BigQuery's _TABLE_SUFFIX range) and the columns it has.
struct OverviewTable {
  std::string from;
  std::string condition;
  std::set<std::string> columns;
};

// SELECT h, events, visitors: `times` are the spelled instants of `slots` (slots.size() + 1 of
// them: each slot's begin, then the last one's end). Tables without dt are left out; "" when
// none is left.
std::string OverviewHoursSql(const OverviewDialect& d, const std::vector<OverviewTable>& tables,
                             const std::vector<HourSlot>& slots,
                             const std::vector<std::string>& times, const std::string& visitor);
// SELECT v, n of `column` in [from, to), most frequent first, LIMIT `limit` (spelled); "" when
// no table has the column.
std::string OverviewTopSql(const OverviewDialect& d, const std::vector<OverviewTable>& tables,
                           const std::string& column, bool skip_empty, const std::string& from,
                           const std::string& to, const std::string& limit);

// A count as the warehouse spells it (decimal digits), or an Unavailable naming `what`.
Result<long long> ParseCount(const std::string& text, const std::string& what);

// One query's answer as text, NULLs as nullopt.
using OverviewRows = std::vector<std::vector<std::optional<std::string>>>;
// How a sink spells the day's instants (the i-th of LocalHours' begins and the last end, as a
// parameter or an escaped literal) and the lists' LIMIT.
struct OverviewSpelling {
  std::function<std::string(std::size_t index, std::chrono::system_clock::time_point t)> time;
  std::string limit;
};
// Runs one query: the hours query (`hours`, which uses every instant) or a list's (which uses
// the first and the last instant, and the limit), binding what the spelling named.
using OverviewRun = std::function<Result<OverviewRows>(
    const std::string& sql, bool hours,
    const std::vector<std::chrono::system_clock::time_point>& instants)>;

// The daily tables a request's day touches in the tables' zone `tables_tz` (one, or two when
// the request's zone is not the tables'), or the site's one table.
std::vector<std::string> OverviewTableNames(const config::Site& site, const std::string& prefix,
                                            const OverviewRequest& request,
                                            const TimeZone& tables_tz);
// The whole overview: the hours query and a query per list through `run`, answers checked.
Result<SiteOverview> RunOverview(const config::Site& site, const OverviewRequest& request,
                                 const std::vector<OverviewTable>& tables,
                                 const OverviewDialect& dialect, const OverviewSpelling& spelling,
                                 const OverviewRun& run);

}  // namespace oceanus::sink

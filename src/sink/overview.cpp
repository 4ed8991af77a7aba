/* The overview's queries, shared by every sink (sink/overview.h).
 *
 * A local hour is a range of UTC instants, so the hours query needs no time-zone support
 * from the warehouse: `CASE WHEN dt < @t1 THEN 0 WHEN dt < @t2 THEN 1 … END` labels each row
 * with its local hour, and GROUP BY that label counts events and distinct visitors. Grouping
 * by the label (not by the slot) keeps a visitor seen twice in the hour that DST repeats one
 * visitor. The instants come from LocalHours, which walks the day in UTC: from local midnight,
 * to the next local full hour or the next change of offset, whichever is first.
 *
 * A day may touch two daily tables (when the tables are named in another zone than the
 * overview's); the tables are read as one UNION ALL, each branch selecting only the two
 * columns the query needs, so tables whose schemas differ (a field added since) still union:
 * a column a table lacks reads as NULL.
 */
#include "sink/overview.h"

#include <algorithm>
#include <charconv>

#include "tables/table_names.h"

namespace oceanus::sink {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::sys_seconds;
using Clock = std::chrono::system_clock;

// The first of `names` that is a string field of `site`, or "".
std::string FirstStringField(const config::Site& site, std::initializer_list<const char*> names) {
  for (const char* name : names)
    for (const auto& f : site.schema)
      if (f.name == name && f.type == config::FieldType::kString) return f.name;
  return "";
}

sys_seconds LocalWall(sys_seconds t, const TimeZone& zone) { return t + zone.OffsetAt(t); }

// The first instant whose local date is `day` or later (local midnight, or the end of a gap
// that skips it), by bisection: the local date grows with time, except where a zone jumps back
// across midnight (either crossing may be found then).
sys_seconds StartOfLocalDay(sys_days day, const TimeZone& zone) {
  sys_seconds lo = sys_seconds(day) - hours(26), hi = sys_seconds(day) + hours(26);
  while (hi - lo > seconds(1)) {
    const sys_seconds mid = lo + (hi - lo) / 2;
    (floor<days>(LocalWall(mid, zone)) >= day ? hi : lo) = mid;
  }
  return hi;
}

// The first instant in (after, limit] whose offset is not `offset`, or `limit` when none is.
sys_seconds NextOffsetChange(sys_seconds after, sys_seconds limit, seconds offset,
                             const TimeZone& zone) {
  if (zone.OffsetAt(limit) == offset) return limit;
  sys_seconds lo = after, hi = limit;
  while (hi - lo > seconds(1)) {
    const sys_seconds mid = lo + (hi - lo) / 2;
    (zone.OffsetAt(mid) == offset ? lo : hi) = mid;
  }
  return hi;
}

std::string ValueOf(const OverviewDialect& d, const OverviewTable& t, const std::string& column) {
  if (column.empty() || !t.columns.count(column)) return d.missing;
  const std::string quoted = d.quote(column);
  return d.value ? d.value(quoted) : quoted;
}

// UNION ALL of every table with dt (and, when `needed` is given, that column): "dt" AS t and
// the column AS v, in [from, to).
std::string UnionOf(const OverviewDialect& d, const std::vector<OverviewTable>& tables,
                    const std::string& column, bool needed, const std::string& from,
                    const std::string& to) {
  std::string sql;
  for (const auto& t : tables) {
    if (!t.columns.count("dt") || (needed && !t.columns.count(column))) continue;
    if (!sql.empty()) sql += " UNION ALL ";
    const std::string dt = d.quote("dt");
    sql += "SELECT " + dt + " AS t, " + ValueOf(d, t, column) + " AS v FROM " + t.from +
           d.after_table + " WHERE " + dt + " >= " + from + " AND " + dt + " < " + to;
    if (!t.condition.empty()) sql += " AND " + t.condition;
  }
  return sql;
}

// Most frequent first, ties in byte order of the value, at most `top`: whatever the
// warehouse's collation, every sink answers the same list.
void SortTop(std::vector<CountedValue>& values, std::size_t top) {
  std::stable_sort(values.begin(), values.end(), [](const CountedValue& a, const CountedValue& b) {
    return a.count != b.count ? a.count > b.count : a.value < b.value;
  });
  if (values.size() > top) values.resize(top);
}

Status AddHourRow(const std::vector<std::optional<std::string>>& row, SiteOverview& out) {
  if (row.size() < 3 || !row[0] || !row[1] || !row[2])
    return Status::Unavailable("overview: an hours row without hour, events and visitors");
  auto hour = ParseCount(*row[0], "hour");
  if (!hour.ok()) return hour.status();
  if (*hour < 0 || *hour > 23)
    return Status::Unavailable("overview: hour " + *row[0] + " is not an hour");
  auto events = ParseCount(*row[1], "events");
  if (!events.ok()) return events.status();
  auto visitors = ParseCount(*row[2], "visitors");
  if (!visitors.ok()) return visitors.status();
  out.hours[static_cast<std::size_t>(*hour)] = {*events, *visitors};
  return Status::Ok();
}

Result<std::vector<CountedValue>> ListOf(const OverviewRows& rows, std::size_t top) {
  std::vector<CountedValue> values;
  for (const auto& row : rows) {
    if (row.size() < 2 || !row[0] || !row[1])
      return Status::Unavailable("overview: a list row without value and count");
    auto n = ParseCount(*row[1], "count");
    if (!n.ok()) return n.status();
    values.push_back({*row[0], *n});
  }
  SortTop(values, top);
  return values;
}

}  // namespace

OverviewColumns OverviewColumnsOf(const config::Site& site) {
  OverviewColumns c;
  c.visitor = FirstStringField(site, {"sid", "anonymous_id"});
  c.page = FirstStringField(site, {"url", "context_page_url"});
  c.referrer = FirstStringField(site, {"ref", "context_page_referrer"});
  c.device = FirstStringField(site, {"dev"});
  c.event = FirstStringField(site, {"evt", "event"});
  return c;
}

std::vector<std::string> MissingColumnNotes(const config::Site& site, const OverviewColumns& c) {
  std::vector<std::string> notes;
  const auto note = [&](const std::string& column, const char* what, const char* fields) {
    if (column.empty())
      notes.push_back("site " + site.name + " has no " + what + " field (" + fields + ")");
  };
  note(c.visitor, "visitor", "sid or anonymous_id");
  note(c.page, "page", "url or context_page_url");
  note(c.referrer, "referrer", "ref or context_page_referrer");
  note(c.device, "device", "dev");
  note(c.event, "event name", "evt or event");
  return notes;
}

std::vector<HourSlot> LocalHours(std::chrono::year_month_day day, const TimeZone& zone) {
  const sys_days local_day(day);
  std::vector<HourSlot> slots;
  sys_seconds t = StartOfLocalDay(local_day, zone);
  // A day has at most 25 local hours; a few more slots cover offsets that change mid-hour.
  for (int guard = 0; guard < 48 && floor<days>(LocalWall(t, zone)) == local_day; ++guard) {
    const seconds offset = zone.OffsetAt(t);
    const sys_seconds wall = t + offset;
    const sys_seconds next_hour = floor<hours>(wall) + hours(1);
    const sys_seconds end = NextOffsetChange(t, next_hour - offset, offset, zone);
    const int hour = static_cast<int>((floor<hours>(wall) - floor<days>(wall)).count());
    if (!slots.empty() && slots.back().hour == hour) {
      slots.back().end = end;
    } else {
      slots.push_back({hour, t, end});
    }
    t = end;
  }
  return slots;
}

Result<std::chrono::year_month_day> ParseCivilDate(const std::string& text) {
  const auto bad = [&] {
    return Status::InvalidArgument("day: '" + text + "' is not a date (YYYY-MM-DD)");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int y = 0;
  unsigned m = 0, d = 0;
  const auto number = [&](std::size_t at, std::size_t len, auto& out) {
    for (std::size_t i = at; i < at + len; ++i)
      if (text[i] < '0' || text[i] > '9') return false;
    return std::from_chars(text.data() + at, text.data() + at + len, out).ec == std::errc();
  };
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d)) return bad();
  const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(m),
                                         std::chrono::day(d)};
  if (!date.ok() || y < 1970)
    return Status::InvalidArgument("day: " + text + " is not a date of the calendar since 1970");
  return date;
}

std::chrono::year_month_day LocalDate(Clock::time_point t, const TimeZone& zone) {
  return std::chrono::year_month_day(floor<days>(LocalWall(floor<seconds>(t), zone)));
}

std::string OverviewHoursSql(const OverviewDialect& d, const std::vector<OverviewTable>& tables,
                             const std::vector<HourSlot>& slots,
                             const std::vector<std::string>& times, const std::string& visitor) {
  if (slots.empty() || times.size() != slots.size() + 1) return "";
  const std::string rows = UnionOf(d, tables, visitor, false, times.front(), times.back());
  if (rows.empty()) return "";
  std::string label = "CASE";
  for (std::size_t i = 0; i + 1 < slots.size(); ++i)
    label += " WHEN t < " + times[i + 1] + " THEN " + std::to_string(slots[i].hour);
  label += " ELSE " + std::to_string(slots.back().hour) + " END";
  return "SELECT h, COUNT(*) AS events, " + d.count_distinct + " AS visitors FROM (SELECT " +
         label + " AS h, v FROM (" + rows + ") AS day_rows) AS labelled GROUP BY h";
}

std::string OverviewTopSql(const OverviewDialect& d, const std::vector<OverviewTable>& tables,
                           const std::string& column, bool skip_empty, const std::string& from,
                           const std::string& to, const std::string& limit) {
  if (column.empty()) return "";
  const std::string rows = UnionOf(d, tables, column, true, from, to);
  if (rows.empty()) return "";
  return "SELECT v, COUNT(*) AS n FROM (" + rows + ") AS day_rows WHERE v IS NOT NULL" +
         (skip_empty ? " AND v <> ''" : "") + " GROUP BY v ORDER BY n DESC, " + d.order_value +
         " LIMIT " + limit;
}

Result<long long> ParseCount(const std::string& text, const std::string& what) {
  long long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0)
    return Status::Unavailable("overview: " + what + " '" + text + "' is not a count");
  return n;
}

std::vector<std::string> OverviewTableNames(const config::Site& site, const std::string& prefix,
                                            const OverviewRequest& request,
                                            const TimeZone& tables_tz) {
  const std::vector<HourSlot> slots = LocalHours(request.day, request.zone);
  if (slots.empty()) return {};
  return tables::TablesSince(site, prefix, slots.front().begin,
                             slots.back().end - std::chrono::microseconds(1), tables_tz);
}

Result<SiteOverview> RunOverview(const config::Site& site, const OverviewRequest& request,
                                 const std::vector<OverviewTable>& tables,
                                 const OverviewDialect& dialect, const OverviewSpelling& spelling,
                                 const OverviewRun& run) {
  SiteOverview out;
  out.time_zone = request.zone.name();
  const OverviewColumns columns = OverviewColumnsOf(site);
  out.notes = MissingColumnNotes(site, columns);
  const std::vector<HourSlot> slots = LocalHours(request.day, request.zone);
  std::vector<Clock::time_point> instants;
  for (const auto& s : slots) instants.push_back(s.begin);
  if (!slots.empty()) instants.push_back(slots.back().end);
  std::vector<std::string> times;
  for (std::size_t i = 0; i < instants.size(); ++i) times.push_back(spelling.time(i, instants[i]));
  const std::string hours_sql = OverviewHoursSql(dialect, tables, slots, times, columns.visitor);
  if (!hours_sql.empty()) {
    auto rows = run(hours_sql, true, instants);
    if (!rows.ok()) return rows.status();
    for (const auto& row : *rows)
      if (Status s = AddHourRow(row, out); !s.ok()) return s;
  }
  if (request.top == 0 || hours_sql.empty()) return out;
  const struct {
    const std::string& column;
    bool skip_empty;
    std::vector<CountedValue>& list;
  } lists[] = {{columns.page, false, out.pages},
               {columns.referrer, true, out.referrers},
               {columns.device, false, out.devices},
               {columns.event, false, out.events}};
  for (const auto& l : lists) {
    const std::string sql = OverviewTopSql(dialect, tables, l.column, l.skip_empty, times.front(),
                                           times.back(), spelling.limit);
    if (sql.empty()) continue;
    auto rows = run(sql, false, instants);
    if (!rows.ok()) return rows.status();
    auto list = ListOf(*rows, request.top);
    if (!list.ok()) return list.status();
    l.list = std::move(list).value();
  }
  return out;
}

}  // namespace oceanus::sink

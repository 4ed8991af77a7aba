// The overview's cases, shared by every sink's test so that all four answer the same numbers:
// a day in Europe/Berlin (2026-11-25, UTC+1) whose events start at 23:00 UTC the day before,
// written into tables named in Berlin (one table holds the day) or in UTC (the day spans two)
// or into a single table,
// each batch written twice (the loader's retry); an event just before and one just after the
// day; values with quotes and SQL in them; ties in every list.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sink/history.h"
#include "sink/sink.h"
#include "tables/table_names.h"
#include "util/time.h"

namespace oceanus::sink {

inline void PrintTo(const CountedValue& v, std::ostream* os) {
  *os << "{\"" << v.value << "\", " << v.count << "}";
}

inline void PrintTo(const HourCount& h, std::ostream* os) {
  *os << h.events << " events, " << h.visitors << " visitors";
}

namespace overview_cases {

inline constexpr const char* kHostileUrl = "/q?x=' OR '1'='1\"; DROP TABLE ov_20261125; -- \\ \t`";
inline constexpr const char* kHostileRef = "https://evil.example/'); DELETE FROM ov; --";

inline config::Site Site(config::TableLayout layout = config::TableLayout::kDaily) {
  config::Site site;
  site.name = "ov";
  site.endpoint = "swallow";
  site.tables = layout;
  const auto field = [&](const char* name, config::FieldType type, bool required) {
    config::Field f;
    f.name = name;
    f.type = type;
    f.required = required;
    f.mode = required ? config::ColumnMode::kRequired : config::ColumnMode::kNullable;
    site.schema.push_back(f);
  };
  field("dt", config::FieldType::kTimestamp, true);
  field("eid", config::FieldType::kString, true);
  field("sid", config::FieldType::kString, true);
  field("evt", config::FieldType::kString, false);
  field("url", config::FieldType::kString, false);
  field("ref", config::FieldType::kString, false);
  field("dev", config::FieldType::kString, false);
  return site;
}

using Event = std::map<std::string, std::string>;  // column → value; absent: NULL

inline std::vector<Event> Events() {
  return {
      // 23:59:59 in Berlin the day before: not the day's.
      {{"dt", "2026-11-24 22:59:59.999999"},
       {"eid", "e01"},
       {"sid", "a"},
       {"evt", "old"},
       {"url", "/yesterday"},
       {"dev", "pc"}},
      // Local hour 0 (23:xx UTC on the 24th): 3 events, visitors a and b.
      {{"dt", "2026-11-24 23:00:00.000000"},
       {"eid", "e02"},
       {"sid", "a"},
       {"evt", "pageview"},
       {"url", "/home"},
       {"ref", ""},
       {"dev", "pc"}},
      {{"dt", "2026-11-24 23:30:00.000000"},
       {"eid", "e03"},
       {"sid", "b"},
       {"evt", "pageview"},
       {"url", "/home"},
       {"ref", "https://search.example/?q=x"},
       {"dev", "mobile"}},
      {{"dt", "2026-11-24 23:45:00.000000"},
       {"eid", "e04"},
       {"sid", "a"},
       {"evt", "click"},
       {"url", "/about"}},
      // Local hour 10: 2 events of one visitor.
      {{"dt", "2026-11-25 09:15:00.000000"},
       {"eid", "e05"},
       {"sid", "c"},
       {"evt", "pageview"},
       {"url", kHostileUrl},
       {"ref", kHostileRef},
       {"dev", "pc"}},
      {{"dt", "2026-11-25 09:59:59.999999"},
       {"eid", "e06"},
       {"sid", "c"},
       {"evt", "pageview"},
       {"url", "/about"}},
      // Local hour 13.
      {{"dt", "2026-11-25 12:00:00.000000"},
       {"eid", "e07"},
       {"sid", "e"},
       {"evt", "pageview"},
       {"url", "/zeta"},
       {"ref", "https://a.example/"},
       {"dev", ""}},
      // Local hour 23, the day's last microsecond.
      {{"dt", "2026-11-25 22:59:59.999999"},
       {"eid", "e08"},
       {"sid", "d"},
       {"evt", "paid"},
       {"url", "/home"},
       {"dev", "tablet"}},
      // Midnight in Berlin: the next day's.
      {{"dt", "2026-11-25 23:00:00.000000"},
       {"eid", "e09"},
       {"sid", "f"},
       {"evt", "new"},
       {"url", "/tomorrow"},
       {"dev", "pc"}},
  };
}

inline OverviewRequest Request(int day = 25) {
  OverviewRequest r;
  r.day = std::chrono::year(2026) / std::chrono::November / day;
  r.zone = *TimeZone::Load("Europe/Berlin");
  r.top = 3;
  return r;
}

// `events` written through `sink` into the tables `tables_tz` names for `site`, twice.
inline void WriteEvents(Sink& sink, const config::Site& site, const std::string& prefix,
                        const TimeZone& tables_tz, const std::vector<Event>& events = Events()) {
  std::map<std::string, std::vector<Row>> batches;
  for (const Event& e : events) {
    const std::string table =
        tables::TableFor(site, prefix, *ParseUtcMicros(e.at("dt")), tables_tz);
    Row row;
    for (const auto& f : site.schema) {
      auto v = e.find(f.name);
      row.push_back(v == e.end() ? std::nullopt : std::optional<std::string>(v->second));
    }
    batches[table].push_back(std::move(row));
  }
  for (const auto& [table, rows] : batches) {
    const TableSpec spec = tables::TableSpecFor(site, table);
    ASSERT_TRUE(sink.EnsureTable(spec).ok()) << table;
    for (int twice = 0; twice < 2; ++twice) {
      const WriteResult written = sink.Write(spec, rows);
      ASSERT_TRUE(written.status.ok()) << written.status.ToString();
      ASSERT_TRUE(written.rejected.empty()) << written.rejected[0].reason;
    }
  }
}

inline void ExpectTheDay(const SiteOverview& o) {
  EXPECT_EQ(o.time_zone, "Europe/Berlin");
  std::array<HourCount, 24> hours{};
  hours[0] = {3, 2};
  hours[10] = {2, 1};
  hours[13] = {1, 1};
  hours[23] = {1, 1};
  for (std::size_t h = 0; h < 24; ++h) EXPECT_EQ(o.hours[h], hours[h]) << "local hour " << h;
  using V = std::vector<CountedValue>;
  // Ties at 1 in byte order: "/q…" before "/zeta".
  EXPECT_EQ(o.pages, (V{{"/home", 3}, {"/about", 2}, {kHostileUrl, 1}}));
  EXPECT_EQ(o.referrers,
            (V{{"https://a.example/", 1}, {kHostileRef, 1}, {"https://search.example/?q=x", 1}}));
  EXPECT_EQ(o.devices, (V{{"pc", 2}, {"", 1}, {"mobile", 1}}));
  EXPECT_EQ(o.events, (V{{"pageview", 5}, {"click", 1}, {"paid", 1}}));
  EXPECT_TRUE(o.notes.empty());
}

inline void ExpectEmpty(const SiteOverview& o) {
  for (std::size_t h = 0; h < 24; ++h) EXPECT_EQ(o.hours[h], HourCount{}) << h;
  EXPECT_TRUE(o.pages.empty());
  EXPECT_TRUE(o.referrers.empty());
  EXPECT_TRUE(o.devices.empty());
  EXPECT_TRUE(o.events.empty());
}

// The whole case against `open(prefix, tables_tz)`'s history after WriteEvents through `sink`:
// daily tables named in Berlin (one holds the day) and in UTC (two do), and a single table; the
// day asked twice (the hostile values did nothing), and a day without rows.
template <typename OpenHistory>
void RunCases(Sink& sink, OpenHistory open) {
  struct Layout {
    const char* prefix;
    const char* zone;
    config::TableLayout tables;
  };
  for (const Layout& l : {Layout{"loc_", "Europe/Berlin", config::TableLayout::kDaily},
                          Layout{"utc_", "UTC", config::TableLayout::kDaily},
                          Layout{"one_", "Europe/Berlin", config::TableLayout::kSingle}}) {
    SCOPED_TRACE(std::string("tables ") + l.prefix + "… in " + l.zone);
    const TimeZone tables_tz = *TimeZone::Load(l.zone);
    const config::Site site = Site(l.tables);
    WriteEvents(sink, site, l.prefix, tables_tz);
    std::unique_ptr<HistorySource> history = open(l.prefix, tables_tz);
    ASSERT_TRUE(history);
    for (int again = 0; again < 2; ++again) {
      auto o = history->Overview(site, Request());
      ASSERT_TRUE(o.ok()) << o.status().ToString();
      ExpectTheDay(*o);
    }
    auto empty = history->Overview(site, Request(20));
    ASSERT_TRUE(empty.ok()) << empty.status().ToString();
    ExpectEmpty(*empty);
  }
}

}  // namespace overview_cases
}  // namespace oceanus::sink

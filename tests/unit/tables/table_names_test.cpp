// Table naming: local dates across midnight, noon and DST; the single layout; the spec.
#include "tables/table_names.h"

#include <gtest/gtest.h>

namespace oceanus::tables {
namespace {

std::chrono::system_clock::time_point Utc(const char* dt) { return *ParseUtcMicros(dt); }

config::Site Site(config::TableLayout layout) {
  config::Site s;
  s.name = "samplesite";
  s.tables = layout;
  config::Field f;
  f.name = "dt";
  f.mode = config::ColumnMode::kRequired;
  f.description = "received at";
  s.schema.push_back(f);
  f.name = "eid";
  s.schema.push_back(f);
  f.name = "n";
  f.type = config::FieldType::kInteger;
  f.mode = config::ColumnMode::kNullable;
  f.description = "";
  s.schema.push_back(f);
  return s;
}

TEST(TableNamesTest, DailyTablesFollowTheLocalDateAcrossMidnightAndNoon) {
  const auto tokyo = *TimeZone::Load("Asia/Tokyo");
  const auto site = Site(config::TableLayout::kDaily);
  using V = std::vector<std::string>;
  // 23:59:59 JST: today, and tomorrow since it is past noon.
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-11-25 14:59:59"), tokyo),
            (V{"samplesite_20261125", "samplesite_20261126"}));
  // 00:00 JST: the new day only.
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-11-25 15:00:00"), tokyo), V{"samplesite_20261126"});
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-11-25 02:59:59"), tokyo), V{"samplesite_20261125"});
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-11-25 03:00:00"), tokyo),
            (V{"samplesite_20261125", "samplesite_20261126"}));
  EXPECT_EQ(TableFor(site, "log_", Utc("2026-11-25 15:00:00"), tokyo), "log_samplesite_20261126");
  const auto utc = *TimeZone::Load("UTC");
  EXPECT_EQ(TableFor(site, "", Utc("2026-11-25 15:00:00"), utc), "samplesite_20261125");
  EXPECT_EQ(TableFor(site, "", Utc("2026-12-31 23:59:59.999999"), utc), "samplesite_20261231");
  EXPECT_EQ(TableFor(site, "", Utc("2027-01-01 00:00:00"), utc), "samplesite_20270101");
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-12-31 11:59:59.999999"), utc),
            V{"samplesite_20261231"});
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-12-31 12:00:00"), utc),
            (V{"samplesite_20261231", "samplesite_20270101"}));
  EXPECT_EQ(TablesDueAt(site, "", Utc("2027-01-01 00:00:00"), utc), V{"samplesite_20270101"});
}

TEST(TableNamesTest, AHistoryPeriodReadsEveryDailyTableItTouches) {
  const auto tokyo = *TimeZone::Load("Asia/Tokyo");
  using V = std::vector<std::string>;
  // 23:30 JST on the 23rd to 00:10 JST on the 26th: four local dates.
  EXPECT_EQ(TablesSince(Site(config::TableLayout::kDaily), "p_", Utc("2026-11-23 14:30:00"),
                        Utc("2026-11-25 15:10:00"), tokyo),
            (V{"p_samplesite_20261123", "p_samplesite_20261124", "p_samplesite_20261125",
               "p_samplesite_20261126"}));
  EXPECT_EQ(TablesSince(Site(config::TableLayout::kDaily), "", Utc("2026-11-25 01:00:00"),
                        Utc("2026-11-25 02:00:00"), tokyo),
            V{"samplesite_20261125"});
  EXPECT_EQ(TablesSince(Site(config::TableLayout::kSingle), "", Utc("2026-11-20 00:00:00"),
                        Utc("2026-11-25 02:00:00"), tokyo),
            V{"samplesite"});
}

TEST(TableNamesTest, TomorrowIsTheNextDateEvenOnA23HourDay) {
  const auto berlin = *TimeZone::Load("Europe/Berlin");
  const auto site = Site(config::TableLayout::kDaily);
  using V = std::vector<std::string>;
  // 2026-03-28 23:30 CET; the next day has 23 hours, so now + 24h is already 30 March.
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-03-28 22:30:00"), berlin),
            (V{"samplesite_20260328", "samplesite_20260329"}));
  // 2026-03-29 12:00 CEST is 10:00 UTC.
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-03-29 09:59:59"), berlin), V{"samplesite_20260329"});
  EXPECT_EQ(TablesDueAt(site, "", Utc("2026-03-29 10:00:00"), berlin),
            (V{"samplesite_20260329", "samplesite_20260330"}));
  // The 25-hour day in October: 23:30 CET on the 25th is still the 25th.
  EXPECT_EQ(TableFor(site, "", Utc("2026-10-25 22:30:00"), berlin), "samplesite_20261025");
}

TEST(TableNamesTest, IsTableOfMatchesOnlyTheSitesOwnTables) {
  config::Site daily = Site(config::TableLayout::kDaily);
  daily.name = "shop";
  EXPECT_TRUE(IsTableOf(daily, "ev_", "ev_shop_20261203"));
  EXPECT_FALSE(IsTableOf(daily, "ev_", "ev_shop"));
  EXPECT_FALSE(IsTableOf(daily, "ev_", "ev_shop_eu_20261203"));  // another site's
  EXPECT_FALSE(IsTableOf(daily, "ev_", "ev_shop_2026120"));
  EXPECT_FALSE(IsTableOf(daily, "ev_", "ev_shop_2026120x"));
  EXPECT_FALSE(IsTableOf(daily, "ev_", "shop_20261203"));
  config::Site single = Site(config::TableLayout::kSingle);
  single.name = "shop";
  EXPECT_TRUE(IsTableOf(single, "", "shop"));
  EXPECT_FALSE(IsTableOf(single, "", "shop_20261203"));
  EXPECT_FALSE(IsTableOf(single, "", "shop_p20261203"));  // a PostgreSQL partition
  // The bots tables of privacy.bots separate belong to the site too.
  EXPECT_EQ(BotsTableOf(daily, "ev_shop_20261203"), "ev_shop_bots_20261203");
  EXPECT_EQ(BotsTableOf(single, "shop"), "shop_bots");
  EXPECT_TRUE(IsTableOf(daily, "ev_", "ev_shop_bots_20261203"));
  EXPECT_TRUE(IsTableOf(single, "", "shop_bots"));
  EXPECT_FALSE(IsTableOf(single, "", "shop_botsx"));
}

TEST(TableNamesTest, SingleLayoutAndSpec) {
  const auto tz = *TimeZone::Load("UTC");
  const auto site = Site(config::TableLayout::kSingle);
  EXPECT_EQ(TablesDueAt(site, "p_", Utc("2026-11-25 13:00:00"), tz),
            std::vector<std::string>{"p_samplesite"});
  const auto spec = TableSpecFor(site, "p_samplesite");
  EXPECT_EQ(spec.name, "p_samplesite");
  EXPECT_EQ(spec.key_column, "eid");
  ASSERT_EQ(spec.columns.size(), 3u);
  EXPECT_EQ(spec.columns[0].name, "dt");
  EXPECT_EQ(spec.columns[0].mode, config::ColumnMode::kRequired);
  EXPECT_EQ(spec.columns[0].description, "received at");
  EXPECT_EQ(spec.columns[2].type, config::FieldType::kInteger);
}

}  // namespace
}  // namespace oceanus::tables

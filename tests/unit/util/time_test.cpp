#include "util/time.h"

#include <gtest/gtest.h>

namespace oceanus {
namespace {

using namespace std::chrono;

system_clock::time_point Utc(const char* dt) {
  auto t = ParseUtcMicros(dt);
  EXPECT_TRUE(t.ok()) << dt;
  return *t;
}

TEST(TimeTest, FormatAndParseRoundTripWithMicroseconds) {
  char buf[32];
  const auto t = Utc("2026-11-25 05:06:07.000123");
  ASSERT_EQ(FormatUtcMicros(t, buf), 26u);
  EXPECT_STREQ(buf, "2026-11-25 05:06:07.000123");
  for (const char* s :
       {"1969-12-31 23:59:59.999999", "1999-01-01 00:00:00.000000", "2200-02-28 12:34:56.789012"}) {
    FormatUtcMicros(Utc(s), buf);
    EXPECT_STREQ(buf, s);
  }
  EXPECT_EQ(Utc("2026-01-02 03:04:05"), Utc("2026-01-02 03:04:05.000000"));
  EXPECT_EQ(Utc("2026-01-02T03:04:05.5"), Utc("2026-01-02 03:04:05.500000"));
  for (const char* bad :
       {"", "2026-13-01 00:00:00", "2026-02-30 00:00:00", "2026-01-01 00:00",
        "2026-01-01 00:00:00.", "2026-01-01 00:00:00.1234567", "x026-01-01 00:00:00"}) {
    EXPECT_FALSE(ParseUtcMicros(bad).ok()) << bad;
  }
}

TEST(TimeZoneTest, TokyoIsPlusNineAllYear) {
  auto tz = TimeZone::Load("Asia/Tokyo");
  ASSERT_TRUE(tz.ok()) << tz.status().ToString();
  EXPECT_EQ(tz->OffsetAt(Utc("2026-01-15 00:00:00")), hours(9));
  EXPECT_EQ(tz->OffsetAt(Utc("2026-07-15 00:00:00")), hours(9));
  EXPECT_EQ(tz->OffsetAt(Utc("2060-07-15 00:00:00")), hours(9));  // past the table: footer rule
  EXPECT_EQ(LocalDateCompact(Utc("2026-11-25 14:59:59"), *tz), "20261125");
  EXPECT_EQ(LocalDateCompact(Utc("2026-11-25 15:00:00"), *tz), "20261126");
  EXPECT_EQ(FormatLocal(Utc("2026-11-25 15:30:00"), *tz), "2026-11-26 00:30:00");
}

TEST(TimeZoneTest, DaylightSavingSwitchesAtTheRightInstants) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().ToString();
  // 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC.
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-03-29 00:59:59")), hours(1));
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-03-29 01:00:00")), hours(2));
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-10-25 00:59:59")), hours(2));
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-10-25 01:00:00")), hours(1));
  EXPECT_EQ(berlin->OffsetAt(Utc("2071-07-01 00:00:00")), hours(2));
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok());
  // 2026: EDT from 8 March 07:00 UTC to 1 November 06:00 UTC.
  EXPECT_EQ(ny->OffsetAt(Utc("2026-03-08 06:59:59")), hours(-5));
  EXPECT_EQ(ny->OffsetAt(Utc("2026-03-08 07:00:00")), hours(-4));
  EXPECT_EQ(ny->OffsetAt(Utc("2026-11-01 05:59:59")), hours(-4));
  EXPECT_EQ(ny->OffsetAt(Utc("2026-11-01 06:00:00")), hours(-5));
  EXPECT_EQ(ny->OffsetAt(Utc("2080-01-10 00:00:00")), hours(-5));
  EXPECT_EQ(ny->OffsetAt(Utc("2080-07-10 00:00:00")), hours(-4));
}

TEST(TimeZoneTest, FixedOffsetsUtcAndErrors) {
  EXPECT_EQ(TimeZone::Load("+09:00")->OffsetAt(system_clock::now()), hours(9));
  EXPECT_EQ(TimeZone::Load("-05:30")->OffsetAt(system_clock::now()), -(hours(5) + minutes(30)));
  EXPECT_EQ(TimeZone::Load("UTC")->OffsetAt(system_clock::now()), seconds(0));
  EXPECT_FALSE(TimeZone::Load("Mars/Olympus").ok());
  EXPECT_FALSE(TimeZone::Load("../../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("+99:00").ok());
  EXPECT_NE(TimeZone::Load("Asia/Tokio").status().message().find("unknown time zone 'Asia/Tokio'"),
            std::string::npos);
}

}  // namespace
}  // namespace oceanus

// Time: the dt format both ways, and TZif zones checked at their 2026 switch instants.
#include "util/time.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <cstring>
#include <string>
#include <vector>

namespace oceanus {
namespace {

using namespace std::chrono;

system_clock::time_point Utc(const char* dt) {
  auto t = ParseUtcMicros(dt);
  EXPECT_TRUE(t.ok()) << dt;
  return *t;
}

std::string Format(system_clock::time_point t) {
  char buf[kUtcMicrosLength];
  return std::string(buf, FormatUtcMicros(t, buf));
}

TEST(TimeTest, FormatAndParseRoundTripWithMicroseconds) {
  // Exactly 26 bytes are written: no terminator past the end of a 26-byte buffer.
  char buf[27];
  std::memset(buf, '#', sizeof buf);
  const auto t = Utc("2026-11-25 05:06:07.000123");
  ASSERT_EQ(FormatUtcMicros(t, buf), 26u);
  EXPECT_EQ(std::string(buf, 26), "2026-11-25 05:06:07.000123");
  EXPECT_EQ(buf[26], '#');
  for (const char* s :
       {"1969-12-31 23:59:59.999999", "1970-01-01 00:00:00.000000", "1999-01-01 00:00:00.000000",
        "2000-02-29 12:34:56.789012", "2200-02-28 23:59:59.000001"}) {
    EXPECT_EQ(Format(Utc(s)), s);
  }
  // Sub-microsecond parts are dropped (floored), also before 1970.
  EXPECT_EQ(Format(Utc("2026-11-25 05:06:07.000123") + nanoseconds(999)),
            "2026-11-25 05:06:07.000123");
  EXPECT_EQ(Format(system_clock::time_point(nanoseconds(-1))), "1969-12-31 23:59:59.999999");
  const auto now = floor<microseconds>(system_clock::now());
  EXPECT_EQ(Utc(Format(now).c_str()), now);
  EXPECT_EQ(Utc("2026-01-02 03:04:05"), Utc("2026-01-02 03:04:05.000000"));
  EXPECT_EQ(Utc("2026-01-02T03:04:05.5"), Utc("2026-01-02 03:04:05.500000"));
  for (const char* bad :
       {"", "2026", "2026-01-01", "2026-13-01 00:00:00", "2026-02-30 00:00:00", "2026-01-01 00:00",
        "2026-01-01 24:00:00", "2026-01-01 00:00:60", "2026-01-01 00:00:00.",
        "2026-01-01 00:00:00.1234567", "2026-01-01 00:00:00.12a", "2026-01-01 00:00:00Z",
        "x026-01-01 00:00:00", "2026/01/01 00:00:00"}) {
    EXPECT_FALSE(ParseUtcMicros(bad).ok()) << bad;
  }
}

// The hand-written match against the regex it replaces, on chosen cases and on every string
// one edit away from them.
TEST(TimeTest, IsTimestampTextMatchesWhatTheRegexMatches) {
  const RE2 regex(R"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?)");
  const std::vector<std::string> cases = {"2026-12-01 10:00:00",
                                          "2026-12-01T10:00:00.123456",
                                          "2026-12-01T10:00:00.1Z",
                                          "2026-12-01 10:00:00+09:00",
                                          "2026-12-01 10:00:00-0930",
                                          "2026-12-01 10:00:00.1234567",
                                          "2026-12-01 10:00:00.",
                                          "2026-12-01 10:00:00Z ",
                                          "2026-12-01 10:00",
                                          "2026-12-01 10:00:00+9:00",
                                          "2026-12-01 10:00:00+09:0",
                                          "99999-12-01 10:00:00",
                                          "2026-12-01x10:00:00",
                                          "",
                                          "2026-12-01 10:00:00.000000+00:00"};
  const std::string alphabet = "0.:-+ TZx";
  std::size_t checked = 0;
  auto check = [&](const std::string& v) {
    EXPECT_EQ(IsTimestampText(v), RE2::FullMatch(v, regex)) << "'" << v << "'";
    ++checked;
  };
  for (const auto& c : cases) {
    check(c);
    for (std::size_t i = 0; i <= c.size(); ++i) {
      if (i < c.size()) check(c.substr(0, i) + c.substr(i + 1));  // deleted
      for (char a : alphabet) {
        check(c.substr(0, i) + a + c.substr(i));  // inserted
        if (i < c.size())
          check(c.substr(0, i) + a + c.substr(std::min(i + 1, c.size())));  // replaced
      }
    }
  }
  EXPECT_GT(checked, 5000u);
  EXPECT_TRUE(IsTimestampText("2026-12-01T10:00:00.123Z"));
  EXPECT_FALSE(IsTimestampText("2026-12-01T10:00:00.123Q"));
}

TEST(TimeZoneTest, TokyoIsPlusNineAllYear) {
  auto tz = TimeZone::Load("Asia/Tokyo");
  ASSERT_TRUE(tz.ok()) << tz.status().ToString();
  EXPECT_EQ(tz->OffsetAt(Utc("2026-01-15 00:00:00")), hours(9));
  EXPECT_EQ(tz->OffsetAt(Utc("2026-07-15 00:00:00")), hours(9));
  EXPECT_EQ(tz->OffsetAt(Utc("2060-07-15 00:00:00")), hours(9));  // past the table: footer rule
  EXPECT_EQ(LocalDateCompact(Utc("2026-11-25 14:59:59"), *tz), "20261125");
  EXPECT_EQ(LocalDateCompact(Utc("2026-11-25 15:00:00"), *tz), "20261126");
  // 15:30 UTC is already the next day in Tokyo.
  EXPECT_EQ(LocalDateCompact(Utc("2026-11-25 15:30:00"), *tz), "20261126");
  EXPECT_EQ(LocalDateCompact(Utc("2026-11-25 15:30:00"), TimeZone()), "20261125");
  EXPECT_EQ(FormatLocal(Utc("2026-11-25 15:30:00"), *tz), "2026-11-26 00:30:00");
  EXPECT_EQ(FormatLocal(Utc("2026-11-25 15:30:00"), *tz, "%d/%m/%Y %H:%M %z %% %q"),
            "26/11/2026 00:30 +0900 % %q");
  EXPECT_EQ(tz->name(), "Asia/Tokyo");
}

TEST(TimeZoneTest, DaylightSavingSwitchesAtTheRightInstants) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().ToString();
  // 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC.
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-03-29 00:59:59")), hours(1));
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-03-29 01:00:00")), hours(2));
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-10-25 00:59:59")), hours(2));
  EXPECT_EQ(berlin->OffsetAt(Utc("2026-10-25 01:00:00")), hours(1));
  EXPECT_EQ(berlin->OffsetAt(Utc("2071-07-01 00:00:00")), hours(2));  // footer rule
  EXPECT_EQ(berlin->OffsetAt(Utc("2071-03-29 00:59:59")), hours(1));
  EXPECT_EQ(berlin->OffsetAt(Utc("2071-03-29 01:00:00")), hours(2));
  EXPECT_EQ(FormatLocal(Utc("2026-03-29 01:00:00"), *berlin, "%H:%M %z"), "03:00 +0200");
  EXPECT_EQ(FormatLocal(Utc("2026-10-25 00:30:00"), *berlin, "%H:%M %z"), "02:30 +0200");
  EXPECT_EQ(FormatLocal(Utc("2026-10-25 01:30:00"), *berlin, "%H:%M %z"), "02:30 +0100");
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok());
  // 2026: EDT from 8 March 07:00 UTC to 1 November 06:00 UTC.
  EXPECT_EQ(ny->OffsetAt(Utc("2026-03-08 06:59:59")), hours(-5));
  EXPECT_EQ(ny->OffsetAt(Utc("2026-03-08 07:00:00")), hours(-4));
  EXPECT_EQ(ny->OffsetAt(Utc("2026-11-01 05:59:59")), hours(-4));
  EXPECT_EQ(ny->OffsetAt(Utc("2026-11-01 06:00:00")), hours(-5));
  EXPECT_EQ(ny->OffsetAt(Utc("2080-01-10 00:00:00")), hours(-5));
  EXPECT_EQ(ny->OffsetAt(Utc("2080-07-10 00:00:00")), hours(-4));
  EXPECT_EQ(FormatLocal(Utc("2026-11-01 05:30:00"), *ny, "%H:%M %z"), "01:30 -0400");
  EXPECT_EQ(FormatLocal(Utc("2026-11-01 06:30:00"), *ny, "%H:%M %z"), "01:30 -0500");
  // Southern hemisphere: DST spans the new year.
  auto sydney = TimeZone::Load("Australia/Sydney");
  ASSERT_TRUE(sydney.ok());
  EXPECT_EQ(sydney->OffsetAt(Utc("2026-01-15 00:00:00")), hours(11));
  EXPECT_EQ(sydney->OffsetAt(Utc("2026-07-15 00:00:00")), hours(10));
  EXPECT_EQ(sydney->OffsetAt(Utc("2090-01-15 00:00:00")), hours(11));
  EXPECT_EQ(sydney->OffsetAt(Utc("2090-07-15 00:00:00")), hours(10));
}

TEST(TimeZoneTest, FixedOffsetsUtcAndErrors) {
  const auto now = system_clock::now();
  EXPECT_EQ(TimeZone::Load("+09:00")->OffsetAt(now), hours(9));
  EXPECT_EQ(TimeZone::Load("+0900")->OffsetAt(now), hours(9));
  EXPECT_EQ(TimeZone::Load("-05:30")->OffsetAt(now), -(hours(5) + minutes(30)));
  EXPECT_EQ(TimeZone::Load("-05:30")->name(), "-05:30");
  EXPECT_EQ(LocalDateCompact(Utc("2026-11-25 03:00:00"), *TimeZone::Load("-05:30")), "20261124");
  EXPECT_EQ(TimeZone::Load("UTC")->OffsetAt(now), seconds(0));
  EXPECT_EQ(TimeZone().OffsetAt(now), seconds(0));
  EXPECT_EQ(TimeZone().name(), "UTC");
  for (const char* bad : {"Mars/Olympus", "", "Asia", "../../etc/passwd", "/etc/localtime",
                          "Asia/Tokyo\n", "+99:00", "+09:60", "+09:", "+", "09:00"}) {
    EXPECT_FALSE(TimeZone::Load(bad).ok()) << bad;
  }
  EXPECT_NE(TimeZone::Load("Asia/Tokio").status().message().find("unknown time zone 'Asia/Tokio'"),
            std::string::npos);
}

}  // namespace
}  // namespace oceanus

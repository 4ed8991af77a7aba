// The overview's shared parts (sink/overview.h): local hours as UTC ranges on ordinary, DST and
// half-hour-offset days; dates as the admin page sends them; the columns a schema offers.
#include "sink/overview.h"

#include <gtest/gtest.h>

#include "util/time.h"

namespace oceanus::sink {
namespace {

using namespace std::chrono_literals;

std::string Utc(std::chrono::system_clock::time_point t) {
  char text[kUtcMicrosLength];
  FormatUtcMicros(t, text);
  return std::string(text, 19);
}

std::vector<HourSlot> Hours(const char* zone, int y, unsigned m, unsigned d) {
  return LocalHours(std::chrono::year(y) / m / d, *TimeZone::Load(zone));
}

// Back to back, from the day's first instant to its last, hours rising.
void ExpectContiguous(const std::vector<HourSlot>& slots) {
  for (std::size_t i = 1; i < slots.size(); ++i) {
    EXPECT_EQ(slots[i].begin, slots[i - 1].end) << i;
    EXPECT_GT(slots[i].hour, slots[i - 1].hour) << i;
  }
}

TEST(LocalHoursTest, AnOrdinaryBerlinDayStartsAt23UtcTheDayBefore) {
  const auto slots = Hours("Europe/Berlin", 2026, 11, 25);
  ASSERT_EQ(slots.size(), 24u);
  ExpectContiguous(slots);
  EXPECT_EQ(Utc(slots.front().begin), "2026-11-24 23:00:00");
  EXPECT_EQ(slots.front().hour, 0);
  EXPECT_EQ(Utc(slots[10].begin), "2026-11-25 09:00:00");
  EXPECT_EQ(slots[10].hour, 10);
  EXPECT_EQ(Utc(slots.back().end), "2026-11-25 23:00:00");
}

TEST(LocalHoursTest, SpringForwardHas23HoursAndNoHourTwo) {
  const auto slots = Hours("Europe/Berlin", 2026, 3, 29);
  ASSERT_EQ(slots.size(), 23u);
  ExpectContiguous(slots);
  EXPECT_EQ(slots[1].hour, 1);
  EXPECT_EQ(slots[2].hour, 3);
  EXPECT_EQ(Utc(slots[2].begin), "2026-03-29 01:00:00");
  EXPECT_EQ(Utc(slots.back().end), "2026-03-29 22:00:00");
}

TEST(LocalHoursTest, FallBackKeepsTheRepeatedHourAsOneSlotOfTwoHours) {
  const auto slots = Hours("Europe/Berlin", 2026, 10, 25);
  ASSERT_EQ(slots.size(), 24u);
  ExpectContiguous(slots);
  EXPECT_EQ(slots[2].hour, 2);
  EXPECT_EQ(Utc(slots[2].begin), "2026-10-25 00:00:00");
  EXPECT_EQ(Utc(slots[2].end), "2026-10-25 02:00:00");
  EXPECT_EQ(Utc(slots.front().begin), "2026-10-24 22:00:00");
  EXPECT_EQ(Utc(slots.back().end), "2026-10-25 23:00:00");
}

TEST(LocalHoursTest, HalfHourZonesAndFixedOffsets) {
  const auto kolkata = Hours("Asia/Kolkata", 2026, 11, 25);
  ASSERT_EQ(kolkata.size(), 24u);
  ExpectContiguous(kolkata);
  EXPECT_EQ(Utc(kolkata.front().begin), "2026-11-24 18:30:00");
  const auto tokyo = Hours("+09:00", 2026, 11, 25);
  ASSERT_EQ(tokyo.size(), 24u);
  EXPECT_EQ(Utc(tokyo.front().begin), "2026-11-24 15:00:00");
  const auto utc = Hours("UTC", 2026, 11, 25);
  ASSERT_EQ(utc.size(), 24u);
  EXPECT_EQ(Utc(utc.front().begin), "2026-11-25 00:00:00");
  EXPECT_EQ(utc[23].end - utc[23].begin, std::chrono::system_clock::duration(1h));
}

TEST(CivilDateTest, OnlyRealDatesSpelledYyyyMmDd) {
  auto d = ParseCivilDate("2026-11-25");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, std::chrono::year(2026) / 11 / 25);
  EXPECT_TRUE(ParseCivilDate("2028-02-29").ok());
  for (const char* bad : {"", "2026-11-5", "2026/11/25", "2026-13-01", "2026-02-29", "2026-11-25x",
                          "+026-11-25", "1969-12-31", "2026-1a-25"})
    EXPECT_FALSE(ParseCivilDate(bad).ok()) << bad;
  EXPECT_EQ(LocalDate(*ParseUtcMicros("2026-11-24 23:00:00"), *TimeZone::Load("Europe/Berlin")),
            std::chrono::year(2026) / 11 / 25);
}

config::Field StringField(const char* name) {
  config::Field f;
  f.name = name;
  return f;
}

TEST(OverviewColumnsTest, BeaconAndSegmentSchemasAndNotesForWhatIsMissing) {
  config::Site beacon;
  beacon.name = "web";
  for (const char* n : {"dt", "eid", "sid", "evt", "url", "ref", "dev"})
    beacon.schema.push_back(StringField(n));
  const OverviewColumns b = OverviewColumnsOf(beacon);
  EXPECT_EQ(b.visitor, "sid");
  EXPECT_EQ(b.page, "url");
  EXPECT_EQ(b.referrer, "ref");
  EXPECT_EQ(b.device, "dev");
  EXPECT_EQ(b.event, "evt");
  EXPECT_TRUE(MissingColumnNotes(beacon, b).empty());

  config::Site segment;
  segment.name = "app";
  for (const char* n : {"eid", "dt", "type", "event", "name", "anonymous_id", "context", "dev"})
    segment.schema.push_back(StringField(n));
  const OverviewColumns s = OverviewColumnsOf(segment);
  EXPECT_EQ(s.visitor, "anonymous_id");
  EXPECT_EQ(s.event, "event");
  EXPECT_EQ(s.page, "");
  const auto notes = MissingColumnNotes(segment, s);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0], "site app has no page field (url or context_page_url)");

  // A field of another type is not read as text.
  segment.schema.push_back(StringField("url"));
  segment.schema.back().type = config::FieldType::kInteger;
  EXPECT_EQ(OverviewColumnsOf(segment).page, "");
}

}  // namespace
}  // namespace oceanus::sink

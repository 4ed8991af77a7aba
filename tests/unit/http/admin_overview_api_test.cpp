// /api/overview (http/admin_overview_api.h) against a HistorySource that answers what the test
// gives it: the request it passes on, the JSON it answers, and its 400s and 503.
#include "http/admin_overview_api.h"

#include <gtest/gtest.h>

#include <rapidjson/document.h>

namespace oceanus::http {
namespace {

class GivenHistory final : public sink::HistorySource {
 public:
  Result<std::vector<sink::EventRow>> Recent(const config::Site&, const std::string&,
                                             const std::string&,
                                             std::chrono::system_clock::time_point,
                                             std::size_t) override {
    return Status::Internal("not used");
  }
  Result<sink::SiteOverview> Overview(const config::Site& site,
                                      const sink::OverviewRequest& request) override {
    ++calls;
    site_name = site.name;
    asked = request;
    return answer;
  }

  Result<sink::SiteOverview> answer = sink::SiteOverview{};
  int calls = 0;
  std::string site_name;
  sink::OverviewRequest asked;
};

class OverviewAnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::Site site;
    site.name = "web";
    config_.sites.push_back(site);
  }
  AdminResponse Ask(const std::string& query) {
    return OverviewAnswer(config_, &history_, "Europe/Berlin", query);
  }

  config::Config config_;
  GivenHistory history_;
};

TEST_F(OverviewAnswerTest, ABadDayOrSiteOrTopIsA400WithItsReasonAndNoQuery) {
  for (const char* day : {"2026-13-01", "yesterday", "2026-02-30", "20261125"}) {
    const AdminResponse r = Ask(std::string("site=web&day=") + day);
    EXPECT_EQ(r.status, 400) << day;
    EXPECT_NE(r.body.find("day:"), std::string::npos) << r.body;
  }
  AdminResponse r = Ask("site=nope&day=2026-11-25");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("site:"), std::string::npos) << r.body;
  EXPECT_EQ(Ask("day=2026-11-25").status, 400);
  EXPECT_EQ(Ask("site=web&top=0").status, 400);
  EXPECT_EQ(Ask("site=web&top=ten").status, 400);
  EXPECT_EQ(Ask("site=web&day=%zz").status, 400);
  EXPECT_EQ(OverviewAnswer(config_, &history_, "Mars/Olympus", "site=web").status, 400);
  EXPECT_EQ(OverviewAnswer(config_, nullptr, "UTC", "site=web").status, 400);
  EXPECT_EQ(history_.calls, 0);
}

TEST_F(OverviewAnswerTest, AnswersTheDayAsJsonWithTwentyFourHours) {
  sink::SiteOverview o;
  o.time_zone = "Europe/Berlin";
  o.hours[0] = {3, 2};
  o.hours[23] = {1, 1};
  o.pages = {{"/home", 3}, {"/q?x=\"'\n", 1}};
  o.referrers = {{"https://a.example/", 1}};
  o.devices = {{"pc", 2}, {"", 1}};
  o.events = {{"pageview", 5}};
  o.notes = {"a note"};
  history_.answer = o;
  const AdminResponse r = Ask("site=web&day=2026-11-25&top=5");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(history_.site_name, "web");
  EXPECT_EQ(history_.asked.day, std::chrono::year(2026) / 11 / 25);
  EXPECT_EQ(history_.asked.zone.name(), "Europe/Berlin");
  EXPECT_EQ(history_.asked.top, 5u);
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.body;
  EXPECT_STREQ(doc["site"].GetString(), "web");
  EXPECT_STREQ(doc["day"].GetString(), "2026-11-25");
  EXPECT_STREQ(doc["time_zone"].GetString(), "Europe/Berlin");
  ASSERT_EQ(doc["hours"].Size(), 24u);
  EXPECT_EQ(doc["hours"][0]["hour"].GetInt(), 0);
  EXPECT_EQ(doc["hours"][0]["events"].GetInt(), 3);
  EXPECT_EQ(doc["hours"][0]["visitors"].GetInt(), 2);
  EXPECT_EQ(doc["hours"][12]["events"].GetInt(), 0);
  EXPECT_EQ(doc["hours"][23]["hour"].GetInt(), 23);
  ASSERT_EQ(doc["pages"].Size(), 2u);
  EXPECT_STREQ(doc["pages"][1]["value"].GetString(), "/q?x=\"'\n");
  EXPECT_EQ(doc["pages"][1]["count"].GetInt(), 1);
  EXPECT_STREQ(doc["devices"][1]["value"].GetString(), "");
  EXPECT_EQ(doc["events"][0]["count"].GetInt(), 5);
  EXPECT_EQ(doc["referrers"].Size(), 1u);
  EXPECT_STREQ(doc["notes"][0].GetString(), "a note");
}

TEST_F(OverviewAnswerTest, WithoutADayItIsTodayInTheZoneAndTopIsTen) {
  ASSERT_EQ(Ask("site=web").status, 200);
  const auto today =
      sink::LocalDate(std::chrono::system_clock::now(), *TimeZone::Load("Europe/Berlin"));
  // Unless midnight passed between the two reads.
  EXPECT_LE(std::chrono::sys_days(today) - std::chrono::sys_days(history_.asked.day),
            std::chrono::days(1));
  EXPECT_GE(std::chrono::sys_days(today), std::chrono::sys_days(history_.asked.day));
  EXPECT_EQ(history_.asked.top, 10u);
}

TEST_F(OverviewAnswerTest, TheWarehousesErrorIsA503) {
  history_.answer = Status::Unavailable("clickhouse: connection refused");
  const AdminResponse r = Ask("site=web&day=2026-11-25");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"error\":\"clickhouse: connection refused\"}\n");
}

}  // namespace
}  // namespace oceanus::http

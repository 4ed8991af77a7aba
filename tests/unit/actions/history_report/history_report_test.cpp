#include "actions/history_report/history_report.h"

#include <gtest/gtest.h>

#include "app/config.h"
#include "sink/sqlite/sqlite_history.h"
#include "sink/sqlite/sqlite_sink.h"
#include "tables/table_names.h"
#include "temp_dir.h"
#include "util/time.h"

namespace oceanus::actions {
namespace {

// The shipped example: its history_report action, its template, its sites.
TEST(HistoryReportTest, RendersTheRequestAndTheVisitorsHistoryNewestFirst) {
  testing::ScopedTempDir dir("report");
  auto config = app::LoadConfig(OCEANUS_SOURCE_DIR "/examples/oceanus.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto tz = TimeZone::Load(config->time_zone);
  ASSERT_TRUE(tz.ok());
  const std::string db_path = (dir.path() / "oceanus.db").string();
  const config::Site& page = *config->FindSite("samplesite");
  {
    auto sink = sink::SqliteSink::Open(db_path);
    ASSERT_TRUE(sink.ok());
    const auto now = std::chrono::system_clock::now();
    const auto spec = tables::TableSpecFor(page, tables::TableFor(page, "", now, *tz));
    ASSERT_TRUE((*sink)->EnsureTable(spec).ok());
    std::vector<sink::Row> rows;
    auto row = [&](const std::string& eid, const std::string& sid, std::chrono::seconds ago,
                   const std::string& evt, const std::string& tit) {
      char dt[kUtcMicrosLength];
      FormatUtcMicros(now - ago, dt);
      sink::Row r(spec.columns.size());
      for (std::size_t i = 0; i < spec.columns.size(); ++i) {
        const std::string& c = spec.columns[i].name;
        if (c == "dt") r[i] = std::string(dt, kUtcMicrosLength);
        if (c == "eid") r[i] = eid;
        if (c == "sid") r[i] = sid;
        if (c == "evt") r[i] = evt;
        if (c == "tit") r[i] = tit;
        if (c == "url") r[i] = "https://example.com/" + eid;
        if (c == "oid") r[i] = "2";
      }
      rows.push_back(std::move(r));
    };
    row("e1", "abc", std::chrono::seconds(300), "pageview", "First <page>");
    row("e2", "abc", std::chrono::seconds(60), "click", "Second & last");
    row("e3", "other", std::chrono::seconds(30), "pageview", "Someone else");
    ASSERT_TRUE((*sink)->Write(spec, rows).status.ok());
  }
  auto history = sink::MakeSqliteHistory(db_path, "", *tz);
  ASSERT_TRUE(history.ok());
  const ActionConfig& action = *config->FindAction("document_report");
  const ActionEnv env{*config, config->actions, *tz, history->get()};
  auto report = HistoryReportAction::Create(
      action, static_cast<const HistoryReportSettings&>(*action.settings), env, **history);
  ASSERT_TRUE(report.ok()) << report.status().ToString();

  tasks::Task task;
  task.id = "document_request/E9/1";
  task.action = "document_report";
  task.site = "sampleform";
  task.args = R"({"subject":"Document request"})";
  task.event =
      R"({"dt":"2026-11-25 01:02:03.000000","eid":"E9","sid":"abc","name":"Taro <script>",)"
      R"("cname":"ACME & Co","email":"taro@example.com","url":"https://example.com/form"})";
  auto html = (*report)->Render(task);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  // The request, in JST, escaped.
  EXPECT_NE(html->find("2026-11-25 10:02:03"), std::string::npos);
  EXPECT_NE(html->find("Taro &lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html->find("<script>"), std::string::npos);
  EXPECT_NE(html->find("ACME &amp; Co"), std::string::npos);
  // This visitor's two events, newest first; the other session's not at all.
  const auto second = html->find("Second &amp; last");
  const auto first = html->find("First &lt;page&gt;");
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(first, std::string::npos);
  EXPECT_LT(second, first);
  EXPECT_EQ(html->find("Someone else"), std::string::npos);
  EXPECT_NE(html->find("2 events"), std::string::npos);

  // No sid: nothing to look up, and that will not change on retry.
  task.event = R"({"eid":"E10","name":"x"})";
  auto missing = (*report)->Render(task);
  ASSERT_FALSE(missing.ok());
  EXPECT_FALSE(missing.status().retryable());
}

}  // namespace
}  // namespace oceanus::actions

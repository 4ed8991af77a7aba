// The BigQuery sink against the local fake (real HTTP, real RS256 tokens): exact schemas,
// insertId de-duplication, per-row invalid errors, retryable failures with Retry-After.
#include "sink/bigquery/bigquery_sink.h"

#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "actions/history_report/history_report.h"
#include "app/config.h"
#include "fake_google.h"
#include "sink/bigquery/bigquery_history.h"
#include "sink/overview_cases.h"
#include "tables/table_names.h"
#include "temp_dir.h"
#include "util/time.h"

namespace oceanus::sink {
namespace {

using config::ColumnMode;
using config::FieldType;
using oceanus::testing::FakeGoogle;
using oceanus::testing::ReadFile;

class BigQuerySinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_unique<FakeGoogle>(temp_.path(), 3600);
    const auto key = fake_->WriteKeyFile(temp_.path() / "sa.json", ReadFile(fake_->key()));
    sink::BigQueryConfig cfg;
    cfg.api = sink::BigQueryApi::kInsertAll;
    cfg.project = "oceanus-test";
    cfg.dataset = "events";
    cfg.endpoint = fake_->base();
    cfg.max_rows = 3;  // several requests per batch
    auto tokens = google::MakeTokenSource(key, {});
    ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
    sink_ = std::make_unique<BigQuerySink>(cfg, std::move(tokens).value());
    spec_.name = "samplesite_20261125";
    spec_.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kRequired, "received at"},
                     {"eid", FieldType::kString, ColumnMode::kRequired, ""},
                     {"evt", FieldType::kString, ColumnMode::kNullable, ""},
                     {"n", FieldType::kInteger, ColumnMode::kNullable, ""}};
  }

  rapidjson::Document Tables() {
    rapidjson::Document doc;
    const std::string body = fake_->Tables();
    doc.Parse(body.c_str());
    return doc;
  }
  static Row R(const std::string& eid, const std::string& evt,
               std::optional<std::string> n = std::nullopt) {
    return {"2026-11-25 01:02:03.000004", eid, evt, n};
  }

  oceanus::testing::ScopedTempDir temp_{"oceanus-bq"};
  std::unique_ptr<FakeGoogle> fake_;
  std::unique_ptr<BigQuerySink> sink_;
  TableSpec spec_;
};

TEST_F(BigQuerySinkTest, CreatesTheTableWithTheExactSchemaAndWidensIt) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  auto t = Tables();
  const auto& fields = t["samplesite_20261125"]["schema"];
  ASSERT_EQ(fields.Size(), 4u);
  EXPECT_STREQ(fields[0]["name"].GetString(), "dt");
  EXPECT_STREQ(fields[0]["type"].GetString(), "TIMESTAMP");
  EXPECT_STREQ(fields[0]["mode"].GetString(), "REQUIRED");
  EXPECT_STREQ(fields[0]["description"].GetString(), "received at");
  EXPECT_STREQ(fields[3]["type"].GetString(), "INTEGER");
  EXPECT_TRUE(t["samplesite_20261125"]["timePartitioning"].IsNull());

  TableSpec wider = spec_;
  wider.columns.push_back({"uid", FieldType::kString, ColumnMode::kRequired, ""});
  ASSERT_TRUE(sink_->EnsureTable(wider).ok());
  t = Tables();
  ASSERT_EQ(t["samplesite_20261125"]["schema"].Size(), 5u);
  EXPECT_STREQ(t["samplesite_20261125"]["schema"][4]["mode"].GetString(), "NULLABLE");

  TableSpec single = spec_;
  single.name = "sampleform";
  single.time_partition_field = "dt";
  ASSERT_TRUE(sink_->EnsureTable(single).ok());
  t = Tables();
  EXPECT_STREQ(t["sampleform"]["timePartitioning"]["type"].GetString(), "DAY");
  EXPECT_STREQ(t["sampleform"]["timePartitioning"]["field"].GetString(), "dt");
}

TEST_F(BigQuerySinkTest, RowsAreStoredOnceByInsertId) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  const std::vector<Row> batch = {R("e1", "a", "1"), R("e2", "b"), R("e3", "c", "3"), R("e4", "d"),
                                  R("e5", "e")};
  auto w = sink_->Write(spec_, batch);
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  ASSERT_TRUE(sink_->Write(spec_, batch).status.ok());  // a retried batch
  auto t = Tables();
  const auto& rows = t["samplesite_20261125"]["rows"];
  ASSERT_EQ(rows.Size(), 5u);
  EXPECT_STREQ(rows[0]["eid"].GetString(), "e1");
  EXPECT_EQ(rows[0]["n"].GetInt(), 1);  // INTEGER sent as a JSON number
  EXPECT_STREQ(rows[0]["dt"].GetString(), "2026-11-25 01:02:03.000004");
  EXPECT_FALSE(rows[1].HasMember("n"));
  EXPECT_GT(sink_->bytes_sent(), 0u);
}

TEST_F(BigQuerySinkTest, InvalidRowsAreRejectedWithBigQuerysReasonAndTheRestStored) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  auto w = sink_->Write(spec_, {R("e1", "a"), R("e2", "b", "12x"), R("e3", "c")});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  ASSERT_EQ(w.rejected.size(), 1u);
  EXPECT_EQ(w.rejected[0].index, 1u);
  EXPECT_EQ(w.rejected[0].reason, "BigQuery invalid at n: Invalid value for field n");
  auto t = Tables();
  EXPECT_EQ(t["samplesite_20261125"]["rows"].Size(), 2u);  // the stopped rows were resent
}

TEST_F(BigQuerySinkTest, ServerErrorsAndRateLimitsFailTheBatchAsRetryable) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  fake_->Inject(1, 503);
  auto w = sink_->Write(spec_, {R("e1", "a")});
  ASSERT_FALSE(w.status.ok());
  EXPECT_TRUE(w.status.retryable());
  fake_->Inject(1, 429, 7);
  w = sink_->Write(spec_, {R("e1", "a")});
  EXPECT_TRUE(w.status.retryable());
  EXPECT_NE(w.status.message().find("Retry-After 7"), std::string::npos) << w.status.message();
  EXPECT_EQ(w.retry_after, std::chrono::seconds(7));
  // Then it passes, and the row is there once.
  ASSERT_TRUE(sink_->Write(spec_, {R("e1", "a")}).status.ok());
  EXPECT_EQ(Tables()["samplesite_20261125"]["rows"].Size(), 1u);
}

TEST_F(BigQuerySinkTest, HistoryQueryUsesNamedParametersNewestFirst) {
  config::Site site;
  site.name = "samplesite";
  site.tables = config::TableLayout::kDaily;
  for (const char* name : {"dt", "eid", "evt", "n"}) {
    config::Field f;
    f.name = name;
    site.schema.push_back(f);
  }
  TableSpec day1 = spec_, day2 = spec_;
  day1.name = "samplesite_20261124";
  day2.name = "samplesite_20261125";
  ASSERT_TRUE(sink_->EnsureTable(day1).ok());
  ASSERT_TRUE(sink_->EnsureTable(day2).ok());
  auto row = [](const char* dt, const char* eid, const char* evt) {
    return Row{dt, eid, evt, std::nullopt};
  };
  ASSERT_TRUE(sink_
                  ->Write(day1, {row("2026-11-24 10:00:00.000000", "a", "x' OR '1'='1"),
                                 row("2026-11-24 11:00:00.000000", "b", "other")})
                  .status.ok());
  ASSERT_TRUE(sink_
                  ->Write(day2, {row("2026-11-25 09:00:00.000000", "c", "x' OR '1'='1"),
                                 row("2026-11-25 10:00:00.000000", "d", "x' OR '1'='1")})
                  .status.ok());
  auto since = ParseUtcMicros("2026-11-24 00:00:00");
  auto rows = sink_->RecentEvents(site, "", "evt", "x' OR '1'='1", *since, 2);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  auto eid = [](const BigQuerySink::EventRow& r) {
    for (const auto& [k, v] : r)
      if (k == "eid") return v;
    return std::string();
  };
  EXPECT_EQ(eid((*rows)[0]), "d");
  EXPECT_EQ(eid((*rows)[1]), "c");
  // The fake refuses SQL that contains a parameter's value; check what was sent, too.
  auto stats = HttpFetch({"GET", fake_->base() + "/_stats", {}, "", std::chrono::seconds(5)});
  ASSERT_TRUE(stats.ok());
  EXPECT_NE(stats->body.find("samplesite_*"), std::string::npos) << stats->body;
  EXPECT_NE(stats->body.find("_TABLE_SUFFIX >= @since_day"), std::string::npos);
  EXPECT_NE(stats->body.find("\"NAMED\""), std::string::npos);
  EXPECT_FALSE(sink_->RecentEvents(site, "", "nope", "v", *since, 5).ok());
}

// The history report on BigQuery: the shipped example's action, reading through jobs.query.
TEST_F(BigQuerySinkTest, EraseRowsRunsAParameterisedDmlDeleteOnEveryListedTable) {
  const std::string person = "x' OR '1'='1";
  std::vector<std::string> names;
  for (const char* day : {"20261123", "20261124", "20261125"}) {  // two pages of tables.list
    TableSpec t = spec_;
    t.name = std::string("samplesite_") + day;
    names.push_back(t.name);
    ASSERT_TRUE(sink_->EnsureTable(t).ok());
    ASSERT_TRUE(
        sink_->Write(t, {R(t.name + "a", person, "7"), R(t.name + "b", "other")}).status.ok());
  }
  auto tables = sink_->ListTables();
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  EXPECT_EQ(*tables, names);
  EXPECT_EQ(*sink_->EraseRows(names[0], "evt", person, /*count_only=*/true), 1);
  EXPECT_EQ(*sink_->EraseRows(names[0], "n", "7", /*count_only=*/true), 1);  // INTEGER as text
  EXPECT_EQ(*sink_->EraseRows(names[0], "no_such_column", person, false), 0);
  for (const auto& name : names) {
    auto erased = sink_->EraseRows(name, "evt", person, false);
    ASSERT_TRUE(erased.ok()) << erased.status().ToString();
    EXPECT_EQ(*erased, 1);
  }
  const rapidjson::Document dump = Tables();
  for (const auto& name : names) {
    ASSERT_EQ(dump[name.c_str()]["rows"].Size(), 1u) << name;
    EXPECT_STREQ(dump[name.c_str()]["rows"][0]["evt"].GetString(), "other");
  }
  // The fake refuses SQL that contains a parameter's value.
  auto stats = HttpFetch({"GET", fake_->base() + "/_stats", {}, "", std::chrono::seconds(5)});
  ASSERT_TRUE(stats.ok());
  EXPECT_NE(stats->body.find("@value"), std::string::npos) << stats->body;

  // Rows still in an insertAll streaming buffer cannot be deleted yet: a clear, retryable error.
  ASSERT_TRUE(sink_->Write(spec_, {R("late", person)}).status.ok());
  fake_->InjectJson("{\"streaming_buffer\":\"" + spec_.name + "\",\"seconds\":600}");
  auto refused = sink_->EraseRows(spec_.name, "evt", person, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(refused.status().message().find("again in about 90 minutes"), std::string::npos)
      << refused.status().message();
}

TEST_F(BigQuerySinkTest, HistoryReportReadsTheVisitorsEventsThroughJobsQuery) {
  auto config = app::LoadConfig(OCEANUS_SOURCE_DIR "/examples/oceanus.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto tz = TimeZone::Load(config->time_zone);
  const config::Site& page = *config->FindSite("samplesite");
  const auto now = std::chrono::system_clock::now();
  const TableSpec spec = tables::TableSpecFor(page, tables::TableFor(page, "", now, *tz));
  ASSERT_TRUE(sink_->EnsureTable(spec).ok());
  auto row = [&](const std::string& eid, const std::string& sid, std::chrono::seconds ago,
                 const std::string& url) {
    char dt[kUtcMicrosLength];
    FormatUtcMicros(now - ago, dt);
    Row r(spec.columns.size());
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
      const std::string& c = spec.columns[i].name;
      if (c == "dt") r[i] = std::string(dt, kUtcMicrosLength);
      if (c == "eid") r[i] = eid;
      if (c == "sid") r[i] = sid;
      if (c == "evt") r[i] = "pageview";
      if (c == "url") r[i] = url;
      if (c == "oid") r[i] = "2";
    }
    return r;
  };
  ASSERT_TRUE(sink_
                  ->Write(spec, {row("e1", "abc", std::chrono::seconds(120), "https://x/older"),
                                 row("e2", "abc", std::chrono::seconds(60), "https://x/newer"),
                                 row("e3", "zzz", std::chrono::seconds(30), "https://x/other")})
                  .status.ok());
  auto history = MakeBigQueryHistory(*sink_, "", *tz);
  const actions::ActionConfig& action = *config->FindAction("document_report");
  const actions::ActionEnv env{*config, config->actions, *tz, history.get()};
  auto report = actions::HistoryReportAction::Create(
      action, static_cast<const actions::HistoryReportSettings&>(*action.settings), env, *history);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  tasks::Task task;
  task.site = "sampleform";
  task.args = R"({"subject":"s"})";
  task.event = R"({"dt":"2026-11-25 01:02:03.000000","eid":"F","sid":"abc","name":"Taro"})";
  auto html = (*report)->Render(task);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  ASSERT_NE(html->find("https://x/newer"), std::string::npos);
  ASSERT_NE(html->find("https://x/older"), std::string::npos);
  EXPECT_LT(html->find("https://x/newer"), html->find("https://x/older"));
  EXPECT_EQ(html->find("https://x/other"), std::string::npos);
  EXPECT_NE(html->find("2 events"), std::string::npos);
}

TEST_F(BigQuerySinkTest, UnreachableEndpointIsRetryable) {
  sink::BigQueryConfig cfg;
  cfg.api = sink::BigQueryApi::kInsertAll;
  cfg.project = "p";
  cfg.dataset = "d";
  cfg.endpoint = "http://127.0.0.1:1";
  const auto key = fake_->WriteKeyFile(temp_.path() / "k2.json", ReadFile(fake_->key()));
  BigQuerySink down(cfg, std::move(google::MakeTokenSource(key, {})).value());
  Status s = down.EnsureTable(spec_);
  EXPECT_TRUE(s.retryable()) << s.ToString();
}

// The fake runs the overview's SQL in SQLite over the tables it names (fake_google.py).
TEST_F(BigQuerySinkTest, OverviewCountsTheLocalDayInDailyAndSingleTables) {
  overview_cases::RunCases(*sink_, [&](const std::string& prefix, const TimeZone& tz) {
    return MakeBigQueryHistory(*sink_, prefix, tz);
  });
  // The last query (a list's on a day with tables) carried its instants and limit as named
  // parameters, none of them in the SQL text.
  rapidjson::Document stats;
  stats.Parse(fake_->Stats().c_str());
  ASSERT_TRUE(stats.IsObject() && stats["last_query"].IsObject());
  const auto& query = stats["last_query"];
  const std::string sql = query["query"].GetString();
  EXPECT_NE(sql.find("LIMIT @top"), std::string::npos) << sql;
  EXPECT_EQ(sql.find("2026-"), std::string::npos) << sql;
  std::vector<std::string> names;
  for (const auto& p : query["queryParameters"].GetArray())
    names.emplace_back(p["name"].GetString());
  EXPECT_EQ(names, (std::vector<std::string>{"t0", "t24", "top"}));
}

}  // namespace
}  // namespace oceanus::sink

// The sink section through the registry: the registered types, the default, an unknown type
// listed at its position, each type's block validated and its settings described.
#include "sink/sink_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "config/config.h"
#include "config/reader.h"
#include "sink/bigquery/bigquery_config.h"
#include "sink/sink_registry.h"
#include "sink/sqlite/sqlite_config.h"

namespace oceanus::sink {
namespace {

// The sink section of `yaml` (a whole file's text), or the error message.
struct Parsed {
  SinkConfig sink;
  std::string error;
};
Parsed Parse(const std::string& yaml, const std::string& data_dir = "/d") {
  config::Reader r("f");
  config::Config shared;
  shared.data_dir = data_dir;
  Parsed p;
  try {
    p.sink = ParseSinkConfig(r, YAML::Load(yaml)["sink"], shared);
  } catch (const config::ConfigError& e) {
    p.error = e.message;
  }
  return p;
}

std::string Described(const SinkSettings& settings) {
  std::ostringstream out;
  settings.Describe(out);
  return out.str();
}

// A new sink folder adds a type without changing this test: it checks the two built in and
// that exactly one type is the default.
TEST(SinkRegistryTest, HoldsSqliteAsTheDefaultAndBigQuery) {
  const auto& registry = SinkRegistry::Get();
  int defaults = 0;
  for (const auto& [name, factory] : registry.all()) defaults += factory->IsDefault() ? 1 : 0;
  EXPECT_EQ(defaults, 1);
  ASSERT_NE(registry.Find("sqlite"), nullptr);
  EXPECT_TRUE(registry.Find("sqlite")->IsDefault());
  ASSERT_NE(registry.Find("bigquery"), nullptr);
  EXPECT_FALSE(registry.Find("bigquery")->IsDefault());
}

TEST(SinkConfigTest, UnknownTypeListsTheRegisteredTypesAtItsPosition) {
  auto p = Parse("sites: {}\nsink:\n  type: nosuch\n");
  EXPECT_EQ(p.error, "f:3:9: unknown sink type 'nosuch' (expected one of: " +
                         SinkRegistry::Get().Types() + ")");
  EXPECT_NE(p.error.find("bigquery, "), std::string::npos) << p.error;
}

TEST(SinkConfigTest, NoSectionGivesSqliteUnderTheDataDir) {
  auto p = Parse("sites: {}\n");
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.sink.type, "sqlite");
  auto* sqlite = dynamic_cast<SqliteSettings*>(p.sink.settings.get());
  ASSERT_NE(sqlite, nullptr);
  EXPECT_EQ(sqlite->path(), "/d/oceanus.db");
  EXPECT_EQ(sqlite->Summary(), "/d/oceanus.db");
  EXPECT_EQ(Described(*sqlite), "  path: /d/oceanus.db\n");
}

TEST(SinkConfigTest, TheDefaultPathFollowsTheDataDirAndAGivenOneStays) {
  auto p = Parse("sink: {table_prefix: t_}\n");
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.sink.table_prefix, "t_");
  p.sink.settings->MoveDataDir("/d", "/elsewhere");
  EXPECT_EQ(p.sink.settings->Summary(), "/elsewhere/oceanus.db");
  auto given = Parse("sink: {path: /d/oceanus.db.keep}\n");
  ASSERT_EQ(given.error, "");
  given.sink.settings->MoveDataDir("/d", "/elsewhere");
  EXPECT_EQ(given.sink.settings->Summary(), "/d/oceanus.db.keep");
}

TEST(SinkConfigTest, UnknownKeysListEveryTypesKeys) {
  auto p = Parse("sink: {type: sqlite, pth: x}\n");
  EXPECT_EQ(p.error.rfind("f:1:22: unknown key 'pth' in sink (expected one of: ", 0), 0u)
      << p.error;
  EXPECT_NE(p.error.find("path"), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("bigquery"), std::string::npos) << p.error;
}

TEST(SinkConfigTest, ABigQueryBlockUnderSqliteIsAcceptedAndStillValidated) {
  auto ok = Parse("sink:\n  type: sqlite\n  bigquery: {project: p}\n");
  EXPECT_EQ(ok.error, "");
  EXPECT_NE(dynamic_cast<SqliteSettings*>(ok.sink.settings.get()), nullptr);
  auto bad = Parse("sink:\n  type: sqlite\n  bigquery: {max_rows: 0}\n");
  EXPECT_EQ(bad.error, "f:3:24: max_rows must be at least 1");
}

TEST(SinkConfigTest, BigQueryNeedsADatasetAndDescribesItsSettings) {
  auto missing = Parse("sink:\n  type: bigquery\n  bigquery: {project: p}\n");
  EXPECT_EQ(missing.error, "f:2:3: sink type bigquery needs sink.bigquery.dataset");

  auto p = Parse(
      "sink:\n  type: bigquery\n  bigquery: {project: p-1, dataset: ev, key_file: /k.json,"
      " timeout: 5s, max_rows: 20}\n");
  ASSERT_EQ(p.error, "");
  auto* bq = dynamic_cast<BigQuerySettings*>(p.sink.settings.get());
  ASSERT_NE(bq, nullptr);
  EXPECT_EQ(bq->config().max_rows, 20u);
  EXPECT_EQ(Described(*bq),
            "  project: p-1\n"
            "  dataset: ev\n"
            "  location: (the dataset's)\n"
            "  endpoint: https://bigquery.googleapis.com\n"
            "  key_file: /k.json\n"
            "  api: storage_write\n"
            "  delivery: exactly_once (COMMITTED streams, offsets in the queue's ledger)\n"
            "  storage_endpoint: bigquerystorage.googleapis.com:443 (TLS)\n"
            "  stream_max_rows: 10000000\n"
            "  stream_max_age: 3600 s\n"
            "  max_rows: 20\n"
            "  max_request_bytes: 9437184\n"
            "  timeout: 5000 ms\n"
            "  partition_single_tables: true\n");
}

TEST(SinkConfigTest, BigQueryApiAndDelivery) {
  const std::string head = "sink:\n  type: bigquery\n  bigquery: {project: p, dataset: d, ";
  EXPECT_EQ(Parse(head + "api: grpc}\n").error,
            "f:3:43: unknown bigquery api 'grpc' (expected one of: storage_write, insert_all)");
  EXPECT_EQ(Parse(head + "delivery: once}\n").error,
            "f:3:48: unknown bigquery delivery 'once' (expected one of: exactly_once, "
            "at_least_once)");
  EXPECT_EQ(Parse(head + "api: insert_all, delivery: exactly_once}\n").error,
            "f:3:65: delivery exactly_once needs api storage_write (insertAll de-duplicates for "
            "about a minute only)");
  EXPECT_EQ(Parse(head + "storage_endpoint: 'http://x'}\n").error,
            "f:3:56: storage_endpoint 'http://x' is not host:port");
  EXPECT_EQ(Parse(head + "stream_max_rows: 0}\n").error,
            "f:3:55: stream_max_rows must be at least 1");

  auto p = Parse(head + "delivery: at_least_once, storage_endpoint: '127.0.0.1:9'}\n");
  ASSERT_EQ(p.error, "");
  auto* bq = dynamic_cast<BigQuerySettings*>(p.sink.settings.get());
  ASSERT_NE(bq, nullptr);
  EXPECT_FALSE(bq->config().exactly_once);
  EXPECT_NE(Described(*bq).find("  delivery: at_least_once (the _default stream)\n"
                                "  storage_endpoint: 127.0.0.1:9 (loopback: plaintext)\n"),
            std::string::npos);
  auto insert_all = Parse(head + "api: insert_all}\n");
  ASSERT_EQ(insert_all.error, "");
  bq = dynamic_cast<BigQuerySettings*>(insert_all.sink.settings.get());
  EXPECT_EQ(bq->config().api, BigQueryApi::kInsertAll);
  EXPECT_FALSE(bq->config().exactly_once);
  EXPECT_EQ(Described(*bq).find("delivery"), std::string::npos);
}

TEST(SinkConfigTest, IsBigQueryProjectId) {
  EXPECT_TRUE(IsBigQueryProjectId("my-proj.example.com:p-1"));
  EXPECT_FALSE(IsBigQueryProjectId("p/../x"));
  EXPECT_FALSE(IsBigQueryProjectId("Upper"));
  EXPECT_FALSE(IsBigQueryProjectId(""));
}

}  // namespace
}  // namespace oceanus::sink

// The ClickHouse sink's promises against a real clickhouse-server (tests/unit/clickhouse_server.h):
// tables created partitioned and de-duplicating, widened and never narrowed; a batch written
// twice stored once; a bad value rejected alone (by the client, and by the server); a stopped
// server a retryable failure the next batch recovers from; history reads with hostile values.
#include "sink/clickhouse/clickhouse_sink.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "clickhouse_server.h"
#include "sink/clickhouse/clickhouse_history.h"
#include "sink/overview_cases.h"

namespace oceanus::sink {
namespace {

#define ASSERT_OK(expr)                              \
  do {                                               \
    const Status status_ = (expr);                   \
    ASSERT_TRUE(status_.ok()) << status_.ToString(); \
  } while (0)

using config::ColumnMode;
using config::FieldType;

class ClickHouseSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    sink_ = std::make_unique<ClickHouseSink>(server_.Config());
    spec_.name = "site_20261201";
    spec_.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kNullable, "received at"},
                     {"eid", FieldType::kString, ColumnMode::kNullable, ""},
                     {"sid", FieldType::kString, ColumnMode::kRequired, ""},
                     {"evt", FieldType::kString, ColumnMode::kNullable, "it's the event"},
                     {"n", FieldType::kInteger, ColumnMode::kNullable, ""},
                     {"ok", FieldType::kBoolean, ColumnMode::kNullable, ""},
                     {"price", FieldType::kFloat, ColumnMode::kNullable, ""}};
  }

  static Row R(const std::string& eid, std::optional<std::string> n = "1",
               std::string dt = "2026-12-01 10:00:00.123456", std::string sid = "s1") {
    return {dt, eid, sid, "pageview", std::move(n), "true", "1.5"};
  }

  std::string Q(const std::string& sql) { return server_.Query(sql); }
  // How many INSERTs into the test's table finished, per format (as "RowBinary\t1\n…").
  std::string Inserts() {
    Q("SYSTEM FLUSH LOGS");
    return Q(
        "SELECT extract(query, 'FORMAT (\\\\w+)') AS f, count() FROM system.query_log WHERE "
        "type = 2 AND query LIKE 'INSERT INTO `oceanus`.`" +
        spec_.name + "`%' GROUP BY f ORDER BY f FORMAT TSV");
  }
  std::string T() const { return "oceanus." + spec_.name; }

  testing::ClickHouseServer server_;
  std::unique_ptr<ClickHouseSink> sink_;
  TableSpec spec_;
};

TEST_F(ClickHouseSinkTest, CreatesAPartitionedDeduplicatingTableAndWidensIt) {
  ASSERT_OK(sink_->EnsureTable(spec_));
  const std::string created = Q("SHOW CREATE TABLE " + T() + " FORMAT TSVRaw");
  EXPECT_NE(created.find("ENGINE = ReplacingMergeTree"), std::string::npos) << created;
  EXPECT_NE(created.find("PARTITION BY toYYYYMMDD(dt)"), std::string::npos) << created;
  EXPECT_NE(created.find("ORDER BY (toStartOfHour(dt), sid, eid)"), std::string::npos) << created;
  EXPECT_EQ(Q("SELECT name, type FROM system.columns WHERE database = 'oceanus' AND table = '" +
              spec_.name + "' FORMAT TSV"),
            "dt\tDateTime(\\'UTC\\')\ndt_us\tUInt32\neid\tString\nsid\tString\n"
            "evt\tNullable(String)\nn\tNullable(Int64)\nok\tNullable(UInt8)\n"
            "price\tNullable(Float64)\n");
  ASSERT_TRUE(sink_->Write(spec_, {R("a")}).status.ok());

  spec_.columns.push_back({"ref", FieldType::kString, ColumnMode::kNullable, ""});
  ASSERT_OK(sink_->EnsureTable(spec_));
  Row b = R("b");
  b.push_back("https://example.com/");
  auto w = sink_->Write(spec_, {b});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_EQ(Q("SELECT eid, ref FROM " + T() + " ORDER BY eid FORMAT TSV"),
            "a\t\\N\nb\thttps://example.com/\n");
  // A second sink (another loader) ensuring the same widened table finds nothing to do.
  ClickHouseSink other(server_.Config());
  ASSERT_OK(other.EnsureTable(spec_));
}

TEST_F(ClickHouseSinkTest, StoresValuesExactlyWithMicroseconds) {
  ASSERT_OK(sink_->EnsureTable(spec_));
  Row row = {"2026-12-01 23:59:59.000042", "x", "s9",   std::string("q'\\\"\n\t\0z", 8),
             "-9223372036854775808",       "0", "-0.25"};
  auto w = sink_->Write(spec_, {row});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(
      Q("SELECT dt, dt_us, hex(evt), n, ok, price, toYYYYMMDD(dt) FROM " + T() + " FORMAT TSV"),
      "2026-12-01 23:59:59\t42\t" + std::string("71275C220A09007A") +
          "\t-9223372036854775808\t0\t-0.25\t20261201\n");
}

// RowBinary, the format of a table whose columns all have the schema's types: strings whose
// length takes two and three bytes of LEB128, NULL in each nullable type (a NULL timestamp
// still sends its micros column), the extremes of the numbers, bytes JSON would escape.
TEST_F(ClickHouseSinkTest, RowBinaryCarriesEveryTypeNullsAndLongStrings) {
  spec_.columns.push_back({"ts", FieldType::kTimestamp, ColumnMode::kNullable, ""});
  ASSERT_OK(sink_->EnsureTable(spec_));
  const Row full = {"2026-12-01 10:00:00.000001",
                    "a",
                    std::string(200, 's'),
                    std::string(20000, '\0'),
                    "-1",
                    "1",
                    "-0.125",
                    "2105-12-31 23:59:59.999999"};
  const Row nulls = {"2026-12-01 10:00:00.500000",
                     "b",
                     "s",
                     std::nullopt,
                     std::nullopt,
                     std::nullopt,
                     std::nullopt,
                     std::nullopt};
  auto w = sink_->Write(spec_, {full, nulls});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(Q("SELECT eid, dt_us, length(sid), length(evt), n, ok, price, ts, ts_us FROM " + T() +
              " ORDER BY eid FORMAT TSV"),
            "a\t1\t200\t20000\t-1\t1\t-0.125\t2105-12-31 23:59:59\t999999\n"
            "b\t500000\t1\t\\N\t\\N\t\\N\t\\N\t\\N\t0\n");
  EXPECT_EQ(Inserts(), "RowBinary\t1\n");
}

TEST(ClickHouseTypesTest, RowBinaryOnlyWhenEveryColumnHasTheSchemasType) {
  TableSpec spec;
  spec.name = "t";
  spec.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kNullable, ""},
                  {"eid", FieldType::kString, ColumnMode::kNullable, ""},
                  {"n", FieldType::kInteger, ColumnMode::kNullable, ""},
                  {"ok", FieldType::kBoolean, ColumnMode::kRequired, ""}};
  std::map<std::string, std::string> types = {{"dt", "DateTime('UTC')"}, {"dt_us", "UInt32"},
                                              {"eid", "String"},         {"n", "Nullable(Int64)"},
                                              {"ok", "UInt8"},           {"old", "Int32"}};
  std::string differs;
  EXPECT_TRUE(TypesMatchSchema(spec, types, &differs)) << differs;
  types.erase("ok");  // a column the sink is adding has its type
  EXPECT_TRUE(TypesMatchSchema(spec, types, &differs)) << differs;
  types["n"] = "Int64";
  EXPECT_FALSE(TypesMatchSchema(spec, types, &differs));
  EXPECT_EQ(differs, "n is Int64, not Nullable(Int64)");
  types["n"] = "Nullable(Int64)";
  types["dt_us"] = "UInt64";
  EXPECT_FALSE(TypesMatchSchema(spec, types, &differs));
  EXPECT_EQ(differs, "dt_us is UInt64, not UInt32");
}

TEST_F(ClickHouseSinkTest, TheSameBatchWrittenTwiceIsStoredOnce) {
  ASSERT_OK(sink_->EnsureTable(spec_));
  const std::vector<Row> batch = {R("a"), R("b"), R("c")};
  ASSERT_TRUE(sink_->Write(spec_, batch).status.ok());
  ASSERT_TRUE(sink_->Write(spec_, batch).status.ok());
  EXPECT_EQ(Q("SELECT count(), uniqExact(eid) FROM " + T() + " FINAL FORMAT TSV"), "3\t3\n");
  // And after the merge that ReplacingMergeTree does by itself, without FINAL.
  EXPECT_EQ(Q("OPTIMIZE TABLE " + T() + " FINAL"), "");
  EXPECT_EQ(Q("SELECT count() FROM " + T() + " FORMAT TSV"), "3\n");
}

TEST_F(ClickHouseSinkTest, AValueNotOfItsTypeIsRejectedAloneTheRestStored) {
  ASSERT_OK(sink_->EnsureTable(spec_));
  Row no_sid = R("d");
  no_sid[2] = std::nullopt;
  auto w = sink_->Write(spec_, {R("a"), R("b", "twelve"), R("c", "99999999999999999999"), no_sid,
                                R("e", "1", "1960-01-01 00:00:00"), R("f")});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  ASSERT_EQ(w.rejected.size(), 4u);
  EXPECT_EQ(w.rejected[0].index, 1u);
  EXPECT_EQ(w.rejected[0].reason, "column n: 'twelve' is not an integer");
  EXPECT_EQ(w.rejected[1].index, 2u);
  EXPECT_EQ(w.rejected[2].index, 3u);
  EXPECT_EQ(w.rejected[2].reason, "column sid is required but missing");
  EXPECT_EQ(w.rejected[3].index, 4u);
  EXPECT_EQ(Q("SELECT eid FROM " + T() + " ORDER BY eid FORMAT TSV"), "a\nf\n");
}

// A column whose type in the table is not the schema's (the schema changed a field's type;
// the sink never narrows or retypes a column): only the server can refuse the value.
TEST_F(ClickHouseSinkTest, ARowOnlyTheServerRefusesIsIsolatedWithItsMessage) {
  ASSERT_OK(sink_->EnsureTable(spec_));
  spec_.columns[4].type = FieldType::kString;  // n: Int64 in the table
  ASSERT_OK(sink_->EnsureTable(spec_));
  std::vector<Row> batch;
  for (int i = 0; i < 9; ++i) batch.push_back(R("e" + std::to_string(i), std::to_string(i)));
  batch[5][4] = "five";
  ASSERT_EQ(Q("SYSTEM STOP MERGES"), "");  // one part per INSERT that went in
  auto w = sink_->Write(spec_, batch);
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  ASSERT_EQ(w.rejected.size(), 1u);
  EXPECT_EQ(w.rejected[0].index, 5u);
  EXPECT_NE(w.rejected[0].reason.find("rejected by ClickHouse (code "), std::string::npos)
      << w.rejected[0].reason;
  EXPECT_NE(w.rejected[0].reason.find("five"), std::string::npos) << w.rejected[0].reason;
  EXPECT_EQ(Q("SELECT count(), sum(n) FROM " + T() + " FORMAT TSV"), "8\t31\n");
  // RowBinary would have misread the text as Int64 bytes: the table is written as JSONEachRow.
  EXPECT_EQ(Inserts(), "JSONEachRow\t2\n");
  // The error named its row: the batch was split around it (rows 0-4, 6-8), not halved.
  EXPECT_EQ(Q("SELECT count() FROM system.parts WHERE active AND table = '" + spec_.name +
              "' FORMAT TSV"),
            "2\n");
}

TEST_F(ClickHouseSinkTest, AStoppedServerIsRetryableAndTheNextBatchRecovers) {
  ASSERT_OK(sink_->EnsureTable(spec_));
  server_.Stop();
  auto w = sink_->Write(spec_, {R("a"), R("b")});
  EXPECT_EQ(w.status.code(), Status::Code::kUnavailable) << w.status.ToString();
  EXPECT_TRUE(w.status.retryable());
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(sink_->EnsureTable(spec_).code(), Status::Code::kOk);  // known: nothing to ask
  ASSERT_TRUE(server_.Start());
  w = sink_->Write(spec_, {R("a"), R("b")});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_EQ(Q("SELECT count() FROM " + T() + " FORMAT TSV"), "2\n");
}

// MEMORY_LIMIT_EXCEEDED (241) and TOO_MANY_PARTS (252) from a real server: the batch is kept
// (retryable, nothing rejected) and goes in once the server can take it.
TEST_F(ClickHouseSinkTest, MemoryLimitsAndTooManyPartsAreRetryable) {
  ASSERT_EQ(Q("CREATE DATABASE oceanus"), "");
  ASSERT_EQ(Q("CREATE TABLE " + T() +
              " (dt DateTime('UTC'), dt_us UInt32 DEFAULT 0, eid String, "
              "sid String, evt Nullable(String), n Nullable(Int64), ok Nullable(UInt8), "
              "price Nullable(Float64)) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(dt) "
              "ORDER BY (sid, eid) SETTINGS parts_to_delay_insert = 2, parts_to_throw_insert = 2"),
            "");
  ASSERT_OK(sink_->EnsureTable(spec_));
  auto config = server_.Config();
  config.user = "tiny";
  config.password = "tiny";
  ClickHouseSink tiny(config);
  std::vector<Row> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(R("m" + std::to_string(i)));
  auto w = tiny.Write(spec_, batch);
  EXPECT_EQ(w.status.code(), Status::Code::kUnavailable) << w.status.ToString();
  EXPECT_NE(w.status.message().find("Code: 241"), std::string::npos) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());

  ASSERT_EQ(Q("SYSTEM STOP MERGES"), "");
  ASSERT_TRUE(sink_->Write(spec_, {R("a")}).status.ok());  // two parts, merges stopped
  ASSERT_TRUE(sink_->Write(spec_, {R("z")}).status.ok());
  w = sink_->Write(spec_, {R("b"), R("c")});
  EXPECT_EQ(w.status.code(), Status::Code::kUnavailable) << w.status.ToString();
  EXPECT_NE(w.status.message().find("Code: 252"), std::string::npos) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(Q("SELECT count() FROM " + T() + " FORMAT TSV"), "2\n");
  ASSERT_EQ(Q("SYSTEM START MERGES"), "");
  ASSERT_EQ(Q("OPTIMIZE TABLE " + T() + " FINAL"), "");
  w = sink_->Write(spec_, {R("b"), R("c")});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_EQ(Q("SELECT count() FROM " + T() + " FINAL FORMAT TSV"), "4\n");
}

TEST_F(ClickHouseSinkTest, UserAndPasswordAreSentAndAWrongPasswordIsRetryable) {
  auto config = server_.Config("authed");
  config.user = "oceanus";
  config.password = "secret";
  ClickHouseSink authed(config);
  ASSERT_OK(authed.EnsureTable(spec_));
  EXPECT_TRUE(authed.Write(spec_, {R("a")}).status.ok());
  EXPECT_EQ(Q("SELECT count() FROM authed." + spec_.name + " FORMAT TSV"), "1\n");
  config.password = "wrong";
  ClickHouseSink refused(config);
  const Status s = refused.EnsureTable(spec_);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
}

TEST_F(ClickHouseSinkTest, ExistingTableThatDoesNotDeduplicateIsRefused) {
  ASSERT_EQ(Q("CREATE DATABASE oceanus"), "");
  ASSERT_EQ(Q("CREATE TABLE " + T() +
              " (dt DateTime, eid String) ENGINE = MergeTree "
              "ORDER BY eid"),
            "");
  const Status s = sink_->EnsureTable(spec_);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not a ReplacingMergeTree"), std::string::npos) << s.ToString();
}

TEST(ClickHouseHttpsTest, VerifiesTheServerWithTheCaFile) {
  testing::ClickHouseServer server(/*https=*/true);
  ASSERT_TRUE(server.Start());
  TableSpec spec;
  spec.name = "tls";
  spec.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kNullable, ""},
                  {"eid", FieldType::kString, ColumnMode::kNullable, ""}};
  auto config = server.Config();
  config.url = server.https_url();
  config.ca_file = server.ca_file();
  ClickHouseSink sink(config);
  ASSERT_OK(sink.EnsureTable(spec));
  auto w = sink.Write(spec, {{"2026-12-01 10:00:00.5", "a"}});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_EQ(server.Query("SELECT eid, dt_us FROM oceanus.tls FORMAT TSV"), "a\t500000\n");
  // Without the CA file the self-signed certificate is refused: retryable, nothing stored.
  config.ca_file.clear();
  ClickHouseSink unverified(config);
  const Status s = unverified.EnsureTable(spec);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
}

config::Site HistorySite() {
  config::Site site;
  site.name = "form";
  site.tables = config::TableLayout::kSingle;
  for (const char* name : {"dt", "eid", "sid", "evt", "n", "ok", "price"}) {
    config::Field f;
    f.name = name;
    if (f.name == "dt") f.type = FieldType::kTimestamp;
    site.schema.push_back(f);
  }
  return site;
}

TEST_F(ClickHouseSinkTest, HistoryFindsExactlyTheHostileKeyItWasAskedFor) {
  spec_.name = "form";
  spec_.time_partition_field = "dt";
  ASSERT_OK(sink_->EnsureTable(spec_));
  const std::vector<std::string> hostile = {
      "plain",     "it's",   "back\\slash", "back\\",        std::string("nul\0x", 5),
      "new\nline", "tab\tx", "' OR 1=1 --", "\\' OR 1=1 --", "`; DROP TABLE form; --",
      "\\N",       "日本語"};
  std::vector<Row> rows;
  for (std::size_t i = 0; i < hostile.size(); ++i)
    rows.push_back(R("e" + std::to_string(i), std::to_string(i),
                     "2026-12-01 10:00:0" + std::to_string(i % 10) + ".5", hostile[i]));
  rows.push_back(R("dup", "7", "2026-12-01 09:00:00.000001", "plain"));
  ASSERT_TRUE(sink_->Write(spec_, rows).status.ok());
  ASSERT_TRUE(sink_->Write(spec_, rows).status.ok());  // history reads de-duplicate
  auto history = MakeClickHouseHistory(server_.Config(), "", TimeZone());
  const auto since = *ParseUtcMicros("2026-12-01 00:00:00");
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    auto found = history->Recent(HistorySite(), "sid", hostile[i], since, 100);
    ASSERT_TRUE(found.ok()) << i << ": " << found.status().ToString();
    const std::size_t expected = hostile[i] == "plain" ? 2 : 1;
    ASSERT_EQ(found->size(), expected) << "value #" << i;
    const EventRow& row = found->front();
    auto value = [&](const std::string& name) {
      for (const auto& [k, v] : row)
        if (k == name) return v;
      return std::string("(absent)");
    };
    EXPECT_EQ(value("sid"), hostile[i]);
    EXPECT_EQ(value("eid"), "e" + std::to_string(i));
    EXPECT_EQ(value("dt"), "2026-12-01 10:00:0" + std::to_string(i % 10) + ".500000");
    EXPECT_EQ(value("dt_us"), "(absent)");
  }
  EXPECT_EQ(Q("SELECT count() FROM oceanus.form FINAL FORMAT TSV"), "13\n");
  // `since` with microseconds: the 09:00:00.000001 row is at it, not before it.
  auto at = history->Recent(HistorySite(), "sid", "plain",
                            *ParseUtcMicros("2026-12-01 09:00:00.000001"), 100);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->size(), 2u);
  at = history->Recent(HistorySite(), "sid", "plain", *ParseUtcMicros("2026-12-01 09:00:00.000002"),
                       100);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->size(), 1u);
  auto unknown = history->Recent(HistorySite(), "sid = sid OR 1", "x", since, 10);
  EXPECT_EQ(unknown.status().code(), Status::Code::kInvalidArgument);
}

// Each batch is written twice (two parts until a merge): FINAL counts every row once.
TEST_F(ClickHouseSinkTest, OverviewCountsTheLocalDayInDailyAndSingleTables) {
  overview_cases::RunCases(*sink_, [&](const std::string& prefix, const TimeZone& tz) {
    return MakeClickHouseHistory(server_.Config(), prefix, tz);
  });
}

}  // namespace
TEST_F(ClickHouseSinkTest, EraseRowsDeletesOneValueAndWaitsForTheMutation) {
  const std::string person = "o'brien\\; DROP TABLE x --";
  std::vector<Row> rows;
  for (int i = 0; i < 4; ++i)
    rows.push_back(
        R("e" + std::to_string(i), "1", "2026-12-01 10:00:00.123456", i % 2 ? "other" : person));
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  auto written = sink_->Write(spec_, rows);
  ASSERT_TRUE(written.status.ok()) << written.status.ToString();
  ASSERT_TRUE(written.rejected.empty()) << written.rejected[0].reason;
  ASSERT_TRUE(sink_->Write(spec_, {rows[0]}).status.ok());  // a row written twice is one row

  auto tables = sink_->ListTables();
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  EXPECT_EQ(*tables, std::vector<std::string>{spec_.name});
  EXPECT_EQ(*sink_->EraseRows(spec_.name, "sid", person, /*count_only=*/true), 2);
  EXPECT_EQ(*sink_->EraseRows(spec_.name, "sid", "other' OR '1'='1", false), 0);
  EXPECT_EQ(*sink_->EraseRows(spec_.name, "no_such_column", person, false), 0);
  EXPECT_EQ(*sink_->EraseRows(spec_.name, "n", "1", /*count_only=*/true), 4);  // Int64 as text

  auto erased = sink_->EraseRows(spec_.name, "sid", person, false);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, 2);
  // Returned only once the mutation is done: the rows are gone for every read, merged or not.
  EXPECT_EQ(Q("SELECT eid FROM " + T() + " ORDER BY eid FORMAT TSV"), "e1\ne3\n");
}

}  // namespace oceanus::sink

// The postgres sink against a real PostgreSQL 15 (tests/unit/postgres_server.h): tables with
// their types, key and comments, widened and never narrowed; idempotent batches; partitions
// made ahead and on demand; bad rows rejected alone, whether we or only the server can tell;
// an outage as a retryable status and a recovery; history with hostile key values.
#include "sink/postgres/postgres_sink.h"

#include <gtest/gtest.h>
#include <algorithm>

#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "postgres_server.h"
#include "sink/overview_cases.h"
#include "sink/postgres/postgres_history.h"
#include "util/time.h"

namespace oceanus::sink {
namespace {

using config::ColumnMode;
using config::FieldType;
using Strings = std::vector<std::string>;

class PostgresSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    spec_.name = "site_20261125";
    spec_.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kRequired, "when it happened"},
                     {"eid", FieldType::kString, ColumnMode::kRequired, "event id"},
                     {"evt", FieldType::kString, ColumnMode::kNullable, ""},
                     {"n", FieldType::kInteger, ColumnMode::kNullable, ""},
                     {"ok", FieldType::kBoolean, ColumnMode::kNullable, ""},
                     {"price", FieldType::kFloat, ColumnMode::kNullable, ""},
                     {"props", FieldType::kString, ColumnMode::kNullable, "", true}};
  }

  PostgresConfig Config() const {
    PostgresConfig c;
    c.url = server_.Url();
    c.connect_timeout = std::chrono::seconds(2);
    return c;
  }

  static Row R(const std::string& eid, std::optional<std::string> n = "1",
               std::optional<std::string> dt = "2026-11-25 10:00:00.000001") {
    return {dt, eid, "view", n, "true", "1.5", std::nullopt};
  }

  Strings Q(const std::string& sql) const { return server_.Query(sql); }

  testing::PostgresServer server_;
  TableSpec spec_;
};

TEST_F(PostgresSinkTest, CreatesTheTableWithTypesKeyAndComments) {
  PostgresSink sink(Config());
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  EXPECT_EQ(
      Q("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'site_20261125' ORDER BY ordinal_position"),
      (Strings{"dt|timestamp with time zone|NO", "eid|text|NO", "evt|text|YES", "n|bigint|YES",
               "ok|boolean|YES", "price|double precision|YES", "props|jsonb|YES"}));
  EXPECT_EQ(Q("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
              "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'site_20261125'::regclass "
              "AND i.indisprimary"),
            Strings{"eid"});
  EXPECT_EQ(Q("SELECT col_description('site_20261125'::regclass, 1), "
              "col_description('site_20261125'::regclass, 2)"),
            Strings{"when it happened|event id"});
  // Ensured once, it is not asked again: the server is not even needed.
  server_.Stop();
  EXPECT_TRUE(sink.EnsureTable(spec_).ok());
}

TEST_F(PostgresSinkTest, WidensWithANewColumnAndNeverDropsOne) {
  PostgresSink sink(Config());
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  ASSERT_TRUE(sink.Write(spec_, {R("a")}).status.ok());

  TableSpec wider = spec_;
  wider.columns.erase(wider.columns.begin() + 2);  // evt left out of the schema
  wider.columns.push_back({"uid", FieldType::kString, ColumnMode::kNullable, "the visitor"});
  PostgresSink restarted(Config());  // a new loader process knows nothing yet
  ASSERT_TRUE(restarted.EnsureTable(wider).ok());
  WriteResult w =
      restarted.Write(wider, {{"2026-11-25 11:00:00", "b", "2", "false", "2", std::nullopt, "u1"}});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(Q("SELECT eid, evt, uid FROM site_20261125 ORDER BY eid"),
            (Strings{"a|view|∅", "b|∅|u1"}));
  EXPECT_EQ(Q("SELECT col_description('site_20261125'::regclass, 8)"), Strings{"the visitor"});
}

TEST_F(PostgresSinkTest, RefusesAnExistingTableKeyedOtherwise) {
  Q("CREATE TABLE site_20261125 (eid text, dt timestamptz, n bigint PRIMARY KEY)");
  PostgresSink sink(Config());
  Status s = sink.EnsureTable(spec_);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("primary key is (n), not (eid)"), std::string::npos) << s.message();
}

TEST_F(PostgresSinkTest, StoresValuesExactlyAndARewriteOnce) {
  PostgresSink sink(Config());
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  std::vector<Row> rows = {
      {"2026-11-25 10:00:00.123456", "e1", "tab\there \\ \"q\"\nline", "-9223372036854775808",
       "false", "1e-5", R"({"b":1,"a":[true]})"},
      {"2026-11-25T10:00:01", "e2", std::nullopt, std::nullopt, "1", "-2.5", std::nullopt},
  };
  for (int i = 0; i < 2; ++i) {
    WriteResult w = sink.Write(spec_, rows);
    ASSERT_TRUE(w.status.ok()) << w.status.ToString();
    EXPECT_TRUE(w.rejected.empty());
  }
  // A batch that overlaps what is stored (a retry after a crash, with new rows behind it).
  WriteResult overlap = sink.Write(spec_, {rows[1], R("e3")});
  ASSERT_TRUE(overlap.status.ok()) << overlap.status.ToString();
  EXPECT_TRUE(overlap.rejected.empty());
  EXPECT_EQ(Q("SELECT eid FROM site_20261125 ORDER BY eid"), (Strings{"e1", "e2", "e3"}));
  Q("DELETE FROM site_20261125 WHERE eid = 'e3'");
  EXPECT_EQ(Q("SET TimeZone = 'UTC'; SELECT dt, eid, evt, n, ok, price, props->'a' "
              "FROM site_20261125 ORDER BY eid"),
            (Strings{"2026-11-25 10:00:00.123456+00|e1|tab\there \\ \"q\"\nline|"
                     "-9223372036854775808|f|1e-05|[true]",
                     "2026-11-25 10:00:01+00|e2|∅|∅|t|-2.5|∅"}));
}

TEST_F(PostgresSinkTest, RejectsRowsWeCanTellAreBadAndStoresTheRest) {
  PostgresSink sink(Config());
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  std::vector<Row> rows = {R("ok1"),
                           R("badint", "12x"),
                           {"2026-11-25 10:00:00", "badfloat", "v", "1", "true", "nan", {}},
                           {"2026-11-25 10:00:00", "badbool", "v", "1", "yes", "1", {}},
                           R("baddt", "1", "yesterday"),
                           R("nodt", "1", std::nullopt),
                           {"2026-11-25 10:00:00", "short"},
                           R("ok2")};
  WriteResult w = sink.Write(spec_, rows);
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  Strings reasons;
  for (const auto& r : w.rejected) reasons.push_back(std::to_string(r.index) + " " + r.reason);
  EXPECT_EQ(
      reasons,
      (Strings{"1 column n: '12x' is not an integer",
               "2 column price: 'nan' is not a finite number",
               "3 column ok: 'yes' is not a boolean", "4 column dt: 'yesterday' is not a timestamp",
               "5 column dt is required but missing", "6 row has 2 values for 7 columns"}));
  EXPECT_EQ(Q("SELECT eid FROM site_20261125 ORDER BY eid"), (Strings{"ok1", "ok2"}));
}

// What only PostgreSQL can refuse: a CHECK constraint, a NUL byte or bad UTF-8 in text, a JSON
// escape jsonb cannot store. The batch is bisected until those rows stand alone.
TEST_F(PostgresSinkTest, IsolatesRowsOnlyTheServerRefuses) {
  PostgresSink sink(Config());
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  Q("ALTER TABLE site_20261125 ADD CONSTRAINT small CHECK (n < 100)");
  std::vector<Row> rows;
  for (int i = 0; i < 20; ++i) rows.push_back(R("e" + std::to_string(100 + i)));
  rows[3][3] = "500";
  rows[7][2] = std::string("nul\0byte", 8);
  rows[8][2] = "bad \xC3\x28 utf8";
  rows[15][6] = R"({"a":"\u0000"})";
  WriteResult w = sink.Write(spec_, rows);
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  ASSERT_EQ(w.rejected.size(), 4u);
  EXPECT_EQ(w.rejected[0].index, 3u);
  EXPECT_NE(w.rejected[0].reason.find("check constraint \"small\""), std::string::npos)
      << w.rejected[0].reason;
  EXPECT_NE(w.rejected[0].reason.find("SQLSTATE 23514"), std::string::npos);
  EXPECT_EQ(w.rejected[1].index, 7u);
  EXPECT_NE(w.rejected[1].reason.find("0x00"), std::string::npos) << w.rejected[1].reason;
  EXPECT_EQ(w.rejected[2].index, 8u);
  EXPECT_NE(w.rejected[2].reason.find("invalid byte sequence"), std::string::npos)
      << w.rejected[2].reason;
  EXPECT_EQ(w.rejected[3].index, 15u);
  EXPECT_NE(w.rejected[3].reason.find("SQLSTATE 22P05"), std::string::npos) << w.rejected[3].reason;
  EXPECT_EQ(Q("SELECT count(*), count(DISTINCT eid) FROM site_20261125"), Strings{"16|16"});
  EXPECT_EQ(Q("SELECT count(*) FROM site_20261125 WHERE eid IN ('e103','e107','e108','e115')"),
            Strings{"0"});
}

TEST_F(PostgresSinkTest, PartitionsTodayAndTomorrowAheadAndOtherDaysOnDemand) {
  spec_.name = "single";
  spec_.time_partition_field = "dt";
  PostgresSink sink(Config());
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  const auto now = std::chrono::system_clock::now();
  const auto day = [](std::chrono::system_clock::time_point t) {
    std::string d = FormatLocal(t, TimeZone(), "%Y%m%d");
    return "single_p" + d;
  };
  const std::string partitions =
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'single'::regclass ORDER BY 1";
  EXPECT_EQ(Q(partitions), (Strings{day(now), day(now + std::chrono::hours(24))}));
  EXPECT_EQ(Q("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
              "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'single'::regclass "
              "AND i.indisprimary ORDER BY 1"),
            (Strings{"dt", "eid"}));

  WriteResult w = sink.Write(
      spec_, {R("old", "1", "2020-01-05 23:59:59.999999"), R("older", "1", "2019-12-31 00:00:00")});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(Q(partitions), (Strings{"single_p20191231", "single_p20200105", day(now),
                                    day(now + std::chrono::hours(24))}));
  EXPECT_EQ(Q("SELECT tableoid::regclass, eid FROM single ORDER BY eid"),
            (Strings{"single_p20200105|old", "single_p20191231|older"}));
  // The same rows again: still once (the key is eid and dt).
  ASSERT_TRUE(sink.Write(spec_, {R("old", "1", "2020-01-05 23:59:59.999999")}).status.ok());
  EXPECT_EQ(Q("SELECT count(*) FROM single"), Strings{"2"});
}

TEST_F(PostgresSinkTest, ServerDownIsRetryableAndTheSinkRecovers) {
  server_.Stop();
  PostgresSink sink(Config());  // opened while the database is down: nothing connects yet
  WriteResult down = sink.Write(spec_, {R("a")});
  EXPECT_EQ(down.status.code(), Status::Code::kUnavailable) << down.status.ToString();
  EXPECT_TRUE(down.rejected.empty());
  EXPECT_EQ(sink.EnsureTable(spec_).code(), Status::Code::kUnavailable);

  ASSERT_TRUE(server_.Start());
  // The sink's own backoff may still hold the next attempt back: poll until it connects.
  WriteResult up;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    up = sink.Write(spec_, {R("a")});
    if (up.status.ok()) break;
    ASSERT_EQ(up.status.code(), Status::Code::kUnavailable) << up.status.ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(up.status.ok()) << up.status.ToString();

  // The connection breaks under an open sink (a fast shutdown: 57P01, then no server).
  server_.Stop();
  WriteResult lost = sink.Write(spec_, {R("b")});
  EXPECT_EQ(lost.status.code(), Status::Code::kUnavailable) << lost.status.ToString();
  ASSERT_TRUE(server_.Start());
  do {
    up = sink.Write(spec_, {R("b")});
    if (up.status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(up.status.ok()) << up.status.ToString();
  EXPECT_EQ(Q("SELECT eid FROM site_20261125 ORDER BY eid"), (Strings{"a", "b"}));
}

// libpq's TLS options pass through the URL: this server speaks no TLS, so requiring it fails,
// as a retryable status naming the reason.
TEST_F(PostgresSinkTest, TlsOptionsOfTheUrlReachLibpq) {
  PostgresConfig c = Config();
  c.url += "?sslmode=require";
  PostgresSink sink(c);
  WriteResult w = sink.Write(spec_, {R("a")});
  EXPECT_EQ(w.status.code(), Status::Code::kUnavailable) << w.status.ToString();
  EXPECT_NE(w.status.message().find("SSL"), std::string::npos) << w.status.message();
  c.url = server_.Url() + "?sslmode=disable";
  EXPECT_TRUE(PostgresSink(c).Write(spec_, {R("a")}).status.ok());
}

TEST_F(PostgresSinkTest, APasswordFromTheSettingsOrPgpasswordReachesAServerThatAsksForOne) {
  ASSERT_EQ(Q("CREATE ROLE writer LOGIN PASSWORD 'se''cret'"), Strings{});
  ASSERT_EQ(Q("GRANT CREATE ON SCHEMA public TO writer"), Strings{});
  {
    // pg_hba.conf is read top down: this line, before initdb's trust lines, asks the writer
    // for a SCRAM password over TCP.
    const auto hba = server_.data_dir() / "pg_hba.conf";
    std::ifstream in(hba);
    const std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(hba) << "host all writer 127.0.0.1/32 scram-sha-256\n" << rest;
  }
  ASSERT_EQ(Q("SELECT pg_reload_conf()"), Strings{"t"});
  const std::string writer =
      "postgresql://writer@127.0.0.1:" + std::to_string(server_.port()) + "/postgres";
  ::unsetenv("PGPASSWORD");
  const auto asks_for_password = [&] {
    PGconn* conn = PQconnectdb(writer.c_str());
    const bool refused = PQstatus(conn) != CONNECTION_OK;
    PQfinish(conn);
    return refused;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!asks_for_password() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the reload is asynchronous
  }
  ASSERT_TRUE(asks_for_password());

  PostgresConfig c = Config();
  c.url = writer;
  WriteResult none = PostgresSink(c).Write(spec_, {R("a")});
  EXPECT_EQ(none.status.code(), Status::Code::kUnavailable) << none.status.ToString();
  EXPECT_NE(none.status.message().find("password"), std::string::npos) << none.status.message();

  c.password = "se'cret";
  EXPECT_TRUE(PostgresSink(c).Write(spec_, {R("a")}).status.ok());
  c.password.clear();
  ::setenv("PGPASSWORD", "se'cret", 1);
  EXPECT_TRUE(PostgresSink(c).Write(spec_, {R("b")}).status.ok());
  ::unsetenv("PGPASSWORD");
  EXPECT_EQ(Q("SELECT eid FROM site_20261125 ORDER BY eid"), (Strings{"a", "b"}));
}

TEST_F(PostgresSinkTest, StatementTimeoutIsRetryable) {
  PostgresConfig c = Config();
  c.statement_timeout = std::chrono::milliseconds(200);
  PostgresSink sink(c);
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  // Another session holds a lock the batch needs for longer than the timeout.
  PGconn* other = PQconnectdb(server_.Url().c_str());
  ASSERT_EQ(PQstatus(other), CONNECTION_OK);
  PQclear(PQexec(other, "BEGIN; LOCK TABLE site_20261125 IN ACCESS EXCLUSIVE MODE"));
  WriteResult w = sink.Write(spec_, {R("a")});
  EXPECT_EQ(w.status.code(), Status::Code::kUnavailable) << w.status.ToString();
  EXPECT_NE(w.status.message().find("57014"), std::string::npos) << w.status.message();
  PQclear(PQexec(other, "ROLLBACK"));
  PQfinish(other);
  EXPECT_TRUE(sink.Write(spec_, {R("a")}).status.ok());
  EXPECT_EQ(Q("SELECT count(*) FROM site_20261125"), Strings{"1"});
}

TEST_F(PostgresSinkTest, HistoryBindsHostileKeyValues) {
  spec_.columns.push_back({"uid", FieldType::kString, ColumnMode::kNullable, ""});
  PostgresSink sink(Config());
  ASSERT_TRUE(sink.EnsureTable(spec_).ok());
  const Strings keys = {"o'brien", "back\\slash", "'; DROP TABLE site_20261125; --", "\"quoted\"",
                        "$1"};
  std::vector<Row> rows;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Row r = R("e" + std::to_string(i));
    r.push_back(keys[i]);
    rows.push_back(r);
  }
  Row later = R("late", "7", "2026-11-25 12:00:00");
  later.push_back(keys[0]);
  rows.push_back(later);
  ASSERT_TRUE(sink.Write(spec_, rows).status.ok());

  PostgresSink reader(Config());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto found = reader.RecentEvents({"site_20261125", "site_missing"}, "uid", keys[i],
                                     "2026-11-25 00:00:00.000000", 10);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    ASSERT_EQ(found->size(), i == 0 ? 2u : 1u) << keys[i];
    const auto& row = found->back();
    EXPECT_EQ(row[1], (std::pair<std::string, std::string>("eid", "e" + std::to_string(i))));
  }
  auto newest = reader.RecentEvents({"site_20261125"}, "uid", keys[0], "2026-11-25 00:00:00", 1);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0][0],
            (std::pair<std::string, std::string>("dt", "2026-11-25 12:00:00.000000")));
  EXPECT_EQ((*newest)[0][4], (std::pair<std::string, std::string>("ok", "true")));
  auto since = reader.RecentEvents({"site_20261125"}, "uid", keys[0], "2026-11-25 11:00:00", 10);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(since->size(), 1u);
  EXPECT_EQ(Q("SELECT count(*) FROM site_20261125"), Strings{"6"});

  // Through the HistorySource of a single-table site (its one partitioned table).
  spec_.name = "ev_shop";
  spec_.time_partition_field = "dt";
  const auto now = std::chrono::system_clock::now();
  char dt[kUtcMicrosLength];
  FormatUtcMicros(now - std::chrono::minutes(1), dt);
  Row recent = R("r1", "1", std::string(dt, kUtcMicrosLength));
  recent.push_back("it's me");
  ASSERT_TRUE(sink.Write(spec_, {recent}).status.ok());
  config::Site site;
  site.name = "shop";
  site.tables = config::TableLayout::kSingle;
  auto history = MakePostgresHistory(Config(), "ev_", TimeZone());
  ASSERT_TRUE(history.ok());
  auto events = (*history)->Recent(site, "uid", "it's me", now - std::chrono::hours(1), 5);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0][1], (std::pair<std::string, std::string>("eid", "r1")));
}

TEST_F(PostgresSinkTest, OverviewCountsTheLocalDayInDailyAndSingleTables) {
  PostgresSink sink(Config());
  overview_cases::RunCases(sink, [&](const std::string& prefix, const TimeZone& tz) {
    auto history = MakePostgresHistory(Config(), prefix, tz);
    EXPECT_TRUE(history.ok()) << history.status().ToString();
    return history.ok() ? std::move(history).value() : nullptr;
  });
}

}  // namespace
TEST_F(PostgresSinkTest, EraseRowsDeletesOneValueFromDailyAndPartitionedTables) {
  spec_.columns.push_back({"uid", FieldType::kString, ColumnMode::kNullable, ""});
  PostgresSink sink(Config());
  const std::string person = "o'brien; DROP TABLE x --";
  const auto rows_for = [&](const std::string& prefix) {
    std::vector<Row> rows;
    for (int i = 0; i < 4; ++i) {
      Row r = R(prefix + std::to_string(i));
      r.push_back(i % 2 ? "other" : person);
      rows.push_back(r);
    }
    return rows;
  };
  ASSERT_TRUE(sink.Write(spec_, rows_for("d")).status.ok());
  TableSpec single = spec_;
  single.name = "shop";
  single.time_partition_field = "dt";  // a partitioned table with its day partitions
  ASSERT_TRUE(sink.Write(single, rows_for("p")).status.ok());

  auto tables = sink.ListTables();
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  std::sort(tables->begin(), tables->end());
  EXPECT_EQ(*tables, (Strings{"shop", "site_20261125"}));  // partitions are not listed
  EXPECT_EQ(*sink.EraseRows("site_20261125", "uid", person, /*count_only=*/true), 2);
  EXPECT_EQ(Q("SELECT count(*) FROM site_20261125"), Strings{"4"});
  EXPECT_EQ(*sink.EraseRows("site_20261125", "uid", "other' OR 'x'='x", false), 0);
  EXPECT_EQ(*sink.EraseRows("site_20261125", "no_such_column", person, false), 0);
  EXPECT_EQ(*sink.EraseRows("missing_table", "uid", person, false), 0);
  EXPECT_EQ(*sink.EraseRows("site_20261125", "n", "not a number", false), 0);

  auto erased = sink.EraseRows("site_20261125", "uid", person, false);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, 2);
  EXPECT_EQ(*sink.EraseRows("shop", "uid", person, false), 2);
  EXPECT_EQ(Q("SELECT eid FROM site_20261125 ORDER BY eid"), (Strings{"d1", "d3"}));
  EXPECT_EQ(Q("SELECT eid FROM shop ORDER BY eid"), (Strings{"p1", "p3"}));
}

}  // namespace oceanus::sink

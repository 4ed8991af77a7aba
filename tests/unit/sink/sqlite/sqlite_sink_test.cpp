// The SQLite sink's promises: exact rows, idempotent batches, additive schema changes,
// per-row rejects, whole-batch retryable failures, history queries with bound values.
#include "sink/sqlite/sqlite_sink.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "sink/overview_cases.h"
#include "sink/sqlite/sqlite_history.h"
#include "tables/table_names.h"
#include "temp_dir.h"

namespace oceanus::sink {
namespace {

namespace fs = std::filesystem;
using config::ColumnMode;
using config::FieldType;

class SqliteSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_ / "oceanus.db").string();
    auto s = SqliteSink::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sink_ = std::move(s).value();
    spec_.name = "site_20261125";
    spec_.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kRequired, ""},
                     {"eid", FieldType::kString, ColumnMode::kRequired, ""},
                     {"evt", FieldType::kString, ColumnMode::kNullable, ""},
                     {"n", FieldType::kInteger, ColumnMode::kNullable, ""},
                     {"ok", FieldType::kBoolean, ColumnMode::kNullable, ""},
                     {"price", FieldType::kFloat, ColumnMode::kNullable, ""}};
  }
  void TearDown() override { sink_.reset(); }

  // All rows of `table` as "v1|v2|..." ordered by eid (NULL as "∅").
  std::vector<std::string> Dump(const std::string& table) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    std::vector<std::string> out;
    const std::string sql = "SELECT * FROM \"" + table + "\" ORDER BY eid";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        std::string row;
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
          if (c) row += "|";
          const auto* t = sqlite3_column_text(st, c);
          row += t ? reinterpret_cast<const char*>(t) : "∅";
        }
        out.push_back(row);
      }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  // PRAGMA table_info as "name type notnull pk" per column.
  std::vector<std::string> Columns(const std::string& table) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    std::vector<std::string> out;
    std::string quoted;
    for (char c : table) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    const std::string sql = "PRAGMA table_info(\"" + quoted + "\")";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        out.push_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))) + " " +
                      reinterpret_cast<const char*>(sqlite3_column_text(st, 2)) + " " +
                      std::to_string(sqlite3_column_int(st, 3)) + " " +
                      std::to_string(sqlite3_column_int(st, 5)));
      }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  static Row R(std::vector<std::optional<std::string>> v) { return v; }

  oceanus::testing::ScopedTempDir temp_{"oceanus-sqlite"};
  const fs::path& dir_ = temp_.path();
  std::string path_;
  std::unique_ptr<SqliteSink> sink_;
  TableSpec spec_;
};

TEST_F(SqliteSinkTest, StoresExactRowsWithTypes) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  auto w = sink_->Write(
      spec_,
      {R({"2026-11-25 00:00:00.000001", "e1", "pageview", "42", "true", "0.5"}),
       R({"2026-11-25 00:00:00.000002", "e2", std::nullopt, std::nullopt, "false", std::nullopt})});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(Dump(spec_.name),
            (std::vector<std::string>{"2026-11-25 00:00:00.000001|e1|pageview|42|1|0.5",
                                      "2026-11-25 00:00:00.000002|e2|∅|∅|0|∅"}));
}

TEST_F(SqliteSinkTest, SameBatchTwiceIsStoredOnce) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  const std::vector<Row> batch = {R({"d", "e1", "a", "1", "true", "1"}),
                                  R({"d", "e2", "b", "2", "true", "2"})};
  ASSERT_TRUE(sink_->Write(spec_, batch).status.ok());
  ASSERT_TRUE(sink_->Write(spec_, batch).status.ok());
  EXPECT_EQ(Dump(spec_.name).size(), 2u);
}

TEST_F(SqliteSinkTest, BadValuesAreRejectedAloneTheRestStored) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  auto w = sink_->Write(
      spec_,
      {R({"d", "e1", "a", "12x", "true", "1"}), R({"d", "e2", "b", "2", "maybe", "1"}),
       R({"d", "e3", "c", "3", "true", "inf"}), R({std::nullopt, "e4", "d", "4", "true", "1"}),
       R({"d", std::nullopt, "e", "5", "true", "1"}), R({"d", "e6", "f", "6", "true", "1.5"})});
  ASSERT_TRUE(w.status.ok());
  ASSERT_EQ(w.rejected.size(), 5u);
  EXPECT_EQ(w.rejected[0].index, 0u);
  EXPECT_NE(w.rejected[0].reason.find("not an integer"), std::string::npos);
  EXPECT_NE(w.rejected[1].reason.find("not a boolean"), std::string::npos);
  EXPECT_NE(w.rejected[2].reason.find("not a finite number"), std::string::npos);
  EXPECT_NE(w.rejected[3].reason.find("dt is required"), std::string::npos);
  EXPECT_NE(w.rejected[4].reason.find("eid is required"), std::string::npos);
  EXPECT_EQ(Dump(spec_.name), std::vector<std::string>{"d|e6|f|6|1|1.5"});
}

TEST_F(SqliteSinkTest, KeyColumnIsThePrimaryKeyAndTypesFollowTheSchema) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  EXPECT_EQ(Columns(spec_.name),
            (std::vector<std::string>{"dt TEXT 1 0", "eid TEXT 1 1", "evt TEXT 0 0",
                                      "n INTEGER 0 0", "ok INTEGER 0 0", "price REAL 0 0"}));
  // A second row with the same eid is not stored, whatever its other values.
  ASSERT_TRUE(sink_->Write(spec_, {R({"d", "e1", "first", "1", "true", "1"})}).status.ok());
  auto w = sink_->Write(spec_, {R({"d", "e1", "second", "2", "true", "1"})});
  ASSERT_TRUE(w.status.ok());
  EXPECT_TRUE(w.rejected.empty());
  EXPECT_EQ(Dump(spec_.name), std::vector<std::string>{"d|e1|first|1|1|1.0"});
  // A spec without its key column is refused before anything is created.
  TableSpec keyless = spec_;
  keyless.name = "keyless";
  keyless.columns.erase(keyless.columns.begin() + 1);
  EXPECT_EQ(sink_->EnsureTable(keyless).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Columns("keyless").empty());
}

TEST_F(SqliteSinkTest, ExistingTableWithoutTheKeyAsPrimaryKeyIsRefused) {
  sqlite3* db = nullptr;
  sqlite3_open(path_.c_str(), &db);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE site_20261125 (dt TEXT, eid TEXT)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  const Status s = sink_->EnsureTable(spec_);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("primary key"), std::string::npos);
}

TEST_F(SqliteSinkTest, ValuesGoToTheirColumnsWhateverTheSpecOrder) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  ASSERT_TRUE(sink_->Write(spec_, {R({"d", "e1", "a", "1", "true", "1"})}).status.ok());
  TableSpec reordered = spec_;
  std::reverse(reordered.columns.begin(), reordered.columns.end());
  ASSERT_TRUE(sink_->EnsureTable(reordered).ok());
  ASSERT_TRUE(sink_->Write(reordered, {R({"2.5", "false", "7", "b", "e2", "d"})}).status.ok());
  EXPECT_EQ(Dump(spec_.name), (std::vector<std::string>{"d|e1|a|1|1|1.0", "d|e2|b|7|0|2.5"}));
}

TEST_F(SqliteSinkTest, RowsOfTheWrongWidthAreRejected) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  auto w = sink_->Write(spec_, {R({"d", "e1", "a"}), R({"d", "e2", "a", "1", "true", "1", "x"}),
                                R({"d", "e3", "a", "1", "true", "1"})});
  ASSERT_TRUE(w.status.ok());
  ASSERT_EQ(w.rejected.size(), 2u);
  EXPECT_EQ(w.rejected[0].reason, "row has 3 values for 6 columns");
  EXPECT_EQ(w.rejected[1].index, 1u);
  EXPECT_EQ(Dump(spec_.name).size(), 1u);
}

TEST_F(SqliteSinkTest, TableConstraintsRejectRowsInsteadOfDroppingThemSilently) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());  // dt is NOT NULL in the table
  TableSpec relaxed = spec_;
  relaxed.columns[0].mode = ColumnMode::kNullable;  // the config no longer requires it
  auto w = sink_->Write(relaxed, {R({std::nullopt, "e1", "a", "1", "true", "1"}),
                                  R({"d", "e2", "b", "2", "true", "2"})});
  ASSERT_TRUE(w.status.ok()) << w.status.ToString();
  ASSERT_EQ(w.rejected.size(), 1u);
  EXPECT_EQ(w.rejected[0].index, 0u);
  EXPECT_NE(w.rejected[0].reason.find("NOT NULL"), std::string::npos) << w.rejected[0].reason;
  EXPECT_EQ(Dump(spec_.name), std::vector<std::string>{"d|e2|b|2|1|2.0"});
}

TEST_F(SqliteSinkTest, IdentifiersAreQuoted) {
  TableSpec odd = spec_;
  odd.name = "we\"ird; DROP TABLE x; --";
  odd.columns[2].name = "ev\"t";
  ASSERT_TRUE(sink_->EnsureTable(odd).ok());
  ASSERT_TRUE(sink_->Write(odd, {R({"d", "e1", "a", "1", "true", "1"})}).status.ok());
  const auto columns = Columns(odd.name);
  ASSERT_EQ(columns.size(), 6u);
  EXPECT_EQ(columns[2], "ev\"t TEXT 0 0");
  EXPECT_EQ(Columns("x").size(), 0u);
}

TEST_F(SqliteSinkTest, NewSchemaColumnWidensTheTableAndKeepsRows) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  ASSERT_TRUE(sink_->Write(spec_, {R({"d", "e1", "a", "1", "true", "1"})}).status.ok());
  TableSpec wider = spec_;
  wider.columns.push_back({"uid", FieldType::kString, ColumnMode::kRequired, ""});
  ASSERT_TRUE(sink_->EnsureTable(wider).ok());
  ASSERT_TRUE(sink_->Write(wider, {R({"d", "e2", "b", "2", "false", "2", "member"})}).status.ok());
  EXPECT_EQ(Dump(spec_.name),
            (std::vector<std::string>{"d|e1|a|1|1|1.0|∅", "d|e2|b|2|0|2.0|member"}));
  // A fresh connection sees the same schema (nothing cached only in memory).
  sink_.reset();
  auto again = SqliteSink::Open(path_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->EnsureTable(wider).ok());
  // Added later, the REQUIRED column is nullable in the table (old rows have no value).
  EXPECT_EQ(Columns(spec_.name).back(), "uid TEXT 0 0");
}

TEST_F(SqliteSinkTest, ReadersReadWhileAWriteIsOpen) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  ASSERT_TRUE(sink_->Write(spec_, {R({"d", "e1", "a", "1", "true", "1"})}).status.ok());
  sqlite3* writer = nullptr;
  sqlite3_open(path_.c_str(), &writer);
  ASSERT_EQ(
      sqlite3_exec(writer, "BEGIN IMMEDIATE; INSERT INTO site_20261125 (dt, eid) VALUES ('d','x');",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  EXPECT_EQ(Dump(spec_.name).size(), 1u);  // WAL: the reader is not blocked
  sqlite3_exec(writer, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(writer);
}

TEST_F(SqliteSinkTest, AnOpenReadDoesNotBlockTheSink) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  ASSERT_TRUE(sink_->Write(spec_, {R({"d", "e1", "a", "1", "true", "1"})}).status.ok());
  sqlite3* reader = nullptr;
  sqlite3_open_v2(path_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(reader, "SELECT count(*) FROM site_20261125", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);  // the read transaction holds its snapshot
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);
  sqlite3_reset(st);
  auto w = sink_->Write(spec_, {R({"d", "e2", "b", "2", "true", "2"})});
  EXPECT_TRUE(w.status.ok()) << w.status.ToString();
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);  // still the snapshot
  sqlite3_reset(st);
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 2);
  sqlite3_finalize(st);
  sqlite3_close(reader);
}

TEST_F(SqliteSinkTest, LockedDatabaseFailsTheWholeBatchAsRetryable) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  sink_.reset();
  auto impatient = SqliteSink::Open(path_, /*busy_timeout_ms=*/50);
  ASSERT_TRUE(impatient.ok());
  ASSERT_TRUE((*impatient)->EnsureTable(spec_).ok());
  sqlite3* other = nullptr;
  sqlite3_open(path_.c_str(), &other);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto w = (*impatient)->Write(spec_, {R({"d", "e1", "a", "1", "true", "1"})});
  EXPECT_FALSE(w.status.ok());
  EXPECT_TRUE(w.status.retryable()) << w.status.ToString();
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  // Once the lock is gone the same batch goes through, whole.
  ASSERT_TRUE((*impatient)->Write(spec_, {R({"d", "e1", "a", "1", "true", "1"})}).status.ok());
  EXPECT_EQ(Dump(spec_.name).size(), 1u);
}

TEST_F(SqliteSinkTest, RecentEventsNewestFirstFilteredAndLimited) {
  TableSpec t1 = spec_, t2 = spec_;
  t1.name = "s_20261124";
  t2.name = "s_20261125";
  ASSERT_TRUE(sink_->EnsureTable(t1).ok());
  ASSERT_TRUE(sink_->EnsureTable(t2).ok());
  ASSERT_TRUE(sink_
                  ->Write(t1, {R({"2026-11-24 10:00:00.000000", "a", "x", "1", "true", "1"}),
                               R({"2026-11-24 11:00:00.000000", "b", "y", "2", "true", "1"})})
                  .status.ok());
  ASSERT_TRUE(sink_
                  ->Write(t2, {R({"2026-11-25 09:00:00.000000", "c", "x", "3", "true", "1"}),
                               R({"2026-11-25 10:00:00.000000", "d", "x", "4", "true", "1"})})
                  .status.ok());
  auto rows = sink_->RecentEvents({"s_20261124", "s_20261125", "s_missing"}, "evt", "x",
                                  "2026-11-24 00:00:00", 2);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  auto eid = [](const SqliteSink::EventRow& r) {
    for (const auto& [k, v] : r)
      if (k == "eid") return v;
    return std::string();
  };
  EXPECT_EQ(eid((*rows)[0]), "d");
  EXPECT_EQ(eid((*rows)[1]), "c");
  EXPECT_EQ((*rows)[0].front(),
            (std::pair<std::string, std::string>{"dt", "2026-11-25 10:00:00.000000"}));
  // since_dt filters; a limit larger than the rows is fine.
  auto since = sink_->RecentEvents({"s_20261124", "s_20261125"}, "evt", "x",
                                   "2026-11-24 10:00:00.000001", 100);
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ(eid((*since)[1]), "c");
  // A value that looks like SQL is just a value.
  auto none = sink_->RecentEvents({"s_20261125"}, "evt", "x' OR '1'='1", "", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteSinkTest, RecentEventsSpansTablesOfDifferentWidths) {
  TableSpec old_day = spec_, new_day = spec_;
  old_day.name = "s_20261124";
  new_day.name = "s_20261125";
  new_day.columns.push_back({"uid", FieldType::kString, ColumnMode::kNullable, ""});
  ASSERT_TRUE(sink_->EnsureTable(old_day).ok());
  ASSERT_TRUE(sink_->EnsureTable(new_day).ok());
  ASSERT_TRUE(sink_->Write(old_day, {R({"2026-11-24 10:00:00.000000", "a", "x", "1", "true", "1"})})
                  .status.ok());
  ASSERT_TRUE(
      sink_->Write(new_day, {R({"2026-11-25 10:00:00.000000", "b", "x", "2", "true", "1", "u1"})})
          .status.ok());
  auto rows = sink_->RecentEvents({"s_20261124", "s_20261125"}, "evt", "x", "", 10);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].size(), 7u);
  EXPECT_EQ((*rows)[0].back(), (std::pair<std::string, std::string>{"uid", "u1"}));
  EXPECT_EQ((*rows)[1].size(), 6u);
}

TEST_F(SqliteSinkTest, EraseRowsCountsThenDeletesOnlyThatValueAndLeavesNoTraceInTheFile) {
  ASSERT_TRUE(sink_->EnsureTable(spec_).ok());
  const std::string person = "o'brien-7f3a9c";  // a quote, and easy to find in the raw file
  std::vector<Row> rows;
  for (int i = 0; i < 6; ++i)
    rows.push_back(R({"2026-11-25 10:00:00.000000", "e" + std::to_string(i),
                      i % 2 ? "someone-else" : person, std::nullopt, std::nullopt, std::nullopt}));
  ASSERT_TRUE(sink_->Write(spec_, rows).status.ok());
  TableSpec other = spec_;
  other.name = "unrelated";
  other.columns.erase(other.columns.begin() + 2);  // no evt column
  ASSERT_TRUE(sink_->EnsureTable(other).ok());

  auto tables = sink_->ListTables();
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  std::sort(tables->begin(), tables->end());
  EXPECT_EQ(*tables, (std::vector<std::string>{"site_20261125", "unrelated"}));
  auto counted = sink_->EraseRows("site_20261125", "evt", person, /*count_only=*/true);
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(*counted, 3);
  EXPECT_EQ(Dump("site_20261125").size(), 6u);  // counting changes nothing
  EXPECT_EQ(*sink_->EraseRows("unrelated", "evt", person, false), 0);
  EXPECT_EQ(*sink_->EraseRows("site_20261125", "evt", "x' OR '1'='1", false), 0);

  auto erased = sink_->EraseRows("site_20261125", "evt", person, /*count_only=*/false);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, 3);
  EXPECT_EQ(Dump("site_20261125"),
            (std::vector<std::string>{"2026-11-25 10:00:00.000000|e1|someone-else|∅|∅|∅",
                                      "2026-11-25 10:00:00.000000|e3|someone-else|∅|∅|∅",
                                      "2026-11-25 10:00:00.000000|e5|someone-else|∅|∅|∅"}));
  sink_.reset();  // the connection's last checkpoint
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(path_ + suffix, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("7f3a9c"), std::string::npos)
        << "the value is still in " << path_ << suffix;
  }
}

TEST(SqliteSinkOpenTest, AFileThatIsNotADatabaseIsAClearError) {
  oceanus::testing::ScopedTempDir temp("oceanus-sqlite");
  const std::string path = (temp.path() / "not.db").string();
  std::ofstream(path) << "this is not an SQLite database, just some text that is long enough "
                         "to hold a header and then some more text to fill it out...........";
  auto s = SqliteSink::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(path), std::string::npos) << s.status().ToString();
}

TEST(SqliteSinkOpenTest, UnopenablePathIsAClearError) {
  auto s = SqliteSink::Open("/nonexistent-dir/x/oceanus.db");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("/nonexistent-dir/x/oceanus.db"), std::string::npos);
}

// A VFS that forwards to the default one and counts xSync calls on write-ahead logs: what
// reaches the disk when a commit returns is the promise under test, and only the syncs show
// it (a power cut cannot be staged in a unit test).
class WalSyncCounter {
 public:
  WalSyncCounter() {
    base_ = sqlite3_vfs_find(nullptr);
    vfs_ = *base_;
    vfs_.zName = "wal-sync-counter";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + base_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &Open;
    methods_ = {};
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~WalSyncCounter() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(base_, 1);
  }
  int wal_syncs() const { return wal_syncs_; }

 private:
  struct File {
    sqlite3_file base;  // must come first: SQLite sees this struct as an sqlite3_file
    WalSyncCounter* owner;
    const sqlite3_io_methods* real_methods;
    bool is_wal;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out) {
    auto* self = static_cast<WalSyncCounter*>(vfs->pAppData);
    auto* f = reinterpret_cast<File*>(file);
    f->owner = self;
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    const int rc = self->base_->xOpen(self->base_, name, f->real(), flags, out);
    if (rc != SQLITE_OK || f->real()->pMethods == nullptr) {
      f->base.pMethods = nullptr;
      return rc;
    }
    f->real_methods = f->real()->pMethods;
    self->WrapMethods(f->real_methods);
    f->base.pMethods = &self->methods_;
    return rc;
  }

  void WrapMethods(const sqlite3_io_methods* real) {
    if (methods_.iVersion != 0) return;
    methods_ = *real;
    methods_.xClose = [](sqlite3_file* p) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xClose(f->real());
    };
    methods_.xRead = [](sqlite3_file* p, void* buf, int n, sqlite3_int64 off) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xRead(f->real(), buf, n, off);
    };
    methods_.xWrite = [](sqlite3_file* p, const void* buf, int n, sqlite3_int64 off) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xWrite(f->real(), buf, n, off);
    };
    methods_.xTruncate = [](sqlite3_file* p, sqlite3_int64 size) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xTruncate(f->real(), size);
    };
    methods_.xSync = [](sqlite3_file* p, int flags) {
      auto* f = reinterpret_cast<File*>(p);
      if (f->is_wal) ++f->owner->wal_syncs_;
      return f->real_methods->xSync(f->real(), flags);
    };
    methods_.xFileSize = [](sqlite3_file* p, sqlite3_int64* size) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xFileSize(f->real(), size);
    };
    methods_.xLock = [](sqlite3_file* p, int lock) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xLock(f->real(), lock);
    };
    methods_.xUnlock = [](sqlite3_file* p, int lock) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xUnlock(f->real(), lock);
    };
    methods_.xCheckReservedLock = [](sqlite3_file* p, int* out) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xCheckReservedLock(f->real(), out);
    };
    methods_.xFileControl = [](sqlite3_file* p, int op, void* arg) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xFileControl(f->real(), op, arg);
    };
    methods_.xSectorSize = [](sqlite3_file* p) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xSectorSize(f->real());
    };
    methods_.xDeviceCharacteristics = [](sqlite3_file* p) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xDeviceCharacteristics(f->real());
    };
    methods_.xShmMap = [](sqlite3_file* p, int page, int size, int extend, void volatile** out) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xShmMap(f->real(), page, size, extend, out);
    };
    methods_.xShmLock = [](sqlite3_file* p, int offset, int n, int flags) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xShmLock(f->real(), offset, n, flags);
    };
    methods_.xShmBarrier = [](sqlite3_file* p) {
      auto* f = reinterpret_cast<File*>(p);
      f->real_methods->xShmBarrier(f->real());
    };
    methods_.xShmUnmap = [](sqlite3_file* p, int del) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xShmUnmap(f->real(), del);
    };
    methods_.xFetch = [](sqlite3_file* p, sqlite3_int64 off, int n, void** out) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xFetch(f->real(), off, n, out);
    };
    methods_.xUnfetch = [](sqlite3_file* p, sqlite3_int64 off, void* ptr) {
      auto* f = reinterpret_cast<File*>(p);
      return f->real_methods->xUnfetch(f->real(), off, ptr);
    };
  }

  sqlite3_vfs* base_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
  int wal_syncs_ = 0;
};

// The loader acknowledges a batch (and the spool then deletes what the cursor passed) as soon
// as Write returns: the commit must have reached the disk by then, i.e. the WAL was synced.
// With synchronous=NORMAL, WAL commits are synced only at checkpoints, and this fails.
TEST(SqliteSinkDurabilityTest, EveryCommittedBatchIsSyncedBeforeWriteReturns) {
  oceanus::testing::ScopedTempDir temp("oceanus-sqlite");
  WalSyncCounter counter;
  auto sink = SqliteSink::Open((temp.path() / "oceanus.db").string());
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  TableSpec spec;
  spec.name = "site_20261125";
  spec.columns = {{"dt", FieldType::kTimestamp, ColumnMode::kRequired, ""},
                  {"eid", FieldType::kString, ColumnMode::kRequired, ""}};
  ASSERT_TRUE((*sink)->EnsureTable(spec).ok());
  for (int batch = 0; batch < 3; ++batch) {
    const int before = counter.wal_syncs();
    const std::string eid = "e" + std::to_string(batch);
    auto w = (*sink)->Write(spec, {std::vector<std::optional<std::string>>{"d", eid}});
    ASSERT_TRUE(w.status.ok()) << w.status.ToString();
    EXPECT_GT(counter.wal_syncs(), before) << "batch " << batch << " returned before a WAL sync";
  }
  sink->reset();
}

// The day clocks fall back in Berlin: 02:xx happens twice (00:xx and 01:xx UTC) and is one
// local hour, where a visitor seen in both passes is one visitor.
TEST_F(SqliteSinkTest, OverviewOfAFallBackDayCountsTheRepeatedHourOnce) {
  const config::Site site = overview_cases::Site();
  const TimeZone berlin = *TimeZone::Load("Europe/Berlin");
  const auto at = [](const char* dt, const char* eid, const char* sid) {
    return overview_cases::Event{{"dt", dt}, {"eid", eid}, {"sid", sid}, {"evt", "pageview"}};
  };
  overview_cases::WriteEvents(*sink_, site, "", berlin,
                              {at("2026-10-24 22:00:00.000000", "e1", "a"),    // 00:00 CEST
                               at("2026-10-25 00:30:00.000000", "e2", "a"),    // 02:30 CEST
                               at("2026-10-25 01:30:00.000000", "e3", "a"),    // 02:30 CET
                               at("2026-10-25 01:45:00.000000", "e4", "b"),    // 02:45 CET
                               at("2026-10-25 02:00:00.000000", "e5", "b"),    // 03:00 CET
                               at("2026-10-25 22:59:59.999999", "e6", "c")});  // 23:59 CET
  auto history = MakeSqliteHistory(path_, "", berlin);
  ASSERT_TRUE(history.ok());
  auto request = overview_cases::Request();
  request.day = std::chrono::year(2026) / 10 / 25;
  auto o = (*history)->Overview(site, request);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  std::array<HourCount, 24> hours{};
  hours[0] = {1, 1};
  hours[2] = {3, 2};
  hours[3] = {1, 1};
  hours[23] = {1, 1};
  for (std::size_t h = 0; h < 24; ++h) EXPECT_EQ(o->hours[h], hours[h]) << "local hour " << h;
  EXPECT_EQ(o->events, (std::vector<CountedValue>{{"pageview", 6}}));
}

// A site without the overview's columns (a Segment site without context_page_url) gets its
// hours and the sections it has, and a note for each it lacks.
TEST_F(SqliteSinkTest, OverviewOfASiteWithoutPageColumnsSaysSo) {
  config::Site site;
  site.name = "app";
  for (const char* name : {"dt", "eid", "type", "event", "anonymous_id"}) {
    config::Field f;
    f.name = name;
    if (f.name == "dt") f.type = FieldType::kTimestamp;
    site.schema.push_back(f);
  }
  const TableSpec spec = tables::TableSpecFor(site, "app_20261125");
  ASSERT_TRUE(sink_->EnsureTable(spec).ok());
  ASSERT_TRUE(
      sink_
          ->Write(spec, {R({"2026-11-25 09:00:00.000000", "m1", "track", "Signed Up", "x"}),
                         R({"2026-11-25 09:10:00.000000", "m2", "page", std::nullopt, "x"}),
                         R({"2026-11-25 09:20:00.000000", "m3", "track", "Signed Up", "y"})})
          .status.ok());
  auto history = MakeSqliteHistory(path_, "", *TimeZone::Load("Europe/Berlin"));
  ASSERT_TRUE(history.ok());
  auto o = (*history)->Overview(site, overview_cases::Request());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->hours[10], (HourCount{3, 2}));
  EXPECT_EQ(o->events, (std::vector<CountedValue>{{"Signed Up", 2}}));  // page calls have none
  EXPECT_TRUE(o->pages.empty());
  EXPECT_TRUE(o->devices.empty());
  ASSERT_EQ(o->notes.size(), 3u);
  EXPECT_EQ(o->notes[0], "site app has no page field (url or context_page_url)");
}

TEST_F(SqliteSinkTest, OverviewCountsTheLocalDayInDailyAndSingleTables) {
  overview_cases::RunCases(*sink_, [&](const std::string& prefix, const TimeZone& tz) {
    auto history = MakeSqliteHistory(path_, prefix, tz);
    EXPECT_TRUE(history.ok()) << history.status().ToString();
    return history.ok() ? std::move(history).value() : nullptr;
  });
}

}  // namespace
}  // namespace oceanus::sink

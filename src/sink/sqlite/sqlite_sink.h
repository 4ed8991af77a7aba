// The embedded warehouse: one SQLite file in WAL mode.
//
// A batch is one transaction (BEGIN IMMEDIATE … COMMIT) of inserts that do nothing on a
// conflict of the key column, so writing the same batch twice stores it once, and a failure
// rolls the whole batch back. In WAL mode readers (sqlite3, reports, a BI tool, another
// SqliteSink) keep reading while the loader writes.
//
// Column types: STRING and TIMESTAMP are TEXT, INTEGER and BOOLEAN (0/1) are INTEGER, FLOAT
// is REAL. The key column is the PRIMARY KEY; REQUIRED columns are NOT NULL when a table is
// created, and columns added later are nullable (SQLite cannot add a NOT NULL column without
// a default to a table that has rows).
//
// One SqliteSink is one connection: use it from one thread at a time (the loader's), and open
// another for another thread.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sink/overview.h"
#include "sink/sink.h"

namespace oceanus::sink {

class SqliteSink final : public Sink {
 public:
  // Opens (creating if needed) the database file; the directory must exist. Fails with the
  // path in the message when the file cannot be opened or is not a database.
  static Result<std::unique_ptr<SqliteSink>> Open(const std::string& path,
                                                  int busy_timeout_ms = 5000);
  ~SqliteSink() override;
  SqliteSink(const SqliteSink&) = delete;
  SqliteSink& operator=(const SqliteSink&) = delete;

  Status EnsureTable(const TableSpec& table) override;
  WriteResult Write(const TableSpec& table, const std::vector<Row>& rows) override;
  Result<std::vector<std::string>> ListTables() override;
  // One DELETE (or SELECT count) with the value bound. The deleted content is overwritten
  // with zeros (secure_delete) and the log checkpointed, so the value does not linger in
  // free pages or old log frames.
  Result<long long> EraseRows(const std::string& table, const std::string& column,
                              const std::string& value, bool count_only) override;

  // The events of one subject (`key_column` = `key_value`, e.g. uid) with dt >= `since_dt`
  // from `tables`, newest first by dt, at most `limit`; each as (column, value) pairs with
  // NULLs left out. Tables that do not exist, or lack `key_column` or dt, are skipped, so a
  // caller can name every daily table of a period. Values are bound, never spliced into SQL.
  using EventRow = std::vector<std::pair<std::string, std::string>>;
  Result<std::vector<EventRow>> RecentEvents(const std::vector<std::string>& tables,
                                             const std::string& key_column,
                                             const std::string& key_value,
                                             const std::string& since_dt, std::size_t limit);
  // The overview of `site` for `request` (sink/overview.h) from `tables`, those that exist;
  // the day's instants and the limit are bound parameters.
  Result<SiteOverview> Overview(const config::Site& site, const OverviewRequest& request,
                                const std::vector<std::string>& tables);

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;
  struct DbDeleter {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  struct TableInfo {
    std::map<std::string, int> columns;  // name → primary-key position (0 = not in the key)
  };

  explicit SqliteSink(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);
  Status Error(const std::string& what, int rc) const;
  void RollbackIfOpen();
  Result<Stmt> Prepare(const std::string& sql);
  Result<TableInfo> Describe(const std::string& table);
  Result<sqlite3_stmt*> InsertFor(const TableSpec& table);

  std::unique_ptr<sqlite3, DbDeleter> db_;
  std::map<std::string, TableInfo> known_;  // tables ensured through this connection
  std::map<std::string, Stmt> inserts_;     // "table\0col\0col…" → prepared INSERT
};

}  // namespace oceanus::sink

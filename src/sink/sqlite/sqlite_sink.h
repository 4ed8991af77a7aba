// The embedded warehouse: one SQLite file in WAL mode.
//
// A batch is one transaction (BEGIN IMMEDIATE … COMMIT) of INSERT OR IGNORE statements keyed
// by `eid`, so writing the same batch twice stores it once, and a failure rolls the whole
// batch back. Readers (sqlite3, reports, a BI tool) keep reading while the loader writes.
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sink/sink.h"

namespace oceanus::sink {

class SqliteSink final : public Sink {
 public:
  static Result<std::unique_ptr<SqliteSink>> Open(const std::string& path,
                                                  int busy_timeout_ms = 5000);
  ~SqliteSink() override;

  Status EnsureTable(const TableSpec& table) override;
  WriteResult Write(const TableSpec& table, const std::vector<Row>& rows) override;

  // A subject's events since `since_dt`, newest first (for history reports). Tables that do
  // not exist are skipped. Values are bound, never spliced into the SQL.
  using EventRow = std::vector<std::pair<std::string, std::string>>;
  Result<std::vector<EventRow>> RecentEvents(const std::vector<std::string>& tables,
                                             const std::string& key_column,
                                             const std::string& key_value,
                                             const std::string& since_dt, std::size_t limit);

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;
  struct DbDeleter {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };

  explicit SqliteSink(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);
  Status Error(const std::string& what, int rc) const;
  Result<std::set<std::string>> ColumnsOf(const std::string& table);

  std::unique_ptr<sqlite3, DbDeleter> db_;
  std::map<std::string, std::set<std::string>> known_columns_;  // table → columns
  std::map<std::string, Stmt> inserts_;                         // table → prepared INSERT
};

// "name" with embedded quotes doubled.
std::string QuoteIdentifier(const std::string& name);

}  // namespace oceanus::sink

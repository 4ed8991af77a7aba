// The few SQLite calls every user of a SQLite file here makes, with their errors as Status:
// open (WAL, a busy timeout), prepare, exec, bind and read text. Owning handles close and
// finalize themselves.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace oceanus::sqlite {

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbDeleter>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Opens (creating) `path` in WAL mode, waiting up to `busy_ms` for another writer's lock.
Result<Db> Open(const std::string& path, int busy_ms = 5000);
// "<what>: <sqlite's message>", Unavailable for a busy or locked database, else Internal.
Status Error(sqlite3* db, std::string_view what);
Result<Stmt> Prepare(sqlite3* db, std::string_view sql);
Status Exec(sqlite3* db, const char* sql);

inline void BindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
inline std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

}  // namespace oceanus::sqlite

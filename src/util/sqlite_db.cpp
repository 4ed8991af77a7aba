// SQLite helpers; see sqlite_db.h.
#include "util/sqlite_db.h"

namespace oceanus::sqlite {

Status Error(sqlite3* db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
    return Status::Unavailable(message);
  return Status::Internal(message);
}

Result<Db> Open(const std::string& path, int busy_ms) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK)
    return Status::Unavailable("open " + path + ": " +
                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(raw, busy_ms);
  if (Status s = Exec(raw, "PRAGMA journal_mode=WAL"); !s.ok()) return s;
  return db;
}

Result<Stmt> Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK)
    return Error(db, "prepare");
  return Stmt(raw);
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::Internal(std::string(sql) + ": " + (err ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return Status::Ok();
}

}  // namespace oceanus::sqlite

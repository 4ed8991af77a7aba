// SqliteSink: tables from the site schema, idempotent batches, bound parameters.
//
// Failure classes, decided here once: a value that cannot be stored as its column's type, or
// a NULL in a REQUIRED column, rejects that row alone (dead-letter); anything SQLite itself
// refuses (busy, I/O error, disk full) fails the whole batch as retryable and rolls it back.
#include "sink/sqlite/sqlite_sink.h"

#include <charconv>
#include <cmath>

namespace oceanus::sink {
namespace {

const char* SqlType(config::FieldType t) {
  switch (t) {
    case config::FieldType::kInteger:
    case config::FieldType::kBoolean:
      return "INTEGER";
    case config::FieldType::kFloat:
      return "REAL";
    default:
      return "TEXT";
  }
}

}  // namespace

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Result<std::unique_ptr<SqliteSink>> SqliteSink::Open(const std::string& path, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteSink> sink(new SqliteSink(raw));
  if (rc != SQLITE_OK) {
    return Status::IoError("sqlite: cannot open " + path + ": " +
                           (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"}) {
    Status s = sink->Exec(pragma);
    if (!s.ok()) return Status::IoError("sqlite: " + path + ": " + s.message());
  }
  return sink;
}

SqliteSink::~SqliteSink() {
  inserts_.clear();  // statements before the connection
}

Status SqliteSink::Error(const std::string& what, int rc) const {
  const std::string msg = what + ": " + sqlite3_errmsg(db_.get());
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable(msg);
  if (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN)
    return Status::IoError(msg);
  return Status::Internal(msg);
}

Status SqliteSink::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable(msg);
  if (primary == SQLITE_IOERR || primary == SQLITE_FULL) return Status::IoError(msg);
  return Status::Internal(msg + " (in: " + sql.substr(0, 200) + ")");
}

Result<std::set<std::string>> SqliteSink::ColumnsOf(const std::string& table) {
  sqlite3_stmt* raw = nullptr;
  const std::string sql = "PRAGMA table_info(" + QuoteIdentifier(table) + ")";
  int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return Error("table_info " + table, rc);
  std::set<std::string> columns;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW)
    columns.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1)));
  if (rc != SQLITE_DONE) return Error("table_info " + table, rc);
  return columns;
}

Status SqliteSink::EnsureTable(const TableSpec& table) {
  auto known = known_columns_.find(table.name);
  if (known != known_columns_.end()) {
    bool all = true;
    for (const auto& c : table.columns) all = all && known->second.count(c.name);
    if (all) return Status::Ok();
  }
  auto existing = ColumnsOf(table.name);
  if (!existing.ok()) return existing.status();
  if (existing->empty()) {
    std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(table.name) + " (";
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      const Column& c = table.columns[i];
      if (i > 0) sql += ", ";
      sql += QuoteIdentifier(c.name) + " " + SqlType(c.type);
      if (c.name == table.key_column) {
        sql += " PRIMARY KEY NOT NULL";
      } else if (c.mode == config::ColumnMode::kRequired) {
        sql += " NOT NULL";
      }
    }
    sql += ")";
    Status s = Exec(sql);
    if (!s.ok()) return s;
  } else {
    // Additive only: a column new in the schema is added (nullable: SQLite cannot add a NOT
    // NULL column without a default to a table that has rows).
    for (const auto& c : table.columns) {
      if (existing->count(c.name)) continue;
      Status s = Exec("ALTER TABLE " + QuoteIdentifier(table.name) + " ADD COLUMN " +
                      QuoteIdentifier(c.name) + " " + SqlType(c.type));
      if (!s.ok()) return s;
    }
  }
  inserts_.erase(table.name);
  std::set<std::string> names;
  for (const auto& c : table.columns) names.insert(c.name);
  known_columns_[table.name] = std::move(names);
  return Status::Ok();
}

WriteResult SqliteSink::Write(const TableSpec& table, const std::vector<Row>& rows) {
  WriteResult result;
  auto& insert = inserts_[table.name];
  if (!insert) {
    std::string sql = "INSERT OR IGNORE INTO " + QuoteIdentifier(table.name) + " (";
    std::string values;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      sql += (i ? ", " : "") + QuoteIdentifier(table.columns[i].name);
      values += i ? ", ?" : "?";
    }
    sql += ") VALUES (" + values + ")";
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr);
    insert.reset(raw);
    if (rc != SQLITE_OK) {
      result.status = Error("prepare insert into " + table.name, rc);
      inserts_.erase(table.name);
      return result;
    }
  }
  Status begun = Exec("BEGIN IMMEDIATE");
  if (!begun.ok()) {
    result.status = begun;
    return result;
  }
  sqlite3_stmt* stmt = insert.get();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    std::string reject;
    for (std::size_t c = 0; c < table.columns.size() && reject.empty(); ++c) {
      const Column& col = table.columns[c];
      const int index = static_cast<int>(c + 1);
      if (c >= row.size() || !row[c]) {
        if (col.mode == config::ColumnMode::kRequired || col.name == table.key_column)
          reject = "column " + col.name + " is required but missing";
        continue;
      }
      const std::string& v = *row[c];
      switch (col.type) {
        case config::FieldType::kInteger: {
          std::int64_t n = 0;
          auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
            reject = "column " + col.name + ": '" + v.substr(0, 40) + "' is not an integer";
          } else {
            sqlite3_bind_int64(stmt, index, n);
          }
          break;
        }
        case config::FieldType::kFloat: {
          double d = 0;
          auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
          if (ec != std::errc() || p != v.data() + v.size() || v.empty() || !std::isfinite(d)) {
            reject = "column " + col.name + ": '" + v.substr(0, 40) + "' is not a number";
          } else {
            sqlite3_bind_double(stmt, index, d);
          }
          break;
        }
        case config::FieldType::kBoolean:
          if (v == "true" || v == "false") {
            sqlite3_bind_int(stmt, index, v == "true" ? 1 : 0);
          } else {
            reject = "column " + col.name + ": '" + v.substr(0, 40) + "' is not a boolean";
          }
          break;
        default:
          sqlite3_bind_text(stmt, index, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      }
    }
    if (!reject.empty()) {
      result.rejected.push_back({r, std::move(reject)});
      continue;
    }
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_CONSTRAINT) {
      result.rejected.push_back({r, std::string("constraint: ") + sqlite3_errmsg(db_.get())});
      continue;
    }
    if (rc != SQLITE_DONE) {
      result.status = Error("insert into " + table.name, rc);
      sqlite3_reset(stmt);
      Exec("ROLLBACK");
      result.rejected.clear();
      return result;
    }
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  Status committed = Exec("COMMIT");
  if (!committed.ok()) {
    Exec("ROLLBACK");
    result.status = committed.code() == Status::Code::kInternal
                        ? Status::Unavailable(committed.message())
                        : committed;
    result.rejected.clear();
  }
  return result;
}

Result<std::vector<SqliteSink::EventRow>> SqliteSink::RecentEvents(
    const std::vector<std::string>& tables, const std::string& key_column,
    const std::string& key_value, const std::string& since_dt, std::size_t limit) {
  std::vector<EventRow> rows;
  std::string sql;
  for (const auto& t : tables) {
    auto columns = ColumnsOf(t);
    if (!columns.ok()) return columns.status();
    if (columns->empty() || !columns->count(key_column) || !columns->count("dt")) continue;
    if (!sql.empty()) sql += " UNION ALL ";
    sql += "SELECT * FROM " + QuoteIdentifier(t) + " WHERE " + QuoteIdentifier(key_column) +
           " = ?1 AND dt >= ?2";
  }
  if (sql.empty()) return rows;
  sql = "SELECT * FROM (" + sql + ") ORDER BY dt DESC LIMIT ?3";
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return Error("history query", rc);
  sqlite3_bind_text(stmt.get(), 1, key_value.data(), static_cast<int>(key_value.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt.get(), 2, since_dt.data(), static_cast<int>(since_dt.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt.get(), 3, static_cast<sqlite3_int64>(limit));
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    EventRow row;
    for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
      if (sqlite3_column_type(stmt.get(), c) == SQLITE_NULL) continue;
      row.emplace_back(sqlite3_column_name(stmt.get(), c),
                       reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), c)));
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return Error("history query", rc);
  return rows;
}

}  // namespace oceanus::sink

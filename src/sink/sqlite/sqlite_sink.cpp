/* SqliteSink: the embedded default warehouse, one SQLite file in WAL mode.
 *
 * The loader hands us batches of rows already shaped by the site schema; our job is to make
 * "stored" mean stored and "failed" mean nothing stored. So a batch is one BEGIN IMMEDIATE …
 * COMMIT transaction (taking the write lock up front, so a busy database fails before any
 * work instead of at COMMIT), and any error from SQLite itself rolls the whole batch back.
 *
 * Failure classes are decided here, once (sink.h):
 *   - a value that cannot be stored as its column's type, a NULL in a REQUIRED column, a row
 *     of the wrong width, or a constraint the table enforces rejects that row alone (the
 *     loader sends it to the dead-letter) and the rest of the batch is stored;
 *   - SQLITE_BUSY/LOCKED (another writer holds the lock past busy_timeout) is Unavailable,
 *     I/O errors and a full disk are IoError: both retryable, the batch is rolled back;
 *   - a corrupt file is Corruption, anything else Internal (a bug: e.g. a write to a table
 *     that EnsureTable never saw).
 *
 * Idempotence is "INSERT … ON CONFLICT(eid) DO NOTHING" rather than "INSERT OR IGNORE":
 * OR IGNORE also silently skips rows that break a NOT NULL constraint, which would turn a
 * bad row into a lost row reported as stored; ON CONFLICT names the key and nothing else.
 *
 * Prepared INSERTs are cached per (table, column list), so the same table written with a
 * different column list never binds values to the wrong columns; daily tables make the cache
 * grow by one entry a day per site, so it is simply emptied when it gets large. EnsureTable
 * remembers what it has ensured and returns without touching the file when nothing is new.
 */
#include "sink/sqlite/sqlite_sink.h"

#include "util/log.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "sink/history.h"
#include "sink/row_values.h"
#include "util/time.h"

namespace oceanus::sink {
namespace {

constexpr std::size_t kMaxCachedInserts = 64;

const char* SqlType(config::FieldType t) {
  switch (t) {
    case config::FieldType::kInteger:
    case config::FieldType::kBoolean:
      return "INTEGER";
    case config::FieldType::kFloat:
      return "REAL";
    case config::FieldType::kString:
    case config::FieldType::kTimestamp:
      break;
  }
  return "TEXT";
}

// "name" with embedded double quotes doubled: safe for any name, whatever validated it.
std::string Quote(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Status Classify(int rc, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(message));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return Status::IoError(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

// Binds `v` as column `col`'s type to parameter `index`; the reason when it is not of it.
std::string BindValue(sqlite3_stmt* stmt, int index, const Column& col, const std::string& v) {
  std::string reason;
  switch (col.type) {
    case config::FieldType::kInteger:
      if (auto n = ReadInteger(col, v, reason)) sqlite3_bind_int64(stmt, index, *n);
      return reason;
    case config::FieldType::kFloat:
      if (auto d = ReadFloat(col, v, reason)) sqlite3_bind_double(stmt, index, *d);
      return reason;
    case config::FieldType::kBoolean:
      if (auto b = ReadBoolean(col, v, reason)) sqlite3_bind_int(stmt, index, *b ? 1 : 0);
      return reason;
    case config::FieldType::kString:
    case config::FieldType::kTimestamp:
      break;
  }
  // The row outlives the step that reads this, so SQLite need not copy it.
  sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteSink>> SqliteSink::Open(const std::string& path, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteSink> sink(new SqliteSink(raw));  // closes `raw` even on failure
  if (rc != SQLITE_OK) {
    return Classify(rc, "sqlite: cannot open " + path + ": " +
                            (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  // The first statement reads the file header, so this is also where "not a database" shows.
  auto mode = sink->Prepare("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return sink->Error("sqlite: cannot use " + path, sqlite3_errcode(raw));
  const int step = sqlite3_step(mode->get());
  if (step != SQLITE_ROW) {
    return sink->Error("sqlite: cannot use " + path + ": journal_mode=WAL", step);
  }
  const std::string journal = reinterpret_cast<const char*>(sqlite3_column_text(mode->get(), 0));
  mode->reset();
  if (journal != "wal") {
    spdlog::warn("sqlite: {} is in journal mode '{}', not WAL: readers will block the loader", path,
                 journal);
  }
  // FULL: every COMMIT syncs the WAL before it returns. The loader acknowledges a batch as
  // soon as Write returns, and the queue then makes that position durable (the spool cursor
  // is fdatasync'ed and the segments behind it deleted), so the rows must be at least as
  // durable as the position: with NORMAL a power cut could roll back commits whose spool is
  // already gone. The cost is one WAL sync per batch, not per row.
  if (!sink->Exec("PRAGMA synchronous=FULL").ok()) {
    return sink->Error("sqlite: cannot use " + path + ": synchronous=FULL", sqlite3_errcode(raw));
  }
  return sink;
}

SqliteSink::~SqliteSink() = default;  // statements (declared later) are finalized first

Status SqliteSink::Error(const std::string& what, int rc) const {
  return Classify(rc, what + ": " + sqlite3_errmsg(db_.get()));
}

Status SqliteSink::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Classify(rc, "sqlite: " + msg + " (in: " + sql.substr(0, 200) + ")");
}

void SqliteSink::RollbackIfOpen() {
  // After some errors (SQLITE_FULL, IOERR) SQLite has already rolled back by itself.
  if (sqlite3_get_autocommit(db_.get()) == 0) {
    // The batch is retried as a whole either way; a rollback that fails is worth a line.
    if (Status s = Exec("ROLLBACK"); !s.ok()) spdlog::warn("sqlite: rollback: {}", s.ToString());
  }
}

Result<SqliteSink::Stmt> SqliteSink::Prepare(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return Error("sqlite: prepare '" + sql.substr(0, 200) + "'", rc);
  return stmt;
}

Result<SqliteSink::TableInfo> SqliteSink::Describe(const std::string& table) {
  auto stmt = Prepare("PRAGMA table_info(" + Quote(table) + ")");
  if (!stmt.ok()) return stmt.status();
  TableInfo info;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    // cid, name, type, notnull, dflt_value, pk
    info.columns.emplace(reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 1)),
                         sqlite3_column_int(stmt->get(), 5));
  }
  if (rc != SQLITE_DONE) return Error("sqlite: table_info " + table, rc);
  return info;
}

Status SqliteSink::EnsureTable(const TableSpec& table) {
  const auto has = [](const TableInfo& info, const std::string& c) {
    return info.columns.count(c) > 0;
  };
  if (auto known = known_.find(table.name); known != known_.end()) {
    if (std::all_of(table.columns.begin(), table.columns.end(),
                    [&](const Column& c) { return has(known->second, c.name); })) {
      return Status::Ok();
    }
  }
  if (std::none_of(table.columns.begin(), table.columns.end(),
                   [&](const Column& c) { return c.name == table.key_column; })) {
    return Status::InvalidArgument("table " + table.name + ": key column " + table.key_column +
                                   " is not among its columns");
  }
  // Read and change the schema under the write lock, so that two processes ensuring the same
  // table cannot both decide to add the same column.
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  auto done = [&](Status status) {
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok()) RollbackIfOpen();
    return status;
  };
  auto existing = Describe(table.name);
  if (!existing.ok()) return done(existing.status());
  if (existing->columns.empty()) {
    std::string sql = "CREATE TABLE " + Quote(table.name) + " (";
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      const Column& c = table.columns[i];
      if (i > 0) sql += ", ";
      sql += Quote(c.name) + " " + SqlType(c.type);
      if (c.name == table.key_column) {
        sql += " PRIMARY KEY NOT NULL";
      } else if (c.mode == config::ColumnMode::kRequired) {
        sql += " NOT NULL";
      }
    }
    sql += ")";
    if (Status created = Exec(sql); !created.ok()) return done(created);
  } else {
    const auto key = existing->columns.find(table.key_column);
    const bool sole_key = key != existing->columns.end() && key->second == 1 &&
                          std::none_of(existing->columns.begin(), existing->columns.end(),
                                       [](const auto& c) { return c.second > 1; });
    if (!sole_key) {
      return done(Status::InvalidArgument("table " + table.name + " exists but " +
                                          table.key_column +
                                          " is not its primary key: writes would not be "
                                          "idempotent"));
    }
    for (const auto& c : table.columns) {
      if (has(*existing, c.name)) continue;
      Status added = Exec("ALTER TABLE " + Quote(table.name) + " ADD COLUMN " + Quote(c.name) +
                          " " + SqlType(c.type));
      if (!added.ok()) return done(added);
    }
  }
  if (Status committed = done(Status::Ok()); !committed.ok()) return committed;
  TableInfo& info = known_[table.name];
  for (const auto& c : table.columns) info.columns.emplace(c.name, c.name == table.key_column);
  return Status::Ok();
}

Result<sqlite3_stmt*> SqliteSink::InsertFor(const TableSpec& table) {
  std::string key = table.name;
  for (const auto& c : table.columns) key += '\0' + c.name;
  if (auto it = inserts_.find(key); it != inserts_.end()) return it->second.get();
  std::string sql = "INSERT INTO " + Quote(table.name) + " (";
  std::string values;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    sql += (i > 0 ? ", " : "") + Quote(table.columns[i].name);
    values += i > 0 ? ", ?" : "?";
  }
  sql += ") VALUES (" + values + ") ON CONFLICT(" + Quote(table.key_column) + ") DO NOTHING";
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  if (inserts_.size() >= kMaxCachedInserts) inserts_.clear();
  return inserts_.emplace(std::move(key), std::move(stmt).value()).first->second.get();
}

WriteResult SqliteSink::Write(const TableSpec& table, const std::vector<Row>& rows) {
  WriteResult result;
  if (rows.empty()) return result;
  auto insert = InsertFor(table);
  if (!insert.ok()) {
    result.status = insert.status();
    return result;
  }
  sqlite3_stmt* stmt = *insert;
  result.status = Exec("BEGIN IMMEDIATE");
  if (!result.status.ok()) return result;
  auto fail = [&](Status status) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    RollbackIfOpen();
    result.status = std::move(status);
    result.rejected.clear();
    return result;
  };
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    std::string reject;
    if (row.size() != table.columns.size()) {
      reject = "row has " + std::to_string(row.size()) + " values for " +
               std::to_string(table.columns.size()) + " columns";
    }
    for (std::size_t c = 0; c < table.columns.size() && reject.empty(); ++c) {
      const Column& col = table.columns[c];
      if (!row[c]) {
        if (col.mode == config::ColumnMode::kRequired || col.name == table.key_column) {
          reject = "column " + col.name + " is required but missing";
        }
        continue;  // cleared bindings are NULL
      }
      reject = BindValue(stmt, static_cast<int>(c + 1), col, *row[c]);
    }
    if (!reject.empty()) {
      result.rejected.push_back({r, std::move(reject)});
      continue;
    }
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) continue;
    const int primary = rc & 0xff;
    if (primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH || primary == SQLITE_TOOBIG) {
      // Only this statement is undone; the transaction and the rows before it stay.
      result.rejected.push_back(
          {r, std::string("rejected by the table: ") + sqlite3_errmsg(db_.get())});
      continue;
    }
    return fail(Error("sqlite: insert into " + table.name, rc));
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (Status committed = Exec("COMMIT"); !committed.ok()) return fail(std::move(committed));
  return result;
}

Result<std::vector<SqliteSink::EventRow>> SqliteSink::RecentEvents(
    const std::vector<std::string>& tables, const std::string& key_column,
    const std::string& key_value, const std::string& since_dt, std::size_t limit) {
  // One query per table rather than a UNION: daily tables of different days may have
  // different columns (the schema grew), and each row keeps the columns its table has.
  std::vector<DatedRow> found;
  const auto bound = static_cast<sqlite3_int64>(
      std::min<std::size_t>(limit, std::numeric_limits<sqlite3_int64>::max()));
  for (const auto& table : tables) {
    auto info = Describe(table);
    if (!info.ok()) return info.status();
    if (!info->columns.count(key_column) || !info->columns.count("dt")) continue;
    auto stmt = Prepare("SELECT * FROM " + Quote(table) + " WHERE " + Quote(key_column) +
                        " = ?1 AND \"dt\" >= ?2 ORDER BY \"dt\" DESC LIMIT ?3");
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* st = stmt->get();
    sqlite3_bind_text64(st, 1, key_value.data(), key_value.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_text64(st, 2, since_dt.data(), since_dt.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_int64(st, 3, bound);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      DatedRow f;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_NULL) continue;
        std::string name = sqlite3_column_name(st, c);
        std::string value = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        if (name == "dt") f.dt = value;
        f.row.emplace_back(std::move(name), std::move(value));
      }
      found.push_back(std::move(f));
    }
    if (rc != SQLITE_DONE) return Error("sqlite: history query on " + table, rc);
  }
  return NewestFirst(std::move(found), limit);
}

Result<SiteOverview> SqliteSink::Overview(const config::Site& site, const OverviewRequest& request,
                                          const std::vector<std::string>& tables) {
  std::vector<OverviewTable> present;
  for (const auto& table : tables) {
    auto info = Describe(table);
    if (!info.ok()) return info.status();
    OverviewTable t{Quote(table), "", {}};
    for (const auto& [name, pk] : info->columns) t.columns.insert(name);
    if (!t.columns.empty()) present.push_back(std::move(t));  // an absent table has none
  }
  OverviewDialect dialect;
  dialect.quote = &Quote;
  const OverviewSpelling spelling{
      [](std::size_t i, std::chrono::system_clock::time_point) { return ":t" + std::to_string(i); },
      ":top"};
  const auto top = static_cast<sqlite3_int64>(
      std::min<std::size_t>(request.top, std::numeric_limits<sqlite3_int64>::max()));
  const auto run = [&](const std::string& sql, bool,
                       const std::vector<std::chrono::system_clock::time_point>& instants)
      -> Result<OverviewRows> {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* st = stmt->get();
    for (std::size_t i = 0; i < instants.size(); ++i) {
      const int at = sqlite3_bind_parameter_index(st, (":t" + std::to_string(i)).c_str());
      char dt[kUtcMicrosLength];
      FormatUtcMicros(instants[i], dt);
      if (at > 0) sqlite3_bind_text64(st, at, dt, kUtcMicrosLength, SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (const int at = sqlite3_bind_parameter_index(st, ":top"); at > 0)
      sqlite3_bind_int64(st, at, top);
    OverviewRows rows;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      auto& row = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row.push_back(text ? std::optional<std::string>(text) : std::nullopt);
      }
    }
    if (rc != SQLITE_DONE) return Error("sqlite: overview query", rc);
    return rows;
  };
  return RunOverview(site, request, present, dialect, spelling, run);
}

Result<std::vector<std::string>> SqliteSink::ListTables() {
  auto stmt = Prepare("SELECT name FROM sqlite_master WHERE type = 'table'");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> names;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW)
    names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0)));
  if (rc != SQLITE_DONE) return Error("sqlite: listing tables", rc);
  return names;
}

Result<long long> SqliteSink::EraseRows(const std::string& table, const std::string& column,
                                        const std::string& value, bool count_only) {
  auto info = Describe(table);
  if (!info.ok()) return info.status();
  if (!info->columns.count(column)) return 0LL;
  if (!count_only) {
    if (Status s = Exec("PRAGMA secure_delete = ON"); !s.ok()) return s;
  }
  const std::string where = " FROM " + Quote(table) + " WHERE " + Quote(column) + " = ?1";
  auto stmt = Prepare(count_only ? "SELECT count(*)" + where : "DELETE" + where);
  if (!stmt.ok()) return stmt.status();
  sqlite3_stmt* st = stmt->get();
  sqlite3_bind_text64(st, 1, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  const int rc = sqlite3_step(st);
  if (count_only) {
    if (rc != SQLITE_ROW) return Error("sqlite: counting in " + table, rc);
    return static_cast<long long>(sqlite3_column_int64(st, 0));
  }
  if (rc != SQLITE_DONE) return Error("sqlite: deleting from " + table, rc);
  const auto erased = static_cast<long long>(sqlite3_changes64(db_.get()));
  // The rows' earlier pages may still be frames of the write-ahead log: copy the log into the
  // file and empty it. Best effort (a long reader can hold the log); the next checkpoint
  // overwrites them anyway.
  if (erased > 0)
    sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  return erased;
}

}  // namespace oceanus::sink

// SqliteRejectedStore; see sqlite_rejected.h.
#include "queue/spool/sqlite_rejected.h"

#include <set>

namespace oceanus::queue {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS rejected (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "at INTEGER NOT NULL, site TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, "
    "status INTEGER NOT NULL, detail TEXT NOT NULL, payload TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rejected_site ON rejected (site, id);"
    "CREATE INDEX IF NOT EXISTS rejected_at ON rejected (at);";

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Insert(sqlite3* db, std::span<const Rejection> batch) {
  auto insert =
      sqlite::Prepare(db,
                      "INSERT INTO rejected (at, site, kind, reason, status, detail, payload) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert.ok()) return insert.status();
  sqlite3_stmt* s = insert->get();
  for (const auto& r : batch) {
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, r.at_micros);
    sqlite::BindText(s, 2, r.site);
    sqlite::BindText(s, 3, r.kind);
    sqlite::BindText(s, 4, r.reason);
    sqlite3_bind_int(s, 5, r.status);
    sqlite::BindText(s, 6, r.detail);
    sqlite::BindText(s, 7, r.payload);
    if (sqlite3_step(s) != SQLITE_DONE) return sqlite::Error(db, "rejected: insert");
  }
  return Status::Ok();
}

}  // namespace

Result<sqlite::Db> SqliteRejectedStore::Connect() const {
  auto db = sqlite::Open(path_);
  if (!db.ok()) return db.status().WithContext("rejected");
  if (Status s = sqlite::Exec(db->get(), kSchema); !s.ok()) return s.WithContext("rejected");
  return db;
}

// Per site of the batch, the entries beyond max_per_site (ids below the newest N); then, for
// every site, those past max_age.
Result<std::uint64_t> SqliteRejectedStore::Trim(sqlite3* db, std::span<const Rejection> batch) {
  std::set<std::string_view> sites;
  for (const auto& r : batch) sites.insert(r.site);
  auto by_count = sqlite::Prepare(
      db,
      "DELETE FROM rejected WHERE site = ?1 AND id <= (SELECT id FROM rejected WHERE site = ?1 "
      "ORDER BY id DESC LIMIT 1 OFFSET ?2)");
  if (!by_count.ok()) return by_count.status();
  std::uint64_t dropped = 0;
  for (std::string_view site : sites) {
    sqlite3_reset(by_count->get());
    sqlite::BindText(by_count->get(), 1, site);
    sqlite3_bind_int64(by_count->get(), 2, static_cast<std::int64_t>(bound_.max_per_site));
    if (sqlite3_step(by_count->get()) != SQLITE_DONE) return sqlite::Error(db, "rejected: trim");
    dropped += static_cast<std::uint64_t>(sqlite3_changes(db));
  }
  auto by_age = sqlite::Prepare(db, "DELETE FROM rejected WHERE at < ?1");
  if (!by_age.ok()) return by_age.status();
  const auto age = std::chrono::duration_cast<std::chrono::microseconds>(bound_.max_age).count();
  sqlite3_bind_int64(by_age->get(), 1, NowMicros() - age);
  if (sqlite3_step(by_age->get()) != SQLITE_DONE) return sqlite::Error(db, "rejected: expire");
  dropped += static_cast<std::uint64_t>(sqlite3_changes(db));
  return dropped;
}

Result<std::uint64_t> SqliteRejectedStore::Add(std::span<const Rejection> batch) {
  if (!writer_) {
    auto db = Connect();
    if (!db.ok()) return db.status();
    // A small page cache: the writer touches the newest pages and the index, and the process's
    // memory should not grow with the store.
    if (Status s = sqlite::Exec(db->get(), "PRAGMA cache_size=-1024"); !s.ok()) return s;
    writer_ = std::move(db).value();
  }
  sqlite3* db = writer_.get();
  if (Status s = sqlite::Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
  Status inserted = Insert(db, batch);
  auto dropped = inserted.ok() ? Trim(db, batch) : Result<std::uint64_t>(inserted);
  if (!dropped.ok()) {
    (void)sqlite::Exec(db, "ROLLBACK");
    return dropped.status();
  }
  if (Status s = sqlite::Exec(db, "COMMIT"); !s.ok()) return s;
  return dropped;
}

Result<std::vector<Rejection>> SqliteRejectedStore::List(const RejectedQuery& query) {
  auto db = Connect();
  if (!db.ok()) return db.status();
  auto select = sqlite::Prepare(
      db->get(),
      "SELECT at, site, kind, reason, status, detail, payload FROM rejected "
      "WHERE (?1 = '' OR site = ?1) AND (?2 = '' OR kind = ?2) AND (?3 = '' OR reason = ?3) "
      "AND at >= ?4 AND at < ?5 ORDER BY id DESC LIMIT ?6");
  if (!select.ok()) return select.status();
  sqlite3_stmt* s = select->get();
  sqlite::BindText(s, 1, query.site);
  sqlite::BindText(s, 2, query.kind);
  sqlite::BindText(s, 3, query.reason);
  sqlite3_bind_int64(s, 4, query.since_micros);
  sqlite3_bind_int64(s, 5, query.until_micros);
  sqlite3_bind_int64(s, 6, static_cast<std::int64_t>(query.limit));
  std::vector<Rejection> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Rejection& r = out.emplace_back();
    r.at_micros = sqlite3_column_int64(s, 0);
    r.site = sqlite::ColumnText(s, 1);
    r.kind = sqlite::ColumnText(s, 2);
    r.reason = sqlite::ColumnText(s, 3);
    r.status = sqlite3_column_int(s, 4);
    r.detail = sqlite::ColumnText(s, 5);
    r.payload = sqlite::ColumnText(s, 6);
  }
  if (rc != SQLITE_DONE) return sqlite::Error(db->get(), "rejected: list");
  return out;
}

Result<RejectedCounts> SqliteRejectedStore::Count() {
  auto db = Connect();
  if (!db.ok()) return db.status();
  auto select = sqlite::Prepare(
      db->get(), "SELECT site, kind, reason, COUNT(*) FROM rejected GROUP BY site, kind, reason");
  if (!select.ok()) return select.status();
  RejectedCounts out;
  int rc;
  while ((rc = sqlite3_step(select->get())) == SQLITE_ROW)
    out[{sqlite::ColumnText(select->get(), 0), sqlite::ColumnText(select->get(), 1),
         sqlite::ColumnText(select->get(), 2)}] =
        static_cast<std::uint64_t>(sqlite3_column_int64(select->get(), 3));
  if (rc != SQLITE_DONE) return sqlite::Error(db->get(), "rejected: count");
  return out;
}

Result<long long> SqliteRejectedStore::Erase(const std::string& site, const TextMatcher& matches,
                                             bool count_only) {
  auto db = Connect();
  if (!db.ok()) return db.status();
  // secure_delete: the erased bytes are overwritten in the file, not only unlinked.
  if (Status s = sqlite::Exec(db->get(), "PRAGMA secure_delete=ON"); !s.ok()) return s;
  auto select =
      sqlite::Prepare(db->get(), "SELECT id, detail, payload FROM rejected WHERE site = ?1");
  if (!select.ok()) return select.status();
  sqlite::BindText(select->get(), 1, site);
  std::vector<std::int64_t> ids;
  int rc;
  while ((rc = sqlite3_step(select->get())) == SQLITE_ROW)
    if (matches(sqlite::ColumnText(select->get(), 1)) ||
        matches(sqlite::ColumnText(select->get(), 2)))
      ids.push_back(sqlite3_column_int64(select->get(), 0));
  if (rc != SQLITE_DONE) return sqlite::Error(db->get(), "rejected: erase");
  if (count_only || ids.empty()) return static_cast<long long>(ids.size());
  auto del = sqlite::Prepare(db->get(), "DELETE FROM rejected WHERE id = ?1");
  if (!del.ok()) return del.status();
  if (Status s = sqlite::Exec(db->get(), "BEGIN IMMEDIATE"); !s.ok()) return s;
  for (std::int64_t id : ids) {
    sqlite3_reset(del->get());
    sqlite3_bind_int64(del->get(), 1, id);
    if (sqlite3_step(del->get()) != SQLITE_DONE) {
      (void)sqlite::Exec(db->get(), "ROLLBACK");
      return sqlite::Error(db->get(), "rejected: erase");
    }
  }
  if (Status s = sqlite::Exec(db->get(), "COMMIT"); !s.ok()) return s;
  (void)sqlite::Exec(db->get(), "PRAGMA wal_checkpoint(TRUNCATE)");
  return static_cast<long long>(ids.size());
}

}  // namespace oceanus::queue

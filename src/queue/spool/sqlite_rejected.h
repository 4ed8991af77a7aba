// The rejected-events store of the local spool: a table in <data_dir>/rejected.db (SQLite,
// WAL), one row per entry, indexed by site and time so that the bound and the admin page's
// filters are cheap. Bounded per site (max_per_site, by id: the oldest go first) and by age.
#pragma once

#include <string>

#include "queue/rejected.h"
#include "util/sqlite_db.h"

namespace oceanus::queue {

class SqliteRejectedStore final : public RejectedStore {
 public:
  SqliteRejectedStore(std::string path, RejectedBound bound)
      : path_(std::move(path)), bound_(bound) {}
  Result<std::uint64_t> Add(std::span<const Rejection> batch) override;
  Result<std::vector<Rejection>> List(const RejectedQuery& query) override;
  Result<RejectedCounts> Count() override;
  Result<long long> Erase(const std::string& site, const TextMatcher& matches,
                          bool count_only) override;

 private:
  // A connection with the table made; the writer keeps its own, readers open one per call.
  Result<sqlite::Db> Connect() const;
  Result<std::uint64_t> Trim(sqlite3* db, std::span<const Rejection> batch);

  std::string path_;
  RejectedBound bound_;
  sqlite::Db writer_;
};

}  // namespace oceanus::queue

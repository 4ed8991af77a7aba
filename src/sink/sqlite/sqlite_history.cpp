// History over a SQLite file (sink/sqlite/sqlite_history.h).
#include "sink/sqlite/sqlite_history.h"

#include <algorithm>
#include <mutex>

#include "sink/sqlite/sqlite_sink.h"
#include "tables/table_names.h"

namespace oceanus::sink {
namespace {

class SqliteHistory final : public HistorySource {
 public:
  SqliteHistory(std::unique_ptr<SqliteSink> db, std::string prefix, TimeZone tz)
      : db_(std::move(db)), prefix_(std::move(prefix)), tz_(std::move(tz)) {}

  Result<std::vector<EventRow>> Recent(const config::Site& site, const std::string& key_column,
                                       const std::string& key_value,
                                       std::chrono::system_clock::time_point since,
                                       std::size_t limit) override {
    const std::vector<std::string> tables =
        tables::TablesSince(site, prefix_, since, std::chrono::system_clock::now(), tz_);
    char since_dt[kUtcMicrosLength];
    FormatUtcMicros(since, since_dt);
    std::lock_guard lock(mu_);
    return db_->RecentEvents(tables, key_column, key_value, std::string(since_dt, kUtcMicrosLength),
                             limit);
  }

  Result<SiteOverview> Overview(const config::Site& site, const OverviewRequest& request) override {
    const std::vector<std::string> tables = OverviewTableNames(site, prefix_, request, tz_);
    std::lock_guard lock(mu_);
    return db_->Overview(site, request, tables);
  }

 private:
  std::mutex mu_;  // one connection, used by one thread at a time
  std::unique_ptr<SqliteSink> db_;
  std::string prefix_;
  TimeZone tz_;
};

}  // namespace

Result<std::unique_ptr<HistorySource>> MakeSqliteHistory(const std::string& path,
                                                         std::string table_prefix, TimeZone tz) {
  auto db = SqliteSink::Open(path);
  if (!db.ok()) return db.status();
  return std::unique_ptr<HistorySource>(std::make_unique<SqliteHistory>(
      std::move(db).value(), std::move(table_prefix), std::move(tz)));
}

}  // namespace oceanus::sink

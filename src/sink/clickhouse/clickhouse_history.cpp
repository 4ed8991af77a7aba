// History over ClickHouse (sink/clickhouse/clickhouse_history.h): every daily table the
// period touches (one table for single-table sites), read with FINAL so that a row written
// twice is returned once; the key value is escaped by clickhouse::QuoteString.
#include "sink/clickhouse/clickhouse_history.h"

#include <algorithm>
#include <mutex>
#include <set>

#include "tables/table_names.h"

namespace oceanus::sink {
namespace {

class ClickHouseHistory final : public HistorySource {
 public:
  ClickHouseHistory(const ClickHouseConfig& config, std::string prefix, TimeZone tz)
      : sink_(config), prefix_(std::move(prefix)), tz_(std::move(tz)) {}

  Result<std::vector<EventRow>> Recent(const config::Site& site, const std::string& key_column,
                                       const std::string& key_value,
                                       std::chrono::system_clock::time_point since,
                                       std::size_t limit) override {
    // Identifiers cannot be escaped into meaning: only a field of the schema is a column.
    std::set<std::string> timestamps;
    bool known = false;
    for (const auto& f : site.schema) {
      known = known || f.name == key_column;
      if (f.type == config::FieldType::kTimestamp) timestamps.insert(f.name);
    }
    if (!known)
      return Status::InvalidArgument("history: '" + key_column + "' is not a field of site " +
                                     site.name);
    const std::vector<std::string> tables =
        tables::TablesSince(site, prefix_, since, std::chrono::system_clock::now(), tz_);
    std::lock_guard lock(mu_);
    return sink_.RecentEvents(tables, key_column, key_value, timestamps, since, limit);
  }

  Result<SiteOverview> Overview(const config::Site& site, const OverviewRequest& request) override {
    const std::vector<std::string> tables = OverviewTableNames(site, prefix_, request, tz_);
    std::lock_guard lock(mu_);
    return sink_.Overview(site, request, tables);
  }

 private:
  std::mutex mu_;  // the sink's table cache is not thread-safe
  ClickHouseSink sink_;
  std::string prefix_;
  TimeZone tz_;
};

}  // namespace

std::unique_ptr<HistorySource> MakeClickHouseHistory(const ClickHouseConfig& config,
                                                     std::string table_prefix, TimeZone tz) {
  return std::make_unique<ClickHouseHistory>(config, std::move(table_prefix), std::move(tz));
}

}  // namespace oceanus::sink

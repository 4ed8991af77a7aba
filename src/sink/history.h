// Reading one subject's recent events back from the warehouse (for history reports and the
// admin page's visitor timeline). A capability of the sinks that can query: SQLite now,
// BigQuery through jobs.query.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "app/config.h"
#include "util/status.h"
#include "util/time.h"

namespace oceanus::sink {

class SqliteSink;
class BigQuerySink;

// One event as (column, value) pairs, NULLs left out.
using EventRow = std::vector<std::pair<std::string, std::string>>;

class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // The events of `site` whose `key_column` equals `key_value`, with dt at or after `since`,
  // newest first, at most `limit`. Thread-safe.
  virtual Result<std::vector<EventRow>> Recent(const config::Site& site,
                                               const std::string& key_column,
                                               const std::string& key_value,
                                               std::chrono::system_clock::time_point since,
                                               std::size_t limit) = 0;
};

// Opens a connection of its own to the SQLite file (the loader keeps writing through its own).
Result<std::unique_ptr<HistorySource>> MakeSqliteHistory(const std::string& path,
                                                         std::string table_prefix, TimeZone tz);
// Borrows the BigQuery sink (its client is thread-safe).
std::unique_ptr<HistorySource> MakeBigQueryHistory(BigQuerySink& sink, std::string table_prefix);

}  // namespace oceanus::sink

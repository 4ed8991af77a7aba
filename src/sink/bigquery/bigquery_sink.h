// The BigQuery sink: streaming inserts (tabledata.insertAll) and tables from the site schema.
//
// Idempotence comes from BigQuery itself: every row carries insertId = eid, and BigQuery drops
// a repeated insertId seen within about a minute, which covers the loader's retries; the
// loader acknowledges only after insertAll reported the batch stored.
// Failure classes, decided here: a row BigQuery calls invalid goes to the dead-letter with
// BigQuery's reason; rows it only "stopped" because a neighbour was invalid (skipInvalidRows
// is false, so one bad row fails the request) are sent again at once without the bad ones;
// 5xx, 429, 401/403 and timeouts fail the batch as retryable (Retry-After is passed on), so
// an outage of hours only grows the queue.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "config/config.h"
#include "google/auth.h"
#include "sink/bigquery/bigquery_config.h"
#include "sink/sink.h"
#include "util/http_client.h"

namespace oceanus::sink {

class BigQuerySink final : public Sink {
 public:
  BigQuerySink(sink::BigQueryConfig config, std::unique_ptr<google::TokenSource> tokens);

  Status EnsureTable(const TableSpec& table) override;
  WriteResult Write(const TableSpec& table, const std::vector<Row>& rows) override;

  // A subject's events since `since`, newest first, at most `limit` (history reports).
  // Standard SQL through jobs.query with named parameters — the value, the time and the limit
  // are never put into the SQL text. Daily tables are read through the wildcard table
  // `<prefix><site>_*` with _TABLE_SUFFIX bounding the days scanned; single tables directly.
  // `key_column` must be a column of the site's schema.
  using EventRow = std::vector<std::pair<std::string, std::string>>;
  Result<std::vector<EventRow>> RecentEvents(
      const config::Site& site, const std::string& table_prefix, const std::string& key_column,
      const std::string& key_value, std::chrono::system_clock::time_point since, std::size_t limit);

  std::uint64_t bytes_sent() const { return bytes_sent_.load(); }
  std::uint64_t requests() const { return requests_.load(); }

 private:
  Result<HttpResponse> Call(const std::string& method, const std::string& url,
                            std::string_view body);
  std::string TablesUrl() const;

  sink::BigQueryConfig config_;
  std::unique_ptr<google::TokenSource> tokens_;
  std::map<std::string, std::set<std::string>> known_columns_;
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::atomic<std::uint64_t> requests_{0};
};

// "STRING", "INTEGER", ... as BigQuery's legacy type names (what tables.insert takes).
const char* BigQueryType(config::FieldType type);

}  // namespace oceanus::sink

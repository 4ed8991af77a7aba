// The BigQuery sink: tables from the site schema (REST tables.get/insert/patch), rows through
// the Storage Write API (api: storage_write, the default; sink/bigquery/storage_writer.h:
// exactly once by stream offsets, or at least once on the _default stream) or through
// streaming inserts (api: insert_all, below).
//
// insertAll's idempotence comes from BigQuery itself: every row carries insertId = eid, and
// BigQuery drops a repeated insertId seen within about a minute, which covers the loader's retries;
// the loader acknowledges only after insertAll reported the batch stored. Failure classes, decided
// here: a row BigQuery calls invalid goes to the dead-letter with BigQuery's reason; rows it only
// "stopped" because a neighbour was invalid (skipInvalidRows is false, so one bad row fails the
// request) are sent again at once without the bad ones; 5xx, 429, 401/403 and timeouts fail the
// batch as retryable (Retry-After is passed on), so an outage of hours only grows the queue.
#pragma once

#include <rapidjson/document.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "config/config.h"
#include "google/auth.h"
#include "sink/bigquery/bigquery_config.h"
#include "sink/bigquery/storage_writer.h"
#include "sink/overview.h"
#include "sink/sink.h"
#include "util/http_client.h"

namespace oceanus::sink {

class BigQuerySink final : public Sink {
 public:
  // With api storage_write, also the gRPC client (it connects lazily, at the first call).
  static Result<std::unique_ptr<BigQuerySink>> Open(sink::BigQueryConfig config,
                                                    std::unique_ptr<google::TokenSource> tokens);
  BigQuerySink(sink::BigQueryConfig config, std::unique_ptr<google::TokenSource> tokens);
  ~BigQuerySink() override;

  Status EnsureTable(const TableSpec& table) override;
  WriteResult Write(const TableSpec& table, const std::vector<Row>& rows) override;
  // tables.list of the dataset, every page.
  Result<std::vector<std::string>> ListTables() override;
  // jobs.query: SELECT COUNT(*), or DML `DELETE … WHERE CAST(column AS STRING) = @value` and
  // its numDmlAffectedRows. The table's schema (tables.get) tells whether it has the column.
  // BigQuery refuses DML over rows still in an insertAll streaming buffer (up to ~90 min
  // after they were streamed; rows from the Storage Write API are not affected): that answer
  // is an Unavailable error saying to run the erasure again later.
  Result<long long> EraseRows(const std::string& table, const std::string& column,
                              const std::string& value, bool count_only) override;
  // "bigquery" with api storage_write and delivery exactly_once.
  std::string LedgerName() const override;
  void UseLedger(std::shared_ptr<queue::Ledger> ledger) override;

  // A subject's events since `since`, newest first, at most `limit` (history reports).
  // Standard SQL through jobs.query with named parameters — the value, the time and the limit
  // are never put into the SQL text. Daily tables are read through the wildcard table
  // `<prefix><site>_*` with _TABLE_SUFFIX bounding the days scanned; single tables directly.
  // `key_column` must be a column of the site's schema.
  using EventRow = std::vector<std::pair<std::string, std::string>>;
  Result<std::vector<EventRow>> RecentEvents(
      const config::Site& site, const std::string& table_prefix, const std::string& key_column,
      const std::string& key_value, std::chrono::system_clock::time_point since, std::size_t limit);

  // The overview of `site` for `request` (sink/overview.h) from `tables` (those that exist, by
  // tables.get), one jobs.query per section with the day's instants and the limit as named
  // parameters (sink/bigquery/bigquery_overview.cpp).
  Result<SiteOverview> Overview(const config::Site& site, const OverviewRequest& request,
                                const std::vector<std::string>& tables);

  // A named parameter of a jobs.query call; `value` in its JSON text form.
  struct QueryParameter {
    std::string name;
    const char* type;  // STRING, INT64, TIMESTAMP
    std::string value;
  };

  // Bytes of row-carrying requests (insertAll bodies, or AppendRows messages) and requests
  // of every kind.
  std::uint64_t bytes_sent() const;
  std::uint64_t requests() const;
  const StorageWriter* storage_writer() const { return storage_.get(); }

 private:
  Result<HttpResponse> Call(const std::string& method, const std::string& url,
                            std::string_view body);
  std::string TablesUrl() const;
  // The columns of `table` by tables.get, or nullopt when it does not exist.
  Result<std::optional<std::set<std::string>>> TableColumns(const std::string& table);
  // jobs.query with standard SQL and named parameters, polling getQueryResults until the job
  // is complete; the complete answer.
  Result<rapidjson::Document> RunQuery(const std::string& sql,
                                       const std::vector<QueryParameter>& parameters);
  WriteResult InsertAll(const TableSpec& table, const std::vector<Row>& rows);

  sink::BigQueryConfig config_;
  std::shared_ptr<google::TokenSource> tokens_;  // shared with the gRPC call credentials
  std::unique_ptr<StorageWriter> storage_;
  std::map<std::string, std::set<std::string>> known_columns_;
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::atomic<std::uint64_t> requests_{0};
};

// "STRING", "INTEGER", ... as BigQuery's legacy type names (what tables.insert takes).
const char* BigQueryType(config::FieldType type);

}  // namespace oceanus::sink

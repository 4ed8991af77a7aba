// ClickHouseSink: the loader's warehouse on a ClickHouse server, over its HTTP interface
// (util/http_client.h). Tables are ReplacingMergeTree, partitioned by the UTC day of `dt` and
// sorted by (hour of dt, visitor column, eid), so that a row written twice (a retried batch)
// is one row after merges and in every de-duplicating read (FINAL, GROUP BY eid, uniqExact).
//
// Types (docs/clickhouse.md): string → String, integer → Int64, float → Float64, boolean →
// UInt8, timestamp → DateTime('UTC') (seconds) plus `<name>_us UInt32` (the microseconds;
// 18.16 has no DateTime64), json → String; Nullable unless the field is required. `eid` is a
// String and `dt` a DateTime that are never NULL (sorting and partition key).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sink/overview.h"
#include "sink/sink.h"
#include "util/http_client.h"

namespace oceanus::sink {

struct ClickHouseConfig {
  std::string url;  // http(s)://host:port[/path], no query, no user info
  std::string database = "oceanus";
  std::string user;      // empty: the server's default user
  std::string password;  // never printed
  std::string ca_file;   // https: the CA bundle to verify the server with; empty: the system's
  std::chrono::milliseconds timeout{30'000};
  std::string visitor_column = "sid";  // second in the sorting key when the table has it
  bool compress = true;                // gzip the INSERT bodies
};

class ClickHouseSink final : public Sink {
 public:
  explicit ClickHouseSink(ClickHouseConfig config) : config_(std::move(config)) {}

  Status EnsureTable(const TableSpec& table) override;
  WriteResult Write(const TableSpec& table, const std::vector<Row>& rows) override;
  // The tables of the configured database.
  Result<std::vector<std::string>> ListTables() override;
  // Counts with FINAL (a row written twice is one row, as every read sees it), then
  // ALTER TABLE … DELETE and waits until system.mutations has no unfinished one for the
  // table. The value is escaped by QuoteString (18.16 has no query parameters) and compared
  // with toString(column), so that a value of any column type matches as text.
  Result<long long> EraseRows(const std::string& table, const std::string& column,
                              const std::string& value, bool count_only) override;

  using EventRow = std::vector<std::pair<std::string, std::string>>;
  // The rows of `tables` (those that exist) whose `key_column` equals `key_value` with dt at
  // or after `since`, de-duplicated, newest first, at most `limit`; timestamps as the loader
  // wrote them ("YYYY-MM-DD HH:MM:SS.ffffff"): each of `timestamps` with its `_us` column
  // folded back in.
  Result<std::vector<EventRow>> RecentEvents(const std::vector<std::string>& tables,
                                             const std::string& key_column,
                                             const std::string& key_value,
                                             const std::set<std::string>& timestamps,
                                             std::chrono::system_clock::time_point since,
                                             std::size_t limit);
  // The overview of `site` for `request` (sink/overview.h) from `tables`, those that exist,
  // read with FINAL; the day's instants are escaped literals (18.16 has no query parameters).
  Result<SiteOverview> Overview(const config::Site& site, const OverviewRequest& request,
                                const std::vector<std::string>& tables);

  // One statement; `body`, when given, is the statement's data (INSERT … FORMAT) and `sql`
  // goes into the URL. The answer's body, or the classified failure.
  Result<std::string> Query(const std::string& sql, std::string_view body = {}, bool gzip = false);

  const ClickHouseConfig& config() const { return config_; }

 private:
  // RowBinary for a table whose columns all have the schema's types, else JSONEachRow
  // (clickhouse_sink.cpp says why).
  enum class InsertFormat { kRowBinary, kJsonEachRow };
  struct TableInfo {
    std::map<std::string, std::string> columns;  // name → type, as system.columns has it
    std::string engine;
  };
  struct KnownTable {
    std::map<std::string, std::string> columns;  // ensured: name → the schema's type for it
    InsertFormat format = InsertFormat::kJsonEachRow;
  };
  // A batch's rows encoded back to back, and the bytes of each, so that a batch narrowed down
  // after a row error is sent again from the same bytes.
  struct EncodedRows {
    std::string data;
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // row → [begin, end) in data
  };
  Status EnsureDatabase();
  Result<std::map<std::string, TableInfo>> DescribeTables(const std::vector<std::string>& names);
  Status CreateTable(const TableSpec& table);
  // Creates the table or adds the columns it lacks (EnsureTable, once the checks passed); the
  // format its rows can be sent in.
  Result<InsertFormat> EnsureColumns(const TableSpec& table);
  // Sends rows[indices] in one INSERT; a row-level error is narrowed down (around the row the
  // error names, else by halving) until the rows ClickHouse refuses are alone (appended to
  // `rejected`) and the others stored.
  Status Insert(const TableSpec& table, InsertFormat format, const EncodedRows& rows,
                const std::vector<std::size_t>& indices, std::vector<RowError>& rejected);
  std::string Table(const std::string& name) const;

  ClickHouseConfig config_;
  bool database_ready_ = false;
  std::map<std::string, KnownTable> known_;
};

// The column that keeps the microseconds of timestamp column `name`.
std::string MicrosColumn(const std::string& name);

// Whether every column of `table` found in `types` (name → type as system.columns has it)
// has exactly the type the sink creates it with; else false and the first that differs, as
// "n is Int64, not Nullable(String)", in `differs`.
bool TypesMatchSchema(const TableSpec& table, const std::map<std::string, std::string>& types,
                      std::string* differs = nullptr);

// gzip (RFC 1952) of `data`, at zlib's fastest level.
std::string Gzip(std::string_view data);

}  // namespace oceanus::sink

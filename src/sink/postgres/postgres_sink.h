// The PostgreSQL warehouse (sink type `postgres`): one libpq connection per sink, opened on
// first use, so that a loader starts while the database is down and its writes fail as
// retryable until it is back.
//
// Tables: `daily` sites get one table per day, `single` sites one table declaratively
// partitioned by RANGE on dt with one partition per UTC day (<table>_pYYYYMMDD), today's and
// tomorrow's made by EnsureTable and the days of a batch's rows made by Write before it
// writes. Types: timestamp → timestamptz, integer → bigint, float → double precision,
// boolean → boolean, `json: true` → jsonb, strings → text; the key column (eid) is the
// primary key, with dt on a partitioned table; descriptions become COMMENT ON COLUMN.
//
// A batch is one transaction: COPY straight into the table, and when that is refused (a row
// stored before, a value the server will not take), COPY into a temporary staging table and
// INSERT … SELECT … ON CONFLICT (key) DO NOTHING, so writing a batch twice stores it once.
//
// One PostgresSink is one connection: use it from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sink/overview.h"
#include "sink/postgres/postgres_connection.h"
#include "sink/sink.h"

namespace oceanus::sink {

class PostgresSink final : public Sink {
 public:
  explicit PostgresSink(PostgresConfig config) : conn_(std::move(config)) {}

  // Creates the table (and for a partitioned one today's and tomorrow's partitions, UTC), or
  // adds the columns it lacks. Returns at once when this sink has done it all before.
  Status EnsureTable(const TableSpec& table) override;
  WriteResult Write(const TableSpec& table, const std::vector<Row>& rows) override;
  // The tables of the current schema (where unqualified names go), partitions left out: a
  // DELETE on a partitioned table reaches its partitions.
  Result<std::vector<std::string>> ListTables() override;
  Result<long long> EraseRows(const std::string& table, const std::string& column,
                              const std::string& value, bool count_only) override;

  // The events of one subject (`key_column` = `key_value`) with dt >= `since_dt` (UTC,
  // "YYYY-MM-DD HH:MM:SS.ffffff") from `tables`, newest first, at most `limit`, each as
  // (column, value) pairs without NULLs; timestamps in UTC as the loader writes them,
  // booleans as true/false. Tables that do not exist or lack the key column or dt are
  // skipped. Values are bound parameters, never spliced into SQL.
  using EventRow = std::vector<std::pair<std::string, std::string>>;
  Result<std::vector<EventRow>> RecentEvents(const std::vector<std::string>& tables,
                                             const std::string& key_column,
                                             const std::string& key_value,
                                             const std::string& since_dt, std::size_t limit);
  // The overview of `site` for `request` (sink/overview.h) from `tables`, those that exist; the
  // day's instants (one timestamptz[] parameter) and the limit are bound parameters.
  Result<SiteOverview> Overview(const config::Site& site, const OverviewRequest& request,
                                const std::vector<std::string>& tables);

 private:
  struct TableInfo {
    bool exists = false;
    bool partitioned = false;
    std::vector<std::pair<std::string, std::string>> columns;  // name, type (regtype text)
    std::set<std::string> key;                                 // primary-key columns
  };
  struct Known {
    std::set<std::string> columns;
    std::set<std::int64_t> days;  // partitions known to exist, as days since the epoch (UTC)
  };
  // The COPY text of the rows that passed the checks, one line each, in one buffer: a run of
  // lines is one contiguous piece to send.
  struct Encoded {
    std::vector<std::size_t> index;  // line i is the batch's row index[i]
    std::string data;
    std::vector<std::size_t> ends;  // line i is data[ends[i-1] (or 0), ends[i])
    std::set<std::int64_t> days;
    std::size_t size() const { return ends.size(); }
    std::string_view Lines(std::size_t begin, std::size_t end) const {
      const std::size_t from = begin == 0 ? 0 : ends[begin - 1];
      return std::string_view(data).substr(from, ends[end - 1] - from);
    }
  };

  Result<TableInfo> Describe(const std::string& table);
  Status EnsureSchema(const TableSpec& table);
  Status CreateTable(const TableSpec& table);
  Status WidenTable(const TableSpec& table, const TableInfo& info);
  Status EnsurePartitions(const TableSpec& table, const std::set<std::int64_t>& days);
  Encoded Encode(const TableSpec& table, const std::vector<Row>& rows,
                 std::vector<RowError>& rejected) const;
  // BEGIN; COPY into the table; COMMIT. InvalidArgument when the server refused a row (and
  // nothing was stored).
  Status CopyDirect(const TableSpec& table, const Encoded& rows);
  Result<std::string> Stage(const TableSpec& table);
  Status Store(const TableSpec& table, const std::string& stage, const Encoded& rows,
               std::size_t begin, std::size_t end, bool whole, std::vector<RowError>& rejected);

  PgConnection conn_;
  std::map<std::string, Known> known_;         // tables ensured through this sink
  std::map<std::string, std::string> stages_;  // column list → temporary table
  std::uint64_t stages_generation_ = 0;        // the connection the stages belong to
};

}  // namespace oceanus::sink

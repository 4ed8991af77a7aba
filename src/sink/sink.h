// A warehouse the loader writes batches into (SQLite, later PostgreSQL, BigQuery, ClickHouse).
//
// Every sink promises the same three things: a table can be ensured from the site schema
// (created, or widened with new columns, never narrowed); a batch write is idempotent by the
// `eid` column (writing the same rows twice stores them once); and a failure is classified
// where it happens: a row the warehouse will never accept is reported on its own (it goes to
// the dead-letter), a failure that may pass (outage, timeout) fails the whole batch as
// retryable so that nothing is acknowledged.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "util/status.h"

namespace oceanus::sink {

struct Column {
  std::string name;
  config::FieldType type = config::FieldType::kString;
  config::ColumnMode mode = config::ColumnMode::kNullable;
  std::string description;
};

struct TableSpec {
  std::string name;  // full table name, prefix included
  std::vector<Column> columns;
  std::string key_column = "eid";
  // Non-empty: one table partitioned by day on this column (warehouses that can; SQLite
  // ignores it). Set for single-table sites that have a dt column.
  std::string time_partition_field;
};

// Values in TableSpec::columns order, as text (numbers and booleans in their JSON spelling);
// nullopt is NULL.
using Row = std::vector<std::optional<std::string>>;

struct RowError {
  std::size_t index;  // into the batch
  std::string reason;
};

struct WriteResult {
  Status status;                             // not OK: nothing from this batch is stored; retry it
  std::vector<RowError> rejected;            // with an OK status: these rows will never be accepted
  std::chrono::milliseconds retry_after{0};  // with a retryable status: the server asked to wait
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Creates the table, or adds the columns it lacks. Idempotent; cheap when nothing changes.
  virtual Status EnsureTable(const TableSpec& table) = 0;
  // Stores the rows (insert-or-ignore by key column) in one atomic unit where possible.
  virtual WriteResult Write(const TableSpec& table, const std::vector<Row>& rows) = 0;
};

}  // namespace oceanus::sink

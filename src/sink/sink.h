// A warehouse the loader writes batches into; each kind is one folder (sink/sqlite/,
// sink/bigquery/) implementing this interface.
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
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "queue/ledger.h"
#include "tables/table_spec.h"
#include "util/status.h"

namespace oceanus::sink {

using tables::Column;
using tables::TableSpec;

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

  // Erasure (`oceanus erase`): the names of every table in the sink's file, database or
  // dataset (not only oceanus's; the caller picks a site's with tables::IsTableOf).
  virtual Result<std::vector<std::string>> ListTables() = 0;
  // Removes the rows of `table` whose `column` equals `value` and returns how many went; with
  // `count_only`, removes nothing and returns how many would. `value` is bound as a query
  // parameter, never spliced into the statement; `column` must be a field of the site schema
  // (the caller checks). A table without the column: 0. Returns once the rows are gone for
  // every reader (ClickHouse waits for its mutation).
  virtual Result<long long> EraseRows(const std::string& table, const std::string& column,
                                      const std::string& value, bool count_only) = 0;

  // A sink whose writes are exactly-once through notes kept beside the queue (the bigquery
  // sink on the Storage Write API: the stream offset given to each event, by eid) names the
  // ledger it needs; empty when none. The load role opens it from the queue and hands it to
  // every sink of the process before the first write, and the loader erases an event's key
  // (its key column's value) once its batch is acknowledged.
  virtual std::string LedgerName() const { return {}; }
  virtual void UseLedger(std::shared_ptr<queue::Ledger>) {}
};

}  // namespace oceanus::sink

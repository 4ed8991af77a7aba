// History (sink/history.h) read from PostgreSQL: every daily table the period touches, or the
// one partitioned table of a single-table site, with the subject's key as a bound parameter.
#pragma once

#include <memory>
#include <string>

#include "sink/history.h"
#include "sink/postgres/postgres_connection.h"
#include "util/status.h"
#include "util/time.h"

namespace oceanus::sink {

// Through a connection of its own (opened on the first query; the loader keeps its own).
// Table names are built from `table_prefix` in `tz`, as the loader builds them.
Result<std::unique_ptr<HistorySource>> MakePostgresHistory(const PostgresConfig& config,
                                                           std::string table_prefix, TimeZone tz);

}  // namespace oceanus::sink

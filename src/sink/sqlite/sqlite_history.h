// History (sink/history.h) read from the SQLite file: every daily table the period touches.
#pragma once

#include <memory>
#include <string>

#include "sink/history.h"
#include "util/status.h"
#include "util/time.h"

namespace oceanus::sink {

// Opens a connection of its own to the SQLite file (the loader keeps writing through its own).
// Table names are built from `table_prefix` in `tz`, as the loader builds them.
Result<std::unique_ptr<HistorySource>> MakeSqliteHistory(const std::string& path,
                                                         std::string table_prefix, TimeZone tz);

}  // namespace oceanus::sink

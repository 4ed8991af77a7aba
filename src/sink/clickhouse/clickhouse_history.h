// History (sink/history.h) read from ClickHouse through a ClickHouseSink of its own.
#pragma once

#include <memory>
#include <string>

#include "sink/clickhouse/clickhouse_sink.h"
#include "sink/history.h"
#include "util/time.h"

namespace oceanus::sink {

std::unique_ptr<HistorySource> MakeClickHouseHistory(const ClickHouseConfig& config,
                                                     std::string table_prefix, TimeZone tz);

}  // namespace oceanus::sink

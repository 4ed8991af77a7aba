// History (sink/history.h) read from BigQuery through jobs.query (BigQuerySink::RecentEvents and
// BigQuerySink::Overview). Daily table names are built in `tz`, as the loader builds them.
#pragma once

#include <memory>
#include <string>

#include "sink/history.h"
#include "util/time.h"

namespace oceanus::sink {

class BigQuerySink;

// Borrows `sink` (its client is thread-safe), which must outlive the history source.
std::unique_ptr<HistorySource> MakeBigQueryHistory(BigQuerySink& sink, std::string table_prefix,
                                                   TimeZone tz);
// Owns `sink`, a BigQuerySink of its own.
std::unique_ptr<HistorySource> MakeBigQueryHistory(std::unique_ptr<BigQuerySink> sink,
                                                   std::string table_prefix, TimeZone tz);

}  // namespace oceanus::sink

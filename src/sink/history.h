// Reading one subject's recent events back from the warehouse (for history reports and the
// admin page's visitor timeline): a capability of every sink type, each answering with its
// own query (sink/<type>/<type>_history.h), opened through SinkSettings::OpenHistory.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "util/status.h"

namespace oceanus::sink {

// One event as (column, value) pairs, NULLs left out.
using EventRow = std::vector<std::pair<std::string, std::string>>;

// A row found in one of several tables, with its dt as UTC text (which sorts as time).
struct DatedRow {
  std::string dt;
  EventRow row;
};

// The newest `limit` of `found`, newest first; rows of the same dt keep their order. For
// sinks that query each table of a period and merge the answers.
std::vector<EventRow> NewestFirst(std::vector<DatedRow> found, std::size_t limit);

class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // The events of `site` whose `key_column` equals `key_value`, with dt at or after `since`,
  // newest first, at most `limit`. Thread-safe.
  virtual Result<std::vector<EventRow>> Recent(const config::Site& site,
                                               const std::string& key_column,
                                               const std::string& key_value,
                                               std::chrono::system_clock::time_point since,
                                               std::size_t limit) = 0;
};

}  // namespace oceanus::sink

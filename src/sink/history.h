// Reading events back from the warehouse: one subject's recent events (for history reports and
// the admin page's visitor timeline) and a site's day in numbers (the admin page's overview,
// sink/overview.h), a capability of every sink type, each answering with its
// own query (sink/<type>/<type>_history.h), opened through SinkSettings::OpenHistory.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "sink/overview.h"
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
  // `site`'s events of `request.day` (local midnight to midnight in `request.zone`) counted per
  // local hour, with the top values of its page, referrer, device and event columns
  // (OverviewColumnsOf); rows the loader wrote twice count once. Every value is a bound
  // parameter or, where the warehouse has none, an escaped literal. Tables that do not exist
  // count as empty: a day without rows is 24 zero hours. An Unavailable (or the warehouse's
  // error) when it cannot be read. Thread-safe.
  virtual Result<SiteOverview> Overview(const config::Site& site,
                                        const OverviewRequest& request) = 0;
};

}  // namespace oceanus::sink

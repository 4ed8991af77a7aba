// The admin page's per-site overview (/api/overview): a day of one site from the warehouse,
// through HistorySource::Overview (sink/overview.h). Built on the admin thread.
#pragma once

#include <string>

#include "config/config.h"
#include "http/admin_server.h"
#include "sink/history.h"

namespace oceanus::http {

// GET /api/overview?site=<name>&day=YYYY-MM-DD&top=<10>: the day (today in `tz_name` when not
// given) as {"site","day","time_zone","hours":[{"hour","events","visitors"} × 24],"pages",
// "referrers","devices","events":[{"value","count"}],"notes":[…]}. 400 with the reason for an
// unknown site, a bad day or top, a zone that does not load, or no warehouse to read; 503 with
// the warehouse's error when the read fails.
AdminResponse OverviewAnswer(const config::Config& config, sink::HistorySource* history,
                             const std::string& tz_name, const std::string& query);

}  // namespace oceanus::http

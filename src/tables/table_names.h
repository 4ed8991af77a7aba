// Table names and table specs from the site schema.
//
// Daily tables are named by the date of the event's `dt` in the configured zone (the
// original named them in JST), so a replayed event lands in the table of the day it happened.
// The table manager keeps today's table ready, and tomorrow's from local noon on, so that
// the first rows after midnight never wait for a create.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tables/table_spec.h"
#include "util/time.h"

namespace oceanus::tables {

// "<prefix><site>_YYYYMMDD" for daily sites, "<prefix><site>" for single-table sites.
std::string TableFor(const config::Site& site, const std::string& prefix,
                     std::chrono::system_clock::time_point dt, const TimeZone& tz);
// The tables that should exist at `now`: today's, and from 12:00:00 local time on also
// tomorrow's (the next calendar date, DST-safe) for daily sites; the one table otherwise.
std::vector<std::string> TablesDueAt(const config::Site& site, const std::string& prefix,
                                     std::chrono::system_clock::time_point now, const TimeZone& tz);
// Every table the period from `since` to `now` touches, oldest first: the daily tables of
// its dates, or the one table of a single-table site (what a history query reads).
std::vector<std::string> TablesSince(const config::Site& site, const std::string& prefix,
                                     std::chrono::system_clock::time_point since,
                                     std::chrono::system_clock::time_point now, const TimeZone& tz);
// Under privacy.bots separate, where the loader writes a bot's row instead of `table` (one of
// the site's tables, as TableFor names them): "<prefix><site>_bots" for a single-table site,
// "<prefix><site>_bots_YYYYMMDD" for a daily one.
std::string BotsTableOf(const config::Site& site, const std::string& table);
// Whether `table` is one the loader writes for `site` (its bots tables included): "<prefix><site>"
// for a single-table site, "<prefix><site>_YYYYMMDD" (eight digits) for a daily one. Another site's
// tables never match, even one whose name starts with this site's ("shop" and "shop_eu").
bool IsTableOf(const config::Site& site, const std::string& prefix, std::string_view table);
// Columns in schema order (name, type, mode, description); the key column is `eid`.
TableSpec TableSpecFor(const config::Site& site, std::string table_name);

}  // namespace oceanus::tables

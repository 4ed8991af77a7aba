// /api/overview; see admin_overview_api.h. The request is checked here (site, day, top, zone)
// so that the warehouse is asked only questions it can answer; every string of the answer goes
// out through AppendJsonStringLossy, since a page, referrer or event name may hold any bytes.
#include "http/admin_overview_api.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "event/params.h"
#include "http/admin_api.h"
#include "sink/overview.h"
#include "util/json.h"
#include "util/time.h"

namespace oceanus::http {
namespace {

constexpr std::size_t kMaxTop = 100;

std::string DayText(std::chrono::year_month_day day) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(day.year()),
                static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
  return text;
}

void AppendList(std::string& out, const char* name, const std::vector<sink::CountedValue>& list) {
  out += ",\"";
  out += name;
  out += "\":[";
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ",";
    out += "{\"value\":";
    AppendJsonStringLossy(out, list[i].value);
    out += ",\"count\":" + std::to_string(list[i].count) + "}";
  }
  out += "]";
}

std::string OverviewJson(const config::Site& site, std::chrono::year_month_day day,
                         const sink::SiteOverview& overview) {
  std::string out = "{\"site\":";
  AppendJsonStringLossy(out, site.name);
  out += ",\"day\":\"" + DayText(day) + "\",\"time_zone\":";
  AppendJsonStringLossy(out, overview.time_zone);
  out += ",\"hours\":[";
  for (std::size_t h = 0; h < overview.hours.size(); ++h) {
    if (h > 0) out += ",";
    out += "{\"hour\":" + std::to_string(h) +
           ",\"events\":" + std::to_string(overview.hours[h].events) +
           ",\"visitors\":" + std::to_string(overview.hours[h].visitors) + "}";
  }
  out += "]";
  AppendList(out, "pages", overview.pages);
  AppendList(out, "referrers", overview.referrers);
  AppendList(out, "devices", overview.devices);
  AppendList(out, "events", overview.events);
  out += ",\"notes\":[";
  for (std::size_t i = 0; i < overview.notes.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonStringLossy(out, overview.notes[i]);
  }
  return out + "]}\n";
}

}  // namespace

AdminResponse OverviewAnswer(const config::Config& config, sink::HistorySource* history,
                             const std::string& tz_name, const std::string& query) {
  event::ParamList params;
  std::string bad;
  if (!params.AddEncoded(query, &bad)) return ErrorAnswer(400, "malformed parameter '" + bad + "'");
  auto site_name = params.Get("site");
  const config::Site* site = site_name ? config.FindSite(*site_name) : nullptr;
  if (site == nullptr) return ErrorAnswer(400, "site: give one of the configured sites");
  auto zone = TimeZone::Load(tz_name);
  if (!zone.ok()) return ErrorAnswer(400, "time_zone: " + zone.status().message());
  sink::OverviewRequest request;
  request.zone = *zone;
  if (auto day = params.Get("day"); day && !day->empty()) {
    auto parsed = sink::ParseCivilDate(std::string(*day));
    if (!parsed.ok()) return ErrorAnswer(400, parsed.status().message());
    request.day = *parsed;
  } else {
    request.day = sink::LocalDate(std::chrono::system_clock::now(), *zone);
  }
  if (auto top = params.Get("top"); top && !top->empty()) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(top->data(), top->data() + top->size(), n);
    if (ec != std::errc() || end != top->data() + top->size() || n == 0 || n > kMaxTop)
      return ErrorAnswer(400, "top: a number from 1 to " + std::to_string(kMaxTop));
    request.top = n;
  }
  if (history == nullptr) return ErrorAnswer(400, "the warehouse cannot be read from this process");
  auto overview = history->Overview(*site, request);
  if (!overview.ok()) return ErrorAnswer(503, overview.status().message());
  return {200, "application/json", OverviewJson(*site, request.day, *overview)};
}

}  // namespace oceanus::http

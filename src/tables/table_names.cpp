// Table naming; see table_names.h.
#include "tables/table_names.h"

namespace oceanus::tables {

std::string TableFor(const config::Site& site, const std::string& prefix,
                     std::chrono::system_clock::time_point dt, const TimeZone& tz) {
  if (site.tables == config::TableLayout::kSingle) return prefix + site.name;
  return prefix + site.name + "_" + LocalDateCompact(dt, tz);
}

std::vector<std::string> TablesDueAt(const config::Site& site, const std::string& prefix,
                                     std::chrono::system_clock::time_point now,
                                     const TimeZone& tz) {
  std::vector<std::string> out{TableFor(site, prefix, now, tz)};
  if (site.tables == config::TableLayout::kSingle) return out;
  const auto local_hour = FormatLocal(now, tz, "%H");
  if (local_hour >= "12") out.push_back(TableFor(site, prefix, now + std::chrono::hours(24), tz));
  return out;
}

sink::TableSpec TableSpecFor(const config::Site& site, std::string table_name) {
  sink::TableSpec spec;
  spec.name = std::move(table_name);
  for (const auto& f : site.schema) spec.columns.push_back({f.name, f.type, f.mode, f.description});
  spec.key_column = "eid";
  return spec;
}

}  // namespace oceanus::tables

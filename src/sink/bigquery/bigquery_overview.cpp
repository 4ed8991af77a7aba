// The overview (sink/overview.h) on BigQuery: the day's tables (one, or two when they are
// named in another zone than the day) looked up by tables.get and read as a UNION ALL, each
// section one jobs.query in standard SQL whose instants (@t0 … @tN, TIMESTAMP) and limit
// (@top) are named parameters. Naming the tables rather than a wildcard scans only that day,
// and a day without tables costs no query at all.
#include <rapidjson/document.h>

#include "sink/bigquery/bigquery_sink.h"

namespace oceanus::sink {
namespace {

std::string Backquote(const std::string& name) { return "`" + name + "`"; }

// The cells of a jobs.query answer's rows, as text (NULL cells as nullopt).
Result<OverviewRows> RowsOf(const rapidjson::Document& doc) {
  OverviewRows rows;
  if (!doc.HasMember("rows")) return rows;
  if (!doc["rows"].IsArray()) return Status::Unavailable("jobs.query: rows is not a list");
  for (const auto& r : doc["rows"].GetArray()) {
    if (!r.IsObject() || !r.HasMember("f") || !r["f"].IsArray())
      return Status::Unavailable("jobs.query: a row without cells");
    auto& row = rows.emplace_back();
    for (const auto& cell : r["f"].GetArray()) {
      if (cell.IsObject() && cell.HasMember("v") && cell["v"].IsString()) {
        row.emplace_back(std::string(cell["v"].GetString(), cell["v"].GetStringLength()));
      } else {
        row.emplace_back(std::nullopt);
      }
    }
  }
  return rows;
}

}  // namespace

Result<SiteOverview> BigQuerySink::Overview(const config::Site& site,
                                            const OverviewRequest& request,
                                            const std::vector<std::string>& tables) {
  std::vector<OverviewTable> present;
  for (const auto& table : tables) {
    auto columns = TableColumns(table);
    if (!columns.ok()) return columns.status();
    if (!*columns) continue;
    present.push_back(
        {"`" + config_.project + "." + config_.dataset + "." + table + "`", "", **columns});
  }
  OverviewDialect dialect;
  dialect.quote = &Backquote;
  const OverviewSpelling spelling{
      [](std::size_t i, std::chrono::system_clock::time_point) { return "@t" + std::to_string(i); },
      "@top"};
  const auto run = [&](const std::string& sql, bool hours,
                       const std::vector<std::chrono::system_clock::time_point>& instants)
      -> Result<OverviewRows> {
    std::vector<QueryParameter> parameters;
    for (std::size_t i = 0; i < instants.size(); ++i) {
      // A list's query names only the day's first and last instant: pass just those.
      if (!hours && i != 0 && i + 1 != instants.size()) continue;
      char dt[kUtcMicrosLength];
      FormatUtcMicros(instants[i], dt);
      parameters.push_back({"t" + std::to_string(i), "TIMESTAMP", std::string(dt, sizeof dt)});
    }
    if (!hours) parameters.push_back({"top", "INT64", std::to_string(request.top)});
    auto answer = RunQuery(sql, parameters);
    if (!answer.ok()) return answer.status();
    return RowsOf(*answer);
  };
  return RunOverview(site, request, present, dialect, spelling, run);
}

}  // namespace oceanus::sink

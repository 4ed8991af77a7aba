// History over BigQuery (sink/bigquery/bigquery_history.h).
#include "sink/bigquery/bigquery_history.h"

#include "sink/bigquery/bigquery_sink.h"

namespace oceanus::sink {
namespace {

class BigQueryHistory final : public HistorySource {
 public:
  BigQueryHistory(BigQuerySink& sink, std::unique_ptr<BigQuerySink> owned, std::string prefix,
                  TimeZone tz)
      : owned_(std::move(owned)), sink_(sink), prefix_(std::move(prefix)), tz_(std::move(tz)) {}
  Result<std::vector<EventRow>> Recent(const config::Site& site, const std::string& key_column,
                                       const std::string& key_value,
                                       std::chrono::system_clock::time_point since,
                                       std::size_t limit) override {
    return sink_.RecentEvents(site, prefix_, key_column, key_value, since, limit);
  }

  Result<SiteOverview> Overview(const config::Site& site, const OverviewRequest& request) override {
    return sink_.Overview(site, request, OverviewTableNames(site, prefix_, request, tz_));
  }

 private:
  std::unique_ptr<BigQuerySink> owned_;  // null when borrowed
  BigQuerySink& sink_;
  std::string prefix_;
  TimeZone tz_;
};

}  // namespace

std::unique_ptr<HistorySource> MakeBigQueryHistory(BigQuerySink& sink, std::string table_prefix,
                                                   TimeZone tz) {
  return std::make_unique<BigQueryHistory>(sink, nullptr, std::move(table_prefix), std::move(tz));
}

std::unique_ptr<HistorySource> MakeBigQueryHistory(std::unique_ptr<BigQuerySink> sink,
                                                   std::string table_prefix, TimeZone tz) {
  BigQuerySink& borrowed = *sink;
  return std::make_unique<BigQueryHistory>(borrowed, std::move(sink), std::move(table_prefix),
                                           std::move(tz));
}

}  // namespace oceanus::sink

// The clickhouse sink's settings (sink type `clickhouse`): the `clickhouse:` block of the sink
// section (url, database, user, password, ca_file, timeout, visitor_column, compress).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "sink/clickhouse/clickhouse_sink.h"
#include "sink/sink_registry.h"

namespace oceanus::sink {

class ClickHouseSettings final : public SinkSettings {
 public:
  explicit ClickHouseSettings(ClickHouseConfig config) : config_(std::move(config)) {}

  const ClickHouseConfig& config() const { return config_; }

  // The password is printed as "(set)" or "(none)", never as itself.
  void Describe(std::ostream& out) const override;
  std::string Summary() const override;
  void MoveDataDir(const std::string&, const std::string&) override {}
  // The CA file must be readable; the server is not contacted (the loader waits for it).
  Status Prepare() override;
  Result<std::unique_ptr<Sink>> Open() const override;
  Result<std::unique_ptr<HistorySource>> OpenHistory(const std::string& table_prefix,
                                                     const TimeZone& tz) const override;

 private:
  ClickHouseConfig config_;
};

}  // namespace oceanus::sink

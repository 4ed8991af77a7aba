// The postgres sink's settings (sink type `postgres`): the `postgres:` block of the sink
// section. The URL is checked by libpq's own parser when the config is read; nothing connects
// before the loader's first write, so a loader starts while the database is down.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "sink/postgres/postgres_connection.h"
#include "sink/sink_registry.h"

namespace oceanus::sink {

class PostgresSettings final : public SinkSettings {
 public:
  explicit PostgresSettings(PostgresConfig config) : config_(std::move(config)) {}

  const PostgresConfig& config() const { return config_; }

  // The URL's options with the password hidden, and the timeouts.
  void Describe(std::ostream& out) const override;
  // "user@host:port/dbname".
  std::string Summary() const override;
  void MoveDataDir(const std::string&, const std::string&) override {}
  Status Prepare() override { return Status::Ok(); }
  Result<std::unique_ptr<Sink>> Open() const override;
  // Through a PostgresSink (a connection) of its own.
  Result<std::unique_ptr<HistorySource>> OpenHistory(const std::string& table_prefix,
                                                     const TimeZone& tz) const override;

 private:
  PostgresConfig config_;
};

}  // namespace oceanus::sink

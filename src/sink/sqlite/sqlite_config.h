// The sqlite sink's settings (sink type `sqlite`, the default): the one database file.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "sink/sink_registry.h"

namespace oceanus::sink {

class SqliteSettings final : public SinkSettings {
 public:
  explicit SqliteSettings(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  void Describe(std::ostream& out) const override;
  std::string Summary() const override { return path_; }
  void MoveDataDir(const std::string& from, const std::string& to) override;
  Status Prepare() override { return Status::Ok(); }
  Result<std::unique_ptr<Sink>> Open() const override;
  // One write transaction at a time per file: a second writer would only wait for the lock.
  std::size_t MaxWriters() const override { return 1; }
  Result<std::unique_ptr<HistorySource>> OpenHistory(const std::string& table_prefix,
                                                     const TimeZone& tz) const override;

 private:
  std::string path_;  // default <data_dir>/oceanus.db
};

// The file a config without `sink.path` uses.
std::string DefaultSqlitePath(const std::string& data_dir);

}  // namespace oceanus::sink

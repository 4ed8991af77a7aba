// The sqlite sink type: its key (`path`), its settings and its registration.
#include "sink/sqlite/sqlite_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "config/config.h"
#include "config/reader.h"
#include "sink/sqlite/sqlite_history.h"
#include "sink/sqlite/sqlite_sink.h"

namespace oceanus::sink {
namespace {

class SqliteSinkFactory final : public SinkFactory {
 public:
  std::vector<std::string> Keys() const override { return {"path"}; }
  bool IsDefault() const override { return true; }
  std::shared_ptr<SinkSettings> Parse(const config::Reader& r, const YAML::Node& s,
                                      const config::Config& shared, bool) const override {
    std::string path;
    if (s && s["path"]) path = r.Str(s["path"]);
    if (path.empty()) path = DefaultSqlitePath(shared.data_dir);
    return std::make_shared<SqliteSettings>(std::move(path));
  }
};

}  // namespace

OCEANUS_REGISTER(SinkFactory, SqliteSinkFactory, "sqlite");

std::string DefaultSqlitePath(const std::string& data_dir) { return data_dir + "/oceanus.db"; }

void SqliteSettings::Describe(std::ostream& out) const { out << "  path: " << path_ << "\n"; }

void SqliteSettings::MoveDataDir(const std::string& from, const std::string& to) {
  if (path_ == DefaultSqlitePath(from)) path_ = DefaultSqlitePath(to);
}

Result<std::unique_ptr<Sink>> SqliteSettings::Open() const {
  auto sqlite = SqliteSink::Open(path_);
  if (!sqlite.ok()) return sqlite.status();
  return std::unique_ptr<Sink>(std::move(sqlite).value());
}

Result<std::unique_ptr<HistorySource>> SqliteSettings::OpenHistory(const std::string& table_prefix,
                                                                   const TimeZone& tz) const {
  return MakeSqliteHistory(path_, table_prefix, tz);
}

}  // namespace oceanus::sink

// The clickhouse sink type: the `clickhouse:` block (parsed and validated), its settings and
// its registration.
#include "sink/clickhouse/clickhouse_config.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <ostream>

#include "config/reader.h"
#include "sink/clickhouse/clickhouse_history.h"

namespace oceanus::sink {
namespace {

// http(s)://host[:port][/path]: the sink appends "/?database=…&query=…" itself, and the
// credentials have keys of their own (a password in a URL would be printed).
void ParseUrl(const config::Reader& r, const YAML::Node& node, ClickHouseConfig& ch) {
  ch.url = r.Str(node);
  if (ch.url.empty()) return;
  if (!RE2::FullMatch(ch.url, R"(https?://[^/?#@\s]+(/[^?#@\s]*)?)"))
    r.Fail(node, "clickhouse url '" + ch.url +
                     "' must be http(s)://host:port (no query; user and password have keys "
                     "of their own)");
}

ClickHouseConfig ParseBlock(const config::Reader& r, const YAML::Node& b) {
  r.ExpectKeys(
      b, "sink.clickhouse",
      {"url", "database", "user", "password", "ca_file", "timeout", "visitor_column", "compress"});
  ClickHouseConfig ch;
  if (b["url"]) ParseUrl(r, b["url"], ch);
  if (b["database"]) {
    ch.database = r.Str(b["database"]);
    if (!RE2::FullMatch(ch.database, "[A-Za-z_][A-Za-z0-9_]{0,63}"))
      r.Fail(b["database"],
             "clickhouse database '" + ch.database + "' must match [A-Za-z_][A-Za-z0-9_]*");
  }
  if (b["user"]) ch.user = r.Str(b["user"]);
  if (b["password"]) ch.password = r.Str(b["password"]);
  if (b["ca_file"]) ch.ca_file = r.Str(b["ca_file"]);
  if (b["timeout"]) ch.timeout = r.PositiveDuration(b["timeout"], "timeout");
  if (b["visitor_column"]) {
    ch.visitor_column = r.Str(b["visitor_column"]);
    if (!ch.visitor_column.empty() && !config::ValidName(ch.visitor_column, false))
      r.Fail(b["visitor_column"], "visitor_column must match [a-z_][a-z0-9_]*");
  }
  if (b["compress"]) ch.compress = r.Bool(b["compress"]);
  return ch;
}

class ClickHouseSinkFactory final : public SinkFactory {
 public:
  std::vector<std::string> Keys() const override { return {"clickhouse"}; }
  std::shared_ptr<SinkSettings> Parse(const config::Reader& r, const YAML::Node& s,
                                      const config::Config&, bool selected) const override {
    ClickHouseConfig ch;
    if (s && s["clickhouse"]) ch = ParseBlock(r, s["clickhouse"]);
    if (selected && ch.url.empty())
      r.Fail(s && s["clickhouse"] ? s["clickhouse"] : s,
             "sink type clickhouse needs sink.clickhouse.url (e.g. http://127.0.0.1:8123)");
    return std::make_shared<ClickHouseSettings>(std::move(ch));
  }
};

}  // namespace

OCEANUS_REGISTER(SinkFactory, ClickHouseSinkFactory, "clickhouse");

Status ClickHouseSettings::Prepare() {
  if (!config_.ca_file.empty() && !std::ifstream(config_.ca_file).good())
    return Status::InvalidArgument("sink.clickhouse.ca_file: cannot read " + config_.ca_file);
  return Status::Ok();
}

std::string ClickHouseSettings::Summary() const {
  return config_.url + ", database " + config_.database;
}

void ClickHouseSettings::Describe(std::ostream& out) const {
  const ClickHouseConfig& ch = config_;
  out << "  url: " << ch.url << "\n"
      << "  database: " << ch.database << "\n"
      << "  user: " << (ch.user.empty() ? "(the server's default)" : ch.user) << "\n"
      << "  password: " << (ch.password.empty() ? "(none)" : "(set)") << "\n"
      << "  ca_file: " << (ch.ca_file.empty() ? "(the system's)" : ch.ca_file) << "\n"
      << "  timeout: " << ch.timeout.count() << " ms\n"
      << "  visitor_column: " << (ch.visitor_column.empty() ? "(none)" : ch.visitor_column) << "\n"
      << "  compress: " << (ch.compress ? "true" : "false") << "\n";
}

Result<std::unique_ptr<Sink>> ClickHouseSettings::Open() const {
  return std::unique_ptr<Sink>(std::make_unique<ClickHouseSink>(config_));
}

Result<std::unique_ptr<HistorySource>> ClickHouseSettings::OpenHistory(
    const std::string& table_prefix, const TimeZone& tz) const {
  return MakeClickHouseHistory(config_, table_prefix, tz);
}

}  // namespace oceanus::sink

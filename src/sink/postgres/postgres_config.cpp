// The postgres sink type: the `postgres:` block (url, password, statement_timeout,
// connect_timeout), its settings and its registration.
#include "sink/postgres/postgres_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "config/reader.h"
#include "sink/postgres/postgres_history.h"
#include "sink/postgres/postgres_sink.h"

namespace oceanus::sink {
namespace {

// PostgreSQL keeps statement_timeout in milliseconds in an int.
constexpr std::chrono::milliseconds kMaxStatementTimeout = std::chrono::hours(24);

PostgresConfig ParseBlock(const config::Reader& r, const YAML::Node& b) {
  r.ExpectKeys(b, "sink.postgres", {"url", "password", "statement_timeout", "connect_timeout"});
  PostgresConfig pg;
  if (b["url"]) {
    pg.url = r.Str(b["url"]);
    if (!pg.url.empty()) {
      auto parsed = DescribeConninfo(pg.url);
      if (!parsed.ok())
        r.Fail(b["url"], "sink.postgres.url is not a libpq connection string or URI: " +
                             parsed.status().message());
    }
  }
  if (b["password"]) pg.password = r.Str(b["password"]);
  if (b["statement_timeout"]) {
    pg.statement_timeout = r.PositiveDuration(b["statement_timeout"], "statement_timeout");
    if (pg.statement_timeout > kMaxStatementTimeout)
      r.Fail(b["statement_timeout"], "statement_timeout must be at most 1d");
  }
  if (b["connect_timeout"])
    pg.connect_timeout = r.PositiveDuration(b["connect_timeout"], "connect_timeout");
  return pg;
}

class PostgresSinkFactory final : public SinkFactory {
 public:
  std::vector<std::string> Keys() const override { return {"postgres"}; }
  std::shared_ptr<SinkSettings> Parse(const config::Reader& r, const YAML::Node& s,
                                      const config::Config&, bool selected) const override {
    PostgresConfig pg;
    if (s && s["postgres"]) pg = ParseBlock(r, s["postgres"]);
    if (selected && pg.url.empty())
      r.Fail(s && s["postgres"] ? s["postgres"] : s, "sink type postgres needs sink.postgres.url");
    return std::make_shared<PostgresSettings>(std::move(pg));
  }
};

}  // namespace

OCEANUS_REGISTER(SinkFactory, PostgresSinkFactory, "postgres");

void PostgresSettings::Describe(std::ostream& out) const {
  auto described = DescribeConninfo(config_.url);
  out << "  url: " << (described.ok() ? *described : std::string("(invalid)")) << "\n"
      << "  password: "
      << (config_.password.empty() ? "(from the url, PGPASSWORD or ~/.pgpass)" : "(set, hidden)")
      << "\n"
      << "  statement_timeout: " << config_.statement_timeout.count() << " ms\n"
      << "  connect_timeout: " << config_.connect_timeout.count() << " ms\n";
}

std::string PostgresSettings::Summary() const { return ConninfoTarget(config_.url); }

Result<std::unique_ptr<Sink>> PostgresSettings::Open() const {
  return std::unique_ptr<Sink>(std::make_unique<PostgresSink>(config_));
}

Result<std::unique_ptr<HistorySource>> PostgresSettings::OpenHistory(
    const std::string& table_prefix, const TimeZone& tz) const {
  return MakePostgresHistory(config_, table_prefix, tz);
}

}  // namespace oceanus::sink

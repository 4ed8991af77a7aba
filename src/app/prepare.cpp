// app/prepare.h: the config with overrides, and what the roles are built from.
#include "app/prepare.h"

#include <cstdlib>

#include "actions/registry.h"
#include "config/reader.h"
#include "event/device.h"
#include "google/auth.h"
#include "sink/bigquery/bigquery_sink.h"
#include "sink/sqlite/sqlite_sink.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::app {
namespace {

const char* UapRegexesPath() {
  const char* env = std::getenv("OCEANUS_UAP_REGEXES");
  return env != nullptr && *env != '\0' ? env : OCEANUS_UAP_REGEXES;
}

// An empty sink.bigquery.project becomes the key's or the metadata server's project.
Result<std::string> ResolveBigQueryProject(sink::BigQueryConfig& bq) {
  if (!bq.project.empty()) return std::string("sink.bigquery.project");
  auto found = google::FindDefaultProject(bq.key_file, bq.metadata_endpoint);
  if (!found.ok()) return found.status();
  if (!sink::IsBigQueryProjectId(found->id))
    return Status::InvalidArgument("project '" + found->id + "' from " + found->origin +
                                   " is not a project id (lower-case letters, digits, - . :)");
  bq.project = found->id;
  return found->origin;
}

// Google credentials are read and tried (a probe signature) before anything starts; tokens
// are fetched later, by the stage that needs them.
Status CheckGoogleKeys(const Config& config, const Roles& roles) {
  if (config.sink.type == "bigquery" && (roles.load || roles.tables || roles.work)) {
    google::TokenOptions options;
    options.metadata_endpoint = config.sink.bigquery.metadata_endpoint;
    auto tokens = google::MakeTokenSource(config.sink.bigquery.key_file, options);
    if (!tokens.ok()) return Status::InvalidArgument("sink.bigquery: " + tokens.status().message());
  }
  if (!roles.work) return Status::Ok();
  return actions::CheckActions(config.actions);
}

}  // namespace

Result<Config> LoadWithOverrides(const std::string& path, const Overrides& o) {
  auto c = app::LoadConfig(path);
  if (!c.ok()) return c;
  if (!o.data_dir.empty()) {
    if (c->sink.path == c->data_dir + "/oceanus.db") c->sink.path = o.data_dir + "/oceanus.db";
    c->tasks.queue->MoveDataDir(c->data_dir, o.data_dir);
    c->data_dir = o.data_dir;
  }
  if (o.admin_listen == "off") {
    c->admin.enabled = false;
  } else if (!o.admin_listen.empty()) {
    auto admin = config::ParseListenAddress(o.admin_listen);
    if (!admin.ok())
      return Status::InvalidArgument("--admin-listen (HOST:PORT or off): " +
                                     admin.status().message());
    if (!admin->host.empty()) c->admin.listen_host = admin->host;
    c->admin.listen_port = admin->port;
    c->admin.enabled = true;
    // The same rule as admin.listen in the file: off loopback, only with a token.
    if (!config::IsLoopbackHost(c->admin.listen_host) && c->admin.token.empty())
      return Status::InvalidArgument("--admin-listen " + o.admin_listen +
                                     " is not a loopback address: set admin.token in " + path +
                                     " (clients send Authorization: Bearer <token>)");
  }
  if (!o.listen.empty()) {
    auto listen = config::ParseListenAddress(o.listen);
    if (!listen.ok()) return Status::InvalidArgument("--listen: " + listen.status().message());
    if (!listen->host.empty()) c->server.listen_host = listen->host;
    c->server.listen_port = listen->port;
  }
  return c;
}

Result<Prepared> Prepare(Config& config, const Roles& roles) {
  Prepared p;
  auto tz = TimeZone::Load(config.time_zone);
  if (!tz.ok())
    return Status::InvalidArgument(config.file + ": time_zone: " + tz.status().message());
  p.tz = std::move(tz).value();
  // The roles that use the sink (work: history reports); a collector needs no project.
  if (config.sink.type == "bigquery" && (roles.load || roles.tables || roles.work)) {
    auto origin = ResolveBigQueryProject(config.sink.bigquery);
    if (!origin.ok())
      return Status::InvalidArgument(config.file + ": sink.bigquery: " + origin.status().message());
    p.bigquery_project_origin = std::move(origin).value();
  }
  if (Status s = CheckGoogleKeys(config, roles); !s.ok())
    return Status::InvalidArgument(config.file + ": " + s.message());
  auto rules = react::RuleSet::Compile(config);
  if (!rules.ok()) return rules.status();
  p.rules = std::move(rules).value();
  if (roles.collect) {
    auto classifier = event::DeviceClassifier::Load(UapRegexesPath());
    if (!classifier.ok())
      return Status::InvalidArgument("device classifier (uap-core regexes, OCEANUS_UAP_REGEXES): " +
                                     classifier.status().ToString());
    auto collector = collect::Collector::Create(config, *classifier);
    if (!collector.ok())
      return Status::InvalidArgument(config.file + ": " + collector.status().message());
    p.collector = std::move(collector).value();
  }
  return p;
}

Result<std::unique_ptr<sink::Sink>> OpenSink(const Config& config) {
  if (config.sink.type == "bigquery") {
    const auto& bq = config.sink.bigquery;
    google::TokenOptions options;
    options.token_uri_override = bq.token_uri;
    options.metadata_endpoint = bq.metadata_endpoint;
    auto tokens = google::MakeTokenSource(bq.key_file, options);
    if (!tokens.ok()) return tokens.status();
    return std::unique_ptr<sink::Sink>(
        std::make_unique<sink::BigQuerySink>(bq, std::move(tokens).value()));
  }
  auto sqlite = sink::SqliteSink::Open(config.sink.path);
  if (!sqlite.ok()) return sqlite.status();
  return std::unique_ptr<sink::Sink>(std::move(sqlite).value());
}

Result<std::unique_ptr<sink::HistorySource>> OpenHistory(const Config& config, const TimeZone& tz,
                                                         std::unique_ptr<sink::Sink>& owned) {
  if (config.sink.type == "bigquery") {
    if (!owned) {
      auto opened = OpenSink(config);
      if (!opened.ok()) return opened.status();
      owned = std::move(opened).value();
    }
    return sink::MakeBigQueryHistory(static_cast<sink::BigQuerySink&>(*owned),
                                     config.sink.table_prefix);
  }
  return sink::MakeSqliteHistory(config.sink.path, config.sink.table_prefix, tz);
}

}  // namespace oceanus::app

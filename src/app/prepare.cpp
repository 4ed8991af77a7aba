// app/prepare.h: the config with overrides, and what the roles are built from.
#include "app/prepare.h"

#include <cstdlib>

#include "actions/registry.h"
#include "config/reader.h"
#include "event/device.h"
#include "event/suppression_redis.h"
#include "google/auth.h"
#include "queue/queue_registry.h"
#include "sink/sink_registry.h"
#include "tasks/task_queue_registry.h"
#include "util/log.h"

namespace oceanus::app {
namespace {

const char* UapRegexesPath() {
  const char* env = std::getenv("OCEANUS_UAP_REGEXES");
  return env != nullptr && *env != '\0' ? env : OCEANUS_UAP_REGEXES;
}

// Google credentials are read and tried (a probe signature) before anything starts; tokens
// are fetched later, by the stage that needs them.
Status CheckGoogleKeys(const Config& config, const Roles& roles) {
  if (!roles.work) return Status::Ok();
  return actions::CheckActions(config.actions);
}

}  // namespace

Result<Config> LoadWithOverrides(const std::string& path, const Overrides& o) {
  auto c = app::LoadConfig(path);
  if (!c.ok()) return c;
  if (!o.data_dir.empty()) {
    c->sink.settings->MoveDataDir(c->data_dir, o.data_dir);
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
  if (roles.load || roles.tables || roles.work) {
    if (Status s = config.sink.settings->Prepare(); !s.ok())
      return Status::InvalidArgument(config.file + ": " + s.message());
  }
  if (Status s = CheckGoogleKeys(config, roles); !s.ok())
    return Status::InvalidArgument(config.file + ": " + s.message());
  auto rules = react::RuleSet::Compile(config, config.rules, config.actions);
  if (!rules.ok()) return rules.status();
  p.rules = std::move(rules).value();
  p.suppressed = std::make_shared<event::SuppressionList>(SuppressionStoreFor(config));
  // A damaged list stops the start; a Redis that is down does not (a collector spools then),
  // and the list is read once it is back.
  if (Status s = p.suppressed->Refresh(); !s.ok()) {
    if (!s.retryable())
      return Status::InvalidArgument("the suppression list of erased people: " + s.message());
    spdlog::warn("the suppression list of erased people: {}; read again every second", s.message());
  }
  if (roles.collect) {
    auto classifier = event::DeviceClassifier::Load(UapRegexesPath());
    if (!classifier.ok())
      return Status::InvalidArgument("device classifier (uap-core regexes, OCEANUS_UAP_REGEXES): " +
                                     classifier.status().ToString());
    auto collector = collect::Collector::Create(config, *classifier, p.suppressed, p.salts);
    if (!collector.ok())
      return Status::InvalidArgument(config.file + ": " + collector.status().message());
    p.collector = std::move(collector).value();
  }
  return p;
}

std::unique_ptr<event::SuppressionList::Store> SuppressionStoreFor(const Config& config) {
  if (auto shared = config.queue.settings->SharedStore())
    return std::make_unique<event::RedisSuppressionStore>(shared->connection,
                                                          shared->key_prefix + "suppressed");
  return event::SuppressionList::FileStore(event::SuppressionList::PathIn(config.data_dir));
}

Result<std::unique_ptr<sink::Sink>> OpenSink(const Config& config) {
  return config.sink.settings->Open();
}

Result<std::unique_ptr<sink::HistorySource>> OpenHistory(const Config& config, const TimeZone& tz) {
  return config.sink.settings->OpenHistory(config.sink.table_prefix, tz);
}

}  // namespace oceanus::app

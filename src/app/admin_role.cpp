// The admin listener of a process: /hc, /rstatus, /metrics, /tasks, the admin page and its
// API, answered from the stages this process runs.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include "util/log.h"

#include "app/process.h"
#include "http/admin_api.h"
#include "http/admin_overview_api.h"
#include "http/admin_tasks_api.h"
#include "load/erasure.h"
#include "util/build_info.h"
#include "util/metrics.h"

namespace oceanus::app {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteCount(JsonWriter& w, const char* name, std::uint64_t value) {
  w.Key(name);
  w.Uint64(value);
}

// /tasks: the task queue's counts and what this process's reactor and worker did.
http::AdminResponse TasksStatus(const Process& p) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("type");
  w.String(p.config.tasks.type);
  auto counts = p.task_queue->Counts();
  if (counts.ok()) {
    WriteCount(w, "queued", counts->queued);
    WriteCount(w, "running", counts->running);
    WriteCount(w, "dead", counts->dead);
  } else {
    w.Key("error");
    w.String("counts unavailable");
  }
  if (p.reactor) {
    const auto& r = p.reactor->stats();
    w.Key("reactor");
    w.StartObject();
    WriteCount(w, "events", r.events.load());
    WriteCount(w, "matched", r.matched.load());
    WriteCount(w, "suppressed", r.suppressed.load());
    WriteCount(w, "tasks", r.tasks.load());
    WriteCount(w, "errors", r.errors.load());
    w.EndObject();
  }
  if (p.worker) {
    const auto& s = p.worker->stats();
    w.Key("worker");
    w.StartObject();
    WriteCount(w, "started", s.started.load());
    WriteCount(w, "succeeded", s.succeeded.load());
    WriteCount(w, "retried", s.retried.load());
    WriteCount(w, "buried", s.buried.load());
    w.EndObject();
  }
  w.EndObject();
  return http::AdminResponse{200, "application/json", std::string(buffer.GetString()) + "\n"};
}

// /metrics: what this process counts and sees. Counters are per process; with several
// processes (roles, replicas) Prometheus sums them.
http::AdminResponse Metrics(const Process& p) {
  MetricsWriter out;
  out.Family("oceanus_up", "gauge", "1 while the process runs; role says which.");
  out.Sample("oceanus_up", {{"role", p.roles.name}}, 1);
  out.Family("oceanus_build_info", "gauge", "1, labelled with the version and commit running.");
  out.Sample("oceanus_build_info", {{"version", BuildVersion()}, {"commit", BuildCommit()}}, 1);
  if (p.server) p.server->WriteMetrics(out);
  if (p.loader) p.loader->WriteMetrics(out);
  if (p.queue) p.queue->WriteMetrics(out);
  if (p.rejected) p.rejected->WriteMetrics(out);
  if (p.task_queue) {
    auto counts = p.task_queue->Counts();
    if (counts.ok()) {
      out.Family("oceanus_tasks", "gauge", "Tasks in the task queue, by state.");
      out.Sample("oceanus_tasks", {{"state", "queued"}}, static_cast<double>(counts->queued));
      out.Sample("oceanus_tasks", {{"state", "running"}}, static_cast<double>(counts->running));
      out.Sample("oceanus_tasks", {{"state", "dead"}}, static_cast<double>(counts->dead));
    }
  }
  if (p.reactor) p.reactor->WriteMetrics(out);
  if (p.worker) p.worker->WriteMetrics(out);
  return http::AdminResponse{200, "text/plain; version=0.0.4; charset=utf-8", out.text()};
}

// The visitor timeline and the site overview read the warehouse through a connection of their
// own, opened on first use (the admin thread is the only user).
class WarehouseViews {
 public:
  explicit WarehouseViews(const Process& p) : p_(p) {}

  http::AdminResponse Answer(const std::string& query) {
    return http::VisitorAnswer(p_.config, History(), query);
  }
  // /api/overview: a site's day from the warehouse (sink/overview.h).
  http::AdminResponse Overview(const std::string& query) {
    return http::OverviewAnswer(p_.config, History(), p_.config.time_zone, query);
  }

 private:
  sink::HistorySource* History() {
    if (!tried_) {
      tried_ = true;
      auto opened = OpenHistory(p_.config, p_.prepared.tz);
      if (opened.ok()) {
        history_ = std::move(opened).value();
      } else {
        spdlog::warn("admin: the warehouse cannot be read: {}", opened.status().ToString());
      }
    }
    return history_.get();
  }

  const Process& p_;
  std::unique_ptr<sink::HistorySource> history_;
  bool tried_ = false;
};

// POST /api/erase (load/erasure.h), through a sink opened for the call: only where this
// process uses the warehouse, and only with a token (a loopback listener without one would let
// any local process delete data).
http::AdminResponse Erase(const Process& p, const http::AdminRequest& request) {
  if (auto refused = http::RefuseErase(p.config.admin, request)) return *refused;
  if (!p.roles.load && !p.roles.tables && !p.roles.work)
    return {400, "application/json",
            "{\"error\":\"this process does not use the warehouse; call a loader's admin "
            "listener or run oceanus erase\"}\n"};
  auto sink = OpenSink(p.config);
  if (!sink.ok()) return http::ErrorAnswer(503, sink.status().message());
  auto dead_letter = load::OpenDeadLetter(p.config, p.config.queue);
  auto store = SuppressionStoreFor(p.config);  // its own: the refresh thread uses the list's
  return http::EraseAnswer(p.config, p.config.sink.table_prefix, **sink, *store, *dead_letter,
                           p.prepared.suppressed.get(), request.body,
                           p.rejected ? p.rejected->store() : nullptr);
}

// POST /api/replay: the dead-letter entries picked back into the queue (load/replay.h), from
// any process of the deployment (the queue and dead-letter are the config's).
http::AdminResponse Replay(const Process& p, const http::AdminRequest& request) {
  if (auto refused = http::RefuseChange(p.config.admin, request, "replay")) return *refused;
  if (!p.queue) return http::ErrorAnswer(503, "replay: this process has no queue open");
  return http::ReplayAnswer(p.config, p.config.queue, *p.queue, request.body);
}

// GET /api/dead-tasks and POST /api/retry-tasks (tasks/task_queue.h), where this process has
// the task queue.
http::AdminResponse DeadTasks(const Process& p, const http::AdminRequest& request) {
  if (!p.task_queue)
    return http::ErrorAnswer(400,
                             "this process has no task queue (call a worker's admin listener)");
  if (request.path == "/api/dead-tasks") return http::DeadTasksAnswer(*p.task_queue, request.query);
  if (auto refused = http::RefuseRetryTasks(p.config.admin, request)) return *refused;
  return http::RetryTasksAnswer(*p.task_queue, p.config.actions, request.body);
}

http::AdminResponse Route(const Process& p, WarehouseViews& warehouse,
                          const http::AdminRequest& request) {
  const std::string& path = request.path;
  const std::string& query = request.query;
  if (path == "/api/erase") return Erase(p, request);
  if (path == "/api/replay") return Replay(p, request);
  if (path == "/api/dead-tasks" || path == "/api/retry-tasks") return DeadTasks(p, request);
  if (path == "/api/info") return http::InfoAnswer(p.config, p.roles.name);
  if (path == "/rstatus")
    return http::AdminResponse{200, "application/json", p.queue->StatusJson()};
  if (path == "/hc") return http::AdminResponse{200, "text/plain", "ok\n"};
  if (path == "/metrics") return Metrics(p);
  if (path == "/tasks" && p.task_queue) return TasksStatus(p);
  if (path == "/admin" || path == "/admin/")
    return http::AdminResponse{200, "text/html; charset=utf-8", std::string(http::AdminPage())};
  if (path == "/api/tail") return http::TailAnswer(p.config, p.server.get(), query);
  if (path == "/api/visitor") return warehouse.Answer(query);
  if (path == "/api/overview") return warehouse.Overview(query);
  if (path == "/api/rates")
    return p.rates ? http::AdminResponse{200, "application/json", p.rates->Json()}
                   : http::ErrorAnswer(400, "this process has no collector (no rates)");
  if (path == "/api/rejected")
    return http::RejectedAnswer(p.rejected ? p.rejected->store() : nullptr, query);
  return http::AdminResponse{404, "text/plain",
                             "not found (try /admin, /metrics, /rstatus or /tasks)\n"};
}

}  // namespace

void StartAdmin(Process& p) {
  if (!p.config.admin.enabled) return;
  auto warehouse = std::make_shared<WarehouseViews>(p);
  auto started = http::AdminServer::Start(
      p.config.admin,
      [&p, warehouse](const http::AdminRequest& request) { return Route(p, *warehouse, request); });
  if (started.ok()) {
    p.admin = std::move(started).value();
  } else {
    // Several roles on one host share the default port: the first one serves it.
    spdlog::warn("{}; this process serves no admin endpoints", started.status().message());
  }
}

}  // namespace oceanus::app

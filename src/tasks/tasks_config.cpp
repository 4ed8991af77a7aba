// Parses the tasks section (tasks/tasks_config.h).
#include "tasks/tasks_config.h"

#include "config/config.h"
#include "config/reader.h"

namespace oceanus::tasks {
namespace {

using config::HostPort;
using config::ParseHostPort;

void ParseAmqpUrl(const config::Reader& r, const YAML::Node& node, RabbitMqConfig& out) {
  std::string url = r.Str(node);
  if (url.rfind("amqp://", 0) != 0)
    r.Fail(node, "rabbitmq url is amqp://user:password@host:port/vhost");
  url = url.substr(7);
  const std::size_t slash = url.find('/');
  std::string authority = url.substr(0, slash);
  std::string vhost = slash == std::string::npos ? "" : url.substr(slash + 1);
  if (vhost.empty() || vhost == "%2f" || vhost == "%2F") vhost = "/";
  out.vhost = vhost;
  if (const std::size_t at = authority.rfind('@'); at != std::string::npos) {
    const std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    out.user = userinfo.substr(0, colon);
    out.password = colon == std::string::npos ? "" : userinfo.substr(colon + 1);
  }
  if (authority.find(':') == std::string::npos) authority += ":5672";
  auto hp = ParseHostPort(authority);
  if (!hp.ok() || hp->host.empty()) r.Fail(node, "rabbitmq url: expected host:port after the @");
  out.host = hp->host;
  out.port = hp->port;
}

}  // namespace

TasksConfig ParseTasksConfig(const config::Reader& r, const YAML::Node& t,
                             const config::Config& shared) {
  TasksConfig tasks;
  if (!t) {
    tasks.path = shared.data_dir + "/tasks.db";
    return tasks;
  }
  r.ExpectKeys(t, "tasks",
               {"type", "path", "concurrency", "max_attempts", "backoff", "max_backoff", "lease",
                "rabbitmq"});
  if (t["type"]) {
    tasks.type = r.Str(t["type"]);
    if (tasks.type != "local" && tasks.type != "rabbitmq")
      r.Fail(t["type"], "unknown tasks type '" + tasks.type + "' (expected: local, rabbitmq)");
  }
  if (t["path"]) tasks.path = r.Str(t["path"]);
  if (t["concurrency"])
    tasks.concurrency = static_cast<unsigned>(r.Unsigned(t["concurrency"], 1024));
  if (tasks.concurrency == 0) r.Fail(t["concurrency"], "concurrency must be at least 1");
  if (t["max_attempts"])
    tasks.max_attempts = static_cast<unsigned>(r.Unsigned(t["max_attempts"], 1000));
  if (tasks.max_attempts == 0) r.Fail(t["max_attempts"], "max_attempts must be at least 1");
  if (t["backoff"]) tasks.backoff = r.Duration(t["backoff"]);
  if (t["max_backoff"]) tasks.max_backoff = r.Duration(t["max_backoff"]);
  if (t["lease"]) tasks.lease = r.Duration(t["lease"]);
  if (tasks.lease.count() <= 0) r.Fail(t["lease"], "lease must be above zero");
  if (const auto& q = t["rabbitmq"]) {
    r.ExpectKeys(q, "tasks.rabbitmq", {"url", "queue", "prefetch", "connect_timeout"});
    if (q["url"]) ParseAmqpUrl(r, q["url"], tasks.rabbitmq);
    if (q["queue"]) {
      tasks.rabbitmq.queue = r.Str(q["queue"]);
      if (tasks.rabbitmq.queue.empty()) r.Fail(q["queue"], "tasks.rabbitmq.queue is empty");
    }
    if (q["prefetch"])
      tasks.rabbitmq.prefetch = static_cast<unsigned>(r.Unsigned(q["prefetch"], 65535));
    if (q["connect_timeout"]) tasks.rabbitmq.connect_timeout = r.Duration(q["connect_timeout"]);
  }
  if (tasks.path.empty()) tasks.path = shared.data_dir + "/tasks.db";
  return tasks;
}

}  // namespace oceanus::tasks

// The rabbitmq task queue's settings and factory (see rabbitmq_config.h).
#include "tasks/rabbitmq/rabbitmq_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "config/config.h"
#include "config/reader.h"

namespace oceanus::tasks {
namespace {

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

class RabbitMqTaskQueueFactory final : public TaskQueueFactory {
 public:
  std::vector<std::string> Keys() const override { return {"rabbitmq"}; }

  std::shared_ptr<TaskQueueSettings> Parse(const config::Reader& r, const YAML::Node& t,
                                           const config::Config& shared) const override {
    (void)shared;
    RabbitMqConfig rabbitmq;
    if (!t || !t["rabbitmq"]) return std::make_shared<RabbitMqTaskQueueSettings>(rabbitmq);
    const YAML::Node q = t["rabbitmq"];
    r.ExpectKeys(q, "tasks.rabbitmq", {"url", "queue", "prefetch", "connect_timeout"});
    if (q["url"]) ParseAmqpUrl(r, q["url"], rabbitmq);
    if (q["queue"]) {
      rabbitmq.queue = r.Str(q["queue"]);
      if (rabbitmq.queue.empty()) r.Fail(q["queue"], "tasks.rabbitmq.queue is empty");
    }
    if (q["prefetch"]) rabbitmq.prefetch = static_cast<unsigned>(r.Unsigned(q["prefetch"], 65535));
    if (q["connect_timeout"]) rabbitmq.connect_timeout = r.Duration(q["connect_timeout"]);
    return std::make_shared<RabbitMqTaskQueueSettings>(std::move(rabbitmq));
  }
};

}  // namespace

Result<std::unique_ptr<TaskQueue>> RabbitMqTaskQueueSettings::Open(const TasksConfig& tasks) const {
  auto rabbit = RabbitMqTaskQueue::Connect(config_, tasks.concurrency);
  if (!rabbit.ok()) return rabbit.status();
  return std::unique_ptr<TaskQueue>(std::move(rabbit).value());
}

std::string RabbitMqTaskQueueSettings::Where() const {
  return config_.host + ":" + std::to_string(config_.port) + " queue " + config_.queue;
}

void RabbitMqTaskQueueSettings::Describe(std::ostream& out) const {
  out << "  server: " << config_.host << ":" << config_.port << "\n"
      << "  vhost: " << config_.vhost << "\n"
      << "  user: " << config_.user << "\n"
      << "  password: " << (config_.password.empty() ? "(empty)" : "(set)") << "\n"
      << "  queue: " << config_.queue << "\n"
      << "  prefetch: "
      << (config_.prefetch > 0 ? std::to_string(config_.prefetch) : "0 (tasks.concurrency)") << "\n"
      << "  connect_timeout: " << config_.connect_timeout.count() << " ms\n";
}

OCEANUS_REGISTER(TaskQueueFactory, RabbitMqTaskQueueFactory, "rabbitmq");

}  // namespace oceanus::tasks

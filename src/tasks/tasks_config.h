// The tasks section of the config: the task queue (local | rabbitmq) and how the worker
// retries.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace YAML {
class Node;
}
namespace oceanus::config {
class Reader;
struct Config;
}  // namespace oceanus::config

namespace oceanus::tasks {

// RabbitMQ (tasks type `rabbitmq`), from `url: amqp://user:password@host:port/vhost`.
struct RabbitMqConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  // The work queue; delays wait in "<queue>.delay.<ms>" queues (per-message TTL, dead-lettered
  // into the work queue) and buried tasks in "<queue>.dead".
  std::string queue = "oceanus.tasks";
  unsigned prefetch = 0;  // unacknowledged deliveries per worker; 0 = tasks.concurrency
  std::chrono::milliseconds connect_timeout{5'000};
};

struct TasksConfig {
  std::string type = "local";  // local | rabbitmq
  std::string path;            // local: default <data_dir>/tasks.db
  unsigned concurrency = 4;    // actions running at once in one worker
  unsigned max_attempts = 4;   // the first run and three retries, as the original's Celery
  std::chrono::milliseconds backoff{30'000};       // before the first retry; doubled each time
  std::chrono::milliseconds max_backoff{600'000};  // the doubling stops here
  // local: a task taken by a worker that neither settles it nor is alive is taken again
  // after this long (a worker that is alive on this host is asked directly, see local/).
  std::chrono::milliseconds lease{600'000};
  RabbitMqConfig rabbitmq;
};

// The tasks section; an absent one gives the local queue at <data_dir>/tasks.db.
TasksConfig ParseTasksConfig(const config::Reader& r, const YAML::Node& node,
                             const config::Config& shared);

}  // namespace oceanus::tasks

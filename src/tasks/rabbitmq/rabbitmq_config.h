// tasks type `rabbitmq`: the tasks section's `rabbitmq:` block (url, queue, prefetch,
// connect_timeout), parsed and connected here and registered in the task queue registry
// (tasks/task_queue_registry.h).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "tasks/rabbitmq/rabbitmq_task_queue.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::tasks {

class RabbitMqTaskQueueSettings final : public TaskQueueSettings {
 public:
  explicit RabbitMqTaskQueueSettings(RabbitMqConfig config) : config_(std::move(config)) {}

  // Connects with tasks.concurrency as the prefetch when prefetch is 0.
  Result<std::unique_ptr<TaskQueue>> Open(const TasksConfig& tasks) const override;
  // "host:port queue NAME".
  std::string Where() const override;
  // server, vhost, user, password (only whether it is set), queue, prefetch, connect_timeout.
  void Describe(std::ostream& out) const override;

  const RabbitMqConfig& config() const { return config_; }

 private:
  RabbitMqConfig config_;
};

}  // namespace oceanus::tasks

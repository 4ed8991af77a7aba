// OpenTaskQueue (see open_task_queue.h).
#include "tasks/open_task_queue.h"

#include "tasks/local/local_task_queue.h"
#include "tasks/rabbitmq/rabbitmq_task_queue.h"

namespace oceanus::tasks {

Result<std::unique_ptr<TaskQueue>> OpenTaskQueue(const tasks::TasksConfig& config) {
  if (config.type == "rabbitmq") {
    auto rabbit = RabbitMqTaskQueue::Connect(config.rabbitmq, config.concurrency);
    if (!rabbit.ok()) return rabbit.status();
    return std::unique_ptr<TaskQueue>(std::move(rabbit).value());
  }
  auto local = LocalTaskQueue::Open(config);
  if (!local.ok()) return local.status();
  return std::unique_ptr<TaskQueue>(std::move(local).value());
}

}  // namespace oceanus::tasks

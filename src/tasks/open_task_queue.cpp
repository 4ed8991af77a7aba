// OpenTaskQueue (see open_task_queue.h).
#include "tasks/open_task_queue.h"

#include "tasks/local/local_task_queue.h"

namespace oceanus::tasks {

Result<std::unique_ptr<TaskQueue>> OpenTaskQueue(const config::TasksConfig& config) {
  if (config.type == "rabbitmq")
    return Status::InvalidArgument("tasks type rabbitmq: not built yet");
  auto local = LocalTaskQueue::Open(config);
  if (!local.ok()) return local.status();
  return std::unique_ptr<TaskQueue>(std::move(local).value());
}

}  // namespace oceanus::tasks

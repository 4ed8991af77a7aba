// Opens the task queue the config names (tasks.type: local | rabbitmq).
#pragma once

#include <memory>

#include "app/config.h"
#include "tasks/task_queue.h"

namespace oceanus::tasks {

Result<std::unique_ptr<TaskQueue>> OpenTaskQueue(const tasks::TasksConfig& config);

}  // namespace oceanus::tasks

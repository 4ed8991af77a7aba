// Opens the task queue the config names (tasks.type: local | rabbitmq).
#pragma once

#include <memory>

#include "config/config.h"
#include "tasks/task_queue.h"

namespace oceanus::tasks {

Result<std::unique_ptr<TaskQueue>> OpenTaskQueue(const config::TasksConfig& config);

}  // namespace oceanus::tasks

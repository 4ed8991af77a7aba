// The tasks section of the config: which task queue (type:, see tasks/task_queue_registry.h)
// and how the worker retries.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/parser_fwd.h"

namespace oceanus::tasks {

class TaskQueueSettings;

struct TasksConfig {
  std::string type = "local";  // a registered task queue type: local | rabbitmq
  unsigned concurrency = 4;    // actions running at once in one worker
  unsigned max_attempts = 4;   // the first run and three retries, as the original's Celery
  std::chrono::milliseconds backoff{30'000};       // before the first retry; doubled each time
  std::chrono::milliseconds max_backoff{600'000};  // the doubling stops here
  // The chosen type's settings (its keys of the section); they open the queue. Set by
  // ParseTasksConfig; null in a TasksConfig built by hand (tests of the worker).
  std::shared_ptr<TaskQueueSettings> queue;
};

// The tasks section; an absent one gives the local queue at <data_dir>/tasks.db.
TasksConfig ParseTasksConfig(const config::Reader& r, const YAML::Node& node,
                             const config::Config& shared);

}  // namespace oceanus::tasks

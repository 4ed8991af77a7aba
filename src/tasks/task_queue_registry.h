// The task queue registry: what the tasks section's `type:` chooses (local, rabbitmq, …).
//
// The section parser (tasks/tasks_config.cpp) reads the common keys (type, concurrency,
// max_attempts, backoff, max_backoff); every registered factory parses its own keys of the
// section, so a mistake in any of them is reported whichever type is chosen, and the chosen
// type's settings open the queue. An implementation is a folder (tasks/local/,
// tasks/rabbitmq/) with its settings, its factory and one OCEANUS_REGISTER line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/parser_fwd.h"
#include "config/registry.h"
#include "tasks/task_queue.h"
#include "tasks/tasks_config.h"
#include "util/status.h"

namespace oceanus::tasks {

// One type's parsed, validated settings: what opens its queue.
class TaskQueueSettings : public config::ComponentSettings {
 public:
  // Opens (or connects to) the queue; `tasks` is the whole section (its concurrency). An
  // error names the file or the server; InvalidArgument when the settings cannot work.
  virtual Result<std::unique_ptr<TaskQueue>> Open(const TasksConfig& tasks) const = 0;
  // Where the tasks wait, for the "tasks: TYPE WHERE, …" line of `oceanus check`
  // ("./data/tasks.db", "127.0.0.1:5672 queue oceanus.tasks").
  virtual std::string Where() const = 0;
  // The data dir moves from `from` to `to` (--data-dir): a path that is the default one
  // inside `from` follows it. Settings with nothing in the data dir ignore it.
  virtual void MoveDataDir(const std::string& from, const std::string& to) {
    (void)from;
    (void)to;
  }
};

class TaskQueueFactory {
 public:
  virtual ~TaskQueueFactory() = default;
  // The keys of the tasks section this type reads, for the section's unknown-key message.
  virtual std::vector<std::string> Keys() const = 0;
  // This type's settings from the section `node` (undefined when the file has no tasks
  // section: then every default). Errors go through r.Fail (file:line:col).
  virtual std::shared_ptr<TaskQueueSettings> Parse(const config::Reader& r, const YAML::Node& node,
                                                   const config::Config& shared) const = 0;
};

using TaskQueueRegistry = config::Registry<TaskQueueFactory>;

}  // namespace oceanus::tasks
